"""A scripted human-like partner for the cooking task: overcooked-ai's ``GreedyHumanModel`` with Boltzmann choice,
in JAX, as a pure function of ``(key, state, agent)``.

Source: ``overcooked_ai_py/agents/agent.py`` (``GreedyHumanModel.ml_action`` / ``action``, Carroll et al. 2019) with
its ``hl_boltzmann_rational`` / ``ll_boltzmann_rational`` options. Each step:

1. **Sub-goal by rule** (``ml_action``). Empty-handed: if some pot is cooking or ready and the other chef holds no
   dish, *get a dish* (dish dispensers and dishes on counters); otherwise *get an onion* (onion dispensers and
   onions on counters). Holding an onion: *put it in a pot* with fewer than 3 onions. Holding a dish: *take soup*
   from a pot that is cooking or ready (``only_nearly_ready=True``). Holding a soup: *serve*. When no target of the
   rule is reachable, go to the closest dispenser or pot (``go_to_closest_feature_actions``).
2. **Goal by Boltzmann choice** among the rule's target cells: ``P(g) ∝ exp(-β_goal · cost(g))`` with ``cost(g)``
   the fewest actions to reach a pose facing ``g`` plus one INTERACT, on the empty kitchen (the other chef ignored,
   as overcooked-ai's motion planner ignores it). β_goal = ∞ is overcooked-ai's default ``choose_motion_goal``.
3. **Action by Boltzmann choice** toward the goal: ``P(a | g) ∝ exp(-β_action · Q(a, g))``, ``Q`` the plan cost
   after taking ``a`` (1 + the remaining cost; INTERACT costs 1 when facing the goal, else it is a wasted step like
   STAY). β_action = ∞ follows a shortest path (ties split evenly) and interacts on arrival.
4. **Unstuck** (``auto_unstuck``): when neither chef's cell nor facing changed in the last step, act uniformly among
   the moves that would change this chef's cell if the other stood still (STAY when none).

The action distribution is exact (:func:`greedy_probabilities` marginalises the goal), so its log-likelihood can be
used to fit β from logged play. Differences from overcooked-ai: the low-level Boltzmann choice applies at every pose
(overcooked-ai applies it only on the goal's cell) and shortest-path ties are split evenly (overcooked-ai's planner
takes one fixed path); the goal is re-drawn every step, as in overcooked-ai; "stuck" is read from the state's
previous poses (:class:`~marlkit.envs.cooking.env.CookingState` ``prev_pos``) instead of the agent's memory, so the
function is pure; onion soups only (no tomatoes, no order list).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from marlkit.envs.base import TimeState
from marlkit.envs.cooking.env import DISH, ONION, ONIONS_PER_SOUP, SOUP, Cooking, CookingState
from marlkit.envs.cooking.layouts import (
    ACTION_DELTAS,
    DISH_PILE,
    FLOOR,
    INTERACT,
    NUM_ACTIONS,
    ONION_PILE,
    POT,
    SERVE,
    STAY,
    UNREACHABLE,
)
from marlkit.errors import InvalidGameError

Array = jax.Array


def boltzmann(costs: Array, allowed: Array, beta: Array) -> Array:
    """``P ∝ exp(-β (cost - min cost))`` over ``allowed`` entries (last axis); β = ∞ splits evenly among the
    cheapest; β = 0 is uniform over ``allowed``."""
    best = jnp.min(jnp.where(allowed, costs, jnp.inf), axis=-1, keepdims=True)
    gap = costs - best
    logits = jnp.where(gap == 0, 0.0, -beta * jnp.where(gap == 0, 1.0, gap))
    weights = jnp.where(allowed, jnp.exp(logits), 0.0)
    return weights / jnp.sum(weights, axis=-1, keepdims=True)


def goal_cells(env: Cooking, state: CookingState, agent: Array) -> Array:
    """Rule 1: the target cells ``[H * W]`` bool of the chef's current sub-goal (fallback not applied)."""
    k = env.kitchen
    terrain, items = jnp.asarray(k.terrain).reshape(-1), state.items.reshape(-1)
    held = state.held[agent]
    other_has_dish = jnp.any((state.held == DISH) & (jnp.arange(len(k.start)) != agent))
    pots = jnp.asarray(k.pots)
    pot_cell = pots[:, 0] * k.shape[1] + pots[:, 1]
    full = state.pot_onions == ONIONS_PER_SOUP
    full_cells = jnp.zeros(terrain.shape, bool).at[pot_cell].set(full)
    open_cells = jnp.zeros(terrain.shape, bool).at[pot_cell].set(~full)
    get_dish = (terrain == DISH_PILE) | (items == DISH)
    get_onion = (terrain == ONION_PILE) | (items == ONION)
    empty_goal = jnp.where(jnp.any(full) & ~other_has_dish, get_dish, get_onion)
    return jnp.select(
        [held == ONION, held == DISH, held == SOUP],
        [open_cells, full_cells, terrain == SERVE],
        empty_goal,
    )


