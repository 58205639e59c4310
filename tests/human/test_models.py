"""Human behaviour models: Boltzmann, ε-noisy best response, level-k, Poisson cognitive hierarchy, logit QRE and
populations, each checked against a hand derivation or an independent formulation; the spec-string registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import softmax

from marlkit.errors import InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.human.hierarchy import CognitiveHierarchy, LevelK, poisson_weights
from marlkit.human.models import HUMAN_MODELS, Boltzmann, NoisyBestResponse, model_spec, parse_model
from marlkit.human.population import Population
from marlkit.human.qre import LogitQRE, QRESolver, logit_qre

# Ochs (1995) asymmetric matching pennies as transformed by McKelvey & Palfrey (1995, GEB 10, §4): row payoffs
# A = [[1.1141, 0], [0, 0.2785]], column payoffs B = [[0, 1.1141], [1.1141, 0]] (Gambit's QRE tutorial).
OCHS = NormalFormGame(np.array([[[1.1141, 0.0], [0.0, 0.2785]], [[0.0, 1.1141], [1.1141, 0.0]]]), name="ochs")


def test_boltzmann_is_the_softmax_of_expected_payoffs() -> None:
    partner = [np.array([0.5, 0.5]), np.array([0.3, 0.7])]
    u_row = np.array([1.1141 * 0.3, 0.2785 * 0.7])  # A @ σ_col by hand
    got = Boltzmann(beta=2.0).policy(OCHS, 0, partner)
    np.testing.assert_allclose(got, softmax(2.0 * u_row), rtol=1e-13)
    np.testing.assert_allclose(Boltzmann(beta=0.0).policy(OCHS, 1, partner), [0.5, 0.5])
    np.testing.assert_allclose(Boltzmann(beta=math.inf).policy(OCHS, 0, partner), [1.0, 0.0])
    np.testing.assert_allclose(Boltzmann(beta=1.5, values=(1.0, 2.0)).policy(OCHS, 0), softmax([1.5, 3.0]))
    with pytest.raises(InvalidGameError, match="beta"):
        Boltzmann(beta=-1.0)
    with pytest.raises(InvalidGameError, match="agent"):
        Boltzmann().policy(OCHS, 2)


def test_noisy_best_response_splits_ties() -> None:
    game = NormalFormGame(np.array([[[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]], np.zeros((3, 2))]))
    # actions 0 and 1 tie at the top: BR = [1/2, 1/2, 0]; π = ε/3 + (1 - ε) BR
    np.testing.assert_allclose(NoisyBestResponse(0.3).policy(game, 0), [0.1 + 0.35, 0.1 + 0.35, 0.1])
    with pytest.raises(InvalidGameError, match="epsilon"):
        NoisyBestResponse(1.5)


def test_level_k_by_hand() -> None:
    # level 1: row U = A @ (1/2, 1/2) = (0.557, 0.139) -> action 0; column U = (1/2, 1/2) @ B = (0.557, 0.557): a tie
    # split evenly. Level 2: row responds to (1/2, 1/2) -> action 0; column responds to row's (1, 0): B[0] = (0, 1.1141)
    np.testing.assert_allclose(LevelK(k=1).policy(OCHS, 0), [1.0, 0.0])
    np.testing.assert_allclose(LevelK(k=1).policy(OCHS, 1), [0.5, 0.5])
    np.testing.assert_allclose(LevelK(k=2).policy(OCHS, 1), [0.0, 1.0])
    np.testing.assert_allclose(LevelK(k=0).policy(OCHS, 0), [0.5, 0.5])
    # a Boltzmann level 1 with an anchor: respond to column's anchor (0.2, 0.8)
    anchored = LevelK(k=1, beta=2.0, anchor=((0.5, 0.5), (0.2, 0.8))).policy(OCHS, 0)
    np.testing.assert_allclose(anchored, softmax(2.0 * np.array([1.1141 * 0.2, 0.2785 * 0.8])), rtol=1e-13)
    with pytest.raises(InvalidGameError, match="k must"):
        LevelK(k=-1)


def test_cognitive_hierarchy_recursion_by_hand() -> None:
    # Camerer, Ho & Chong (2004), Eq. 1-2, truncated at K = 2 on the Ochs game, τ = 1.5. f(k) ∝ (1, τ, τ²/2).
    # Level 0 uniform; level 1 as level-1 above: row (1, 0), column (1/2, 1/2). Level 2 believes level 0 w.p.
    # 1/(1+τ), level 1 w.p. τ/(1+τ): row faces column (1/2, 1/2) -> (1, 0); column faces row
    # ((1/2 + τ)/(1+τ), (1/2)/(1+τ)), so U_col = 1.1141 x (row(1), row(0)): action 1 for τ > 0.
    tau = 1.5
    f = np.array([1.0, tau, tau**2 / 2])
    F = f.sum()
    expect_row = [(0.5 * f[0] + f[1] + f[2]) / F, 0.5 * f[0] / F]
    expect_col = [0.5 * (f[0] + f[1]) / F, (0.5 * (f[0] + f[1]) + f[2]) / F]
    profile = CognitiveHierarchy(tau=tau, max_level=2).profile(OCHS)
    np.testing.assert_allclose(profile[0], expect_row, rtol=1e-13)
    np.testing.assert_allclose(profile[1], expect_col, rtol=1e-13)
    np.testing.assert_allclose(poisson_weights(tau, 2), f * math.exp(-tau), rtol=1e-13)
    np.testing.assert_allclose(CognitiveHierarchy(tau=0.0).profile(OCHS)[0], [0.5, 0.5])  # everyone is level 0
    for p in CognitiveHierarchy(tau=2.5).profile(OCHS):  # default truncation: a distribution
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(InvalidGameError, match="tau"):
        CognitiveHierarchy(tau=-0.5)


def test_qre_matches_gambit_and_the_fixed_point_equation() -> None:
    # pygambit's logit_solve_lambda on the same game (Gambit tutorial "Quantal response equilibria", outputs at
    # λ = 1, 2, 3); Gambit prints its points to about 1e-9, so agreement is asked to 1e-8.
    gambit = {
        1.0: [[0.5867840364385154, 0.4132159635614846], [0.4518070316997103, 0.5481929683002897]],
        2.0: [[0.6175219458400859, 0.3824780541599141], [0.3719816648492249, 0.6280183351507751]],
        3.0: [[0.6168968501329284, 0.3831031498670716], [0.31401636202001226, 0.6859836379799877]],
    }
    solver = QRESolver(OCHS)
    for lam, expected in gambit.items():
        profile = solver.at(lam)
        for p, e in zip(profile, expected, strict=True):
            np.testing.assert_allclose(p, e, atol=1e-8)
        # the fixed-point equation, written out independently of expected_payoffs
        A, B = OCHS.payoffs
        np.testing.assert_allclose(profile[0], softmax(lam * (A @ profile[1])), atol=1e-9)
        np.testing.assert_allclose(profile[1], softmax(lam * (profile[0] @ B)), atol=1e-9)
    np.testing.assert_allclose(logit_qre(OCHS, 0.0)[0], [0.5, 0.5])
    assert LogitQRE(lam=2.0).policy(OCHS, 1) == pytest.approx(gambit[2.0][1], abs=1e-8)


def test_qre_three_players_fixed_point() -> None:
    rng = np.random.default_rng(4)
    game = NormalFormGame(rng.normal(size=(3, 2, 3, 2)))
    lam = 1.7
    profile = logit_qre(game, lam)
    for i in range(3):
        others = [j for j in range(3) if j != i]
        u = np.moveaxis(game.payoffs[i], i, 0)  # [A_i, A_j, A_k] with j < k the others in order
        for j in others:
            u = np.tensordot(u, profile[j], axes=([1], [0]))
        np.testing.assert_allclose(profile[i], softmax(lam * u), atol=1e-9)


def test_population_mixture_and_posteriors() -> None:
    members = (Boltzmann(beta=0.0), Boltzmann(beta=5.0))
    pop = Population(members, weights=(0.25, 0.75))
    partner = [np.array([0.5, 0.5]), np.array([0.3, 0.7])]
    pis = np.stack([m.policy(OCHS, 0, partner) for m in members])
    np.testing.assert_allclose(pop.policy(OCHS, 0, partner), 0.25 * pis[0] + 0.75 * pis[1], rtol=1e-13)
    assert pop.policy(OCHS, 0, partner).sum() == pytest.approx(1.0, abs=1e-14)
    counts = [7, 2]
    like = np.array([0.25, 0.75]) * np.prod(pis ** np.array(counts), axis=1)  # Bayes' rule by hand
    np.testing.assert_allclose(pop.posteriors(OCHS, 0, counts, partner), like / like.sum(), rtol=1e-12)
    long = pop.posteriors(OCHS, 0, [7000, 2000], partner)  # log space: no underflow
    assert np.all(np.isfinite(long)) and long.sum() == pytest.approx(1.0)
    with pytest.raises(InvalidGameError, match="weights"):
        Population(members, weights=(1.0, -1.0))
    assert pop.to_json()["members"][1]["params"] == {"beta": 5.0}


def test_spec_strings_round_trip_through_the_registry() -> None:
    for spec in (
        "boltzmann?beta=2",
        "noisy-best-response?epsilon=0.1",
        "level-k?k=2&beta=inf",
        "cognitive-hierarchy?tau=1.5",
        "qre?lam=3",
        "human-model:softmax?beta=0.5",
    ):
        model = parse_model(spec)
        again = parse_model(model_spec(model))
        np.testing.assert_allclose(again.policy(OCHS, 0), model.policy(OCHS, 0), rtol=1e-12)
        assert model.to_json()["model"] in HUMAN_MODELS
    with pytest.raises(UnknownNameError, match="did you mean 'boltzmann'"):
        parse_model("boltzman?beta=1")
    with pytest.raises(InvalidGameError, match="beta"):
        parse_model("boltzmann?beta=-1")
    with pytest.raises(InvalidGameError, match="unknown parameter"):
        parse_model("boltzmann?temperature=1")
    with pytest.raises(InvalidGameError, match="key=value"):
        parse_model("boltzmann?beta")
    with pytest.raises(NotApplicableError, match="normal-form"):
        Boltzmann().policy("not a game", 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("level-k?k=1000000", "k must be an integer in 0..1000"),  # was minutes of level-by-level responses
        ("level-k?k=99999999999999999999", "k must be an integer in 0..1000"),
        ("cognitive-hierarchy?tau=1e300", "tau must be <= 500"),  # was NumPy's "Maximum allowed size exceeded"
        ("cognitive-hierarchy?tau=1&max_level=5000", "max_level must be an integer in 1..1000"),
    ],
)
def test_depths_beyond_the_documented_bounds_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidGameError, match=message):
        parse_model(spec)
    assert parse_model("level-k?k=1000").k == 1000 and parse_model("cognitive-hierarchy?tau=500").tau == 500
