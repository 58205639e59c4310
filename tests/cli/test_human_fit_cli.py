"""`marlkit human log` and `marlkit human fit`: a log written from a human model, fitted back (JSON), the model
comparison, and one-line errors (exit 2) for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marlkit.cli import main
from marlkit.games.catalog import make
from marlkit.human.playlog import PlayLogWriter


@pytest.fixture(scope="module")
def stag_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "stag.jsonl"
    assert (
        main(
            ["human", "log", str(path), "--game", "stag-hunt", "-m", "qre?lam=0.5", "--episodes", "600", "--seed", "0"]
        )
        == 0
    )
    return path


def test_fit_json_recovers_the_generating_lambda(stag_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["human", "fit", str(stag_log), "--model", "qre", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"] == "qre" and data["parameter"] == "lambda" and data["identified"]
    assert data["n_decisions"] == 1200 and data["game"] == "stag-hunt"  # 600 joint decisions x 2 players
    assert data["joint_decisions"] == 600
    # 600 joint decisions: s.e. about 0.04; the generating λ = 0.5 lies within 4 s.e. (fit tests explain 4)
    assert abs(data["estimate"] - 0.5) < 4 * data["standard_error"]
    low, high = data["ci95"]
    assert low < data["estimate"] < high
    assert data["aic"] == pytest.approx(2 - 2 * data["log_likelihood"])


def test_fit_all_compares_models(stag_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["human", "fit", str(stag_log), "--model", "all", "--agent", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["model"] for f in data["fits"]] == ["boltzmann", "qre", "cognitive-hierarchy", "noisy-best-response"]
    assert all(f["n_decisions"] == 600 for f in data["fits"]) and data["agent"] == 1
    # two actions, one choice situation: every one-parameter model reproduces player 1's frequency exactly, so the
    # maximised log-likelihoods tie (the multinomial maximum) and the comparison says so
    assert data["best_by_aic"] is None and len(data["tied_by_aic"]) == 4
    assert len({round(f["log_likelihood"], 6) for f in data["fits"]}) == 1
    assert main(["human", "fit", str(stag_log), "--model", "all"]) == 0
    text = capsys.readouterr().out
    assert "tied by AIC" in text and "log-lik" in text


def test_partner_model_and_plain_output(stag_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["human", "fit", str(stag_log), "--game", "stag-hunt", "--partner", "qre?lam=0.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("play log of stag-hunt") and out[1].startswith("boltzmann: beta = ")


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_bad_input_exits_2_with_one_line(stag_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["human", "fit", str(stag_log), "--game", "prisoners-dilemma"]) == 2
    assert "another game" in error_line(capsys)
    header = stag_log.read_text().splitlines()[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(header + "\n" + json.dumps({"episode": 0, "step": 0, "state": 0, "actions": [0, 7]}) + "\n")
    assert main(["human", "fit", str(bad)]) == 2
    assert "out of range" in error_line(capsys)
    small = tmp_path / "small.jsonl"
    with PlayLogWriter(small, make("stag-hunt")) as log:  # three best responses to a stag partner: β unbounded
        for e in range(3):
            log.write(episode=e, step=0, state=0, actions=[0, 0])
    assert main(["human", "fit", str(small)]) == 2
    assert "too little data" in error_line(capsys)
    assert main(["human", "fit", str(stag_log), "--partner", "boltzmann?beta=-1"]) == 2
    assert "beta must be >= 0" in error_line(capsys)
    assert main(["human", "fit", str(stag_log), "--agent", "5"]) == 2
    assert "--agent" in error_line(capsys)
    assert main(["human", "fit", str(stag_log), "--model", "boltzman"]) == 2
    assert "did you mean 'boltzmann'" in error_line(capsys)
    assert main(["human", "fit", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such play log" in error_line(capsys)
    assert main(["human", "log", str(tmp_path / "o.jsonl"), "--game", "stag-hunt", "-m", "boltzmann?beta=-2"]) == 2
    assert "beta" in error_line(capsys) and not (tmp_path / "o.jsonl").exists()
