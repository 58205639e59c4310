"""Resumable training: ``prepare`` / ``start`` / ``advance`` in any segmentation give ``train``'s History, bit for bit.

The oracle is :func:`marlkit.train.train` itself, which runs every window in one compiled program (a different
XLA program from ``advance``, which must also return the state): equality of every array over several learners,
games and segmentations is what makes a checkpointed run trustworthy.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from marlkit.agents.tabular import make_learner
from marlkit.errors import InvalidGameError
from marlkit.games import StochasticGame
from marlkit.games.catalog import make
from marlkit.train import History, advance, prepare, start, to_history, train

STEPS, LOG, SEEDS = 600, 100, 3  # 6 windows


def corridor() -> StochasticGame:
    """A 3-state stochastic game with random transitions, a terminal state and rewards that depend on actions."""
    rng = np.random.default_rng(7)
    T = rng.dirichlet(np.ones(3), size=(3, 2, 2))
    R = rng.normal(size=(2, 3, 2, 2))
    return StochasticGame(T, R, [0.5, 0.5, 0.0], 0.9, terminal=[False, False, True], name="random corridor")


def assert_identical(a: History, b: History) -> None:
    for name in ("steps", "seeds", "policy", "average_policy", "has_average_policy", "joint_counts"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name, strict=True)
    for name in ("episode_return", "episode_count", "reward_mean"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name, strict=True)
    assert a.metrics.keys() == b.metrics.keys()
    for name in a.metrics:
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name], err_msg=name, strict=True)
    assert a.meta == b.meta


def segmented(game, learners, sizes: list[int], **kw) -> History:
    plan = prepare(game, learners, STEPS, seeds=SEEDS, key=11, log_every=LOG, **kw)
    state, records, done = start(plan), [], 0
    for size in sizes:
        state, part = advance(plan, state, done, size)
        records.append(part)
        done += size
    return to_history(plan, records)


def wolf_vs_regret_matching():
    game = make("matching-pennies")
    return game, [make_learner("wolf-phc", game), make_learner("regret-matching", game)]


def iql_on_the_corridor():
    game = corridor()
    return game, make_learner("iql", game)


# (players, segmentations, seed chunk). Each distinct segment length is one more compile (~5 s of CPU here), so
# the segmentations share lengths. Two seeds per chunk pads 3 seeds to 4: the padded copy must not leak into the
# state.
CASES = [
    (wolf_vs_regret_matching, [[2, 2, 2], [4, 2]], 2),
    (iql_on_the_corridor, [[3, 3]], None),
]


@pytest.mark.parametrize(("players", "segmentations", "chunk"), CASES, ids=["wolf-vs-rm", "iql-corridor"])
def test_every_segmentation_gives_trains_history(players, segmentations, chunk) -> None:
    game, learners = players()
    whole = train(game, learners, STEPS, seeds=SEEDS, key=11, log_every=LOG, seed_chunk=chunk)
    for sizes in segmentations:
        assert_identical(segmented(game, learners, sizes, seed_chunk=chunk), whole)


def test_state_is_a_plain_pytree_with_a_seed_axis() -> None:
    game, learners = wolf_vs_regret_matching()
    plan = prepare(game, learners, STEPS, seeds=SEEDS, key=11, log_every=LOG, seed_chunk=2)  # compiled above
    state = start(plan)
    assert state.window_keys.shape == (SEEDS, plan.num_logs)
    assert all(leaf.shape[0] == SEEDS for leaf in jax.tree_util.tree_leaves(state))
    state, part = advance(plan, state, 0, 2)
    assert part.policy.shape == (SEEDS, 2, 2, 1, 2)
    partial = to_history(plan, [part])
    assert partial.steps.tolist() == [100, 200] and partial.num_logs == 2


def test_advance_rejects_windows_outside_the_plan() -> None:
    game = make("matching-pennies")
    plan = prepare(game, make_learner("iql", game), STEPS, seeds=1, key=0, log_every=LOG)
    state = start(plan)
    with pytest.raises(InvalidGameError, match="past the plan's 6 windows"):
        advance(plan, state, 5, 2)
    with pytest.raises(InvalidGameError, match="num_windows"):
        advance(plan, state, 0, 0)
