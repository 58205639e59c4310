"""Closed-form inner minimisations of (s, a)-rectangular transition sets (Iyengar 2005; Nilim & El Ghaoui 2005).

For a nominal next-state distribution ``p0`` (one row ``T(·|s, a)``), successor values ``v`` and a radius δ, the
robust Bellman operator needs ``σ(p0, v) = min { p · v : p ∈ Δ(S), ||p - p0|| <= δ }``. Both balls used here have a
greedy solution (Iyengar 2005, "Robust dynamic programming", Math. Oper. Res. 30(2), §4, Lemmas 4.1-4.2; Nilim &
El Ghaoui 2005, "Robust control of Markov decision processes with uncertain transition matrices", Oper. Res.
53(5), §4):

* **L1 ball** ``||p - p0||_1 <= δ``: moving mass m from a successor to another changes the L1 distance by 2m, so
  the minimiser adds ``m = min(δ/2, 1 - p0(s_min))`` to a lowest-value successor ``s_min`` and removes the same m
  from the highest-value successors in decreasing order of value (each down to 0);
* **L∞ ball** ``|p(s') - p0(s')| <= δ``: every ``p(s')`` lies in ``[l, u] = [max(0, p0 - δ), min(1, p0 + δ)]``;
  start from ``l`` and hand the missing mass ``1 - Σ l`` to the successors in increasing order of value, each up to
  its ``u`` (a fractional knapsack; the greedy is optimal because the objective is linear and the constraints are
  a box plus one equality).

Both are checked against the LP of the inner problem (``scipy.optimize.linprog``) in tests/solve/test_robust_inner.py.
Terminal (absorbing) states are the caller's: pass their values as 0.
"""

from __future__ import annotations

import numpy as np

from marlkit.errors import InvalidGameError

NORMS = ("l1", "linf")

__all__ = ["NORMS", "worst_distribution", "worst_expectation"]


def worst_distribution(nominal: np.ndarray, values: np.ndarray, radius: float | np.ndarray, norm: str) -> np.ndarray:
    """``argmin_{p ∈ Δ, ||p - nominal||_norm <= radius} p · values`` for every row of ``nominal``.

    Args:
        nominal: ``[..., S]`` nominal distributions (rows summing to 1).
        values: ``[S]`` successor values (shared by every row).
        radius: δ >= 0, a number or one per row (broadcast to ``nominal.shape[:-1]``).
        norm: ``"l1"`` or ``"linf"``.

    Returns:
        ``[..., S]`` the minimising distributions (``nominal`` itself where δ = 0, exactly).
    """
    p0 = np.asarray(nominal, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or p0.shape[-1:] != v.shape:
        raise InvalidGameError(f"worst_distribution: values must be [S] matching nominal [..., S], got {v.shape}")
    delta = np.broadcast_to(np.asarray(radius, dtype=np.float64), p0.shape[:-1])
    if np.any(delta < 0) or not np.all(np.isfinite(delta)):
        raise InvalidGameError("worst_distribution: radius must be finite and >= 0")
    order = np.argsort(v, kind="stable")  # increasing value
    q = p0[..., order]
    if norm == "l1":
        moved = np.minimum(delta / 2.0, 1.0 - q[..., 0])
        # mass above position k (strictly higher in the order) is removed first; position k loses what remains
        above = np.cumsum(q[..., ::-1], axis=-1)[..., ::-1] - q  # Σ_{k' > k} q_k'
        removed = np.clip(moved[..., None] - above, 0.0, q)
        removed[..., 0] = 0.0  # moved <= 1 - q_0 = mass above 0, so nothing is taken from the lowest value
        new = q - removed
        new[..., 0] += moved
    elif norm == "linf":
        low = np.maximum(q - delta[..., None], 0.0)
        high = np.minimum(q + delta[..., None], 1.0)
        free = 1.0 - low.sum(axis=-1)
        room = high - low
        before = np.cumsum(room, axis=-1) - room  # Σ_{k' < k} room_k'
        new = low + np.clip(free[..., None] - before, 0.0, room)
        new = np.where((delta == 0)[..., None], q, new)  # exactly nominal for a singleton set
    else:
        raise InvalidGameError(f"worst_distribution: norm must be one of {list(NORMS)}, got {norm!r}")
    out = np.empty_like(new)
    out[..., order] = new
    return out


def worst_expectation(nominal: np.ndarray, values: np.ndarray, radius: float | np.ndarray, norm: str) -> np.ndarray:
    """``σ(p0, v) = min_p p · v`` over the ball (:func:`worst_distribution`), shape ``nominal.shape[:-1]``."""
    return worst_distribution(nominal, values, radius, norm) @ np.asarray(values, dtype=np.float64)
