"""Utilities, best responses, NashConv, exploitability, regrets and CE/CCE gaps on normal-form and stochastic games."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame, ObservationModel, StochasticGame, as_stochastic, repeated_game
from marlkit.games.properties import constant_sum_total
from marlkit.solve.best_response import (
    best_response,
    best_response_values,
    deviation_payoffs,
    exploitability,
    nash_conv,
    regrets,
)
from marlkit.solve.gaps import (
    cce_deviation_gains,
    cce_gap,
    cce_gap_per_player,
    ce_deviation_gains,
    ce_gap,
    ce_gap_per_player,
)

# Shoham & Leyton-Brown 2009, Fig. 3.6 (matching pennies) and Fig. 3.5 (rock-paper-scissors, win 1 / lose -1).
MATCHING_PENNIES = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], name="matching pennies")
RPS_A = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
RPS = NormalFormGame([RPS_A, -RPS_A], name="rock-paper-scissors")
# Prisoner's dilemma (Shoham & Leyton-Brown 2009, Fig. 3.3), actions (C, D): (D, D) is the unique equilibrium.
PD = NormalFormGame([[[-1, -4], [0, -3]], [[-1, 0], [-4, -3]]], name="prisoner's dilemma")
# Chicken in the (Dare, Chicken) order, Aumann 1974's correlated-equilibrium example.
CHICKEN = NormalFormGame([[[0, 7], [2, 6]], [[0, 2], [7, 6]]], name="chicken")

HALF = np.array([0.5, 0.5])
THIRD = np.full(3, 1 / 3)


def pure(k: int, m: int) -> np.ndarray:
    return np.eye(m)[k]


# ------------------------------------------------------------------------------------------ strategies
@st.composite
def game_and_profile(draw: st.DrawFn) -> tuple[NormalFormGame, list[np.ndarray], np.random.Generator]:
    n = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    game = NormalFormGame(rng.normal(size=(n, *shape)) * draw(st.sampled_from([1e-3, 1.0, 1e3])))
    profile = []
    for m in shape:  # mix interior points with pure and sparse strategies
        kind = draw(st.sampled_from(["dirichlet", "pure", "sparse"]))
        p = {"dirichlet": rng.dirichlet(np.ones(m)), "pure": pure(int(rng.integers(m)), m)}.get(
            kind, rng.dirichlet(np.ones(m)) * (rng.random(m) < 0.5)
        )
        profile.append(p / p.sum() if p.sum() > 0 else pure(0, m))
    return game, profile, rng


# ------------------------------------------------------------------------------------------ normal form
def test_deviation_payoffs_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    game = NormalFormGame(rng.normal(size=(3, 2, 3, 4)))
    profile = [rng.dirichlet(np.ones(m)) for m in game.num_actions]
    devs = deviation_payoffs(game, profile)
    for i, m in enumerate(game.num_actions):
        brute = np.zeros(m)
        for joint in itertools.product(*map(range, game.num_actions)):
            weight = np.prod([profile[j][joint[j]] for j in range(3) if j != i])
            brute[joint[i]] += weight * game.payoffs[(i, *joint)]
        np.testing.assert_allclose(devs[i], brute, atol=1e-12)
        assert profile[i] @ devs[i] == pytest.approx(game.expected_utility(profile)[i], abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(game_and_profile())
def test_nash_conv_is_non_negative_and_sums_regrets(case) -> None:
    game, profile, _ = case
    r = regrets(game, profile)
    assert nash_conv(game, profile) == pytest.approx(r.sum(), abs=1e-12)
    # regret_i = max_a U_i(a, σ_-i) - U_i(σ) (Lanctot et al. 2017, §3); unclipped, it is >= 0 up to rounding
    # because U_i(σ) is an average of the U_i(a, σ_-i) it is compared with.
    expected = best_response_values(game, profile) - game.expected_utility(profile)
    assert np.all(expected >= -1e-12 * max(1.0, np.abs(game.payoffs).max()))
    np.testing.assert_allclose(r, np.maximum(expected, 0), atol=1e-9 * np.abs(game.payoffs).max())


@settings(max_examples=60, deadline=None)
@given(game_and_profile())
def test_best_response_is_never_worse_than_any_other_response(case) -> None:
    game, profile, rng = case
    for i, m in enumerate(game.num_actions):
        value, actions = best_response(game, profile, i)
        assert len(actions) >= 1
        for a in range(m):  # every pure alternative
            alt = list(profile)
            alt[i] = pure(a, m)
            assert game.expected_utility(alt)[i] <= value + 1e-12 * max(1.0, abs(value))
        for _ in range(5):  # random mixed alternatives
            alt = list(profile)
            alt[i] = rng.dirichlet(np.ones(m))
            assert game.expected_utility(alt)[i] <= value + 1e-12 * max(1.0, abs(value))
        for a in actions:  # every reported best response attains the value
            alt = list(profile)
            alt[i] = pure(a, m)
            assert game.expected_utility(alt)[i] == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize(
    ("game", "profile"),
    [
        (MATCHING_PENNIES, [HALF, HALF]),  # unique equilibrium: both uniform
        (RPS, [THIRD, THIRD]),  # unique equilibrium: both uniform
        (PD, [pure(1, 2), pure(1, 2)]),  # (D, D)
    ],
)
def test_nash_conv_is_zero_at_known_equilibria(game: NormalFormGame, profile: list[np.ndarray]) -> None:
    assert nash_conv(game, profile) <= 1e-12
    np.testing.assert_array_less(regrets(game, profile), 1e-12)


def test_nash_conv_hand_computed_in_matching_pennies() -> None:
    # Row on heads, column heads with q = 0.3. Row: U(H) = 2q-1 = -0.4, U(T) = 0.4, plays H, gain 0.8.
    # Column: U(H) = -1, U(T) = +1 against heads, gets -(2q-1) = 0.4, gain 1 - 0.4 = 0.6. NashConv = 1.4.
    profile = [pure(0, 2), np.array([0.3, 0.7])]
    np.testing.assert_allclose(regrets(MATCHING_PENNIES, profile), [0.8, 0.6], atol=1e-15)
    assert nash_conv(MATCHING_PENNIES, profile) == pytest.approx(1.4, abs=1e-15)
    # Column uniform: row indifferent (gain 0), column gains 1 by playing tails. NashConv = 1.
    assert nash_conv(MATCHING_PENNIES, [pure(0, 2), HALF]) == pytest.approx(1.0, abs=1e-15)
    assert best_response(MATCHING_PENNIES, [pure(0, 2), HALF], 1) == (1.0, (1,))
    assert best_response(MATCHING_PENNIES, [pure(0, 2), HALF], 0) == (0.0, (0, 1))


def test_exploitability_in_rock_paper_scissors() -> None:
    assert exploitability(RPS, [THIRD, THIRD]) == pytest.approx(0.0, abs=1e-15)
    # Both play rock: each seat's best response (paper) wins 1 against a value of 0: NashConv 2, mean gain 1.
    assert exploitability(RPS, [pure(0, 3), pure(0, 3)]) == pytest.approx(1.0, abs=1e-15)
    # Constant-sum (u_0 + u_1 = 1) is the same game shifted: same exploitability.
    shifted = NormalFormGame([RPS_A, 1 - RPS_A])
    assert constant_sum_total(shifted) == pytest.approx(1.0)
    assert exploitability(shifted, [pure(0, 3), THIRD]) == pytest.approx(exploitability(RPS, [pure(0, 3), THIRD]))


def test_exploitability_rejects_general_sum_and_multiplayer_games() -> None:
    with pytest.raises(NotApplicableError, match="nash_conv"):
        exploitability(PD, [HALF, HALF])
    three = NormalFormGame(np.zeros((3, 2, 2, 2)))
    with pytest.raises(NotApplicableError, match="two-player"):
        exploitability(three, [HALF, HALF, HALF])


def test_bad_input_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(InvalidGameError, match="player"):
        best_response(RPS, [THIRD, THIRD], 2)
    with pytest.raises(InvalidGameError, match="sums to"):
        nash_conv(RPS, [THIRD, np.array([0.5, 0.5, 0.5])])
    with pytest.raises(NotApplicableError, match="NormalFormGame or a StochasticGame"):
        nash_conv(RPS_A, [THIRD, THIRD])


# ------------------------------------------------------------------------------------------ CE / CCE
def test_chicken_correlated_equilibrium_has_zero_gap() -> None:
    # Aumann 1974: 1/3 on each of (D, C), (C, D), (C, C) is a correlated equilibrium of chicken.
    mu = np.array([[0, 1], [1, 1]]) / 3
    assert ce_gap(CHICKEN, mu) == 0.0
    np.testing.assert_array_equal(ce_gap_per_player(CHICKEN, mu), [0.0, 0.0])
    # Told C, the row player gets (2 + 6)/3 = 8/3; switching to D gets (0 + 7)/3 = 7/3: G[C, D] = -1/3.
    # Told D it gets 7/3 from (D, C); switching to C gets 6/3: G[D, C] = -1/3.
    np.testing.assert_allclose(ce_deviation_gains(CHICKEN, mu)[0], [[0, -1 / 3], [-1 / 3, 0]], atol=1e-15)
    # A CE is a CCE; here it is strict: U(μ) = 5 and either fixed action earns 14/3 against the marginal.
    assert cce_gap(CHICKEN, mu) == 0.0
    np.testing.assert_allclose(cce_deviation_gains(CHICKEN, mu)[1], [-1 / 3, -1 / 3], atol=1e-15)


def test_point_mass_on_non_equilibrium_outcomes_has_hand_computed_gap() -> None:
    both_chicken = np.array([[0, 0], [0, 1]], dtype=float)  # (C, C): each gains 7 - 6 = 1 by daring
    assert ce_gap(CHICKEN, both_chicken) == pytest.approx(1.0)
    np.testing.assert_allclose(ce_gap_per_player(CHICKEN, both_chicken), [1.0, 1.0])
    np.testing.assert_allclose(cce_gap_per_player(CHICKEN, both_chicken), [1.0, 1.0])
    both_dare = np.array([[1, 0], [0, 0]], dtype=float)  # (D, D): each gains 2 - 0 = 2 by chickening
    assert ce_gap(CHICKEN, both_dare) == pytest.approx(2.0)
    assert cce_gap(CHICKEN, both_dare) == pytest.approx(2.0)


def test_ce_gains_match_brute_force_on_a_three_player_game() -> None:
    rng = np.random.default_rng(7)
    game = NormalFormGame(rng.normal(size=(3, 2, 3, 2)))
    mu = rng.dirichlet(np.ones(12)).reshape(2, 3, 2)
    gains = ce_deviation_gains(game, mu)
    for i, m in enumerate(game.num_actions):
        for a, b in itertools.product(range(m), repeat=2):
            brute = 0.0
            for joint in itertools.product(*map(range, game.num_actions)):
                if joint[i] == a:
                    dev = list(joint)
                    dev[i] = b
                    brute += mu[joint] * (game.payoffs[(i, *dev)] - game.payoffs[(i, *joint)])
            assert gains[i][a, b] == pytest.approx(brute, abs=1e-12)
        # CCE gain of a fixed action b = Σ_a G[a, b] (module docstring of marlkit.solve.gaps)
        np.testing.assert_allclose(cce_deviation_gains(game, mu)[i], gains[i].sum(axis=0), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(game_and_profile())
def test_product_distribution_cce_gap_equals_largest_nash_gain(case) -> None:
    game, profile, _ = case
    mu = profile[0]
    for p in profile[1:]:
        mu = np.multiply.outer(mu, p)
    scale = max(1.0, np.abs(game.payoffs).max())
    assert cce_gap(game, mu) == pytest.approx(regrets(game, profile).max(), abs=1e-12 * scale)
    np.testing.assert_allclose(cce_gap_per_player(game, mu), regrets(game, profile), atol=1e-12 * scale)


# ------------------------------------------------------------------------------------------ stochastic
def random_stochastic_game(seed: int) -> StochasticGame:
    rng = np.random.default_rng(seed)
    return StochasticGame(
        transitions=rng.dirichlet(np.ones(2), size=(2, 2, 2)),
        rewards=rng.normal(size=(2, 2, 2, 2)),
        initial=rng.dirichlet(np.ones(2)),
        gamma=0.8,
    )


@pytest.mark.parametrize("seed", range(5))
def test_stochastic_best_response_matches_brute_force_over_deterministic_policies(seed: int) -> None:
    game = random_stochastic_game(seed)
    rng = np.random.default_rng(100 + seed)
    policy = rng.dirichlet(np.ones(2), size=(2, 2))
    for i in range(2):
        brute = -np.inf
        for actions in itertools.product(range(2), repeat=2):  # one action per state
            candidate = policy.copy()
            candidate[i] = np.eye(2)[list(actions)]
            brute = max(brute, game.expected_return(candidate)[i])
        response = best_response(game, policy, i)
        assert response.value == pytest.approx(brute, abs=1e-12)
        np.testing.assert_array_equal(response.policy[1 - i], policy[1 - i])  # others unchanged
        np.testing.assert_allclose(game.evaluate(response.policy)[i], response.state_values, atol=1e-12)
        assert not response.upper_bound
        # The best response is worth at least the current policy (unclipped, up to the linear solves' rounding).
        assert response.value >= game.expected_return(policy)[i] - 1e-12


def test_stochastic_best_response_brute_force_with_more_states_and_actions() -> None:
    rng = np.random.default_rng(42)
    S, m = 4, 3
    game = StochasticGame(
        transitions=rng.dirichlet(np.ones(S), size=(S, m, m)),
        rewards=rng.normal(size=(2, S, m, m)),
        initial=rng.dirichlet(np.ones(S)),
        gamma=0.95,
    )
    policy = rng.dirichlet(np.ones(m), size=(2, S))
    brute = -np.inf
    for actions in itertools.product(range(m), repeat=S):  # 81 deterministic policies of player 1
        candidate = policy.copy()
        candidate[1] = np.eye(m)[list(actions)]
        brute = max(brute, game.expected_return(candidate)[1])
    assert best_response(game, policy, 1).value == pytest.approx(brute, abs=1e-10)


def test_repeated_matching_pennies_nash_conv() -> None:
    game = repeated_game(MATCHING_PENNIES, gamma=0.9)
    assert nash_conv(game, game.uniform_policy()) == pytest.approx(0.0, abs=1e-12)
    heads = np.zeros((2, 1, 2))
    heads[:, :, 0] = 1.0
    # Both always heads: the matcher earns 1 per step, 1/(1-0.9) = 10, and cannot do better (regret 0); the
    # mismatcher earns -10 and 10 by always playing tails (regret 20). NashConv = 20, exploitability = 10.
    np.testing.assert_allclose(regrets(game, heads), [0.0, 20.0], atol=1e-12)
    assert nash_conv(game, heads) == pytest.approx(20.0, abs=1e-12)
    assert exploitability(game, heads) == pytest.approx(10.0, abs=1e-12)
    np.testing.assert_array_equal(best_response(game, heads, 1).policy[1, 0], [0.0, 1.0])


@pytest.mark.parametrize("seed", range(3))
def test_one_shot_stochastic_game_agrees_with_normal_form(seed: int) -> None:
    rng = np.random.default_rng(seed)
    game = NormalFormGame(rng.normal(size=(3, 2, 3, 2)))
    profile = [rng.dirichlet(np.ones(m)) for m in game.num_actions]
    policy = np.zeros((3, 1, 3))
    for i, p in enumerate(profile):
        policy[i, 0, : len(p)] = p
    np.testing.assert_allclose(regrets(as_stochastic(game), policy), regrets(game, profile), atol=1e-12)


def terminal_masked_game() -> StochasticGame:
    """s0 -> (a0=0: reward 1, end | a0=1: reward 0, go to s1 | a0=2: reward 0.5, end); s2 is terminal.

    In s0 player 1 has only action 0. In s1 player 0's action 2 is illegal (and would pay 100); the players then
    play a zero-sum matching game (player 0 wins 3 on a match) and the game ends. gamma = 0.5.
    """
    S, A0, A1 = 3, 3, 2
    T = np.zeros((S, A0, A1, S))
    T[..., 2] = 1.0
    T[0, 1, :, :] = [0, 1, 0]
    r0 = np.zeros((S, A0, A1))
    r0[0, 0, :], r0[0, 2, :] = 1.0, 0.5
    r0[1, 0, 0] = r0[1, 1, 1] = 3.0
    r0[1, 2, :] = 100.0  # illegal: must never be chosen
    mask = np.ones((2, S, 3), dtype=bool)
    mask[0, 1, 2] = False
    mask[1, :, 2] = False
    mask[1, 0, 1] = False
    return StochasticGame(
        transitions=T,
        rewards=np.stack([r0, -r0]),
        initial=[1.0, 0.0, 0.0],
        gamma=0.5,
        terminal=[False, False, True],
        action_mask=mask,
    )


def test_terminal_states_and_action_masks() -> None:
    game = terminal_masked_game()
    policy = game.uniform_policy()  # player 0 uniform over {0,1,2} in s0 and over {0,1} in s1
    # Player 1 uniform in s1: going there is worth 0.5 * 1.5 = 0.75 < 1, so the best response ends at once: 1.
    response = best_response(game, policy, 0)
    assert response.value == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(response.policy[0, 0], [1, 0, 0])
    assert response.policy[0, 1, 2] == 0.0  # the illegal action is never used
    # U_0(π) = (1 + 0.75 + 0.5) / 3 = 0.75 (s1 pays 3 w.p. 1/2, discounted once); player 1 cannot gain (player 0
    # is uniform in s1), so the regrets are (0.25, 0) and NashConv = 0.25.
    np.testing.assert_allclose(game.expected_return(policy), [0.75, -0.75], atol=1e-12)
    np.testing.assert_allclose(regrets(game, policy), [0.25, 0.0], atol=1e-12)
    assert exploitability(game, policy) == pytest.approx(0.125, abs=1e-12)  # zero-sum with terminal states
    # If player 1 always plays 0 in s1, the best response goes there and matches: 0.5 * 3 = 1.5.
    pinned = policy.copy()
    pinned[1, 1] = [1.0, 0.0, 0.0]
    assert best_response(game, pinned, 0).value == pytest.approx(1.5, abs=1e-12)


def test_constant_sum_stochastic_game_with_terminal_states_is_not_constant_sum() -> None:
    game = terminal_masked_game()
    shifted = StochasticGame(
        game.transitions, game.rewards + 0.5, game.initial, game.gamma, game.terminal, game.action_mask
    )
    # Rewards sum to 1 per step, but episode length depends on the policies: returns do not sum to a constant.
    assert constant_sum_total(shifted) is None
    with pytest.raises(NotApplicableError, match="nash_conv"):
        exploitability(shifted, shifted.uniform_policy())
    uniform = shifted.uniform_policy()
    values = [best_response(shifted, uniform, i).value for i in range(2)]
    assert nash_conv(shifted, uniform) == pytest.approx(sum(values) - shifted.expected_return(uniform).sum(), abs=1e-9)


def test_partially_observable_best_response_is_flagged_as_an_upper_bound() -> None:
    base = random_stochastic_game(0)
    observations = ObservationModel.deterministic([[0, 0], [0, 0]], [1, 1])
    posg = StochasticGame(base.transitions, base.rewards, base.initial, base.gamma, observations=observations)
    response = best_response(posg, posg.uniform_policy(), 0)
    assert response.upper_bound
    assert response.value == pytest.approx(best_response(base, base.uniform_policy(), 0).value)
