"""The networks deep learners share (flax linen): feed-forward torsos, a GRU torso, action masking.

* :class:`MLP` — dense layers with orthogonal initialisation (Saxe et al. 2014; the PPO implementation details of
  Huang et al. 2022: hidden gain sqrt(2), a policy head of gain 0.01, a value head of gain 1);
* :class:`RecurrentMLP` — dense -> GRU (Cho et al. 2014) -> dense, with the memory reset where an episode starts
  (the DRQN / recurrent-PPO layout; Hausknecht & Stone 2015);
* :func:`masked_logits` — illegal actions get a logit of ``-1e9`` (never sampled, zero probability).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
_ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu}
ILLEGAL_LOGIT = -1e9


def activation(name: str):
    """The activation function called ``name`` ("tanh" or "relu")."""
    return _ACTIVATIONS[name]


def masked_logits(logits: Array, mask: Array) -> Array:
    """``logits`` with illegal actions (``mask`` False) set to ``-1e9``."""
    return jnp.where(mask, logits, ILLEGAL_LOGIT)


def masked_argmax(values: Array, mask: Array) -> Array:
    """Greedy legal action along the last axis (int32)."""
    return jnp.argmax(jnp.where(mask, values, -jnp.inf), axis=-1).astype(jnp.int32)


class MLP(nn.Module):
    """``hidden`` dense layers (orthogonal init, gain sqrt 2) then a linear head of ``out`` units (gain
    ``head_gain``); biases start at zero."""

    hidden: Sequence[int]
    out: int
    act: str = "tanh"
    head_gain: float = 1.0

    @nn.compact
    def __call__(self, x: Array) -> Array:
        fn = activation(self.act)
        for width in self.hidden:
            x = fn(nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2.0)))(x))
        return nn.Dense(self.out, kernel_init=nn.initializers.orthogonal(self.head_gain))(x)


class RecurrentMLP(nn.Module):
    """Dense(``hidden``) -> GRU(``hidden``) -> Dense(``hidden``) -> linear head of ``out`` units.

    ``__call__(memory [..., H], x [..., d], first [...]) -> (memory, out)``: one step; the memory is zeroed where
    ``first`` (a new episode) before the GRU reads it.
    """

    hidden: int
    out: int
    act: str = "tanh"
    head_gain: float = 1.0

    @nn.compact
    def __call__(self, memory: Array, x: Array, first: Array) -> tuple[Array, Array]:
        fn = activation(self.act)
        x = fn(nn.Dense(self.hidden, kernel_init=nn.initializers.orthogonal(np.sqrt(2.0)))(x))
        memory = jnp.where(first[..., None], jnp.zeros_like(memory), memory)
        memory, x = nn.GRUCell(self.hidden)(memory, x)
        x = fn(nn.Dense(self.hidden, kernel_init=nn.initializers.orthogonal(np.sqrt(2.0)))(x))
        return memory, nn.Dense(self.out, kernel_init=nn.initializers.orthogonal(self.head_gain))(x)


__all__ = ["ILLEGAL_LOGIT", "MLP", "RecurrentMLP", "activation", "masked_argmax", "masked_logits"]
