"""Zero-sum matrix games by LP: golden values, an independent dual LP and nashpy as oracles, security levels."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame
from marlkit.solve.zero_sum import maximin, security_strategies, solve_matrix_game

TOL = 1e-9


def guarantees(A: np.ndarray, sol, tol: float = TOL) -> None:
    """x secures at least the value against every column, y concedes at most the value to every row."""
    assert sol.row_strategy.min() >= 0 and sol.col_strategy.min() >= 0
    assert sol.row_strategy.sum() == pytest.approx(1, abs=1e-12)
    assert sol.col_strategy.sum() == pytest.approx(1, abs=1e-12)
    assert (sol.row_strategy @ A).min() >= sol.value - tol
    assert (A @ sol.col_strategy).max() <= sol.value + tol


def column_lp_value(A: np.ndarray) -> float:
    """Independent oracle: the column player's LP, min w s.t. A y <= w 1, Σ y = 1, y >= 0, solved on its own."""
    m, n = A.shape
    res = linprog(
        np.r_[np.zeros(n), 1.0],
        A_ub=np.c_[A, -np.ones(m)],
        b_ub=np.zeros(m),
        A_eq=np.r_[np.ones(n), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * n + [(None, None)],
        method="highs",
    )
    return float(res.fun)


# ------------------------------------------------------------------------------------------------ golden
@pytest.mark.parametrize(
    ("A", "value", "x", "y"),
    [
        # matching pennies: value 0, both uniform (von Neumann & Morgenstern 1944; Shoham & Leyton-Brown §3.2.1)
        ([[1, -1], [-1, 1]], 0.0, [0.5, 0.5], [0.5, 0.5]),
        # rock-paper-scissors: value 0, uniform (Shoham & Leyton-Brown 2009, Fig. 3.6)
        ([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], 0.0, [1 / 3] * 3, [1 / 3] * 3),
        # biased RPS, OpenSpiel's golden test (open_spiel/python/algorithms/lp_solver_test.py): value 0 and
        # the unique optimal strategy (1/16, 10/16, 5/16) for both (the matrix is skew-symmetric)
        (
            [[0, -0.25, 0.5], [0.25, 0, -0.05], [-0.5, 0.05, 0]],
            0.0,
            [1 / 16, 10 / 16, 5 / 16],
            [1 / 16, 10 / 16, 5 / 16],
        ),
        # saddle point: row 1 dominates row 0, column 1 is the column player's best; value A[1, 1] = 2
        ([[3, 1], [4, 2]], 2.0, [0, 1], [0, 1]),
        # 2x2 without saddle point: value (ad - bc)/(a + d - b - c) = (3*4 - 1*2)/(3 + 4 - 1 - 2) = 10/4
        ([[3, 1], [2, 4]], 2.5, [0.5, 0.5], [0.75, 0.25]),
    ],
)
def test_golden_games(A, value, x, y):
    A = np.array(A, dtype=float)
    sol = solve_matrix_game(A)
    assert sol.value == pytest.approx(value, abs=1e-12)
    np.testing.assert_allclose(sol.row_strategy, x, atol=1e-9)
    np.testing.assert_allclose(sol.col_strategy, y, atol=1e-9)
    guarantees(A, sol)
    assert sol.gap <= 2 * TOL
    json.dumps(sol.to_dict())


# ------------------------------------------------------------------------------------------ random games
def random_games(count: int = 100, seed: int = 20240901):
    rng = np.random.default_rng(seed)
    for k in range(count):
        m, n = 2 + k % 7, 2 + (k * 3) % 7  # sizes 2..8, square and rectangular
        yield rng.normal(size=(m, n)) if k % 2 else rng.integers(-3, 4, size=(m, n)).astype(float)


@pytest.mark.parametrize("A", list(random_games()), ids=lambda A: f"{A.shape[0]}x{A.shape[1]}")
def test_random_games_match_dual_lp(A):
    sol = solve_matrix_game(A)
    assert sol.value == pytest.approx(column_lp_value(A), abs=1e-8)
    guarantees(A, sol)


def test_small_random_games_match_nashpy_vertex_enumeration():
    nashpy = pytest.importorskip("nashpy", reason="nashpy (an optional oracle, in the test extra) is not installed")
    for A in random_games(60, seed=7):
        if max(A.shape) > 5:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            equilibria = list(nashpy.Game(A, -A).vertex_enumeration())
        assert equilibria, "vertex enumeration found no equilibrium"
        # every equilibrium of a zero-sum game pays the value
        for x, y in equilibria:
            assert solve_matrix_game(A).value == pytest.approx(float(x @ A @ y), abs=1e-8)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.floats(-10, 10, width=32)),
    st.floats(-5, 5),
)
def test_value_properties(A, shift):
    """val(A + c) = val(A) + c, val(-A^T) = -val(A), and the strategies always certify the value."""
    sol = solve_matrix_game(A)
    guarantees(A, sol, tol=1e-8)
    assert solve_matrix_game(A + shift).value == pytest.approx(sol.value + shift, abs=1e-8)
    assert solve_matrix_game(-A.T).value == pytest.approx(-sol.value, abs=1e-8)


