"""The centralised (correlated) optimum of a constrained cooperative game by the occupancy-measure LP.

Altman 1999 (*Constrained Markov Decision Processes*, CRC), §3: a team that picks a joint action per state from a
common (correlated) stationary policy π(a | s) faces one constrained MDP over joint actions. With weights w the
team objective is Σ_i w_i J_r^i(π) (default w = 1: the sum of rewards), every agent's costs must meet their limits
J_j^i(π) <= c_j^i, and :func:`~marlkit.solve.constrained.occupancy.solve_occupancy` solves

    max_x Σ_{s,a} (Σ_i w_i R_i(s, a)) x(s, a)   s.t. flow(x) = μ_0,  Σ_{s,a} C_j^i(s, a) x(s, a) <= c_j^i,  x >= 0.

Reported beside it: the unconstrained optimum (the same LP without cost rows) so that "return given up for safety"
is a number, the optimal multipliers λ*[i, j] (the dual values: the marginal team return of one more unit of
c_j^i), which constraints are active, and the states where the optimal policy randomises. A vertex of this LP
randomises in at most K visited states, K the number of active constraints (Altman 1999, Thm. 3.8; the count of
basic variables: one per flow row plus one per active constraint).

Returns and costs are re-evaluated from the returned policy by exact Bellman solves
(:func:`~marlkit.solve.constrained.occupancy.joint_values`, the equations of :meth:`StochasticGame.expected_costs`),
not read off the LP.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.stochastic import StochasticGame
from marlkit.games.validation import as_real_array, check_shape
from marlkit.solve.constrained.occupancy import (
    OccupancyProblem,
    constrained_game,
    joint_problem,
    joint_values,
    policy_from_occupancy,
    solve_occupancy,
    visited_states,
)

DEFAULT_TOLERANCE = 1e-9
"""Slack within which a constraint counts as active and a policy as feasible (times max(1, |limit|))."""


@dataclass(frozen=True, eq=False)
class ConstrainedOptimum:
    """The team optimum of a constrained game (module docstring); every array is float64.

    Attributes:
        feasible: False when no policy meets every limit (then the policy and returns are NaN and ``reason`` says
            why).
        team_return: Σ_i w_i returns[i].
        returns: J_r^i of the policy, ``[n]``.
        costs: J_j^i of the policy, ``[n, m]``; ``limits`` ``[n, m]``.
        multipliers: λ*[i, j] >= 0 from the LP dual (0 where a constraint is slack).
        active: ``[n, m]`` bool, the constraints that bind (costs >= limits - tol).
        policy: the correlated joint policy ``[S, A_1..A_n]`` (uniform over legal joint actions where unvisited).
        occupancy: the LP's occupancy measure x ``[S, A_1..A_n]``.
        randomised_states: the visited states where the policy plays more than one joint action.
        unconstrained_team_return, unconstrained_policy: the same problem without the cost constraints.
        weights: the team weights w ``[n]``.
    """

    feasible: bool
    team_return: float
    returns: np.ndarray
    costs: np.ndarray
    limits: np.ndarray
    multipliers: np.ndarray
    active: np.ndarray
    policy: np.ndarray
    occupancy: np.ndarray
    randomised_states: tuple[int, ...]
    unconstrained_team_return: float
    unconstrained_policy: np.ndarray
    weights: np.ndarray
    reason: str = ""

    @property
    def safety_cost(self) -> float:
        """The team return given up for safety: unconstrained minus constrained optimum (>= 0; NaN if infeasible)."""
        return self.unconstrained_team_return - self.team_return

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (NaN as None); the keys of docs/cli-json.md, ``marlkit solve --concept constrained``."""

        def clean(a: object) -> object:
            arr = np.asarray(a, dtype=np.float64)
            return np.where(np.isfinite(arr), arr, np.nan).astype(object).tolist() if arr.ndim else _num(float(arr))

        data: dict[str, object] = {
            "feasible": self.feasible,
            "team_return": _num(self.team_return),
            "returns": _nan_none(clean(self.returns)),
            "costs": _nan_none(clean(self.costs)),
            "limits": self.limits.tolist(),
            "multipliers": _nan_none(clean(self.multipliers)),
            "active": self.active.tolist(),
            "policy": _nan_none(clean(self.policy)),
            "randomised_states": list(self.randomised_states),
            "unconstrained_team_return": _num(self.unconstrained_team_return),
            "return_given_up_for_safety": _num(self.safety_cost),
            "weights": self.weights.tolist(),
        }
        if self.reason:
            data["reason"] = self.reason
        return data

    def to_dict(self) -> dict[str, object]:
        """Alias of :meth:`to_json` (the solution-concept table calls ``to_dict``)."""
        return self.to_json()


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _nan_none(value: object) -> object:
    if isinstance(value, list):
        return [_nan_none(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def team_weights(game: StochasticGame, weights: object) -> np.ndarray:
    """The team weights ``[n]`` (default all 1), validated: finite, >= 0, not all 0."""
    if weights is None:
        return np.ones(game.n_players)
    w = as_real_array("weights", weights)
    check_shape("weights", w, (game.n_players,))
    if np.any(w < 0) or not np.any(w > 0):
        raise InvalidGameError(f"weights: expected {game.n_players} weights >= 0, not all 0; got {w.tolist()}")
    return w


def game_limits(game: StochasticGame, limits: object) -> np.ndarray:
    """``limits`` ``[n, m]`` (default: the game's), validated: finite and >= 0."""
    assert game.limits is not None
    if limits is None:
        return game.limits
    c = as_real_array("limits", limits)
    check_shape("limits", c, game.limits.shape)
    if np.any(c < 0):
        raise InvalidGameError("limits: with costs >= 0 a negative limit can never be met; limits must be >= 0")
    return c


def randomising_states(policy: np.ndarray, occupancy: np.ndarray, tol: float = 1e-9) -> tuple[int, ...]:
    """The visited states whose row of ``policy [S, B]`` has more than one entry above ``tol``."""
    visited = visited_states(occupancy)
    many = (policy > tol).sum(axis=1) > 1
    return tuple(int(s) for s in np.flatnonzero(visited & many))


def _unconstrained(problem: OccupancyProblem) -> OccupancyProblem:
    return OccupancyProblem(
        problem.transitions,
        problem.reward,
        problem.costs[:0],
        problem.limits[:0],
        problem.legal,
        problem.initial,
        problem.gamma,
        problem.terminal,
    )


def least_costs(problem: OccupancyProblem) -> np.ndarray:
    """``[K]``: the least value of each cost over all policies (the occupancy LP minimising it, no constraints)."""
    free = _unconstrained(problem)
    return np.array(
        [
            -solve_occupancy(dataclasses.replace(free, reward=-problem.costs[k])).value
            for k in range(problem.costs.shape[0])
        ]
    )


def constrained_optimum(
    game: object, weights: object = None, *, limits: object = None, tol: float = DEFAULT_TOLERANCE
) -> ConstrainedOptimum:
    """The team-optimal correlated policy of a constrained game under its limits (module docstring).

    Args:
        game: a constrained :class:`StochasticGame` (a game without costs raises NotApplicableError).
        weights: team weights ``[n]`` >= 0 (default 1 each: the sum of rewards).
        limits: ``[n, m]`` to use instead of the game's limits (default: the game's).
        tol: slack within which a constraint is reported active (times max(1, |limit|)).

    Infeasible limits are a result: ``feasible=False`` with a ``reason``, NaN returns and policy.

    Example:
        >>> from marlkit.games.catalog import make
        >>> opt = constrained_optimum(make("resource-sharing"))
        >>> round(opt.team_return, 9), round(opt.unconstrained_team_return, 9)
        (36.0, 40.0)
    """
    model = constrained_game(game, "constrained_optimum")
    w = team_weights(model, weights)
    c = game_limits(model, limits)
    n, m = c.shape
    shape = (model.num_states, *model.num_actions)
    problem = joint_problem(model, w, c)
    free = solve_occupancy(_unconstrained(problem))
    free_policy = policy_from_occupancy(free.occupancy, problem.legal).reshape(shape)
    free_return = float(w @ joint_values(model, free_policy, model.rewards))
    solution = solve_occupancy(problem)
    if not solution.feasible:
        nan = np.full((n, m), np.nan)
        return ConstrainedOptimum(
            feasible=False,
            team_return=float("nan"),
            returns=np.full(n, np.nan),
            costs=nan,
            limits=c,
            multipliers=nan,
            active=np.zeros((n, m), dtype=bool),
            policy=np.full(shape, np.nan),
            occupancy=np.zeros(shape),
            randomised_states=(),
            unconstrained_team_return=free_return,
            unconstrained_policy=free_policy,
            weights=w,
            reason="no policy meets every limit: the least each cost can be on its own is "
            f"{np.round(least_costs(problem), 6).reshape(n, m).tolist()} against limits {c.tolist()}: raise "
            "the limits",
        )
    policy = policy_from_occupancy(solution.occupancy, problem.legal)
    joint = policy.reshape(shape)
    returns = joint_values(model, joint, model.rewards)
    assert model.costs is not None
    costs = joint_values(model, joint, model.costs.reshape(n * m, *shape)).reshape(n, m)
    return ConstrainedOptimum(
        feasible=True,
        team_return=float(w @ returns),
        returns=returns,
        costs=costs,
        limits=c,
        multipliers=solution.multipliers.reshape(n, m),
        active=costs >= c - tol * np.maximum(1.0, np.abs(c)),
        policy=joint,
        occupancy=solution.occupancy.reshape(shape),
        randomised_states=randomising_states(policy, solution.occupancy),
        unconstrained_team_return=free_return,
        unconstrained_policy=free_policy,
        weights=w,
    )


def require_feasible(game: object, where: str = "limits") -> None:
    """Raise :class:`~marlkit.errors.NotApplicableError` (one line, naming ``where``) when no policy meets every
    limit of a constrained game — training on it could never be judged feasible; nothing for a game without costs.
    Solves the occupancy LP of :func:`constrained_optimum` once."""
    if not (isinstance(game, StochasticGame) and game.is_constrained):
        return
    optimum = constrained_optimum(game)
    if not optimum.feasible:
        raise NotApplicableError(f"{where}: {optimum.reason}")
