"""The functional multi-agent environment contract that every marlkit simulator follows (docs/architecture.md,
"Contracts").

An :class:`Env` is an immutable object (hashable, safe to close over in ``jax.jit``) with two pure functions:

* ``reset(key) -> (obs, state)``;
* ``step(key, state, actions) -> (obs, state, reward, done, info)``, which **auto-resets**: when the episode
  ends (``done``) the returned ``obs``/``state`` already start the next episode, and ``info["final_obs"]`` holds
  the observation the episode ended on (for bootstrapping on truncation).

Agents are a leading array axis: ``obs [n, *obs_shape]`` (float32; agents whose observation is shorter are
zero-padded to the common shape, their true size is ``spec.obs_sizes[i]``), ``actions [n]`` int32 (discrete
actions; agents with fewer actions than ``spec.max_actions`` have the rest masked), ``reward [n]`` float32,
``done []`` bool.

**Continuous (Box) actions** (``spec.continuous``: the spec has ``action_low`` / ``action_high``): agent i's action
is a vector of ``spec.num_actions[i]`` reals (its action *dimension*) in the box ``[action_low[i],
action_high[i]]``; the joint action is ``float32 [n, D_max]`` (``D_max = spec.max_actions``; an agent with fewer
dimensions has its last entries ignored and zeroed). :meth:`Env.step` clips every entry to the box (as mpe2's
``ClipOutOfBoundsWrapper`` and Gymnasium's ``ClipAction`` do): clipping is the contract, not an illegal action. A
non-finite entry (NaN, inf) is illegal: it is replaced by the clipped 0 and flagged in ``illegal_action``.
``action_mask`` keeps its key and shape ``[n, D_max]`` and means, for Box actions, **which action dimensions are
real** (True on agent i's first ``num_actions[i]`` entries, False on padding): all ones for agents with ``D_max``
dimensions, never state-dependent.

``info`` always holds:

* ``terminated []`` / ``truncated []`` bool (``done = terminated | truncated``);
* ``action_mask [n, A_max]`` bool — legal actions at the returned ``obs``;
* ``global_state [G]`` float32 — the state a centralised critic sees (``spec.global_state_size``);
* ``final_obs [n, *obs_shape]`` — the observation before any auto-reset;
* ``final_action_mask [n, A_max]`` bool — legal actions at ``final_obs`` (equal to ``action_mask`` unless
  ``done``);
* ``final_global_state [G]`` float32 — the global state at ``final_obs`` (a centralised critic bootstraps a
  truncated episode from it);
* ``illegal_action [n]`` bool — which actions were illegal and replaced (policy inside the compiled path:
  an illegal or out-of-range action is replaced by the agent's first legal action and flagged here;
  :func:`check_actions` and the host loop raise instead; the PettingZoo bridge raises on out-of-range actions
  and, by default, passes masked ones on to this rule, flagging them in ``infos[agent]["illegal_action"]``);
* ``cost [n, m]`` float32 in constrained tasks (``spec.num_constraints = m > 0``).

**Auto-reset and its key schedule** (:meth:`Env.step`). ``step(key, ...)`` splits its key once,
``key_step, key_reset = jax.random.split(key)``: ``key_step`` goes to ``step_env``, and where the episode ends the
next episode is ``reset_env(key_reset)``. Every episode is therefore a function of the seed alone, and the same
seed gives the same episodes bit for bit however the envs are batched. The reset draw is computed only when
needed (:func:`reset_where`): unbatched, when ``done``; under ``jax.vmap`` (envs, seeds, any nesting), for the
whole batch only on steps where some env of it is done (a ``lax.cond`` on ``any(done)`` in a ``custom_vmap`` rule)
— with MPE's synchronised time limits 1 step in 25. An env whose ``step_env`` ignores its key (MPE) pays no PRNG
work on the other steps. Before issue 16 the same values were computed by drawing the reset state at every step
and selecting it where ``done``.

The state is a pytree; ``jax.vmap(env.step)`` batches environments. Subclasses implement ``reset_env`` and
``step_env`` (one episode, no auto-reset) and ``action_mask``; :meth:`Env.step` adds the auto-reset, the time
limit and the illegal-action policy, so no task repeats them.

Two levels of class: :class:`MultiAgentEnv` is the contract itself (``spec``, ``reset``, ``step`` and
``state_info``) and is what code that *uses* an env should accept; :class:`Env` is the base of *tasks* (it
implements the contract from the ``*_env`` hooks above). Wrappers (:mod:`marlkit.envs.wrappers`) are
``MultiAgentEnv`` s that hold another one. ``state_info(state)`` gives ``action_mask`` and ``global_state`` at
any state returned by ``reset`` or ``step`` — what a loop needs before its first step.

**Rendering** (issue 17): ``env.render(state, index=None) -> np.ndarray`` uint8 ``[H, W, 3]`` draws one env's
state as an RGB picture. It runs on the host (NumPy, outside ``jit``) on a copy of the state; for a batched
state (``vmap``-ed envs, seeds) ``index`` picks one env (an int for one leading axis, a tuple for several).
A task implements the hook ``render_env(task_state) -> uint8 [H, W, 3]``, where ``task_state`` is its own
(unbatched) state as NumPy arrays — the ``TimeState.inner`` of the picked env. An env without rendering raises
:class:`~marlkit.errors.NotApplicableError`; :attr:`MultiAgentEnv.can_render` says whether it renders.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError

Array = jax.Array


@dataclass(frozen=True)
class AgentGroup:
    """Agents that share a role (and so may share parameters): e.g. MPE simple tag's adversaries."""

    name: str
    agents: tuple[int, ...]


