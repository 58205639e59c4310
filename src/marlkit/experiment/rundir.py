"""The run directory ``<root>/<name>-<YYYYmmdd-HHMMSS>/`` and the files in it.

::

    config.yaml      the resolved config (every default filled in); written last at creation, so its presence
                     marks a run directory
    game.npz         the game as it was when the run started (a resumed run trains on this copy)
    metrics.jsonl    the source of truth: one JSON line per logging point per seed, in window order, then seed
                     order — ``{"window", "step", "seed", "episode_return", "episode_count", "reward_mean",
                     "metrics"}`` (NaN is written as null, +inf and -inf as the strings "Infinity" and
                     "-Infinity", which Python's ``float`` and JavaScript's ``Number`` read back: :func:`json_number`)
    checkpoint.npz   the training state after the last completed segment (:mod:`marlkit.experiment.checkpoint`)
    segments/        the records of each completed segment, ``windows-FIRST-END.npz`` (END exclusive); removed once
                     ``history.npz`` is written
    history.npz      the final :class:`marlkit.train.History`
    summary.json     the run's summary; written last, so its presence marks a finished run

Links and leftovers: marlkit never follows a symbolic link inside a run directory — :func:`check_no_links` refuses
a run whose files are links before it is resumed (an append or truncate would otherwise write through the link
to its target), and ``metrics.jsonl`` is opened with ``O_NOFOLLOW``. A resumed run first removes what a killed
one left behind (:func:`clean_leftovers`: ``.NAME.*.tmp`` files of interrupted atomic writes, segments past the
checkpoint), and every run or resume removes ``marlkit-report-*`` / ``marlkit-study-*`` temp folders older than
an hour (:func:`clean_stale_temp`). A full or read-only disk (``ENOSPC``, ``EDQUOT``, ``EROFS``, ``EACCES``) is one
line saying what to free and how to resume (:func:`disk_errors`).

Every file is written atomically (:mod:`marlkit.atomic`) except ``metrics.jsonl``, which is appended
and fsynced once per segment; the checkpoint records its length, and a resumed run truncates it back to that
length, so no line is lost or duplicated whatever moment a run was killed at.

:func:`create` checks the output folder before any compute: it must be (or be creatable as) a writable folder
with room for the run, and the run directory must not exist yet.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marlkit import strict
from marlkit.atomic import sync_folder, write_with
from marlkit.experiment.runfiles import RunDirError, read_archive, read_metrics_file
from marlkit.train.protocol import Record

CONFIG = "config.yaml"
GAME = "game.npz"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.npz"
SEGMENTS = "segments"
HISTORY = "history.npz"
SUMMARY = "summary.json"
REPORT = "report.html"

SEGMENT_FORMAT = "marlkit.segment"
SEGMENT_VERSION = 1
_SEGMENT_NAME = re.compile(r"^windows-(\d{6,})-(\d{6,})\.npz$")  # 6 digits or more: any run length
_METRIC_PREFIX = "metric."
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
TIMESTAMP = "%Y%m%d-%H%M%S"
SPARE_BYTES = 16 * 2**20
"""Free space asked for beyond the run's own estimate (temp files, the report)."""


