"""Correlated and coarse correlated equilibria of n-player normal-form games by linear programming.

A correlated distribution μ is an array ``[A_1, ..., A_n]`` (flattened in C order for the LPs, N = Π_i A_i).

* **Correlated equilibrium** (Aumann 1974, "Subjectivity and correlation in randomized strategies", J. Math.
  Econ. 1:67-96; Shoham & Leyton-Brown 2009, *Multiagent Systems*, Def. 3.4.12 and the CE linear program of
  §4.6): for every player i and every ordered pair a_i != a_i',

      Σ_{a_-i} μ(a_i, a_-i) [u_i(a_i', a_-i) - u_i(a_i, a_-i)] <= 0          (following a_i is a best reply),

  one row of ``G μ <= h`` (h = 0) per (i, a_i, a_i'), Σ_i A_i (A_i - 1) rows.
* **Coarse correlated equilibrium** (Moulin & Vial 1978, "Strategically zero-sum games", IJGT 7:201-221; Hannan
  1957): for every player i and every fixed deviation a_i',

      Σ_a μ(a) [u_i(a_i', a_-i) - u_i(a)] <= 0,                                  Σ_i A_i rows.

  Summing the CE rows of (i, ·, a_i') gives the CCE row of (i, a_i'), so every CE is a CCE.

Both sets are polytopes {μ : G μ <= h, μ >= 0, Σ μ = 1}; :func:`ce_constraints` and :func:`cce_constraints` export
(G, h) (the simplex is implicit) for other code, e.g. distances to the CE set by projection. The matrices are
built per player from the payoff tensor with the player's own axis moved first (no loop over joint actions).

Objectives (``objective=``), all over the chosen polytope:

* ``"utilitarian"`` — maximise Σ_i U_i(μ) (linear).
* ``"egalitarian"`` — maximise min_i U_i(μ): an auxiliary variable t with t <= U_i(μ) for every i, maximise t.
* ``"linear"`` — maximise c·μ for ``target`` c: player weights ``[n]`` (maximise Σ_i c_i U_i(μ)) or a
  coefficient per joint action, shape ``[A_1, ..., A_n]``.
* ``"l1"`` — minimise ||μ - p||_1 to a distribution ``target`` p ``[A_1, ..., A_n]`` (auxiliary s >= |μ - p|,
  minimise Σ s). The distance is 0 iff p is itself a (C)CE.
* ``"entropy"`` — maximise the Shannon entropy -Σ μ log μ (strictly concave, so the optimum is unique). Not an LP:
  one LP first finds every joint action in the support of some equilibrium (the max-entropy point is positive
  exactly there), then the convex dual  min_{λ>=0} log Σ_a exp(-(G^T λ)_a)  on that support is solved by L-BFGS-B
  (Boyd & Vandenberghe 2004, §5.2.4, entropy maximisation), so μ ∝ exp(-G^T λ).

**Ties.** The LP objectives can have many optimal equilibria; the one returned is the optimal vertex HiGHS stops at
(deterministic for the same input, but not a canonical choice). Use ``"entropy"`` for a unique, canonical
equilibrium.

Every answer is re-checked after the solve, without the LP: negative rounding is clipped, μ renormalised, and the
largest incentive violation recomputed by :mod:`marlkit.solve.gaps` (reported as ``violation``, in payoff units).
It must be <= ``tol · max(1, max|u|)`` (default tol 1e-9), else a :class:`CertificationError` is raised: the
absolute bound for payoffs of magnitude <= 1, relative to the payoff scale above that. The LP runs on payoffs
scaled to max|u| = 1 with HiGHS' tightest feasibility tolerance (1e-10), so its violations are about 1e-10 of the
payoff scale (measured: <= 4e-10 on random N(0,1) games up to 50x50; the max-entropy path polishes to ~1e-15);
an absolute 1e-9 for payoffs of order 1e6 would ask for more than float64 sums of payoffs carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from marlkit.errors import CertificationError, InvalidGameError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.validation import as_real_array, check_distributions, check_shape
from marlkit.solve.certify import require_resolvable
from marlkit.solve.gaps import cce_gap, ce_gap

DEFAULT_TOLERANCE = 1e-9
"""Largest incentive violation accepted after the re-check (docs/architecture.md, Numerics)."""

_HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
"""HiGHS' tightest feasibility tolerances (its default is 1e-7); payoffs are scaled to max |u| = 1 first."""


