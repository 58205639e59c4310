"""Checkpoints: a training state pytree as NPZ (no pickle) with a JSON header, written atomically.

Layout of ``checkpoint.npz``: one array per leaf (``leaf_00000``, ... in the pytree's flattening order) and
``__header__``, a JSON string with

* ``format`` (``"marlkit.checkpoint"``) and ``version`` (:data:`VERSION`): what reads it;
* ``config_hash``: the run config it belongs to (:func:`marlkit.experiment.config.config_hash`);
* ``windows_done``: logging windows completed when it was taken, and ``info`` (the run directory's bookkeeping,
  e.g. how many bytes of ``metrics.jsonl`` belong to those windows);
* ``leaves``: every leaf's path name in the tree (``jax.tree_util.keystr``), shape and dtype; PRNG keys are
  stored as their key data (``uint32``) with the key implementation's name, and rebuilt with
  ``jax.random.wrap_key_data``;
* ``digest``: SHA-256 of every leaf's bytes and of the rest of the header (its canonical JSON), so silent
  corruption — or an edit of ``windows_done`` or ``info`` — is caught as well as a torn file. Version 1
  checkpoints (marlkit before issue 15) digest the leaves only and are still read.

:func:`load_checkpoint` checks all of it against the state the run expects (its tree structure, shapes and
dtypes) and raises :class:`CheckpointError` with a one-line reason for a missing, corrupt, truncated or foreign
(other format, version or config) checkpoint. One checkpoint is kept per run; the next one replaces it atomically
(:func:`marlkit.atomic.write_with`), so a kill at any moment leaves the previous or the new one whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit import __version__, strict
from marlkit.atomic import write_with
from marlkit.errors import MarlkitError
from marlkit.experiment.runfiles import check_checkpoint_header, read_archive

FORMAT = "marlkit.checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 1 digested the arrays only; version 2 also the header."""
HEADER = "__header__"


class CheckpointError(MarlkitError, ValueError):
    """A checkpoint that cannot resume this run: missing, corrupt, truncated, or from another format or config."""


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded checkpoint: the ``state`` pytree (JAX arrays), the windows it covers and its bookkeeping."""

    state: Any
    windows_done: int
    config_hash: str
    info: Mapping[str, Any] = field(default_factory=dict)


def _is_key(leaf: Any) -> bool:
    return jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _leaf_entries(state: Any) -> list[tuple[str, Any]]:
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]]


def _describe(name: str, leaf: Any) -> dict[str, Any]:
    """What must match between a stored leaf and the run's: its path, shape and dtype (``key<fry>`` for keys)."""
    return {"path": name, "shape": [int(d) for d in leaf.shape], "dtype": str(leaf.dtype)}


def _digest(arrays: list[np.ndarray], header: Mapping[str, Any] | None) -> str:
    """SHA-256 of the arrays' bytes, then (version 2) of the header without its digest as canonical JSON."""
    h = hashlib.sha256()
    for array in arrays:
        h.update(np.ascontiguousarray(array).tobytes())
    if header is not None:
        rest = {k: v for k, v in header.items() if k != "digest"}
        h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return h.hexdigest()


