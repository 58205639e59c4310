"""`marlkit human handover GAME` and `marlkit human respond GAME`: the exact hand-over trade-off and the Carroll gap
on the command line, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from marlkit.cli import main
from marlkit.human.handover import cliff_safe_margin


def test_handover_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["human", "handover", "cliff-walking", "--margin", "0,1,100"]) == 0
    out = capsys.readouterr().out
    assert "value-margin rule" in out and "unforeseen start: r0c0" in out
    assert main(["human", "handover", "cliff-walking", "--margin", "0,99", "--margin", "100", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    points = data["points"]
    assert [p["threshold"] for p in points] == [0.0, 99.0, 100.0]
    # 99 < 99 + γ^13 (γ = 0.99): no catastrophe; 100 above it: the start's cliff step is let through
    assert 99.0 < cliff_safe_margin(0.99) < 100.0
    assert points[0]["trained"]["catastrophes"] == points[1]["trained"]["catastrophes"] == 0.0
    assert points[2]["trained"]["catastrophes"] > 0.0
    # m = 0: only optimal moves, 13 steps along the edge: the discounted return is -(1 - γ^13)/(1 - γ)
    assert points[0]["trained"]["return"] == pytest.approx(-(1 - 0.99**13) / 0.01, abs=1e-9)
    assert points[0]["trained"]["steps"] == pytest.approx(13.0, abs=1e-9)


def test_handover_every_margin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["human", "handover", "cliff-walking", "--margin", "all", "--json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    margins = [p["threshold"] for p in points]
    assert margins == sorted(margins) and margins[0] == 0.0
    # the first margin that lets a catastrophe through is the closed-form 99 + γ^13
    first = next(p["threshold"] for p in points if p["trained"]["catastrophes"] > 0)
    assert first == pytest.approx(cliff_safe_margin(0.99), abs=1e-9)
    returns = [p["trained"]["return"] for p in points]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(returns))


def test_handover_other_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["human", "handover", "cliff-walking", "--rule", "novelty", "--margin", "0,1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rule"] == "novelty" and data["unseen_states"] > 0
    assert main(["human", "handover", "cliff-walking", "--rule", "defer", "--margin", "1", "--param", "gamma=0.9"]) == 0
    assert "defer rule" in capsys.readouterr().out


def test_respond_carroll_gap(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["human", "respond", "carroll-coordination", "--beta", "0.1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    p = 1 / (1 + math.exp(-0.4))
    assert data["self_play"] == pytest.approx(4 * p, abs=1e-9)
    assert data["gap"] == pytest.approx(3 - 4 * p, abs=1e-9)
    assert main(["human", "respond", "carroll-coordination", "--beta", "1"]) == 0
    assert "Carroll gap                             0.000000" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["handover", "cliff-walking", "--beta", "-1"], "--beta"),
        (["handover", "cliff-walking", "--margin", "-0.5"], "--margin"),
        (["handover", "cliff-walking", "--margin", "x"], "--margin"),
        (["handover", "cliff-walking", "--margin", "al"], "or all"),
        (["handover", "cliff-walking", "--rule", "blocker"], "--rule"),
        (["handover", "prisoners-dilemma"], "one-agent"),
        (["handover", "cliff-walking", "--param", "size=3"], "--param size"),
        (["handover", "cliff-walking", "--unforeseen", "47"], "--unforeseen"),
        (["respond", "prisoners-dilemma"], "common-payoff"),
        (["respond", "carroll-coordination", "--beta", "-2"], "--beta"),
    ],
)
def test_bad_input_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["human", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
