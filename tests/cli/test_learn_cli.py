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


# ------------------------------------------------------------------- issue 14: games where no episode ends
def _no_terminal_game(tmp_path: Path) -> Path:
    """A 2-state zero-sum stochastic game, gamma 0.9, no terminal state: without a time limit no episode ends."""
    game = {
        "type": "stochastic",
        "name": "endless",
        "transitions": [[[[0.5, 0.5], [1, 0]], [[0, 1], [0.5, 0.5]]], [[[0.5, 0.5], [0, 1]], [[1, 0], [0.5, 0.5]]]],
        "rewards": [[[[1, -1], [-1, 1]], [[0, 2], [2, 0]]], [[[-1, 1], [1, -1]], [[0, -2], [-2, 0]]]],
        "initial": [1, 0],
        "gamma": 0.9,
    }
    path = tmp_path / "endless.json"
    path.write_text(json.dumps(game))
    return path


@pytest.mark.parametrize("learner", ["minimax-q", "iql"])
def test_learn_without_ended_episodes_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str], learner: str) -> None:
    path = str(_no_terminal_game(tmp_path))
    args = ["learn", path, "-l", learner, "--steps", "500", "--seeds", "2"]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "no episode ended" in out and "--max-episode-steps" in out
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)  # strict JSON: no bare NaN
    assert data["tail_return"] == [[None, None], [None, None]]
    assert "no episode ended" in data["null_reasons"]["tail_return"]


def test_learn_max_episode_steps_ends_episodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_no_terminal_game(tmp_path))
    history = tmp_path / "h.npz"
    args = ["learn", path, "-l", "iql", "--steps", "500", "--seeds", "2", "--max-episode-steps", "10"]
    code = main([*args, "--json", "--save-history", str(history)])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert all(v is not None for row in data["tail_return"] for v in row) and "null_reasons" not in data
    assert data["max_episode_steps"] == 10 and History.load(history).meta["max_episode_steps"] == 10
    for bad in ("0", "-3"):
        assert main([*args[:-1], bad]) == 2
        assert "--max-episode-steps must be >= 1" in capsys.readouterr().err


def test_cli_number_is_total() -> None:
    from marlkit.cli.render import number

    assert number(float("nan")) == "nan" and number(float("inf")) == "inf" and number(2.0) == "2"


def test_learn_plots_draws_the_diagnosis_pictures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "plots"
    args = ["learn", "matching-pennies", "-l", "fp", "--steps", "1000", "--seeds", "2", "--plots", str(folder)]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (folder / "criteria.png").is_file() and (folder / "trajectories.png").is_file()
    assert f"wrote {folder / 'criteria.png'}" in out and "convergence of matching-pennies" in out


def test_learn_prints_and_saves_the_hyper_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "h.npz"
    args = ["learn", "matching-pennies", "-l", "iql", "--vs", "wolf-phc", "--steps", "200", "--seeds", "2"]
    code = main([*args, "--save-history", str(history)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "hyper-parameters of iql: step_size=0.1, exploration=boltzmann(temperature=exponential-decay(" in out
    assert "hyper-parameters of wolf-phc: step_size=inverse-time(" in out
    saved = History.load(history).meta["hyper_parameters"]
    assert saved["iql"]["exploration"]["type"] == "boltzmann" and saved["wolf-phc"]["epsilon"] == 0.05
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hyper_parameters"]["iql"]["step_size"] == 0.1


def test_learn_deep_steps_rounding_is_announced(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["learn", "prisoners-dilemma", "-l", "ippo", "--steps", "300", "--seeds", "1", "--num-envs", "2"]
    code = main([*args, "--hp", "rollout_length=16"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "--steps 300 rounded up to 320" in err and "320 steps x 1 seed" in out
    code = main([*args, "--hp", "rollout_length=16", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["steps"] == 320 and data["steps_requested"] == 300


def test_iql_means_one_learner_in_python_and_on_the_command_line() -> None:
    """Issue 14, item 8: the class defaults are the registry's (published) settings — for every learner; the one
    named variant (``iql-eps``: IQL with constant ε-greedy) is the only entry that overrides its class."""
    from marlkit.agents.tabular import CQL, IQL
    from marlkit.agents.tabular.registry import LEARNERS, make_learner
    from marlkit.games.catalog import make

    assert IQL() == make_learner("iql") and CQL() == make_learner("cql")
    game = make("matching-pennies")
    variants = {name for name, entry in LEARNERS.entries().items() if entry.defaults}
    assert variants == {"iql-eps"}
    for name, entry in LEARNERS.entries().items():
        if name in variants:
            continue
        cls = entry.load()
        assert make_learner(name, game=game) == (cls(game) if entry.extra.get("game") else cls()), name


def test_show_says_none_for_no_terminal_states_and_one_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14 items 6 and 9: "terminal states: 0" read as "state 0 is terminal"; "1 states"."""
    assert main(["show", str(_no_terminal_game(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "terminal states: none; initial support: 1 state\n" in out and "2 states, actions 2 x 2" in out
    assert main(["show", "soccer"]) == 0
    assert "terminal states: " in (out := capsys.readouterr().out) and "terminal states: 0" not in out


def test_learn_chooses_the_replicators_discrete_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--hp method=discrete`` was refused ("takes no step_size"): the learner was rebuilt by replacing fields of
    its default instance, whose Euler step size was already filled in (the config fuzzer found it for configs)."""
    game = tmp_path / "positive.json"  # the discrete map needs positive payoffs (offspring counts)
    game.write_text(json.dumps({"type": "normal-form", "payoffs": [[[3, 1], [2, 2]], [[1, 3], [2, 2]]]}))
    args = ["learn", str(game), "--learner", "replicator", "--hp", "method=discrete", "--steps", "100", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["hyper_parameters"]["replicator"]["method"] == "discrete"
