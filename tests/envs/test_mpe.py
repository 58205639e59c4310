"""MPE tasks (simple spread, simple tag, speaker-listener) against the reference package mpe2, plus physics facts.

The reference test starts marlkit and mpe2 from the same state (marlkit's reset state, or a crowded state that
forces contacts, copied into mpe2's world), feeds both the same random joint actions, and compares every
observation, reward, truncation and global state over whole episodes. Tolerance 1e-4: marlkit computes in
float32, mpe2 in float64; the largest gap seen while writing these tests was ~1e-5 (contacts amplify rounding).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from mpe2 import simple_speaker_listener_v4, simple_spread_v3, simple_tag_v3
from scipy import stats

from marlkit.envs.base import TimeState
from marlkit.envs.mpe import SimpleSpread, SimpleTag, SpeakerListener
from marlkit.envs.mpe.core import MOVE_DIRECTIONS, Particles, move_force, without_self
from marlkit.envs.mpe.speaker_listener import SpeakerListenerState
from marlkit.errors import InvalidGameError

TOL = 1e-4
CROWD = 0.25  # crowded starts: every position scaled into [-0.25, 0.25]^2, so discs touch from the first step


# ----------------------------------------------------------------------------------- marlkit side: one program


@functools.cache
def compiled_rollouts(env) -> Callable:
    """``(keys [E], states, actions [E, T, n]) -> (final_obs, reward, done, global_state)``, each ``[E, T, ...]``:
    every episode rolled from its start state (vmap over episodes, scan over time), compiled once per env."""

    def episode(key, state, acts):
        def one(state, inputs):
            k, a = inputs
            _, state, reward, done, info = env.step(k, state, a)
            return state, (info["final_obs"], reward, done, info["global_state"])

        return jax.lax.scan(one, state, (jax.random.split(key, acts.shape[0]), acts))[1]

    return jax.jit(jax.vmap(episode))


@functools.cache
def compiled_resets(env) -> Callable:
    return jax.jit(jax.vmap(env.reset))


# --------------------------------------------------------------------------------------- mpe2 side: host loop


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


def mpe2_episode(penv, setter: Callable, start, actions: np.ndarray, sizes) -> dict[str, np.ndarray]:
    """Step mpe2's parallel env from ``start`` through ``actions [T, n]``; obs zero-padded like marlkit's."""
    penv.reset(seed=0)
    raw = penv.unwrapped
    setter(raw.world, start)
    names = penv.possible_agents
    width = max(sizes)
    out: dict[str, list] = {"obs": [], "reward": [], "done": [], "state": [], "gap": []}
    for acts in actions:
        obs, reward, _, truncated, _ = penv.step({name: int(a) for name, a in zip(names, acts, strict=True)})
        out["obs"].append([np.pad(obs[name], (0, width - len(obs[name]))) for name in names])
        out["reward"].append([reward[name] for name in names])
        out["done"].append(all(truncated.values()))
        out["state"].append(raw.state())
        out["gap"].append(_closest_contact(raw.world))
    return {k: np.asarray(v) for k, v in out.items()}


def _closest_contact(world) -> float:
    """min over colliding agent pairs of (distance - radii sum): negative means a contact this step."""
    agents = [a for a in world.agents if a.collide and a.movable]
    gaps = [
        np.linalg.norm(a.state.p_pos - b.state.p_pos) - a.size - b.size
        for i, a in enumerate(agents)
        for b in agents[i + 1 :]
    ]
    return min(gaps, default=np.inf)


# ---------------------------------------------------------------------------------------- the reference test

CASES = {
    "spread": (SimpleSpread(), lambda: simple_spread_v3.parallel_env(continuous_actions=False), set_particles),
    "spread_n4_lr0.3": (
        SimpleSpread(n_agents=4, local_ratio=0.3),
        lambda: simple_spread_v3.parallel_env(N=4, local_ratio=0.3, continuous_actions=False),
        set_particles,
    ),
    "tag": (SimpleTag(), lambda: simple_tag_v3.parallel_env(continuous_actions=False), set_particles),
    "tag_2v2_1obstacle": (
        SimpleTag(n_good=2, n_adversaries=2, n_obstacles=1),
        lambda: simple_tag_v3.parallel_env(num_good=2, num_adversaries=2, num_obstacles=1, continuous_actions=False),
        set_particles,
    ),
    "speaker_listener": (
        SpeakerListener(),
        lambda: simple_speaker_listener_v4.parallel_env(continuous_actions=False),
        set_speaker_listener,
    ),
}
# (case, seeds, episodes per seed): the issue asks for simple spread over many episodes.
RUNS = [("spread", 3, 20), ("spread_n4_lr0.3", 1, 10), ("tag", 2, 10), ("tag_2v2_1obstacle", 1, 10)]
RUNS += [("speaker_listener", 2, 10)]


def _crowd(state):
    """The same state with every position scaled towards the origin (forces contacts)."""
    if isinstance(state, SpeakerListenerState):
        return state
    return Particles(CROWD * state.pos, state.vel, CROWD * state.landmark_pos)


@pytest.mark.parametrize(("case", "seeds", "episodes"), RUNS, ids=[r[0] for r in RUNS])
def test_matches_mpe2_from_the_same_state(case: str, seeds: int, episodes: int) -> None:
    env, make_reference, setter = CASES[case]
    penv = make_reference()
    spec = env.spec
    # seeds x episodes start states: per seed, the first half from marlkit's reset, the second half crowded
    keys = jax.random.split(jax.random.key(2024), seeds * episodes)
    first_obs, starts = compiled_resets(env)(keys)
    crowded = np.tile(np.arange(episodes) >= episodes // 2, seeds)
    inner = jax.tree_util.tree_map(
        lambda plain, crowd: jnp.where(crowded.reshape(-1, *[1] * (plain.ndim - 1)), crowd, plain),
        starts.inner,
        _crowd(starts.inner),
    )
    actions = np.concatenate(
        [
            np.stack([rng.integers(0, k, size=(episodes, spec.max_episode_steps)) for k in spec.num_actions], -1)
            for rng in map(np.random.default_rng, range(seeds))
        ]
    ).astype(np.int32)
    outputs = compiled_rollouts(env)(keys, TimeState(inner, starts.time), jnp.asarray(actions))
    assert [x.dtype for x in outputs] == [jnp.float32, jnp.float32, jnp.bool_, jnp.float32]
    obs, reward, done, global_state = map(np.asarray, outputs)
    assert obs.shape == (seeds * episodes, spec.max_episode_steps, spec.n_agents, *spec.obs_shape)
    assert global_state.shape == (seeds * episodes, spec.max_episode_steps, spec.global_state_size)
    contacts, host = 0, jax.tree_util.tree_map(np.asarray, inner)
    for e in range(seeds * episodes):
        start = jax.tree_util.tree_map(lambda x, e=e: x[e], host)
        ref = mpe2_episode(penv, setter, start, actions[e], spec.obs_sizes)
        # mpe2's observations zero-padded to marlkit's common shape: this also checks marlkit's padding
        np.testing.assert_allclose(obs[e], ref["obs"], atol=TOL, rtol=0, err_msg=f"{case} episode {e}")
        np.testing.assert_allclose(reward[e], ref["reward"], atol=TOL, rtol=0, err_msg=f"{case} episode {e}")
        np.testing.assert_array_equal(done[e], ref["done"])
        # global state (mpe2's state()) at every step but the last, where marlkit's has auto-reset
        np.testing.assert_allclose(global_state[e, :-1], ref["state"][:-1], atol=TOL, rtol=0)
        contacts += int(np.sum(ref["gap"] < 0))
    # the reset observation too: mpe2 observes the copied start state (episode 0 is not crowded)
    penv.reset(seed=0)
    setter(penv.unwrapped.world, jax.tree_util.tree_map(lambda x: x[0], host))
    for i, name in enumerate(penv.possible_agents):
        reference = penv.unwrapped.observe(name)
        np.testing.assert_allclose(first_obs[0, i, : len(reference)], reference, atol=TOL, rtol=0)
    if case != "speaker_listener":  # nothing collides there
        assert contacts > 0, "no contact happened: the contact forces were not compared"


@pytest.mark.parametrize("case", list(CASES))
def test_spaces_match_mpe2(case: str) -> None:
    env, make_reference, _ = CASES[case]
    penv = make_reference()
    spec = env.spec
    assert spec.agent_names == tuple(penv.possible_agents)
    for i, name in enumerate(penv.possible_agents):
        assert spec.observation_space(i).shape == penv.observation_space(name).shape
        assert spec.action_space(i).n == penv.action_space(name).n
    assert spec.global_state_size == penv.state_space.shape[0]
    assert spec.max_episode_steps == 25


# ------------------------------------------------------------------------------------------ reset distribution


def test_reset_distributions() -> None:
    """Start positions are U(-1, 1) (tag obstacles U(-0.9, 0.9)) and the goal landmark is uniform (mpe2)."""
    keys = jax.random.split(jax.random.key(7), 2000)
    _, spread = compiled_resets(SimpleSpread())(keys)
    assert stats.kstest(np.asarray(spread.inner.pos).ravel(), stats.uniform(-1, 2).cdf).pvalue > 1e-3
    assert stats.kstest(np.asarray(spread.inner.landmark_pos).ravel(), stats.uniform(-1, 2).cdf).pvalue > 1e-3
    _, tag = compiled_resets(SimpleTag())(keys)
    assert stats.kstest(np.asarray(tag.inner.landmark_pos).ravel(), stats.uniform(-0.9, 1.8).cdf).pvalue > 1e-3
    _, sl = compiled_resets(SpeakerListener())(keys)
    counts = np.bincount(np.asarray(sl.inner.goal), minlength=3)
    assert counts.sum() == 2000 and stats.chisquare(counts).pvalue > 1e-3
    assert stats.kstest(np.asarray(sl.inner.particles.pos).ravel(), stats.uniform(-1, 2).cdf).pvalue > 1e-3


# ------------------------------------------------------------------------------------------------ physics facts


def test_free_particle_follows_the_damped_recursion() -> None:
    """One agent pushing +x from rest: v_{t+1} = 0.75 v_t + 5 * 0.1, x_{t+1} = x_t + 0.1 v_t (mpe2's order)."""
    env = SimpleSpread(n_agents=1, n_landmarks=1, max_episode_steps=100)
    _, state = jax.jit(env.reset)(jax.random.key(0))
    x0 = float(state.inner.pos[0, 0])
    step = jax.jit(env.step)
    x, v = x0, 0.0
    for _ in range(12):
        obs, state, *_ = step(jax.random.key(1), state, jnp.array([2]))
        x, v = x + 0.1 * v, 0.75 * v + 0.5
        assert obs[0, 0] == pytest.approx(v, abs=1e-5) and obs[0, 1] == 0.0
        assert obs[0, 2] == pytest.approx(x, abs=1e-5)
    assert v == pytest.approx(2.0 * (1 - 0.75**12))  # the recursion's closed form: terminal speed 2


def test_speed_limits_hold_in_simple_tag() -> None:
    env = SimpleTag()
    key = jax.random.key(3)

    def one(carry, k):
        state = carry
        a = jax.random.randint(k, (env.n_agents,), 0, 5)
        _, state, *_ = env.step(k, state, a)
        return state, jnp.linalg.norm(state.inner.vel, axis=-1)

    _, state = jax.jit(env.reset)(key)
    _, speeds = jax.jit(lambda s: jax.lax.scan(one, s, jax.random.split(key, 300)))(state)
    speeds = np.asarray(speeds)
    assert speeds[:, :3].max() <= 1.0 + 1e-5 and speeds[:, 3:].max() <= 1.3 + 1e-5
    assert speeds[:, 3:].max() > 1.0  # the prey's own limit is the one that binds, not the predators'


def test_move_force_follows_the_direction_table() -> None:
    world = SimpleTag().world  # accelerations 3 (adversaries) and 4 (good agents)
    for moves in ([0, 1, 2, 3], [4, 4, 0, 1], [3, 2, 1, 0]):
        fx, fy = move_force(world, jnp.array(moves))
        expected = MOVE_DIRECTIONS[moves] * np.array([3.0, 3.0, 3.0, 4.0])[:, None]
        np.testing.assert_array_equal(np.stack([fx, fy], -1), expected)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_without_self_drops_the_diagonal(n: int) -> None:
    pairs = np.arange(n * n * 2, dtype=np.float32).reshape(n, n, 2)
    expected = np.stack([np.delete(pairs[i], i, axis=0) for i in range(n)])
    np.testing.assert_array_equal(np.asarray(without_self(jnp.asarray(pairs))), expected)


# ----------------------------------------------------------------------------------- constrained simple spread


def test_constrained_spread_separates_collision_cost_from_reward() -> None:
    plain, constrained = SimpleSpread(), SimpleSpread(constrained=True)
    assert constrained.spec.num_constraints == 1 and plain.spec.num_constraints == 0
    assert constrained.spec.name == "constrained_spread"
    key = jax.random.key(11)
    _, state = jax.jit(constrained.reset)(key)
    state = TimeState(_crowd(state.inner), state.time)
    actions = jax.random.randint(key, (25, 3), 0, 5)

    def roll(env):
        def one(s, a):
            _, s, r, _, info = env.step(key, s, a)
            return s, (r, info.get("cost", jnp.zeros((3, 1))))

        return jax.jit(lambda s: jax.lax.scan(one, s, actions)[1])(state)

    r_plain, _ = roll(plain)
    r_con, cost = roll(constrained)
    assert cost.shape == (25, 3, 1) and cost.dtype == jnp.float32
    np.testing.assert_array_equal(cost, np.round(cost))
    assert float(cost.sum()) > 0  # the crowded start collides
    np.testing.assert_allclose(r_plain, r_con - 0.5 * cost[..., 0], atol=1e-6)
    np.testing.assert_allclose(r_con, r_con[:, :1] * np.ones(3), atol=0)  # the coverage term is shared


# ------------------------------------------------------------------------------------ contract-level behaviour


def test_speaker_actions_are_masked_and_replaced() -> None:
    env = SpeakerListener()
    _, state = jax.jit(env.reset)(jax.random.key(0))
    _, _, _, _, info = jax.jit(env.step)(jax.random.key(1), state, jnp.array([4, 0]))
    np.testing.assert_array_equal(info["action_mask"][0], [True, True, True, False, False])
    np.testing.assert_array_equal(info["illegal_action"], [True, False])
    np.testing.assert_array_equal(info["final_obs"][1, -3:], [1.0, 0.0, 0.0])  # replaced by message 0


BAD_CONFIGS = [
    (SimpleSpread, {"n_agents": 0}),
    (SimpleSpread, {"n_landmarks": 0}),
    (SimpleSpread, {"n_agents": 2.5}),
    (SimpleSpread, {"local_ratio": 1.5}),
    (SimpleSpread, {"max_episode_steps": 0}),
    (SimpleSpread, {"constrained": "yes"}),
    (SimpleTag, {"n_good": 0}),
    (SimpleTag, {"n_adversaries": -1}),
    (SimpleTag, {"n_obstacles": -2}),
    (SpeakerListener, {"max_episode_steps": -5}),
]


@pytest.mark.parametrize(("cls", "kwargs"), BAD_CONFIGS)
def test_bad_configs_raise(cls, kwargs) -> None:
    with pytest.raises(InvalidGameError, match=next(iter(kwargs))):
        cls(**kwargs)


def test_configs_are_canonical_and_hashable() -> None:
    assert SimpleSpread(n_agents=3) == SimpleSpread(n_agents=3, n_landmarks=3)
    assert hash(SimpleTag()) == hash(SimpleTag(n_good=1))
    assert SimpleSpread(n_agents=5).spec.obs_sizes == (4 + 10 + 16,) * 5