@dataclass(frozen=True)
class MultiAgentSpec:
    """Static facts about an env: hashable, so it can be a static argument of ``jax.jit``.

    ``obs_shape`` is the common (padded) per-agent observation shape; ``obs_sizes[i]`` agent i's true flat
    observation size (``<= prod(obs_shape)``); ``num_actions[i]`` agent i's number of discrete actions;
    ``groups`` partition the agents by role; ``homogeneous`` says whether the agents are interchangeable
    (same spaces and same role — the license for full parameter sharing).

    Continuous (Box) actions: ``action_low[i]`` / ``action_high[i]`` are agent i's per-dimension bounds (one entry
    per action dimension, ``num_actions[i]`` of them, ``low <= high``, infinite bounds allowed); then
    ``num_actions[i]`` is agent i's action *dimension* and ``continuous`` is True (module docstring). Both
    ``None`` (the default): discrete actions.
    """

    name: str
    n_agents: int
    agent_names: tuple[str, ...]
    obs_shape: tuple[int, ...]
    obs_sizes: tuple[int, ...]
    num_actions: tuple[int, ...]
    global_state_size: int
    max_episode_steps: int
    num_constraints: int = 0
    groups: tuple[AgentGroup, ...] = ()
    obs_low: float = -np.inf
    obs_high: float = np.inf
    action_low: tuple[tuple[float, ...], ...] | None = None
    action_high: tuple[tuple[float, ...], ...] | None = None
    description: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = self.n_agents
        if n < 1:
            raise InvalidGameError(f"{self.name}: n_agents must be >= 1, got {n}")
        for label, seq in (
            ("agent_names", self.agent_names),
            ("obs_sizes", self.obs_sizes),
            ("num_actions", self.num_actions),
        ):
            if len(seq) != n:
                raise InvalidGameError(f"{self.name}: {label} has {len(seq)} entries, expected n_agents={n}")
        if min(self.num_actions) < 1:
            raise InvalidGameError(f"{self.name}: every agent needs at least one action, got {self.num_actions}")
        if len(set(self.agent_names)) != n:
            raise InvalidGameError(f"{self.name}: agent_names must be distinct, got {list(self.agent_names)}")
        flat = int(np.prod(self.obs_shape))
        if min(self.obs_sizes) < 1 or max(self.obs_sizes) > flat:
            raise InvalidGameError(
                f"{self.name}: obs_sizes must lie in 1..prod(obs_shape)={flat}, got {self.obs_sizes}"
            )
        if self.max_episode_steps < 1:
            raise InvalidGameError(f"{self.name}: max_episode_steps must be >= 1, got {self.max_episode_steps}")
        if self.global_state_size < 0 or self.num_constraints < 0:
            raise InvalidGameError(
                f"{self.name}: global_state_size and num_constraints must be >= 0, got "
                f"{self.global_state_size} and {self.num_constraints}"
            )
        if not self.groups:
            object.__setattr__(self, "groups", (AgentGroup("agents", tuple(range(n))),))
        self._check_box()

    def _check_box(self) -> None:
        """Validate (and normalise to float tuples) the Box action bounds, when given."""
        if self.action_low is None and self.action_high is None:
            return
        if self.action_low is None or self.action_high is None:
            raise InvalidGameError(f"{self.name}: continuous actions need both action_low and action_high")
        bounds = []
        for label, seq in (("action_low", self.action_low), ("action_high", self.action_high)):
            if len(seq) != self.n_agents:
                raise InvalidGameError(
                    f"{self.name}: {label} has {len(seq)} entries, expected n_agents={self.n_agents}"
                )
            rows = tuple(tuple(float(x) for x in np.asarray(row, np.float64).reshape(-1)) for row in seq)
            for i, (row, k) in enumerate(zip(rows, self.num_actions, strict=True)):
                if len(row) != k:
                    raise InvalidGameError(
                        f"{self.name}: {label}[{i}] has {len(row)} bounds, expected num_actions[{i}]={k} (one per "
                        "action dimension)"
                    )
                if any(np.isnan(row)):
                    raise InvalidGameError(f"{self.name}: {label}[{i}] contains NaN")
            bounds.append(rows)
        low, high = bounds
        for i, (lo, hi) in enumerate(zip(low, high, strict=True)):
            if any(a > b for a, b in zip(lo, hi, strict=True)):
                raise InvalidGameError(f"{self.name}: agent {i} has action_low > action_high: {lo} > {hi}")
        object.__setattr__(self, "action_low", low)
        object.__setattr__(self, "action_high", high)

    @property
    def continuous(self) -> bool:
        """Whether actions are continuous (Box): ``float32 [n, D_max]`` vectors (module docstring)."""
        return self.action_low is not None

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Box actions: ``(low, high)``, each ``float32 [n, D_max]``, padding dimensions ``[0, 0]``."""
        if self.action_low is None or self.action_high is None:
            raise InvalidGameError(f"{self.name}: has discrete actions (no Box bounds)")
        out = []
        for rows in (self.action_low, self.action_high):
            table = np.zeros((self.n_agents, self.max_actions), np.float32)
            for i, row in enumerate(rows):
                table[i, : len(row)] = row
            out.append(table)
        return out[0], out[1]

    @property
    def max_actions(self) -> int:
        return max(self.num_actions)

    @property
    def homogeneous(self) -> bool:
        same_box = len(set(self.action_low or ())) <= 1 and len(set(self.action_high or ())) <= 1
        return len(self.groups) == 1 and len(set(self.obs_sizes)) == 1 and len(set(self.num_actions)) == 1 and same_box

    def observation_space(self, agent: int):
        """Agent ``agent``'s observation space as a gymnasium ``Box`` (flat, its true size)."""
        from gymnasium import spaces

        return spaces.Box(self.obs_low, self.obs_high, shape=(self.obs_sizes[agent],), dtype=np.float32)

    def action_space(self, agent: int):
        """Agent ``agent``'s action space as a gymnasium ``Discrete``, or a float32 ``Box`` of its action dimension
        for continuous actions."""
        from gymnasium import spaces

        if self.action_low is not None and self.action_high is not None:
            low = np.asarray(self.action_low[agent], np.float32)
            return spaces.Box(low, np.asarray(self.action_high[agent], np.float32), dtype=np.float32)
        return spaces.Discrete(self.num_actions[agent])


