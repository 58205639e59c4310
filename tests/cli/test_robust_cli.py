"""`marlkit robust GAME|RUN_DIR`: exact robust values of a game, robustness curves of a run's policies (written to
robustness.json and the run's report page), and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.errors import MarlkitError
from marlkit.experiment.runner import run


def test_game_robust_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["robust", "perception-guess", "--epsilon", "0,1", "--delta", "0,0.2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_radius = {p["radius"]: p for p in data["state"]}
    # ε = 0: no attack, the robust value is the nominal optimum; ε = 1: the exact LP value 35/3 of a policy that
    # mixes b/c in c-zone, against 10 for the best deterministic policy (hand derivation in
    # src/marlkit/games/catalog/robust.py)
    assert by_radius[0.0]["robust_value"]["lower"] == pytest.approx(by_radius[0.0]["best_deterministic"])
    assert by_radius[1.0]["robust_value"] == {
        "lower": pytest.approx(35 / 3),
        "upper": pytest.approx(35 / 3),
        "exact": True,
        "method": "lp",
    }
    assert by_radius[1.0]["best_deterministic"] == pytest.approx(10.0)
    optimum = [m["robust_optimum"] for m in data["model"]]
    assert optimum[0] == pytest.approx(by_radius[0.0]["robust_value"]["lower"])  # δ = 0 is the nominal game
    assert optimum[1] < optimum[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    config = {
        "name": "robust-cli",
        "game": "perception-guess",
        "learners": "iql",
        "steps": 4_000,
        "seeds": 2,
        "key": 1,
        "adversary": {"attacked": [0], "period": 500},
        "output": {"root": str(root)},
    }
    return run(config, progress=False).path


def test_run_curves_are_written_and_consistent(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["robust", str(trained), "--epsilon", "0,1", "--delta", "0,0.1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seeds"] == 2
    # the recorded (float32) policies are evaluated under model uncertainty too; δ = 0 is the nominal return
    nominal, robust = data["model"]
    assert nominal["robust_returns"] == pytest.approx(nominal["nominal_returns"])
    assert robust["robust_returns"][0] < nominal["robust_returns"][0]
    assert json.loads((trained / "robustness.json").read_text()) == data
    for point in data["state"]:
        assert point["attack"] == "optimal" and len(point["worst_per_seed"]) == 2
        # the optimal adversary can always leave the state alone or mimic random noise
        assert point["worst"] <= point["clean"] + 1e-9 and point["worst"] <= point["random"] + 1e-9
        assert point["distance_to_robust"] >= 0
        # the optimal adversary's choices, per seed: for attacked agent 0, one shown state per true state, within B(s)
        for shown in point["adversary_per_seed"]:
            (states,) = shown
            assert len(states) == 3
            if point["radius"] == 0.0:
                assert states == [0, 1, 2]
            assert all(states[s] == s or s == 2 for s in range(3))  # perception-guess: only c-zone (2) is confusable
        if point["radius"] == 0.0:
            assert point["worst"] == pytest.approx(point["clean"]) == pytest.approx(point["random"])
    assert "robustness" in (trained / "report.html").read_text()
    assert main(["robust", str(trained), "--epsilon", "1"]) == 0
    out = capsys.readouterr().out
    assert "state perturbations of the trained policies (2 seeds" in out and "wrote" in out


def test_run_policies_match_the_history(trained: Path) -> None:
    from marlkit.experiment.runner import load_trained

    loaded = load_trained(trained)
    assert loaded.game is not None and loaded.history.policy.shape[0] == 2
    assert np.all(np.isfinite(loaded.history.policy[:, -1]))
    # the config's adversary section reached the loop: B(c-zone) = {a-zone, b-zone, c-zone} (the game's radius 1)
    adversary = loaded.history.meta["adversary"]
    assert adversary["schedule"] == "alternating" and adversary["period"] == 500
    assert adversary["uncertainty"]["sets"]["0"][2] == [0, 1, 2]


@pytest.mark.parametrize(
    ("adversary", "message"),
    [
        ({"attacked": [3]}, "agent 3 does not exist"),
        ({"attacked": []}, "non-empty list"),
        ({"radius": -1}, ">= 0"),
        ({"schedule": "sometimes"}, "alternating"),
        ({"period": 0}, ">= 1"),
        ({"attackd": [0]}, "attacked"),
    ],
)
def test_bad_adversary_sections(adversary: dict, message: str) -> None:
    from marlkit.experiment.config import load_config
    from marlkit.schema import ConfigError

    config = {"name": "x", "game": "perception-guess", "learners": "iql", "steps": 100, "adversary": adversary}
    with pytest.raises((ConfigError, MarlkitError), match=message):
        load_config(config)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["perception-guess", "--attacked", "3"], "agent 3 does not exist"),
        (["perception-guess", "--attacked", "0,0,0"], "M <= N"),
        (["perception-guess", "--epsilon", "-1"], "finite number >= 0"),
        (["perception-guess", "--epsilon", "x"], "expected a number"),
        (["perception-guess", "--delta", "0.1", "--norm", "l2"], "l1 or linf"),
        (["perception-guess", "--episodes", "0"], "--episodes must be >= 1"),
        (["no-such-game"], "no-such-game"),
    ],
)
def test_bad_input_is_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["robust", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_uncertainty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from marlkit.games import ObservationBall, StateUncertainty, save_uncertainty

    save_uncertainty(StateUncertainty.everywhere(1, 3, [0]), tmp_path / "state.json")
    assert main(["robust", "perception-guess", "--uncertainty", str(tmp_path / "state.json"), "--json"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["state"]
    assert point["radius"] is None and point["robust_value"]["exact"] is True
    save_uncertainty(ObservationBall(0.1), tmp_path / "ball.json")
    assert main(["robust", "perception-guess", "--uncertainty", str(tmp_path / "ball.json")]) == 2
    assert "applies to tasks" in capsys.readouterr().err
    save_uncertainty(StateUncertainty.everywhere(2, 3, [0]), tmp_path / "wrong.json")
    assert main(["robust", "perception-guess", "--uncertainty", str(tmp_path / "wrong.json")]) == 2
    assert "2 agents and 3 states, but the game has 1 agents" in capsys.readouterr().err


@pytest.fixture(scope="module")
def task_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "name": "robust-task",
        "env": {"name": "simple_spread", "params": {"max_episode_steps": 10}},
        "learners": {"name": "ippo", "params": {"rollout_length": 8, "update_epochs": 2, "num_minibatches": 2,
                                                "hidden": [16]}},
        "num_envs": 4,
        "steps": 256,
        "log_every": 64,
        "seeds": 2,
        "output": {"root": str(tmp_path_factory.mktemp("task"))},
    }  # fmt: skip
    return run(config, progress=False).path


def test_task_run_curves(task_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["robust", str(task_run), "--epsilon", "0,0.5", "--attacked", "0,1,2", "--episodes", "8", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [p["radius"] for p in data["state"]] == [0.0, 0.5]
    zero, half = data["state"]
    assert zero["attack"] == "gradient" and len(zero["worst_per_seed"]) == 2
    # ε = 0 perturbs nothing and every attack evaluates the same episodes (common random numbers)
    assert zero["clean"] == zero["random"] == zero["worst"]
    assert half["worst"] < half["clean"]  # PGD on every agent's observation hurts an untrained team's return
    assert json.loads((task_run / "robustness.json").read_text()) == data
    assert main(["robust", str(task_run), "--attacked", "5"]) == 2
    assert "agent 5 does not exist" in capsys.readouterr().err
