"""An exact game as a functional JAX environment (DESIGN.md, "Env"): ``reset`` / ``step`` over explicit state.

:class:`TabularEnv` holds a :class:`~marlkit.games.StochasticGame` as float32 arrays (a pytree: it can be
passed through ``jax.jit`` and ``jax.vmap``; the shape information is static), with joint actions flattened in
C order, ``j = ravel_multi_index(a, (A_1, ..., A_n))``:

* ``transition_cdf [S, J, S]``: cumulative T(·|s, a), last entry exactly 1; s' = #{k : cdf[k] <= u} for
  u ~ U[0, 1), so next states with probability 0 are never drawn (float32 resolves probabilities down to ~6e-8);
* ``rewards [S, J, n]``, ``initial_cdf [S]``, ``terminal [S]``, ``action_mask [n, S, A_max]``;
* ``costs [S, J, n, m]`` for constrained games (reported as ``info["cost"]``).

Contract: ``reset(key) -> (obs, state)``, ``step(key, state, actions [n]) -> (obs, state, reward [n], done,
info)``. Tabular observations are the state index per agent, ``obs [n]`` int32. ``info`` holds
``terminated``, ``truncated``, ``action_mask [n, A_max]`` (at the returned obs), ``final_obs [n]`` (the state
reached, before any auto-reset: learners bootstrap from it), ``actions [n]`` (as executed), ``illegal_action
[n]`` and ``global_state``. ``step`` **auto-resets**: when an episode ends the returned obs/state are a fresh
start drawn from the initial distribution.

Episodes end at terminal states, or are truncated after ``max_episode_steps`` steps. Default: ``1`` for a
one-state game without terminal states (a repeated normal-form game: every step is one play of the stage game,
so an episode's return is the stage payoff); no time limit otherwise (a game without terminal states then
never finishes an episode — set ``max_episode_steps`` to get episode returns).

``step_uniform(u, state, actions)`` is ``step`` with its uniforms given (``spec.num_uniforms`` of them: none is
drawn for a deterministic transition or a point-mass initial distribution); the training loop draws them in
blocks (see :mod:`marlkit.train.loop`).

Illegal actions inside the compiled path are **replaced by the agent's first legal action** and flagged in
``info["illegal_action"]``; :func:`check_actions` validates actions at the Python edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame

Array = jax.Array

NO_TIME_LIMIT = np.iinfo(np.int32).max


class EnvState(NamedTuple):
    """The simulator state: the current game state and the number of steps taken in this episode."""

    state: Array  # [] int32
    time: Array  # [] int32


@dataclass(frozen=True)
class EnvSpec:
    """Static facts about a tabular env (hashable)."""

    n_agents: int
    num_states: int
    num_actions: tuple[int, ...]
    gamma: float
    max_episode_steps: int
    num_constraints: int
    random_transitions: bool = True
    random_initial: bool = True

    @property
    def num_uniforms(self) -> int:
        """Uniforms one ``step_uniform`` consumes: one for s' unless every used transition row is
        deterministic, one for the reset state unless the initial distribution is a point mass."""
        return int(self.random_transitions) + int(self.random_initial)

    @property
    def max_actions(self) -> int:
        return max(self.num_actions)

    @property
    def num_joint_actions(self) -> int:
        return int(np.prod(self.num_actions))


@dataclass(frozen=True, eq=False)
class TabularEnv:
    """A stochastic game as a functional, jit-able simulator; build it with :func:`make_env`."""

    transition_cdf: Array
    rewards: Array
    initial_cdf: Array
    terminal: Array
    action_mask: Array
    first_legal: Array  # [n, S] int32: the replacement for an illegal action
    costs: Array | None
    spec: EnvSpec

    # ---------------------------------------------------------------------------------------------- API
    def observe(self, state: Array) -> Array:
        """Tabular observation of every agent: the state index, ``[n]`` int32."""
        return jnp.full((self.spec.n_agents,), state, dtype=jnp.int32)

    def _draw_initial(self, u: Array) -> Array:
        return jnp.sum(self.initial_cdf <= u).astype(jnp.int32)

    def reset(self, key: Array) -> tuple[Array, EnvState]:
        state = EnvState(self._draw_initial(jax.random.uniform(key)), jnp.int32(0))
        return self.observe(state.state), state

    def _next_state(self, s: Array, j: Array, u: Array) -> Array:
        row = self.transition_cdf[s, j]
        if not self.spec.random_transitions:  # static: every used row is a point mass; no uniform consumed
            return jnp.argmax(row > 0).astype(jnp.int32)
        return jnp.sum(row <= u[0]).astype(jnp.int32)

    def _reset_state(self, u: Array) -> Array:
        if not self.spec.random_initial:
            return jnp.argmax(self.initial_cdf > 0).astype(jnp.int32)
        return self._draw_initial(u[self.spec.num_uniforms - 1])

    def joint_index(self, actions: Array) -> Array:
        """Flat C-order index of a joint action ``[n]``."""
        strides = np.cumprod((1, *self.spec.num_actions[:0:-1]))[::-1].astype(np.int32)
        return jnp.sum(actions * strides).astype(jnp.int32)

    def legalise(self, state: Array, actions: Array) -> tuple[Array, Array]:
        """Replace out-of-range or masked actions by the first legal one; returns ``(actions, illegal)``."""
        a_max = self.spec.max_actions
        actions = actions.astype(jnp.int32)
        in_range = (actions >= 0) & (actions < a_max)
        legal = self.action_mask[jnp.arange(self.spec.n_agents), state, jnp.clip(actions, 0, a_max - 1)]
        ok = in_range & legal
        return jnp.where(ok, actions, self.first_legal[:, state]), ~ok

    def step(
        self, key: Array, state: EnvState, actions: Array
    ) -> tuple[Array, EnvState, Array, Array, dict[str, Array]]:
        return self.step_uniform(jax.random.uniform(key, (self.spec.num_uniforms,)), state, actions)

    def step_uniform(
        self, u: Array, state: EnvState, actions: Array
    ) -> tuple[Array, EnvState, Array, Array, dict[str, Array]]:
        """``step`` with its randomness given: ``u [spec.num_uniforms]`` uniforms in [0, 1) — the next state's
        (if transitions are random), then the reset state's (if the initial distribution is)."""
        s = state.state
        actions, illegal = self.legalise(s, actions)
        j = self.joint_index(actions)
        s_next = self._next_state(s, j, u)
        reward = self.rewards[s, j]
        terminated = self.terminal[s_next]
        time = jnp.minimum(state.time + 1, self.spec.max_episode_steps)
        truncated = (time >= self.spec.max_episode_steps) & ~terminated
        done = terminated | truncated
        s_out = jnp.where(done, self._reset_state(u), s_next)
        new_state = EnvState(s_out, jnp.where(done, 0, time).astype(jnp.int32))
        info = {
            "terminated": terminated,
            "truncated": truncated,
            "action_mask": self.action_mask[:, s_out],
            "final_obs": self.observe(s_next),
            "actions": actions,
            "illegal_action": illegal,
            "global_state": s_out,
        }
        if self.costs is not None:
            info["cost"] = self.costs[s, j]
        return self.observe(s_out), new_state, reward, done, info


