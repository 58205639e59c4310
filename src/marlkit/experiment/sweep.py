"""Parameter sweeps: a grid over config keys, each point an ordinary run directory, on a local process pool or as
Ray Tune trials.

``--grid learners.0.params.step_size=0.05,0.1 --grid steps=1000,2000`` names a key of the config by its dotted
path (list items by index) and the values to try; the grid is their Cartesian product. Every key must already
exist in the config and every value must have its type (an integer where a float is expected is accepted), so a
typo fails with a one-line error before anything runs. Seeds are not a grid axis: they are vmapped inside each
point (``--seeds N`` sets the config's ``seeds``).

Layout::

    runs/<name>-<timestamp>/
      config.yaml        the base config, the grid and the backend
      summary.json       per point: overrides, folder, final metrics (fractions converged, NashConv, returns)
      report.html        the points side by side
      points/<k>-<key=value,...>/   an ordinary run directory (config.yaml, history.npz, metrics.jsonl,
                                    summary.json)

Backends (a dict registry, :data:`BACKENDS`):

* ``local`` — one process per grid point from a ``spawn`` process pool (JAX is not fork-safe), each running
  :func:`run_point`;
* ``ray`` — the points as Ray Tune trials (``ray.tune.Tuner`` with a function trainable that calls the same
  :func:`run_point` and reports its final metrics), on ``ray.init(address=...)`` when an address is given and a
  local instance otherwise. Ray is the ``marlkit[ray]`` extra and is imported only here, lazily.

A point's History depends only on its config (training is a pure function of config and key), so both backends
give the same Histories, bit for bit, on one machine (``tests/experiment/test_sweep.py``).

A stopped sweep resumes point by point (:func:`resume_sweep`). A full or read-only disk while the sweep or one of its
points is written is one line saying what to free and to resume the sweep (:func:`sweep_disk_errors`); on the local
pool the points not started yet are then cancelled.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from marlkit import __version__
from marlkit.atomic import sync_folder, write_text
from marlkit.errors import InvalidGameError, LearnerConfigError, MarlkitError
from marlkit.experiment import rundir
from marlkit.experiment.dotted import assign, lookup, same_type, scalar
from marlkit.experiment.report import (
    CONFIG_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    fraction_class,
    html_page,
    html_table,
    write_page,
    yaml_block,
)
from marlkit.experiment.runfiles import read_object, read_summary
from marlkit.schema import dump_yaml

POINTS_FOLDER = "points"
POINT_FILE = "point.json"
"""A finished point's metrics, written (atomically) into its run directory last: a resumed sweep reads it back."""


# ------------------------------------------------------------------------------------------------ the grid
@dataclass(frozen=True)
class GridAxis:
    """One ``--grid key=v1,v2`` axis: the dotted key and its parsed values."""

    key: str
    values: tuple[Any, ...]


def parse_grid(config: dict[str, Any], items: Sequence[str]) -> tuple[GridAxis, ...]:
    """Parse ``key=v1,v2,...`` items against ``config`` (values read as YAML scalars); one-line errors for a
    malformed item, an unknown key, a repeated key, no values, or a value of the wrong type."""
    axes: list[GridAxis] = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise InvalidGameError(f"--grid {item!r}: expected key=v1,v2,... e.g. --grid steps=1000,2000")
        if any(axis.key == key for axis in axes):
            raise InvalidGameError(f"--grid {key} given twice; list all its values in one --grid")
        current = lookup(config, key, "--grid")
        if isinstance(current, dict | list):
            raise InvalidGameError(f"--grid {key}: that key holds a {type(current).__name__}; sweep a scalar inside")
        values = []
        for text in raw.split(","):
            value = scalar(text)
            if not same_type(current, value):
                raise InvalidGameError(
                    f"--grid {key}: value {text.strip()!r} is a {type(value).__name__}, but the config's "
                    f"{key} is a {type(current).__name__} ({current!r})"
                )
            values.append(float(value) if isinstance(current, float) else value)
        axes.append(GridAxis(key, tuple(values)))
    if not axes:
        raise InvalidGameError("a sweep needs at least one --grid key=v1,v2,...")
    return tuple(axes)


