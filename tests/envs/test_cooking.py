"""The cooking task (marlkit.envs.cooking): hand-made kitchens with outcomes worked out from overcooked-ai's 2019 rules
(``OvercookedGridworld.resolve_interacts`` / ``resolve_movement`` / ``step_environment_effects``; the module
docstring of ``marlkit.envs.cooking.env``), an independent plain-Python formulation of the same rules and of the
lossless encoding checked step by step on random play, jit/vmap/determinism, the contract, the greedy human partner
and the picture. The PettingZoo API tests run on the registered task in tests/envs/test_pettingzoo.py."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.envs import registry
from marlkit.envs.base import TimeState
from marlkit.envs.cooking import Cooking, CookingState, GreedyHuman, greedy_action, greedy_probabilities
from marlkit.envs.cooking.env import DISH, NOTHING, ONION, SOUP
from marlkit.envs.cooking.layouts import COUNTER, DISH_PILE, FLOOR, ONION_PILE, POT, SERVE
from marlkit.errors import InvalidGameError

UP, DOWN, RIGHT, LEFT, STAY, INTERACT = range(6)
# One env for every hand-made case (one compile): cramped room "XXPXX / O  2O / X1  X / XDXSX", 6-step episodes,
# shaping halved and annealed over 1000 lifetime steps (a hand-made state has lifetime 0: weight 0.5).
ENV = Cooking(layout="cramped_room", max_episode_steps=6, shaping=0.5, shaping_horizon=1000)
W = 0.5


def kitchen(pos, facing, held=(0, 0), pot=(0, 0), items=(), lifetime=0) -> CookingState:
    """A hand-made cramped-room state: ``pot = (onions, timer)``, ``items = [(row, col, item), ...]``."""
    grid = np.zeros((4, 5), np.int32)
    for r, c, item in items:
        grid[r, c] = item
    return CookingState(
        pos=jnp.asarray(pos, jnp.int32),
        facing=jnp.asarray(facing, jnp.int32),
        held=jnp.asarray(held, jnp.int32),
        items=jnp.asarray(grid),
        pot_onions=jnp.asarray([pot[0]], jnp.int32),
        pot_time=jnp.asarray([pot[1]], jnp.int32),
        prev_pos=jnp.full((2, 2), -1, jnp.int32),
        prev_facing=jnp.full(2, -1, jnp.int32),
        lifetime=jnp.int32(lifetime),
    )


@functools.partial(jax.jit, static_argnums=0)
def transition(env: Cooking, state: CookingState, actions):
    _, next_state, reward, terminated, info = env.step_env(jax.random.key(0), state, actions)
    return next_state, reward, terminated, info


probabilities = jax.jit(greedy_probabilities, static_argnums=0)


def act(state, actions):
    return transition(ENV, state, jnp.asarray(actions, jnp.int32))


# -- interactions -----------------------------------------------------------------------------------------------


def test_an_empty_handed_chef_takes_an_onion_from_the_dispenser():
    state = kitchen(pos=[[1, 1], [2, 3]], facing=[LEFT, UP])  # (1, 0) is an onion dispenser
    nxt, reward, terminated, _info = act(state, [INTERACT, STAY])
    assert nxt.held.tolist() == [ONION, NOTHING]
    assert reward.tolist() == [0.0, 0.0] and not bool(terminated)
    # holding something, the dispenser gives nothing
    nxt, _, _, _ = act(kitchen(pos=[[1, 1], [2, 3]], facing=[LEFT, UP], held=[DISH, 0]), [INTERACT, STAY])
    assert nxt.held.tolist() == [DISH, NOTHING]


def test_the_third_onion_starts_cooking_and_placing_earns_the_shaping_reward():
    state = kitchen(pos=[[1, 2], [2, 3]], facing=[UP, UP], held=[ONION, 0], pot=(2, 0))  # pot at (0, 2)
    nxt, reward, _, info = act(state, [INTERACT, STAY])
    # resolve_interacts adds the onion (timer 0), then step_environment_effects cooks one step in the same step.
    assert nxt.pot_onions.tolist() == [3] and nxt.pot_time.tolist() == [1]
    assert nxt.held.tolist() == [NOTHING, NOTHING]
    assert info["shaped_reward"].tolist() == [3.0, 0.0] and info["sparse_reward"].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(reward, [W * 3.0, W * 3.0])  # the shaping is the team's
    # a partial pot does not cook; a full pot takes no fourth onion
    partial, _, _, _ = act(kitchen(pos=[[1, 2], [2, 3]], facing=[UP, UP], held=[ONION, 0]), [INTERACT, STAY])
    assert partial.pot_onions.tolist() == [1] and partial.pot_time.tolist() == [0]
    full, reward, _, _ = act(kitchen(pos=[[1, 2], [2, 3]], facing=[UP, UP], held=[ONION, 0], pot=(3, 5)), [INTERACT, 4])
    assert full.pot_onions.tolist() == [3] and full.held.tolist() == [ONION, NOTHING] and reward.tolist() == [0, 0]


def test_a_soup_is_ready_after_the_cook_time_and_a_dish_takes_it():
    state = kitchen(pos=[[1, 2], [2, 3]], facing=[UP, UP], held=[DISH, 0], pot=(3, 1))
    for _ in range(ENV.cook_time - 1):  # timer 1 -> 20; every interact before that leaves the dish in hand
        assert state.held.tolist()[0] == DISH
        state, reward, _, _ = act(state, [INTERACT, STAY])
        assert reward.tolist() == [0.0, 0.0]
    assert state.pot_time.tolist() == [ENV.cook_time] and state.held.tolist()[0] == DISH
    state, reward, _, info = act(state, [INTERACT, STAY])
    assert state.held.tolist() == [SOUP, NOTHING]
    assert state.pot_onions.tolist() == [0] and state.pot_time.tolist() == [0]
    assert info["shaped_reward"].tolist() == [5.0, 0.0]
    assert int(state.lifetime) == ENV.cook_time  # the shaping weight has annealed for 19 steps: 0.5 (1 - 19/1000)
    np.testing.assert_allclose(reward, [W * (1 - 19 / 1000) * 5.0] * 2, rtol=1e-6)


def test_serving_a_soup_gives_20_to_both_chefs():
    state = kitchen(pos=[[1, 1], [2, 3]], facing=[UP, DOWN], held=[0, SOUP])  # (3, 3) is the serving counter
    nxt, reward, terminated, info = act(state, [STAY, INTERACT])
    assert nxt.held.tolist() == [NOTHING, NOTHING]
    assert reward.tolist() == [20.0, 20.0] and info["sparse_reward"].tolist() == [20.0, 20.0]
    assert info["soups_served"].tolist() == [0.0, 1.0] and not bool(terminated)
    # a dish or an onion is not served
    nxt, reward, _, _ = act(kitchen(pos=[[1, 1], [2, 3]], facing=[UP, DOWN], held=[0, DISH]), [STAY, INTERACT])
    assert nxt.held.tolist() == [NOTHING, DISH] and reward.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("pot", "other", "items", "expected"),
    [
        ((1, 0), 0, (), 3.0),  # a pot holds an onion and no dish is out: useful
        ((0, 0), 0, (), 0.0),  # no pot holds anything
        ((1, 0), DISH, (), 0.0),  # one busy pot, and the other chef already holds a dish
        ((1, 0), 0, ((0, 0, DISH),), 0.0),  # a dish lies on a counter
        ((3, 20), ONION, (), 3.0),  # a ready soup, the other chef holds an onion
    ],
)
def test_dish_pickup_shaping_follows_overcooked_ais_rule(pot, other, items, expected):
    state = kitchen(pos=[[2, 1], [1, 3]], facing=[DOWN, UP], held=[0, other], pot=pot, items=items)  # (3, 1): D
    nxt, reward, _, info = act(state, [INTERACT, STAY])
    assert nxt.held.tolist()[0] == DISH
    assert info["shaped_reward"].tolist() == [expected, 0.0]
    np.testing.assert_allclose(reward, [W * expected] * 2)


def test_interact_on_an_empty_counter_places_the_item_and_interact_again_takes_it():
    state = kitchen(pos=[[2, 1], [1, 3]], facing=[LEFT, UP], held=[ONION, 0])  # (2, 0) is a counter
    placed, _reward, _, _ = act(state, [INTERACT, STAY])
    assert placed.held.tolist() == [NOTHING, NOTHING] and int(placed.items[2, 0]) == ONION
    taken, _, _, _ = act(placed, [INTERACT, STAY])
    assert taken.held.tolist() == [ONION, NOTHING] and int(taken.items[2, 0]) == NOTHING
    # a full counter takes nothing more
    full = kitchen(pos=[[2, 1], [1, 3]], facing=[LEFT, UP], held=[DISH, 0], items=[(2, 0, ONION)])
    kept, _, _, _ = act(full, [INTERACT, STAY])
    assert kept.held.tolist() == [DISH, NOTHING] and int(kept.items[2, 0]) == ONION


# -- movement ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pos", "actions", "expected_pos"),
    [
        ([[1, 1], [1, 3]], [RIGHT, LEFT], [[1, 1], [1, 3]]),  # both into (1, 2): nobody moves
        ([[1, 1], [1, 2]], [RIGHT, LEFT], [[1, 1], [1, 2]]),  # a swap: nobody moves
        ([[1, 1], [1, 2]], [RIGHT, STAY], [[1, 1], [1, 2]]),  # into a standing chef
        ([[1, 1], [1, 2]], [RIGHT, RIGHT], [[1, 2], [1, 3]]),  # following into a cell being vacated
        ([[1, 1], [2, 3]], [UP, DOWN], [[1, 1], [2, 3]]),  # into a counter / the serving counter: turn only
        ([[1, 1], [2, 3]], [DOWN, LEFT], [[2, 1], [2, 2]]),
    ],
)
def test_moves_turn_and_step_but_chefs_never_share_or_swap_cells(pos, actions, expected_pos):
    nxt, _, _, _ = act(kitchen(pos=pos, facing=[UP, UP]), actions)
    assert nxt.pos.tolist() == expected_pos
    # blocked or not, a move turns the chef; STAY keeps the facing (up here)
    assert nxt.facing.tolist() == [a if a < STAY else UP for a in actions]


# -- an independent formulation: plain Python, one object at a time, as overcooked-ai writes it ------------------

DELTA = {UP: (-1, 0), DOWN: (1, 0), RIGHT: (0, 1), LEFT: (0, -1)}


def reference_step(env: Cooking, s: dict, actions) -> tuple[dict, list[float], list[float]]:
    """overcooked-ai's get_state_transition on plain dicts: ``(state, sparse, shaped)`` per chef."""
    terrain, cook = env.kitchen.terrain, env.cook_time
    s = {k: (dict(v) if isinstance(v, dict) else list(map(list, v)) if k == "pos" else list(v)) for k, v in s.items()}
    pot_of = {tuple(map(int, p)): i for i, p in enumerate(env.kitchen.pots)}
    nearly_ready = sum(1 for x in s["onions"] if x > 0)
    sparse, shaped = [0.0, 0.0], [0.0, 0.0]
    for i, a in enumerate(actions):
        if a != INTERACT:
            continue
        d = DELTA[s["facing"][i]]
        cell = (s["pos"][i][0] + d[0], s["pos"][i][1] + d[1])
        kind, held = terrain[cell], s["held"][i]
        if kind == COUNTER:
            if held and cell not in s["items"]:
                s["items"][cell], s["held"][i] = held, NOTHING
            elif not held and cell in s["items"]:
                s["held"][i] = s["items"].pop(cell)
        elif kind == ONION_PILE and not held:
            s["held"][i] = ONION
        elif kind == DISH_PILE and not held:
            already = s["held"].count(DISH)
            s["held"][i] = DISH
            if nearly_ready > already and DISH not in s["items"].values():
                shaped[i] += 3.0
        elif kind == POT and held:
            p = pot_of[cell]
            if held == DISH and s["onions"][p] == 3 and s["timer"][p] >= cook:
                s["held"][i], s["onions"][p], s["timer"][p] = SOUP, 0, 0
                shaped[i] += 5.0
            elif held == ONION and s["onions"][p] < 3:
                s["held"][i], s["onions"][p], s["timer"][p] = NOTHING, s["onions"][p] + 1, 0
                shaped[i] += 3.0
        elif kind == SERVE and held == SOUP:
            s["held"][i] = NOTHING
            sparse[i] += 20.0
    old = [tuple(p) for p in s["pos"]]
    new = []
    for i, a in enumerate(actions):
        if a in DELTA:
            s["facing"][i] = a
            target = (old[i][0] + DELTA[a][0], old[i][1] + DELTA[a][1])
            new.append(target if terrain[target] == FLOOR else old[i])
        else:
            new.append(old[i])
    if new[0] == new[1] or (new[0] == old[1] and new[1] == old[0]):
        new = old
    s["pos"] = [list(p) for p in new]
    s["timer"] = [t + 1 if o == 3 and t < cook else t for o, t in zip(s["onions"], s["timer"], strict=True)]
    return s, sparse, shaped


