"""The play-log format (JSONL): writer and reader round trip, logs sampled from policies (normal-form and
stochastic games), and a one-line error for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.errors import InvalidGameError
from marlkit.games.catalog import make
from marlkit.games.views import as_stochastic
from marlkit.human.playlog import (
    FORMAT,
    PlayLogError,
    PlayLogWriter,
    read_play_log,
    write_play_log_from_policies,
)


def test_round_trip(tmp_path: Path) -> None:
    game = make("stag-hunt")
    path = tmp_path / "play.jsonl"
    with PlayLogWriter(path, game, source="lab") as log:
        log.write(episode=0, step=0, state=0, actions=[1, 0], rewards=[2.0, 3.0], human=[True, False], time=5.5)
        log.write(episode=1, step=0, state=0, actions=[0, 0])
    read = read_play_log(path, game)
    assert read.header["format"] == FORMAT and read.header["source"] == "lab"
    assert read.header["game"]["num_actions"] == [2, 2]
    np.testing.assert_array_equal(read.actions, [[1, 0], [0, 0]])
    np.testing.assert_array_equal(read.episodes, [0, 1])
    np.testing.assert_array_equal(read.human, [[True, False], [False, False]])
    assert read.rewards[0].tolist() == [2.0, 3.0] and np.isnan(read.rewards[1]).all()
    assert read.times[0] == 5.5 and np.isnan(read.times[1])
    np.testing.assert_array_equal(read.counts(0), [1, 1])
    assert read.lines() == ["play log of stag-hunt (2 players, actions [2, 2]): 2 decisions in 2 episodes"]


def test_sampled_logs_follow_the_policies(tmp_path: Path) -> None:
    game = make("matching pennies")
    log = write_play_log_from_policies(tmp_path / "a.jsonl", game, [[0.8, 0.2], [0.5, 0.5]], episodes=2000, seed=1)
    # binomial(2000, 0.8): s.d. 0.0089; 5 s.d. tolerance
    assert abs(log.counts(0)[0] / 2000 - 0.8) < 0.045
    g = as_stochastic(game)
    pay = g.rewards[:, 0, log.actions[:, 0], log.actions[:, 1]].T
    np.testing.assert_array_equal(log.rewards, pay)  # the rewards recorded are the game's
    again = write_play_log_from_policies(tmp_path / "b.jsonl", game, [[0.8, 0.2], [0.5, 0.5]], episodes=2000, seed=1)
    np.testing.assert_array_equal(again.actions, log.actions)  # seeded


def test_stochastic_game_episodes(tmp_path: Path) -> None:
    game = make("two-step")
    g = as_stochastic(game)
    log = write_play_log_from_policies(tmp_path / "s.jsonl", game, g.uniform_policy(), episodes=20, seed=0)
    assert log.n_decisions >= 20 and set(np.unique(log.episodes)) == set(range(20))
    for e in range(20):  # steps count up from 0 within each episode
        steps = log.steps[log.episodes == e]
        np.testing.assert_array_equal(steps, np.arange(len(steps)))
    assert not g.terminal[log.states].any()


def test_behaviour_cloning_from_a_log(tmp_path: Path) -> None:
    from marlkit.human.fit import clone_from_log

    game = make("two-step")
    g = as_stochastic(game)
    log = write_play_log_from_policies(tmp_path / "c.jsonl", game, g.uniform_policy(), episodes=30, seed=2)
    pi = clone_from_log(log, 1, alpha=1.0)
    assert pi.shape == (g.num_states, g.num_actions[1])
    for s in range(g.num_states):  # (c_sa + 1) / (n_s + A) recomputed from the raw rows
        c = np.bincount(log.actions[log.states == s, 1], minlength=g.num_actions[1])
        np.testing.assert_allclose(pi[s], (c + 1) / (c.sum() + g.num_actions[1]))
    with pytest.raises(InvalidGameError, match="agent"):
        clone_from_log(log, 2)


def write_lines(path: Path, lines: list[str], newline: bool = True) -> Path:
    path.write_text("\n".join(lines) + ("\n" if newline else ""), encoding="utf-8")
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.jsonl"
    with PlayLogWriter(path, make("stag-hunt")) as log:
        log.write(episode=0, step=0, state=0, actions=[1, 1])
    return path


def test_bad_input_is_one_clear_line(tmp_path: Path, good: Path) -> None:
    header = good.read_text().splitlines()[0]
    cases = {
        "another game": (good, make("prisoners-dilemma"), "a log of another game"),
        "missing": (tmp_path / "none.jsonl", None, "no such play log"),
        "empty": (write_lines(tmp_path / "e.jsonl", [], newline=False), None, "empty file"),
        "foreign": (write_lines(tmp_path / "f.jsonl", ["col1,col2", "1,2"]), None, "not a marlkit play log"),
        "foreign json": (write_lines(tmp_path / "j.jsonl", ['{"a": 1}']), None, "not a marlkit play log"),
        "version": (
            write_lines(tmp_path / "v.jsonl", [header.replace('"version": 1', '"version": 9')]),
            None,
            "version 9",
        ),
        "out of range": (
            write_lines(
                tmp_path / "r.jsonl", [header, json.dumps({"episode": 0, "step": 0, "state": 0, "actions": [0, 2]})]
            ),
            None,
            "line 2: action 2 of player 1 out of range",
        ),
        "wrong arity": (
            write_lines(
                tmp_path / "w.jsonl", [header, json.dumps({"episode": 0, "step": 0, "state": 0, "actions": [0]})]
            ),
            None,
            "one action index per player",
        ),
        "bad reward": (
            write_lines(
                tmp_path / "b.jsonl",
                [header, json.dumps({"episode": 0, "step": 0, "state": 0, "actions": [0, 0], "rewards": [1, "x"]})],
            ),
            None,
            "finite number",
        ),
        "truncated": (
            write_lines(tmp_path / "t.jsonl", [header, '{"episode": 0, "step": 0, "sta'], newline=False),
            None,
            "truncated",
        ),
        "bad human flags": (
            write_lines(
                tmp_path / "h.jsonl",
                [header, json.dumps({"episode": 0, "step": 0, "state": 0, "actions": [0, 0], "human": [1, 0]})],
            ),
            None,
            "'human' must list one true/false per player",
        ),
        "corrupt line": (write_lines(tmp_path / "c.jsonl", [header, "{not json"]), None, "line 2 is not JSON"),
    }
    for name, (path, game, message) in cases.items():
        with pytest.raises(PlayLogError, match=message) as info:
            read_play_log(path, game)
        assert "\n" not in str(info.value), name
    with pytest.raises(PlayLogError, match="already exists"):
        PlayLogWriter(good, make("stag-hunt"))
    with PlayLogWriter(tmp_path / "x.jsonl", make("stag-hunt")) as log, pytest.raises(InvalidGameError, match="range"):
        log.write(episode=0, step=0, state=0, actions=[0, 5])
    assert read_play_log(tmp_path / "x.jsonl").n_decisions == 0  # nothing written for the bad record


def test_hostile_logs_are_one_clear_line(tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict reading (marlkit.strict): exact types, unknown and duplicate keys, nesting and file-size limits."""
    header = good.read_text().splitlines()[0]
    record = '{"episode": 0, "step": 0, "state": 0, "actions": [0, 0]'
    cases = {
        "string for a number": (
            [header, '{"episode": "0", "step": 0, "state": 0, "actions": [0, 0]}'],
            "line 2: 'episode' must be an integer >= 0, got string '0'",
        ),
        "boolean action": ([header, record.replace("[0, 0]", "[true, 0]") + "}"], "action true of player 0"),
        "string time": ([header, record + ', "time": "5"}'], r"line 2: 'time': expected a number, got string '5'"),
        "unknown record key": ([header, record + ', "reward": [1, 2]}'], "line 2.reward: unknown field.*rewards"),
        "duplicate record key": ([header, record + ', "step": 3}'], "line 2 is not JSON.*duplicate key 'step'"),
        "deep record": ([header, "[" * 5000 + "]" * 5000], "line 2 is not JSON.*nested too deeply"),
        "unknown header key": ([header.replace('"source"', '"sauce"')], r"line 1: header.sauce: unknown field.*source"),
        "duplicate header key": ([header.replace("{", '{"version": 1, ', 1)], "duplicate key 'version'"),
        "string in the header": (
            [header.replace('"n_players": 2', '"n_players": "2"')],
            "line 1: header.game.n_players: expected a whole number, got string '2'",
        ),
        "float action count": (
            [header.replace('"num_actions": [2, 2]', '"num_actions": [2.0, 2]')],
            r"header.game.num_actions\[0\]: expected a whole number",
        ),
        "NaN reward": ([header, record + ', "rewards": [NaN, 0]}'], "line 2 is not JSON.*NaN is not a JSON number"),
    }
    for name, (lines, message) in cases.items():
        path = write_lines(tmp_path / f"{name}.jsonl", lines)
        with pytest.raises(PlayLogError, match=message) as info:
            read_play_log(path)
        assert "\n" not in str(info.value) and len(str(info.value)) < 400, name
    monkeypatch.setenv("MARLKIT_MAX_FILE_BYTES", "100")
    with pytest.raises(PlayLogError, match=r"\d+ bytes is larger than the limit of 100 .set MARLKIT_MAX_FILE_BYTES"):
        read_play_log(good)
