"""A small dense linear-program solver in pure JAX: Mehrotra's predictor-corrector interior point method.

Solves, for one LP (``vmap`` it for a batch; it is jittable, with a fixed iteration count and no data-dependent
control flow),

    minimise c^T x   subject to   G x + s = h,  s >= 0,   E x = f,

with its dual ``maximise -h^T z - f^T y  s.t.  G^T z + E^T y + c = 0,  z >= 0`` (the inequality form of
Vandenberghe, "The CVXOPT linear and quadratic cone program solvers", 2010, §1; Nocedal & Wright 2006, Alg. 14.3,
Mehrotra 1992). Each iteration solves the Newton system reduced to ``H = G^T diag(z/s) G`` (a Cholesky factor of
H, plus a Schur complement over the few equality rows), takes an affine-scaling predictor step, sets the centring
parameter σ = (μ_aff / μ)^3 and takes the corrected step with separate primal and dual step lengths
(fraction 0.99 of the way to the boundary).

The iterate is frozen once the relative primal and dual residuals and the relative duality gap are all below
``tol`` (and also when a step would produce a non-finite number, which happens in float32 once the scaling
z/s spans more than the dtype can resolve). The result reports the residuals and a ``converged`` flag; it is the
caller's job to check it. The problem must have a strictly positive H (e.g. every variable bounded below through
G), which the correlated-equilibrium LPs satisfy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.solve.stage.support import small_solve

STEP_FRACTION = 0.99
"""Fraction of the step to the boundary of s >= 0, z >= 0 taken each iteration."""

REFINEMENT_STEPS = 1
"""Iterative-refinement steps on the corrector's Newton solve (keeps float32 dual residuals small; the predictor,
used only to choose the centring, is not refined)."""


class Constraints(NamedTuple):
    """The inequality matrix G as an operator, so that structured problems can skip dense products.

    Attributes:
        matvec: x ``[N]`` -> G x ``[M]``.
        rmatvec: z ``[M]`` -> G^T z ``[N]``.
        gram: w ``[M]`` -> G^T diag(w) G ``[N, N]`` (the normal matrix of every Newton step).
        scale: largest magnitude of an entry of G (a scalar; it scales the dual residual test).
        rows: M, the number of inequality rows (static).
    """

    matvec: Callable[[jax.Array], jax.Array]
    rmatvec: Callable[[jax.Array], jax.Array]
    gram: Callable[[jax.Array], jax.Array]
    scale: jax.Array
    rows: int


def _fold(op: Callable[[jax.Array, jax.Array], jax.Array], x: jax.Array, axis: int | None) -> jax.Array:
    """Reduce ``x`` over ``axis`` (all axes for None) by a chain of elementwise ``op`` on its slices."""
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % x.ndim
    parts = [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]
    return functools.reduce(op, parts)


def axis_sum(x: jax.Array, axis: int | None = None) -> jax.Array:
    """``x.sum(axis)`` over a short, static axis as a chain of adds, not a ``reduce`` op.

    Why: under ``vmap`` on a CPU, XLA (jaxlib 0.10) hands every fusion that contains a reduction to a library call
    (a "ynn" fusion) whose per-call overhead dwarfs the arithmetic on these tiny axes: measured, it was ~85% of the
    CE solver's time at 4x4 (``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=`` removes them process-wide and
    made it 8x faster). Chains of elementwise ops stay in XLA's own loop fusions, vectorised over the batch.
    """
    return _fold(jnp.add, x, axis)


def axis_max(x: jax.Array, axis: int | None = None) -> jax.Array:
    """``x.max(axis)`` over a short, static axis as a chain of ``maximum`` (see :func:`axis_sum`)."""
    return _fold(jnp.maximum, x, axis)


def axis_min(x: jax.Array, axis: int | None = None) -> jax.Array:
    """``x.min(axis)`` over a short, static axis as a chain of ``minimum`` (see :func:`axis_sum`)."""
    return _fold(jnp.minimum, x, axis)


def inner(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a · b`` over the last axis, as a multiply and a chain of adds.

    Every product in the solver is written this way, not with ``@`` or ``jnp.sum``: under ``vmap`` a ``@`` of tiny
    operands becomes a batched ``dot_general`` and a ``jnp.sum`` a reduction, both of which XLA:CPU hands to
    library calls with a large per-call overhead (:func:`axis_sum`).
    """
    return axis_sum(a * b, -1)


