"""``report.html``: one self-contained page per run directory (no external assets).

The page holds the title, the verdict table of the six convergence criteria (Albrecht, Christianos & Schäfer
2024, *Multi-Agent Reinforcement Learning*, §5.2; computed by :func:`marlkit.diagnose.report.diagnose`), the
pictures of :meth:`marlkit.diagnose.report.DiagnosisReport.plots` embedded as base64 ``data:`` URIs (RFC 2397),
the resolved config as YAML and the run's facts (marlkit version, wall time, steps, seeds). CSS is inline, so
the file can be mailed or archived alone.

Everything is rebuilt from the run directory's files (``config.yaml``, ``history.npz``, ``summary.json`` when
present): :func:`render_run_report` never trains, which is what ``marlkit report RUN_DIR`` calls. The page is
written atomically (temp file in the same folder, then ``os.replace``).

The building blocks (:func:`html_page`, :func:`html_table`, :func:`embed_png`) are shared by the study and sweep
pages (:mod:`marlkit.experiment.study`, :mod:`marlkit.experiment.sweep`).
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from marlkit import __version__
from marlkit.atomic import write_text
from marlkit.errors import GameFileError, InvalidGameError, MarlkitError, NotApplicableError, UnknownNameError
from marlkit.experiment.runfiles import check_digests, read_json, read_summary, read_text
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.history import History
from marlkit.schema import ConfigError, dump_yaml, load_yaml
from marlkit.strict import regular_file

if TYPE_CHECKING:  # pragma: no cover
    from marlkit.diagnose.report import DiagnosisReport
    from marlkit.diagnose.safety import SafetyReport


Game = NormalFormGame | StochasticGame

REPORT_FILE = "report.html"
CONFIG_FILE = "config.yaml"
HISTORY_FILE = "history.npz"
SUMMARY_FILE = "summary.json"
ROBUSTNESS_FILE = "robustness.json"
OBSERVATION_ATTACK_FILE = "attack-observation.json"
BACKDOOR_FILE = "backdoor.json"
DETECT_FILE = "backdoor-detect.json"
UNLEARN_FILE = "backdoor-unlearn.json"
EXPLAIN_FILE = "explain.json"
CROSSPLAY_FILE = "human-crossplay.json"
HANDOVER_FILE = "handover.json"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.88rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td { overflow-wrap: anywhere; }
div.wide { max-width: 100%; overflow-x: auto; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.good { background: #d9f0e3; } td.mid { background: #f3ecd2; } td.bad { background: #f7ddd0; }
pre { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 0.6rem; overflow-x: auto; font-size: 0.82rem; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4rem 0; }
.muted { color: #666; font-size: 0.85rem; } figure { margin: 0.8rem 0; } figcaption { font-size: 0.85rem; }
"""


# ---------------------------------------------------------------------------------------------- HTML pieces
def esc(value: object) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape(str(value), quote=True)


def embed_png(path: str | Path) -> str:
    """A PNG file as a ``data:image/png;base64,...`` URI (RFC 2397)."""
    data = Path(path).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def html_figure(path: str | Path, caption: str) -> str:
    """An ``<img>`` with the picture embedded, and its caption."""
    return f'<figure><img alt="{esc(caption)}" src="{embed_png(path)}"><figcaption>{esc(caption)}</figcaption></figure>'


def _missing(x: float | None) -> bool:
    """No value: None or NaN (what the diagnosis summary writes as null)."""
    return x is None or math.isnan(x)


