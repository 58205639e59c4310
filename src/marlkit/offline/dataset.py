"""The offline dataset format: logged steps of a game, as NPZ arrays plus a JSON header (never pickle).

An :class:`OfflineDataset` holds K logged steps (docs/attacks.md, "Offline data"):

* ``state [K] int`` — the state index s_k (0 in a normal-form game);
* ``actions [K, n] int`` — the joint action a_k;
* ``rewards [K, n] float64`` — every agent's reward r_k;
* ``next_state [K] int`` — s'_k;
* ``done [K] bool`` — the step *terminated* the episode (s'_k is terminal: its continuation value is 0). A time-limit
  truncation is not ``done``: the step is still a sample of T(·|s, a);
* ``observations [K, n, d]`` (optional) — the agents' observations, for data recorded from an env.

The header says what the data is: ``format`` (:data:`FORMAT`) and ``version`` (:data:`VERSION`), the marlkit
version that wrote it, the game (name, a SHA-256 digest of its shape and tables — :func:`game_digest` — player,
action and state names, ``num_states``, ``num_actions``, ``gamma``, ``zero_sum``) and ``provenance`` (how it was
recorded: behaviour policy, episodes, seed, reward noise; or which attack poisoned it). :meth:`check_game` refuses a
dataset of another game.

The file is one ``.npz``: the arrays and the header as UTF-8 JSON bytes in the array ``header``; it is written
atomically (:mod:`marlkit.atomic`) and read through :mod:`marlkit.strict` (docs/hardening.md): the archive member by
member (only :data:`MEMBERS`, plain bool / integer / float arrays, each shape checked against ``MARLKIT_MAX_ELEMENTS``
from its ``.npy`` header before its data is read; no pickle), the header as strict JSON (duplicate keys, NaN,
deep nesting refused) with only :data:`HEADER_KEYS` and :data:`GAME_KEYS` and exact types. A missing, truncated,
foreign or newer file raises :class:`DatasetError` with one line saying which.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from marlkit import strict
from marlkit.errors import MarlkitError
from marlkit.games import Game, as_stochastic
from marlkit.registry import did_you_mean

FORMAT = "marlkit-offline-dataset"
"""The ``format`` field of every dataset header."""

VERSION = 1
"""The header version this module writes and reads."""

ARRAYS = ("state", "actions", "rewards", "next_state", "done")
"""The per-step arrays every dataset has (``observations`` is optional)."""

MEMBERS = ("header", *ARRAYS, "observations")
"""The members a dataset file may have."""

HEADER_KEYS = ("format", "version", "marlkit_version", "num_steps", "game", "provenance", "observations")
"""The keys of a dataset's JSON header (:meth:`OfflineDataset.header`)."""

GAME_KEYS = ("name", "digest", "n_players", "num_actions", "num_states", "gamma", "zero_sum", "player_names",
             "action_names", "state_names", "action_mask")  # fmt: skip
"""The keys of the header's ``game`` (:func:`game_header`)."""


class DatasetError(MarlkitError, ValueError):
    """A dataset that cannot be used: malformed arrays, an unreadable / truncated / foreign / newer file, or a
    dataset of another game than the one given."""


def game_digest(game: Game) -> str:
    """SHA-256 of a game's shape and tables (as its stochastic view: a normal-form game and its one-shot view agree):
    players, actions, states, gamma, rewards, transitions, terminal states and action masks. Names do not count."""
    g = as_stochastic(game)
    digest = hashlib.sha256(repr((g.n_players, g.num_actions, g.num_states, float(g.gamma))).encode())
    for name in ("rewards", "transitions", "terminal", "action_mask"):
        value = np.ascontiguousarray(getattr(g, name))
        digest.update(name.encode() + repr(value.shape).encode() + value.tobytes())
    return digest.hexdigest()