def mat_vec(M: jax.Array, v: jax.Array) -> jax.Array:
    """``M @ v`` for ``M [R, C]``, ``v [C]`` (or ``[C, k]``), as a multiply and a sum (see :func:`inner`)."""
    if v.ndim == 1:
        return inner(M, v[None, :])
    return axis_sum(M[:, :, None] * v[None, :, :], 1)


def dense_constraints(G: jax.Array) -> Constraints:
    """:class:`Constraints` of an explicit matrix ``G [M, N]``."""
    return Constraints(
        matvec=lambda x: mat_vec(G, x),
        rmatvec=lambda z: mat_vec(G.T, z),
        gram=lambda w: axis_sum(G.T[:, :, None] * (w[:, None] * G)[None, :, :], 1),
        scale=jnp.abs(G).max(),
        rows=G.shape[0],
    )


class LPSolution(NamedTuple):
    """Result of :func:`lp_ipm`: primal x, slacks s, duals z (inequalities) and y (equalities), diagnostics."""

    x: jax.Array
    s: jax.Array
    z: jax.Array
    y: jax.Array
    primal_residual: jax.Array
    dual_residual: jax.Array
    gap: jax.Array
    converged: jax.Array


def default_lp_tolerance(dtype: jnp.dtype) -> float:
    """Relative stopping tolerance: 1e-10 in float64, 1e-5 in float32."""
    return 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5


def cho_solve(L: jax.Array, b: jax.Array) -> jax.Array:
    """Solve ``L L^T x = b`` for ``L [N, N]`` lower triangular and ``b [N]`` or ``[N, k]``.

    Column-oriented substitution in a ``lax.fori_loop`` (the loop index is not batched, so under ``vmap`` each
    step is one vectorised update of the whole batch): cheaper than a LAPACK triangular solve per system on a CPU
    for N of a few dozen, and a compact graph that compiles quickly.
    """
    N = L.shape[-1]
    vector = b.ndim == 1
    y = b[:, None] if vector else b
    rows = jnp.arange(N)

    def forward(j, y):  # L w = b, overwriting y with w
        wj = y[j] / L[j, j]
        y = jnp.where((rows > j)[:, None], y - L[:, j, None] * wj[None, :], y)
        return y.at[j].set(wj)

    def backward(k, y):  # L^T x = w, j = N-1 .. 0
        j = N - 1 - k
        xj = y[j] / L[j, j]
        y = jnp.where((rows < j)[:, None], y - L[j, :, None] * xj[None, :], y)
        return y.at[j].set(xj)

    y = jax.lax.fori_loop(0, N, forward, y)
    x = jax.lax.fori_loop(0, N, backward, y)
    return x[:, 0] if vector else x


def _residuals(c, G, h, E, f, x, s, z, y):
    r_dual = c + G.rmatvec(z) + mat_vec(E.T, y)
    r_ineq = G.matvec(x) + s - h
    r_eq = mat_vec(E, x) - f
    return r_dual, r_ineq, r_eq


