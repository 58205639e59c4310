"""The data of a game page: what ``marlkit show`` prints (payoff tables, facts, properties) and what ``marlkit
solve`` finds for every solution concept that applies (:data:`marlkit.solve.concepts.CONCEPTS`), as plain data
for the template.

Payoff tables are laid out as the terminal's (:func:`marlkit.cli.render.payoff_tables`): rows are player 0's
actions, columns player 1's, one table per action of players 2..n, each cell every player's payoff in player
order; a stochastic game shows its expected stage rewards in the first :data:`MAX_STATES_SHOWN` non-terminal states.
Properties come from :func:`marlkit.games.properties.describe`; solutions from each concept's solver, shown as a
table (equilibria: each player's strategy, the values, NashConv) or, for the other result types, their
``to_dict()`` as a nested list. Each result is cached per game (catalog games are built with their defaults).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

MAX_STATES_SHOWN = 6
MAX_TABLE_CELLS = 4096
"""A payoff table larger than this is summarised instead of drawn (see the game file for the whole table)."""


def number(x: Any) -> str:
    """Compact number (as the terminal prints it): integers without decimals, others 4 significant digits."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(value):
        return "-" if math.isnan(value) else str(value)
    return str(round(value)) if abs(value - round(value)) < 1e-12 and abs(value) < 1e15 else f"{value:.4g}"


def payoff_tables(
    payoffs: np.ndarray, players: list[str], actions: list[list[str]], title: str
) -> list[dict[str, Any]]:
    """Bimatrix tables ``{title, corner, columns, rows: [(row name, [cell text])]}`` (see the module docstring)."""
    n = payoffs.shape[0]
    if n == 1:
        return [
            {
                "title": title,
                "corner": players[0],
                "columns": actions[0],
                "rows": [("", [number(v) for v in payoffs[0]])],
            }
        ]
    tables = []
    for rest in itertools.product(*(range(len(a)) for a in actions[2:])):
        fixed = ", ".join(f"{players[2 + k]}={actions[2 + k][a]}" for k, a in enumerate(rest))
        rows = [
            (
                row_name,
                [", ".join(number(payoffs[(i, a0, a1, *rest)]) for i in range(n)) for a1 in range(len(actions[1]))],
            )
            for a0, row_name in enumerate(actions[0])
        ]
        tables.append(
            {
                "title": title + (f" [{fixed}]" if fixed else ""),
                "corner": f"{players[0]} \\ {players[1]}",
                "columns": list(actions[1]),
                "rows": rows,
            }
        )
    return tables


def _tables(game: Any) -> tuple[list[str], list[dict[str, Any]]]:
    from marlkit.games import StochasticGame

    players = list(game.player_names)
    actions = [list(a) for a in game.action_names]
    cells = int(np.prod(game.num_actions))
    if not isinstance(game, StochasticGame):
        if cells > MAX_TABLE_CELLS:
            return [f"{cells} joint actions: too many to draw; `marlkit show --json` prints them"], []
        return [], payoff_tables(np.asarray(game.payoffs), players, actions, "payoffs")
    terminal = np.zeros(game.num_states, bool) if game.terminal is None else np.asarray(game.terminal)
    facts = [
        f"{game.num_states} state(s), actions {' x '.join(map(str, game.num_actions))}, gamma = {game.gamma:g}",
        f"terminal states: {int(terminal.sum())}; initial support: {int(np.sum(game.initial > 0))} state(s)",
    ]
    if game.is_constrained and game.limits is not None:
        facts.append(f"constrained: {game.num_constraints} cost(s) per agent, limits {game.limits.tolist()}")
    if game.observations is not None:
        facts.append(f"partially observable: observations per agent {list(game.observations.num_observations)}")
    live = [s for s in range(game.num_states) if not terminal[s]]
    tables: list[dict[str, Any]] = []
    if cells <= MAX_TABLE_CELLS:
        legal = game.legal_joint_actions()
        for s in live[:MAX_STATES_SHOWN]:
            rewards = np.where(legal[s][None], game.rewards[:, s], np.nan)
            tables += payoff_tables(rewards, players, actions, f"expected rewards in state {game.state_names[s]}")
    if len(live) > MAX_STATES_SHOWN:
        facts.append(
            f"... {len(live) - MAX_STATES_SHOWN} more non-terminal states (`marlkit show --json` has them all)"
        )
    return facts, tables


def _properties(descriptor: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        (key, str(descriptor.get(key)))
        for key in ("kind", "n_players", "num_actions", "num_states", "utility", "relation")
    ]
    for key in ("weakly_homogeneous", "strongly_homogeneous"):
        verdict = descriptor.get(key) or {}
        holds = {True: "yes", False: "no", None: "not decided"}[verdict.get("holds")]
        how = f" ({verdict.get('method')})" if verdict.get("holds") is not None else ""
        rows.append((key.replace("_", " "), f"{holds}{how}: {verdict.get('reason', '')}"))
    for key in ("partially_observable", "constrained"):
        if key in descriptor:
            rows.append((key.replace("_", " "), "yes" if descriptor[key] else "no"))
    return rows


