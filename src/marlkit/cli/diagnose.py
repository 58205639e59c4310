"""``marlkit diagnose HISTORY.npz``: did a saved learning run converge, to what, from when, and how sure are we?

Reads a History written by ``marlkit learn --save-history`` (or :meth:`History.save`), rebuilds the game it was
recorded on (its catalog name and parameters are in the History's meta; ``--game`` overrides), runs the six
criteria of Albrecht et al. (2024), §5.2 (:func:`marlkit.diagnose.report.diagnose`) and prints the verdict table,
or JSON (schema: docs/cli-json.md), and optionally the pictures.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from marlkit.cli.context import ParamOption, console, parse_params, plots_folder, print_json, resolve_game
from marlkit.diagnose.distances import DISTANCES as DISTANCE_REGISTRY
from marlkit.diagnose.distances import STATE_WEIGHTS
from marlkit.errors import InvalidGameError, MarlkitError, UnknownNameError
from marlkit.games import Game
from marlkit.solve.concepts import solution_set_concepts

if TYPE_CHECKING:  # pragma: no cover
    from marlkit.diagnose.report import DiagnosisReport

# the help text lists the library's registries, which also check the names (importing them costs ~20 ms here)
CONCEPTS = solution_set_concepts()
DISTANCES = tuple(DISTANCE_REGISTRY)
WEIGHTS = tuple(STATE_WEIGHTS)


def game_from_meta(meta: dict[str, object], params: list[str] | None = None) -> Game:
    """The catalog game a History names in ``meta["game"]``, built with the parameters recorded in
    ``meta["game_params"]`` (``marlkit learn`` records them) or with ``params`` (``--param``) when given.

    Random catalog games are only rebuilt from recorded or given parameters: with defaults they could silently
    be a different game of the same shape."""
    from marlkit.games.catalog import GAMES, kind, make

    name = meta.get("game")
    if not isinstance(name, str) or not name:
        raise InvalidGameError("the History does not name its game; pass it with --game NAME|FILE")
    if name not in GAMES:
        raise UnknownNameError(
            f"the History names game {name!r}, which is not in the catalog (a game from a file?); "
            "pass it with --game NAME|FILE"
        )
    recorded = meta.get("game_params")
    if params:
        chosen = parse_params(params)
    elif isinstance(recorded, dict):
        chosen = dict(recorded)
    elif kind(name) == "random":
        raise InvalidGameError(
            f"the History names the random game {name!r} but not the parameters it was drawn with; pass them "
            f"with --game {name} --param seed=... (or a game file with --game FILE)"
        )
    else:
        chosen = {}
    return make(name, **chosen)


def print_report(out: Console, report: DiagnosisReport) -> None:
    """The verdict table, the metrics, the notes, then the verdict rule on one line (in full: docs/diagnostics.md)."""
    from marlkit.diagnose.report import VERDICT_SUMMARY

    report.render(out)
    out.print(f"rule: {VERDICT_SUMMARY}", markup=False)


def diagnose(
    history: Annotated[str, typer.Argument(help="A History .npz (marlkit learn --save-history).")],
    game: Annotated[
        str | None, typer.Option("--game", "-g", help="Catalog name or game file; default: the History's game.")
    ] = None,
    param: ParamOption = None,
    concept: Annotated[
        str | None,
        typer.Option(
            "--concept",
            "-c",
            help=f"One of: {', '.join(CONCEPTS)}; default: constrained on a constrained game, else nash.",
        ),
    ] = None,
    eps: Annotated[float | None, typer.Option("--eps", help="One threshold for every criterion.")] = None,
    distance: Annotated[str, typer.Option("--distance", "-d", help=f"One of: {', '.join(DISTANCES)}.")] = "tv",
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help=f"State weighting: {', '.join(WEIGHTS)}; default: visitation for multi-state games, else uniform.",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
    plots: Annotated[str | None, typer.Option("--plots", help="Write the PNG pictures into this folder.")] = None,
) -> None:
    """Judge a saved run against the six convergence criteria: verdicts per seed, fraction converged, z0."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.diagnose.report import diagnose as run_diagnosis
    from marlkit.history import History

    if eps is not None and not eps > 0:
        raise InvalidGameError(f"--eps must be > 0, got {eps}")
    folder = plots_folder(plots) if plots else None  # before the compute: a bad folder fails in a second
    run = History.load(history)
    model = resolve_game(game, param) if game is not None else game_from_meta(run.meta, param)
    report = run_diagnosis(run, model, concept=concept, eps=eps, distance=distance, weights=weights)
    try:
        pictures = report.plots(folder) if folder else []
    except OSError as exc:
        raise MarlkitError(f"--plots {plots}: could not write the pictures ({exc.strerror or exc})") from None
    if json_output:
        payload = report.to_dict()
        if plots:
            payload["plots"] = [str(p) for p in pictures]
        print_json(payload)
        return
    out = console()
    print_report(out, report)
    for path in pictures:
        out.print(f"wrote {path}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