def as_dict(state: CookingState) -> dict:
    items = np.asarray(state.items)
    return {
        "pos": np.asarray(state.pos).tolist(),
        "facing": np.asarray(state.facing).tolist(),
        "held": np.asarray(state.held).tolist(),
        "items": {(int(r), int(c)): int(items[r, c]) for r, c in np.argwhere(items > 0)},
        "onions": np.asarray(state.pot_onions).tolist(),
        "timer": np.asarray(state.pot_time).tolist(),
    }


def reference_encoding(env: Cooking, s: dict, me: int) -> np.ndarray:
    """overcooked-ai's lossless_state_encoding (2019 onion channels), cell by cell."""
    height, width = env.kitchen.shape
    grid = np.zeros((height, width, 20), np.float32)
    order = [me, 1 - me]
    for slot, chef in enumerate(order):
        r, c = s["pos"][chef]
        grid[r, c, slot] = 1
        grid[r, c, 2 + 4 * slot + s["facing"][chef]] = 1
    for channel, kind in enumerate((POT, COUNTER, ONION_PILE, DISH_PILE, SERVE)):
        grid[..., 10 + channel] = env.kitchen.terrain == kind
    for p, (r, c) in enumerate(env.kitchen.pots):
        grid[r, c, 15], grid[r, c, 16] = s["onions"][p], s["timer"][p]
    lying = [((r, c), item) for (r, c), item in s["items"].items()]
    carried = [(tuple(s["pos"][i]), s["held"][i]) for i in range(2) if s["held"][i]]
    for (r, c), item in lying + carried:
        grid[r, c, {SOUP: 17, DISH: 18, ONION: 19}[item]] = 1
    return grid.reshape(-1)


