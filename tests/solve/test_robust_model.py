"""Robust dynamic programming for model uncertainty (Iyengar 2005; Nilim & El Ghaoui 2005; Zhang et al. 2020,
NeurIPS; Shapley 1953): nominal reduction, contraction, the reward-box identity, monotonicity, and independent
oracles (the worst model evaluated nominally, brute force over deterministic policies, minimax certificates)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import StochasticGame
from marlkit.games.catalog.robust import random_stochastic
from marlkit.games.properties import optimal_values
from marlkit.games.uncertainty import ModelUncertainty
from marlkit.solve.robust.inner import worst_distribution
from marlkit.solve.robust.model import (
    robust_bellman,
    robust_policy_evaluation,
    robust_shapley,
    robust_team_optimum,
)
from marlkit.solve.shapley import shapley_value_iteration

SETS = [ModelUncertainty(0.1, 0.3, "l1"), ModelUncertainty(0.05, 0.15, "linf"), ModelUncertainty(0.0, [0.2, 0.0, 0.5])]


def random_policy(game: StochasticGame, rng: np.random.Generator) -> np.ndarray:
    pi = rng.dirichlet(np.ones(game.max_actions), size=(game.n_players, game.num_states)) * game.action_mask
    return pi / pi.sum(axis=2, keepdims=True)


def deterministic_policies(game: StochasticGame):
    """Every deterministic per-agent policy (one action per agent and state)."""
    options = [range(m) for _ in range(game.num_states) for m in game.num_actions]
    for combo in itertools.product(*options):
        pi = np.zeros((game.n_players, game.num_states, game.max_actions))
        for k, a in enumerate(combo):
            s, i = divmod(k, game.n_players)
            pi[i, s, a] = 1.0
        yield pi


@pytest.mark.parametrize("seed", range(3))
def test_singleton_sets_give_the_nominal_solutions(seed):
    rng = np.random.default_rng(seed)
    trivial = ModelUncertainty()
    game = random_stochastic(rng, states=4, actions=(2, 3), players=2, terminal=seed == 1, sparse=seed == 2)
    pi = random_policy(game, rng)
    np.testing.assert_allclose(robust_policy_evaluation(game, pi, trivial).values, game.evaluate(pi), atol=1e-12)
    team = random_stochastic(rng, states=4, actions=2, players=2, utility="common", terminal=seed == 1)
    S = team.num_states
    V, _ = optimal_values(
        team.rewards[0].reshape(S, -1),
        team.transitions.reshape(S, -1, S),
        team.legal_joint_actions().reshape(S, -1),
        team.gamma,
        team.terminal,
        1e-12,
    )
    np.testing.assert_allclose(robust_team_optimum(team, trivial).values, V, atol=1e-10)


def test_singleton_sets_give_shapley():
    game = random_stochastic(
        np.random.default_rng(7), states=2, actions=2, players=2, utility="zero-sum", gamma=0.7
    )  # γ = 0.7: fewer Shapley sweeps
    nominal = shapley_value_iteration(game, solver="lp")
    robust = robust_shapley(game, ModelUncertainty(), solver="lp")
    np.testing.assert_allclose(robust.values, nominal.values, atol=1e-12)
    np.testing.assert_allclose(robust.policy, nominal.policy, atol=1e-9)


@pytest.mark.parametrize("uncertainty", SETS, ids=["l1", "linf", "per-state"])
def test_robust_evaluation_is_attained_by_a_model_in_the_set_and_no_model_does_worse(uncertainty):
    # Oracle: nature's worst model (rewards R - ε, the worst rows for the answer's V) evaluated by the nominal linear
    # solve gives the robust values; random models drawn inside the set never give less (Iyengar 2005, Thm 3.1).
    rng = np.random.default_rng(11)
    game = random_stochastic(rng, states=3, actions=2, players=2, terminal=True)
    pi = random_policy(game, rng)
    robust = robust_policy_evaluation(game, pi, uncertainty)
    S, n = game.num_states, game.n_players
    eps = uncertainty.reward_radii(n, S)
    delta = uncertainty.transition_radii(S)
    for i in range(n):
        worst_T = worst_distribution(game.transitions, robust.values[i], delta.reshape(S, 1, 1), uncertainty.norm)
        worst = StochasticGame(
            worst_T, game.rewards - eps.reshape(n, S, 1, 1), game.initial, game.gamma, terminal=game.terminal
        )
        np.testing.assert_allclose(worst.evaluate(pi)[i], robust.values[i], atol=1e-10)
        for _ in range(30):
            gap = rng.dirichlet(np.ones(S), size=game.transitions.shape[:-1]) - game.transitions
            size = np.abs(gap).sum(-1) if uncertainty.norm == "l1" else np.abs(gap).max(-1)
            shrink = np.minimum(
                1.0, delta.reshape(S, 1, 1) / np.maximum(size, 1e-300)
            )  # mix towards a random row, within the ball
            p = game.transitions + gap * shrink[..., None]
            r = game.rewards + rng.uniform(-1, 1, game.rewards.shape) * eps.reshape(n, S, 1, 1)
            other = StochasticGame(p, r, game.initial, game.gamma, terminal=game.terminal)
            assert np.all(other.evaluate(pi)[i] >= robust.values[i] - 1e-10)


@pytest.mark.parametrize("uncertainty", SETS[:2], ids=["l1", "linf"])
def test_robust_team_optimum_equals_brute_force_over_deterministic_policies(uncertainty):
    # (s,a)-rectangular robust MDPs have a deterministic stationary optimal policy (Iyengar 2005, Thm 3.2), so the
    # optimum is the best robust evaluation among all 4^3 = 64 deterministic joint policies.
    game = random_stochastic(np.random.default_rng(3), states=3, actions=2, players=2, utility="common")
    best = max(robust_policy_evaluation(game, pi, uncertainty).returns[0] for pi in deterministic_policies(game))
    solution = robust_team_optimum(game, uncertainty)
    assert solution.team_return == pytest.approx(best, abs=1e-9)
    joint = solution.policy
    assert np.all(joint.reshape(game.num_states, -1).max(axis=1) == 1.0)  # deterministic joint action
    assert robust_policy_evaluation(game, joint, uncertainty).returns[0] == pytest.approx(best, abs=1e-9)


def test_robust_shapley_certificates():
    # With nature on player 1's side in every cell, the game is zero-sum between player 0 and (player 1 + nature).
    # Player 0's robust policy guarantees V against every deterministic policy of player 1 (with nature's worst
    # model for that pair), and player 1's policy holds every deterministic policy of player 0 to V.
    game = random_stochastic(
        np.random.default_rng(5), states=2, actions=2, players=2, utility="zero-sum", gamma=0.7
    )  # γ = 0.7: fewer Shapley sweeps
    uncertainty = ModelUncertainty(0.1, 0.4, "l1")
    sol = robust_shapley(game, uncertainty, solver="lp")
    x, y = sol.policy
    for pure in deterministic_policies(game):
        against_x = robust_policy_evaluation(game, np.stack([x, pure[1]]), uncertainty).values[0]
        against_y = robust_policy_evaluation(game, np.stack([pure[0], y]), uncertainty).values[0]
        assert np.all(against_x >= sol.values - 1e-8)
        assert np.all(against_y <= sol.values + 1e-8)
    nominal = shapley_value_iteration(game, solver="lp")
    assert np.all(sol.values <= nominal.values + 1e-9)
    assert sol.returns[1] == pytest.approx(-sol.returns[0])


def test_reward_box_identity():
    # With δ = 0 and a constant reward box ±ε, nature lowers every reward by ε, so every robust value is the
    # nominal one minus Σ_t γ^t ε = ε / (1 - γ) (no terminal state).
    rng = np.random.default_rng(9)
    eps, box = 0.25, ModelUncertainty(0.25, 0.0)
    game = random_stochastic(rng, states=3, actions=2, players=2)
    pi = random_policy(game, rng)
    shift = eps / (1 - game.gamma)
    np.testing.assert_allclose(robust_policy_evaluation(game, pi, box).values, game.evaluate(pi) - shift, atol=1e-10)
    team = random_stochastic(rng, states=3, actions=2, players=2, utility="common")
    nominal = robust_team_optimum(team, ModelUncertainty())
    np.testing.assert_allclose(robust_team_optimum(team, box).values, nominal.values - shift, atol=1e-10)
    zs = random_stochastic(
        rng, states=2, actions=2, players=2, utility="zero-sum", gamma=0.7
    )  # γ = 0.7: fewer Shapley sweeps
    np.testing.assert_allclose(
        robust_shapley(zs, box, solver="lp").values,
        shapley_value_iteration(zs, solver="lp").values - eps / (1 - zs.gamma),
        atol=1e-8,
    )


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_robust_values_are_non_increasing_in_the_radius(norm):
    rng = np.random.default_rng(4)
    game = random_stochastic(rng, states=4, actions=2, players=2, terminal=True)
    team = random_stochastic(rng, states=4, actions=2, players=2, utility="common")
    pi = random_policy(game, rng)
    previous_eval, previous_team = np.inf, np.inf
    for radius in [0.0, 0.05, 0.1, 0.2, 0.4, 0.8, 2.0]:
        u = ModelUncertainty(radius / 4, radius, norm)
        values = robust_policy_evaluation(game, pi, u).values
        team_values = robust_team_optimum(team, u).values
        assert np.all(values <= previous_eval + 1e-12) and np.all(team_values <= previous_team + 1e-12)
        previous_eval, previous_team = values, team_values


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_operators_are_gamma_contractions_with_the_answers_as_fixed_points(norm):
    # ||T V - T W||_∞ <= γ ||V - W||_∞ for the policy, team and Shapley operators (module docstring's argument).
    rng = np.random.default_rng(8)
    u = ModelUncertainty(0.1, 0.3, norm)
    game = random_stochastic(rng, states=4, actions=2, players=2, terminal=True, sparse=True)
    team = random_stochastic(rng, states=4, actions=2, players=2, utility="common")
    zs = random_stochastic(
        rng, states=2, actions=2, players=2, utility="zero-sum", gamma=0.7
    )  # γ = 0.7: fewer Shapley sweeps
    pi = random_policy(game, rng)
    for _ in range(20):
        V, W = rng.normal(scale=5, size=(2, 2, 4))
        TV, TW = robust_bellman(game, u, V, policy=pi), robust_bellman(game, u, W, policy=pi)
        assert np.all(np.abs(TV - TW).max(axis=1) <= game.gamma * np.abs(V - W).max(axis=1) + 1e-12)
        assert np.abs(robust_bellman(team, u, V[0]) - robust_bellman(team, u, W[0])).max() <= (
            team.gamma * np.abs(V[0] - W[0]).max() + 1e-12
        )
        a, b = V[0, :2], W[0, :2]
        assert (
            np.abs(robust_bellman(zs, u, a) - robust_bellman(zs, u, b)).max() <= zs.gamma * np.abs(a - b).max() + 1e-9
        )
    evaluation = robust_policy_evaluation(game, pi, u)
    np.testing.assert_allclose(robust_bellman(game, u, evaluation.values, policy=pi), evaluation.values, atol=1e-10)
    optimum = robust_team_optimum(team, u)
    np.testing.assert_allclose(robust_bellman(team, u, optimum.values), optimum.values, atol=1e-10)
    shapley = robust_shapley(zs, u, solver="lp")
    np.testing.assert_allclose(robust_bellman(zs, u, shapley.values), shapley.values, atol=1e-8)


def test_not_applicable_and_bad_input():
    rng = np.random.default_rng(0)
    general = random_stochastic(rng, states=2, actions=2, players=2)
    with pytest.raises(NotApplicableError, match="common-payoff"):
        robust_team_optimum(general, ModelUncertainty(0.1))
    with pytest.raises(NotApplicableError, match="zero-sum"):
        robust_shapley(general, ModelUncertainty(0.1))
    with pytest.raises(InvalidGameError, match="transition_radius"):
        robust_policy_evaluation(general, general.uniform_policy(), ModelUncertainty(0.0, [0.1, 0.2, 0.3]))
    team = random_stochastic(rng, states=2, actions=2, players=2, utility="common")
    with pytest.raises(InvalidGameError, match="differs between agents"):
        robust_team_optimum(team, ModelUncertainty([[0.1, 0.1], [0.2, 0.2]]))


def test_results_are_json():
    import json

    game = random_stochastic(np.random.default_rng(1), states=2, actions=2, players=2, utility="common")
    u = ModelUncertainty(0.1, 0.2)
    json.dumps(robust_team_optimum(game, u).to_json())
    json.dumps(robust_policy_evaluation(game, game.uniform_policy(), u).to_json())
