"""Atomic, durable file writes: a temp file in the same folder, flushed and fsynced, then ``os.replace``.

A reader (or a resumed run) sees either the old file or the whole new one, never a torn write; a crash leaves at
most a hidden ``.NAME.*.tmp`` file, which the run directory ignores.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_with(path: Path, write: Callable[[IO[Any]], None], mode: str = "wb") -> Path:
    """Write ``path`` atomically with ``write(handle)``; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_folder(path.parent)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_with(path, lambda handle: handle.write(text.encode("utf-8")))


def sync_folder(folder: Path) -> None:
    """fsync a folder so a rename or a new file in it survives a power cut (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
