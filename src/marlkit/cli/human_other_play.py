"""``marlkit human other-play GAME``: self-play conventions vs Other-Play on a two-player common-payoff game.

On a normal-form game: the game's action symmetries (exact orbits), the self-play optima and the Other-Play optima
with their values with themselves and in cross-play (:mod:`marlkit.human.other_play`; Hu et al. 2020). On a
stochastic game: its symmetry group (states and actions relabelled; :mod:`marlkit.games.properties.game_symmetry`),
the self-play and Other-Play optima with their values and cross-play (:mod:`marlkit.human.other_play_stochastic`),
and with ``--train`` the exact-gradient SP and OP learners. Built in: ``lever`` (Hu et al.'s lever game,
``--param levers=10 --param low=0.9``) and ``corridor`` (a two-stage lever game whose symmetries move states,
``--param rooms=2 --param levers=2 --param centre=0.6 --param gamma=0.9``); any catalog game or game file works too.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from marlkit.cli.context import ParamOption, parse_params, resolve_game, show
from marlkit.errors import InvalidGameError

BUILT_IN = ("lever", "corridor")
"""Built-in games of this command (not in the game catalog)."""

_PARAMS = {"lever": ("levers", "low"), "corridor": ("rooms", "levers", "centre", "gamma")}


def other_play(
    game: Annotated[
        str, typer.Argument(help="lever, corridor, or a two-player common-payoff game (catalog name or file).")
    ],
    param: ParamOption = None,
    train: Annotated[
        bool, typer.Option("--train", help="Stochastic games: also run the SP and OP policy-gradient learners.")
    ] = False,
    restarts: Annotated[
        int | None, typer.Option(help="--train: random starts per learner (best objective kept; 8).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="--train: gradient steps per start (200).")] = None,
    seed: Annotated[int | None, typer.Option(help="--train: seed of the starts (0).")] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="--train: one random symmetry per step (for groups above the cap).")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Self-play vs Other-Play: symmetries, optima, self-play and cross-play values (exact)."""
    from marlkit.games.stochastic import StochasticGame

    if not train:
        given = {"--restarts": restarts, "--steps": steps, "--seed": seed, "--sample": sample or None}
        named = [name for name, value in given.items() if value is not None]
        if named:
            raise InvalidGameError(f"{named[0]}: applies with --train (the learners); add --train or leave it out")
    if game in BUILT_IN:
        values = parse_params(param)
        unknown = sorted(set(values) - set(_PARAMS[game]))
        if unknown:
            raise InvalidGameError(f"--param {unknown[0]}: {game} takes {', '.join(_PARAMS[game])}")
        if game == "lever":
            from marlkit.human.other_play import lever_game

            model: Any = lever_game(**values)  # type: ignore[arg-type]
        else:
            from marlkit.human.other_play_stochastic import corridor_game

            model = corridor_game(**values)  # type: ignore[arg-type]
    else:
        model = resolve_game(game, param)
    if not isinstance(model, StochasticGame):
        if train:
            raise InvalidGameError("--train: applies to stochastic games (corridor, or a stochastic game file)")
        from marlkit.human.other_play import other_play_optimum

        result = other_play_optimum(model)
        show(result.to_json(), result.lines(model), json_output)
        return
    _stochastic(
        model,
        train,
        8 if restarts is None else restarts,
        200 if steps is None else steps,
        0 if seed is None else seed,
        sample,
        json_output,
    )


def _stochastic(model: Any, train: bool, restarts: int, steps: int, seed: int, sample: bool, json_output: bool) -> None:
    from marlkit.human.other_play_stochastic import stochastic_other_play, train_other_play

    if train:
        for name, value in (("--restarts", restarts), ("--steps", steps)):
            if value < 1:
                raise InvalidGameError(f"{name}: at least 1, got {value}")
    result = stochastic_other_play(model)
    data = result.to_json()
    lines = result.lines(model)
    if train:
        learned = {
            objective: train_other_play(
                model,
                objective=objective,
                steps=steps,
                restarts=restarts,
                seed=seed,
                sample=sample,
                group=result.group,
            )
            for objective in ("self-play", "other-play")
        }
        data["training"] = {objective: run.to_json() for objective, run in learned.items()}
        how = "one random symmetry per step" if sample else "the average over every symmetry"
        lines.append(f"learners ({restarts} starts x {steps} exact policy-gradient steps on {how}, best kept):")
        lines += [
            f"  {objective + ':':11} value {run.self_play_value:.4g} with itself, {run.cross_play_value:.4g}"
            + (f" ± {run.cross_play_stderr:.2g} (Monte Carlo)" if run.cross_play_stderr else "")
            + " in cross-play"
            for objective, run in learned.items()
        ]
    show(data, lines, json_output)


def register(human_app: typer.Typer) -> None:
    """Add this module's command to the ``human`` group."""
    human_app.command("other-play")(other_play)
