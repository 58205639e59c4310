"""``marlkit solve GAME|FILE --concept ...``: solution concepts on exact games, as tables or JSON.

Each concept is a handler in the ``CONCEPTS`` registry: it takes the game and the options, and returns the JSON
payload plus a function that prints it for a person. Concepts that do not apply raise NotApplicableError from
the solver itself (its message says which concept applies instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from marlkit.cli.context import GameArgument, ParamOption, console, print_json, resolve_game
from marlkit.cli.render import number
from marlkit.errors import NotApplicableError, UnknownNameError
from marlkit.games import Game, NormalFormGame, StochasticGame
from marlkit.solve.results import EquilibriumSet

Printer = Callable[[Console], None]
Handler = Callable[[Game, "SolveOptions"], tuple[dict[str, object], Printer]]


class SolveOptions:
    """Options shared by the concept handlers."""

    def __init__(self, select: str | None, objective: str) -> None:
        self.select = select
        self.objective = objective


def _strategy_text(game: Game, player: int, strategy: np.ndarray) -> str:
    names = game.action_names[player]
    parts = [f"{names[a]}: {number(p)}" for a, p in enumerate(strategy) if p > 1e-12]
    return parts[0].split(":")[0] if len(parts) == 1 else ", ".join(parts)


def _equilibria_table(game: NormalFormGame, equilibria: EquilibriumSet) -> Table:
    table = Table(title=f"Nash equilibria ({equilibria.method})", show_lines=True)
    table.add_column("#", justify="right")
    for name in game.player_names:
        table.add_column(name)
    table.add_column("values", justify="right")
    table.add_column("NashConv", justify="right")
    for k, eq in enumerate(equilibria, start=1):
        cells = [_strategy_text(game, i, s) for i, s in enumerate(eq.profile)]
        table.add_row(str(k), *cells, ", ".join(number(v) for v in eq.values), f"{eq.epsilon:.1e}")
    return table


def _nash(game: Game, options: SolveOptions) -> tuple[dict[str, object], Printer]:
    from marlkit.solve.nash import nash_equilibria

    if not isinstance(game, NormalFormGame):
        raise NotApplicableError(
            "--concept nash applies to normal-form games; for a two-player zero-sum stochastic game use "
            "--concept minimax (Shapley value iteration)"
        )
    equilibria = nash_equilibria(game)
    payload: dict[str, object] = {"concept": "nash", **equilibria.to_dict()}
    selection = None
    if options.select:
        from marlkit.solve.selection import select_equilibrium

        selection = select_equilibrium(game, equilibria, criterion=options.select)
        payload["selection"] = selection.to_dict()

    def show(out: Console) -> None:
        out.print(_equilibria_table(game, equilibria))
        for note in equilibria.notes:
            out.print(f"note: {note}")
        completeness = "all equilibria" if equilibria.complete else "the equilibria found (the set may be incomplete)"
        out.print(f"{len(equilibria)} equilibri{'um' if len(equilibria) == 1 else 'a'}: {completeness}")
        if selection is not None:
            table = Table(title=f"selection by {selection.criterion}")
            for column in ("rank", "equilibrium", "score", "reason"):
                table.add_column(column)
            for r in selection.ranked:
                table.add_row(str(r.rank), r.label, number(r.score), r.reason)
            out.print(table)
            out.print(selection.summary)

    return payload, show


def _minimax(game: Game, options: SolveOptions) -> tuple[dict[str, object], Printer]:
    if isinstance(game, StochasticGame):
        from marlkit.solve.shapley import shapley_value_iteration

        result = shapley_value_iteration(game)
        payload = {"concept": "minimax", "method": "shapley-value-iteration", **result.to_dict()}

        def show_stochastic(out: Console) -> None:
            value = float(result.values @ game.initial)
            out.print(
                f"Shapley value iteration: {result.iterations} sweeps, error bound {result.bound:.1e}; "
                f"value of the initial distribution to {game.player_names[0]}: {number(value)}"
            )
            table = Table(title="state values (first 10 states)")
            table.add_column("state")
            table.add_column(f"V ({game.player_names[0]})", justify="right")
            for s in range(min(10, game.num_states)):
                table.add_row(game.state_names[s], number(result.values[s]))
            out.print(table)

        return payload, show_stochastic
    from marlkit.solve.zero_sum import maximin

    equilibrium = maximin(game)
    equilibria = EquilibriumSet((equilibrium,), complete=False, degenerate=False, method=equilibrium.method)
    payload = {"concept": "minimax", **equilibrium.to_dict()}
    return payload, lambda out: out.print(_equilibria_table(game, equilibria))


def _correlated(concept: str) -> Handler:
    def handler(game: Game, options: SolveOptions) -> tuple[dict[str, object], Printer]:
        from marlkit.solve.correlated import coarse_correlated_equilibrium, correlated_equilibrium

        solve = correlated_equilibrium if concept == "ce" else coarse_correlated_equilibrium
        if not isinstance(game, NormalFormGame):
            raise NotApplicableError(f"--concept {concept} applies to normal-form games")
        solution = solve(game, objective=options.objective)

        def show(out: Console) -> None:
            table = Table(title=f"{solution.concept} equilibrium maximising {solution.objective}")
            table.add_column("joint action")
            table.add_column("probability", justify="right")
            for joint in solution.support():
                label = ", ".join(game.action_names[i][a] for i, a in enumerate(joint))
                table.add_row(f"({label})", number(solution.distribution[joint]))
            out.print(table)
            out.print(
                f"values: {', '.join(number(v) for v in solution.values)}; {solution.objective} = "
                f"{number(solution.objective_value)}; largest incentive violation {solution.violation:.1e}"
            )

        return {"concept": concept, **solution.to_dict()}, show

    return handler


def _pareto(game: Game, options: SolveOptions) -> tuple[dict[str, object], Printer]:
    from marlkit.solve.pareto import pareto_front_correlated, pareto_front_pure

    if not isinstance(game, NormalFormGame):
        raise NotApplicableError("--concept pareto applies to normal-form games")
    front = pareto_front_pure(game)
    payload: dict[str, object] = {"concept": "pareto", "pure": front.to_dict()}
    correlated = pareto_front_correlated(game) if game.n_players == 2 else None
    if correlated is not None:
        payload["correlated"] = correlated.to_dict()

    def show(out: Console) -> None:
        table = Table(title="Pareto-optimal pure outcomes")
        table.add_column("joint action")
        table.add_column("payoffs", justify="right")
        for joint, payoff in zip(front.joint_actions, front.payoffs, strict=True):
            label = ", ".join(game.action_names[i][a] for i, a in enumerate(joint))
            table.add_row(f"({label})", ", ".join(number(v) for v in payoff))
        out.print(table)
        if correlated is not None:
            corners = " -> ".join(f"({', '.join(number(v) for v in vertex)})" for vertex in correlated.vertices)
            out.print(f"front of the correlated-payoff region (vertices joined by segments): {corners}")

    return payload, show


def _welfare(game: Game, options: SolveOptions) -> tuple[dict[str, object], Printer]:
    from marlkit.solve.pareto import pure_payoff_points
    from marlkit.solve.welfare import WELFARE

    if not isinstance(game, NormalFormGame):
        raise NotApplicableError("--concept welfare applies to normal-form games")
    joints, payoffs = pure_payoff_points(game)
    best = {}
    for name, function in WELFARE.items():
        scores = np.asarray(function(payoffs), dtype=float)
        top = np.flatnonzero(scores >= scores.max() - 1e-9)
        best[name] = {"value": float(scores.max()), "joint_actions": joints[top].tolist()}

    def show(out: Console) -> None:
        table = Table(title="welfare-maximising pure outcomes")
        for column in ("welfare", "value", "joint actions"):
            table.add_column(column)
        for name, row in best.items():
            labels = "; ".join(
                "(" + ", ".join(game.action_names[i][a] for i, a in enumerate(j)) + ")" for j in row["joint_actions"]
            )
            table.add_row(name, number(row["value"]), labels)
        out.print(table)

    return {"concept": "welfare", "over": "pure outcomes", "best": best}, show


CONCEPTS: dict[str, Handler] = {
    "nash": _nash,
    "minimax": _minimax,
    "ce": _correlated("ce"),
    "cce": _correlated("cce"),
    "pareto": _pareto,
    "welfare": _welfare,
}


def solve(
    game: GameArgument,
    concept: Annotated[str, typer.Option("--concept", "-c", help=f"One of: {', '.join(CONCEPTS)}.")] = "nash",
    select: Annotated[
        str | None, typer.Option("--select", help="Rank Nash equilibria: pareto, payoff, risk, utilitarian, ...")
    ] = None,
    objective: Annotated[
        str, typer.Option("--objective", help="CE/CCE objective: utilitarian, egalitarian, entropy.")
    ] = "utilitarian",
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Solve a game: Nash (all equilibria for two players), minimax (Shapley VI for stochastic games), CE, CCE,
    Pareto front or welfare optimum; --select ranks equilibria and says why."""
    if concept not in CONCEPTS:
        raise UnknownNameError(f"unknown concept {concept!r}; choose one of: {', '.join(CONCEPTS)}")
    if select is not None and concept != "nash":
        raise NotApplicableError("--select ranks Nash equilibria; use it with --concept nash")
    model = resolve_game(game, param)
    payload, show = CONCEPTS[concept](model, SolveOptions(select, objective))
    if json_output:
        print_json({"game": model.name, **payload})
        return
    out = console()
    out.print(f"[bold]{model.name or game}[/bold]: {concept}")
    show(out)


def register(app: typer.Typer) -> None:
    app.command("solve")(solve)
