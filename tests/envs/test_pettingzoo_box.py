"""Box (continuous) actions through the PettingZoo bridge, both ways (marlkit.envs.pettingzoo).

marlkit -> PettingZoo: a Box-action task passes PettingZoo's own ``parallel_api_test`` (and ``api_test`` as an
AEC env) and exposes float32
``gymnasium.spaces.Box`` action spaces. PettingZoo -> marlkit: mpe2's ``continuous_actions=True`` envs become
Box-action host envs whose steps equal mpe2's own, stepped directly with the clipped actions from the same seed.
"""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from mpe2 import simple_speaker_listener_v4, simple_spread_v3
from pettingzoo.test import api_test, parallel_api_test

from marlkit.envs.mpe import SimpleSpread, SpeakerListener
from marlkit.envs.pettingzoo import from_pettingzoo, to_aec, to_pettingzoo
from marlkit.errors import InvalidGameError, NotApplicableError


@pytest.mark.parametrize(
    "env", [SimpleSpread(n_agents=2, continuous_actions=True), SpeakerListener(continuous_actions=True)],
    ids=["spread", "speaker_listener"],
)  # fmt: skip
def test_box_task_passes_parallel_api_test(env) -> None:
    penv = to_pettingzoo(env, seed=0)
    for i, name in enumerate(penv.possible_agents):
        space = penv.action_space(name)
        assert isinstance(space, gymnasium.spaces.Box) and space.dtype == np.float32
        assert space.shape == (env.spec.num_actions[i],) and space.low.min() == 0 and space.high.max() == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PettingZoo's style advice (unbounded observation boxes) is not a failure
        parallel_api_test(penv, num_cycles=60)
        api_test(to_aec(env, seed=0), num_cycles=60)  # and as an AEC env through PettingZoo's own conversion
    _, infos = penv.reset(seed=1)
    assert all("action_mask" not in info for info in infos.values())  # Box spaces take no mask
    actions = {name: np.full(penv.action_space(name).shape, 7.0, np.float32) for name in penv.agents}
    *_, infos = penv.step(actions)  # out of the box: clipped, not illegal
    assert not any(info["illegal_action"] for info in infos.values())
    with pytest.raises(InvalidGameError, match=r"must be .* real numbers"):
        penv.step({name: np.zeros(2, np.float32) for name in penv.agents})
    with pytest.raises(InvalidGameError, match="not finite"):
        penv.step({name: np.full(penv.action_space(name).shape, np.nan) for name in penv.agents})
    with pytest.raises(InvalidGameError, match="take no action mask"):
        to_pettingzoo(env, action_mask_in_obs=True)


@pytest.mark.parametrize(
    "make",
    [lambda: simple_spread_v3.parallel_env(N=2, continuous_actions=True),
     lambda: simple_speaker_listener_v4.parallel_env(continuous_actions=True)],
    ids=["spread", "speaker_listener"],
)  # fmt: skip
def test_mpe2_box_env_through_the_host_loop_equals_mpe2(make) -> None:
    host = from_pettingzoo(make, seed=5)
    reference = make()
    spec = host.spec
    assert spec.continuous
    for i, name in enumerate(reference.possible_agents):
        space = reference.action_space(name)
        assert spec.num_actions[i] == space.shape[0]
        np.testing.assert_array_equal(spec.action_space(i).low, space.low)
        np.testing.assert_array_equal(spec.action_space(i).high, space.high)
    obs, info = host.reset()
    ref_obs, _ = reference.reset(seed=5)
    np.testing.assert_array_equal(
        info["action_mask"], np.arange(spec.max_actions) < np.array(spec.num_actions)[:, None]
    )
    rng = np.random.default_rng(0)
    low, high = spec.action_bounds
    for t in range(spec.max_episode_steps):
        for i, name in enumerate(reference.possible_agents):
            np.testing.assert_array_equal(obs[i, : spec.obs_sizes[i]], ref_obs[name])
        actions = rng.uniform(-0.5, 1.5, size=(spec.n_agents, spec.max_actions)).astype(np.float32)
        obs, reward, done, info = host.step(actions)
        clipped = np.clip(actions, low, high)
        ref_obs, ref_reward, _, ref_trunc, _ = reference.step(
            {name: clipped[i, : spec.num_actions[i]] for i, name in enumerate(reference.possible_agents)}
        )
        np.testing.assert_array_equal(reward, np.float32([ref_reward[name] for name in reference.possible_agents]))
        assert done == all(ref_trunc.values()) == (t == spec.max_episode_steps - 1)
    assert info["truncated"]


def test_mixed_discrete_and_box_agents_are_refused() -> None:
    def mixed():
        penv = simple_spread_v3.parallel_env(N=2)
        spaces = {"agent_0": gymnasium.spaces.Discrete(5), "agent_1": gymnasium.spaces.Box(0, 1, (5,), np.float32)}
        penv.action_space = spaces.__getitem__  # type: ignore[method-assign]
        return penv

    with pytest.raises(NotApplicableError, match="mix Discrete and Box"):
        from_pettingzoo(mixed)


def test_host_loop_refuses_discrete_only_learners_on_box_envs() -> None:
    from marlkit.agents.deep.value_based import IDQN
    from marlkit.train import host

    learner = IDQN()
    with pytest.raises(NotApplicableError, match="idqn needs discrete actions"):
        host.prepare(
            lambda: simple_spread_v3.parallel_env(N=2, continuous_actions=True),
            learner,
            4 * learner.rollout_length,
            num_envs=2,
        )
