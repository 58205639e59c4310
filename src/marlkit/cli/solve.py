"""``marlkit solve GAME|FILE --concept ...``: solution concepts on exact games, as tables or JSON.

The concepts are those of :data:`marlkit.solve.concepts.CONCEPTS` (the one table: what each needs and its exact
solver). This module only presents a solver's result: :func:`present` turns it into the JSON payload and a function
that prints it for a person, by the result's type. Concepts that do not apply raise NotApplicableError from the
table or from the solver itself (its message says which concept applies instead).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from marlkit.cli.context import GameArgument, ParamOption, console, print_json, resolve_game, styled
from marlkit.cli.render import number
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import Game, NormalFormGame, StochasticGame
from marlkit.solve.concepts import CONCEPTS, require_solver
from marlkit.solve.results import Equilibrium, EquilibriumSet

if TYPE_CHECKING:  # the solvers' result types load with the solvers (SciPy), not with `marlkit --help`
    from marlkit.solve.concepts import ParetoFronts, WelfareOptima
    from marlkit.solve.constrained.report import ConstrainedSolution
    from marlkit.solve.correlated import CorrelatedSolution
    from marlkit.solve.shapley import ShapleyResult

Printer = Callable[[Console], None]


SHOWN_STATES = 10
"""States whose values and policies the minimax (Shapley) table prints; ``--json`` has them all."""


def _strategy_text(game: Game, player: int, strategy: np.ndarray) -> str:
    names = game.action_names[player]
    parts = [f"{names[a]}: {number(p)}" for a, p in enumerate(strategy) if p > 1e-12]
    return parts[0].split(":")[0] if len(parts) == 1 else ", ".join(parts)


def _state_policy(game: StochasticGame, policy: np.ndarray, player: int, state: int) -> str:
    """Player's policy ``[n, S, A_max]`` row in one state over its legal actions, e.g. ``"up: 0.5, down: 0.5"``."""
    from marlkit.solve.nash import strategy_text

    m = game.num_actions[player]
    legal = np.asarray(game.action_mask[player, state, :m], dtype=bool)
    names = [name for name, ok in zip(game.action_names[player], legal, strict=True) if ok]
    return strategy_text(names, np.asarray(policy[player, state, :m], dtype=np.float64)[legal])


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


def _present_equilibria(equilibria: EquilibriumSet, game: Game) -> tuple[dict[str, object], Printer]:
    assert isinstance(game, NormalFormGame)

    def show(out: Console) -> None:
        out.print(_equilibria_table(game, equilibria))
        for note in equilibria.notes:
            out.print(f"note: {note}")
        completeness = "all equilibria" if equilibria.complete else "the equilibria found (the set may be incomplete)"
        out.print(f"{len(equilibria)} equilibri{'um' if len(equilibria) == 1 else 'a'}: {completeness}")

    return equilibria.to_dict(), show


def _present_shapley(result: ShapleyResult, game: Game) -> tuple[dict[str, object], Printer]:
    assert isinstance(game, StochasticGame)

    def show(out: Console) -> None:
        value = float(result.values @ game.initial)
        out.print(
            f"Shapley value iteration: {result.iterations} sweeps, error bound {result.bound:.1e}; "
            f"value of the initial distribution to {game.player_names[0]}: {number(value)}"
        )
        shown = min(SHOWN_STATES, game.num_states)
        table = Table(title=f"state values and minimax policies (first {shown} of {game.num_states} states)")
        table.add_column("state")
        table.add_column(f"V ({game.player_names[0]})", justify="right")
        for name in game.player_names:
            table.add_column(f"{name}'s policy")
        for s in range(shown):
            policies = [_state_policy(game, result.policy, i, s) for i in range(game.n_players)]
            table.add_row(game.state_names[s], number(result.values[s]), *policies)
        out.print(table)

    return {"method": "shapley-value-iteration", **result.to_dict()}, show


def _present_equilibrium(equilibrium: Equilibrium, game: Game) -> tuple[dict[str, object], Printer]:
    assert isinstance(game, NormalFormGame)
    equilibria = EquilibriumSet((equilibrium,), complete=False, degenerate=False, method=equilibrium.method)
    return equilibrium.to_dict(), lambda out: out.print(_equilibria_table(game, equilibria))


def _present_correlated(solution: CorrelatedSolution, game: Game) -> tuple[dict[str, object], Printer]:
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

    return solution.to_dict(), show


def _present_pareto(fronts: ParetoFronts, game: Game) -> tuple[dict[str, object], Printer]:
    front, correlated = fronts.pure, fronts.correlated

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

    return fronts.to_dict(), show


def _present_welfare(optima: WelfareOptima, game: Game) -> tuple[dict[str, object], Printer]:
    def show(out: Console) -> None:
        table = Table(title="welfare-maximising pure outcomes")
        for column in ("welfare", "value", "joint actions"):
            table.add_column(column)
        for name, row in optima.best.items():
            labels = "; ".join(
                "(" + ", ".join(game.action_names[i][a] for i, a in enumerate(j)) + ")" for j in row["joint_actions"]
            )
            table.add_row(name, number(row["value"]), labels)
        out.print(table)

    return optima.to_dict(), show


def _joint_text(game: StochasticGame, joint: np.ndarray) -> str:
    """A joint distribution ``[A_1..A_n]`` as ``"(low, high): 0.4, ..."`` over its support."""
    cells = np.argwhere(joint > 1e-9)
    return ", ".join(
        "(" + ", ".join(game.action_names[i][a] for i, a in enumerate(cell)) + f"): {number(joint[tuple(cell)])}"
        for cell in cells
    )


