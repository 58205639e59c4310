"""Run an experiment config to a run directory, in checkpointed segments; resume one that was stopped.

``run(config)`` checks everything first — the config (:func:`~marlkit.experiment.config.load_config`), the
game and learners, the output folder and free disk space (:func:`~marlkit.experiment.rundir.check_output`) — and
only then creates the run directory and trains. Training is the plan's ``start`` and then its
``advance`` over segments of ``checkpoint_every`` logging windows; after each segment the
runner writes, in this order, the segment's records, its ``metrics.jsonl`` lines, and the checkpoint. At the
end it writes ``history.npz`` (the plan's ``to_history`` of the segments) and ``summary.json``.

``resume(run_dir)`` reads the run's own ``config.yaml`` and ``game.npz``, loads the checkpoint (or starts over if
the run died before its first one), cuts ``metrics.jsonl`` back to the checkpoint and drops later segment files,
then carries on. Each window draws its randomness from its own key (:class:`marlkit.train.TrainState`), so the
final History is bit-for-bit the one an uninterrupted run gives, however often the run was killed
(``tests/experiment/test_runner.py`` kills one with SIGKILL).

Ctrl-C (SIGINT) is honoured at the next segment boundary: the checkpoint is written and
:class:`RunInterrupted` says how to resume; a second Ctrl-C stops at once (the last checkpoint stays valid).

The runner drives any trainer through the one protocol (:class:`marlkit.train.protocol.Plan`: ``start`` /
``advance`` / ``to_history``, ``needed_bytes``, ``judged``, ``summary_fields``); which trainer builds the plan is
looked up in :data:`marlkit.experiment.trainers.TRAINERS`. Deep runs (a config with a deep learner,
:class:`marlkit.experiment.config.DeepRun`) use the compiled deep trainer (:mod:`marlkit.train.deep`); on a task (an
env that is not an exact game) there is no ``game.npz``, diagnosis or report, and ``summary.json`` adds the env,
the parameter sharing chosen and why, and the tail returns.

Extension points for the layers above (report, sweeps): :func:`run` takes ``run_dir`` to place a run exactly;
:func:`diagnosis_for_summary` makes the convergence report that enters ``summary.json`` and ``report.html``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import jax
import numpy as np

from marlkit import __version__
from marlkit.atomic import write_text, write_with
from marlkit.errors import MarlkitError
from marlkit.experiment import rundir
from marlkit.experiment.checkpoint import CheckpointError, load_checkpoint, read_header, save_checkpoint
from marlkit.experiment.config import (
    ExperimentConfig,
    config_hash,
    config_to_dict,
    dump_config,
    game_content_digest,
    load_config,
    with_output,
)
from marlkit.experiment.runfiles import (
    RUN_SUMMARY_FORMAT,
    check_digests,
    file_digests,
    read_summary,
    read_text,
    summary_digest,
)
from marlkit.experiment.sinks import check_sinks, open_sinks
from marlkit.experiment.trainers import plan_for
from marlkit.games import Game, load_game, save_game
from marlkit.history import History
from marlkit.strict import shorten
from marlkit.train.finite import FiniteGuard, NonFinite
from marlkit.train.protocol import Plan, Record, mean_return

if TYPE_CHECKING:
    from marlkit.diagnose.report import DiagnosisReport

SUMMARY_FORMAT = RUN_SUMMARY_FORMAT
SUMMARY_VERSION = 1


@dataclass(frozen=True, eq=False)
class RunResult:
    """A finished run: its directory, its History and the resolved config it ran."""

    path: Path
    history: History
    config: ExperimentConfig


class RunInterrupted(Exception):  # noqa: N818 (not an error: the user asked the run to stop)
    """The run stopped on Ctrl-C after writing a checkpoint; ``str()`` says how to resume (or, when the run had
    finished and only its report page was being drawn, how to draw it)."""

    def __init__(self, path: Path, windows_done: int, total: int, finished: bool = False) -> None:
        self.path, self.windows_done, self.total, self.finished = path, windows_done, total, finished
        if finished:
            message = (
                f"interrupted while writing report.html; the run is finished and saved in {path} "
                f"(history.npz, summary.json); write the page with: marlkit resume {path}"
            )
        elif windows_done == total:
            message = (
                f"interrupted: training finished ({total} logging windows, checkpoint written in {path}) before "
                f"the run's history, diagnosis and report were written; finish them with: marlkit resume {path}"
            )
        else:
            message = (
                f"interrupted: checkpoint written after {windows_done} of {total} logging windows in {path}; "
                f"continue with: marlkit resume {path}"
            )
        super().__init__(message)


class NonFiniteError(MarlkitError, RuntimeError):
    """Training produced a non-finite value (:mod:`marlkit.train.finite`): the run stopped at that logging window,
    kept every earlier window (``metrics.jsonl``, ``history.npz``) and wrote ``summary.json`` with ``"stopped"``
    saying why. The message names the learner, record key, agent and seed."""

    def __init__(self, path: Path, found: NonFinite, learner: str, kept: int) -> None:
        self.path, self.found, self.learner, self.kept = path, found, learner, kept
        kept_text = (
            f"the {kept} finite logging window(s) before it are kept (metrics.jsonl, history.npz)"
            if kept
            else "no window before it was finite"
        )
        super().__init__(
            f"{path}: stopped: learner {learner} produced {found.describe()}; {kept_text}, and summary.json says "
            f"why — inspect the run; continue it from its last checkpoint with other hyper-parameters (a smaller step "
            f"size or learning rate, a smaller initial value): marlkit resume {path} --set learners.params.KEY=VALUE"
        )


# ------------------------------------------------------------------------------------------------- public


def run(
    config: ExperimentConfig | str | os.PathLike[str] | Mapping[str, Any],
    root: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    run_dir: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Run an experiment into a new run directory and return its :class:`RunResult`.

    Args:
        config: an :class:`ExperimentConfig`, a YAML file path or a mapping (see ``docs/experiments.md``).
        root: the folder the run directory goes in (default: the config's ``output.root``).
        progress: show a progress bar with ETA on stderr.
        run_dir: create exactly this directory instead of ``<root>/<name>-<timestamp>`` (for sweeps).

    Raises:
        MarlkitError: a bad config, game, learner or output folder — before anything is written or compiled.
        RunInterrupted: Ctrl-C; the checkpoint is written and the run can be resumed.
    """
    if not isinstance(config, ExperimentConfig):
        config = load_config(config)
    if root is not None:
        config = with_output(config, root=str(root))
    check_sinks(config.sinks)
    plan, game = plan_for(config)
    rundir.clean_stale_temp()
    path = rundir.create(config.output.root, config.output.name or config.name, plan.needed_bytes(), path=run_dir)
    with rundir.disk_errors(path, resumable=False):
        try:
            if game is not None:  # a deep run on a task has no exact game
                save_game(game, path / rundir.GAME)
            write_text(path / rundir.METRICS, "")
            dump_config(config, path / rundir.CONFIG)  # last: its presence marks a run directory
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)  # nothing trained yet: leave nothing half-written
            raise
    with rundir.disk_errors(path):
        return _execute(path, config, game, plan, plan.start(), 0, {"metrics_bytes": 0, "elapsed_s": 0.0}, progress)


