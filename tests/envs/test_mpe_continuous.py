"""MPE's continuous-action mode (``continuous_actions=True``) against the reference package mpe2, and the Box
action contract of ``marlkit.envs.base``.

As ``tests/envs/test_mpe.py`` does for the discrete mode: marlkit and mpe2 start from the same state (marlkit's
reset state, or the same state crowded towards the origin so that discs touch), both get the same random
continuous joint actions, and every observation, reward, truncation and global state is compared over whole
episodes. The actions are drawn from U(-0.25, 1.25) per entry, so about a third of them lie outside mpe2's
``Box(0, 1)``: mpe2 clips them (its ``ClipOutOfBoundsWrapper``) and so must marlkit's step. Tolerance 1e-4:
marlkit computes in float32, mpe2 in float64 (the discrete test saw gaps of ~1e-5).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mpe2 import simple_speaker_listener_v4, simple_spread_v3, simple_tag_v3

from marlkit.envs.base import MultiAgentSpec, TimeState, check_actions
from marlkit.envs.mpe import SimpleSpread, SimpleTag, SpeakerListener
from marlkit.envs.mpe.core import Particles, ParticleWorld, continuous_move_force, move_force
from marlkit.envs.mpe.speaker_listener import SpeakerListenerState
from marlkit.errors import InvalidGameError

TOL = 1e-4
CROWD = 0.25


def set_particles(world, particles: Particles) -> None:
    """Copy a marlkit particle state into an mpe2 world (agents then landmarks, mpe2's entity order)."""
    for agent, pos in zip(world.agents, np.asarray(particles.pos, np.float64), strict=True):
        agent.state.p_pos, agent.state.p_vel = pos.copy(), np.zeros(2)
    for landmark, pos in zip(world.landmarks, np.asarray(particles.landmark_pos, np.float64), strict=True):
        landmark.state.p_pos = pos.copy()


def set_speaker_listener(world, state: SpeakerListenerState) -> None:
    listener = world.agents[1]
    listener.state.p_pos, listener.state.p_vel = np.asarray(state.particles.pos[0], np.float64).copy(), np.zeros(2)
    for landmark, pos in zip(world.landmarks, np.asarray(state.particles.landmark_pos, np.float64), strict=True):
        landmark.state.p_pos = pos.copy()
    world.agents[0].goal_b = world.landmarks[int(state.goal)]


def crowd(state):
    if isinstance(state, SpeakerListenerState):
        return state
    return Particles(CROWD * state.pos, state.vel, CROWD * state.landmark_pos)


@functools.cache
def compiled_rollouts(env):
    """``(keys [E], states, actions [E, T, n, D]) -> (final_obs, reward, done, global_state, illegal)``."""

    def episode(key, state, acts):
        def one(state, inputs):
            k, a = inputs
            _, state, reward, done, info = env.step(k, state, a)
            return state, (info["final_obs"], reward, done, info["global_state"], info["illegal_action"])

        return jax.lax.scan(one, state, (jax.random.split(key, acts.shape[0]), acts))[1]

    return jax.jit(jax.vmap(episode))


@functools.cache
def compiled_resets(env):
    return jax.jit(jax.vmap(env.reset))


CASES = {
    "spread": (
        SimpleSpread(continuous_actions=True),
        lambda: simple_spread_v3.parallel_env(continuous_actions=True),
        set_particles,
    ),
    "tag_2v2_1obstacle": (
        SimpleTag(n_good=2, n_adversaries=2, n_obstacles=1, continuous_actions=True),
        lambda: simple_tag_v3.parallel_env(num_good=2, num_adversaries=2, num_obstacles=1, continuous_actions=True),
        set_particles,
    ),
    "speaker_listener": (
        SpeakerListener(continuous_actions=True),
        lambda: simple_speaker_listener_v4.parallel_env(continuous_actions=True),
        set_speaker_listener,
    ),
}
EPISODES = {"spread": 12, "tag_2v2_1obstacle": 4, "speaker_listener": 2}


def random_actions(spec: MultiAgentSpec, episodes: int, seed: int) -> np.ndarray:
    """``[E, T, n, D_max]`` float32 in U(-0.25, 1.25) on each agent's dimensions, 0 on padding."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-0.25, 1.25, size=(episodes, spec.max_episode_steps, spec.n_agents, spec.max_actions))
    valid = np.arange(spec.max_actions)[None, :] < np.asarray(spec.num_actions)[:, None]
    return np.where(valid, a, 0.0).astype(np.float32)


@pytest.mark.parametrize("case", list(CASES))
def test_matches_mpe2_continuous_from_the_same_state(case: str) -> None:
    env, make_reference, setter = CASES[case]
    penv = make_reference()
    spec = env.spec
    episodes = EPISODES[case]
    keys = jax.random.split(jax.random.key(2025), episodes)
    _, starts = compiled_resets(env)(keys)
    crowded = np.arange(episodes) >= episodes // 2
    inner = jax.tree_util.tree_map(
        lambda plain, c: jnp.where(crowded.reshape(-1, *[1] * (plain.ndim - 1)), c, plain),
        starts.inner,
        crowd(starts.inner),
    )
    actions = random_actions(spec, episodes, seed=len(case))
    obs, reward, done, global_state, illegal = map(
        np.asarray, compiled_rollouts(env)(keys, TimeState(inner, starts.time), jnp.asarray(actions))
    )
    assert not illegal.any()  # out-of-box entries are clipped (the contract), not illegal
    host = jax.tree_util.tree_map(np.asarray, inner)
    names, width, contacts = penv.possible_agents, spec.obs_shape[0], 0
    for e in range(episodes):
        penv.reset(seed=0)
        raw = penv.unwrapped
        setter(raw.world, jax.tree_util.tree_map(lambda x, e=e: x[e], host))
        for t in range(spec.max_episode_steps):
            step = {name: actions[e, t, i, : spec.num_actions[i]] for i, name in enumerate(names)}
            ref_obs, ref_reward, _, ref_trunc, _ = penv.step(step)
            padded = [np.pad(ref_obs[name], (0, width - len(ref_obs[name]))) for name in names]
            np.testing.assert_allclose(obs[e, t], padded, atol=TOL, rtol=0, err_msg=f"{case} episode {e} step {t}")
            np.testing.assert_allclose(reward[e, t], [ref_reward[n] for n in names], atol=TOL, rtol=0)
            assert bool(done[e, t]) == all(ref_trunc.values())
            if t < spec.max_episode_steps - 1:  # the last step's global state is the auto-reset one
                np.testing.assert_allclose(global_state[e, t], raw.state(), atol=TOL, rtol=0)
            movers = [a for a in raw.world.agents if a.collide and a.movable]
            contacts += any(
                np.linalg.norm(a.state.p_pos - b.state.p_pos) < a.size + b.size
                for i, a in enumerate(movers)
                for b in movers[i + 1 :]
            )
    if case != "speaker_listener":  # nothing collides there
        assert contacts > 0, "no contact happened: the contact forces were not compared"


@pytest.mark.parametrize("case", list(CASES))
def test_continuous_spaces_match_mpe2(case: str) -> None:
    env, make_reference, _ = CASES[case]
    penv = make_reference()
    assert env.spec.continuous
    for i, name in enumerate(penv.possible_agents):
        ours, theirs = env.spec.action_space(i), penv.action_space(name)
        assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
        np.testing.assert_array_equal(ours.low, theirs.low)
        np.testing.assert_array_equal(ours.high, theirs.high)


def test_one_hot_continuous_action_is_the_discrete_action() -> None:
    """mpe2's continuous semantics keep the discrete directions: action k == the one-hot vector e_k."""
    world = ParticleWorld(
        size=(0.1,) * 5, accel=(5.0, 3.0, 4.0, 5.0, 1.0), max_speed=(np.inf,) * 5, collide=(True,) * 5
    )
    moves = jnp.arange(5, dtype=jnp.int32)
    discrete = np.stack(move_force(world, moves), -1)
    continuous = np.stack(continuous_move_force(world, jax.nn.one_hot(moves, 5)), -1)
    np.testing.assert_array_equal(discrete, continuous)


def test_box_contract_clip_nonfinite_and_mask() -> None:
    """Step clips to the box; a non-finite entry is illegal (replaced by the clipped 0); the mask marks real
    dimensions (speaker: 3 of 5); a discrete env's spec is unchanged. (Runs on the reference test's programs.)"""
    env = CASES["speaker_listener"][0]
    spec = env.spec
    assert spec.num_actions == (3, 5) and spec.max_actions == 5 and not spec.homogeneous
    keys = jax.random.split(jax.random.key(0), EPISODES["speaker_listener"])
    _, starts = compiled_resets(env)(keys)
    actions = np.zeros((len(keys), spec.max_episode_steps, 2, 5), np.float32)
    actions[:, 0] = [[2.0, -1.0, np.nan, 7.0, 7.0], [0.5, 0.0, 3.0, 0.0, 0.0]]
    obs, _, _, _, illegal = map(np.asarray, compiled_rollouts(env)(keys, starts, jnp.asarray(actions)))
    np.testing.assert_array_equal(illegal[:, 0], [[True, False]] * len(keys))
    assert not illegal[:, 1:].any()
    listener = obs[:, 0, 1]  # after step 0: [vel (2), landmark offsets (6), message (3)]
    np.testing.assert_array_equal(listener[:, -3:], [[1.0, 0.0, 0.0]] * len(keys))  # 2 -> 1, -1 -> 0, NaN -> 0
    # the listener moved with a clipped +x intensity of 1: v = 5 * 1 * dt
    np.testing.assert_allclose(listener[:, :2], [[0.5, 0.0]] * len(keys), atol=1e-6)
    np.testing.assert_array_equal(env.action_mask(None), [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert not SpeakerListener().spec.continuous and SpeakerListener().spec.action_low is None
    assert SpeakerListener().spec != spec
    with pytest.raises(InvalidGameError, match="continuous actions must have shape"):
        check_actions(spec, np.zeros(2))
    with pytest.raises(InvalidGameError, match="not finite"):
        check_actions(spec, np.array([[0, 0, np.inf, 0, 0], [0] * 5], float))
    np.testing.assert_array_equal(
        check_actions(spec, np.array([[0.1, 0.2, 0.3, np.nan, 9.0], [1.0] * 5])),
        np.array([[0.1, 0.2, 0.3, 0, 0], [1.0] * 5], np.float32),
    )


def test_bad_box_specs() -> None:
    base = dict(name="t", n_agents=1, agent_names=("a",), obs_shape=(2,), obs_sizes=(2,), num_actions=(2,))
    base.update(global_state_size=2, max_episode_steps=5)
    with pytest.raises(InvalidGameError, match="both action_low and action_high"):
        MultiAgentSpec(**base, action_low=((0.0, 0.0),))
    with pytest.raises(InvalidGameError, match="expected num_actions"):
        MultiAgentSpec(**base, action_low=((0.0,),), action_high=((1.0,),))
    with pytest.raises(InvalidGameError, match="action_low > action_high"):
        MultiAgentSpec(**base, action_low=((0.0, 2.0),), action_high=((1.0, 1.0),))
    with pytest.raises(InvalidGameError, match="continuous_actions must be true or false"):
        SimpleSpread(continuous_actions="yes")  # type: ignore[arg-type]
    spec = MultiAgentSpec(**base, action_low=((-np.inf, 0),), action_high=((np.inf, 1),))
    low, high = spec.action_bounds
    assert spec.continuous and low.tolist() == [[-np.inf, 0.0]] and high.tolist() == [[np.inf, 1.0]]
