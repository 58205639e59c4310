"""`marlkit human other-play`: the lever game's published values (Hu et al. 2020, §3) and the penalty game."""

from __future__ import annotations

import json

import pytest

from marlkit.cli import main


def test_lever_game_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["human", "other-play", "lever", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["self_play"]["cross_play"] == pytest.approx(1 / 9) and data["self_play"]["value"] == 1.0
    assert data["other_play"] == {"optima": [[9, 9]], "value": pytest.approx(0.9), "cross_play": pytest.approx(0.9)}
    assert data["symmetries"]["orbits"][0] == [list(range(9)), [9]]


def test_penalty_game_text(capsys: pytest.CaptureFixture[str]) -> None:
    """Penalty game (k = -10): the two optima are symmetric, so a convention meets its mirror half the time
    ((10 - 10) / 2 = 0); Other-Play takes the safe 2."""
    assert main(["human", "other-play", "penalty"]) == 0
    out = capsys.readouterr().out
    assert "player 0: {a0, a2} {a1}" in out
    assert "self-play:  2 optima, e.g. (a0, b0); value 10 with itself, 0 in cross-play" in out
    assert "other-play: 1 optimum, e.g. (a1, b1); value 2 with itself, 2 in cross-play" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lever", "-p", "levers=1"], "levers must be an integer >= 2"),
        (["lever", "-p", "colour=red"], "--param colour: lever takes levers, low"),
        (["matching-pennies"], "common-payoff"),
    ],
)
def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["human", "other-play", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
