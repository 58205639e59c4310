"""The networks deep learners share (flax linen): feed-forward torsos, a GRU torso, action masking.

* :class:`MLP` — dense layers with orthogonal initialisation (Saxe et al. 2014; the PPO implementation details of
  Huang et al. 2022: hidden gain sqrt(2), a policy head of gain 0.01, a value head of gain 1);
* :class:`RecurrentMLP` — dense -> GRU (Cho et al. 2014) -> dense, with the memory reset where an episode starts
  (the DRQN / recurrent-PPO layout; Hausknecht & Stone 2015);
* :func:`masked_logits` — illegal actions get a logit of ``-1e9`` (never sampled, zero probability);
* :func:`orthogonal` — the orthogonal initialiser, computed by modified Gram-Schmidt in plain JAX ops;
* :func:`gaussian_log_prob` / :func:`gaussian_entropy` — a diagonal Gaussian policy head over the real action
  dimensions (``mask``) of continuous (Box) actions: ``log N(a; mu, diag sigma^2) = sum_d [-(a_d - mu_d)^2 /
  (2 sigma_d^2) - log sigma_d - log(2 pi) / 2]`` and ``H = sum_d [log sigma_d + (1 + log 2 pi) / 2]``.

Why not flax's ``nn.initializers.orthogonal``: it calls LAPACK's QR, and a *batched* LAPACK call (the trainer
vmaps ``init`` over seeds and parameter sets) runs as a parallel batch map on XLA's CPU thread pool from inside
the compiled program, which deadlocked here at random (every thread waiting in ``jax::ParallelBatchMap``, 0% CPU;
seen in the CI dry run). Gram-Schmidt of a Gaussian matrix is the QR factorisation with a positive diagonal, so
its Q is Haar-distributed exactly as the QR-based initialiser's (Mezzadri 2007, §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
_ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu}
ILLEGAL_LOGIT = -1e9
LOG_2PI = float(np.log(2.0 * np.pi))


def _gram_schmidt(a: Array) -> Array:
    """Orthonormal columns of ``a [m, k]`` (``m >= k``) by Gram-Schmidt with re-orthogonalisation (Giraud et al.
    2005): the Q of ``a = QR`` with diag(R) > 0."""

    def column(j: int, q: Array) -> Array:
        v = q[:, j]
        earlier = jnp.arange(q.shape[1]) < j
        for _ in range(2):  # remove the components along columns 0..j-1, twice ("twice is enough" in float32)
            v = v - q @ jnp.where(earlier, q.T @ v, 0.0)
        return q.at[:, j].set(v / jnp.linalg.norm(v))

    return jax.lax.fori_loop(0, a.shape[1], column, a)


def orthogonal(scale: float = 1.0):
    """A flax kernel initialiser: ``scale`` x a Haar-random matrix with orthonormal rows or columns (Saxe et al.
    2014), as ``nn.initializers.orthogonal`` but without LAPACK (see the module docstring)."""

    def init(key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        tall = (max(rows, cols), min(rows, cols))
        q = _gram_schmidt(jax.random.normal(key, tall, jnp.float32))
        q = q if rows >= cols else q.T
        return (scale * q).reshape(shape).astype(dtype)

    return init


def activation(name: str):
    """The activation function called ``name`` ("tanh" or "relu")."""
    return _ACTIVATIONS[name]


def masked_logits(logits: Array, mask: Array) -> Array:
    """``logits`` with illegal actions (``mask`` False) set to ``-1e9``."""
    return jnp.where(mask, logits, ILLEGAL_LOGIT)


def masked_argmax(values: Array, mask: Array) -> Array:
    """Greedy legal action along the last axis (int32)."""
    return jnp.argmax(jnp.where(mask, values, -jnp.inf), axis=-1).astype(jnp.int32)


def gaussian_log_prob(x: Array, mean: Array, log_std: Array, mask: Array) -> Array:
    """``log N(x; mean, diag exp(log_std)^2)`` over the dimensions where ``mask`` (``[..., D] -> [...]``; padding
    dimensions contribute 0). The density of the unbounded sample: marlkit's Gaussian policies are clipped by the
    env, not squashed, so no Jacobian term enters (:mod:`marlkit.agents.deep.ppo`)."""
    z = (x - mean) * jnp.exp(-log_std)
    return jnp.sum(jnp.where(mask, -0.5 * z * z - log_std - 0.5 * LOG_2PI, 0.0), axis=-1)


def gaussian_entropy(log_std: Array, mask: Array) -> Array:
    """Differential entropy ``sum_d [log sigma_d + (1 + log 2 pi) / 2]`` of the diagonal Gaussian over the
    dimensions where ``mask`` (``[..., D] -> [...]``)."""
    return jnp.sum(jnp.where(mask, log_std + 0.5 * (1.0 + LOG_2PI), 0.0), axis=-1)


def forward(module: nn.Module, params: Any, *inputs: Any) -> Array:
    """``module.apply(params, *inputs)`` of a module whose output is one array (no ``mutable`` collections).

    flax annotates every ``Module.apply`` as returning ``Any | tuple[Any, FrozenDict]`` because a call with
    ``mutable=...`` also returns the updated collections; a call without it returns the module's own output, so the
    cast states what flax's annotation cannot.
    """
    return cast(Array, module.apply(params, *inputs))


def forward_recurrent(module: nn.Module, params: Any, memory: Any, x: Array, first: Array) -> tuple[Any, Array]:
    """``module.apply(params, memory, x, first) -> (memory, out)`` of a recurrent module such as
    :class:`RecurrentMLP` (see :func:`forward` for why flax's annotation needs the cast)."""
    return cast(tuple[Any, Array], module.apply(params, memory, x, first))


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
            x = fn(nn.Dense(width, kernel_init=orthogonal(np.sqrt(2.0)))(x))
        return nn.Dense(self.out, kernel_init=orthogonal(self.head_gain))(x)


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
        x = fn(nn.Dense(self.hidden, kernel_init=orthogonal(np.sqrt(2.0)))(x))
        memory = jnp.where(first[..., None], jnp.zeros_like(memory), memory)
        memory, x = nn.GRUCell(self.hidden, recurrent_kernel_init=orthogonal())(memory, x)
        x = fn(nn.Dense(self.hidden, kernel_init=orthogonal(np.sqrt(2.0)))(x))
        return memory, nn.Dense(self.out, kernel_init=orthogonal(self.head_gain))(x)


__all__ = [
    "ILLEGAL_LOGIT",
    "LOG_2PI",
    "MLP",
    "RecurrentMLP",
    "activation",
    "forward",
    "forward_recurrent",
    "gaussian_entropy",
    "gaussian_log_prob",
    "masked_argmax",
    "masked_logits",
    "orthogonal",
]
