"""The seed keys of a run (:func:`marlkit.train.inputs.seed_keys`): computed in NumPy for integer keys, so that
starting a run compiles no small programs, and equal bit for bit to JAX's ``fold_in`` of the base key."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.errors import InvalidGameError
from marlkit.train.inputs import base_key, seed_keys


def jax_seed_keys(key: int, ids: np.ndarray) -> np.ndarray:
    """The oracle: JAX's own ``key`` and ``fold_in`` (the formulation the trainers used before)."""
    base = base_key(key)
    return np.asarray(jax.random.key_data(jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(ids))))


@pytest.mark.parametrize("key", [0, 1, 7, 12345, 2**31 - 1])
def test_numpy_seed_keys_equal_jax_fold_in(key: int) -> None:
    ids = np.array([0, 1, 2, 3, 99, 2**16 + 3, 2**31 + 5, 2**32 - 1], dtype=np.uint32)
    keys = seed_keys(key, ids)
    assert jnp.issubdtype(keys.dtype, jax.dtypes.prng_key) and keys.shape == (ids.size,)
    np.testing.assert_array_equal(np.asarray(jax.random.key_data(keys)), jax_seed_keys(key, ids))
    # the keys drive JAX's samplers exactly as the fold_in keys do
    draws = jax.vmap(lambda k: jax.random.uniform(k, (3,)))(keys)
    oracle = jax.vmap(lambda k: jax.random.uniform(k, (3,)))(jax.random.wrap_key_data(jax_seed_keys(key, ids)))
    np.testing.assert_array_equal(np.asarray(draws), np.asarray(oracle))


def test_keys_outside_the_numpy_path_fall_back_to_jax() -> None:
    ids = np.arange(4, dtype=np.uint32)
    for key in (2**31, 2**40, -3):  # outside [0, 2**31): JAX's own conversion of the seed
        expected = np.asarray(
            jax.random.key_data(jax.vmap(lambda i, k=key: jax.random.fold_in(jax.random.key(k), i))(ids))
        )
        np.testing.assert_array_equal(np.asarray(jax.random.key_data(seed_keys(key, ids))), expected)
    given = jax.random.key(5)  # a JAX key is used as it is
    np.testing.assert_array_equal(np.asarray(jax.random.key_data(seed_keys(given, ids))), jax_seed_keys(5, ids))
    with pytest.raises(InvalidGameError, match="key: expected an integer seed"):
        seed_keys("5", ids)  # type: ignore[arg-type]