def _measures(c, G, h, E, f, x, s, z, y):
    r_dual, r_ineq, r_eq = _residuals(c, G, h, E, f, x, s, z, y)
    scale_p = 1.0 + jnp.maximum(jnp.abs(h).max(initial=0.0), jnp.abs(f).max(initial=0.0))
    primal = jnp.maximum(axis_max(jnp.abs(r_ineq)), jnp.abs(r_eq).max(initial=0.0)) / scale_p
    # relative to the size of the terms that cancel in c + G^T z (the duals can be much larger than c)
    dual = axis_max(jnp.abs(r_dual)) / (1.0 + jnp.abs(c).max() + G.scale * axis_max(jnp.abs(z)))
    gap = inner(s, z) / (1.0 + jnp.abs(inner(c, x)))
    return primal, dual, gap


def _merit(c, G, h, E, f, x, s, z, y):
    """Largest of the relative primal residual, dual residual and duality gap: the stopping measure."""
    return axis_max(jnp.stack(_measures(c, G, h, E, f, x, s, z, y)))


def _max_step(v: jax.Array, dv: jax.Array) -> jax.Array:
    """Largest α in [0, 1] with v + α dv >= 0 (v > 0)."""
    ratios = jnp.where(dv < 0, -v / jnp.where(dv < 0, dv, -1.0), jnp.inf)
    return jnp.minimum(1.0, axis_min(ratios))


def _starting_point(c, G, h, E, x0, reduced_solve, regular):
    """Mehrotra's (1992) heuristic start (Nocedal & Wright 2006, §14.2): s from x0, z the least-norm dual, shifted.

    z = G u with (u, y) solving [[G^T G, E^T], [E, 0]] [u; y] = [-c; 0] (the smallest z with G^T z + E^T y = -c),
    then s and z are shifted to be positive and balanced so that no product s_k z_k starts near 0.
    """
    dtype = c.dtype
    H = G.gram(jnp.ones(G.rows, dtype))
    chol = jnp.linalg.cholesky(H + regular * jnp.diag(jnp.diag(H)))
    HinvEt = cho_solve(chol, E.T)
    u, y = reduced_solve(chol, HinvEt, mat_vec(E, HinvEt), -c, jnp.zeros(E.shape[0], dtype))
    s, z = h - G.matvec(x0), G.matvec(u)
    s = s + jnp.maximum(0.0, -1.5 * s.min())
    z = z + jnp.maximum(0.0, -1.5 * z.min())
    sz = inner(s, z)
    s, z = s + 0.5 * sz / z.sum(), z + 0.5 * sz / s.sum()
    tiny = jnp.asarray(np.finfo(dtype).tiny, dtype) ** 0.5
    return x0, jnp.maximum(s, tiny), jnp.maximum(z, tiny), y


