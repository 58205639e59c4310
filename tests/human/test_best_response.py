"""The exact best response to a fixed human model and the Carroll effect (src/marlkit/human/best_response.py).

Oracles: the hand-derived closed forms of the module docstring (gap(β) = max(0, B - A σ(βA)), threshold
β* = ln(B / (A - B)) / A) and brute force over every deterministic policy on small random stochastic games.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.catalog import make
from marlkit.human.best_response import (
    best_response_to_human,
    carroll_game,
    carroll_gap,
    carroll_gap_closed_form,
    carroll_threshold,
    plan_human_policy,
    team_plan,
)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.mark.parametrize("beta", [0.0, 0.05, 0.1, 0.2, 0.27, 0.3, 0.5, 1.0, 3.0])
def test_carroll_values_match_the_closed_form(beta: float) -> None:
    # A = 4, B = 3: p = σ(4β); self-play (stag) earns 4p, the best response max(4p, 3) (module docstring).
    result = carroll_gap(carroll_game(), beta)
    p = sigmoid(4 * beta)
    assert result.human_policy[0].tolist() == pytest.approx([p, 1 - p], abs=1e-12)
    assert result.self_play == pytest.approx(4 * p, abs=1e-9)
    assert result.best_response == pytest.approx(max(4 * p, 3.0), abs=1e-9)
    assert result.gap == pytest.approx(max(0.0, 3.0 - 4 * p), abs=1e-9)
    assert result.gap == pytest.approx(carroll_gap_closed_form(beta), abs=1e-9)
    assert result.team_optimum == 4.0


def test_gap_at_beta_zero_is_b_minus_half_a() -> None:
    for a, b in [(4.0, 3.0), (5.0, 4.0), (10.0, 6.0)]:
        assert carroll_gap(carroll_game(a=a, b=b), 0.0).gap == pytest.approx(b - a / 2, abs=1e-9)


@pytest.mark.parametrize(("a", "b"), [(4.0, 3.0), (5.0, 4.0), (10.0, 6.0), (2.0, 1.9)])
def test_threshold_closed_form_separates_gap_from_no_gap(a: float, b: float) -> None:
    beta_star = carroll_threshold(a, b)
    assert beta_star == pytest.approx(math.log(b / (a - b)) / a, abs=1e-15)
    # at β* the human plays stag with probability exactly B / A, so both AI actions tie
    assert sigmoid(a * beta_star) == pytest.approx(b / a, abs=1e-12)
    game = carroll_game(a=a, b=b)
    assert carroll_gap(game, beta_star).gap == pytest.approx(0.0, abs=1e-9)
    below, above = carroll_gap(game, beta_star * 0.99), carroll_gap(game, beta_star * 1.01)
    assert below.gap > 1e-6  # the best response switched to the safe action: a strict gap
    assert below.best_response_policy[0].tolist() == [0.0, 1.0]
    assert above.gap == 0.0  # rational enough human: the best response is the self-play action, no gap
    assert above.best_response_policy[0].tolist() == above.self_play_policy[0].tolist() == [1.0, 0.0]
    for beta in np.linspace(beta_star * 1.001, 5 * beta_star + 1, 7):
        assert carroll_gap(game, float(beta)).gap == 0.0
    assert carroll_gap(game, math.inf).gap == 0.0


def test_no_threshold_when_the_safe_payoff_is_at_most_half() -> None:
    # B <= A/2: σ(βA) >= 1/2 gives A σ >= B for every β >= 0, so the gap is 0 everywhere and β* = 0.
    assert carroll_threshold(4.0, 2.0) == 0.0 and carroll_threshold(4.0, 1.0) == 0.0
    for beta in [0.0, 0.1, 1.0]:
        assert carroll_gap(carroll_game(a=4.0, b=2.0), beta).gap == pytest.approx(0.0, abs=1e-12)


def random_game(rng: np.random.Generator, common: bool) -> StochasticGame:
    S, A0, A1 = 3, 2, 3
    T = rng.dirichlet(np.ones(S), size=(S, A0, A1))
    R = rng.normal(size=(2, S, A0, A1))
    if common:
        R[1] = R[0]
    return StochasticGame(T, R, rng.dirichlet(np.ones(S)), 0.9)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ai", [0, 1])
def test_best_response_matches_brute_force(seed: int, ai: int) -> None:
    rng = np.random.default_rng(seed)
    game = random_game(rng, common=False)
    m_ai, m_h = game.num_actions[ai], game.num_actions[1 - ai]
    human = rng.dirichlet(np.ones(m_h), size=game.num_states)
    br = best_response_to_human(game, human, ai=ai)
    best = -np.inf
    for actions in itertools.product(range(m_ai), repeat=game.num_states):
        policy = np.zeros((2, game.num_states, game.max_actions))
        policy[ai, np.arange(game.num_states), list(actions)] = 1.0
        policy[1 - ai, :, :m_h] = human
        best = max(best, float(game.expected_return(policy)[ai]))
    assert br.value == pytest.approx(best, abs=1e-9)
    # the returned policy attains the value
    policy = np.zeros((2, game.num_states, game.max_actions))
    policy[ai, :, :m_ai] = br.policy
    policy[1 - ai, :, :m_h] = human
    assert float(game.expected_return(policy)[ai]) == pytest.approx(br.value, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_team_plan_matches_brute_force_and_gap_is_non_negative(seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    game = random_game(rng, common=True)
    plan = team_plan(game)
    best = -np.inf
    for joint in itertools.product(range(6), repeat=game.num_states):
        a, b = np.unravel_index(np.array(joint), (2, 3))
        policy = np.zeros((2, game.num_states, 3))
        policy[0, np.arange(3), a] = 1.0
        policy[1, np.arange(3), b] = 1.0
        best = max(best, float(game.expected_return(policy)[0]))
    assert float(game.initial @ plan.values) == pytest.approx(best, abs=1e-9)
    for beta in [0.0, 0.5, 2.0, math.inf]:
        result = carroll_gap(game, beta)
        assert result.gap >= 0.0
        assert result.best_response >= result.self_play - 1e-12
        assert result.team_optimum == pytest.approx(best, abs=1e-9)


def test_plan_human_limits() -> None:
    game = carroll_game()
    assert plan_human_policy(game, 0.0).tolist() == [[0.5, 0.5]]
    assert plan_human_policy(game, math.inf).tolist() == [[1.0, 0.0]]
    # the human in seat 0: its plan values are u(b, stag) = (4, 3)
    assert plan_human_policy(game, 1.0, ai=1)[0] == pytest.approx([sigmoid(1.0), 1 - sigmoid(1.0)], abs=1e-12)


def test_bad_input() -> None:
    with pytest.raises(InvalidGameError, match="beta"):
        carroll_gap(carroll_game(), -0.1)
    with pytest.raises(NotApplicableError, match="common-payoff"):
        carroll_gap(make("prisoners-dilemma"), 1.0)
    three = NormalFormGame(np.zeros((3, 2, 2, 2)))
    with pytest.raises(NotApplicableError, match="two-player games"):
        carroll_gap(three, 1.0)
    with pytest.raises(InvalidGameError, match="human_policy"):
        best_response_to_human(carroll_game(), np.ones((1, 3)) / 3)
    with pytest.raises(InvalidGameError, match="ai"):
        carroll_gap(carroll_game(), 1.0, ai=2)
    with pytest.raises(InvalidGameError, match="a > b > 0"):
        carroll_game(a=1.0, b=2.0)


def test_result_json_and_lines() -> None:
    result = carroll_gap(carroll_game(), math.inf)
    data = result.to_json()
    assert data["beta"] is None and data["beta_infinite"] is True and data["gap"] == 0.0
    assert any("Carroll gap" in line for line in result.lines())
