"""The dashboard pages: the runs, a run (live), compare, the game catalog and a game.

Routes (every run path is relative to the runs folder and goes through :func:`marlkit.serve.security.inside`):

* ``/`` — every run, study and sweep (:mod:`marlkit.serve.runs_index`), filter and sort in the page;
* ``/run/<path>`` — a run: learning curves across seeds (IQM, bootstrap band), live while it trains (the page
  polls ``/api/curves/<path>?offset=N`` every second: :class:`marlkit.serve.run_data.MetricsFeed` reads only what
  ``metrics.jsonl`` gained since byte ``N``); when finished, the six criteria, verdicts, policy trajectories and
  result sections (:func:`marlkit.serve.run_data.run_diagnosis`); a study or sweep lists its cells or points;
* ``/compare?run=a&run=b`` — differing config keys, curves overlaid, verdicts
  (:func:`marlkit.experiment.compare.compare_runs` for finished runs);
* ``/games``, ``/game/<name>`` (a catalog game) and ``/game-of/<path>`` (the game a run trained on);
* ``/report/<path>`` — the run's static ``report.html``; ``/api/runs`` — the runs as JSON.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marlkit.schema import ConfigError, load_yaml
from marlkit.serve.run_data import Feeds, run_diagnosis
from marlkit.serve.runs_index import STATUSES, RunEntry, RunsIndex, read_entry
from marlkit.serve.security import PathRefusedError, inside

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from marlkit.serve.context import ServeContext

POLL_MS = 1000
"""How often a run page asks for new logging points (milliseconds)."""

MAX_COMPARED = 8


def _criteria_short() -> dict[str, str]:
    from marlkit.diagnose.criteria_table import CRITERION_SHORT

    return dict(CRITERION_SHORT)


def _fraction_class(value: float | None) -> str:
    from marlkit.experiment.report import fraction_class

    return fraction_class(value)


def _run_dir(context: ServeContext, path: str) -> Path:
    directory = inside(context.runs_dir, path)
    if not directory.is_dir() or not (directory / "config.yaml").is_file():
        raise PathRefusedError(404, f"{path}: not a run directory (no config.yaml)")
    return directory


def _entry(context: ServeContext, directory: Path) -> RunEntry:
    parent = ""
    for ancestor in directory.relative_to(context.runs_dir).parents:
        if ancestor.name in ("cells", "points"):
            parent = ancestor.parent.as_posix()
            break
    return read_entry(context.runs_dir, directory, parent)


def routes(context: ServeContext) -> list[BaseRoute]:
    """This module's routes."""
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse
    from starlette.routing import Route

    index = RunsIndex(context.runs_dir)
    # read every run once in the background: the first visit of the runs page then finds the index warm
    threading.Thread(target=index.entries, name="marlkit-serve-index", daemon=True).start()
    feeds = Feeds()
    env = context.templates

    def render(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values))

    def runs_page(request: Request) -> Response:
        entries = index.entries()
        return render(
            "runs.html",
            active="runs",
            entries=entries,
            criteria=_criteria_short(),
            fraction_class=_fraction_class,
            runs_dir=str(context.runs_dir),
            counts={s: sum(1 for e in entries if e.status == s) for s in STATUSES},
        )

    def runs_api(request: Request) -> Response:
        return JSONResponse({"runs_dir": str(context.runs_dir), "runs": [e.to_json() for e in index.entries()]})

    def run_page(request: Request) -> Response:
        path = request.path_params["path"]
        directory = _run_dir(context, path)
        entry = _entry(context, directory)
        config_text = (directory / "config.yaml").read_text(encoding="utf-8", errors="replace")
        common: dict[str, Any] = {
            "active": "runs",
            "entry": entry,
            "config_text": config_text,
            "criteria": _criteria_short(),
        }
        if entry.kind in ("study", "sweep"):
            children = [e for e in index.entries() if e.parent == entry.path]
            return render(
                "group.html",
                **common,
                children=children,
                fraction_class=_fraction_class,
                has_report=(directory / "report.html").is_file(),
            )
        diagnosis = run_diagnosis(directory) if entry.status == "finished" else None
        game_link = (directory / "game.npz").is_file() or (
            entry.kind == "run"
            and bool(entry.game)
            and entry.status == "finished"
            and diagnosis is not None
            and diagnosis.criteria is not None
        )
        return render(
            "run.html",
            **common,
            diagnosis=diagnosis,
            game_link=game_link,
            has_report=(directory / "report.html").is_file(),
            poll_ms=POLL_MS,
            criteria_order=list(_criteria_short().items()),
            criteria_data=None if diagnosis is None else diagnosis.criteria,
            trajectories_data=None if diagnosis is None else diagnosis.trajectories,
        )

    def curves_api(request: Request) -> Response:
        path = request.path_params["path"]
        directory = _run_dir(context, path)
        entry = _entry(context, directory)
        feed = feeds.get(directory, entry.seeds)
        feed.update()
        try:
            offset = int(request.query_params.get("offset", "-1"))
        except ValueError:
            offset = -1
        state = {"status": entry.status, "progress": None if entry.progress is None else list(entry.progress)}
        if offset == feed.offset and feed.pending == 0:
            return JSONResponse({**state, "unchanged": True, "offset": feed.offset})
        return JSONResponse({**state, "unchanged": False, **feed.curves()})

    def report_file(request: Request) -> Response:
        directory = _run_dir(context, request.path_params["path"])
        report = directory / "report.html"
        if not report.is_file():
            raise PathRefusedError(404, "this run has no report.html yet (it is written when the run finishes)")
        return FileResponse(report, media_type="text/html")

    def compare_page(request: Request) -> Response:
        from marlkit.errors import MarlkitError
        from marlkit.experiment.compare import compare_runs, comparison_rows, differing_keys

        paths = request.query_params.getlist("run")
        if len(paths) < 2:
            return render(
                "compare.html", active="compare", runs=[], entries=index.entries(), message="pick two or more runs"
            )
        if len(paths) > MAX_COMPARED:
            raise PathRefusedError(400, f"compare at most {MAX_COMPARED} runs at once")
        directories = [_run_dir(context, p) for p in paths]
        entries = [_entry(context, d) for d in directories]
        configs = []
        for directory in directories:
            try:
                loaded = load_yaml((directory / "config.yaml").read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ConfigError):
                loaded = None
            configs.append(loaded if isinstance(loaded, dict) else {})
        header: list[str] = []
        rows: list[list[str]] = []
        classes: list[list[str]] = []
        note = ""
        if all(e.status == "finished" and e.kind == "run" for e in entries):
            try:
                comparison = compare_runs(directories)
            except (MarlkitError, OSError, ValueError, KeyError) as exc:
                note = f"no verdict table: {exc}"
            else:
                header, rows, classes = comparison_rows(comparison)
        else:
            differ = differing_keys(configs)
            header = ["", *(d.name for d in directories)]
            rows = [[f"config: {k}", *(str(v) for v in values)] for k, values in differ.items()]
            note = "verdicts appear once every run has finished"
        return render(
            "compare.html",
            active="compare",
            runs=[{"path": e.path, "name": e.name, "status": e.status} for e in entries],
            header=header,
            rows=rows,
            classes=classes,
            note=note,
            poll_ms=POLL_MS,
            run_paths=[e.path for e in entries],
        )

    def games_page(request: Request) -> Response:
        from marlkit.serve.game_page import catalog_rows

        return render("games.html", active="games", games=catalog_rows())

    def game_page(request: Request) -> Response:
        from marlkit.errors import MarlkitError
        from marlkit.games.catalog import GAMES, make
        from marlkit.serve.game_page import cached_game_view

        name = request.path_params["name"]
        try:
            entry = GAMES.get(name)
        except MarlkitError as exc:
            raise PathRefusedError(404, str(exc)) from None
        view = cached_game_view(f"catalog:{entry.name}", lambda: make(entry.name))
        return render("game.html", active="games", game=view, source=f"catalog game {entry.name} (default parameters)")

    def run_game_page(request: Request) -> Response:
        from marlkit.errors import MarlkitError
        from marlkit.serve.game_page import cached_game_view

        path = request.path_params["path"]
        directory = _run_dir(context, path)
        file = directory / "game.npz"

        def build() -> Any:
            from marlkit.experiment.report import game_of_run, read_run
            from marlkit.games import load_game

            return load_game(file) if file.is_file() else game_of_run(read_run(directory))

        stamp = file.stat().st_mtime_ns if file.is_file() else 0
        try:
            view = cached_game_view(f"run:{directory}:{stamp}", build)
        except MarlkitError as exc:
            raise PathRefusedError(404, f"{path}: no game to show ({exc})") from None
        return render("game.html", active="games", game=view, source=f"the game of run {path}", run_path=path)

    return [
        Route("/", runs_page, name="runs"),
        Route("/api/runs", runs_api, name="runs_api"),
        Route("/run/{path:path}", run_page, name="run"),
        Route("/api/curves/{path:path}", curves_api, name="curves_api"),
        Route("/report/{path:path}", report_file, name="report"),
        Route("/compare", compare_page, name="compare"),
        Route("/games", games_page, name="games"),
        Route("/game/{name}", game_page, name="game"),
        Route("/game-of/{path:path}", run_game_page, name="game_of_run"),
    ]
