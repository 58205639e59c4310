"""The embedded default convergence study (``marlkit run`` with no config).

A grid of catalog games x tabular learners in self-play x seeds. Each cell is trained with
:func:`marlkit.train.train` (seeds vmapped) and judged on the six convergence criteria of Albrecht, Christianos &
Schäfer (2024), *Multi-Agent Reinforcement Learning*, §5.2 (:func:`marlkit.diagnose.report.diagnose`, against the
game's Nash equilibria). The study is a run directory::

    runs/default-study-<timestamp>/
      config.yaml      the grid (games, learners, steps, seeds, key, log_every)
      summary.json     per cell: fraction of seeds converged per criterion, solutions reached, final NashConv
      report.html      the game x learner table and the config, self-contained
      cells/<game>--<learner>/  an ordinary run directory per cell: config.yaml, history.npz, metrics.jsonl,
                                summary.json (``marlkit report`` renders its own page)

A study killed mid-way resumes cell by cell (:func:`resume_study`, ``marlkit resume <study folder>``): a cell whose
``summary.json`` is written (last, atomically) is finished and read back, not recomputed; a cell folder without
one (killed while it was written) is removed and that cell computed again; every cell's training is a pure
function of the study's config, so the resumed study's table equals an uninterrupted one. A resume first removes
the temp files of writes a kill interrupted (:func:`marlkit.experiment.rundir.clean_leftovers`); a full or
read-only disk is one line saying what to free and to resume (:func:`marlkit.experiment.rundir.disk_errors`).
``tests/experiment/test_kill_points.py`` kills ``marlkit run`` (no config) before each of its durable writes.

A learner that does not apply to a game (minimax-Q on a general-sum game) is skipped with the reason its
``check`` gives. Compiled code is reused where shapes repeat: cells are ordered learner-major, and the
persistent JAX compilation cache (:mod:`marlkit.compile_cache`: ``~/.cache/marlkit/jax`` unless
``MARLKIT_JAX_CACHE`` says otherwise) makes a second study start without compiling.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from marlkit import __version__
from marlkit.atomic import sync_folder, write_text
from marlkit.compile_cache import enable_compilation_cache
from marlkit.diagnose.criteria_table import CRITERION_SHORT
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.experiment import rundir
from marlkit.experiment.report import (
    CONFIG_FILE,
    HISTORY_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    esc,
    fraction_class,
    html_figure,
    html_page,
    html_table,
    write_page,
    yaml_block,
)
from marlkit.experiment.rundir import json_number
from marlkit.experiment.runfiles import read_summary
from marlkit.schema import dump_yaml

DEFAULT_GAMES = (
    "matching-pennies",
    "rock-paper-scissors",
    "shapley",
    "climbing",
    "prisoners-dilemma",
    "stag-hunt",
)
DEFAULT_LEARNERS = ("iql", "fp", "wolf-phc", "regret-matching", "jal-am", "minimax-q")


@dataclass(frozen=True)
class StudyConfig:
    """The grid of a convergence study (defaults: the embedded study; ~20k steps so it ends in minutes)."""

    name: str = "default-study"
    games: tuple[str, ...] = DEFAULT_GAMES
    learners: tuple[str, ...] = DEFAULT_LEARNERS
    steps: int = 20_000
    log_every: int = 200
    seeds: int = 8
    key: int = 0
    concept: str = "nash"

    def __post_init__(self) -> None:
        from marlkit.agents.tabular.registry import LEARNERS
        from marlkit.games.catalog import ALIASES, CATALOG

        for game in self.games:
            if game not in CATALOG and game not in ALIASES:
                raise InvalidGameError(f"study: unknown game {game!r}; known: {', '.join(CATALOG)}")
        for learner in self.learners:
            if learner not in LEARNERS:
                raise InvalidGameError(f"study: unknown learner {learner!r}; known: {', '.join(LEARNERS)}")
        for key, minimum in (("steps", 1), ("log_every", 1), ("seeds", 1)):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise InvalidGameError(f"study: {key} must be an integer >= {minimum}, got {value!r}")
        if self.steps % self.log_every:
            raise InvalidGameError(f"study: log_every={self.log_every} must divide steps={self.steps}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["games"], data["learners"] = list(self.games), list(self.learners)
        return {"kind": "study", **data}


@dataclass(frozen=True)
class CellResult:
    """One game x learner cell: per criterion the fraction of seeds converged and the solutions reached
    (label -> seeds), the median final NashConv of the final policy, the mean tail return per agent, or the
    reason the learner does not apply."""

    game: str
    learner: str
    fractions: dict[str, float | None] = field(default_factory=dict)
    targets: dict[str, dict[str, int]] = field(default_factory=dict)
    nash_conv_final: float | None = None
    tail_return: list[float | None] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None

    @property
    def folder(self) -> str:
        return f"{self.game}--{self.learner}"


def _json_float(x: object) -> float | None:
    value = float(x)  # type: ignore[arg-type]
    return value if np.isfinite(value) else None


def write_metrics_jsonl(path: Path, history: Any) -> None:
    """One JSON line per logging point: steps, and per agent the mean over seeds of the episode return and the
    reward per step in that window (NaN written as null, +-inf as "Infinity" / "-Infinity")."""
    with np.errstate(all="ignore"):
        returns = np.nanmean(np.asarray(history.episode_return, dtype=np.float64), axis=0)
        rewards = np.nanmean(np.asarray(history.reward_mean, dtype=np.float64), axis=0)
    lines = [
        json.dumps(
            {
                "step": int(step),
                "episode_return": [json_number(x) for x in returns[t]],
                "reward_mean": [json_number(x) for x in rewards[t]],
            }
        )
        for t, step in enumerate(history.steps)
    ]
    write_text(path, "\n".join(lines) + "\n")


def diagnose_cell(game_name: str, learner: str, history: Any, game: Any, concept: str, seconds: float) -> CellResult:
    """Diagnose one trained cell (``learner`` on ``game``, its training ``history`` over seeds) against the solution
    ``concept`` and reduce it to the row a study or sweep reports: the fraction of seeds meeting each criterion, the
    solution each criterion targeted, the median final NashConv and the mean tail return per agent."""
    from marlkit.diagnose import summarize
    from marlkit.diagnose.report import diagnose

    report = diagnose(history, game, concept=concept)
    summary = summarize(history, game)
    summary_rows: Any = report.to_dict()["summary"]
    rows: dict[str, Any] = summary_rows
    return CellResult(
        game=game_name,
        learner=learner,
        fractions={name: row["fraction"] for name, row in rows.items()},
        targets={name: dict(row["targets"]) for name, row in rows.items()},
        nash_conv_final=_json_float(np.median(summary.nash_conv_final)),
        tail_return=[_json_float(x) for x in np.nanmean(summary.tail_return, axis=0)],
        seconds=seconds,
    )


def _write_cell(
    folder: Path, config: StudyConfig, game_name: str, learner: str, history: Any, cell: CellResult
) -> None:
    folder.mkdir(parents=True, exist_ok=False)
    cell_config = {
        "name": f"{config.name}/{game_name}--{learner}",
        "game": {"name": game_name, "params": {}},
        "learners": [{"name": learner}],
        "steps": config.steps,
        "log_every": config.log_every,
        "seeds": config.seeds,
        "key": config.key,
        "diagnostics": {"concept": config.concept},
    }
    write_text(folder / CONFIG_FILE, dump_yaml(cell_config))
    history.save(folder / HISTORY_FILE)
    write_metrics_jsonl(folder / "metrics.jsonl", history)
    summary = {"marlkit_version": __version__, "wall_time_s": cell.seconds, **asdict(cell)}
    write_text(folder / SUMMARY_FILE, json.dumps(summary, indent=1))


def study_cells(config: StudyConfig) -> list[tuple[str, str]]:
    """The (game, learner) cells, learner-major so a learner's compiled loop is reused across same-shape games."""
    return [(game, learner) for learner in config.learners for game in config.games]