def save_checkpoint(
    path: str | os.PathLike[str],
    state: Any,
    *,
    config_hash: str,
    windows_done: int,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``state`` (a pytree of arrays; PRNG keys allowed) atomically to ``path``; returns the path."""
    entries = _leaf_entries(state)
    arrays = [np.asarray(jax.random.key_data(leaf)) if _is_key(leaf) else np.asarray(leaf) for _, leaf in entries]
    header = {
        "format": FORMAT,
        "version": VERSION,
        "config_hash": config_hash,
        "windows_done": int(windows_done),
        "info": dict(info or {}),
        "leaves": [
            {**_describe(name, leaf), "key_impl": str(jax.random.key_impl(leaf)) if _is_key(leaf) else None}
            for name, leaf in entries
        ],
        "marlkit": __version__,
        "jax": jax.__version__,
    }
    header["digest"] = _digest(arrays, header)
    payload: dict[str, Any] = {f"leaf_{i:05d}": array for i, array in enumerate(arrays)}
    payload[HEADER] = np.array(json.dumps(header))
    return write_with(Path(path), lambda handle: np.savez(handle, **payload))


def _member(name: str) -> bool:
    return name == HEADER or (name.startswith("leaf_") and name[5:].isdigit() and len(name) == len("leaf_00000"))


def _unknown(name: str) -> str:
    return f"archive member {strict.shorten(name)}: not part of a checkpoint (leaf_NNNNN arrays and {HEADER})"


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checked header and the arrays of a checkpoint, read on the strict boundary
    (:func:`marlkit.experiment.runfiles.read_archive`): exact types for every header field, no unknown field."""
    if not path.exists() and not path.is_symlink():
        raise CheckpointError(f"{path}: no checkpoint there")
    try:  # every member is read (with the size limits) before unknown ones are named: "no __header__" first
        header, contents = read_archive(
            path, CheckpointError, allowed=lambda name: True, describe=_unknown, header=HEADER
        )
    except CheckpointError as exc:
        message = str(exc).removeprefix(f"{path}: ")
        if message.startswith(f"no {HEADER}"):
            raise CheckpointError(f"{path}: not a marlkit checkpoint (no {HEADER} entry)") from None
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({message})") from None
    unknown = next((name for name in contents if not _member(name)), None)
    if unknown is not None:
        raise CheckpointError(f"{path}: {_unknown(unknown)}")
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a marlkit checkpoint (format {strict.shorten(header.get('format'))}, expected {FORMAT!r})"
        )
    if type(header.get("version")) is not int or header.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: checkpoint format version {strict.shorten(header.get('version'))}; this marlkit ({__version__}) "
            f"reads versions {', '.join(map(str, READABLE_VERSIONS))}"
        )
    check_checkpoint_header(path, header, CheckpointError, HEADER)
    return header, contents


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON header of a checkpoint (format, version, config hash, windows done, info, leaves)."""
    return _read(Path(path))[0]


def load_checkpoint(path: str | os.PathLike[str], like: Any, *, config_hash: str | None = None) -> Checkpoint:
    """Read a checkpoint whose state has the structure, shapes and dtypes of ``like`` (arrays or
    ``jax.ShapeDtypeStruct``s, e.g. ``jax.eval_shape`` of the run's ``start``).

    Raises:
        CheckpointError: missing, corrupt or truncated; another format or version; another config
            (``config_hash`` differs, when given); or a state that does not match ``like``.
    """
    path = Path(path)
    header, contents = _read(path)
    if config_hash is not None and header.get("config_hash") != config_hash:
        raise CheckpointError(
            f"{path}: checkpoint of another config (hash {str(header.get('config_hash'))[:12]}..., this run "
            f"{config_hash[:12]}...); it cannot resume this run"
        )
    expected_entries = _leaf_entries(like)
    expected = [_describe(name, leaf) for name, leaf in expected_entries]
    stored = header.get("leaves")
    if isinstance(stored, list) and all(isinstance(leaf, dict) for leaf in stored):
        impls = [leaf.get("key_impl") for leaf in stored]
        stored = [{k: v for k, v in leaf.items() if k != "key_impl"} for leaf in stored]
    if stored != expected:
        difference = _first_difference(stored, expected)
        raise CheckpointError(f"{path}: checkpoint state does not match this run ({difference})")
    try:
        arrays = [contents[f"leaf_{i:05d}"] for i in range(len(expected))]
    except KeyError as exc:
        raise CheckpointError(f"{path}: corrupt checkpoint (missing array {exc})") from None
    if header.get("digest") != _digest(arrays, header if header["version"] >= 2 else None):
        raise CheckpointError(
            f"{path}: corrupt or edited checkpoint (its arrays and header do not match its SHA-256 digest)"
        )
    leaves = []
    for array, meta, impl in zip(arrays, expected, impls, strict=True):
        if impl is not None:
            try:
                leaves.append(jax.random.wrap_key_data(jnp.asarray(array), impl=impl))
            except (TypeError, ValueError) as exc:
                raise CheckpointError(f"{path}: corrupt checkpoint (key leaf {meta['path']}: {exc})") from None
            continue
        if list(array.shape) != meta["shape"] or str(array.dtype) != meta["dtype"]:
            raise CheckpointError(f"{path}: corrupt checkpoint (leaf {meta['path']} has the wrong shape or dtype)")
        leaves.append(jax.numpy.asarray(array))
    state = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)
    return Checkpoint(
        state=state,
        windows_done=int(header["windows_done"]),
        config_hash=str(header["config_hash"]),
        info=dict(header.get("info") or {}),
    )


def _first_difference(stored: Any, expected: list[dict[str, Any]]) -> str:
    if not isinstance(stored, list):
        return "no leaf list in the header"
    for a, b in zip(stored, expected, strict=False):
        if a != b:
            return f"leaf {b['path']}: stored {a.get('shape')} {a.get('dtype')}, expected {b['shape']} {b['dtype']}"
    return f"{len(stored)} leaves stored, {len(expected)} expected"


__all__ = ["FORMAT", "VERSION", "Checkpoint", "CheckpointError", "load_checkpoint", "read_header", "save_checkpoint"]