def resume(run_dir: str | os.PathLike[str], *, progress: bool = True) -> RunResult:
    """Continue a stopped run from its last checkpoint (or from the start if it had none) to the end.

    Raises:
        RunDirError: not a run directory, already finished, or its files are inconsistent.
        CheckpointError: a corrupt, truncated or foreign checkpoint.
    """
    path = rundir.open_run(run_dir)
    rundir.check_no_links(path)
    with rundir.disk_errors(path):
        rundir.clean_leftovers(path)
    rundir.clean_stale_temp()
    if (path / rundir.SUMMARY).is_file():
        stopped = _stopped(path)  # first: a stopped run keeps its segments (resume --set continues from them)
        if stopped is None and (path / rundir.HISTORY).is_file():  # a kill before its segments were dropped
            with rundir.disk_errors(path):
                rundir.drop_segments(path)
        if stopped is not None:
            raise rundir.RunDirError(
                f"{path}: the run stopped on a non-finite value ({stopped}); resumed as it is it would reach the "
                "same value: inspect its metrics.jsonl and summary.json, then continue it with other hyper-parameters "
                f"(marlkit resume {path} --set learners.params.KEY=VALUE) or start a new run"
            )
        if (path / rundir.REPORT).is_file() or not (path / rundir.HISTORY).is_file():
            raise rundir.RunDirError(f"{path}: the run is already finished (summary.json exists); nothing to resume")
        return _finish_report(path, progress)  # killed while its page was written: write it now
    game = run_game(path)
    config = load_config(path / rundir.CONFIG, game=game)
    check_sinks(config.sinks)
    plan, game = plan_for(config, game)
    digest = config_hash(config, game)
    if (path / rundir.CHECKPOINT).is_file():
        checkpoint = load_checkpoint(path / rundir.CHECKPOINT, jax.eval_shape(plan.start), config_hash=digest)
        state, done, info = checkpoint.state, checkpoint.windows_done, dict(checkpoint.info)
        if not 0 < done <= plan.num_logs or "metrics_bytes" not in info:
            raise CheckpointError(f"{path / rundir.CHECKPOINT}: inconsistent header (windows_done={done})")
    else:  # killed before the first checkpoint: start over
        state, done, info = plan.start(), 0, {"metrics_bytes": 0, "elapsed_s": 0.0}
    rundir.check_segments(path, done, digest)
    rundir.check_metrics(path, int(info["metrics_bytes"]), info.get("metrics_sha256"))
    with rundir.disk_errors(path):
        rundir.truncate_metrics(path, int(info["metrics_bytes"]))
        rundir.drop_segments(path, after=done)
        return _execute(path, config, game, plan, state, done, info, progress)