def new_run_directory(root: str | Path, name: str, now: datetime | None = None) -> Path:
    """``root/<name>-<UTC timestamp>``; refuses (before any compute) if it exists or ``root`` is not writable."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    root = Path(root)
    directory = root / f"{name}-{stamp}"
    if directory.exists():
        raise InvalidGameError(f"run directory {directory} already exists; wait a second or choose another --out")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidGameError(f"cannot create the output folder {root}: {exc.strerror}") from None
    if not os.access(root, os.W_OK):
        raise InvalidGameError(f"output folder {root} is not writable; choose another with --out")
    return directory


Progress = Callable[[str, str, int, int], None]
"""A callback ``(game, learner, done, total)`` told after every cell (the CLI drives a rich progress bar)."""


def run_study(
    config: StudyConfig | None = None,
    root: str | Path = "runs",
    *,
    directory: Path | None = None,
    progress: Progress | None = None,
) -> tuple[Path, list[CellResult]]:
    """Run the study into a new run directory under ``root`` and return it with the cell results."""
    config = config or StudyConfig()
    directory = directory or new_run_directory(root, config.name)
    rundir.clean_stale_temp()
    directory.mkdir(parents=True, exist_ok=False)
    with rundir.disk_errors(directory, resumable=False):
        try:
            sync_folder(directory.parent)
            write_text(directory / CONFIG_FILE, dump_yaml(config.to_dict()))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)  # nothing trained yet: leave nothing half-written
            raise
    return _run_cells(directory, config, progress)


def is_study(directory: str | Path) -> bool:
    """Whether ``directory`` holds a study (its ``config.yaml`` says ``kind: study``)."""
    from marlkit.schema import ConfigError, load_yaml

    try:
        data = load_yaml((Path(directory) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ConfigError):
        return False
    return isinstance(data, dict) and data.get("kind") == "study"


def resume_study(directory: str | Path, *, progress: Progress | None = None) -> tuple[Path, list[CellResult]]:
    """Finish a study that was stopped: finished cells (their ``summary.json``) are read back, the others
    computed; then the study's ``summary.json`` and ``report.html`` are written. A finished study whose page is
    missing gets it; a finished one is an error (nothing to resume)."""
    from marlkit.errors import GameFileError
    from marlkit.schema import ConfigError, load_yaml

    directory = Path(directory)
    try:
        data = load_yaml((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        raise GameFileError(f"{directory / CONFIG_FILE}: cannot read the study's config ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") != "study":
        raise GameFileError(f"{directory}: not a study (its config.yaml has no kind: study)")
    fields = {f.name for f in dataclasses.fields(StudyConfig)}
    unknown = sorted(set(data) - fields - {"kind"})
    if unknown:
        raise GameFileError(f"{directory / CONFIG_FILE}: unknown study keys {unknown}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "kind"}
    config = StudyConfig(**values)
    with rundir.disk_errors(directory):
        rundir.clean_leftovers(directory)  # temp files of writes a kill interrupted (the study's summary, page)
    rundir.clean_stale_temp()
    if (directory / SUMMARY_FILE).is_file():
        if (directory / REPORT_FILE).is_file():
            raise GameFileError(f"{directory}: the study is already finished (summary.json exists); nothing to resume")
        with rundir.disk_errors(directory):
            render_study_report(directory)
        return directory, _load_cells(directory)[1]
    return _run_cells(directory, config, progress)


def _finished_cell(folder: Path) -> CellResult | None:
    """The result of a cell whose folder holds its ``summary.json`` (written last), else None."""
    try:
        data = read_summary(folder / SUMMARY_FILE)
        names = {f.name for f in dataclasses.fields(CellResult)}
        return CellResult(**{k: v for k, v in data.items() if k in names})
    except (OSError, ValueError, TypeError):
        return None


def _run_cells(directory: Path, config: StudyConfig, progress: Progress | None) -> tuple[Path, list[CellResult]]:
    """Train and judge every cell not finished yet (see the module docstring), then write the study's files."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.agents.tabular.registry import make_learner
    from marlkit.games.catalog import make
    from marlkit.train.loop import prepare

    enable_compilation_cache()
    started = time.perf_counter()
    cells, results = study_cells(config), []
    for done, (game_name, learner_name) in enumerate(cells, start=1):
        folder = directory / "cells" / CellResult(game_name, learner_name).folder
        finished = _finished_cell(folder)
        if finished is not None and (finished.game, finished.learner) == (game_name, learner_name):
            results.append(finished)
            if progress is not None:
                progress(game_name, learner_name, done, len(cells))
            continue
        if folder.exists():
            with rundir.disk_errors(directory):
                shutil.rmtree(folder)  # killed while it was written: compute it again
        game = make(game_name)
        learner = make_learner(learner_name, game)
        tic = time.perf_counter()
        try:
            plan = prepare(game, learner, config.steps, config.seeds, config.key, config.log_every)
        except NotApplicableError as exc:
            results.append(CellResult(game_name, learner_name, skipped=str(exc).split(";")[0]))
        else:
            history = plan.run()
            history = dataclasses.replace(history, meta={**history.meta, "game_params": {}})
            cell = diagnose_cell(game_name, learner_name, history, game, config.concept, time.perf_counter() - tic)
            with rundir.disk_errors(directory):
                _write_cell(folder, config, game_name, learner_name, history, cell)
            results.append(cell)
        if progress is not None:
            progress(game_name, learner_name, done, len(cells))
    wall = time.perf_counter() - started
    summary = {
        "kind": "study",
        "marlkit_version": __version__,
        "wall_time_s": wall,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "cells": [asdict(cell) for cell in results],
    }
    with rundir.disk_errors(directory):
        write_text(directory / SUMMARY_FILE, json.dumps(summary, indent=1))
        render_study_report(directory)
    return directory, results