def greedy_probabilities(
    env: Cooking,
    state: CookingState | TimeState,
    agent: Array | int,
    beta_goal: Array | float,
    beta_action: Array | float,
) -> Array:
    """The greedy human's action distribution ``[6]`` at ``state`` for chef ``agent`` (module docstring, steps
    1-4). Pure and jittable; ``agent`` and the β's may be traced arrays (β ≥ 0, ∞ allowed)."""
    inner = state.inner if isinstance(state, TimeState) else state
    k = env.kitchen
    width = k.shape[1]
    agent = jnp.asarray(agent, jnp.int32)
    distance = jnp.asarray(k.interact_distance)  # [poses, cells]
    next_pose = jnp.asarray(k.next_pose)  # [poses, 6]
    pos = inner.pos[agent]
    pose = (pos[0] * width + pos[1]) * 4 + inner.facing[agent]

    here = distance[pose]  # [cells]
    reachable = here < UNREACHABLE
    wanted = goal_cells(env, inner, agent) & reachable
    terrain = jnp.asarray(k.terrain).reshape(-1)
    fallback = ((terrain == ONION_PILE) | (terrain == DISH_PILE) | (terrain == POT)) & reachable
    targets = jnp.where(jnp.any(wanted), wanted, fallback)
    goal_p = boltzmann(here.astype(jnp.float32) + 1.0, targets, jnp.asarray(beta_goal, jnp.float32))  # [cells]

    after = distance[next_pose[pose]].astype(jnp.float32)  # [6, cells]: remaining actions after each action
    q = 2.0 + after  # the action, the remaining path, then INTERACT
    q = q.at[INTERACT].set(jnp.where(here == 0, 1.0, 2.0 + here.astype(jnp.float32)))
    action_p = boltzmann(q.T, jnp.ones_like(q.T, bool), jnp.asarray(beta_action, jnp.float32))  # [cells, 6]
    probs = jnp.sum(goal_p[:, None] * jnp.where(targets[:, None], action_p, 0.0), axis=0)

    # Step 4: unstuck when no chef's pose changed in the last step.
    stuck = jnp.all(inner.pos == inner.prev_pos) & jnp.all(inner.facing == inner.prev_facing)
    target = pos[None, :] + jnp.asarray(ACTION_DELTAS[:4])
    floor = jnp.asarray(k.terrain)[target[:, 0], target[:, 1]] == FLOOR
    others = (jnp.arange(len(k.start)) != agent)[:, None, None]
    occupied = jnp.any(others & jnp.all(inner.pos[:, None, :] == target[None], axis=-1)[..., None], axis=(0, 2))
    frees = jnp.concatenate([floor & ~occupied, jnp.zeros(NUM_ACTIONS - 4, bool)]).astype(jnp.float32)
    stay = jax.nn.one_hot(STAY, NUM_ACTIONS)
    unstuck = jnp.where(jnp.any(frees > 0), frees / jnp.maximum(jnp.sum(frees), 1.0), stay)
    return jnp.where(stuck, unstuck, probs)


def greedy_action(
    env: Cooking,
    key: Array,
    state: CookingState | TimeState,
    agent: Array | int,
    beta_goal: Array | float,
    beta_action: Array | float,
) -> Array:
    """One draw from :func:`greedy_probabilities` (int32)."""
    probs = greedy_probabilities(env, state, agent, beta_goal, beta_action)
    return jax.random.choice(key, NUM_ACTIONS, p=probs).astype(jnp.int32)


@dataclass(frozen=True)
class GreedyHuman:
    """The greedy human partner on ``env`` with inverse temperatures ``beta_goal`` (among sub-goal targets) and
    ``beta_action`` (among actions); ``float('inf')`` for a greedy choice. Calling it is the pure policy
    ``(key, state, agent) -> action``; :meth:`probabilities` gives the exact distribution."""

    env: Cooking
    beta_goal: float = 1.0
    beta_action: float = 3.0

    def __post_init__(self) -> None:
        for name in ("beta_goal", "beta_action"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidGameError(f"greedy human: {name} must be a number >= 0 (inf allowed), got {value!r}")

    def __call__(self, key: Array, state: CookingState | TimeState, agent: Array | int) -> Array:
        return greedy_action(self.env, key, state, agent, self.beta_goal, self.beta_action)

    def probabilities(self, state: CookingState | TimeState, agent: Array | int) -> Array:
        return greedy_probabilities(self.env, state, agent, self.beta_goal, self.beta_action)

    def act(self, key: Array, state: CookingState | TimeState, obs: Array, action_mask: Array) -> Array:
        """Every chef's greedy action (the :class:`marlkit.envs.partner.Partner` interface: as a frozen partner in
        :class:`~marlkit.envs.partner.WithPartner`, the env keeps the partner chefs' actions)."""
        agents = jnp.arange(self.env.spec.n_agents)
        return jax.vmap(lambda k, i: self(k, state, i))(jax.random.split(key, agents.shape[0]), agents)


__all__ = ["GreedyHuman", "boltzmann", "goal_cells", "greedy_action", "greedy_probabilities"]