def _finish_report(path: Path, progress: bool) -> RunResult:
    """Write the page of a finished run that was stopped while its report was rendered (no training)."""
    from marlkit.experiment.report import render_run_report

    if progress:
        from rich.console import Console

        Console(stderr=True).print("the run is finished; writing its missing report.html", markup=False)
    config = load_config(path / rundir.CONFIG, game=run_game(path))
    render_run_report(path)
    return RunResult(path=path, history=History.load(path / rundir.HISTORY), config=config)


def diagnosis_for_summary(history: History, game: Game, config: ExperimentConfig) -> DiagnosisReport | None:
    """The convergence diagnosis of a finished run with the settings of ``config.diagnostics`` (concept, eps,
    distance); it goes into ``summary.json`` under ``"diagnosis"`` and into ``report.html``.

    A diagnosis that cannot be made (e.g. a concept that does not apply to the game) returns None and the run's
    results stay written: the training is never lost to its report."""
    from rich.console import Console

    from marlkit.diagnose.report import diagnose

    settings = config.diagnostics
    try:
        eps = dict(settings.eps) if isinstance(settings.eps, Mapping) else settings.eps
        return diagnose(history, game, concept=settings.concept, eps=eps, distance=settings.distance)
    except MarlkitError as exc:
        Console(stderr=True).print(f"warning: no diagnosis for this run: {exc}", markup=False)
        return None


def run_game(path: Path) -> Game | None:
    """The game saved with a run; None where there is none to read and none is needed (a deep run on a task)."""
    if not (path / rundir.GAME).is_file() and _is_task_run(path):
        return None
    try:
        return load_game(path / rundir.GAME)
    except Exception as exc:
        raise rundir.RunDirError(f"{path / rundir.GAME}: cannot read the run's game ({exc})") from None


@dataclass(frozen=True, eq=False)
class TrainedRun:
    """A finished run read back: its config, plan, game (None on a task), History and final training state
    (every seed's, as the last checkpoint holds it; ``state.carry.learner`` is the learners' state)."""

    path: Path
    config: ExperimentConfig
    plan: Plan
    game: Game | None
    history: History
    state: Any


def load_trained(run_dir: str | os.PathLike[str]) -> TrainedRun:
    """Read a finished run directory back for evaluation (robustness curves, attacks). ``game`` is the exact game
    the learners' policies are tables of, or None for a run on a task — including a run on a game whose env the
    trainer saw wrapped (a backdoor's trigger channels), which records no policy table.

    Raises:
        RunDirError: not a run directory, or not finished (resume it first).
        CheckpointError: a corrupt, truncated or foreign checkpoint.
    """
    path = rundir.open_run(run_dir)
    if not (path / rundir.SUMMARY).is_file() or not (path / rundir.HISTORY).is_file():
        raise rundir.RunDirError(f"{path}: the run is not finished; finish it with `marlkit resume {path}` first")
    game = run_game(path)
    config = load_config(path / rundir.CONFIG, game=game)
    plan, game = plan_for(config, game)
    digest = config_hash(config, game)
    checkpoint = load_checkpoint(path / rundir.CHECKPOINT, jax.eval_shape(plan.start), config_hash=digest)
    if checkpoint.windows_done != plan.num_logs:
        raise CheckpointError(
            f"{path / rundir.CHECKPOINT}: holds {checkpoint.windows_done} of {plan.num_logs} windows, not the end"
        )
    check_digests(path, read_summary(path / rundir.SUMMARY))
    history = History.load(path / rundir.HISTORY)
    if game is not None and not history.has_policy_table:
        game = None  # its env is not the exact game (e.g. a backdoor's trigger channels): evaluated as a task
    return TrainedRun(path, config, plan, game, history, checkpoint.state)


