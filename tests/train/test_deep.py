"""The compiled deep trainer (marlkit.train.deep) with a learner-free probe: uniform random legal actions.

The probe has no parameters, so what the trainer records can be checked exactly against the env's known
expectations (prisoner's dilemma payoffs, Albrecht et al. 2024 Fig. 3.? table: (3,3) (0,5) (5,0) (1,1)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import make
from marlkit.errors import InvalidGameError, LearnerConfigError
from marlkit.train import deep


@dataclass(frozen=True)
class UniformProbe:
    """Uniform over legal actions; update counts rollouts and reports the mean learning reward."""

    name: ClassVar[str] = "uniform-probe"
    rollout_length: int = 8
    sharing: str | None = None
    agent_id: bool | None = None

    def init(self, key, spec, num_envs):
        return {"updates": jnp.zeros((), jnp.int32)}

    def initial_memory(self, spec, num_envs):
        return ()

    def act(self, key, state, observation, memory):
        logits = jnp.where(observation.action_mask, 0.0, -jnp.inf)
        actions = jax.random.categorical(key, logits).astype(jnp.int32)
        return actions, {"first": observation.first}, memory

    def update(self, key, state, rollout):
        assert rollout.actions.shape[0] == self.rollout_length
        return {"updates": state["updates"] + 1}, {
            "reward": rollout.reward.mean(),
            "per_agent": rollout.reward.mean((0, 1)),
        }

    def policy(self, state, observation, memory):
        m = observation.action_mask.astype(jnp.float32)
        return m / m.sum(-1, keepdims=True)


@dataclass(frozen=True)
class Doubled:
    """A reward transform that doubles the reward (checks the learning reward is the transformed one)."""

    needs_probs: bool = False

    def init(self, key, spec):
        return ()

    def apply(self, tstate, env, ctx):
        return 2.0 * ctx.reward

    def update(self, key, tstate, rollout):
        return tstate, {"gap": (rollout.reward - 2.0 * rollout.env_reward).max()}


def test_matrix_game_records_tables_counts_and_returns():
    env = make("game:prisoners-dilemma")
    result = deep.train(env, UniformProbe(), 16 * 8 * 20, seeds=3, num_envs=16, log_every=16 * 8 * 5)
    h = result.history
    assert h.policy.shape == (3, 4, 2, 1, 2)
    np.testing.assert_allclose(h.policy, 0.5)
    assert h.joint_counts.shape == (3, 4, 1, 2, 2)
    np.testing.assert_array_equal(h.joint_counts[:, -1].sum(axis=(1, 2, 3)), 16 * 8 * 20)
    np.testing.assert_array_equal(h.episode_count, 16 * 8 * 5)  # one-step episodes
    # Uniform play of the prisoner's dilemma pays (3 + 0 + 5 + 1) / 4 = 2.25 in expectation; 640 samples per
    # window give a standard error of about 0.07, so 0.35 is five standard errors.
    assert np.all(np.abs(h.episode_return - 2.25) < 0.35)
    np.testing.assert_allclose(h.episode_return, h.reward_mean, rtol=1e-6)
    np.testing.assert_allclose(h.metrics["reward"][..., 0], h.reward_mean.mean(-1), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(result.states["updates"]), 20)
    assert h.meta["sharing"]["mode"] == "full" and "weakly homogeneous" in h.meta["sharing"]["reason"]
    assert not np.array_equal(h.joint_counts[0], h.joint_counts[1])  # seeds differ


def test_particle_env_has_no_tables_and_logs_episodes():
    env = make("simple_spread")
    h = deep.train(env, UniformProbe(rollout_length=25), 4 * 25 * 4, seeds=2, num_envs=4, log_every=4 * 25).history
    assert h.policy.shape == (2, 4, 3, 0, 5) and h.joint_counts.size == 0
    np.testing.assert_array_equal(h.episode_count, 4)  # 25-step episodes, 4 envs, 25 steps per window
    np.testing.assert_allclose(h.episode_return, 25 * h.reward_mean, rtol=1e-5)
    assert h.meta["sharing"]["mode"] == "full"
    assert not h.constrained and h.cost_mean is None and h.episode_cost is None and h.multipliers is None


def test_a_constrained_task_records_costs_and_nan_multipliers_for_a_learner_without_them():
    env = make("constrained_spread", n_agents=2)
    h = deep.train(env, UniformProbe(rollout_length=25), 4 * 25 * 4, seeds=2, num_envs=4, log_every=4 * 25).history
    assert h.constrained and h.cost_mean.shape == h.episode_cost.shape == h.multipliers.shape == (2, 4, 2, 1)
    assert np.all(np.isnan(h.multipliers))  # UniformProbe keeps no Lagrange multipliers
    # windows hold whole 25-step episodes: the mean episode cost is 25 x the mean cost per step
    np.testing.assert_allclose(h.episode_cost, 25 * h.cost_mean, rtol=1e-5)
    assert h.cost_mean.sum() > 0 and not any(k.startswith("constraint/") for k in h.metrics)


def test_a_huge_joint_action_space_needs_no_table():
    """30 agents x 6 nights: 6^30 joint actions cannot even be described as an empty array's shape."""
    h = deep.train(make("bar_problem"), UniformProbe(rollout_length=1), 64, num_envs=16, log_every=32).history
    assert h.joint_counts.shape == (1, 2, 0) and h.policy.shape == (1, 2, 30, 0, 6)
    assert np.all(h.episode_count == 32)  # one-week episodes