def game_header(game: Game) -> dict[str, Any]:
    """The ``game`` part of a dataset header (see the module docstring)."""
    from marlkit.games.properties.utility import Utility, utility_class

    g = as_stochastic(game)
    return {
        "name": g.name,
        "digest": game_digest(game),
        "n_players": g.n_players,
        "num_actions": list(g.num_actions),
        "num_states": g.num_states,
        "gamma": float(g.gamma),
        "zero_sum": bool(g.n_players == 2 and utility_class(game).utility == Utility.ZERO_SUM),
        "player_names": list(g.player_names),
        "action_names": [list(a) for a in g.action_names],
        "state_names": list(g.state_names),
        "action_mask": np.asarray(g.action_mask).astype(int).tolist(),
    }


def _marlkit_version() -> str:
    from marlkit import __version__

    return str(__version__)


@dataclass(frozen=True, eq=False)
class OfflineDataset:
    """K logged steps of an n-player game with S states (arrays and header: see the module docstring).

    Build one with :func:`marlkit.offline.record.record`, :func:`load` or directly (``game`` is the header's game
    part, :func:`game_header`). Arrays are validated and made read-only on construction.
    """

    state: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_state: np.ndarray
    done: np.ndarray
    game: Mapping[str, Any]
    provenance: Mapping[str, Any] = field(default_factory=dict)
    observations: np.ndarray | None = None
    marlkit_version: str = ""

    def __post_init__(self) -> None:
        game = dict(self.game)
        for key in ("name", "digest", "num_states", "num_actions", "gamma"):
            if key not in game:
                raise DatasetError(f"dataset header: the game has no {key!r}; build it with game_header(game)")
        S, shape = int(game["num_states"]), tuple(int(m) for m in game["num_actions"])
        n = len(shape)
        if S < 1 or n < 1 or min(shape) < 1:
            raise DatasetError(f"dataset header: num_states {S} and num_actions {list(shape)} must be >= 1")
        state = self._ints("state", self.state, (None,))
        K = state.shape[0]
        actions = self._ints("actions", self.actions, (K, n))
        rewards = np.array(self.rewards, dtype=np.float64)
        if rewards.shape != (K, n):
            raise DatasetError(f"rewards: expected shape [K={K}, n={n}], got {list(rewards.shape)}")
        if not np.all(np.isfinite(rewards)):
            raise DatasetError("rewards: every reward must be finite (found NaN or inf)")
        next_state = self._ints("next_state", self.next_state, (K,))
        done = np.array(self.done)
        if done.shape != (K,) or done.dtype != np.bool_:
            raise DatasetError(f"done: expected a bool array of shape [K={K}], got {done.dtype} {list(done.shape)}")
        for name, values in (("state", state), ("next_state", next_state)):
            if K and not (values.min() >= 0 and values.max() < S):
                raise DatasetError(f"{name}: state indices must lie in 0..{S - 1}")
        for i, m in enumerate(shape):
            if K and not (actions[:, i].min() >= 0 and actions[:, i].max() < m):
                raise DatasetError(f"actions[:, {i}]: agent {i} has {m} actions; indices must lie in 0..{m - 1}")
        obs = None
        if self.observations is not None:
            obs = np.array(self.observations, dtype=np.float32)
            if obs.ndim != 3 or obs.shape[:2] != (K, n):
                raise DatasetError(f"observations: expected shape [K={K}, n={n}, d], got {list(obs.shape)}")
        for name, value in (("state", state), ("actions", actions), ("rewards", rewards),
                            ("next_state", next_state), ("done", done), ("observations", obs)):  # fmt: skip
            if value is not None:
                value.setflags(write=False)
                object.__setattr__(self, name, value)
        game["num_actions"], game["num_states"] = list(shape), S
        object.__setattr__(self, "game", game)
        object.__setattr__(self, "provenance", json.loads(json.dumps(dict(self.provenance))))
        object.__setattr__(self, "marlkit_version", self.marlkit_version or _marlkit_version())

    @staticmethod
    def _ints(name: str, value: object, shape: tuple[int | None, ...]) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
            raise DatasetError(f"{name}: expected integer indices, got dtype {array.dtype}")
        if array.ndim != len(shape) or any(e is not None and e != d for e, d in zip(shape, array.shape, strict=True)):
            want = ", ".join("K" if e is None else str(e) for e in shape)
            raise DatasetError(f"{name}: expected shape [{want}], got {list(array.shape)}")
        return array.astype(np.int64)

    # ------------------------------------------------------------------------------------------------ shape
    @property
    def num_steps(self) -> int:
        return int(self.state.shape[0])

    @property
    def n_players(self) -> int:
        return len(self.num_actions)

    @property
    def num_states(self) -> int:
        return int(self.game["num_states"])

    @property
    def num_actions(self) -> tuple[int, ...]:
        return tuple(int(m) for m in self.game["num_actions"])

    @property
    def num_joint_actions(self) -> int:
        return int(np.prod(self.num_actions))

    @property
    def gamma(self) -> float:
        return float(self.game["gamma"])

    @property
    def zero_sum(self) -> bool:
        """Two players whose logged rewards sum to 0 at every step (and a zero-sum game per the header)."""
        if self.n_players != 2 or not self.game.get("zero_sum", False):
            return False
        scale = max(1.0, float(np.abs(self.rewards).max(initial=0.0)))
        return bool(np.all(np.abs(self.rewards.sum(axis=1)) <= 1e-9 * scale))

    def action_mask(self) -> np.ndarray:
        """``[n, S, A_max]`` legal actions from the header (every action when the header has no mask)."""
        n, S, a_max = self.n_players, self.num_states, max(self.num_actions)
        if "action_mask" in self.game:
            mask = np.asarray(self.game["action_mask"], dtype=bool)
            if mask.shape == (n, S, a_max):
                return mask
            raise DatasetError(f"dataset header: action_mask has shape {list(mask.shape)}, not [{n}, {S}, {a_max}]")
        mask = np.zeros((n, S, a_max), dtype=bool)
        for i, m in enumerate(self.num_actions):
            mask[i, :, :m] = True
        return mask

    def legal_joint_actions(self) -> np.ndarray:
        """``[S, J]`` bool: joint actions every component of which is legal in the state (J flat, C order)."""
        legal = np.ones((self.num_states, *self.num_actions), dtype=bool)
        mask = self.action_mask()
        for i, m in enumerate(self.num_actions):
            view = [1] * (self.n_players + 1)
            view[0], view[i + 1] = self.num_states, m
            legal &= mask[i, :, :m].reshape(view)
        return legal.reshape(self.num_states, -1)

    def joint_index(self) -> np.ndarray:
        """``[K]`` flat C-order joint-action index j_k = ravel_multi_index(a_k, (A_1..A_n))."""
        return np.ravel_multi_index(tuple(self.actions.T), self.num_actions).astype(np.int64)

    # ------------------------------------------------------------------------------------------ statistics
    def counts(self) -> np.ndarray:
        """``N[s, a_1..a_n]``: how many steps took joint action a in state s, shape ``[S, A_1..A_n]``."""
        flat = self.state * self.num_joint_actions + self.joint_index()
        N = np.bincount(flat, minlength=self.num_states * self.num_joint_actions)
        return N.reshape(self.num_states, *self.num_actions)

    def reward_means(self) -> np.ndarray:
        """``R̂[i, s, a]``: the mean logged reward of each agent per (s, a), ``[n, S, A_1..A_n]``; 0 where unvisited."""
        S, J, n = self.num_states, self.num_joint_actions, self.n_players
        flat = self.state * J + self.joint_index()
        N = np.bincount(flat, minlength=S * J).astype(np.float64)
        sums = np.stack([np.bincount(flat, weights=self.rewards[:, i], minlength=S * J) for i in range(n)])
        means = np.divide(sums, N, out=np.zeros_like(sums), where=N > 0)
        return means.reshape(n, S, *self.num_actions)

    def transitions(self) -> np.ndarray:
        """``P̂[s, a, s']``: the empirical probability of reaching s' and *continuing* (not ``done``), ``[S, A.., S]``.

        Rows of unvisited (s, a) are 0, and a row's mass is the fraction of its steps that did not terminate: the
        rest ends the episode with continuation value 0.
        """
        S, J = self.num_states, self.num_joint_actions
        flat = self.state * J + self.joint_index()
        N = np.bincount(flat, minlength=S * J).astype(np.float64)
        live = ~self.done
        P = np.bincount(flat[live] * S + self.next_state[live], minlength=S * J * S).astype(np.float64)
        P = P.reshape(S * J, S)
        P = np.divide(P, N[:, None], out=np.zeros_like(P), where=N[:, None] > 0)
        return P.reshape(S, *self.num_actions, S)

    # ---------------------------------------------------------------------------------------------- checks
    def check_game(self, game: Game) -> None:
        """Raise :class:`DatasetError` unless this dataset was recorded from ``game`` (same digest)."""
        digest = game_digest(game)
        if digest != self.game["digest"]:
            theirs = as_stochastic(game).name or "the given game"
            raise DatasetError(
                f"dataset of game {self.game['name']!r} (digest {str(self.game['digest'])[:12]}) used with "
                f"{theirs!r} (digest {digest[:12]}); record a dataset of this game"
            )

    def with_rewards(self, rewards: np.ndarray, provenance: Mapping[str, Any]) -> OfflineDataset:
        """The same steps with other rewards ``[K, n]`` (a poisoned copy) and a new provenance."""
        return replace(self, rewards=rewards, provenance=provenance, marlkit_version="")

    def header(self) -> dict[str, Any]:
        """The JSON header written beside the arrays."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "marlkit_version": self.marlkit_version,
            "num_steps": self.num_steps,
            "game": dict(self.game),
            "provenance": dict(self.provenance),
            "observations": self.observations is not None,
        }

    def describe(self) -> str:
        """One line: the game, the number of logged steps, agents, states and actions."""
        states = "1 state" if self.num_states == 1 else f"{self.num_states} states"
        return (
            f"dataset of {self.game['name']}: {self.num_steps} logged steps, {self.n_players} agents, {states}, "
            f"actions {'x'.join(map(str, self.num_actions))}"
        )

    def __repr__(self) -> str:
        return f"<Offline{self.describe()}>"


# ------------------------------------------------------------------------------------------------------ files
def save(dataset: OfflineDataset, path: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` to ``path`` (``.npz``) atomically; returns the path."""
    from marlkit.atomic import write_with

    header = np.frombuffer(json.dumps(dataset.header(), allow_nan=False).encode("utf-8"), dtype=np.uint8)
    arrays: dict[str, np.ndarray] = {name: getattr(dataset, name) for name in ARRAYS}
    if dataset.observations is not None:
        arrays["observations"] = dataset.observations

    def write(handle: IO[Any]) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, header=header, **arrays)  # type: ignore[arg-type]
        handle.write(buffer.getvalue())

    return write_with(path, write)


