"""``marlkit run [CONFIG]`` and ``marlkit resume RUN_DIR``: an experiment config to a run directory, resumably.

``run`` checks the config, the game, the learners and the output folder before training, then trains in
checkpointed segments with a progress bar and ETA (on stderr) and prints where the run went. Ctrl-C writes a
checkpoint and exits with status 130 and the command that continues the run; ``resume`` continues it and gives
the same results, bit for bit, as a run that was never stopped. The config schema: ``docs/experiments.md``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from marlkit.cli.context import console

if TYPE_CHECKING:
    from marlkit.experiment.runner import RunResult

EXIT_INTERRUPTED = 130  # the shell's status for a command ended by SIGINT (128 + 2)


def _report(result: RunResult, resumed: bool) -> None:
    out = console()
    history = result.history
    verb = "resumed and finished" if resumed else "finished"
    where = history.meta.get("game") or history.meta.get("env")
    out.print(
        f"{verb} {result.config.name}: {where}, {history.meta['steps']} steps x {history.n_seeds} "
        f"seeds, {history.num_logs} logging windows",
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
            value = float(np.nanmean(returns)) if np.isfinite(returns).any() else float("nan")
            out.print(
                f"  agent {i} ({name}): episode return in the last window, mean over seeds {value:.3f}", markup=False
            )
            continue
        probs = ", ".join(f"{p:.3f}" for p in np.nanmean(final[:, i, 0], axis=0))
        out.print(f"  agent {i} ({name}): final policy in state 0, mean over seeds [{probs}]", markup=False)
    out.print(f"run directory: {result.path}", markup=False)


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

        run_default_study(out=root or "runs")
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
) -> None:
    """Continue a stopped run from its last checkpoint; the result equals an uninterrupted run, bit for bit."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    from marlkit.experiment.runner import RunInterrupted, resume

    try:
        result = resume(run_dir, progress=progress)
    except RunInterrupted as stopped:
        typer.echo(str(stopped), err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _report(result, resumed=True)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("resume")(resume_command)
