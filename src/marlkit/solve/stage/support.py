"""Batched, jittable equilibria of small matrix games by support enumeration (pure JAX).

For a pair of supports ``I`` (rows) and ``J`` (columns) of equal size k, the mixed strategies that make the
opponent indifferent over its support solve two bordered (k+1) x (k+1) linear systems

    x_I^T B[I, J] = u 1^T,  Σ x_I = 1        (x makes the column player indifferent over J)
    A[I, J] y_J   = v 1,    Σ y_J = 1        (y makes the row player indifferent over I)

and ``(x, y)`` is a Nash equilibrium iff x, y >= 0 and no action outside the supports pays more:
``(A y)_i <= v`` for all i and ``(x^T B)_j <= u`` for all j (Shoham & Leyton-Brown 2009, §4.2.2, support
enumeration; Porter, Nudelman & Shoham 2008). There are ``Σ_k C(m, k) C(n, k)`` pairs (251 for 5x5); all of them
are solved at once with an unrolled Gaussian elimination (partial pivoting), so the work is a fixed, branch-free
computation that ``jit``, ``vmap`` and ``lax.scan`` accept.

Completeness. *Zero-sum* (B = -A): by Shapley & Snow (1950, "Basic solutions of discrete games", Ann. Math.
Studies 24) every matrix game has a pair of extreme optimal strategies given by a square submatrix whose bordered
system is non-singular, so the enumeration always contains an exact solution, degenerate (tied) matrices included.
*General-sum*: every non-degenerate game has its equilibria on equal-size supports, and every game with a pure
equilibrium has one on 1 x 1 supports; a degenerate game whose only equilibria have supports of different sizes is
missed, and then the candidate with the smallest violation is returned with ``found = False``.

Shapes and dtypes: payoffs ``A, B`` of shape ``[..., m, n]`` with 1 <= m, n <= 5 (static; larger sizes work but
the count of support pairs grows as C(2 max(m, n), max(m, n))); computation in the floating dtype of the input
(float32 under JAX by default). Payoffs are divided by their largest magnitude before solving (equilibria are
invariant to a common positive scale) and results are mapped back.
"""

from __future__ import annotations

from functools import cache
from itertools import combinations
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.solve.stage.payoffs import float_payoffs, payoff_scale

MAX_ACTIONS = 5
"""Largest number of actions per player that the batched solvers document and test (251 support pairs at 5x5)."""


class ZeroSumSolution(NamedTuple):
    """Value ``[...]`` and optimal strategies ``row [..., m]``, ``col [..., n]`` of zero-sum games (a 3-tuple)."""

    value: jax.Array
    row: jax.Array
    col: jax.Array


class BimatrixNash(NamedTuple):
    """One selected Nash equilibrium per game.

    Attributes:
        row: ``[..., m]`` row player's strategy.
        col: ``[..., n]`` column player's strategy.
        values: ``[..., 2]`` expected payoffs (x^T A y, x^T B y).
        nash_gap: ``[...]`` NashConv of the returned pair (max gain of each player, summed) in payoff units.
        found: ``[...]`` True when an equal-support candidate passed the equilibrium test within the tolerance.
    """

    row: jax.Array
    col: jax.Array
    values: jax.Array
    nash_gap: jax.Array
    found: jax.Array


# ----------------------------------------------------------------------------------- small dense systems
def small_solve(M: jax.Array, b: jax.Array) -> jax.Array:
    """Solve ``M x = b`` for ``M [..., N, N]``, ``b [..., N]`` by Gaussian elimination with partial pivoting.

    Unrolled over the static size N (meant for N <= 8); every step is an elementwise operation over the leading
    axes, so thousands of tiny systems vectorise well on a CPU. A singular system yields inf/NaN entries, which
    callers treat as "no solution".
    """
    N = M.shape[-1]
    rows = jnp.arange(N)
    for c in range(N):
        below = jnp.where(rows >= c, jnp.abs(M[..., :, c]), -1.0)
        p = jnp.argmax(below, axis=-1)
        is_c, is_p = rows == c, rows == p[..., None]
        row_c, row_p = M[..., c, :], jnp.take_along_axis(M, p[..., None, None], axis=-2)[..., 0, :]
        b_c, b_p = b[..., c], jnp.take_along_axis(b, p[..., None], axis=-1)[..., 0]
        M = jnp.where(is_c[:, None], row_p[..., None, :], jnp.where(is_p[..., None], row_c[..., None, :], M))
        b = jnp.where(is_c, b_p[..., None], jnp.where(is_p, b_c[..., None], b))
        factor = jnp.where(rows > c, M[..., :, c] / M[..., c, c][..., None], 0.0)
        M = M - factor[..., :, None] * M[..., c, None, :]
        b = b - factor * b[..., c, None]
    x: dict[int, jax.Array] = {}
    for c in reversed(range(N)):
        acc = b[..., c]
        for k in range(c + 1, N):
            acc = acc - M[..., c, k] * x[k]
        x[c] = acc / M[..., c, c]
    return jnp.stack([x[c] for c in range(N)], axis=-1)


