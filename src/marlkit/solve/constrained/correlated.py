"""Constrained correlated equilibria of one-state constrained games (one-shot or repeated with a stationary device).

**Definition** (Chen, Ma & Zhou 2022, "Finding correlated equilibrium of constrained Markov game: a primal-dual
approach", NeurIPS; Bernasconi et al. 2023, "Constrained Phi-equilibria", ICML): a distribution μ over joint
actions is a constrained CE when it meets every agent's limits and no agent i has a *feasible* profitable
(stochastic) modification φ_i(a_i' | a_i) — one whose modified play φ_i∘μ still meets agent i's own limits:

    max_φ { Σ_{a_i,a_i'} φ(a_i'|a_i) M_u(a_i, a_i')  :  Σ φ(a_i'|a_i) M_c^j(a_i, a_i') <= c̄_j ∀j,  φ(·|a_i) ∈ Δ }
        <= U_i(μ),          M_x(a_i, a_i') = Σ_{a_-i} μ(a_i, a_-i) x_i(a_i', a_-i),

with per-step limits c̄ = c (1 - γ) (one state, so J = per-step / (1 - γ); stationary modifications suffice, as an
agent's deviation is a CMDP whose state is its i.i.d. recommendation: Altman 1999, Thm. 3.1). For a given μ this
inner problem is an LP: :func:`constrained_ce_gaps` computes each agent's best feasible gain exactly. By LP duality
it holds iff some λ_i >= 0 makes μ a CE of the Lagrangian game u_i - λ_i·C_i with complementary slackness —
Chen, Ma & Zhou's zero-duality-gap characterisation — which is *bilinear* in (μ, λ): the set is a union of
polytopes over λ and need not be convex (Bernasconi et al. 2023).

**What is computed, and how exact it is.** :func:`constrained_correlated_equilibrium` maximises a linear objective
(welfare, or weights) over the union by one LP per λ: λ = 0 (a feasible ordinary CE, always a constrained CE) and
then a grid of λ values per constraint (full grid for n·m <= 2 multipliers, coordinate search beyond). Every answer
is re-certified by the exact gap LP. The result is ``exact=True`` only with a certificate: it reaches the upper
bound (the constrained team optimum over all feasible μ, :func:`constrained_optimum`), or no constraint can bind
(then the set is the feasible ordinary CEs and λ = 0 is exact). Otherwise it is a certified constrained CE whose
objective is a lower bound on the best one. **Computing** a constrained CE of a Markov (several-state) game is not
done here (NotApplicableError): a stationary correlated policy's occupancy is not linear in the policy. **Checking**
one is: :func:`marlkit.solve.constrained.markov_constrained_ce_gaps` gives the exact gap of any correlated joint
policy of a Markov game.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from marlkit.errors import CertificationError, NotApplicableError, UnknownNameError
from marlkit.games.stochastic import StochasticGame
from marlkit.solve.constrained.occupancy import HIGHS_OPTIONS, constrained_game
from marlkit.solve.constrained.optimum import DEFAULT_TOLERANCE, constrained_optimum, team_weights

LAMBDA_GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 50.0)
"""Multipliers tried per constraint, in units of max |u| / max |C| (per step)."""


@dataclass(frozen=True, eq=False)
class ConstrainedCorrelatedEquilibrium:
    """A certified constrained CE of a one-state game (module docstring).

    Attributes:
        distribution: μ ``[A_1..A_n]`` (per step).
        values: discounted returns ``[n]``; ``costs [n, m]`` against ``limits [n, m]``.
        objective_value: Σ_i w_i values_i; ``upper_bound``: the constrained team optimum (>= any constrained CE).
        exact: True when certified optimal over the constrained CE set; False: a lower bound.
        gains: each agent's best feasible deviation gain (exact LP, <= tol).
        multipliers: the λ ``[n, m]`` (per-step units) of the Lagrangian game μ is a CE of (NaN when μ is the team
            optimum, certified directly).
        method: how μ was found.
        found: False when no certified constrained CE was found (then the arrays are NaN): one need not exist —
            existence needs a Slater-type condition (Ni, Maddux & Kamgarpour 2025, "On characterization and
            existence of constrained correlated equilibria in Markov games", arXiv:2507.03502).
    """

    distribution: np.ndarray
    values: np.ndarray
    costs: np.ndarray
    limits: np.ndarray
    objective_value: float
    upper_bound: float
    exact: bool
    gains: np.ndarray
    multipliers: np.ndarray
    method: str
    found: bool = True

    def to_json(self) -> dict[str, object]:
        if not self.found:
            return {"found": False, "upper_bound": float(self.upper_bound), "method": self.method}
        return {
            "found": True,
            "distribution": self.distribution.tolist(),
            "values": self.values.tolist(),
            "costs": self.costs.tolist(),
            "limits": self.limits.tolist(),
            "objective_value": float(self.objective_value),
            "upper_bound": float(self.upper_bound),
            "exact": self.exact,
            "gains": self.gains.tolist(),
            "multipliers": [[None if np.isnan(v) else float(v) for v in row] for row in self.multipliers],
            "method": self.method,
        }


def _one_state(game: object, where: str) -> StochasticGame:
    model = constrained_game(game, where)
    if model.num_states != 1 or model.terminal[0] or not model.legal_joint_actions().all():
        raise NotApplicableError(
            f"{where}: constrained correlated equilibria are computed for one-state games with every action legal; "
            f"{model.name or 'this game'!r} has {model.num_states} states — use constrained_optimum or "
            "constrained_nash_conv"
        )
    return model


def _own_first(game: StochasticGame, table: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """A joint table ``[A..]`` as ``[A_i, R]`` (own action first) and the flat joint index of each cell."""
    m = game.num_actions[i]
    index = np.arange(int(np.prod(game.num_actions))).reshape(game.num_actions)
    return np.moveaxis(table, i, 0).reshape(m, -1), np.moveaxis(index, i, 0).reshape(m, -1)


def _per_step(game: StochasticGame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-step payoffs ``[n, A..]``, costs ``[n, m, A..]`` and limits ``[n, m]`` of a one-state game."""
    assert game.costs is not None and game.limits is not None
    return game.rewards[:, 0], game.costs[:, :, 0], game.limits * (1.0 - game.gamma)


def constrained_ce_gaps(game: object, distribution: object) -> np.ndarray:
    """Each agent's best gain from a modification that keeps its own limits, ``[n]`` in discounted return units
    (<= 0 up to rounding at a constrained CE; the identity modification makes it >= 0 when μ is feasible)."""
    model = _one_state(game, "constrained_ce_gaps")
    mu = np.asarray(distribution, dtype=np.float64).reshape(model.num_actions)
    u, C, c = _per_step(model)
    gains = np.zeros(model.n_players)
    for i in range(model.n_players):
        m = model.num_actions[i]
        U, J = _own_first(model, u[i], i)
        weights = mu.reshape(-1)[J]  # [A_i, R]: μ(a_i, r)
        gain_table = weights @ U.T  # M_u[a, a'] = Σ_r μ(a, r) u(a', r)
        cost_tables = [weights @ _own_first(model, C[i, j], i)[0].T for j in range(C.shape[1])]
        A_eq = np.kron(np.eye(m), np.ones((1, m)))  # Σ_a' φ(a'|a) = 1
        res = linprog(
            -gain_table.reshape(-1),
            A_ub=np.array([t.reshape(-1) for t in cost_tables]) if cost_tables else None,
            b_ub=c[i] if cost_tables else None,
            A_eq=A_eq,
            b_eq=np.ones(m),
            bounds=[(0.0, None)] * (m * m),
            method="highs",
            options=HIGHS_OPTIONS,
        )
        own = float(np.sum(mu * u[i]))
        if res.status not in (0, 2):  # never certify on a failed solve
            raise CertificationError(f"constrained_ce_gaps: HiGHS failed on agent {i}'s modification LP: {res.message}")
        best = -res.fun if res.status == 0 else -np.inf  # status 2: no feasible modification, nothing to gain
        gains[i] = (best - own) / (1.0 - model.gamma)
    return gains


def _lp_at(game: StochasticGame, w: np.ndarray, lam: np.ndarray) -> np.ndarray | None:
    """max w·u(μ) over the feasible CEs of the Lagrangian game u_i - λ_i·C_i (module docstring); μ or None."""
    u, C, c = _per_step(game)
    n, N = game.n_players, int(np.prod(game.num_actions))
    sizes = list(game.num_actions)
    offsets = np.cumsum([N, *sizes])[:-1]
    width = N + sum(sizes)
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for i, j in np.ndindex(*c.shape):  # feasibility of μ
        rows.append(np.r_[C[i, j].reshape(-1), np.zeros(sum(sizes))])
        rhs.append(float(c[i, j]))
    for i in range(n):
        row = np.zeros(width)
        row[offsets[i] : offsets[i] + sizes[i]] = 1.0
        row[:N] = -u[i].reshape(-1)
        rows.append(row)
        rhs.append(-float(lam[i] @ c[i]))
        lagrangian = u[i] - np.tensordot(lam[i], C[i], axes=1)
        L, J = _own_first(game, lagrangian, i)
        for a, b in itertools.product(range(sizes[i]), repeat=2):
            row = np.zeros(width)
            row[J[a]] = L[b]
            row[offsets[i] + a] = -1.0
            rows.append(row)
            rhs.append(0.0)
    res = linprog(
        np.r_[-np.tensordot(w, u.reshape(n, -1), axes=1), np.zeros(sum(sizes))],
        A_ub=np.array(rows),
        b_ub=np.array(rhs),
        A_eq=np.r_[np.ones(N), np.zeros(sum(sizes))][None, :],
        b_eq=[1.0],
        bounds=[(0.0, None)] * N + [(None, None)] * sum(sizes),
        method="highs",
        options=HIGHS_OPTIONS,
    )
    if res.status != 0:
        return None
    mu = np.maximum(res.x[:N], 0.0)
    return (mu / mu.sum()).reshape(game.num_actions)


def _certified(game: StochasticGame, mu: np.ndarray, tol: float) -> bool:
    """μ meets every limit and no agent gains from a feasible modification (exact gap LPs), within ``tol``."""
    u, C, c = _per_step(game)
    feasible = np.all(np.tensordot(C, mu, axes=game.n_players) <= c + tol * np.maximum(1.0, c))
    scale = max(1.0, float(np.abs(u).max()) / (1.0 - game.gamma))
    return bool(feasible and constrained_ce_gaps(game, mu).max() <= tol * scale)


def _lambda_candidates(shape: tuple[int, int], scale: float) -> list[np.ndarray]:
    grid = [g * scale for g in LAMBDA_GRID]
    K = shape[0] * shape[1]
    if K <= 2:
        return [np.array(point).reshape(shape) for point in itertools.product(grid, repeat=K)]
    points = [np.zeros(shape)]
    for k in range(K):  # coordinate search: one multiplier at a time, then all equal
        for g in grid[1:]:
            lam = np.zeros(K)
            lam[k] = g
            points.append(lam.reshape(shape))
    points += [np.full(shape, g) for g in grid[1:]]
    return points


def constrained_correlated_equilibrium(
    game: object, objective: str | object = "welfare", tol: float = DEFAULT_TOLERANCE
) -> ConstrainedCorrelatedEquilibrium:
    """The constrained CE of a one-state constrained game that maximises ``objective`` ("welfare" or weights
    ``[n]``), certified; ``exact`` says whether it is provably the best (module docstring)."""
    model = _one_state(game, "constrained_correlated_equilibrium")
    if isinstance(objective, str) and objective != "welfare":
        raise UnknownNameError(f"objective: expected 'welfare' or weights [n], got {objective!r}")
    w = team_weights(model, None if isinstance(objective, str) else objective)
    u, C, c = _per_step(model)
    upper = constrained_optimum(model, w)
    if not upper.feasible:
        raise NotApplicableError(f"constrained_correlated_equilibrium: {upper.reason}")
    scale = float(np.abs(u).max() or 1.0) / float(np.abs(C).max() or 1.0)
    never_binds = bool(np.all(C.reshape(*c.shape, -1).max(axis=-1) <= c + 1e-12))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    target = upper.team_return - tol * max(1.0, abs(upper.team_return))
    if _certified(model, upper.policy[0], tol):  # the team optimum itself is a constrained CE: exact at once
        best = (upper.team_return, upper.policy[0], np.full(c.shape, np.nan))
    for lam in [] if best else [np.zeros(c.shape)] if never_binds else _lambda_candidates(c.shape, scale):
        mu = _lp_at(model, w, lam)
        if mu is None or not _certified(model, mu, tol):
            continue
        value = float(w @ (u.reshape(model.n_players, -1) @ mu.reshape(-1))) / (1.0 - model.gamma)
        if best is None or value > best[0] + 1e-12:
            best = (value, mu, lam)
        if value >= target:
            break
    if best is None:
        nan = np.full(c.shape, np.nan)
        return ConstrainedCorrelatedEquilibrium(
            np.full(model.num_actions, np.nan),
            np.full(model.n_players, np.nan),
            nan,
            c / (1.0 - model.gamma),
            float("nan"),
            upper.team_return,
            False,
            np.full(model.n_players, np.nan),
            nan,
            "lagrangian-ce-lp over a λ grid: none certified (one may not exist)",
            found=False,
        )
    value, mu, lam = best
    exact = never_binds or value >= target
    if np.isnan(lam).all():
        method = "the constrained team optimum, certified a constrained CE by the gap LPs"
    elif never_binds:
        method = "lagrangian-ce-lp at λ = 0 (no constraint can bind)"
    else:
        method = "lagrangian-ce-lp over a λ grid" + (
            ", certified optimal by the constrained team optimum" if exact else ""
        )
    return ConstrainedCorrelatedEquilibrium(
        distribution=mu,
        values=(u.reshape(model.n_players, -1) @ mu.reshape(-1)) / (1.0 - model.gamma),
        costs=np.tensordot(C, mu, axes=model.n_players) / (1.0 - model.gamma),
        limits=c / (1.0 - model.gamma),
        objective_value=value,
        upper_bound=upper.team_return,
        exact=bool(exact),
        gains=constrained_ce_gaps(model, mu),
        multipliers=lam,
        method=method,
    )