class TimeState(NamedTuple):
    """Wraps a task's state with the episode's step counter (for the time limit)."""

    inner: Any
    time: Array  # [] int32


class MultiAgentEnv(abc.ABC):
    """The functional contract (see the module docstring): what every task and every wrapper provides.

    Accept this type in code that runs envs (loops, bridges, wrappers); subclass :class:`Env` to write a task.
    """

    spec: MultiAgentSpec

    @abc.abstractmethod
    def reset(self, key: Array) -> tuple[Array, Any]:
        """Start an episode: ``(obs [n, *obs_shape], state)``."""

    @abc.abstractmethod
    def step(self, key: Array, state: Any, actions: Array) -> tuple[Array, Any, Array, Array, dict]:
        """``(obs, state, reward [n], done [], info)`` with auto-reset (see the module docstring for ``info``)."""

    @abc.abstractmethod
    def state_info(self, state: Any) -> dict[str, Array]:
        """``{"action_mask": [n, A_max], "global_state": [G]}`` at a state returned by ``reset`` or ``step`` (the
        same values ``step`` put in ``info`` for it)."""

    @property
    def unwrapped(self) -> MultiAgentEnv:
        """The task under any wrappers (the env itself for a task)."""
        return self

    @property
    def can_render(self) -> bool:
        """Whether :meth:`render` draws this env (default: no)."""
        return False

    def final_state(self, key: Array, state: Any, actions: Array) -> Any:
        """The task's state (a state of :attr:`unwrapped`) that ``step(key, state, actions)`` ends on *before* any
        auto-reset — what the last frame of an episode shows — or ``None`` where the env cannot say."""
        return None

    def render(self, state: Any, index: int | tuple[int, ...] | None = None) -> np.ndarray:
        """One env's state as an RGB picture ``uint8 [H, W, 3]`` (host NumPy; see the module docstring)."""
        raise NotApplicableError(
            f"{self.spec.name}: {type(self).__name__} has no rendering; a task renders by implementing "
            "render_env(task_state) -> uint8 [H, W, 3] (marlkit.envs.base.Env)"
        )