# ------------------------------------------------------------------------------------------------ the table
def cell_text(cell: CellResult, criterion: str, short: bool = False) -> str:
    """'0.88 NE1' — fraction of seeds converged, and the solution(s) most converged seeds reached (at most
    two; ``short``: each label's first word only, e.g. '0.88 NE1', for the terminal)."""
    fraction = cell.fractions.get(criterion)
    if fraction is None:
        return "-"
    targets = cell.targets.get(criterion) or {}
    best = [label for label, _ in sorted(targets.items(), key=lambda item: -item[1])[:2]]
    if short:
        best = [label.split()[0] for label in best]
    return f"{fraction:.2f}" + (" " + "+".join(best) if best else "")


def study_rows(cells: Sequence[CellResult], short: bool = False) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Header, rows and CSS classes of the study table (one row per applicable cell; ``short`` labels as in
    :func:`cell_text`)."""
    from marlkit.diagnose.results import CRITERIA

    header = ["game", "learner", *(CRITERION_SHORT[c] for c in CRITERIA), "NashConv (final)", "tail return"]
    rows, classes = [], []
    for cell in cells:
        if cell.skipped:
            continue
        returns = "/".join("-" if r is None else f"{r:.2f}" for r in cell.tail_return)
        nash_conv = "-" if cell.nash_conv_final is None else f"{cell.nash_conv_final:.3f}"
        rows.append([cell.game, cell.learner, *(cell_text(cell, c, short) for c in CRITERIA), nash_conv, returns])
        classes.append(["", "", *(fraction_class(cell.fractions.get(c)) for c in CRITERIA)])
    return header, rows, classes


def study_table(cells: Sequence[CellResult], title: str = "convergence study"):  # -> rich.table.Table
    """The study table for the terminal (rich). Cells are styled :class:`rich.text.Text`, not markup: marlkit's
    console reads no markup (:func:`marlkit.cli.context.console`), so ``[red]0.00[/]`` would be printed as is."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    header, rows, classes = study_rows(cells, short=True)
    header, rows = header[:-1], [row[:-1] for row in rows]  # the tail returns are on the page; 120 columns here
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        caption="fraction of seeds converged and the Nash equilibria reached (labels in report.html)",
    )
    for name in header:
        table.add_column(name.replace(" ", "\n", 1), no_wrap=name in ("game", "learner"), min_width=8)
    colours = {"good": "green", "mid": "yellow", "bad": "red"}
    for row, css in zip(rows, classes, strict=True):
        styled = [Text(v, style=colours.get(c, "")) for v, c in zip(row, [*css, "", ""], strict=False)]
        table.add_row(*styled)
    return table