def number(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, ``-`` for no value (None or not finite), as in the terminal table."""
    return f"{float(x):.{digits}g}" if x is not None and math.isfinite(x) else "-"


def fraction_class(fraction: float | None) -> str:
    """CSS class of a fraction-converged cell: good (>= 0.75), mid (> 0.25), bad; empty for no value (None, NaN)."""
    if fraction is None or _missing(fraction):
        return ""
    return "good" if fraction >= 0.75 else ("mid" if fraction > 0.25 else "bad")


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]], classes: Sequence[Sequence[str]] = ()) -> str:
    """A plain HTML table in a ``div.wide`` that scrolls sideways rather than overflow the page (long cells, e.g.
    a sweep's point folders, also wrap); ``classes[r][c]`` (optional) is the CSS class of a body cell."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            css = classes[r][c] if r < len(classes) and c < len(classes[r]) else ""
            cells.append(f'<td class="{css}">{esc(value)}</td>' if css else f"<td>{esc(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def html_page(title: str, sections: Sequence[tuple[str, str]], subtitle: str = "") -> str:
    """A whole page: ``title``, an optional subtitle line, then ``(heading, html body)`` sections."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="muted">{esc(subtitle)}</p>')
    for heading, body in sections:
        parts.append(f"<h2>{esc(heading)}</h2>\n{body}")
    parts.append(f'<p class="muted">written by marlkit {esc(__version__)}</p></body></html>')
    return "\n".join(parts) + "\n"


def write_page(path: str | Path, text: str) -> Path:
    """Write an HTML page atomically (temp file in the same folder, then rename); returns the path."""
    path = Path(path)
    write_text(path, text)
    return path


def yaml_block(config: dict[str, Any] | str) -> str:
    """The config as a ``<pre>`` YAML block."""
    text = config if isinstance(config, str) else dump_yaml(config)
    return f"<pre>{esc(text)}</pre>"


# ----------------------------------------------------------------------------------------- the verdict table
def verdict_rows(report: DiagnosisReport) -> tuple[list[str], list[list[object]], list[list[str]]]:
    """Header, rows and cell classes of the verdict table: one row per criterion (the columns of
    :meth:`DiagnosisReport.table`)."""
    from marlkit.diagnose.results import CRITERION_TITLES

    level = f"{report.confidence:.0%}"
    header = [
        "criterion",
        "eps",
        "converged / not / inconclusive",
        f"fraction converged [{level} CI]",
        "median z0",
        "converged to (seeds)",
        f"final metric IQM [{level} CI]",
        "metric",
    ]
    rows: list[list[object]] = []
    classes: list[list[str]] = []
    for name, result in report.results.items():
        stats = report.statistics[name]
        counts = report.verdict_counts(name)
        low, high = stats.fraction_ci
        final_low, final_high = (None, None) if stats.final_ci is None else stats.final_ci
        rows.append(
            [
                CRITERION_TITLES.get(name, name),
                number(result.eps),
                f"{counts['converged']} / {counts['not converged']} / {counts['inconclusive']} of "
                f"{len(result.verdicts)}",
                "-"
                if _missing(stats.fraction)
                else f"{number(stats.fraction, 2)} [{number(low, 2)}, {number(high, 2)}]",
                "-" if stats.z0_median is None or _missing(stats.z0_median) else f"{stats.z0_median:.0f}",
                ", ".join(f"{label} x{count}" for label, count in stats.targets.items()) or "-",
                "-"
                if _missing(stats.final_iqm)
                else f"{number(stats.final_iqm, 2)} [{number(final_low, 2)}, {number(final_high, 2)}]",
                result.metric_name,
            ]
        )
        classes.append(["", "", "", fraction_class(stats.fraction)])
    return header, rows, classes


_PICTURE_CAPTIONS = {
    "criteria": "the six criteria: metric per seed (coloured by verdict), median, eps band, z0",
    "trajectories": "policy trajectories (current policy), equilibria as stars",
    "trajectories-average": "policy trajectories (average policy), equilibria as stars",
    "nonstationarity": "non-stationarity: how fast the other agents' policies move, per agent",
    "costs": "costs over learning against the limits, and the Lagrange multipliers against λ*",
}


def _caption(stem: str) -> str:
    if stem.startswith("fan-"):
        return f"seed fan of criterion {stem[4:].replace('-', ' ')}: median, 25-75 and 5-95 percentile bands"
    return _PICTURE_CAPTIONS.get(stem, stem)


def safety_section(safety: SafetyReport) -> str:
    """The safety section of a constrained run's page: feasibility counts, final costs against limits, the gaps to
    the exact optima and λ against λ* (:mod:`marlkit.diagnose.safety`), as text lines."""
    lines = safety.lines()
    items = "".join(f"<li>{esc(line.strip())}</li>" for line in lines[1:])
    return f'<p class="muted">{esc(lines[0])}</p><ul>{items}</ul>'


@dataclass(frozen=True)
class ResultSection:
    """A result file a command writes into a run directory and the page section it becomes.

    ``result`` names a class (``"module:Class"``, imported only when the file exists) with ``from_json(dict)`` and
    ``lines() -> list[str]``; ``plot`` names a function ``plot(result, path) -> Path`` that raises ``ValueError``
    when the result has nothing to draw; ``command`` is what writes (and refreshes) the file."""

    title: str
    file: str
    result: str
    command: str
    plot: str | None = None


RESULT_SECTIONS: tuple[ResultSection, ...] = (
    ResultSection(
        "robustness",
        ROBUSTNESS_FILE,
        "marlkit.diagnose.robustness:RobustnessReport",
        "marlkit robust",
        "marlkit.diagnose.plots:plot_robustness",
    ),
    ResultSection(
        "observation attacks",
        OBSERVATION_ATTACK_FILE,
        "marlkit.attacks.observation:ObservationAttack",
        "marlkit attack observation",
        "marlkit.attacks.observation:plot_observation_attack",
    ),
    ResultSection("backdoor", BACKDOOR_FILE, "marlkit.attacks.backdoor:BackdoorMetrics", "marlkit attack backdoor"),
    ResultSection("trojan detection", DETECT_FILE, "marlkit.attacks.trojan:Detection", "marlkit defend detect"),
    ResultSection("unlearning", UNLEARN_FILE, "marlkit.attacks.unlearning:Unlearning", "marlkit defend unlearn"),
    ResultSection(
        "attribution and interpretability", EXPLAIN_FILE, "marlkit.human.shapley:Explanation", "marlkit explain"
    ),
    ResultSection(
        "human-AI cross-play",
        CROSSPLAY_FILE,
        "marlkit.experiment.crossplay_table:CrossplayTable",
        "marlkit human crossplay --save",
        "marlkit.experiment.crossplay_table:plot_crossplay_table",
    ),
    ResultSection(
        "hand-over of control",
        HANDOVER_FILE,
        "marlkit.human.handover_sim:HandoverSimulation",
        "marlkit human handover RUN_DIR --save",
    ),
)
"""Every result file a run directory may hold beside its History, in page order (one table: commands that write a
result into a run add a row here, and every run page shows it)."""


def _imported(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def result_section(directory: Path, entry: ResultSection, pictures: bool = True) -> str | None:
    """The page section of one result file of a run directory (its lines as text and, ``pictures``, its plot);
    None when the run has no such file; a note when the file cannot be read."""
    path = directory / entry.file
    if not path.is_file():
        return None
    try:
        result = _imported(entry.result).from_json(read_json(path, GameFileError))
    except (MarlkitError, OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        return f'<p class="muted">{esc(path.name)} could not be read ({esc(exc)}); rerun `{esc(entry.command)}`.</p>'
    text = "<pre>" + esc("\n".join(result.lines())) + "</pre>"
    if pictures and entry.plot is not None:
        with tempfile.TemporaryDirectory(prefix="marlkit-report-") as folder:
            try:
                picture = _imported(entry.plot)(result, Path(folder) / f"{path.stem}.png")
            except ValueError:  # nothing to draw
                return text
            text += html_figure(picture, f"{entry.title} ({path.name})")
    return text


def result_sections(directory: Path, pictures: bool = True) -> list[tuple[str, str]]:
    """The sections of every result file (:data:`RESULT_SECTIONS`) the run directory holds."""
    sections = []
    for entry in RESULT_SECTIONS:
        text = result_section(directory, entry, pictures)
        if text is not None:
            sections.append((entry.title, text))
    return sections


def save_run_result(directory: str | Path, file: str, data: dict[str, Any]) -> Path:
    """Write a command's result ``data`` as ``directory/file`` (JSON, atomically) and (re-)render the run's page, so
    it shows the new section. Raises :class:`MarlkitError` (one line) when it cannot be written."""
    from marlkit.errors import MarlkitError

    directory = Path(directory)
    path = directory / file
    try:
        write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    except (OSError, ValueError) as exc:
        raise MarlkitError(f"{path}: could not write ({exc})") from None
    render_run_report(directory)
    return path


def diagnosis_sections(report: DiagnosisReport, pictures: bool = True) -> list[tuple[str, str]]:
    """Page sections of one diagnosis: the verdict table with the notes, and (``pictures``) every picture of
    :meth:`DiagnosisReport.plots`, drawn into a temporary folder and embedded."""
    from marlkit.diagnose.report import VERDICT_SUMMARY

    header, rows, classes = verdict_rows(report)
    notes = "".join(f"<li>{esc(note)}</li>" for note in report.notes)
    table = (
        f'<p class="muted">convergence of {esc(report.game)} to {esc(report.solution_set)}; distance '
        f"{esc(report.distance)}, state weights {esc(report.weights)}, {report.n_seeds} seeds</p>"
        + html_table(header, rows, classes)
        + f'<p class="muted">rule: {esc(VERDICT_SUMMARY)}</p><ul class="muted">{notes}</ul>'
    )
    sections = [("verdicts", table)]
    if report.safety is not None:
        sections.append(("safety", safety_section(report.safety)))
    if pictures:
        with tempfile.TemporaryDirectory(prefix="marlkit-report-") as folder:
            figures = [html_figure(path, _caption(Path(path).stem)) for path in report.plots(folder)]
        sections.append(("pictures", "\n".join(figures)))
    return sections


# ------------------------------------------------------------------------------------------ run directories
@dataclass(frozen=True, eq=False)
class RunFiles:
    """What a run directory holds for a report: the config (parsed and as text), the History, the summary."""

    directory: Path
    config: dict[str, Any]
    config_text: str
    history: History
    summary: dict[str, Any]


def read_run(directory: str | Path) -> RunFiles:
    """Read ``config.yaml``, ``history.npz`` and (when present) ``summary.json`` of a run directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise GameFileError(f"{directory}: not a run directory (no such folder)")
    config_path = directory / CONFIG_FILE
    if not config_path.exists() and not config_path.is_symlink():
        raise GameFileError(f"{directory}: not a run directory (no {CONFIG_FILE}); pass a folder under runs/")
    config_text = read_text(config_path, GameFileError)
    try:
        config = load_yaml(config_text) or {}
    except ConfigError as exc:
        raise GameFileError(f"{config_path}: unreadable YAML ({exc})") from None
    if not isinstance(config, dict):
        raise GameFileError(f"{config_path}: expected a mapping at the top, got {type(config).__name__}")
    history_path = directory / HISTORY_FILE
    if not history_path.exists() and not history_path.is_symlink():
        raise GameFileError(f"{directory}: no {HISTORY_FILE} yet (has the run finished? `marlkit resume` it)")
    summary: dict[str, Any] = {}
    if (directory / SUMMARY_FILE).exists() or (directory / SUMMARY_FILE).is_symlink():
        summary = read_summary(directory / SUMMARY_FILE, GameFileError)
        check_digests(directory, summary, GameFileError)  # config, game and History as the run wrote them
    elif (directory / "checkpoint.npz").exists() or (directory / "checkpoint.npz").is_symlink():
        raise GameFileError(  # the runner's folder, killed before its summary: its history.npz may be a torn one
            f"{directory}: the run has not finished (no {SUMMARY_FILE}); finish it with `marlkit resume {directory}`"
        )
    history = History.load(history_path)
    return RunFiles(directory, config, config_text, history, summary)


def _game_spec(config: dict[str, Any], meta: dict[str, Any]) -> tuple[str | None, dict[str, Any], str | None]:
    """(catalog name, parameters, file) of the run's game: from the config's ``game`` entry (a name, or a mapping
    with ``name``/``params`` or ``file``/``path``), else from the History's ``meta``."""
    entry = config.get("game")
    if isinstance(entry, str):
        return entry, dict(config.get("game_params") or {}), None
    if isinstance(entry, dict):
        file = entry.get("file") or entry.get("path")
        return entry.get("name"), dict(entry.get("params") or {}), None if file is None else str(file)
    name = meta.get("game")
    params = meta.get("game_params")
    return (name if isinstance(name, str) else None), dict(params) if isinstance(params, dict) else {}, None


def game_of_run(run: RunFiles) -> Game:
    """The game a run trained on: the run's own copy (``game.npz``, written when it started: a game file moved or
    edited since does not change the run's diagnosis; a partner run's is the learners' game, experiment.partner),
    else rebuilt from the config (catalog name and parameters, or a game file relative to the run)."""
    from marlkit.games import load_game
    from marlkit.games.catalog import make

    saved = run.directory / "game.npz"
    if saved.exists() or saved.is_symlink():
        return load_game(regular_file(saved, GameFileError))
    name, params, file = _game_spec(run.config, dict(run.history.meta))
    if file is not None:
        path = Path(file)
        return load_game(path if path.is_absolute() or path.exists() else run.directory / path)
    if not name:
        task = task_of_run(run)
        if task is not None:
            raise NotApplicableError(
                f"{run.directory}: a run on the task {task!r}, an env with no exact game, so there is no convergence "
                f"diagnosis and no report page for it yet; its returns are in {SUMMARY_FILE} and {HISTORY_FILE}"
            )
        raise InvalidGameError(f"{run.directory}: neither {CONFIG_FILE} nor the History names the game")
    try:
        return make(name, **params)
    except UnknownNameError as exc:
        raise UnknownNameError(f"{run.directory}: {exc}") from None


def task_of_run(run: RunFiles) -> str | None:
    """The task (env) name a run trained on when it names no game: the config's ``env`` (a name or a mapping with
    ``name``) or the History's ``meta["env"]``; None otherwise."""
    entry = run.config.get("env", run.history.meta.get("env"))
    if isinstance(entry, dict):
        entry = entry.get("name")
    return entry if isinstance(entry, str) and entry else None


def is_judged(run: RunFiles) -> bool:
    """Whether a run is judged against an exact game: it names one (not only a task) and recorded policy tables
    (a deep run on a game whose env was wrapped, e.g. by a backdoor's trigger, records none)."""
    game_name, _, game_file = _game_spec(run.config, dict(run.history.meta))
    no_game = task_of_run(run) is not None and game_name is None and game_file is None
    return not no_game and run.history.has_policy_table


def diagnosis_options(config: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`marlkit.diagnose.report.diagnose` a config's ``diagnostics`` entry sets
    (``concept``, ``eps``, ``distance``, ``weights``, ``criteria``, ``confidence``)."""
    entry = config.get("diagnostics")
    if not isinstance(entry, dict):
        return {}
    keys = ("concept", "eps", "distance", "weights", "criteria", "confidence")
    return {key: entry[key] for key in keys if entry.get(key) is not None}


def learner_names(meta: dict[str, object]) -> str:
    """The History's ``meta["learners"]`` joined by commas (empty when absent)."""
    learners = meta.get("learners", [])
    return ", ".join(map(str, learners)) if isinstance(learners, list | tuple) else str(learners)


def run_facts(run: RunFiles) -> list[tuple[str, str]]:
    """(fact, value) rows: marlkit version, wall time, steps, seeds, logging points, learners, game, key."""
    history, summary = run.history, run.summary
    meta = dict(history.meta)
    # a run's summary.json writes "marlkit" and "training_seconds" (its "version" is the summary format's)
    wall = summary.get("training_seconds", summary.get("wall_time_s"))
    version = summary.get("marlkit", summary.get("marlkit_version"))
    facts = [
        ("run directory", str(run.directory)),
        ("marlkit version", "-" if version is None else str(version)),
        ("game", str(meta.get("game", "-"))),
        ("learners", learner_names(meta) or "-"),
        ("steps per seed", str(int(history.steps[-1]) if history.num_logs else 0)),
        (
            "seeds",
            f"{history.n_seeds} ({', '.join(str(int(s)) for s in history.seeds[:16])}"
            f"{', ...' if history.n_seeds > 16 else ''})",
        ),
        ("logging points", str(history.num_logs)),
        ("key", str(meta.get("key", "-"))),
        ("wall time", "-" if wall is None else f"{float(wall):.1f} s"),
    ]
    for key in ("created", "started", "finished", "status"):
        if key in summary:
            facts.append((key, str(summary[key])))
    return facts


def learning_section(history: History, pictures: bool = True) -> str:
    """The learning section of a task run's page: each seed's mean episode return (over agents) at the last logging
    point that finished an episode, their IQM with a 95% bootstrap interval, and (``pictures``) the learning curves
    and the learners' metrics (losses, entropy, ...; episode costs on a constrained run) across seeds
    (:mod:`marlkit.diagnose.curves`)."""
    from marlkit.diagnose.curves import final_return, metric_curves

    team = history.team_return()
    finals = []
    for i in range(history.n_seeds):
        finished = np.flatnonzero(np.isfinite(team[i]))
        finals.append(float(team[i, finished[-1]]) if finished.size else None)
    rows = [[int(seed), number(final)] for seed, final in zip(history.seeds, finals, strict=True)]
    summary = final_return(history)
    headline = (
        "no episode finished"
        if summary is None
        else f"IQM {number(summary[0])}, 95% bootstrap interval [{number(summary[1])}, {number(summary[2])}] "
        f"over {summary[3]} seeds"
    )
    text = (
        f'<p class="muted">mean episode return over agents at the last logging point that finished an episode: '
        f"{esc(headline)}</p>" + html_table(["seed", "final return"], rows, [["num", "num"]] * len(rows))
    )
    if pictures and history.num_logs:
        from marlkit.diagnose.curves import plot_learner_metrics, plot_returns

        with tempfile.TemporaryDirectory(prefix="marlkit-report-") as folder:
            if summary is not None:
                text += html_figure(plot_returns(history, Path(folder) / "returns.png"), "episode return across seeds")
            if metric_curves(history):
                text += html_figure(
                    plot_learner_metrics(history, Path(folder) / "metrics.png"), "learner metrics across seeds"
                )
    return text


def final_agent_returns(history: History) -> np.ndarray:
    """``[n]``: each agent's episode return at the last logging window in which an episode finished, averaged over
    the seeds that have one (NaN for an agent with none)."""
    returns = np.asarray(history.episode_return, float)  # [N, T, n]
    finals = np.full(returns.shape[::2], np.nan)  # [N, n]
    for seed in range(returns.shape[0]):
        for agent in range(returns.shape[2]):
            finished = np.flatnonzero(np.isfinite(returns[seed, :, agent]))
            if finished.size:
                finals[seed, agent] = returns[seed, finished[-1], agent]
    known = np.isfinite(finals)
    counts = known.sum(axis=0)
    return np.where(counts > 0, np.where(known, finals, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)


def fairness_section(history: History) -> str | None:
    """Equality and productivity of the agents' final returns (Zheng et al. 2020, the AI Economist's metrics,
    :mod:`marlkit.human.fairness`); None for one agent or when an agent never finished an episode."""
    from marlkit.human.fairness import fairness_lines

    lines = fairness_lines(final_agent_returns(history))
    if not lines:
        return None
    return (
        '<p class="muted">over each agent\'s final episode return (mean over seeds)</p><pre>'
        + esc("\n".join(lines))
        + "</pre>"
    )


def render_run_report(
    directory: str | Path, *, report: DiagnosisReport | None = None, pictures: bool = True, title: str | None = None
) -> Path:
    """Write ``report.html`` of a run directory from its files (or from ``report`` when the caller has just
    diagnosed the run) and return its path. Never trains.

    A run on an exact game gets the verdicts and pictures of its diagnosis; a run on a task (no exact game, so no
    diagnosis) gets its learning curves. Both get a section per result file a command wrote into the run
    (:data:`RESULT_SECTIONS`: robustness curves, attacks, defences), then the config and the run's facts."""
    run = read_run(directory)
    name = title or str(run.config.get("name") or run.directory.name)
    task = task_of_run(run)
    game_name, _, game_file = _game_spec(run.config, dict(run.history.meta))
    if report is None and not is_judged(run):
        sections = [("learning", learning_section(run.history, pictures))]
        subtitle = f"{task or game_name or game_file}: {learner_names(run.history.meta)}"
    else:
        if report is None:
            from marlkit.diagnose.report import diagnose

            report = diagnose(run.history, game_of_run(run), **diagnosis_options(run.config))
        sections = diagnosis_sections(report, pictures=pictures)
        subtitle = f"{report.game}: {learner_names(run.history.meta)}"
    fair = fairness_section(run.history)
    if fair is not None:
        sections.append(("fairness", fair))
    sections += result_sections(run.directory, pictures)
    sections.append(("config", yaml_block(run.config_text)))
    sections.append(("run facts", html_table(["fact", "value"], run_facts(run))))
    return write_page(run.directory / REPORT_FILE, html_page(f"marlkit run {name}", sections, subtitle))


__all__ = [
    "BACKDOOR_FILE",
    "CONFIG_FILE",
    "DETECT_FILE",
    "EXPLAIN_FILE",
    "HISTORY_FILE",
    "OBSERVATION_ATTACK_FILE",
    "REPORT_FILE",
    "RESULT_SECTIONS",
    "ROBUSTNESS_FILE",
    "SUMMARY_FILE",
    "UNLEARN_FILE",
    "ResultSection",
    "RunFiles",
    "diagnosis_options",
    "diagnosis_sections",
    "embed_png",
    "fairness_section",
    "final_agent_returns",
    "fraction_class",
    "game_of_run",
    "html_figure",
    "html_page",
    "html_table",
    "is_judged",
    "learning_section",
    "read_run",
    "render_run_report",
    "result_section",
    "result_sections",
    "run_facts",
    "save_run_result",
    "task_of_run",
    "verdict_rows",
    "write_page",
    "yaml_block",
]
