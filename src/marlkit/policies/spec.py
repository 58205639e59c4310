"""What env a policy is for: its spec as JSON, the interface a policy's network depends on, and how to rebuild the
env (:class:`EnvRef`: a task by name and parameters, or an exact game embedded as its JSON dict).

A policy fits an env when the :func:`interface` agrees — the agents, their observation shape and sizes and their
action counts; the episode limit, the global state and the constraints may differ (``simple_spread``'s policy on
``constrained_spread``, which reports a cost, is noted with :func:`other_env_note`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from marlkit.envs.base import AgentGroup, MultiAgentEnv, MultiAgentSpec
from marlkit.errors import PolicyFileError


def _number(x: float) -> float | str:
    return float(x) if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def spec_to_json(spec: MultiAgentSpec) -> dict[str, Any]:
    """The static facts of an env's spec as JSON (its free-text ``description`` left out)."""
    return {
        "name": spec.name,
        "n_agents": spec.n_agents,
        "agent_names": list(spec.agent_names),
        "obs_shape": list(spec.obs_shape),
        "obs_sizes": list(spec.obs_sizes),
        "num_actions": list(spec.num_actions),
        "global_state_size": spec.global_state_size,
        "max_episode_steps": spec.max_episode_steps,
        "num_constraints": spec.num_constraints,
        "groups": [{"name": g.name, "agents": list(g.agents)} for g in spec.groups],
        "obs_low": _number(spec.obs_low),
        "obs_high": _number(spec.obs_high),
        "action_low": _bounds(spec.action_low),
        "action_high": _bounds(spec.action_high),
    }


def _bounds(bounds: tuple[tuple[float, ...], ...] | None) -> list[list[float | str]] | None:
    """Box action bounds per agent and dimension as JSON (``"inf"`` / ``"-inf"`` strings; None: discrete)."""
    return None if bounds is None else [[_number(x) for x in agent] for agent in bounds]


def _bounds_from_json(data: Any) -> tuple[tuple[float, ...], ...] | None:
    return None if data is None else tuple(tuple(float(x) for x in agent) for agent in data)


def spec_from_json(data: Mapping[str, Any]) -> MultiAgentSpec:
    """The spec :func:`spec_to_json` wrote."""
    return MultiAgentSpec(
        name=str(data["name"]),
        n_agents=int(data["n_agents"]),
        agent_names=tuple(str(a) for a in data["agent_names"]),
        obs_shape=tuple(int(x) for x in data["obs_shape"]),
        obs_sizes=tuple(int(x) for x in data["obs_sizes"]),
        num_actions=tuple(int(x) for x in data["num_actions"]),
        global_state_size=int(data["global_state_size"]),
        max_episode_steps=int(data["max_episode_steps"]),
        num_constraints=int(data["num_constraints"]),
        groups=tuple(AgentGroup(str(g["name"]), tuple(int(a) for a in g["agents"])) for g in data["groups"]),
        obs_low=float(data["obs_low"]),
        obs_high=float(data["obs_high"]),
        action_low=_bounds_from_json(data.get("action_low")),
        action_high=_bounds_from_json(data.get("action_high")),
    )


def interface(spec: MultiAgentSpec) -> tuple[Any, ...]:
    """What a policy's network depends on: the agents, their observation shape and sizes, action counts and (Box
    actions) bounds (the
    episode limit, the global state and the constraints may differ between the env trained on and the env
    evaluated on)."""
    return (
        spec.n_agents,
        spec.agent_names,
        spec.obs_shape,
        spec.obs_sizes,
        spec.num_actions,
        spec.action_low,
        spec.action_high,
    )


def describe_spec(spec: MultiAgentSpec) -> str:
    """One line: ``simple_spread (agents agent_0, agent_1; obs (18,); actions (5, 5))``."""
    kind = "continuous actions of dimensions" if spec.continuous else "actions"
    return (
        f"{spec.name} (agents {', '.join(spec.agent_names)}; obs {tuple(spec.obs_shape)}; "
        f"{kind} {tuple(spec.num_actions)}; global state ({spec.global_state_size},))"
    )


def check_interface(spec: MultiAgentSpec, env_spec: MultiAgentSpec, what: str) -> None:
    """Raise :class:`PolicyFileError` naming both unless ``what`` (a policy of ``spec``) fits an env of
    ``env_spec``: the same :func:`interface` (agents, observation and action spaces). Envs of other names with the
    same interface fit (``simple_spread``'s policy on ``constrained_spread``, which adds a cost): the caller
    says so (:func:`other_env_note`)."""
    if interface(spec) != interface(env_spec):
        raise PolicyFileError(
            f"{what} was trained on {describe_spec(spec)}, not on this env, {describe_spec(env_spec)}; "
            "a policy acts only on an env with its agents and spaces"
        )


def other_env_note(spec: MultiAgentSpec, env_spec: MultiAgentSpec, what: str) -> str | None:
    """A note when ``what`` acts on an env of another name than the one it was trained on (None otherwise)."""
    if spec.name == env_spec.name:
        return None
    return f"{what} was trained on {spec.name} and is evaluated on {env_spec.name} (same agents and spaces)"


# ------------------------------------------------------------------------------------------ env references


@dataclass(frozen=True)
class EnvRef:
    """How to rebuild the env a policy acts in: a task of :func:`marlkit.envs.make` by ``name`` and ``params``,
    or an exact game embedded as its JSON dict (``game``, :func:`marlkit.games.io.game_to_dict`) with the episode
    limit ``max_episode_steps`` (``GameEnv``, one-hot observations)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    game: Mapping[str, Any] | None = None
    max_episode_steps: int | None = None
    target: str | None = None

    def build(self) -> MultiAgentEnv:
        """The env (a fresh object each call). A user's env class (``target``, ``package.module:Class``) is
        imported only here, and only from what is installed: a policy file names, it does not carry, code."""
        if self.target is not None:
            from marlkit.envs.check import load_env_target

            return load_env_target(self.target, dict(self.params), "the policy's env.target")
        if self.game is not None:
            from marlkit.envs.games import GameEnv
            from marlkit.games.io import game_from_dict

            return GameEnv(game_from_dict(self.game), self.max_episode_steps)
        from marlkit.envs.registry import make

        return make(self.name, **dict(self.params))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "params": dict(self.params)}
        if self.game is not None:
            data["game"] = dict(self.game)
            data["max_episode_steps"] = self.max_episode_steps
        if self.target is not None:
            data["target"] = self.target
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnvRef:
        limit = data.get("max_episode_steps")
        return cls(
            str(data["name"]),
            MappingProxyType(dict(data.get("params") or {})),
            data.get("game"),
            None if limit is None else int(limit),
            None if data.get("target") is None else str(data["target"]),
        )

    def label(self) -> str:
        """``simple_spread n_agents=2 max_episode_steps=10`` or ``game penalty``."""
        if self.game is not None:
            return f"game {self.game.get('name') or self.name}"
        params = " ".join(f"{k}={v}" for k, v in self.params.items() if v is not None)
        return f"{self.name} {params}".strip()


def game_env_ref(env: Any, name: str | None = None) -> EnvRef:
    """The :class:`EnvRef` of a ``GameEnv`` (its game embedded)."""
    from marlkit.games.io import game_to_dict

    game = env.game
    return EnvRef(name or f"game:{game.name}", game=game_to_dict(game), max_episode_steps=env.max_episode_steps)


__all__ = [
    "EnvRef",
    "check_interface",
    "describe_spec",
    "game_env_ref",
    "interface",
    "other_env_note",
    "spec_from_json",
    "spec_to_json",
]
