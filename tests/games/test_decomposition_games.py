"""The value-decomposition games (marlkit.games.catalog.decomposition): payoffs as published, team optima and
equilibria checked with exact evaluation and marlkit.solve, and the (non-)monotonicity that separates VDN, QMIX and
the optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from marlkit.envs import make as make_env
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.catalog import make
from marlkit.games.properties import Utility, describe
from marlkit.solve import nash_conv, pure_equilibria


def deterministic_profile(choice: np.ndarray, num_actions: int) -> np.ndarray:
    """``choice [n, S]`` action indices as a one-hot per-agent policy ``[n, S, A]``."""
    return np.eye(num_actions)[choice]


def all_deterministic_profiles(game: StochasticGame):
    n, S, A = game.n_players, game.num_states, max(game.num_actions)
    for flat in itertools.product(range(A), repeat=n * S):
        choice = np.array(flat).reshape(n, S)
        yield choice, deterministic_profile(choice, A)


# ------------------------------------------------------------------------------------------------ two-step
def test_two_step_game_is_as_published() -> None:
    """Rashid et al. (2018, Figure 3): state 1 -> 2A if agent 1 plays A, 2B if B; 2A pays 7, 2B [[0,1],[1,8]]."""
    g = make("two-step")
    assert isinstance(g, StochasticGame) and g.state_names == ("1", "2A", "2B", "end")
    assert g.gamma == 0.99 and g.initial.tolist() == [1, 0, 0, 0] and g.terminal.tolist() == [0, 0, 0, 1]
    for a2 in range(2):
        assert g.transitions[0, 0, a2].tolist() == [0, 1, 0, 0]  # A -> 2A whatever agent 2 does
        assert g.transitions[0, 1, a2].tolist() == [0, 0, 1, 0]  # B -> 2B
    assert np.all(g.transitions[1:3, :, :, 3] == 1)
    np.testing.assert_array_equal(g.rewards[0, 0], np.zeros((2, 2)))
    np.testing.assert_array_equal(g.rewards[0, 1], np.full((2, 2), 7.0))
    np.testing.assert_array_equal(g.rewards[0, 2], [[0.0, 1.0], [1.0, 8.0]])
    np.testing.assert_array_equal(g.rewards[0], g.rewards[1])
    assert describe(g).utility == Utility.COMMON_PAYOFF
    assert make("two-step", gamma=0.5).gamma == 0.5


def test_two_step_team_optimum_is_8_by_exhaustive_evaluation() -> None:
    """Over all 64 deterministic joint policies (exact policy evaluation), the best discounted team return is
    8 gamma, reached exactly when agent 1 plays B in state 1 and both play B in 2B; going to 2A gives 7 gamma."""
    g = make("two-step")
    best, optimal = -np.inf, []
    for choice, profile in all_deterministic_profiles(g):
        value = g.expected_return(profile)
        assert value[0] == pytest.approx(value[1])
        if value[0] > best + 1e-9:
            best, optimal = value[0], [choice]
        elif abs(value[0] - best) <= 1e-9:
            optimal.append(choice)
    assert best == pytest.approx(8 * 0.99, abs=1e-12)
    assert all(c[0, 0] == 1 and c[0, 2] == 1 and c[1, 2] == 1 for c in optimal)
    to_2a = np.array([[0, 0, 0, 0], [0, 0, 0, 0]])
    assert g.expected_return(deterministic_profile(to_2a, 2))[0] == pytest.approx(7 * 0.99, abs=1e-12)


def test_two_step_nash_conv_of_the_optimum_and_of_vdns_policy() -> None:
    """marlkit.solve.nash_conv: the optimum is an equilibrium (0). VDN's greedy policy — 2A, and (B, B) in the
    unvisited 2B — is not one: agent 1 gains gamma (8 - 7) by switching to B (NashConv 0.99)."""
    g = make("two-step")
    optimum = deterministic_profile(np.array([[1, 0, 1, 0], [0, 0, 1, 0]]), 2)
    assert nash_conv(g, optimum) == pytest.approx(0.0, abs=1e-9)
    vdn_like = deterministic_profile(np.array([[0, 0, 1, 0], [0, 0, 1, 0]]), 2)
    assert nash_conv(g, vdn_like) == pytest.approx(0.99, abs=1e-9)


def test_an_additive_fit_of_2b_peaks_below_7_but_2b_is_monotone() -> None:
    """Why VDN fails and QMIX succeeds (Rashid et al. 2018, §6.1): the least-squares additive fit
    Q_1(a_1) + Q_2(a_2) of 2B under uniform data has maximum 6.5 < 7 (so VDN prefers 2A), while 2B's payoff
    orders each agent's actions the same way whatever the other does — representable by a monotonic mixer."""
    payoff = np.array([[0.0, 1.0], [1.0, 8.0]])
    design = np.array(
        [[1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 0, 1]], dtype=float
    )  # [Q1(A),Q1(B),Q2(A),Q2(B)]
    coef, *_ = np.linalg.lstsq(design, payoff.ravel(), rcond=None)
    fitted = design @ coef
    np.testing.assert_allclose(fitted, [-1.5, 2.5, 2.5, 6.5], atol=1e-9)
    assert fitted.max() < 7.0
    assert np.all(payoff[1] > payoff[0]) and np.all(payoff[:, 1] > payoff[:, 0])


# ------------------------------------------------------------------------------------------------ QTRAN game
def test_qtran_matrix_is_as_published_with_its_equilibria() -> None:
    """Son et al. (2019, Table 1a). Pure equilibria (marlkit.solve): (A, A) with 8 and the four joint actions
    among B and C with 0 — the suboptimal equilibria a monotonic learner ends in."""
    g = make("qtran-matrix")
    assert isinstance(g, NormalFormGame)
    expected = np.array([[8.0, -12.0, -12.0], [-12.0, 0.0, 0.0], [-12.0, 0.0, 0.0]])
    np.testing.assert_array_equal(g.payoffs[0], expected)
    np.testing.assert_array_equal(g.payoffs[1], expected)
    assert describe(g).utility == Utility.COMMON_PAYOFF
    found = {tuple(int(np.argmax(p)) for p in e.profile) for e in pure_equilibria(g)}
    assert found == {(0, 0), (1, 1), (1, 2), (2, 1), (2, 2)}
    assert np.unravel_index(np.argmax(g.payoffs[0]), (3, 3)) == (0, 0)


def test_qtran_matrix_orders_actions_differently_against_different_partners() -> None:
    """The non-monotonicity: agent 1 prefers A to B when agent 2 plays A (8 > -12) but B to A when agent 2
    plays B (0 > -12). A monotonic Q_tot = f(Q_1, Q_2) with (A, A) greedy would need Q_1(A) > Q_1(B), hence
    Q_tot(A, B) >= Q_tot(B, B): -12 >= 0, false. The two-step game's 2B has no such reversal."""
    P = make("qtran-matrix").payoffs[0]
    assert P[0, 0] > P[1, 0] and P[0, 1] < P[1, 1]
    assert P[0, 0] > P[0, 1] and P[1, 0] < P[1, 1]  # the same reversal for agent 2


@pytest.mark.parametrize("name", ["two-step", "qtran-matrix"])
def test_the_games_run_as_envs(name: str) -> None:
    env = make_env(f"game:{name}")
    assert env.spec.n_agents == 2
    assert env.spec.max_episode_steps >= 1