# ---------------------------------------------------------------------------------------------- internals


def _is_task_run(path: Path) -> bool:
    from marlkit.schema import ConfigError, load_yaml

    try:
        data = load_yaml(read_text(path / rundir.CONFIG))
    except (MarlkitError, ConfigError):
        return False
    return isinstance(data, dict) and "env" in data and "game" not in data


@dataclass
class _StopRequest:
    requested: bool = False


@contextlib.contextmanager
def _checkpoint_on_sigint() -> Iterator[_StopRequest]:
    """While training, the first SIGINT only sets a flag the loop reads at the next segment boundary; the second
    one restores the previous handler (usually KeyboardInterrupt) and stops at once. Outside the main thread
    (where handlers cannot be installed) Ctrl-C behaves as usual."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler installed outside Python: fall back to the usual KeyboardInterrupt
        previous = signal.default_int_handler

    def request_stop(signum: int, frame: object) -> None:
        stop.requested = True
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, request_stop)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


PROGRESS_WIDTH = 80
"""The progress bar fits a terminal this wide (a classic 80-column one)."""


def progress_columns(unit: str, description_width: int = 20, latest: bool = False) -> tuple[Any, ...]:
    """The columns of marlkit's progress bars (runs, studies): description (cut to ``description_width``), bar,
    ``done/total unit``, with ``latest`` the task's ``latest`` field (a run's latest mean return, at most 14
    characters), elapsed time and ETA; with descriptions so cut the bar fits :data:`PROGRESS_WIDTH`."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return (
        TextColumn(f"{{task.description:.{description_width}}}", style="bold", markup=False),  # names are text
        BarColumn(bar_width=10 if latest else 16),
        MofNCompleteColumn(),
        TextColumn(unit),
        *((TextColumn("{task.fields[latest]}"),) if latest else ()),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )


def latest_return(records: Any) -> str:
    """What a run's progress bar shows after a segment: the mean episode return of its last window over seeds and
    agents (``ret -12.35``; :func:`marlkit.train.protocol.mean_return`), or ``ret -`` when no episode ended."""
    value = mean_return(records)
    return "ret -" if value is None else f"ret {value:.4g}"


@contextlib.contextmanager
def _progress_bar(enabled: bool, description: str, total: int, done: int, header: str) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    console.print(header, markup=False)
    with Progress(*progress_columns("windows", description_width=12, latest=True), console=console) as bar:
        task = bar.add_task(description, total=total, completed=done, latest="ret -")
        yield lambda completed, latest: bar.update(task, completed=completed, latest=latest)


