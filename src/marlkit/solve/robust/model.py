"""Robust dynamic programming for model uncertainty: reward boxes and (s, a)-rectangular transition balls.

Nature picks, independently at every (s, a), a reward in ``[R_i(s, a) - ε_i(s), R_i(s, a) + ε_i(s)]`` and a
next-state distribution in ``P(s, a) = {p ∈ Δ(S) : ||p - T(·|s, a)|| <= δ(s)}`` (L1 or L∞), adversarially to the
agent whose value is computed (Zhang, Sun, Basar et al. 2020, "Robust multi-agent reinforcement learning with
model uncertainty", NeurIPS, Def. 3.1 and Eq. (3.2): each agent i's robust value is its worst case over the
model). With ``σ_P(V) = min_{p ∈ P} p · V`` in closed form (:mod:`marlkit.solve.robust.inner`):

* **policy evaluation** (a fixed joint policy π), per agent i (Iyengar 2005, Thm 3.1; Nilim & El Ghaoui 2005,
  Thm 1)::

      V_i(s) = Σ_a π(a|s) [ R_i(s, a) - ε_i(s) + γ σ_{P(s,a)}(V_i) ]                               (E)

* **team optimum** of a common-payoff game (one reward R; the robust MDP over joint actions, Iyengar 2005, Thm
  3.2)::

      V(s) = max_a [ R(s, a) - ε(s) + γ σ_{P(s,a)}(V) ]                                             (O)

* **robust Shapley** for a two-player zero-sum game (Shapley 1953 with nature adversarial to player 0 inside
  each cell; Zhang et al. 2020, Eq. (3.3) for two players)::

      V(s) = val_{x, y} [ R_0(s, a, b) - ε_0(s) + γ σ_{P(s,a,b)}(V) ]                               (S)

Each right-hand side is a γ-contraction in the sup norm (σ_P is monotone and ``σ_P(V + c) = σ_P(V) + c``, so
``|σ_P(V) - σ_P(W)| <= ||V - W||_∞``; max, val and averages are non-expansive), so each has a unique fixed point.
Terminal states have value 0. When ε = δ = 0 every set is a singleton, ``σ_P(V) = T(·|s, a) · V`` exactly, and the
solutions are the nominal ones (``StochasticGame.evaluate``, the team optimum, ``shapley_value_iteration``).

Solvers are exact up to the linear solves: (E) by policy iteration for nature (the worst distribution for the
current V fixed, a linear solve, repeat; it stops when the worst distributions repeat — finitely many, as each is
determined by the order of V), (O) by robust policy iteration (Iyengar 2005, §5), (S) by value iteration with the
stopping rule of :func:`marlkit.solve.shapley.shapley_value_iteration` and the minimax LP per stage game.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.properties import (
    require_common_payoff,
    require_fully_observable,
    require_two_player_zero_sum,
    utility_class,
)
from marlkit.games.stochastic import StochasticGame
from marlkit.games.uncertainty import ModelUncertainty
from marlkit.solve.robust.inner import SparseRows, worst_distribution, worst_expectation
from marlkit.solve.shapley import STAGE_SOLVERS, shapley_iteration

__all__ = [
    "RobustSolution",
    "RobustValues",
    "robust_bellman",
    "robust_policy_evaluation",
    "robust_shapley",
    "robust_team_optimum",
]

DEFAULT_TOLERANCE = 1e-9
MAX_ITERATIONS = 10_000


@dataclass(frozen=True, eq=False)
class RobustValues:
    """Each agent's robust value of a fixed joint policy, (E) in the module docstring.

    Attributes:
        values: ``[n, S]`` V_i(s) (0 at terminal states).
        returns: ``[n]`` μ_0 · V_i.
        iterations: linear solves (policy-iteration steps of nature), summed over agents.
        residual: ``max_i ||T_i V_i - V_i||_∞`` of the robust operator at the answer (the error is at most
            residual / (1 - γ)).
    """

    values: np.ndarray
    returns: np.ndarray
    iterations: int
    residual: float

    def to_json(self) -> dict[str, Any]:
        return {
            "values": self.values.tolist(),
            "returns": self.returns.tolist(),
            "iterations": int(self.iterations),
            "residual": float(self.residual),
        }


@dataclass(frozen=True, eq=False)
class RobustSolution:
    """A robust optimum: (O) for a common-payoff game or (S) for a two-player zero-sum game.

    Attributes:
        values: ``[S]`` the robust value (the team's, or player 0's with nature against player 0).
        policy: ``[S, A_1, .., A_n]`` a deterministic optimal joint action (team), or ``[2, S, A_max]`` the
            stationary maximin / minimax policies of the robust stage games (zero-sum).
        returns: ``[n]`` per agent: the team return for every agent (team); ``[v, c/(1-γ) - v]`` with v player
            0's robust return and c the constant sum (0 for zero-sum): player 1's payoff in the model nature picked
            against player 0, not player 1's own robust value — that is :func:`robust_shapley` of the game with
            the players swapped.
        iterations: robust policy-iteration steps (team) or value-iteration sweeps (zero-sum).
        residual: ``||T V - V||_∞`` at the answer (team) or the sup-norm error bound ``2γΔ/(1-γ)`` (zero-sum).
        kind: ``"team"`` or ``"zero-sum"``.
    """

    values: np.ndarray
    policy: np.ndarray
    returns: np.ndarray
    iterations: int
    residual: float
    kind: str

    @property
    def team_return(self) -> float:
        """μ_0 · V: the team's robust return (team) or player 0's robust return (zero-sum)."""
        return float(self.returns[0])

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "values": self.values.tolist(),
            "policy": self.policy.tolist(),
            "returns": self.returns.tolist(),
            "team_return": self.team_return,
            "iterations": int(self.iterations),
            "residual": float(self.residual),
        }


# ------------------------------------------------------------------------------------------------ pieces
@dataclass(frozen=True, eq=False)
class _Model:
    """The game flattened to joint actions, with the radii: what every operator needs."""

    R: np.ndarray  # [n, S, J] rewards minus ε_i(s) (nature's reward choice against agent i)
    T: np.ndarray  # [S, J, S]
    legal: np.ndarray  # [S, J]
    live: np.ndarray  # [S]
    delta: np.ndarray  # [S]
    norm: str
    gamma: float
    sparse: SparseRows | None  # the nominal rows' supports, for a fast L1 σ on sparse games


def _model(game: StochasticGame, uncertainty: ModelUncertainty) -> _Model:
    if not isinstance(game, StochasticGame):
        raise NotApplicableError(f"robust model solvers need a StochasticGame, got {type(game).__name__}")
    if not isinstance(uncertainty, ModelUncertainty):
        raise InvalidGameError(f"uncertainty: expected a ModelUncertainty, got {type(uncertainty).__name__}")
    uncertainty.check_against(game)
    n, S = game.n_players, game.num_states
    eps = uncertainty.reward_radii(n, S)
    R = game.rewards.reshape(n, S, -1) - eps[:, :, None]
    T = game.transitions.reshape(S, -1, S)
    sparse = SparseRows(T) if uncertainty.norm == "l1" and SparseRows.worth_it(T) else None
    return _Model(
        R,
        T,
        game.legal_joint_actions().reshape(S, -1),
        ~game.terminal,
        uncertainty.transition_radii(S),
        uncertainty.norm,
        float(game.gamma),
        sparse,
    )


def _sigma(m: _Model, values: np.ndarray) -> np.ndarray:
    """``[S, J]`` σ_{P(s,a)}(V) for successor values ``[S]``."""
    if m.sparse is not None:
        return m.sparse.worst_expectation_l1(values, m.delta[:, None])
    return worst_expectation(m.T, values, m.delta[:, None], m.norm)


def _policy_operator(m: _Model, probs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(E) applied once to ``values [n, S]``."""
    out = np.stack([(probs * (m.R[i] + m.gamma * _sigma(m, v))).sum(axis=1) for i, v in enumerate(values)])
    return out * m.live