def test_split_run_is_bit_identical_to_one_run():
    env = make("game:stag-hunt")
    plan = deep.prepare(env, UniformProbe(), 16 * 8 * 6, seeds=2, num_envs=16, log_every=16 * 8, reward=Doubled())
    state, whole = deep.advance(plan, deep.start(plan), 0, 6)
    state, first = deep.advance(plan, deep.start(plan), 0, 2)
    state, second = deep.advance(plan, state, 2, 4)
    a, b = deep.to_history(plan, whole), deep.to_history(plan, [first, second])
    for name in ("policy", "joint_counts", "episode_return", "reward_mean"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.metrics["reward/gap"], 0.0)
    np.testing.assert_allclose(a.metrics["reward"][..., 0], 2 * a.reward_mean.mean(-1), rtol=1e-5)


def test_bad_inputs_fail_at_the_edge():
    env = make("game:prisoners-dilemma")
    with pytest.raises(InvalidGameError, match="multiple of num_envs x rollout_length"):
        deep.prepare(env, UniformProbe(), 100, num_envs=16)
    with pytest.raises(InvalidGameError, match="log_every"):
        deep.prepare(env, UniformProbe(), 16 * 8 * 4, num_envs=16, log_every=16 * 8 * 3)
    with pytest.raises(LearnerConfigError, match="not a deep learner"):
        deep.prepare(env, object(), 128)
    with pytest.raises(InvalidGameError, match="MultiAgentEnv"):
        deep.prepare("prisoners-dilemma", UniformProbe(), 128)
    plan = deep.prepare(env, UniformProbe(), 16 * 8 * 4, num_envs=16, log_every=16 * 8)
    with pytest.raises(InvalidGameError, match="run past"):
        deep.advance(plan, deep.start(plan), 3, 2)


def test_explicit_sharing_is_kept_and_default_follows_homogeneity():
    pennies = make("game:matching-pennies")
    assert deep.prepare(pennies, UniformProbe(), 128).sharing.mode == "none"  # not homogeneous
    assert deep.prepare(pennies, UniformProbe(sharing="full"), 128).sharing.mode == "full"
    tag = make("simple_tag")
    assert deep.prepare(tag, UniformProbe(), 128).sharing.mode == "group"


@dataclass(frozen=True)
class StepCountProbe:
    """A recurrent probe: its memory counts the steps since the episode began; it plays action 0 on an episode's
    first step and action 1 after (deterministic), so what it does in a state depends on the memory."""

    name: ClassVar[str] = "step-count-probe"
    rollout_length: int = 8
    sharing: str | None = "none"
    agent_id: bool | None = None

    def init(self, key, spec, num_envs):
        return {}

    def initial_memory(self, spec, num_envs):
        return jnp.zeros((num_envs, spec.n_agents, 1), jnp.float32)

    def _probs(self, observation, memory):
        memory = jnp.where(observation.first[:, None, None], 0.0, memory)
        action = (memory[..., 0] > 0).astype(jnp.int32)
        probs = jax.nn.one_hot(action, observation.action_mask.shape[-1])
        return jnp.where(observation.action_mask, probs, 0.0), memory

    def act(self, key, state, observation, memory):
        probs, memory = self._probs(observation, memory)
        return jnp.argmax(probs, -1).astype(jnp.int32), {}, memory + 1.0

    def update(self, key, state, rollout):
        return state, {}

    def policy(self, state, observation, memory):
        return self._probs(observation, memory)[0]


def _alternating_game_env():
    """Two states that alternate (s0 -> s1 -> s0 ...), start in s0, 4-step episodes, 2 agents x 2 actions."""
    from marlkit.envs.games import GameEnv
    from marlkit.games import StochasticGame

    T = np.zeros((2, 2, 2, 2))
    T[0, ..., 1] = T[1, ..., 0] = 1.0
    game = StochasticGame(T, np.zeros((2, 2, 2, 2)), initial=[1.0, 0.0], gamma=0.9, name="alternating")
    return GameEnv(game, max_episode_steps=4)


def test_recurrent_tables_are_the_policy_acted_with_not_the_one_at_episode_start():
    """Issue 14, item 12. Each 4-step episode visits s0 (memory 0: action 0), s1 (action 1), s0 (action 1), s1
    (action 1). The policy acted with is [0.5, 0.5] in s0 and [0, 1] in s1; read from the initial memory, the
    table would say [1, 0] in both."""
    env = _alternating_game_env()
    plan = deep.prepare(env, StepCountProbe(), 4 * 8 * 6, seeds=2, num_envs=4, log_every=4 * 8 * 2)
    h = plan.run()
    assert h.policy.shape == (2, 3, 2, 2, 2)
    np.testing.assert_allclose(h.policy[:, :, :, 0], 0.5)
    np.testing.assert_array_equal(h.policy[:, :, :, 1], np.broadcast_to([0.0, 1.0], (2, 3, 2, 2)))
    assert "acted with" in h.meta["policy_table"] and "recurrent" in h.meta["policy_table"]
    state, first = deep.advance(plan, deep.start(plan), 0, 1)  # windows run apart give the same tables
    _, second = deep.advance(plan, state, 1, 2)
    np.testing.assert_array_equal(deep.to_history(plan, [first, second]).policy, h.policy)
    feed_forward = deep.train(env, UniformProbe(), 4 * 8 * 2, num_envs=4, log_every=4 * 8).history
    assert feed_forward.meta["policy_table"] == deep.POLICY_TABLE_MEANINGS[False]
    np.testing.assert_allclose(feed_forward.policy, 0.5)
