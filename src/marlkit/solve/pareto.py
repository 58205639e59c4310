"""Pareto optimality of outcomes in normal-form games.

An outcome v Pareto-dominates u when v_i >= u_i for every player and v_j > u_j for some player (Shoham &
Leyton-Brown 2009, Def. 3.3.2); u is Pareto optimal in a set when nothing in the set dominates it. Comparisons
use a tolerance ``tol`` (default 1e-9): v_i >= u_i - tol everywhere and v_j > u_j + tol somewhere.

Three outcome sets of a game:

* **pure** — the payoff vectors u(a) of the joint actions: finite, checked exactly (vectorised pairwise test).
* **correlated** — the payoffs Σ_a μ(a) u(a) of joint distributions μ: the convex hull of the pure payoff vectors.
  Dominance is an LP: maximise Σ_i (U_i(μ) - u_i) subject to U_i(μ) >= u_i; u is dominated iff the optimum is
  > tol, and the optimal μ is the certificate.
* **mixed** — the payoffs of independent mixed profiles. That set is not convex, and deciding dominance exactly is
  a polynomial feasibility problem this module does not solve. :func:`is_pareto_dominated` with ``over="mixed"``
  is **inexact** in one direction only: a dominating pure outcome or a dominating profile found by random search
  (Dirichlet samples, seeded) is a certificate (``dominated=True, exact=True``); a point undominated in the
  correlated region is certified undominated among mixed profiles too (mixed payoffs lie inside that region); in
  the remaining case the answer is "not found" (``dominated=False, exact=False``).

For two players :func:`pareto_front_correlated` returns the Pareto front of the correlated region: the part of the
convex hull's upper-right boundary whose edges have negative slope, as an ordered list of vertices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.optimize import linprog

from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties import require_players
from marlkit.games.validation import as_real_array

DEFAULT_TOLERANCE = 1e-9
"""Payoff differences within this count as ties (docs/architecture.md, Numerics)."""


def _check_game(game: object, where: str) -> NormalFormGame:
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"{where}: expected a NormalFormGame, got {type(game).__name__}")
    return game


def dominance_matrix(points: np.ndarray, tol: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """``D [K, K]`` with ``D[j, k]`` True when point j Pareto-dominates point k (rows of ``points [K, n]``).

    Vectorised: O(K² n) time and memory.
    """
    P = np.asarray(points, dtype=np.float64)
    diff = P[:, None, :] - P[None, :, :]  # diff[j, k] = P[j] - P[k]
    return np.all(diff >= -tol, axis=-1) & np.any(diff > tol, axis=-1)


@dataclass(frozen=True, eq=False)
class ParetoFront:
    """Pareto-optimal outcomes: ``joint_actions [K, n]`` (ints) and their ``payoffs [K, n]``, in C order."""

    joint_actions: np.ndarray
    payoffs: np.ndarray

    def __len__(self) -> int:
        return int(self.payoffs.shape[0])

    def to_dict(self) -> dict[str, object]:
        return {"joint_actions": self.joint_actions.tolist(), "payoffs": self.payoffs.tolist()}


def pure_payoff_points(game: NormalFormGame) -> tuple[np.ndarray, np.ndarray]:
    """Every joint action ``[N, n]`` (C order) and its payoff vector ``[N, n]``."""
    game = _check_game(game, "pure_payoff_points")
    joint = np.stack(np.unravel_index(np.arange(game.payoffs[0].size), game.num_actions), axis=1)
    return joint, game.payoffs.reshape(game.n_players, -1).T.copy()


def pareto_front_pure(game: NormalFormGame, tol: float = DEFAULT_TOLERANCE) -> ParetoFront:
    """The joint actions whose payoff vector no other joint action Pareto-dominates.

    Joint actions with equal payoff vectors are all kept (none dominates the other).
    """
    joint, points = pure_payoff_points(game)
    keep = ~dominance_matrix(points, tol).any(axis=0)
    return ParetoFront(joint[keep], points[keep])


# ------------------------------------------------------------------------------------------------ dominance
@dataclass(frozen=True, eq=False)
class DominanceResult:
    """Whether a payoff vector is Pareto-dominated in an outcome set, with a witness when it is.

    Attributes:
        dominated: True when a dominating outcome was found.
        exact: True when the answer is proven (always, except "not found" for ``over="mixed"``).
        over: the outcome set (``"pure"``, ``"mixed"`` or ``"correlated"``).
        witness: the dominating outcome: a joint action (tuple of ints) for pure, a joint distribution
            ``[A_1..A_n]`` for correlated, a tuple of mixed strategies for mixed; None when not dominated.
        witness_payoff: its payoff vector ``[n]`` (None when not dominated).
        improvement: Σ_i (witness_payoff_i - u_i), the total gain of the witness (0 when not dominated).
        note: how the answer was reached.
    """

    dominated: bool
    exact: bool
    over: str
    witness: object
    witness_payoff: np.ndarray | None
    improvement: float
    note: str

    def to_dict(self) -> dict[str, object]:
        w = self.witness
        if isinstance(w, np.ndarray):
            w = w.tolist()
        elif isinstance(w, tuple) and w and isinstance(w[0], np.ndarray):
            w = [s.tolist() for s in w]
        elif isinstance(w, tuple):
            w = list(w)
        return {
            "dominated": self.dominated,
            "exact": self.exact,
            "over": self.over,
            "witness": w,
            "witness_payoff": None if self.witness_payoff is None else self.witness_payoff.tolist(),
            "improvement": float(self.improvement),
            "note": self.note,
        }


def _not_dominated(over: str, note: str, exact: bool = True) -> DominanceResult:
    return DominanceResult(False, exact, over, None, None, 0.0, note)


def _over_pure(game: NormalFormGame, u: np.ndarray, tol: float, **_: object) -> DominanceResult:
    joint, points = pure_payoff_points(game)
    diff = points - u
    better = np.all(diff >= -tol, axis=1) & np.any(diff > tol, axis=1)
    if not better.any():
        return _not_dominated("pure", "no joint action Pareto-dominates the point")
    k = int(np.argmax(np.where(better, diff.sum(axis=1), -np.inf)))
    return DominanceResult(
        True, True, "pure", tuple(int(a) for a in joint[k]), points[k].copy(), float(diff[k].sum()),
        "a joint action Pareto-dominates the point (the one with the largest total gain)",
    )  # fmt: skip


def _over_correlated(game: NormalFormGame, u: np.ndarray, tol: float, **_: object) -> DominanceResult:
    P = game.payoffs.reshape(game.n_players, -1)
    N = P.shape[1]
    res = linprog(
        c=-P.sum(axis=0),
        A_ub=-P,
        b_ub=-u,  # U_i(μ) >= u_i
        A_eq=np.ones((1, N)),
        b_eq=[1.0],
        bounds=[(0.0, None)] * N,
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if res.status == 2:
        return _not_dominated("correlated", "no joint distribution reaches u_i for every player (LP infeasible)")
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the Pareto-dominance LP: {res.message}")
    mu = np.maximum(res.x, 0.0)
    mu /= mu.sum()
    value = P @ mu
    gain = value - u
    if not (np.all(gain >= -tol) and np.any(gain > tol)):
        return _not_dominated("correlated", "the largest total gain over the correlated region is 0 (within tol)")
    return DominanceResult(
        True, True, "correlated", mu.reshape(game.num_actions), value, float(gain.sum()),
        "a joint distribution Pareto-dominates the point (LP: maximum total gain with every player no worse)",
    )  # fmt: skip


def _over_mixed(
    game: NormalFormGame, u: np.ndarray, tol: float, samples: int = 10_000, seed: int | np.random.Generator = 0
) -> DominanceResult:
    pure = _over_pure(game, u, tol)
    if pure.dominated:
        joint = cast(tuple[int, ...], pure.witness)  # a joint action when over="pure"
        profile = tuple(np.eye(m)[a] for m, a in zip(game.num_actions, joint, strict=True))
        return DominanceResult(True, True, "mixed", profile, pure.witness_payoff, pure.improvement, pure.note)
    if not _over_correlated(game, u, tol).dominated:
        return _not_dominated("mixed", "undominated in the correlated region, which contains every mixed payoff")
    rng = np.random.default_rng(seed)
    profiles = [rng.dirichlet(np.full(m, 0.5), size=samples) for m in game.num_actions]  # [samples, A_i] each
    values = np.einsum("...a,sa->s...", game.payoffs, profiles[-1])  # contract the last player's axis
    for sigma in reversed(profiles[:-1]):
        values = np.einsum("s...a,sa->s...", values, sigma)
    gain = values - u  # [samples, n]
    better = np.all(gain >= -tol, axis=1) & np.any(gain > tol, axis=1)
    if not better.any():
        return _not_dominated(
            "mixed",
            f"inexact: dominated in the correlated region, but none of {samples} sampled mixed profiles dominates",
            exact=False,
        )
    k = int(np.argmax(np.where(better, gain.sum(axis=1), -np.inf)))
    return DominanceResult(
        True, True, "mixed", tuple(p[k].copy() for p in profiles), values[k].copy(), float(gain[k].sum()),
        f"a sampled mixed profile Pareto-dominates the point (best of {samples} seeded Dirichlet samples)",
    )  # fmt: skip


_OVER: dict[str, Callable[..., DominanceResult]] = {
    "pure": _over_pure,
    "mixed": _over_mixed,
    "correlated": _over_correlated,
}


def is_pareto_dominated(
    game: NormalFormGame,
    payoff_vector: object,
    over: str = "pure",
    tol: float = DEFAULT_TOLERANCE,
    samples: int = 10_000,
    seed: int | np.random.Generator = 0,
) -> DominanceResult:
    """Whether ``payoff_vector [n]`` is Pareto-dominated by a pure, mixed or correlated outcome of ``game``.

    ``samples`` and ``seed`` only matter for ``over="mixed"`` (module docstring: that search is inexact when it
    finds nothing).
    """
    game = _check_game(game, "is_pareto_dominated")
    if over not in _OVER:
        raise UnknownNameError(f"unknown outcome set over={over!r}; expected one of {sorted(_OVER)}")
    u = as_real_array("payoff_vector", payoff_vector, ndim=1)
    if u.shape != (game.n_players,):
        raise InvalidGameError(
            f"payoff_vector: expected one payoff per player, shape ({game.n_players},), got {u.shape}"
        )
    if int(samples) < 1:
        raise InvalidGameError(f"samples: expected a positive number of sampled profiles, got {samples!r}")
    return _OVER[over](game, u, float(tol), samples=int(samples), seed=seed)


# --------------------------------------------------------------------------------- two-player front
@dataclass(frozen=True, eq=False)
class CorrelatedFront:
    """The Pareto front of a two-player game's correlated-payoff region (the convex hull of the pure payoffs).

    Attributes:
        vertices: ``[K, 2]`` payoff vectors ordered by increasing u_0 (so decreasing u_1); consecutive vertices
            are joined by a segment of the front (K = 1: a single point dominates the whole region).
        joint_actions: for each vertex, every joint action with that payoff vector.
    """

    vertices: np.ndarray
    joint_actions: tuple[tuple[tuple[int, int], ...], ...]

    @property
    def segments(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.vertices[k], self.vertices[k + 1]) for k in range(len(self.vertices) - 1)]

    def to_dict(self) -> dict[str, object]:
        return {
            "vertices": self.vertices.tolist(),
            "joint_actions": [[list(a) for a in cell] for cell in self.joint_actions],
            "segments": [[a.tolist(), b.tolist()] for a, b in self.segments],
        }


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def pareto_front_correlated(game: NormalFormGame, tol: float = DEFAULT_TOLERANCE) -> CorrelatedFront:
    """The Pareto front of the two-player correlated-payoff region, as ordered hull vertices.

    The upper hull is built by Andrew's monotone chain (Andrew 1979, IPL 9(5)) over the distinct payoff points;
    the front is its part from the highest point (rightmost among ties) to the rightmost point (highest among
    ties), where every edge has negative slope and so every point of it is Pareto optimal.
    """
    game = _check_game(game, "pareto_front_correlated")
    require_players(
        game,
        "pareto_front_correlated",
        2,
        applies_to="two-player games (the ordered front)",
        instead="Use pareto_front_pure or is_pareto_dominated(..., over='correlated') for n players.",
    )
    joint, points = pure_payoff_points(game)
    distinct = np.unique(points, axis=0)  # sorted by u_0, then u_1
    # Cross products multiply two payoff differences: above ~1e150 they overflow. Their signs do not change when
    # each axis is scaled by a positive constant, so huge payoffs are scaled by a power of two (exact) first.
    size = float(np.abs(distinct).max(initial=0.0))
    scaled = np.ldexp(distinct, -int(np.frexp(size)[1])) if size > 1e150 else distinct
    hull: list[int] = []  # upper hull, left to right, as indices into distinct
    for k, p in enumerate(scaled):
        while len(hull) >= 2 and _cross(scaled[hull[-2]], scaled[hull[-1]], p) >= -tol:
            hull.pop()
        hull.append(k)
    top = max(range(len(hull)), key=lambda k: (distinct[hull[k]][1], distinct[hull[k]][0]))
    vertices = distinct[hull[top:]]  # from the highest point to the rightmost point of the upper hull
    cells = tuple(
        tuple((int(a), int(b)) for a, b in joint[np.all(np.abs(points - v) <= tol, axis=1)]) for v in vertices
    )
    return CorrelatedFront(vertices, cells)
