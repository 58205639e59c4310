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

Appended features keep the contract's layout: agent ``i``'s true observation is still the first
``spec.obs_sizes[i]`` entries of its flattened observation — the features are written right after its own
observation, before the zero padding — so heterogeneous agents and the PettingZoo bridge keep working.
Observations are flattened to ``[n, D]`` by the appending wrappers.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.base import Array, MultiAgentEnv, MultiAgentSpec
from marlkit.errors import InvalidGameError

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


# ------------------------------------------------------------------------------------------ episode statistics
class EpisodeStatisticsState(NamedTuple):
    env_state: Any
    episode_return: Array  # [n] float32
    episode_length: Array  # [] int32
    episode_cost: Array  # [n, m] float32 (m = 0 without constraints)


@dataclass(frozen=True)
class EpisodeStatistics(Wrapper):
    """Per-episode return, length (and cost) in ``info``; see the module docstring."""

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


__all__ = [
    "ActionMask",
    "AgentId",
    "EpisodeStatistics",
    "EpisodeStatisticsState",
    "GlobalState",
    "GlobalStateState",
    "NormalizeObservation",
    "NormalizeObservationState",
    "Wrapper",
    "append_features",
    "random_legal_actions",
]
