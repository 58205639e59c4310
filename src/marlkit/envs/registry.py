"""Tasks by name: ``make(name, **params) -> MultiAgentEnv`` and ``names()`` (issue 7, item 3).

:data:`TASKS` maps a name to a :class:`TaskEntry` that names its class by module path (``"module:Class"``) and
imports it only when the task is made, so the registry loads fast and lists tasks whose modules are still
missing or broken (``make`` then says which module failed). ``"game:<catalog name>"`` builds the
:class:`~marlkit.envs.games.GameEnv` of any game in :mod:`marlkit.games.catalog`; its parameters are the
catalog game's, plus ``max_episode_steps``.

>>> from marlkit.envs.registry import make
>>> env = make("game:penalty", k=-50, max_episode_steps=5)
>>> env.spec.max_episode_steps
5
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from marlkit.envs.base import MultiAgentEnv
from marlkit.errors import InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.targets import load_target

GAME_PREFIX = "game:"


@dataclass(frozen=True)
class TaskEntry:
    """One task: where its class lives, fixed constructor arguments, a one-line description and its source."""

    target: str  # "package.module:ClassName"
    description: str
    source: str
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> type:
        """Import and return the task's class (``NotApplicableError`` chained to the ``ImportError`` if its
        module cannot be imported)."""
        return load_target(self.target, "task")


_MPE = (
    "Lowe, Wu, Tamar, Harb, Abbeel & Mordatch 2017, Multi-Agent Actor-Critic for Mixed Cooperative-Competitive "
    "Environments (NeurIPS); Mordatch & Abbeel 2018 (AAAI); reference implementation: the mpe2 package (Farama)"
)
_BAR = (
    "Wolpert & Tumer 2001, Optimal payoff functions for members of collectives (Advances in Complex Systems 4); "
    "Agogino & Tumer 2004, Unifying temporal and structural credit assignment problems (AAMAS)"
)
_LBF = (
    "Albrecht & Ramamoorthy 2013 (AAMAS); Christianos, Schäfer & Albrecht 2020, Shared Experience Actor-Critic "
    "(NeurIPS); Papoudakis, Christianos, Schäfer & Albrecht 2021, Benchmarking Multi-Agent Deep RL Algorithms in "
    "Cooperative Tasks (NeurIPS Datasets and Benchmarks); reference implementation: the lbforaging package"
)

TASKS: Mapping[str, TaskEntry] = MappingProxyType(
    {
        "simple_spread": TaskEntry(
            "marlkit.envs.mpe.simple_spread:SimpleSpread",
            "cooperative navigation: n agents cover n landmarks and avoid collisions (MPE)",
            _MPE,
        ),
        "simple_tag": TaskEntry(
            "marlkit.envs.mpe.simple_tag:SimpleTag",
            "predator-prey: slower adversaries chase faster good agents around obstacles (MPE)",
            _MPE,
        ),
        "speaker_listener": TaskEntry(
            "marlkit.envs.mpe.speaker_listener:SpeakerListener",
            "communication: a speaker tells a listener which landmark to reach (MPE)",
            _MPE,
        ),
        "lbf": TaskEntry(
            "marlkit.envs.lbf:LevelBasedForaging",
            "level-based foraging: agents whose levels add up to a food's level collect it together",
            _LBF,
        ),
        "bar_problem": TaskEntry(
            "marlkit.envs.bar:BarProblem",
            "congestion: n agents pick one of K nights; all receive G = sum_k x_k exp(-x_k / c) (difference rewards)",
            _BAR,
        ),
        "constrained_spread": TaskEntry(
            "marlkit.envs.mpe.simple_spread:SimpleSpread",
            "cooperative navigation with collisions reported as a cost, info['cost'] [n, 1] (constrained MARL)",
            _MPE + "; the cost turns it into a constrained Markov game (Altman 1999, Constrained Markov Decision "
            "Processes, ch. 2)",
            MappingProxyType({"constrained": True}),
        ),
    }
)
"""Every task by name (read-only); ``"game:<catalog name>"`` names are served besides these."""


def _normalise(name: str) -> str:
    name = str(name).strip()
    if name.lower().startswith(GAME_PREFIX):
        return name  # the catalog forgives case and separators itself
    return name.lower().replace("-", "_").replace(" ", "_")


def names(include_games: bool = True) -> tuple[str, ...]:
    """Registered task names, then (``include_games``) ``"game:<name>"`` for every catalog game."""
    tasks = tuple(TASKS)
    if not include_games:
        return tasks
    from marlkit.games.catalog import names as catalog_names

    return tasks + tuple(GAME_PREFIX + g for g in catalog_names())


def lookup(name: str) -> TaskEntry:
    """The entry of a task name (case, ``-`` and spaces forgiven); unknown names get close matches suggested."""
    key = _normalise(name)
    if key in TASKS:
        return TASKS[key]
    close = difflib.get_close_matches(key, list(TASKS), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else "."
    raise UnknownNameError(
        f"unknown env {name!r}{hint} Known tasks: {', '.join(TASKS)}; any catalog game as 'game:<name>' "
        "(run `marlkit games` to list them)."
    )


def _check_parameters(name: str, cls: type, params: Mapping[str, Any]) -> None:
    accepted = {
        p.name: p.default
        for p in inspect.signature(cls).parameters.values()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, list(accepted), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            allowed = ", ".join(f"{k}={v!r}" for k, v in accepted.items()) or "none"
            raise InvalidGameError(f"{name}: unknown parameter {key!r}{hint}; allowed parameters: {allowed}")


def make(name: str, **params: Any) -> MultiAgentEnv:
    """Build the task ``name`` with keyword ``params`` (the task's defaults for the rest).

    Raises:
        UnknownNameError: an unknown task or catalog game (close matches are suggested).
        InvalidGameError: an unknown parameter, or a value the task rejects.
        NotApplicableError: the task's module cannot be imported.
    """
    key = _normalise(name)
    if key.lower().startswith(GAME_PREFIX):
        from marlkit.envs.games import GameEnv
        from marlkit.games import catalog

        game_params = {k: v for k, v in params.items() if k != "max_episode_steps"}
        game = catalog.make(key[len(GAME_PREFIX) :], **game_params)
        return GameEnv(game, params.get("max_episode_steps"))
    entry = lookup(key)
    try:
        cls = entry.load()
    except NotApplicableError as exc:
        raise NotApplicableError(f"env {name!r}: {exc}") from exc.__cause__
    fixed = [k for k in params if k in entry.defaults]
    if fixed:
        raise InvalidGameError(f"{key}: parameter {fixed[0]!r} is fixed by this task to {entry.defaults[fixed[0]]!r}")
    _check_parameters(key, cls, params)
    return cls(**entry.defaults, **params)


__all__ = ["GAME_PREFIX", "TASKS", "TaskEntry", "lookup", "make", "names"]