# ------------------------------------------------------------------------------------------- preflight


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output(root: str | os.PathLike[str], needed_bytes: int) -> None:
    """Raise :class:`RunDirError` unless ``root`` is (or can be created as) a writable folder with room for a run
    of about ``needed_bytes`` (plus :data:`SPARE_BYTES`)."""
    root = Path(root)
    existing = _nearest_existing(root)
    if not existing.is_dir():
        raise RunDirError(f"output.root: {root} cannot be created: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunDirError(f"output.root: {existing} is not writable; choose another output.root (or --root)")
    free = shutil.disk_usage(existing).free
    needed = needed_bytes + SPARE_BYTES
    if free < needed:
        raise RunDirError(
            f"output.root: {existing} has {free / 2**20:.1f} MiB free but the run needs about {needed / 2**20:.1f} "
            "MiB (history, segments, checkpoint, metrics); free space, choose another output.root, or log less "
            "often (log_every)"
        )


def create(
    root: str | os.PathLike[str], name: str, needed_bytes: int, *, path: str | os.PathLike[str] | None = None
) -> Path:
    """Create a new, empty run directory ``<root>/<name>-<timestamp>`` (or exactly ``path``) after
    :func:`check_output`; an existing directory is an error."""
    target = Path(path) if path is not None else Path(root) / f"{name}-{time.strftime(TIMESTAMP)}"
    check_output(target.parent, needed_bytes)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir()
    except FileExistsError:
        raise RunDirError(
            f"{target}: the run directory already exists; resume it with `marlkit resume {target}` or choose "
            "another output.name"
        ) from None
    except OSError as exc:
        raise RunDirError(f"{target}: cannot create the run directory ({exc.strerror or exc})") from None
    sync_folder(target.parent)
    return target


def open_run(path: str | os.PathLike[str]) -> Path:
    """An existing run directory (one with ``config.yaml``); :class:`RunDirError` otherwise."""
    path = Path(path)
    if not path.is_dir():
        raise RunDirError(f"{path}: no such run directory")
    if not (path / CONFIG).is_file():
        raise RunDirError(
            f"{path}: not a run directory (no {CONFIG}); a run killed while its directory was being created "
            "left nothing to resume — start it again with `marlkit run`"
        )
    if not os.access(path, os.W_OK | os.X_OK):
        raise RunDirError(f"{path}: the run directory is not writable")
    return path


RUN_FILES = (CONFIG, GAME, METRICS, CHECKPOINT, SEGMENTS, HISTORY, SUMMARY, REPORT)
"""The names marlkit writes in a run directory (result files of later commands are written atomically)."""

_TMP_NAME = re.compile(r"^\..+\.[0-9a-f]{16}\.tmp$")  # marlkit.atomic's temp files
STALE_TEMP_S = 3600.0
"""Age after which a ``marlkit-report-*`` / ``marlkit-study-*`` temp folder is a leftover of a killed process (a
report page renders in seconds)."""

DISK_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied"}  # fmt: skip
if hasattr(errno, "EDQUOT"):
    DISK_ERRNOS[errno.EDQUOT] = "the disk quota is exceeded"
DISK_ERRNOS[errno.ELOOP] = "it is a symbolic link, which marlkit does not follow in a run directory"


def check_no_links(run: Path) -> None:
    """:class:`RunDirError` if a run file (or a segment file) of ``run`` is a symbolic link, or anything but a
    regular file (a folder, a FIFO) where marlkit writes a file (``segments`` must be a folder)."""
    candidates = [run / name for name in RUN_FILES]
    if (run / SEGMENTS).is_dir() and not (run / SEGMENTS).is_symlink():
        candidates += sorted((run / SEGMENTS).iterdir())
    for path in candidates:
        if path.is_symlink():
            raise RunDirError(
                f"{path}: a symbolic link; marlkit does not follow links in a run directory (a resume would write "
                "through it to its target) — replace it with the file itself"
            )
        if path.exists() and path.name != SEGMENTS and not path.is_file():
            strict.regular_file(path, RunDirError)  # says what it is instead
        if path.name == SEGMENTS and path.exists() and not path.is_dir():
            raise RunDirError(f"{path}: not a folder; the segments folder holds the records of completed segments")


def clean_leftovers(run: Path) -> int:
    """Remove the temp files of interrupted atomic writes (``.NAME.*.tmp``) in ``run`` and its segments folder;
    returns how many. Safe while no other process writes ``run`` (resume owns it)."""
    removed = 0
    for folder in (run, run / SEGMENTS):
        if not folder.is_dir() or folder.is_symlink():
            continue
        for path in folder.iterdir():
            if _TMP_NAME.match(path.name) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def clean_stale_temp(max_age_s: float = STALE_TEMP_S, folder: str | os.PathLike[str] | None = None) -> int:
    """Remove this user's ``marlkit-report-*`` / ``marlkit-study-*`` folders in the temp folder (or ``folder``)
    not touched for ``max_age_s`` seconds: the leftovers of processes killed while drawing pictures. Returns how
    many; errors are ignored (another process may remove them first)."""
    base = Path(folder if folder is not None else tempfile.gettempdir())
    now, removed, uid = time.time(), 0, os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = list(base.iterdir())
    except OSError:
        return 0
    for path in entries:
        if not path.name.startswith(("marlkit-report-", "marlkit-study-")):
            continue
        try:
            info = path.lstat()
            if not path.is_dir() or path.is_symlink() or (uid is not None and info.st_uid != uid):
                continue
            if now - info.st_mtime < max_age_s:
                continue
            shutil.rmtree(path)
            removed += 1
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def disk_errors(run: Path, resumable: bool = True) -> Iterator[None]:
    """Turn a full or read-only disk while writing ``run`` into one :class:`RunDirError` line saying what to free
    (and, with ``resumable``, how to go on: the last checkpoint stays valid)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_ERRNOS:
            raise
        where = exc.filename or run
        try:
            free = f" ({shutil.disk_usage(run).free / 2**20:.1f} MiB free)"
        except OSError:
            free = ""
        then = f"; then continue with: marlkit resume {run}" if resumable else ""
        if exc.errno == errno.ELOOP:
            fix = "replace the link with the file itself"
        elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            fix = "make it writable (or choose another output.root / --root)"
        else:
            fix = "free space on that disk (or move the run with output.root / --root)"
        raise RunDirError(f"{where}: {DISK_ERRNOS[exc.errno]}{free} while writing the run; {fix}{then}") from None


# ------------------------------------------------------------------------------------------- metrics


def json_number(x: float) -> float | str | None:
    """A float as a JSON-safe value: itself when finite, null for NaN, ``"Infinity"`` / ``"-Infinity"`` for ±inf
    (JSON has no token for either; these strings are what ``float()`` and JavaScript's ``Number()`` parse)."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def metrics_lines(records: Record, first_window: int, log_every: int, seeds: Sequence[int]) -> list[str]:
    """The ``metrics.jsonl`` lines of the windows in ``records`` (leaves ``[N, W, ...]``), window by window,
    seeds in order within a window."""
    returns = np.asarray(records.episode_return, dtype=np.float64)
    counts = np.asarray(records.episode_count)
    rewards = np.asarray(records.reward_mean, dtype=np.float64)
    metrics = {name: np.asarray(value, dtype=np.float64) for name, value in records.metrics.items()}
    lines = []
    for w in range(counts.shape[1]):
        window = first_window + w
        for i, seed in enumerate(seeds):
            entry = {
                "window": window,
                "step": (window + 1) * log_every,
                "seed": int(seed),
                "episode_return": [json_number(x) for x in returns[i, w]],
                "episode_count": int(counts[i, w]),
                "reward_mean": [json_number(x) for x in rewards[i, w]],
                "metrics": {name: [json_number(x) for x in value[i, w]] for name, value in metrics.items()},
            }
            lines.append(json.dumps(entry, separators=(",", ":"), allow_nan=False))
    return lines


def metrics_bytes(lines: Iterable[str]) -> bytes:
    """What :func:`append_metrics` appends for ``lines`` (each line and a newline, UTF-8)."""
    return "".join(line + "\n" for line in lines).encode("utf-8")


def metrics_digest(run: Path, length: int) -> Any:
    """A running SHA-256 (``hashlib``) of the first ``length`` bytes of ``metrics.jsonl`` — the lines a checkpoint
    covers; :class:`RunDirError` if the file is shorter (lines were lost) or not a regular file."""
    path = run / METRICS
    strict.regular_file(path, RunDirError)
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(remaining, 2**20))
            if not chunk:
                raise RunDirError(
                    f"{path}: {length - remaining} bytes, but the checkpoint covers {length}; lines were lost, so "
                    "this run cannot be resumed consistently"
                )
            digest.update(chunk)
            remaining -= len(chunk)
    return digest


def check_metrics(run: Path, length: int, expected: str | None) -> Any:
    """The running SHA-256 of the lines of ``metrics.jsonl`` a checkpoint covers, checked against the digest the
    checkpoint recorded (``info.metrics_sha256``; checkpoints before issue 15 have none): an edited, damaged or
    swapped ``metrics.jsonl`` is refused before a resume appends to it."""
    digest = metrics_digest(run, length)
    if expected is not None and digest.hexdigest() != expected:
        raise RunDirError(
            f"{run / METRICS}: its first {length} bytes (the lines the checkpoint covers) do not match the "
            "checkpoint's SHA-256: the file was edited, damaged or replaced, so this run cannot be resumed consistently"
        )
    return digest


def append_metrics(run: Path, lines: Iterable[str]) -> int:
    """Append lines to ``metrics.jsonl`` durably (flush + fsync); returns the file's new length in bytes."""
    fd = os.open(run / METRICS, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o666)
    with os.fdopen(fd, "ab") as handle:
        handle.write(metrics_bytes(lines))
        handle.flush()
        os.fsync(handle.fileno())
        return handle.tell()


def truncate_metrics(run: Path, length: int) -> None:
    """Cut ``metrics.jsonl`` back to ``length`` bytes (the lines of the windows a checkpoint covers)."""
    path = run / METRICS
    size = path.stat().st_size if path.exists() else 0
    if size < length:
        raise RunDirError(
            f"{path}: {size} bytes, but the checkpoint covers {length}; lines were lost, so this run cannot be "
            "resumed consistently"
        )
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)
    with os.fdopen(fd, "r+b") as handle:
        handle.truncate(length)
        handle.flush()
        os.fsync(handle.fileno())


