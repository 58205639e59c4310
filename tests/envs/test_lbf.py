"""Level-based foraging: hand-made scenarios with outcomes worked out from the lbforaging rules (module docstring of
``marlkit.envs.lbf``), spawn invariants, jit + vmap, determinism, validation, and (when the ``lbforaging`` package
is importable) step-by-step agreement with the reference implementation."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs.base import TimeState
from marlkit.envs.lbf import EAST, LOAD, NONE, NORTH, SOUTH, WEST, LBFState, LevelBasedForaging, min_grid_size
from marlkit.errors import InvalidGameError

BLANK = [-1.0, -1.0, 0.0]


def make_state(agent_pos, agent_level, food_pos, food_level, food_alive=None) -> LBFState:
    """A hand-made world; food must be listed in row-major order of its cells (LBFState's invariant)."""
    food_level = np.asarray(food_level, np.int32)
    alive = np.ones(len(food_level), bool) if food_alive is None else np.asarray(food_alive, bool)
    return LBFState(
        agent_pos=jnp.asarray(agent_pos, jnp.int32),
        agent_level=jnp.asarray(agent_level, jnp.int32),
        food_pos=jnp.asarray(food_pos, jnp.int32),
        food_level=jnp.asarray(food_level),
        food_alive=jnp.asarray(alive),
        food_spawned=jnp.float32(food_level[alive].sum()),
    )


# Few distinct configurations, each compiled once (compiling, not running, is what these tests pay for).
HAND2 = LevelBasedForaging(grid_size=7, n_agents=2, n_food=2)
HAND2_PLAIN = LevelBasedForaging(grid_size=7, n_agents=2, n_food=2, penalty=0.1, normalize_reward=False)
HAND4 = LevelBasedForaging(grid_size=7, n_agents=4, n_food=1, max_player_level=3)


@functools.partial(jax.jit, static_argnums=0)
def legal_step(env: LevelBasedForaging, state: LBFState, actions):
    """The illegal-action policy and one transition, without the auto-reset: ``(state, reward, terminated,
    illegal)``."""
    actions, illegal = env.legalise(TimeState(state, jnp.int32(0)), actions)
    _, next_state, reward, terminated, _ = env.step_env(jax.random.key(0), state, actions)
    return next_state, reward, terminated, illegal


full_step = jax.jit(LevelBasedForaging.step, static_argnums=0)
observe = jax.jit(LevelBasedForaging.observe, static_argnums=0)
action_mask = jax.jit(LevelBasedForaging.action_mask, static_argnums=0)


def act(env, state, actions):
    return legal_step(env, state, jnp.asarray(actions, jnp.int32))


# -- loading and rewards ----------------------------------------------------------------------------------------


def test_two_level1_agents_collect_level2_food_and_split_the_reward():
    # food (2,2) level 2 between the agents; a second food (5,5) level 1 keeps the episode going.
    state = make_state([[2, 1], [2, 3]], [1, 1], [[2, 2], [5, 5]], [2, 1])
    next_state, reward, terminated, illegal = act(HAND2, state, [LOAD, LOAD])
    # r_i = level_i * level_f / (group level * spawned food) = 1 * 2 / (2 * 3) each (lbforaging step()).
    np.testing.assert_allclose(np.asarray(reward), [1 / 3, 1 / 3], rtol=1e-6)
    assert next_state.food_alive.tolist() == [False, True]
    assert not bool(terminated) and not np.any(illegal)


def test_one_level1_agent_alone_cannot_lift_level2_food():
    state = make_state([[2, 1], [2, 3]], [1, 1], [[2, 2], [5, 5]], [2, 1])
    for env, expected in ((HAND2, 0.0), (HAND2_PLAIN, -0.1)):  # penalty 0 and 0.1
        next_state, reward, _, _ = act(env, state, [LOAD, NONE])
        np.testing.assert_allclose(np.asarray(reward), [expected, 0.0], rtol=1e-6)
        assert next_state.food_alive.tolist() == [True, True]


def test_rewards_are_proportional_to_level_and_include_surplus_loaders():
    # Three loaders of levels 1, 2, 1 around a level-2 food (surplus 2); agent 3 stands elsewhere.
    state = make_state([[2, 3], [3, 2], [4, 3], [6, 6]], [1, 2, 1, 3], [[3, 3]], [2])
    _, reward, terminated, _ = act(HAND4, state, [LOAD, LOAD, LOAD, NONE])
    group, spawned = 4.0, 2.0
    np.testing.assert_allclose(np.asarray(reward), [1 * 2 / (group * spawned), 2 * 2 / (group * spawned), 0.25, 0.0])
    assert bool(terminated)


def test_unnormalised_reward_is_level_times_food_level():
    state = make_state([[2, 1], [2, 3]], [1, 3], [[2, 2], [5, 5]], [3, 1])
    _, reward, _, _ = act(HAND2_PLAIN, state, [LOAD, LOAD])
    np.testing.assert_allclose(np.asarray(reward), [3.0, 9.0])


def test_food_that_needs_every_loader():
    # Levels 1 + 2 + 1 = 4 = the food's level (what force_coop spawns for three agents): two loaders fail.
    state = make_state([[2, 3], [3, 2], [4, 3], [6, 6]], [1, 2, 1, 3], [[3, 3]], [4])
    _, _, done_two, _ = act(HAND4, state, [LOAD, LOAD, NONE, NONE])
    _, reward, done_all, _ = act(HAND4, state, [LOAD, LOAD, LOAD, NONE])
    assert not bool(done_two) and bool(done_all)
    np.testing.assert_allclose(float(jnp.sum(reward)), 1.0, rtol=1e-6)


# -- movement ---------------------------------------------------------------------------------------------------

MOVEMENT_CASES = {
    # name: (agent positions, actions, positions after the step)
    "two agents into one cell: neither moves": ([[2, 1], [2, 3]], [EAST, WEST], [[2, 1], [2, 3]]),
    "into a standing agent: stays": ([[2, 1], [2, 2]], [EAST, NONE], [[2, 1], [2, 2]]),
    "swap: both move (lbforaging)": ([[2, 1], [2, 2]], [EAST, WEST], [[2, 2], [2, 1]]),
    "follow the leader: both move": ([[2, 1], [2, 2]], [EAST, EAST], [[2, 2], [2, 3]]),
    "free moves": ([[1, 1], [4, 4]], [SOUTH, NORTH], [[2, 1], [3, 4]]),
}


@pytest.mark.parametrize("case", sorted(MOVEMENT_CASES))
def test_movement_conflicts(case):
    positions, actions, expected = MOVEMENT_CASES[case]
    state = make_state(positions, [1, 1], [[5, 0], [6, 6]], [1, 1])
    next_state, _, _, illegal = act(HAND2, state, actions)
    assert next_state.agent_pos.tolist() == expected
    assert not np.any(illegal)


def test_blocked_agent_keeps_its_cell_while_a_third_enters_it_as_in_lbforaging():
    # Agents 0 and 1 both claim (2,2), so agent 0 stays at (2,1); agent 2 alone claims (2,1) and enters it.
    state = make_state([[2, 1], [2, 3], [3, 1], [6, 6]], [1, 1, 1, 1], [[5, 3]], [1])
    next_state, _, _, _ = act(HAND4, state, [EAST, WEST, NORTH, NONE])
    assert next_state.agent_pos.tolist() == [[2, 1], [2, 3], [2, 1], [6, 6]]


# -- action masks and the illegal-action policy ------------------------------------------------------------------


def test_action_mask_walls_food_and_load():
    # agent 0 in the corner; agent 1 west of the food; agent 2 north of agent 1 (agents are not walls); agent 3
    # in the opposite corner.
    state = make_state([[0, 0], [3, 2], [2, 2], [6, 6]], [1, 1, 1, 1], [[3, 3]], [1])
    mask = np.asarray(action_mask(HAND4, state))
    #                     NONE  NORTH  SOUTH  WEST   EAST   LOAD
    assert mask[0].tolist() == [True, False, True, False, True, False]
    assert mask[1].tolist() == [True, True, True, True, False, True]
    assert mask[2].tolist() == [True, True, True, True, True, False]
    assert mask[3].tolist() == [True, True, False, True, False, False]
    collected = state._replace(food_alive=jnp.array([False]))
    assert np.asarray(action_mask(HAND4, collected))[1].tolist() == [True, True, True, True, True, False]


def test_illegal_actions_become_none_and_are_flagged():
    state = make_state([[0, 0], [3, 2]], [1, 1], [[3, 3], [5, 5]], [1, 1])
    next_state, _, _, illegal = act(HAND2, state, [WEST, EAST])  # into the wall; onto the food
    assert next_state.agent_pos.tolist() == [[0, 0], [3, 2]]
    assert illegal.tolist() == [True, True]
    next_state, reward, _, illegal = act(HAND2, state, [LOAD, 7])  # no food next to agent 0; out of range
    assert illegal.tolist() == [True, True] and next_state.agent_pos.tolist() == [[0, 0], [3, 2]]
    np.testing.assert_array_equal(np.asarray(reward), [0.0, 0.0])


# -- episodes ---------------------------------------------------------------------------------------------------


def test_terminates_when_all_food_is_collected_and_auto_resets():
    state = make_state([[2, 1], [4, 4]], [1, 2], [[2, 2], [5, 5]], [1, 1], food_alive=[True, False])
    obs, next_state, reward, done, info = full_step(
        HAND2, jax.random.key(3), TimeState(state, jnp.int32(7)), jnp.array([LOAD, NONE])
    )
    assert bool(done) and bool(info["terminated"]) and not bool(info["truncated"])
    np.testing.assert_allclose(np.asarray(reward), [1.0, 0.0])
    np.testing.assert_array_equal(np.asarray(info["final_obs"])[:, :6], [BLANK * 2, BLANK * 2])  # food gone
    assert int(next_state.time) == 0 and bool(jnp.all(next_state.inner.food_alive))
    np.testing.assert_array_equal(np.asarray(obs), np.asarray(observe(HAND2, next_state.inner)))
    assert info["action_mask"].shape == (2, 6) and info["global_state"].shape == (3 * 7 * 7,)


def test_truncates_at_max_episode_steps():
    state = TimeState(make_state([[2, 1], [4, 4]], [1, 2], [[2, 3], [5, 5]], [1, 1]), jnp.int32(47))
    ends = []
    for t in range(3):  # steps 48, 49, 50 of a 50-step episode
        _, state, _, done, info = full_step(HAND2, jax.random.key(t), state, jnp.array([NONE, NONE]))
        ends.append((bool(done), bool(info["terminated"]), bool(info["truncated"])))
    assert ends == [(False, False, False), (False, False, False), (True, False, True)]
    assert int(state.time) == 0


# -- observations and global state ------------------------------------------------------------------------------


def test_partial_observation_matches_hand_computed_vectors():
    env = LevelBasedForaging(grid_size=6, n_agents=4, n_food=2, sight=1)
    state = make_state([[0, 2], [1, 3], [2, 1], [3, 3]], [1, 2, 1, 1], [[1, 1], [4, 4]], [2, 1])
    obs = np.asarray(observe(env, state))
    expected = {
        # agent 0 at (0,2): window origin (0,1). Food (1,1) -> (1,0). Agent 2 at (2,1) is two rows away but its
        # window coordinates (2,0) lie in [0, 2 * sight], which lbforaging counts as seen.
        0: [[1, 0, 2], BLANK, [0, 1, 1], [1, 2, 2], [2, 0, 1], BLANK],
        # agent 1 at (1,3): origin (0,2). Food (1,1) is two columns away: unseen. Agent 0 -> (0,0).
        1: [BLANK, BLANK, [1, 1, 2], [0, 0, 1], BLANK, BLANK],
        # agent 3 at (3,3): origin (2,2). Food (4,4) -> (2,2). No one else within its window.
        3: [[2, 2, 1], BLANK, [1, 1, 1], BLANK, BLANK, BLANK],
    }
    for agent, triples in expected.items():
        np.testing.assert_array_equal(obs[agent], np.ravel(triples), err_msg=f"agent {agent}")


def test_full_observation_uses_absolute_coordinates_and_row_major_food():
    state = make_state([[6, 0], [0, 6]], [2, 1], [[1, 4], [5, 5]], [3, 2], food_alive=[False, True])
    obs = np.asarray(observe(HAND2, state))
    food = [[5, 5, 2], BLANK]  # the collected food leaves no gap
    np.testing.assert_array_equal(obs[0], np.ravel([*food, [6, 0, 2], [0, 6, 1]]))
    np.testing.assert_array_equal(obs[1], np.ravel([*food, [0, 6, 1], [6, 0, 2]]))
    assert obs.shape == (2, *HAND2.spec.obs_shape) and obs.dtype == np.float32


def test_global_state_layers():
    state = make_state([[0, 0], [2, 3]], [1, 2], [[1, 1], [4, 4]], [2, 1], food_alive=[True, False])
    layers = np.asarray(jax.jit(HAND2.global_state)(state)).reshape(3, 7, 7)
    expected = np.zeros((3, 7, 7), np.float32)
    expected[0, 0, 0], expected[0, 2, 3] = 1, 2
    expected[1, 1, 1] = 2
    expected[2] = 1
    expected[2, 0, 0] = expected[2, 2, 3] = expected[2, 1, 1] = 0
    np.testing.assert_array_equal(layers, expected)
    assert layers.size == HAND2.spec.global_state_size


# -- spawning, jit + vmap, determinism ---------------------------------------------------------------------------


def spawn_invariant_violations(env: LevelBasedForaging, state: LBFState) -> list[str]:
    """Check one spawned world against lbforaging's spawning rules (NumPy, independent of the env's code)."""
    g = env.grid_size
    agents = np.asarray(state.agent_pos)
    food = np.asarray(state.food_pos)
    levels = np.asarray(state.agent_level)
    food_levels = np.asarray(state.food_level)
    problems = []
    if len({tuple(p) for p in agents.tolist()}) != env.n_agents or agents.min() < 0 or agents.max() >= g:
        problems.append("agents not on distinct cells of the grid")
    if food.min() < 1 or food.max() > g - 2:
        problems.append("food on the border")
    if {tuple(p) for p in food.tolist()} & {tuple(p) for p in agents.tolist()}:
        problems.append("food on an agent")
    manhattan = np.abs(food[:, None] - food[None]).sum(-1) + 3 * np.eye(len(food), dtype=int)
    if manhattan.min() < 3:
        problems.append("food closer than Manhattan distance 3")
    if list(map(tuple, food.tolist())) != sorted(map(tuple, food.tolist())):
        problems.append("food not in row-major order")
    if levels.min() < env.min_player_level or levels.max() > env.max_player_level:
        problems.append("agent level out of range")
    top = np.sort(levels)[:3].sum() if env.max_food_level is None else env.max_food_level
    low = top if env.force_coop else env.min_food_level
    if food_levels.min() < low or food_levels.max() > top:
        problems.append("food level out of range")
    if not np.all(np.asarray(state.food_alive)) or float(state.food_spawned) != food_levels.sum():
        problems.append("not every food spawned")
    return problems


def rollout(env: LevelBasedForaging, key, steps: int, n_envs: int):
    """Random actions for ``steps`` steps in ``n_envs`` vmapped envs through ``Env.step`` (auto-reset). Returns
    the first worlds and, per step, ``obs, reward, done, action_mask, illegal`` and the share of the spawned food
    collected in that step, read from the state change (NaN where truncation hides it)."""
    step = jax.vmap(env.step)

    def body(state, key):
        key_act, key_step = jax.random.split(key)
        actions = jax.random.randint(key_act, (n_envs, env.n_agents), 0, 6)
        obs, next_state, reward, done, info = step(jax.random.split(key_step, n_envs), state, actions)
        before, after = state.inner, next_state.inner
        # Not done: what disappeared; terminated: everything left; truncated only: unknown (the state was reset).
        collected = jnp.where(info["terminated"][:, None], before.food_alive, before.food_alive & ~after.food_alive)
        share = jnp.sum(jnp.where(collected, before.food_level, 0), axis=1) / before.food_spawned
        share = jnp.where(done & ~info["terminated"], jnp.nan, share)
        return next_state, (obs, reward, done, info["action_mask"], info["illegal_action"], share)

    key_reset, key_run = jax.random.split(key)
    _, first = jax.vmap(env.reset)(jax.random.split(key_reset, n_envs))
    return first.inner, jax.lax.scan(body, first, jax.random.split(key_run, steps))[1]


# 6x6 with 3 agents and 2 food is one cell from the spawn guarantee's limit; sight 2 takes the windowed path.
ROLLOUT_ENV = LevelBasedForaging(grid_size=6, n_agents=3, n_food=2, sight=2, max_episode_steps=20)
jit_rollout = jax.jit(rollout, static_argnums=(0, 2, 3))


@functools.cache
def rollout_256():
    return jit_rollout(ROLLOUT_ENV, jax.random.key(0), 60, 256)


def test_jit_vmap_rollout_over_256_envs():
    env = ROLLOUT_ENV
    _, (obs, reward, done, mask, illegal, _) = rollout_256()
    assert obs.shape == (60, 256, 3, 15) and reward.shape == (60, 256, 3) and done.shape == (60, 256)
    assert mask.shape == (60, 256, 3, 6) and mask.dtype == bool and bool(jnp.all(mask[..., NONE]))
    assert np.isfinite(np.asarray(obs)).all() and float(obs.min()) >= env.spec.obs_low
    assert float(obs.max()) <= env.spec.obs_high
    # 60 steps with a 20-step limit: every env ends at least 3 episodes (some by collecting all food).
    assert int(jnp.min(jnp.sum(done, axis=0))) >= 3
    assert int(jnp.sum(reward > 0)) > 0 and bool(jnp.any(illegal))


def test_rewards_equal_the_collected_share_of_food():
    """Per step, the summed reward is the collected food level over the spawned total (lbforaging's
    normalisation), read from the state change rather than from the env's reward code."""
    _, (_, reward, _, _, _, share) = rollout_256()
    known = ~np.isnan(np.asarray(share))
    np.testing.assert_allclose(np.asarray(reward.sum(-1))[known], np.asarray(share)[known], atol=1e-6)
    assert known.mean() > 0.9 and float(jnp.nansum(share)) > 10  # the check compared many collections


@pytest.mark.parametrize(
    "env",
    [ROLLOUT_ENV, LevelBasedForaging(grid_size=10, n_agents=5, n_food=4, max_player_level=3, force_coop=True)],
    ids=["6x6-3p-2f-2s", "10x10-5p-4f-coop"],
)
def test_spawn_respects_lbforaging_rules_over_256_envs(env):
    if env is ROLLOUT_ENV:
        worlds = rollout_256()[0]  # already compiled
    else:
        worlds = jax.jit(jax.vmap(env.reset_env))(jax.random.split(jax.random.key(0), 256))[1]
    worlds = jax.tree_util.tree_map(np.asarray, worlds)
    for i in range(256):
        problems = spawn_invariant_violations(env, jax.tree_util.tree_map(lambda x, i=i: x[i], worlds))
        assert not problems, f"env {i}: {problems}"


def test_same_key_same_episode_and_different_keys_differ():
    first = jit_rollout(ROLLOUT_ENV, jax.random.key(11), 60, 256)  # the shapes above: no new compile
    again = jit_rollout(ROLLOUT_ENV, jax.random.key(11), 60, 256)
    for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(again), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = jit_rollout(ROLLOUT_ENV, jax.random.key(12), 60, 256)
    assert not np.array_equal(np.asarray(first[1][0]), np.asarray(other[1][0]))


def test_full_view_shortcut_equals_the_windowed_observation():
    """``sight >= grid_size - 1`` takes a shortcut (no per-observer compaction); it must equal the general path."""
    env = LevelBasedForaging(grid_size=6, n_agents=3, n_food=2, sight=5)  # ROLLOUT_ENV's worlds, seen whole
    assert env.sees_everything
    worlds = rollout_256()[0]
    worlds = worlds._replace(food_alive=worlds.food_alive.at[::2, 0].set(False))
    shortcut = jax.jit(jax.vmap(env._observe_all))(worlds)
    general = jax.jit(jax.vmap(env._observe_windows))(worlds)
    np.testing.assert_array_equal(np.asarray(shortcut), np.asarray(general))
    assert float(jnp.min(shortcut)) == -1.0  # collected food left blank slots


def test_env_is_hashable_and_usable_as_a_static_argument():
    a, b = LevelBasedForaging(grid_size=6, n_agents=3), LevelBasedForaging(grid_size=6, n_agents=3)
    assert a == b and hash(a) == hash(b) and a != LevelBasedForaging(grid_size=7, n_agents=3)
    assert a.spec.n_agents == 3 and a.spec.num_actions == (6, 6, 6) and a.spec.obs_sizes == (15, 15, 15)


# -- validation -------------------------------------------------------------------------------------------------

BAD_CONFIGS = {
    "zero agents": ({"n_agents": 0}, "n_agents must be >= 1"),
    "negative grid": ({"grid_size": -4}, "grid_size must be >= 3"),
    "zero food": ({"n_food": 0}, "n_food must be >= 1"),
    "float agents": ({"n_agents": 2.5}, "n_agents must be an integer"),
    "too much food": ({"grid_size": 8, "n_food": 4}, f"grid_size >= {min_grid_size(2, 4)}"),
    "too many agents": ({"grid_size": 5, "n_agents": 9, "n_food": 1}, "do not always fit"),
    "player levels": ({"min_player_level": 3, "max_player_level": 2}, "max_player_level must be >= 3"),
    "food levels": ({"min_food_level": 3, "max_food_level": 2}, "max_food_level must be >= 3"),
    "unreachable food level": ({"min_food_level": 3}, "lower min_food_level or set max_food_level"),
    "negative penalty": ({"penalty": -0.1}, "penalty must be a finite number >= 0"),
    "negative sight": ({"sight": -1}, "sight must be >= 0"),
    "zero steps": ({"max_episode_steps": 0}, "max_episode_steps must be >= 1"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_configs_raise_clear_errors(case):
    params, message = BAD_CONFIGS[case]
    with pytest.raises(InvalidGameError, match=message.replace("(", r"\(").replace("^", r"\^")):
        LevelBasedForaging(**params)


def test_min_grid_size_is_the_smallest_that_fits():
    for n_agents, n_food in [(2, 1), (2, 2), (3, 5), (30, 15), (300, 150)]:
        g = min_grid_size(n_agents, n_food)
        LevelBasedForaging(grid_size=g, n_agents=n_agents, n_food=n_food)
        with pytest.raises(InvalidGameError):
            LevelBasedForaging(grid_size=g - 1, n_agents=n_agents, n_food=n_food)


# -- agreement with the reference implementation (optional: needs the `lbforaging` package) -----------------------


def reference_env(env: LevelBasedForaging, penalty: float = 0.0):
    lbf = pytest.importorskip(
        "lbforaging.foraging.environment", reason="lbforaging, the reference implementation, is optional"
    )
    return lbf.ForagingEnv(
        players=env.n_agents,
        min_player_level=env.min_player_level,
        max_player_level=env.max_player_level,
        min_food_level=env.min_food_level,
        max_food_level=env.max_food_level,
        field_size=(env.grid_size, env.grid_size),
        max_num_food=env.n_food,
        sight=env.view_radius,
        max_episode_steps=env.max_episode_steps,
        force_coop=env.force_coop,
        normalize_reward=env.normalize_reward,
        penalty=penalty,
    )


def state_of(ref, n_food: int) -> LBFState:
    """Read lbforaging's world into an LBFState (food in row-major order; unspawned food slots collected)."""
    rows, cols = np.nonzero(ref.field)
    k = len(rows)
    food_pos = np.zeros((n_food, 2), np.int32)
    food_pos[:k] = np.stack([rows, cols], axis=1)
    food_level = np.ones(n_food, np.int32)
    food_level[:k] = ref.field[rows, cols]
    state = make_state(
        [p.position for p in ref.players], [p.level for p in ref.players], food_pos, food_level, np.arange(n_food) < k
    )
    return state._replace(food_spawned=jnp.float32(ref._food_spawned))


REFERENCE_CONFIGS = {
    "8x8-2p-2f-coop": LevelBasedForaging(force_coop=True),
    "10x10-3p-3f-2s": LevelBasedForaging(grid_size=10, n_agents=3, n_food=3, sight=2),
    "7x7-4p-2f-1s-pen-unnormalised": LevelBasedForaging(
        grid_size=7, n_agents=4, n_food=2, sight=1, penalty=0.1, normalize_reward=False
    ),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_CONFIGS))
def test_steps_agree_with_lbforaging(name):
    """From lbforaging's own spawned worlds, both envs take the same random (partly illegal) actions; masks,
    observations, rewards, positions and episode ends must agree step by step."""
    env = REFERENCE_CONFIGS[name]
    ref = reference_env(env, env.penalty)
    step = jax.jit(env.step)
    inspect = jax.jit(lambda world: (env.observe(world), env.action_mask(world)))
    rng = np.random.default_rng(np.random.SeedSequence(7))
    compared = 0
    for episode in range(10):
        ref_obs, _ = ref.reset(seed=episode)
        state = TimeState(state_of(ref, env.n_food), jnp.int32(0))
        obs, mask = inspect(state.inner)
        np.testing.assert_array_equal(np.asarray(obs), np.stack(ref_obs))
        while True:
            valid = [sorted(a.value for a in ref._valid_actions[p]) for p in ref.players]
            assert [np.flatnonzero(row).tolist() for row in np.asarray(mask)] == valid
            actions = rng.integers(0, 6, env.n_agents)
            ref_obs, ref_reward, ref_done, _, _ = ref.step(actions.tolist())
            _, state, reward, done, info = step(jax.random.key(0), state, jnp.asarray(actions, jnp.int32))
            np.testing.assert_allclose(np.asarray(reward), ref_reward, rtol=1e-6, atol=1e-7)
            np.testing.assert_array_equal(np.asarray(info["final_obs"]), np.stack(ref_obs))
            assert bool(done) == ref_done
            compared += 1
            if ref_done:
                break
            assert np.asarray(state.inner.agent_pos).tolist() == [list(p.position) for p in ref.players]
            mask = info["action_mask"]
    assert compared > 100


def test_spawn_distribution_agrees_with_lbforaging():
    """Food-cell frequencies, food-to-food distances and food levels over many resets: a two-sample chi-square
    homogeneity test must not reject at p = 1e-3 (fixed seeds, so the outcome is deterministic)."""
    env = LevelBasedForaging(grid_size=6, n_agents=2, n_food=2)
    ref = reference_env(env)
    from scipy.stats import chi2_contingency

    n = 2000
    ref_cells, ref_dist, ref_levels = [], [], []
    for seed in range(n):
        ref.reset(seed=seed)
        rows, cols = np.nonzero(ref.field)
        ref_cells += (rows * 6 + cols).tolist()
        ref_dist.append(abs(rows[0] - rows[1]) + abs(cols[0] - cols[1]))
        ref_levels += ref.field[rows, cols].tolist()
    _, state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), n))
    food = np.asarray(state.inner.food_pos)
    ours_cells = (food[..., 0] * 6 + food[..., 1]).ravel()
    ours_dist = np.abs(food[:, 0] - food[:, 1]).sum(-1)
    ours_levels = np.asarray(state.inner.food_level).ravel()
    for label, ours, theirs, size in (
        ("food cells", ours_cells, ref_cells, 36),
        ("food distance", ours_dist, ref_dist, 11),
        ("food level", ours_levels, ref_levels, 7),
    ):
        table = np.stack([np.bincount(ours, minlength=size), np.bincount(theirs, minlength=size)])
        table = table[:, table.sum(0) > 0]
        assert chi2_contingency(table).pvalue > 1e-3, label
