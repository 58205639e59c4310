"""A fixed-capacity experience replay buffer as a pytree (Lin 1992; Mnih et al. 2015, "Human-level control through
deep reinforcement learning", Algorithm 1): a ring of the last ``capacity`` items, sampled uniformly.

Everything is a pure function of an explicit :class:`ReplayBuffer` and jittable (static shapes; ``vmap`` over
seeds batches whole buffers):

* :func:`replay_init` ``(example, capacity)`` — storage shaped ``[capacity, *leaf.shape]`` for every leaf of an
  example item (any pytree: a NamedTuple of arrays), filled with zeros;
* :func:`replay_add` ``(buffer, items)`` — append ``B`` items (leaves ``[B, ...]``) at the write position,
  wrapping around and overwriting the oldest once full;
* :func:`replay_sample` ``(buffer, key, batch_size)`` — ``batch_size`` items drawn uniformly with replacement
  from the ``size`` filled slots.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from marlkit.errors import LearnerConfigError

Array = jax.Array


class ReplayBuffer(NamedTuple):
    """Storage (leaves ``[capacity, ...]``), the next write index and how many slots hold data."""

    data: Any
    position: Array  # [] int32, in 0..capacity-1
    size: Array  # [] int32, in 0..capacity


def capacity(buffer: ReplayBuffer) -> int:
    """The buffer's capacity (static: the leading dimension of its storage)."""
    return int(jax.tree_util.tree_leaves(buffer.data)[0].shape[0])


def replay_init(example: Any, capacity: int) -> ReplayBuffer:
    """An empty buffer for items shaped like ``example`` (a pytree of arrays, one item, no batch axis)."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise LearnerConfigError(f"replay buffer: capacity must be a positive integer, got {capacity!r}")
    data = jax.tree_util.tree_map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    return ReplayBuffer(data, jnp.int32(0), jnp.int32(0))


def replay_add(buffer: ReplayBuffer, items: Any) -> ReplayBuffer:
    """``buffer`` with the ``B`` items of ``items`` (leaves ``[B, ...]``) written in order at the write position;
    the oldest items are overwritten once the buffer is full. ``B`` must not exceed the capacity."""
    size = capacity(buffer)
    count = int(jax.tree_util.tree_leaves(items)[0].shape[0])
    if count > size:
        raise LearnerConfigError(
            f"replay buffer: cannot add {count} items at once to a buffer of capacity {size}; raise buffer_size to at "
            f"least {count} (rollout_length x num_envs)"
        )
    index = (buffer.position + jnp.arange(count, dtype=jnp.int32)) % size
    data = jax.tree_util.tree_map(lambda store, new: store.at[index].set(new.astype(store.dtype)), buffer.data, items)
    return ReplayBuffer(data, (buffer.position + count) % size, jnp.minimum(buffer.size + count, size))


def replay_sample(buffer: ReplayBuffer, key: Array, batch_size: int) -> Any:
    """``batch_size`` items drawn uniformly with replacement from the filled slots (leaves ``[batch_size, ...]``).

    From an empty buffer it returns copies of slot 0 (zeros): callers check ``buffer.size`` before learning.
    """
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree_util.tree_map(lambda store: store[index], buffer.data)


__all__ = ["ReplayBuffer", "capacity", "replay_add", "replay_init", "replay_sample"]
