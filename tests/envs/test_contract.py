"""The functional env contract (marlkit.envs.base) and the task registry (marlkit.envs.registry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import registry
from marlkit.envs.base import Env, MultiAgentEnv, MultiAgentSpec, TimeState, check_actions
from marlkit.envs.games import GameEnv
from marlkit.errors import InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.registry import Entry


class Counter(NamedTuple):
    count: jax.Array  # [] int32


@dataclass(frozen=True)
class CountingEnv(Env):
    """A deterministic toy task: a counter that each step adds the sum of the actions; terminal at >= ``goal``.

    Agent 0 has 3 actions, agent 1 has 2; agent 0's action 2 is illegal while the counter is even, so the mask
    changes with the state. Observations have different true sizes (2 and 1) to exercise the padding.
    """

    goal: int = 5
    limit: int = 4
    spec: MultiAgentSpec = field(init=False)

    def __post_init__(self) -> None:
        spec = MultiAgentSpec(
            name="counting",
            n_agents=2,
            agent_names=("a_0", "b_0"),
            obs_shape=(2,),
            obs_sizes=(2, 1),
            num_actions=(3, 2),
            global_state_size=1,
            max_episode_steps=self.limit,
        )
        object.__setattr__(self, "spec", spec)

    def _obs(self, c: jax.Array) -> jax.Array:
        x = c.astype(jnp.float32)
        return jnp.array([[x, -x], [x, 0.0]])

    def reset_env(self, key: jax.Array) -> tuple[jax.Array, Counter]:
        return self._obs(jnp.int32(0)), Counter(jnp.int32(0))

    def step_env(self, key, state, actions):
        c = state.count + jnp.sum(actions)
        return self._obs(c), Counter(c), jnp.array([1.0, 2.0]) * c, c >= self.goal, {}

    def global_state(self, state: Counter) -> jax.Array:
        return state.count.astype(jnp.float32)[None]

    def action_mask(self, state: Counter) -> jax.Array:
        odd = state.count % 2 == 1
        return jnp.array([[True, True, odd], [True, True, False]])


def run(env: Env, actions_seq, key=0):
    obs, state = env.reset(jax.random.key(key))
    out = []
    for t, actions in enumerate(actions_seq):
        obs, state, reward, done, info = env.step(jax.random.key(100 + t), state, jnp.asarray(actions))
        out.append((obs, state, reward, done, info))
    return out


def test_step_runs_until_terminal_then_auto_resets() -> None:
    env = CountingEnv(goal=5, limit=100)
    steps = run(env, [[1, 1], [1, 0], [2, 1]])  # counter 2, 3, 6 -> terminal at the third step
    assert [bool(s[3]) for s in steps] == [False, False, True]
    obs, state, reward, _, info = steps[-1]
    assert bool(info["terminated"]) and not bool(info["truncated"])
    np.testing.assert_array_equal(info["final_obs"], [[6.0, -6.0], [6.0, 0.0]])
    np.testing.assert_array_equal(reward, [6.0, 12.0])
    # the returned obs/state already start the next episode
    np.testing.assert_array_equal(obs, np.zeros((2, 2)))
    assert int(state.inner.count) == 0 and int(state.time) == 0
    # masks: at the final state (6, even: action 2 illegal for agent 0) and at the reset state (0, even)
    np.testing.assert_array_equal(info["final_action_mask"], [[True, True, False], [True, True, False]])
    np.testing.assert_array_equal(info["action_mask"], [[True, True, False], [True, True, False]])
    # before the end, final_obs is the returned obs and the masks follow the state (3 is odd)
    _, _, _, _, info1 = steps[1]
    np.testing.assert_array_equal(info1["final_obs"], steps[1][0])
    np.testing.assert_array_equal(info1["action_mask"], [[True, True, True], [True, True, False]])


def test_time_limit_truncates_and_flags_it() -> None:
    env = CountingEnv(goal=10**6, limit=3)
    steps = run(env, [[0, 0]] * 4)
    assert [bool(s[3]) for s in steps] == [False, False, True, False]
    info = steps[2][4]
    assert bool(info["truncated"]) and not bool(info["terminated"])
    assert [int(s[1].time) for s in steps] == [1, 2, 0, 1]


def test_terminal_step_at_the_time_limit_counts_as_terminated_not_truncated() -> None:
    env = CountingEnv(goal=2, limit=1)
    (_, _, _, done, info), *_ = run(env, [[1, 1]])
    assert bool(done) and bool(info["terminated"]) and not bool(info["truncated"])


def test_illegal_and_out_of_range_actions_are_replaced_by_the_first_legal_one_and_flagged() -> None:
    env = CountingEnv(limit=100)
    _, state = env.reset(jax.random.key(0))
    # counter 0 is even: agent 0's action 2 is illegal; agent 1's 7 and -1 are out of range
    for bad, expected_sum in (([2, 1], 1), ([1, 7], 1), ([-1, -1], 0)):
        _, new_state, _, _, info = env.step(jax.random.key(1), state, jnp.asarray(bad))
        assert int(new_state.inner.count) == expected_sum
        np.testing.assert_array_equal(info["illegal_action"], [a not in (0, 1) for a in bad])


def test_state_info_matches_the_info_step_reports() -> None:
    env = CountingEnv(limit=100)
    _, state = env.reset(jax.random.key(0))
    first = env.state_info(state)
    np.testing.assert_array_equal(first["action_mask"], [[True, True, False], [True, True, False]])
    _, state, _, _, info = env.step(jax.random.key(1), state, jnp.asarray([1, 0]))
    for k, v in env.state_info(state).items():
        np.testing.assert_array_equal(v, info[k])


def test_step_jits_and_vmaps_over_environments() -> None:
    env = CountingEnv(limit=100)
    keys = jax.random.split(jax.random.key(0), 8)
    obs, state = jax.vmap(env.reset)(keys)
    actions = jnp.stack([jnp.arange(8) % 3, jnp.arange(8) % 2], axis=1)
    obs, state, reward, done, info = jax.jit(jax.vmap(env.step))(keys, state, actions)
    assert obs.shape == (8, 2, 2) and reward.shape == (8, 2) and done.shape == (8,)
    assert info["action_mask"].shape == (8, 2, 3) and info["global_state"].shape == (8, 1)
    legal = np.asarray(actions) * ~np.asarray(info["illegal_action"])  # replaced actions are 0 here
    np.testing.assert_array_equal(state.inner.count, legal.sum(axis=1))


def test_env_is_a_multi_agent_env_and_unwraps_to_itself() -> None:
    env = CountingEnv()
    assert isinstance(env, MultiAgentEnv) and env.unwrapped is env
    assert isinstance(env.reset(jax.random.key(0))[1], TimeState)
    with pytest.raises(TypeError):
        MultiAgentEnv()  # abstract


# ---------------------------------------------------------------------------------------------------- spec
def spec(**changes) -> MultiAgentSpec:
    fields = dict(
        name="t",
        n_agents=2,
        agent_names=("x_0", "x_1"),
        obs_shape=(3,),
        obs_sizes=(3, 2),
        num_actions=(2, 4),
        global_state_size=4,
        max_episode_steps=10,
    )
    return MultiAgentSpec(**(fields | changes))


def test_spec_spaces_and_derived_facts() -> None:
    s = spec()
    assert s.max_actions == 4 and not s.homogeneous
    assert s.observation_space(1).shape == (2,) and s.action_space(1).n == 4
    assert s.groups[0].agents == (0, 1)
    assert hash(s) == hash(spec())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_agents": 0, "agent_names": (), "obs_sizes": (), "num_actions": ()}, "n_agents must be >= 1"),
        ({"agent_names": ("x",)}, "agent_names has 1 entries"),
        ({"agent_names": ("x", "x")}, "distinct"),
        ({"num_actions": (2, 0)}, "at least one action"),
        ({"obs_sizes": (3, 4)}, "obs_sizes"),
        ({"obs_sizes": (0, 2)}, "obs_sizes"),
        ({"max_episode_steps": 0}, "max_episode_steps"),
        ({"global_state_size": -1}, "global_state_size"),
    ],
)
def test_spec_rejects_bad_configs(changes: dict, message: str) -> None:
    with pytest.raises(InvalidGameError, match=message):
        spec(**changes)


def test_check_actions_validates_shape_type_range_and_mask() -> None:
    s = spec()
    np.testing.assert_array_equal(check_actions(s, [1, 3]), [1, 3])
    with pytest.raises(InvalidGameError, match=r"shape \(2,\)"):
        check_actions(s, [1, 2, 3])
    with pytest.raises(InvalidGameError, match="integers"):
        check_actions(s, [1.0, 2.0])
    with pytest.raises(InvalidGameError, match=r"agent 0 \(x_0\) action 2 is out of range 0..1"):
        check_actions(s, [2, 0])
    mask = np.array([[True, True, False, False], [False, True, True, False]])
    with pytest.raises(InvalidGameError, match=r"action 0 is illegal here; legal actions: \[1, 2\]"):
        check_actions(s, [0, 0], mask)


# ------------------------------------------------------------------------------------------------ registry
def test_registry_lists_the_tasks_and_every_catalog_game() -> None:
    from marlkit.games.catalog import names as catalog_names

    names = registry.names()
    assert {"simple_spread", "simple_tag", "speaker_listener", "lbf", "constrained_spread"} <= set(names)
    assert {f"game:{g}" for g in catalog_names()} <= set(names)
    assert registry.names(include_games=False) == tuple(registry.TASKS)


def test_registry_makes_games_with_their_parameters() -> None:
    env = registry.make("game:penalty", k=-50, max_episode_steps=7)
    assert isinstance(env, GameEnv) and env.spec.max_episode_steps == 7
    assert float(env.game.payoffs[0, 0, 2]) == -50.0
    assert registry.make("game:pd").spec.name == "prisoners-dilemma"  # catalog aliases work


def test_registry_suggests_close_names_and_lists_parameters() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'simple_spread'"):
        registry.make("simple_spred")
    with pytest.raises(UnknownNameError, match="did you mean 'penalty'"):
        registry.make("game:penalti")
    with pytest.raises(InvalidGameError, match="unknown parameter 'kk'"):
        registry.make("game:penalty", kk=1)


def test_registry_forgives_case_and_dashes() -> None:
    assert registry.lookup("Simple-Spread") is registry.TASKS["simple_spread"]


def test_registry_reports_a_missing_module_clearly() -> None:
    entry = Entry("missing", "marlkit.envs.no_such_module:Nothing", description="missing")
    with pytest.raises(NotApplicableError, match="no_such_module") as err:
        entry.load("task")
    assert isinstance(err.value.__cause__, ImportError)


def test_registry_rejects_unknown_and_fixed_task_parameters() -> None:
    with pytest.raises(InvalidGameError, match="fixed by this task"):
        registry.make("constrained_spread", constrained=False)
    with pytest.raises(InvalidGameError, match=r"unknown parameter 'n_agent'.*did you mean 'n_agents'"):
        registry.make("simple_spread", n_agent=4)
