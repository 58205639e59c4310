"""Best feasible responses and the constrained NashConv against a brute-force grid of the deviator's policies.

Oracle: on one-state games (repeated with discount γ) a stationary policy of the deviating agent is one
distribution x over its actions; its return and costs are linear in x given the others, so a fine grid over the
simplex, filtered by the agent's own limits (costs from ``StochasticGame.expected_costs``), brackets the best
feasible response: grid max <= LP value <= grid max + (Lipschitz constant) x (grid step). Stationary policies
suffice for a constrained MDP (Altman 1999, Thm. 3.1), so the grid covers the LP's feasible set.
The constrained Nash equilibrium of resource-sharing (both high with probability 0.4) is derived by hand in
src/marlkit/games/catalog/constrained.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from marlkit.games.catalog import make
from marlkit.games.catalog.constrained import random_constrained
from marlkit.solve.constrained import best_feasible_response, constrained_nash_conv


def product(p: float, q: float) -> np.ndarray:
    return np.array([[[1 - p, p]], [[1 - q, q]]])


def grid_best(game, policy: np.ndarray, agent: int, points: int = 20001) -> tuple[float, float]:
    """Brute force: the best return of ``agent`` over a grid of its feasible policies (2 actions), and the
    largest change of its return between neighbouring grid points (the bracket's width).

    In a one-state game return and costs are linear in the agent's probability p of its second action (with the
    others fixed), so they are evaluated exactly at p = 0 and p = 1 by the game's Bellman solves and interpolated.
    """
    ends = []
    for p in (0.0, 1.0):
        profile = policy.copy()
        profile[agent, 0, :2] = [1 - p, p]
        ends.append((game.expected_return(profile)[agent], game.expected_costs(profile)[agent]))
    grid = np.linspace(0.0, 1.0, points)
    value = (1 - grid) * ends[0][0] + grid * ends[1][0]
    costs = (1 - grid)[:, None] * ends[0][1] + grid[:, None] * ends[1][1]
    feasible = np.all(costs <= game.limits[agent] + 1e-12, axis=1)
    best = float(value[feasible].max()) if feasible.any() else -np.inf
    return best, abs(ends[1][0] - ends[0][0]) / (points - 1)


def test_resource_sharing_equilibrium_has_zero_constrained_nash_conv() -> None:
    game = make("resource-sharing")
    result = constrained_nash_conv(game, product(0.4, 0.4))
    assert result.nash_conv == pytest.approx(0.0, abs=1e-9) and result.is_equilibrium()
    assert result.returns == pytest.approx([15.6, 15.6], abs=1e-9)


@pytest.mark.parametrize(("p", "q"), [(0.2, 0.4), (0.0, 0.0), (0.4, 0.1), (0.3, 0.35)])
def test_resource_sharing_elsewhere_matches_the_grid(p: float, q: float) -> None:
    game = make("resource-sharing")
    policy = product(p, q)
    result = constrained_nash_conv(game, policy)
    assert result.nash_conv > 1e-3 and not result.is_equilibrium()
    for agent in (0, 1):
        best, width = grid_best(game, policy, agent)
        assert best - 1e-9 <= result.best_values[agent] <= best + width + 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_random_games_best_feasible_response_matches_the_grid(seed: int) -> None:
    rng = np.random.default_rng(60 + seed)
    game = random_constrained(rng, states=1, actions=(2, 2), constraints=1, gamma=0.6, slack=0.8)
    p, q = rng.uniform(size=2)
    policy = product(p, q)
    for agent in (0, 1):
        response = best_feasible_response(game, policy, agent)
        best, width = grid_best(game, policy, agent)
        if not np.isfinite(best):
            assert not response.feasible
            continue
        assert response.feasible
        assert best - 1e-9 <= response.value <= best + width + 1e-9
        assert np.all(response.costs <= game.limits[agent] + 1e-9)


def test_a_violating_policy_is_not_an_equilibrium_and_its_gain_is_negative() -> None:
    # agent 1 plays high with 0.6 > 0.4 allowed: it earns 1 + 1.4·0.6 per step (18.4) above its best feasible 15.6
    result = constrained_nash_conv(make("resource-sharing"), product(0.6, 0.4))
    assert result.gains[0] == pytest.approx(15.6 - 18.4, abs=1e-9)
    assert result.nash_conv == pytest.approx(0.0, abs=1e-9)
    assert result.violations[0, 0] == pytest.approx(2.0, abs=1e-9) and result.violations[1, 0] == 0.0
    assert not result.feasible and not result.is_equilibrium()


@pytest.mark.parametrize("actions", [(2, 2), (2, 3, 2)])
def test_multi_state_response_is_at_least_every_feasible_deterministic_policy(actions: tuple[int, ...]) -> None:
    # a lower-bound oracle on a 3-state game: no feasible deterministic policy of the deviator beats the LP, and the
    # LP's own response meets the deviator's limits (costs from the game's Bellman solves)
    import itertools

    game = random_constrained(np.random.default_rng(70), states=3, actions=actions, constraints=1, slack=1.2)
    policy = game.uniform_policy()
    agent = len(actions) - 1
    response = best_feasible_response(game, policy, agent)
    assert response.feasible and np.all(response.costs <= game.limits[agent] + 1e-9)
    m = actions[agent]
    for choice in itertools.product(range(m), repeat=3):
        profile = policy.copy()
        profile[agent] = np.eye(game.max_actions)[list(choice)]
        if np.all(game.expected_costs(profile)[agent] <= game.limits[agent]):
            assert game.expected_return(profile)[agent] <= response.value + 1e-9
