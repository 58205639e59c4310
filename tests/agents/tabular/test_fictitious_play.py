"""Fictitious play and smooth fictitious play reproduce the classical results through the compiled loop.

* Robinson (1951): FP's empirical distributions converge to the equilibrium set of a two-player zero-sum game
  (matching pennies, rock-paper-scissors), while its current play stays pure and keeps switching.
* Shapley (1964): in Shapley's 3x3 game FP's empirical distribution never converges — it cycles around the
  unique (uniform) equilibrium, each best-response run lasting geometrically longer than the last.
* Smooth FP (Fudenberg & Kreps 1993; Hofbauer & Sandholm 2002, zero-sum games): the empirical distribution
  approaches the logit equilibrium at temperature τ, not the Nash equilibrium.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import fsolve

import marlkit.train.loop as loop
from marlkit.agents.tabular import InverseTime, LearnerConfigError, WoLFPHC
from marlkit.agents.tabular.fictitious_play import FictitiousPlay, SmoothFictitiousPlay
from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, catalog
from marlkit.train import train

SEEDS = 8


def distance_to_uniform(history, m: int) -> np.ndarray:
    """``[N, T]``: max-norm distance of both agents' average policies (state 0) to the uniform strategy."""
    return np.abs(history.average_policy[:, :, :, 0, :m] - 1.0 / m).max(axis=(-1, -2))


def own_marginals(history) -> np.ndarray:
    """``[N, T, 2, A]``: each agent's empirical action frequencies, from the recorded joint counts."""
    counts = history.joint_counts[:, :, 0].astype(np.float64)  # [N, T, A, A]
    rows, cols = counts.sum(-1), counts.sum(-2)
    return np.stack([rows, cols], axis=2) / counts.sum(axis=(-1, -2))[..., None, None]


@pytest.mark.parametrize(
    "name",
    ["matching-pennies", pytest.param("rock-paper-scissors", marks=pytest.mark.slow)],
)
def test_fictitious_play_converges_in_zero_sum_games(name: str) -> None:
    game = catalog.make(name)
    m = game.num_actions[0]
    h = train(game, FictitiousPlay(game), 20_000, seeds=SEEDS, key=0, log_every=200)
    # average_policy is exactly the empirical frequency of the agent's own actions.
    np.testing.assert_allclose(h.average_policy[:, :, :, 0, :m], own_marginals(h), atol=1e-6)
    d = distance_to_uniform(h, m)
    # Robinson (1951): convergence to the uniform equilibrium. FP's rate is slow (Karlin's conjecture, O(t^-1/2),
    # is what is seen in small games). Measured at 20,000 steps (key 0, 8 seeds): max over seeds 0.0045 (MP) and
    # 0.0053 (RPS), against 0.03-0.2 after the first 200 plays. 0.02 is ~4x the worst seed and ~1/10 of the
    # distance of a pure action to uniform, far below anything a non-converging run reaches (Shapley: >= 0.17).
    assert np.all(d[:, -1] <= 0.02)
    assert np.all(d[:, -1] < d[:, 0])
    if name == "matching-pennies":
        # The *current* play of FP is a pure best response (uniform only at exact ties of the empirical counts),
        # so it never approaches the mixed equilibrium: over the last half of the run it is pure at >= 80% of
        # the logging points of every seed, at max-norm distance 0.5 from uniform.
        current = h.policy[:, 50:, :, 0, :2]  # [N, 50, 2, 2]
        pure = (current.max(-1) == 1.0).all(-1)
        assert np.all(pure.mean(axis=1) >= 0.8)
        assert np.all(np.abs(current[pure] - 0.5).max(-1) == 0.5)


