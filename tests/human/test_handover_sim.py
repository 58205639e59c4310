"""Hand-over of control by simulation (``marlkit.human.handover_sim``, ``marlkit.human.ood``; issue 21, item 5).

On the session's trained IPPO team (``small_spread_run``: 2-agent, 10-step simple spread, 3 seeds): the detectors
against independent NumPy computations, the rule's monotonicity (exact), the threshold extremes against the plain
evaluation (bit for bit, same keys), the detector on a shifted task (several seeds), and the CLI's bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlkit.cli import main
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.experiment.policies import load_source
from marlkit.experiment.report import HANDOVER_FILE, result_sections
from marlkit.human.handover_sim import HandoverSimulation, handover_simulation, make_human
from marlkit.human.ood import auroc, calibrated_cutoffs, ensemble, fit_knn, fit_mahalanobis, ledoit_wolf
from marlkit.policies.actors import Team
from marlkit.train.evaluate import evaluate

LEVELS = (0.25, 0.5, 0.9, 0.99)
EPISODES = 48  # also the fitting episodes (the default), so fitting and evaluation share one program
SHIFT = {"spawn_range": 2.0}
HUMAN = "nearest-landmark?beta=4"


@pytest.fixture(scope="module")
def policies(small_spread_run):
    return load_source(small_spread_run)


@pytest.fixture(scope="module")
def result(policies):
    return handover_simulation(
        policies,
        rule="novelty",
        human=HUMAN,
        levels=LEVELS,
        episodes=EPISODES,
        shift=SHIFT,
        seed=3,
    )


# ------------------------------------------------------------------------------------------ the detectors
def ledoit_wolf_numpy(x: np.ndarray) -> np.ndarray:
    """Ledoit & Wolf 2004, Lemma 3.2 / Theorem 3.1 (the MLE covariance S, target μI with μ = tr S / p):
    δ² = ||S - μI||²/p, β̄² = (1/n²) Σ_k ||x_k x_kᵀ - S||²/p, shrinkage min(β̄², δ²)/δ² (norms Frobenius)."""
    n, p = x.shape
    xc = x - x.mean(axis=0)
    S = xc.T @ xc / n
    mu = np.trace(S) / p
    delta = np.sum((S - mu * np.eye(p)) ** 2) / p
    beta = sum(np.sum((np.outer(r, r) - S) ** 2) for r in xc) / n**2 / p
    alpha = min(beta, delta) / delta
    return (1 - alpha) * S + alpha * mu * np.eye(p)


def test_ledoit_wolf_matches_scikit_learn():
    from sklearn.covariance import LedoitWolf

    rng = np.random.default_rng(3)
    for m in (5, 40, 400):  # fewer samples than entries, about as many, many more
        x = rng.normal(size=(m, 8)) @ rng.normal(size=(8, 8))
        np.testing.assert_allclose(ledoit_wolf(x), LedoitWolf().fit(x).covariance_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ledoit_wolf(x), ledoit_wolf_numpy(x), rtol=1e-10, atol=1e-12)


def test_mahalanobis_score_matches_an_independent_numpy_computation():
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(5, 5))
    x = rng.normal(size=(400, 2, 5)) @ mix  # correlated, per agent
    x[:, :, 4] = 0.0  # an entry that never varies (MPE's silent channels): the shrinkage keeps Σ̂ invertible
    x[:, 1] += 3.0
    detector = fit_mahalanobis(x)
    probe = rng.normal(size=(50, 2, 5)) * 2.0
    got = np.asarray(detector.score(jnp.asarray(probe, jnp.float32)))
    for i in range(2):
        sigma = ledoit_wolf_numpy(x[:, i])
        diff = probe[:, i] - x[:, i].mean(axis=0)
        want = np.einsum("md,md->m", diff, np.linalg.solve(sigma, diff.T).T)
        np.testing.assert_allclose(got[:, i], want, rtol=2e-4)


def test_knn_score_is_the_kth_neighbour_distance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2, 4)) * np.array([1.0, 2.0, 0.5, 0.0])
    detector = fit_knn(x, k=3, bank=1000)
    probe = rng.normal(size=(20, 2, 4))
    got = np.asarray(detector.score(jnp.asarray(probe, jnp.float32)))
    for i in range(2):
        mean, std = x[:, i].mean(axis=0), np.maximum(x[:, i].std(axis=0), 1e-3)
        z, q = (x[:, i] - mean) / std, (probe[:, i] - mean) / std
        d = np.sqrt(((q[:, None] - z[None]) ** 2).sum(-1))
        np.testing.assert_allclose(got[:, i], np.sort(d, axis=1)[:, 2], rtol=1e-4)


def test_auroc_is_the_pairwise_probability_and_cutoffs_keep_their_level():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 5, 40).astype(float), rng.integers(1, 7, 30).astype(float)  # ties on purpose
    brute = np.mean([(y > x) + 0.5 * (y == x) for x in a for y in b])
    assert auroc(a, b) == pytest.approx(brute, abs=1e-12)
    scores = rng.normal(size=1000)
    cut = calibrated_cutoffs(scores, [0.0, 0.3, 0.9, 1.0])
    assert cut[0] == -np.inf and cut[-1] == np.inf
    for level, c in zip([0.3, 0.9], cut[1:3], strict=True):
        assert np.mean(scores <= c) >= level and np.mean(scores < c) < level  # the q-quantile, no further
    with pytest.raises(InvalidGameError, match="in \\[0, 1\\]"):
        calibrated_cutoffs(scores, [1.5])


# ---------------------------------------------------------------------------------------------- the rule
def test_takeover_is_monotone_in_the_threshold(result):
    cutoffs = np.asarray(result.state.cutoff)  # [N, K + 2, n]
    assert np.all(np.diff(cutoffs, axis=1) >= 0)
    trained = result.records["trained"]
    # the rollout's recorded unsureness is the fitted detector's score of the observation it acted on
    obs = trained["obs"][:, 0]  # the human-alone rollout's observations [N, T, E, n, D]
    scores = np.stack(
        [np.asarray(d.score(jnp.asarray(o))) for d, o in zip(unstack(result.state.detector), obs, strict=True)]
    )
    np.testing.assert_allclose(scores, trained["unsureness"][:, 0], rtol=1e-5, atol=1e-5)
    # exact: on the same observations, the AI acts at every level above one it acts at (rule: u <= cutoff)
    took = scores[:, None] <= cutoffs[:, :, None, None, :]  # [N, K + 2, T, E, n]
    assert np.all(took[:, 1:] >= took[:, :-1])
    rates = took[..., 0].mean(axis=(2, 3))  # the human's seat
    assert np.all(np.diff(rates, axis=1) >= 0) and np.all(rates[:, 0] == 0) and np.all(rates[:, -1] == 1)
    # the rollouts share their first step (common random numbers): the recorded first decisions obey it too
    first = trained["unsureness"][:, :, 0, :, 0] <= cutoffs[:, :, None, 0]
    assert np.all(first[:, 1:] >= first[:, :-1])
    np.testing.assert_array_equal(trained["unsureness"][:, :, 0], trained["unsureness"][:, :1, 0].repeat(6, 1))


def test_defer_unsureness_is_one_minus_the_policy_margin(result, policies):
    # the defer rule's u(o) = 1 - (π_(1) - π_(2)) against NumPy's top two of the policy file's own probabilities
    obs = result.records["trained"]["obs"][0, 0, 0]  # seed 0, the person alone, first step [E, n, D]
    defer = dataclasses.replace(result.actor, rule="defer")
    probs = np.asarray(policies[0].probs(obs))  # what the actor's AI policy gives (Policy.probs: the same actor)
    u = np.asarray(defer.unsureness(result.state, policies[0].observe(obs), jnp.asarray(probs)))
    top = np.sort(probs, axis=-1)
    np.testing.assert_allclose(u, 1.0 - (top[..., -1] - top[..., -2]), atol=1e-6)
    assert u.min() >= 0.0 and u.max() <= 1.0 and u.std() > 0  # not a constant


def test_ensemble_disagreement_is_the_mutual_information_of_the_seeds(result, policies):
    # H(mean π) - mean H(π_m) over the run's 3 seeds, against NumPy on each policy file's own probabilities
    obs = result.records["trained"]["obs"][0, 0, 0]  # [E, n, D]
    detector = ensemble(members=result.state.ai)
    got = np.asarray(detector.score_with(policies[0].actor, policies[0].observe(obs)))
    probs = np.stack([np.asarray(p.probs(obs), np.float64) for p in policies])  # [M, E, n, A]

    def h(p):
        return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)

    np.testing.assert_allclose(got, h(probs.mean(axis=0)) - h(probs).mean(axis=0), atol=1e-5)
    assert got.min() >= -1e-6 and got.max() > 1e-3  # Jensen: >= 0; the seeds do disagree somewhere
    with pytest.raises(NotApplicableError, match="at least 2 members"):
        ensemble(members=jax.tree.map(lambda x: x[:1], result.state.ai))


def unstack(tree):
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return [treedef.unflatten([np.asarray(x)[i] for x in leaves]) for i in range(np.asarray(leaves[0]).shape[0])]


def test_threshold_extremes_are_the_plain_evaluations_bit_for_bit(result, policies):
    env = policies[0].make_env()
    actor = policies[0].actor
    params = result.state.ai
    ai = evaluate(env, actor, params, episodes=EPISODES, key=3, stacked=True)
    records = result.records["trained"]
    np.testing.assert_array_equal(records["returns"][:, -1], ai.returns)
    human = make_human(HUMAN, actor, env.spec)
    team = Team((actor, human), (1, 0))  # the person in agent_0, the AI in agent_1
    alone = evaluate(env, team, (params, result.state.human), episodes=EPISODES, key=3, stacked=True)
    np.testing.assert_array_equal(records["returns"][:, 0], alone.returns)
    assert np.all(records["takeover_rate"][:, 0] == 0) and np.all(records["takeover_rate"][:, -1] == 1)
    assert not np.array_equal(ai.returns, alone.returns)  # the two references differ, so the check can fail


def test_the_detector_fires_more_on_the_shifted_task(result):
    # spawn_range=2 draws every position from U(-2, 2)^2: a particle lands in the training box [-1, 1]^2 with
    # probability 1/4, so most shifted observations hold offsets beyond any seen in training. At 100 episodes the
    # three seeds' AUROCs were 0.983-0.987; 0.9 leaves room for the 48 episodes here while failing a detector that
    # separates the tasks poorly (a score blind to the shift gives 0.5).
    assert result.auroc is not None and len(result.auroc) == 3
    assert min(result.auroc) > 0.9
    for point in result.points[1:-1]:  # every calibrated level: the human is handed control more often when shifted
        assert point.shifted["fire_rate"] > point.trained["fire_rate"]
    data = json.loads(json.dumps(result.to_json()))
    assert data["rule"] == "novelty" and [p["level"] for p in data["points"][1:-1]] == list(LEVELS)
    assert data["points"][0]["trained"]["takeover_rate"]["mean"] == 0.0


def test_cli_runs_the_simulation_and_saves_it_into_the_run(small_spread_run, result, capsys, tmp_path):
    run = shutil.copytree(small_spread_run, tmp_path / "run")  # --save writes into the run: a copy of the fixture's
    # the same shapes as the fixture's, so the compiled programs are reused
    args = ["human", "handover", str(run), "--threshold", ",".join(map(str, LEVELS)), "--shift",
            "spawn_range=2.0", "--human", HUMAN, "--episodes", str(EPISODES),
            "--seed", "3", "--json", "--save"]  # fmt: skip
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["auroc"] == pytest.approx(result.auroc)
    assert data["points"] == json.loads(json.dumps(result.to_json()))["points"]
    # the saved file is what was printed, reads back, and is a section of the run's page
    assert json.loads((run / HANDOVER_FILE).read_text()) == data
    saved = HandoverSimulation.from_json(data)

    def without_source(lines):
        return [line for line in lines if not line.startswith("  source: ")]

    assert without_source(saved.lines()) == without_source(result.lines())
    assert saved.to_json()["points"] == data["points"]
    sections = dict(result_sections(run, pictures=False))
    assert "hand-over of control" in sections and "human alone" in sections["hand-over of control"]
    assert main(["human", "handover", "cliff-walking", "--save"]) == 2  # --save is for a simulation on a RUN_DIR
    assert "--save: applies to a RUN_DIR" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--threshold", "1.5"], "--threshold '1.5'"),
        (["--threshold", "-0.1"], "in [0, 1]"),
        (["--episodes", "0"], "--episodes must be >= 1"),
        (["--fit-episodes", "1"], "--fit-episodes"),
        (["--rule", "value-margin"], "simulated rules"),
        (["--margin", "3"], "--margin"),
        (["--agents", "7"], "--agents 7"),
        (["--detector", "knm"], "did you mean 'knn'"),
        (["--detector", "ensemble", "--human", "bogus"], "unknown task human model 'bogus'"),
        (["--human", "tempered?beta=-1"], "beta"),
        (["--shift", "n_landmarks=3"], "spaces"),  # another task's spaces: the policy cannot act there
        (["--shift", "spawn_rnge=2"], "did you mean 'spawn_range'"),
        (["--shift", "spawn_range=-1"], "spawn_range must be a finite number > 0"),
        (["--shift", "spawn_range"], "--shift 'spawn_range': expected key=value"),
        (["--shift", "spawn_range=2", "--shift", "spawn_range=3"], "--shift spawn_range: given twice"),
        (["--threshold", "0.9,0.5,0.9"], "level 0.9 given twice"),
        (["--beta", "1"], "--beta: applies to a tabular game"),  # exact-only options are refused, not ignored
        (["--training-episodes", "5"], "--training-episodes: applies to a tabular game"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(small_spread_run, extra, message, capsys):
    assert main(["human", "handover", str(small_spread_run), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err


def test_cli_simulation_options_on_a_tabular_game_are_refused(capsys):
    for option in (["--threshold", "0.5"], ["--episodes", "5"], ["--detector", "knn"], ["--mode", "greedy"]):
        assert main(["human", "handover", "cliff-walking", *option]) == 2
        assert f"{option[0]}: applies to a RUN_DIR" in capsys.readouterr().err
