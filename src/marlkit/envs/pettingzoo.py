"""PettingZoo in both directions (issue 7, item 4; Terry et al. 2021, PettingZoo, NeurIPS).

**marlkit -> PettingZoo.** :func:`to_pettingzoo` turns any :class:`~marlkit.envs.base.MultiAgentEnv` (a task or a
wrapped task) into a ``pettingzoo.ParallelEnv``; :func:`to_aec` into an AEC env through PettingZoo's own
``parallel_to_aec``. The bridge runs on the host and calls a jitted ``step`` once per PettingZoo step:

* agents are named by ``spec.agent_names``; per-agent spaces come from the spec (a flat ``Box`` of the agent's
  true observation size, a ``Discrete`` of its action count), and the padded observations are sliced to the
  true sizes;
* ``reset(seed)`` starts a fresh JAX key ``jax.random.key(seed)``; ``reset()`` without a seed continues the key
  chain (the first reset uses the ``seed`` given to :func:`to_pettingzoo`, or OS entropy if there is none); the
  same seed and the same actions give identical outputs;
* actions are validated at this edge (:func:`~marlkit.envs.base.check_actions`): a missing or unknown agent, a
  non-integer or an action outside the agent's ``Discrete`` space raises ``InvalidGameError``. An action inside
  the space but illegal under the current mask is, by default (``illegal_actions="replace"``), handled as the
  compiled path handles it — replaced by the agent's first legal action — and flagged in
  ``infos[agent]["illegal_action"]``, so that PettingZoo's ``parallel_api_test`` and the ordinary
  ``env.action_space(agent).sample()`` loop run on every task; ``illegal_actions="raise"`` raises
  ``InvalidGameError`` naming the legal actions instead;
* ``infos[agent]`` holds ``"action_mask"`` (int8, length ``num_actions[i]``: PettingZoo's convention; sample
  with ``action_space(agent).sample(mask=infos[agent]["action_mask"])`` to act legally), after a step
  ``"illegal_action"`` (bool) and, in constrained tasks, ``"cost"`` ``[m]``; with ``action_mask_in_obs=True``
  observations are instead dicts ``{"observation", "action_mask"}`` (the convention of PettingZoo's classic
  games, which its API test samples from);
* the episode ends for all agents at once (the contract's ``done``): the last step returns every agent's final
  observation with ``terminations``/``truncations`` set, then ``agents`` is empty until ``reset()`` (the
  contract's auto-reset is not visible here);
* ``state()`` is the contract's ``global_state``;
* ``render_mode="rgb_array"``: ``render()`` returns the current state's picture, ``uint8 [H, W, 3]``
  (:meth:`~marlkit.envs.base.MultiAgentEnv.render`; after the last step of an episode, the state it ended on),
  for envs that render (``env.can_render``); ``"human"`` (a window) is not supported — write the frames to a
  file with :func:`marlkit.envs.write_video` instead.
* **Box actions** (a task with ``spec.continuous``, e.g. ``SimpleSpread(continuous_actions=True)``): each agent's
  action space is a float32 ``gymnasium.spaces.Box`` of its action dimension and bounds; an action is an array of
  that shape with finite entries (else ``InvalidGameError``), clipped to the box by the step (the contract, and
  mpe2's own ``ClipOutOfBoundsWrapper``); ``infos`` carry no ``"action_mask"`` (Box spaces take no mask) and
  ``action_mask_in_obs=True`` is refused.

**PettingZoo -> marlkit.** :func:`from_pettingzoo` wraps any ``ParallelEnv`` with discrete actions as a
:class:`HostEnv`: observations are flattened (``gymnasium.spaces.flatten``), zero-padded to a common size and
stacked on a leading agent axis, action masks are read from the observation dict or ``info["action_mask"]``
(all actions legal otherwise), and ``step`` auto-resets like the functional contract. A ParallelEnv whose agents
all have one-dimensional ``Box`` action spaces (e.g. mpe2's ``continuous_actions=True``) becomes a Box-action
``HostEnv`` (``spec.continuous``, the Box's bounds in ``spec.action_low`` / ``action_high``): ``step`` takes
``float32 [n, D_max]``, clips each agent's action to its box and passes its first ``d_i`` entries on; Discrete and
Box agents cannot be mixed. It is a **Python loop
around a Python env** — not jittable, not vmappable; a marlkit policy runs jitted on the stacked arrays and the
env steps on the host (docs/architecture.md, Performance).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec, check_actions
from marlkit.envs.games import NO_TIME_LIMIT
from marlkit.errors import InvalidGameError, NotApplicableError

AgentID = str
ILLEGAL_ACTIONS = ("replace", "raise")
"""What the bridge does with an in-range action that the mask forbids (see the module docstring)."""


def _fresh_seed() -> int:
    """A seed from OS entropy (no global RNG)."""
    return int(np.random.SeedSequence().generate_state(1)[0])


@functools.partial(jax.jit, static_argnums=0)
def _reset(env: MultiAgentEnv, key: jax.Array) -> tuple:
    """Jitted reset that also advances the key chain (compiled once per env: envs are hashable)."""
    key, sub = jax.random.split(key)
    obs, state = env.reset(sub)
    return key, obs, state, env.state_info(state)


@functools.partial(jax.jit, static_argnums=0)
def _step(env: MultiAgentEnv, key: jax.Array, state: Any, actions: jax.Array) -> tuple:
    key, sub = jax.random.split(key)
    return (key, *env.step(sub, state, actions))


@functools.partial(jax.jit, static_argnums=0)
def _final_state(env: MultiAgentEnv, key: jax.Array, state: Any, actions: jax.Array) -> Any:
    """The task state :func:`_step` from ``key`` ends on before its auto-reset (:meth:`MultiAgentEnv.final_state`)."""
    return env.final_state(jax.random.split(key)[1], state, actions)


RENDER_MODES = ("rgb_array",)


class MarlkitParallelEnv(ParallelEnv):
    """A marlkit env as a PettingZoo ``ParallelEnv``; build it with :func:`to_pettingzoo`."""

    def __init__(
        self,
        env: MultiAgentEnv,
        seed: int | None = None,
        render_mode: str | None = None,
        action_mask_in_obs: bool = False,
        illegal_actions: str = "replace",
    ) -> None:
        if not isinstance(env, MultiAgentEnv):
            raise InvalidGameError(f"to_pettingzoo: expected a marlkit env (MultiAgentEnv), got {type(env).__name__}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise InvalidGameError(
                f"to_pettingzoo: render_mode {render_mode!r} is not supported; use None or 'rgb_array' (no 'human' "
                "window: write frames with marlkit.envs.write_video)"
            )
        if render_mode is not None and not env.can_render:
            raise NotApplicableError(f"to_pettingzoo: {env.spec.name} has no rendering; use render_mode=None")
        if action_mask_in_obs and env.spec.continuous:
            raise InvalidGameError(
                f"to_pettingzoo: {env.spec.name} has continuous (Box) actions, which take no action mask; use "
                "action_mask_in_obs=False"
            )
        if illegal_actions not in ILLEGAL_ACTIONS:
            raise InvalidGameError(
                f"to_pettingzoo: illegal_actions must be one of {', '.join(map(repr, ILLEGAL_ACTIONS))}, "
                f"got {illegal_actions!r}"
            )
        spec = env.spec
        self.env = env
        self.spec: MultiAgentSpec = spec
        self.render_mode = render_mode
        self.metadata = {
            "render_modes": list(RENDER_MODES) if env.can_render else [],
            "name": spec.name,
            "is_parallelizable": True,
        }
        self.possible_agents: list[AgentID] = list(spec.agent_names)
        self.agents: list[AgentID] = []
        self.action_mask_in_obs = action_mask_in_obs
        self.illegal_actions = illegal_actions
        self._index = {name: i for i, name in enumerate(spec.agent_names)}
        self._observation_spaces = {
            name: self._make_observation_space(i) for i, name in enumerate(self.possible_agents)
        }
        self._action_spaces = {name: spec.action_space(i) for i, name in enumerate(self.possible_agents)}
        if spec.global_state_size > 0:
            self.state_space = gymnasium.spaces.Box(-np.inf, np.inf, (spec.global_state_size,), np.float32)
        self._seed = seed
        self._key: jax.Array | None = None
        self._state: Any = None
        self._mask: np.ndarray | None = None
        self._global: np.ndarray | None = None
        self._final: Any = None  # the task state the last episode ended on (rgb_array mode), until reset

    # ---------------------------------------------------------------------------------------------- spaces
    def _make_observation_space(self, i: int) -> gymnasium.spaces.Space:
        box = self.spec.observation_space(i)
        if not self.action_mask_in_obs:
            return box
        mask = gymnasium.spaces.Box(0, 1, (self.spec.num_actions[i],), np.int8)
        return gymnasium.spaces.Dict({"observation": box, "action_mask": mask})

    def observation_space(self, agent: AgentID) -> gymnasium.spaces.Space:
        return self._observation_spaces[agent]

    def action_space(self, agent: AgentID) -> gymnasium.spaces.Space:
        return self._action_spaces[agent]

    # ---------------------------------------------------------------------------------------- conversion
    def _observations(self, obs: np.ndarray, mask: np.ndarray) -> dict[AgentID, Any]:
        flat = obs.reshape(self.spec.n_agents, -1)
        out: dict[AgentID, Any] = {}
        for i, name in enumerate(self.possible_agents):
            o = np.array(flat[i, : self.spec.obs_sizes[i]], dtype=np.float32)
            out[name] = {"observation": o, "action_mask": self._agent_mask(mask, i)} if self.action_mask_in_obs else o
        return out

    def _agent_mask(self, mask: np.ndarray, i: int) -> np.ndarray:
        return mask[i, : self.spec.num_actions[i]].astype(np.int8)

    def _infos(self, mask: np.ndarray, info: Mapping[str, np.ndarray] | None = None) -> dict[AgentID, dict]:
        infos: dict[AgentID, dict] = {}
        for i, name in enumerate(self.possible_agents):
            entry: dict[str, Any] = {} if self.spec.continuous else {"action_mask": self._agent_mask(mask, i)}
            if info is not None:
                entry["illegal_action"] = bool(info["illegal_action"][i])
                if "cost" in info:
                    entry["cost"] = np.array(info["cost"][i], dtype=np.float32)
            infos[name] = entry
        return infos

    def _joint_action(self, actions: Mapping[AgentID, Any]) -> np.ndarray:
        name = self.spec.name
        if not isinstance(actions, Mapping):
            raise InvalidGameError(f"{name}: step expects a dict {{agent: action}}, got {type(actions).__name__}")
        missing = [a for a in self.agents if a not in actions]
        unknown = [a for a in actions if a not in self._index]
        if unknown:
            raise InvalidGameError(f"{name}: unknown agent(s) {unknown}; agents are {self.possible_agents}")
        if missing:
            raise InvalidGameError(f"{name}: no action for live agent(s) {missing}; every live agent must act")
        if self.spec.continuous:
            return self._box_action(actions)
        joint = []
        for agent in self.possible_agents:
            a = np.asarray(actions[agent])
            if a.shape != () or not np.issubdtype(a.dtype, np.integer):
                raise InvalidGameError(
                    f"{name}: agent {agent!r} action must be one integer (a Discrete action), got {a.tolist()!r}"
                )
            joint.append(int(a))
        mask = self._mask if self.illegal_actions == "raise" else None  # else the compiled step replaces them
        return check_actions(self.spec, np.asarray(joint, dtype=np.int64), mask)

    def _box_action(self, actions: Mapping[AgentID, Any]) -> np.ndarray:
        """Box actions: ``[n, D_max]`` float32 from each agent's ``[d_i]`` array (validated; the step clips)."""
        spec = self.spec
        joint = np.zeros((spec.n_agents, spec.max_actions), np.float64)
        for i, agent in enumerate(self.possible_agents):
            a = np.asarray(actions[agent])
            d = spec.num_actions[i]
            if a.shape != (d,) or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
                raise InvalidGameError(
                    f"{spec.name}: agent {agent!r} action must be {d} real numbers (a Box action), got {a.tolist()!r}"
                )
            joint[i, :d] = a
        return check_actions(spec, joint)

    # ------------------------------------------------------------------------------------------- the API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[AgentID, Any], dict[AgentID, dict]]:
        if seed is not None:
            self._key = jax.random.key(seed)
        elif self._key is None:
            self._key = jax.random.key(_fresh_seed() if self._seed is None else self._seed)
        key, obs, state, extra = _reset(self.env, self._key)
        self._key, self._state, self._final = key, state, None
        obs, extra = jax.device_get((obs, extra))
        self._mask, self._global = np.asarray(extra["action_mask"]), np.asarray(extra["global_state"])
        self.agents = list(self.possible_agents)
        return self._observations(obs, self._mask), self._infos(self._mask)

    def step(self, actions: Mapping[AgentID, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if self._key is None:
            raise InvalidGameError(f"{self.spec.name}: call reset() before step()")
        if not self.agents:
            raise InvalidGameError(f"{self.spec.name}: the episode is over (no live agents); call reset()")
        joint = self._joint_action(actions)
        step_key, before = self._key, self._state
        dtype = jnp.float32 if self.spec.continuous else jnp.int32
        key, obs, state, reward, done, info = _step(self.env, self._key, self._state, jnp.asarray(joint, dtype))
        self._key, self._state = key, state
        obs, reward, done, info = jax.device_get((obs, reward, done, info))
        if done and self.render_mode == "rgb_array":
            self._final = _final_state(self.env, step_key, before, jnp.asarray(joint, jnp.int32))
        self._mask, self._global = np.asarray(info["action_mask"]), np.asarray(info["global_state"])
        if done:  # report the observation the episode ended on; the contract has already reset its state
            obs, mask = info["final_obs"], np.asarray(info["final_action_mask"])
        else:
            mask = self._mask
        names = self.possible_agents
        observations = self._observations(np.asarray(obs), mask)
        rewards = {name: float(reward[i]) for i, name in enumerate(names)}
        terminations = dict.fromkeys(names, bool(info["terminated"]))
        truncations = dict.fromkeys(names, bool(info["truncated"]))
        infos = self._infos(mask, info)
        self.agents = [] if done else list(names)
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        if self._global is None:
            raise InvalidGameError(f"{self.spec.name}: call reset() before state()")
        if self.spec.global_state_size == 0:
            raise NotImplementedError(f"{self.spec.name} has no global state")
        return np.array(self._global, dtype=np.float32)

    def render(self) -> np.ndarray | None:
        """``render_mode="rgb_array"``: the current state's picture ``uint8 [H, W, 3]`` (after an episode's last
        step, the state it ended on); ``render_mode=None``: nothing (PettingZoo's convention)."""
        if self.render_mode is None:
            return None
        if self._state is None:
            raise InvalidGameError(f"{self.spec.name}: call reset() before render()")
        if self._final is not None:
            return self.env.unwrapped.render(self._final)
        return self.env.render(self._state)

    def close(self) -> None:
        """Nothing to release."""


def to_pettingzoo(
    env: MultiAgentEnv,
    seed: int | None = None,
    render_mode: str | None = None,
    action_mask_in_obs: bool = False,
    illegal_actions: str = "replace",
) -> MarlkitParallelEnv:
    """``env`` as a PettingZoo ``ParallelEnv`` (see the module docstring for seeding, spaces, illegal actions and
    errors)."""
    return MarlkitParallelEnv(
        env,
        seed=seed,
        render_mode=render_mode,
        action_mask_in_obs=action_mask_in_obs,
        illegal_actions=illegal_actions,
    )


def to_aec(
    env: MultiAgentEnv,
    seed: int | None = None,
    action_mask_in_obs: bool = False,
    illegal_actions: str = "replace",
    render_mode: str | None = None,
) -> Any:
    """``env`` as a PettingZoo AEC env, through PettingZoo's ``parallel_to_aec`` conversion."""
    return parallel_to_aec(
        to_pettingzoo(
            env,
            seed=seed,
            render_mode=render_mode,
            action_mask_in_obs=action_mask_in_obs,
            illegal_actions=illegal_actions,
        )
    )


# ---------------------------------------------------------------------------------------- PettingZoo -> marlkit
def _observation_part(space: gymnasium.spaces.Space) -> gymnasium.spaces.Space:
    """The observation itself, for the ``{"observation", "action_mask"}`` dict convention."""
    if isinstance(space, gymnasium.spaces.Dict) and "observation" in space.spaces:
        return space["observation"]
    return space


class HostEnv:
    """A PettingZoo ``ParallelEnv`` under marlkit's array conventions, stepped by a Python loop (not jittable).

    ``reset(seed=None) -> (obs [n, D], info)`` and ``step(actions [n]) -> (obs [n, D], reward [n], done, info)``
    with auto-reset; ``info`` mirrors the functional contract (``terminated``, ``truncated``, ``action_mask
    [n, A_max]``, ``global_state`` (``env.state()``, empty if the env has no ``state_space``), ``final_obs``,
    ``final_action_mask``, ``final_global_state``) and adds ``alive [n]`` (agents present in the returned
    observation) and the per-agent ``agent_terminated [n]`` / ``agent_truncated [n]`` of this step. An absent agent
    (not yet born, or finished) observes zeros, gets reward 0, may choose any action, and is not stepped in the
    PettingZoo env.
    """

    def __init__(self, env: ParallelEnv, seed: int | None = None) -> None:
        self.env = env
        self.possible_agents: list[Any] = list(env.possible_agents)
        n = len(self.possible_agents)
        if n == 0:
            raise InvalidGameError("from_pettingzoo: the env has no possible_agents")
        self._obs_spaces = [_observation_part(env.observation_space(a)) for a in self.possible_agents]
        action_spaces = [env.action_space(a) for a in self.possible_agents]
        box = _box_bounds(self.possible_agents, action_spaces)
        self._action_start = [0 if box else int(space.start) for space in action_spaces]
        sizes = tuple(int(gymnasium.spaces.flatdim(s)) for s in self._obs_spaces)
        state_space = getattr(env, "state_space", None)
        limit = getattr(env.unwrapped, "max_cycles", None)
        self.spec = MultiAgentSpec(
            name=str(env.metadata.get("name", type(env.unwrapped).__name__)),
            n_agents=n,
            agent_names=tuple(str(a) for a in self.possible_agents),
            obs_shape=(max(sizes),),
            obs_sizes=sizes,
            num_actions=tuple(int(space.shape[0]) if box else int(space.n) for space in action_spaces),
            global_state_size=int(gymnasium.spaces.flatdim(state_space)) if state_space is not None else 0,
            max_episode_steps=int(limit) if isinstance(limit, int) and limit > 0 else int(NO_TIME_LIMIT),
            action_low=box[0] if box else None,
            action_high=box[1] if box else None,
            description={"source": "PettingZoo ParallelEnv through marlkit.envs.from_pettingzoo (host loop)"},
        )
        self._seed = seed
        self._started = False
        self._obs = np.zeros((n, max(sizes)), np.float32)
        self._mask = self._all_legal()

    def _all_legal(self) -> np.ndarray:
        return np.arange(self.spec.max_actions)[None, :] < np.asarray(self.spec.num_actions)[:, None]

    def _arrays(self, observations: Mapping, infos: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(obs [n, D], action_mask [n, A_max], alive [n])`` from PettingZoo's per-agent dicts."""
        obs = np.zeros((self.spec.n_agents, self.spec.obs_shape[0]), np.float32)
        mask = self._all_legal()
        alive = np.zeros(self.spec.n_agents, bool)
        for i, agent in enumerate(self.possible_agents):
            if agent not in observations:
                continue
            o = observations[agent]
            agent_mask = None
            if isinstance(o, Mapping) and "observation" in o:
                agent_mask = o.get("action_mask")
                o = o["observation"]
            if agent_mask is None:
                agent_mask = infos.get(agent, {}).get("action_mask")
            flat = gymnasium.spaces.flatten(self._obs_spaces[i], o)
            if not isinstance(flat, np.ndarray):  # Graph and Sequence spaces flatten to other types
                raise NotApplicableError(
                    f"from_pettingzoo: agent {agent!r}'s observation space {self._obs_spaces[i]} does not flatten to "
                    "an array"
                )
            obs[i, : self.spec.obs_sizes[i]] = flat
            if agent_mask is not None and not self.spec.continuous:
                mask[i, : self.spec.num_actions[i]] = np.asarray(agent_mask, bool).reshape(-1)
            alive[i] = True
        return obs, mask, alive

    def _global_state(self) -> np.ndarray:
        if self.spec.global_state_size == 0:
            return np.zeros(0, np.float32)
        return np.asarray(self.env.state(), np.float32).reshape(-1)

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Start an episode (``seed`` as PettingZoo's; the first reset uses the constructor's seed)."""
        if seed is None and not self._started:
            seed = self._seed
        self._started = True
        observations, infos = self.env.reset(seed=seed)
        self._obs, self._mask, self._alive = self._arrays(observations, infos)
        return self._obs.copy(), {
            "action_mask": self._mask.copy(),
            "global_state": self._global_state(),
            "alive": self._alive.copy(),
        }

    def step(self, actions: object) -> tuple[np.ndarray, np.ndarray, bool, dict[str, Any]]:
        """Step every live agent with ``actions [n]`` (validated against the current mask), or Box actions
        ``[n, D_max]`` (validated, clipped to each agent's box); auto-resets."""
        if not self._started:
            raise InvalidGameError(f"{self.spec.name}: call reset() before step()")
        joint = check_actions(self.spec, actions, self._mask)
        live = set(self.env.agents)
        pz_actions: dict[Any, Any]
        if self.spec.continuous:
            low, high = self.spec.action_bounds
            clipped = np.clip(joint, low, high)
            pz_actions = {
                a: clipped[i, : self.spec.num_actions[i]] for i, a in enumerate(self.possible_agents) if a in live
            }
        else:
            pz_actions = {
                a: int(joint[i]) + self._action_start[i] for i, a in enumerate(self.possible_agents) if a in live
            }
        observations, rewards, terminations, truncations, infos = self.env.step(pz_actions)
        obs, mask, alive = self._arrays(observations, infos)
        reward = np.array([float(rewards.get(a, 0.0)) for a in self.possible_agents], np.float32)
        agent_terminated = np.array([bool(terminations.get(a, False)) for a in self.possible_agents])
        agent_truncated = np.array([bool(truncations.get(a, False)) for a in self.possible_agents])
        done = not self.env.agents
        info: dict[str, Any] = {
            "terminated": done and not agent_truncated.any(),
            "truncated": done and bool(agent_truncated.any()),
            "agent_terminated": agent_terminated,
            "agent_truncated": agent_truncated,
            "final_obs": obs,
            "final_action_mask": mask,
            "final_global_state": self._global_state(),
        }
        if done:
            obs, reset_info = self.reset()
            mask, alive = reset_info["action_mask"], reset_info["alive"]
            info["global_state"] = reset_info["global_state"]
        else:
            info["global_state"] = self._global_state()
            alive = alive & ~(agent_terminated | agent_truncated)
            obs = np.where(alive[:, None], obs, np.float32(0))
        self._obs, self._mask, self._alive = obs, mask, alive
        info.update(action_mask=mask.copy(), alive=alive.copy())
        return obs.copy(), reward, done, info


def _box_bounds(
    agents: list[Any], spaces: list[gymnasium.spaces.Space]
) -> tuple[tuple[tuple[float, ...], ...], tuple[tuple[float, ...], ...]] | None:
    """``(low, high)`` per agent when every action space is a one-dimensional ``Box``; ``None`` when every one is
    ``Discrete``; anything else is refused."""
    boxes = [isinstance(space, gymnasium.spaces.Box) for space in spaces]
    for agent, space, is_box in zip(agents, spaces, boxes, strict=True):
        if not (is_box or isinstance(space, gymnasium.spaces.Discrete)):
            raise NotApplicableError(
                f"from_pettingzoo: agent {agent!r} has action space {space}; marlkit's host loop supports Discrete "
                "and one-dimensional Box actions"
            )
        if is_box and (space.shape is None or len(space.shape) != 1):
            raise NotApplicableError(
                f"from_pettingzoo: agent {agent!r} has a Box action space of shape {space.shape}; marlkit supports "
                "one-dimensional Box actions (flatten it with a wrapper)"
            )
    if not any(boxes):
        return None
    if not all(boxes):
        mixed = {str(a): type(s).__name__ for a, s in zip(agents, spaces, strict=True)}
        raise NotApplicableError(f"from_pettingzoo: agents mix Discrete and Box action spaces ({mixed}); use one kind")
    low = tuple(tuple(float(x) for x in np.asarray(s.low, np.float64)) for s in spaces)  # type: ignore[attr-defined]
    high = tuple(tuple(float(x) for x in np.asarray(s.high, np.float64)) for s in spaces)  # type: ignore[attr-defined]
    return low, high


def from_pettingzoo(env_fn: Callable[[], ParallelEnv], seed: int | None = None) -> HostEnv:
    """A PettingZoo ``ParallelEnv`` (built by ``env_fn()``) as a marlkit :class:`HostEnv` (a host loop)."""
    env = env_fn()
    if not isinstance(env, ParallelEnv):
        raise NotApplicableError(
            f"from_pettingzoo: env_fn() returned {type(env).__name__}, not a pettingzoo ParallelEnv; convert an AEC "
            "env with pettingzoo.utils.conversions.aec_to_parallel first"
        )
    return HostEnv(env, seed=seed)


__all__ = ["HostEnv", "MarlkitParallelEnv", "from_pettingzoo", "to_aec", "to_pettingzoo"]