def test_fictitious_play_cycles_in_shapleys_game() -> None:
    game = catalog.make("shapley")
    h = train(game, FictitiousPlay(game), 40_000, seeds=SEEDS, key=0, log_every=50)
    d = distance_to_uniform(h, 3)
    # Shapley (1964): the empirical distribution cycles around the unique equilibrium (uniform) without
    # converging. Measured (key 0, 8 seeds): over steps 20k-40k the distance never drops below 0.17 on any seed
    # (the converging zero-sum runs above are at <= 0.0055 by 20k); 0.1 leaves a clear margin.
    assert np.all(d[:, 400:].min(axis=1) >= 0.10)
    # Growing cycles: agent 0's best response keeps switching, and each run of one best response lasts longer
    # than the previous one by a roughly constant factor (measured 2.0-2.3 once runs exceed 500 steps; runs
    # are timed at the 50-step logging resolution). Asserted: >= 6 switches in 40k steps and a ratio >= 1.5.
    response = h.policy[:, :, 0, 0].argmax(-1)
    for seed in range(SEEDS):
        switches = h.steps[1:][np.diff(response[seed]) != 0]
        assert len(switches) >= 6
        runs = np.diff(switches)
        long_runs = runs[:-1] >= 500
        assert np.all(runs[1:][long_runs] >= 1.5 * runs[:-1][long_runs])


def test_fictitious_play_best_responds_to_the_product_of_marginals() -> None:
    """Exact oracle, three players: the recorded policy is the best response to the others' empirical marginals
    (Fudenberg & Levine 1998, ch. 2, product form), recomputed in float64 from the recorded joint counts."""
    game = catalog.make("random-general-sum", seed=7, players=3, actions=3)
    h = train(game, FictitiousPlay(game), 300, seeds=4, key=0, log_every=10)
    counts = h.joint_counts[:, :, 0].astype(np.float64)  # [N, T, 3, 3, 3]
    checked = 0
    for seed in range(4):
        for t in range(h.num_logs):
            c = counts[seed, t]
            marg = [c.sum(axis=tuple(j for j in range(3) if j != i)) / c.sum() for i in range(3)]
            for i in range(3):
                weights = [np.ones(3) if j == i else marg[j] for j in range(3)]
                joint = np.einsum("a,b,c->abc", *weights)
                values = np.moveaxis(game.payoffs[i] * joint, i, 0).reshape(3, -1).sum(axis=1)
                best = np.flatnonzero(values >= values.max() - 1e-9)
                expected = np.zeros(3)
                expected[best] = 1.0 / len(best)
                np.testing.assert_allclose(h.policy[seed, t, i, 0], expected, atol=1e-6)
                np.testing.assert_allclose(h.average_policy[seed, t, i, 0], marg[i], atol=1e-6)
                checked += 1
    assert checked == 4 * 30 * 3


def logit_equilibrium(game: NormalFormGame, tau: float) -> np.ndarray:
    """The logit QRE of a 2x2 game, σ_i = softmax(U_i(·, σ_-i) / τ) (McKelvey & Palfrey 1995), by fsolve."""
    a, b = game.payoffs

    def softmax(x: np.ndarray) -> np.ndarray:
        e = np.exp((x - x.max()) / tau)
        return e / e.sum()

    def residual(z: np.ndarray) -> list[float]:
        p, q = np.array([z[0], 1 - z[0]]), np.array([z[1], 1 - z[1]])
        return [softmax(a @ q)[0] - p[0], softmax(b.T @ p)[0] - q[0]]

    z = fsolve(residual, [0.5, 0.5], xtol=1e-13)
    assert np.max(np.abs(residual(z))) < 1e-10
    return np.array([[z[0], 1 - z[0]], [z[1], 1 - z[1]]])


# A zero-sum 2x2 game whose logit equilibrium differs visibly from its Nash equilibrium ((1/3, 2/3) for both).
_SKEWED = np.array([[3.0, -1.0], [-1.0, 1.0]])
SKEWED_PENNIES = NormalFormGame(np.stack([_SKEWED, -_SKEWED]), name="skewed pennies")
TAU = 0.5


