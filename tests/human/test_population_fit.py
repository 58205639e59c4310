"""Population-weight fits (``marlkit.human.population_fit``): EM against an independent optimiser, concavity, the
profile-likelihood interval's defining property, recovery from synthetic people, too little data, and the CLI
(``marlkit human fit LOG... --member A --member B``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from marlkit.cli import main
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games import NormalFormGame
from marlkit.human.fit import LR_DROP
from marlkit.human.models import parse_model
from marlkit.human.population import Population
from marlkit.human.population_fit import em_weights, fit_population, member_logliks, mixture_loglik

A = np.array([[4.0, 0.0, 1.0], [1.0, 3.0, 0.0], [2.0, 2.0, 2.0]])
GAME = NormalFormGame(np.stack([A, A.T]), name="three")
SPECS = ("boltzmann?beta=0.2", "boltzmann?beta=3", "noisy-best-response?epsilon=0.2")
MEMBERS = [parse_model(s) for s in SPECS]


def draw_people(rng: np.random.Generator, weights: np.ndarray, people: int, decisions: int) -> list[np.ndarray]:
    policies = np.stack([m.policy(GAME, 0) for m in MEMBERS])
    return [rng.multinomial(decisions, policies[m]) for m in rng.choice(len(MEMBERS), size=people, p=weights)]


def slsqp_weights(logliks: np.ndarray) -> np.ndarray:
    """The oracle: ℓ maximised over the simplex by SciPy's SLSQP (a different algorithm from EM)."""
    m = logliks.shape[1]
    result = minimize(
        lambda w: -mixture_loglik(logliks, np.clip(w, 1e-300, None)),
        np.full(m, 1.0 / m),
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0}],
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    return np.asarray(result.x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_em_reaches_the_maximum_an_independent_optimiser_finds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    logliks = member_logliks(
        np.stack([m.policy(GAME, 0) for m in MEMBERS]), np.stack(draw_people(rng, np.array([0.5, 0.3, 0.2]), 40, 8))
    )
    em, oracle = em_weights(logliks), slsqp_weights(logliks)
    # ℓ is concave, so both find the one maximum value; EM is at least as high (to SLSQP's tolerance)
    assert mixture_loglik(logliks, em) >= mixture_loglik(logliks, oracle) - 1e-7
    assert np.allclose(em, oracle, atol=2e-3)  # weights: SLSQP stops at ftol, near a flat maximum


def test_the_log_likelihood_is_concave_in_the_weights() -> None:
    rng = np.random.default_rng(3)
    logliks = member_logliks(
        np.stack([m.policy(GAME, 0) for m in MEMBERS]), np.stack(draw_people(rng, np.ones(3) / 3, 30, 10))
    )
    for _ in range(200):  # midpoint concavity on random segments of the simplex
        a, b = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3))
        mid = mixture_loglik(logliks, (a + b) / 2)
        assert mid >= (mixture_loglik(logliks, a) + mixture_loglik(logliks, b)) / 2 - 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_people_recover_the_weights(seed: int) -> None:
    truth = np.array([0.3, 0.5, 0.2])
    people = draw_people(np.random.default_rng(100 + seed), truth, 400, 20)
    fit = fit_population(MEMBERS, GAME, people)
    # 400 people: the sampling s.e. of a weight is about sqrt(w (1 - w) / 400) <= 0.025, plus a little for the
    # uncertainty of each person's membership (their posteriors are mostly > 0.9 here): 0.1 is four s.e.
    assert np.max(np.abs(np.array(fit.weights) - truth)) < 0.1
    for m, (low, high) in enumerate(fit.intervals):
        assert low < fit.weights[m] < high and high - low < 0.25
        # the interval's ends are where the profile log-likelihood has dropped by χ²_1(0.95)/2 (not at 0 or 1 here)
        for end in (low, high):
            profile = mixture_loglik(
                member_logliks(np.stack([x.policy(GAME, 0) for x in MEMBERS]), np.stack(people)),
                em_weights(
                    member_logliks(np.stack([x.policy(GAME, 0) for x in MEMBERS]), np.stack(people)),
                    np.array(fit.weights),
                    fixed=(m, end),
                ),
            )
            assert profile == pytest.approx(fit.log_likelihood - LR_DROP, abs=1e-6)
    assert fit.log_likelihood > fit.best_single  # a mixture explains three kinds of people better than any one


