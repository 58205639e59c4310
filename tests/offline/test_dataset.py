"""The offline dataset format: statistics, recording, NPZ + JSON round trip, and one-line errors for bad files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from marlkit.games import as_stochastic
from marlkit.games.catalog import make
from marlkit.offline.dataset import DatasetError, OfflineDataset, game_digest, game_header, load, save
from marlkit.offline.record import record


def test_statistics_match_a_hand_count() -> None:
    pd = make("prisoners-dilemma")
    data = OfflineDataset(
        state=np.zeros(4, dtype=int), actions=np.array([[0, 0], [0, 0], [1, 0], [1, 1]]),
        rewards=np.array([[3.0, 3.0], [5.0, 1.0], [5.0, 0.0], [1.0, 1.0]]), next_state=np.zeros(4, dtype=int),
        done=np.array([False, False, False, True]), game=game_header(pd),
    )  # fmt: skip
    assert data.counts().tolist() == [[[2, 0], [1, 1]]]
    means = data.reward_means()
    assert means[:, 0, 0, 0].tolist() == [4.0, 2.0] and means[:, 0, 0, 1].tolist() == [0.0, 0.0]  # unvisited: 0
    P = data.transitions()
    assert P[0, 0, 0, 0] == 1.0 and P[0, 1, 1, 0] == 0.0 and P[0, 1, 0, 0] == 1.0  # a done step continues nowhere


def test_record_is_reproducible_and_follows_the_game() -> None:
    game = make("two-step")
    a = record(game, episodes=50, seed=3)
    b = record(game, episodes=50, seed=3)
    c = record(game, episodes=50, seed=4)
    assert np.array_equal(a.rewards, b.rewards) and np.array_equal(a.actions, b.actions)
    assert not np.array_equal(a.actions, c.actions)
    g = as_stochastic(game)
    # noise-free rewards are the game's; every done step lands in a terminal state; transitions are possible ones
    assert np.allclose(a.rewards, g.rewards[:, a.state, a.actions[:, 0], a.actions[:, 1]].T)
    assert np.all(g.terminal[a.next_state] == a.done)
    assert np.all(g.transitions[a.state, a.actions[:, 0], a.actions[:, 1], a.next_state] > 0)
    assert a.done.sum() == 50  # every episode of two-step ends (at a terminal state) within the step limit


def test_zero_sum_noise_keeps_the_data_zero_sum() -> None:
    data = record(make("rock-paper-scissors"), episodes=200, seed=0, noise=1.0)
    assert data.zero_sum and np.allclose(data.rewards.sum(axis=1), 0.0)
    assert not record(make("prisoners-dilemma"), episodes=10, seed=0).zero_sum


def test_round_trip(tmp_path: Path) -> None:
    data = record(make("two-step"), episodes=30, seed=1, noise=0.3)
    path = save(data, tmp_path / "d.npz")
    back = load(path)
    for name in ("state", "actions", "rewards", "next_state", "done"):
        assert np.array_equal(getattr(back, name), getattr(data, name))
    assert back.header() == data.header()
    back.check_game(make("two-step"))
    assert game_digest(make("prisoners-dilemma")) == game_digest(as_stochastic(make("prisoners-dilemma")))


def _write(path: Path, **arrays: np.ndarray) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize("case", ["missing", "truncated", "foreign", "format", "version", "not-json", "array"])
def test_bad_files_raise_one_clear_error(tmp_path: Path, case: str) -> None:
    good = save(record(make("prisoners-dilemma"), episodes=20, seed=0), tmp_path / "good.npz")
    with np.load(good, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["header"].tobytes())
    path = tmp_path / "bad.npz"
    if case == "missing":
        path = tmp_path / "none.npz"
    elif case == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif case == "foreign":
        _write(path, x=np.zeros(3))
    elif case in ("format", "version"):
        header["format" if case == "format" else "version"] = "other" if case == "format" else 99
        _write(path, **{**arrays, "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)})
    elif case == "not-json":
        _write(path, **{**arrays, "header": np.frombuffer(b"{not json", dtype=np.uint8)})
    else:
        _write(path, **{**arrays, "state": arrays["state"] + 5})
    expected = {"missing": "no such", "truncated": "truncated", "foreign": "not a marlkit dataset",
                "format": "not a marlkit dataset", "version": "version 99", "not-json": "not valid JSON",
                "array": "state indices"}[case]  # fmt: skip
    with pytest.raises(DatasetError, match=expected) as info:
        load(path)
    assert "\n" not in str(info.value)
    assert zipfile is not None


def test_a_dataset_of_another_game_is_refused() -> None:
    data = record(make("prisoners-dilemma"), episodes=5, seed=0)
    with pytest.raises(DatasetError, match="record a dataset of this game"):
        data.check_game(make("stag-hunt"))


def test_hostile_dataset_files_are_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict reading (marlkit.strict): exact header types, unknown and duplicate keys, unknown members, nesting,
    pickled / complex members, declared sizes checked before allocating."""
    good = save(record(make("prisoners-dilemma"), episodes=20, seed=0), tmp_path / "good.npz")
    with np.load(good, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    text = arrays["header"].tobytes().decode()

    def with_header(new: str) -> dict[str, np.ndarray]:
        return {**arrays, "header": np.frombuffer(new.encode(), dtype=np.uint8)}

    header = json.loads(text)
    cases = {
        "string gamma": (
            with_header(text.replace('"gamma": 0.0', '"gamma": "0.9"').replace('"gamma": 1.0', '"gamma": "0.9"')),
            "header.game.gamma: expected a number, got string '0.9'",
        ),
        "unknown header key": (
            with_header(json.dumps({**header, "provenanse": {}})),
            r"header.provenanse: unknown field \(did you mean 'provenance'\?\)",
        ),
        "unknown game key": (
            with_header(json.dumps({**header, "game": {**header["game"], "num_action": [2, 2]}})),
            r"header.game.num_action: unknown field \(did you mean 'num_actions'",
        ),
        "duplicate key": (with_header(text.replace("{", '{"version": 1, ', 1)), "duplicate key 'version'"),
        "deep header": (
            with_header(json.dumps({**header, "provenance": {"x": json.loads("[" * 100 + "]" * 100)}})),
            "the dataset header is nested too deeply",
        ),
        "unknown member": (
            {**arrays, "reward": arrays["rewards"]},
            r"unknown member 'reward' \(did you mean 'rewards'",
        ),
        "complex rewards": ({**arrays, "rewards": arrays["rewards"] + 0j}, "rewards: dtype complex128 is not a real"),
        "pickled member": ({**arrays, "state": np.array([{"x": 1}], dtype=object)}, "state: dtype object"),
    }
    for name, (members, message) in cases.items():
        path = tmp_path / f"{name}.npz"
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=True, **members)  # the pickled member is the hostile input
        path.write_bytes(buffer.getvalue())
        with pytest.raises(DatasetError, match=message) as info:
            load(path)
        assert "\n" not in str(info.value) and len(str(info.value)) < 400, name
    monkeypatch.setenv("MARLKIT_MAX_ELEMENTS", "10")  # every array declares more entries than that
    with pytest.raises(DatasetError, match=r"more than the limit of 10 .set MARLKIT_MAX_ELEMENTS"):
        load(good)
