"""Reading the files of a run directory on the strict boundary (:mod:`marlkit.strict`).

Every reader of a run directory's files — the runner's resume, the report, compare, the CLI's verdict lines, the
sinks and the web app's runs index — goes through these functions, so a damaged, edited or hostile file is one
line naming the file and what is wrong (exit 2 in the CLI), never a traceback, a hang or a silently trusted value:

* a run file is read only when it is a **regular file** — a symbolic link, a folder, a FIFO or a device in its
  place is refused (:func:`marlkit.strict.regular_file`), its size checked against ``MARLKIT_MAX_FILE_BYTES``
  before it is read;
* JSON (``summary.json``, a sweep's ``point.json``, the NPZ headers) is parsed strictly: duplicate keys, NaN /
  Infinity, overflowing numbers, over-long integers and deep nesting are refused (:func:`marlkit.strict.loads_json`);
* NPZ archives (``checkpoint.npz``, ``history.npz``, ``segments/*.npz``) are opened member by member
  (:func:`marlkit.strict.read_npz`): no pickles, plain real dtypes only, shapes checked against
  ``MARLKIT_MAX_ELEMENTS`` before any data is read, unknown members refused, zip / CRC errors one line;
* ``summary.json`` is checked field by field (:func:`read_summary`): the fields of its kind (a run's, a study's, a
  sweep's or a study cell's), each of its exact type; an unknown field is refused with the closest known one.

Each function takes ``error``, the :class:`~marlkit.errors.MarlkitError` subclass to raise (``RunDirError`` by
default, ``CheckpointError`` for checkpoints); every message starts with the file's path.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from marlkit import strict
from marlkit.errors import MarlkitError
from marlkit.strict import read_archive

ErrorType = type[MarlkitError]

RUN_SUMMARY_FORMAT = "marlkit.run-summary"
RUN_SUMMARY_VERSIONS = (1,)
"""The ``summary.json`` formats of a run this marlkit reads."""


class RunDirError(MarlkitError, ValueError):
    """A run directory that cannot be created or used: it exists, is not writable, the disk is too full, it is
    not (or no longer) a run directory, or one of its files is damaged."""


def read_bytes(path: str | os.PathLike[str], error: ErrorType = RunDirError) -> bytes:
    """The bytes of a run file: a regular file (no link followed), at most ``MARLKIT_MAX_FILE_BYTES``."""
    path = Path(path)
    strict.regular_file(path, error)
    return strict.read_limited(path, error)


_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters YAML does not allow in a stream (YAML 1.1, §5.1; PyYAML's reader refuses them)."""


def read_text(path: str | os.PathLike[str], error: ErrorType = RunDirError) -> str:
    """A run's text file (``config.yaml``): a regular file, UTF-8, without the control characters YAML refuses."""
    path = Path(path)
    try:
        text = read_bytes(path, error).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    bad = _NOT_YAML.search(text)
    if bad is not None:
        code = bad.group().encode("unicode_escape").decode("ascii")
        raise error(f"{path}: contains the control character {code} at character {bad.start()}; not a YAML file")
    return text


def read_json(path: str | os.PathLike[str], error: ErrorType = RunDirError, what: str = "the file") -> Any:
    """A run file's JSON, parsed strictly (see the module docstring)."""
    path = Path(path)
    data = read_bytes(path, error)
    try:
        return strict.loads_json(data, error, what)
    except MarlkitError as exc:
        raise strict.prefixed(path, error, exc) from None


def read_object(path: str | os.PathLike[str], error: ErrorType = RunDirError) -> dict[str, Any]:
    """A run file holding one JSON object."""
    data = read_json(path, error)
    if not isinstance(data, dict):
        raise strict.wrong(f"{path}", "a JSON object", data, error)
    return data


def check_format(
    path: Path, header: Mapping[str, Any], expected: str, versions: Sequence[int], error: ErrorType, field: str = ""
) -> int:
    """The version of a header whose ``format`` must be ``expected`` and ``version`` one of ``versions``."""
    where = f"{field}." if field else ""
    found = header.get("format")
    if found != expected:
        raise error(f"{path}: {where}format is {strict.shorten(found)}, expected '{expected}' (not a marlkit file)")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in versions:
        readable = ", ".join(map(str, versions))
        raise error(f"{path}: {where}version is {strict.shorten(version)}; this marlkit reads version {readable}")
    return version


# ------------------------------------------------------------------------------------------- typed fields
Check = Callable[[str, Any, ErrorType], Any]


def text(field: str, value: Any, error: ErrorType) -> str:
    """A string of at most :data:`marlkit.strict.MAX_TEXT_LENGTH` characters, no control characters."""
    return strict.string(field, value, error, limit=strict.MAX_TEXT_LENGTH)