# ------------------------------------------------------------------------------------- support pairs
@cache
def support_pairs(m: int, n: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For each support size k = 1..min(m, n): index arrays ``I [P_k, k]`` and ``J [P_k, k]`` of all pairs."""
    groups = []
    for k in range(1, min(m, n) + 1):
        rows, cols = list(combinations(range(m), k)), list(combinations(range(n), k))
        row_sets = np.array([r for r in rows for _ in cols], dtype=np.int32).reshape(-1, k)
        col_sets = np.array([c for _ in rows for c in cols], dtype=np.int32).reshape(-1, k)
        groups.append((row_sets, col_sets))
    return tuple(groups)


def num_support_pairs(m: int, n: int) -> int:
    """``Σ_k C(m, k) C(n, k)``: how many equal-size support pairs an m x n game has."""
    return sum(len(row_sets) for row_sets, _ in support_pairs(m, n))


def _bordered(M: jax.Array) -> jax.Array:
    """``[[M, -1], [1^T, 0]]`` for ``M [..., k, k]``."""
    k = M.shape[-1]
    top = jnp.concatenate([M, -jnp.ones((*M.shape[:-1], 1), M.dtype)], axis=-1)
    bottom = jnp.concatenate([jnp.ones((*M.shape[:-2], 1, k), M.dtype), jnp.zeros((*M.shape[:-2], 1, 1), M.dtype)], -1)
    return jnp.concatenate([top, bottom], axis=-2)


def _candidates(A: jax.Array, B: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Every equal-size support candidate of games ``[..., m, n]``: x ``[..., P, m]``, y ``[..., P, n]``, violation.

    The violation is the largest of: a negative probability, a row payoff above the row player's indifference
    level v, a column payoff above u (NaN/inf from singular systems count as +inf).
    """
    m, n = A.shape[-2:]
    xs, ys = [], []
    for rs, cs in support_pairs(m, n):  # supports I (rows) and J (columns) of size k
        k = rs.shape[1]
        A_IJ = A[..., rs[:, :, None], cs[:, None, :]]  # [..., P_k, k, k]
        B_IJ = B[..., rs[:, :, None], cs[:, None, :]]
        systems = jnp.stack([_bordered(jnp.swapaxes(B_IJ, -1, -2)), _bordered(A_IJ)], axis=-3)
        rhs = jnp.zeros(systems.shape[:-1], A.dtype).at[..., k].set(1.0)
        sol = small_solve(systems, rhs)  # [..., P_k, 2, k+1]
        scatter_rows = jnp.asarray(np.eye(m, dtype=np.float64)[rs], A.dtype)  # [P_k, k, m]
        scatter_cols = jnp.asarray(np.eye(n, dtype=np.float64)[cs], A.dtype)
        xs.append(jnp.einsum("...pk,pkm->...pm", sol[..., 0, :k], scatter_rows))
        ys.append(jnp.einsum("...pk,pkn->...pn", sol[..., 1, :k], scatter_cols))
    x, y = jnp.concatenate(xs, axis=-2), jnp.concatenate(ys, axis=-2)
    Ay = jnp.einsum("...ij,...pj->...pi", A, y)  # row payoffs [..., P, m]
    xB = jnp.einsum("...ij,...pi->...pj", B, x)  # column payoffs [..., P, n]
    v = jnp.sum(x * Ay, axis=-1, keepdims=True)
    u = jnp.sum(xB * y, axis=-1, keepdims=True)
    violation = jnp.maximum(
        jnp.maximum(-x.min(axis=-1), -y.min(axis=-1)),
        jnp.maximum((Ay - v).max(axis=-1), (xB - u).max(axis=-1)),
    )
    # XLA's CPU reductions need not propagate NaN, so singular systems are detected explicitly.
    finite = jnp.isfinite(x).all(axis=-1) & jnp.isfinite(y).all(axis=-1) & jnp.isfinite(violation)
    violation = jnp.where(finite, violation, jnp.inf)
    return x, y, violation


def _as_distribution(p: jax.Array) -> jax.Array:
    p = jnp.maximum(p, 0.0)
    return p / jnp.sum(p, axis=-1, keepdims=True)


def _pick(array: jax.Array, index: jax.Array) -> jax.Array:
    """``array[..., index, :]`` with one index per leading position."""
    return jnp.take_along_axis(array, index[..., None, None], axis=-2)[..., 0, :]


def default_tolerance(dtype: jnp.dtype) -> float:
    """Acceptance tolerance on the equilibrium test, relative to the payoff scale: sqrt(machine epsilon)."""
    return float(np.sqrt(np.finfo(dtype).eps))


# ---------------------------------------------------------------------------------------------- zero-sum
def zero_sum_value(A: jax.Array) -> ZeroSumSolution:
    """Value and optimal strategies of zero-sum games ``A [..., m, n]`` (row payoffs; the column player gets -A).

    Exact up to rounding for every matrix (see the module docstring): among all equal-size support candidates
    the one with the smallest equilibrium violation is kept; with ties (several optimal pairs) the first in
    support-size order wins. The value is the midpoint of the certified interval
    ``[min_j (x^T A)_j, max_i (A y)_i]`` of the returned strategies. Jittable and vmappable.

    Returns:
        ``ZeroSumSolution(value [...], row [..., m], col [..., n])``, unpackable as a 3-tuple.
    """
    (A,) = float_payoffs(A)
    scale = payoff_scale(A)
    An = A / scale
    x, y, violation = _candidates(An, -An)
    best = jnp.argmin(violation, axis=-1)
    row, col = _as_distribution(_pick(x, best)), _as_distribution(_pick(y, best))
    lower = jnp.einsum("...i,...ij->...j", row, A).min(axis=-1)
    upper = jnp.einsum("...ij,...j->...i", A, col).max(axis=-1)
    return ZeroSumSolution(0.5 * (lower + upper), row, col)


# -------------------------------------------------------------------------------------------- bimatrix
def _welfare_scores(v: jax.Array) -> dict[str, jax.Array]:
    return {
        "utilitarian": v[..., 0] + v[..., 1],
        "egalitarian": jnp.minimum(v[..., 0], v[..., 1]),
        "row": v[..., 0],
        "col": v[..., 1],
    }


SELECTION_RULES = ("utilitarian", "egalitarian", "row", "col", "first")
"""Selection rules of :func:`bimatrix_nash`: maximise the sum / the minimum / player 0's / player 1's payoff among
the equilibria found, or take the first found (support-size order, then lexicographic supports)."""


def bimatrix_nash(A: jax.Array, B: jax.Array, select: str = "utilitarian", tol: float | None = None) -> BimatrixNash:
    """One Nash equilibrium per bimatrix game ``A, B [..., m, n]``, chosen among those found by a selection rule.

    Nash-Q (Hu & Wellman 2003, JMLR 4, §4 and §6 on equilibrium selection) needs *one* equilibrium of the stage
    game; which one matters. The candidates that pass the equilibrium test within ``tol`` (relative to the largest
    payoff magnitude; default ``sqrt(eps)`` of the dtype: 3.5e-4 in float32, 1.5e-8 in float64) are scored by
    ``select`` (see :data:`SELECTION_RULES`), ties going to the first. If none passes (a degenerate game whose
    equilibria all have unequal supports) the least-violating candidate is returned with ``found = False``.
    """
    if select not in SELECTION_RULES:
        raise ValueError(f"select: unknown rule {select!r}; choose one of {', '.join(SELECTION_RULES)}")
    A, B = float_payoffs(A, B)
    scale = payoff_scale(A, B)
    x, y, violation = _candidates(A / scale, B / scale)
    tol = default_tolerance(A.dtype) if tol is None else float(tol)
    ok = violation <= tol
    values = jnp.stack([jnp.einsum("...pi,...ij,...pj->...p", x, M, y) for M in (A, B)], axis=-1)  # [..., P, 2]
    score = jnp.zeros(violation.shape, A.dtype) if select == "first" else _welfare_scores(values)[select]
    found = ok.any(axis=-1)
    best = jnp.where(found, jnp.argmax(jnp.where(ok, score, -jnp.inf), axis=-1), jnp.argmin(violation, axis=-1))
    row, col = _as_distribution(_pick(x, best)), _as_distribution(_pick(y, best))
    Ay = jnp.einsum("...ij,...j->...i", A, col)
    xB = jnp.einsum("...i,...ij->...j", row, B)
    chosen = jnp.stack([jnp.sum(row * Ay, -1), jnp.sum(xB * col, -1)], axis=-1)
    gap = (Ay.max(-1) - chosen[..., 0]) + (xB.max(-1) - chosen[..., 1])
    return BimatrixNash(row, col, chosen, jnp.maximum(gap, 0.0), found)
