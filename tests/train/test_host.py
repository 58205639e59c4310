"""The host loop (marlkit.train.host): deep learners on a PettingZoo env stepped by Python.

The env is mpe2's simple spread (the MPE reference implementation; Lowe et al. 2017) with discrete actions and
10-step episodes, so a few hundred env steps hold many episodes. Runs are short: these tests check the loop's
bookkeeping and contract, not learning (the compiled trainer's tests and the learners' own tests do that).
The IPPO and IDQN tests are marked slow: compiling each learner's ``act`` and ``update`` takes 10-15 s of CPU here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.agents.deep.registry import make_deep_learner
from marlkit.envs.pettingzoo import from_pettingzoo
from marlkit.errors import InvalidGameError
from marlkit.train import host

simple_spread_v3 = pytest.importorskip("mpe2.simple_spread_v3")
CYCLES = 10


def spread():
    return simple_spread_v3.parallel_env(continuous_actions=False, max_cycles=CYCLES)


@dataclass(frozen=True)
class FixedAction:
    """Always plays action ``action`` (a parameter-free probe whose play an oracle can replay)."""

    name: ClassVar[str] = "fixed-action"
    action: int = 1
    rollout_length: int = 8
    sharing: str | None = None
    agent_id: bool | None = None

    def init(self, key, spec, num_envs):
        return {"updates": jnp.zeros((), jnp.int32)}

    def initial_memory(self, spec, num_envs):
        return ()

    def act(self, key, state, observation, memory):
        actions = jnp.full(observation.action_mask.shape[:2], self.action, jnp.int32)
        return actions, {"first": observation.first}, memory

    def update(self, key, state, rollout):
        return {"updates": state["updates"] + 1}, {"updates": state["updates"] + 1.0}

    def policy(self, state, observation, memory):
        return jnp.zeros(observation.action_mask.shape, jnp.float32).at[..., self.action].set(1.0)


@dataclass(frozen=True)
class Doubled:
    """A reward transform that doubles the reward and checks that the host loop gives it no env."""

    needs_probs: bool = True

    def init(self, key, spec):
        return ()

    def apply(self, tstate, env, ctx):
        assert env is None and ctx.env_state is None  # no counterfactual step on the host
        return 2.0 * ctx.reward + 0.0 * ctx.probs.sum(-1)

    def update(self, key, tstate, rollout):
        return tstate, {"gap": jnp.abs(rollout.reward - 2.0 * rollout.env_reward).max()}


def replay_returns(actions: int, seeds: list[int], steps_per_env: int) -> tuple[float, int]:
    """Oracle: step fresh PettingZoo envs directly with a fixed action; total return of the episodes that finish
    within ``steps_per_env`` steps (summed over agents and envs) and how many finished."""
    total, episodes = 0.0, 0
    for seed in seeds:
        env = spread()
        env.reset(seed=seed)
        running = 0.0
        for _ in range(steps_per_env):
            _, rewards, *_ = env.step(dict.fromkeys(env.agents, actions))
            running += sum(rewards.values())
            if not env.agents:
                total, episodes, running = total + running, episodes + 1, 0.0
                env.reset()
    return total, episodes


def test_episode_returns_match_a_direct_replay_of_the_env():
    num_envs, T, updates = 3, 8, 5
    steps = num_envs * T * updates  # 40 steps per env: 4 finished 10-step episodes each
    result = host.train(spread, FixedAction(action=1, rollout_length=T), steps, seeds=[4], key=7, num_envs=num_envs)
    h = result.history
    assert h.meta["trainer"] == "host" and h.policy.shape == (1, 5, 3, 0, 5)
    total, episodes = replay_returns(1, host._env_seeds(7, 4, num_envs), steps // num_envs)
    assert episodes == num_envs * (steps // num_envs // CYCLES) == int(h.episode_count.sum())
    logged = np.nansum(h.episode_return[0] * h.episode_count[0][:, None])
    np.testing.assert_allclose(logged, total, rtol=1e-5)  # float32 sums in a different order
    np.testing.assert_array_equal(h.metrics["updates"][0, :, 0], np.arange(1, updates + 1))


@pytest.mark.slow
def test_ippo_runs_with_finite_losses_and_logged_returns_and_is_deterministic():
    ippo = make_deep_learner("ippo", rollout_length=16, update_epochs=2, num_minibatches=2, hidden=(32,))
    kwargs = dict(steps=2 * 16 * 4, seeds=2, key=3, log_every=2 * 16 * 2, num_envs=2)
    first = host.train(spread, ippo, **kwargs)
    h = first.history
    assert h.episode_return.shape == (2, 2, 3) and h.meta["sharing"]["mode"] == "full"
    assert (h.episode_count > 0).all() and np.isfinite(h.episode_return).all()
    assert {"loss/policy", "loss/value", "entropy"} <= set(h.metrics)
    assert all(np.isfinite(v).all() for v in h.metrics.values())
    again = host.train(spread, ippo, **kwargs).history
    for name in ("episode_return", "episode_count", "reward_mean"):
        np.testing.assert_array_equal(getattr(again, name), getattr(h, name))
    for name, value in h.metrics.items():
        np.testing.assert_array_equal(again.metrics[name], value)
    other = host.train(spread, ippo, **{**kwargs, "key": 4}).history
    assert not np.array_equal(other.reward_mean, h.reward_mean)  # another key: other env seeds, other play


@pytest.mark.slow
def test_idqn_runs_with_finite_losses():
    idqn = make_deep_learner("idqn", learning_starts=32, batch_size=16, buffer_size=256, hidden=(32,))
    result = host.train(spread, idqn, 2 * 60, key=1, log_every=2 * 20, num_envs=2)
    h = result.history
    assert (h.episode_count > 0).all() and np.isfinite(h.episode_return).all()
    assert "loss" in h.metrics and np.isfinite(h.metrics["loss"]).all()
    assert (h.metrics["loss"][0, -1] > 0).all()  # learning has started (after 32 steps) and the loss is real


def test_reward_transforms_get_no_env_and_shape_the_learning_reward():
    result = host.train(spread, FixedAction(rollout_length=4), 2 * 4 * 2, num_envs=2, reward=Doubled())
    assert (result.history.metrics["reward/gap"] == 0).all()


def test_bad_inputs_are_refused():
    one = from_pettingzoo(spread, seed=0)
    with pytest.raises(InvalidGameError, match="pass a factory"):
        host.train(one, FixedAction(), 16, num_envs=2)
    with pytest.raises(InvalidGameError, match="not a multiple"):
        host.train(spread, FixedAction(rollout_length=8), 20, num_envs=2)
