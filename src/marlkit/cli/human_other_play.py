"""``marlkit human other-play GAME``: self-play conventions vs Other-Play on a two-player common-payoff game.

The game's action symmetries (exact orbits), the self-play optima and the Other-Play optima with their values with
themselves and in cross-play (:mod:`marlkit.human.other_play`; Hu et al. 2020). ``lever`` is built in (Hu et al.'s
lever game, ``--param levers=10 --param low=0.9``); any catalog game or game file of that form works too.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from marlkit.cli.context import ParamOption, parse_params, resolve_game, show
from marlkit.errors import InvalidGameError

BUILT_IN = ("lever",)
"""Built-in games of this command (not in the game catalog)."""


def other_play(
    game: Annotated[str, typer.Argument(help="lever, or a two-player common-payoff game (catalog name or file).")],
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Self-play vs Other-Play: action symmetries, optima, self-play and cross-play values (exact)."""
    from marlkit.human.other_play import lever_game, other_play_optimum

    if game in BUILT_IN:
        values = parse_params(param)
        unknown = sorted(set(values) - {"levers", "low"})
        if unknown:
            raise InvalidGameError(f"--param {unknown[0]}: lever takes levers, low")
        model: Any = lever_game(**values)  # type: ignore[arg-type]
    else:
        model = resolve_game(game, param)
    result = other_play_optimum(model)
    show(result.to_json(), result.lines(model), json_output)


def register(human_app: typer.Typer) -> None:
    """Add this module's command to the ``human`` group."""
    human_app.command("other-play")(other_play)
