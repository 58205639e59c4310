"""``marlkit report RUN_DIR``, ``marlkit compare RUN_DIR...``, ``marlkit sweep CONFIG --grid ...`` and the default
study that ``marlkit run`` runs without a config (:func:`run_default_study`).

``report`` re-renders ``report.html`` of a run, study or sweep directory from its files, never re-training.
``compare`` puts runs side by side: the config keys that differ, the fraction of seeds converged per criterion,
the final NashConv and the tail returns. ``sweep`` runs a grid of configs on a local process pool or on Ray Tune.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import console, print_json
from marlkit.errors import GameFileError, InvalidGameError


def _kind(directory: Path) -> str:
    """``study``, ``sweep`` or ``run``: what a directory's ``summary.json`` / ``config.yaml`` says it is."""
    from marlkit.experiment.runfiles import read_text, summary_kind
    from marlkit.schema import ConfigError, load_yaml

    summary = directory / "summary.json"
    if summary.exists() or summary.is_symlink():
        kind = summary_kind(summary, GameFileError)  # a damaged summary.json is one error line
        if kind in ("study", "sweep"):
            return kind
    config = directory / "config.yaml"
    try:
        data = load_yaml(read_text(config, GameFileError))
    except (GameFileError, ConfigError):  # the renderer reports it properly
        return "run"
    return str(data["kind"]) if isinstance(data, dict) and data.get("kind") in ("study", "sweep") else "run"


def render_any(directory: str | Path) -> Path:
    """Re-render ``report.html`` of a run, study or sweep directory (no training); returns the page's path."""
    from marlkit.experiment.report import render_run_report
    from marlkit.experiment.study import render_study_report
    from marlkit.experiment.sweep import render_sweep_report

    directory = Path(directory)
    if not directory.is_dir():
        raise GameFileError(f"{directory}: no such run directory")
    if not os.access(directory, os.W_OK):
        raise GameFileError(f"{directory}: not writable, cannot write report.html there")
    renderers = {"run": render_run_report, "study": render_study_report, "sweep": render_sweep_report}
    return renderers[_kind(directory)](directory)


