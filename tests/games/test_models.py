"""Exact game models: construction, validation, expected utilities and exact policy evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from marlkit.errors import InvalidGameError
from marlkit.games import (
    NormalFormGame,
    ObservationModel,
    StochasticGame,
    as_stochastic,
    policy_from_profile,
    repeated_game,
)

MATCHING_PENNIES = np.array([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], dtype=float)


def test_normal_form_expected_utility_is_multilinear() -> None:
    g = NormalFormGame(MATCHING_PENNIES)
    # Row plays heads with p, column with q: U_row = (2p-1)(2q-1) (hand-computed).
    for p, q in [(0.5, 0.5), (1.0, 0.0), (0.3, 0.8)]:
        u = g.expected_utility([np.array([p, 1 - p]), np.array([q, 1 - q])])
        assert u == pytest.approx([(2 * p - 1) * (2 * q - 1), -(2 * p - 1) * (2 * q - 1)], abs=1e-15)


def test_three_player_expected_utility_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    payoffs = rng.normal(size=(3, 2, 3, 4))
    g = NormalFormGame(payoffs)
    profile = [rng.dirichlet(np.ones(m)) for m in g.num_actions]
    brute = np.zeros(3)
    for a in np.ndindex(*g.num_actions):
        brute += profile[0][a[0]] * profile[1][a[1]] * profile[2][a[2]] * payoffs[(slice(None), *a)]
    assert g.expected_utility(profile) == pytest.approx(brute, abs=1e-12)
    mu = np.einsum("i,j,k->ijk", *profile)
    assert g.expected_utility_correlated(mu) == pytest.approx(brute, abs=1e-12)


def test_game_arrays_are_read_only_and_names_default() -> None:
    g = NormalFormGame(MATCHING_PENNIES)
    with pytest.raises(ValueError):
        g.payoffs[0, 0, 0] = 5.0
    assert g.player_names == ("player0", "player1")
    assert g.action_names == (("a0", "a1"), ("a0", "a1"))


@pytest.mark.parametrize(
    ("payoffs", "message"),
    [
        (np.zeros((2, 2)), "needs 3 dimensions"),
        (np.array([[[1, np.nan], [0, 0]], [[0, 0], [0, 0]]]), "NaN or inf"),
        (np.array([[[1, np.inf], [0, 0]], [[0, 0], [0, 0]]]), "NaN or inf"),
        ("abc", "real numbers"),
        (np.zeros((2, 0, 2)), "at least one action"),
    ],
)
def test_normal_form_rejects_bad_payoffs(payoffs: object, message: str) -> None:
    with pytest.raises(InvalidGameError, match=message):
        NormalFormGame(payoffs)


def test_profile_validation_names_the_problem() -> None:
    g = NormalFormGame(MATCHING_PENNIES)
    with pytest.raises(InvalidGameError, match="sums to"):
        g.expected_utility([np.array([0.5, 0.6]), np.array([0.5, 0.5])])
    with pytest.raises(InvalidGameError, match="expected 2 mixed strategies"):
        g.expected_utility([np.array([0.5, 0.5])])
    with pytest.raises(InvalidGameError, match="negative"):
        g.expected_utility([np.array([1.5, -0.5]), np.array([0.5, 0.5])])


def _chain_game(gamma: float) -> StochasticGame:
    """Two states, one player with two actions: 'stay' (reward 1, stay) and 'go' (reward 0, move to s1).

    s1 is terminal. Hand-computed: always 'stay' gives V(s0) = 1 / (1 - gamma); 'go' gives V(s0) = 0;
    mixing stay with probability p gives V(s0) = p / (1 - gamma p).
    """
    T = np.zeros((2, 2, 2))
    T[0, 0, 0] = 1.0  # stay
    T[0, 1, 1] = 1.0  # go
    T[1, :, 1] = 1.0
    R = np.zeros((1, 2, 2))
    R[0, 0, 0] = 1.0
    return StochasticGame(T, R, initial=[1.0, 0.0], gamma=gamma, terminal=[False, True])


@pytest.mark.parametrize("p", [0.0, 0.25, 1.0])
def test_exact_policy_evaluation_matches_hand_computation(p: float) -> None:
    gamma = 0.9
    g = _chain_game(gamma)
    policy = np.array([[[p, 1 - p], [1.0, 0.0]]])
    V = g.evaluate(policy)
    assert V[0, 0] == pytest.approx(p / (1 - gamma * p), abs=1e-12)
    assert V[0, 1] == 0.0  # terminal state has value 0
    assert g.expected_return(policy) == pytest.approx([p / (1 - gamma * p)], abs=1e-12)


def test_repeated_game_values_scale_by_horizon() -> None:
    # Repeated prisoner's dilemma (payoffs T=5, R=3, P=1, S=0; Axelrod 1984): mutual cooperation forever is
    # worth R / (1 - gamma) = 3 / 0.1 = 30 to each player.
    pd = NormalFormGame(np.array([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], dtype=float))
    g = repeated_game(pd, 0.9)
    cooperate = policy_from_profile(g, [[[1, 0]], [[1, 0]]])
    assert g.expected_return(cooperate) == pytest.approx([30.0, 30.0])
    one_shot = as_stochastic(pd)
    assert one_shot.expected_return(cooperate) == pytest.approx([3.0, 3.0])


def test_outcome_rewards_are_reduced_to_expected_rewards() -> None:
    # R(s, a, s') = 10 if the coin lands in s1 (probability 0.3) else 0: expected reward 3.
    T = np.array([[[0.7, 0.3]], [[0.0, 1.0]]])
    R = np.zeros((1, 2, 1, 2))
    R[0, 0, 0, 1] = 10.0
    g = StochasticGame(T, R, initial=[1, 0], gamma=0.5)
    assert g.rewards[0, 0, 0] == pytest.approx(3.0)


def test_action_masks_constrain_policies_and_validation() -> None:
    T = np.zeros((2, 2, 2, 2))
    T[..., 0] = 1.0
    R = np.zeros((2, 2, 2, 2))
    mask = np.ones((2, 2, 2), dtype=bool)
    mask[1, 1, 1] = False  # player 1 may not play action 1 in state 1
    g = StochasticGame(T, R, initial=[1, 0], gamma=0.5, action_mask=mask)
    assert not g.legal_joint_actions()[1, 0, 1]
    bad = g.uniform_policy().copy()
    bad[1, 1] = [0.5, 0.5]
    with pytest.raises(InvalidGameError, match="illegal action 1 in state 1"):
        g.check_policy(bad)
    # Transitions of illegal joint actions are not validated.
    T2 = T.copy()
    T2[1, 0, 1] = 0.0
    StochasticGame(T2, R, initial=[1, 0], gamma=0.5, action_mask=mask)
    with pytest.raises(InvalidGameError, match="no legal action"):
        StochasticGame(T, R, initial=[1, 0], gamma=0.5, action_mask=np.zeros((2, 2, 2), bool))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gamma": 1.0}, "gamma"),
        ({"gamma": -0.1}, "gamma"),
        ({"initial": [0.5, 0.6]}, "initial"),
        ({"initial": [1.0]}, "initial"),
        ({"transitions": np.full((2, 1, 2), 0.6)}, "transitions"),
        ({"transitions": np.ones((2, 1, 3))}, "next state"),
        ({"rewards": np.zeros((2, 2, 1))}, "rewards"),
        ({"terminal": [True, True]}, "every state is terminal"),
        ({"costs": np.ones((1, 1, 2, 1))}, "both costs"),
        ({"costs": -np.ones((1, 1, 2, 1)), "limits": [[1.0]]}, ">= 0"),
        ({"costs": np.ones((1, 1, 2, 1)), "limits": [[-1.0]]}, "negative limit"),
    ],
)
def test_stochastic_game_rejects_bad_fields(change: dict, message: str) -> None:
    fields = {
        "transitions": np.array([[[1.0, 0.0]], [[0.0, 1.0]]]),
        "rewards": np.zeros((1, 2, 1)),
        "initial": [1.0, 0.0],
        "gamma": 0.9,
    }
    fields.update(change)
    with pytest.raises(InvalidGameError, match=message):
        StochasticGame(**fields)


def test_constrained_game_discounted_costs() -> None:
    # One state, one player; action 1 costs 1 per step: J = p / (1 - gamma) when playing it with probability p.
    g = StochasticGame(
        np.ones((1, 2, 1)),
        np.array([[[1.0, 2.0]]]),
        initial=[1.0],
        gamma=0.5,
        costs=np.array([[[[0.0, 1.0]]]]),
        limits=np.array([[1.0]]),
    )
    policy = np.array([[[0.25, 0.75]]])
    assert g.expected_costs(policy) == pytest.approx(np.array([[0.75 / 0.5]]))
    assert g.constraint_violations(policy) == pytest.approx(np.array([[0.5]]))
    assert g.constraint_violations(np.array([[[1.0, 0.0]]])) == pytest.approx(np.array([[0.0]]))


def test_observation_model_forms() -> None:
    T = np.full((2, 1, 2), 0.5)
    R = np.zeros((1, 2, 1))
    noisy = ObservationModel((np.array([[0.85, 0.15], [0.15, 0.85]]),))
    g = StochasticGame(T, R, initial=[0.5, 0.5], gamma=0.9, observations=noisy)
    assert g.is_partially_observable and g.observations.num_observations == (2,)
    det = ObservationModel.deterministic([[1, 0]], [2])
    assert np.array_equal(det.matrices[0], [[0, 1], [1, 0]])
    with pytest.raises(InvalidGameError, match="observations"):
        StochasticGame(T, R, initial=[0.5, 0.5], gamma=0.9, observations=ObservationModel((np.ones((3, 2)) / 2,)))
    with pytest.raises(InvalidGameError, match="sums to"):
        ObservationModel((np.ones((2, 2)),))


def test_a_joint_policy_whose_shape_matches_the_per_agent_one_is_read_as_asked():
    """Two agents, two states, two actions: ``[S, A_1, A_2]`` and ``[n, S, A_max]`` are both ``[2, 2, 2]``; by default
    such an array is a per-agent policy, and ``joint=True`` reads it as a correlated joint policy."""
    rewards = np.zeros((2, 2, 2, 2))
    rewards[0, 0, 0, 0] = 1.0  # agent 0 earns 1 only for (0, 0) in state 0
    game = StochasticGame(
        transitions=np.full((2, 2, 2, 2), 0.5), rewards=rewards, initial=np.array([1.0, 0.0]), gamma=0.5
    )
    correlated = np.zeros((2, 2, 2))
    correlated[:, 0, 0] = 0.5
    correlated[:, 1, 1] = 0.5  # (0, 0) or (1, 1), each with probability 1/2, in both states
    as_joint = game.expected_return(correlated, joint=True)
    as_product = game.expected_return(np.full((2, 2, 2), 0.5), joint=False)
    # correlated: P(0, 0) = 1/2 at every step; product of uniform policies: 1/4. V_0(s0) = p + γ (p/2 + 0) / ... =
    # solved exactly: V(s0) = p + γ (V(s0) + V(s1)) / 2, V(s1) = γ (V(s0) + V(s1)) / 2 -> V(s0) = p (1 - γ/2) / (1 - γ)
    assert as_joint[0] == pytest.approx(0.5 * 0.75 / 0.5)
    assert as_product[0] == pytest.approx(0.25 * 0.75 / 0.5)
    with pytest.raises(InvalidGameError):
        game.expected_return(correlated, joint=False)  # not a per-agent policy: rows do not sum to 1
