"""MAPPO-L / IPPO-L (marlkit.agents.deep.ppo_lagrangian): the dual step exactly, bad input, and MAPPO-L against
MAPPO on constrained simple spread with a binding limit (issue 18, "Reproduce")."""

from __future__ import annotations

import numpy as np
import pytest

import marlkit.envs as envs
from marlkit.agents.deep.ppo import MAPPO
from marlkit.agents.deep.ppo_lagrangian import EpisodeCosts, IPPOLagrangian, MAPPOLagrangian, finished_episode_costs
from marlkit.agents.deep.registry import make_deep_learner
from marlkit.envs.wrappers import CostWrapper
from marlkit.errors import LearnerConfigError, NotApplicableError
from marlkit.train.deep import prepare, train


def always(obs, actions, info):
    """A cost of 1 on every step for every agent (module level: hashable, so the env is a static argument)."""
    return np.ones(obs.shape[0], bool)


# ------------------------------------------------------------------------------------------------ the dual step


@pytest.fixture(scope="module")
def exact_dual():
    """IPPO-L (cost values on the reward critic's head) where the measured episode cost is known exactly: every
    step costs 1, so each 5-step episode costs 5; agent 0's limit 0 is violated by 5 at every update, agent 1's
    limit 100 holds with slack 95."""
    env = CostWrapper(envs.make("simple_spread", n_agents=2, max_episode_steps=5), cost=always, limit=(0.0, 100.0))
    learner = IPPOLagrangian(
        rollout_length=5, hidden=(8,), num_minibatches=1, update_epochs=1, dual_step=0.01, cost_critic="shared"
    )
    result = train(env, learner, steps=4 * 5 * 6, seeds=2, key=3, num_envs=4, log_every=4 * 5 * 2)
    return result


def test_multipliers_follow_projected_dual_ascent_exactly(exact_dual) -> None:
    result = exact_dual
    h = result.history
    assert h.multipliers.shape == h.cost_mean.shape == h.episode_cost.shape == (2, 3, 2, 1)
    np.testing.assert_array_equal(h.cost_mean, 1.0)  # one cost per step, recorded as the env gave it
    np.testing.assert_array_equal(h.episode_cost, 5.0)
    updates = np.array([2, 4, 6], float)  # two updates per window
    # agent 0: λ grows by η (5 - 0) per update while violated; agent 1: one step to max(0, 0.78 - 0.01 * 95) = 0
    np.testing.assert_allclose(h.multipliers[:, :, 0, 0], np.broadcast_to(0.78 + 0.05 * updates, (2, 3)), rtol=1e-6)
    np.testing.assert_array_equal(h.multipliers[:, :, 1, 0], 0.0)  # projected: never below 0
    assert np.all(h.multipliers >= 0.0)
    assert "constraint/cost_mean/0" not in h.metrics and "loss/cost_value" in h.metrics
    assert result.plan.learner.cost_limit == (0.0, 100.0)  # the task's limits, filled in by the trainer


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_episode_costs_are_summed_over_whole_episodes_across_rollouts(gamma: float) -> None:
    """Against a plain loop: episodes of random lengths in 3 envs, cut into two rollouts of 7 steps; each finished
    episode's cost is Σ_k γ^k c_k from its own start, even where it began in the previous rollout."""
    rng = np.random.default_rng(1)
    T, E = 14, 3
    done = rng.random((T, E)) < 0.3
    first = np.vstack([np.ones((1, E), bool), done[:-1]])  # the trainer's rule: a step after an end starts one
    costs = rng.random((T, E, 2, 1)).astype(np.float32)
    totals, count = np.zeros((2, 1)), 0
    for e in range(E):
        running, k = np.zeros((2, 1)), 0
        for t in range(T):
            if first[t, e]:
                running, k = np.zeros((2, 1)), 0
            running = running + gamma**k * costs[t, e]
            k += 1
            if done[t, e]:
                totals, count = totals + running, count + 1
    carry = EpisodeCosts(np.zeros((E, 2, 1), np.float32), np.ones(E, np.float32))
    sums, ended = np.zeros((2, 1)), 0.0
    for half in (slice(0, 7), slice(7, 14)):
        carry, total, n = finished_episode_costs(carry, costs[half], first[half], done[half], gamma)
        sums, ended = sums + np.asarray(total), ended + float(n)
    assert ended == count == done.sum()
    np.testing.assert_allclose(sums, totals, rtol=1e-5)


def test_bad_input_is_one_clear_error() -> None:
    with pytest.raises(NotApplicableError, match="needs a constrained task"):
        prepare(envs.make("simple_spread", n_agents=2), MAPPOLagrangian(), steps=16 * 128)
    spread = envs.make("constrained_spread", n_agents=2)
    with pytest.raises(LearnerConfigError, match="n\\*m = 2\\*1 = 2 floats"):
        prepare(spread, MAPPOLagrangian(cost_limit=(1.0, 2.0, 3.0)), steps=16 * 128)
    with pytest.raises(LearnerConfigError, match="cost_limit"):
        MAPPOLagrangian(cost_limit=-1.0)
    with pytest.raises(LearnerConfigError, match="feed-forward only"):
        IPPOLagrangian(recurrent=True)
    with pytest.raises(LearnerConfigError, match="dual_step"):
        make_deep_learner("mappo-l", dual_step=0.0)
    assert isinstance(make_deep_learner("ippo_lag"), IPPOLagrangian)
    # a limit given to the learner wins over the task's
    assert prepare(spread, MAPPOLagrangian(cost_limit=0.5), steps=16 * 128).learner.cost_limit == 0.5