def _load_cells(directory: Path) -> tuple[dict[str, Any], list[CellResult]]:
    from marlkit.errors import GameFileError

    path = directory / SUMMARY_FILE
    if not path.is_file():
        raise GameFileError(f"{directory}: no {SUMMARY_FILE}; the study has not finished")
    summary = read_summary(path, GameFileError)
    return summary, [CellResult(**cell) for cell in summary.get("cells", [])]


def plot_study_heatmaps(cells: Sequence[CellResult], path: str | Path) -> Path:
    """One heatmap per criterion: games (rows) x learners (columns), coloured by the fraction of seeds converged
    (grey where the learner does not apply), the fraction written in each cell."""
    from matplotlib.figure import Figure

    from marlkit.diagnose.plots import save_figure
    from marlkit.diagnose.results import CRITERIA

    games = list(dict.fromkeys(c.game for c in cells))
    learners = list(dict.fromkeys(c.learner for c in cells))
    fig = Figure(figsize=(4.2 * 3, 0.45 * len(games) * 2 + 2.6), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True, sharey=True).ravel()
    for ax, criterion in zip(axes, CRITERIA, strict=True):
        grid = np.full((len(games), len(learners)), np.nan)
        for cell in cells:
            value = cell.fractions.get(criterion)
            if not cell.skipped and value is not None:
                grid[games.index(cell.game), learners.index(cell.learner)] = value
        ax.set_facecolor("#dddddd")
        image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        for (r, c), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(
                    c,
                    r,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value < 0.6 else "black",
                )
        ax.set_title(f"criterion {CRITERION_SHORT[criterion]}", fontsize=10)
        ax.set_xticks(range(len(learners)), learners, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(games)), games, fontsize=8)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="fraction of seeds converged (grey: not applicable)")
    fig.suptitle("which learner meets which convergence criterion on which game (Albrecht et al. 2024, §5.2)")
    return save_figure(fig, path)