def grid_points(config: dict[str, Any], axes: Sequence[GridAxis]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The Cartesian product of the axes: ``(overrides, config with them applied)`` per point, first axis slowest."""
    points = []
    for combination in itertools.product(*(axis.values for axis in axes)):
        overrides = {axis.key: value for axis, value in zip(axes, combination, strict=True)}
        point = config
        for key, value in overrides.items():
            point = assign(point, key, value)
        points.append((overrides, point))
    return points


def point_folder(index: int, overrides: dict[str, Any]) -> str:
    """``<k>-<key=value,...>`` with characters that are unsafe in file names replaced by ``_``."""
    label = ",".join(f"{key}={value}" for key, value in overrides.items())
    return f"{index}-" + re.sub(r"[^A-Za-z0-9._=,+-]", "_", label)


# ------------------------------------------------------------------------------------------- one point
def _learner_specs(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    entry = config.get("learners", config.get("learner"))
    items = entry if isinstance(entry, list) else [entry]
    specs: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, str):
            specs.append((item, {}))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            specs.append((item["name"], dict(item.get("params") or {})))
        else:
            raise LearnerConfigError(f"learners: expected a name or {{name: ..., params: {{...}}}}, got {item!r}")
    return specs


def run_point(config: dict[str, Any], directory: str) -> dict[str, Any]:
    """Train one grid point into ``directory`` — an ordinary run directory made by the experiment runner (config,
    metrics, history, summary, report, checkpoints) — and return its final metrics (JSON-ready).

    Runs in a worker process (local pool or Ray trial), so it takes and returns plain data."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.compile_cache import enable_compilation_cache

    enable_compilation_cache()  # workers of one sweep (and later sweeps) share compiled loops through the disk
    folder = Path(directory)
    if (folder / POINT_FILE).is_file():  # finished before the sweep was stopped: not computed again
        finished: dict[str, Any] = read_object(folder / POINT_FILE)
        return finished
    with sweep_disk_errors(folder.parent.parent):
        if folder.is_dir() and not folder.is_symlink():
            rundir.clean_leftovers(folder)  # a kill while point.json (or a run file) was written left a temp file
        tic = time.perf_counter()
        result = _run_or_resume(config, folder)
        seconds = time.perf_counter() - tic
        metrics = _point_metrics(config, result, seconds)
        write_text(folder / POINT_FILE, json.dumps(metrics, indent=1))
    return metrics


@contextlib.contextmanager
def sweep_disk_errors(directory: Path, resumable: bool = True) -> Iterator[None]:
    """A full or read-only disk while the sweep in ``directory`` (or one of its points) is written: one line
    saying what to free and, with ``resumable``, to resume the sweep (:func:`marlkit.experiment.rundir.disk_errors`).

    A point's run reports its disk errors itself (naming its own run directory); that error is re-worded here from
    the ``OSError`` it came from (its ``__context__``), so the line names the sweep, which resumes every point."""
    with rundir.disk_errors(directory, resumable=resumable):
        try:
            yield
        except rundir.RunDirError as exc:
            cause = exc.__context__
            if isinstance(cause, OSError) and cause.errno in rundir.DISK_ERRNOS:
                raise cause from None
            raise


def _run_or_resume(config: dict[str, Any], folder: Path) -> Any:
    """The point's run: trained from scratch, resumed from its checkpoint (a sweep stopped mid-point), or read back
    when it finished (its ``summary.json`` and ``report.html`` written) — always through the runner."""
    from marlkit.experiment import rundir
    from marlkit.experiment.config import load_config
    from marlkit.experiment.runner import RunResult, resume, run, run_game
    from marlkit.history import History

    if not (folder / rundir.CONFIG).is_file():
        if folder.exists():  # killed while its directory was created: nothing trained
            shutil.rmtree(folder)
        return run(config, progress=False, run_dir=folder)
    if (folder / rundir.SUMMARY).is_file() and (folder / rundir.REPORT).is_file():
        loaded = load_config(folder / rundir.CONFIG, game=run_game(folder))
        return RunResult(path=folder, history=History.load(folder / rundir.HISTORY), config=loaded)
    return resume(folder, progress=False)


def _point_metrics(config: dict[str, Any], result: Any, seconds: float) -> dict[str, Any]:
    from marlkit.experiment.config import run_game
    from marlkit.experiment.study import diagnose_cell

    if result.config.game is None:  # a deep run on a task: no exact game, so no criteria, only returns
        from marlkit.diagnose.summary import tail_return

        returns = np.nanmean(tail_return(result.history), axis=0)
        return {
            "fractions": {},
            "targets": {},
            "nash_conv_final": None,
            "tail_return": [None if np.isnan(r) else float(r) for r in returns],
            "train_seconds": seconds,
        }
    game = run_game(result.config)
    concept = result.config.diagnostics.concept
    cell = diagnose_cell(
        str(game.name), ",".join(n for n, _ in _learner_specs(config)), result.history, game, concept, seconds
    )
    return {
        "fractions": cell.fractions,
        "targets": cell.targets,
        "nash_conv_final": cell.nash_conv_final,
        "tail_return": cell.tail_return,
        "train_seconds": seconds,
    }


PointRunner = Callable[[dict[str, Any], str], dict[str, Any]]


# ---------------------------------------------------------------------------------------------- backends
POINTS_PER_WORKER = 16
"""A local worker process is replaced after this many points. Every compiled XLA:CPU program keeps hundreds to a few
thousand memory mappings alive in JAX's caches, and Linux stops a process at 65,530 (``vm.max_map_count``; the test
suite crossed it in one process, issue 8): a fresh worker now and then bounds that, at the cost of one JAX import."""


def run_local(jobs: Sequence[tuple[dict[str, Any], str]], workers: int, address: str | None = None) -> list[dict]:
    """Run the points in a ``spawn`` process pool of ``workers`` processes, each replaced after
    :data:`POINTS_PER_WORKER` points (results in the order of ``jobs``; ``address`` is unused: :func:`run_sweep`
    rejects it for this backend)."""
    with ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(jobs))),
        mp_context=get_context("spawn"),
        max_tasks_per_child=POINTS_PER_WORKER,
    ) as pool:
        futures = [pool.submit(run_point, config, folder) for config, folder in jobs]
        try:
            return [future.result() for future in futures]
        except BaseException:  # a failed point (a full disk) or Ctrl-C: the points not started yet are not run
            for future in futures:
                future.cancel()
            raise