@pytest.mark.parametrize(
    "game",
    [SKEWED_PENNIES, pytest.param(catalog.make("matching-pennies"), marks=pytest.mark.slow)],
    ids=["skewed-pennies", "matching-pennies"],
)
def test_smooth_fictitious_play_approaches_the_logit_equilibrium(game: NormalFormGame) -> None:
    qre = logit_equilibrium(game, TAU)  # skewed: rows play (0.404, 0.596), columns (0.301, 0.699); MP: uniform
    h = train(game, SmoothFictitiousPlay(game, temperature=TAU), 20_000, seeds=SEEDS, key=0, log_every=200)
    empirical = h.average_policy[:, -1, :, 0]  # [N, 2, 2]
    current = h.policy[:, -1, :, 0]
    # Stochastic FP converges to the logit equilibrium in zero-sum games (Hofbauer & Sandholm 2002). The
    # empirical frequency of 20,000 plays has sampling noise sqrt(p(1-p)/T) <= 0.0035 per seed; measured max
    # distance over 8 seeds 0.0082 (skewed) and 0.0096 (MP). 0.02 (~6 noise SDs) is still well under the QRE-Nash
    # gap of the skewed game (0.07 at τ = 0.5), so the test tells the logit equilibrium from the Nash one.
    assert np.all(np.abs(empirical - qre).max(axis=(-1, -2)) <= 0.02)
    # Unlike FP, the current (logit) play converges too: the beliefs converge, and so does their logit response
    # (measured max distance 0.021 (skewed) and 0.019 (MP) at τ = 0.5; a pure FP response is 0.3-0.5 away).
    assert np.all(np.abs(current - qre).max(axis=(-1, -2)) <= 0.05)
    if game is SKEWED_PENNIES:
        nash = np.array([[1 / 3, 2 / 3], [1 / 3, 2 / 3]])
        assert np.all(np.abs(empirical - nash).max(axis=(-1, -2)) >= 0.04)


def test_fictitious_play_composes_with_wolf_phc() -> None:
    """FP against WoLF-PHC in the prisoner's dilemma: FP defects from its second play on (defection is strictly
    dominant, so it is the best response to any belief; the first play is a uniform tie-break before any count)."""
    game = catalog.make("prisoners-dilemma")
    defect = 1
    assert np.all(game.payoffs[0][defect] > game.payoffs[0][1 - defect])  # strictly dominant for the row player
    wolf = WoLFPHC(step_size=0.1, delta=InverseTime(100.0), delta_lose=InverseTime(100.0, 1.0, 4.0), epsilon=0.05)
    h = train(game, [FictitiousPlay(game), wolf], 2_000, seeds=4, key=0, log_every=100)
    assert h.has_average_policy.tolist() == [True, True]
    counts = h.joint_counts[:, -1, 0].sum(axis=2)  # FP's own action counts [N, 2] (agent 0 is the first axis)
    assert np.all(counts[:, defect] >= 1_999)
    assert np.all(h.policy[:, -1, 0, 0, defect] == 1.0)
    assert np.isfinite(h.policy).all() and np.isfinite(h.reward_mean).all()
    assert h.policy[:, -1, 1, 0, defect].mean() > 0.9  # WoLF-PHC learns to defect against a defector


def test_bad_input_fails_before_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_compile(*args, **kwargs):
        raise AssertionError("the loop compiled although the learner should have been rejected")

    monkeypatch.setattr(loop, "_run", no_compile)
    mp, rps = catalog.make("matching-pennies"), catalog.make("rock-paper-scissors")
    with pytest.raises(LearnerConfigError, match=r"construct it with the game, e.g. FictitiousPlay\(game\)"):
        train(mp, FictitiousPlay(), 10)
    with pytest.raises(LearnerConfigError, match="construct it with the game it plays"):
        train(mp, FictitiousPlay(rps), 10)
    soccer = catalog.make("soccer")
    with pytest.raises(NotApplicableError, match="Use JALAM"):
        train(soccer, SmoothFictitiousPlay(soccer), 10)
    with pytest.raises(LearnerConfigError, match="expected the game being played"):
        FictitiousPlay(payoffs=np.zeros((2, 2, 2)))
    with pytest.raises(LearnerConfigError, match="τ > 0"):
        SmoothFictitiousPlay(mp, temperature=0.0)