class Env(MultiAgentEnv):
    """Base class of tasks (see the module docstring). Subclasses are frozen dataclasses."""

    spec: MultiAgentSpec

    # -- what a task implements -------------------------------------------------------------------------------
    @abc.abstractmethod
    def reset_env(self, key: Array) -> tuple[Array, Any]:
        """Start an episode: ``(obs [n, *obs_shape], task_state)``."""

    @abc.abstractmethod
    def step_env(self, key: Array, state: Any, actions: Array) -> tuple[Array, Any, Array, Array, dict]:
        """One step from a legal joint action: ``(obs, task_state, reward [n], terminated [], info)``; ``info``
        may hold ``cost [n, m]`` and other task-specific entries (same keys and shapes every step)."""

    @abc.abstractmethod
    def global_state(self, state: Any) -> Array:
        """The centralised critic's input ``[spec.global_state_size]`` float32."""

    def action_mask(self, state: Any) -> Array:
        """Legal actions ``[n, A_max]`` (default: each agent's first ``num_actions[i]`` actions)."""
        return jnp.asarray(np.arange(self.spec.max_actions)[None, :] < np.asarray(self.spec.num_actions)[:, None])

    def render_env(self, state: Any) -> np.ndarray:
        """Draw one (unbatched, host NumPy) task state: ``uint8 [H, W, 3]``. Override to make a task renderable."""
        return MultiAgentEnv.render(self, state)

    # -- rendering --------------------------------------------------------------------------------------------
    @property
    def can_render(self) -> bool:
        return type(self).render_env is not Env.render_env

    def render(self, state: TimeState, index: int | tuple[int, ...] | None = None) -> np.ndarray:
        """One env's state as an RGB picture ``uint8 [H, W, 3]``: picks env ``index`` of a batched state, copies
        it to the host and calls :meth:`render_env` on its task state (see the module docstring)."""
        if not self.can_render:
            return MultiAgentEnv.render(self, state)
        if not isinstance(state, TimeState):
            raise InvalidGameError(
                f"{self.spec.name}: render takes a state of this env (a TimeState), got {type(state).__name__}"
            )
        picked = host_state(state, index, batch_ndim=int(np.ndim(state.time)), name=self.spec.name)
        return check_frame(self.render_env(picked.inner), self.spec.name)

    # -- the contract -----------------------------------------------------------------------------------------
    def reset(self, key: Array) -> tuple[Array, TimeState]:
        obs, inner = self.reset_env(key)
        return obs, TimeState(inner, jnp.int32(0))

    def state_info(self, state: TimeState) -> dict[str, Array]:
        return {"action_mask": self.action_mask(state.inner), "global_state": self.global_state(state.inner)}

    def legalise(self, state: TimeState, actions: Array) -> tuple[Array, Array]:
        """Replace illegal or out-of-range actions by the agent's first legal action: ``(actions, illegal)``.
        Box actions are clipped instead (:func:`clip_actions`)."""
        if self.spec.continuous:
            return clip_actions(self.spec, actions)
        mask = self.action_mask(state.inner)
        actions = jnp.asarray(actions, jnp.int32)
        in_range = (actions >= 0) & (actions < self.spec.max_actions)
        safe = jnp.clip(actions, 0, self.spec.max_actions - 1)
        legal = in_range & jnp.take_along_axis(mask, safe[:, None], axis=1)[:, 0]
        first = jnp.argmax(mask, axis=1).astype(jnp.int32)
        return jnp.where(legal, safe, first), ~legal

    def final_state(self, key: Array, state: TimeState, actions: Array) -> TimeState:
        """The state :meth:`step` ends on before its auto-reset (the same key split and legalised actions)."""
        key_step, _ = jax.random.split(key)
        actions, _ = self.legalise(state, actions)
        _, inner, _, _, _ = self.step_env(key_step, state.inner, actions)
        return TimeState(inner, (state.time + 1).astype(jnp.int32))

    def step(self, key: Array, state: TimeState, actions: Array) -> tuple[Array, TimeState, Array, Array, dict]:
        key_step = jax.random.split(key)[0]  # the key schedule: module docstring, "Auto-reset"
        actions, illegal = self.legalise(state, actions)
        obs, inner, reward, terminated, extra = self.step_env(key_step, state.inner, actions)
        time = state.time + 1
        truncated = (time >= self.spec.max_episode_steps) & ~terminated
        done = terminated | truncated
        next_obs, next_inner = reset_where(self, done, key, obs, inner)
        next_state = TimeState(next_inner, jnp.where(done, 0, time).astype(jnp.int32))
        info = dict(extra)
        info.update(
            terminated=terminated,
            truncated=truncated,
            action_mask=self.action_mask(next_inner),
            global_state=self.global_state(next_inner),
            final_obs=obs,
            final_action_mask=self.action_mask(inner),
            final_global_state=self.global_state(inner),
            illegal_action=illegal,
        )
        return next_obs, next_state, reward.astype(jnp.float32), done, info