def optional(check: Check) -> Check:
    """``check``, or null."""

    def checked(field: str, value: Any, error: ErrorType) -> Any:
        return None if value is None else check(field, value, error)

    return checked


def whole(low: int | None = 0) -> Check:
    """A JSON whole number of at least ``low``."""
    return lambda field, value, error: strict.integer(field, value, error, low=low)


def non_negative(field: str, value: Any, error: ErrorType) -> float:
    """A finite number >= 0."""
    result = strict.number(field, value, error)
    if result < 0:
        raise error(f"{field}: expected a number >= 0, got {strict.shorten(value)}")
    return result


def obj(field: str, value: Any, error: ErrorType) -> Mapping[str, Any]:
    """A JSON object."""
    return strict.mapping(field, value, error)


def one_of(*choices: str) -> Check:
    def checked(field: str, value: Any, error: ErrorType) -> str:
        if not isinstance(value, str) or value not in choices:
            raise strict.wrong(field, " or ".join(repr(c) for c in choices), value, error)
        return value

    return checked


def list_of(check: Check) -> Check:
    def checked(field: str, value: Any, error: ErrorType) -> list[Any]:
        if not isinstance(value, list):
            raise strict.wrong(field, "a list", value, error)
        return [check(f"{field}[{k}]", item, error) for k, item in enumerate(value)]

    return checked


def names(field: str, value: Any, error: ErrorType) -> Any:
    """A name or a list of names (a History's ``learners``)."""
    return text(field, value, error) if isinstance(value, str) else list_of(text)(field, value, error)


def any_json(field: str, value: Any, error: ErrorType) -> Any:
    """Any JSON value (already parsed strictly)."""
    return value


def check_fields(
    path: Path,
    data: Mapping[str, Any],
    fields: Mapping[str, Check],
    required: Sequence[str],
    what: str,
    error: ErrorType,
    where: str = "",
) -> None:
    """Refuse unknown and missing fields of ``data`` and check each field's type with ``fields[name]``."""
    try:
        strict.check_keys(where, data, tuple(fields), what, error)
        for name in required:
            if name not in data:
                raise error(f"{where + '.' if where else ''}{name}: missing; {what} has it")
        for name, value in data.items():
            fields[name](f"{where + '.' if where else ''}{name}", value, error)
    except MarlkitError as exc:
        raise strict.prefixed(path, error, exc) from None


# -------------------------------------------------------------------------------------------- summary.json
RUN_SUMMARY_FIELDS: dict[str, Check] = {
    "format": text,
    "version": whole(1),
    "kind": one_of("run"),
    "name": text,
    "config_hash": text,
    "game_hash": optional(text),
    "game": optional(text),
    "learners": optional(names),
    "steps": whole(1),
    "log_every": whole(1),
    "seeds": list_of(whole(None)),
    "windows": whole(0),
    "training_seconds": non_negative,
    "marlkit": text,
    "learning": optional(obj),
    "diagnosis": optional(obj),
    "safety": optional(obj),
    "stopped": obj,
    # the deep and host trainers' fields (marlkit.train.deep.summary_fields)
    "env": text,
    "trainer": text,
    "num_envs": whole(1),
    "sharing": obj,
    "reward_transform": any_json,
    "files_sha256": obj,
    "digest": text,
}
"""Every field of a run's ``summary.json`` and its type (the runner writes it: :mod:`marlkit.experiment.runner`)."""
RUN_SUMMARY_REQUIRED = ("format", "version", "kind", "name", "steps", "log_every", "seeds", "windows", "marlkit")

STUDY_SUMMARY_FIELDS: dict[str, Check] = {
    "kind": one_of("study"),
    "marlkit_version": text,
    "wall_time_s": non_negative,
    "finished": text,
    "config": obj,
    "cells": list_of(obj),
}
SWEEP_POINT_FIELDS: dict[str, Check] = {"overrides": obj, "folder": text, "metrics": obj}
SWEEP_SUMMARY_FIELDS: dict[str, Check] = {
    "kind": one_of("sweep"),
    "marlkit_version": text,
    "backend": text,
    "wall_time_s": non_negative,
    "finished": text,
    "points": list_of(obj),
}
CELL_SUMMARY_FIELDS: dict[str, Check] = {
    "game": text,
    "learner": text,
    "fractions": obj,
    "targets": obj,
    "nash_conv_final": optional(strict.number),
    "tail_return": list_of(optional(strict.number)),
    "seconds": non_negative,
    "skipped": optional(text),
    "marlkit_version": text,
    "wall_time_s": non_negative,
}
"""A study cell's ``summary.json``: :class:`marlkit.experiment.study.CellResult`'s fields, the marlkit version and
the cell's wall time."""