def load(path: str | os.PathLike[str]) -> OfflineDataset:
    """Read a dataset written by :func:`save` (``allow_pickle=False``).

    Raises:
        DatasetError: a missing or unreadable file, a truncated or corrupt archive, a file that is not a marlkit
            dataset, a newer format version, or malformed arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")

    def unknown(name: str) -> str:
        return (
            f"unknown member {strict.shorten(name)}{did_you_mean(name, MEMBERS)}; a dataset holds {', '.join(MEMBERS)}"
        )

    try:
        arrays = strict.read_npz(path, DatasetError, allowed=MEMBERS.__contains__, describe=unknown)
    except DatasetError as exc:
        text = str(exc)
        if text.startswith("unknown member") and "header" not in _member_names(path):
            raise DatasetError(f"{path}: not a marlkit dataset (an NPZ without a dataset header)") from None
        raise DatasetError(f"{path}: {text}") from None
    if "header" not in arrays:
        raise DatasetError(f"{path}: not a marlkit dataset (an NPZ without a dataset header)")
    raw = arrays.pop("header")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise DatasetError(
            f"{path}: the dataset header is not valid JSON (expected UTF-8 bytes as a uint8 vector, got "
            f"{raw.dtype} of shape {list(raw.shape)})"
        )
    try:
        header = strict.loads_json(raw.tobytes(), DatasetError, "the dataset header")
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DatasetError(f"{path}: not a marlkit dataset (header format is not {FORMAT!r})")
    version = header.get("version")
    if version != VERSION:
        raise DatasetError(
            f"{path}: dataset format version {strict.shorten(version)}; this marlkit reads version {VERSION} "
            "(upgrade marlkit)"
        )
    try:
        check_header(header)
    except DatasetError as exc:
        raise DatasetError(f"{path}: {exc}") from None
    missing = [name for name in ARRAYS if name not in arrays]
    if missing:
        raise DatasetError(f"{path}: the dataset lacks the array(s) {missing}; the file is damaged")
    if not isinstance(header.get("game"), dict):  # pragma: no cover - check_header refused it
        raise DatasetError(f"{path}: the dataset header has no game description")
    return OfflineDataset(
        **{name: arrays[name] for name in ARRAYS},
        observations=arrays.get("observations"),
        game=header["game"],
        provenance=header.get("provenance") or {},
        marlkit_version=str(header.get("marlkit_version", "")),
    )


def _member_names(path: Path) -> list[str]:
    """The member names of a zip archive (``[]`` if it cannot be read)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [name.removesuffix(".npy") for name in archive.namelist()]
    except (zipfile.BadZipFile, OSError):
        return []