@pytest.mark.parametrize("bad", [[1, 2, 3], [[1, np.nan], [0, 1]], [[]], "text"])
def test_bad_matrices_are_rejected(bad):
    with pytest.raises(InvalidGameError):
        solve_matrix_game(bad)


def test_bad_tolerance_is_rejected():
    with pytest.raises(InvalidGameError, match="tol"):
        solve_matrix_game([[1.0]], tol=0)


# ------------------------------------------------------------------------------------------- game level
def test_maximin_constant_sum_shift():
    # matching pennies with payoffs shifted so that u0 + u1 = 3: values (v + c/2, c/2 - v) = (0 + 0, 3 - 0)
    u0 = np.array([[1.0, -1.0], [-1.0, 1.0]])
    game = NormalFormGame(np.stack([u0, 3.0 - u0]))
    eq = maximin(game)
    np.testing.assert_allclose(eq.values, [0.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(eq.profile[0], [0.5, 0.5], atol=1e-9)
    assert eq.supports == ((0, 1), (0, 1))
    assert eq.epsilon <= 2 * TOL
    assert eq.method == "minimax-lp"


def test_maximin_refuses_general_sum_and_three_players():
    pd = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], name="pd")
    with pytest.raises(NotApplicableError, match=r"two-player zero-sum or constant-sum.*security_strategies"):
        maximin(pd)
    three = NormalFormGame(np.zeros((3, 2, 2, 2)))
    with pytest.raises(NotApplicableError, match="3 players"):
        maximin(three)


def test_security_strategies_two_player_zero_sum_equals_minimax():
    A = np.array([[0, -0.25, 0.5], [0.25, 0, -0.05], [-0.5, 0.05, 0]])
    sec = security_strategies(NormalFormGame(np.stack([A, -A])))
    np.testing.assert_allclose(sec.values, [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(sec.strategies[1], [1 / 16, 10 / 16, 5 / 16], atol=1e-9)


def test_security_strategies_three_players_guarantee_and_punishment():
    rng = np.random.default_rng(3)
    game = NormalFormGame(rng.normal(size=(3, 2, 3, 2)))
    sec = security_strategies(game)
    for i in range(3):
        own_first = np.moveaxis(game.payoffs[i], i, 0)
        flat = own_first.reshape(own_first.shape[0], -1)
        # maximin: the strategy earns at least the value against every pure joint action of the others
        assert (sec.strategies[i] @ flat).min() >= sec.values[i] - 1e-9
        # correlated punishment: no own action earns more than the value against it
        assert (flat @ sec.punishments[i].reshape(-1)).max() <= sec.values[i] + 1e-9
        assert sec.punishments[i].shape == own_first.shape[1:]
    json.dumps(sec.to_dict())


def test_security_levels_below_nash_payoffs_in_prisoners_dilemma():
    # PD (Shoham & Leyton-Brown 2009, Fig. 3.3 up to relabelling): defect secures 1, the Nash payoff
    pd = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]])
    sec = security_strategies(pd)
    np.testing.assert_allclose(sec.values, [1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(sec.strategies[0], [0.0, 1.0], atol=1e-9)
