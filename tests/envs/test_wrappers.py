"""Wrappers (marlkit.envs.wrappers): each against a plain-Python oracle, and composed."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from marlkit.envs.base import MultiAgentEnv
from marlkit.envs.games import GameEnv
from marlkit.envs.wrappers import (
    ActionMask,
    AgentId,
    EpisodeStatistics,
    GlobalState,
    NormalizeObservation,
    random_legal_actions,
)
from marlkit.errors import InvalidGameError
from marlkit.games import ObservationModel, StochasticGame
from marlkit.games.catalog import make

HORIZON = 40


def posg(action_mask: np.ndarray | None = None) -> StochasticGame:
    """3 states (state 2 terminal), 2 agents with 2 actions, state-only observations of sizes 3 and 2."""
    T = np.zeros((3, 2, 2, 3))
    T[0] = [[[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]], [[0.6, 0.0, 0.4], [0.1, 0.1, 0.8]]]
    T[1] = [[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0], [0.3, 0.3, 0.4]]]
    T[2, :, :, 2] = 1.0
    R = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 2, 2) * 0.37 - 3.1
    o0 = np.array([[0.6, 0.3, 0.1], [0.0, 0.5, 0.5], [0.2, 0.2, 0.6]])
    o1 = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    return StochasticGame(
        T,
        R,
        initial=[0.7, 0.3, 0.0],
        gamma=0.9,
        terminal=[False, False, True],
        action_mask=action_mask,
        observations=ObservationModel((o0, o1)),
    )


def masked_mask() -> np.ndarray:
    mask = np.ones((2, 3, 2), dtype=bool)
    mask[0, 1, 0] = False  # agent 0 may not play action 0 in state 1
    return mask


@functools.cache
def base_env() -> GameEnv:
    return GameEnv(posg(masked_mask()), max_episode_steps=5)


@functools.partial(jax.jit, static_argnums=0)
def rollout(env: MultiAgentEnv, key: jax.Array, actions: jax.Array):
    """Reset, then step with ``actions [T, n]``: ``(reset_obs, reset_state, (obs, reward, done, info) [T])``."""
    reset_key, *step_keys = jax.random.split(key, actions.shape[0] + 1)

    def body(state, x):
        k, a = x
        obs, state, reward, done, info = env.step(k, state, a)
        return state, (obs, reward, done, info, state)

    obs0, state0 = env.reset(reset_key)
    return obs0, state0, jax.lax.scan(body, state0, (jnp.stack(step_keys), actions))[1]


def random_actions(seed: int = 1, horizon: int = HORIZON) -> jax.Array:
    return jax.random.randint(jax.random.key(seed), (horizon, 2), 0, 2)


def test_wrappers_are_envs_hashable_and_unwrap() -> None:
    env = EpisodeStatistics(NormalizeObservation(AgentId(base_env())))
    assert isinstance(env, MultiAgentEnv) and env.unwrapped is base_env()
    assert hash(env) == hash(EpisodeStatistics(NormalizeObservation(AgentId(base_env()))))
    with pytest.raises(InvalidGameError, match="MultiAgentEnv"):
        AgentId(posg())


def test_episode_statistics_match_a_python_tally() -> None:
    env = EpisodeStatistics(base_env())
    _, _, (_, reward, done, info, _) = rollout(env, jax.random.key(0), random_actions())
    reward, done = np.asarray(reward), np.asarray(done)
    assert done.sum() >= 3  # several episodes end inside the horizon (time limit 5)
    running, length = np.zeros(2), 0
    for t in range(HORIZON):
        running, length = running + reward[t], length + 1
        np.testing.assert_allclose(info["episode_return"][t], running, rtol=1e-6)
        assert int(info["episode_length"][t]) == length
        if done[t]:
            running, length = np.zeros(2), 0
    assert "episode_cost" not in info


def test_episode_statistics_accumulate_costs_in_constrained_tasks() -> None:
    game = make("resource-sharing")
    env = EpisodeStatistics(GameEnv(game, max_episode_steps=4))
    _, _, (_, _, done, info, _) = rollout(env, jax.random.key(0), random_actions(horizon=8))
    assert np.asarray(done).tolist() == [False, False, False, True] * 2
    cost = np.asarray(info["cost"])
    np.testing.assert_allclose(info["episode_cost"][3], cost[:4].sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(info["episode_cost"][7], cost[4:].sum(axis=0), rtol=1e-6)


def test_agent_id_is_written_after_each_agents_true_observation() -> None:
    inner = base_env()
    env = AgentId(inner)
    assert env.spec.obs_shape == (5,) and env.spec.obs_sizes == (5, 4)
    key, actions = jax.random.key(3), random_actions()
    plain = rollout(inner, key, actions)
    wrapped = rollout(env, key, actions)
    for before, after in ((plain[0], wrapped[0]), (plain[2][0][5], wrapped[2][0][5])):
        before, after = np.asarray(before), np.asarray(after)
        np.testing.assert_array_equal(after[0], [*before[0, :3], 1.0, 0.0])
        np.testing.assert_array_equal(after[1], [*before[1, :2], 0.0, 1.0, 0.0])  # then zero padding
    np.testing.assert_array_equal(plain[2][1], wrapped[2][1])  # rewards untouched
    final, plain_final = np.asarray(wrapped[2][3]["final_obs"]), np.asarray(plain[2][3]["final_obs"])
    np.testing.assert_array_equal(final[:, 0, :3], plain_final[:, 0, :3])
    np.testing.assert_array_equal(final[:, 0, 3:5], np.broadcast_to([1.0, 0.0], (HORIZON, 2)))
    np.testing.assert_array_equal(final[:, 1, :2], plain_final[:, 1, :2])
    np.testing.assert_array_equal(final[:, 1, 2:4], np.broadcast_to([0.0, 1.0], (HORIZON, 2)))


def test_action_mask_round_trips_and_follows_the_state() -> None:
    inner = base_env()
    env = ActionMask(inner)
    assert env.spec.obs_sizes == (5, 4)
    key, actions = jax.random.key(4), random_actions(seed=2)
    plain = rollout(inner, key, actions)
    obs0, _, (obs, _, _, info, _) = rollout(env, key, actions)
    own, mask = env.split(obs)
    np.testing.assert_array_equal(own, plain[2][0])
    np.testing.assert_array_equal(mask, info["action_mask"])
    own0, mask0 = env.split(obs0)
    np.testing.assert_array_equal(own0, plain[0])
    np.testing.assert_array_equal(mask0, inner.state_info(plain[1])["action_mask"])
    final_own, final_mask = env.split(info["final_obs"])
    np.testing.assert_array_equal(final_own, plain[2][3]["final_obs"])
    np.testing.assert_array_equal(final_mask, info["final_action_mask"])
    masks = np.asarray(info["action_mask"])
    assert (~masks[:, 0, 0]).any() and masks[:, 0, 0].any()  # the mask really changes along the run


def test_random_legal_actions_are_legal_and_uniform() -> None:
    mask = jnp.array([[True, False, True, True], [False, True, False, False]])
    draws = np.asarray(
        jax.jit(jax.vmap(random_legal_actions, (0, None)))(jax.random.split(jax.random.key(0), 6000), mask)
    )
    assert np.all(draws[:, 1] == 1) and set(np.unique(draws[:, 0])) <= {0, 2, 3}
    counts = np.bincount(draws[:, 0], minlength=4)[[0, 2, 3]]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_global_state_concatenates_true_observations_then_the_task_state() -> None:
    inner = base_env()
    assert GlobalState(inner).spec.global_state_size == 3 + 2
    env = GlobalState(inner, include_env_state=True)
    assert env.spec.global_state_size == 3 + 2 + 3
    key, actions = jax.random.key(5), random_actions(seed=3)
    plain = rollout(inner, key, actions)
    obs0, state0, (obs, _, _, info, states) = rollout(env, key, actions)

    def expected(o, task_state):
        o = np.asarray(o)
        return np.concatenate([o[0, :3], o[1, :2], np.asarray(task_state)])

    at_reset = expected(obs0, inner.state_info(plain[1])["global_state"])
    np.testing.assert_array_equal(env.state_info(state0)["global_state"], at_reset)
    for t in range(HORIZON):
        np.testing.assert_array_equal(info["global_state"][t], expected(obs[t], plain[2][3]["global_state"][t]))
    np.testing.assert_array_equal(states.global_state, info["global_state"])


def test_normalize_observation_matches_numpy_running_statistics() -> None:
    inner = base_env()
    env = NormalizeObservation(inner, clip=5.0)
    key, actions = jax.random.key(6), random_actions(seed=4)
    plain = rollout(inner, key, actions)
    obs0, _, (obs, _, _, info, states) = rollout(env, key, actions)
    seen = np.concatenate([np.asarray(plain[0])[None], np.asarray(plain[2][0])])  # every obs the agents act on
    for t in (0, 10, HORIZON - 1):
        history = seen[: t + 2]
        np.testing.assert_allclose(states.mean[t], history.mean(axis=0), atol=1e-5)
        np.testing.assert_allclose(states.m2[t] / (t + 2), history.var(axis=0), atol=1e-5)
        z = np.clip((seen[t + 1] - history.mean(axis=0)) / np.sqrt(history.var(axis=0) + 1e-8), -5, 5)
        np.testing.assert_allclose(obs[t], z, atol=1e-4)
    np.testing.assert_array_equal(obs0, np.zeros_like(obs0))  # the first observation is the mean
    assert np.all(np.asarray(obs)[:, 1, 2] == 0)  # padding stays zero
    assert np.all(np.abs(np.asarray(info["final_obs"])) <= 5.0)
    assert env.spec.obs_low == -5.0 and env.spec.obs_high == 5.0
    with pytest.raises(InvalidGameError, match="clip"):
        NormalizeObservation(inner, clip=0.0)


def test_wrappers_compose_and_batch() -> None:
    env = EpisodeStatistics(NormalizeObservation(GlobalState(AgentId(ActionMask(base_env())))))
    spec = env.spec
    assert spec.obs_shape == (3 + 2 + 2,) and spec.obs_sizes == (7, 6) and spec.global_state_size == 13
    keys = jax.random.split(jax.random.key(0), 64)
    actions = jax.random.randint(jax.random.key(1), (64, HORIZON, 2), 0, 2)
    _, _, (obs, _, done, info, _) = jax.vmap(functools.partial(rollout, env))(keys, actions)
    assert obs.shape == (64, HORIZON, 2, 7) and info["global_state"].shape == (64, HORIZON, 13)
    assert info["episode_return"].shape == (64, HORIZON, 2) and np.asarray(done).any()
    assert np.all(np.isfinite(np.asarray(obs)))


# ------------------------------------------------------------------------------------------------------ costs


def _speed_steps(env, steps: int = 12):
    """Step ``env`` (from reset) with fixed pseudo-random actions; yields each step's outputs."""
    key = jax.random.key(4)
    _, state = env.reset(key)
    step = jax.jit(env.step)
    rng = np.random.default_rng(0)
    for t in range(steps):
        actions = jnp.asarray(rng.integers(0, env.spec.max_actions, env.spec.n_agents), jnp.int32)
        out = step(jax.random.fold_in(key, t), state, actions)
        state = out[1]
        yield out


