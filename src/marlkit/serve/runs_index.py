"""The runs page's index: every run, study and sweep under the runs folder, with its status and a summary.

A folder is listed when it holds ``config.yaml`` (what :mod:`marlkit.experiment.rundir` writes last when it
creates a run directory; studies and sweeps write one too). The walk goes at most :data:`MAX_DEPTH` folders deep,
skips hidden folders and ``segments/``, and descends into studies' ``cells/`` and sweeps' ``points/`` (each an
ordinary run directory, listed with its parent).

**Status** is decided from the files alone (the runner leaves no process id behind):

* ``finished`` — ``summary.json`` exists (the runner writes it last, :mod:`marlkit.experiment.runner`);
* ``running`` — no summary, and a file of the run (``metrics.jsonl``, ``checkpoint.npz``, ``segments/``) changed
  within :func:`stale_after` seconds: three segments' worth of the run's own pace (the checkpoint's ``elapsed_s``
  per window times ``checkpoint_every``), at least :data:`MIN_STALE_S`; before the first checkpoint (compiling,
  first segment) :data:`FIRST_SEGMENT_S`;
* ``killed`` — no summary and nothing written for longer: a stopped run, resumable with ``marlkit resume`` from
  its checkpoint (or from the start when it died before its first one);
* ``corrupt`` — a file that should parse does not (``config.yaml`` not a YAML mapping, ``summary.json`` not a
  JSON object, a checkpoint whose header cannot be read); the reason is shown and the app stays up.

Entries are cached by the modification times and sizes of the files they were read from, so a page over 1,000
runs re-reads only what changed (``bench/serve.py`` measures it).
"""

from __future__ import annotations

import functools
import math
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.errors import MarlkitError
from marlkit.schema import ConfigError, load_yaml
from marlkit.strict import clip, loads_json

MAX_DEPTH = 5
"""Folders below the runs folder the index looks into (``runs/sweep-x/points/0-a=1`` is depth 3)."""

MIN_STALE_S = 60.0
"""A run without a summary counts as running while it wrote something within this many seconds (at least)."""

FIRST_SEGMENT_S = 600.0
"""Grace before the first checkpoint (compiling and the first segment), in seconds."""

SKIPPED = frozenset({"segments", "__pycache__", "node_modules"})

STATUSES = ("running", "finished", "stopped", "killed", "corrupt")


@dataclass(frozen=True)
class RunEntry:
    """One row of the runs page.

    ``path`` is relative to the runs folder (POSIX); ``kind`` is ``run``, ``study`` or ``sweep``; ``parent`` the
    path of the study or sweep a cell or point belongs to (``""`` for none); ``status`` one of :data:`STATUSES`
    with ``problem`` saying why a run is corrupt; ``progress`` the logging windows done and in all (``None`` when
    unknown); ``fractions`` criterion -> fraction of seeds converged (runs judged against an exact game);
    ``modified`` the newest modification time (seconds since the epoch) of the run's files.
    """

    path: str
    kind: str
    status: str
    name: str
    game: str = ""
    learners: str = ""
    steps: int | None = None
    seeds: int | None = None
    parent: str = ""
    progress: tuple[int, int] | None = None
    fractions: dict[str, float | None] = field(default_factory=dict)
    nash_conv: float | None = None
    children: int = 0
    modified: float = 0.0
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (the runs API's rows)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "status": self.status,
            "name": self.name,
            "game": self.game,
            "learners": self.learners,
            "steps": self.steps,
            "seeds": self.seeds,
            "parent": self.parent,
            "progress": None if self.progress is None else list(self.progress),
            "fractions": dict(self.fractions),
            "nash_conv": self.nash_conv,
            "children": self.children,
            "modified": self.modified,
            "problem": self.problem,
        }

    def lines(self) -> list[str]:
        """One line: path, status, what and the verdicts."""
        verdicts = ", ".join(f"{k}={'-' if v is None else f'{v:.2f}'}" for k, v in self.fractions.items())
        what = ", ".join(x for x in (self.game, self.learners) if x)
        return [f"{self.path}  [{self.status}] {self.kind} {what} {verdicts}".rstrip()]


