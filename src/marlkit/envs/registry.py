"""Tasks by name: ``make(name, **params) -> MultiAgentEnv`` and ``names()`` (issue 7, item 3).

:data:`TASKS` is a :class:`~marlkit.registry.Registry` whose entries name their class by module path
(``"module:Class"``), imported only when the task is made, so the registry loads fast and lists tasks whose modules
are still missing or broken (``make`` then says which module failed). An entry's ``citation`` is its source and its
``defaults`` are the constructor arguments the task *fixes* (``constrained_spread`` is ``simple_spread`` with
``constrained=True``; they cannot be overridden). ``"game:<catalog name>"`` builds the
:class:`~marlkit.envs.games.GameEnv` of any game in :mod:`marlkit.games.catalog`; its parameters are the
catalog game's, plus ``max_episode_steps``.

>>> from marlkit.envs.registry import make
>>> env = make("game:penalty", k=-50, max_episode_steps=5)
>>> env.spec.max_episode_steps
5
"""

from __future__ import annotations

from typing import Any

from marlkit.envs.base import MultiAgentEnv
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.registry import Entry, Registry, normalise

GAME_PREFIX = "game:"

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
_COOKING = (
    "Carroll, Shah, Ho, Griffiths, Seshia, Abbeel & Dragan 2019, On the Utility of Learning about Humans for "
    "Human-AI Coordination (NeurIPS); reference implementation: the overcooked_ai_py package (2019 rules)"
)

TASKS: Registry[MultiAgentEnv] = Registry(
    "task",
    param_error=InvalidGameError,
    hint="Any catalog game is a task as 'game:<name>' (run `marlkit games` to list them).",
)
TASKS.add(
    "simple_spread",
    "marlkit.envs.mpe.simple_spread:SimpleSpread",
    description="cooperative navigation: n agents cover n landmarks and avoid collisions (MPE)",
    citation=_MPE,
)
TASKS.add(
    "simple_tag",
    "marlkit.envs.mpe.simple_tag:SimpleTag",
    description="predator-prey: slower adversaries chase faster good agents around obstacles (MPE)",
    citation=_MPE,
)
TASKS.add(
    "speaker_listener",
    "marlkit.envs.mpe.speaker_listener:SpeakerListener",
    description="communication: a speaker tells a listener which landmark to reach (MPE)",
    citation=_MPE,
)
TASKS.add(
    "lbf",
    "marlkit.envs.lbf:LevelBasedForaging",
    description="level-based foraging: agents whose levels add up to a food's level collect it together",
    citation=_LBF,
)
TASKS.add(
    "bar_problem",
    "marlkit.envs.bar:BarProblem",
    description="congestion: n agents pick one of K nights; all receive G = sum_k x_k exp(-x_k / c) "
    "(difference rewards)",
    citation=_BAR,
)
TASKS.add(
    "constrained_spread",
    "marlkit.envs.mpe.simple_spread:SimpleSpread",
    description="cooperative navigation with collisions reported as a cost, info['cost'] [n, 1] (constrained MARL)",
    citation=_MPE + "; the cost turns it into a constrained Markov game (Altman 1999, Constrained Markov Decision "
    "Processes, ch. 2)",
    defaults={"constrained": True},
)
TASKS.add(
    "cooking",
    "marlkit.envs.cooking:Cooking",
    description="Overcooked: two chefs cook onion soups (3 onions, 20 steps) and serve them for 20 each; "
    "layouts cramped_room, asymmetric_advantages, coordination_ring",
    citation=_COOKING,
    aliases=("overcooked",),
)
"""Every task by name (read-only); ``"game:<catalog name>"`` names are served besides these."""


def names(include_games: bool = True) -> tuple[str, ...]:
    """Registered task names, then (``include_games``) ``"game:<name>"`` for every catalog game."""
    tasks = tuple(TASKS)
    if not include_games:
        return tasks
    from marlkit.games.catalog import names as catalog_names

    return tasks + tuple(GAME_PREFIX + g for g in catalog_names())


def lookup(name: str) -> Entry[MultiAgentEnv]:
    """The entry of a task name (case, ``-`` and spaces forgiven); unknown names get close matches suggested."""
    return TASKS.get(name)


def _is_game(name: str) -> bool:
    return normalise(name).startswith(GAME_PREFIX)


def make(name: str, **params: Any) -> MultiAgentEnv:
    """Build the task ``name`` with keyword ``params`` (the task's defaults for the rest).

    Raises:
        UnknownNameError: an unknown task or catalog game (close matches are suggested).
        InvalidGameError: an unknown parameter, or a value the task rejects.
        NotApplicableError: the task's module cannot be imported.
    """
    if _is_game(name):
        from marlkit.envs.games import GameEnv
        from marlkit.games import catalog

        game_params = {k: v for k, v in params.items() if k != "max_episode_steps"}
        game = catalog.make(str(name).strip()[len(GAME_PREFIX) :], **game_params)
        return GameEnv(game, params.get("max_episode_steps"))
    entry = lookup(name)
    try:
        cls = entry.load("task")
    except NotApplicableError as exc:
        raise NotApplicableError(f"env {name!r}: {exc}") from exc.__cause__
    fixed = [k for k in params if k in entry.defaults]
    if fixed:
        raise InvalidGameError(
            f"{entry.name}: parameter {fixed[0]!r} is fixed by this task to {entry.defaults[fixed[0]]!r}"
        )
    TASKS.check_parameters(entry.name, cls, params)
    return cls(**entry.defaults, **params)


__all__ = ["GAME_PREFIX", "TASKS", "lookup", "make", "names"]
