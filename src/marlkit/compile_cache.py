"""JAX's persistent compilation cache, turned on by every marlkit entry point that compiles.

XLA's compile of a training loop costs seconds (most of a small run's wall time); JAX can keep the compiled
programs on disk and load them in a later process instead (https://docs.jax.dev/en/latest/persistent_compilation_cache.html).
marlkit's commands (``marlkit learn``, ``run``, ``resume``, ``sweep``, ``study``, ``diagnose``, ...) turn it on;
in Python it is one call, before the first compile::

    from marlkit.compile_cache import enable_compilation_cache
    enable_compilation_cache()        # ~/.cache/marlkit/jax, or $MARLKIT_JAX_CACHE

Where: ``~/.cache/marlkit/jax`` by default (or JAX's own ``JAX_COMPILATION_CACHE_DIR`` where that is set);
``MARLKIT_JAX_CACHE=/some/folder`` moves it; ``MARLKIT_JAX_CACHE=off``
(or ``0``, ``false``, ``no``, ``none``) leaves JAX's cache as JAX's own settings have it (off unless
``JAX_COMPILATION_CACHE_DIR`` is set). Only programs whose compile took at least ``min_compile_seconds`` are
written (:data:`MIN_COMPILE_SECONDS`), so the many tiny programs of array operations do not fill the folder.

Reusing an entry gives the very program XLA compiled before (the cache key covers the program text, the
compile options, the XLA flags, the JAX version and the device), so results are bit-for-bit those of a fresh
compile. The folder grows without bound (JAX's ``JAX_COMPILATION_CACHE_MAX_SIZE=<bytes>`` bounds it, evicting
the least recently used entries under a file lock; it needs the ``filelock`` package); deleting it is always
safe.

Concurrent processes (sweep workers, several terminals) may share one folder. JAX (0.10) writes an entry with
one plain write, not a write-then-rename: a process that reads an entry while another is still writing it reads
a truncated, compressed entry, fails the decompressor's integrity check, warns ("Error reading persistent
compilation cache entry") and compiles the program itself — a wasted compile, never a wrong program. Writers
of one key write the same program. (Checked here: three processes compiling one training loop into an empty
folder at once, then three loading it at once: no warning, identical results.)

When JAX is not imported yet, the settings go into JAX's own environment variables
(``JAX_COMPILATION_CACHE_DIR``, ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``), which JAX reads on import, so a
command that never compiles does not pay for importing JAX, and worker processes started later inherit the cache.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "MARLKIT_JAX_CACHE"
"""The environment variable that moves the cache (a folder) or turns marlkit's use of it off (:data:`OFF`)."""

OFF = frozenset({"off", "0", "false", "no", "none"})
"""Values of :data:`ENV_VAR` (any case) that keep marlkit from turning the cache on."""

MIN_COMPILE_SECONDS = 0.1
"""Programs that compiled faster are not written: loading an entry costs tens of milliseconds (read, decompress,
deserialise), so caching programs that compile in less gains nothing and fills the folder with JAX's many tiny
programs of single array operations."""


def default_folder() -> Path:
    """``~/.cache/marlkit/jax``: where the cache lives unless :data:`ENV_VAR` says otherwise."""
    return Path.home() / ".cache" / "marlkit" / "jax"


def cache_folder() -> Path | None:
    """The folder :func:`enable_compilation_cache` uses: :data:`ENV_VAR` if set, else JAX's own
    ``JAX_COMPILATION_CACHE_DIR`` if set, else :func:`default_folder`; None when :data:`ENV_VAR` is one of
    :data:`OFF`."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value.lower() in OFF:
        return None
    if not value:
        value = os.environ.get("JAX_COMPILATION_CACHE_DIR", "").strip()
    return Path(value).expanduser() if value else default_folder()


def enable_compilation_cache(min_compile_seconds: float = MIN_COMPILE_SECONDS) -> Path | None:
    """Turn on JAX's persistent compilation cache in :func:`cache_folder` for this process (and the processes it
    starts later) and return the folder; None, changing nothing, when the cache is off or its folder cannot be
    created (compiling then works as usual). Call it before the first compile; calling it again is harmless."""
    folder = cache_folder()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(float(min_compile_seconds))
    if "jax" in sys.modules:  # already imported: it read its environment; set its config instead
        import jax

        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_seconds))
    return folder


__all__ = ["ENV_VAR", "MIN_COMPILE_SECONDS", "OFF", "cache_folder", "default_folder", "enable_compilation_cache"]