SEEDS = 6
MIN_SOUPS = 3
HORIZON = 400


@functools.partial(jax.jit, static_argnums=(0, 1))
def greedy_episodes(env: Cooking, human: GreedyHuman, keys):
    """One 400-step episode of two greedy humans per key (vmapped): what every step saw and returned."""

    def episode(key):
        _, state = env.reset(key)

        def one(state, key):
            k0, k1, ks = jax.random.split(key, 3)
            actions = jnp.stack([human(k0, state, 0), human(k1, state, 1)])
            _, nxt, reward, done, info = env.step(ks, state, actions)
            seen = {k: info[k] for k in ("final_obs", "sparse_reward", "shaped_reward", "soups_served")}
            seen.update(info=(info["global_state"], info["action_mask"]), state_info=env.state_info(nxt))
            return nxt, (state, actions, reward, done, seen)

        return jax.lax.scan(one, state, jax.random.split(key, HORIZON))

    return jax.vmap(episode)(keys)


@pytest.fixture(scope="module")
def cramped_play():
    """Two default greedy humans (β_goal = 1, β_action = 3) on the cramped room, 6 seeds: one compiled program
    serves the rules oracle, the contract checks, determinism and the delivery test."""
    env = Cooking()
    return env, GreedyHuman(env), jax.device_get(greedy_episodes(env, GreedyHuman(env), KEYS))