def render_study_report(directory: str | Path) -> Path:
    """Write the study's ``report.html`` from its ``summary.json`` and ``config.yaml`` (no training)."""
    directory = Path(directory)
    summary, cells = _load_cells(directory)
    header, rows, classes = study_rows(cells)
    legend = (
        '<p class="muted">each criterion cell: fraction of seeds converged (Albrecht et al. 2024, §5.2) and the '
        "Nash equilibria most converged seeds reached; green >= 0.75, yellow > 0.25, red otherwise. Each cell is a "
        "run directory under <code>cells/</code>: <code>marlkit report</code> renders its pictures.</p>"
    )
    skipped = [c for c in cells if c.skipped]
    skipped_html = (
        "<ul>" + "".join(f"<li>{esc(c.game)} x {esc(c.learner)}: {esc(c.skipped)}</li>" for c in skipped) + "</ul>"
        if skipped
        else "<p>none</p>"
    )
    config_text = (directory / CONFIG_FILE).read_text(encoding="utf-8")
    facts = [
        ("marlkit version", str(summary.get("marlkit_version", "-"))),
        ("wall time", f"{float(summary.get('wall_time_s', 0.0)):.1f} s"),
        ("cells run / skipped", f"{len(cells) - len(skipped)} / {len(skipped)}"),
        ("finished", str(summary.get("finished", "-"))),
    ]
    with tempfile.TemporaryDirectory(prefix="marlkit-study-") as folder:
        heatmap = html_figure(
            plot_study_heatmaps(cells, Path(folder) / "heatmap.png"), "fraction of seeds converged per criterion"
        )
    sections = [
        ("game x learner", legend + html_table(header, rows, classes) + heatmap),
        ("not applicable", skipped_html),
        ("config", yaml_block(config_text)),
        ("run facts", html_table(["fact", "value"], facts)),
    ]
    page = html_page("marlkit default convergence study", sections, subtitle=str(directory))
    return write_page(directory / REPORT_FILE, page)


__all__ = [
    "DEFAULT_GAMES",
    "DEFAULT_LEARNERS",
    "CellResult",
    "StudyConfig",
    "cell_text",
    "enable_compilation_cache",
    "is_study",
    "new_run_directory",
    "plot_study_heatmaps",
    "render_study_report",
    "resume_study",
    "run_study",
    "study_cells",
    "study_rows",
    "study_table",
    "write_metrics_jsonl",
]