def _evaluate_one(m: _Model, probs: np.ndarray, reward: np.ndarray, tol: float) -> tuple[np.ndarray, int, float]:
    """Solve V = Σ_a π(a|s)[r(s, a) + γ σ(V)] by policy iteration for nature; returns (V, solves, residual)."""
    S = m.T.shape[0]
    r = (probs * reward).sum(axis=1) * m.live

    def solve(P: np.ndarray) -> np.ndarray:
        P_pi = np.einsum("sj,sjt->st", probs, P) * m.live[:, None]
        return np.linalg.solve(np.eye(S) - m.gamma * P_pi, r)

    V = solve(m.T)  # the nominal values; nature's policy iteration only lowers them
    k = 1
    while k < MAX_ITERATIONS:
        k += 1
        W = solve(worst_distribution(m.T, V, m.delta[:, None], m.norm))  # nature's greedy choice against V
        settled = float(np.max(np.abs(W - V))) <= 1e-13 * max(1.0, float(np.abs(W).max()))
        V = W
        if settled:  # (a tolerance, not equality of the rows: ties in V may flip nature's choice harmlessly)
            break
    TV = (probs * (reward + m.gamma * _sigma(m, V))).sum(axis=1) * m.live
    residual = float(np.max(np.abs(TV - V)))
    if residual > tol * max(1.0, float(np.abs(V).max())):  # a tie in V made nature's choice oscillate: finish by VI
        for _ in range(MAX_ITERATIONS):
            V = TV
            TV = (probs * (reward + m.gamma * _sigma(m, V))).sum(axis=1) * m.live
            residual = float(np.max(np.abs(TV - V)))
            if residual <= tol * (1.0 - m.gamma):
                break
    return V, k, residual