jax.tree_util.register_dataclass(
    TabularEnv,
    data_fields=["transition_cdf", "rewards", "initial_cdf", "terminal", "action_mask", "first_legal", "costs"],
    meta_fields=["spec"],
)


def _cumulative(p: np.ndarray) -> np.ndarray:
    """float64 cumulative sum along the last axis, cast to float32 with the last entry exactly 1."""
    cdf = np.cumsum(p, axis=-1)
    cdf = np.clip(cdf / cdf[..., -1:], 0.0, 1.0).astype(np.float32)
    cdf[..., -1] = 1.0
    return cdf


def as_stochastic(game: NormalFormGame | StochasticGame) -> StochasticGame:
    """A normal-form game becomes its one-state repeated game with ``gamma = 0`` (use ``repeated_game`` for
    another discount); a stochastic game passes through."""
    if isinstance(game, NormalFormGame):
        return game.to_stochastic(0.0)
    if isinstance(game, StochasticGame):
        return game
    raise InvalidGameError(f"game: expected a NormalFormGame or StochasticGame, got {type(game).__name__}")


def make_env(game: NormalFormGame | StochasticGame, max_episode_steps: int | None = None) -> TabularEnv:
    """Build the simulator of an exact game (see the module docstring for the episode rule)."""
    g = as_stochastic(game)
    if g.is_partially_observable:
        raise NotApplicableError(
            f"game {g.name!r} is partially observable; the tabular env gives agents the state index. "
            "Drop the observation model to learn on the underlying stochastic game."
        )
    if np.any(g.initial[g.terminal] > 0):
        raise NotApplicableError(
            f"game {g.name!r}: the initial distribution puts mass on a terminal state; episodes must start in "
            "a non-terminal state"
        )
    S, n, shape = g.num_states, g.n_players, g.num_actions
    if max_episode_steps is None:
        one_shot = S == 1 and not np.any(g.terminal)
        limit = 1 if one_shot else NO_TIME_LIMIT
    else:
        if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int | np.integer):
            raise InvalidGameError(f"max_episode_steps: expected a positive integer, got {max_episode_steps!r}")
        if not 1 <= max_episode_steps <= NO_TIME_LIMIT:
            raise InvalidGameError(
                f"max_episode_steps: expected an integer in 1..{NO_TIME_LIMIT}, got {max_episode_steps}"
            )
        limit = int(max_episode_steps)
    J = int(np.prod(shape))
    T = g.transitions.reshape(S, J, S).copy()
    # Rows never used (terminal states, illegal joint actions) may not be distributions: make them self-loops.
    unused = ~g.legal_joint_actions().reshape(S, J) | g.terminal[:, None]
    rows, cols = np.nonzero(unused)
    T[rows, cols] = 0.0
    T[rows, cols, rows] = 1.0
    rewards = np.moveaxis(g.rewards.reshape(n, S, J), 0, -1)
    costs = None
    if g.costs is not None:
        m = g.num_constraints
        costs = jnp.asarray(np.moveaxis(g.costs.reshape(n, m, S, J), (0, 1), (2, 3)), dtype=jnp.float32)
    mask = np.asarray(g.action_mask)
    return TabularEnv(
        transition_cdf=jnp.asarray(_cumulative(T)),
        rewards=jnp.asarray(rewards, dtype=jnp.float32),
        initial_cdf=jnp.asarray(_cumulative(g.initial)),
        terminal=jnp.asarray(g.terminal),
        action_mask=jnp.asarray(mask),
        first_legal=jnp.asarray(np.argmax(mask, axis=2).astype(np.int32)),
        costs=costs,
        spec=EnvSpec(
            n_agents=n,
            num_states=S,
            num_actions=shape,
            gamma=float(g.gamma),
            max_episode_steps=limit,
            num_constraints=g.num_constraints,
            random_transitions=bool(np.any((T > 0).sum(axis=2) > 1)),
            random_initial=bool(np.sum(g.initial > 0) > 1),
        ),
    )


def check_actions(env: TabularEnv, state: int, actions: object) -> np.ndarray:
    """Validate a joint action at the Python edge (outside jit): in range and legal in ``state``."""
    a = np.asarray(actions)
    n = env.spec.n_agents
    if a.shape != (n,) or a.dtype.kind not in "iu":
        raise InvalidGameError(f"actions: expected {n} integer actions (one per agent), got {a!r}")
    mask = np.asarray(env.action_mask)
    for i, (ai, m) in enumerate(zip(a, env.spec.num_actions, strict=True)):
        if not 0 <= int(ai) < m or not mask[i, state, int(ai)]:
            legal = np.flatnonzero(mask[i, state]).tolist()
            raise InvalidGameError(f"actions[{i}]: action {int(ai)} is not legal in state {state}; legal: {legal}")
    return a.astype(np.int32)
