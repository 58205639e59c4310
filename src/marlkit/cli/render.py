"""Human-readable rendering of games and their properties (rich tables)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from marlkit.cli.context import styled
from marlkit.games import Game, NormalFormGame, StochasticGame

MAX_STATES_SHOWN = 6


def number(x: float) -> str:
    """Compact number: integers without decimals, others with 4 significant digits; ``nan`` / ``inf`` as such."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return str(round(x)) if abs(x - round(x)) < 1e-12 and abs(x) < 1e15 else f"{x:.4g}"


def plural(count: int, word: str) -> str:
    """``1 state``, ``2 states``: a count with its noun in the right number."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _cell(x: float) -> str:
    """A payoff table entry: the number, or ``-`` for an illegal joint action (NaN)."""
    return "-" if math.isnan(float(x)) else number(x)


def payoff_tables(payoffs: np.ndarray, player_names, action_names, title: str) -> list[Table]:
    """Bimatrix tables: rows are player 0's actions, columns player 1's; one table per action of players 2..n.

    Each cell lists every player's payoff, in player order, separated by commas; a NaN payoff (an illegal joint
    action of a stochastic game's state) is shown as ``-``.
    """
    n = payoffs.shape[0]
    if n == 1:
        table = Table(title=title)
        for name in action_names[0]:
            table.add_column(name, justify="right")
        table.add_row(*(_cell(v) for v in payoffs[0]))
        return [table]
    tables = []
    for rest in itertools.product(*(range(len(a)) for a in action_names[2:])):
        fixed = ", ".join(f"{player_names[2 + k]}={action_names[2 + k][a]}" for k, a in enumerate(rest))
        table = Table(title=f"{title}" + (f" [{fixed}]" if fixed else ""), show_lines=True)
        table.add_column(f"{player_names[0]} \\ {player_names[1]}", style="bold")
        for name in action_names[1]:
            table.add_column(name, justify="center")
        for a0, row_name in enumerate(action_names[0]):
            cells = [
                ", ".join(_cell(payoffs[(i, a0, a1, *rest)]) for i in range(n)) for a1 in range(len(action_names[1]))
            ]
            table.add_row(row_name, *cells)
        tables.append(table)
    return tables


def properties_table(descriptor: Mapping[str, Any]) -> Table:
    table = Table(title="properties", show_header=False)
    table.add_column("property", style="bold")
    table.add_column("value")
    for key in ("kind", "utility", "relation"):
        table.add_row(key, str(descriptor[key]))
    for key in ("weakly_homogeneous", "strongly_homogeneous"):
        verdict = descriptor[key]
        holds = {True: "yes", False: "no", None: "not decided"}[verdict["holds"]]
        how = f" ({verdict['method']})" if verdict["holds"] is not None else ""
        table.add_row(key.replace("_", " "), f"{holds}{how}: {verdict['reason']}")
    return table


def _normal_form(console: Console, game: NormalFormGame) -> None:
    for table in payoff_tables(game.payoffs, game.player_names, game.action_names, "payoffs"):
        console.print(table)


def _stochastic(console: Console, game: StochasticGame) -> None:
    terminal = np.zeros(game.num_states, bool) if game.terminal is None else game.terminal
    facts = [
        f"{plural(game.num_states, 'state')}, actions {' x '.join(map(str, game.num_actions))}, gamma = {game.gamma:g}",
        f"terminal states: {_state_list(game, terminal)}; initial support: "
        f"{plural(int(np.sum(game.initial > 0)), 'state')}",
    ]
    if game.is_constrained and game.limits is not None:
        facts.append(f"constrained: {game.num_constraints} cost(s) per agent, limits {game.limits.tolist()}")
    if game.observations is not None:
        facts.append(f"partially observable: observations per agent {list(game.observations.num_observations)}")
    for line in facts:
        console.print(line)
    live = [s for s in range(game.num_states) if not terminal[s]]
    for s in live[:MAX_STATES_SHOWN]:
        legal = game.legal_joint_actions()[s]
        rewards = np.where(legal[None], game.rewards[:, s], np.nan)
        title = f"expected rewards in state {game.state_names[s]}"
        for table in payoff_tables(rewards, game.player_names, game.action_names, title):
            console.print(table)
        if not legal.all():
            console.print("-: an illegal joint action in this state (action_mask)")
    if len(live) > MAX_STATES_SHOWN:
        console.print(f"... {len(live) - MAX_STATES_SHOWN} more non-terminal states (use --json for the full game)")


def _state_list(game: StochasticGame, which: np.ndarray, shown: int = 6) -> str:
    """``none``, or the states' names (the first ``shown``, then how many more)."""
    names = [game.state_names[s] for s in np.flatnonzero(which)]
    if not names:
        return "none"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)} ({', '.join(names[:shown])}{more})"


def show_game(console: Console, game: Game, descriptor: Mapping[str, Any]) -> None:
    """Print a game's header, payoff tables (stage tables for stochastic games) and properties."""
    description = f": {game.description}" if game.description else ""
    console.print(styled((game.name or "unnamed game", "bold"), description))
    if game.citation:
        console.print(f"source: {game.citation}")
    console.print(f"players: {', '.join(game.player_names)}")
    if isinstance(game, StochasticGame):
        _stochastic(console, game)
    else:
        _normal_form(console, game)
    console.print(properties_table(descriptor))
