"""Batched JAX stage-game solvers against the exact solvers (HiGHS, nashpy vertex enumeration)."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog

from marlkit.solve.stage import (
    batched_correlated_equilibrium,
    bimatrix_nash,
    num_support_pairs,
    zero_sum_value,
)
from marlkit.solve.zero_sum import solve_matrix_game

SHAPES = [(2, 2), (3, 3), (4, 4), (5, 5), (2, 5), (5, 3), (1, 4)]
FAST_SHAPES = [(3, 3), (5, 5)]
"""Each shape is a fresh XLA compile (seconds), so the default run covers two shapes and the ``slow`` run all."""

jit_zero_sum = jax.jit(zero_sum_value)
jit_nash = jax.jit(bimatrix_nash, static_argnames=("select",))
jit_ce = jax.jit(batched_correlated_equilibrium, static_argnames=("objective", "iterations"))


def sweep(shapes):
    """Parametrize over shapes: the FAST ones by default, the others marked slow."""
    return [pytest.param(s, id=str(s), marks=() if s in FAST_SHAPES else pytest.mark.slow) for s in shapes]


@pytest.fixture
def x64():
    """float64 inside the test only (the context manager restores the previous setting)."""
    with jax.enable_x64(True):
        yield


def games(shape, count, seed, integer):
    rng = np.random.default_rng(seed)
    if integer:  # few distinct payoffs: many ties, degenerate games
        return rng.integers(-2, 3, size=(count, *shape)).astype(np.float64)
    return rng.normal(size=(count, *shape))


def certified_gap(A, row, col):
    return (np.einsum("bij,bj->bi", A, col).max(-1) - np.einsum("bi,bij->bj", row, A).min(-1)).max()


# --------------------------------------------------------------------------------------------- zero-sum
def test_support_pair_counts():
    assert num_support_pairs(5, 5) == 251  # Σ_k C(5,k)^2 = C(10,5) - 1
    assert num_support_pairs(2, 2) == 5


@pytest.mark.parametrize("shape", sweep(SHAPES))
def test_zero_sum_matches_lp(x64, shape):
    # 1,000 normal and 1,000 integer-valued (tie-heavy, degenerate) games in one batch
    A = np.concatenate([games(shape, 1000, seed=sum(shape), integer=False), games(shape, 1000, 1, integer=True)])
    value, row, col = (np.asarray(a) for a in jit_zero_sum(jnp.asarray(A)))
    assert value.dtype == np.float64 and row.shape == (2000, shape[0]) and col.shape == (2000, shape[1])
    # exact on every game: the strategies certify the value (a gap of 0 proves optimality)
    assert certified_gap(A, row, col) <= 1e-12
    assert row.min() >= 0 and col.min() >= 0
    np.testing.assert_allclose(row.sum(-1), 1.0, atol=1e-12)
    # and agree with HiGHS on a subset of both kinds
    subset = np.r_[0:60, 1000:1060]
    reference = np.array([solve_matrix_game(a).value for a in A[subset]])
    np.testing.assert_allclose(value[subset], reference, atol=1e-10)


def test_zero_sum_degenerate_matrices(x64):
    cases = [np.zeros((3, 3)), np.full((4, 2), 2.5), np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0]])]
    for A in cases:
        value, row, col = jit_zero_sum(jnp.asarray(A))
        assert float(value) == pytest.approx(solve_matrix_game(A).value, abs=1e-12)
        assert certified_gap(A[None], np.asarray(row)[None], np.asarray(col)[None]) <= 1e-12


def test_zero_sum_float32_default_and_batch_axes():
    A = games((4, 5), 200, seed=1, integer=False).reshape(2, 100, 4, 5).astype(np.float32)
    value, row, _ = jit_zero_sum(A)
    assert value.dtype == jnp.float32 and value.shape == (2, 100) and row.shape == (2, 100, 4)
    reference = np.array([solve_matrix_game(a).value for a in A.reshape(-1, 4, 5)[:50]])
    np.testing.assert_allclose(np.asarray(value).reshape(-1)[:50], reference, atol=2e-5)


def test_zero_sum_jit_vmap_scan():
    A = jnp.asarray(games((2, 3), 64, seed=2, integer=False), jnp.float32)
    batched = jit_zero_sum(A).value
    mapped = jax.jit(jax.vmap(zero_sum_value))(A).value
    np.testing.assert_allclose(mapped, batched, atol=1e-6)

    def body(carry, a):  # the learner's pattern: one stage game per update inside lax.scan
        return carry + zero_sum_value(a).value, None

    total, _ = jax.jit(lambda A: jax.lax.scan(body, 0.0, A))(A)
    assert float(total) == pytest.approx(float(batched.sum()), abs=1e-4)


# --------------------------------------------------------------------------------------------- bimatrix
def vertex_enumeration(A, B):
    nashpy = pytest.importorskip("nashpy", reason="nashpy (an optional oracle, in the test extra) is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(nashpy.Game(A, B).vertex_enumeration())


@pytest.mark.parametrize("shape", sweep([(2, 2), (3, 3), (4, 4), (3, 5)]))
def test_bimatrix_nash_best_welfare_equilibrium(x64, shape):
    A, B = games(shape, 40, seed=3, integer=False), games(shape, 40, seed=4, integer=False)
    result = jit_nash(jnp.asarray(A), jnp.asarray(B))
    assert bool(np.all(result.found))
    assert float(np.max(result.nash_gap)) <= 1e-9
    for k in range(len(A)):
        welfare = [float(x @ (A[k] + B[k]) @ y) for x, y in vertex_enumeration(A[k], B[k])]
        assert float(result.values[k].sum()) == pytest.approx(max(welfare), abs=1e-8)


def test_bimatrix_nash_on_tie_heavy_games(x64):
    A, B = games((3, 3), 300, seed=5, integer=True), games((3, 3), 300, seed=6, integer=True)
    result = jit_nash(jnp.asarray(A), jnp.asarray(B))
    found = np.asarray(result.found)
    # every equilibrium returned as found is one; degenerate games may lack an equal-support equilibrium
    assert float(np.max(np.asarray(result.nash_gap)[found])) <= 1e-9
    assert found.mean() >= 0.95


@pytest.mark.parametrize(
    ("select", "row", "col"),
    [("utilitarian", [1, 0], [1, 0]), ("row", [1, 0], [1, 0]), ("col", [0, 1], [0, 1]), ("first", [1, 0], [1, 0])],
)
def test_bimatrix_selection_rules_battle_of_the_sexes(select, row, col):
    # Battle of the sexes (Shoham & Leyton-Brown 2009, Fig. 3.5 up to scale): pure equilibria pay (2, 1) and
    # (1, 2), the mixed one (2/3, 2/3); utilitarian ties (3 = 3) go to the first found
    result = jit_nash(jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([[1.0, 0.0], [0.0, 2.0]]), select=select)
    np.testing.assert_allclose(result.row, row, atol=1e-6)
    np.testing.assert_allclose(result.col, col, atol=1e-6)


def test_bimatrix_float32_and_bad_rule():
    A, B = games((3, 3), 100, seed=7, integer=False), games((3, 3), 100, seed=8, integer=False)
    result = jit_nash(A.astype(np.float32), B.astype(np.float32))
    assert result.row.dtype == jnp.float32
    assert float(np.max(result.nash_gap)) <= 1e-4
    with pytest.raises(ValueError, match="select"):
        bimatrix_nash(A, B, select="best")


# ------------------------------------------------------------------------------------ correlated equilibria
def ce_rows(A, B):
    """NumPy incentive constraints (r · vec μ >= 0), written independently of the JAX solver."""
    m, n = A.shape
    rows = []
    for i in range(m):
        for k in range(m):
            if k != i:
                r = np.zeros((m, n))
                r[i] = A[i] - A[k]
                rows.append(r.ravel())
    for j in range(n):
        for k in range(n):
            if k != j:
                r = np.zeros((m, n))
                r[:, j] = B[:, j] - B[:, k]
                rows.append(r.ravel())
    return np.array(rows)


def highs_ce(A, B, objective):
    """HiGHS optimum of a CE-Q objective (Greenwald & Hall 2003) as the objective value."""
    inc, N = ce_rows(A, B), A.size
    base = {"A_eq": np.ones((1, N)), "b_eq": [1.0], "method": "highs"}
    if objective == "utilitarian":
        res = linprog(-(A + B).ravel(), A_ub=-inc, b_ub=np.zeros(len(inc)), bounds=[(0, None)] * N, **base)
        return -res.fun
    if objective == "egalitarian":  # max t, t <= U_k(μ)
        A_ub = np.vstack([np.c_[-inc, np.zeros(len(inc))], np.c_[-np.stack([A.ravel(), B.ravel()]), np.ones(2)]])
        res = linprog(
            np.r_[np.zeros(N), -1.0],
            A_ub=A_ub,
            b_ub=np.zeros(len(A_ub)),
            A_eq=np.c_[np.ones((1, N)), 0.0],
            b_eq=[1.0],
            bounds=[(0, None)] * N + [(None, None)],
            method="highs",
        )
        return -res.fun
    own = [-linprog(-U.ravel(), A_ub=-inc, b_ub=np.zeros(len(inc)), bounds=[(0, None)] * N, **base).fun for U in (A, B)]
    return max(own) if objective == "republican" else sum(own)


def ce_objective(values, objective):
    return {
        "utilitarian": values.sum(-1),
        "egalitarian": values.min(-1),
        "republican": values.max(-1),
        "libertarian": values.sum(-1),  # each player's own optimum, summed for the comparison
    }[objective]


@pytest.mark.parametrize("shape", sweep([(2, 2), (3, 3), (4, 4), (5, 5), (2, 4)]))
def test_utilitarian_ce_matches_highs(x64, shape):
    A = np.concatenate([games(shape, 50, seed=9, integer=False), games(shape, 50, seed=10, integer=True)])
    B = np.concatenate([games(shape, 50, seed=19, integer=False), games(shape, 50, seed=20, integer=True)])
    result = jit_ce(jnp.asarray(A), jnp.asarray(B))
    assert bool(np.all(result.converged))
    mu = np.asarray(result.distribution)
    np.testing.assert_allclose(mu.sum(axis=(1, 2)), 1.0, atol=1e-12)
    assert mu.min() >= 0
    # incentive constraints, checked with the independent NumPy rows
    for k in range(len(A)):
        assert (ce_rows(A[k], B[k]) @ mu[k].ravel()).min() >= -1e-6
    assert float(np.max(result.incentive_violation)) <= 1e-6
    reference = np.array([highs_ce(a, b, "utilitarian") for a, b in zip(A, B, strict=True)])
    np.testing.assert_allclose(np.asarray(result.values).sum(-1), reference, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["egalitarian", "republican", "libertarian"])
def test_other_ce_objectives_match_highs(x64, objective):
    A, B = games((3, 4), 40, seed=29, integer=False), games((3, 4), 40, seed=30, integer=False)
    result = jit_ce(jnp.asarray(A), jnp.asarray(B), objective=objective)
    assert bool(np.all(result.converged))
    expected_shape = (40, 2, 3, 4) if objective == "libertarian" else (40, 3, 4)
    assert result.distribution.shape == expected_shape
    reference = np.array([highs_ce(a, b, objective) for a, b in zip(A, B, strict=True)])
    np.testing.assert_allclose(ce_objective(np.asarray(result.values), objective), reference, atol=1e-6)
    assert float(np.max(result.incentive_violation)) <= 1e-6


# Chicken (Aumann 1974): payoffs (C,C) = (6,6), (C,D) = (2,7), (D,C) = (7,2), (D,D) = (0,0). The welfare-
# maximising CE puts 1/2 on (C,C) and 1/4 on each of (C,D), (D,C): 5.25 each, above every Nash equilibrium
# (pure: 9 in total, mixed: 14/3 each); by symmetry it is also the egalitarian CE. The republican and libertarian
# objectives pick the pure equilibrium that gives the favoured player 7.
CHICKEN = np.array([[6.0, 2.0], [7.0, 0.0]])


def test_chicken_golden(x64):
    result = jit_ce(jnp.asarray(CHICKEN), jnp.asarray(CHICKEN.T))
    np.testing.assert_allclose(result.distribution, [[0.5, 0.25], [0.25, 0.0]], atol=1e-8)
    np.testing.assert_allclose(result.values, [5.25, 5.25], atol=1e-8)


@pytest.mark.slow
def test_chicken_other_objectives(x64):
    A, B = jnp.asarray(CHICKEN), jnp.asarray(CHICKEN.T)
    egalitarian = jit_ce(A, B, objective="egalitarian")
    np.testing.assert_allclose(egalitarian.values, [5.25, 5.25], atol=1e-8)
    assert float(jit_ce(A, B, objective="republican").values.max()) == pytest.approx(7.0, abs=1e-8)
    libertarian = jit_ce(A, B, objective="libertarian")
    np.testing.assert_allclose(libertarian.values, [7.0, 7.0], atol=1e-8)
    np.testing.assert_allclose(libertarian.distribution[0], [[0, 0], [1, 0]], atol=1e-8)


def test_ce_float32_and_jit_vmap():
    A, B = games((3, 3), 200, seed=31, integer=False), games((3, 3), 200, seed=32, integer=False)
    result = jit_ce(A.astype(np.float32), B.astype(np.float32))
    assert result.distribution.dtype == jnp.float32
    converged = np.asarray(result.converged)
    assert converged.mean() >= 0.95
    assert float(np.max(np.asarray(result.incentive_violation)[converged])) <= 1e-4
    reference = np.array([highs_ce(a, b, "utilitarian") for a, b in zip(A[:40], B[:40], strict=True)])
    ok = converged[:40]
    np.testing.assert_allclose(np.asarray(result.values).sum(-1)[:40][ok], reference[ok], atol=1e-3)
    A2, B2 = A[:8, :2, :2].astype(np.float32), B[:8, :2, :2].astype(np.float32)
    mapped = jax.jit(jax.vmap(batched_correlated_equilibrium))(A2, B2)
    np.testing.assert_allclose(mapped.values, jit_ce(A2, B2).values, atol=1e-5)
    with pytest.raises(ValueError, match="objective"):
        batched_correlated_equilibrium(A, B, objective="fair")