def reset_where(env: Env, done: Array, key: Array, obs: Array, inner: Any) -> tuple[Array, Any]:
    """The auto-reset of :meth:`Env.step`: ``(obs, inner)`` where not ``done``, a new episode
    ``env.reset_env(split(key)[1])`` where ``done`` — computed only when some env of the batch is done.

    Values are exactly those of the plain select ``where(done, reset_env(split(key)[1]), (obs, inner))``: the same
    key, the same reset draw, the same select. What changes is when the reset draw is computed. Unbatched, it is a
    ``lax.cond`` on ``done``. Under ``jax.vmap`` (envs, seeds, any nesting) a plain ``cond`` on a batched ``done``
    would become a select that computes both branches for every env; instead this function's batching rule
    (``jax.custom_batching.custom_vmap``) computes the reset draw for the whole batch inside one ``lax.cond`` on
    ``any(done)`` and selects per env. Steps where no env of the batch ends (24 of 25 in MPE with synchronised
    time limits) skip the draw and its PRNG split entirely.

    The env's array leaves (a pytree env such as a game with tables) are passed as arguments, not closed over, so
    a vmap over envs' parameters works. Not differentiable (reverse mode): envs are simulated, not differentiated.
    """
    leaves, treedef = jax.tree_util.tree_flatten(env)
    static = len(leaves) == 1 and leaves[0] is env  # not a pytree: everything in it is a constant
    args = (done, key, obs, inner, () if static else tuple(leaves))
    return _reset_where(env if static else treedef, static, 0)(*args)


def _reset_where(env_or_tree: Any, static: bool, depth: int) -> Any:
    """``reset_where`` for arguments with ``depth`` leading batch axes (its batching rule adds one)."""

    def one(done: Array, key: Array, obs: Array, inner: Any, leaves: tuple) -> tuple[Array, Any]:
        env = env_or_tree if static else jax.tree_util.tree_unflatten(env_or_tree, leaves)
        reset_obs, reset_inner = env.reset_env(jax.random.split(key)[1])
        next_inner = jax.tree_util.tree_map(lambda r, s: jnp.where(done, r, s), reset_inner, inner)
        return jnp.where(done, reset_obs, obs), next_inner

    for _ in range(depth):
        one = jax.vmap(one)

    @jax.custom_batching.custom_vmap
    def where_done(done: Array, key: Array, obs: Array, inner: Any, leaves: tuple) -> tuple[Array, Any]:
        out = jax.eval_shape(one, done, key, obs, inner, leaves)
        keep = jax.tree_util.tree_map(lambda x, a: jnp.asarray(x, a.dtype), (obs, inner), out)
        return jax.lax.cond(jnp.any(done), one, lambda *_: keep, done, key, obs, inner, leaves)

    @where_done.def_vmap
    def rule(axis_size: int, in_batched: Any, *args: Any) -> tuple[Any, Any]:
        batched = [
            jax.tree_util.tree_map(lambda x, b: x if b else jnp.broadcast_to(x, (axis_size, *jnp.shape(x))), a, flags)
            for a, flags in zip(args, in_batched, strict=True)
        ]
        out = _reset_where(env_or_tree, static, depth + 1)(*batched)
        return out, jax.tree_util.tree_map(lambda _: True, out)

    return where_done