# ------------------------------------------------------------------------------------------- polytopes
def _player_blocks(game: NormalFormGame, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Player i's payoffs ``U [A_i, R]`` and flat joint indices ``J [A_i, R]`` with its own action first."""
    m = game.num_actions[i]
    index = np.arange(int(np.prod(game.num_actions))).reshape(game.num_actions)
    return (
        np.moveaxis(game.payoffs[i], i, 0).reshape(m, -1),
        np.moveaxis(index, i, 0).reshape(m, -1),
    )


def _ce_rows(game: NormalFormGame, i: int) -> np.ndarray:
    """Player i's CE rows ``[A_i (A_i - 1), N]``: row (a, a') holds u_i(a', ·) - u_i(a, ·) on the cells a_i = a."""
    U, J = _player_blocks(game, i)
    m = U.shape[0]
    a, b = np.nonzero(~np.eye(m, dtype=bool))  # every ordered pair a != a' in row-major order
    rows = np.zeros((a.size, J.size))
    rows[np.arange(a.size)[:, None], J[a]] = U[b] - U[a]
    return rows


def _cce_rows(game: NormalFormGame, i: int) -> np.ndarray:
    """Player i's CCE rows ``[A_i, N]``: row a' holds u_i(a', a_-i) - u_i(a) on every cell a."""
    U, J = _player_blocks(game, i)
    rows = np.zeros((U.shape[0], J.size))
    rows[:, J.reshape(-1)] = (U[:, None, :] - U[None, :, :]).reshape(U.shape[0], -1)
    return rows


def _check_game(game: object, where: str) -> NormalFormGame:
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(
            f"{where}: expected a NormalFormGame, got {type(game).__name__}; "
            "correlated equilibria are computed for normal-form games"
        )
    require_resolvable(game)  # payoffs the LP cannot tell apart would give a wrong answer
    return game


def ce_constraints(game: NormalFormGame) -> tuple[np.ndarray, np.ndarray]:
    """The correlated-equilibrium polytope as ``G μ <= h`` (plus μ >= 0, Σ μ = 1) over μ flattened in C order.

    Rows are player-major, then the ordered pairs (a_i, a_i'), a_i != a_i', in row-major order; ``h`` is 0.
    Returns float64 arrays ``G [Σ_i A_i (A_i - 1), Π_i A_i]`` and ``h``.
    """
    game = _check_game(game, "ce_constraints")
    G = np.concatenate([_ce_rows(game, i) for i in range(game.n_players)], axis=0)
    return G, np.zeros(G.shape[0])


def cce_constraints(game: NormalFormGame) -> tuple[np.ndarray, np.ndarray]:
    """The coarse-correlated-equilibrium polytope ``G μ <= h`` (rows player-major, then a_i'; h = 0)."""
    game = _check_game(game, "cce_constraints")
    G = np.concatenate([_cce_rows(game, i) for i in range(game.n_players)], axis=0)
    return G, np.zeros(G.shape[0])


# ------------------------------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class CorrelatedSolution:
    """An optimal correlated (or coarse correlated) equilibrium.

    Attributes:
        distribution: μ over joint actions, shape ``[A_1, ..., A_n]``.
        values: each player's expected payoff U_i(μ), shape ``[n]``.
        objective: the objective's name; ``objective_value`` its value at μ, recomputed from μ (welfare for the
            maximisations, the L1 distance for ``"l1"``, the entropy in nats for ``"entropy"``).
        violation: the largest incentive-constraint violation of μ, recomputed after the solve (>= 0, <= tol).
        concept: ``"correlated"`` or ``"coarse-correlated"``.
        method: how μ was computed.
    """

    distribution: np.ndarray
    values: np.ndarray
    objective: str
    objective_value: float
    violation: float
    concept: str
    method: str

    def support(self, tol: float = 1e-12) -> list[tuple[int, ...]]:
        """The joint actions with probability above ``tol``."""
        return [tuple(int(a) for a in cell) for cell in np.argwhere(self.distribution > tol)]

    def to_dict(self) -> dict[str, object]:
        return {
            "concept": self.concept,
            "objective": self.objective,
            "objective_value": float(self.objective_value),
            "distribution": self.distribution.tolist(),
            "values": self.values.tolist(),
            "violation": float(self.violation),
            "support": [list(a) for a in self.support()],
            "method": self.method,
        }


# ------------------------------------------------------------------------------------------- objectives
class _Objective(NamedTuple):
    """An LP objective over x = [μ (N), aux (k)]: minimise c·x s.t. A_ub x <= b_ub, with the aux variables' bounds."""

    c: np.ndarray
    A_ub: np.ndarray
    b_ub: np.ndarray
    aux_bounds: list[tuple[float | None, float | None]]


def _no_target(name: str, target: object) -> None:
    if target is not None:
        raise InvalidGameError(f"target: objective {name!r} takes no target; pass target only with 'linear' or 'l1'")


def _target_distribution(game: NormalFormGame, target: object) -> np.ndarray:
    if target is None:
        raise InvalidGameError("target: objective 'l1' needs a target distribution of shape num_actions")
    p = as_real_array("target", target)
    check_shape("target", p, game.num_actions)
    check_distributions("target", p.reshape(1, -1))
    return p.reshape(-1)


def _utilitarian(game: NormalFormGame, P: np.ndarray, target: object) -> _Objective:
    _no_target("utilitarian", target)
    return _Objective(-P.sum(axis=0), np.zeros((0, P.shape[1])), np.zeros(0), [])


def _linear(game: NormalFormGame, P: np.ndarray, target: object) -> _Objective:
    if target is None:
        raise InvalidGameError("target: objective 'linear' needs weights [n] or coefficients of shape num_actions")
    c = as_real_array("target", target)
    if c.shape == game.num_actions:
        c = c.reshape(-1)
    elif c.shape == (game.n_players,):
        c = c @ P
    else:
        raise InvalidGameError(
            f"target: expected player weights of shape ({game.n_players},) or coefficients of shape "
            f"{game.num_actions}, got {c.shape}"
        )
    return _Objective(-c, np.zeros((0, P.shape[1])), np.zeros(0), [])


def _egalitarian(game: NormalFormGame, P: np.ndarray, target: object) -> _Objective:
    _no_target("egalitarian", target)
    n, N = P.shape
    return _Objective(np.r_[np.zeros(N), -1.0], np.c_[-P, np.ones(n)], np.zeros(n), [(None, None)])


def _l1(game: NormalFormGame, P: np.ndarray, target: object) -> _Objective:
    p = _target_distribution(game, target)
    N = p.size
    eye = np.eye(N)
    A_ub = np.block([[eye, -eye], [-eye, -eye]])  # μ - s <= p and -μ - s <= -p
    return _Objective(np.r_[np.zeros(N), np.ones(N)], A_ub, np.r_[p, -p], [(0.0, None)] * N)


_LP_OBJECTIVES: dict[str, Callable[[NormalFormGame, np.ndarray, object], _Objective]] = {
    "utilitarian": _utilitarian,
    "egalitarian": _egalitarian,
    "linear": _linear,
    "l1": _l1,
}


def _solve_lp(G: np.ndarray, objective: _Objective) -> np.ndarray:
    """min c·x over x = [μ, aux] with G μ <= 0, the objective's rows, μ >= 0, Σ μ = 1; returns μ."""
    from scipy.optimize import linprog

    N, k = G.shape[1], len(objective.aux_bounds)
    A_ub = np.concatenate([np.c_[G, np.zeros((G.shape[0], k))], objective.A_ub], axis=0)
    b_ub = np.r_[np.zeros(G.shape[0]), objective.b_ub]
    res = linprog(
        c=objective.c,
        A_ub=A_ub if A_ub.shape[0] else None,
        b_ub=b_ub if A_ub.shape[0] else None,
        A_eq=np.r_[np.ones(N), np.zeros(k)][None, :],
        b_eq=[1.0],
        bounds=[(0.0, None)] * N + objective.aux_bounds,
        method="highs",
        options=_HIGHS_OPTIONS,
    )
    if res.status != 0:  # the polytope is never empty (Nash 1951: a Nash equilibrium is a CE) and bounded
        raise CertificationError(f"HiGHS failed on the (coarse) correlated equilibrium LP: {res.message}")
    return res.x[:N]


# --------------------------------------------------------------------------------------- max entropy
def _union_support(G: np.ndarray) -> np.ndarray:
    """Boolean ``[N]``: the joint actions positive in some point of {G μ <= 0, μ >= 0, Σ μ = 1}.

    One LP over the cone: max Σ_a y_a s.t. y_a <= ν_a, 0 <= y_a <= 1, G ν <= 0, 0 <= ν <= 1e6. Any cell in the
    support of some equilibrium reaches y_a = 1 (scale that equilibrium up), every other cell has ν_a = 0. The cap
    on ν means a cell is found when some equilibrium gives it at least ~5e-7 of its largest probability.
    """
    from scipy.optimize import linprog

    K, N = G.shape
    eye = np.eye(N)
    res = linprog(
        c=np.r_[np.zeros(N), -np.ones(N)],
        A_ub=np.block([[G, np.zeros((K, N))], [-eye, eye]]),
        b_ub=np.zeros(K + N),
        bounds=[(0.0, 1e6)] * N + [(0.0, 1.0)] * N,
        method="highs",
        options=_HIGHS_OPTIONS,
    )
    if res.status != 0:
        raise CertificationError(f"HiGHS failed on the support LP of the max-entropy equilibrium: {res.message}")
    return res.x[N:] > 0.5


def _max_entropy(G: np.ndarray) -> np.ndarray:
    """argmax_μ H(μ) over {G μ <= 0, μ >= 0, Σ μ = 1} through the convex dual on the union support."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    keep = _union_support(G)
    Gs = G[:, keep]
    Gs = Gs[np.any(Gs != 0.0, axis=1)]
    if Gs.shape[0] == 0:  # no binding incentive constraint on the support: uniform there
        return keep / keep.sum()

    def dual(lam: np.ndarray) -> tuple[float, np.ndarray]:
        z = -(Gs.T @ lam)
        w = np.exp(z - logsumexp(z))
        return float(logsumexp(z)), -(Gs @ w)

    res = minimize(
        dual,
        np.zeros(Gs.shape[0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * Gs.shape[0],
        options={"maxiter": 10_000, "gtol": 1e-7},
    )
    lam = _newton_polish(Gs, res.x)
    z = -(Gs.T @ lam)
    mu = np.zeros(G.shape[1])
    mu[keep] = np.exp(z - logsumexp(z))
    return mu


def _newton_polish(Gs: np.ndarray, lam: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Newton's method on the dual's KKT system, started at the L-BFGS-B point.

    On the active set A (λ_k > 0 or row k violated) it solves E_μ[G_A] = 0 with μ = softmax(-G^T λ); the Jacobian
    is minus the covariance of the rows G_A under μ (least squares, as it may be singular), λ is clipped at 0.
    L-BFGS-B alone stalls with violations near 1e-9; a few Newton steps bring them to rounding level.
    """
    from scipy.special import logsumexp

    for _ in range(iterations):
        z = -(Gs.T @ lam)
        mu = np.exp(z - logsumexp(z))
        g = Gs @ mu
        if g.max() <= 1e-14:
            break
        active = (lam > 0) | (g > 0)
        GA = Gs[active]
        mean = GA @ mu
        cov = (GA * mu) @ GA.T - np.outer(mean, mean)
        step = np.linalg.lstsq(cov, g[active], rcond=None)[0]
        lam = lam.copy()
        lam[active] = np.maximum(lam[active] + step, 0.0)
    return lam


# -------------------------------------------------------------------------------------------------- solve
OBJECTIVES: tuple[str, ...] = (*_LP_OBJECTIVES, "entropy")
"""The objectives :func:`correlated_equilibrium` and :func:`coarse_correlated_equilibrium` accept."""


def _linear_value(mu: np.ndarray, values: np.ndarray, target: object) -> float:
    c = np.asarray(target, dtype=np.float64)
    return float(np.sum(c * mu)) if c.shape == mu.shape else float(c @ values)


def _entropy(mu: np.ndarray) -> float:
    p = mu[mu > 0]
    return float(-np.sum(p * np.log(p)))


_OBJECTIVE_VALUES: dict[str, Callable[[np.ndarray, np.ndarray, object], float]] = {
    "utilitarian": lambda mu, values, target: float(values.sum()),
    "egalitarian": lambda mu, values, target: float(values.min()),
    "linear": _linear_value,
    "l1": lambda mu, values, target: float(np.abs(mu - np.asarray(target, dtype=np.float64)).sum()),
    "entropy": lambda mu, values, target: _entropy(mu),
}
"""Each objective's value, recomputed from the final μ (``[A_1..A_n]``) and the players' values."""


def _as_distribution(mu: np.ndarray, game: NormalFormGame) -> np.ndarray:
    """Clip the solver's rounding below 0, renormalise and reshape to ``[A_1, ..., A_n]``."""
    mu = np.maximum(mu, 0.0)
    return (mu / mu.sum()).reshape(game.num_actions)


_CONCEPTS: dict[str, tuple[str, Callable[[NormalFormGame], tuple[np.ndarray, np.ndarray]], Callable]] = {
    "correlated": ("correlated_equilibrium", ce_constraints, ce_gap),
    "coarse-correlated": ("coarse_correlated_equilibrium", cce_constraints, cce_gap),
}


def _solve(concept: str, game: object, objective: str, target: object, tol: float) -> CorrelatedSolution:
    where, constraints, gap = _CONCEPTS[concept]
    game = _check_game(game, where)
    if objective not in OBJECTIVES:
        raise UnknownNameError(f"unknown objective {objective!r}; expected one of {list(OBJECTIVES)}")
    tol = float(tol)
    if not (tol > 0 and np.isfinite(tol)):
        raise InvalidGameError(f"tol: expected a positive finite tolerance, got {tol!r}")
    scale = float(np.abs(game.payoffs).max()) or 1.0
    G = constraints(game)[0] / scale  # the polytope is a cone in the payoffs: scaling keeps it, aids HiGHS
    P = game.payoffs.reshape(game.n_players, -1)
    if objective == "entropy":
        _no_target("entropy", target)
        mu, method = _max_entropy(G), "support-lp+entropy-dual-lbfgsb"
    else:
        mu, method = _solve_lp(G, _LP_OBJECTIVES[objective](game, P / scale, target)), "highs-lp"
    mu = _as_distribution(mu, game)
    violation = gap(game, mu)
    if violation > tol * max(1.0, scale):
        raise CertificationError(
            f"{concept} equilibrium ({objective}): the solver's distribution violates an incentive constraint by "
            f"{violation:.3g} > tol * max(1, max|u|) = {tol * max(1.0, scale):.3g} after the re-check; loosen tol"
        )
    values = P @ mu.reshape(-1)
    return CorrelatedSolution(
        distribution=mu,
        values=values,
        objective=objective,
        objective_value=_OBJECTIVE_VALUES[objective](mu, values, target),
        violation=max(0.0, violation),
        concept=concept,
        method=method,
    )


def correlated_equilibrium(
    game: NormalFormGame, objective: str = "utilitarian", target: object = None, tol: float = DEFAULT_TOLERANCE
) -> CorrelatedSolution:
    """An optimal correlated equilibrium (Aumann 1974) of ``game`` under ``objective`` (module docstring).

    ``objective`` is one of :data:`OBJECTIVES`; ``target`` is the weights/coefficients of ``"linear"`` or the
    distribution of ``"l1"`` (None otherwise). Among tied optima the LP objectives return HiGHS' vertex.

    Raises:
        UnknownNameError: an unknown objective (the message lists them).
        InvalidGameError: not a NormalFormGame, a missing/misshapen/unwanted target, a non-positive tol.
        CertificationError: the re-checked violation exceeds ``tol · max(1, max|u|)``.

    Example:
        >>> chicken = NormalFormGame([[[6, 2], [7, 0]], [[6, 7], [2, 0]]])  # Aumann 1974
        >>> round(correlated_equilibrium(chicken).objective_value, 9)
        10.5
    """
    return _solve("correlated", game, objective, target, tol)


def coarse_correlated_equilibrium(
    game: NormalFormGame, objective: str = "utilitarian", target: object = None, tol: float = DEFAULT_TOLERANCE
) -> CorrelatedSolution:
    """An optimal coarse correlated equilibrium (Moulin & Vial 1978) of ``game`` under ``objective``."""
    return _solve("coarse-correlated", game, objective, target, tol)
