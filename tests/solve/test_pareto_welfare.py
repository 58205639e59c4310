"""Welfare functions and Pareto optimality: golden games, brute-force oracles, properties, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.errors import InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.pareto import (
    dominance_matrix,
    is_pareto_dominated,
    pareto_front_correlated,
    pareto_front_pure,
)
from marlkit.solve.welfare import (
    WELFARE,
    egalitarian,
    nash_product,
    pure_security_levels,
    utilitarian,
    welfare_function,
)

# Axelrod (1984, ch. 1): T=5, R=3, P=1, S=0; action 0 = cooperate, 1 = defect.
PD = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]])
# Osborne & Rubinstein (1994, Ex. 15.3) battle of the sexes: (B,B) -> (2,1), (S,S) -> (1,2), else (0,0).
BOS = NormalFormGame([[[2, 0], [0, 1]], [[1, 0], [0, 2]]])
# Aumann (1974) chicken: 0 = swerve, 1 = dare: (6,6) (2,7) (7,2) (0,0).
CHICKEN = NormalFormGame([[[6, 2], [7, 0]], [[6, 7], [2, 0]]])


# -------------------------------------------------------------------------------------------- welfare
def test_welfare_values_on_a_vector_and_a_batch():
    assert utilitarian([1.0, 2.0, 3.0]) == 6.0
    assert egalitarian([1.0, 2.0, 3.0]) == 1.0
    assert nash_product([2.0, 3.0]) == 6.0
    assert nash_product([2.0, 3.0], disagreement=[1.0, 1.0]) == 2.0
    assert nash_product([2.0, 3.0], disagreement=1.0) == 2.0
    # Outside the bargaining set (u < d for some player) the product is 0, not a positive product of two losses.
    assert nash_product([-1.0, -2.0]) == 0.0
    batch = np.array([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 5.0], [2.0, 2.0]]])  # [2, 2, n=2]
    np.testing.assert_array_equal(utilitarian(batch), [[3, 7], [5, 4]])
    np.testing.assert_array_equal(egalitarian(batch), [[1, 3], [0, 2]])
    np.testing.assert_array_equal(nash_product(batch), [[2, 12], [0, 4]])
    assert set(WELFARE) == {"utilitarian", "egalitarian", "nash-product"}
    assert welfare_function("egalitarian") is egalitarian


def test_pure_security_levels():
    # Chicken: swerving guarantees min(6, 2) = 2, daring min(7, 0) = 0, so 2 each; PD: defect guarantees 1.
    np.testing.assert_array_equal(pure_security_levels(CHICKEN), [2.0, 2.0])
    np.testing.assert_array_equal(pure_security_levels(PD), [1.0, 1.0])
    three = NormalFormGame(np.random.default_rng(0).normal(size=(3, 2, 3, 2)))
    brute = [max(np.moveaxis(three.payoffs[i], i, 0)[a].min() for a in range(three.num_actions[i])) for i in range(3)]
    np.testing.assert_array_equal(pure_security_levels(three), brute)


def test_welfare_bad_input():
    with pytest.raises(UnknownNameError, match="utilitarian"):
        welfare_function("happiness")
    with pytest.raises(InvalidGameError, match="payoff vector"):
        utilitarian(3.0)
    with pytest.raises(InvalidGameError, match="NaN"):
        egalitarian([1.0, np.nan])
    with pytest.raises(InvalidGameError, match="one value per player"):
        nash_product([1.0, 2.0], disagreement=[0.0, 0.0, 0.0])


# --------------------------------------------------------------------------------------------- pareto
def test_prisoners_dilemma_pareto():
    # (D, D) = (1, 1) is Pareto-dominated by (C, C) = (3, 3): the dilemma (Axelrod 1984, ch. 1).
    result = is_pareto_dominated(PD, PD.pure_utility((1, 1)), over="pure")
    assert result.dominated and result.exact
    assert result.witness == (0, 0)
    np.testing.assert_array_equal(result.witness_payoff, [3, 3])
    front = pareto_front_pure(PD)
    assert sorted(map(tuple, front.joint_actions.tolist())) == [(0, 0), (0, 1), (1, 0)]
    assert not is_pareto_dominated(PD, [3.0, 3.0], over="correlated").dominated
    json.dumps(front.to_dict())
    json.dumps(result.to_dict())


def test_interior_point_of_the_correlated_region_is_dominated():
    # (2, 2) is inside the hull of PD's payoffs {(3,3), (0,5), (5,0), (1,1)}.
    result = is_pareto_dominated(PD, [2.0, 2.0], over="correlated")
    assert result.dominated and result.exact
    mu = result.witness
    assert mu.shape == (2, 2) and mu.min() >= 0 and mu.sum() == pytest.approx(1.0)
    assert np.all(PD.expected_utility_correlated(mu) >= 2.0 - 1e-9)
    # BoS (1.4, 1.4): no pure outcome dominates it, the correlated (1.5, 1.5) does; the largest total gain on the
    # segment u_0 + u_1 = 3 is 3 - 2.8 = 0.2.
    assert not is_pareto_dominated(BOS, [1.4, 1.4], over="pure").dominated
    result = is_pareto_dominated(BOS, [1.4, 1.4], over="correlated")
    assert result.dominated and result.improvement == pytest.approx(0.2, abs=1e-9)
    json.dumps(result.to_dict())


def test_mixed_dominance_certificates_and_the_inexact_case():
    # Chicken: row swerves, column swerves w.p. 1/2 gives (4, 6.5), which dominates (3.9, 6.4); no pure outcome
    # does ((6,6), (2,7), (7,2), (0,0)), so the certificate must come from the sampled profiles.
    assert not is_pareto_dominated(CHICKEN, [3.9, 6.4], over="pure").dominated
    result = is_pareto_dominated(CHICKEN, [3.9, 6.4], over="mixed", seed=1)
    assert result.dominated and result.exact
    np.testing.assert_allclose(CHICKEN.expected_utility(result.witness), result.witness_payoff, atol=1e-12)
    assert np.all(result.witness_payoff >= [3.9, 6.4])
    # PD (3, 3) is undominated in the correlated region, hence certified undominated among mixed profiles.
    result = is_pareto_dominated(PD, [3.0, 3.0], over="mixed")
    assert not result.dominated and result.exact
    # BoS (1.4, 1.4): dominated by correlation only; independent profiles p, q give u_0 + u_1 = 3(pq + (1-p)(1-q)),
    # which needs p, q near 0 or 1 where one player gets about 1. The search finds nothing: labelled inexact.
    result = is_pareto_dominated(BOS, [1.4, 1.4], over="mixed", samples=2000, seed=np.random.default_rng(3))
    assert not result.dominated and not result.exact
    assert "inexact" in result.note


def test_battle_of_the_sexes_correlated_front():
    # Golden: the front is the segment from (S,S) = (1, 2) to (B,B) = (2, 1) (Osborne & Rubinstein 1994, Ex. 15.3).
    front = pareto_front_correlated(BOS)
    np.testing.assert_array_equal(front.vertices, [[1, 2], [2, 1]])
    assert front.joint_actions == (((1, 1),), ((0, 0),))
    assert len(front.segments) == 1
    # PD: (0, 5) -> (3, 3) -> (5, 0); chicken: (2, 7) -> (6, 6) -> (7, 2).
    np.testing.assert_array_equal(pareto_front_correlated(PD).vertices, [[0, 5], [3, 3], [5, 0]])
    np.testing.assert_array_equal(pareto_front_correlated(CHICKEN).vertices, [[2, 7], [6, 6], [7, 2]])
    # A point that dominates everything is a one-vertex front; ties on the top edge keep only the rightmost.
    single = NormalFormGame([[[3, 1], [0, 3]], [[3, 1], [2, 3]]])
    np.testing.assert_array_equal(pareto_front_correlated(single).vertices, [[3, 3]])
    assert pareto_front_correlated(single).joint_actions == (((0, 0), (1, 1)),)
    json.dumps(pareto_front_correlated(PD).to_dict())


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_random_fronts(seed: int, rows: int, cols: int, integer: bool):
    rng = np.random.default_rng(seed)
    payoffs = rng.integers(-3, 4, size=(2, rows, cols)) if integer else rng.normal(size=(2, rows, cols))
    game = NormalFormGame(payoffs)
    front = pareto_front_correlated(game)
    v = front.vertices
    assert np.all(np.diff(v[:, 0]) > 0) and np.all(np.diff(v[:, 1]) < 0)  # ordered along the front
    points = [*v, *(0.5 * (v[:-1] + v[1:]))]  # the vertices and the midpoints of the segments
    for p in points:
        assert not is_pareto_dominated(game, p, over="correlated").dominated
    # Every pure outcome undominated in the correlated region lies on the front (a vertex or on a segment).
    pure_points = game.payoffs.reshape(2, -1).T
    for p in pure_points:
        if is_pareto_dominated(game, p, over="correlated").dominated:
            continue
        on_vertex = np.any(np.all(np.abs(v - p) <= 1e-9, axis=1))
        on_segment = any(
            a[0] <= p[0] <= b[0] and abs((p[0] - a[0]) * (b[1] - a[1]) - (p[1] - a[1]) * (b[0] - a[0])) <= 1e-9
            for a, b in front.segments
        )
        assert on_vertex or on_segment
    # The pure front agrees with a brute-force pairwise check.
    P = pure_points
    brute = [not any(np.all(P[j] >= P[k]) and np.any(P[j] > P[k]) for j in range(len(P))) for k in range(len(P))]
    np.testing.assert_array_equal(~dominance_matrix(P).any(axis=0), brute)
    assert len(pareto_front_pure(game)) == sum(brute)


def test_pareto_bad_input():
    with pytest.raises(UnknownNameError, match="correlated"):
        is_pareto_dominated(PD, [1.0, 1.0], over="independent")
    with pytest.raises(InvalidGameError, match="one payoff per player"):
        is_pareto_dominated(PD, [1.0, 1.0, 1.0])
    with pytest.raises(InvalidGameError, match="samples"):
        is_pareto_dominated(PD, [1.0, 1.0], over="mixed", samples=0)
    with pytest.raises(NotApplicableError, match="two-player"):
        pareto_front_correlated(NormalFormGame(np.zeros((3, 2, 2, 2))))
    with pytest.raises(InvalidGameError, match="NormalFormGame"):
        pareto_front_pure(np.zeros((2, 2, 2)))
