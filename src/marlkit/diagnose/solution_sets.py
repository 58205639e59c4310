"""Sets of solutions a learning run can converge to, and the distance from joint policies to them.

Criterion 5 of Albrecht, Christianos & Schäfer (2024), *Multi-Agent Reinforcement Learning*, §5.2, asks whether
``min_{π* ∈ Π*} d(π̄^z, π*) -> 0`` for a set Π* of solutions. Three kinds of set are supported (``kind``):

* ``"finite"`` — :class:`FiniteSolutionSet`: a list of joint policies (product joints of the Nash equilibria that
  marlkit's enumeration finds, or of a minimax / Shapley policy). The distance is the minimum over the members
  and the nearest member is named (equilibrium selection made visible).
* ``"polytope"`` — :class:`PolytopeSolutionSet`: the correlated (CE) or coarse correlated (CCE) equilibria of a
  one-state game, {μ >= 0, Σ μ = 1, G μ <= h} (:func:`marlkit.solve.correlated.ce_constraints`). The distance is
  that to the projection of the point on the polytope (see the class for how each distance is computed).
* ``"nash_conv"`` — :class:`NashConvSet`: the Nash set judged by NashConv (Lanctot et al. 2017, §3), which is 0
  exactly on the set; used when enumeration is impossible, too large or cannot be shown complete. Not a
  distance, so ``distance`` is ignored.

:func:`solution_set` builds the set for a concept name (:data:`SOLUTION_CONCEPTS`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from marlkit.diagnose.distances import (
    KL_FLOOR,
    Distance,
    builtin_name,
    jensen_shannon,
    joint_from_policy,
    playable,
    resolve_distance,
    weighted_distance,
)
from marlkit.errors import CertificationError, InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame, is_one_shot, stage_game
from marlkit.games.properties import constant_sum_total
from marlkit.registry import unknown_name
from marlkit.solve.concepts import solution_set_builder, solution_set_concepts
from marlkit.solve.correlated import cce_constraints, ce_constraints
from marlkit.solve.results import EquilibriumSet
from marlkit.solve.vertex_enumeration import METHOD as VERTEX_ENUMERATION

Game = NormalFormGame | StochasticGame

INSIDE_TOLERANCE = 1e-9
"""A point counts as inside a polytope when μ >= -tol, |Σ μ - 1| <= tol and G μ <= h + tol · max(1, max|G|);
its distance is then exactly 0 and no program is solved."""

FEASIBILITY_TOLERANCE = 1e-8
"""A projection returned by a solver is accepted when it violates the polytope by at most this (same scaling)."""

_LP_CHUNK = 256
"""Points per block-diagonal LP in the L1/TV projection (one HiGHS call per chunk)."""

_SHAPLEY_LP_STATES = 64
"""Stochastic games with at most this many states are solved by Shapley iteration with per-state LPs."""

_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


class SolutionSet(ABC):
    """A set of solutions: ``name`` (what it is and how it was obtained), ``kind`` (``"finite"``, ``"polytope"``,
    ``"nash_conv"``), ``labels`` (one per member; ``()`` if none) and ``values`` (``[K, n]`` expected return of
    each member, ``[1, n]`` when all members share one value, or ``None`` if unknown)."""

    name: str
    kind: ClassVar[str]
    labels: tuple[str, ...]
    values: np.ndarray | None
    gap: ClassVar[str | None] = None
    """The name of the gap (in payoff units) a set without listed members is judged by, e.g. ``"NashConv"``;
    ``None`` for sets measured by a policy distance."""

    @abstractmethod
    def measure(
        self,
        joint: np.ndarray,
        weights: np.ndarray,
        distance: str | Distance = "tv",
        policy: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(distance from each joint ``[..., S, J]`` to the set ``[...]``, index of the nearest member ``[...]``,
        -1 where the set has no members to name or the distance is undefined (NaN))."""


