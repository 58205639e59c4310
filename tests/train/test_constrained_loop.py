"""The tabular loop on constrained games: the History's cost arrays, λ, and resumability (issue 18, item 2).

Oracle: a game whose first cost *is* its reward (``costs[:, 0] = rewards``) — the loop accumulates costs exactly as
it accumulates rewards, so ``cost_mean[..., 0]`` must equal ``reward_mean`` and ``episode_cost[..., 0]`` must equal
``episode_return`` bit for bit (NaN where no episode ended); the second cost, 2 x the reward, must be twice that.
"""

from __future__ import annotations

import numpy as np
import pytest

from marlkit.agents.tabular import IQL, Lagrangian
from marlkit.games import StochasticGame
from marlkit.games.catalog import make
from marlkit.train import advance, prepare, start, to_history, train

STEPS, LOG, SEEDS = 600, 100, 3  # 6 windows


def costly_corridor() -> StochasticGame:
    """A 3-state game with random transitions and a terminal state (episodes of several steps); rewards >= 0 and
    costs ``[rewards, 2 * rewards]`` per agent."""
    rng = np.random.default_rng(7)
    T = rng.dirichlet(np.ones(3), size=(3, 2, 2))
    R = np.abs(rng.normal(size=(2, 3, 2, 2)))
    costs = np.stack([R, 2.0 * R], axis=1)  # [n=2, m=2, S, 2, 2]
    return StochasticGame(
        T,
        R,
        np.array([0.5, 0.5, 0.0]),
        0.9,
        terminal=np.array([False, False, True]),
        costs=costs,
        limits=np.full((2, 2), 3.0),
        name="costly corridor",
    )


@pytest.fixture(scope="module")
def mixed_run():
    """Agent 0 a Lagrangian learner, agent 1 plain IQL: the whole run in one program, and the same run in two
    segments through start / advance (the path checkpointed runs take)."""
    game = costly_corridor()
    learners = [(Lagrangian(dual_step=0.01), (0,)), (IQL(), (1,))]
    whole = train(game, learners, STEPS, seeds=SEEDS, key=11, log_every=LOG)
    plan = prepare(game, learners, STEPS, seeds=SEEDS, key=11, log_every=LOG)
    state, parts, done = start(plan), [], 0
    for size in (3, 3):  # one advance program (its size is static)
        state, part = advance(plan, state, done, size)
        parts.append(part)
        done += size
    return game, whole, to_history(plan, parts)


def test_costs_are_accumulated_like_rewards(mixed_run) -> None:
    game, history, _ = mixed_run
    n, m, windows = 2, 2, STEPS // LOG
    assert history.constrained and history.num_constraints == m
    for name in ("cost_mean", "episode_cost", "multipliers"):
        assert getattr(history, name).shape == (SEEDS, windows, n, m), name
    np.testing.assert_array_equal(history.cost_mean[..., 0], history.reward_mean, strict=True)
    np.testing.assert_array_equal(history.episode_cost[..., 0], history.episode_return, strict=True)
    np.testing.assert_allclose(history.cost_mean[..., 1], 2.0 * history.reward_mean, rtol=1e-6)
    assert np.isfinite(history.episode_cost).all(axis=-1).any()  # episodes did end (the terminal state)
    # λ: recorded for the Lagrangian agent (>= 0, and it moved: the limits bind), NaN for plain IQL
    assert np.all(history.multipliers[:, :, 0] >= 0) and np.any(history.multipliers[:, :, 0] > 0)
    assert np.all(np.isnan(history.multipliers[:, :, 1]))
    assert history.meta["limits"] == game.limits.tolist()
    assert "cost_mean[0]" not in history.metrics and "constraint_gap" in history.metrics


def test_a_segmented_constrained_run_equals_the_whole_run(mixed_run) -> None:
    _, whole, resumed = mixed_run
    for name in ("policy", "average_policy", "joint_counts", "episode_return", "reward_mean"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(resumed, name), err_msg=name, strict=True)
    for name in ("cost_mean", "episode_cost", "multipliers"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(resumed, name), err_msg=name, strict=True)
    assert whole.metrics.keys() == resumed.metrics.keys() and whole.meta == resumed.meta
    for name in whole.metrics:
        np.testing.assert_array_equal(whole.metrics[name], resumed.metrics[name], err_msg=name, strict=True)


def test_unconstrained_runs_record_no_costs() -> None:
    """An unconstrained game: no cost arrays, no constraint input to the compiled program, no ``limits`` in meta."""
    plan = prepare(make("prisoners-dilemma"), IQL(), 200, seeds=2, log_every=100)
    assert plan.constraints is None
    history = plan.run()
    assert not history.constrained and history.cost_mean is None and history.multipliers is None
    assert "limits" not in history.meta