def test_cost_wrapper_turns_a_speed_predicate_into_a_cost() -> None:
    from marlkit.envs.registry import make as make_task
    from marlkit.envs.wrappers import CostWrapper, SpeedAbove, cost_limits

    plain = CostWrapper(make_task("simple_spread", n_agents=2, max_episode_steps=5), cost=SpeedAbove(0.5), limit=2.0)
    assert plain.spec.num_constraints == 1
    np.testing.assert_array_equal(cost_limits(plain), [[2.0], [2.0]])
    seen, running = set(), np.zeros((2, 1))
    for _, _, _, done, info in _speed_steps(EpisodeStatistics(plain)):
        speed = np.linalg.norm(np.asarray(info["final_obs"])[:, :2], axis=1)  # MPE: own velocity first
        np.testing.assert_array_equal(info["cost"], (speed > 0.5)[:, None].astype(np.float32))
        seen |= set(np.asarray(info["cost"]).ravel().tolist())
        running += np.asarray(info["cost"])
        np.testing.assert_array_equal(info["episode_cost"], running)  # EpisodeStatistics sums the new cost
        running *= 1 - bool(done)
    assert seen == {0.0, 1.0}  # the threshold splits the speeds these actions reach
    # on a constrained task the new cost goes after the task's own, with its limit
    both = CostWrapper(make_task("constrained_spread", n_agents=2), cost=SpeedAbove(0.5), limit=(0.25, 0.75))
    assert both.spec.num_constraints == 2
    np.testing.assert_array_equal(cost_limits(both), [[1.5, 0.25], [1.5, 0.75]])
    inner = make_task("constrained_spread", n_agents=2)
    for (_, _, _, _, info), (_, _, _, _, plain_info) in zip(_speed_steps(both, 3), _speed_steps(inner, 3), strict=True):
        np.testing.assert_array_equal(np.asarray(info["cost"])[:, :1], plain_info["cost"])


