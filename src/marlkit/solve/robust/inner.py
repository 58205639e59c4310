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

__all__ = ["NORMS", "SparseRows", "worst_distribution", "worst_expectation"]


def _check(nominal: np.ndarray, values: np.ndarray, radius: float | np.ndarray) -> tuple[np.ndarray, ...]:
    p0 = np.asarray(nominal, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or p0.shape[-1:] != v.shape:
        raise InvalidGameError(f"worst_distribution: values must be [S] matching nominal [..., S], got {v.shape}")
    delta = np.broadcast_to(np.asarray(radius, dtype=np.float64), p0.shape[:-1])
    if np.any(delta < 0) or not np.all(np.isfinite(delta)):
        raise InvalidGameError("worst_distribution: radius must be finite and >= 0")
    return p0, v, delta


def _sorted_minimiser(p0: np.ndarray, v: np.ndarray, delta: np.ndarray, norm: str) -> tuple[np.ndarray, np.ndarray]:
    """The minimiser in increasing order of ``v`` (module docstring), and that order."""
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
    return new, order


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
    p0, v, delta = _check(nominal, values, radius)
    new, order = _sorted_minimiser(p0, v, delta, norm)
    out = np.empty_like(new)
    out[..., order] = new
    return out


def worst_expectation(nominal: np.ndarray, values: np.ndarray, radius: float | np.ndarray, norm: str) -> np.ndarray:
    """``σ(p0, v) = min_p p · v`` over the ball (:func:`worst_distribution`), shape ``nominal.shape[:-1]``."""
    p0, v, delta = _check(nominal, values, radius)
    new, order = _sorted_minimiser(p0, v, delta, norm)
    return new @ v[order]


class SparseRows:
    """Nominal rows with few successors, stored as their supports, for a fast L1 :func:`worst_expectation`.

    The L1 minimiser only removes mass from the row's support (highest values first) and adds it to the globally
    lowest-value state, so ``σ = p0 · v + m (v_min - ...)`` needs only the K support entries of each row: O(K log K)
    per row instead of O(S). Built once per model (the nominal rows do not change between sweeps).
    """

    def __init__(self, nominal: np.ndarray) -> None:
        p0 = np.asarray(nominal, dtype=np.float64)
        self.shape = p0.shape[:-1]
        flat = p0.reshape(-1, p0.shape[-1])
        width = max(int((flat > 0).sum(axis=1).max(initial=0)), 1)
        # the K largest entries of each row hold its whole support (argpartition is linear per row)
        index = (
            np.argpartition(-flat, width - 1, axis=1)[:, :width]
            if width < flat.shape[1]
            else np.tile(np.arange(flat.shape[1]), (flat.shape[0], 1))
        )
        self.index = index
        self.mass = np.take_along_axis(flat, index, axis=1)
        self.width = width

    @staticmethod
    def worth_it(nominal: np.ndarray) -> bool:
        """Whether the rows are sparse enough (at most 1/8 of the states per row) for :class:`SparseRows`."""
        p0 = np.asarray(nominal)
        return p0.shape[-1] >= 16 and int((p0 > 0).sum(axis=-1).max(initial=0)) * 8 <= p0.shape[-1]

    def worst_expectation_l1(self, values: np.ndarray, radius: float | np.ndarray) -> np.ndarray:
        """:func:`worst_expectation` with ``norm="l1"`` for these rows, shape ``nominal.shape[:-1]``."""
        v = np.asarray(values, dtype=np.float64)
        delta = np.broadcast_to(np.asarray(radius, dtype=np.float64), self.shape).reshape(-1)
        lowest = int(np.argmin(v))
        vs = v[self.index]  # [rows, K]
        order = np.argsort(-vs, axis=1, kind="stable")  # decreasing value within the support
        q = np.take_along_axis(self.mass, order, axis=1)
        w = np.take_along_axis(vs, order, axis=1)
        at_lowest = np.where(self.index == lowest, self.mass, 0.0).sum(axis=1)
        moved = np.minimum(delta / 2.0, 1.0 - at_lowest)
        before = np.cumsum(q, axis=1) - q  # mass strictly above position k
        removed = np.clip(moved[:, None] - before, 0.0, q)
        sigma = (self.mass * vs).sum(axis=1) - (removed * w).sum(axis=1) + moved * v[lowest]
        return sigma.reshape(self.shape)
