"""Level-based foraging (LBF) under marlkit's functional JAX contract.

Sources: the game is Albrecht & Ramamoorthy (2013), "A game-theoretic model and best-response learning method
for ad hoc coordination in multiagent systems"; the rules, observations and rewards here follow the ``lbforaging``
package (v2.0.0, ``lbforaging/foraging/environment.py``) used by Christianos et al. (2020), "Shared Experience
Actor-Critic", and Papoudakis et al. (2021), "Benchmarking Multi-Agent Deep Reinforcement Learning Algorithms in
Cooperative Tasks" (Sec. 4.2, "Level-Based Foraging").

**World.** A ``grid_size x grid_size`` grid holds ``n_agents`` agents and ``n_food`` food items, each with a level.
Agents may share no cell with food; food never moves.

**Actions** (6 per agent): ``0 NONE, 1 NORTH (row - 1), 2 SOUTH (row + 1), 3 WEST (col - 1), 4 EAST (col + 1),
5 LOAD``. The action mask is lbforaging's ``_is_valid_action``: a move is legal when its target cell is inside the
grid and holds no food (cells holding *agents* are not masked — lbforaging resolves those as conflicts); LOAD is
legal when food lies in one of the four neighbouring cells; NONE is always legal. An illegal action is replaced
by NONE inside the compiled path (:meth:`Env.step` replaces it by the first legal action, which is NONE), as
lbforaging does, and flagged in ``info["illegal_action"]``.

**Movement** (lbforaging ``step``): every agent names a target cell (its own cell for NONE and LOAD); an agent
moves to its target when it is the *only* agent naming that cell. So two agents moving into one cell both stay,
an agent moving into a standing agent's cell stays, and two agents may swap cells. As in lbforaging, an agent
blocked by a conflict keeps its cell even if a third agent is entering that cell alone, so two agents can share a
cell for a while; this reproduces the reference exactly and is harmless to the rules below.

**Loading.** Food ``f`` is collected when the loading agents (action LOAD) adjacent to it (4-neighbourhood) have
summed level ``L_f >= level_f``. Each of them receives ``r_i = level_i * level_f / (L_f * F_0)``, where ``F_0`` is
the sum of the levels of all food spawned this episode (lbforaging's ``normalize_reward=True``: the rewards of a
whole episode sum to 1 when all food is collected; with ``normalize_reward=False``, ``r_i = level_i * level_f``).
When ``L_f < level_f`` the loaders each receive ``-penalty`` (not normalised). Because food is spawned at
Manhattan distance >= 3 from other food, no cell touches two food items, so every loader belongs to exactly one
group and the result does not depend on the order lbforaging happens to visit loaders in.

**Episode.** ``terminated`` when all food is collected; ``truncated`` at ``max_episode_steps`` (lbforaging
reports both as ``done``).

**Spawning** (lbforaging ``reset``): agent levels uniform in ``[min_player_level, max_player_level]``; agents on
distinct cells, uniform over the whole grid; then food one at a time, uniform over the cells that are not on the
border, hold no agent, and lie at Manhattan distance >= 3 from every food placed so far (lbforaging rejects a
candidate whose 3x3 block, or cells two steps away in its row or column, hold food — the same set). Food levels
are uniform in ``[min_food_level, max]`` with ``max = max_food_level`` or, when that is None, the sum of the three
lowest agent levels of the episode; ``force_coop=True`` sets every food to that maximum (with at most three agents
this needs all of them to load together). lbforaging gives up after 1,000 rejected draws and then spawns fewer
food; here every configuration is checked at construction to always fit all ``n_food`` (see :func:`food_fits`),
and placement draws from the exact set of valid cells, which is lbforaging's distribution conditioned on success.
How: one random priority per cell; the agents take the ``n`` lowest, then each food the lowest still valid
(:func:`claim_lowest`) — a uniform draw at every step, with no rejection loop. All randomness comes from one
block of 32-bit words; levels are taken by remainder (bias below ``levels / 2**32``).

**Observation** (lbforaging's vector format with ``observe_agent_levels=True``), per agent a float32 vector of
``3 * n_food + 3 * n_agents``: first the visible food as ``(y, x, level)`` triples in row-major order of their
cells, then the visible agents as ``(y, x, level)`` with the observer first and the others in index order; unused
slots are ``(-1, -1, 0)``. Coordinates are relative to the top-left corner of the observer's view window
``max(pos - sight, 0)``; with ``sight=None`` (the full grid, lbforaging's ``sight = field size``) they are
absolute. Food is visible within Chebyshev distance ``sight``; an agent is visible when its window coordinates lie
in ``[0, 2 * sight]`` — lbforaging's test, which near the top or left edge also shows agents up to ``2 * sight``
cells away; reproduced as is.

**Global state** (for centralised critics): three ``grid_size x grid_size`` layers, flattened: agent levels (the
higher level where two agents share a cell), food levels, and accessibility (1 where a cell holds neither agent
nor food) — lbforaging's grid-observation layers over the whole grid, without the sight padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import Env, MultiAgentSpec
from marlkit.envs.canvas import PALETTE, WHITE, cell_box, cell_centre, grid_picture
from marlkit.errors import InvalidGameError

Array = jax.Array

NONE, NORTH, SOUTH, WEST, EAST, LOAD = range(6)
ACTION_NAMES = ("NONE", "NORTH", "SOUTH", "WEST", "EAST", "LOAD")
NUM_ACTIONS = 6
FOOD_COLOUR = (214, 39, 40)  # a food item's cell (its level written on it)
RENDER_CELL = 48  # pixels per grid cell
# (d_row, d_col) of each action; NONE and LOAD stay.
ACTION_DELTAS = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]], dtype=np.int32)
# The four neighbouring cells in lbforaging's search order (north, south, west, east).
NEIGHBOUR_DELTAS = ACTION_DELTAS[1:5]
FOOD_MIN_DISTANCE = 3  # Manhattan distance between food at spawn (lbforaging's 3x3 block + distance-2 cross)
_OFFSETS = np.abs(np.arange(-2, 3))
FOOD_STAMP = (_OFFSETS[:, None] + _OFFSETS[None, :]) < FOOD_MIN_DISTANCE  # [5, 5]: the cells one food blocks
AGENT_STAMP = np.ones((1, 1), bool)  # an agent blocks its own cell
CLAIM_UNROLL = 8  # claims unrolled per loop iteration: halves the spawn time of small worlds at little compile cost
SCORE_BLOCKED = np.uint32(2**32 - 1)  # spawn score of a cell food may not take (priorities are < 2**31)


class LBFState(NamedTuple):
    """One LBF world. Invariants (kept by :meth:`LevelBasedForaging.reset_env`; keep them in hand-made states):
    food sits on distinct cells, stored in row-major order of its cells, at Manhattan distance >= 3 from other
    food (so no agent touches two food items)."""

    agent_pos: Array  # [n, 2] int32 (row, col)
    agent_level: Array  # [n] int32
    food_pos: Array  # [F, 2] int32 (row, col)
    food_level: Array  # [F] int32
    food_alive: Array  # [F] bool — not collected yet
    food_spawned: Array  # [] float32 — sum of the levels of the food spawned this episode (reward normaliser)


def cells_blocked_per_food(grid_size: int) -> int:
    """The most interior cells one food item can rule out for later food: the interior cells within Manhattan
    distance 2 of it (13 once the interior is at least 5 cells wide)."""
    side = min(grid_size - 2, 5)
    cells = np.stack(np.divmod(np.arange(side * side), side), axis=1)
    return int(np.max(np.sum(np.abs(cells[:, None] - cells[None]).sum(-1) < FOOD_MIN_DISTANCE, axis=1)))


def food_fits(grid_size: int, n_agents: int, n_food: int) -> bool:
    """Whether spawning always succeeds: each placed food rules out at most :func:`cells_blocked_per_food`
    interior cells and each agent one, so the last food still finds a cell when
    ``(grid_size - 2)**2 >= blocked * (n_food - 1) + n_agents + 1``."""
    return (grid_size - 2) ** 2 >= cells_blocked_per_food(grid_size) * (n_food - 1) + n_agents + 1


def min_grid_size(n_agents: int, n_food: int) -> int:
    """The smallest ``grid_size`` for which :func:`food_fits` holds."""
    grid_size = 3
    while not food_fits(grid_size, n_agents, n_food):
        grid_size += 1
    return grid_size


def uniform_integers(bits: Array, low: Array | int, high: Array | int) -> Array:
    """Integers uniform in ``[low, high]`` from uniform 32-bit words (by remainder: the bias is below
    ``(high - low + 1) / 2**32``, far under any level range here)."""
    span = (jnp.asarray(high, jnp.uint32) - jnp.asarray(low, jnp.uint32) + 1).astype(jnp.uint32)
    return (jnp.asarray(low, jnp.int32) + (bits % span).astype(jnp.int32)).astype(jnp.int32)


def claim_lowest(score: Array, count: int, stamp: np.ndarray) -> tuple[Array, Array, Array]:
    """Claim ``count`` cells one after another, each the lowest score left, blocking for later claims the cells
    of ``stamp`` (a ``[2r + 1, 2r + 1]`` bool window centred on the claimed cell, ``r <= 2``).

    ``score`` is ``[W, W]`` uint32, padded by 2 cells of ``SCORE_BLOCKED``. A running row minimum makes each claim
    ``O(W)`` instead of ``O(W^2)``. Returns ``(score, cells [count, 2] (row, col) without the padding,
    claimed [count] bool)``; a claim finds nothing only when every cell is blocked.
    """
    width, size = score.shape[1], stamp.shape[0]
    r = size // 2
    blocks = jnp.asarray(stamp)

    def claim(i: Array, carry: tuple[Array, Array, Array, Array]) -> tuple[Array, Array, Array, Array]:
        score, row_min, cells, claimed = carry
        row = jnp.argmin(row_min).astype(jnp.int32)
        col = jnp.argmin(score[row]).astype(jnp.int32)
        found = row_min[row] != SCORE_BLOCKED
        corner = (row - r, col - r)
        window = jax.lax.dynamic_slice(score, corner, (size, size))
        score = jax.lax.dynamic_update_slice(score, jnp.where(blocks & found, SCORE_BLOCKED, window), corner)
        band = jax.lax.dynamic_slice(score, (row - r, 0), (size, width)).min(axis=1)
        row_min = jax.lax.dynamic_update_slice(row_min, band, (row - r,))
        return score, row_min, cells.at[i].set(jnp.stack([row, col]) - 2), claimed.at[i].set(found)

    init = (score, score.min(axis=1), jnp.zeros((count, 2), jnp.int32), jnp.zeros(count, bool))
    score, _, cells, claimed = jax.lax.fori_loop(0, count, claim, init, unroll=max(1, min(count, CLAIM_UNROLL)))
    return score, cells, claimed


def _plain(value: object) -> object:
    """A NumPy scalar as the Python number it holds, so that a message prints ``0.5``, not ``np.float64(0.5)``."""
    return value.item() if isinstance(value, np.generic) else value


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidGameError(f"lbf: {name} must be an integer, got {_plain(value)!r}")
    if value < low:
        raise InvalidGameError(f"lbf: {name} must be >= {low}, got {value}")


@dataclass(frozen=True)
class LevelBasedForaging(Env):
    """Level-based foraging (see the module docstring for the rules and their source).

    ``grid_size`` is the side of the square grid; ``sight=None`` gives full observation (lbforaging's
    ``sight = field size``), an integer the Chebyshev radius of each agent's view (lbforaging's "-2s" tasks use 2).
    The defaults are lbforaging's ``Foraging-8x8-2p-2f-v3``.
    """

    grid_size: int = 8
    n_agents: int = 2
    n_food: int = 2
    max_player_level: int = 2
    min_player_level: int = 1
    min_food_level: int = 1
    max_food_level: int | None = None
    sight: int | None = None
    force_coop: bool = False
    max_episode_steps: int = 50
    penalty: float = 0.0
    normalize_reward: bool = True
    spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        n, f, g = self.n_agents, self.n_food, self.grid_size
        obs_size = 3 * f + 3 * n
        spec = MultiAgentSpec(
            name=f"lbf-{g}x{g}-{n}p-{f}f" + ("-coop" if self.force_coop else ""),
            n_agents=n,
            agent_names=tuple(f"agent_{i}" for i in range(n)),
            obs_shape=(obs_size,),
            obs_sizes=(obs_size,) * n,
            num_actions=(NUM_ACTIONS,) * n,
            global_state_size=3 * g * g,
            max_episode_steps=self.max_episode_steps,
            obs_low=-1.0,
            obs_high=float(max(g - 1, self.highest_food_level, self.max_player_level)),
            description={
                "source": "lbforaging v2.0.0 (Christianos et al. 2020; Papoudakis et al. 2021, Sec. 4.2)",
                "actions": ACTION_NAMES,
                "observation": "food (y, x, level) x n_food, then agents (y, x, level) x n_agents, self first",
                "global_state": "agent-level, food-level and access layers [3, grid, grid], flattened",
            },
        )
        object.__setattr__(self, "spec", spec)

    def _validate(self) -> None:
        _check_int("grid_size", self.grid_size, 3)
        _check_int("n_agents", self.n_agents, 1)
        _check_int("n_food", self.n_food, 1)
        _check_int("min_player_level", self.min_player_level, 1)
        _check_int("max_player_level", self.max_player_level, self.min_player_level)
        _check_int("min_food_level", self.min_food_level, 1)
        _check_int("max_episode_steps", self.max_episode_steps, 1)
        if self.max_food_level is not None:
            _check_int("max_food_level", self.max_food_level, self.min_food_level)
        elif not self.force_coop and self.min_food_level > min(self.n_agents, 3) * self.min_player_level:
            raise InvalidGameError(
                f"lbf: min_food_level={self.min_food_level} can exceed the episode's maximum food level (the sum "
                f"of the three lowest agent levels, as low as {min(self.n_agents, 3) * self.min_player_level}); "
                "lower min_food_level or set max_food_level"
            )
        if self.sight is not None:
            _check_int("sight", self.sight, 0)
        if not isinstance(self.force_coop, bool) or not isinstance(self.normalize_reward, bool):
            raise InvalidGameError("lbf: force_coop and normalize_reward must be True or False")
        if not (isinstance(self.penalty, (int, float)) and math.isfinite(self.penalty) and self.penalty >= 0):
            raise InvalidGameError(f"lbf: penalty must be a finite number >= 0, got {_plain(self.penalty)!r}")
        if not food_fits(self.grid_size, self.n_agents, self.n_food):
            raise InvalidGameError(
                f"lbf: {self.n_food} food and {self.n_agents} agents do not always fit on a {self.grid_size}x"
                f"{self.grid_size} grid (food spawns off the border, at Manhattan distance >= 3 from other food "
                f"and off agents, so it needs (grid_size - 2)^2 >= {cells_blocked_per_food(self.grid_size)} * "
                "(n_food - 1) + n_agents + 1); use "
                f"grid_size >= {min_grid_size(self.n_agents, self.n_food)} or fewer food or agents"
            )

    # -- static derived facts ---------------------------------------------------------------------------------
    @property
    def view_radius(self) -> int:
        """The sight radius in cells (the grid size when ``sight`` is None: the whole grid is seen)."""
        return self.grid_size if self.sight is None else self.sight

    @property
    def highest_food_level(self) -> int:
        """The largest food level any episode can spawn."""
        if self.max_food_level is not None:
            return self.max_food_level
        return min(self.n_agents, 3) * self.max_player_level

    # -- the contract -----------------------------------------------------------------------------------------
    def reset_env(self, key: Array) -> tuple[Array, LBFState]:
        g, n, f = self.grid_size, self.n_agents, self.n_food
        # All randomness in one block (one threefry call compiles and runs far faster than several).
        bits = jax.random.bits(key, (g * g + n + f,), jnp.uint32)
        # One random priority per cell: the agents take the n lowest (distinct cells, uniform, in random order),
        # then each food the lowest-priority cell still open to it, i.e. a uniform draw from the valid cells.
        priority = (bits[: g * g] >> 1).reshape(g, g)  # < SCORE_BLOCKED
        score, agent_pos, _ = claim_lowest(jnp.pad(priority, 2, constant_values=SCORE_BLOCKED), n, AGENT_STAMP)
        agent_level = uniform_integers(bits[g * g : g * g + n], self.min_player_level, self.max_player_level)
        interior = np.pad(np.pad(np.ones((g - 2, g - 2), bool), 1), 2)  # off the border (and the padding)
        _, food_pos, food_alive = claim_lowest(jnp.where(interior, score, SCORE_BLOCKED), f, FOOD_STAMP)
        order = jnp.argsort(jnp.where(food_alive, food_pos[:, 0] * g + food_pos[:, 1], g * g))
        food_pos, food_alive = food_pos[order], food_alive[order]

        if self.max_food_level is None:
            top = jnp.sum(jnp.sort(agent_level)[: min(n, 3)])
        else:
            top = jnp.int32(self.max_food_level)
        low = top if self.force_coop else jnp.int32(self.min_food_level)
        food_level = uniform_integers(bits[g * g + n :], low, top)
        food_spawned = jnp.sum(jnp.where(food_alive, food_level, 0)).astype(jnp.float32)
        state = LBFState(agent_pos, agent_level, food_pos, food_level, food_alive, food_spawned)
        return self.observe(state), state

    def step_env(self, key: Array, state: LBFState, actions: Array) -> tuple[Array, LBFState, Array, Array, dict]:
        del key  # LBF's transitions are deterministic
        g = self.grid_size
        actions = jnp.asarray(actions, jnp.int32)

        # Movement: an agent reaches its target cell only when no other agent names the same cell.
        target = jnp.clip(state.agent_pos + jnp.asarray(ACTION_DELTAS)[actions], 0, g - 1)
        target_cell = target[:, 0] * g + target[:, 1]
        claims = jnp.zeros(g * g, jnp.int32).at[target_cell].add(1)
        agent_pos = jnp.where((claims[target_cell] == 1)[:, None], target, state.agent_pos)

        # Loading: each loader's (unique) adjacent food; groups summed per food.
        food_id = self._food_id_grid(state)
        loader_food = self._adjacent_food(food_id, agent_pos)
        loads = (actions == LOAD) & (loader_food >= 0)
        food_of = jnp.where(loads, loader_food, self.n_food)  # n_food = "no food" bucket
        group_level = jax.ops.segment_sum(
            jnp.where(loads, state.agent_level, 0), food_of, num_segments=self.n_food + 1
        )[: self.n_food]
        collected = state.food_alive & (group_level > 0) & (group_level >= state.food_level)

        safe = jnp.clip(loader_food, 0, self.n_food - 1)
        got = loads & collected[safe]
        share = (state.agent_level * state.food_level[safe]).astype(jnp.float32)
        if self.normalize_reward:
            share = share / (jnp.maximum(group_level[safe], 1).astype(jnp.float32) * state.food_spawned)
        failed = loads & ~collected[safe]
        reward = jnp.where(got, share, 0.0) - jnp.where(failed, jnp.float32(self.penalty), 0.0)

        food_alive = state.food_alive & ~collected
        next_state = state._replace(agent_pos=agent_pos, food_alive=food_alive)
        terminated = ~jnp.any(food_alive)
        return self.observe(next_state), next_state, reward.astype(jnp.float32), terminated, {}

    def action_mask(self, state: LBFState) -> Array:
        """lbforaging's valid actions ``[n, 6]``: NONE; moves inside the grid onto cells without food; LOAD
        next to food."""
        food_id = self._food_id_grid(state)
        padded = state.agent_pos[:, None, :] + 1 + jnp.asarray(NEIGHBOUR_DELTAS)[None]  # [n, 4, 2]
        inside = jnp.all((padded >= 1) & (padded <= self.grid_size), axis=-1)
        has_food = food_id[padded[..., 0], padded[..., 1]] >= 0
        moves = inside & ~has_food
        load = jnp.any(has_food, axis=1, keepdims=True)
        none = jnp.ones_like(load)
        return jnp.concatenate([none, moves, load], axis=1)

    def global_state(self, state: LBFState) -> Array:
        g = self.grid_size
        agents = (
            jnp.zeros((g, g), jnp.float32)
            .at[state.agent_pos[:, 0], state.agent_pos[:, 1]]
            .max(state.agent_level.astype(jnp.float32))
        )
        food_level = jnp.where(state.food_alive, state.food_level, 0).astype(jnp.float32)
        food = jnp.zeros((g, g), jnp.float32).at[state.food_pos[:, 0], state.food_pos[:, 1]].add(food_level)
        access = ((agents == 0) & (food == 0)).astype(jnp.float32)
        return jnp.stack([agents, food, access]).reshape(-1)

    def render_env(self, state: LBFState) -> np.ndarray:
        """The grid (``RENDER_CELL`` pixels a cell, row 0 at the top): each uncollected food item's cell filled red
        with its level, each agent a disc of its palette colour (:data:`marlkit.envs.canvas.PALETTE`, agent order)
        with its level."""
        cell = RENDER_CELL
        canvas = grid_picture(self.grid_size, self.grid_size, cell)
        for (r, c), level, alive in zip(
            state.food_pos.tolist(), state.food_level.tolist(), state.food_alive.tolist(), strict=True
        ):
            if alive:
                canvas.rect(*cell_box(r, c, cell), FOOD_COLOUR)
                canvas.text(*cell_centre(r, c, cell), str(level), WHITE, size=cell // 2, anchor="mm")
        for i, ((r, c), level) in enumerate(zip(state.agent_pos.tolist(), state.agent_level.tolist(), strict=True)):
            x, y = cell_centre(r, c, cell)
            canvas.circle(x, y, 0.4 * cell, PALETTE[i % len(PALETTE)])
            canvas.text(x, y, str(level), WHITE, size=cell // 2, anchor="mm")
        return canvas.pixels

    # -- observation ------------------------------------------------------------------------------------------
    def observe(self, state: LBFState) -> Array:
        """Every agent's observation ``[n, 3 * n_food + 3 * n_agents]`` (lbforaging's vector format)."""
        return self._observe_all(state) if self.sees_everything else self._observe_windows(state)

    def _observe_windows(self, state: LBFState) -> Array:
        """:meth:`observe` for any sight: each observer compacts what its window shows."""
        s = self.view_radius
        n, f = self.n_agents, self.n_food
        pos = state.agent_pos
        origin = jnp.maximum(pos - s, 0)  # [n, 2] top-left corner of each view window

        # Food within Chebyshev distance s, listed in row-major order (food is stored in that order).
        food_rel = state.food_pos[None, :, :] - origin[:, None, :]  # [n, F, 2]
        near = jnp.all(jnp.abs(state.food_pos[None, :, :] - pos[:, None, :]) <= s, axis=-1)
        food_seen = state.food_alive[None, :] & near
        food_slot = jnp.where(food_seen, jnp.cumsum(food_seen, axis=1) - 1, f)
        level = jnp.broadcast_to(state.food_level[None, :, None], (n, f, 1))
        food_triples = jnp.concatenate([food_rel, level], axis=-1).astype(jnp.float32)
        food_block = jax.vmap(self._compact, in_axes=(0, 0, None))(food_triples, food_slot, f)

        # Agents whose window coordinates lie in [0, 2s]; the observer first, then the others in index order.
        agent_rel = pos[None, :, :] - origin[:, None, :]  # [n, n, 2]
        seen = jnp.all((agent_rel >= 0) & (agent_rel <= 2 * s), axis=-1)
        others = seen & ~jnp.eye(n, dtype=bool)
        agent_slot = jnp.where(jnp.eye(n, dtype=bool), 0, jnp.where(others, jnp.cumsum(others, axis=1), n))
        level = jnp.broadcast_to(state.agent_level[None, :, None], (n, n, 1))
        agent_triples = jnp.concatenate([agent_rel, level], axis=-1).astype(jnp.float32)
        agent_block = jax.vmap(self._compact, in_axes=(0, 0, None))(agent_triples, agent_slot, n)

        return jnp.concatenate([food_block.reshape(n, 3 * f), agent_block.reshape(n, 3 * n)], axis=1)

    @property
    def sees_everything(self) -> bool:
        """Whether every view window is the whole grid (``sight >= grid_size - 1``): then every agent sees all
        agents and food in absolute coordinates."""
        return self.view_radius >= self.grid_size - 1

    def _observe_all(self, state: LBFState) -> Array:
        """:meth:`observe` when everyone sees everything: one food list for all, and the agent list with the
        observer moved to the front — no per-observer compaction."""
        n, f = self.n_agents, self.n_food
        food_triples = jnp.concatenate([state.food_pos, state.food_level[:, None]], axis=1).astype(jnp.float32)
        food_block = self._compact(food_triples, jnp.where(state.food_alive, jnp.cumsum(state.food_alive) - 1, f), f)
        agent_triples = jnp.concatenate([state.agent_pos, state.agent_level[:, None]], axis=1).astype(jnp.float32)
        # Observer a's slot k >= 1 holds agent k - 1 when k - 1 < a, else agent k (a select, not a gather).
        before_self = (np.arange(1, n)[None, :] - 1 < np.arange(n)[:, None])[..., None]  # [n, n - 1, 1]
        others = jnp.where(before_self, agent_triples[None, :-1], agent_triples[None, 1:])
        agent_block = jnp.concatenate([agent_triples[:, None, :], others], axis=1)
        food_block = jnp.broadcast_to(food_block.reshape(1, 3 * f), (n, 3 * f))
        return jnp.concatenate([food_block, agent_block.reshape(n, 3 * n)], axis=1)

    @staticmethod
    def _compact(triples: Array, slots: Array, size: int) -> Array:
        """Write ``triples[k]`` to row ``slots[k]`` of a ``[size, 3]`` block of ``(-1, -1, 0)``; slot ``size``
        means "not seen" and is dropped."""
        empty = jnp.tile(jnp.array([-1.0, -1.0, 0.0], jnp.float32), (size, 1))
        return empty.at[slots].set(triples, mode="drop")

    # -- helpers ----------------------------------------------------------------------------------------------
    def _food_id_grid(self, state: LBFState) -> Array:
        """``[g + 2, g + 2]`` int32: the index of the uncollected food in each cell, -1 elsewhere; padded by one
        cell of -1 so neighbour look-ups need no bounds checks."""
        g = self.grid_size
        rows = jnp.where(state.food_alive, state.food_pos[:, 0] + 1, g + 2)  # collected food: dropped
        ids = jnp.arange(self.n_food, dtype=jnp.int32)
        return jnp.full((g + 2, g + 2), -1, jnp.int32).at[rows, state.food_pos[:, 1] + 1].set(ids, mode="drop")

    def _adjacent_food(self, food_id: Array, agent_pos: Array) -> Array:
        """The food next to each agent ``[n]`` (-1 for none); spawning guarantees at most one."""
        padded = agent_pos[:, None, :] + 1 + jnp.asarray(NEIGHBOUR_DELTAS)[None]
        return jnp.max(food_id[padded[..., 0], padded[..., 1]], axis=1)


__all__ = ["ACTION_NAMES", "LBFState", "LevelBasedForaging", "cells_blocked_per_food", "food_fits", "min_grid_size"]
