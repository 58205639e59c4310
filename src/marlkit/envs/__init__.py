"""Simulators under one functional JAX contract (docs/architecture.md, "Contracts"); any exact game as an env.

* the contract: :class:`MultiAgentEnv` (what loops accept), :class:`Env` (the base of tasks),
  :class:`MultiAgentSpec` — :mod:`marlkit.envs.base`;
* any exact game as an env: :class:`GameEnv` — :mod:`marlkit.envs.games`; with ``observation="index"``
  (:func:`make_env`) it is the simulator the tabular training loop runs on;
* tasks by name: :func:`make`, :func:`names` — :mod:`marlkit.envs.registry`;
* wrappers: :mod:`marlkit.envs.wrappers`;
* PettingZoo both ways: :func:`to_pettingzoo`, :func:`to_aec`, :func:`from_pettingzoo` — imported on first use;
* pictures: ``env.render(state)``, :func:`render_episode`, :func:`write_video` — :mod:`marlkit.envs.render`;
* the contract checker for your own env: :func:`check_env` — :mod:`marlkit.envs.check`.
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
_LAZY = {
    "render_episode": "marlkit.envs.render",
    "write_video": "marlkit.envs.render",
    "check_env": "marlkit.envs.check",
    "EnvCheck": "marlkit.envs.check",
}


def __getattr__(name: str) -> Any:
    """Import the PettingZoo bridge (it imports pettingzoo and gymnasium), rendering and the checker on first use."""
    if name in _PETTINGZOO:
        from marlkit.envs import pettingzoo

        return getattr(pettingzoo, name)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'marlkit.envs' has no attribute {name!r}")


__all__ = [
    "NO_TIME_LIMIT",
    "TASKS",
    "ActionMask",
    "AgentGroup",
    "AgentId",
    "Env",
    "EnvCheck",
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
    "check_env",
    "from_pettingzoo",
    "make",
    "make_env",
    "names",
    "random_legal_actions",
    "render_episode",
    "to_aec",
    "to_pettingzoo",
    "write_video",
]
