"""Optional metric sinks: TensorBoard, Weights & Biases and MLflow, fed from the lines of ``metrics.jsonl``.

A run always writes its own files (``metrics.jsonl``, segments, checkpoint, history); a sink is a copy of the same
records for a tool the user already watches. Every sink receives, at each checkpoint, exactly the
``metrics.jsonl`` entries that were just appended (:func:`marlkit.experiment.rundir.metrics_lines`), and turns each
into scalars at the entry's env ``step``:

* ``seed<k>/episode_return/<i>``, ``seed<k>/reward_mean/<i>`` for agent index ``i`` (the order of the run's
  agents, as in ``metrics.jsonl``), and ``seed<k>/<metric>/<i>`` for every learner metric;
* ``mean/episode_return/<i>`` and ``mean/reward_mean/<i>``: the mean over the seeds of the window that logged a
  finite value (a window in which no episode ended has no return).

A sink that fails (a full disk, a closed server) warns once with :class:`SinkWarning` and is switched off for the
rest of the run; the run itself goes on and its files are complete. A sink whose package is not installed is a
clear error before anything is trained (:func:`check_sinks`), naming the extra to install.

On ``resume``, TensorBoard's writer purges events at or after the resumed step (the windows the checkpoint did
not cover are written again), W&B resumes the same run id, and MLflow the same run (its id is kept in the run
directory's ``sinks.json``); MLflow may then hold a step twice, as its metric history is append-only. MLflow's
store is the config's ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else a file store in the run directory
(``<run>/mlruns``; ``mlflow ui --backend-store-uri <run>/mlruns`` shows it).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from marlkit.atomic import write_text
from marlkit.errors import MarlkitError, NotApplicableError
from marlkit.experiment.runfiles import metrics_line, read_json

SINKS_FILE = "sinks.json"
"""What the sinks need to continue after ``resume`` (the MLflow run id), in the run directory."""

EXTRAS = {"tensorboard": ("tensorboardX", "tensorboard"), "wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow")}
"""Each sink's import name and the marlkit extra that installs it (``pip install "marlkit[<extra>]"``)."""


class SinkWarning(UserWarning):
    """A sink failed and was switched off; the run's own files are unaffected."""


class Sink(Protocol):
    """One destination of the run's metrics."""

    name: str

    def write(self, scalars: Sequence[tuple[str, float, int]]) -> None:
        """Log ``(tag, value, step)`` scalars."""

    def close(self) -> None:
        """Flush and release what the sink holds."""


def check_sinks(sinks: Any) -> None:
    """Refuse, before training, a sink switched on whose package is not installed.

    Raises:
        NotApplicableError: naming the sink and the extra to install.
    """
    for name in sinks.enabled():
        module, extra = EXTRAS[name]
        if importlib.util.find_spec(module) is None:
            raise NotApplicableError(
                f'sinks.{name}: the {module} package is not installed; pip install "marlkit[{extra}]" '
                f"or set sinks.{name}.enabled: false"
            )


def scalars_of(lines: Iterable[str]) -> list[tuple[str, float, int]]:
    """The ``(tag, value, step)`` scalars of ``metrics.jsonl`` lines (see the module docstring); non-finite values
    (a window without a finished episode) are left out."""
    scalars: list[tuple[str, float, int]] = []
    by_window: dict[int, list[dict[str, Any]]] = {}
    for number, line in enumerate(lines, start=1):
        entry = metrics_line(Path("metrics.jsonl"), number, line)  # strict: exact types, every field
        by_window.setdefault(int(entry["step"]), []).append(entry)
        seed, step = entry["seed"], int(entry["step"])
        for field in ("episode_return", "reward_mean"):
            scalars += _finite_scalars(f"seed{seed}/{field}", entry[field], step)
        for metric, values in entry["metrics"].items():
            scalars += _finite_scalars(f"seed{seed}/{metric}", values, step)
    for step, entries in by_window.items():
        for field in ("episode_return", "reward_mean"):
            columns = zip(*(entry[field] for entry in entries), strict=True)
            means = [_mean_finite(column) for column in columns]
            scalars += _finite_scalars(f"mean/{field}", means, step)
    return scalars


