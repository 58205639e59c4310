"""The bar problem (marlkit.envs.bar): rewards worked out by hand from G = sum_k x_k exp(-x_k / c) (Wolpert & Tumer
2001), the exact optimum against brute force, episodes, observations, the slip noise and its common random numbers,
validation and the registry."""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import make
from marlkit.envs.bar import BarProblem, optimal_reward
from marlkit.errors import InvalidGameError

SMALL = BarProblem(n_agents=3, num_nights=2, capacity=1.0)
STEP = jax.jit(BarProblem.step, static_argnums=0)
RESET = jax.jit(BarProblem.reset, static_argnums=0)


def hand_g(attendance: list[int], capacity: float) -> float:
    """The world utility written out term by term (float64)."""
    return sum(x * math.exp(-x / capacity) for x in attendance)


def play(env: BarProblem, actions: list[int], key: int = 1, state=None):
    if state is None:
        _, state = RESET(env, jax.random.key(0))
    return STEP(env, jax.random.key(key), state, jnp.asarray(actions, jnp.int32))


# -- rewards ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "attendance"),
    [([0, 0, 1], [2, 1]), ([1, 1, 1], [0, 3]), ([0, 1, 0], [2, 1])],
)
def test_every_agent_receives_g_of_the_attendance(actions: list[int], attendance: list[int]) -> None:
    _, _, reward, done, info = play(SMALL, actions)
    expected = hand_g(attendance, 1.0)  # e.g. [0, 0, 1]: 2 e^-2 + 1 e^-1 = 0.63855
    np.testing.assert_allclose(np.asarray(reward), [expected] * 3, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(info["attendance"]), attendance)
    np.testing.assert_array_equal(np.asarray(info["night"]), actions)
    assert bool(done) and bool(info["terminated"]) and not bool(info["truncated"])


def test_capacity_shapes_the_night_reward() -> None:
    env = BarProblem(n_agents=5, num_nights=3, capacity=2.5)
    _, _, reward, _, _ = play(env, [2, 2, 2, 0, 1])
    # 1 e^{-1/2.5} + 1 e^{-1/2.5} + 3 e^{-3/2.5} = 2 * 0.670320 + 3 * 0.301194 = 2.244222
    assert float(reward[0]) == pytest.approx(2.244222, abs=1e-5)


def test_optimal_reward_matches_brute_force() -> None:
    for n, K, c in [(5, 3, 1.0), (6, 3, 2.0), (4, 4, 0.5)]:
        best = max(hand_g([a.count(k) for k in range(K)], c) for a in itertools.product(range(K), repeat=n))
        value, attendance = optimal_reward(n, K, c)
        assert value == pytest.approx(best, abs=1e-12)
        assert sum(attendance) == n and hand_g(list(attendance), c) == pytest.approx(best, abs=1e-12)


def test_default_optimum_needs_a_sacrifice_night() -> None:
    # n / K = 5 agents a night is far above capacity 2: the best week crowds one night and fills the rest to capacity.
    value, attendance = optimal_reward(30, 6, 2.0)
    assert attendance == (20, 2, 2, 2, 2, 2)
    assert value == pytest.approx(5 * 2 * math.exp(-1) + 20 * math.exp(-10), abs=1e-12)
    assert value > hand_g([5] * 6, 2.0) + 1.0  # an even spread is far from it


# -- episodes and observations ------------------------------------------------------------------------------------


def test_observation_is_agent_id_then_last_attendance_and_episodes_terminate() -> None:
    env = BarProblem(n_agents=3, num_nights=2, capacity=1.0, num_steps=2)
    obs, state = RESET(env, jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(obs), np.hstack([np.eye(3), np.zeros((3, 2))]))
    obs, state, _, done, info = STEP(env, jax.random.key(1), state, jnp.array([0, 0, 1]))
    assert not bool(done)
    np.testing.assert_allclose(np.asarray(obs), np.hstack([np.eye(3), np.tile([2 / 3, 1 / 3], (3, 1))]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(info["global_state"]), [2 / 3, 1 / 3], rtol=1e-6)
    obs, state, _, done, info = STEP(env, jax.random.key(2), state, jnp.array([1, 1, 1]))
    assert bool(done) and bool(info["terminated"]) and not bool(info["truncated"])
    np.testing.assert_allclose(np.asarray(info["final_obs"])[:, 3:], np.tile([0.0, 1.0], (3, 1)))
    np.testing.assert_array_equal(np.asarray(obs)[:, 3:], 0.0)  # auto-reset: a new episode sees no attendance


def test_spec_is_homogeneous_with_one_group() -> None:
    spec = BarProblem().spec
    assert spec.n_agents == 30 and spec.num_actions == (6,) * 30 and spec.obs_shape == (36,)
    assert spec.homogeneous and len(spec.groups) == 1 and spec.global_state_size == 6


# -- noise ------------------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=0)
def realised(env: BarProblem, keys: jax.Array, actions: jax.Array):
    return jax.vmap(env.realised_nights, (0, None))(keys, actions)


NOISY = BarProblem(n_agents=8, num_nights=4, slip=0.25)
NOISY_KEYS = jax.random.split(jax.random.key(3), 1000)


def test_slips_come_from_the_key_not_the_actions() -> None:
    env, keys = NOISY, NOISY_KEYS
    a, b = jnp.zeros(8, jnp.int32), jnp.full(8, 3, jnp.int32)
    night_a, slipped_a = realised(env, keys, a)
    night_b, slipped_b = realised(env, keys, b)
    np.testing.assert_array_equal(np.asarray(slipped_a), np.asarray(slipped_b))
    slipped = np.asarray(slipped_a)
    np.testing.assert_array_equal(np.asarray(night_a)[slipped], np.asarray(night_b)[slipped])  # same random night
    assert np.all(np.asarray(night_a)[~slipped] == 0) and np.all(np.asarray(night_b)[~slipped] == 3)


def test_slip_rate() -> None:
    _, slipped = realised(NOISY, NOISY_KEYS, jnp.zeros(8, jnp.int32))
    rate = float(np.mean(np.asarray(slipped)))
    assert abs(rate - 0.25) < 4 * math.sqrt(0.25 * 0.75 / 8000)  # 4 standard errors of 8,000 Bernoulli draws


def test_no_slip_is_deterministic_across_keys() -> None:
    _, _, r1, _, _ = play(SMALL, [0, 1, 1], key=1)
    _, _, r2, _, _ = play(SMALL, [0, 1, 1], key=2)
    np.testing.assert_array_equal(np.asarray(r1), np.asarray(r2))


# -- edges ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_agents": 0}, "n_agents"),
        ({"num_nights": 1.5}, "num_nights"),
        ({"num_steps": True}, "num_steps"),
        ({"capacity": 0.0}, "capacity"),
        ({"capacity": float("inf")}, "capacity"),
        ({"slip": 1.5}, "slip"),
    ],
)
def test_rejects_bad_parameters(params: dict, message: str) -> None:
    with pytest.raises(InvalidGameError, match=message):
        BarProblem(**params)


def test_registry_builds_it() -> None:
    env = make("bar_problem", n_agents=4, num_nights=3, capacity=1.5)
    assert isinstance(env, BarProblem) and env.spec.n_agents == 4
    with pytest.raises(InvalidGameError, match="unknown parameter"):
        make("bar_problem", nights=3)