def _joint_probabilities(game: StochasticGame, policy: np.ndarray) -> np.ndarray:
    return game.joint_action_probabilities(policy).reshape(game.num_states, -1)


# ------------------------------------------------------------------------------------------------ public
def robust_policy_evaluation(
    game: StochasticGame, policy: np.ndarray, uncertainty: ModelUncertainty, *, tol: float = DEFAULT_TOLERANCE
) -> RobustValues:
    """Each agent's robust value of the joint policy ``policy [n, S, A_max]`` (or a joint ``[S, A..]``), (E).

    Nature is adversarial to each agent separately (Zhang et al. 2020, Def. 3.1): V_i(s) = Σ_a π(a|s) [R_i(s, a)
    - ε_i(s) + γ min_{p ∈ P(s, a)} p · V_i], terminal states 0. Equals ``game.evaluate(policy)`` when ε = δ = 0.
    """
    m = _model(game, uncertainty)
    probs = _joint_probabilities(game, policy)
    values, total, residual = [], 0, 0.0
    for i in range(game.n_players):
        V, k, res = _evaluate_one(m, probs, m.R[i], tol)
        values.append(V)
        total += k
        residual = max(residual, res)
    V_all = np.stack(values)
    return RobustValues(V_all, V_all @ game.initial, total, residual)


def _team_reward(game: StochasticGame, m: _Model) -> np.ndarray:
    require_common_payoff(
        game,
        "robust team optimum",
        instead="Use robust_shapley for two-player zero-sum games, or "
        "robust_policy_evaluation for a given joint policy.",
    )
    if not np.allclose(m.R, m.R[0:1]):
        raise InvalidGameError(
            "model uncertainty: reward_radius differs between agents; a team's common reward needs one radius per "
            "state (give reward_radius as a number or [S])"
        )
    return m.R[0]


def _greedy(m: _Model, reward: np.ndarray, V: np.ndarray) -> np.ndarray:
    return np.where(m.legal, reward + m.gamma * _sigma(m, V), -np.inf)


def robust_team_optimum(
    game: StochasticGame, uncertainty: ModelUncertainty, *, tol: float = DEFAULT_TOLERANCE
) -> RobustSolution:
    """The team's robust optimum of a common-payoff game, (O), by robust policy iteration (Iyengar 2005, §5).

    Improvement: the greedy joint action of ``R - ε + γ σ(V)`` replaces the current one where it gains more than
    ``tol``; evaluation: (E) for the deterministic joint policy, exactly. Stops when no state improves; then
    ``||T V - V||_∞ <= tol`` (reported as ``residual``).

    Raises:
        NotApplicableError: the game is not common-payoff (or is partially observable).
    """
    m = _model(game, uncertainty)
    reward = _team_reward(game, m)
    require_fully_observable(game, "robust team optimum")
    S, J = m.legal.shape
    rows = np.arange(S)
    action = np.argmax(np.where(m.legal, reward, -np.inf), axis=1)
    iteration = 0
    while iteration < MAX_ITERATIONS:
        iteration += 1
        probs = np.zeros((S, J))
        probs[rows, action] = 1.0
        V, _, _ = _evaluate_one(m, probs, reward, tol * 1e-3)
        Q = _greedy(m, reward, V)
        better = m.live & (Q.max(axis=1) > Q[rows, action] + tol * 1e-3 * max(1.0, float(np.abs(V).max())))
        if not better.any():
            break
        action = np.where(better, np.argmax(Q, axis=1), action)
    residual = float(np.max(np.abs(np.where(m.live, Q.max(axis=1), 0.0) - V)))
    joint = np.zeros((S, J))
    joint[rows, action] = 1.0
    team = float(game.initial @ V)
    return RobustSolution(
        V, joint.reshape(S, *game.num_actions), np.full(game.n_players, team), iteration, residual, "team"
    )


