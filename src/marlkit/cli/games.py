"""``marlkit games`` (the catalog as a table) and ``marlkit show GAME|FILE`` (payoff tables and properties)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from marlkit.cli.context import GameArgument, ParamOption, console, print_json, resolve_game
from marlkit.cli.render import plural, show_game
from marlkit.games import game_to_dict


def _sizes(num_actions: list[int], states: int, normal_form: bool) -> str:
    actions = "x".join(map(str, num_actions))
    return actions if normal_form else f"{actions}, {plural(states, 'state')}"


def _homogeneity(verdict: dict) -> str:
    return {True: "yes", False: "no", None: "-"}[verdict["holds"]] + ("*" if verdict["method"] == "sampled" else "")


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")]


def games(json_output: JsonFlag = False) -> None:
    """List the game catalog: name, players, actions/states, class and homogeneity."""
    from marlkit.games.catalog import GAMES
    from marlkit.games.catalog.facts import catalog_facts

    facts = catalog_facts()  # precomputed: building and classifying every game takes seconds
    rows: list[dict[str, Any]] = []
    for listed in GAMES.listing():
        name = listed["name"]
        descriptor = dict(facts[name])
        normal_form = descriptor.pop("normal_form")
        rows.append(
            {
                "name": name,
                "description": listed["description"],
                "citation": listed["citation"],
                "parameters": dict(GAMES[name].defaults),
                "sizes": _sizes(descriptor["num_actions"], descriptor["num_states"], normal_form),
                **descriptor,
            }
        )
    if json_output:
        print_json({"games": rows})
        return
    table = Table(title=f"marlkit game catalog ({len(rows)} games)")
    for column in ("name", "players", "actions / states", "kind", "class", "weakly hom.", "strongly hom."):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            str(row["n_players"]),
            row["sizes"],
            row["kind"],
            f"{row['relation']} ({row['utility']})",
            _homogeneity(row["weakly_homogeneous"]),
            _homogeneity(row["strongly_homogeneous"]),
        )
    out = console()
    out.print(table)
    out.print("* decided by sampling joint policies.  Details: marlkit show NAME")


def show(
    game: GameArgument,
    param: ParamOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Show a game's payoff tables (per state for stochastic games) and its properties."""
    from marlkit.games.properties import describe

    model = resolve_game(game, param)
    descriptor = describe(model).to_dict()
    if json_output:
        print_json({"game": game_to_dict(model), "properties": descriptor})
        return
    show_game(console(), model, descriptor)


def register(app: typer.Typer) -> None:
    app.command("games")(games)
    app.command("show")(show)
