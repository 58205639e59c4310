"""The `marlkit` command: games, show, --version, --json, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit import __version__
from marlkit.cli import main
from marlkit.games import NormalFormGame, save_game


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"marlkit {__version__}"


def test_games_json_lists_at_least_20_games_with_class_and_homogeneity(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "games", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)["games"]}
    assert len(rows) >= 20
    for row in rows.values():
        assert row["relation"] in {"cooperative", "competitive", "mixed"}
        assert row["weakly_homogeneous"]["method"] in {"exact", "sampled", "not-decided"}
    # Known classes (Albrecht et al. 2024, ch. 3): matching pennies is competitive, climbing cooperative.
    assert rows["matching-pennies"]["utility"] == "zero-sum"
    assert rows["matching-pennies"]["relation"] == "competitive"
    assert rows["climbing"]["relation"] == "cooperative"
    assert rows["prisoners-dilemma"]["relation"] == "mixed"
    assert rows["prisoners-dilemma"]["weakly_homogeneous"]["holds"] is True
    assert rows["soccer"]["utility"] == "zero-sum"


def test_games_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "games")
    assert code == 0
    assert "chicken" in out and "soccer" in out and "weakly" in out


def test_show_chicken_prints_the_payoff_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "chicken")
    assert code == 0
    # Aumann (1974) chicken: (swerve, swerve) = (6, 6), (straight, straight) = (0, 0).
    assert "swerve" in out and "straight" in out
    assert "6, 6" in out and "0, 0" in out and "7, 2" in out and "2, 7" in out
    assert "weakly homogeneous" in out


def test_show_json_round_trips_the_game(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "penalty", "--param", "k=-50", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["game"]["payoffs"][0][0][2] == -50
    assert data["properties"]["utility"] == "common-payoff"


def test_show_stochastic_game(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "dec-tiger")
    assert code == 0
    assert "partially observable" in out and "expected rewards in state" in out


def test_show_loads_a_game_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save_game(
        NormalFormGame(np.array([[[1, 2], [3, 4]], [[4, 3], [2, 1]]]), name="from file"), tmp_path / "g.json"
    )
    code, out, _ = run(capsys, "show", str(path))
    assert code == 0 and "from file" in out and "1, 4" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "chiken"), "did you mean 'chicken'"),
        (("show", "missing-file.json"), "no such file"),
        (("show", "penalty", "--param", "k=5"), "k"),
        (("show", "penalty", "--param", "nonsense"), "key=value"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _out, err = run(capsys, *args)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--debug", "show", "chiken")
    assert code == 2 and "Traceback" in err


def test_bad_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"type": "normal-form", "payoffs": [[[1, "x"]]]}')
    code, _, err = run(capsys, "show", str(path))
    assert code == 2 and err.startswith("error: ") and "payoffs" in err


def test_a_folder_named_like_a_game_does_not_shadow_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chicken").mkdir()
    code, out, _ = run(capsys, "show", "chicken")
    assert code == 0 and "swerve" in out