def _ray_trial(params: dict[str, Any]) -> None:
    """The Ray Tune function trainable: one grid point (config and folder passed in the param space)."""
    from ray import tune

    tune.report(run_point(params["config"], params["folder"]))


def import_ray() -> Any:
    """Import Ray, or raise a one-line error saying how to install the extra."""
    try:
        import ray
        from ray import tune  # noqa: F401
    except ImportError:
        raise MarlkitError("the ray backend needs Ray Tune: pip install 'marlkit[ray]'") from None
    return ray


RAY_TEMP_CHARS = 36
"""The longest Ray temp folder a local instance is given: Ray puts Unix sockets at
``<temp>/session_<41 characters>/sockets/plasma_store``, and a socket path may have at most 107 bytes on Linux."""

LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keep 127.0.0.1 as the node address (else Ray swaps in the LAN IP)
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage report leaves the machine
}
"""The environment a local Ray instance starts with (its own processes inherit it); a value the user set wins for
``RAY_USAGE_STATS_ENABLED``. Authentication is Ray's own: from Ray 2.59 a local instance requires a generated token
on every RPC by default (``RAY_AUTH_MODE``; docs.ray.io, "Ray token authentication"); marlkit does not change it."""


@contextlib.contextmanager
def local_ray(ray: Any, workers: int, folder: Path) -> Iterator[None]:
    """A local Ray instance that listens on the loopback interface only, for one sweep in ``folder``.

    ``ray.init(_node_ip_address="127.0.0.1")`` alone does not do it: Ray replaces a loopback node address by the
    machine's LAN address (``services.resolve_ip_for_localhost``) unless Ray clusters are switched off for the
    platform (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, :data:`LOOPBACK_ENV`), and then binds the GCS server, raylet,
    workers, runtime-env agent and autoscaler metrics to every interface or to that LAN address. With it, every one
    of them binds 127.0.0.1 (``tests/experiment/test_sweep.py`` lists their listening sockets with psutil). The
    dashboard is off. Ray's temp folder (sockets, session logs) is ``<folder>/ray`` when that path is short enough
    for Unix sockets (:data:`RAY_TEMP_CHARS`), else a private temp folder whose session logs are moved to
    ``<folder>/ray/logs`` at shutdown."""
    from ray._private import ray_constants

    inside = folder / "ray"
    short = len(str(inside.resolve())) <= RAY_TEMP_CHARS
    temp = inside.resolve() if short else Path(tempfile.mkdtemp(prefix="mkray-"))
    temp.mkdir(parents=True, exist_ok=True)
    saved_env = {name: os.environ.get(name) for name in LOOPBACK_ENV}
    saved_flag = ray_constants.ENABLE_RAY_CLUSTER
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", LOOPBACK_ENV["RAY_USAGE_STATS_ENABLED"])
    ray_constants.ENABLE_RAY_CLUSTER = False  # read at import; this process imported Ray before the variable was set
    try:
        ray.init(
            num_cpus=max(1, workers),
            include_dashboard=False,
            dashboard_host="127.0.0.1",
            log_to_driver=False,
            _node_ip_address="127.0.0.1",
            _temp_dir=str(temp),
        )
        try:
            yield
        finally:
            ray.shutdown()
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if not short:
            for logs in sorted(temp.glob("session_*/logs")):
                shutil.copytree(logs, inside / "logs" / logs.parent.name, dirs_exist_ok=True, symlinks=True)
            shutil.rmtree(temp, ignore_errors=True)


