"""Reading and writing games: a documented JSON format and NPZ (never pickle). See docs/game-format.md.

Writes are atomic (a temporary file in the target folder, then ``os.replace``), so a crash never leaves a
half-written game file. Reading is strict (:mod:`marlkit.strict`: exact types, no duplicate or unknown keys, sizes
checked from the declared shape before allocating, NPZ archives opened member by member, names of at most
:data:`marlkit.strict.MAX_NAME_LENGTH` characters), then the game constructors validate the game itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from marlkit import strict
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
    strict.check_keys(where, data, known, f"{what} (see docs/game-format.md)", GameFileError)


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


_BOOLEAN_ARRAYS = ("terminal", "action_mask")


def decode_array(field: str, value: Any, *, booleans: bool | None = None) -> np.ndarray:
    """Inverse of :func:`encode_array`, strict (:mod:`marlkit.strict`): a nested list of JSON numbers (or of
    ``true`` / ``false`` where ``booleans``; by default for ``terminal`` and ``action_mask``), a sparse
    ``{"shape", "indices", "values"}`` object, or an NPZ member of a real dtype. Raises :class:`GameFileError`
    naming the field on malformed input, before allocating anything larger than the size limit."""
    if booleans is None:
        booleans = field in _BOOLEAN_ARRAYS
    if isinstance(value, Mapping):
        return strict.sparse_array(field, value, GameFileError)
    return strict.real_array(field, value, GameFileError, booleans=booleans)


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
    for key in ("transitions", "rewards", "initial", "gamma"):
        _required(data, key)
    arrays: dict[str, Any] = {key: decode_array(key, data[key]) for key in _STOCHASTIC_ARRAYS if key in data}
    observations = None
    if data.get("observations") is not None:
        obs = strict.mapping("observations", data["observations"], GameFileError)
        _check_keys("observations", obs, _OBSERVATION_KEYS, "an observation model")
        matrices = _required(obs, "matrices", "observations.")
        if not isinstance(matrices, list):
            raise strict.wrong("observations.matrices", "a list of one matrix per player", matrices, GameFileError)
        names = obs.get("names", [])
        if not isinstance(names, list):
            raise strict.wrong("observations.names", "a list of name lists, one per player", names, GameFileError)
        observations = ObservationModel(
            tuple(decode_array(f"observations.matrices[{i}]", m) for i, m in enumerate(matrices)),
            tuple(tuple(strict.string_list(f"observations.names[{i}]", n, GameFileError)) for i, n in enumerate(names)),
        )
    states = data.get("states", [])
    return StochasticGame(
        gamma=strict.number("gamma", _required(data, "gamma"), GameFileError),
        observations=observations,
        state_names=tuple(strict.string_list("states", states, GameFileError)),
        **arrays,
        **common,
    )


_READERS: dict[str, Callable[[Mapping[str, Any], dict[str, Any]], Game]] = {
    "normal-form": _normal_form_from_dict,
    "stochastic": _stochastic_from_dict,
}


def _required(data: Mapping[str, Any], key: str, where: str = "") -> Any:
    if key not in data:
        raise GameFileError(f"missing field {where + key!r} (see docs/game-format.md)")
    return data[key]


def game_from_dict(data: Mapping[str, Any]) -> Game:
    """Build and validate a game from its dict form; raises GameFileError / InvalidGameError on bad input."""
    if not isinstance(data, Mapping):
        raise GameFileError(f"a game file must hold a JSON object, got {strict.kind_of(data)}")
    if "format" in data and data["format"] != FORMAT:
        raise GameFileError(f"format: expected {FORMAT!r}, got {strict.shorten(data['format'])}")
    if "version" in data and strict.integer("version", data["version"], GameFileError) != VERSION:
        raise GameFileError(f"version: this marlkit reads version {VERSION} game files, got {data['version']}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in _READERS:
        raise GameFileError(
            f"type: expected one of {sorted(_READERS)}, got {strict.kind_of(kind)} {strict.shorten(kind)}"
        )
    for key in data:
        other = next((k for k, fields in _KEYS.items() if k != kind and key in fields and key not in _KEYS[kind]), None)
        if other is not None:
            raise GameFileError(f"{key}: a field of {other} games, not of {kind} ones (see docs/game-format.md)")
    _check_keys("", data, _KEYS[kind], f"a {kind} game")
    metadata = strict.mapping("metadata", data.get("metadata", {}), GameFileError)
    actions = data.get("actions", [])
    if not isinstance(actions, list):
        raise strict.wrong("actions", "a list of action-name lists, one per player", actions, GameFileError)
    common = {
        "name": strict.string("name", data.get("name", ""), GameFileError),
        "description": _text("description", data),
        "citation": _text("citation", data),
        "player_names": tuple(strict.string_list("players", data.get("players", []), GameFileError)),
        "action_names": tuple(
            tuple(strict.string_list(f"actions[{i}]", a, GameFileError)) for i, a in enumerate(actions)
        ),
        "metadata": dict(metadata),
    }
    try:
        return _READERS[kind](data, common)
    except InvalidGameError as exc:
        raise InvalidGameError(_file_field_message(str(exc))) from None


def _text(key: str, data: Mapping[str, Any]) -> str:
    """A free-text field (description, citation): a string of at most ``strict.MAX_TEXT_LENGTH`` characters."""
    return strict.string(key, data.get(key, ""), GameFileError, limit=strict.MAX_TEXT_LENGTH, multiline=True)


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
    """Read and validate a game from a ``.json`` or ``.npz`` file written by :func:`save_game` (or by hand).

    Every failure (a missing or unreadable file, malformed JSON or a damaged archive, a wrong type, an unknown
    key, a file or array over the size limits of :mod:`marlkit.strict`, an invalid game) is a
    :class:`GameFileError` or :class:`InvalidGameError` whose message starts with the path."""
    path = Path(path)
    if not path.is_file():
        raise GameFileError(f"{path}: no such file")
    try:
        if path.suffix == ".npz":
            data = _read_npz(path)
        elif path.suffix == ".json":
            data = strict.loads_json(strict.read_limited(path, GameFileError), GameFileError, "the file")
        else:
            raise GameFileError(f"{path}: unknown file type {path.suffix!r}; use .json or .npz")
        return game_from_dict(data)
    except (GameFileError, InvalidGameError) as exc:
        message = str(exc)
        raise type(exc)(message if message.startswith(f"{path}: ") else f"{path}: {message}") from None
    except (OSError, ValueError, OverflowError, MemoryError) as exc:
        raise GameFileError(f"{path}: cannot read the game file ({strict.shorten(str(exc))})") from None


_ARRAY_MEMBERS = ("payoffs", *_STOCHASTIC_ARRAYS)


def _read_npz(path: Path) -> dict[str, Any]:
    """The header and members of a game archive (``__header__``: the JSON fields; one member per array)."""

    def allowed(name: str) -> bool:
        return name == "__header__" or name in _ARRAY_MEMBERS or _NPZ_OBSERVATION_MEMBER.fullmatch(name) is not None

    def describe(name: str) -> str:
        members = ["__header__", *_ARRAY_MEMBERS, "observations_<i>"]
        return (
            f"archive member {strict.shorten(name)}: unknown{did_you_mean(name, tuple(members))}; a game archive "
            f"holds {', '.join(members)} (see docs/game-format.md, NPZ)"
        )

    members = strict.read_npz(path, GameFileError, allowed=allowed, describe=describe, strings=("__header__",))
    if "__header__" not in members:
        raise GameFileError("not a marlkit game archive (no __header__ entry)")
    data = strict.loads_json(str(members.pop("__header__")), GameFileError, "__header__")
    if not isinstance(data, dict):
        raise GameFileError(f"__header__: expected a JSON object, got {strict.kind_of(data)}")
    for key in _ARRAY_MEMBERS:
        if key in data:
            raise GameFileError(f"__header__.{key}: arrays are archive members, not header fields")
    observations = data.get("observations")
    count = _observation_count(observations)
    fields = _KEYS.get(str(data.get("type")), _ARRAY_MEMBERS)  # an unknown type: said later
    arrays = set(_ARRAY_MEMBERS) & set(fields)
    expected = ["__header__", *sorted(arrays), *(f"observations_{i}" for i in range(count))]
    for key, array in members.items():
        match = _NPZ_OBSERVATION_MEMBER.fullmatch(key)
        if key in arrays:
            data[key] = array
        elif not (match and int(match.group(1)) < count):
            raise GameFileError(
                f"archive member {strict.shorten(key)}: unknown{did_you_mean(key, tuple(expected))}; this archive may "
                f"hold {', '.join(expected)} (see docs/game-format.md, NPZ)"
            )
    if observations is not None:
        missing = [f"observations_{i}" for i in range(count) if f"observations_{i}" not in members]
        if missing:
            raise GameFileError(f"observations: the archive lacks the member(s) {', '.join(missing)}")
        observations.pop("count")
        observations["matrices"] = [members[f"observations_{i}"] for i in range(count)]
    return data


def _observation_count(observations: Any) -> int:
    """The number of observation matrices an NPZ header announces (0 without observations)."""
    if observations is None:
        return 0
    if not isinstance(observations, dict):
        raise GameFileError("observations: expected {'names': [[...], ...], 'count': n} in an NPZ header")
    _check_keys("observations", observations, _NPZ_OBSERVATION_KEYS, "an NPZ header's observation model")
    if "count" not in observations:
        raise GameFileError("observations.count: missing; the number of observation matrices in the archive")
    return strict.integer("observations.count", observations["count"], GameFileError, low=0, high=1024)