KEYS = jax.random.split(jax.random.key(11), SEEDS)


def check_against_reference(env: Cooking, trajectory, seed: int) -> float:
    """Every step of episode ``seed`` against :func:`reference_step` and :func:`reference_encoding`; the soups'
    total reward."""
    _final, (before, actions, reward, _done, seen) = trajectory
    served = 0.0
    for t in range(HORIZON):
        state = as_dict(jax.tree_util.tree_map(lambda x, t=t: x[seed, t], before.inner))
        expected, exp_sparse, exp_shaped = reference_step(env, state, actions[seed, t].tolist())
        if t + 1 < HORIZON:
            assert as_dict(jax.tree_util.tree_map(lambda x, t=t: x[seed, t + 1], before.inner)) == expected, t
        assert seen["shaped_reward"][seed, t].tolist() == exp_shaped, t
        assert seen["sparse_reward"][seed, t].tolist() == [sum(exp_sparse)] * 2, t
        np.testing.assert_allclose(reward[seed, t], [sum(exp_sparse) + sum(exp_shaped)] * 2)
        for me in range(2):
            np.testing.assert_array_equal(seen["final_obs"][seed, t, me], reference_encoding(env, expected, me), str(t))
        served += sum(exp_sparse)
    return served


def test_greedy_play_agrees_with_a_plain_python_formulation_step_by_step(cramped_play):
    env, _, trajectory = cramped_play
    for seed in range(2):
        assert check_against_reference(env, trajectory, seed) >= 60.0  # play reached every rule: >= 3 soups


