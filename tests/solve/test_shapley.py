"""Shapley's value iteration: hand-computed values, repeated games, masks, terminal states, exactness checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, as_stochastic, catalog, repeated_game
from marlkit.solve.best_response import best_response
from marlkit.solve.shapley import shapley_value_iteration

SOLVERS = ("batched", "lp")


def zero_sum_game(R0: np.ndarray, T: np.ndarray, gamma: float, **kwargs) -> StochasticGame:
    S = T.shape[0]
    return StochasticGame(transitions=T, rewards=np.stack([R0, -R0]), initial=np.eye(S)[0], gamma=gamma, **kwargs)


def check_optimal(game: StochasticGame, result, tol: float) -> None:
    """Evaluating the policy pair gives the values, and each policy is a best response to the other."""
    values = game.evaluate(result.policy)
    np.testing.assert_allclose(values[0], result.values, atol=2 * tol)
    # the column player's best response to the row policy earns -V, the row player's to the column policy V
    col_best = best_response(game, result.policy, 1).state_values
    row_best = best_response(game, result.policy, 0).state_values
    np.testing.assert_allclose(-col_best, result.values, atol=2 * tol)
    np.testing.assert_allclose(row_best, result.values, atol=2 * tol)


@pytest.mark.parametrize("solver", SOLVERS)
def test_two_state_game_by_hand(solver):
    # State 0: matching pennies (value 0), then always state 1. State 1: [[2, 0], [0, 1]] forever; the matrix
    # [[a, 0], [0, d]] has value ad / (a + d) = 2/3, plus the same continuation in every cell, so
    # V(1) = (2/3) / (1 - γ) = 20/3 and V(0) = 0 + γ V(1) = 6 for γ = 0.9. Optimal: uniform in state 0,
    # (1/3, 2/3) for both players in state 1 (x0 = d / (a + d) = 1/3).
    R0 = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])
    T = np.zeros((2, 2, 2, 2))
    T[:, :, :, 1] = 1.0
    game = zero_sum_game(R0, T, gamma=0.9)
    result = shapley_value_iteration(game, tol=1e-10, solver=solver)
    assert result.converged and result.bound <= 1e-10 and result.solver == solver
    np.testing.assert_allclose(result.values, [6.0, 20 / 3], atol=1e-10)
    np.testing.assert_allclose(result.policy[:, 0], [[0.5, 0.5], [0.5, 0.5]], atol=1e-9)
    np.testing.assert_allclose(result.policy[:, 1], [[1 / 3, 2 / 3], [1 / 3, 2 / 3]], atol=1e-9)
    check_optimal(game, result, 1e-10)
    json.dumps(result.to_dict())


@pytest.mark.parametrize("solver", SOLVERS)
def test_terminal_state_game_by_hand(solver):
    # State 0 with rewards [[0, 2], [1, 0]]; joint action (0, 0) stays in state 0, every other one ends the game
    # (state 1 is terminal, value 0). With a = γ V the stage matrix is [[a, 2], [1, 0]], which for a < 1 has no
    # saddle point and value (a*0 - 2*1) / (a + 0 - 2 - 1) = 2 / (3 - a). The fixed point V = 2 / (3 - V/2)
    # (γ = 1/2) solves V^2 - 6V + 4 = 0: V = 3 - √5 ≈ 0.7639 (a ≈ 0.382 < 1, as assumed). The row player plays
    # row 0 with probability (d - c)/(a + d - b - c) = 1/(3 - a), the column player column 0 with 2/(3 - a).
    R0 = np.array([[[0.0, 2.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    T = np.zeros((2, 2, 2, 2))
    T[0, :, :, 1] = 1.0
    T[0, 0, 0] = [1.0, 0.0]
    T[1, :, :, 1] = 1.0
    game = zero_sum_game(R0, T, gamma=0.5, terminal=[False, True])
    result = shapley_value_iteration(game, tol=1e-11, solver=solver)
    value = 3 - math.sqrt(5)
    a = 0.5 * value
    np.testing.assert_allclose(result.values, [value, 0.0], atol=1e-11)
    np.testing.assert_allclose(result.policy[0, 0], [1 / (3 - a), 1 - 1 / (3 - a)], atol=1e-9)
    np.testing.assert_allclose(result.policy[1, 0], [2 / (3 - a), 1 - 2 / (3 - a)], atol=1e-9)
    np.testing.assert_allclose(result.policy[:, 1], 0.5)  # terminal rows: uniform over legal actions
    check_optimal(game, result, 1e-11)


def test_repeated_matching_pennies():
    # the repeated zero-sum game's value is the stage value times 1/(1-γ): 0, with uniform play in every period
    game = repeated_game(NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]]), 0.9)
    result = shapley_value_iteration(game)
    np.testing.assert_allclose(result.values, [0.0], atol=1e-9)
    np.testing.assert_allclose(result.policy, 0.5, atol=1e-9)
    assert result.converged


def test_one_shot_game_gamma_zero_and_constant_sum():
    # γ = 0 is the one-shot game. A constant-sum game (u0 + u1 = 4) is shifted to zero-sum internally; with
    # u0 = A and val(A) = 2.5 (the 2x2 golden game of test_zero_sum) the values are (2.5, 4 - 2.5).
    A = np.array([[3.0, 1.0], [2.0, 4.0]])
    game = as_stochastic(NormalFormGame(np.stack([A, 4.0 - A])))
    result = shapley_value_iteration(game)
    np.testing.assert_allclose(result.player_values[:, 0], [2.5, 1.5], atol=1e-12)
    assert result.bound == 0.0 and result.total == pytest.approx(4.0)
    repeated = shapley_value_iteration(repeated_game(NormalFormGame(np.stack([A, 4.0 - A])), 0.5))
    np.testing.assert_allclose(repeated.player_values[:, 0], [5.0, 3.0], atol=1e-9)  # (2.5, 1.5) / (1 - γ)


@pytest.mark.parametrize("solver", SOLVERS)
def test_action_mask_keeps_illegal_actions_out(solver):
    # Player 0 has 3 actions, but action 2 (which would pay 100) is illegal in state 0; state 0 is then
    # matching pennies with value 0 (one-shot, γ = 0). In state 1 all three are legal and action 2 dominates.
    R0 = np.zeros((2, 3, 2))
    R0[:, :2, :] = [[1.0, -1.0], [-1.0, 1.0]]
    R0[:, 2, :] = 100.0
    T = np.zeros((2, 3, 2, 2))
    T[..., 0] = 1.0
    mask = np.ones((2, 2, 3), dtype=bool)
    mask[0, 0, 2] = False
    mask[1, :, 2] = False  # player 1 has only 2 actions
    game = zero_sum_game(R0, T, gamma=0.0, action_mask=mask)
    result = shapley_value_iteration(game, solver=solver)
    np.testing.assert_allclose(result.values, [0.0, 100.0], atol=1e-9)
    np.testing.assert_allclose(result.policy[0, 0], [0.5, 0.5, 0.0], atol=1e-9)
    np.testing.assert_allclose(result.policy[0, 1], [0.0, 0.0, 1.0], atol=1e-9)
    game.check_policy(result.policy)


def test_random_game_solvers_agree_and_are_optimal():
    rng = np.random.default_rng(11)
    S, m, n = 6, 3, 4
    T = rng.random((S, m, n, S)) ** 3
    T /= T.sum(axis=-1, keepdims=True)
    game = zero_sum_game(rng.normal(size=(S, m, n)), T, gamma=0.8)
    batched = shapley_value_iteration(game, tol=1e-9, solver="batched")
    lp = shapley_value_iteration(game, tol=1e-9, solver="lp")
    np.testing.assert_allclose(batched.values, lp.values, atol=1e-9)
    assert batched.iterations == lp.iterations
    check_optimal(game, batched, 1e-9)
    check_optimal(game, lp, 1e-9)


def test_max_iter_reports_the_bound_reached():
    rng = np.random.default_rng(0)
    R0 = rng.normal(size=(3, 2, 2))
    T = np.full((3, 2, 2, 3), 1 / 3)
    game = zero_sum_game(R0, T, gamma=0.99)
    result = shapley_value_iteration(game, max_iter=5)
    assert not result.converged and result.iterations == 5 and result.bound > 1e-9


def test_not_applicable_games():
    with pytest.raises(NotApplicableError, match="Shapley value iteration applies to two-player zero-sum"):
        three = NormalFormGame(np.random.default_rng(1).normal(size=(3, 2, 2, 2)))
        shapley_value_iteration(repeated_game(three, 0.5))
    pd = repeated_game(NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], name="pd"), 0.9)
    with pytest.raises(NotApplicableError, match="general-sum"):
        shapley_value_iteration(pd)
    with pytest.raises(NotApplicableError, match="NormalFormGame"):
        shapley_value_iteration(NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]]))


# ------------------------------------------------------------------------------------------------ soccer
def _soccer():
    return catalog.make("soccer")


def _board(name: str):
    """Parse 'A(r,c) B(r,c) ball:X' into ((r, c), (r, c), holder)."""
    a, b, ball = name.split()
    parse = lambda cell: tuple(int(v) for v in cell[2:-1].split(","))  # noqa: E731
    return parse(a), parse(b), "AB".index(ball[-1])


@pytest.mark.slow
def test_littman_soccer():
    game = _soccer()
    result = shapley_value_iteration(game, tol=1e-8)
    assert result.converged
    index = {name: s for s, name in enumerate(game.state_names)}
    values = result.values
    # Swap the players and mirror the field (column c -> 4 - c; A attacks west, B east): the rules are invariant,
    # so V_A(a, b, holder) = -V_A(mirror b, mirror a, other holder).
    for s, name in enumerate(game.state_names):
        if game.terminal[s]:
            continue
        (ra, ca), (rb, cb), holder = _board(name)
        mirrored = f"A({rb},{4 - cb}) B({ra},{4 - ca}) ball:{'BA'[holder]}"
        assert values[s] == pytest.approx(-values[index[mirrored]], abs=1e-7)
    # A with the ball in a goal row next to its goal (column 0) scores at once whatever B does: value 1
    for name in ("A(1,0) B(3,4) ball:A", "A(2,0) B(1,0) ball:A", "A(1,0) B(1,1) ball:A"):
        assert values[index[name]] == pytest.approx(1.0, abs=1e-7)
    # the two initial states (Littman 1994, Fig. 2) are mirror images with opposite values
    start = np.flatnonzero(game.initial)
    assert values[start[0]] == pytest.approx(-values[start[1]], abs=1e-7)
    assert abs(values[start[0]]) > 0.05
    np.testing.assert_allclose(game.evaluate(result.policy)[0], values, atol=1e-7)
