"""`marlkit learn`: trains on many seeds and reports policies, returns and NashConv; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.history import History


def test_learn_json_reports_nash_conv_per_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "h.npz"
    code = main(
        [
            "learn",
            "matching-pennies",
            "--learner",
            "wolf-phc",
            "--steps",
            "40000",
            "--seeds",
            "4",
            "--save-history",
            str(path),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["learners"] == ["wolf-phc", "wolf-phc"]
    assert len(data["nash_conv_final"]) == 4
    # Matching pennies' NashConv is at most 2 (each player gains at most 1 by deviating from any profile) and
    # NashConv >= 0 always (Lanctot et al. 2017).
    assert all(0.0 <= v <= 2.0 for v in data["nash_conv_final"])
    assert History.load(path).n_seeds == 4


def test_learn_mixed_learners_table(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["learn", "rock-paper-scissors", "--learner", "wolf-phc", "--vs", "iql", "--steps", "2000", "--seeds", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "wolf-phc vs iql" in out and "NashConv of the final policy" in out and "rock" in out


def test_summary_matches_exact_nash_conv() -> None:
    from marlkit.agents.tabular.registry import make_learner
    from marlkit.diagnose import summarize
    from marlkit.games.catalog import make
    from marlkit.solve.best_response import nash_conv
    from marlkit.train import train

    game = make("prisoners-dilemma")
    history = train(game, make_learner("iql-eps", game), 3000, seeds=3, key=1, log_every=300)
    summary = summarize(history, game)
    for seed in range(3):
        # float32 policies, renormalised in float64 as summarize does before the exact NashConv.
        profile = [p / p.sum() for p in (summary.final_policy[seed, i, 0, :2] for i in range(2))]
        assert summary.nash_conv_final[seed] == pytest.approx(nash_conv(game, profile), abs=1e-9)
        # Empirical frequencies are the marginals of the cumulative joint counts.
        counts = history.joint_counts[seed, -1, 0].astype(float)
        assert np.allclose(summary.average_policy[seed, 0, 0, :2], counts.sum(axis=1) / counts.sum())
    assert summary.average_kind == ("empirical frequency", "empirical frequency")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("chicken", "--learner", "wolf-phk"), "did you mean 'wolf-phc'"),
        (("chicken", "--learner", "iql", "--steps", "0"), "--steps"),
        (("chicken", "--learner", "cql"), "common"),
        (("chicken", "--learner", "ippo", "--vs", "iql"), "self-play"),
        (("chicken", "--learner", "ippo", "--hp", "lrr=0.1"), "did you mean 'lr'"),
        (("chicken", "--learner", "iql", "--hp", "lr=0.1"), "deep learners"),
    ],
)
def test_learn_errors(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code = main(["learn", *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err


def test_learn_deep_learner_is_judged_like_a_tabular_one(capsys: pytest.CaptureFixture[str]) -> None:
    """IPPO self-play on the prisoner's dilemma: defection strictly dominates, so every seed should end near the
    unique equilibrium (D, D). A 64-unit PPO with entropy bonus 0.01 keeps a little mass on cooperation; NashConv
    below 0.1 (a 2.5% cooperation probability costs 0.025 x 1 per player) is far from the uniform start (1.75)."""
    args = ["learn", "prisoners-dilemma", "-l", "ippo", "--steps", "20480", "--seeds", "3", "--json"]
    code = main([*args, "--hp", "rollout_length=16", "--num-envs", "16"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["steps"] == 20480 and payload["learners"] == ["ippo", "ippo"]
    assert max(payload["nash_conv_final"]) < 0.1


def test_learn_sets_tabular_hyper_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--hp`` reaches a tabular learner: values are read as JSON and converted by annotation (a number becomes a
    constant schedule, a mapping an exploration), and the learner the run used records them."""
    path = tmp_path / "h.npz"
    args = ["learn", "matching-pennies", "-l", "iql", "--steps", "200", "--seeds", "2", "--save-history", str(path)]
    hp = ["--hp", "step_size=0.5", "--hp", 'exploration={"type": "epsilon-greedy", "epsilon": 0.3}']
    code = main([*args, *hp, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["learners"] == ["iql", "iql"]
    used = History.load(path).meta["learners"]
    assert all("step_size=Constant(value=0.5)" in u and "EpsilonGreedy(epsilon=Constant(value=0.3))" in u for u in used)


def test_learn_unknown_tabular_hyper_parameter_suggests_one(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["learn", "matching-pennies", "-l", "wolf-phc", "--hp", "detla=0.1", "--steps", "100"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ")
    assert "unknown hyper-parameter 'detla'" in err and "did you mean 'delta'" in err


def test_learners_lists_tabular_and_deep_learners(capsys: pytest.CaptureFixture[str]) -> None:
    from marlkit.agents.deep.registry import DEEP_LEARNERS
    from marlkit.agents.tabular.registry import LEARNERS

    assert main(["learners", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["learners"]
    assert [r["name"] for r in rows] == [*LEARNERS, *DEEP_LEARNERS]
    assert all(r["description"] and r["citation"] for r in rows)
    assert main(["learners"]) == 0
    out = capsys.readouterr().out
    assert "wolf-phc" in out and "Bowling & Veloso 2002" in out and "ippo" in out