def _present_constrained(solution: ConstrainedSolution, game: Game) -> tuple[dict[str, object], Printer]:
    assert isinstance(game, StochasticGame)
    opt, product = solution.optimum, solution.product
    if not opt.feasible:  # bad input for the command (issue 18): one line, exit 2, nothing printed before it
        raise InvalidGameError(f"limits: {opt.reason}")

    def show(out: Console) -> None:
        out.print(
            f"team return {number(opt.team_return)} (correlated optimum, occupancy LP); unconstrained "
            f"{number(opt.unconstrained_team_return)}; return given up for safety {number(opt.safety_cost)}"
        )
        table = Table(title="returns, costs against limits, multipliers λ*")
        for column in ("agent", "return", "constraint", "cost", "limit", "λ*", "active"):
            table.add_column(column, justify="right" if column not in ("agent", "active") else "left")
        for i, name in enumerate(game.player_names):
            for j in range(opt.limits.shape[1]):
                table.add_row(
                    name if j == 0 else "",
                    number(opt.returns[i]) if j == 0 else "",
                    str(j),
                    number(opt.costs[i, j]),
                    number(opt.limits[i, j]),
                    number(opt.multipliers[i, j]),
                    "yes" if opt.active[i, j] else "no",
                )
        out.print(table)
        shown = min(SHOWN_STATES, game.num_states)
        policy = Table(title=f"joint policy (first {shown} of {game.num_states} states)")
        policy.add_column("state")
        policy.add_column("joint actions: probability")
        for s in range(shown):
            policy.add_row(game.state_names[s], _joint_text(game, opt.policy[s]))
        out.print(policy)
        if opt.randomised_states:
            count, active = len(opt.randomised_states), int(opt.active.sum())
            out.print(f"randomises in {count} state(s), <= {active} active constraint(s)")
        kind = "exact" if product.exact else "a lower bound"
        if not product.feasible:
            out.print(f"best product policy: none found that meets the limits ({product.method})")
            return
        out.print(
            f"best product (decentralised) policy: team return {number(product.team_return)} ({kind}, "
            f"{product.method}); independent agents give up {number(product.gap_to_correlated)} of the correlated "
            "optimum"
        )
        for i, name in enumerate(game.player_names):
            rows = "; ".join(
                f"{game.state_names[s]}: {_state_policy(game, product.policy, i, s)}"
                for s in range(min(SHOWN_STATES, game.num_states))
            )
            out.print(f"  {name}: {rows}")
        shared = solution.shared
        if shared is not None and shared.feasible:
            out.print(
                f"best shared (symmetric) policy: team return {number(shared.team_return)} (exact); "
                f"role-differentiated agents gain {number(product.team_return - shared.team_return)} over it"
            )

    return solution.to_dict(), show


@cache
def _presenters() -> dict[type, Callable[[Any, Game], tuple[dict[str, object], Printer]]]:
    """Result type -> its presenter (the result types are imported here, with the solvers that return them)."""
    from marlkit.solve.concepts import ParetoFronts, WelfareOptima
    from marlkit.solve.constrained.report import ConstrainedSolution
    from marlkit.solve.correlated import CorrelatedSolution
    from marlkit.solve.shapley import ShapleyResult

    return {
        EquilibriumSet: _present_equilibria,
        ShapleyResult: _present_shapley,
        Equilibrium: _present_equilibrium,
        CorrelatedSolution: _present_correlated,
        ParetoFronts: _present_pareto,
        WelfareOptima: _present_welfare,
        ConstrainedSolution: _present_constrained,
    }


def present(result: Any, game: Game) -> tuple[dict[str, object], Printer]:
    """The JSON payload of a solver's ``result`` (without ``"concept"``) and a function that prints it (the
    presenter of the nearest class in the result's MRO, as ``functools.singledispatch`` would pick)."""
    table = _presenters()
    for cls in type(result).__mro__:
        if cls in table:
            return table[cls](result, game)
    raise TypeError(f"no presentation for {type(result).__name__}")


def _selection(game: NormalFormGame, equilibria: EquilibriumSet, criterion: str) -> tuple[dict[str, object], Printer]:
    from marlkit.solve.selection import select_equilibrium

    selection = select_equilibrium(game, equilibria, criterion=criterion)

    def show(out: Console) -> None:
        table = Table(title=f"selection by {selection.criterion}")
        for column in ("rank", "equilibrium", "score", "reason"):
            table.add_column(column)
        for r in selection.ranked:
            table.add_row(str(r.rank), r.label, number(r.score), r.reason)
        out.print(table)
        out.print(selection.summary)

    return selection.to_dict(), show


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
    entry = CONCEPTS.get(concept)
    if select is not None and entry.name != "nash":
        raise NotApplicableError("--select ranks Nash equilibria; use it with --concept nash")
    model = resolve_game(game, param)
    require_solver(entry.name, model, f"--concept {entry.name}")
    options = {"objective": objective} if "objective" in entry.defaults else {}
    result = CONCEPTS.make(entry.name, game=model, **options)
    body, show = present(result, model)
    payload: dict[str, object] = {"concept": entry.name, **body}
    shows = [show]
    if select is not None:
        assert isinstance(model, NormalFormGame)  # require_solver: nash takes normal-form games
        payload["selection"], show_selection = _selection(model, result, select)
        shows.append(show_selection)
    if json_output:
        print_json({"game": model.name, **payload})
        return
    out = console()
    out.print(styled((model.name or game, "bold"), f": {entry.name}"))
    for part in shows:
        part(out)


def register(app: typer.Typer) -> None:
    app.command("solve")(solve)