class SinkSet:
    """The sinks of one run: opened at the start (or resume) of training, written at every checkpoint, closed at
    the end. A failing sink is reported once and dropped (:class:`SinkWarning`)."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks

    def write(self, lines: Sequence[str]) -> None:
        """Send the newly appended ``metrics.jsonl`` lines to every sink still open."""
        if not self.sinks or not lines:
            return
        scalars = scalars_of(lines)
        for sink in list(self.sinks):
            self._guard(sink, lambda s=sink: s.write(scalars))

    def close(self) -> None:
        for sink in list(self.sinks):
            self._guard(sink, sink.close)
        self.sinks = []

    def __enter__(self) -> SinkSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard(self, sink: Sink, call: Any) -> None:
        try:
            call()
        except Exception as exc:  # a sink must never cost the run its own files
            self.sinks.remove(sink)
            warnings.warn(
                f"the {sink.name} sink failed and is switched off for this run ({type(exc).__name__}: {exc}); "
                "metrics.jsonl and the run's other files are complete",
                SinkWarning,
                stacklevel=2,
            )


def open_sinks(run_dir: Path, sinks_config: Any, config_dict: dict[str, Any], resumed_at: int | None) -> SinkSet:
    """Open the sinks that ``sinks_config`` (:class:`marlkit.experiment.config.SinksConfig`) switches on for the
    run in ``run_dir``; ``resumed_at`` is the env step of the first window still to train when the run resumes
    from a checkpoint (None on a new run). A sink that cannot be opened warns and is left out, as a failing one
    is."""
    state = _read_state(run_dir)
    opened: list[Sink] = []
    openers = {"tensorboard": _tensorboard, "wandb": _wandb, "mlflow": _mlflow}
    for name in sinks_config.enabled():
        try:
            opened.append(openers[name](run_dir, getattr(sinks_config, name), config_dict, resumed_at, state))
        except Exception as exc:
            warnings.warn(
                f"the {name} sink could not be opened and is off for this run ({type(exc).__name__}: {exc})",
                SinkWarning,
                stacklevel=2,
            )
    if state:
        write_text(run_dir / SINKS_FILE, json.dumps(state, indent=2) + "\n")
    return SinkSet(opened)


# ---------------------------------------------------------------------------------------------- internals


def _finite_scalars(prefix: str, values: Sequence[float | None], step: int) -> list[tuple[str, float, int]]:
    return [
        (f"{prefix}/{i}", float(v), step) for i, v in enumerate(values) if v is not None and math.isfinite(float(v))
    ]


def _mean_finite(values: Iterable[float | None]) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(finite) / len(finite) if finite else None


def _read_state(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SINKS_FILE
    if not path.is_file():
        return {}
    try:
        data = read_json(path)
    except MarlkitError:
        return {}
    return data if isinstance(data, dict) else {}


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as ``a.b.c -> value`` strings (MLflow params are flat strings)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, name + "."))
        else:
            flat[name] = json.dumps(value) if not isinstance(value, str) else value
    return flat


class _TensorBoard:
    name = "tensorboard"

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def write(self, scalars: Sequence[tuple[str, float, int]]) -> None:
        for tag, value, step in scalars:
            self.writer.add_scalar(tag, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def _tensorboard(run_dir: Path, settings: Any, config: dict[str, Any], resumed_at: int | None, state: dict) -> Sink:
    from tensorboardX import SummaryWriter

    log_dir = Path(settings.log_dir) if settings.log_dir else run_dir / "tensorboard"
    # purge_step: TensorBoard drops the events at or after it that an earlier, killed attempt wrote
    # a unique file per attempt: tensorboardX names event files by the second, and a resume within the same second
    # would otherwise reopen (truncate) the killed attempt's file
    suffix = f".{time.time_ns()}.{os.getpid()}"
    writer = SummaryWriter(logdir=str(log_dir), purge_step=resumed_at, filename_suffix=suffix)
    if resumed_at is None:
        writer.add_text("config", "```\n" + json.dumps(config, indent=2) + "\n```", 0)
    return _TensorBoard(writer)


class _Wandb:
    name = "wandb"

    def __init__(self, run: Any) -> None:
        self.run = run

    def write(self, scalars: Sequence[tuple[str, float, int]]) -> None:
        by_step: dict[int, dict[str, float]] = {}
        for tag, value, step in scalars:
            by_step.setdefault(step, {})[tag] = value
        for step in sorted(by_step):
            self.run.log(by_step[step], step=step)

    def close(self) -> None:
        self.run.finish()


def _wandb(run_dir: Path, settings: Any, config: dict[str, Any], resumed_at: int | None, state: dict) -> Sink:
    import wandb

    run_id = state.setdefault("wandb_run_id", _run_id(run_dir))
    run = wandb.init(
        project=settings.project or "marlkit",
        mode=settings.mode,
        dir=str(run_dir),
        id=run_id,
        name=run_dir.name,
        resume="allow",
        config=config,
        settings=wandb.Settings(console="off", silent=True),
        reinit="create_new",
    )
    return _Wandb(run)


class _Mlflow:
    name = "mlflow"

    def __init__(self, client: Any, run_id: str) -> None:
        self.client, self.run_id = client, run_id

    def write(self, scalars: Sequence[tuple[str, float, int]]) -> None:
        from mlflow.entities import Metric

        metrics = [Metric(tag, value, 0, step) for tag, value, step in scalars]
        for i in range(0, len(metrics), 1000):  # MLflow's batch limit is 1,000 metrics
            self.client.log_batch(self.run_id, metrics=metrics[i : i + 1000])

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


def _mlflow(run_dir: Path, settings: Any, config: dict[str, Any], resumed_at: int | None, state: dict) -> Sink:
    from mlflow.tracking import MlflowClient

    uri = settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"file://{run_dir / 'mlruns'}"
    if uri.startswith("file:"):  # MLflow 3 keeps its file store behind this switch; a file URI asks for it
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=uri)
    run_id = state.get("mlflow_run_id")
    if run_id is None:
        name = settings.experiment or "marlkit"
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment is not None else client.create_experiment(name)
        run = client.create_run(experiment_id, run_name=run_dir.name)
        run_id = state["mlflow_run_id"] = run.info.run_id
        from mlflow.entities import Param

        params = [Param(k, v[:6000]) for k, v in _flat(config).items()]
        for i in range(0, len(params), 100):  # MLflow's batch limit is 100 params
            client.log_batch(run_id, params=params[i : i + 100])
    else:
        client.update_run(run_id, status="RUNNING")
    return _Mlflow(client, run_id)


def _run_id(run_dir: Path) -> str:
    """A W&B run id from the run directory's name: W&B ids allow letters, digits, ``-`` and ``_``."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in run_dir.name)[:64]
