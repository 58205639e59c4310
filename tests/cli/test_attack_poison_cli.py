"""`marlkit attack poison`: recording from a game, poisoning a dataset file, what the learners adopt before and
after, and one-line errors (exit 2, nothing written) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.offline.dataset import load


def test_poison_a_recorded_game(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, clean = tmp_path / "poisoned.npz", tmp_path / "clean.npz"
    argv = ["attack", "poison", "prisoners-dilemma", "--target", "C,C", "--margin", "0.5", "--radius", "1",
            "--episodes", "300", "--noise", "0.5", "--out", str(out), "--save-clean", str(clean), "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    attack = data["attack"]
    assert attack["succeeded"] and attack["certificate"]["margin"] == pytest.approx(0.5, abs=1e-7)
    assert data["adopt_target"] == {"clean": [False, False], "poisoned": [True, True]}
    poisoned, recorded = load(out), load(clean)
    assert np.array_equal(poisoned.actions, recorded.actions)
    assert np.abs(poisoned.rewards - recorded.rewards).sum() == pytest.approx(attack["cost"])
    # the dataset file as the source, checked against its game, and the text report
    assert main(["attack", "poison", str(clean), "--game", "prisoners-dilemma", "--target", "0,0", "--radius", "1",
                 "--margin", "0.5"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "certificate: worst-case margin 0.5" in text and "[target]" in text


def test_an_attack_sized_for_rho_zero_against_a_pessimistic_learner(capsys: pytest.CaptureFixture[str]) -> None:
    """Sized for ρ = 0 with ι = 0.1, the binding rows lose 2(N_b^-½ + N_c^-½) ≈ 0.4 > ι against ρ' = 2 (about 100
    samples per joint action): the certificate there is negative and the pessimistic learner finds no common
    dominant equilibrium; sized for ρ = 2 it holds for both."""
    base = ["attack", "poison", "prisoners-dilemma", "--target", "C,C", "--margin", "0.1", "--episodes", "400",
            "--noise", "0.5", "--against", "2", "--json"]  # fmt: skip
    assert main(base) == 0
    naive = json.loads(capsys.readouterr().out)
    assert naive["attack"]["succeeded"] and naive["against"][0]["rho"] == 2.0
    assert naive["against"][0]["margin"] < 0 and not naive["against"][0]["guaranteed"]
    cases = {p["rho"]: p["case"] for p in naive["learners"]["poisoned"]}
    assert cases == {0.0: "dominant", 2.0: "nash-of-estimate"}
    assert main([*base, "--radius", "2"]) == 0
    sized = json.loads(capsys.readouterr().out)
    assert sized["against"][0]["guaranteed"] and sized["attack"]["cost"] > naive["attack"]["cost"]
    assert [p["case"] for p in sized["learners"]["poisoned"]] == ["dominant", "dominant"]


def test_stochastic_targets_per_state(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["attack", "poison", "two-step", "--target", "A,A", "--target", "2A=B,B", "--episodes", "200",
            "--radius", "0.5", "--margin", "0.2", "--norm", "linf", "--json"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["attack"]["target"][:3] == [[0, 0], [1, 1], [0, 0]] and data["attack"]["succeeded"]
    assert data["adopt_target"]["poisoned"] == [True, True]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "C,X"], "no action 'X'"),
        (["--target", "C"], "expected 2 actions"),
        (["--target", "C,C", "--margin", "-1"], "--margin"),
        (["--target", "C,C", "--radius", "-0.1"], "--radius"),
        (["--target", "C,C", "--norm", "l3"], "norm"),
        (["--target", "C,C", "--noise", "-1"], "noise"),
        (["--target", "C,C", "--episodes", "0"], "episodes"),
        (["--target", "C,C", "--out", "x.txt"], ".npz"),
        (["--target", "C,C", "--against", "-2"], "--against"),
        (["--target", "C,C", "--budget", "-1"], "--budget"),
        (["--target", "7=C,C"], "no state '7'"),
        (["--target", "C,C", "--out", "/no/such/folder/p.npz"], "no folder"),
        (["--target", "C,C", "--save-clean", "SAME"], "name the same file"),
        (["--target", "0=C,C", "--target", "0=D,D"], "already has a target"),
    ],
)
def test_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    extra = [str(tmp_path / "p.npz") if e == "SAME" else e for e in extra]
    argv = ["attack", "poison", "prisoners-dilemma", "--episodes", "50", "--out", str(tmp_path / "p.npz"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("case", ["other-game", "truncated", "foreign"])
def test_bad_dataset_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str) -> None:
    clean = tmp_path / "clean.npz"
    assert main(["attack", "poison", "prisoners-dilemma", "--target", "C,C", "--episodes", "50",
                 "--save-clean", str(clean)]) == 0  # fmt: skip
    capsys.readouterr()
    source, extra = clean, ["--game", "stag-hunt"]
    if case == "truncated":
        source, extra = tmp_path / "cut.npz", []
        source.write_bytes(clean.read_bytes()[:200])
    elif case == "foreign":
        source, extra = tmp_path / "foreign.npz", []
        np.savez(source, x=np.zeros(2))
    out = tmp_path / "out" / "p.npz"
    out.parent.mkdir()  # (a missing folder is its own error, tested below)
    assert main(["attack", "poison", str(source), "--target", "C,C", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    expected = {"other-game": "record a dataset of this game", "truncated": "truncated", "foreign": "neither"}[case]
    assert expected in err and "\n" not in err and not out.exists()


def test_record_from_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run of an exact game: the dataset is recorded with its final policies (mixed with 10% uniform play so every
    joint action is logged); IQL on the prisoner's dilemma learns to defect, and the attack installs cooperation."""
    from marlkit.experiment.runner import run

    config = {"name": "poison-cli", "game": "prisoners-dilemma", "learners": "iql", "steps": 1_000, "seeds": 1,
              "key": 1, "output": {"root": str(tmp_path)}}  # fmt: skip
    path = run(config, progress=False).path
    assert main(["attack", "poison", str(path), "--target", "C,C", "--radius", "1", "--episodes", "400", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dataset"]["provenance"]["source"] == "run" and data["dataset"]["provenance"]["run_dir"] == str(path)
    assert data["attack"]["succeeded"] and data["adopt_target"]["poisoned"] == [True, True]
