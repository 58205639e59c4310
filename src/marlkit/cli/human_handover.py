"""``marlkit human handover GAME`` and ``marlkit human respond GAME``: see docs/human.md.

* ``handover``: the exact trade-off of a hand-over rule (value margin, novelty, deferral) between a Boltzmann human
  model and the AI on a one-agent task whose cost marks catastrophes (``cliff-walking``, built in; or a game file /
  catalog game of that form): return, catastrophes and takeover rate per threshold, from the training start and
  from a start never seen in training (:mod:`marlkit.human.handover`).
* ``respond``: the Carroll effect — the self-play plan against the exact best response to a Boltzmann human, on a
  two-player common-payoff game (``carroll-coordination``, built in; or any catalog game / file of that form)
  (:mod:`marlkit.human.best_response`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from marlkit.cli.context import ParamOption, resolve_game, show
from marlkit.errors import InvalidGameError

HANDOVER_TASKS = ("cliff-walking",)
"""Built-in hand-over tasks (not in the game catalog)."""
RESPOND_GAMES = ("carroll-coordination",)
"""Built-in games for ``respond`` (not in the game catalog)."""


def _built_in(name: str, factory: Any, params: list[str] | None, allowed: tuple[str, ...]) -> Any:
    from marlkit.cli.context import parse_params

    values = parse_params(params)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidGameError(f"--param {unknown[0]}: {name} takes {', '.join(allowed)}")
    return factory(**values)


def parse_thresholds(values: list[str] | None, default: list[float]) -> list[float] | str:
    """``--margin 0,1 --margin 2`` -> ``[0.0, 1.0, 2.0]``; each a finite number >= 0; ``--margin all`` -> ``"all"``."""
    if values == ["all"]:
        return "all"
    out: list[float] = []
    for value in values or []:
        for part in value.split(","):
            try:
                number = float(part)
            except ValueError:
                number = -1.0
            if not 0 <= number < float("inf"):
                raise InvalidGameError(
                    f"--margin {part!r}: a threshold must be a finite number >= 0 (e.g. --margin 0,1,2) or all"
                )
            out.append(number)
    return out or default


def _check_beta_option(beta: float) -> None:
    if not beta >= 0:
        raise InvalidGameError(f"--beta {beta!r}: the human's inverse temperature must be >= 0 (0 is uniform)")


def handover(
    game: Annotated[str, typer.Argument(help="cliff-walking, or a one-agent game file / catalog game with costs.")],
    beta: Annotated[float, typer.Option("--beta", help="The Boltzmann human's inverse temperature β >= 0.")] = 0.05,
    margin: Annotated[
        list[str] | None,
        typer.Option(
            "--margin",
            "-m",
            help="Thresholds (comma-separated or repeated): the value margin m, the novelty rule's minimum training "
            "count, or the defer rule's action-value gap. Default 0,1,2,50,99,100; `all`: every distinct policy "
            "(the exact curve).",
        ),
    ] = None,
    rule: Annotated[str, typer.Option("--rule", help="value-margin | novelty | defer.")] = "value-margin",
    unforeseen: Annotated[
        int | None, typer.Option("--unforeseen", help="Start state of the second evaluation (default: least seen).")
    ] = None,
    ai_values: Annotated[
        str,
        typer.Option(
            "--ai-values",
            help="exact (the task's Q*) | trained (Q* where training visited, 0 elsewhere) | auto (exact for "
            "value-margin, trained for the others).",
        ),
    ] = "auto",
    training_episodes: Annotated[int, typer.Option("--training-episodes", help="The AI's training episodes.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the training run (visit counts).")] = 0,
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Hand-over of control: the exact trade-off curve (return, catastrophes, takeover rate) over a rule's threshold."""
    from marlkit.human.handover import RULES, cliff_walking, handover_curve

    _check_beta_option(beta)
    if rule not in RULES:
        raise InvalidGameError(f"--rule {rule!r}: expected one of {', '.join(RULES)}")
    thresholds = parse_thresholds(margin, [0.0, 1.0, 2.0, 50.0, 99.0, 100.0])
    if training_episodes < 1:
        raise InvalidGameError(f"--training-episodes must be >= 1, got {training_episodes}")
    if game in HANDOVER_TASKS:
        task = _built_in(game, cliff_walking, param, ("rows", "cols", "gamma"))
    else:
        task = resolve_game(game, param)
    curve = handover_curve(
        task,
        rule=rule,
        beta=beta,
        thresholds=thresholds,
        unforeseen_state=unforeseen,
        training_episodes=training_episodes,
        ai_values=ai_values,
        seed=seed,
    )
    show(curve.to_json(), curve.lines(), json_output)


def respond(
    game: Annotated[str, typer.Argument(help="carroll-coordination, or a two-player common-payoff game.")],
    beta: Annotated[float, typer.Option("--beta", help="The Boltzmann human's inverse temperature β >= 0.")] = 0.1,
    ai: Annotated[int, typer.Option("--ai", help="The AI's seat (0 or 1); the human is the other player.")] = 0,
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """The Carroll effect: the self-play plan vs the exact best response, both with a Boltzmann human."""
    from marlkit.human.best_response import carroll_game, carroll_gap

    _check_beta_option(beta)
    if game in RESPOND_GAMES:
        model: Any = _built_in(game, carroll_game, param, ("a", "b"))
    else:
        model = resolve_game(game, param)
    result = carroll_gap(model, beta, ai=ai)
    show(result.to_json(), result.lines(), json_output)


def register(human_app: typer.Typer) -> None:
    """Add this module's commands to the ``human`` group."""
    human_app.command("handover")(handover)
    human_app.command("respond")(respond)
