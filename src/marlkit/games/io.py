"""Reading and writing games: a documented JSON format and NPZ (never pickle). See docs/game-format.md.

Writes are atomic (a temporary file in the target folder, then ``os.replace``), so a crash never leaves a
half-written game file. Loading validates everything through the game constructors.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.atomic import write_with
from marlkit.errors import GameFileError, InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.observation import ObservationModel
from marlkit.games.stochastic import StochasticGame
from marlkit.games.views import Game
from marlkit.registry import did_you_mean

FORMAT = "marlkit.game"
VERSION = 1

_SPARSE_DENSITY = 0.1  # arrays with at most this fraction of non-zeros are written in the sparse form
_STOCHASTIC_ARRAYS = ("transitions", "rewards", "initial", "terminal", "action_mask", "costs", "limits")
_COMMON_KEYS = ("format", "version", "type", "name", "description", "citation", "players", "actions", "metadata")
_KEYS = {
    "normal-form": (*_COMMON_KEYS, "payoffs"),
    "stochastic": (*_COMMON_KEYS, "states", "gamma", *_STOCHASTIC_ARRAYS, "observations"),
}
"""The fields of each game type (docs/game-format.md); any other key is refused (a misspelt optional key such as
``"terminals"`` would otherwise be dropped silently)."""
_SPARSE_KEYS = ("shape", "indices", "values")
_OBSERVATION_KEYS = ("matrices", "names")
_NPZ_OBSERVATION_KEYS = ("names", "count")
_NPZ_OBSERVATION_MEMBER = re.compile(r"observations_(\d+)")

# The constructors' argument names and the file fields they come from, so that an error about a loaded game
# names the field a user wrote (``actions[1]``, not ``action_names[1]``).
_FILE_FIELDS = (
    (re.compile(r"^player_names\b"), "players"),
    (re.compile(r"^action_names\b"), "actions"),
    (re.compile(r"^state_names\b"), "states"),
    (re.compile(r"^observation_names\b"), "observations.names"),
    (re.compile(r"^observations(?=\[)"), "observations.matrices"),
)


def _check_keys(where: str, data: Mapping[str, Any], known: tuple[str, ...], what: str) -> None:
    """Refuse any key of ``data`` not in ``known``, naming its path (``where`` + key) and the closest known key."""
    for key in data:
        if key not in known:
            path = f"{where}.{key}" if where else str(key)
            raise GameFileError(
                f"{path}: unknown field{did_you_mean(key, known)}; {what} has the fields {', '.join(known)} "
                "(see docs/game-format.md)"
            )


def _file_field_message(message: str) -> str:
    """``message`` (from a game constructor) with its leading argument name replaced by the file field's name."""
    for pattern, field in _FILE_FIELDS:
        message, count = pattern.subn(field, message, count=1)
        if count:
            break
    return message


# ------------------------------------------------------------------------------------------ array coding
def encode_array(array: np.ndarray) -> Any:
    """Nested lists for dense arrays; ``{"shape", "indices", "values"}`` for mostly-zero numeric arrays."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array.tolist()
    nonzero = np.count_nonzero(array)
    if array.size >= 64 and nonzero <= _SPARSE_DENSITY * array.size:
        indices = np.argwhere(array)
        return {
            "shape": list(array.shape),
            "indices": indices.tolist(),
            "values": array[tuple(indices.T)].tolist(),
        }
    return array.tolist()


def decode_array(field: str, value: Any) -> np.ndarray:
    """Inverse of :func:`encode_array`; raises :class:`GameFileError` naming the field on malformed input."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Mapping):
        _check_keys(field, value, _SPARSE_KEYS, "a sparse array")
        try:
            shape = tuple(int(k) for k in value["shape"])
            indices = np.asarray(value["indices"], dtype=np.int64).reshape(-1, len(shape))
            values = np.asarray(value["values"], dtype=np.float64).reshape(-1)
        except (KeyError, TypeError, ValueError) as exc:
            raise GameFileError(
                f"{field}: a sparse array needs 'shape', 'indices' (one index list per entry) and 'values' ({exc})"
            ) from None
        if len(values) != len(indices) or np.any(indices < 0) or np.any(indices >= np.array(shape)):
            raise GameFileError(f"{field}: sparse indices and values do not fit the shape {list(shape)}")
        dense = np.zeros(shape)
        dense[tuple(indices.T)] = values
        return dense
    try:
        return np.array(value, dtype=np.float64 if not _is_bool_tree(value) else np.bool_)
    except (TypeError, ValueError) as exc:
        raise GameFileError(f"{field}: expected a (nested) list of numbers of a regular shape ({exc})") from None


