"""The one trainer protocol: every trainer's plan is a Plan, one default logging rule, and plans of equal runs share
compiled programs without any cache of plans (value-hashed static parts)."""

from __future__ import annotations

import logging

import jax
import numpy as np
import pytest

from marlkit.agents.tabular import IQL
from marlkit.envs.games import GameEnv, make_env
from marlkit.games.catalog import make
from marlkit.train import Plan, default_log_every, loop


@pytest.mark.parametrize(
    ("steps", "unit", "expected"),
    [
        (10_000, 1, 100),  # 100 windows when 100 divides the steps
        (100, 1, 1),
        (50, 1, 1),  # fewer than 100 units: one per window
        (150, 1, 1),  # no divisor <= 1.5: windows of one step
        (12_345, 1, 15),  # the largest divisor <= 123
        (2048 * 200, 2048, 2048 * 2),
        (2048 * 7, 2048, 2048),
    ],
)
def test_one_default_logging_rule(steps: int, unit: int, expected: int) -> None:
    log_every = default_log_every(steps, unit)
    assert log_every == expected and steps % log_every == 0 and log_every % unit == 0


def test_the_tabular_plan_is_a_plan_and_its_run_equals_its_windows() -> None:
    plan = loop.prepare(make("matching-pennies"), IQL(), 400, seeds=3, key=1, log_every=100)
    assert isinstance(plan, Plan) and plan.judged and plan.summary_fields(plan.run()) == {}
    assert plan.needed_bytes() > 0
    state, first = plan.advance(plan.start(), 0, 1)
    _, rest = plan.advance(state, 1, 3)
    split, whole = plan.to_history([first, rest]), plan.run()
    for name in ("policy", "joint_counts", "episode_return", "reward_mean"):
        np.testing.assert_array_equal(getattr(split, name), getattr(whole, name))


def test_equal_runs_share_compiled_programs(caplog: pytest.LogCaptureFixture) -> None:
    loop.prepare(make("matching-pennies"), IQL(), 300, seeds=2, key=0, log_every=100).run()
    again = loop.prepare(make("matching-pennies"), IQL(), 300, seeds=2, key=5, log_every=100)  # new game object
    with jax.log_compiles(), caplog.at_level(logging.WARNING):
        again.run()
    assert not [r for r in caplog.records if "Compiling" in r.getMessage()], "a second equal run recompiled"


def test_game_envs_are_equal_by_value_and_pytrees() -> None:
    a, b = make_env(make("prisoners-dilemma")), make_env(make("prisoners-dilemma"))
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != make_env(make("prisoners-dilemma"), max_episode_steps=3)
    assert GameEnv(make("prisoners-dilemma")) != a  # the one-hot mode differs from the index mode
    leaves, tree = jax.tree_util.tree_flatten(a)
    assert jax.tree_util.tree_unflatten(tree, leaves) == a


def test_full_information_learners_on_same_shape_games_share_one_program() -> None:
    """Fictitious play reads the game's payoffs, yet on two 2x2 games it lowers to the same program text: the payoffs
    are inputs of the program (``GroupSpec.data``), not constants, so one compile (or one entry of the persistent
    compilation cache) serves every game of the shape. A game of another shape gives another program."""
    from marlkit.agents.tabular import FictitiousPlay

    texts = [
        loop.prepare(make(name), FictitiousPlay(make(name)), 200, seeds=2, key=0, log_every=100).lower().as_text()
        for name in ("prisoners-dilemma", "matching-pennies", "rock-paper-scissors")
    ]
    assert texts[0] == texts[1] and texts[0] != texts[2]
