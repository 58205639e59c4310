"""Payoff inputs of the stage solvers: one floating dtype, and the per-game scale they divide by.

Every stage solver computes in the floating dtype of its input (float32 under JAX's default configuration, float64
where x64 is enabled) and divides payoffs by their largest magnitude first: equilibria, correlated equilibria and
the CE-Q objectives' maximisers are invariant to a common positive scale, and the scaled problem has its
tolerances in relative units.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def float_payoffs(*arrays: jax.Array) -> tuple[jax.Array, ...]:
    """Payoff arrays as one floating dtype: the inputs' own (float64 only where x64 is enabled), else float32."""
    arrays = tuple(jnp.asarray(a) for a in arrays)
    dtype = jnp.result_type(*arrays, jnp.float32)
    out = tuple(a.astype(dtype) for a in arrays)
    shape = out[0].shape
    if len(shape) < 2 or any(a.shape != shape for a in out):
        raise ValueError(f"payoffs: expected matrices of one shape [..., m, n], got {[a.shape for a in out]}")
    return out


def payoff_scale(*arrays: jax.Array) -> jax.Array:
    """Largest payoff magnitude per game ``[..., 1, 1]`` (1 for an all-zero game)."""
    s = jnp.max(jnp.stack([jnp.abs(a).max(axis=(-2, -1)) for a in arrays]), axis=0)
    return jnp.where(s > 0, s, 1.0)[..., None, None]
