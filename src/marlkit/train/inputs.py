"""Checks of a training run's inputs shared by the tabular loop and the deep trainer (errors say how to fix them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.threefry import hash_2x32  # also gives XLA's CPU backend the faster lowering of the hash

Array = jax.Array


def check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < minimum:
        raise InvalidGameError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def seed_ids(seeds: int | Sequence[int]) -> np.ndarray:
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        if int(seeds) < 1:
            raise InvalidGameError(f"seeds: expected at least 1 seed, got {seeds}")
        return np.arange(int(seeds), dtype=np.uint32)
    ids = np.asarray(seeds)
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu" or np.any(ids < 0) or np.any(ids >= 2**32):
        raise InvalidGameError(f"seeds: expected a count >= 1 or a non-empty list of seed indices >= 0, got {seeds!r}")
    if len(np.unique(ids)) != ids.size:
        raise InvalidGameError(f"seeds: seed indices must be distinct, got {ids.tolist()}")
    return ids.astype(np.uint32)


def base_key(key: int | Array) -> Array:
    if isinstance(key, int | np.integer) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
        return key
    if isinstance(key, jax.Array) and key.dtype == jnp.uint32 and key.shape == (2,):
        return jax.random.wrap_key_data(key)
    raise InvalidGameError(f"key: expected an integer seed or a single JAX PRNG key, got {key!r}")


def seed_keys(key: int | Array, ids: np.ndarray) -> Array:
    """One PRNG key per seed index: ``fold_in(base_key(key), i)`` for each ``i`` of ``ids`` (``[N]`` keys).

    With an integer ``key`` in ``[0, 2**31)`` (the default threefry PRNG) the keys are computed in NumPy — JAX's
    ``key(k)`` is the key data ``(0, k)`` and ``fold_in(k, i)`` is Threefry-2x32 of the counter pair ``(0, i)``
    under it (:func:`marlkit.threefry.hash_2x32`) — so that starting a run compiles no small eager programs;
    equal, bit for bit, to ``jax.vmap(lambda i: jax.random.fold_in(base_key(key), i))(ids)``
    (``tests/train/test_inputs.py``)."""
    ids = np.asarray(ids, dtype=np.uint32)
    plain_int = isinstance(key, int | np.integer) and not isinstance(key, bool) and 0 <= int(key) < 2**31
    if plain_int and jax.config.values["jax_default_prng_impl"] == "threefry2x32":
        y0, y1 = hash_2x32(np.uint32(0), np.uint32(key), np.zeros_like(ids), ids)
        return jax.random.wrap_key_data(jax.device_put(np.stack([y0, y1], axis=-1)))
    base = base_key(key)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(ids))


def check_windows(first_window: int, num_windows: int, num_logs: int) -> tuple[int, int]:
    """Validate a span of logging windows ``first_window .. first_window + num_windows - 1`` of ``num_logs``."""
    first_window = check_int("first_window", first_window, 0)
    num_windows = check_int("num_windows", num_windows, 1)
    if first_window + num_windows > num_logs:
        raise InvalidGameError(
            f"windows {first_window}..{first_window + num_windows - 1} run past the plan's {num_logs} windows"
        )
    return first_window, num_windows


def merge_records(records: Any, n_seeds: int, num_logs: int) -> tuple[Any, int]:
    """Concatenate the records of consecutive windows (one record, or a sequence of them; leaves ``[N, W_k, ...]``)
    along the window axis; returns ``(merged, W)`` after checking they fit ``n_seeds`` x ``num_logs``."""
    parts = [records] if hasattr(records, "_fields") else list(records)  # a NamedTuple is one record
    if not parts:
        raise InvalidGameError("to_history: no records given")
    merged = jax.tree_util.tree_map(lambda *xs: np.concatenate([np.asarray(x) for x in xs], axis=1), *parts)
    seeds, num_windows = (int(d) for d in np.shape(merged.episode_count)[:2])
    if num_windows > num_logs or seeds != n_seeds:
        raise InvalidGameError(
            f"to_history: records of {seeds} seeds x {num_windows} windows do not fit a plan of {n_seeds} seeds x "
            f"{num_logs} windows"
        )
    return merged, num_windows


def state_bytes(shapes: Any) -> int:
    """Bytes of a pytree of arrays (or their shapes); a PRNG key counts as its 8 bytes of key data."""
    return sum(
        math.prod(x.shape) * (8 if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x.dtype.itemsize)
        for x in jax.tree_util.tree_leaves(shapes)
    )


__all__ = [
    "base_key",
    "check_int",
    "check_windows",
    "merge_records",
    "seed_ids",
    "seed_keys",
    "state_bytes",
]
