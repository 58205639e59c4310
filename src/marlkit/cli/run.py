"""``marlkit run [CONFIG]`` and ``marlkit resume RUN_DIR``: an experiment config to a run directory, resumably.

``run`` checks the config, the game, the learners and the output folder before training, then trains in
checkpointed segments with a progress bar and ETA (on stderr) and prints the verdict summary and where the run
went. Ctrl-C writes a
checkpoint and exits with status 130 and the command that continues the run; ``resume`` continues it and gives
the same results, bit for bit, as a run that was never stopped. The config schema: ``docs/experiments.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from marlkit.cli.context import console
from marlkit.cli.render import plural

if TYPE_CHECKING:
    from marlkit.experiment.runner import RunResult

EXIT_INTERRUPTED = 130  # the shell's status for a command ended by SIGINT (128 + 2)


def _report(result: RunResult, resumed: bool) -> None:
    out = console()
    history = result.history
    verb = "resumed and finished" if resumed else "finished"
    where = history.meta.get("game") or history.meta.get("env")
    out.print(
        f"{verb} {result.config.name}: {where}, {history.meta['steps']} steps x {plural(history.n_seeds, 'seed')}, "
        f"{plural(history.num_logs, 'logging window')}",
        markup=False,
    )
    if "sharing" in history.meta:  # a deep run: which agents shared a network, and why
        sharing = history.meta["sharing"]
        if isinstance(sharing, Mapping):
            out.print(f"  parameter sharing: {sharing['mode']} ({sharing['reason']})", markup=False)
    final = history.policy[:, -1]
    learners = history.meta["learners"]
    for i, learner in enumerate(learners if isinstance(learners, list | tuple) else [learners]):
        name = str(learner).split("(")[0]
        if final.shape[2] == 0:  # no policy table (a deep run on a task): the last window's return
            returns = history.episode_return[:, -1, i]
            value = f"{float(np.nanmean(returns)):.3f}" if np.isfinite(returns).any() else "- (no episode ended)"
            out.print(f"  agent {i} ({name}): episode return in the last window, mean over seeds {value}", markup=False)
    for line in verdict_lines(result.path / "summary.json"):
        out.print(line, markup=False)
    out.print(f"run directory: {result.path}", markup=False)


def safety_lines(safety: Mapping) -> list[str]:
    """Feasibility of a constrained run (the ``safety`` section of its ``summary.json``) in two lines."""
    counts = (safety.get("feasibility") or {}).get("last_iterate") or {}
    lines = [
        f"safety ({safety.get('cost_kind')}): {counts.get('feasible', 0)} feasible / {counts.get('violating', 0)} "
        f"violating / {counts.get('inconclusive', 0)} inconclusive seeds (last iterate)"
    ]
    returns = [x for x in safety.get("team_return") or [] if x is not None]
    optimum, given_up = safety.get("constrained_optimum"), safety.get("price_of_safety")
    parts = [f"team return {sum(returns) / len(returns):.4g} (mean of seeds)"] if returns else []
    if optimum is not None and given_up is not None:
        parts.append(f"constrained optimum {optimum:.4g} (correlated)")
        if safety.get("decentralised_optimum") is not None:
            exact = "exact" if safety.get("decentralised_exact") else "lower bound"
            parts.append(f"best decentralised {safety['decentralised_optimum']:.4g} ({exact})")
        parts.append(f"return given up for safety {given_up:.4g}")
    if parts:
        lines.append("  " + "; ".join(parts))
    return lines


def verdict_lines(summary_path: Path) -> list[str]:
    """The verdict summary of a finished run (its ``summary.json``): the feasibility of a constrained run, then per
    criterion the seeds converged, the fraction and the solutions reached (no criteria where the run has no
    diagnosis: a task run)."""
    from marlkit.diagnose.results import CRITERION_TITLES
    from marlkit.experiment.runfiles import read_summary

    summary = read_summary(summary_path)  # checked field by field: a damaged file is one error line
    diagnosis, safety = summary.get("diagnosis"), summary.get("safety")
    if isinstance(diagnosis, Mapping) and isinstance(diagnosis.get("safety"), Mapping):
        safety = diagnosis["safety"]
    lines = safety_lines(safety) if isinstance(safety, Mapping) else []
    if not isinstance(diagnosis, Mapping) or not isinstance(diagnosis.get("summary"), Mapping):
        if (summary_path.parent / "report.html").is_file():  # a task run: no exact game to judge against
            lines.append("learning curves (IQM across seeds) and learner metrics: report.html")
        return lines
    solutions: Mapping = diagnosis["solution_set"] if isinstance(diagnosis.get("solution_set"), Mapping) else {}
    lines += [f"convergence to {solutions.get('name', 'the solution set')} (seeds converged / not / inconclusive):"]
    rows = {str(name): row for name, row in diagnosis["summary"].items() if isinstance(row, Mapping)}
    width = max((len(CRITERION_TITLES.get(name, name)) for name in rows), default=0)
    for name, row in rows.items():
        counts: Mapping = row["counts"] if isinstance(row.get("counts"), Mapping) else {}
        tally = f"{counts.get('converged', 0)}/{counts.get('not converged', 0)}/{counts.get('inconclusive', 0)}"
        found: Mapping = row["targets"] if isinstance(row.get("targets"), Mapping) else {}
        targets = ", ".join(f"{label} x{count}" for label, count in found.items())
        lines.append(f"  {CRITERION_TITLES.get(name, name):<{width}}  {tally}" + (f"  to {targets}" if targets else ""))
    lines.append("verdict table, pictures and the rule: report.html")
    return lines


def run_command(
    config: Annotated[
        str | None, typer.Argument(help="An experiment config (YAML; see docs/experiments.md).", show_default=False)
    ] = None,
    root: Annotated[
        str | None, typer.Option("--root", help="Folder for the run directory (default: the config's output.root).")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar with ETA.")] = True,
) -> None:
    """Run an experiment config into runs/<name>-<timestamp>/ (config, metrics.jsonl, history, summary, report).

    Without CONFIG: the embedded default convergence study (catalog games x tabular learners x 8 seeds; which
    learner meets which convergence criterion on which game, and to which solution)."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    if config is None:
        from marlkit.cli.experiments import run_default_study

        run_default_study(out=root or "runs", progress=progress)
        return
    from marlkit.experiment.runner import RunInterrupted, run

    try:
        result = run(config, root, progress=progress)
    except RunInterrupted as stopped:
        typer.echo(str(stopped), err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _report(result, resumed=False)


def resume_command(
    run_dir: Annotated[str, typer.Argument(help="A run directory that was stopped (Ctrl-C, a kill, a crash).")],
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar with ETA.")] = True,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="A run stopped on a non-finite value: continue it from its last checkpoint in a new run directory "
            "with this hyper-parameter changed (e.g. learners.params.step_size=0.05; repeatable).",
        ),
    ] = None,
) -> None:
    """Continue a stopped run from its last checkpoint; the result equals an uninterrupted run, bit for bit. With
    --set, a run the NaN / inf guard stopped continues with other hyper-parameters, in a new run directory."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    from marlkit.experiment.runfiles import read_text
    from marlkit.experiment.runner import RunInterrupted, resume
    from marlkit.experiment.study import is_study

    config = Path(run_dir) / "config.yaml"
    if config.exists() or config.is_symlink():
        read_text(config)  # a damaged config.yaml (not UTF-8, control characters, a link) is one error line
    if settings:
        from marlkit.experiment.fork import fork_stopped

        forked = fork_stopped(run_dir, settings)
        console().print(f"continuing in {forked} from its last checkpoint, with {', '.join(settings)}", markup=False)
        run_dir = str(forked)
    elif is_study(run_dir):  # a study resumes cell by cell
        from marlkit.cli.experiments import resume_default_study

        resume_default_study(run_dir, progress=progress)
        return
    from marlkit.experiment.sweep import is_sweep, resume_sweep

    if not settings and is_sweep(run_dir):  # a sweep resumes point by point (each point through this runner)
        directory = resume_sweep(run_dir)
        console().print(f"wrote {directory / 'report.html'}", markup=False)
        return
    try:
        result = resume(run_dir, progress=progress)
    except RunInterrupted as stopped:
        typer.echo(str(stopped), err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _report(result, resumed=True)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("resume")(resume_command)
