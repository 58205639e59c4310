"""``marlkit compare RUN_DIR...``: runs side by side.

For each run directory: the config keys whose values differ between the runs (configs flattened to dotted keys,
list items by index), the fraction of seeds converged on each of the six criteria (Albrecht, Christianos &
Schäfer 2024, §5.2), the median NashConv of the final policy, the mean tail return per agent and the final team
return (IQM over seeds with a 95% bootstrap interval, :func:`marlkit.diagnose.curves.final_return`). Runs on tasks
(no exact game) have no convergence rows. The numbers are read from the run's ``summary.json`` when it holds them
(study cells and sweep points do) and otherwise computed from ``history.npz`` (no training either way).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.errors import GameFileError
from marlkit.experiment.report import (
    SUMMARY_FILE,
    diagnosis_options,
    esc,
    final_agent_returns,
    fraction_class,
    game_of_run,
    html_page,
    html_table,
    is_judged,
    read_run,
)
from marlkit.experiment.runfiles import summary_kind

_MISSING = "(absent)"


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1, 2]}}`` -> ``{"a.b.0": 1, "a.b.1": 2}``."""
    items: Iterable[tuple[object, Any]]
    if isinstance(config, dict):
        items = config.items()
    elif isinstance(config, list):
        items = enumerate(config)
    else:
        return {prefix: config}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    if not out and prefix:
        out[prefix] = config
    return out


def differing_keys(configs: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The dotted keys whose values are not the same in every config (absent counts as a value)."""
    flat = [flatten(c) for c in configs]
    keys = sorted(set().union(*flat)) if flat else []
    differ = {}
    for key in keys:
        values = [f.get(key, _MISSING) for f in flat]
        if any(v != values[0] for v in values[1:]):
            differ[key] = values
    return differ


def _run_metrics(directory: Path, run: Any) -> dict[str, Any]:
    from marlkit.diagnose.curves import final_return

    final = final_return(run.history) if run.history.num_logs else None
    keys = ("iqm", "low", "high", "seeds")
    return {**_convergence_metrics(run), "final_return": None if final is None else dict(zip(keys, final, strict=True))}


def _convergence_metrics(run: Any) -> dict[str, Any]:
    """Fractions converged, final NashConv and tail returns; on a task (no exact game) only the tail returns."""
    summary = run.summary
    if not is_judged(run):
        tail = final_agent_returns(run.history)
        return {"fractions": {}, "nash_conv_final": None, "tail_return": [_finite_or_none(x) for x in tail]}
    if isinstance(summary.get("fractions"), dict):
        return {
            "fractions": summary["fractions"],
            "nash_conv_final": summary.get("nash_conv_final"),
            "tail_return": summary.get("tail_return", []),
        }
    diagnosis = summary.get("diagnosis")
    if isinstance(diagnosis, dict) and isinstance(summary.get("learning"), dict):  # a run of the experiment runner
        learning = summary["learning"]
        tail = np.asarray(learning["tail_return"], dtype=np.float64)
        return {
            "fractions": {name: stats.get("fraction") for name, stats in diagnosis["statistics"].items()},
            "nash_conv_final": float(np.median(learning["nash_conv_final"])),
            "tail_return": [None if np.isnan(x) else float(x) for x in np.nanmean(tail, axis=0)],
        }
    from marlkit.diagnose import summarize
    from marlkit.diagnose.report import diagnose

    game = game_of_run(run)
    report = diagnose(run.history, game, concept=diagnosis_options(run.config).get("concept", "nash"))
    learned = summarize(run.history, game)
    return {  # the numbers a study writes for each of its cells
        "fractions": {name: _finite_or_none(report.statistics[name].fraction) for name in report.results},
        "nash_conv_final": _finite_or_none(np.median(learned.nash_conv_final)),
        "tail_return": [_finite_or_none(x) for x in np.nanmean(learned.tail_return, axis=0)],
    }


def _finite_or_none(x: float | np.floating) -> float | None:
    value = float(x)
    return value if np.isfinite(value) else None


def compare_runs(directories: Sequence[Path]) -> dict[str, Any]:
    """The comparison as JSON-ready data: ``runs``, ``differing_config`` (key -> value per run), ``metrics``."""
    if len(directories) < 2:
        raise GameFileError("compare needs at least two run directories")
    runs = [read_run(d) for d in directories]  # every directory is checked before anything is computed
    for d in directories:
        summary = d / SUMMARY_FILE
        if summary.exists() and summary_kind(summary, GameFileError) in ("study", "sweep"):
            raise GameFileError(f"{d}: a study or sweep directory; compare its cells/ or points/ folders instead")
    return {
        "runs": [str(d) for d in directories],
        "differing_config": differing_keys([r.config for r in runs]),
        "metrics": [_run_metrics(d, r) for d, r in zip(directories, runs, strict=True)],
    }


def comparison_rows(comparison: dict[str, Any]) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """Header, rows and cell classes of the side-by-side table (the terminal's, the page's and the web app's)."""
    from marlkit.diagnose.criteria_table import CRITERIA, CRITERION_SHORT

    header = ["", *(Path(r).name for r in comparison["runs"])]
    rows: list[list[str]] = []
    classes: list[list[str]] = []
    for key, values in comparison["differing_config"].items():
        rows.append([f"config: {key}", *(str(v) for v in values)])
        classes.append([])
    metrics = comparison["metrics"]
    judged = any(m["fractions"] for m in metrics)  # runs on tasks have no exact game to judge convergence against
    for criterion in CRITERIA if judged else ():
        fractions = [m["fractions"].get(criterion) for m in metrics]
        rows.append(
            [f"converged: {CRITERION_SHORT[criterion]}", *("-" if f is None else f"{f:.2f}" for f in fractions)]
        )
        classes.append(["", *(fraction_class(f) for f in fractions)])
    if judged:
        rows.append(
            [
                "NashConv (final, median)",
                *("-" if m["nash_conv_final"] is None else f"{m['nash_conv_final']:.3f}" for m in metrics),
            ]
        )
        classes.append([])
    rows.append(
        ["tail return", *(", ".join("-" if r is None else f"{r:.2f}" for r in m["tail_return"]) for m in metrics)]
    )
    classes.append([])
    rows.append(["final return (IQM, 95% CI)", *(_interval(m.get("final_return")) for m in metrics)])
    classes.append([])
    return header, rows, classes


def _interval(final: dict[str, Any] | None) -> str:
    if final is None:
        return "-"
    return f"{final['iqm']:.3g} [{final['low']:.3g}, {final['high']:.3g}] ({final['seeds']} seeds)"


def comparison_table(comparison: dict[str, Any]):  # -> rich.table.Table
    """The comparison for the terminal: one column per run."""
    from rich import box
    from rich.table import Table

    header, rows, _ = comparison_rows(comparison)
    table = Table(title="runs side by side", box=box.SIMPLE_HEAD)
    for name in header:
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    return table


def comparison_page(comparison: dict[str, Any]) -> str:
    """The comparison as a self-contained HTML page."""
    header, rows, classes = comparison_rows(comparison)
    runs = "".join(f"<li>{esc(r)}</li>" for r in comparison["runs"])
    body = html_table(header, rows, classes)
    return html_page("marlkit compare", [("runs", f"<ul>{runs}</ul>"), ("side by side", body)])


__all__ = ["compare_runs", "comparison_page", "comparison_rows", "comparison_table", "differing_keys", "flatten"]