def run_ray(jobs: Sequence[tuple[dict[str, Any], str]], workers: int, address: str | None = None) -> list[dict]:
    """Run the points as Ray Tune trials (one CPU each) on the cluster at ``address`` or a local instance that
    listens on the loopback interface only (:func:`local_ray`)."""
    ray = import_ray()
    folder = Path(jobs[0][1]).parent.parent
    if ray.is_initialized():
        instance: Any = contextlib.nullcontext()
    elif address:
        instance = _connected(ray, address)
    else:
        instance = local_ray(ray, workers, folder)
    with instance:
        return _tune(jobs, workers, folder)


@contextlib.contextmanager
def _connected(ray: Any, address: str) -> Iterator[None]:
    ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _tune(jobs: Sequence[tuple[dict[str, Any], str]], workers: int, folder: Path) -> list[dict]:
    from ray import tune

    storage = folder / ".ray"
    space = {"index": tune.grid_search(list(range(len(jobs))))}
    by_index = {i: {"config": config, "folder": str(Path(path).resolve())} for i, (config, path) in enumerate(jobs)}
    trainable = tune.with_resources(lambda p: _ray_trial(by_index[p["index"]]), {"cpu": 1})
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=max(1, workers)),
        run_config=tune.RunConfig(storage_path=str(storage.resolve()), name="tune", verbose=0),
    )
    grid: Any = tuner.fit()  # a ray.tune ResultGrid (iterable; its stubs say otherwise)
    results: dict[int, dict] = {}
    for result in grid:
        if result.error is not None:
            raise MarlkitError(f"a Ray trial failed: {str(result.error).splitlines()[0]}")
        results[int(result.config["index"])] = {k: result.metrics[k] for k in _METRIC_KEYS}
    return [results[i] for i in range(len(jobs))]