def test_cost_limits_and_bad_cost_input() -> None:
    from marlkit.envs.mpe import SimpleSpread
    from marlkit.envs.registry import make as make_task
    from marlkit.envs.wrappers import CostWrapper, SpeedAbove, cost_limits

    assert cost_limits(make_task("simple_spread")) is None
    np.testing.assert_array_equal(cost_limits(make_task("constrained_spread")), np.full((3, 1), 1.5))
    np.testing.assert_array_equal(
        cost_limits(make_task("constrained_spread", max_episode_steps=50)), np.full((3, 1), 3)
    )
    np.testing.assert_array_equal(cost_limits(make_task("constrained_spread", cost_limit=0.5)), np.full((3, 1), 0.5))
    game_env = GameEnv(make("resource-sharing"))
    np.testing.assert_array_equal(cost_limits(AgentId(game_env)), game_env.game.limits)
    spread = make_task("simple_spread", n_agents=2)
    with pytest.raises(InvalidGameError, match="constrained=True"):
        SimpleSpread(cost_limit=1.0)
    with pytest.raises(InvalidGameError, match="cost_limit must be"):
        SimpleSpread(constrained=True, cost_limit=-1.0)
    with pytest.raises(InvalidGameError, match="must be callable"):
        CostWrapper(spread, cost=3.0)
    with pytest.raises(InvalidGameError, match="limit must be"):
        CostWrapper(spread, cost=SpeedAbove(0.5), limit=(1.0, 2.0, 3.0))
    with pytest.raises(InvalidGameError, match="limit must be"):
        CostWrapper(spread, cost=SpeedAbove(0.5), limit=-1.0)
    with pytest.raises(InvalidGameError, match="threshold"):
        SpeedAbove(-0.1)