def robust_shapley(
    game: StochasticGame,
    uncertainty: ModelUncertainty,
    *,
    tol: float = DEFAULT_TOLERANCE,
    max_iter: int = 100_000,
    solver: str = "lp",
) -> RobustSolution:
    """Robust Shapley value iteration, (S): player 0's robust value, nature adversarial to player 0.

    Iterates ``V <- val[R_0 - ε_0 + γ σ_P(V)]`` from V = 0 (Shapley 1953 with the robust cell values of Zhang et
    al. 2020) until the change is at most ``tol (1-γ)/(2γ)``; the values are then within ``tol`` of the fixed
    point (Puterman 1994, Thm 6.3.1). Stage games: the minimax LP (``solver="lp"``,
    :func:`marlkit.solve.zero_sum.solve_matrix_game`) or the batched exact solver (``"batched"``, JAX float64);
    ``"auto"`` picks ``"batched"`` when both players have at most 5 actions, as Shapley value iteration does (the
    default is the LP: no JAX compile; use ``"auto"`` on large games such as soccer). Player 1's
    robust value (nature adversarial to player 1) is obtained the same way on the game with rewards negated and
    the players swapped; the two robust values need not sum to zero (nature plays against each in turn). With
    ε = δ = 0 this is :func:`marlkit.solve.shapley.shapley_value_iteration`.

    Raises:
        NotApplicableError: the game is not two-player zero-sum (a constant-sum game is shifted as in Shapley).
    """
    m = _model(game, uncertainty)
    total = require_two_player_zero_sum(
        game,
        "robust Shapley value iteration",
        allow_constant_sum=True,
        applies_to="two-player zero-sum stochastic games",
    ).payoff_sum
    require_fully_observable(game, "robust Shapley value iteration")
    assert total is not None
    if solver == "auto":
        from marlkit.solve.stage import MAX_ACTIONS  # imports JAX: only when needed, as in shapley.py

        solver = "batched" if max(game.num_actions) <= MAX_ACTIONS else "lp"
    if solver not in STAGE_SOLVERS:
        raise InvalidGameError(f"solver: unknown {solver!r}; choose 'auto' or one of {', '.join(STAGE_SOLVERS)}")
    stage = STAGE_SOLVERS[solver]
    gamma = m.gamma
    a0, a1 = game.num_actions
    live = m.live
    R = (m.R[0] - total / 2.0)[live].reshape(-1, a0, a1)
    V, policy, sweeps, change = shapley_iteration(
        game, stage, R, lambda V: _sigma(m, V)[live].reshape(-1, a0, a1), tol, max_iter
    )
    values = V + np.where(live, total / (2.0 * (1.0 - gamma)), 0.0)
    v = float(game.initial @ values)
    return RobustSolution(
        values,
        policy,
        np.array([v, total / (1.0 - gamma) - v]),
        sweeps,
        2.0 * gamma * change / (1.0 - gamma),
        "zero-sum",
    )


def robust_bellman(
    game: StochasticGame, uncertainty: ModelUncertainty, values: np.ndarray, *, policy: np.ndarray | None = None
) -> np.ndarray:
    """One application of a robust Bellman operator (a γ-contraction in the sup norm, module docstring).

    With ``policy``: (E) for every agent, ``values [n, S] -> [n, S]``. Without: the optimal operator of the
    game's kind on ``values [S]``: (O) for a common-payoff game, (S) for a two-player zero-sum game (minimax LP
    per stage game). Terminal states map to 0.
    """
    m = _model(game, uncertainty)
    V = np.asarray(values, dtype=np.float64)
    if policy is not None:
        if V.shape != (game.n_players, game.num_states):
            raise InvalidGameError(f"values: expected [n, S] = {(game.n_players, game.num_states)}, got {V.shape}")
        return _policy_operator(m, _joint_probabilities(game, policy), V)
    if V.shape != (game.num_states,):
        raise InvalidGameError(f"values: expected [S] = ({game.num_states},), got {V.shape}")
    if game.n_players == 2 and _is_zero_sum(game):
        a0, a1 = game.num_actions
        Q = (m.R[0] + m.gamma * _sigma(m, V))[m.live].reshape(-1, a0, a1)
        rows, cols = game.action_mask[0, m.live, :a0], game.action_mask[1, m.live, :a1]
        out = np.zeros(game.num_states)
        out[m.live] = STAGE_SOLVERS["lp"](Q, rows, cols)[0]
        return out
    reward = _team_reward(game, m)
    return np.where(m.live, _greedy(m, reward, V).max(axis=1), 0.0)


def _is_zero_sum(game: StochasticGame) -> bool:
    return bool(utility_class(game).zero_sum)
