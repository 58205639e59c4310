"""The cooperative cooking task (Overcooked) under marlkit's functional JAX contract.

Source: Carroll, Shah, Ho, Griffiths, Seshia, Abbeel & Dragan (2019), "On the Utility of Learning about Humans for
Human-AI Coordination" (NeurIPS); the rules are those of the ``overcooked_ai_py`` package of that paper (the 2019
``OvercookedGridworld``: ``resolve_interacts``, ``resolve_movement``, ``step_environment_effects``), onion soups only.
Every rule and every difference from the original is listed in docs/human.md; in short:

**Chefs and actions.** Two chefs, 6 actions each: ``0 up, 1 down, 2 right, 3 left, 4 stay, 5 interact`` (the order
of overcooked-ai's ``Action.ALL_ACTIONS``); all legal (``action_mask`` all ones). Each chef has a cell, a facing
direction (start: up) and holds nothing, an onion, a dish or a soup.

**One step**, in overcooked-ai's order: (1) interactions, chef 0 then chef 1, at the pre-step cells and facings;
(2) movement; (3) cooking.

1. INTERACT acts on the faced cell: a counter takes the held item when empty, or gives its item to an empty-handed
   chef; an onion (dish) dispenser gives an empty-handed chef an onion (dish); a pot takes an onion while it holds
   fewer than 3 (shaping ``PLACEMENT_IN_POT`` = 3), and gives a chef holding a dish its soup once cooked (the dish
   becomes the soup; shaping ``SOUP_PICKUP`` = 5); the serving counter takes a soup: **20 to every chef** (the team
   reward). Taking a dish earns ``DISH_PICKUP`` = 3 when the pots holding at least one onion outnumber the dishes
   chefs already hold and no dish lies on a counter (overcooked-ai's rule against hoarding dishes).
2. A move turns the chef to its direction and steps when the target is floor; then, if two chefs would share a cell
   or swap cells, every chef keeps its cell (the turns stand). STAY and INTERACT keep cell and facing.
3. A pot with 3 onions cooks: its timer rises by one per step up to ``cook_time`` (20, the 2019 version: cooking
   starts by itself on the third onion, no interact needed); the soup is ready at ``cook_time``.

**Rewards.** ``reward[i] = sparse + shaping * annealing * shaped`` for both chefs, ``sparse`` the 20s earned this
step and ``shaped`` the shaping events of *both* chefs (the 2019 code sums them for the team). ``annealing`` is 1,
or ``max(0, 1 - t / shaping_horizon)`` with ``t`` the env's own step count over its lifetime (kept across
episodes: each of ``E`` vectorised envs counts its own steps, so a horizon of ``T`` total steps is ``T / E`` here),
Carroll et al.'s linear annealing of the shaping to 0. ``info`` holds ``sparse_reward [n]`` and the per-chef shaping
events ``shaped_reward [n]`` (unscaled), and ``soups_served [n]`` (1 where that chef served this step).

**Episode.** Never terminated; truncated after ``max_episode_steps`` (400, the paper's horizon).

**Observation** (overcooked-ai's ``lossless_state_encoding``, the 2019 onion channels), per chef an ``H x W x C``
float32 grid with ``C = 5n + 10`` (20 for two chefs), flattened row-major: chef locations (self first, then the
others in index order), each chef's facing one-hot (4 channels per chef, same order, at its cell); then the static
``pot, counter, onion dispenser, dish dispenser, serving`` masks; then ``onions in pot`` (count, at pots),
``cook time`` (timer, at pots), ``soup`` (1 where a finished soup is held or on a counter), ``dish`` and ``onion``
(1 where held or on a counter). ``global_state`` is chef 0's grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import Env, MultiAgentSpec, TimeState
from marlkit.envs.cooking.layouts import (
    ACTION_DELTAS,
    ACTION_NAMES,
    COUNTER,
    DISH_PILE,
    FLOOR,
    INTERACT,
    LAYOUTS,
    NUM_ACTIONS,
    ONION_PILE,
    POT,
    SERVE,
    STAY,
    Layout,
    get_layout,
)
from marlkit.errors import InvalidGameError

Array = jax.Array

NOTHING, ONION, DISH, SOUP = range(4)
ITEM_NAMES = ("nothing", "onion", "dish", "soup")
SOUP_REWARD = 20.0
PLACEMENT_IN_POT = 3.0
DISH_PICKUP = 3.0
SOUP_PICKUP = 5.0
ONIONS_PER_SOUP = 3
STATIC_CHANNELS = (POT, COUNTER, ONION_PILE, DISH_PILE, SERVE)


class CookingState(NamedTuple):
    """One kitchen. ``items`` holds what lies on each counter cell (0 elsewhere); pots are listed in
    ``layout.pots`` order; ``prev_pos``/``prev_facing`` are the chefs' poses before the last step (-1 after a reset:
    the greedy human model's "stuck" test reads them); ``lifetime`` counts the env's steps over all episodes."""

    pos: Array  # [n, 2] int32 (row, col)
    facing: Array  # [n] int32, 0 up 1 down 2 right 3 left
    held: Array  # [n] int32 item
    items: Array  # [H, W] int32 item on each counter
    pot_onions: Array  # [P] int32 in 0..3
    pot_time: Array  # [P] int32 in 0..cook_time
    prev_pos: Array  # [n, 2] int32
    prev_facing: Array  # [n] int32
    lifetime: Array  # [] int32


def _finite_nonnegative(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidGameError(f"cooking: {name} must be a finite number >= 0, got {value!r}")


def _positive_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidGameError(f"cooking: {name} must be an integer >= {low}, got {value!r}")


@dataclass(frozen=True)
class Cooking(Env):
    """The cooking task on ``layout`` (one of ``cramped_room``, ``asymmetric_advantages``, ``coordination_ring``;
    see the module docstring for the rules)."""

    layout: str = "cramped_room"
    max_episode_steps: int = 400
    cook_time: int = 20
    shaping: float = 1.0
    shaping_horizon: int = 0
    kitchen: Layout = field(init=False, repr=False, compare=False)
    spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.layout, str) or self.layout not in LAYOUTS:
            raise InvalidGameError(f"cooking: layout must be one of {sorted(LAYOUTS)}, got {self.layout!r}")
        _positive_int("max_episode_steps", self.max_episode_steps, 1)
        _positive_int("cook_time", self.cook_time, 1)
        _positive_int("shaping_horizon", self.shaping_horizon, 0)
        _finite_nonnegative("shaping", self.shaping)
        kitchen = get_layout(self.layout)
        object.__setattr__(self, "kitchen", kitchen)
        height, width = kitchen.shape
        n = len(kitchen.start)
        size = height * width * self.num_channels
        spec = MultiAgentSpec(
            name=f"cooking-{self.layout}",
            n_agents=n,
            agent_names=tuple(f"chef_{i}" for i in range(n)),
            obs_shape=(size,),
            obs_sizes=(size,) * n,
            num_actions=(NUM_ACTIONS,) * n,
            global_state_size=size,
            max_episode_steps=self.max_episode_steps,
            obs_low=0.0,
            obs_high=float(max(self.cook_time, ONIONS_PER_SOUP)),
            description={
                "source": "overcooked_ai_py 2019 (Carroll et al., NeurIPS 2019), onion soups",
                "actions": ACTION_NAMES,
                "observation": f"lossless grid [{height}, {width}, {self.num_channels}] flattened, self first",
                "global_state": "chef 0's grid",
            },
        )
        object.__setattr__(self, "spec", spec)

    @property
    def num_channels(self) -> int:
        return 5 * len(self.kitchen.start) + 10

    # -- the contract -----------------------------------------------------------------------------------------
    def reset_env(self, key: Array) -> tuple[Array, CookingState]:
        del key  # overcooked-ai's start state is fixed by the layout
        # Evaluated while tracing, so the compiled step holds the start as constants (the auto-reset costs ~25% less
        # than recomputing the start observation every step, bench/human.py).
        with jax.ensure_compile_time_eval():
            state = self.initial_state()
            return self.observe(state), state

    def initial_state(self, lifetime: Array | int = 0) -> CookingState:
        """The layout's start: chefs on ``1``/``2`` facing up, empty hands, counters and pots."""
        k = self.kitchen
        n, pots = len(k.start), len(k.pots)
        return CookingState(
            pos=jnp.asarray(k.start),
            facing=jnp.zeros(n, jnp.int32),
            held=jnp.zeros(n, jnp.int32),
            items=jnp.zeros(k.shape, jnp.int32),
            pot_onions=jnp.zeros(pots, jnp.int32),
            pot_time=jnp.zeros(pots, jnp.int32),
            prev_pos=jnp.full((n, 2), -1, jnp.int32),
            prev_facing=jnp.full(n, -1, jnp.int32),
            lifetime=jnp.asarray(lifetime, jnp.int32),
        )

    def step(self, key: Array, state: TimeState, actions: Array) -> tuple[Array, TimeState, Array, Array, dict]:
        """The contract's step; the lifetime step count survives the auto-reset (for shaping annealing)."""
        obs, next_state, reward, done, info = super().step(key, state, actions)
        inner = next_state.inner._replace(lifetime=state.inner.lifetime + 1)
        return obs, TimeState(inner, next_state.time), reward, done, info

    def step_env(
        self, key: Array, state: CookingState, actions: Array
    ) -> tuple[Array, CookingState, Array, Array, dict]:
        del key  # deterministic transitions
        actions = jnp.asarray(actions, jnp.int32)
        interacted, sparse, shaped, served = self.interact(state, actions)
        moved = self.move(interacted, actions)
        cooking = (moved.pot_onions == ONIONS_PER_SOUP) & (moved.pot_time < self.cook_time)
        next_state = moved._replace(
            pot_time=moved.pot_time + cooking.astype(jnp.int32),
            prev_pos=state.pos,
            prev_facing=state.facing,
            lifetime=state.lifetime + 1,
        )
        team = jnp.sum(sparse) + self.shaping_weight(state.lifetime) * jnp.sum(shaped)
        reward = jnp.full(len(self.kitchen.start), team, jnp.float32)
        info = {
            "sparse_reward": jnp.full_like(reward, jnp.sum(sparse)),
            "shaped_reward": shaped,
            "soups_served": served,
        }
        return self.observe(next_state), next_state, reward, jnp.bool_(False), info

    def shaping_weight(self, lifetime: Array) -> Array:
        """``shaping * max(0, 1 - lifetime / shaping_horizon)`` (or ``shaping`` with no horizon)."""
        if self.shaping_horizon == 0:
            return jnp.float32(self.shaping)
        frac = 1.0 - lifetime.astype(jnp.float32) / jnp.float32(self.shaping_horizon)
        return jnp.float32(self.shaping) * jnp.maximum(frac, 0.0)

    def action_mask(self, state: CookingState) -> Array:
        return jnp.ones((len(self.kitchen.start), NUM_ACTIONS), bool)

    def global_state(self, state: CookingState) -> Array:
        return self.observe(state)[0]

    # -- the rules --------------------------------------------------------------------------------------------
    def interact(self, state: CookingState, actions: Array) -> tuple[CookingState, Array, Array, Array]:
        """Rule 1, chef by chef in index order: ``(state, sparse [n], shaped [n], served [n])``."""
        k = self.kitchen
        terrain, pot_index = jnp.asarray(k.terrain), jnp.asarray(k.pot_index)
        n = len(k.start)
        # overcooked-ai reads the pot states once, before anyone acts: pots holding at least one onion.
        busy_pots = jnp.sum(state.pot_onions > 0)
        sparse, shaped, served = jnp.zeros(n), jnp.zeros(n), jnp.zeros(n)
        height, width = k.shape
        for i in range(n):
            front = state.pos[i] + jnp.asarray(ACTION_DELTAS)[state.facing[i]]
            r, c = front[0], front[1]
            at_front = (np.arange(height)[:, None] == r) & (np.arange(width)[None, :] == c)  # [H, W]
            kind = terrain[r, c]
            held, item = state.held[i], state.items[r, c]
            pot_here = np.arange(len(k.pots)) == pot_index[r, c]  # [P], all False off pots
            onions = jnp.sum(jnp.where(pot_here, state.pot_onions, 0))
            time = jnp.sum(jnp.where(pot_here, state.pot_time, 0))
            go = actions[i] == INTERACT
            put_down = go & (kind == COUNTER) & (held != NOTHING) & (item == NOTHING)
            pick_up = go & (kind == COUNTER) & (held == NOTHING) & (item != NOTHING)
            take_onion = go & (kind == ONION_PILE) & (held == NOTHING)
            take_dish = go & (kind == DISH_PILE) & (held == NOTHING)
            add_onion = go & (kind == POT) & (held == ONION) & (onions < ONIONS_PER_SOUP)
            take_soup = go & (kind == POT) & (held == DISH) & (onions == ONIONS_PER_SOUP) & (time >= self.cook_time)
            serve = go & (kind == SERVE) & (held == SOUP)
            dishes_held = jnp.sum(state.held == DISH)
            dishes_lying = jnp.sum(state.items == DISH)
            useful_dish = take_dish & (busy_pots > dishes_held) & (dishes_lying == 0)

            new_held = jnp.select(
                [put_down | add_onion | serve, pick_up, take_onion, take_dish, take_soup],
                [NOTHING, item, ONION, DISH, SOUP],
                held,
            )
            new_item = jnp.where(put_down, held, jnp.where(pick_up, NOTHING, item))
            new_onions = jnp.where(add_onion, onions + 1, jnp.where(take_soup, 0, onions))
            state = state._replace(
                held=state.held.at[i].set(new_held),
                items=jnp.where(at_front, new_item, state.items),
                pot_onions=jnp.where(pot_here, new_onions, state.pot_onions),
                pot_time=jnp.where(pot_here & (add_onion | take_soup), 0, state.pot_time),
            )
            sparse = sparse.at[i].set(jnp.where(serve, SOUP_REWARD, 0.0))
            served = served.at[i].set(serve.astype(jnp.float32))
            shaped = shaped.at[i].set(
                jnp.where(add_onion, PLACEMENT_IN_POT, 0.0)
                + jnp.where(useful_dish, DISH_PICKUP, 0.0)
                + jnp.where(take_soup, SOUP_PICKUP, 0.0)
            )
        return state, sparse.astype(jnp.float32), shaped.astype(jnp.float32), served.astype(jnp.float32)

    def move(self, state: CookingState, actions: Array) -> CookingState:
        """Rule 2: turn, step onto floor, and undo every step when two chefs would share or swap cells."""
        terrain = jnp.asarray(self.kitchen.terrain)
        is_move = actions < STAY
        target = state.pos + jnp.asarray(ACTION_DELTAS)[actions]
        free = terrain[target[:, 0], target[:, 1]] == FLOOR
        new_pos = jnp.where((is_move & free)[:, None], target, state.pos)
        new_dir = jnp.where(is_move, actions, state.facing)
        same = jnp.all(new_pos[:, None, :] == new_pos[None, :, :], axis=-1)
        swap = jnp.all(new_pos[:, None, :] == state.pos[None, :, :], axis=-1) & jnp.all(
            state.pos[:, None, :] == new_pos[None, :, :], axis=-1
        )
        off_diagonal = ~jnp.eye(len(self.kitchen.start), dtype=bool)
        clash = jnp.any((same | swap) & off_diagonal)
        return state._replace(pos=jnp.where(clash, state.pos, new_pos), facing=new_dir)

    # -- observation ------------------------------------------------------------------------------------------
    def observe(self, state: CookingState) -> Array:
        """Every chef's lossless grid ``[n, H * W * C]`` (module docstring), self first. Built channels-last from
        comparisons against static masks (no scatters: they are what vmapped steps pay most for on CPU)."""
        k = self.kitchen
        height, width = k.shape
        n = len(k.start)
        cell = (np.arange(height)[None, :, None] == state.pos[:, 0, None, None]) & (
            np.arange(width)[None, None, :] == state.pos[:, 1, None, None]
        )  # [n, H, W]
        facing = cell[..., None] & (state.facing[:, None, None, None] == np.arange(4))  # [n, H, W, 4]
        static = np.stack([k.terrain == t for t in STATIC_CHANNELS], axis=-1).astype(np.float32)  # [H, W, 5]
        pot_masks = (np.arange(len(k.pots))[:, None, None] == k.pot_index[None]).astype(np.float32)  # [P, H, W]
        onions = jnp.tensordot(state.pot_onions.astype(jnp.float32), pot_masks, axes=1)
        timer = jnp.tensordot(state.pot_time.astype(jnp.float32), pot_masks, axes=1)
        items = jnp.stack(
            [
                jnp.any(cell & (state.held == i)[:, None, None], axis=0) | (state.items == i)
                for i in (SOUP, DISH, ONION)
            ],
            axis=-1,
        )  # [H, W, 3]
        shared = jnp.concatenate(
            [jnp.asarray(static), onions[..., None], timer[..., None], items.astype(jnp.float32)], axis=-1
        )
        # Chef a's order: a, then the others in index order.
        order = np.array([[a] + [b for b in range(n) if b != a] for a in range(n)])
        locations = cell[order].transpose(0, 2, 3, 1)  # [n, H, W, n]
        facings = facing[order].transpose(0, 2, 3, 1, 4).reshape(n, height, width, 4 * n)
        per_chef = jnp.concatenate([locations, facings], axis=-1).astype(jnp.float32)
        grids = jnp.concatenate([per_chef, jnp.broadcast_to(shared, (n, *shared.shape))], axis=-1)
        return grids.reshape(n, -1)

    def grid(self, obs: Array) -> Array:
        """One chef's flat observation as its ``[H, W, C]`` grid."""
        height, width = self.kitchen.shape
        return jnp.asarray(obs).reshape(height, width, self.num_channels)

    # -- rendering --------------------------------------------------------------------------------------------
    def render_env(self, state: CookingState) -> np.ndarray:
        """A picture of the kitchen ``uint8 [H * 16, W * 16, 3]`` (NumPy; the env contract's hook, called by
        :meth:`marlkit.envs.base.Env.render`): counters grey, dispensers and pots coloured by kind, items as small
        squares, each pot's onions and timer as bars, chefs as coloured squares with a mark on the side they
        face."""
        from marlkit.envs.cooking.render import render_kitchen

        return render_kitchen(self.kitchen, state, self.cook_time, RENDER_TILE)


RENDER_TILE = 16
"""Pixels per grid cell in the cooking task's pictures."""


__all__ = [
    "DISH",
    "DISH_PICKUP",
    "ITEM_NAMES",
    "NOTHING",
    "ONION",
    "ONIONS_PER_SOUP",
    "PLACEMENT_IN_POT",
    "RENDER_TILE",
    "SOUP",
    "SOUP_PICKUP",
    "SOUP_REWARD",
    "Cooking",
    "CookingState",
]
