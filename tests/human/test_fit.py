"""Maximum-likelihood fits of human models: the published Ochs / McKelvey-Palfrey logit-QRE fit, recovery of β, λ,
τ and ε from synthetic play (several seeds), concavity of the Boltzmann log-likelihood, the too-little-data
refusals and behaviour cloning."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.boltzmann import boltzmann_policy
from marlkit.human.fit import (
    LR_DROP,
    behaviour_clone,
    beta_loglik,
    compare_models,
    fit_beta,
    fit_boltzmann,
    fit_cognitive_hierarchy,
    fit_model,
    fit_noisy_best_response,
    fit_qre,
)
from marlkit.human.hierarchy import CognitiveHierarchy
from marlkit.human.models import Boltzmann, NoisyBestResponse
from marlkit.human.qre import logit_qre

OCHS = NormalFormGame(np.array([[[1.1141, 0.0], [0.0, 0.2785]], [[0.0, 1.1141], [1.1141, 0.0]]]), name="ochs")
# A 3x3 game (payoffs drawn once with NumPy seed 0, rounded) in which every Poisson-CH level differs, so τ is
# identified.
CH_GAME = NormalFormGame(
    np.array(
        [
            [[6.4, 2.7, 0.4], [0.2, 8.1, 9.1], [6.1, 7.3, 5.4]],
            [[9.4, 8.2, 0.0], [8.6, 0.3, 7.3], [1.8, 8.6, 5.4]],
        ]
    )
)
SEEDS = (0, 1, 2)
# Recovery tolerance: 4 standard errors (1 / sqrt of the observed Fisher information at the estimate). The MLE is
# asymptotically normal, so |θ̂ - θ| > 4 s.e. has probability about 6e-5 per seed; the 95% profile interval
# must also cover θ for at least 2 of the 3 seeds (P(fewer) is about 0.7%).
K_SE = 4.0


def check_recovery(fits: list[Any], truth: float) -> None:
    covered = 0
    for f in fits:
        assert f.identified and f.standard_error is not None
        assert abs(f.estimate - truth) <= K_SE * f.standard_error, (f.estimate, f.standard_error)
        covered += f.ci_low <= truth <= f.ci_high
    assert covered >= len(fits) - 1


def test_reproduces_the_published_ochs_fit() -> None:
    # McKelvey & Palfrey (1995, GEB 10, §4) fitted the logit QRE to Ochs' (1995) asymmetric matching pennies; Gambit's
    # tutorial "Quantal response equilibria" replicates it with the frequencies 0.527 (row) and 0.366 (column) of
    # 128 plays each, and prints λ = 1.8456097536855862, the QRE profile and log-likelihood -174.76453191087447
    # (MP 1995 quote log-likelihoods 10x larger, the tutorial notes). ℓ is flat at the top (s.e. 0.77), so λ is
    # pinned to ~1e-7 by the optimiser's tolerance; the log-likelihood agrees to 1e-9.
    counts = [[128 * 0.527, 128 * (1 - 0.527)], [128 * 0.366, 128 * (1 - 0.366)]]
    fit = fit_qre(OCHS, counts)
    assert fit.estimate is not None and fit.ci_low is not None and fit.ci_high is not None
    assert fit.estimate == pytest.approx(1.8456097536855862, abs=1e-6)
    assert fit.log_likelihood == pytest.approx(-174.76453191087447, abs=1e-9)
    gambit_profile = [[0.615651314427859, 0.3843486855721409], [0.38329094004562914, 0.6167090599543709]]
    np.testing.assert_allclose(fit.extra["profile"], gambit_profile, atol=1e-7)
    assert fit.ci_low < 1.8456 < fit.ci_high and fit.n == pytest.approx(256)


def test_profile_interval_is_where_the_log_likelihood_drops_by_1_92() -> None:
    counts = [[128 * 0.527, 128 * (1 - 0.527)], [128 * 0.366, 128 * (1 - 0.366)]]
    fit = fit_qre(OCHS, counts)
    assert fit.ci_low is not None and fit.ci_high is not None
    for end in (fit.ci_low, fit.ci_high):
        profile = logit_qre(OCHS, end)
        ll = sum(float(np.dot(c, np.log(p))) for c, p in zip(counts, profile, strict=True))
        assert ll == pytest.approx(fit.log_likelihood - LR_DROP, abs=1e-8)


def test_recovers_beta_several_seeds() -> None:
    values = np.array([[1.0, 0.0, -0.5], [0.2, 0.9, 0.0]])  # two choice situations (e.g. Q-values of two states)
    beta = 2.0
    fits = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        counts = np.stack([rng.multinomial(600, p) for p in boltzmann_policy(values, beta)])
        fits.append(fit_beta(values, counts))
    check_recovery(fits, beta)


def test_recovers_beta_against_the_partners_play() -> None:
    partner = [np.array([0.5, 0.5]), np.array([0.4, 0.6])]
    pi = Boltzmann(beta=3.0).policy(OCHS, 0, partner)
    fits = []
    for seed in SEEDS:
        rng = np.random.default_rng(10 + seed)
        counts = [rng.multinomial(2000, pi), rng.multinomial(2000, partner[1])]
        fits.append(fit_boltzmann(OCHS, counts, 0, partner_policies=partner))
    check_recovery(fits, 3.0)
    # against the partner's empirical play instead: close to the same (the partner's sample is large)
    empirical = fit_boltzmann(OCHS, counts, 0)
    assert empirical.estimate is not None and fits[-1].estimate is not None and fits[-1].standard_error is not None
    assert abs(empirical.estimate - fits[-1].estimate) < 3 * fits[-1].standard_error


def test_recovers_lambda_several_seeds() -> None:
    fits = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        fits.append(fit_qre(OCHS, [rng.multinomial(1000, p) for p in logit_qre(OCHS, 2.0)]))
    check_recovery(fits, 2.0)


def test_recovers_tau_several_seeds() -> None:
    profile = CognitiveHierarchy(tau=1.5).profile(CH_GAME)
    fits = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        fits.append(fit_cognitive_hierarchy(CH_GAME, [rng.multinomial(1000, p) for p in profile]))
    check_recovery(fits, 1.5)


def test_recovers_epsilon_several_seeds() -> None:
    partner = [np.array([1 / 3] * 3), np.array([0.2, 0.5, 0.3])]
    pi = NoisyBestResponse(epsilon=0.2).policy(CH_GAME, 0, partner)
    fits = []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        fits.append(fit_noisy_best_response(CH_GAME, [rng.multinomial(800, pi), [0, 0, 0]], 0, partner))
    check_recovery(fits, 0.2)


def test_boltzmann_log_likelihood_is_concave_in_beta() -> None:
    # ℓ(β) = Σ c (β v) - Σ n_k logsumexp(β v_k): linear minus convex (fit module docstring); ℓ'' = -Σ n_k Var(v_k).
    rng = np.random.default_rng(5)
    for _ in range(5):
        values = rng.normal(size=(3, 4))
        counts = rng.integers(0, 20, size=(3, 4)).astype(float)
        grid = np.linspace(0.0, 8.0, 401)
        ll = np.array([beta_loglik(values, counts, b) for b in grid])
        second = ll[2:] - 2 * ll[1:-1] + ll[:-2]
        assert np.all(second <= 1e-9)
        # and equals -Σ n_k Var_π(v_k) h² (the closed form) at a point
        h, b = grid[1] - grid[0], grid[100]
        pi = boltzmann_policy(values, b)
        var = (pi * values**2).sum(1) - (pi * values).sum(1) ** 2
        assert second[99] == pytest.approx(-(counts.sum(1) * var).sum() * h**2, rel=1e-3)


def test_too_little_data_is_refused_not_guessed() -> None:
    # every choice a best response: ℓ(β) increases to the cap, the interval is unbounded above
    with pytest.raises(NotApplicableError, match="too little data to identify beta"):
        fit_beta([[1.0, 0.0]], [[12, 0]])
    loose = fit_beta([[1.0, 0.0]], [[12, 0]], strict=False)
    assert not loose.identified and loose.estimate is None and loose.ci_high is None
    assert "not identified" in loose.lines()[0]
    with pytest.raises(NotApplicableError, match="no decisions"):
        fit_beta([[1.0, 0.0]], [[0, 0]])
    tie = NormalFormGame(np.zeros((2, 2, 2)))  # every action ties: ε cannot be told apart
    with pytest.raises(NotApplicableError, match="flat"):
        fit_noisy_best_response(tie, [[5, 5], [5, 5]], 0)
    with pytest.raises(InvalidGameError, match="counts"):
        fit_beta([[1.0, 0.0]], [[-1, 3]])
    with pytest.raises(InvalidGameError, match="fittable model"):
        fit_model("level-k", OCHS, [[1, 1], [1, 1]])


def test_model_comparison_scores_every_model_on_the_same_decisions() -> None:
    rng = np.random.default_rng(0)
    counts = [rng.multinomial(2000, p) for p in logit_qre(OCHS, 2.0)]
    comparison = compare_models(OCHS, counts, agent=1)
    data = comparison.to_json()
    assert [f["model"] for f in data["fits"]] == ["boltzmann", "qre", "cognitive-hierarchy", "noisy-best-response"]
    for f in data["fits"]:
        assert f["n_decisions"] == 2000  # every model scores the same decisions (agent 1's)
    assert len(comparison.lines()) == 6 and math.isfinite(data["fits"][0]["aic"])
    # 3 actions: CH play of player 1, (0.41, 0.52, 0.07) at τ = 1.5, is not of the form any other family produces,
    # and the generating CH model wins by AIC (by > 300 log-likelihood units at n = 1500 on seeds 0-2). Player 0's
    # CH play (0.07, 0.07, 0.85) is exactly ε-noisy-best-response-shaped, so there the two tie.
    for seed in SEEDS[:2]:
        rng = np.random.default_rng(seed)
        counts = [rng.multinomial(1500, p) for p in CognitiveHierarchy(tau=1.5).profile(CH_GAME)]
        assert compare_models(CH_GAME, counts, agent=1).best() == ["cognitive-hierarchy"]


def test_behaviour_cloning_with_laplace_smoothing() -> None:
    states = [0, 0, 0, 1]
    actions = [1, 1, 0, 2]
    pi = behaviour_clone(states, actions, num_states=3, num_actions=3, alpha=1.0)
    np.testing.assert_allclose(pi[0], [2 / 6, 3 / 6, 1 / 6])  # (c + 1) / (n + 3)
    np.testing.assert_allclose(pi[1], [1 / 4, 1 / 4, 2 / 4])
    np.testing.assert_allclose(pi[2], [1 / 3] * 3)  # unvisited: the prior
    np.testing.assert_allclose(behaviour_clone(states, actions, 3, 3, alpha=0.0)[0], [1 / 3, 2 / 3, 0])
    mask = np.array([[True, True, False], [True, True, True], [True, False, False]])
    np.testing.assert_allclose(behaviour_clone(states, actions, 3, 3, mask=mask)[0], [2 / 5, 3 / 5, 0])
    np.testing.assert_allclose(behaviour_clone(states, actions, 3, 3, mask=mask)[2], [1, 0, 0])
    with pytest.raises(InvalidGameError, match="actions"):
        behaviour_clone([0], [3], 3, 3)
    with pytest.raises(InvalidGameError, match="illegal"):
        behaviour_clone([2], [1], 3, 3, mask=mask)
