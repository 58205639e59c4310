"""`marlkit attack observation RUN_DIR` on a tabular run of an exact game: the exact attacks' JSON (printed and
written to attack-observation.json), the table, and one-line errors that write nothing. The deep path (a task run)
is exercised in tests/attacks/test_observation_deep.py, which trains the team it attacks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.experiment.report import OBSERVATION_ATTACK_FILE as ATTACK_FILE
from marlkit.experiment.runner import run


@pytest.fixture(scope="module")
def corridor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "name": "attack-corridor",
        "game": "misled-corridor",
        "learners": "iql",
        "steps": 3_000,
        "seeds": 2,
        "key": 1,
        "output": {"root": str(tmp_path_factory.mktemp("runs"))},
    }
    return run(config, progress=False).path


def test_exact_attacks_json_and_table(corridor: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "observation", str(corridor), "-e", "0,1,2", "--victims", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert json.loads((corridor / ATTACK_FILE).read_text()) == data
    assert data["kind"] == "exact" and len(data["clean"]) == 2
    points = {(p["epsilon"], tuple(p["attacked"]), p["method"]): p for p in data["points"]}
    order = data["victims"]["order"]
    assert sorted(order) == [0, 1] and data["victims"]["returns"][1] <= data["victims"]["returns"][0] + 1e-12
    for agents in ((order[0],), (0, 1)):
        optimal = [points[(e, agents, "optimal")]["mean"] for e in (0.0, 1.0, 2.0)]
        assert optimal[0] == pytest.approx(data["clean_mean"]) and np.all(np.diff(optimal) <= 1e-12)
        for e in (1.0, 2.0):  # the optimal adversary is the worst; the forced target is played at least as often
            assert optimal[int(e)] <= points[(e, agents, "random")]["mean"] + 1e-12
            assert optimal[int(e)] <= points[(e, agents, "targeted")]["mean"] + 1e-12
            targeted = points[(e, agents, "targeted")]
            assert targeted["forcing"] >= targeted["forcing_clean"]
    assert set(data["flip_budgets"]["agents"]) == {"0", "1"}
    assert main(["attack", "observation", str(corridor), "-e", "1", "--attacked", "1", "--target-action", "0"]) == 0
    out = capsys.readouterr().out
    assert "method" in out and "optimal" in out and "targeted" in out and f"wrote {corridor / ATTACK_FILE}" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "fgsm"], "no gradient"),
        (["-e", "-1"], "--epsilon '-1'"),
        (["--attacked", "5"], "agent 5 does not exist"),
        (["--victims", "1", "--attacked", "0"], "either --victims or --attacked"),
        (["--victims", "3"], "M must be in 1..2"),
        (["--target-action", "4"], "--target-action 4"),
        (["--method", "optimal,sideways"], "method 'sideways'"),
        (["--norm", "l2"], "--norm applies to task runs"),
    ],
)
def test_bad_input_writes_nothing(corridor: Path, capsys: pytest.CaptureFixture[str], args, message) -> None:
    (corridor / ATTACK_FILE).unlink(missing_ok=True)
    assert main(["attack", "observation", str(corridor), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (corridor / ATTACK_FILE).exists()


def test_not_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attack", "observation", str(tmp_path / "missing")]) == 2
    assert "not a run directory" in capsys.readouterr().err