_METRIC_KEYS = ("fractions", "targets", "nash_conv_final", "tail_return", "train_seconds")

BACKENDS: dict[str, Callable[..., list[dict]]] = {"local": run_local, "ray": run_ray}


# -------------------------------------------------------------------------------------------------- sweep
def run_sweep(
    config: dict[str, Any],
    grid: Sequence[str],
    *,
    seeds: int | None = None,
    backend: str = "local",
    workers: int = 2,
    address: str | None = None,
    root: str | Path = "runs",
    name: str | None = None,
) -> Path:
    """Run a sweep (see the module docstring) and return its directory; every check happens before compute."""

    if backend not in BACKENDS:
        raise InvalidGameError(f"--backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend == "ray":
        import_ray()
    elif address is not None:
        raise InvalidGameError("--address applies to --backend ray only")
    if seeds is not None:
        if seeds < 1:
            raise InvalidGameError(f"--seeds must be >= 1, got {seeds}")
        config = {**config, "seeds": int(seeds)}
    axes = parse_grid(config, grid)
    points = grid_points(config, axes)
    from marlkit.experiment.config import load_config

    for _, point in points:  # a bad key, game, learner or combination fails here, before any compute
        load_config(point)
    name = name or str(config.get("name") or "sweep")
    ray = None
    if backend == "ray" and address and not import_ray().is_initialized():
        ray = import_ray()  # connect to the cluster before anything is written
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        return _sweep_into(config, axes, points, backend, workers, address, root, name)
    finally:
        if ray is not None:
            ray.shutdown()


def _sweep_into(
    config: dict[str, Any],
    axes: Sequence[GridAxis],
    points: list[tuple[dict[str, Any], dict[str, Any]]],
    backend: str,
    workers: int,
    address: str | None,
    root: str | Path,
    name: str,
) -> Path:
    from marlkit.experiment.study import new_run_directory

    directory = new_run_directory(root, name)
    rundir.clean_stale_temp()
    directory.mkdir(parents=True)
    sweep_config = {"kind": "sweep", "backend": backend, "grid": {a.key: list(a.values) for a in axes}, "base": config}
    with sweep_disk_errors(directory, resumable=False):
        try:
            sync_folder(directory.parent)
            write_text(directory / CONFIG_FILE, dump_yaml(sweep_config))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)  # nothing computed yet: leave nothing half-written
            raise
    return _run_points(directory, points, backend, workers, address)


def _run_points(
    directory: Path,
    points: list[tuple[dict[str, Any], dict[str, Any]]],
    backend: str,
    workers: int,
    address: str | None,
) -> Path:
    """Run every point not finished yet (:func:`run_point` reads finished ones back), then the summary and page."""
    jobs = [
        (point, str(directory / POINTS_FOLDER / point_folder(k, overrides)))
        for k, (overrides, point) in enumerate(points)
    ]
    tic = time.perf_counter()
    with sweep_disk_errors(directory):
        results = BACKENDS[backend](jobs, workers, address)
    summary = {
        "kind": "sweep",
        "marlkit_version": __version__,
        "backend": backend,
        "wall_time_s": time.perf_counter() - tic,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "points": [
            {"overrides": overrides, "folder": str(Path(folder).relative_to(directory)), "metrics": metrics}
            for (overrides, _), (_, folder), metrics in zip(points, jobs, results, strict=True)
        ],
    }
    with sweep_disk_errors(directory):
        write_text(directory / SUMMARY_FILE, json.dumps(summary, indent=1))
        render_sweep_report(directory)
    return directory


def is_sweep(directory: str | Path) -> bool:
    """Whether ``directory`` holds a sweep (its ``config.yaml`` says ``kind: sweep``)."""
    return _sweep_config(Path(directory)) is not None