def test_the_oracle_also_agrees_on_coordination_ring_with_two_pots():
    """Two pots and a ring: a host loop over the jitted transition (cheaper to compile than a scanned episode), the
    greedy humans' actions drawn with NumPy from their exact probabilities."""
    env = Cooking(layout="coordination_ring")
    rng = np.random.default_rng(5)
    state = env.initial_state()
    served = 0.0
    for t in range(300):
        probs = [np.asarray(probabilities(env, state, i, 1.0, 3.0), np.float64) for i in range(2)]
        actions = [int(rng.choice(6, p=p / p.sum())) for p in probs]
        expected, exp_sparse, exp_shaped = reference_step(env, as_dict(state), actions)
        state, reward, _, info = transition(env, state, jnp.asarray(actions, jnp.int32))
        assert as_dict(state) == expected, t
        assert info["shaped_reward"].tolist() == exp_shaped, t
        np.testing.assert_allclose(reward, [sum(exp_sparse) + sum(exp_shaped)] * 2)
        served += sum(exp_sparse)
    assert served >= 40.0  # the soups chain ran through both pots' rules


def test_vmap_auto_reset_lifetime_and_state_info(cramped_play):
    env, _, (final, (_before, _, _, done, seen)) = cramped_play
    obs0, state0 = env.reset(jax.random.key(0))
    assert obs0.shape == (2, 4 * 5 * 20) and obs0.dtype == jnp.float32
    assert np.all(done[:, :-1] == False) and np.all(done[:, -1])  # noqa: E712 — truncated at 400, never terminated
    assert final.time.tolist() == [0] * SEEDS and final.inner.lifetime.tolist() == [HORIZON] * SEEDS
    for field in ("pos", "facing", "held", "items", "pot_onions", "pot_time"):  # auto-reset to the start
        fresh = np.broadcast_to(np.asarray(getattr(state0.inner, field)), getattr(final.inner, field).shape)
        np.testing.assert_array_equal(getattr(final.inner, field), fresh)
    gs, mask = seen["info"]
    np.testing.assert_array_equal(seen["state_info"]["global_state"], gs)
    np.testing.assert_array_equal(seen["state_info"]["action_mask"], mask)
    assert bool(np.all(mask))
    obs = seen["final_obs"]
    assert np.all((obs >= env.spec.obs_low) & (obs <= env.spec.obs_high))
    np.testing.assert_array_equal(gs[:, :-1], obs[:, :-1, 0])  # chef 0's grid (the last step has reset)
    np.testing.assert_array_equal(ENV.shaping_weight(jnp.int32(250)), np.float32(0.5 * 0.75))
    assert float(ENV.shaping_weight(jnp.int32(5000))) == 0.0
    assert float(env.shaping_weight(jnp.int32(10**6))) == 1.0  # no horizon: constant