# -------------------------------------------------------------------------- MAPPO-L vs MAPPO, a binding limit

EPISODE, LIMIT = 25, 1.5  # the task's default limit (marlkit.envs.mpe.simple_spread.DEFAULT_COST_LIMIT)
STEPS, LOG_EVERY, TAIL = 100_000, 10_000, 3
SEEDS = 3
# The default constrained simple spread (3 agents, 25-step episodes) with small networks (32x32), rollouts one
# episode long (so every dual step measures whole episodes) and lr 1e-3, 100k steps: the smallest run that shows
# the effect within the test budget. MAPPO, trained on the reward alone, covers the landmarks and collides
# more as it does: its collisions per agent and episode grow from ~1.1 (random play) to ~3.5, so the limit 1.5
# binds (and random play shows it is feasible).
CONFIG = dict(rollout_length=EPISODE, hidden=(32, 32), num_minibatches=2, update_epochs=4, lr=1e-3)


def _run(learner) -> tuple[np.ndarray, np.ndarray, object]:
    """Per seed and agent: the mean episode cost of the last TAIL windows (TAIL x 400 episodes per seed); per seed:
    the mean episode return there; and the History."""
    env = envs.make("constrained_spread", max_episode_steps=EPISODE)
    h = train(env, learner, steps=STEPS, seeds=SEEDS, key=0, num_envs=16, log_every=LOG_EVERY).history
    cost = np.nanmean(h.episode_cost[:, -TAIL:, :, 0], axis=1)
    ret = np.nanmean(h.episode_return[:, -TAIL:], axis=(1, 2))
    return cost, ret, h


@pytest.fixture(scope="module")
def mappo_run():
    return _run(MAPPO(**CONFIG))


@pytest.fixture(scope="module")
def mappo_l_run():
    return _run(MAPPOLagrangian(**CONFIG))  # cost_limit None: the task's limit, LIMIT


SLACK = 0.25
# Each agent's tail estimate averages 1,200 episodes per seed (standard error ~0.05), but a primal-dual learner
# oscillates around its limit: λ reacts to a violation only after it is measured, so the cost overshoots by
# ~0.1-0.2 per window before λ pulls it back (Stooke, Achiam & Abbeel 2020, "Responsive safety in reinforcement
# learning by PID Lagrangian methods", Fig. 1). SLACK = 0.25 (1/6 of the limit) covers that; MAPPO sits ~1.7 above
# the limit, far outside it.


def test_mappo_l_keeps_within_the_limit_where_mappo_does_not(mappo_run, mappo_l_run) -> None:
    mappo_cost, mappo_return, mappo_h = mappo_run
    lag_cost, lag_return, lag_h = mappo_l_run
    for name, cost, ret in (("MAPPO", mappo_cost, mappo_return), ("MAPPO-L", lag_cost, lag_return)):
        print(f"\n{name}: episode cost per seed x agent {np.round(cost, 2).tolist()}, return {np.round(ret, 2)}")
    print(f"MAPPO-L final λ per seed x agent {np.round(lag_h.multipliers[:, -1, :, 0], 3).tolist()}")
    assert np.all(lag_cost <= LIMIT + SLACK), lag_cost
    assert np.all(mappo_cost > LIMIT + SLACK), mappo_cost
    assert np.all(np.isnan(mappo_h.multipliers)) and np.all(lag_h.multipliers >= 0.0)
    assert mappo_h.cost_mean is not None and lag_h.cost_mean is not None


def test_on_an_exact_game_the_limits_are_the_games_discounted_j() -> None:
    """resource-sharing's limits bound J = E[Σ γ^t C] with the game's γ = 0.9 (Altman 1999): a Lagrangian learner
    that takes them measures the discounted episode cost with that γ, not its own (0.99) — with its own the measured
    cost of a policy playing high w.p. p over 50-step episodes is about 39.5 p instead of 10 p, and the dual step
    would push a feasible policy down (measured before this rule: both agents ended at "low", team return 20 of the
    best product policy's 31.2)."""
    from marlkit.envs.games import GameEnv
    from marlkit.games.catalog import make

    plan = prepare(GameEnv(make("resource-sharing"), 50), MAPPOLagrangian(), 2048, 1, 0, None, num_envs=16)
    learner = plan.learner
    assert learner.cost_limit == (4.0, 4.0)
    assert learner.discounted_cost is True and learner.cost_gamma == pytest.approx(0.9)
    given = MAPPOLagrangian(cost_limit=3.0)  # limits given by the user: their convention is theirs
    kept = prepare(GameEnv(make("resource-sharing"), 50), given, 2048, 1, 0, None, num_envs=16).learner
    assert (kept.cost_limit, kept.discounted_cost, kept.cost_gamma) == (3.0, False, None)