def _sweep_config(directory: Path) -> dict[str, Any] | None:
    from marlkit.schema import ConfigError, load_yaml

    try:
        data = load_yaml((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ConfigError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "sweep" else None


def resume_sweep(directory: str | Path, *, workers: int = 2, address: str | None = None) -> Path:
    """Finish a sweep that was stopped, point by point: a finished point (its ``point.json``) is read back, a
    point stopped mid-run is resumed from its checkpoint by the runner, the rest run; then the summary and page.
    A finished sweep whose page is missing gets it; a finished one is an error (nothing to resume)."""
    directory = Path(directory)
    data = _sweep_config(directory)
    if data is None:
        raise InvalidGameError(f"{directory}: not a sweep (no config.yaml with kind: sweep)")
    with sweep_disk_errors(directory):
        rundir.clean_leftovers(directory)  # temp files of writes a kill interrupted (the sweep's summary, page)
    rundir.clean_stale_temp()
    if (directory / SUMMARY_FILE).is_file():
        if (directory / REPORT_FILE).is_file():
            raise InvalidGameError(
                f"{directory}: the sweep is already finished (summary.json exists); nothing to resume"
            )
        with sweep_disk_errors(directory):
            render_sweep_report(directory)
        return directory
    grid, base, backend = data.get("grid"), data.get("base"), data.get("backend", "local")
    if not isinstance(grid, dict) or not isinstance(base, dict) or backend not in BACKENDS:
        raise InvalidGameError(f"{directory / CONFIG_FILE}: expected grid and base mappings and a known backend")
    if backend == "local" and address is not None:
        raise InvalidGameError("--address applies to --backend ray only")
    axes = [GridAxis(str(key), tuple(values)) for key, values in grid.items()]
    return _run_points(directory, grid_points(base, axes), backend, workers, address)


def render_sweep_report(directory: str | Path) -> Path:
    """Write the sweep's ``report.html`` (one row per point) from its ``summary.json`` and ``config.yaml``."""
    from marlkit.diagnose.criteria_table import CRITERIA, CRITERION_SHORT

    directory = Path(directory)
    summary = read_summary(directory / SUMMARY_FILE)
    keys = list(summary["points"][0]["overrides"]) if summary["points"] else []
    header = ["point", *keys, *(CRITERION_SHORT[c] for c in CRITERIA), "NashConv (final)", "tail return"]
    rows, classes = [], []
    for point in summary["points"]:
        metrics = point["metrics"]
        fractions = [metrics["fractions"].get(c) for c in CRITERIA]
        returns = ", ".join("-" if r is None else f"{r:.2f}" for r in metrics["tail_return"])
        nash_conv = metrics["nash_conv_final"]
        rows.append(
            [
                point["folder"],
                *(point["overrides"][k] for k in keys),
                *("-" if f is None else f"{f:.2f}" for f in fractions),
                "-" if nash_conv is None else f"{nash_conv:.3f}",
                returns,
            ]
        )
        classes.append(["", *([""] * len(keys)), *(fraction_class(f) for f in fractions)])
    facts = [
        ("backend", str(summary.get("backend"))),
        ("points", str(len(summary["points"]))),
        ("wall time", f"{float(summary.get('wall_time_s', 0.0)):.1f} s"),
        ("marlkit version", str(summary.get("marlkit_version"))),
    ]
    sections = [
        ("points (fraction of seeds converged per criterion)", html_table(header, rows, classes)),
        ("config", yaml_block((directory / CONFIG_FILE).read_text(encoding="utf-8"))),
        ("run facts", html_table(["fact", "value"], facts)),
    ]
    return write_page(directory / REPORT_FILE, html_page(f"marlkit sweep {directory.name}", sections))


__all__ = [
    "BACKENDS",
    "LOOPBACK_ENV",
    "POINTS_FOLDER",
    "POINTS_PER_WORKER",
    "POINT_FILE",
    "RAY_TEMP_CHARS",
    "GridAxis",
    "grid_points",
    "import_ray",
    "is_sweep",
    "local_ray",
    "parse_grid",
    "point_folder",
    "render_sweep_report",
    "resume_sweep",
    "run_local",
    "run_point",
    "run_ray",
    "run_sweep",
    "sweep_disk_errors",
]