def test_registry_and_bad_parameters():
    env = registry.make("overcooked", layout="asymmetric_advantages")
    assert isinstance(env, Cooking) and env.spec.name == "cooking-asymmetric_advantages"
    assert env.spec.max_episode_steps == 400 and env.spec.n_agents == 2 and env.spec.num_actions == (6, 6)
    for params, message in (
        ({"layout": "kitchen"}, "layout must be one of"),
        ({"cook_time": 0}, "cook_time must be an integer >= 1"),
        ({"shaping": -1.0}, "shaping must be a finite number >= 0"),
        ({"horizon": 5}, "did you mean"),
    ):
        with pytest.raises(InvalidGameError, match=message):
            registry.make("cooking", **params)
    with pytest.raises(InvalidGameError, match="beta_goal must be a number >= 0"):
        GreedyHuman(env, beta_goal=-1.0)


# -- the greedy human partner -----------------------------------------------------------------------------------


def test_greedy_probabilities_hand_checked():
    start = kitchen(pos=[[2, 1], [1, 3]], facing=[UP, UP])
    # Chef 0, empty-handed, pot empty: get an onion. The closest (1, 0): up, turn left, interact = cost 3.
    greedy = probabilities(ENV, start, 0, jnp.inf, jnp.inf)
    np.testing.assert_allclose(greedy, np.eye(6)[UP])
    # Facing the dispenser: interact.
    at = kitchen(pos=[[1, 1], [2, 3]], facing=[LEFT, UP])
    np.testing.assert_allclose(probabilities(ENV, at, 0, jnp.inf, jnp.inf), np.eye(6)[INTERACT])
    # Chef 1 at (1, 3) facing up, holding an onion: the pot (0, 2) is reached by left, up, interact.
    onion = kitchen(pos=[[2, 1], [1, 3]], facing=[UP, UP], held=[0, ONION])
    np.testing.assert_allclose(probabilities(ENV, onion, 1, jnp.inf, jnp.inf), np.eye(6)[LEFT])
    # β = 0 everywhere: uniform.
    np.testing.assert_allclose(probabilities(ENV, start, 0, 0.0, 0.0), np.full(6, 1 / 6), rtol=1e-6)
    # Finite β: a distribution, most mass on the greedy action.
    soft = np.asarray(probabilities(ENV, start, 0, 1.0, 3.0))
    assert abs(soft.sum() - 1) < 1e-6 and soft.argmax() == UP and np.all(soft > 0)


def test_greedy_rule_fetches_a_dish_while_a_soup_cooks_unless_the_partner_holds_one():
    cooking = kitchen(pos=[[2, 1], [1, 3]], facing=[UP, UP], pot=(3, 4))
    np.testing.assert_allclose(probabilities(ENV, cooking, 0, jnp.inf, jnp.inf), np.eye(6)[DOWN])  # D at (3, 1)
    partner_dish = kitchen(pos=[[2, 1], [1, 3]], facing=[UP, UP], pot=(3, 4), held=[0, DISH])
    np.testing.assert_allclose(probabilities(ENV, partner_dish, 0, jnp.inf, jnp.inf), np.eye(6)[UP])  # an onion