def _execute(
    path: Path,
    config: ExperimentConfig,
    game: Game | None,
    plan: Plan,
    state: Any,
    done: int,
    info: dict[str, Any],
    progress: bool,
) -> RunResult:
    digest, total, every = config_hash(config, game), plan.num_logs, config.checkpoint_every
    elapsed = float(info.get("elapsed_s", 0.0))
    header = f"training {config.name}: {config.steps} steps x {len(plan.seeds)} seeds"
    adversary = getattr(config, "adversary", None)
    if adversary is not None:
        header += f", against a learned state adversary on agents {list(adversary.attacked)} ({adversary.schedule})"
    sinks = open_sinks(path, config.sinks, config_to_dict(config), (done + 1) * plan.log_every if done else None)
    guard = FiniteGuard()
    lines_digest = rundir.metrics_digest(path, int(info["metrics_bytes"]))  # the lines the checkpoint covers
    with (
        sinks,
        _checkpoint_on_sigint() as stop,
        _progress_bar(progress, config.name, total, done, header) as update,
    ):
        while done < total:
            tic = time.perf_counter()
            size = min(every, total - done)
            state, records = plan.advance(state, done, size)
            records = jax.tree_util.tree_map(np.asarray, records)
            found = guard.check(records, done, plan.seeds.tolist())
            if found is not None:
                _stop_nonfinite(path, config, game, plan, records, done, found, digest, sinks)
            rundir.write_segment(path, done, records, digest)
            lines = rundir.metrics_lines(records, done, plan.log_every, plan.seeds.tolist())
            metrics_bytes = rundir.append_metrics(path, lines)
            lines_digest.update(rundir.metrics_bytes(lines))
            sinks.write(lines)
            done += size
            elapsed += time.perf_counter() - tic
            save_checkpoint(
                path / rundir.CHECKPOINT,
                state,
                config_hash=digest,
                windows_done=done,
                info={
                    "metrics_bytes": metrics_bytes,
                    "elapsed_s": elapsed,
                    "total_windows": total,
                    "metrics_sha256": lines_digest.hexdigest(),
                },
            )
            if update is not None:
                update(done, latest_return(records))
            if stop.requested and done < total:
                raise RunInterrupted(path, done, total)
    if stop.requested:  # Ctrl-C during the last segment: honoured too (the checkpoint covers every window)
        raise RunInterrupted(path, done, total)
    if progress:
        from rich.console import Console

        Console(stderr=True).print(
            "training done; writing the history, diagnosis and report.html (Ctrl-C stops it)",
            markup=False,
        )
    try:
        history = plan.to_history(rundir.load_segments(path, total, digest))
        history.save(path / rundir.HISTORY)
        diagnosis = diagnosis_for_summary(history, game, config) if game is not None and plan.judged else None
        _write_summary(path, config, game, history, digest, elapsed, diagnosis, plan.summary_fields(history))
    except KeyboardInterrupt:  # before summary.json: the run is resumable from its last checkpoint
        if (path / rundir.SUMMARY).is_file():
            raise RunInterrupted(path, done, total, finished=True) from None
        (path / rundir.HISTORY).unlink(missing_ok=True)
        raise RunInterrupted(path, done, total) from None
    try:
        rundir.drop_segments(path)
        if diagnosis is not None or game is None or not history.has_policy_table:
            from marlkit.experiment.report import render_run_report

            render_run_report(path, report=diagnosis)  # a task run's page: its learning curves
    except KeyboardInterrupt:
        raise RunInterrupted(path, done, total, finished=True) from None
    return RunResult(path=path, history=history, config=config)


def _stop_nonfinite(
    path: Path,
    config: ExperimentConfig,
    game: Game | None,
    plan: Plan,
    records: Record,
    done: int,
    found: NonFinite,
    digest: str,
    sinks: Any,
) -> None:
    """Keep the finite windows ``done .. found.window - 1`` of this segment (a segment file and their
    ``metrics.jsonl`` lines), write ``history.npz`` of windows ``0 .. found.window - 1`` and a ``summary.json``
    saying why the run stopped, then raise :class:`NonFiniteError`. The checkpoint stays where it was."""
    keep = found.window - done
    if keep > 0:
        head = jax.tree_util.tree_map(lambda x: x[:, :keep], records)
        rundir.write_segment(path, done, head, digest)
        lines = rundir.metrics_lines(head, done, plan.log_every, plan.seeds.tolist())
        rundir.append_metrics(path, lines)
        sinks.write(lines)
    learner = learner_of(config, found.agent)
    history = None
    if found.window > 0:
        history = plan.to_history(rundir.load_segments(path, found.window, digest))
        history.save(path / rundir.HISTORY)
    summary = {
        **_summary_head(config, game),
        "stopped": {"reason": "non-finite", "learner": learner, **found.to_json()},
        "steps": config.steps,
        "log_every": config.log_every,
        "seeds": plan.seeds.tolist(),
        "windows": found.window,
        "marlkit": __version__,
        "learners": None if history is None else history.meta.get("learners"),
        "files_sha256": file_digests(path),
    }
    _write_summary_file(path, summary)
    raise NonFiniteError(path, found, learner, found.window)


def learner_of(config: ExperimentConfig, agent: int | None) -> str:
    """The name of the learner that controls ``agent`` in ``config`` (every learner's, joined, for None)."""
    entries = config.learners
    if agent is None or len(entries) == 1:
        return "+".join(dict.fromkeys(entry.name for entry in entries))
    for index, entry in enumerate(entries):
        if (entry.agents is not None and agent in entry.agents) or (entry.agents is None and index == agent):
            return entry.name
    return "+".join(dict.fromkeys(entry.name for entry in entries))


