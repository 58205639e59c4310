"""Simulators under one functional JAX contract (DESIGN.md, "Env"); any exact game as an env.

* the contract: :class:`MultiAgentEnv` (what loops accept), :class:`Env` (the base of tasks),
  :class:`MultiAgentSpec` — :mod:`marlkit.envs.base`;
* any exact game as an env: :class:`GameEnv` — :mod:`marlkit.envs.games`;
* tasks by name: :func:`make`, :func:`names` — :mod:`marlkit.envs.registry`;
* wrappers: :mod:`marlkit.envs.wrappers`;
* PettingZoo both ways: :func:`to_pettingzoo`, :func:`to_aec`, :func:`from_pettingzoo` — imported on first use;
* the tabular simulator the tabular training loop runs on: :class:`TabularEnv`, :func:`make_env`
  (``check_actions`` here is the tabular one; the contract's is :func:`marlkit.envs.base.check_actions`).
"""

from typing import Any

from marlkit.envs.base import AgentGroup, Env, MultiAgentEnv, MultiAgentSpec, TimeState
from marlkit.envs.games import GameEnv, GameState
from marlkit.envs.registry import TASKS, make, names
from marlkit.envs.tabular import EnvSpec, EnvState, TabularEnv, as_stochastic, check_actions, make_env
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
    "TASKS",
    "ActionMask",
    "AgentGroup",
    "AgentId",
    "Env",
    "EnvSpec",
    "EnvState",
    "EpisodeStatistics",
    "GameEnv",
    "GameState",
    "GlobalState",
    "HostEnv",
    "MarlkitParallelEnv",
    "MultiAgentEnv",
    "MultiAgentSpec",
    "NormalizeObservation",
    "TabularEnv",
    "TimeState",
    "Wrapper",
    "as_stochastic",
    "check_actions",
    "from_pettingzoo",
    "make",
    "make_env",
    "names",
    "random_legal_actions",
    "to_aec",
    "to_pettingzoo",
]