def host_state(state: Any, index: int | tuple[int, ...] | None, batch_ndim: int, name: str) -> Any:
    """A host (NumPy) copy of env ``index`` of a state with ``batch_ndim`` leading batch axes."""
    idx: tuple[int, ...] = () if index is None else (index,) if isinstance(index, int | np.integer) else index
    if len(idx) != batch_ndim:
        raise InvalidGameError(
            f"{name}: the state has {batch_ndim} batch axes; pass index= with {batch_ndim} integer(s) to render one "
            f"env (got index={index!r})"
        )
    leaves = jax.tree_util.tree_leaves(state)
    shape = np.shape(leaves[0])[:batch_ndim] if leaves else ()
    for i, (k, size) in enumerate(zip(idx, shape, strict=True)):
        if not 0 <= int(k) < size:
            raise InvalidGameError(f"{name}: index {index!r} is out of range for batch axis {i} of size {size}")
    return jax.tree_util.tree_map(lambda x: np.asarray(x)[tuple(int(k) for k in idx)], state)


def check_frame(frame: object, name: str) -> np.ndarray:
    """Check that a rendered frame is ``uint8 [H, W, 3]`` with ``H, W >= 1``."""
    a = np.asarray(frame)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 1:
        raise InvalidGameError(f"{name}: render must return a uint8 [H, W, 3] array, got {a.dtype} {a.shape}")
    return a


def clip_actions(spec: MultiAgentSpec, actions: Array) -> tuple[Array, Array]:
    """Box actions inside a compiled step: ``(actions float32 [n, D_max] clipped to the box, illegal [n])``.

    Padding dimensions are zeroed; a non-finite entry becomes the clip of 0 and flags its agent (module docstring).
    """
    low, high = spec.action_bounds
    a = jnp.asarray(actions, jnp.float32).reshape(spec.n_agents, spec.max_actions)
    finite = jnp.isfinite(a)
    a = jnp.clip(jnp.where(finite, a, 0.0), low, high)
    return a, ~jnp.all(finite, axis=1)


def check_actions(spec: MultiAgentSpec, actions: object, mask: np.ndarray | None = None) -> np.ndarray:
    """Validate actions at the Python edge: shape ``[n]``, integers in range, legal under ``mask [n, A_max]``.

    Box actions (``spec.continuous``): shape ``[n, D_max]``, real and finite (``float32``; entries outside the box
    are clipped by the step, as the contract says; padding entries are ignored)."""
    a = np.asarray(actions)
    if spec.continuous:
        shape = (spec.n_agents, spec.max_actions)
        if a.shape != shape:
            raise InvalidGameError(f"{spec.name}: continuous actions must have shape {shape}, got {a.shape}")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise InvalidGameError(f"{spec.name}: continuous actions must be real numbers, got dtype {a.dtype}")
        valid = np.arange(spec.max_actions)[None, :] < np.asarray(spec.num_actions)[:, None]
        bad = ~np.isfinite(np.where(valid, a.astype(np.float64), 0.0))
        if bad.any():
            i = int(np.flatnonzero(bad.any(axis=1))[0])
            raise InvalidGameError(
                f"{spec.name}: agent {i} ({spec.agent_names[i]}) action {a[i, : spec.num_actions[i]].tolist()} is "
                "not finite"
            )
        return np.where(valid, a, 0).astype(np.float32)
    if a.shape != (spec.n_agents,):
        raise InvalidGameError(f"{spec.name}: actions must have shape ({spec.n_agents},), got {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise InvalidGameError(f"{spec.name}: actions must be integers, got dtype {a.dtype}")
    for i, (ai, k) in enumerate(zip(a.tolist(), spec.num_actions, strict=True)):
        if not 0 <= ai < k:
            raise InvalidGameError(
                f"{spec.name}: agent {i} ({spec.agent_names[i]}) action {ai} is out of range 0..{k - 1}"
            )
        if mask is not None and not bool(mask[i, ai]):
            legal = np.flatnonzero(mask[i]).tolist()
            raise InvalidGameError(
                f"{spec.name}: agent {i} ({spec.agent_names[i]}) action {ai} is illegal here; legal actions: {legal}"
            )
    return a.astype(np.int32)


__all__ = [
    "AgentGroup",
    "Env",
    "MultiAgentEnv",
    "MultiAgentSpec",
    "TimeState",
    "check_actions",
    "check_frame",
    "clip_actions",
    "host_state",
    "reset_where",
]
