"""PettingZoo both ways (marlkit.envs.pettingzoo): PettingZoo's own conformance tests on every registered task,
multi-step determinism, clear errors at the edge, and marlkit acting in PettingZoo envs through a host loop."""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test

from marlkit.envs import registry
from marlkit.envs.base import MultiAgentEnv
from marlkit.envs.games import GameEnv
from marlkit.envs.pettingzoo import HostEnv, from_pettingzoo, to_aec, to_pettingzoo
from marlkit.envs.wrappers import AgentId, EpisodeStatistics, random_legal_actions
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import StochasticGame

# One game of each kind runs in the fast suite; the rest of the catalog repeats the same code paths on other
# tables, so it carries the slow marker (it costs a compile per game).
FAST_GAMES = (
    "game:prisoners-dilemma",
    "game:public-goods",
    "game:grid-game-2",
    "game:dec-tiger",
    "game:resource-sharing",
)
NUM_CYCLES = 60  # PettingZoo's default is 1000; 60 steps cover several episodes of every task's default length


def _params(name: str) -> pytest.param:
    slow = name.startswith(registry.GAME_PREFIX) and name not in FAST_GAMES
    return pytest.param(name, marks=[pytest.mark.slow] if slow else [])


ALL_NAMES = [_params(n) for n in registry.names()]
FAST_NAMES = [*registry.names(include_games=False), *FAST_GAMES]