def _to_json(value: Any) -> Any:
    """``json`` fallback for NumPy values a user may put in ``metadata`` (scalars, arrays)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise GameFileError(f"metadata: {type(value).__name__} cannot be written as JSON; use numbers, strings, lists")


def _is_bool_tree(value: Any) -> bool:
    while isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, bool)


# ------------------------------------------------------------------------------------- dict round-trip
def game_to_dict(game: Game) -> dict[str, Any]:
    """The JSON-ready dict of a game (docs/game-format.md)."""
    common = {
        "format": FORMAT,
        "version": VERSION,
        "name": game.name,
        "description": game.description,
        "citation": game.citation,
        "players": list(game.player_names),
        "actions": [list(a) for a in game.action_names],
        "metadata": dict(game.metadata),
    }
    if isinstance(game, NormalFormGame):
        return {**common, "type": "normal-form", "payoffs": encode_array(game.payoffs)}
    data: dict[str, Any] = {
        **common,
        "type": "stochastic",
        "states": list(game.state_names),
        "gamma": game.gamma,
    }
    for key in _STOCHASTIC_ARRAYS:
        value = getattr(game, key)
        if value is not None:
            data[key] = encode_array(value)
    if game.observations is not None:
        data["observations"] = {
            "matrices": [encode_array(m) for m in game.observations.matrices],
            "names": [list(n) for n in game.observations.observation_names],
        }
    return data


def _normal_form_from_dict(data: Mapping[str, Any], common: dict[str, Any]) -> NormalFormGame:
    return NormalFormGame(payoffs=decode_array("payoffs", _required(data, "payoffs")), **common)


def _stochastic_from_dict(data: Mapping[str, Any], common: dict[str, Any]) -> StochasticGame:
    arrays: dict[str, Any] = {
        key: decode_array(key, data[key]) for key in _STOCHASTIC_ARRAYS if key in data and data[key] is not None
    }
    for key in ("transitions", "rewards", "initial"):
        _required(data, key)
    observations = None
    if data.get("observations") is not None:
        obs = data["observations"]
        if not isinstance(obs, Mapping) or "matrices" not in obs:
            raise GameFileError("observations: expected {'matrices': [...], 'names': [[...], ...]}")
        _check_keys("observations", obs, _OBSERVATION_KEYS, "an observation model")
        observations = ObservationModel(
            tuple(decode_array(f"observations.matrices[{i}]", m) for i, m in enumerate(obs["matrices"])),
            tuple(tuple(n) for n in obs.get("names", ())),
        )
    return StochasticGame(
        gamma=_required(data, "gamma"),
        observations=observations,
        state_names=tuple(data.get("states", ())),
        **arrays,
        **common,
    )


_READERS: dict[str, Callable[[Mapping[str, Any], dict[str, Any]], Game]] = {
    "normal-form": _normal_form_from_dict,
    "stochastic": _stochastic_from_dict,
}


def _required(data: Mapping[str, Any], key: str) -> Any:
    if key not in data:
        raise GameFileError(f"missing field {key!r} (see docs/game-format.md)")
    return data[key]


def game_from_dict(data: Mapping[str, Any]) -> Game:
    """Build and validate a game from its dict form; raises GameFileError / InvalidGameError on bad input."""
    if not isinstance(data, Mapping):
        raise GameFileError(f"a game file must hold a JSON object, got {type(data).__name__}")
    if data.get("format", FORMAT) != FORMAT:
        raise GameFileError(f"format: expected {FORMAT!r}, got {data.get('format')!r}")
    version = data.get("version", VERSION)
    if version != VERSION:
        raise GameFileError(f"version: this marlkit reads version {VERSION} game files, got {version!r}")
    kind = data.get("type")
    if kind not in _READERS:
        raise GameFileError(f"type: expected one of {sorted(_READERS)}, got {kind!r}")
    for key in data:
        other = next((k for k, fields in _KEYS.items() if k != kind and key in fields and key not in _KEYS[kind]), None)
        if other is not None:
            raise GameFileError(f"{key}: a field of {other} games, not of {kind} ones (see docs/game-format.md)")
    _check_keys("", data, _KEYS[kind], f"a {kind} game")
    metadata = data.get("metadata", {}) or {}
    if not isinstance(metadata, Mapping):
        raise GameFileError("metadata: expected a JSON object")
    common = {
        "name": str(data.get("name", "")),
        "description": str(data.get("description", "")),
        "citation": str(data.get("citation", "")),
        "player_names": tuple(data.get("players", ())),
        "action_names": tuple(tuple(a) for a in data.get("actions", ())),
        "metadata": dict(metadata),
    }
    try:
        return _READERS[kind](data, common)
    except InvalidGameError as exc:
        raise InvalidGameError(_file_field_message(str(exc))) from None


# ----------------------------------------------------------------------------------------------- files
def save_game(game: Game, path: str | os.PathLike[str]) -> Path:
    """Write ``game`` to ``path`` (``.json`` or ``.npz``) atomically and return the path."""
    path = Path(path)
    data = game_to_dict(game)
    if path.suffix == ".json":
        write_with(path, lambda h: json.dump(data, h, indent=1, default=_to_json), "w")
    elif path.suffix == ".npz":
        arrays: dict[str, Any] = _arrays_of(game)
        header = {k: v for k, v in data.items() if k not in arrays and k != "observations"}
        if "observations" in data:
            header["observations"] = {
                "names": data["observations"]["names"],
                "count": len(data["observations"]["names"]),
            }
        arrays["__header__"] = np.array(json.dumps(header, default=_to_json))
        write_with(path, lambda h: np.savez_compressed(h, **arrays), "wb")
    else:
        raise GameFileError(f"{path}: unknown file type {path.suffix!r}; use .json or .npz")
    return path


def _arrays_of(game: Game) -> dict[str, np.ndarray]:
    """The arrays of a game as NPZ entries (observation matrices as ``observations_<i>``)."""
    if isinstance(game, NormalFormGame):
        return {"payoffs": game.payoffs}
    arrays = {k: getattr(game, k) for k in _STOCHASTIC_ARRAYS if getattr(game, k) is not None}
    if game.observations is not None:
        arrays.update({f"observations_{i}": m for i, m in enumerate(game.observations.matrices)})
    return arrays


def load_game(path: str | os.PathLike[str]) -> Game:
    """Read and validate a game from a ``.json`` or ``.npz`` file written by :func:`save_game` (or by hand)."""
    path = Path(path)
    if not path.is_file():
        raise GameFileError(f"{path}: no such file")
    try:
        if path.suffix == ".npz":
            data = _read_npz(path)
        elif path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            raise GameFileError(f"{path}: unknown file type {path.suffix!r}; use .json or .npz")
        return game_from_dict(data)
    except (GameFileError, InvalidGameError) as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise GameFileError(f"{path}: cannot read the game file ({exc})") from None


def _read_npz(path: Path) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as archive:
        if "__header__" not in archive.files:
            raise GameFileError("not a marlkit game archive (no __header__ entry)")
        data = json.loads(str(archive["__header__"]))
        if not isinstance(data, dict):
            raise GameFileError(f"__header__: expected a JSON object, got {type(data).__name__}")
        observations = data.get("observations")
        count = _observation_count(observations)
        fields = _KEYS.get(str(data.get("type")), ("payoffs", *_STOCHASTIC_ARRAYS))  # an unknown type: said later
        arrays = {"payoffs", *_STOCHASTIC_ARRAYS} & set(fields)
        for key in archive.files:
            match = _NPZ_OBSERVATION_MEMBER.fullmatch(key)
            if key in arrays:
                data[key] = archive[key]
            elif key != "__header__" and not (match and int(match.group(1)) < count):
                members = ["__header__", *sorted(arrays), *(f"observations_{i}" for i in range(count))]
                raise GameFileError(
                    f"archive member {key!r}: unknown{did_you_mean(key, members)}; this archive may hold "
                    f"{', '.join(members)} (see docs/game-format.md, NPZ)"
                )
        if observations is not None:
            missing = [f"observations_{i}" for i in range(count) if f"observations_{i}" not in archive.files]
            if missing:
                raise GameFileError(f"observations: the archive lacks the member(s) {', '.join(missing)}")
            observations.pop("count")
            observations["matrices"] = [archive[f"observations_{i}"] for i in range(count)]
    return data


def _observation_count(observations: Any) -> int:
    """The number of observation matrices an NPZ header announces (0 without observations)."""
    if observations is None:
        return 0
    if not isinstance(observations, dict):
        raise GameFileError("observations: expected {'names': [[...], ...], 'count': n} in an NPZ header")
    _check_keys("observations", observations, _NPZ_OBSERVATION_KEYS, "an NPZ header's observation model")
    count = observations.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise GameFileError(f"observations.count: expected the number of observation matrices, got {count!r}")
    return count
