"""The occupancy-measure linear program of a constrained MDP (Altman 1999, *Constrained Markov Decision Processes*,
CRC, §3.2-3.5, Thm. 3.3), the one LP every exact constrained solver of :mod:`marlkit.solve.constrained` builds on.

A (constrained) MDP over "actions" b — the joint actions of a team (the centralised problem) or one agent's own
actions with the others' policy folded into the transitions (a best feasible response) — is solved over the
discounted state-action occupancy x(s, b) = Σ_t γ^t Pr(s_t = s, b_t = b) >= 0 of the live (non-terminal) states:

    maximise   Σ_{s,b} r(s, b) x(s, b)
    subject to Σ_b x(s', b) - γ Σ_{s,b} T(s' | s, b) x(s, b) = μ_0(s')        for every live state s'   (flow)
               Σ_{s,b} C_k(s, b) x(s, b) <= c_k                                 for every constraint k
               x(s, b) = 0 on illegal actions and terminal states.

Terminal states are absorbing with value 0, exactly as :meth:`marlkit.games.StochasticGame.evaluate` treats them
(their Bellman rows are zero): they carry no occupancy, no reward, no cost, and mass that enters them is lost.
Then Σ_{s,b} r x = μ_0 · V^π for the stationary policy π(b | s) = x(s, b) / Σ_b' x(s, b') (Altman 1999, Thm. 3.2),
so the LP optimum is the constrained optimum over all (history-dependent) policies, and a stationary optimum exists.

The optimal multipliers λ* >= 0 of the constraints are the LP's dual values: λ*_k = ∂ optimum / ∂ c_k (sensitivity,
Altman 1999 Thm. 3.6 / Bertsimas & Tsitsiklis 1997 §5.2); SciPy's HiGHS reports ``ineqlin.marginals`` =
∂(min of the minimised objective)/∂ b_ub <= 0, so λ* = -marginals (after undoing the row scaling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from marlkit.errors import CertificationError, NotApplicableError
from marlkit.games.stochastic import StochasticGame
from marlkit.games.views import as_stochastic

if TYPE_CHECKING:
    from scipy import sparse

HIGHS_OPTIONS: dict[str, object] = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
"""HiGHS' tightest feasibility tolerances (its default is 1e-7); rewards and cost rows are scaled to max |.| = 1."""

OCCUPANCY_OPTIONS: dict[str, object] = {**HIGHS_OPTIONS, "presolve": False}
"""The occupancy LP skips HiGHS' presolve: on dense transition rows it took ~90% of the time (S = 300, 2x2 joint
actions: 8.6 s with presolve, 0.8 s without; bench/safe_lp.py) and removes nothing (every column is a live
state-action pair)."""

RETRIES: tuple[tuple[str, dict[str, object]], ...] = (
    ("highs-ds", OCCUPANCY_OPTIONS),
    ("highs-ds", HIGHS_OPTIONS),
    ("highs-ipm", HIGHS_OPTIONS),
)
"""Solver configurations tried in turn while HiGHS reports numerical difficulties (seen once on a 2-variable elastic
LP without presolve: status 4, "Not Set"); the interior point method ends with a crossover, so still a vertex."""

UNVISITED = 1e-12
"""A state whose occupancy is at most this fraction of the total occupancy is treated as unvisited."""


def constrained_game(game: object, where: str) -> StochasticGame:
    """The game as a stochastic game (:func:`marlkit.games.views.as_stochastic`); NotApplicableError without costs."""
    model = as_stochastic(game)
    if not model.is_constrained:
        raise NotApplicableError(
            f"{where}: game {model.name or '(unnamed)'!r} has no costs/limits; give it costs [n, m, S, A..] and "
            "limits [n, m] (e.g. the catalog game resource-sharing)"
        )
    return model


@dataclass(frozen=True, eq=False)
class OccupancyProblem:
    """One constrained MDP in occupancy form (module docstring); ``B`` counts its (joint or own) actions.

    Attributes:
        transitions: T(s' | s, b), ``[S, B, S]``.
        reward: r(s, b) to maximise, ``[S, B]``.
        costs: C_k(s, b), ``[K, S, B]`` (K may be 0).
        limits: c_k, ``[K]``.
        legal: ``[S, B]`` bool, the actions that may carry occupancy.
        initial: μ_0, ``[S]``; ``gamma``; ``terminal`` ``[S]`` bool.
    """

    transitions: np.ndarray
    reward: np.ndarray
    costs: np.ndarray
    limits: np.ndarray
    legal: np.ndarray
    initial: np.ndarray
    gamma: float
    terminal: np.ndarray


