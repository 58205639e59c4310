"""Any exact game as an env (marlkit.envs.games): sampling matches the game's probabilities, exact rewards and
costs, POSG observations, masks, auto-reset, time limits and batching."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from marlkit.envs.base import TimeState
from marlkit.envs.games import NO_TIME_LIMIT, GameEnv, GameState
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, ObservationModel, StochasticGame
from marlkit.games.catalog import make

SAMPLES = 20_000
ALPHA = 1e-4  # chi-square significance per test: a correct sampler fails one of these ~10 tests w.p. ~1e-3


def three_state_game(**extra) -> StochasticGame:
    """2 agents x 2 actions, 3 states; state 2 is terminal; rewards distinguish every (s, joint action)."""
    T = np.zeros((3, 2, 2, 3))
    T[0] = [[[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]], [[0.6, 0.0, 0.4], [0.1, 0.1, 0.8]]]
    T[1] = [[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0], [0.3, 0.3, 0.4]]]
    T[2, :, :, 2] = 1.0
    R = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 2, 2) * 0.37 - 3.1
    return StochasticGame(T, R, initial=[0.7, 0.3, 0.0], gamma=0.9, terminal=[False, False, True], **extra)


def chi_square_ok(samples: np.ndarray, probs: np.ndarray) -> bool:
    """Pearson's chi-square goodness of fit on the cells with positive probability; zero-probability cells must
    never occur (an exact check: the sampler draws only from the support)."""
    counts = np.bincount(samples, minlength=probs.size)
    if np.any(counts[probs == 0]):
        return False
    support = probs > 0
    if support.sum() < 2:
        return True
    return stats.chisquare(counts[support], probs[support] * samples.size).pvalue > ALPHA


@functools.partial(jax.jit, static_argnums=(0, 4))
def _steps_from(env: GameEnv, seed: jax.Array, s: jax.Array, actions: jax.Array, n: int):
    keys = jax.random.split(jax.random.key(seed), n)
    state = TimeState(GameState(s), jnp.int32(0))
    return jax.vmap(env.step, in_axes=(0, None, None))(keys, state, actions)


def steps_from(env: GameEnv, s: int, actions, n: int = SAMPLES, seed: int = 0):
    """``n`` independent steps of ``env`` from state ``s`` with the joint action ``actions`` (one compile per env)."""
    return _steps_from(env, jnp.uint32(seed), jnp.int32(s), jnp.asarray(actions, jnp.int32), n)


@functools.cache
def three_state_env(max_episode_steps: int = 100) -> GameEnv:
    return GameEnv(three_state_game(), max_episode_steps)


@functools.cache
def dec_tiger_env() -> GameEnv:
    return GameEnv(make("dec-tiger"), max_episode_steps=100)


def step_jit(env: GameEnv):
    return _step(env)


@functools.cache
def _step(env: GameEnv):
    return jax.jit(env.step)


@pytest.mark.parametrize(("s", "joint"), [(0, (0, 0)), (0, (1, 0)), (0, (1, 1)), (1, (1, 1)), (1, (0, 0))])
def test_next_state_frequencies_match_transitions(s: int, joint: tuple[int, int]) -> None:
    game = three_state_game()
    env = three_state_env()
    _, _, reward, _, info = steps_from(env, s, joint)
    next_state = np.asarray(jnp.argmax(info["final_obs"][:, 0], axis=1))  # fully observable: one-hot state
    assert chi_square_ok(next_state, game.transitions[(s, *joint)])
    np.testing.assert_array_equal(
        np.asarray(reward), np.broadcast_to(game.rewards[(slice(None), s, *joint)], (SAMPLES, 2)).astype(np.float32)
    )


def test_reset_frequencies_match_initial_and_observations_are_one_hot_states() -> None:
    game = three_state_game()
    env = GameEnv(game)
    obs, state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(3), SAMPLES))
    assert chi_square_ok(np.asarray(state.inner.state), game.initial)
    expected = np.eye(3, dtype=np.float32)[np.asarray(state.inner.state)]
    np.testing.assert_array_equal(obs, np.broadcast_to(expected[:, None], (SAMPLES, 2, 3)))


def test_rewards_are_exact_in_every_state_and_joint_action() -> None:
    game = three_state_game()
    step = step_jit(three_state_env())
    for s in range(2):
        for joint in np.ndindex(2, 2):
            state = TimeState(GameState(jnp.int32(s)), jnp.int32(0))
            _, _, reward, _, _ = step(jax.random.key(0), state, jnp.asarray(joint))
            np.testing.assert_array_equal(reward, game.rewards[(slice(None), s, *joint)].astype(np.float32))


def test_normal_form_game_is_a_one_step_repeated_game_with_exact_payoffs() -> None:
    game = make("climbing")
    env = GameEnv(game)
    assert env.spec.max_episode_steps == 1 and env.spec.obs_shape == (1,)
    _, state = env.reset(jax.random.key(0))
    step = step_jit(env)
    for joint in np.ndindex(*game.num_actions):
        _, new_state, reward, done, info = step(jax.random.key(1), state, jnp.asarray(joint))
        np.testing.assert_array_equal(reward, game.payoffs[(slice(None), *joint)].astype(np.float32))
        assert bool(done) and bool(info["truncated"]) and not bool(info["terminated"])
        assert int(new_state.time) == 0


def test_auto_reset_after_a_terminal_state() -> None:
    game = three_state_game()
    obs, state, _, done, info = steps_from(three_state_env(), 1, (0, 1))  # s=1, (0, 1) -> terminal state 2 surely
    assert np.all(done) and np.all(info["terminated"]) and not np.any(info["truncated"])
    np.testing.assert_array_equal(info["final_obs"][:, 0], np.tile([0.0, 0.0, 1.0], (SAMPLES, 1)))
    restarted = np.asarray(state.inner.state)
    assert chi_square_ok(restarted, game.initial) and np.all(state.time == 0)
    np.testing.assert_array_equal(jnp.argmax(obs[:, 0], axis=1), restarted)
    np.testing.assert_array_equal(jnp.argmax(info["global_state"], axis=1), restarted)


def test_time_limit_truncates_a_game_without_terminal_states() -> None:
    game = make("dec-tiger")
    env = GameEnv(game, max_episode_steps=3)
    _, state = env.reset(jax.random.key(0))
    step = step_jit(env)
    dones = []
    for t in range(7):
        _, state, _, done, info = step(jax.random.key(t), state, jnp.array([0, 0]))
        dones.append(bool(done))
        assert bool(info["truncated"]) == bool(done) and not bool(info["terminated"])
    assert dones == [False, False, True, False, False, True, False]
    assert GameEnv(game).spec.max_episode_steps == NO_TIME_LIMIT  # the tabular env's rule


def test_dec_tiger_observations_follow_the_action_dependent_model() -> None:
    env = dec_tiger_env()  # tiger-left = state 0; listen = action 0; hear-left = observation 0
    assert env.spec.obs_sizes == (2, 2) and env.spec.global_state_size == 2
    # both listen in tiger-left: the state stays, each agent hears left w.p. 0.85, independently
    _, _, _, _, info = steps_from(env, 0, (0, 0))
    assert np.all(jnp.argmax(info["global_state"], axis=1) == 0)
    o = np.asarray(jnp.argmax(info["final_obs"], axis=2))  # [samples, 2]
    joint = o[:, 0] * 2 + o[:, 1]
    q = 0.85
    assert chi_square_ok(joint, np.outer([q, 1 - q], [q, 1 - q]).ravel())
    # after a door is opened the state is redrawn and both observations are uniform
    _, _, reward, _, info = steps_from(env, 0, (2, 2), seed=1)
    np.testing.assert_array_equal(reward[0], [20.0, 20.0])  # both open the treasure door (Nair et al. 2003)
    o = np.asarray(jnp.argmax(info["final_obs"], axis=2))
    assert chi_square_ok(o[:, 0] * 2 + o[:, 1], np.full(4, 0.25))
    assert chi_square_ok(np.asarray(jnp.argmax(info["global_state"], axis=1)), np.array([0.5, 0.5]))


def test_action_dependent_agents_see_nothing_at_reset_and_state_only_agents_see_their_observation() -> None:
    obs, _ = dec_tiger_env().reset(jax.random.key(0))
    np.testing.assert_array_equal(obs, np.zeros((2, 2)))
    # a state-only model with different observation counts: agent 0 sees the state noisily, agent 1 sees a bit
    o0 = np.array([[0.6, 0.3, 0.1], [0.0, 0.5, 0.5], [0.2, 0.2, 0.6]])
    o1 = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    game = three_state_game(observations=ObservationModel((o0, o1)))
    env = GameEnv(game, max_episode_steps=100)
    assert env.spec.obs_shape == (3,) and env.spec.obs_sizes == (3, 2)
    obs, state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(1), SAMPLES))
    s0 = np.asarray(state.inner.state)
    assert np.all(obs[:, 1, 2] == 0)  # padding
    for s in range(2):
        rows = s0 == s
        assert chi_square_ok(np.asarray(jnp.argmax(obs[rows, 0], axis=1)), o0[s])
        assert chi_square_ok(np.asarray(jnp.argmax(obs[rows, 1, :2], axis=1)), o1[s])
    # after a step the observation is drawn at the next state
    _, _, _, _, info = steps_from(env, 0, (0, 0), seed=2)
    s1 = np.asarray(jnp.argmax(info["global_state"], axis=1) * ~np.asarray(info["terminated"]))
    final = np.asarray(jnp.argmax(info["final_obs"][:, 0], axis=1))
    live = ~np.asarray(info["terminated"])
    for s in range(2):
        rows = live & (s1 == s)
        assert chi_square_ok(final[rows], o0[s])


def test_constrained_game_reports_exact_costs() -> None:
    game = make("resource-sharing")
    env = GameEnv(game, max_episode_steps=10)
    assert env.spec.num_constraints == game.num_constraints
    _, state = env.reset(jax.random.key(0))
    step = step_jit(env)
    for joint in np.ndindex(*game.num_actions):
        _, _, _, _, info = step(jax.random.key(1), state, jnp.asarray(joint))
        expected = game.costs[(slice(None), slice(None), 0, *joint)].astype(np.float32)
        np.testing.assert_array_equal(info["cost"], expected)
    assert "cost" not in steps_from(three_state_env(), 0, (0, 0))[4]  # unconstrained games have no cost entry


def test_action_masks_come_from_the_game_and_illegal_actions_are_replaced() -> None:
    mask = np.ones((2, 3, 2), dtype=bool)
    mask[0, 1, 0] = False  # agent 0 may not play action 0 in state 1
    game = three_state_game(action_mask=mask)
    env = GameEnv(game, max_episode_steps=100)
    state = TimeState(GameState(jnp.int32(1)), jnp.int32(0))
    np.testing.assert_array_equal(env.state_info(state)["action_mask"], mask[:, 1])
    _, _, reward, _, info = step_jit(env)(jax.random.key(0), state, jnp.array([0, 1]))
    np.testing.assert_array_equal(info["illegal_action"], [True, False])
    np.testing.assert_array_equal(reward, game.rewards[:, 1, 1, 1].astype(np.float32))  # played as (1, 1)


def test_vmapped_over_1024_envs_matches_one_env_at_a_time() -> None:
    env = three_state_env()
    n_envs, horizon = 1024, 8
    reset_keys = jax.random.split(jax.random.key(9), n_envs)
    keys = jax.random.split(jax.random.key(7), (horizon, n_envs))
    actions = jax.random.randint(jax.random.key(8), (horizon, n_envs, 2), 0, 2)

    def rollout(reset_key, step_keys, acts):
        def body(state, x):
            key, a = x
            obs, state, reward, done, _ = env.step(key, state, a)
            return state, (obs, reward, done)

        _, state = env.reset(reset_key)
        return jax.lax.scan(body, state, (step_keys, acts))[1]

    batched = jax.jit(jax.vmap(rollout, in_axes=(0, 1, 1)))(reset_keys, keys, actions)
    assert batched[0].shape == (n_envs, horizon, 2, 3) and batched[1].shape == (n_envs, horizon, 2)
    assert np.asarray(batched[2]).any()  # episodes end at the terminal state and restart inside the batch
    step = step_jit(env)
    for k in (0, 1023):  # the oracle: one env, one step at a time
        _, state = env.reset(reset_keys[k])
        for t in range(horizon):
            obs, state, reward, done, _ = step(keys[t, k], state, actions[t, k])
            for a, b in zip((obs, reward, done), batched, strict=True):
                np.testing.assert_array_equal(a, b[k, t])


def test_soccer_builds_a_compact_transition_table() -> None:
    env = GameEnv(make("soccer"))
    support = env.tables.support
    assert support.shape[:2] == (761, 25) and support.shape[2] <= 4


@pytest.mark.parametrize(
    ("game", "steps", "error"),
    [
        (make("penalty"), 0, InvalidGameError),
        (make("penalty"), 2.5, InvalidGameError),
        (make("penalty"), True, InvalidGameError),
        ("penalty", None, InvalidGameError),
    ],
)
def test_bad_configs_raise_clear_errors(game, steps, error) -> None:
    with pytest.raises(error):
        GameEnv(game, max_episode_steps=steps)


def test_initial_mass_on_a_terminal_state_is_rejected() -> None:
    T = np.zeros((2, 1, 2))
    T[:, 0, 1] = 1.0
    game = StochasticGame(T, np.zeros((1, 2, 1)), initial=[0.5, 0.5], gamma=0.9, terminal=[False, True])
    with pytest.raises(NotApplicableError, match="terminal"):
        GameEnv(game)


def test_three_player_normal_form_game() -> None:
    game = NormalFormGame(np.arange(3 * 2 * 3 * 4, dtype=float).reshape(3, 2, 3, 4))
    env = GameEnv(game)
    assert env.spec.num_actions == (2, 3, 4) and env.spec.max_actions == 4
    _, state = env.reset(jax.random.key(0))
    step = step_jit(env)
    for joint in [(0, 0, 0), (1, 2, 3), (0, 1, 2)]:
        _, _, reward, _, _ = step(jax.random.key(0), state, jnp.asarray(joint))
        np.testing.assert_array_equal(reward, game.payoffs[(slice(None), *joint)])
    np.testing.assert_array_equal(env.state_info(state)["action_mask"], np.arange(4)[None] < np.array([[2], [3], [4]]))


def test_envs_as_stochastic_is_the_one_game_view() -> None:
    """The envs read a game through :func:`marlkit.games.as_stochastic` (their own copy called a removed
    ``NormalFormGame.to_stochastic`` and raised AttributeError on every normal-form game; mypy found it)."""
    from marlkit import games
    from marlkit.envs import games as game_envs

    game = NormalFormGame(np.stack([np.eye(2), -np.eye(2)]), name="mp")
    one_state = game_envs.as_stochastic(game)
    assert game_envs.as_stochastic is games.as_stochastic
    assert one_state.num_states == 1 and one_state.gamma == 0.0
    np.testing.assert_array_equal(one_state.rewards[:, 0], game.payoffs)
    with pytest.raises(InvalidGameError, match="expected a NormalFormGame or StochasticGame"):
        game_envs.as_stochastic("mp")