def test_stuck_chefs_move_at_random_to_a_free_cell():
    state = kitchen(pos=[[1, 1], [1, 2]], facing=[RIGHT, LEFT])._replace(
        prev_pos=jnp.asarray([[1, 1], [1, 2]], jnp.int32), prev_facing=jnp.asarray([RIGHT, LEFT], jnp.int32)
    )
    # chef 0 at (1, 1): up is a counter, left the onion dispenser, right the other chef: only down frees it.
    np.testing.assert_allclose(probabilities(ENV, state, 0, jnp.inf, jnp.inf), np.eye(6)[DOWN])
    # chef 1 at (1, 2): down to (2, 2) or right to (1, 3).
    np.testing.assert_allclose(probabilities(ENV, state, 1, jnp.inf, jnp.inf), [0, 0.5, 0.5, 0, 0, 0])


def test_two_greedy_humans_deliver_soups_in_a_400_step_episode(cramped_play):
    """Two default greedy humans (β_goal = 1, β_action = 3) on the cramped room, 400 steps, 6 seeds. Threshold: at
    least 3 soups in every episode. Why: a soup needs 3 onion trips, 20 cooking steps and a dish trip, about 40
    steps for a pair that works in parallel, so a competent pair serves ~10 (the greedy pair at β = ∞ serves 9-10,
    the default noisy pair 6-9 on 8 seeds measured); a pair that never completed the chain, or deadlocked in the
    one-cell-wide corridor without the unstuck rule, would serve 0-1."""
    env, human, (_, (_, _, reward, _, seen)) = cramped_play
    per_seed = seen["soups_served"].sum(axis=(1, 2))
    assert np.all(per_seed >= MIN_SOUPS), per_seed
    assert np.all(np.isfinite(reward))
    # determinism per key, and the key drives the human's choices
    again = jax.device_get(greedy_episodes(env, human, KEYS))[1][4]["soups_served"]
    np.testing.assert_array_equal(again, seen["soups_served"])
    other = jax.device_get(greedy_episodes(env, human, jax.random.split(jax.random.key(12), SEEDS)))
    assert not np.array_equal(other[1][4]["soups_served"], seen["soups_served"])


def test_greedy_action_is_one_draw_of_the_probabilities():
    state = kitchen(pos=[[2, 1], [1, 3]], facing=[UP, UP])
    draws = jax.jit(jax.vmap(lambda k: greedy_action(ENV, k, state, 0, 1.0, 1.0)))(
        jax.random.split(jax.random.key(0), 4000)
    )
    freq = np.bincount(np.asarray(draws), minlength=6) / 4000
    p = np.asarray(probabilities(ENV, state, 0, 1.0, 1.0))
    assert np.all(np.abs(freq - p) <= 4 * np.sqrt(p * (1 - p) / 4000) + 1e-9)  # 4 standard errors


# -- the picture ------------------------------------------------------------------------------------------------


def test_render_draws_the_kitchen():
    _, state = ENV.reset(jax.random.key(0))
    image = ENV.render(state)
    assert image.shape == (4 * 16, 5 * 16, 3) and image.dtype == np.uint8
    chef0 = image[2 * 16 + 4, 1 * 16 + 4]  # inside chef 0's square at (2, 1)
    floor = image[1 * 16 + 8, 2 * 16 + 8]  # the middle of the empty floor cell (1, 2)
    assert tuple(chef0) == (40, 90, 200) and tuple(floor) == (235, 225, 200)
    assert isinstance(state, TimeState) and ENV.can_render
    with_onions = ENV.render(TimeState(kitchen(pos=[[2, 1], [1, 3]], facing=[UP, UP], pot=(2, 0)), jnp.int32(0)))
    assert not np.array_equal(with_onions, image)
