"""Closed-form inner minimisations over L1 / L∞ transition balls against their LP (Iyengar 2005, §4; Nilim & El
Ghaoui 2005, §4): min { p·v : p ∈ Δ(S), ||p - p0|| <= δ } on hundreds of random instances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from marlkit.errors import InvalidGameError
from marlkit.solve.robust.inner import SparseRows, worst_distribution, worst_expectation


def lp_inner(p0: np.ndarray, v: np.ndarray, delta: float, norm: str) -> float:
    """The inner problem as an LP in (p, u) with u >= |p - p0| (L1: Σ u <= δ; L∞: u <= δ)."""
    S = len(p0)
    c = np.r_[v, np.zeros(S)]
    eye = np.eye(S)
    A_ub = [np.c_[eye, -eye], np.c_[-eye, -eye]]
    b_ub = [p0, -p0]
    if norm == "l1":
        A_ub.append(np.r_[np.zeros(S), np.ones(S)][None])
        b_ub.append([delta])
        bounds = [(0, None)] * (2 * S)
    else:
        bounds = [(0, None)] * S + [(0, delta)] * S
    res = linprog(
        c,
        A_ub=np.vstack(A_ub),
        b_ub=np.concatenate(b_ub),
        A_eq=np.r_[np.ones(S), np.zeros(S)][None],
        b_eq=[1.0],
        bounds=bounds,
        method="highs",
    )
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_closed_form_equals_the_lp_on_random_instances(norm):
    rng = np.random.default_rng(0 if norm == "l1" else 1)
    for trial in range(300):
        S = int(rng.integers(1, 7))
        p0 = rng.dirichlet(np.ones(S))
        if trial % 3 == 0:  # sparse rows: the ball meets the simplex's boundary
            p0 = p0 * (rng.random(S) < 0.5)
            p0[rng.integers(S)] += 1e-3
            p0 /= p0.sum()
        v = rng.normal(size=S) if trial % 4 else rng.integers(-2, 3, size=S).astype(float)  # ties too
        delta = float(rng.choice([0.0, rng.uniform(0, 0.3), rng.uniform(0, 2.5)]))
        p = worst_distribution(p0, v, delta, norm)
        # feasible: a distribution inside the ball
        assert np.all(p >= -1e-15) and abs(p.sum() - 1) < 1e-12
        distance = np.abs(p - p0).sum() if norm == "l1" else np.abs(p - p0).max()
        assert distance <= delta + 1e-12
        # optimal: the LP's value
        assert p @ v == pytest.approx(lp_inner(p0, v, delta, norm), abs=1e-9)


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_batched_rows_radii_and_singletons(norm):
    rng = np.random.default_rng(2)
    p0 = rng.dirichlet(np.ones(4), size=(3, 5))
    v = rng.normal(size=4)
    radius = rng.uniform(0, 0.5, size=(3, 5))
    radius[0] = 0.0
    batched = worst_distribution(p0, v, radius, norm)
    for idx in np.ndindex(3, 5):
        np.testing.assert_allclose(batched[idx], worst_distribution(p0[idx], v, radius[idx], norm), atol=1e-15)
    assert np.array_equal(batched[0], p0[0])  # δ = 0: exactly the nominal rows
    np.testing.assert_allclose(worst_expectation(p0, v, radius, norm), batched @ v, atol=1e-15)


def test_l1_moves_mass_from_the_best_successors_to_the_worst():
    # p0 = (0.2, 0.3, 0.5), v = (0, 1, 2), δ = 0.6: move 0.3 to state 0, taken from state 2 (the best)
    p = worst_distribution(np.array([0.2, 0.3, 0.5]), np.array([0.0, 1.0, 2.0]), 0.6, "l1")
    np.testing.assert_allclose(p, [0.5, 0.3, 0.2], atol=1e-15)
    # L∞ δ = 0.1: each entry moves at most 0.1 -> (0.3, 0.3, 0.4)
    p = worst_distribution(np.array([0.2, 0.3, 0.5]), np.array([0.0, 1.0, 2.0]), 0.1, "linf")
    np.testing.assert_allclose(p, [0.3, 0.3, 0.4], atol=1e-15)


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(InvalidGameError, match="norm"):
        worst_distribution(np.ones(2) / 2, np.zeros(2), 0.1, "l2")
    with pytest.raises(InvalidGameError, match="radius"):
        worst_distribution(np.ones(2) / 2, np.zeros(2), -0.1, "l1")
    with pytest.raises(InvalidGameError, match="values"):
        worst_distribution(np.ones(2) / 2, np.zeros(3), 0.1, "l1")


def test_sparse_rows_give_the_dense_l1_value():
    # SparseRows works on each row's support only; it must equal the dense closed form (and so the LP above).
    rng = np.random.default_rng(3)
    for trial in range(20):
        S = int(rng.integers(16, 40))
        p0 = np.zeros((5, 3, S))
        for idx in np.ndindex(5, 3):
            support = rng.choice(S, size=int(rng.integers(1, 3)), replace=False)
            p0[idx][support] = rng.dirichlet(np.ones(len(support)))
        assert SparseRows.worth_it(p0)
        v = rng.normal(size=S) if trial % 2 else rng.integers(-1, 2, size=S).astype(float)
        if trial % 3 == 0:
            v[int(np.flatnonzero(p0[0, 0])[0])] = v.min() - 1.0  # the globally lowest state inside a support
        radius = rng.uniform(0, 2.5, size=(5, 3))
        sparse = SparseRows(p0).worst_expectation_l1(v, radius)
        np.testing.assert_allclose(sparse, worst_expectation(p0, v, radius, "l1"), atol=1e-12)
