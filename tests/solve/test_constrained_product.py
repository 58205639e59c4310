"""The best product (decentralised) policy against brute force over a grid of product policies.

Oracle: on one-state 2x2 games a product policy is (p, q) in [0, 1]^2; per-step rewards and costs are bilinear in
(p, q), evaluated exactly at the four pure profiles by the game's Bellman solves and interpolated over a 801 x 801
grid. The exact KKT enumeration (marlkit.solve.constrained.bilinear) must be >= the best feasible grid point and
within the grid's Lipschitz width of it; the correlated optimum (constrained_optimum) is an upper bound for both.
"""

from __future__ import annotations

import numpy as np
import pytest

from marlkit.errors import NotApplicableError
from marlkit.games.catalog import make
from marlkit.games.catalog.constrained import random_constrained
from marlkit.solve.constrained import best_product_policy


def grid_product(game, weights: np.ndarray, points: int = 801, symmetric: bool = False) -> tuple[float, float]:
    """Best feasible team return over a (p, q) grid, and the bracket width (max |∂f| x step, both directions)."""
    corner = {}
    for a in (0, 1):
        for b in (0, 1):
            policy = np.array([[np.eye(2)[a]], [np.eye(2)[b]]])
            corner[a, b] = (weights @ game.expected_return(policy), game.expected_costs(policy))
    g = np.linspace(0.0, 1.0, points)
    p, q = (g, g) if symmetric else np.meshgrid(g, g, indexing="ij")
    mix = {(a, b): (p if a else 1 - p) * (q if b else 1 - q) for a in (0, 1) for b in (0, 1)}
    value = sum(mix[k] * corner[k][0] for k in mix)
    costs = sum(mix[k][..., None, None] * corner[k][1] for k in mix)
    feasible = np.all(costs <= game.limits + 1e-12, axis=(-2, -1))
    spread = max(v for v, _ in corner.values()) - min(v for v, _ in corner.values())
    best = float(value[feasible].max()) if feasible.any() else -np.inf
    return best, 2 * spread / (points - 1)


@pytest.mark.parametrize("seed", range(6))
def test_exact_two_by_two_matches_the_grid(seed: int) -> None:
    rng = np.random.default_rng(80 + seed)
    game = random_constrained(rng, states=1, actions=(2, 2), constraints=1 + seed % 2, gamma=0.5, slack=1.0)
    w = np.ones(2)
    for symmetric in (False, True):
        result = best_product_policy(game, symmetric=symmetric)
        best, width = grid_product(game, w, symmetric=symmetric)
        assert result.exact and result.feasible
        assert best - 1e-9 <= result.team_return <= best + width + 1e-9
        assert result.team_return <= result.upper_bound + 1e-9
        assert np.all(result.costs <= game.limits + 1e-9)


def test_catalog_games_separate_correlated_role_and_symmetric_optima() -> None:
    # Hand derivations in src/marlkit/games/catalog/constrained.py.
    rs = best_product_policy(make("resource-sharing"))
    assert rs.exact and rs.team_return == pytest.approx(31.2, abs=1e-9) and rs.upper_bound == pytest.approx(36.0)
    assert rs.gap_to_correlated == pytest.approx(4.8, abs=1e-9)
    passage = best_product_policy(make("narrow-passage"))
    assert passage.team_return == pytest.approx(10.4, abs=1e-9) and passage.gap_to_correlated == pytest.approx(0)
    assert sorted(passage.policy[:, 0, 0].round(9).tolist()) == [0.04, 1.0]  # P(go): one goes, the other mostly waits
    shared = best_product_policy(make("narrow-passage"), symmetric=True)
    assert shared.team_return == pytest.approx(4.0, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_lower_bound_on_larger_games_is_feasible_and_below_the_correlated_optimum(seed: int) -> None:
    game = random_constrained(np.random.default_rng(90 + seed), states=1, actions=(3, 2), gamma=0.5, slack=0.9)
    result = best_product_policy(game, restarts=3)
    assert result.feasible and np.all(result.costs <= game.limits + 1e-9)
    assert result.team_return <= result.upper_bound + 1e-9
    assert result.exact == (result.team_return >= result.upper_bound - 1e-9)
    # the lower bound is at least the best feasible pure product policy (a brute-force floor)
    floor = -np.inf
    for a in range(3):
        for b in range(2):
            policy = np.zeros((2, 1, 3))
            policy[0, 0, a] = policy[1, 0, b] = 1.0
            if np.all(game.expected_costs(policy) <= game.limits):
                floor = max(floor, float(game.expected_return(policy).sum()))
    assert result.team_return >= floor - 1e-9


def test_multi_state_lower_bound_is_feasible() -> None:
    game = random_constrained(np.random.default_rng(99), states=3, actions=(2, 2), slack=0.95)
    result = best_product_policy(game, restarts=2)
    assert result.feasible and not result.symmetric
    assert np.all(game.expected_costs(result.policy) <= game.limits + 1e-9)
    assert result.team_return <= result.upper_bound + 1e-9


def test_no_feasible_product_policy_is_a_result() -> None:
    game = make("narrow-passage", limit=0.0)
    # Pr(go, go) = 0 forces one agent to wait always; a shared policy must then never go (team return 0), and with
    # costs shifted up by 1 nothing is feasible at all
    assert best_product_policy(game, symmetric=True).team_return == pytest.approx(0.0, abs=1e-9)
    assert best_product_policy(game).team_return == pytest.approx(10.0, abs=1e-9)
    import dataclasses

    impossible = dataclasses.replace(game, costs=game.costs + 1.0)
    result = best_product_policy(impossible)
    assert not result.feasible and np.isnan(result.team_return) and result.to_json()["team_return"] is None


def test_symmetric_needs_the_exact_case() -> None:
    game = random_constrained(np.random.default_rng(1), states=2, actions=(2, 2))
    with pytest.raises(NotApplicableError, match="symmetric"):
        best_product_policy(game, symmetric=True)


def padded(game):
    """The same one-state 2x2 game with a third action of agent 2 that is never legal (so the exact 2x2 path does not
    apply and the coordinate ascent runs)."""
    from marlkit.games.stochastic import StochasticGame

    pad = [(0, 0)] * (game.transitions.ndim)
    pad[2] = (0, 1)
    T = np.pad(game.transitions, pad)
    T[0, :, 2, 0] = 1.0
    R = np.pad(game.rewards, [(0, 0), (0, 0), (0, 0), (0, 1)])
    C = np.pad(game.costs, [(0, 0), (0, 0), (0, 0), (0, 0), (0, 1)])
    mask = np.ones((2, 1, 3), dtype=bool)
    mask[0, 0, 2] = mask[1, 0, 2] = False
    return StochasticGame(T, R, game.initial, game.gamma, costs=C, limits=game.limits, action_mask=mask)


@pytest.mark.parametrize("name", ["resource-sharing", "narrow-passage"])
def test_the_lower_bound_never_exceeds_the_exact_optimum(name: str) -> None:
    exact = best_product_policy(make(name))
    bound = best_product_policy(padded(make(name)), restarts=4)
    assert bound.method.startswith("coordinate-ascent") and bound.feasible
    assert bound.team_return <= exact.team_return + 1e-9
    # labelled exact only with the correlated certificate: resource-sharing's 31.2 < 36 stays a lower bound
    assert bound.exact == (bound.team_return >= bound.upper_bound - 1e-9)
    if name == "resource-sharing":
        assert not bound.exact
