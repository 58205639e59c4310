"""The constrained catalog games: their documented optima (derived by hand in the module docstring of
src/marlkit/games/catalog/constrained.py) against the exact LPs of marlkit.solve.constrained."""

from __future__ import annotations

import numpy as np
import pytest

from marlkit.errors import InvalidGameError
from marlkit.games.catalog import make
from marlkit.games.catalog.constrained import random_constrained
from marlkit.solve.constrained import (
    best_feasible_response,
    best_product_policy,
    constrained_nash_conv,
    constrained_optimum,
)


def test_resource_sharing_documented_optima() -> None:
    game = make("resource-sharing")
    opt = constrained_optimum(game)
    assert (opt.team_return, opt.unconstrained_team_return) == pytest.approx((36.0, 40.0), abs=1e-9)
    assert opt.multipliers.reshape(-1) == pytest.approx([2.0, 2.0], abs=1e-8)
    product = best_product_policy(game)
    assert product.exact and product.team_return == pytest.approx(31.2, abs=1e-9)
    ne_policy = np.array([[[0.6, 0.4]], [[0.6, 0.4]]])
    ne = constrained_nash_conv(game, ne_policy)
    assert ne.is_equilibrium() and ne.returns == pytest.approx([15.6, 15.6], abs=1e-9)
    for agent in (0, 1):  # each agent's own CMDP multiplier at the equilibrium: 1.4 (module docstring)
        assert best_feasible_response(game, ne_policy, agent).multipliers == pytest.approx([1.4], abs=1e-8)


def test_narrow_passage_documented_optima() -> None:
    game = make("narrow-passage")
    assert game.is_constrained and game.limits.tolist() == [[0.4], [0.4]]
    opt = constrained_optimum(game)
    assert opt.team_return == pytest.approx(10.4, abs=1e-9)
    assert opt.unconstrained_team_return == pytest.approx(20.0, abs=1e-9)
    assert opt.multipliers.sum() == pytest.approx(1.0, abs=1e-8)  # two copies of one inequality: only the sum
    assert best_product_policy(game).team_return == pytest.approx(10.4, abs=1e-9)
    assert best_product_policy(game, symmetric=True).team_return == pytest.approx(4.0, abs=1e-9)
    # the role-differentiated product optimum (1, 0.04) is also a constrained Nash equilibrium: the goer cannot go
    # more, the waiter would collide more if it went more
    ne = constrained_nash_conv(game, np.array([[[1.0, 0.0]], [[0.04, 0.96]]]))
    assert ne.is_equilibrium()


@pytest.mark.parametrize("limit", [-1.0, float("nan")])
def test_narrow_passage_rejects_bad_limits(limit: float) -> None:
    with pytest.raises(InvalidGameError, match="limit"):
        make("narrow-passage", limit=limit)


def test_random_constrained_is_seeded_and_feasible() -> None:
    a = random_constrained(np.random.default_rng(3), states=3, actions=(2, 3), constraints=2, terminal=True)
    b = random_constrained(np.random.default_rng(3), states=3, actions=(2, 3), constraints=2, terminal=True)
    assert np.array_equal(a.costs, b.costs) and np.array_equal(a.limits, b.limits) and a.terminal[-1]
    assert np.all(a.expected_costs(a.uniform_policy()) <= a.limits + 1e-12)