@functools.cache
def make(name: str) -> MultiAgentEnv:
    """The registered env (games limited to 20 steps so that endless games end)."""
    params = {"max_episode_steps": 20} if name.startswith(registry.GAME_PREFIX) else {}
    return registry.make(name, **params)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_parallel_api(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PettingZoo's style advice (agent names, unbounded boxes) is not a failure
        parallel_api_test(to_pettingzoo(make(name), seed=0, action_mask_in_obs=True), num_cycles=NUM_CYCLES)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_parallel_api_with_default_arguments(name: str) -> None:
    """Issue 14, item 10: PettingZoo's own test samples unmasked actions from plain observations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(to_pettingzoo(make(name), seed=0), num_cycles=NUM_CYCLES)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_the_plain_sample_loop_runs_and_flags_illegal_actions(name: str) -> None:
    """The loop every PettingZoo user writes: ``action_space(agent).sample()`` with no mask, seeded."""
    env = to_pettingzoo(make(name), seed=0)
    for agent in env.possible_agents:
        env.action_space(agent).seed(3)
    _, infos = env.reset(seed=5)
    steps, illegal = 0, 0
    while steps < NUM_CYCLES:
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        masks = {agent: infos[agent]["action_mask"] for agent in env.agents}
        _, rewards, _, _, infos = env.step(actions)
        for agent, action in actions.items():
            assert infos[agent]["illegal_action"] == (not masks[agent][action])
            illegal += infos[agent]["illegal_action"]
        assert all(np.isfinite(r) for r in rewards.values())
        steps += 1
        if not env.agents:
            _, infos = env.reset()
    if name == "lbf":
        assert illegal > 0  # LBF masks moves into walls and food, and LOAD away from food: the loop hits them


def test_an_illegal_action_is_replaced_by_the_first_legal_one() -> None:
    """The default bridge steps an illegal action exactly as the agent's first legal action, flagged in infos."""
    outputs = []
    for action in (2, 0):  # agent 1 may not play 2; its first legal action is 0
        env = to_pettingzoo(masked_game_env(), seed=0)
        env.reset()
        outputs.append(env.step({"player0": 1, "player1": action}))
    replaced, legal = outputs
    assert replaced[4]["player1"]["illegal_action"] and not replaced[4]["player0"]["illegal_action"]
    assert not legal[4]["player1"]["illegal_action"]
    assert_same(replaced[:4], legal[:4])


@pytest.mark.parametrize("name", ALL_NAMES)
def test_aec_api(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(to_aec(make(name), seed=0), num_cycles=NUM_CYCLES)


def play(env, seed: int, episodes: int = 2, action_seed: int = 0) -> list:
    """Every output of ``episodes`` whole episodes with legal actions from a seeded NumPy generator."""
    rng = np.random.default_rng(action_seed)
    record = []
    obs, infos = env.reset(seed=seed)
    record.append((obs, infos))
    for episode in range(episodes):
        if episode:
            record.append(env.reset())  # continues the key chain
        while env.agents:
            actions = {a: rng.choice(np.flatnonzero(infos[a]["action_mask"])) for a in env.agents}
            out = env.step(actions)
            infos = out[4]
            record.append(out)
    return record


def assert_same(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype


@pytest.mark.parametrize("name", FAST_NAMES)
def test_same_seed_and_actions_give_identical_episodes(name: str) -> None:
    env = make(name)
    first, second = play(to_pettingzoo(env), seed=7), play(to_pettingzoo(env), seed=7)
    assert len(first) > 3
    assert_same(first, second)
    # reset(seed) restarts the same stream on an env that has already been used
    bridge = to_pettingzoo(env)
    play(bridge, seed=123, episodes=1)
    assert_same(play(bridge, seed=7), first)


def test_different_seeds_give_different_episodes_in_a_stochastic_game() -> None:
    env = make("game:dec-tiger")
    a, b = play(to_pettingzoo(env), seed=1), play(to_pettingzoo(env), seed=2)
    with pytest.raises(AssertionError):
        assert_same(a, b)


# --------------------------------------------------------------------------------------------------- bad input
@functools.cache
def masked_game_env() -> GameEnv:
    """One state, 2 agents x 3 actions; agent 1 may not play action 2."""
    mask = np.ones((2, 1, 3), dtype=bool)
    mask[1, 0, 2] = False
    game = StochasticGame(np.ones((1, 3, 3, 1)), np.zeros((2, 1, 3, 3)), initial=[1.0], gamma=0.0, action_mask=mask)
    return GameEnv(game, max_episode_steps=3)


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ({"player0": 0}, r"no action for live agent\(s\) \['player1'\]"),
        ({"player0": 0, "player1": 0, "player9": 1}, r"unknown agent\(s\) \['player9'\]"),
        ({"player0": 1.0, "player1": 0}, "must be one integer"),
        ({"player0": np.array([1, 2]), "player1": 0}, "must be one integer"),
        ({"player0": 3, "player1": 0}, r"agent 0 \(player0\) action 3 is out of range 0..2"),
        ({"player0": -1, "player1": 0}, "out of range"),
        ({"player0": 0, "player1": 2}, r"action 2 is illegal here; legal actions: \[0, 1\]"),
        ([0, 1], "expects a dict"),
    ],
)
def test_bad_actions_raise_clear_errors(actions, message: str) -> None:
    env = to_pettingzoo(masked_game_env(), seed=0, illegal_actions="raise")
    env.reset()
    with pytest.raises(InvalidGameError, match=message):
        env.step(actions)


def test_error_messages_print_plain_numbers() -> None:
    """Issue 14, item 9: a NumPy scalar in a message prints as the number it holds, never ``np.float64(...)``."""
    env = to_pettingzoo(masked_game_env(), seed=0)
    env.reset()
    with pytest.raises(InvalidGameError, match=r"got 1\.0$") as info:
        env.step({"player0": np.float64(1.0), "player1": 0})
    assert "np." not in str(info.value)
    for field, value, shown in (("grid_size", np.float64(8.5), "8.5"), ("penalty", np.float32(-0.5), "-0.5")):
        with pytest.raises(InvalidGameError, match=f"got {shown}$") as info:
            registry.make("lbf", **{field: value})
        assert "np." not in str(info.value)


def test_the_bridge_refuses_misuse() -> None:
    env = to_pettingzoo(masked_game_env(), seed=0)
    with pytest.raises(InvalidGameError, match="reset"):
        env.step({"player0": 0, "player1": 0})
    env.reset()
    for _ in range(3):
        _, _, terminations, truncations, _ = env.step({"player0": 0, "player1": 1})
    assert truncations == {"player0": True, "player1": True} and not any(terminations.values())
    assert env.agents == []
    with pytest.raises(InvalidGameError, match="episode is over"):
        env.step({"player0": 0, "player1": 0})
    with pytest.raises(InvalidGameError, match="render_mode"):
        to_pettingzoo(masked_game_env(), render_mode="human")
    with pytest.raises(InvalidGameError, match="MultiAgentEnv"):
        to_pettingzoo("simple_spread")
    with pytest.raises(InvalidGameError, match="illegal_actions must be one of 'replace', 'raise'"):
        to_pettingzoo(masked_game_env(), illegal_actions="ignore")


def test_spaces_masks_and_state_come_from_the_spec() -> None:
    env = to_pettingzoo(masked_game_env(), seed=0)
    obs, infos = env.reset()
    assert env.possible_agents == ["player0", "player1"]
    assert env.action_space("player1").n == 3 and env.observation_space("player1").shape == (1,)
    np.testing.assert_array_equal(infos["player1"]["action_mask"], np.array([1, 1, 0], np.int8))
    assert infos["player1"]["action_mask"].dtype == np.int8
    np.testing.assert_array_equal(env.state(), [1.0])
    assert env.observation_space("player0").contains(obs["player0"])


def test_wrapped_envs_cross_the_bridge() -> None:
    env = EpisodeStatistics(AgentId(make("game:dec-tiger")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(to_pettingzoo(env, seed=0), num_cycles=NUM_CYCLES)
    bridge = to_pettingzoo(env, seed=0)
    obs, _ = bridge.reset()
    assert obs["agent2"].shape == (4,) and obs["agent2"][3] == 1.0  # own observation (2), then the id


# ----------------------------------------------------------------------------------------- PettingZoo -> marlkit
def test_host_loop_runs_marlkit_policies_in_mpe2_simple_spread() -> None:
    from mpe2 import simple_spread_v3

    host = from_pettingzoo(lambda: simple_spread_v3.parallel_env(N=3, max_cycles=25), seed=0)
    spec = host.spec
    assert spec.n_agents == 3 and spec.num_actions == (5, 5, 5) and spec.obs_sizes == (18, 18, 18)
    assert spec.max_episode_steps == 25 and spec.global_state_size == 54
    policy = jax.jit(random_legal_actions)  # a jitted marlkit policy; the env steps on the host
    obs, info = host.reset()
    assert obs.shape == (3, 18) and info["action_mask"].all() and info["global_state"].shape == (54,)
    key, total, steps = jax.random.key(0), np.zeros(3), 0
    done = False
    while not done:
        key, sub = jax.random.split(key)
        obs, reward, done, info = host.step(np.asarray(policy(sub, jnp.asarray(info["action_mask"]))))
        total, steps = total + reward, steps + 1
        assert obs.shape == (3, 18) and reward.shape == (3,) and np.all(np.isfinite(reward))
    assert steps == 25 and info["truncated"] and not info["terminated"]
    assert np.all(total < 0)  # simple spread rewards are negative distances (and collision penalties)
    assert info["final_obs"].shape == (3, 18) and not np.array_equal(info["final_obs"], obs)  # auto-reset
    with pytest.raises(InvalidGameError, match="out of range"):
        host.step(np.array([5, 0, 0]))


def test_host_loop_reproduces_the_functional_env_through_both_bridges() -> None:
    env = masked_game_env()
    host = from_pettingzoo(lambda: to_pettingzoo(env, action_mask_in_obs=True), seed=11)
    assert host.spec.num_actions == env.spec.num_actions
    obs, info = host.reset()
    np.testing.assert_array_equal(info["action_mask"], [[True, True, True], [True, True, False]])  # from the obs dict
    # the functional env stepped with the bridge's key chain (see to_pettingzoo: split, use the second key)
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    key, sub = jax.random.split(jax.random.key(11))
    f_obs, state = reset(sub)
    np.testing.assert_array_equal(obs, f_obs)
    rng = np.random.default_rng(0)
    for _ in range(7):
        actions = np.array([rng.integers(3), rng.integers(2)])
        obs, reward, done, info = host.step(actions)
        key, sub = jax.random.split(key)
        f_obs, state, f_reward, f_done, f_info = step(sub, state, jnp.asarray(actions))
        np.testing.assert_array_equal(reward, f_reward)
        assert done == bool(f_done)
        np.testing.assert_array_equal(info["final_obs"], f_info["final_obs"])
        if done:  # the host env resets its PettingZoo env, which continues the same key chain
            key, sub = jax.random.split(key)
            f_obs, state = reset(sub)
        np.testing.assert_array_equal(obs, f_obs)
    with pytest.raises(InvalidGameError, match="illegal"):
        host.step(np.array([0, 2]))


def test_host_loop_rejects_unsupported_action_spaces_and_non_parallel_envs() -> None:
    from gymnasium.spaces import MultiDiscrete
    from mpe2 import simple_spread_v3

    def multi_discrete():  # Box actions are supported since issue 17 (tests/envs/test_pettingzoo_box.py)
        penv = simple_spread_v3.parallel_env()
        penv.action_space = lambda agent: MultiDiscrete([2, 2])  # type: ignore[method-assign]
        return penv

    with pytest.raises(NotApplicableError, match="Discrete"):
        from_pettingzoo(multi_discrete)
    with pytest.raises(NotApplicableError, match="ParallelEnv"):
        from_pettingzoo(lambda: simple_spread_v3.env())
    assert isinstance(from_pettingzoo(lambda: simple_spread_v3.parallel_env()), HostEnv)
