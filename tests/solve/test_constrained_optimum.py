"""The constrained team optimum (occupancy-measure LP, Altman 1999 §3) against independent computations.

Oracles: (1) one-state games — a second LP over the per-step joint distribution μ directly (no flow constraints):
max Σ w·r μ / (1 - γ) s.t. Σ C μ / (1 - γ) <= c, Σ μ = 1; (2) several states — the dual LP over values and
multipliers (Altman 1999, Thm. 3.6 / the Lagrangian value LP): min μ_0·V + c·λ s.t. V(s) >= r(s, a) - λ·C(s, a)
+ γ Σ_{s'} T(s'|s, a) V(s') on live states, λ >= 0 — strong duality gives the same optimum and the same λ*
(where unique); (3) λ* against the central finite difference of the optimum in the limits (LP sensitivity,
Bertsimas & Tsitsiklis 1997 §5.2); (4) the policy's costs from ``StochasticGame.expected_costs`` (Bellman solves)
against the LP occupancy's C·x.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import linprog

from marlkit.errors import NotApplicableError
from marlkit.games.catalog import make
from marlkit.games.catalog.constrained import random_constrained
from marlkit.solve.constrained import constrained_optimum


def joint_distribution_lp(game, weights) -> float:
    """Oracle (1): the one-state problem over the per-step joint distribution μ."""
    n = game.n_players
    r = np.tensordot(weights, game.rewards[:, 0].reshape(n, -1), axes=1)
    C = game.costs[:, :, 0].reshape(-1, r.size)
    scale = 1.0 / (1.0 - game.gamma)
    res = linprog(-r * scale, A_ub=C * scale, b_ub=game.limits.reshape(-1), A_eq=np.ones((1, r.size)), b_eq=[1.0])
    assert res.status == 0
    return -res.fun


def dual_value_lp(game, weights) -> tuple[float, np.ndarray]:
    """Oracle (2): min μ_0·V + c·λ over V (live states) and λ >= 0; returns the optimum and λ."""
    S, n = game.num_states, game.n_players
    B = int(np.prod(game.num_actions))
    live = np.flatnonzero(~game.terminal)
    T = game.transitions.reshape(S, B, S)
    r = np.tensordot(weights, game.rewards.reshape(n, S, B), axes=1)
    C = game.costs.reshape(-1, S, B)
    K = C.shape[0]
    legal = game.legal_joint_actions().reshape(S, B)
    rows, rhs = [], []
    for k, s in enumerate(live):
        for b in np.flatnonzero(legal[s]):
            row = np.zeros(live.size + K)
            row[k] -= 1.0  # -V(s) + γ Σ T V - λ·C <= -r
            row[: live.size] += game.gamma * T[s, b, live]
            row[live.size :] = -C[:, s, b]
            rows.append(row)
            rhs.append(-r[s, b])
    c = np.r_[game.initial[live], game.limits.reshape(-1)]
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=[(None, None)] * live.size + [(0, None)] * K)
    assert res.status == 0
    return res.fun, res.x[live.size :]


@pytest.mark.parametrize("seed", range(4))
def test_one_state_optimum_equals_the_joint_distribution_lp(seed: int) -> None:
    game = random_constrained(np.random.default_rng(seed), states=1, actions=(3, 2), constraints=2, gamma=0.7)
    w = np.array([1.0, 0.5 + seed])
    opt = constrained_optimum(game, w)
    assert opt.feasible
    assert opt.team_return == pytest.approx(joint_distribution_lp(game, w), abs=1e-8)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("terminal", [False, True])
def test_multi_state_optimum_equals_the_dual_value_lp(seed: int, terminal: bool) -> None:
    game = random_constrained(np.random.default_rng(10 + seed), states=3, actions=(2, 2), terminal=terminal)
    opt = constrained_optimum(game)
    value, lam = dual_value_lp(game, np.ones(2))
    assert opt.feasible and opt.team_return == pytest.approx(value, abs=1e-8)
    # weak duality + complementary slackness make any optimal dual λ give the same c·λ-weighted value; compare
    # the Lagrangian value c·λ where both duals agree on the binding set
    assert np.all(opt.multipliers >= 0)
    assert float(opt.limits.reshape(-1) @ opt.multipliers.reshape(-1)) == pytest.approx(
        float(opt.limits.reshape(-1) @ lam), abs=1e-6
    )


def test_three_players_match_the_dual_value_lp() -> None:
    game = random_constrained(np.random.default_rng(8), states=3, actions=(2, 2, 3), constraints=2, slack=0.95)
    w = np.array([1.0, 2.0, 0.5])
    opt = constrained_optimum(game, w)
    value, _ = dual_value_lp(game, w)
    assert opt.feasible and opt.team_return == pytest.approx(value, abs=1e-8)
    assert opt.policy.shape == (3, 2, 2, 3) and opt.costs.shape == (3, 2)


def test_action_masks_are_respected() -> None:
    game = random_constrained(np.random.default_rng(7), states=3, actions=(2, 3), slack=1.5)
    mask = game.action_mask.copy()
    mask[1, 0, 2] = mask[0, 2, 0] = False  # agent 2 cannot play its third action in s0, agent 1 its first in s2
    masked = dataclasses.replace(game, action_mask=mask, limits=game.limits)
    opt = constrained_optimum(masked)
    value, _ = dual_value_lp(masked, np.ones(2))
    assert opt.feasible and opt.team_return == pytest.approx(value, abs=1e-8)
    assert np.all(opt.policy[~masked.legal_joint_actions()] == 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_costs_of_the_policy_equal_the_occupancy_costs(seed: int) -> None:
    game = random_constrained(np.random.default_rng(20 + seed), states=3, actions=(2, 3), terminal=seed % 2 == 1)
    opt = constrained_optimum(game)
    n, m = game.limits.shape
    x = opt.occupancy.reshape(-1)
    lp_costs = game.costs.reshape(n, m, -1) @ x
    assert np.max(np.abs(game.expected_costs(opt.policy) - lp_costs)) <= 1e-9
    assert np.max(np.abs(opt.costs - lp_costs)) <= 1e-9
    assert np.all(opt.costs <= opt.limits + 1e-9)
    lp_returns = game.rewards.reshape(n, -1) @ x
    assert np.max(np.abs(opt.returns - lp_returns)) <= 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_multipliers_are_the_finite_difference_slope(seed: int) -> None:
    game = random_constrained(np.random.default_rng(30 + seed), states=2, actions=(2, 2), constraints=1, slack=1.0)
    opt = constrained_optimum(game)
    h = 1e-5
    for i, j in np.ndindex(*game.limits.shape):
        step = np.zeros_like(game.limits)
        step[i, j] = h
        up = constrained_optimum(game, limits=game.limits + step).team_return
        down = constrained_optimum(game, limits=game.limits - step).team_return
        assert opt.multipliers[i, j] == pytest.approx((up - down) / (2 * h), abs=1e-5)


@pytest.mark.parametrize("seed", range(6))
def test_vertex_randomises_in_at_most_k_states(seed: int) -> None:
    # Altman 1999, Thm. 3.8: a basic optimal occupancy has one positive entry per visited state plus at most one per
    # active constraint.
    game = random_constrained(np.random.default_rng(40 + seed), states=4, actions=(2, 2), constraints=2, slack=0.9)
    opt = constrained_optimum(game)
    assert opt.feasible and opt.randomised_states  # these seeds randomise (1 to 4 states): the bound is not vacuous
    assert len(opt.randomised_states) <= int(opt.active.sum())


def test_non_binding_limits_give_the_unconstrained_optimum() -> None:
    for seed in range(3):
        game = random_constrained(np.random.default_rng(50 + seed), states=3, actions=(2, 2))
        loose = dataclasses.replace(game, limits=np.full_like(game.limits, 1e3))
        opt = constrained_optimum(loose)
        assert opt.team_return == pytest.approx(opt.unconstrained_team_return, abs=1e-9)
        assert np.all(opt.multipliers == 0) and not opt.active.any()
        assert opt.safety_cost == pytest.approx(0.0, abs=1e-9)


def test_infeasible_limits_are_a_result() -> None:
    game = make("resource-sharing")
    # every joint action costs somebody something only when it plays high; a limit of 0 is feasible (always low)...
    assert constrained_optimum(game, limits=[[0.0], [0.0]]).team_return == pytest.approx(20.0)
    # ... but costs that are positive everywhere with a zero limit are not
    always = dataclasses.replace(game, costs=game.costs + 1.0)
    opt = constrained_optimum(always, limits=[[0.0], [0.0]])
    assert not opt.feasible and "raise the limits" in opt.reason
    assert np.isnan(opt.team_return) and opt.to_json()["team_return"] is None


def test_resource_sharing_golden_values() -> None:
    # Hand derivation in src/marlkit/games/catalog/constrained.py: 3.6 per step at γ = 0.9, λ* = 2 per agent.
    opt = constrained_optimum(make("resource-sharing"))
    assert opt.team_return == pytest.approx(36.0, abs=1e-9)
    assert opt.unconstrained_team_return == pytest.approx(40.0, abs=1e-9)
    assert opt.multipliers.reshape(-1) == pytest.approx([2.0, 2.0], abs=1e-8)
    assert opt.policy[0] == pytest.approx(np.array([[0.2, 0.4], [0.4, 0.0]]), abs=1e-9)


def test_a_game_without_costs_is_not_applicable() -> None:
    with pytest.raises(NotApplicableError, match="no costs"):
        constrained_optimum(make("prisoners-dilemma"))