def summary_digest(data: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a run summary's fields but ``digest``, as canonical JSON (sorted keys, no spaces)."""
    rest = {k: v for k, v in data.items() if k != "digest"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def read_summary(path: str | os.PathLike[str], error: ErrorType = RunDirError) -> dict[str, Any]:
    """A ``summary.json`` checked field by field: a run's (``kind: run``, its ``format`` and ``version``), a study's,
    a sweep's (each point's ``overrides``, ``folder``, ``metrics``) or a study cell's (no ``kind``). Nested results
    (a run's ``diagnosis``, ``learning``) are JSON objects; their readers look fields up defensively."""
    path = Path(path)
    data = read_object(path, error)
    kind = data.get("kind")
    if "format" in data or "version" in data:  # what the runner writes
        check_format(path, data, RUN_SUMMARY_FORMAT, RUN_SUMMARY_VERSIONS, error)
        check_fields(path, data, RUN_SUMMARY_FIELDS, RUN_SUMMARY_REQUIRED, "a run's summary", error)
        if "digest" in data and data["digest"] != summary_digest(data):
            raise error(
                f"{path}: edited or damaged (its fields do not match its SHA-256 digest); marlkit writes this file "
                "when a run finishes — restore it, or run the config again"
            )
    elif kind == "run":  # a summary written by hand or by an older marlkit: the fields it has, each of its type
        check_fields(path, data, RUN_SUMMARY_FIELDS, ("kind",), "a run's summary", error)
    elif kind == "study":
        check_fields(path, data, STUDY_SUMMARY_FIELDS, tuple(STUDY_SUMMARY_FIELDS), "a study's summary", error)
        for k, cell in enumerate(data["cells"]):
            check_fields(path, cell, CELL_SUMMARY_FIELDS, ("game", "learner"), "a study cell", error, f"cells[{k}]")
    elif kind == "sweep":
        check_fields(path, data, SWEEP_SUMMARY_FIELDS, tuple(SWEEP_SUMMARY_FIELDS), "a sweep's summary", error)
        for k, point in enumerate(data["points"]):
            check_fields(path, point, SWEEP_POINT_FIELDS, tuple(SWEEP_POINT_FIELDS), "a point", error, f"points[{k}]")
    elif kind is None:
        check_fields(path, data, CELL_SUMMARY_FIELDS, ("game", "learner"), "a study cell's summary", error)
    else:
        raise strict.wrong(f"{path}: kind", "'run', 'study' or 'sweep'", kind, error)
    return data


DIGESTED_FILES = ("config.yaml", "game.npz", "history.npz")
"""The files of a run whose SHA-256 its ``summary.json`` records (``files_sha256``) when the run finishes."""


def file_digests(directory: str | os.PathLike[str], error: ErrorType = RunDirError) -> dict[str, str]:
    """SHA-256 (hex) of each of :data:`DIGESTED_FILES` the run directory holds."""
    directory = Path(directory)
    return {
        name: hashlib.sha256(read_bytes(directory / name, error)).hexdigest()
        for name in DIGESTED_FILES
        if (directory / name).exists() or (directory / name).is_symlink()
    }


def check_digests(
    directory: str | os.PathLike[str], summary: Mapping[str, Any], error: ErrorType = RunDirError
) -> None:
    """Refuse a finished run whose ``config.yaml``, ``game.npz`` or ``history.npz`` is not the file its
    ``summary.json`` recorded (``files_sha256``: edited, damaged, replaced or deleted since the run finished). Runs
    finished before issue 15 record no digests and are not checked."""
    directory = Path(directory)
    recorded = summary.get("files_sha256")
    if not isinstance(recorded, Mapping):
        return
    strict.check_keys("files_sha256", recorded, DIGESTED_FILES, "summary.json's files_sha256", error)
    for name, expected in recorded.items():
        path = directory / name
        if not (path.exists() or path.is_symlink()):
            raise error(f"{path}: missing; the run's summary.json records it — the run directory is incomplete")
        if hashlib.sha256(read_bytes(path, error)).hexdigest() != expected:
            raise error(
                f"{path}: not the file the run wrote (its SHA-256 differs from the one summary.json recorded when the "
                "run finished): it was edited, damaged or replaced — restore it, or run the config again"
            )


def summary_kind(path: str | os.PathLike[str], error: ErrorType = RunDirError) -> str:
    """``run``, ``study``, ``sweep`` or ``cell``: what a checked ``summary.json`` is."""
    data = read_summary(path, error)
    return str(data.get("kind") or ("run" if "format" in data else "cell"))


# ------------------------------------------------------------------------------------------ checkpoint.npz
CHECKPOINT_LEAF_FIELDS: dict[str, Check] = {
    "path": text,
    "shape": list_of(whole(0)),
    "dtype": text,
    "key_impl": optional(text),
}
CHECKPOINT_INFO_FIELDS: dict[str, Check] = {
    "metrics_bytes": whole(0),
    "elapsed_s": non_negative,
    "total_windows": whole(1),
    "metrics_sha256": text,
}
CHECKPOINT_HEADER_FIELDS: dict[str, Check] = {
    "format": text,
    "version": whole(1),
    "config_hash": text,
    "windows_done": whole(0),
    "info": obj,
    "leaves": list_of(obj),
    "marlkit": text,
    "jax": text,
    "digest": text,
}
"""Every field of a checkpoint's header and its type (:mod:`marlkit.experiment.checkpoint` writes it; ``info``
and each leaf are checked in turn)."""


def check_checkpoint_header(path: Path, header: Mapping[str, Any], error: ErrorType, where: str) -> None:
    """Exact types for every field of a checkpoint's header (``where``: the member's name), its ``info`` and its
    leaves; an unknown or missing field is refused (the format and version are the caller's to check)."""
    required = ("format", "version", "config_hash", "windows_done", "info", "leaves", "digest")
    check_fields(path, header, CHECKPOINT_HEADER_FIELDS, required, "a checkpoint header", error, where)
    check_fields(path, header["info"], CHECKPOINT_INFO_FIELDS, (), "a checkpoint's info", error, f"{where}.info")
    for k, leaf in enumerate(header["leaves"]):
        leaf_where = f"{where}.leaves[{k}]"
        check_fields(path, leaf, CHECKPOINT_LEAF_FIELDS, ("path", "shape", "dtype"), "a leaf", error, leaf_where)


# ------------------------------------------------------------------------------------------ metrics.jsonl
METRICS_LINE_FIELDS = ("window", "step", "seed", "episode_return", "episode_count", "reward_mean", "metrics")
"""The fields of a ``metrics.jsonl`` line (:func:`marlkit.experiment.rundir.metrics_lines`)."""


def metric_value(field: str, value: Any, error: ErrorType) -> float | str | None:
    """A ``metrics.jsonl`` number: a finite number, null (NaN) or ``"Infinity"`` / ``"-Infinity"``."""
    if value is None or value in ("Infinity", "-Infinity"):
        return value
    return strict.number(field, value, error)


def _metric_lists(field: str, value: Any, error: ErrorType) -> dict[str, list[Any]]:
    mapping = strict.mapping(field, value, error)
    return {
        strict.string(f"{field} key", k, error): list_of(metric_value)(f"{field}.{k}", v, error)
        for k, v in mapping.items()
    }


METRICS_LINE_CHECKS: dict[str, Check] = {
    "window": whole(0),
    "step": whole(0),
    "seed": whole(None),
    "episode_return": list_of(metric_value),
    "episode_count": whole(0),
    "reward_mean": list_of(metric_value),
    "metrics": _metric_lists,
}


def metrics_line(path: Path, number: int, raw: bytes | str, error: ErrorType = RunDirError) -> dict[str, Any]:
    """One ``metrics.jsonl`` line (``number`` counts from 1), parsed strictly and checked field by field."""
    try:
        entry = strict.loads_json(raw, error, f"line {number}")
        if not isinstance(entry, dict):
            raise strict.wrong(f"line {number}", "a JSON object", entry, error)
    except MarlkitError as exc:
        raise strict.prefixed(path, error, exc) from None
    check_fields(path, entry, METRICS_LINE_CHECKS, METRICS_LINE_FIELDS, "a metrics line", error, f"line {number}")
    return entry


def read_metrics_file(path: str | os.PathLike[str], error: ErrorType = RunDirError) -> list[dict[str, Any]]:
    """Every line of a ``metrics.jsonl`` (see :func:`metrics_line`); blank lines skipped."""
    path = Path(path)
    return list(_lines(path, read_bytes(path, error), error))


def _lines(path: Path, data: bytes, error: ErrorType) -> Iterator[dict[str, Any]]:
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            yield metrics_line(path, number, raw, error)


__all__ = [
    "CELL_SUMMARY_FIELDS",
    "CHECKPOINT_HEADER_FIELDS",
    "METRICS_LINE_FIELDS",
    "RUN_SUMMARY_FIELDS",
    "RUN_SUMMARY_FORMAT",
    "RunDirError",
    "check_checkpoint_header",
    "check_digests",
    "check_fields",
    "check_format",
    "file_digests",
    "metrics_line",
    "read_archive",
    "read_bytes",
    "read_json",
    "read_metrics_file",
    "read_object",
    "read_summary",
    "read_text",
    "summary_digest",
    "summary_kind",
]