def _stopped(path: Path) -> str | None:
    """What stopped a run (``summary.json``'s ``stopped``), or None for a run that was not stopped."""
    summary = read_summary(path / rundir.SUMMARY)  # a damaged summary.json is one RunDirError line
    stopped = summary.get("stopped")
    if not isinstance(stopped, dict):
        return None
    where = f"seed {shorten(stopped.get('seed'))}, window {shorten(stopped.get('window'))}"
    return (
        f"{shorten(stopped.get('value'))} in {shorten(stopped.get('key'))} of learner "
        f"{shorten(stopped.get('learner'))}, {where}"
    )


def _write_summary(
    path: Path,
    config: ExperimentConfig,
    game: Game | None,
    history: History,
    digest: str,
    elapsed: float,
    diagnosis: DiagnosisReport | None,
    extra: Mapping[str, Any],
) -> None:
    """``extra``: the trainer's fields (:meth:`marlkit.train.protocol.Plan.summary_fields`); its ``learning``
    replaces the tabular summary where no policy table exists."""
    from marlkit.diagnose.summary import summarize

    summary = {
        **_summary_head(config, game),
        "game": None if game is None else game.name,
        "learners": history.meta["learners"],
        "steps": config.steps,
        "log_every": config.log_every,
        "seeds": history.seeds.tolist(),
        "windows": history.num_logs,
        "training_seconds": elapsed,
        "marlkit": __version__,
        "learning": extra["learning"] if "learning" in extra or game is None else summarize(history, game).to_dict(),
        "diagnosis": None if diagnosis is None else diagnosis.to_dict(series=False),  # the History has them
        "safety": task_safety_summary(history) if game is None else None,
        **{k: v for k, v in extra.items() if k != "learning"},
        "files_sha256": file_digests(path),  # config.yaml, game.npz, history.npz: what the report reads
    }
    _write_summary_file(path, summary)


def _write_summary_file(path: Path, summary: Mapping[str, Any]) -> None:
    """``summary.json`` atomically, with its ``digest``: the SHA-256 of every other field (as JSON reads them back,
    :func:`marlkit.experiment.runfiles.summary_digest`), so an edit or damage is caught by every reader."""
    data = json.loads(json.dumps(_finite(summary), default=_jsonable, allow_nan=False))
    data["digest"] = summary_digest(data)
    text = json.dumps(data, indent=1, allow_nan=False)
    write_with(path / rundir.SUMMARY, lambda handle: _write(handle, text))


def task_safety_summary(history: History) -> dict[str, Any] | None:
    """The safety section (:func:`marlkit.diagnose.safety.task_safety`: Monte Carlo episode costs against the limits
    the run recorded) of a run on a constrained task; None for an unconstrained one. A run on an exact game has it
    in its diagnosis instead."""
    from marlkit.diagnose.safety import task_safety

    limits = history.meta.get("limits")
    if not history.constrained or limits is None:
        return None
    return task_safety(history, np.asarray(limits, dtype=np.float64)).to_dict()


def _write(handle: IO[bytes], text: str) -> None:
    handle.write(text.encode("utf-8"))


def _finite(value: Any) -> Any:
    """JSON has no NaN: write undefined numbers (e.g. a return where no episode ended) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def windows_done(run_dir: str | os.PathLike[str]) -> int:
    """Logging windows a run directory's checkpoint covers (0 without one); cheap, for progress and tests."""
    checkpoint = Path(run_dir) / rundir.CHECKPOINT
    return int(read_header(checkpoint)["windows_done"]) if checkpoint.is_file() else 0


def _summary_head(config: ExperimentConfig, game: Game | None) -> dict[str, Any]:
    """The fields every run's ``summary.json`` starts with (finished or stopped)."""
    return {
        "format": SUMMARY_FORMAT,
        "version": SUMMARY_VERSION,
        "kind": "run",
        "name": config.name,
        "config_hash": config_hash(config),  # the config's; checkpoints and segments also cover the game's content
        "game_hash": None if game is None else game_content_digest(game),
    }


__all__ = [
    "PROGRESS_WIDTH",
    "NonFiniteError",
    "RunInterrupted",
    "RunResult",
    "diagnosis_for_summary",
    "latest_return",
    "learner_of",
    "progress_columns",
    "resume",
    "run",
    "task_safety_summary",
    "windows_done",
]
