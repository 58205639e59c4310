"""IGA (Singh, Kearns & Mansour 2000) and WoLF-IGA (Bowling & Veloso 2002): the gradient formula, the known
limit behaviour in 2x2 games, the learners in the compiled loop, and bad input."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.agents.tabular import IQL
from marlkit.agents.tabular.gradient_ascent import (
    IGA,
    WoLFIGA,
    as_policy,
    equilibrium_strategy,
    gradient,
    iga_trajectory,
    wolf_iga_trajectory,
)
from marlkit.errors import InvalidGameError, LearnerConfigError, NotApplicableError
from marlkit.games import NormalFormGame
from marlkit.games.catalog import make
from marlkit.train import train

MP = make("matching-pennies")
A_MP, B_MP = MP.payoffs
# A general-sum 2x2 game whose unconstrained IGA field is a centre (u u' = 3 * -4 < 0): the row player wants to
# match, the column player to mismatch. Its unique equilibrium: row indifferent at 2β = 1 - β -> β = 1/3; column
# indifferent at 3(1 - α) = α -> α = 3/4; values V_r = 2/3, V_c = 3/4.
A_GS = np.array([[2.0, 0.0], [0.0, 1.0]])
B_GS = np.array([[0.0, 1.0], [3.0, 0.0]])
X0 = np.array([0.8, 0.6, 0.1, 0.55])
Y0 = np.array([0.3, 0.9, 0.2, 0.5])

payoff = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(st.lists(payoff, min_size=8, max_size=8), st.floats(0, 1), st.floats(0, 1))
def test_gradient_is_singh_kearns_mansour_formula(entries: list[float], alpha: float, beta: float) -> None:
    # Singh et al. 2000, §3: ∂V_r/∂α = βu − (r22 − r12), u = r11 + r22 − r12 − r21; ∂V_c/∂β = αu' − (c22 − c21).
    r = np.array(entries[:4]).reshape(2, 2)
    c = np.array(entries[4:]).reshape(2, 2)
    u, u_c = r[0, 0] + r[1, 1] - r[0, 1] - r[1, 0], c[0, 0] + c[1, 1] - c[1, 0] - c[0, 1]
    grad, _ = gradient(jnp.asarray(np.stack([r, c]), jnp.float32), as_policy(jnp.asarray([alpha, beta], jnp.float32)))
    assert float(grad[0]) == pytest.approx(beta * u - (r[1, 1] - r[0, 1]), abs=1e-4)
    assert float(grad[1]) == pytest.approx(alpha * u_c - (c[1, 1] - c[1, 0]), abs=1e-4)


def distance(trajectory, alpha_e: float, beta_e: float) -> np.ndarray:
    return np.hypot(np.asarray(trajectory.alpha) - alpha_e, np.asarray(trajectory.beta) - beta_e)


def running_mean(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.float64)
    return np.cumsum(values, axis=-2) / np.arange(1, values.shape[-2] + 1)[:, None]


def test_iga_cycles_but_its_average_payoffs_reach_the_nash_values() -> None:
    # Singh et al. 2000, Thm. (centre case): the strategies do not converge, the average payoffs do. With a finite
    # η the Euler steps spiral *outward* onto the boundary, so the distance to (1/2, 1/2) never falls below its
    # start (measured: min = start; late distance 0.5 at the corners, 0.11 from the closest start).
    eta, steps = 0.002, 50_000  # T = 100
    path = iga_trajectory(A_MP, B_MP, X0, Y0, eta, steps)
    d = distance(path, 0.5, 0.5)
    assert np.all(d.min(axis=1) >= 0.999 * d[:, 0])
    assert np.all(d[:, steps // 2 :].min(axis=1) > 0.04)
    # Average payoffs -> Nash values (0, 0): measured |mean| <= 8e-4 over the run; allowed 5e-3.
    assert np.abs(running_mean(path.values)[:, -1]).max() < 5e-3
    # General sum: Nash values (2/3, 3/4). Measured after T = 200: errors <= 3.5e-3 at η = 0.002 (<= 1.1e-2 at
    # η = 0.01, shrinking with η: the discretisation bias); allowed 2e-2. The strategies keep cycling (0.19+).
    path = iga_trajectory(A_GS, B_GS, X0, Y0, eta, 100_000)
    np.testing.assert_allclose(running_mean(path.values)[:, -1], np.broadcast_to([2 / 3, 3 / 4], (4, 2)), atol=2e-2)
    assert distance(path, 0.75, 1 / 3)[:, 50_000:].min() > 0.1


def test_iga_converges_when_the_equilibrium_is_pure() -> None:
    # Prisoner's dilemma: defection strictly dominates, the gradient pushes α, β to 0 (Singh et al. 2000, the
    # non-centre cases); measured exactly 0 after 2,000 steps at η = 0.01.
    pd = make("prisoners-dilemma")
    path = iga_trajectory(pd.payoffs[0], pd.payoffs[1], X0, Y0, 0.01, 2000)
    assert np.all(np.asarray(path.alpha)[:, -1] < 1e-6) and np.all(np.asarray(path.beta)[:, -1] < 1e-6)


@pytest.mark.parametrize("eta", [0.01, 0.002])
def test_wolf_iga_converges_to_the_mixed_equilibrium(eta: float) -> None:
    # Bowling & Veloso 2002, Thm. 3: WoLF-IGA converges to a Nash equilibrium in 2x2 games (η -> 0). With a finite
    # η the allowed error is η itself (a discretisation of O(η)); measured after T = 100 (MP) / 200 (general
    # sum): <= 4e-6 (MP) and <= 6e-5 (general sum) at both step sizes: the equilibrium is an exact fixed point
    # and the WoLF switching contracts each half-orbit by about ℓ_min/ℓ_max.
    path = wolf_iga_trajectory(A_MP, B_MP, X0, Y0, eta, int(100 / eta), l_min=1.0, l_max=4.0)
    assert distance(path, 0.5, 0.5)[:, -1].max() < eta
    assert 0.2 < np.asarray(path.winning).mean() < 0.8  # both branches were taken
    # The winning test uses the equilibrium strategy computed exactly by vertex enumeration: (3/4, 1/3) here.
    path = wolf_iga_trajectory(A_GS, B_GS, X0, Y0, eta, int(200 / eta))
    assert distance(path, 0.75, 1 / 3)[:, -1].max() < eta


def test_equilibrium_strategy_is_exact_and_checked() -> None:
    assert equilibrium_strategy(NormalFormGame(np.stack([A_GS, B_GS]))) == pytest.approx((0.75, 1 / 3), abs=1e-12)
    assert equilibrium_strategy(make("coordination")) == (0.5, 0.5)  # three equilibria: the most mixed is used
    assert equilibrium_strategy(make("coordination"), (1.0, 1.0)) == (1.0, 1.0)  # a pure one, if asked
    with pytest.raises(LearnerConfigError, match="not a Nash equilibrium"):
        equilibrium_strategy(MP, (0.6, 0.5))


def test_learners_in_the_loop_follow_the_trajectories() -> None:
    # Self-play: one projected step per environment step from the policies before the step, so the recorded
    # policies equal the standalone trajectory at the logged steps (measured difference: exactly 0; allowed 1e-6).
    start = ((0.8, 0.2), (0.3, 0.7))
    for learner, run in [
        (IGA(MP, step_size=0.01, initial_policy=start), iga_trajectory),
        (WoLFIGA(MP, step_size=0.01, initial_policy=start), wolf_iga_trajectory),
    ]:
        history = train(MP, learner, 2000, seeds=1, log_every=20)
        path = run(A_MP, B_MP, 0.8, 0.3, 0.01, 2000)
        np.testing.assert_allclose(history.policy[0, :, 0, 0, 0], np.asarray(path.alpha)[history.steps], atol=1e-6)
        np.testing.assert_allclose(history.policy[0, :, 1, 0, 0], np.asarray(path.beta)[history.steps], atol=1e-6)
    assert set(history.metrics) == {"expected_payoff", "gradient", "winning"}
    # Mixed with a sample-based learner (IGA for the row player, IQL for the column player): it runs and reacts.
    history = train(MP, [IGA(MP, initial_policy=(0.8, 0.2)), IQL()], 1000, seeds=3, log_every=100)
    policy = history.policy[:, :, 0, 0, :2]
    assert np.all(np.isfinite(policy)) and np.allclose(policy.sum(-1), 1.0, atol=1e-6)
    assert not np.allclose(policy[:, -1, 0], 0.8)


def test_bad_input_raises_clear_errors() -> None:
    rps = make("rock-paper-scissors")
    with pytest.raises(NotApplicableError, match="two-action"):
        iga_trajectory(rps.payoffs[0], rps.payoffs[1], 0.5, 0.5, 0.01, 10)
    with pytest.raises(NotApplicableError, match="two-action"):
        IGA(rps)
    with pytest.raises(InvalidGameError, match="same shape"):
        iga_trajectory(A_MP, np.ones((2, 3)), 0.5, 0.5, 0.01, 10)
    with pytest.raises(InvalidGameError, match=r"\[0, 1\]"):
        iga_trajectory(A_MP, B_MP, 1.5, 0.5, 0.01, 10)
    with pytest.raises(LearnerConfigError, match="eta"):
        iga_trajectory(A_MP, B_MP, 0.5, 0.5, 0.0, 10)
    with pytest.raises(LearnerConfigError, match="l_max > l_min"):
        wolf_iga_trajectory(A_MP, B_MP, 0.5, 0.5, 0.01, 10, l_min=2.0, l_max=1.0)
    with pytest.raises(LearnerConfigError, match="l_max > l_min"):
        WoLFIGA(MP, l_min=1.0, l_max=1.0)
    with pytest.raises(LearnerConfigError, match="not a Nash equilibrium"):
        WoLFIGA(MP, equilibrium=(1.0, 0.0))
    with pytest.raises(NotApplicableError, match="built for"):
        train(make("coordination"), IGA(MP), 10)