def lp_ipm(
    c: jax.Array,
    G: Constraints | jax.Array,
    h: jax.Array,
    E: jax.Array,
    f: jax.Array,
    x0: jax.Array,
    iterations: int = 30,
    tol: float | None = None,
) -> LPSolution:
    """Solve one small dense LP (see the module docstring) from the primal start ``x0``; s and z start at 1.

    Shapes: c, x0 ``[N]``; G ``[M, N]``; h ``[M]``; E ``[p, N]``; f ``[p]``. ``iterations`` is static.
    """
    dtype = c.dtype
    tol = default_lp_tolerance(dtype) if tol is None else tol
    if not isinstance(G, Constraints):
        G = dense_constraints(G)
    M = G.rows
    regular = jnp.asarray(np.finfo(dtype).eps, dtype) * 16

    def reduced_solve(chol, HinvEt, schur, g, e):
        """Solve [[H, E^T], [E, 0]] [dx; dy] = [g; e] with H = chol chol^T (Schur complement on dy)."""
        Hinv_g = cho_solve(chol, g)
        dy = small_solve(schur, mat_vec(E, Hinv_g) - e)
        return Hinv_g - mat_vec(HinvEt, dy), dy

    def eliminate(s, z, factors, r_dual, r_ineq, r_eq, r_comp):
        """Solve G^T Δz + E^T Δy = -r_dual, E Δx = -r_eq, G Δx + Δs = -r_ineq, z∘Δs + s∘Δz = r_comp.

        Δs and Δz are eliminated (Δz = W G Δx + (r_comp + z∘r_ineq)/s), leaving H Δx + E^T Δy = g.
        """
        g = -r_dual - G.rmatvec((r_comp + z * r_ineq) / s)
        dx, dy = reduced_solve(*factors, g, -r_eq)
        ds = -r_ineq - G.matvec(dx)
        dz = (r_comp - z * ds) / s
        return dx, ds, dz, dy

    def newton(s, z, factors, r_dual, r_ineq, r_eq, r_comp, refine):
        """:func:`eliminate` plus iterative refinement against the full (unreduced) Newton system."""
        dx, ds, dz, dy = eliminate(s, z, factors, r_dual, r_ineq, r_eq, r_comp)
        for _ in range(
            REFINEMENT_STEPS if refine else 0
        ):  # recovers the accuracy lost to forming H (matters in float32)
            e_dual = r_dual + G.rmatvec(dz) + mat_vec(E.T, dy)
            e_eq = r_eq + mat_vec(E, dx)
            e_ineq = r_ineq + G.matvec(dx) + ds
            e_comp = r_comp - z * ds - s * dz
            cx, cs, cz, cy = eliminate(s, z, factors, e_dual, e_ineq, e_eq, e_comp)
            dx, ds, dz, dy = dx + cx, ds + cs, dz + cz, dy + cy
        return dx, ds, dz, dy

    def step(state, _):
        x, s, z, y, best, best_merit, done = state
        r_dual, r_ineq, r_eq = _residuals(c, G, h, E, f, x, s, z, y)
        mu = inner(s, z) / M
        H = G.gram(z / s)
        H = H + regular * jnp.diag(jnp.diag(H))  # relative to each pivot, so scaling is kept
        chol = jnp.linalg.cholesky(H)
        HinvEt = cho_solve(chol, E.T)
        factors = (chol, HinvEt, mat_vec(E, HinvEt))
        # predictor (affine scaling, σ = 0)
        _, ds_a, dz_a, _ = newton(s, z, factors, r_dual, r_ineq, r_eq, -s * z, refine=False)
        a_p, a_d = _max_step(s, ds_a), _max_step(z, dz_a)
        mu_aff = inner(s + a_p * ds_a, z + a_d * dz_a) / M
        sigma = (mu_aff / mu) ** 3
        # corrector (Mehrotra's second-order term and centring)
        r_comp = -s * z - ds_a * dz_a + sigma * mu
        dx, ds, dz, dy = newton(s, z, factors, r_dual, r_ineq, r_eq, r_comp, refine=True)
        a_p = STEP_FRACTION * _max_step(s, ds)
        a_d = STEP_FRACTION * _max_step(z, dz)
        new = (x + a_p * dx, s + a_p * ds, z + a_d * dz, y + a_d * dy)
        merit = _merit(c, G, h, E, f, *new)
        finite = jnp.isfinite(merit)  # a non-finite step ends the run; the best iterate is kept
        improve = finite & ~done & (merit < best_merit)
        best = tuple(jnp.where(improve, n, b) for n, b in zip(new, best, strict=True))
        best_merit = jnp.where(improve, merit, best_merit)
        current = tuple(jnp.where(finite & ~done, n, o) for n, o in zip(new, (x, s, z, y), strict=True))
        return (*current, best, best_merit, done | ~finite | (best_merit <= tol)), None

    start = _starting_point(c, G, h, E, x0, reduced_solve, regular)
    state0 = (*start, start, _merit(c, G, h, E, f, *start), jnp.asarray(False))
    final, _ = jax.lax.scan(step, state0, None, length=iterations)
    x, s, z, y = final[4]
    primal, dual, gap = _measures(c, G, h, E, f, x, s, z, y)
    return LPSolution(x, s, z, y, primal, dual, gap, final[5] <= tol)
