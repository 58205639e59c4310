"""Batched, jittable correlated equilibria of bimatrix games for CE-Q (pure JAX, interior point LP).

A correlated equilibrium (Aumann 1974) of a bimatrix game ``(A, B)`` is a distribution μ over joint actions with
no profitable deviation from a recommendation:

    Σ_j μ(i, j) (A[i, j] - A[i', j]) >= 0   for all rows i ≠ i',
    Σ_i μ(i, j) (B[i, j] - B[i, j']) >= 0   for all columns j ≠ j',     μ >= 0,  Σ μ = 1.

CE-Q (Greenwald & Hall 2003, "Correlated-Q learning", ICML, §3) selects one CE per stage game by an objective:

* ``utilitarian``: maximise the sum of the players' expected payoffs;
* ``egalitarian``: maximise the minimum of them (an extra variable t <= U_k(μ) for each k);
* ``republican``: maximise the maximum of them (one LP per player, keep the better);
* ``libertarian``: each player k maximises its own payoff; both CEs are returned (``distribution [..., 2, m, n]``,
  row k the CE player k uses, ``values[..., k]`` player k's payoff under it).

The LPs are solved by :func:`marlkit.solve.stage.lp.lp_ipm` with a fixed iteration count, vmapped over the
batch. Payoffs are divided by their largest magnitude (and shifted by +1 for the egalitarian floor, which keeps
t >= 0); the CE set is invariant to this common affine map and the objectives' maximisers are too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.solve.stage.lp import Constraints, axis_sum, lp_ipm
from marlkit.solve.stage.payoffs import float_payoffs, payoff_scale


class CorrelatedEquilibrium(NamedTuple):
    """One correlated equilibrium per game.

    Attributes:
        distribution: ``[..., m, n]`` joint distribution (``[..., 2, m, n]`` for ``libertarian``).
        values: ``[..., 2]`` the players' expected payoffs (for ``libertarian``, player k's under its own CE).
        incentive_violation: ``[...]`` largest violation of an incentive constraint (payoff units; 0 when every
            constraint holds) of the returned, renormalised distribution(s).
        converged: ``[...]`` True when every LP met the interior point method's stopping tolerance.
    """

    distribution: jax.Array
    values: jax.Array
    incentive_violation: jax.Array
    converged: jax.Array


@cache
def _deviation_pairs(k: int) -> np.ndarray:
    """All ordered pairs (a, a') with a ≠ a', shape ``[k (k-1), 2]``."""
    return np.array([(a, b) for a in range(k) for b in range(k) if a != b], dtype=np.int32).reshape(-1, 2)


def incentive_matrix(A: jax.Array, B: jax.Array) -> jax.Array:
    """``[m(m-1) + n(n-1), m n]``: rows whose product with vec(μ) are the CE incentive slacks (must be >= 0)."""
    m, n = A.shape
    rp, cp = _deviation_pairs(m), _deviation_pairs(n)
    row_gain = A[rp[:, 0], :] - A[rp[:, 1], :]  # [Pr, n]: gain of obeying i over deviating to i'
    col_gain = (B[:, cp[:, 0]] - B[:, cp[:, 1]]).T  # [Pc, m]
    row_rows = jnp.asarray(np.eye(m)[rp[:, 0]], A.dtype)[:, :, None] * row_gain[:, None, :]
    col_rows = col_gain[:, :, None] * jnp.asarray(np.eye(n)[cp[:, 0]], A.dtype)[:, None, :]
    return jnp.concatenate([row_rows.reshape(len(rp), m * n), col_rows.reshape(len(cp), m * n)], axis=0)


def _ce_constraints(An: jax.Array, Bn: jax.Array, floor: bool) -> Constraints:
    """The inequalities ``G v <= 0`` of the CE LP over ``v = (vec μ, t)`` as a structured operator.

    Rows: ``-v <= 0`` (v >= 0), the row player's incentive constraints (pair (i, i') reads row i of μ), the column
    player's (pair (j, j') reads column j), and with ``floor`` the egalitarian rows ``t - U_k(μ) <= 0`` (payoffs
    shifted to [0, 2]). Incentive rows are equilibrated to unit max-norm (same constraints, better-scaled duals).
    Products with G, G^T and the normal matrix G^T diag(w) G are written as broadcasts and reductions over the
    pair axes as chains of adds (no small matrix products or reductions, which XLA:CPU runs as slow library calls
    under ``vmap``: :func:`marlkit.solve.stage.lp.axis_sum`).
    """
    m, n = An.shape
    N = m * n + int(floor)
    rp, cp = _deviation_pairs(m), _deviation_pairs(n)
    # gains grouped by the recommended action: Dr[i, a, j] for the a-th deviation i -> i' of the row player
    Dr = (An[rp[:, 0], :] - An[rp[:, 1], :]).reshape(m, m - 1, n)
    Dc = (Bn[:, cp[:, 0]] - Bn[:, cp[:, 1]]).T.reshape(n, n - 1, m)  # Dc[j, b, i]
    Dr = Dr / _safe_norm(Dr)
    Dc = Dc / _safe_norm(Dc)
    utils = jnp.stack([(An + 1.0).reshape(-1), (Bn + 1.0).reshape(-1)])  # [2, m n]
    Pr, Pc = m * (m - 1), n * (n - 1)
    eye_m, eye_n = jnp.eye(m, dtype=An.dtype), jnp.eye(n, dtype=An.dtype)

    def matvec(v):
        mu = v[: m * n].reshape(m, n)
        parts = [
            -v,
            -axis_sum(mu[:, None, :] * Dr, 2).reshape(Pr),
            -axis_sum(mu.T[:, None, :] * Dc, 2).reshape(Pc),
        ]
        if floor:
            parts.append(v[-1] - axis_sum(utils * v[None, : m * n], 1))
        return jnp.concatenate(parts)

    def rmatvec(z):
        zx, zr, zc = z[:N], z[N : N + Pr].reshape(m, m - 1), z[N + Pr : N + Pr + Pc].reshape(n, n - 1)
        mu = -axis_sum(zr[:, :, None] * Dr, 1) - axis_sum(zc[:, :, None] * Dc, 1).T
        out = -zx + jnp.pad(mu.reshape(-1), (0, N - m * n))
        if floor:
            zf = z[N + Pr + Pc :]
            out = out + jnp.concatenate([-axis_sum(zf[:, None] * utils, 0), axis_sum(zf)[None]])
        return out

    def gram(w):
        wx, wr, wc = w[:N], w[N : N + Pr].reshape(m, m - 1), w[N + Pr : N + Pr + Pc].reshape(n, n - 1)
        row_blocks = axis_sum((wr[:, :, None] * Dr)[..., :, None] * Dr[..., None, :], 1)  # [m, n, n]
        col_blocks = axis_sum((wc[:, :, None] * Dc)[..., :, None] * Dc[..., None, :], 1)  # [n, m, m]
        H = (
            row_blocks[:, :, None, :] * eye_m[:, None, :, None]  # δ(i, i') R_i[j, j']
            + jnp.transpose(col_blocks, (1, 0, 2))[:, :, :, None] * eye_n[None, :, None, :]  # δ(j, j') C_j[i, i']
        ).reshape(m * n, m * n)
        H = jnp.pad(H, ((0, N - m * n), (0, N - m * n))) + jnp.diag(wx)
        if floor:
            wf = w[N + Pr + Pc :]
            g = jnp.concatenate([-utils, jnp.ones((2, 1), An.dtype)], axis=1)  # [2, N]
            H = H + axis_sum((wf[:, None] * g)[:, :, None] * g[:, None, :], 0)
        return H

    scale = jnp.maximum(1.0, jnp.maximum(jnp.abs(Dr).max(), jnp.abs(Dc).max()))
    if floor:
        scale = jnp.maximum(scale, jnp.abs(utils).max())
    return Constraints(matvec, rmatvec, gram, scale, N + Pr + Pc + 2 * int(floor))


def _safe_norm(D: jax.Array) -> jax.Array:
    norms = jnp.abs(D).max(axis=-1, keepdims=True)
    return jnp.where(norms > 0, norms, 1.0)


def _solve_ce_lp(cost: jax.Array, An: jax.Array, Bn: jax.Array, floor: bool, iterations: int, tol):
    """Maximise -cost·v over the CE polytope of one game (v = vec μ, plus t if ``floor``); returns (μ, converged)."""
    m, n = An.shape
    N = m * n + int(floor)
    G = _ce_constraints(An, Bn, floor)
    E = jnp.concatenate([jnp.ones((1, m * n), An.dtype), jnp.zeros((1, N - m * n), An.dtype)], axis=1)
    x0 = jnp.concatenate([jnp.full(m * n, 1.0 / (m * n), An.dtype), jnp.zeros(N - m * n, An.dtype)])
    sol = lp_ipm(cost, G, jnp.zeros(G.rows, An.dtype), E, jnp.ones(1, An.dtype), x0, iterations, tol)
    return sol.x[: m * n].reshape(m, n), sol.converged


def _utilitarian(An, Bn):
    return jnp.stack([-(An + Bn).reshape(-1)]), False


def _egalitarian(An, Bn):
    return jnp.concatenate([jnp.zeros(An.size, An.dtype), -jnp.ones(1, An.dtype)])[None], True


def _each_player(An, Bn):
    return jnp.stack([-An.reshape(-1), -Bn.reshape(-1)]), False


def _first(mus: jax.Array, values: jax.Array) -> tuple[jax.Array, jax.Array]:
    return mus[0], values[0]


def _best_own(mus: jax.Array, values: jax.Array) -> tuple[jax.Array, jax.Array]:
    k = jnp.argmax(jnp.array([values[0, 0], values[1, 1]]))
    return mus[k], values[k]


def _own_each(mus: jax.Array, values: jax.Array) -> tuple[jax.Array, jax.Array]:
    return mus, jnp.array([values[0, 0], values[1, 1]])


OBJECTIVES: dict[str, tuple[Callable, Callable]] = {
    "utilitarian": (_utilitarian, _first),
    "egalitarian": (_egalitarian, _first),
    "republican": (_each_player, _best_own),
    "libertarian": (_each_player, _own_each),
}
"""CE-Q objectives (Greenwald & Hall 2003, §3): (costs of the LPs to solve, how to combine their solutions)."""


def _correlated_one(A, B, objective: str, iterations: int, tol):
    build, combine = OBJECTIVES[objective]
    scale = payoff_scale(A, B)
    An, Bn = A / scale, B / scale
    costs, floor = build(An, Bn)
    mus, converged = jax.vmap(lambda c: _solve_ce_lp(c, An, Bn, floor, iterations, tol))(costs)
    mus = jnp.maximum(mus, 0.0)
    mus = mus / mus.sum(axis=(-2, -1), keepdims=True)
    values = jnp.stack([jnp.sum(mus * A, axis=(-2, -1)), jnp.sum(mus * B, axis=(-2, -1))], axis=-1)  # [K, 2]
    inc = incentive_matrix(A, B)
    slack = jnp.sum(mus.reshape(mus.shape[0], 1, -1) * inc[None], axis=-1)  # [K, rows]; multiply-sum: lp.inner
    violation = jnp.maximum(0.0, -slack.min(initial=0.0))
    distribution, chosen = combine(mus, values)
    return CorrelatedEquilibrium(distribution, chosen, violation, converged.all())


def batched_correlated_equilibrium(
    A: jax.Array,
    B: jax.Array,
    objective: str = "utilitarian",
    iterations: int = 30,
    tol: float | None = None,
) -> CorrelatedEquilibrium:
    """One correlated equilibrium per bimatrix game ``A, B [..., m, n]`` by a CE-Q objective (see module docstring).

    Args:
        A, B: the players' payoffs, any floating dtype (computation in it; float32 under JAX by default).
        objective: one of :data:`OBJECTIVES`.
        iterations: fixed number of interior point iterations (static); 30 reaches the default tolerance on
            every game size this module is tested on (2x2 to 5x5).
        tol: relative stopping tolerance of the LP (default 1e-10 in float64, 1e-6 in float32).

    Jittable (``objective`` and ``iterations`` static) and vmappable.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: unknown {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    A, B = float_payoffs(A, B)
    batch, (m, n) = A.shape[:-2], A.shape[-2:]
    solve = jax.vmap(lambda a, b: _correlated_one(a, b, objective, iterations, tol))
    out = solve(A.reshape(-1, m, n), B.reshape(-1, m, n))
    return CorrelatedEquilibrium(*(v.reshape(*batch, *v.shape[1:]) for v in out))