# ------------------------------------------------------------------------------------------------ finite
@dataclass(frozen=True, eq=False)
class FiniteSolutionSet(SolutionSet):
    """Finitely many joint policies ``joints [K, S, J]``: distance = min over members of the weighted distance.

    ``complete`` is ``False`` when the members are only some of the solutions (a degenerate two-player game, whose
    Nash set contains segments of which only the extreme points are listed, or an n-player enumeration that may
    have missed some): a run can then sit on a solution at a positive distance from every member, and the criteria
    also report NashConv (see :mod:`marlkit.diagnose.criteria`).
    """

    joints: np.ndarray
    labels: tuple[str, ...]
    values: np.ndarray | None
    name: str
    complete: bool = True
    kind: ClassVar[str] = "finite"

    def __post_init__(self) -> None:
        joints = np.asarray(self.joints, dtype=np.float64)
        if joints.ndim != 3 or joints.shape[0] < 1:
            raise InvalidGameError(f"joints: expected [K >= 1, S, J] joint policies, got shape {joints.shape}")
        if len(self.labels) != joints.shape[0]:
            raise InvalidGameError(f"labels: expected one label per member ({joints.shape[0]}), got {len(self.labels)}")
        object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))
        if self.values is not None:
            values = np.asarray(self.values, dtype=np.float64)
            if values.ndim != 2 or values.shape[0] not in (1, joints.shape[0]):
                raise InvalidGameError(f"values: expected [K, n] or [1, n], got shape {values.shape}")
            object.__setattr__(self, "values", values)

    def measure(
        self,
        joint: np.ndarray,
        weights: np.ndarray,
        distance: str | Distance = "tv",
        policy: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Min over members (one member at a time, so memory stays that of ``joint``); ``policy`` is unused."""
        best = weighted_distance(joint, self.joints[0], weights, distance).copy()
        best_index = np.zeros(best.shape, dtype=np.int64)
        for k, member in enumerate(self.joints[1:], start=1):
            d = weighted_distance(joint, member, weights, distance)
            closer = d < best  # NaN never compares closer
            best = np.where(closer, d, best)
            best_index = np.where(closer, k, best_index)
        best_index = np.where(np.isnan(best), -1, best_index)
        return best, best_index


# ---------------------------------------------------------------------------------------------- polytope
def _unit_rows(G: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``G μ <= h`` scaled to unit norm: the same polytope, and solver tolerances in probability units."""
    norm = np.linalg.norm(G, axis=1)
    norm = np.where(norm > 0, norm, 1.0)
    return G / norm[:, None], h / norm


def _projection_l1(G: np.ndarray, h: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact L1 projections of ``points [P, J]`` onto {μ >= 0, Σ μ = 1, G μ <= h}: (distances [P], μ [P, J]).

    Split variables μ = p + u - v, u, v >= 0, minimise Σ (u + v) subject to G (u - v) <= h - G p,
    -(u - v) <= p and Σ (u - v) = 1 - Σ p. The LPs of ``_LP_CHUNK`` points are stacked block-diagonally (sparse)
    into one HiGHS solve: the objective is separable, so each block is optimal for its own point.
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    P, J = points.shape
    m = G.shape[0]
    G, h = _unit_rows(G, h)
    block_ub = sp.csr_matrix(np.block([[G, -G], [-np.eye(J), np.eye(J)]]))
    block_eq = sp.csr_matrix(np.r_[np.ones(J), -np.ones(J)][None, :])
    distances, projections = np.empty(P), np.empty((P, J))
    for start in range(0, P, _LP_CHUNK):
        chunk = points[start : start + _LP_CHUNK]
        B = chunk.shape[0]
        eye = sp.identity(B, format="csr")
        b_ub = np.concatenate([h[None, :] - chunk @ G.T, chunk], axis=1).reshape(-1)  # [B, m + J]
        res = linprog(
            c=np.ones(2 * J * B),
            A_ub=sp.kron(eye, block_ub, format="csr"),
            b_ub=b_ub,
            A_eq=sp.kron(eye, block_eq, format="csr"),
            b_eq=1.0 - chunk.sum(axis=1),
            bounds=(0.0, None),
            method="highs",
            options=_HIGHS_OPTIONS,
        )
        if res.status != 0:
            raise CertificationError(
                f"HiGHS failed on the L1 projection onto the polytope ({m} constraints): {res.message}; "
                "is the polytope empty?"
            )
        uv = res.x.reshape(B, 2, J)
        distances[start : start + B] = uv.sum(axis=(1, 2))
        projections[start : start + B] = chunk + uv[:, 0] - uv[:, 1]
    return distances, projections


def _least_distance(C: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """min ||y|| s.t. C y >= d (rows of C unit norm) through NNLS, with a duality certificate; None if uncertified.

    Lawson & Hanson (1974), *Solving Least Squares Problems*, ch. 23, Alg. LDP: u = argmin_{u>=0} ||E u - f||,
    E = [C^T; d^T], f = e_last, gives λ = u / (1 - d·u) >= 0 and y = C^T λ. The answer is accepted only when y is
    feasible (C y >= d - :data:`FEASIBILITY_TOLERANCE`) and the duality gap ½||y||² - (λ·d - ½||y||²) = ||y||² - λ·d
    of min ½||y||² is at most 1e-9 max(1, ||y||²): then ||y|| is optimal to that precision whatever the solver did.
    SciPy's ``nnls`` (1.15+) can return wrong answers on small problems (scipy/scipy#25389), so an uncertified
    answer is retried with SciPy's bounded-variable least squares (``lsq_linear``, method "bvls").
    """
    from scipy.optimize import lsq_linear, nnls

    E = np.concatenate([C.T, d[None, :]], axis=0)
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    solvers = (
        lambda: nnls(E, f, maxiter=50 * E.shape[1])[0],
        lambda: lsq_linear(E, f, bounds=(0.0, np.inf), method="bvls", tol=1e-15).x,
    )
    for solve in solvers:
        u = solve()
        denominator = 1.0 - float(d @ u)
        if denominator <= 1e-14:  # d·u = 1: the constraints are inconsistent (empty polytope) or a wrong answer
            continue
        lam = u / denominator
        y = C.T @ lam
        gap = float(y @ y - lam @ d)
        if np.all(C @ y >= d - FEASIBILITY_TOLERANCE) and abs(gap) <= 1e-9 * max(1.0, float(y @ y)):
            return y
    return None


class _EuclideanProjector:
    """Euclidean projection onto {μ >= 0, Σ μ = 1, G μ <= h}; the point-independent algebra is done once.

    With x = μ - p the projection of p is the least-distance program min ||x|| s.t. -G x >= G p - h, x >= -p and
    Σ x = c := 1 - Σ p. The equality is eliminated exactly: x = (c/J) 1 + Z y with Z an orthonormal basis of 1^⊥,
    so ||x||² = c²/J + ||y||², leaving an inequality-only program in y (:func:`_least_distance`); only its
    right-hand side depends on p. (Writing the equality as two opposite inequalities instead makes NNLS unstable.)
    """

    def __init__(self, G: np.ndarray, h: np.ndarray) -> None:
        J = G.shape[1]
        self.G, self.h = _unit_rows(G, h)
        self.C = np.concatenate([-self.G, np.eye(J)], axis=0)
        self.Z = _orthonormal_complement_of_ones(J)
        CZ = self.C @ self.Z
        scale = np.linalg.norm(CZ, axis=1)
        # a row of G constant across joint actions is constant on the simplex: it binds nothing (the polytope is
        # not empty), and its ~1e-17 remainder in CZ must not be scaled up, so it is dropped
        self.keep = scale > 1e-12
        self.scale = scale[self.keep]
        self.CZ = CZ[self.keep] / self.scale[:, None]

    def __call__(self, p: np.ndarray) -> np.ndarray | None:
        """The projection of ``p [J]``, or None when no certified answer was found."""
        x0 = np.full(p.size, (1.0 - p.sum()) / p.size)
        d = np.concatenate([self.G @ p - self.h, -p]) - self.C @ x0
        y = _least_distance(self.CZ, d[self.keep] / self.scale)
        return None if y is None else p + x0 + self.Z @ y


def _orthonormal_complement_of_ones(J: int) -> np.ndarray:
    """``[J, J-1]`` orthonormal basis of the vectors summing to 0 (the last J-1 columns of a QR of [1 | I])."""
    q, _ = np.linalg.qr(np.concatenate([np.ones((J, 1)), np.eye(J)[:, : J - 1]], axis=1))
    return q[:, 1:]


def _relative_entropy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SciPy's elementwise ``rel_entr(x, y) = x ln(x / y)`` (0 where x = 0), imported when first used."""
    from scipy.special import rel_entr

    return rel_entr(x, y)


def _tiny(mu: np.ndarray) -> np.ndarray:
    return np.maximum(mu, 1e-300)


_SMOOTH_OBJECTIVES: dict[str, tuple[Callable, Callable]] = {
    "l2": (lambda p, mu: 0.5 * float(((mu - p) ** 2).sum()), lambda p, mu: mu - p),
    "kl": (
        lambda p, mu: float(_relative_entropy(mu, np.maximum(p, KL_FLOOR)).sum()),
        lambda p, mu: np.log(_tiny(mu) / np.maximum(p, KL_FLOOR)) + 1.0,
    ),
    "js": (
        lambda p, mu: float(jensen_shannon(p, mu)),
        lambda p, mu: 0.5 * np.log(_tiny(mu) / _tiny(0.5 * (p + mu))),
    ),
}
"""(objective, gradient in μ) of the convex programs min_μ d(p, μ) for the built-in distances: ½||μ - p||² for L2,
KL(μ ‖ p) and JS(p, μ) (d/dμ JS = ½ ln(μ / m), m = (p + μ)/2). Other callables use finite differences."""


@dataclass(frozen=True, eq=False)
class PolytopeSolutionSet(SolutionSet):
    """The polytope {μ >= 0, Σ μ = 1, G μ <= h} of joint distributions of a one-state game (CE / CCE).

    The distance of a point p is ``min_{μ in polytope} d(p, μ)``:

    * a point inside (:data:`INSIDE_TOLERANCE`) has distance 0 and no program is solved;
    * ``"l1"`` / ``"tv"``: exactly, by a linear program with split variables (HiGHS, feasibility 1e-10); many
      points share one block-diagonal LP; TV = L1 / 2. About 1 ms per point outside (measured: 2,000 random
      product joints of rock-paper-scissors against its CE polytope in 1.9 s on a shared 2-core CPU);
    * ``"l2"``: exactly, by the least-distance program through NNLS (Lawson & Hanson 1974, ch. 23), accepted only
      with a duality gap <= 1e-9 (:func:`_least_distance`), else by the convex program below; ~0.25 ms per point
      (matched SciPy's SLSQP within 1.3e-9 on 200 random 3x3 games x 5 points);
    * ``"kl"`` (KL(μ ‖ p), target μ in the polytope), ``"js"`` and user callables: a convex program over the
      polytope solved by SciPy's SLSQP (ftol 1e-12; analytic gradients for the built-ins, finite differences for
      callables) from the L1 and L2 projections; the smallest value over the candidates feasible within
      :data:`FEASIBILITY_TOLERANCE` is reported, so it is an upper bound, tight up to the solver's tolerance when
      d(p, ·) is convex (KL and JS are). 5-25 ms per point: slow for long runs, prefer TV / L1 / L2 there.

    Identical points are projected once. ``labels`` is empty and the member index is -1 (a polytope has no
    finitely many members to name); ``values`` is ``None`` (the members' values range over an interval).
    """

    G: np.ndarray
    h: np.ndarray
    name: str
    labels: tuple[str, ...] = ()
    values: np.ndarray | None = None
    kind: ClassVar[str] = "polytope"

    def __post_init__(self) -> None:
        G = np.atleast_2d(np.asarray(self.G, dtype=np.float64))
        h = np.asarray(self.h, dtype=np.float64).reshape(-1)
        if h.shape != (G.shape[0],):
            raise InvalidGameError(f"h: expected {G.shape[0]} entries (one per row of G), got {h.shape}")
        if not (np.all(np.isfinite(G)) and np.all(np.isfinite(h))):
            raise InvalidGameError("G, h: contain NaN or inf")
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "h", h)

    def _tolerance(self) -> float:
        return INSIDE_TOLERANCE * max(1.0, float(np.abs(self.G).max(initial=0.0)))

    def contains(self, points: np.ndarray, tol: float | None = None) -> np.ndarray:
        """Boolean ``[...]``: which points ``[..., J]`` lie in the polytope within ``tol`` (default: inside)."""
        tol = self._tolerance() if tol is None else tol
        points = np.asarray(points, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return (
                np.all(points >= -tol, axis=-1)
                & (np.abs(points.sum(axis=-1) - 1.0) <= tol)
                & np.all(points @ self.G.T <= self.h + tol, axis=-1)
            )

    def project(self, points: np.ndarray, distance: str | Distance = "tv") -> np.ndarray:
        """Distance ``[P]`` of each point ``[P, J]`` (finite, outside) to the polytope (see the class docstring)."""
        name, fn = resolve_distance(distance)
        if builtin_name(name, fn) in ("l1", "tv"):  # by identity: a user callable never takes the exact LP
            l1 = _projection_l1(self.G, self.h, points)[0]
            return l1 if name == "l1" else 0.5 * l1
        euclidean = _EuclideanProjector(self.G, self.h)
        mu_l2 = [euclidean(p) for p in points]
        is_l2 = builtin_name(name, fn) == "l2"
        if is_l2 and all(mu is not None for mu in mu_l2):
            return np.sqrt(((np.array(mu_l2) - points) ** 2).sum(axis=1))
        mu_l1 = _projection_l1(self.G, self.h, points)[1]  # feasible starts (and a fallback) for SLSQP
        out = np.empty(points.shape[0])
        for k, p in enumerate(points):
            if is_l2 and mu_l2[k] is not None:
                out[k] = float(np.sqrt(((mu_l2[k] - p) ** 2).sum()))
            else:
                start_l2 = mu_l2[k]
                starts = (mu_l1[k],) if start_l2 is None else (mu_l1[k], start_l2)
                out[k] = self._convex(name, fn, p, starts)
        return out

    def _convex(self, name: str, fn: Distance, p: np.ndarray, starts: tuple[np.ndarray, ...]) -> float:
        """min_μ d(p, μ) over the polytope by SLSQP from the feasible ``starts``; the best feasible candidate."""
        from scipy.optimize import minimize

        J = p.size
        builtin = builtin_name(name, fn)
        objective, gradient = _SMOOTH_OBJECTIVES.get(builtin or "", (lambda p, mu: float(fn(p, mu)), None))
        feasible = [np.clip(x, 0.0, None) for x in starts if self.contains(x, FEASIBILITY_TOLERANCE)]
        res = minimize(
            lambda mu: objective(p, mu),
            feasible[0] if feasible else np.full(J, 1.0 / J),
            jac=None if gradient is None else (lambda mu: gradient(p, mu)),
            method="SLSQP",
            bounds=[(0.0, 1.0)] * J,
            constraints=[
                {"type": "eq", "fun": lambda mu: np.array([mu.sum() - 1.0]), "jac": lambda mu: np.ones((1, J))},
                {"type": "ineq", "fun": lambda mu: self.h - self.G @ mu, "jac": lambda mu: -self.G},
            ],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        candidates = feasible + ([np.clip(res.x, 0.0, None)] if self.contains(res.x, FEASIBILITY_TOLERANCE) else [])
        if not candidates:
            raise CertificationError("no feasible projection found onto the polytope; is it empty?")
        return min(float(fn(p, mu)) for mu in candidates)

    def measure(
        self,
        joint: np.ndarray,
        weights: np.ndarray,
        distance: str | Distance = "tv",
        policy: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance of each joint ``[..., 1, J]`` to the polytope; the index is always -1; ``policy`` unused."""
        joint = np.asarray(joint, dtype=np.float64)
        if joint.ndim < 2 or joint.shape[-2:] != (1, self.G.shape[1]):
            raise InvalidGameError(
                f"joint: a polytope of one-state joint distributions needs [..., 1, {self.G.shape[1]}], "
                f"got shape {joint.shape}"
            )
        lead = joint.shape[:-2]
        points = joint.reshape(-1, self.G.shape[1])
        out = np.full(points.shape[0], np.nan)
        finite = np.all(np.isfinite(points), axis=1)
        inside = finite & self.contains(points)
        out[inside] = 0.0
        todo = finite & ~inside
        if np.any(todo):
            unique, inverse = np.unique(points[todo], axis=0, return_inverse=True)
            out[todo] = self.project(unique, distance)[inverse.reshape(-1)]
        return out.reshape(lead), np.full(lead, -1, dtype=np.int64)


# --------------------------------------------------------------------------------------------- NashConv
def _normal_form_nash_conv(game: NormalFormGame, policy: np.ndarray) -> np.ndarray:
    """NashConv ``[...]`` of per-agent profiles ``[..., n, 1, A_max]`` (rows renormalised), batched by einsum."""
    n = game.n_players
    sigma = [policy[..., i, 0, :m] for i, m in enumerate(game.num_actions)]
    sigma = [s / s.sum(axis=-1, keepdims=True) for s in sigma]
    letters = "abcdefghijklmnopqrstuvwxyz"[:n]
    total = np.zeros(policy.shape[:-3])
    for i in range(n):
        others = [j for j in range(n) if j != i]
        spec = f"{letters}," + ",".join(f"...{letters[j]}" for j in others) + f"->...{letters[i]}"
        deviation = np.einsum(spec, game.payoffs[i], *(sigma[j] for j in others))  # U_i(a_i, σ_-i)
        total = total + deviation.max(axis=-1) - (deviation * sigma[i]).sum(axis=-1)
    return total


def _marginals(joint: np.ndarray, num_actions: tuple[int, ...]) -> np.ndarray:
    """Per-agent marginals ``[..., n, S, A_max]`` of joints ``[..., S, J]`` (zero-padded to A_max)."""
    lead, S = joint.shape[:-2], joint.shape[-2]
    cube = joint.reshape(*lead, S, *num_actions)
    k = len(lead) + 1  # first action axis
    out = np.zeros((*lead, len(num_actions), S, max(num_actions)))
    for i, m in enumerate(num_actions):
        axes = tuple(k + j for j in range(len(num_actions)) if j != i)
        out[..., i, :, :m] = cube.sum(axis=axes)
    return out


@dataclass(frozen=True, eq=False)
class NashConvSet(SolutionSet):
    """The Nash set of ``game`` judged by NashConv (no enumeration): the "distance" of a point is its NashConv
    (Lanctot et al. 2017, "A unified game-theoretic approach to MARL", NeurIPS, §3), 0 exactly at an equilibrium,
    in payoff units (summed over agents). ``distance`` and ``weights`` are ignored.

    ``measure`` reads ``policy [..., n, S, A_max]`` when given, else the per-agent marginals of ``joint`` (exact
    for product joints). In a stochastic game, rows of states with no mass (unvisited, or NaN) stand in as uniform
    over the legal actions, and NashConv is that of the stationary policy from the initial distribution.
    """

    game: Game
    name: str = "Nash equilibria judged by NashConv (no enumeration)"
    labels: tuple[str, ...] = ()
    values: np.ndarray | None = None
    kind: ClassVar[str] = "nash_conv"
    gap: ClassVar[str | None] = "NashConv"

    def measure(
        self,
        joint: np.ndarray,
        weights: np.ndarray,
        distance: str | Distance = "tv",
        policy: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """NashConv ``[...]`` of each point and -1 for the index."""
        if policy is None:
            policy = _marginals(np.asarray(joint, dtype=np.float64), self.game.num_actions)
        policy = np.asarray(policy, dtype=np.float64)
        lead = policy.shape[:-3]
        if isinstance(self.game, NormalFormGame):
            with np.errstate(invalid="ignore", divide="ignore"):
                value = _normal_form_nash_conv(self.game, policy)
        else:
            value = self._stochastic(policy.reshape(-1, *policy.shape[-3:])).reshape(lead)
        return value, np.full(lead, -1, dtype=np.int64)

    def _stochastic(self, policies: np.ndarray) -> np.ndarray:
        assert isinstance(self.game, StochasticGame)  # measure() takes normal-form games apart
        clean = playable(self.game, policies)
        unique, inverse = np.unique(clean.reshape(clean.shape[0], -1), axis=0, return_inverse=True)
        values = np.array([self.point_gap(pi.reshape(clean.shape[1:])) for pi in unique])  # each point once
        return values[inverse.reshape(-1)]

    def point_gap(self, policy: np.ndarray) -> float:
        """The gap of one valid per-agent policy ``[n, S, A_max]`` of a stochastic game (:func:`playable`)."""
        from marlkit.solve.best_response import nash_conv

        return float(nash_conv(self.game, policy))


@dataclass(frozen=True, eq=False)
class ConstrainedNashConvSet(NashConvSet):
    """The constrained Nash equilibria of a constrained game judged by the constrained NashConv (no enumeration):
    the "distance" of a point is its constrained NashConv (:func:`marlkit.solve.constrained.constrained_nash_conv`:
    the sum of each agent's gain from its best *feasible* deviation, in return units) plus the sum of its own
    constraint violations ``max(0, J - c)`` (in cost units) — 0 exactly at a constrained Nash equilibrium (Altman &
    Shwartz 2000), and positive for an infeasible policy even where no feasible deviation gains. Otherwise as
    :class:`NashConvSet`.
    """

    name: str = "constrained Nash equilibria judged by the constrained NashConv (no enumeration)"
    kind: ClassVar[str] = "constrained_nash_conv"
    gap: ClassVar[str | None] = "constrained NashConv plus violations"

    def point_gap(self, policy: np.ndarray) -> float:
        from marlkit.solve.constrained import constrained_nash_conv

        result = constrained_nash_conv(self.game, policy)
        return float(result.nash_conv + np.sum(result.violations))


# ---------------------------------------------------------------------------------------------- builders
def _extreme_points_only(game: NormalFormGame, found: EquilibriumSet) -> bool:
    """A degenerate two-player game enumerated by vertex enumeration: the list is every extreme equilibrium (the
    vertices of the equilibrium components), so it is kept as the set and runs off the vertices are annotated by
    NashConv (:mod:`marlkit.diagnose.criteria`)."""
    return game.n_players == 2 and found.degenerate and found.method == VERTEX_ENUMERATION


def _normal_form_nash(game: NormalFormGame, max_members: int) -> SolutionSet:
    from marlkit.solve.nash import equilibrium_label, nash_equilibria

    found = nash_equilibria(game)  # canonical order: the numbering `marlkit solve` prints
    if not (found.complete or _extreme_points_only(game, found)):
        # an n-player search that may have missed equilibria, or a set that is not finite: distances to the listed
        # members would call a run on an unlisted equilibrium "not converged"; NashConv needs no list
        why = "; ".join(found.notes) or "the search may miss equilibria"
        return NashConvSet(
            game,
            name=f"Nash equilibria judged by NashConv (the equilibria found could not be shown to be all of them: "
            f"{found.method}, {len(found)} found; {why})",
        )
    if len(found) == 0 or len(found) > max_members:
        why = "none found" if len(found) == 0 else f"{len(found)} found, more than max_members={max_members}"
        return NashConvSet(game, name=f"Nash equilibria judged by NashConv (no enumeration: {why})")
    members = list(found)
    labels = tuple(equilibrium_label(game, k + 1, eq) for k, eq in enumerate(members))
    policy = np.zeros((len(members), game.n_players, 1, max(game.num_actions)))
    for k, eq in enumerate(members):
        for i, s in enumerate(eq.profile):
            policy[k, i, 0, : s.size] = s
    notes = [found.method, "complete" if found.complete else "may be incomplete"]
    if found.degenerate:
        notes.append("degenerate game: extreme equilibria only")
    return FiniteSolutionSet(
        joints=joint_from_policy(policy, game.num_actions),
        labels=labels,
        values=np.stack([eq.values for eq in members]),
        name=f"Nash equilibria ({len(members)}; {', '.join(notes)})",
        complete=bool(found.complete and not found.degenerate),
    )


def _shapley(game: StochasticGame, what: str) -> FiniteSolutionSet:
    from marlkit.solve.shapley import shapley_value_iteration

    # below this size one HiGHS LP per state beats compiling the batched JAX stage solver (seconds)
    result = shapley_value_iteration(game, solver="lp" if game.num_states <= _SHAPLEY_LP_STATES else "auto")
    return FiniteSolutionSet(
        joints=joint_from_policy(result.policy[None], game.num_actions),
        labels=("minimax (Shapley)",),
        values=(result.player_values @ game.initial)[None, :],
        name=f"{what} (Shapley value iteration; one stationary minimax policy, others may exist)",
    )


def _is_zero_sum_stochastic(game: StochasticGame) -> bool:
    return game.n_players == 2 and not game.is_partially_observable and constant_sum_total(game) is not None


def nash_set(game: Game, max_members: int) -> SolutionSet:
    """The Nash set of ``game`` as the diagnostics judge it (see :data:`SOLUTION_CONCEPTS`)."""
    if isinstance(game, NormalFormGame):
        return _normal_form_nash(game, max_members)
    if _is_zero_sum_stochastic(game):
        return _shapley(game, "Nash equilibrium of the zero-sum stochastic game")
    return NashConvSet(
        game, name="Nash equilibria judged by NashConv (no enumeration for general-sum stochastic games)"
    )


def _stage_game(game: Game, concept: str) -> NormalFormGame:
    if is_one_shot(game):
        return stage_game(game)
    assert isinstance(game, StochasticGame)  # a normal-form game is one-shot
    raise NotApplicableError(
        f"concept {concept!r}: the (coarse) correlated equilibrium polytope is defined here for one-state games; "
        f"game {game.name!r} has {game.num_states} states and gamma {game.gamma}. Use concept 'nash'"
    )


def _polytope(constraints: Callable, concept: str, label: str, game: Game) -> SolutionSet:
    G, h = constraints(_stage_game(game, concept))
    return PolytopeSolutionSet(G, h, name=f"{label} polytope (distance by projection)")


def ce_set(game: Game, max_members: int) -> SolutionSet:
    """The correlated equilibrium polytope of a one-state game (:func:`marlkit.solve.correlated.ce_constraints`)."""
    return _polytope(ce_constraints, "ce", "correlated equilibrium", game)


def cce_set(game: Game, max_members: int) -> SolutionSet:
    """The coarse correlated equilibrium polytope of a one-state game."""
    return _polytope(cce_constraints, "cce", "coarse correlated equilibrium", game)


def minimax_set(game: Game, max_members: int) -> SolutionSet:
    """The minimax pair (LP) of a two-player zero-sum normal-form game, or the Shapley policy of a stochastic one,
    as a one-member set (other optimal pairs may exist)."""
    if isinstance(game, NormalFormGame):
        from marlkit.solve.zero_sum import maximin

        eq = maximin(game)
        policy = np.zeros((1, 2, 1, max(game.num_actions)))
        for i, s in enumerate(eq.profile):
            policy[0, i, 0, : s.size] = s
        return FiniteSolutionSet(
            joints=joint_from_policy(policy, game.num_actions),
            labels=("minimax",),
            values=eq.values[None, :],
            name="minimax equilibrium (LP; one optimal pair, others may exist)",
        )
    return _shapley(game, "minimax equilibrium")


def constrained_set(game: Game, max_members: int) -> SolutionSet:
    """The constrained Nash equilibria of a constrained game, judged by the constrained NashConv."""
    if not isinstance(game, StochasticGame) or not game.is_constrained:
        raise NotApplicableError(
            "concept constrained: the game has no costs and limits; use a constrained game (e.g. resource-sharing) "
            "or another concept (nash, ce, ...)"
        )
    return ConstrainedNashConvSet(game)


SOLUTION_CONCEPTS: tuple[str, ...] = solution_set_concepts()
"""The concepts :func:`solution_set` builds a set for (from :data:`marlkit.solve.concepts.CONCEPTS`):

* ``"nash"`` (:func:`nash_set`): normal-form games — the finite list from
  :func:`marlkit.solve.nash.nash_equilibria` in its canonical order, labelled as ``marlkit solve`` numbers them
  (vertex enumeration for two players, exact support enumeration for small n-player games), or
  :class:`NashConvSet` when the list cannot be shown complete (a larger n-player game, or one whose equilibria
  are not finitely many; a degenerate two-player game keeps its extreme equilibria), finds none or more than
  ``max_members``; stochastic games — the Shapley
  minimax policy of a two-player zero-sum game as a one-member set, else :class:`NashConvSet`;
* ``"ce"`` / ``"cce"`` (:func:`ce_set`, :func:`cce_set`): the (coarse) correlated equilibrium polytope of a
  one-state game;
* ``"minimax"`` / ``"maximin"`` (:func:`minimax_set`): the minimax pair (LP) or Shapley policy of a two-player
  zero-sum game;
* ``"constrained"`` (:func:`constrained_set`): the constrained Nash equilibria of a constrained game, judged by
  the constrained NashConv (:class:`ConstrainedNashConvSet`).
"""


def default_concept(game: Game) -> str:
    """The concept a run is judged against when none is given: ``constrained`` for a constrained game (its
    unconstrained Nash equilibria would judge safe play as a failure), ``nash`` otherwise."""
    return "constrained" if isinstance(game, StochasticGame) and game.is_constrained else "nash"


def solution_set(game: Game, concept: str = "nash", *, max_members: int = 64) -> SolutionSet:
    """The solution set of ``concept`` for ``game`` (see :data:`SOLUTION_CONCEPTS`); its ``name`` says which.

    Raises:
        UnknownNameError: for an unknown concept.
        NotApplicableError: when the concept does not apply (CE on a multi-state game, minimax on general-sum).
    """
    if concept not in SOLUTION_CONCEPTS:
        raise UnknownNameError(f"concept: {unknown_name('concept', concept, SOLUTION_CONCEPTS)}")
    if not isinstance(game, NormalFormGame | StochasticGame):
        raise InvalidGameError(f"game: expected a NormalFormGame or StochasticGame, got {type(game).__name__}")
    build: Callable[[Game, int], SolutionSet] = solution_set_builder(concept)
    return build(game, int(max_members))


__all__ = [
    "FEASIBILITY_TOLERANCE",
    "INSIDE_TOLERANCE",
    "SOLUTION_CONCEPTS",
    "ConstrainedNashConvSet",
    "FiniteSolutionSet",
    "NashConvSet",
    "PolytopeSolutionSet",
    "SolutionSet",
    "cce_set",
    "ce_set",
    "constrained_set",
    "default_concept",
    "minimax_set",
    "nash_set",
    "solution_set",
]
