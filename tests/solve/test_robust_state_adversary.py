"""The optimal state adversary against a fixed joint policy (Zhang et al. 2020, SA-MDP Lemma 1; Han et al. 2024,
TMLR): equal to brute force over all deterministic stationary adversaries (1e-9), below the clean and the
random-perception values, non-increasing as the sets grow, and plain policy evaluation when B(s) = {s}."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import StochasticGame
from marlkit.games.catalog import make
from marlkit.games.catalog.robust import random_stochastic
from marlkit.games.uncertainty import StateUncertainty
from marlkit.solve.robust.state_adversary import (
    perceived_joint,
    random_perception_evaluation,
    worst_case_evaluation,
)


def random_policy(game: StochasticGame, rng: np.random.Generator) -> np.ndarray:
    pi = rng.dirichlet(np.ones(game.max_actions), size=(game.n_players, game.num_states)) * game.action_mask
    return pi / pi.sum(axis=2, keepdims=True)


def random_sets(rng: np.random.Generator, n: int, S: int, attacked: list[int]) -> StateUncertainty:
    sets = {j: [sorted({s} | set(np.flatnonzero(rng.random(S) < 0.5).tolist())) for s in range(S)] for j in attacked}
    return StateUncertainty.from_sets(n, S, sets)


def brute_force(game: StochasticGame, pi: np.ndarray, u: StateUncertainty, w: np.ndarray) -> float:
    """min over every deterministic stationary adversary, each evaluated by StochasticGame.evaluate."""
    n, S = game.n_players, game.num_states
    slots = [(j, s) for j in u.attacked for s in range(S)]
    best = np.inf
    for choice in itertools.product(*(u.perceivable(j, s) for j, s in slots)):
        adversary = np.broadcast_to(np.eye(S), (n, S, S)).copy()
        for (j, s), t in zip(slots, choice, strict=True):
            adversary[j, s] = np.eye(S)[t]
        joint = perceived_joint(pi, adversary, game.num_actions)
        best = min(best, float(w @ game.expected_return(joint, joint=True)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_equals_brute_force_over_all_deterministic_adversaries(seed):
    rng = np.random.default_rng(seed)
    n = 2 if seed % 3 else 3
    game = random_stochastic(rng, states=3, actions=2, players=n, terminal=seed == 4, sparse=seed == 5)
    pi = random_policy(game, rng)
    attacked = [0, 1] if seed % 2 else [1]
    u = random_sets(rng, n, 3, attacked)
    w = rng.uniform(0, 1, n) if seed == 3 else np.full(n, 1 / n)
    result = worst_case_evaluation(game, pi, u, None if seed != 3 else w)
    assert result.value == pytest.approx(brute_force(game, pi, u, w), abs=1e-9)
    # the returned adversary attains the value, and its per-agent returns are the nominal evaluation of it
    joint = perceived_joint(pi, result.adversary, game.num_actions)
    np.testing.assert_allclose(result.returns, game.expected_return(joint, joint=True), atol=1e-12)
    assert result.value == pytest.approx(w @ result.returns, abs=1e-12)
    assert result.state_values @ game.initial == pytest.approx(result.value, abs=1e-12)
    assert np.all(result.adversary.sum(axis=2) == 1) and set(np.unique(result.adversary)) <= {0.0, 1.0}
    assert np.all(result.adversary[~u.allowed] == 0)  # perceived states lie in the sets
    # attacked <= random perception of the same sets <= ... and attacked <= clean
    random = random_perception_evaluation(game, pi, u, None if seed != 3 else w)
    assert result.value <= random.value + 1e-12 and result.value <= result.clean_value + 1e-12
    assert result.clean_value == pytest.approx(w @ game.expected_return(pi), abs=1e-12)


def test_random_perception_averages_the_policy_over_the_set():
    rng = np.random.default_rng(3)
    game = random_stochastic(rng, states=3, actions=2, players=2)
    pi = random_policy(game, rng)
    u = StateUncertainty.from_sets(2, 3, {0: [[0, 2], [1], [2]]})
    effective = pi.copy()
    effective[0, 0] = (pi[0, 0] + pi[0, 2]) / 2  # agent 0 in state 0 sees 0 or 2 with probability 1/2 each
    result = random_perception_evaluation(game, pi, u)
    np.testing.assert_allclose(result.returns, game.expected_return(effective), atol=1e-12)
    assert result.kind == "random" and result.adversary[0, 0].tolist() == [0.5, 0.0, 0.5]


def test_singleton_sets_give_policy_evaluation():
    rng = np.random.default_rng(1)
    game = random_stochastic(rng, states=4, actions=(2, 3), players=2, terminal=True)
    pi = random_policy(game, rng)
    result = worst_case_evaluation(game, pi, StateUncertainty.none(2, 4))
    np.testing.assert_allclose(result.returns, game.expected_return(pi), atol=1e-12)
    assert result.gap == pytest.approx(0.0, abs=1e-12)
    assert np.array_equal(result.adversary, np.broadcast_to(np.eye(4), (2, 4, 4)))


def test_non_increasing_as_the_sets_grow_and_with_more_attacked_agents():
    rng = np.random.default_rng(2)
    S = 5
    game = random_stochastic(rng, states=S, actions=2, players=2)
    pi = random_policy(game, rng)
    distance = np.abs(np.subtract.outer(np.arange(S), np.arange(S))).astype(float)  # a line of states
    for attacked in ([0], [1], [0, 1]):
        previous = np.inf
        for radius in range(S):
            value = worst_case_evaluation(game, pi, StateUncertainty.from_distance(2, distance, radius, attacked)).value
            assert value <= previous + 1e-12
            previous = value
    one = worst_case_evaluation(game, pi, StateUncertainty.from_distance(2, distance, 2, [0])).value
    both = worst_case_evaluation(game, pi, StateUncertainty.from_distance(2, distance, 2, [0, 1])).value
    assert both <= one + 1e-12


def test_common_payoff_default_objective_is_the_team_return():
    rng = np.random.default_rng(6)
    game = random_stochastic(rng, states=3, actions=2, players=2, utility="common")
    pi = random_policy(game, rng)
    result = worst_case_evaluation(game, pi, StateUncertainty.everywhere(2, 3, [0]))
    assert result.value == pytest.approx(result.returns[0], abs=1e-12)
    json.dumps(result.to_json())


def test_bad_input():
    game = make("perception-guess")
    pi = game.uniform_policy()
    with pytest.raises(InvalidGameError, match="2 agents"):
        worst_case_evaluation(game, pi, StateUncertainty.none(2, 3))
    with pytest.raises(InvalidGameError, match="weights"):
        worst_case_evaluation(game, pi, StateUncertainty.none(1, 3), weights=[1.0, 2.0])
    with pytest.raises(NotApplicableError, match="partially observable"):
        worst_case_evaluation(make("dec-tiger"), make("dec-tiger").uniform_policy(), StateUncertainty.none(2, 2))
    # a perceived state whose policy plays an action illegal in the true state
    T = np.full((2, 2, 2), 0.5)
    masked = StochasticGame(T, np.zeros((1, 2, 2)), np.ones(2) / 2, 0.9, action_mask=[[[True, True], [True, False]]])
    policy = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    with pytest.raises(NotApplicableError, match="illegal"):
        worst_case_evaluation(masked, policy, StateUncertainty.everywhere(1, 2, [0]))