def check_header(header: Mapping[str, Any]) -> None:
    """Check a dataset header's keys (:data:`HEADER_KEYS`, the game's :data:`GAME_KEYS`) and exact types
    (:class:`DatasetError`, one line naming the field; the arrays are checked by :class:`OfflineDataset`)."""
    error = DatasetError
    strict.check_keys("header", header, HEADER_KEYS, "a dataset header", error)
    if "game" not in header:
        raise error("header: the dataset header has no game description ('game')")
    game = strict.mapping("header.game", header["game"], error)
    strict.check_keys("header.game", game, GAME_KEYS, "a dataset's game", error)
    for key in ("name", "digest", "num_states", "num_actions", "gamma"):
        if key not in game:
            raise error(f"header.game: the game has no {key!r}; build it with game_header(game)")
    strict.string("header.game.name", game["name"], error)
    strict.string("header.game.digest", game["digest"], error)
    strict.integer("header.game.num_states", game["num_states"], error, low=1)
    raw = game["num_actions"]
    if not isinstance(raw, list) or not raw or len(raw) > strict.MAX_DEPTH:
        raise strict.wrong("header.game.num_actions", "a list of action counts, one per player", raw, error)
    for i, m in enumerate(raw):
        strict.integer(f"header.game.num_actions[{i}]", m, error, low=1)
    if "n_players" in game:
        strict.integer("header.game.n_players", game["n_players"], error, low=len(raw), high=len(raw))
    strict.number("header.game.gamma", game["gamma"], error)
    if "zero_sum" in game and not isinstance(game["zero_sum"], bool):
        raise strict.wrong("header.game.zero_sum", "true or false", game["zero_sum"], error)
    for key in ("player_names", "state_names"):
        if key in game:
            strict.string_list(f"header.game.{key}", game[key], error)
    if "action_names" in game:
        strict.name_lists("header.game.action_names", game["action_names"], error)
    if "action_mask" in game:
        strict.real_array("header.game.action_mask", game["action_mask"], error)
    if "num_steps" in header:
        strict.integer("header.num_steps", header["num_steps"], error, low=0)
    if "provenance" in header:
        strict.mapping("header.provenance", header["provenance"], error)
    if "marlkit_version" in header:
        strict.string("header.marlkit_version", header["marlkit_version"], error)
    if "observations" in header and not isinstance(header["observations"], bool):
        raise strict.wrong("header.observations", "true or false", header["observations"], error)


def is_dataset_file(path: str | os.PathLike[str]) -> bool:
    """True for an existing ``.npz`` file that has a ``header`` member (cheap: reads the archive's index only)."""
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "header.npy" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


__all__ = [
    "ARRAYS",
    "FORMAT",
    "GAME_KEYS",
    "HEADER_KEYS",
    "MEMBERS",
    "VERSION",
    "DatasetError",
    "OfflineDataset",
    "check_header",
    "game_digest",
    "game_header",
    "is_dataset_file",
    "load",
    "save",
]