def nested(value: Any, depth: int = 0) -> Any:
    """A ``to_dict()`` made readable: numbers formatted, long lists cut to 12 items (the rest counted)."""
    if isinstance(value, dict):
        return {str(k): nested(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [nested(v, depth + 1) for v in value[:12]]
        if len(value) > 12:
            items.append(f"... {len(value) - 12} more")
        if all(isinstance(v, str) and len(v) < 14 for v in items):
            return "[" + ", ".join(items) + "]"
        return items
    if isinstance(value, bool) or value is None:
        return "-" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float | np.floating | np.integer):
        return number(value)
    return str(value)


def _solution(name: str, game: Any) -> dict[str, Any]:
    from marlkit.errors import MarlkitError
    from marlkit.solve.concepts import CONCEPTS, require_solver
    from marlkit.solve.nash import strategy_text
    from marlkit.solve.results import Equilibrium, EquilibriumSet

    entry = CONCEPTS.get(name)
    view: dict[str, Any] = {"name": entry.name, "description": entry.description, "citation": entry.citation}
    try:
        entry.extra["applies"](game)
        require_solver(entry.name, game, f"--concept {entry.name}")
        result = CONCEPTS.make(entry.name, game=game)
    except MarlkitError as exc:
        return {**view, "status": "not applicable", "reason": str(exc)}
    except Exception as exc:  # a solver failure on one concept must not take the page down
        return {**view, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    found = (
        list(result) if isinstance(result, EquilibriumSet) else [result] if isinstance(result, Equilibrium) else None
    )
    if found is not None:
        rows = [
            {
                "strategies": [strategy_text(game.action_names[i], np.asarray(s)) for i, s in enumerate(eq.profile)],
                "values": ", ".join(number(v) for v in eq.values),
                "nash_conv": f"{eq.epsilon:.1e}",
            }
            for eq in found
        ]
        notes = list(getattr(result, "notes", ()))
        if isinstance(result, EquilibriumSet):
            notes.append(
                f"{len(result)} equilibri{'um' if len(result) == 1 else 'a'}: "
                + ("all equilibria" if result.complete else "the equilibria found (the set may be incomplete)")
                + f" ({result.method})"
            )
        return {**view, "status": "ok", "equilibria": rows, "players": list(game.player_names), "notes": notes}
    data = result.to_dict() if hasattr(result, "to_dict") else result.to_json()
    return {**view, "status": "ok", "data": nested(data)}


def game_view(game: Any) -> dict[str, Any]:
    """Everything the game page shows (see the module docstring)."""
    from marlkit.games.properties import describe
    from marlkit.solve.concepts import CONCEPTS

    facts, tables = _tables(game)
    return {
        "name": game.name or "unnamed game",
        "description": game.description,
        "citation": game.citation,
        "players": list(game.player_names),
        "facts": facts,
        "tables": tables,
        "properties": _properties(describe(game).to_dict()),
        "solutions": [_solution(name, game) for name in CONCEPTS.names()],
    }


_VIEWS: OrderedDict[str, dict[str, Any]] = OrderedDict()
_LOCK = threading.Lock()


def cached_game_view(key: str, build: Any) -> dict[str, Any]:
    """:func:`game_view` of ``build()`` memoised under ``key`` (a catalog name, or a run's game file and its
    modification time); the 32 most recent are kept."""
    with _LOCK:
        if key in _VIEWS:
            _VIEWS.move_to_end(key)
            return _VIEWS[key]
    view = game_view(build())
    with _LOCK:
        _VIEWS[key] = view
        while len(_VIEWS) > 32:
            _VIEWS.popitem(last=False)
    return view


def catalog_rows() -> list[dict[str, Any]]:
    """The catalog as the ``marlkit games`` table: name, players, sizes, kind, class, description."""
    from marlkit.games.catalog import GAMES
    from marlkit.games.catalog.facts import catalog_facts

    facts = catalog_facts()
    rows = []
    for listed in GAMES.listing():
        fact = facts.get(listed["name"], {})
        actions = "x".join(map(str, fact.get("num_actions", [])))
        sizes = actions if fact.get("normal_form") else f"{actions}, {fact.get('num_states')} states"
        rows.append(
            {
                "name": listed["name"],
                "players": fact.get("n_players"),
                "sizes": sizes,
                "kind": fact.get("kind", ""),
                "class": f"{fact.get('relation', '')} ({fact.get('utility', '')})",
                "description": listed["description"],
            }
        )
    return rows


__all__ = ["MAX_STATES_SHOWN", "cached_game_view", "catalog_rows", "game_view", "nested", "number", "payoff_tables"]