# ------------------------------------------------------------------------------------------- reading files
def _stat(path: Path) -> tuple[float, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime, st.st_size


def _names(entry: Any) -> str:
    """Learner / game names from a config entry: a name, ``{name: ...}`` or a list of them."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        name = entry.get("name") or entry.get("target") or entry.get("file") or entry.get("path")
        return "" if name is None else str(name)
    if isinstance(entry, list):
        names = [_names(e) for e in entry]
        return names[0] if names and all(n == names[0] for n in names) else ", ".join(n for n in names if n)
    return ""


def _seed_count(seeds: Any) -> int | None:
    if isinstance(seeds, bool):
        return None
    if isinstance(seeds, int):
        return seeds
    if isinstance(seeds, list):
        return len(seeds)
    return None


def _finite(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _parsed_yaml(path: Path) -> Any:
    """A run's config file read with :func:`marlkit.schema.load_yaml` (PyYAML's safe loader with limits, so a
    hostile file in the folder cannot exhaust the server), memoised by its path, modification time and size (an
    unfinished run's status is decided again on every request, its config is not parsed again)."""
    st = os.lstat(path)
    return _yaml_of(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4096)
def _yaml_of(path: str, mtime_ns: int, size: int) -> Any:
    from marlkit.experiment.runfiles import read_text

    return load_yaml(read_text(path, ConfigError))  # no link followed, no FIFO, the size checked before reading


def _cached_checkpoint_info(path: Path) -> dict[str, Any]:
    st = path.stat()
    return _checkpoint_of(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=1024)
def _checkpoint_of(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    return checkpoint_info(Path(path))


def checkpoint_info(path: Path) -> dict[str, Any]:
    """The JSON header of ``checkpoint.npz`` (``windows_done``, ``info``), read without JAX or the arrays
    (:mod:`marlkit.experiment.checkpoint` writes it; ``np.load`` of the one ``__header__`` member, no pickle).

    Raises:
        ValueError: the file is not a readable checkpoint.
    """
    from marlkit.errors import MarlkitError
    from marlkit.experiment.runfiles import RunDirError, check_checkpoint_header
    from marlkit.strict import read_archive

    try:
        header, _ = read_archive(path, RunDirError, allowed=lambda name: True, describe=str, header="__header__")
        check_checkpoint_header(path, header, RunDirError, "__header__")
    except MarlkitError as exc:  # one line naming what is wrong
        raise ValueError(f"checkpoint.npz unreadable: {str(exc).removeprefix(f'{path}: ')}") from None
    return header


def logged_windows(path: Path, tail: int = 65536) -> int:
    """Logging windows ``metrics.jsonl`` holds: the last complete line's ``window`` + 1 (the runner appends whole
    segments, every seed of every window), read from the file's last ``tail`` bytes; 0 when there is none."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a link, a folder, a FIFO (an open would block): no windows
            return 0
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - tail))
            chunk = handle.read()
    except OSError:
        return 0
    for raw in reversed(chunk[: chunk.rfind(b"\n") + 1].splitlines()):
        try:
            window = loads_json(raw, ConfigError).get("window")
        except (ValueError, AttributeError, MarlkitError):
            continue
        if isinstance(window, int):
            return window + 1
    return 0


def stale_after(header: dict[str, Any] | None, checkpoint_every: int) -> float:
    """Seconds without a write after which an unfinished run counts as stopped (see the module docstring)."""
    if header is None:
        return FIRST_SEGMENT_S
    info = header.get("info") or {}
    done = max(int(header.get("windows_done") or 0), 1)
    elapsed = _finite(info.get("elapsed_s")) or 0.0
    return max(MIN_STALE_S, 3.0 * elapsed / done * max(checkpoint_every, 1))


def _last_write(directory: Path) -> float:
    times = [s[0] for s in (_stat(directory / name) for name in ("metrics.jsonl", "checkpoint.npz", "segments")) if s]
    fallback = _stat(directory / "config.yaml")
    return max(times) if times else (fallback[0] if fallback else 0.0)


def read_entry(root: Path, directory: Path, parent: str = "", now: float | None = None) -> RunEntry:
    """The :class:`RunEntry` of one folder holding ``config.yaml`` (never raises: a bad file makes it corrupt)."""
    now = time.time() if now is None else now
    rel = directory.relative_to(root).as_posix()
    base: dict[str, Any] = {"path": rel, "name": directory.name, "parent": parent, "modified": _last_write(directory)}
    try:
        config = _parsed_yaml(directory / "config.yaml")
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        return RunEntry(**base, kind="run", status="corrupt", problem=f"config.yaml unreadable ({type(exc).__name__})")
    if not isinstance(config, dict):
        return RunEntry(**base, kind="run", status="corrupt", problem="config.yaml is not a YAML mapping")
    kind = str(config["kind"]) if config.get("kind") in ("study", "sweep") else "run"
    summary: dict[str, Any] | None = None
    if (directory / "summary.json").exists() or (directory / "summary.json").is_symlink():
        from marlkit.experiment.runfiles import read_summary

        try:  # checked field by field (marlkit.experiment.runfiles); a damaged file makes the run corrupt
            summary = read_summary(directory / "summary.json")
        except MarlkitError as exc:
            problem = clip(str(exc).removeprefix(f"{directory / 'summary.json'}: "), 200)
            return RunEntry(**base, kind=kind, status="corrupt", problem=f"summary.json: {problem}")
    base["name"] = str(config.get("name") or directory.name)
    if kind == "run":
        return _run_entry(directory, config, summary, base, now)
    return _group_entry(directory, kind, config, summary, base, now)


def _run_entry(
    directory: Path, config: dict[str, Any], summary: dict[str, Any] | None, base: dict[str, Any], now: float
) -> RunEntry:
    game = _names(config.get("game")) or _names(config.get("env"))
    learners = _names(config.get("learners"))
    steps = config.get("steps") if isinstance(config.get("steps"), int) else None
    seeds = _seed_count(config.get("seeds"))
    log_every = config.get("log_every")
    total = steps // log_every if isinstance(steps, int) and isinstance(log_every, int) and log_every > 0 else None
    fields = {**base, "kind": "run", "game": game, "learners": learners, "steps": steps, "seeds": seeds}
    if summary is not None:
        fractions, nash_conv = verdict_fractions(summary)
        windows = summary.get("windows", total)
        stopped = summary.get("stopped")
        if isinstance(stopped, dict):  # the NaN / inf guard stopped it: the windows before are kept
            progress = (int(windows), total) if isinstance(windows, int) and isinstance(total, int) else None
            why = (
                f"stopped by the NaN / inf guard: {stopped.get('value')} in {stopped.get('key')} of learner "
                f"{stopped.get('learner')}, seed {stopped.get('seed')}, window {stopped.get('window')}; continue it "
                f"with other hyper-parameters (in the runs folder): marlkit resume {base['path']} --set "
                "learners.params.KEY=VALUE"
            )
            return RunEntry(**fields, status="stopped", progress=progress, problem=clip(why, 300))
        progress = (int(windows), int(windows)) if isinstance(windows, int) else None
        return RunEntry(**fields, status="finished", progress=progress, fractions=fractions, nash_conv=nash_conv)
    header = None
    if (directory / "checkpoint.npz").is_file():
        try:
            header = _cached_checkpoint_info(directory / "checkpoint.npz")
        except ValueError as exc:
            return RunEntry(**fields, status="corrupt", problem=f"{exc}; the run cannot be resumed")
    done = max(int(header["windows_done"]) if header else 0, logged_windows(directory / "metrics.jsonl"))
    total = int((header or {}).get("info", {}).get("total_windows") or total or 0) or None
    every = int(config["checkpoint_every"]) if isinstance(config.get("checkpoint_every"), int) else 1
    status = "running" if now - base["modified"] < stale_after(header, every) else "killed"
    return RunEntry(**fields, status=status, progress=None if total is None else (done, total))


def verdict_fractions(summary: dict[str, Any]) -> tuple[dict[str, float | None], float | None]:
    """(criterion -> fraction of seeds converged, median final NashConv) from a run's ``summary.json``: the
    runner's ``diagnosis.statistics`` and ``learning.nash_conv_final``, or a study cell's ``fractions`` /
    ``nash_conv_final``; empty for a run on a task."""
    if isinstance(summary.get("fractions"), dict):
        return {k: _finite(v) for k, v in summary["fractions"].items()}, _finite(summary.get("nash_conv_final"))
    diagnosis = summary.get("diagnosis")
    fractions: dict[str, float | None] = {}
    if isinstance(diagnosis, dict) and isinstance(diagnosis.get("statistics"), dict):
        fractions = {k: _finite(v.get("fraction")) for k, v in diagnosis["statistics"].items() if isinstance(v, dict)}
    learning = summary.get("learning")
    nash_conv = None
    if isinstance(learning, dict) and isinstance(learning.get("nash_conv_final"), list):
        values = [v for v in (_finite(x) for x in learning["nash_conv_final"]) if v is not None]
        nash_conv = float(np.median(values)) if values else None
    return fractions, nash_conv


def _group_entry(
    directory: Path, kind: str, config: dict[str, Any], summary: dict[str, Any] | None, base: dict[str, Any], now: float
) -> RunEntry:
    folder = directory / ("cells" if kind == "study" else "points")
    children = sum(1 for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else 0
    if kind == "study":
        game, learners = _names(config.get("games")), _names(config.get("learners"))
        steps, seeds = config.get("steps"), _seed_count(config.get("seeds"))
    else:
        inner: dict[str, Any] = config["base"] if isinstance(config.get("base"), dict) else {}
        game = _names(inner.get("game")) or _names(inner.get("env"))
        learners = _names(inner.get("learners"))
        steps, seeds = inner.get("steps"), _seed_count(inner.get("seeds"))
        grid = config.get("grid")
        if isinstance(grid, dict):
            learners = (learners + "; grid " + ", ".join(map(str, grid))).strip("; ")
    if summary is not None:
        status = "finished"
    else:
        latest = max(
            [base["modified"], *(_last_write(p) for p in folder.iterdir() if p.is_dir())]
            if children
            else [base["modified"]]
        )
        base = {**base, "modified": latest}
        status = "running" if now - latest < FIRST_SEGMENT_S else "killed"
    return RunEntry(
        **base,
        kind=kind,
        status=status,
        game=game,
        learners=learners,
        steps=steps if isinstance(steps, int) else None,
        seeds=seeds,
        children=children,
    )


# ------------------------------------------------------------------------------------------------ the walk
def _run_folders(root: Path, folder: Path, depth: int, parent: str) -> Iterator[tuple[Path, str]]:
    try:
        children = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for child in children:
        if child.name.startswith(".") or child.name in SKIPPED:
            continue
        try:
            if not child.is_dir(follow_symlinks=True):
                continue
        except OSError:
            continue
        path = Path(child.path)
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:  # a symlink that leaves the runs folder
            continue
        if (path / "config.yaml").is_file():
            yield path, parent
            if depth + 1 < MAX_DEPTH:
                for sub in ("cells", "points"):
                    if (path / sub).is_dir():
                        yield from _run_folders(root, path / sub, depth + 2, path.relative_to(root).as_posix())
        elif depth + 1 < MAX_DEPTH:
            yield from _run_folders(root, path, depth + 1, parent)


def _signature(directory: Path) -> tuple[Any, ...]:
    names = ("config.yaml", "summary.json", "checkpoint.npz", "metrics.jsonl", "segments", "cells", "points")
    return tuple(_stat(directory / name) for name in names)


class RunsIndex:
    """The runs under one folder, re-read only where a file changed (thread-safe)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, tuple[tuple[Any, ...], RunEntry]] = {}
        self._lock = threading.Lock()

    def entries(self) -> list[RunEntry]:
        """Every run, study and sweep, newest first (a study's cells and a sweep's points after their parent).
        An unfinished run's status depends on the clock, so those are re-read every time."""
        now = time.time()
        found: list[RunEntry] = []
        seen: set[Path] = set()
        with self._lock:
            for directory, parent in _run_folders(self.root, self.root, 0, ""):
                seen.add(directory)
                signature = _signature(directory)
                cached = self._cache.get(directory)
                if cached is not None and cached[0] == signature and cached[1].status in ("finished", "corrupt"):
                    found.append(cached[1])
                    continue
                entry = read_entry(self.root, directory, parent, now)
                self._cache[directory] = (signature, entry)
                found.append(entry)
            for stale in set(self._cache) - seen:
                del self._cache[stale]
        return order_entries(found)


def order_entries(entries: list[RunEntry]) -> list[RunEntry]:
    """Top-level entries newest first, each followed by its cells or points (in name order)."""
    children: dict[str, list[RunEntry]] = {}
    for entry in entries:
        children.setdefault(entry.parent, []).append(entry)
    ordered: list[RunEntry] = []

    def add(parent: str, depth: int) -> None:
        group = children.get(parent, [])
        group = sorted(group, key=lambda e: -e.modified) if depth == 0 else sorted(group, key=lambda e: e.path)
        for entry in group:
            ordered.append(entry)
            if depth < MAX_DEPTH:
                add(entry.path, depth + 1)

    add("", 0)
    return ordered


__all__ = [
    "FIRST_SEGMENT_S",
    "MAX_DEPTH",
    "MIN_STALE_S",
    "STATUSES",
    "RunEntry",
    "RunsIndex",
    "checkpoint_info",
    "logged_windows",
    "order_entries",
    "read_entry",
    "stale_after",
    "verdict_fractions",
]
