"""Game files: JSON and NPZ round trips, atomic writes, and clear errors on malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.errors import GameFileError, InvalidGameError
from marlkit.games import NormalFormGame, ObservationModel, StochasticGame, load_game, save_game
from marlkit.games.io import decode_array, encode_array, game_from_dict, game_to_dict


def _stochastic() -> StochasticGame:
    rng = np.random.default_rng(3)
    T = rng.dirichlet(np.ones(3), size=(3, 2, 2))
    mask = np.ones((2, 3, 2), dtype=bool)
    mask[0, 2, 1] = False
    return StochasticGame(
        T,
        rng.normal(size=(2, 3, 2, 2)),
        initial=[0.5, 0.5, 0.0],
        gamma=0.95,
        terminal=[False, False, True],
        action_mask=mask,
        costs=np.abs(rng.normal(size=(2, 1, 3, 2, 2))),
        limits=np.ones((2, 1)),
        observations=ObservationModel((np.eye(3)[[0, 1, 1]], np.full((3, 2, 2, 2), 0.5))),
        name="test game",
        player_names=("alice", "bob"),
        action_names=(("x", "y"), ("u", "v")),
        state_names=("start", "middle", "end"),
        citation="here",
        metadata={"seed": 3},
    )


def _assert_same(a: StochasticGame | NormalFormGame, b: StochasticGame | NormalFormGame) -> None:
    assert type(a) is type(b)
    da, db = game_to_dict(a), game_to_dict(b)
    assert json.dumps(da, sort_keys=True) == json.dumps(db, sort_keys=True)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_round_trip_stochastic(tmp_path: Path, suffix: str) -> None:
    game = _stochastic()
    loaded = load_game(save_game(game, tmp_path / f"g{suffix}"))
    _assert_same(game, loaded)
    assert np.array_equal(loaded.transitions, game.transitions)  # bit-exact, not approximately
    assert loaded.observations.is_action_dependent(1)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_round_trip_normal_form(tmp_path: Path, suffix: str) -> None:
    game = NormalFormGame(
        np.arange(18, dtype=float).reshape(2, 3, 3) / 7, name="g", action_names=(("a", "b", "c"),) * 2
    )
    loaded = load_game(save_game(game, tmp_path / f"g{suffix}"))
    _assert_same(game, loaded)
    assert np.array_equal(loaded.payoffs, game.payoffs)


def test_sparse_encoding_round_trips() -> None:
    array = np.zeros((10, 10))
    array[3, 4] = 0.25
    encoded = encode_array(array)
    assert isinstance(encoded, dict)
    assert np.array_equal(decode_array("x", encoded), array)
    with pytest.raises(GameFileError, match="do not fit"):
        decode_array("x", {"shape": [2, 2], "indices": [[5, 0]], "values": [1.0]})


def test_hand_written_json_file(tmp_path: Path) -> None:
    path = tmp_path / "pd.json"
    path.write_text(
        json.dumps(
            {
                "format": "marlkit.game",
                "version": 1,
                "type": "normal-form",
                "name": "my PD",
                "players": ["row", "col"],
                "actions": [["C", "D"], ["C", "D"]],
                "payoffs": [[[3, 0], [5, 1]], [[3, 5], [0, 1]]],
            }
        )
    )
    game = load_game(path)
    assert game.name == "my PD" and game.action_names[0] == ("C", "D")


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("{not json", GameFileError, "cannot read"),
        ("[1, 2]", GameFileError, "JSON object"),
        ('{"type": "extensive-form"}', GameFileError, "type: expected one of"),
        ('{"type": "normal-form"}', GameFileError, "missing field 'payoffs'"),
        ('{"type": "normal-form", "version": 7, "payoffs": []}', GameFileError, "version"),
        ('{"type": "normal-form", "payoffs": [[[1, 2], [3]]]}', GameFileError, "regular shape"),
        ('{"type": "normal-form", "payoffs": [[[1, 2], [3, 4]]]}', InvalidGameError, "needs 2 dimensions"),
        (
            '{"type": "stochastic", "transitions": [[[1.0]]], "rewards": [[[0.0]]], "initial": [1]}',
            GameFileError,
            "missing field 'gamma'",
        ),
        (
            '{"type": "stochastic", "transitions": [[[0.5]]], "rewards": [[[0.0]]], "initial": [1], "gamma": 0.5}',
            InvalidGameError,
            "transitions",
        ),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path: Path, content: str, error: type, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(error, match=message) as info:
        load_game(path)
    assert str(path) in str(info.value)  # the message names the file


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(GameFileError, match="no such file"):
        load_game(tmp_path / "absent.json")
    (tmp_path / "g.txt").write_text("x")
    with pytest.raises(GameFileError, match="unknown file type"):
        load_game(tmp_path / "g.txt")
    (tmp_path / "g.npz").write_bytes(b"not a zip")
    with pytest.raises(GameFileError, match="cannot read"):
        load_game(tmp_path / "g.npz")


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "evil.npz", __header__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(GameFileError):
        load_game(tmp_path / "evil.npz")


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    game = NormalFormGame(np.zeros((2, 2, 2)))
    target = save_game(game, tmp_path / "g.json")
    before = target.read_text()

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(json, "dump", explode)
    with pytest.raises(RuntimeError):
        save_game(NormalFormGame(np.ones((2, 2, 2))), target)
    assert target.read_text() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]  # no half-written temp file


def test_dict_round_trip_keeps_metadata() -> None:
    game = _stochastic()
    again = game_from_dict(json.loads(json.dumps(game_to_dict(game))))
    assert again.metadata == {"seed": 3}
    assert again.state_names == ("start", "middle", "end")


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_numpy_metadata_is_written_as_json(tmp_path: Path, suffix: str) -> None:
    game = NormalFormGame(np.zeros((2, 2, 2)), metadata={"seed": np.int64(7), "weights": np.array([0.5, 0.5])})
    loaded = load_game(save_game(game, tmp_path / f"g{suffix}"))
    assert loaded.metadata == {"seed": 7, "weights": [0.5, 0.5]}
    with pytest.raises(GameFileError, match="metadata"):
        save_game(NormalFormGame(np.zeros((2, 2, 2)), metadata={"bad": object()}), tmp_path / f"h{suffix}")


# ------------------------------------------------------------------ unknown keys (issue 14, item 6)
def _file_keys_cases() -> list[tuple[str, str, str]]:
    """(path of the misspelt key, replacement key path, expected did-you-mean) over every optional key and section."""
    return [
        ("terminal", "terminals", "terminal"),
        ("action_mask", "action_masks", "action_mask"),
        ("states", "state", "states"),
        ("players", "player", "players"),
        ("actions", "action", "actions"),
        ("metadata", "meta_data", "metadata"),
        ("description", "descrption", "description"),
        ("citation", "citations", "citation"),
        ("costs", "cost", "costs"),
        ("limits", "limit", "limits"),
        ("observations", "observation", "observations"),
        ("observations.names", "observations.name", "names"),
    ]


def _rename(data: dict, path: str, new: str) -> dict:
    *parents, key = path.split(".")
    target = data
    for parent in parents:
        target = target[parent]
    target[new.split(".")[-1]] = target.pop(key)
    return data


@pytest.mark.parametrize(("key", "misspelt", "suggestion"), _file_keys_cases())
def test_misspelt_keys_are_refused_with_did_you_mean(tmp_path: Path, key: str, misspelt: str, suggestion: str) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_rename(game_to_dict(_stochastic()), key, misspelt)))
    with pytest.raises(GameFileError, match=f"did you mean '{suggestion}'") as info:
        load_game(path)
    assert f"{misspelt}: unknown field" in str(info.value)  # names the key path
    assert str(path) in str(info.value)


def test_unknown_keys_of_sparse_arrays_and_normal_form_games() -> None:
    payoffs = {"shape": [2, 2, 2], "indices": [[0, 0, 0]], "value": [1.0]}
    with pytest.raises(GameFileError, match=r"payoffs\.value: unknown field \(did you mean 'values'\?\)"):
        game_from_dict({"type": "normal-form", "payoffs": payoffs})
    with pytest.raises(GameFileError, match="gamma: a field of stochastic games, not of normal-form ones"):
        game_from_dict({"type": "normal-form", "payoffs": np.zeros((2, 2, 2)).tolist(), "gamma": 0.9})
    with pytest.raises(GameFileError, match=r"payof: unknown field \(did you mean 'payoffs'\?\)"):
        game_from_dict({"type": "normal-form", "payoffs": np.zeros((2, 2, 2)).tolist(), "payof": 1})


def test_unknown_npz_members_are_refused(tmp_path: Path) -> None:
    path = save_game(_stochastic(), tmp_path / "g.npz")
    with np.load(path) as archive:
        members = {k: archive[k] for k in archive.files}
    for extra, suggestion in (("terminals", "terminal"), ("observations_2", "observations_1")):
        np.savez(tmp_path / "bad.npz", **members, **{extra: members["terminal"]})
        with pytest.raises(GameFileError, match=f"archive member '{extra}': unknown.*did you mean '{suggestion}'"):
            load_game(tmp_path / "bad.npz")
    header = json.loads(str(members["__header__"]))
    header["terminals"] = [False, False, True]
    np.savez(tmp_path / "bad.npz", **{**members, "__header__": np.array(json.dumps(header))})
    with pytest.raises(GameFileError, match=r"terminals: unknown field \(did you mean 'terminal'\?\)"):
        load_game(tmp_path / "bad.npz")
    del members["observations_1"]
    np.savez(tmp_path / "bad.npz", **members)
    with pytest.raises(GameFileError, match=r"lacks the member\(s\) observations_1"):
        load_game(tmp_path / "bad.npz")


def test_show_refuses_a_misspelt_key_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from marlkit.cli import main

    path = tmp_path / "g.json"
    path.write_text(json.dumps(_rename(game_to_dict(_stochastic()), "terminal", "terminals")))
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert "terminals: unknown field (did you mean 'terminal'?)" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------- errors name the file's own fields, numbers print plainly (item 9)
def test_errors_name_the_file_fields_not_the_constructor_arguments() -> None:
    base = {"type": "normal-form", "payoffs": np.zeros((2, 2, 2)).tolist()}
    with pytest.raises(InvalidGameError, match=r"^actions\[1\]: names must be distinct") as info:
        game_from_dict({**base, "actions": [["a", "b"], ["c", "c"]]})
    assert "action_names" not in str(info.value)
    with pytest.raises(InvalidGameError, match=r"^players: expected 2 names"):
        game_from_dict({**base, "players": ["x"]})
    data = game_to_dict(_stochastic())
    with pytest.raises(InvalidGameError, match=r"^states: expected 3 names"):
        game_from_dict({**data, "states": ["x"]})
    data["observations"]["names"] = [["o"], ["p", "q"]]
    with pytest.raises(InvalidGameError, match=r"^observations\.names\[0\]: expected 3 names"):
        game_from_dict(data)


def test_probability_errors_print_plain_numbers() -> None:
    data = {"type": "stochastic", "transitions": [[[1.0]]], "rewards": [[[0.0]]], "initial": [0.9], "gamma": 0.5}
    with pytest.raises(InvalidGameError, match=r"sums to 0\.9, not 1") as info:
        game_from_dict(data)
    assert "np." not in str(info.value)
