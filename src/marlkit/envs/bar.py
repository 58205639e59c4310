"""The bar problem: a congestion game whose team reward hides each agent's contribution.

Source: Wolpert & Tumer (2001), "Optimal payoff functions for members of collectives", Advances in Complex
Systems 4(2-3) — the bar problem, a variant of Arthur's (1994) El Farol bar problem; and its use as the standard
test of difference rewards in Agogino & Tumer (2004), "Unifying temporal and structural credit assignment
problems" (AAMAS; the multi-night, multi-step version) and Agogino & Tumer (2008), "Analyzing and visualizing
multiagent rewards in dynamical and stochastic domains" (JAAMAS 17).

**Game.** ``n`` agents each pick one of ``K`` nights to attend the bar. Night ``k``'s attendance is ``x_k`` (the
number of agents who picked it) and the night's enjoyment is ``phi(x_k) = x_k exp(-x_k / c)`` for a capacity
``c``: it rises while the bar is below capacity and collapses when it is crowded (``phi`` peaks at ``x = c``).
The system (world) reward is Wolpert & Tumer's bar-problem world utility for one week,

    G(a) = sum_k x_k(a) exp(-x_k(a) / c),

and every agent receives ``G`` — the team reward that hides individual contributions: one agent's choice moves
``G`` by at most ``phi(x) - phi(x - 1)`` of two nights, buried under the choices of ``n - 1`` others. When
``n / K`` is well above ``c`` the best allocation is *not* an even spread: ``K - 1`` nights at about capacity and
one night that takes everyone else, the "sacrifice" the agents have to coordinate on (:func:`optimal_reward`
finds the best value exactly). The defaults ``n = 30, K = 6, c = 2`` are such a case: an even spread (5 a night)
gives ``G = 2.46``, the optimum (five nights of 2, one of 20) ``G = 3.68``.

**Episodes.** An episode is ``num_steps`` weeks (default 1: the one-shot game of Wolpert & Tumer; more gives
the temporal version of Agogino & Tumer 2004, whose G sums over the weeks). The episode *terminates* after its
last week — a finite game, not a time limit — so learners do not bootstrap past it.

**Observation** (float32 ``[n + K]``): agent ``i``'s one-hot id, then last week's attendance fractions ``x / n``
(zeros in the first week). The game is stateless, so the id is what lets agents with a *shared* network still
pick different nights — and the optimum needs them to; the attendance makes multi-week episodes the El Farol
setting where agents see how crowded the bar was. **Global state** ``[K]``: last week's attendance fractions.

**Noise** (``slip``, our addition to make the task stochastic): each agent independently ends up on a uniformly
random night with probability ``slip`` instead of the one it chose. The draws depend on the step's key only, not
on the actions, so replaying a step with the same key and other actions keeps every slip (common random numbers:
the exact counterfactuals of :class:`marlkit.agents.credit.DifferenceRewards`). ``info`` holds the realised
``night [n]`` int32, ``slipped [n]`` bool and ``attendance [K]`` float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import Env, MultiAgentSpec
from marlkit.envs.canvas import BLACK, GREY, PALETTE, Canvas
from marlkit.errors import InvalidGameError

Array = jax.Array


class BarState(NamedTuple):
    """The bar problem's state: last week's attendance per night and the week within the episode."""

    attendance: Array  # [K] float32 (zeros at reset)
    week: Array  # [] int32 — weeks played this episode


def night_reward(attendance: Array, capacity: float) -> Array:
    """``phi(x) = x exp(-x / c)`` per night (Wolpert & Tumer 2001's bar-problem utility of one night)."""
    return attendance * jnp.exp(-attendance / capacity)


def system_reward(attendance: Array, capacity: float) -> Array:
    """The world utility ``G = sum_k x_k exp(-x_k / c)`` of one week, over the last axis of ``attendance``."""
    return night_reward(attendance, capacity).sum(axis=-1)


def optimal_reward(n_agents: int, num_nights: int, capacity: float) -> tuple[float, tuple[int, ...]]:
    """The best week ``max_a G(a)`` and an attendance that reaches it, exactly (float64).

    ``G`` depends on the actions only through the attendance, so this is a resource allocation of ``n`` agents to
    ``K`` nights, solved by dynamic programming over nights: ``V_k(m) = max_x V_{k-1}(m - x) + phi(x)``.
    Returns ``(G*, attendance)`` with the attendance sorted in decreasing order.
    """
    n, K = int(n_agents), int(num_nights)
    x = np.arange(n + 1, dtype=np.float64)
    phi = x * np.exp(-x / float(capacity))
    value = np.where(np.arange(n + 1) == 0, 0.0, -np.inf)  # V_0(m): no nights, no agent may be left over
    choices = []
    for _ in range(K):
        # total[m, y] = V(m - y) + phi(y) for y <= m (agents m on the nights so far, y of them on this night)
        y = np.arange(n + 1)
        rest = np.arange(n + 1)[:, None] - y[None, :]
        total = np.where(rest >= 0, value[np.clip(rest, 0, n)] + phi[None, :], -np.inf)
        choices.append(np.argmax(total, axis=1))
        value = np.max(total, axis=1)
    attendance, left = [], n
    for choice in reversed(choices):
        attendance.append(int(choice[left]))
        left -= attendance[-1]
    return float(value[n]), tuple(sorted(attendance, reverse=True))


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InvalidGameError(f"bar_problem: {name} must be an integer >= {low}, got {value!r}")


def _check_number(name: str, value: object, low: float, high: float, rule: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.floating | np.integer)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise InvalidGameError(f"bar_problem: {name} must be {rule}, got {value!r}")


@dataclass(frozen=True)
class BarProblem(Env):
    """The bar problem (see the module docstring): ``n_agents`` pick one of ``num_nights`` nights of bar
    ``capacity``; everyone receives ``G = sum_k x_k exp(-x_k / c)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> env = BarProblem(n_agents=3, num_nights=2, capacity=1.0)
        >>> obs, state = env.reset(jax.random.key(0))
        >>> _, _, reward, done, info = env.step(jax.random.key(1), state, jnp.array([0, 0, 1]))
        >>> info["attendance"].tolist(), round(float(reward[0]), 4), bool(done)  # 2 e^-2 + 1 e^-1
        ([2.0, 1.0], 0.6386, True)
    """

    n_agents: int = 30
    num_nights: int = 6
    capacity: float = 2.0
    num_steps: int = 1
    slip: float = 0.0
    spec: MultiAgentSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_int("n_agents", self.n_agents, 1)
        _check_int("num_nights", self.num_nights, 1)
        _check_int("num_steps", self.num_steps, 1)
        _check_number("capacity", self.capacity, 0.0, math.inf, "a finite number > 0")
        _check_number("slip", self.slip, 0.0, 1.0, "a probability in [0, 1]")
        if self.capacity == 0:
            raise InvalidGameError(f"bar_problem: capacity must be a finite number > 0, got {self.capacity!r}")
        n, K = self.n_agents, self.num_nights
        spec = MultiAgentSpec(
            name=f"bar-{n}a-{K}n-c{self.capacity:g}",
            n_agents=n,
            agent_names=tuple(f"agent_{i}" for i in range(n)),
            obs_shape=(n + K,),
            obs_sizes=(n + K,) * n,
            num_actions=(K,) * n,
            global_state_size=K,
            max_episode_steps=self.num_steps,
            obs_low=0.0,
            obs_high=1.0,
            description={
                "source": "Wolpert & Tumer 2001 (Adv. Complex Syst. 4); Agogino & Tumer 2004 (AAMAS), 2008 (JAAMAS)",
                "actions": tuple(f"night_{k}" for k in range(K)),
                "observation": "one-hot agent id [n], then last week's attendance fractions x / n [K]",
                "global_state": "last week's attendance fractions x / n [K]",
                "reward": "G = sum_k x_k exp(-x_k / capacity), the same for every agent",
            },
        )
        object.__setattr__(self, "spec", spec)

    def _observe(self, attendance: Array) -> Array:
        ids = jnp.eye(self.n_agents, dtype=jnp.float32)
        seen = jnp.broadcast_to(attendance / self.n_agents, (self.n_agents, self.num_nights))
        return jnp.concatenate([ids, seen.astype(jnp.float32)], axis=1)

    def reset_env(self, key: Array) -> tuple[Array, BarState]:
        attendance = jnp.zeros(self.num_nights, jnp.float32)
        return self._observe(attendance), BarState(attendance, jnp.int32(0))

    def realised_nights(self, key: Array, actions: Array) -> tuple[Array, Array]:
        """Where the agents end up: ``(night [n] int32, slipped [n] bool)``. The slips come from ``key`` alone
        (never from the actions): the same key slips the same agents to the same nights whatever they chose."""
        if self.slip == 0:
            return actions.astype(jnp.int32), jnp.zeros(self.n_agents, bool)
        k_slip, k_night = jax.random.split(key)
        slipped = jax.random.uniform(k_slip, (self.n_agents,)) < self.slip
        random_night = jax.random.randint(k_night, (self.n_agents,), 0, self.num_nights, jnp.int32)
        return jnp.where(slipped, random_night, actions).astype(jnp.int32), slipped

    def step_env(self, key: Array, state: BarState, actions: Array) -> tuple[Array, BarState, Array, Array, dict]:
        night, slipped = self.realised_nights(key, actions)
        attendance = jax.nn.one_hot(night, self.num_nights, dtype=jnp.float32).sum(axis=0)
        reward = jnp.full(self.n_agents, system_reward(attendance, self.capacity), jnp.float32)
        week = state.week + 1
        info = {"attendance": attendance, "night": night, "slipped": slipped}
        return self._observe(attendance), BarState(attendance, week), reward, week >= self.num_steps, info

    def global_state(self, state: BarState) -> Array:
        return (state.attendance / self.n_agents).astype(jnp.float32)

    def render_env(self, state: BarState) -> np.ndarray:
        """Last week's attendance as one bar per night (height ``x_k / n`` of the plot), blue at or below the
        capacity ``c`` (dashed line), red above it, each labelled with ``x_k``; the week and ``G`` of that week
        in the title."""
        K, n, c = self.num_nights, self.n_agents, float(self.capacity)
        bar, gap, top, bottom, left = 40, 16, 40, 30, 16
        plot = 240
        width = left * 2 + K * (bar + gap) - gap
        canvas = Canvas(top + plot + bottom, max(width, 200))
        x = np.asarray(state.attendance, np.float64)
        scale = plot / n
        base = top + plot
        canvas.rect(left, base, left + K * (bar + gap) - gap, base + 1, BLACK)
        for k in range(K):
            x0 = left + k * (bar + gap)
            colour = PALETTE[0] if x[k] <= c else PALETTE[3]
            canvas.rect(x0, base - x[k] * scale, x0 + bar, base, colour)
            canvas.text(x0 + bar / 2, base - x[k] * scale - 2, f"{x[k]:g}", BLACK, size=12, anchor="md")
            canvas.text(x0 + bar / 2, base + 4, f"night {k}", BLACK, size=10, anchor="mt")
        line = base - c * scale
        for x0 in range(left, left + K * (bar + gap) - gap, 8):
            canvas.rect(x0, line, x0 + 4, line + 1, GREY)
        g = float(np.sum(x * np.exp(-x / c)))
        canvas.text(left, 8, f"week {int(state.week)}   G = {g:.3f}   capacity {c:g}", BLACK, size=13)
        return canvas.pixels


__all__ = ["BarProblem", "BarState", "night_reward", "optimal_reward", "system_reward"]
