"""Replicator dynamics: the vector field against exact oracles, known theory on the integrated and discrete forms,
and the learner in the compiled loop against the standalone integrator."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from marlkit.agents.tabular import IQL
from marlkit.agents.tabular.replicator import (
    Replicator,
    equilibrium_divergence,
    population_fitness,
    replicator_ode,
    replicator_trajectory,
    replicator_velocity,
    shift_payoffs,
    symmetric_replicator_trajectory,
)
from marlkit.errors import InvalidGameError, LearnerConfigError, NotApplicableError
from marlkit.games import NormalFormGame
from marlkit.games.catalog import make
from marlkit.train import train

MP = make("matching-pennies")
RPS = make("rock-paper-scissors")
MP_X0 = [[0.8, 0.2], [0.4, 0.6]]
RPS_X0 = [[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]


def uniform_profile(game: NormalFormGame) -> np.ndarray:
    m = game.num_actions[0]
    return np.full((2, m), 1.0 / m)


# ------------------------------------------------------------------------------------- the vector field


def test_fitness_and_velocity_match_numpy_on_a_three_player_game() -> None:
    rng = np.random.default_rng(7)
    game = NormalFormGame(rng.normal(size=(3, 2, 3, 4)))
    strategies = [rng.dirichlet(np.ones(m)) for m in game.num_actions]
    padded = np.zeros((3, 4))
    for i, s in enumerate(strategies):
        padded[i, : len(s)] = s
    fitness = np.asarray(population_fitness(np.asarray(game.payoffs, np.float32), padded.astype(np.float32)))
    v = np.asarray(replicator_velocity(game, strategies))
    for i, m in enumerate(game.num_actions):
        for a in range(m):  # oracle: u_i(a, x_-i) = U_i with player i's strategy replaced by the pure action a
            pure = list(strategies)
            pure[i] = np.eye(m)[a]
            assert fitness[i, a] == pytest.approx(game.expected_utility(pure)[i], abs=1e-5)
        mean = strategies[i] @ fitness[i, :m]
        np.testing.assert_allclose(v[i, :m], strategies[i] * (fitness[i, :m] - mean), atol=1e-5)
        assert np.all(v[i, m:] == 0) and abs(v[i].sum()) < 1e-6  # the simplex (and its padding) is invariant


def test_rk4_agrees_with_scipy_on_the_ode_form() -> None:
    # The continuous form handed to an independent solver (scipy RK45, rtol 1e-9) gives the same trajectory as our
    # RK4 at dt = 0.01; both evaluate the field in float32, so agreement is ~1e-5 (measured 8e-7 at t = 10).
    f = replicator_ode(MP)
    ours = np.asarray(replicator_trajectory(MP, MP_X0, 0.01, 1000))
    ref = solve_ivp(lambda t, y: np.asarray(f(t, y), np.float64), (0.0, 10.0), np.ravel(MP_X0), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours[-1].ravel(), ref.y[:, -1], atol=1e-4)
    single = replicator_ode(RPS, symmetric=True)
    ref1 = solve_ivp(lambda t, y: np.asarray(single(t, y), np.float64), (0, 10), [0.5, 0.3, 0.2], rtol=1e-9, atol=1e-11)
    ours1 = np.asarray(symmetric_replicator_trajectory(RPS, [0.5, 0.3, 0.2], 0.01, 1000))
    np.testing.assert_allclose(ours1[-1], ref1.y[:, -1], atol=1e-4)


# -------------------------------------------------------------------------------- zero-sum: cycles


@pytest.mark.parametrize("game, x0", [(MP, MP_X0), (RPS, RPS_X0)], ids=["matching-pennies", "rps"])
def test_zero_sum_energy_is_conserved_and_orbits_do_not_converge(game: NormalFormGame, x0: list) -> None:
    # Two-player zero-sum game with interior equilibrium x*: Σ_i KL(x*_i || x_i) is a constant of motion (Akin &
    # Losert 1984; Hofbauer 1996). RK4's global error is O(dt^4 T): the allowed drift is 5e-3 dt^4 T plus a
    # float32 floor of 1e-5. Measured drift over T = 100: MP 2.4e-3 (dt 0.4), 7.5e-5 (0.2), 2e-6 (0.1, the
    # float32 floor); RPS 7.6e-5 (0.4), 2e-6 (0.2). Tolerances sit >= 5x above the measurements.
    star, horizon = uniform_profile(game), 100.0
    drift = {}
    for dt in (0.4, 0.2, 0.05):
        path = replicator_trajectory(game, x0, dt, int(horizon / dt))
        energy = np.asarray(equilibrium_divergence(star, path), np.float64)
        drift[dt] = np.abs(energy - energy[0]).max()
        assert drift[dt] <= 5e-3 * dt**4 * horizon + 1e-5, (dt, drift[dt])
        assert energy.min() > 0.99 * energy[0] > 0  # stays as far from x* as it started: no convergence
        assert np.abs(np.asarray(path) - star).max(axis=(-1, -2)).min() > 0.1
    if game is MP:
        # Fourth-order convergence: halving dt cuts the drift ~16-32x (measured 31.6x); 12x rules out order < 3.5.
        assert drift[0.4] / drift[0.2] > 12
        # In 2x2 the orbits are closed curves: the path comes back to x0 (measured within 6e-4 at dt = 0.05)
        # after at least one revolution (the period near x* is 2π).
        path = np.asarray(replicator_trajectory(game, x0, 0.05, 2000))
        assert np.abs(path[20:] - path[0]).max(axis=(-1, -2)).min() < 0.01


@pytest.mark.parametrize("game, x0", [(MP, MP_X0), (RPS, RPS_X0)], ids=["matching-pennies", "rps"])
def test_discrete_map_and_euler_spiral_outward(game: NormalFormGame, x0: list) -> None:
    # The discrete map moves away from the interior equilibrium (Akin & Losert 1984; Bailey & Piliouras 2018 for
    # MWU — with payoffs shifted to min 10 the map is linear MWU with step 0.1). Measured: the divergence rises at
    # every one of 400 steps, from 0.24 to 1.20 (MP) and 0.14 to 0.41 (RPS); closer to the boundary (shift 1) it
    # can dip for a step, so monotonicity is asserted only here. Explicit Euler (dt 0.05, 2,000 steps) also gains
    # energy: 0.24 -> 5.1 (MP), 0.14 -> 0.81 (RPS).
    star = uniform_profile(game)
    path = replicator_trajectory(shift_payoffs(game, 10.0), x0, 1.0, 400, method="discrete")
    energy = np.asarray(equilibrium_divergence(star, path), np.float64)
    assert np.all(np.diff(energy) > 0)
    assert energy[-1] > 1.5 * energy[0]
    euler = np.asarray(equilibrium_divergence(star, replicator_trajectory(game, x0, 0.05, 2000, method="euler")))
    assert euler[-1] > 1.2 * euler[0]


# ----------------------------------------------------------------- coordination, stag hunt, dominance


def test_stag_hunt_basins_and_vmap_over_initial_conditions() -> None:
    # Stag hunt (catalog: A = [[4, 0], [3, 3]]): the mixed equilibrium plays Stag with 3/4 (4p = 3); starting
    # above it both populations go to (Stag, Stag), below it to (Hare, Hare) (Weibull 1995 ch. 3 / 5: strict
    # equilibria are asymptotically stable, the mixed one is a saddle). At T = 50 the measured end is within 1e-6.
    game = make("stag-hunt")
    p = np.array([0.6, 0.7, 0.74, 0.76, 0.8, 0.9])
    strategies = np.stack([p, 1 - p], -1)
    x0 = np.stack([strategies, strategies], -2)  # [6, 2, 2]
    batched = np.asarray(replicator_trajectory(game, x0, 0.05, 1000))
    expected = (p > 0.75).astype(float)
    np.testing.assert_allclose(batched[:, -1, :, 0], np.stack([expected, expected], -1), atol=1e-3)
    single = np.asarray(symmetric_replicator_trajectory(game, strategies, 0.05, 1000))
    np.testing.assert_allclose(single[:, -1, 0], expected, atol=1e-3)
    # The integrator is a pure JAX function: a caller's vmap over x0 gives the batched result.
    mapped = jax.vmap(lambda x: replicator_trajectory(game, x, 0.05, 1000))(x0)
    np.testing.assert_allclose(np.asarray(mapped), batched, atol=1e-6)
    # Coordination game: the mixed equilibrium is at 1/2 and the same split holds.
    coordination = make("coordination")
    q = np.array([[[0.45, 0.55], [0.45, 0.55]], [[0.55, 0.45], [0.55, 0.45]]])
    end = np.asarray(replicator_trajectory(coordination, q, 0.05, 1000))[:, -1, :, 0]
    np.testing.assert_allclose(end, [[0.0, 0.0], [1.0, 1.0]], atol=1e-3)


def test_dominated_cooperation_goes_extinct_in_the_prisoners_dilemma() -> None:
    # Strictly dominated strategies vanish along interior replicator paths (Weibull 1995, Prop. 3.1 / 5.8): C
    # decays like exp(-gap t) with gap >= 1. Measured at T = 30: x(C) ~ 1e-12 (continuous); the discrete map
    # (payoffs shifted to min 1) reaches 0 (float32 underflow) within 300 steps.
    game = make("prisoners-dilemma")
    two = np.asarray(replicator_trajectory(game, [[0.99, 0.01], [0.9, 0.1]], 0.05, 600))
    assert np.all(two[-1, :, 0] < 1e-6) and np.all(np.diff(two[:, :, 0], axis=0) <= 0)
    one = np.asarray(symmetric_replicator_trajectory(game, [0.99, 0.01], 0.05, 600))
    assert one[-1, 0] < 1e-6
    discrete = np.asarray(replicator_trajectory(shift_payoffs(game), [[0.99, 0.01], [0.9, 0.1]], 1.0, 300, "discrete"))
    assert np.all(discrete[-1, :, 0] < 1e-3)


# -------------------------------------------------------------------------------------------- learner


def test_learner_in_the_loop_follows_the_integrator() -> None:
    # Self-play on RPS: the loop takes one Euler step per environment step from the policies before the step, so
    # its recorded policies are replicator_trajectory(method="euler") at the logged steps. Measured difference:
    # exactly 0 over 2,000 steps (same float32 operations); allowed 1e-6.
    x0 = (tuple(RPS_X0[0]), tuple(RPS_X0[1]))
    history = train(RPS, Replicator(RPS, step_size=0.05, initial_policy=x0), 2000, seeds=2, key=0, log_every=20)
    path = np.asarray(replicator_trajectory(RPS, x0, 0.05, 2000, method="euler"))
    np.testing.assert_allclose(
        history.policy[:, :, :, 0, :], np.broadcast_to(path[history.steps], (2, 100, 2, 3)), atol=1e-6
    )
    # The average policy is the mean of the strategies played x_0..x_{t-1}.
    np.testing.assert_allclose(history.average_policy[0, -1, :, 0], path[:2000].mean(0), atol=1e-5)
    assert np.all(np.isfinite(history.metrics["expected_payoff"]))
    # The discrete map in the loop: the map expands errors, so float32 differences grow from ~1e-7; measured
    # 4e-6 after 200 steps (the loop fuses the same operations differently), allowed 2e-5.
    shifted = shift_payoffs(RPS)
    history = train(shifted, Replicator(shifted, method="discrete", initial_policy=x0), 200, seeds=1, log_every=2)
    path = np.asarray(replicator_trajectory(shifted, x0, 1.0, 200, method="discrete"))
    np.testing.assert_allclose(history.policy[0, :, :, 0, :], path[history.steps], atol=2e-5)


def test_learner_composes_with_a_sample_based_learner() -> None:
    history = train(MP, [Replicator(MP, initial_policy=(0.8, 0.2)), IQL()], 1000, seeds=3, log_every=100)
    policy = history.policy[:, :, 0, 0, :2]
    assert np.all(np.isfinite(policy)) and np.allclose(policy.sum(-1), 1.0, atol=1e-5)
    assert not np.allclose(policy[:, -1], [0.8, 0.2])  # it reacted to IQL's play
    assert np.isnan(history.metrics["expected_payoff"][:, :, 1]).all()  # IQL reports no such metric
    assert history.has_average_policy.tolist() == [True, False]


# ------------------------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(InvalidGameError, match="strictly positive payoffs"):
        replicator_trajectory(MP, MP_X0, 0.1, 10, method="discrete")
    with pytest.raises(InvalidGameError, match="strictly positive payoffs"):
        Replicator(MP, method="discrete")
    with pytest.raises(LearnerConfigError, match="unknown method"):
        replicator_trajectory(MP, MP_X0, 0.1, 10, method="rk45")
    with pytest.raises(LearnerConfigError, match="leave the simplex"):
        replicator_trajectory(MP, MP_X0, 0.5, 10)  # payoff range 2: dt must be < 0.5
    with pytest.raises(LearnerConfigError, match="positive"):
        replicator_trajectory(MP, MP_X0, -0.1, 10)
    with pytest.raises(LearnerConfigError, match="steps"):
        replicator_trajectory(MP, MP_X0, 0.1, 0)
    with pytest.raises(InvalidGameError, match="sum to 1"):
        replicator_trajectory(MP, [[0.5, 0.6], [0.5, 0.5]], 0.1, 10)
    with pytest.raises(InvalidGameError, match="shape"):
        replicator_trajectory(RPS, MP_X0, 0.1, 10)
    with pytest.raises(NotApplicableError, match="symmetric"):
        symmetric_replicator_trajectory(make("battle-of-the-sexes"), [0.5, 0.5], 0.1, 10)
    with pytest.raises(NotApplicableError, match="stochastic game"):
        replicator_trajectory(make("soccer"), MP_X0, 0.1, 10)
    with pytest.raises(LearnerConfigError, match="unknown method"):
        Replicator(MP, method="rk4")  # needs the others' policies at intermediate times
    with pytest.raises(LearnerConfigError, match="no step_size"):
        Replicator(shift_payoffs(MP), method="discrete", step_size=0.1)
    with pytest.raises(LearnerConfigError, match="2 actions"):
        Replicator(MP, initial_policy=(0.2, 0.3, 0.5))
    with pytest.raises(NotApplicableError, match="built for"):
        train(RPS, Replicator(shift_payoffs(RPS)), 10)
