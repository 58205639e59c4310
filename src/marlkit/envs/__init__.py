"""Simulators under one functional JAX contract (docs/architecture.md, "Contracts"); any exact game as an env.

* the contract: :class:`MultiAgentEnv` (what loops accept), :class:`Env` (the base of tasks),
  :class:`MultiAgentSpec` — :mod:`marlkit.envs.base`;
* any exact game as an env: :class:`GameEnv` — :mod:`marlkit.envs.games`; with ``observation="index"``
  (:func:`make_env`) it is the simulator the tabular training loop runs on;
* tasks by name: :func:`make`, :func:`names` — :mod:`marlkit.envs.registry`;
* wrappers: :mod:`marlkit.envs.wrappers`;
* PettingZoo both ways: :func:`to_pettingzoo`, :func:`to_aec`, :func:`from_pettingzoo` — imported on first use.
"""

from typing import Any

from marlkit.envs.base import AgentGroup, Env, MultiAgentEnv, MultiAgentSpec, TimeState
from marlkit.envs.games import NO_TIME_LIMIT, GameEnv, GameState, GameTables, make_env
from marlkit.envs.registry import TASKS, make, names
from marlkit.envs.wrappers import (
    ActionMask,
    AgentId,
    EpisodeStatistics,
    GlobalState,
    NormalizeObservation,
    Wrapper,
    random_legal_actions,
)

_PETTINGZOO = ("HostEnv", "MarlkitParallelEnv", "from_pettingzoo", "to_aec", "to_pettingzoo")


def __getattr__(name: str) -> Any:
    """Import the PettingZoo bridge on first use (it imports pettingzoo and gymnasium)."""
    if name in _PETTINGZOO:
        from marlkit.envs import pettingzoo

        return getattr(pettingzoo, name)
    raise AttributeError(f"module 'marlkit.envs' has no attribute {name!r}")


__all__ = [
    "NO_TIME_LIMIT",
    "TASKS",
    "ActionMask",
    "AgentGroup",
    "AgentId",
    "Env",
    "EpisodeStatistics",
    "GameEnv",
    "GameState",
    "GameTables",
    "GlobalState",
    "HostEnv",
    "MarlkitParallelEnv",
    "MultiAgentEnv",
    "MultiAgentSpec",
    "NormalizeObservation",
    "TimeState",
    "Wrapper",
    "from_pettingzoo",
    "make",
    "make_env",
    "names",
    "random_legal_actions",
    "to_aec",
    "to_pettingzoo",
]