@dataclass(frozen=True, eq=False)
class OccupancySolution:
    """The LP's answer: ``feasible``; the occupancy ``x [S, B]`` (0 off the support); ``value`` = r·x;
    ``multipliers [K]`` (λ* >= 0); ``message`` from HiGHS."""

    feasible: bool
    occupancy: np.ndarray
    value: float
    multipliers: np.ndarray
    message: str


def _scale(a: np.ndarray) -> float:
    top = float(np.abs(a).max()) if a.size else 0.0
    return top if top > 0 else 1.0


def solve_occupancy(
    problem: OccupancyProblem, penalty: float | None = None, coupling: sparse.csr_matrix | None = None
) -> OccupancySolution:
    """Solve the occupancy LP of ``problem`` with HiGHS (dual simplex, so the answer is a vertex).

    ``coupling`` adds equality rows ``coupling · x = 0`` over the flattened ``[S·B]`` occupancy (the recommendation
    consistency of :mod:`marlkit.solve.constrained.markov_gap`).

    With ``penalty`` the constraints are elastic: C_k x - σ_k <= c_k, σ_k >= 0, and ``penalty · Σ σ`` is subtracted
    from the objective (used by the product-policy search to walk back into the feasible set); the reported
    ``value`` is r·x alone and ``feasible`` says whether every σ_k is 0 within tolerance.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    S, B = problem.reward.shape
    K = problem.costs.shape[0]
    live = ~problem.terminal
    keep = problem.legal & live[:, None]
    cols = np.flatnonzero(keep.reshape(-1))
    states = cols // B
    rows_live = np.flatnonzero(live)
    row_of = -np.ones(S, dtype=np.int64)
    row_of[rows_live] = np.arange(rows_live.size)
    flat_T = problem.transitions.reshape(S * B, S)[cols][:, rows_live]  # [vars, live S']
    eye = sparse.csr_matrix((np.ones(cols.size), (row_of[states], np.arange(cols.size))), (rows_live.size, cols.size))
    A_eq = eye - problem.gamma * sparse.csr_matrix(flat_T.T)
    b_eq = problem.initial[rows_live]
    if coupling is not None:
        A_eq = sparse.vstack([A_eq, sparse.csr_matrix(coupling)[:, cols]]).tocsr()
        b_eq = np.r_[b_eq, np.zeros(coupling.shape[0])]

    r_scale = _scale(problem.reward)
    c = -problem.reward.reshape(-1)[cols] / r_scale
    C = problem.costs.reshape(K, S * B)[:, cols]
    row_scale = np.array([_scale(row) for row in C]) if K else np.ones(0)
    A_ub = C / row_scale[:, None] if K else np.zeros((0, cols.size))
    b_ub = problem.limits / row_scale if K else np.zeros(0)
    bounds: list[tuple[float, float | None]] = [(0.0, None)] * cols.size
    if penalty is not None and K:
        A_ub = np.c_[A_ub, -np.eye(K)]
        A_eq = sparse.hstack([A_eq, sparse.csr_matrix((A_eq.shape[0], K))])
        c = np.r_[c, np.full(K, penalty / r_scale)]
        bounds = bounds + [(0.0, None)] * K
    for method, options in RETRIES:
        res = linprog(
            c=c,
            A_ub=sparse.csr_matrix(A_ub) if K else None,
            b_ub=b_ub if K else None,
            A_eq=A_eq,
            b_eq=b_eq,
            bounds=bounds,
            method=method,
            options=options,
        )
        if res.status != 4:  # 4: HiGHS reports numerical difficulties; try the next configuration
            break
    if res.status == 2:
        return OccupancySolution(False, np.zeros((S, B)), float("nan"), np.full(K, np.nan), str(res.message))
    if res.status != 0:
        raise CertificationError(f"HiGHS failed on the occupancy-measure LP: {res.message}")
    x = np.zeros(S * B)
    x[cols] = np.maximum(res.x[: cols.size], 0.0)
    x = x.reshape(S, B)
    marginals = np.asarray(res.ineqlin.marginals) if K else np.zeros(0)
    multipliers = np.maximum(-marginals * r_scale / row_scale, 0.0) if K else np.zeros(0)
    feasible = True
    if penalty is not None and K:
        feasible = bool(np.all(res.x[cols.size :] <= 1e-9 * max(1.0, float(np.abs(problem.limits).max()))))
    return OccupancySolution(feasible, x, float(np.sum(problem.reward * x)), multipliers, str(res.message))


def policy_from_occupancy(occupancy: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """π(b | s) = x(s, b) / Σ_b' x(s, b') ``[S, B]``; uniform over the legal actions where a state is unvisited."""
    mass = occupancy.sum(axis=1, keepdims=True)
    visited = mass > UNVISITED * max(float(mass.sum()), 1e-300)
    uniform = legal / legal.sum(axis=1, keepdims=True)
    return np.where(visited, occupancy / np.where(visited, mass, 1.0), uniform)


def visited_states(occupancy: np.ndarray) -> np.ndarray:
    """``[S]`` bool: the states with occupancy above :data:`UNVISITED` of the total."""
    mass = occupancy.sum(axis=1)
    return mass > UNVISITED * max(float(mass.sum()), 1e-300)


def joint_values(game: StochasticGame, joint: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """μ_0 · V for each row of ``tables [k, S, A..]`` under a correlated joint policy ``joint [S, A..]``.

    The same linear Bellman system as :meth:`StochasticGame.evaluate` (terminal rows zero; Puterman 1994, Thm.
    6.1.1), taking the joint policy without guessing its layout: ``StochasticGame.joint_action_probabilities``
    reads a ``[S, A..]`` array as per-agent ``[n, S, A_max]`` when the two shapes coincide (e.g. S = n = 2, 2x2).
    """
    S = game.num_states
    p = joint.reshape(S, -1) * (~game.terminal)[:, None]
    P = np.einsum("sa,sat->st", p, game.transitions.reshape(S, -1, S))
    r = np.einsum("sa,ksa->ks", p, tables.reshape(tables.shape[0], S, -1))
    values = np.linalg.solve(np.eye(S) - game.gamma * P, r.T).T
    return values @ game.initial


# ----------------------------------------------------------------------------------------- the two views
def joint_problem(game: StochasticGame, weights: np.ndarray, limits: np.ndarray) -> OccupancyProblem:
    """The team's problem over joint actions: reward Σ_i w_i R_i, every agent's costs, constraints ``[n·m]``."""
    S, n = game.num_states, game.n_players
    B = int(np.prod(game.num_actions))
    costs = game.costs if game.costs is not None else np.zeros((n, 0, S, *game.num_actions))
    return OccupancyProblem(
        transitions=game.transitions.reshape(S, B, S),
        reward=np.tensordot(weights, game.rewards.reshape(n, S, B), axes=1),
        costs=costs.reshape(-1, S, B),
        limits=np.asarray(limits, dtype=np.float64).reshape(-1),
        legal=game.legal_joint_actions().reshape(S, B),
        initial=game.initial,
        gamma=game.gamma,
        terminal=game.terminal,
    )


def others_weights(game: StochasticGame, policy: np.ndarray, agent: int) -> np.ndarray:
    """Π_{j != agent} π_j(a_j | s) as ``[S, A_1..A_n]`` (agent's own axis of size 1)."""
    S, n = game.num_states, game.n_players
    weights = np.ones((S, *([1] * n)))
    for j, m in enumerate(game.num_actions):
        if j == agent:
            continue
        view = [1] * (n + 1)
        view[0], view[j + 1] = S, m
        weights = weights * policy[j, :, :m].reshape(view)
    return weights


def fold_others(game: StochasticGame, table: np.ndarray, weights: np.ndarray, agent: int) -> np.ndarray:
    """Σ_{a_-i} Π_{j != i} π_j(a_j|s) table[k, s, a, ...]: a table ``[k, S, A.., *tail]`` -> ``[k, S, A_i, *tail]``."""
    n = game.n_players
    k = table.shape[0]
    tail = table.shape[2 + n :]
    w = weights.reshape(1, *weights.shape, *([1] * len(tail)))
    folded = np.moveaxis(table * w, 2 + agent, 2)  # [k, S, A_i, rest.., tail]
    shape = folded.shape
    return folded.reshape(k, shape[1], shape[2], -1, *tail).sum(axis=3)


def agent_problem(
    game: StochasticGame,
    policy: np.ndarray,
    agent: int,
    reward: np.ndarray,
    costs: np.ndarray,
    limits: np.ndarray,
) -> OccupancyProblem:
    """Agent ``agent``'s own constrained MDP given the others' product policy ``policy [n, S, A_max]``.

    ``reward [S, A..]`` and ``costs [K, S, A..]`` are joint-action tables; the others' actions are averaged out with
    their policy, so the problem's actions are the agent's own (Filar & Vrieze 1997, §3.1: the induced MDP).
    """
    S = game.num_states
    w = others_weights(game, policy, agent)
    T = fold_others(game, game.transitions[None], w, agent)[0]
    folded = fold_others(game, np.concatenate([reward[None], costs], axis=0), w, agent)
    return OccupancyProblem(
        transitions=T,
        reward=folded[0],
        costs=folded[1:].reshape(-1, S, game.num_actions[agent]),
        limits=np.asarray(limits, dtype=np.float64).reshape(-1),
        legal=game.action_mask[agent, :, : game.num_actions[agent]],
        initial=game.initial,
        gamma=game.gamma,
        terminal=game.terminal,
    )
