"""Best feasible responses and the constrained NashConv of a per-agent policy in a constrained Markov game.

Given the others' product policy π_-i, agent i faces its own constrained MDP (Altman 1999, §3; the induced MDP of
Filar & Vrieze 1997, §3.1, with agent i's costs as constraints): maximise J_r^i(π_i', π_-i) subject to
J_j^i(π_i', π_-i) <= c_j^i for each of its own constraints j. Its optimum, by the occupancy LP over (s, a_i), is the
best *feasible* response value BR_i. The gain of agent i is ``gains[i] = BR_i - J_r^i(π)`` and

    constrained NashConv(π) = Σ_i max(0, gains[i])

(the NashConv of Lanctot et al. 2017 with each agent's deviations restricted to its feasible set, as in the
constrained Nash equilibrium of Altman & Shwartz 2000, "Constrained Markov games: Nash equilibria", Annals ISDG 5).
It is 0 exactly when no agent has a profitable feasible deviation.

**A currently infeasible policy.** If π_i itself violates one of agent i's limits, BR_i may be *below* J_r^i(π)
(the agent earns more than any feasible policy allows). ``gains[i]`` keeps that negative number (it is how much
return the violation buys), the NashConv clips it at 0 (a violation is not a profitable deviation), and the
violation is reported separately in ``violations [n, m]``: a policy is a constrained Nash equilibrium iff
``nash_conv <= tol`` **and** it is feasible (:meth:`ConstrainedNashConv.is_equilibrium`). If no policy of agent i
meets its limits against π_-i, ``response_feasible[i]`` is False and its best value and gain are NaN (left out of
the sum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.stochastic import StochasticGame
from marlkit.solve.constrained.occupancy import agent_problem, constrained_game, policy_from_occupancy, solve_occupancy

DEFAULT_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class FeasibleResponse:
    """Agent ``agent``'s best feasible response: ``policy [S, A_max]`` (its own row of the ``[n, S, A_max]``
    contract), its ``value`` J_r^i, its ``costs [m]`` and ``multipliers [m]`` (λ* of its CMDP); ``feasible`` is
    False when no policy of the agent meets its limits (then value is NaN)."""

    agent: int
    feasible: bool
    value: float
    policy: np.ndarray
    costs: np.ndarray
    multipliers: np.ndarray


@dataclass(frozen=True, eq=False)
class ConstrainedNashConv:
    """The constrained NashConv of a policy (module docstring). ``returns [n]``, ``best_values [n]``,
    ``gains [n]`` (BR_i - return, may be negative for a violating agent, NaN without a feasible response),
    ``violations [n, m]`` = max(0, J_c - limits), ``response_feasible [n]``, ``nash_conv`` = Σ max(0, gains)."""

    nash_conv: float
    gains: np.ndarray
    returns: np.ndarray
    best_values: np.ndarray
    violations: np.ndarray
    response_feasible: np.ndarray

    @property
    def feasible(self) -> bool:
        """Whether the judged policy meets every limit (within 1e-9 times max(1, limit))."""
        return bool(np.all(self.violations <= 0.0))

    def is_equilibrium(self, tol: float = DEFAULT_TOLERANCE) -> bool:
        """A constrained Nash equilibrium: feasible and no profitable feasible deviation beyond ``tol``."""
        return self.feasible and self.nash_conv <= tol

    def to_json(self) -> dict[str, object]:
        def clean(a: np.ndarray) -> list:
            return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]

        return {
            "nash_conv": float(self.nash_conv),
            "gains": clean(self.gains),
            "returns": clean(self.returns),
            "best_values": clean(self.best_values),
            "violations": self.violations.tolist(),
            "response_feasible": self.response_feasible.tolist(),
            "feasible": self.feasible,
        }


def _check_agent(game: StochasticGame, agent: int) -> int:
    if not isinstance(agent, int | np.integer) or not 0 <= int(agent) < game.n_players:
        raise InvalidGameError(f"agent: expected an index in 0..{game.n_players - 1}, got {agent!r}")
    return int(agent)


def best_feasible_response(game: object, policy: object, agent: int) -> FeasibleResponse:
    """Agent ``agent``'s best response to the others' ``policy [n, S, A_max]`` among its policies that meet its own
    limits (occupancy LP over (s, a_i); module docstring). The agent's own row of ``policy`` is ignored."""
    model = constrained_game(game, "best_feasible_response")
    pi = model.check_policy(np.asarray(policy, dtype=np.float64))
    i = _check_agent(model, agent)
    assert model.costs is not None and model.limits is not None
    problem = agent_problem(model, pi, i, model.rewards[i], model.costs[i], model.limits[i])
    solution = solve_occupancy(problem)
    m, a_max = model.num_constraints, model.max_actions
    if not solution.feasible:
        nan_policy = np.full((model.num_states, a_max), np.nan)
        return FeasibleResponse(i, False, float("nan"), nan_policy, np.full(m, np.nan), np.full(m, np.nan))
    own = np.zeros((model.num_states, a_max))
    own[:, : model.num_actions[i]] = policy_from_occupancy(solution.occupancy, problem.legal)
    profile = pi.copy()
    profile[i] = own
    value = float(model.expected_return(profile)[i])
    costs = model.expected_costs(profile)[i]
    return FeasibleResponse(i, True, value, own, costs, solution.multipliers)


def constrained_nash_conv(game: object, policy: object, tol: float = DEFAULT_TOLERANCE) -> ConstrainedNashConv:
    """The constrained NashConv of a per-agent policy ``[n, S, A_max]`` (module docstring).

    ``tol`` is the slack (times max(1, limit)) under which a cost counts as within its limit.
    """
    model = constrained_game(game, "constrained_nash_conv")
    pi = model.check_policy(np.asarray(policy, dtype=np.float64))
    assert model.limits is not None
    returns = model.expected_return(pi)
    excess = model.expected_costs(pi) - model.limits
    violations = np.where(excess > tol * np.maximum(1.0, model.limits), np.maximum(excess, 0.0), 0.0)
    responses = [best_feasible_response(model, pi, i) for i in range(model.n_players)]
    best = np.array([r.value for r in responses])
    gains = best - returns
    finite = np.isfinite(gains)
    return ConstrainedNashConv(
        nash_conv=float(np.sum(np.maximum(gains[finite], 0.0))),
        gains=gains,
        returns=returns,
        best_values=best,
        violations=violations,
        response_feasible=np.array([r.feasible for r in responses]),
    )
