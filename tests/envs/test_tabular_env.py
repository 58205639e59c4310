"""GameEnv's tabular mode (state-index observations, ``make_env``): sampling matches the game's probabilities,
determinism, auto-reset, truncation, illegal actions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import GameState, TimeState, make_env
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame

Z = 4.5  # two-sided z for frequency checks: P(|Z| > 4.5) ≈ 7e-6 per cell, so ~30 cells never fail by chance


def three_state_game() -> StochasticGame:
    """2 agents x 2 actions, 3 states; state 2 is terminal; rewards distinguish every (s, joint action)."""
    T = np.zeros((3, 2, 2, 3))
    T[0] = [[[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]], [[0.6, 0.0, 0.4], [0.1, 0.1, 0.8]]]
    T[1] = [[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0], [0.3, 0.3, 0.4]]]
    T[2, :, :, 2] = 1.0
    R = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 2, 2)
    return StochasticGame(T, R, initial=[0.7, 0.3, 0.0], gamma=0.9, terminal=[False, False, True])


def at_state(state, time) -> TimeState:
    """The env state at game state ``state``, ``time`` steps into the episode."""
    return TimeState(GameState(state), time)


def draw_many(env, state: TimeState, actions, n: int, seed: int = 0):
    keys = jax.random.split(jax.random.key(seed), n)
    return jax.vmap(env.step, in_axes=(0, None, None))(keys, state, jnp.asarray(actions))


def assert_frequencies(samples: np.ndarray, probs: np.ndarray) -> None:
    n = samples.size
    freq = np.bincount(samples, minlength=probs.size) / n
    se = np.sqrt(probs * (1 - probs) / n)
    assert np.all(np.abs(freq - probs) <= Z * se + 1e-12), (freq, probs)


@pytest.mark.parametrize(("s", "joint"), [(0, (0, 0)), (0, (1, 1)), (1, (1, 1)), (1, (0, 0))])
def test_next_state_frequencies_match_transitions(s: int, joint: tuple[int, int]) -> None:
    game = three_state_game()
    env = make_env(game, max_episode_steps=100)
    _, _, _, _, info = draw_many(env, at_state(jnp.int32(s), jnp.int32(0)), joint, 20_000)
    assert_frequencies(np.asarray(info["final_obs"][:, 0]), game.transitions[(s, *joint)])


def test_reset_frequencies_match_initial() -> None:
    game = three_state_game()
    env = make_env(game)
    _, states = jax.vmap(env.reset)(jax.random.split(jax.random.key(3), 20_000))
    assert_frequencies(np.asarray(states.inner.state), game.initial)


def test_rewards_are_the_games_expected_rewards() -> None:
    game = three_state_game()
    env = make_env(game, max_episode_steps=100)
    for s in (0, 1):
        for joint in np.ndindex(2, 2):
            _, _, reward, _, _ = env.step(jax.random.key(0), at_state(jnp.int32(s), jnp.int32(0)), jnp.asarray(joint))
            np.testing.assert_array_equal(np.asarray(reward), game.rewards[(slice(None), s, *joint)].astype(np.float32))


def test_same_key_gives_identical_outputs() -> None:
    env = make_env(three_state_game(), max_episode_steps=100)
    state = at_state(jnp.int32(0), jnp.int32(0))
    first = env.step(jax.random.key(7), state, jnp.asarray([1, 1]))
    second = env.step(jax.random.key(7), state, jnp.asarray([1, 1]))
    for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(second), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_auto_reset_at_terminal_state() -> None:
    game = three_state_game()
    env = make_env(game, max_episode_steps=100)
    # From state 1, joint action (0, 1) reaches terminal state 2 with probability 1.
    obs, state, _, done, info = draw_many(env, at_state(jnp.int32(1), jnp.int32(5)), (0, 1), 4000, seed=1)
    assert np.all(np.asarray(done)) and np.all(np.asarray(info["terminated"]))
    assert not np.any(np.asarray(info["truncated"]))
    assert np.all(np.asarray(info["final_obs"]) == 2)
    assert np.all(np.asarray(state.time) == 0)
    assert_frequencies(np.asarray(obs[:, 0]), game.initial)  # the fresh episode starts from μ_0
    assert np.array_equal(
        np.asarray(info["action_mask"]), np.asarray(env.action_masks[:, state.inner.state].transpose(1, 0, 2))
    )


def test_truncation_after_max_episode_steps_and_bootstrap_state_kept() -> None:
    env = make_env(three_state_game(), max_episode_steps=3)
    state = at_state(jnp.int32(0), jnp.int32(2))  # third step of the episode; (0, 1) goes to state 1 surely
    _, new_state, _, done, info = env.step(jax.random.key(0), state, jnp.asarray([0, 1]))
    assert bool(done) and bool(info["truncated"]) and not bool(info["terminated"])
    assert int(info["final_obs"][0]) == 1 and int(new_state.time) == 0
    _, new_state, _, done, _ = env.step(jax.random.key(0), at_state(jnp.int32(0), jnp.int32(0)), jnp.asarray([0, 1]))
    assert not bool(done) and int(new_state.time) == 1 and int(new_state.inner.state) == 1


def test_normal_form_game_is_one_play_per_episode() -> None:
    game = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])
    env = make_env(game)
    assert env.spec.max_episode_steps == 1 and env.num_uniforms == 0
    assert env.gamma == 0.0
    _, state = env.reset(jax.random.key(0))
    _, _, reward, done, info = env.step(jax.random.key(1), state, jnp.asarray([0, 1]))
    assert bool(done) and bool(info["truncated"])
    np.testing.assert_array_equal(np.asarray(reward), [-1.0, 1.0])


def test_illegal_actions_are_replaced_by_the_first_legal_and_flagged() -> None:
    mask = np.ones((2, 1, 3), dtype=bool)
    mask[0, 0, 0] = False  # agent 0 cannot play action 0
    game = StochasticGame(np.ones((1, 3, 3, 1)), np.arange(18.0).reshape(2, 1, 3, 3), [1.0], 0.5, action_mask=mask)
    env = make_env(game, max_episode_steps=10)
    _, state = env.reset(jax.random.key(0))
    _, _, reward, _, info = env.step(jax.random.key(0), state, jnp.asarray([0, 7]))
    np.testing.assert_array_equal(np.asarray(info["actions"]), [1, 0])
    np.testing.assert_array_equal(np.asarray(info["illegal_action"]), [True, True])
    np.testing.assert_array_equal(np.asarray(reward), game.rewards[:, 0, 1, 0])
    with pytest.raises(InvalidGameError, match="not legal in state 0"):
        env.check_actions(0, [0, 1])
    assert env.check_actions(0, [1, 2]).tolist() == [1, 2]


def test_bad_env_input() -> None:
    game = three_state_game()
    with pytest.raises(InvalidGameError, match="max_episode_steps"):
        make_env(game, max_episode_steps=0)
    bad_start = StochasticGame(game.transitions, game.rewards, [0.5, 0.0, 0.5], 0.9, terminal=[False, False, True])
    with pytest.raises(NotApplicableError, match="terminal state"):
        make_env(bad_start)
    with pytest.raises(InvalidGameError, match="NormalFormGame or StochasticGame"):
        make_env("climbing")  # type: ignore[arg-type]


def test_env_is_a_pytree_that_jits() -> None:
    env = make_env(three_state_game(), max_episode_steps=100)
    step = jax.jit(lambda e, k, s, a: e.step(k, s, a))
    out = step(env, jax.random.key(0), at_state(jnp.int32(0), jnp.int32(0)), jnp.asarray([0, 0]))
    assert out[0].shape == (2,) and out[2].dtype == jnp.float32
