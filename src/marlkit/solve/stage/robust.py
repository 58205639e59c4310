"""The inner minimum of robust Bellman operators over (s, a)-rectangular transition balls, in closed form (JAX).

Robust dynamic programming (Iyengar 2005, "Robust dynamic programming", Math. Oper. Res. 30(2); Nilim & El Ghaoui
2005, "Robust control of Markov decision processes with uncertain transition matrices", Oper. Res. 53(5)) replaces
the expectation ``p0 · V`` of the Bellman operator by its worst case over a set around the nominal next-state
distribution ``p0 = T(· | s, a)``:

    σ(p0, V) = min { p · V : p ∈ Δ(S), ||p − p0|| <= δ }.

For the two balls of :class:`~marlkit.games.uncertainty.ModelUncertainty` the minimum is a greedy transport:

* **L1** (the mirror image of the optimistic inner maximum of MBIE: Strehl & Littman 2008, "An analysis of
  model-based interval estimation for Markov decision processes", J. Comput. Syst. Sci. 74(8)): move up to δ/2 of
  mass from the highest-value successors
  (highest first, each at most its own mass) onto a lowest-value successor:
  ``σ = p0 · V − Σ_k r_k (V_k − V_min)`` with ``r_k`` the mass taken from k in decreasing order of V.
* **L∞** (a box ``p_k ∈ [max(p0_k − δ, 0), min(p0_k + δ, 1)]`` with ``Σ_k p_k = 1``): start every p_k at its lower
  bound and fill the missing mass into the successors in increasing order of V, each up to its upper bound (the
  fractional-knapsack greedy is optimal for one equality over a box).

Both are exact (the LP's optimum, checked against SciPy HiGHS in ``tests/agents/tabular/test_robust_q.py``) and
reduce to ``p0 · V`` bit for bit at δ = 0. Pure JAX, batched over leading axes, jittable; float32 in the learners.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array

NORMS = ("l1", "linf")
"""The transition-ball norms :func:`worst_expectation` solves in closed form."""


def _l1(nominal: Array, values: Array, radius: Array) -> Array:
    order = jnp.argsort(-values, axis=-1)  # highest value first
    v = jnp.take_along_axis(values, order, axis=-1)
    p = jnp.take_along_axis(nominal, order, axis=-1)
    budget = radius[..., None] / 2.0
    before = jnp.cumsum(p, axis=-1) - p  # mass of the higher-value successors
    removed = jnp.clip(budget - before, 0.0, p)
    low = jnp.min(values, axis=-1, keepdims=True)
    return jnp.sum(nominal * values, axis=-1) - jnp.sum(removed * (v - low), axis=-1)


def _linf(nominal: Array, values: Array, radius: Array) -> Array:
    delta = radius[..., None]
    lower = jnp.maximum(nominal - delta, 0.0)
    upper = jnp.minimum(nominal + delta, 1.0)
    missing = jnp.sum(nominal - lower, axis=-1, keepdims=True)  # exactly 0 at δ = 0
    order = jnp.argsort(values, axis=-1)  # lowest value first
    v = jnp.take_along_axis(values, order, axis=-1)
    room = jnp.take_along_axis(upper - lower, order, axis=-1)
    before = jnp.cumsum(room, axis=-1) - room
    added = jnp.clip(missing - before, 0.0, room)
    return jnp.sum(nominal * values, axis=-1) - jnp.sum((nominal - lower) * values, axis=-1) + jnp.sum(added * v, -1)


def worst_expectation(nominal: Array, values: Array, radius: Array | float, norm: str = "l1") -> Array:
    """``min { p · values : p ∈ Δ(S), ||p − nominal||_norm <= radius }`` for every row (module docstring).

    Args:
        nominal: ``[..., S]`` next-state distributions (rows of the nominal or empirical model).
        values: ``[S]`` (or ``[..., S]``) successor values V(s').
        radius: δ >= 0, a number or ``[...]`` (one per row).
        norm: ``"l1"`` or ``"linf"`` (static).

    Returns:
        ``[...]`` the worst-case expectations σ(nominal, values).
    """
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
    nominal = jnp.asarray(nominal)
    values = jnp.broadcast_to(jnp.asarray(values, nominal.dtype), nominal.shape)
    radius = jnp.broadcast_to(jnp.asarray(radius, nominal.dtype), nominal.shape[:-1])
    return _l1(nominal, values, radius) if norm == "l1" else _linf(nominal, values, radius)


__all__ = ["NORMS", "worst_expectation"]
