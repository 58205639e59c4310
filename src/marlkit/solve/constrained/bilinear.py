"""Exact maximisation of a bilinear function over the unit square under bilinear constraints.

For one-state two-player games with two actions each, a product policy is (p, q) in [0, 1]^2 (each agent's
probability of its second action), and every per-step expectation of a table M[a_1, a_2] is bilinear:

    M(p, q) = M00 + (M10 - M00) p + (M01 - M00) q + (M11 - M10 - M01 + M00) p q.

The best product policy maximises one such f subject to g_k(p, q) <= 0. The maximum of a continuous f over the
compact feasible set F is attained, and a maximiser is one of finitely many candidates (KKT enumeration): a corner
of the square; a point where a constraint curve g_k = 0 meets an edge or another curve; a point of a curve where
∇f is parallel to ∇g_k (for bilinear f and g the condition f_p g_q - f_q g_p = 0 is a *line*,
(bγ - cβ) + (bδ - dβ) p + (dγ - cδ) q = 0 for f = (a, b, c, d), g = (α, β, γ, δ)); the singular point of a
degenerate curve; or an unconstrained stationary point of f. On an edge alone f is linear, so its maximum there
is at an end — a corner or an edge-curve point. Every candidate is the intersection of a line with a bilinear
curve (a quadratic) or of two lines, so the set is computed exactly (up to float rounding) and the best feasible
candidate is the global maximum. The symmetric case p = q is one-dimensional: the ends, the roots of each
g_k(p, p) and the stationary point of f(p, p).
"""

from __future__ import annotations

import itertools

import numpy as np

EPS = 1e-14


def coefficients(table: np.ndarray) -> np.ndarray:
    """(a, b, c, d) of the bilinear expectation of a ``[2, 2]`` table (module docstring)."""
    m = np.asarray(table, dtype=np.float64)
    return np.array([m[0, 0], m[1, 0] - m[0, 0], m[0, 1] - m[0, 0], m[1, 1] - m[1, 0] - m[0, 1] + m[0, 0]])


def _roots(poly: list[float]) -> list[float]:
    coeffs = np.array(poly, dtype=np.float64)
    scale = np.abs(coeffs).max()
    if scale <= EPS:
        return []
    coeffs = coeffs / scale
    while coeffs.size and abs(coeffs[0]) <= 1e-13:
        coeffs = coeffs[1:]
    if coeffs.size <= 1:
        return []
    return [float(r.real) for r in np.roots(coeffs) if abs(r.imag) <= 1e-9]


def line_curve(line: np.ndarray, curve: np.ndarray) -> list[tuple[float, float]]:
    """Points of the line e0 + e1 p + e2 q = 0 on the curve A + B p + C q + D p q = 0."""
    e0, e1, e2 = line
    A, B, C, D = curve
    if abs(e2) >= abs(e1) and abs(e2) > EPS:
        ps = _roots([-D * e1, B * e2 - C * e1 - D * e0, A * e2 - C * e0])
        return [(p, -(e0 + e1 * p) / e2) for p in ps]
    if abs(e1) > EPS:
        qs = _roots([-D * e2, C * e1 - B * e2 - D * e0, A * e1 - B * e0])
        return [(-(e0 + e2 * q) / e1, q) for q in qs]
    return []


EDGES = (np.array([0.0, 1.0, 0.0]), np.array([-1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([-1.0, 0.0, 1.0]))
"""The square's edges p = 0, p = 1, q = 0, q = 1 as lines e0 + e1 p + e2 q = 0."""


def candidates(f: np.ndarray, constraints: list[np.ndarray]) -> list[tuple[float, float]]:
    """Every KKT candidate in [0, 1]^2 for max f s.t. g_k <= 0 (module docstring), before the feasibility check."""
    _, b, c, d = f
    points: list[tuple[float, float]] = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    if abs(d) > EPS:
        points.append((-c / d, -b / d))
    for g in constraints:
        _, beta, gamma, delta = g
        for edge in EDGES:
            points += line_curve(edge, g)
        stationary = np.array([b * gamma - c * beta, b * delta - d * beta, d * gamma - c * delta])
        points += line_curve(stationary, g)
        if abs(delta) > EPS:
            points.append((-gamma / delta, -beta / delta))
    for g, h in itertools.combinations(constraints, 2):
        if abs(g[3]) > EPS or abs(h[3]) > EPS:
            combined = h[3] * g - g[3] * h
            points += line_curve(combined[:3], g if abs(g[3]) > EPS else h)
        else:
            points += line_curve(h[:3], g)
    inside = [(p, q) for p, q in points if -1e-9 <= p <= 1 + 1e-9 and -1e-9 <= q <= 1 + 1e-9]
    return [(min(max(p, 0.0), 1.0), min(max(q, 0.0), 1.0)) for p, q in inside]


def symmetric_candidates(f: np.ndarray, constraints: list[np.ndarray]) -> list[float]:
    """Every candidate p in [0, 1] for max f(p, p) s.t. g_k(p, p) <= 0 (module docstring)."""
    _, b, c, d = f
    points = [0.0, 1.0]
    if abs(d) > EPS:
        points.append(-(b + c) / (2 * d))
    for g in constraints:
        points += _roots([g[3], g[1] + g[2], g[0]])
    return [min(max(p, 0.0), 1.0) for p in points if -1e-9 <= p <= 1 + 1e-9]