def test_posteriors_are_bayes_rule_at_the_fitted_weights() -> None:
    people = draw_people(np.random.default_rng(7), np.array([0.4, 0.4, 0.2]), 60, 15)
    fit = fit_population(MEMBERS, GAME, people)
    population = Population(tuple(MEMBERS), fit.weights)
    for p, counts in enumerate(people):
        assert np.allclose(fit.posteriors[p], population.posteriors(GAME, 0, counts), atol=1e-12)


def test_too_little_data_and_bad_members_are_refused() -> None:
    few = [np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])]  # two people, one choice each
    close = [parse_model("boltzmann?beta=0.2"), parse_model("boltzmann?beta=0.3")]
    with pytest.raises(NotApplicableError, match="not identified"):
        fit_population(close, GAME, few)
    assert not fit_population(close, GAME, few, strict=False).identified
    with pytest.raises(InvalidGameError, match="predict the same choices"):
        fit_population([parse_model("boltzmann?beta=0"), parse_model("noisy-best-response?epsilon=1")], GAME, few)
    # row's best response to a uniform column is row 0; level 2 answers the column's level 1 (column 1) with row 1
    pure = NormalFormGame(np.array([[[3.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]]), name="pure")
    sharp = [parse_model("noisy-best-response?epsilon=0"), parse_model("level-k?k=2")]
    assert [m.policy(pure, 0).tolist() for m in sharp] == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(InvalidGameError, match="no member can produce"):
        fit_population(sharp, pure, [[2, 0], [1, 1]])  # the second person chose both rows
    with pytest.raises(InvalidGameError, match="at least two member"):
        fit_population(MEMBERS[:1], GAME, few)


@pytest.fixture(scope="module")
def people_logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("people")
    paths = []
    for i, spec in enumerate(["boltzmann?beta=0.2"] * 4 + ["boltzmann?beta=3"] * 4):
        path = folder / f"person{i}.jsonl"
        command = ["human", "log", str(path), "--game", "prisoners-dilemma", "-m", spec, "--episodes", "40"]
        assert main([*command, "--seed", str(i)]) == 0
        paths.append(path)
    return paths


def test_cli_fits_a_population_one_person_per_log(people_logs: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    members = ["--member", "boltzmann?beta=0.2", "--member", "boltzmann?beta=3"]
    assert main(["human", "fit", *map(str, people_logs), *members, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["people"] == 8 and data["n_decisions"] == 320 and data["identified"]
    # each person's 40 choices of defect (β = 3: 0.998; β = 0.2: 0.55) tell the two kinds apart with certainty
    assert [row["most_likely"] for row in data["people_posteriors"]] == ["boltzmann?beta=0.2"] * 4 + [
        "boltzmann?beta=3.0"
    ] * 4
    posteriors = np.array([row["posterior"] for row in data["people_posteriors"]])
    assert data["weights"] == pytest.approx(posteriors.mean(axis=0), abs=1e-9)  # ŵ is EM's fixed point
    assert data["weights"] == pytest.approx([0.5, 0.5], abs=1e-3)
    assert main(["human", "fit", *map(str, people_logs)]) == 0  # no members: the logs pooled, one β
    assert "8 play logs of prisoners-dilemma: 320 decisions" in capsys.readouterr().out


def test_cli_population_bad_input(people_logs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "stag.jsonl"
    assert main(["human", "log", str(other), "--game", "stag-hunt", "--episodes", "5"]) == 0
    capsys.readouterr()
    cases = [
        ([str(people_logs[0]), str(other), "--member", "boltzmann", "--member", "level-k?k=1"], "another game"),
        ([str(people_logs[0]), "--member", "boltzmann", "--model", "qre"], "exclude each other"),
        ([str(people_logs[0]), "--member", "boltzmann?beta=1"], "at least two member"),
        ([str(people_logs[0]), "--member", "boltzmann?beta=-1", "--member", "level-k"], "beta must be >= 0"),
    ]
    for args, message in cases:
        assert main(["human", "fit", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