def read_metrics(run: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every line of a run's ``metrics.jsonl`` as a dict (null where the value was NaN), each line parsed strictly
    and checked field by field (:func:`marlkit.experiment.runfiles.metrics_line`)."""
    return read_metrics_file(Path(run) / METRICS)


# ------------------------------------------------------------------------------------------- segments


def _segment_path(run: Path, first: int, end: int) -> Path:
    return run / SEGMENTS / f"windows-{first:06d}-{end:06d}.npz"


def write_segment(run: Path, first: int, records: Record, config_hash: str) -> Path:
    """Write the records of windows ``first .. first + W - 1`` atomically."""
    end = first + int(np.shape(records.counts)[1])
    arrays: dict[str, Any] = {name: np.asarray(getattr(records, name)) for name in Record._fields if name != "metrics"}
    arrays.update({_METRIC_PREFIX + k: np.asarray(v) for k, v in records.metrics.items()})
    header = {"format": SEGMENT_FORMAT, "version": SEGMENT_VERSION, "config_hash": config_hash, "first": first}
    arrays["__header__"] = np.array(json.dumps(header))
    return write_with(_segment_path(run, first, end), lambda handle: np.savez(handle, **arrays))


def _segments(run: Path) -> list[tuple[int, int, Path]]:
    folder = run / SEGMENTS
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _SEGMENT_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(found)


def load_segments(run: Path, windows: int, config_hash: str) -> list[Record]:
    """The records of windows ``0 .. windows - 1`` from the segment files, in order; :class:`RunDirError` if one
    is missing, unreadable, from another config, or of arrays that do not fit (:func:`read_segment`)."""
    records: list[Record] = []
    covered = 0
    for first, end, path in _segments(run):
        if end > windows:
            continue
        if first != covered:
            break
        record = read_segment(path, first, end, config_hash)
        if records:
            _check_like(path, record, records[0])
        records.append(record)
        covered = end
    if covered != windows:
        raise RunDirError(
            f"{run / SEGMENTS}: the segment files cover windows 0..{covered - 1}, not 0..{windows - 1}; the run's "
            "records are incomplete"
        )
    return records


SEGMENT_HEADER = "__header__"
_SEGMENT_ARRAYS = tuple(name for name in Record._fields if name != "metrics")
_SEGMENT_NDIM = {"policy": 5, "average_policy": 5, "counts": 4, "episode_return": 3, "episode_count": 2,
                 "reward_mean": 3}  # fmt: skip
"""Dimensions of each record array in a segment: ``[N, W]`` then the record's own (:class:`Record`)."""


def _segment_member(name: str) -> bool:
    return (
        name in _SEGMENT_ARRAYS
        or name == SEGMENT_HEADER
        or (name.startswith(_METRIC_PREFIX) and len(name) > len(_METRIC_PREFIX))
    )


def _segment_archive(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        return read_archive(path, RunDirError, allowed=_segment_member, describe=_unknown_member, header=SEGMENT_HEADER)
    except RunDirError as exc:
        raise RunDirError(f"{path}: unreadable segment ({str(exc).removeprefix(f'{path}: ')})") from None


def _segment_header(path: Path, first: int, config_hash: str) -> dict[str, Any]:
    """A segment's checked header: format, version, config, and the first window its name says."""
    header, _ = _segment_archive(path)
    return _checked_header(path, header, first, config_hash)


def _checked_header(path: Path, header: dict[str, Any], first: int, config_hash: str) -> dict[str, Any]:
    strict.check_keys("__header__", header, ("format", "version", "config_hash", "first"), "a segment header",
                      RunDirError)  # fmt: skip
    if header.get("format") != SEGMENT_FORMAT or header.get("config_hash") != config_hash:
        raise RunDirError(f"{path}: a segment of another format or config; this run cannot use it")
    if header.get("version") != SEGMENT_VERSION or type(header.get("version")) is not int:
        raise RunDirError(
            f"{path}: segment version {strict.shorten(header.get('version'))}, expected {SEGMENT_VERSION}"
        )
    if type(header.get("first")) is not int or header.get("first") != first:
        raise RunDirError(
            f"{path}: __header__.first is {strict.shorten(header.get('first'))} but the file's name says window "
            f"{first}; a renamed or edited segment"
        )
    return header


def _unknown_member(name: str) -> str:
    return (
        f"archive member {strict.shorten(name)}: not a segment array (a segment holds {', '.join(_SEGMENT_ARRAYS)}, "
        f"'{_METRIC_PREFIX}NAME' metrics and {SEGMENT_HEADER})"
    )


def read_segment(path: Path, first: int, end: int, config_hash: str) -> Record:
    """One segment file's records, read on the strict boundary (:func:`marlkit.experiment.runfiles.read_archive`):
    its header (this config, the first window its name says), every record array present with the dimensions of
    :class:`Record`, all of them ``[N, W, ...]``, counts whole numbers, the rest numbers."""
    header, contents = _segment_archive(path)
    _checked_header(path, header, first, config_hash)
    missing = [name for name in _SEGMENT_ARRAYS if name not in contents]
    if missing:
        raise RunDirError(f"{path}: a damaged segment (no {', '.join(missing)} array)")
    lead: tuple[int, ...] | None = None
    for name, array in contents.items():
        ndim = _SEGMENT_NDIM.get(name, 3)
        whole = name in ("counts", "episode_count")
        if array.ndim != ndim or (whole and array.dtype.kind not in "iu") or (not whole and array.dtype.kind != "f"):
            kind = "whole numbers" if whole else "floats"
            raise RunDirError(
                f"{path}: {name}: expected {ndim} dimensions of {kind}, got shape {list(array.shape)} of {array.dtype}"
            )
        lead = lead or tuple(array.shape[:2])
        if tuple(array.shape[:2]) != lead:
            raise RunDirError(
                f"{path}: {name}: shape {list(array.shape)} does not fit the other arrays' [seeds, windows] = "
                f"{list(lead)}"
            )
    shapes = {name: contents[name].shape[2:] for name in ("policy", "average_policy")}
    if shapes["policy"] != shapes["average_policy"] or any(
        contents[name].shape[2] != contents["policy"].shape[2]
        for name in contents
        if name.startswith(_METRIC_PREFIX) or name in ("episode_return", "reward_mean")
    ):
        raise RunDirError(f"{path}: the arrays disagree on the number of agents or the policy shape")
    metrics = {k[len(_METRIC_PREFIX) :]: v for k, v in contents.items() if k.startswith(_METRIC_PREFIX)}
    return Record(**{k: contents[k] for k in _SEGMENT_ARRAYS}, metrics=metrics)


def _check_like(path: Path, record: Record, first: Record) -> None:
    """A later segment must have the arrays, dtypes and shapes (but the window axis) of the first one."""

    def layout(r: Record) -> dict[str, tuple[Any, ...]]:
        arrays = {**{k: getattr(r, k) for k in _SEGMENT_ARRAYS}, **r.metrics}
        return {k: (str(v.dtype), v.shape[:1] + v.shape[2:]) for k, v in arrays.items()}

    if layout(record) != layout(first):
        raise RunDirError(f"{path}: its arrays do not match the earlier segments' (another run's segment?)")


def check_segments(run: Path, windows: int, config_hash: str | None = None) -> None:
    """Raise :class:`RunDirError` unless segment files cover windows ``0 .. windows - 1`` — checked by name and,
    with ``config_hash``, by each file's header (a segment of another run is refused before a resumed run computes
    anything; the arrays are checked when they are loaded)."""
    covered = 0
    for first, end, path in _segments(run):
        if first == covered and end <= windows:
            if config_hash is not None:
                _segment_header(path, first, config_hash)
            covered = end
    if covered != windows:
        raise RunDirError(
            f"{run / SEGMENTS}: the segment files cover windows 0..{covered - 1} but the checkpoint is at window "
            f"{windows}; records were deleted, so this run cannot be resumed"
        )


def drop_segments(run: Path, after: int = 0) -> None:
    """Delete the segment files of windows at or after ``after`` (``0``: all of them, and the folder)."""
    for _first, end, path in _segments(run):
        if end > after:
            path.unlink(missing_ok=True)
    folder = run / SEGMENTS
    if after == 0 and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


__all__ = [
    "CHECKPOINT",
    "CONFIG",
    "DISK_ERRNOS",
    "GAME",
    "HISTORY",
    "METRICS",
    "REPORT",
    "RUN_FILES",
    "SEGMENTS",
    "STALE_TEMP_S",
    "SUMMARY",
    "RunDirError",
    "append_metrics",
    "check_no_links",
    "check_output",
    "check_segments",
    "clean_leftovers",
    "clean_stale_temp",
    "create",
    "disk_errors",
    "drop_segments",
    "json_number",
    "load_segments",
    "metrics_lines",
    "open_run",
    "read_metrics",
    "truncate_metrics",
    "write_segment",
]