def report(
    run_dir: Annotated[str, typer.Argument(help="A run, study or sweep directory (under runs/).")],
) -> None:
    """Re-render a run directory's report.html from its files (history.npz, config.yaml); no re-training."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    console().print(f"wrote {render_any(run_dir)}", markup=False)


def run_default_study(
    out: str = "runs",
    steps: int | None = None,
    seeds: int | None = None,
    games: list[str] | None = None,
    learners: list[str] | None = None,
    progress: bool = True,
) -> Path:
    """The embedded default convergence study (``marlkit run`` with no config): a rich progress bar with ETA
    (none with ``progress=False``), the game x learner table on the terminal, and
    ``<out>/default-study-<timestamp>/report.html``. Ctrl-C stops it with exit status 130."""
    from marlkit.experiment.study import StudyConfig, new_run_directory, run_study
    from marlkit.train.protocol import default_log_every

    overrides: dict[str, Any] = {}  # StudyConfig's keyword arguments, of their several types
    if steps is not None:
        overrides["steps"] = steps
        overrides["log_every"] = default_log_every(steps)
    if seeds is not None:
        overrides["seeds"] = seeds
    if games:
        overrides["games"] = tuple(games)
    if learners:
        overrides["learners"] = tuple(learners)
    config = StudyConfig(**overrides)  # validated here, before any compute
    directory = new_run_directory(out, config.name)
    return _drive_study(config, directory, lambda tick: run_study(config, directory=directory, progress=tick), progress)


def resume_default_study(directory: str | Path, progress: bool = True) -> Path:
    """``marlkit resume`` on a study folder: finish the cells not finished yet (finished ones are read back, not
    recomputed), then the table and ``report.html`` as :func:`run_default_study` prints them."""
    from marlkit.experiment.study import StudyConfig, resume_study

    path = Path(directory)
    return _drive_study(StudyConfig(), path, lambda tick: resume_study(path, progress=tick), progress, resumed=True)


def _drive_study(config: Any, directory: Path, start: Any, progress: bool, resumed: bool = False) -> Path:
    """Run ``start(tick)`` (a study's cells) under a progress bar, then print the table; Ctrl-C exits 130."""
    from rich.progress import Progress

    from marlkit.cli.run import EXIT_INTERRUPTED
    from marlkit.experiment.runner import progress_columns
    from marlkit.experiment.study import study_table

    out_console = console()
    tic = time.perf_counter()
    bar = Progress(*progress_columns("cells", description_width=24), console=out_console, disable=not progress)
    with bar:
        task = bar.add_task("convergence study" + (" (resumed)" if resumed else ""), total=None)

        def tick(game: str, learner: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"{game} x {learner}")
            if done == total and progress:
                bar.console.print("all cells trained; writing the study's summary.json and report.html", markup=False)

        try:
            directory, cells = start(tick)
        except KeyboardInterrupt:
            typer.echo(
                f"interrupted: the study in {directory} is incomplete; finished cells are kept — continue with: "
                f"marlkit resume {directory}",
                err=True,
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
    games = len(dict.fromkeys(c.game for c in cells))
    seeds = _study_seeds(directory, config.seeds)
    out_console.print(study_table(cells, title=f"convergence study: {games} games, {seeds} seeds"))
    skipped = [c for c in cells if c.skipped]
    for cell in skipped:
        out_console.print(f"skipped {cell.game} x {cell.learner}: {cell.skipped}", markup=False)
    out_console.print(f"wall time {time.perf_counter() - tic:.1f} s; wrote {directory / 'report.html'}", markup=False)
    return directory


def _study_seeds(directory: Path, default: int) -> int:
    """The seeds of the study in ``directory`` (its summary's config), for the table's title."""
    from marlkit.errors import MarlkitError
    from marlkit.experiment.runfiles import read_summary

    try:
        seeds = read_summary(directory / "summary.json").get("config", {}).get("seeds")
    except MarlkitError:
        return default
    return seeds if isinstance(seeds, int) and not isinstance(seeds, bool) else default


def sweep(
    config: Annotated[str, typer.Argument(help="A run config (YAML) to sweep over.")],
    grid: Annotated[
        list[str], typer.Option("--grid", help="key=v1,v2,... (a dotted config key; repeatable: the product).")
    ],
    seeds: Annotated[int | None, typer.Option("--seeds", help="Seeds per grid point (vmapped).")] = None,
    backend: Annotated[str, typer.Option("--backend", help="local (process pool) or ray (Ray Tune).")] = "local",
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster address (ray backend).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Grid points run at once.")] = 2,
    out: Annotated[str, typer.Option("--out", help="Folder the sweep's run directory is created in.")] = "runs",
) -> None:
    """Sweep a config over a grid of values: each point a run directory, plus a summary and report.html."""
    import yaml

    from marlkit.experiment.sweep import run_sweep

    path = Path(config)
    if not path.is_file():
        raise GameFileError(f"{config}: no such config file")
    try:
        base = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise GameFileError(f"{config}: unreadable YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(base, dict):
        raise GameFileError(f"{config}: expected a mapping at the top of the config")
    if workers < 1:
        raise InvalidGameError(f"--workers must be >= 1, got {workers}")
    directory = run_sweep(base, grid, seeds=seeds, backend=backend, workers=workers, address=address, root=out)
    console().print(f"wrote {directory / 'report.html'}", markup=False)


def compare(
    run_dirs: Annotated[list[str], typer.Argument(help="Two or more run directories.")],
    html_out: Annotated[str | None, typer.Option("--html", help="Also write the comparison as a page here.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Runs side by side: the config keys that differ, fractions converged, final NashConv, tail returns."""
    from marlkit.experiment.compare import compare_runs, comparison_page, comparison_table

    comparison = compare_runs([Path(d) for d in run_dirs])
    if html_out:
        from marlkit.experiment.report import write_page

        write_page(html_out, comparison_page(comparison))
    if json_output:
        print_json(comparison)
        return
    out = console()
    out.print(comparison_table(comparison))
    if html_out:
        out.print(f"wrote {html_out}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("compare")(compare)
    app.command("sweep")(sweep)


__all__ = ["register", "render_any", "run_default_study"]
