"""`marlkit solve GAME --concept constrained`: the table, the JSON keys of docs/cli-json.md, and bad input."""

from __future__ import annotations

import json

import pytest

from marlkit.cli import main


def test_json_has_the_documented_keys_and_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "resource-sharing", "--concept", "constrained", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in (
        "team_return",
        "returns",
        "costs",
        "limits",
        "multipliers",
        "feasible",
        "policy",
        "unconstrained_team_return",
        "return_given_up_for_safety",
        "product",
        "shared",
    ):
        assert key in data
    # hand derivation in src/marlkit/games/catalog/constrained.py
    assert data["team_return"] == pytest.approx(36.0) and data["unconstrained_team_return"] == pytest.approx(40.0)
    assert [row[0] for row in data["multipliers"]] == pytest.approx([2.0, 2.0])
    assert data["product"]["team_return"] == pytest.approx(31.2) and data["product"]["exact"] is True


def test_table_names_the_price_of_safety_and_of_independence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "narrow-passage", "--concept", "constrained"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "return given up for safety 9.6" in out
    assert "best shared (symmetric) policy: team return 4 (exact)" in out


def test_a_zero_limit_is_feasible_by_waiting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "narrow-passage", "--param", "limit=0", "--concept", "constrained", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["feasible"] is True  # always wait: feasible with limit 0


def test_infeasible_limits_are_one_line_and_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from marlkit.games.catalog import make
    from marlkit.games.io import save_game

    game = make("resource-sharing")
    path = save_game(dataclasses.replace(game, costs=game.costs + 1.0, limits=game.limits * 0), tmp_path / "g.json")
    assert main(["solve", str(path), "--concept", "constrained", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("error: limits: no policy meets every limit") and "[[10.0], [10.0]]" in err


def test_a_game_without_costs_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "chicken", "--concept", "constrained"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "costs" in err
