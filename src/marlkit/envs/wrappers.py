"""Composable, shallow wrappers over the functional contract (docs/architecture.md, "Contracts"; issue 7, item 5).

Each wrapper is itself a :class:`~marlkit.envs.base.MultiAgentEnv` holding another one (``wrapper.env``), so
they nest in any order: ``EpisodeStatistics(NormalizeObservation(AgentId(env)))``. All stay pure, jit-able and
vmap-able; a wrapper that needs memory keeps it in its state, a NamedTuple whose first field ``env_state`` is
the wrapped env's state.

* :class:`EpisodeStatistics` — running per-agent return, episode length (and cost in constrained tasks) in the
  state; ``info["episode_return"] [n]``, ``info["episode_length"] []`` (and ``info["episode_cost"] [n, m]``)
  hold the totals of the current episode *including this step*, so where ``done`` they are the finished
  episode's statistics (read them under ``done``; the running totals then restart at 0).
* :class:`AgentId` — appends a one-hot agent id (``n`` features) to every agent's observation, the usual input
  for parameter sharing (Gupta, Egorov & Kochenderfer 2017; Terry et al. 2020, "agent indication").
* :class:`ActionMask` — appends the agent's legal-action mask (``A_max`` features, 1.0 = legal) to its
  observation, so that a learner, which sees only observations (``act(key, state, obs)``), can mask its logits;
  :meth:`ActionMask.split` recovers ``(observation, mask)``. :func:`random_legal_actions` samples uniformly
  among legal actions (for random baselines and exploration).
* :class:`GlobalState` — sets ``global_state`` to the concatenation of all agents' (true-size) observations,
  optionally followed by the task's own global state: the centralised critic's input for tasks without a state
  (MAPPO's "concatenated local observations", Yu et al. 2022, §4.1).
* :class:`NormalizeObservation` — standardises observations with a running per-agent, per-feature mean and
  variance (Welford 1962's one-pass update; Knuth TAOCP vol. 2, §4.2.2) kept in the state, then clips to
  ``±clip``. The statistics are per environment instance (under ``vmap`` each env has its own) and are updated
  with every observation the agents act on (the ``obs`` returned by ``reset``/``step``, not ``final_obs``);
  the first observation maps to 0.

* :class:`CostWrapper` — turns any predicate of a step into a cost: ``info["cost"]`` gains ``k`` constraints per
  agent (after the task's own) with their limits, e.g. Safety-Gymnasium's velocity cost ``1[|v| > threshold]``
  (Ji et al. 2023, "Safety-Gymnasium: a unified safe reinforcement learning benchmark", the Safe Velocity tasks)
  on MPE agents' speed with :class:`SpeedAbove`. :func:`cost_limits` reads any env's limits ``[n, m]``.

Appended features keep the contract's layout: agent ``i``'s true observation is still the first
``spec.obs_sizes[i]`` entries of its flattened observation — the features are written right after its own
observation, before the zero padding — so heterogeneous agents and the PettingZoo bridge keep working.
Observations are flattened to ``[n, D]`` by the appending wrappers.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import Array, MultiAgentEnv, MultiAgentSpec
from marlkit.errors import InvalidGameError, NotApplicableError

Step = tuple[Array, Any, Array, Array, dict]


@dataclass(frozen=True)
class Wrapper(MultiAgentEnv):
    """A :class:`MultiAgentEnv` that holds another: by default every call passes straight through."""

    env: MultiAgentEnv

    def __post_init__(self) -> None:
        if not isinstance(self.env, MultiAgentEnv):
            raise InvalidGameError(
                f"{type(self).__name__}: expected a marlkit env (MultiAgentEnv), got {type(self.env).__name__}; "
                "wrap PettingZoo envs with marlkit.envs.from_pettingzoo instead"
            )
        object.__setattr__(self, "spec", self.wrapped_spec(self.env.spec))

    def wrapped_spec(self, spec: MultiAgentSpec) -> MultiAgentSpec:
        """The spec this wrapper presents (default: the wrapped env's)."""
        return spec

    def reset(self, key: Array) -> tuple[Array, Any]:
        return self.env.reset(key)

    def step(self, key: Array, state: Any, actions: Array) -> Step:
        return self.env.step(key, state, actions)

    def state_info(self, state: Any) -> dict[str, Array]:
        return self.env.state_info(state)

    @property
    def unwrapped(self) -> MultiAgentEnv:
        return self.env.unwrapped

    def wrapped_state(self, state: Any) -> Any:
        """The wrapped env's state inside this wrapper's. Wrappers with memory keep it as the first field,
        ``env_state``, of their state (the module docstring) and may say so by overriding this; the default tells
        the two cases apart by the wrapped env's state structure (traced once, nothing compiled)."""
        inner = jax.tree_util.tree_structure(jax.eval_shape(self.env.reset, jax.random.key(0))[1])
        if cast(Any, jax.tree_util.tree_structure(state)) == inner:
            return state
        if getattr(state, "_fields", ())[:1] == ("env_state",):
            return state.env_state
        raise InvalidGameError(
            f"{type(self).__name__}: cannot find the wrapped env's state in {type(state).__name__}; override "
            "wrapped_state(state)"
        )

    @property
    def can_render(self) -> bool:
        return self.env.can_render

    def render(self, state: Any, index: int | tuple[int, ...] | None = None) -> np.ndarray:
        """The wrapped env's picture of its state (:meth:`MultiAgentEnv.render`)."""
        return self.env.render(self.wrapped_state(state), index)

    def final_state(self, key: Array, state: Any, actions: Array) -> Any:
        """The wrapped env's (for wrappers that step it with the same key and actions; override otherwise)."""
        return self.env.final_state(key, self.wrapped_state(state), actions)

    @property
    def limits(self) -> np.ndarray | None:
        """The wrapped env's constraint limits ``[n, m]`` (:func:`cost_limits`)."""
        return cost_limits(self.env)


def cost_limits(env: MultiAgentEnv) -> np.ndarray | None:
    """The limits ``c [n, m]`` (float64) of a constrained env's costs, ``None`` where it has no costs.

    Read from the env's ``limits`` (a task's own, or a wrapper's) or, for an exact game's env, the game's
    ``limits``.

    Raises:
        NotApplicableError: the env reports costs but no limits.
    """
    spec = env.spec
    if spec.num_constraints == 0:
        return None
    limits = getattr(env, "limits", None)
    if limits is None:
        game = getattr(env.unwrapped, "game", None)
        if game is not None:
            from marlkit.games import as_stochastic

            limits = as_stochastic(game).limits
    if limits is None:
        raise NotApplicableError(
            f"{spec.name}: the env reports {spec.num_constraints} costs per agent but no limits; give them to the "
            "learner (cost_limit)"
        )
    return np.asarray(limits, np.float64).reshape(spec.n_agents, spec.num_constraints)


# ------------------------------------------------------------------------------------------ episode statistics
class EpisodeStatisticsState(NamedTuple):
    env_state: Any
    episode_return: Array  # [n] float32
    episode_length: Array  # [] int32
    episode_cost: Array  # [n, m] float32 (m = 0 without constraints)


@dataclass(frozen=True)
class EpisodeStatistics(Wrapper):
    """Per-episode return, length (and cost) in ``info``; see the module docstring."""

    def wrapped_state(self, state: Any) -> Any:
        return state.env_state

    def reset(self, key: Array) -> tuple[Array, EpisodeStatisticsState]:
        obs, state = self.env.reset(key)
        spec = self.spec
        zeros = EpisodeStatisticsState(
            state,
            jnp.zeros(spec.n_agents, jnp.float32),
            jnp.int32(0),
            jnp.zeros((spec.n_agents, spec.num_constraints), jnp.float32),
        )
        return obs, zeros

    def step(self, key: Array, state: EpisodeStatisticsState, actions: Array) -> Step:
        obs, env_state, reward, done, info = self.env.step(key, state.env_state, actions)
        episode_return = state.episode_return + reward
        episode_length = state.episode_length + 1
        episode_cost = state.episode_cost + info["cost"] if self.spec.num_constraints else state.episode_cost
        info = {**info, "episode_return": episode_return, "episode_length": episode_length}
        if self.spec.num_constraints:
            info["episode_cost"] = episode_cost
        keep = ~done
        next_state = EpisodeStatisticsState(
            env_state, episode_return * keep, episode_length * keep, episode_cost * keep
        )
        return obs, next_state, reward, done, info

    def state_info(self, state: EpisodeStatisticsState) -> dict[str, Array]:
        return self.env.state_info(state.env_state)


# -------------------------------------------------------------------------------- appended observation features
def append_features(obs: Array, sizes: tuple[int, ...], features: Array) -> Array:
    """Write ``features [n, k]`` into each agent's flattened observation right after its true ``sizes[i]``
    entries: ``[n, *obs_shape] -> [n, prod(obs_shape) + k]`` (the zero padding moves behind the features)."""
    n = obs.shape[0]
    flat = obs.reshape(n, -1)
    k = features.shape[1]
    padded = jnp.concatenate([flat, jnp.zeros((n, k), flat.dtype)], axis=1)
    offset = np.arange(padded.shape[1])[None, :] - np.asarray(sizes)[:, None]  # static [n, D + k]
    inside = (offset >= 0) & (offset < k)
    values = jnp.take_along_axis(features.astype(flat.dtype), jnp.asarray(np.clip(offset, 0, k - 1)), axis=1)
    return jnp.where(inside, values, padded)


@dataclass(frozen=True)
class _AppendFeatures(Wrapper):
    """Appends ``features(action_mask) [n, width]`` to observations (see :func:`append_features`)."""

    @property
    @abc.abstractmethod
    def width(self) -> int:
        """Number of appended features."""

    @abc.abstractmethod
    def features(self, action_mask: Array) -> Array:
        """``[n, width]`` features for observations whose legal actions are ``action_mask [n, A_max]``."""

    def wrapped_spec(self, spec: MultiAgentSpec) -> MultiAgentSpec:
        k = self.width
        return dataclasses.replace(
            spec,
            obs_shape=(int(np.prod(spec.obs_shape)) + k,),
            obs_sizes=tuple(s + k for s in spec.obs_sizes),
            obs_low=min(spec.obs_low, 0.0),
            obs_high=max(spec.obs_high, 1.0),
        )

    def _with(self, obs: Array, action_mask: Array) -> Array:
        return append_features(obs, self.env.spec.obs_sizes, self.features(action_mask))

    def reset(self, key: Array) -> tuple[Array, Any]:
        obs, state = self.env.reset(key)
        return self._with(obs, self.env.state_info(state)["action_mask"]), state

    def step(self, key: Array, state: Any, actions: Array) -> Step:
        obs, state, reward, done, info = self.env.step(key, state, actions)
        info = {**info, "final_obs": self._with(info["final_obs"], info["final_action_mask"])}
        return self._with(obs, info["action_mask"]), state, reward, done, info


@dataclass(frozen=True)
class AgentId(_AppendFeatures):
    """Appends a one-hot agent id (``n`` features) to each agent's observation."""

    @property
    def width(self) -> int:
        return self.env.spec.n_agents

    def features(self, action_mask: Array) -> Array:
        return jnp.eye(self.width, dtype=jnp.float32)


@dataclass(frozen=True)
class ActionMask(_AppendFeatures):
    """Appends each agent's legal-action mask (``A_max`` features, 1.0 = legal) to its observation."""

    @property
    def width(self) -> int:
        return self.env.spec.max_actions

    def features(self, action_mask: Array) -> Array:
        return action_mask.astype(jnp.float32)

    def split(self, obs: Array) -> tuple[Array, Array]:
        """``obs [..., n, D + A_max] -> (observation [..., n, D], mask [..., n, A_max] bool)``: undo the append
        (the observation comes back zero-padded, as the wrapped env gave it, flattened)."""
        spec = self.env.spec
        sizes = np.asarray(spec.obs_sizes)[:, None]
        d, k = int(np.prod(spec.obs_shape)), self.width
        own = jnp.where(np.arange(d)[None, :] < sizes, obs[..., :d], 0.0)
        mask = obs[..., np.arange(spec.n_agents)[:, None], sizes + np.arange(k)[None, :]]
        return own, mask > 0.5


def random_legal_actions(key: Array, action_mask: Array) -> Array:
    """One action per agent, uniform over its legal actions: ``action_mask [..., n, A] -> [..., n]`` int32."""
    logits = jnp.where(action_mask, 0.0, -jnp.inf)
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


# ----------------------------------------------------------------------------------------------- global state
class GlobalStateState(NamedTuple):
    env_state: Any
    global_state: Array  # [G]


@dataclass(frozen=True)
class GlobalState(Wrapper):
    """``global_state`` = all agents' true-size observations, concatenated (then the task's state, if asked)."""

    include_env_state: bool = False

    def wrapped_spec(self, spec: MultiAgentSpec) -> MultiAgentSpec:
        size = sum(spec.obs_sizes) + (spec.global_state_size if self.include_env_state else 0)
        return dataclasses.replace(spec, global_state_size=size)

    def _global(self, obs: Array, env_global: Array) -> Array:
        spec = self.env.spec
        rows = np.concatenate([np.full(s, i) for i, s in enumerate(spec.obs_sizes)])
        cols = np.concatenate([np.arange(s) for s in spec.obs_sizes])
        parts = [obs.reshape(spec.n_agents, -1)[rows, cols].astype(jnp.float32)]
        if self.include_env_state:
            parts.append(env_global.astype(jnp.float32))
        return jnp.concatenate(parts)

    def wrapped_state(self, state: Any) -> Any:
        return state.env_state

    def reset(self, key: Array) -> tuple[Array, GlobalStateState]:
        obs, state = self.env.reset(key)
        return obs, GlobalStateState(state, self._global(obs, self.env.state_info(state)["global_state"]))

    def step(self, key: Array, state: GlobalStateState, actions: Array) -> Step:
        obs, env_state, reward, done, info = self.env.step(key, state.env_state, actions)
        g = self._global(obs, info["global_state"])
        final = self._global(info["final_obs"], info["final_global_state"])
        return (
            obs,
            GlobalStateState(env_state, g),
            reward,
            done,
            {**info, "global_state": g, "final_global_state": final},
        )

    def state_info(self, state: GlobalStateState) -> dict[str, Array]:
        return {**self.env.state_info(state.env_state), "global_state": state.global_state}


# -------------------------------------------------------------------------------------- observation normalisation
class NormalizeObservationState(NamedTuple):
    env_state: Any
    seen: Array  # [] int32: observations seen
    mean: Array  # [n, *obs_shape] float32
    m2: Array  # [n, *obs_shape] float32: sum of squared deviations (Welford)


@dataclass(frozen=True)
class NormalizeObservation(Wrapper):
    """``clip((obs - mean) / sqrt(var + epsilon), -clip, clip)`` with running statistics in the state."""

    clip: float = 10.0
    epsilon: float = 1e-8

    def __post_init__(self) -> None:
        if not (self.clip > 0 and self.epsilon > 0):
            raise InvalidGameError(
                f"NormalizeObservation: clip and epsilon must be > 0, got clip={self.clip}, epsilon={self.epsilon}"
            )
        super().__post_init__()

    def wrapped_spec(self, spec: MultiAgentSpec) -> MultiAgentSpec:
        return dataclasses.replace(spec, obs_low=-float(self.clip), obs_high=float(self.clip))

    @staticmethod
    def update(state: NormalizeObservationState, obs: Array) -> NormalizeObservationState:
        """Welford's update with one observation ``obs [n, *obs_shape]``."""
        count = state.seen + 1
        delta = obs - state.mean
        mean = state.mean + delta / count.astype(jnp.float32)
        return state._replace(seen=count, mean=mean, m2=state.m2 + delta * (obs - mean))

    def normalise(self, state: NormalizeObservationState, obs: Array) -> Array:
        """Standardise ``obs`` with the statistics in ``state``."""
        var = state.m2 / jnp.maximum(state.seen, 1).astype(jnp.float32)
        return jnp.clip((obs - state.mean) / jnp.sqrt(var + self.epsilon), -self.clip, self.clip)

    def wrapped_state(self, state: Any) -> Any:
        return state.env_state

    def reset(self, key: Array) -> tuple[Array, NormalizeObservationState]:
        obs, env_state = self.env.reset(key)
        zeros = jnp.zeros((self.spec.n_agents, *self.spec.obs_shape), jnp.float32)
        state = self.update(NormalizeObservationState(env_state, jnp.int32(0), zeros, zeros), obs)
        return self.normalise(state, obs), state

    def step(self, key: Array, state: NormalizeObservationState, actions: Array) -> Step:
        obs, env_state, reward, done, info = self.env.step(key, state.env_state, actions)
        state = self.update(state._replace(env_state=env_state), obs)
        info = {**info, "final_obs": self.normalise(state, info["final_obs"])}
        return self.normalise(state, obs), state, reward, done, info

    def state_info(self, state: NormalizeObservationState) -> dict[str, Array]:
        return self.env.state_info(state.env_state)


# ------------------------------------------------------------------------------------------------------- costs
@dataclass(frozen=True)
class SpeedAbove:
    """The predicate ``1[|v_i| > threshold]`` per agent, ``v_i = obs[i, velocity]`` (MPE observations start with
    the agent's own velocity, so the default ``velocity=(0, 1)`` reads it): Safety-Gymnasium's velocity cost
    (Ji et al. 2023) for :class:`CostWrapper`."""

    threshold: float
    velocity: tuple[int, ...] = (0, 1)

    def __post_init__(self) -> None:
        if not float(self.threshold) >= 0.0:
            raise InvalidGameError(f"SpeedAbove.threshold must be >= 0, got {self.threshold}")

    def __call__(self, obs: Array, actions: Array, info: dict[str, Array]) -> Array:
        flat = obs.reshape(obs.shape[0], -1)
        speed = jnp.linalg.norm(flat[:, np.asarray(self.velocity)], axis=-1)
        return (speed > self.threshold).astype(jnp.float32)


@dataclass(frozen=True)
class CostWrapper(Wrapper):
    """Adds ``num_costs`` costs per agent computed by ``cost(obs, actions, info) -> [n] or [n, num_costs]`` from
    each step: ``obs`` is the observation the step ended on (``info["final_obs"]``, before any auto-reset),
    ``actions [n]`` the actions taken and ``info`` the wrapped env's. A boolean predicate gives the indicator cost
    ``1[predicate]``. The costs go after the wrapped env's own in ``info["cost"] [n, m + num_costs]``, and
    ``limit`` (one float, or ``n · num_costs`` floats, agent-major) is their limit on each agent's undiscounted
    episode cost (:func:`cost_limits`). ``cost`` must be hashable (a function or a frozen dataclass such as
    :class:`SpeedAbove`): the env is a static argument of compiled programs."""

    cost: Any = None
    limit: float | tuple[float, ...] = 0.0
    num_costs: int = 1

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not callable(self.cost):
            raise InvalidGameError(f"{name}.cost must be callable (obs, actions, info) -> [n] costs, got {self.cost!r}")
        if not isinstance(self.num_costs, int) or self.num_costs < 1:
            raise InvalidGameError(f"{name}.num_costs must be an integer >= 1, got {self.num_costs!r}")
        super().__post_init__()
        values = np.atleast_1d(np.asarray(self.limit, np.float64))
        n, k = self.env.spec.n_agents, self.num_costs
        if values.size not in (1, n * k) or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise InvalidGameError(
                f"{name}.limit must be one finite float >= 0 or n*num_costs = {n * k} of them, got {self.limit!r}"
            )

    def wrapped_spec(self, spec: MultiAgentSpec) -> MultiAgentSpec:
        return dataclasses.replace(spec, num_constraints=spec.num_constraints + self.num_costs)

    def step(self, key: Array, state: Any, actions: Array) -> Step:
        obs, state, reward, done, info = self.env.step(key, state, actions)
        n = self.env.spec.n_agents
        added = jnp.asarray(self.cost(info["final_obs"], actions, info)).astype(jnp.float32).reshape(n, self.num_costs)
        cost = jnp.concatenate([info["cost"], added], axis=1) if self.env.spec.num_constraints else added
        return obs, state, reward, done, {**info, "cost": cost}

    @property
    def limits(self) -> np.ndarray:
        n, k = self.env.spec.n_agents, self.num_costs
        values = np.atleast_1d(np.asarray(self.limit, np.float64))
        own = np.full((n, k), values[0]) if values.size == 1 else values.reshape(n, k)
        inner = cost_limits(self.env)
        return own if inner is None else np.concatenate([inner, own], axis=1)


__all__ = [
    "ActionMask",
    "AgentId",
    "CostWrapper",
    "EpisodeStatistics",
    "EpisodeStatisticsState",
    "GlobalState",
    "GlobalStateState",
    "NormalizeObservation",
    "NormalizeObservationState",
    "SpeedAbove",
    "Wrapper",
    "append_features",
    "cost_limits",
    "random_legal_actions",
]
