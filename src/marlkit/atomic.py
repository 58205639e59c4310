"""Atomic, durable file writes: a temp file in the same folder, flushed and fsynced, then ``os.replace``.

A reader (or a resumed run) sees either the old file or the whole new one, never a torn write; a crash leaves at
most a hidden ``.NAME.*.tmp`` file, which the run directory ignores. Files get mode 0o666 less the umask, as
``open`` would give them (not ``mkstemp``'s 0o600), so results are as readable as any other file the user writes.

This module is a leaf like :mod:`marlkit.errors`: every floor of the house writes its files through it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_with(path: str | os.PathLike[str], write: Callable[[IO[Any]], None], mode: str = "wb") -> Path:
    """Write ``path`` atomically with ``write(handle)`` (``mode`` "wb" or "w"); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)
    return path


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text atomically."""

    def write(handle: IO[Any]) -> None:
        handle.write(text.encode("utf-8"))

    return write_with(path, write)


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


__all__ = ["sync_folder", "write_text", "write_with"]
