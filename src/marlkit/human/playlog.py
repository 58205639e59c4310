"""The play log: recorded joint actions of people (or models, or agents) playing a game, as JSON Lines.

Line 1 is the header, then one line per decision (joint action)::

    {"format": "marlkit-play-log", "version": 1, "marlkit": "0.4.0",
     "game": {"name": "matching pennies", "digest": "<sha256 of the tables>", "n_players": 2,
              "num_actions": [2, 2], "num_states": 1, "player_names": ["row", "column"],
              "action_names": [["H", "T"], ["H", "T"]]},
     "source": "human play page"}
    {"episode": 0, "step": 0, "state": 0, "actions": [1, 0], "rewards": [-1.0, 1.0], "human": [true, false],
     "time": 1765000000.25}

``digest`` is :func:`marlkit.offline.dataset.game_digest` (names do not count), so a log is read only against the
game it was played in. Per decision: ``episode`` and ``step`` (integers >= 0), ``state`` (0 in a normal-form game),
``actions`` (one index per player, in range), ``rewards`` (one finite number per player; optional), ``human``
(optional: which seats a person held), ``time`` (optional: Unix seconds). ``source`` in the header is free text.

The writer creates the file atomically (header only, through :mod:`marlkit.atomic`), then appends one line per
decision and fsyncs it (``durable=False``, used for bulk logs a program writes, fsyncs once on close), so a crash
loses at most the line being written; the reader then reports the torn last line
as truncated. The reader's errors are one line (:class:`PlayLogError`) naming the line number and the fix.

Reading goes through :mod:`marlkit.strict` (docs/hardening.md): the file's size is checked against
``MARLKIT_MAX_FILE_BYTES`` before it is read; every line is strict JSON (duplicate keys, NaN / Infinity, nesting
deeper than 64 levels refused); the header and each decision have exact types (``"3"`` or ``true`` is not a
number) and unknown keys are refused with the closest known one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from marlkit import strict
from marlkit.atomic import sync_folder, write_text
from marlkit.errors import GameFileError, InvalidGameError
from marlkit.games.views import as_stochastic

FORMAT = "marlkit-play-log"
VERSION = 1


class PlayLogError(GameFileError):
    """A play log that cannot be read: missing, foreign, truncated, of another game, or with bad records."""


def marlkit_version() -> str:
    from marlkit import __version__

    return str(__version__)


LOG_GAME_KEYS = ("name", "digest", "n_players", "num_actions", "num_states", "player_names", "action_names")
"""The keys of a dataset's game header (:func:`marlkit.offline.dataset.game_header`) a play log keeps."""
GAME_KEYS = (*LOG_GAME_KEYS, "task")
"""The keys a play log's ``game`` may have: :data:`LOG_GAME_KEYS`, and ``task`` (the parameters of a task that is
no exact game, such as the cooking task of :mod:`marlkit.serve.play_task`; its ``digest`` is then null)."""
HEADER_KEYS = ("format", "version", "marlkit", "game", "source")
"""The keys of a play log's header line."""
RECORD_KEYS = ("episode", "step", "state", "actions", "rewards", "human", "time")
"""The keys of a decision line."""


def log_game_header(game: Any) -> dict[str, Any]:
    """The ``game`` part of a play-log header: the dataset header's identity of the game (same digest)."""
    from marlkit.offline.dataset import game_header

    header = game_header(game)
    return {key: header[key] for key in LOG_GAME_KEYS}


@dataclass(frozen=True)
class PlayLog:
    """A play log read back: the header and one row per decision.

    Attributes:
        header: the header line (module docstring).
        episodes, steps, states: ``[N]`` int64.
        actions: ``[N, n]`` int64 joint actions.
        rewards: ``[N, n]`` float64 (NaN where a line gave none).
        human: ``[N, n]`` bool (False where a line gave none).
        times: ``[N]`` float64 (NaN where a line gave none).
    """

    header: dict[str, Any]
    episodes: np.ndarray
    steps: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    human: np.ndarray
    times: np.ndarray = field(repr=False)

    @property
    def n_decisions(self) -> int:
        return int(self.actions.shape[0])

    @property
    def num_actions(self) -> tuple[int, ...]:
        return tuple(int(m) for m in self.header["game"]["num_actions"])

    def counts(self, agent: int, state: int | None = None) -> np.ndarray:
        """``[A_agent]``: how often ``agent`` chose each action (in ``state`` only, if given)."""
        rows = self.actions[:, agent] if state is None else self.actions[self.states == state, agent]
        return np.bincount(rows, minlength=self.num_actions[agent]).astype(np.float64)

    def all_counts(self) -> list[np.ndarray]:
        """Every player's action counts."""
        return [self.counts(i) for i in range(len(self.num_actions))]

    def to_json(self) -> dict[str, Any]:
        """The header and a summary (decisions, episodes, each player's action counts)."""
        return {
            "header": self.header,
            "n_decisions": self.n_decisions,
            "n_episodes": len(np.unique(self.episodes)),
            "counts": [c.tolist() for c in self.all_counts()],
        }

    def lines(self) -> list[str]:
        g = self.header["game"]
        return [
            f"play log of {g['name'] or 'a game'} ({g['n_players']} players, actions {g['num_actions']}): "
            f"{self.n_decisions} decisions in {len(np.unique(self.episodes))} episodes"
        ]


def record_line(
    game: Any,
    episode: int,
    step: int,
    state: int,
    actions: Sequence[int],
    rewards: Sequence[float] | None = None,
    human: Sequence[bool] | None = None,
    time: float | None = None,
) -> dict[str, Any]:
    """One decision as the dict a line holds, checked against ``game`` (:class:`InvalidGameError` if out of range)."""
    g = as_stochastic(game)
    row: dict[str, Any] = {"episode": int(episode), "step": int(step), "state": int(state)}
    check_record(row | {"actions": list(actions)}, g.n_players, list(g.num_actions), g.num_states, where="record")
    row["actions"] = [int(a) for a in actions]
    if rewards is not None:
        row["rewards"] = [float(r) for r in rewards]
    if human is not None:
        row["human"] = [bool(h) for h in human]
    if time is not None:
        row["time"] = float(time)
    return row


class PlayLogWriter:
    """Append decisions to a new play log (module docstring). Use as a context manager::

    with PlayLogWriter("play.jsonl", game, source="lab session 3") as log:
        log.write(episode=0, step=0, state=0, actions=[1, 0], rewards=[-1, 1])
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        game: Any,
        *,
        source: str = "",
        overwrite: bool = False,
        durable: bool = True,
    ):
        self.path = Path(path)
        self.durable = durable
        self.game = game
        if self.path.exists() and not overwrite:
            raise PlayLogError(
                f"{self.path}: already exists; choose a new file (a play log is never appended to by a second writer)"
            )
        header = {
            "format": FORMAT,
            "version": VERSION,
            "marlkit": marlkit_version(),
            "game": log_game_header(game),
            "source": str(source),
        }
        write_text(self.path, json.dumps(header, allow_nan=False) + "\n")
        self.handle: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, **record: Any) -> None:
        """Append one decision (:func:`record_line`'s arguments) and fsync it (``durable=False``: flush only; the
        file is fsynced on :meth:`close` — for bulk logs written by a program, not for live play)."""
        if self.handle is None:
            raise PlayLogError(f"{self.path}: the writer is closed")
        line = json.dumps(record_line(self.game, **record), allow_nan=False)
        self.handle.write(line + "\n")
        self.handle.flush()
        if self.durable:
            os.fsync(self.handle.fileno())

    def close(self) -> None:
        if self.handle is not None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            self.handle = None
            sync_folder(self.path.parent)

    def __enter__(self) -> PlayLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_record(row: Any, n: int, num_actions: list[int], num_states: int, where: str) -> None:
    """Raise :class:`InvalidGameError` (one line, naming ``where``) unless ``row`` is a valid decision."""
    if not isinstance(row, dict):
        raise InvalidGameError(f"{where}: expected a JSON object per decision")
    strict.check_keys(where, row, RECORD_KEYS, "a decision", InvalidGameError)
    for key in ("episode", "step", "state"):
        value = row.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidGameError(
                f"{where}: {key!r} must be an integer >= 0, got {strict.kind_of(value)} {strict.shorten(value)}"
            )
    if row["state"] >= num_states:
        raise InvalidGameError(f"{where}: state {row['state']} out of range (the game has {num_states} states)")
    actions = row.get("actions")
    if not isinstance(actions, list) or len(actions) != n:
        raise InvalidGameError(
            f"{where}: 'actions' must list one action index per player ({n}), got {strict.shorten(actions)}"
        )
    for i, (a, m) in enumerate(zip(actions, num_actions, strict=True)):
        if isinstance(a, bool) or not isinstance(a, int | np.integer) or not 0 <= int(a) < m:
            raise InvalidGameError(
                f"{where}: action {strict.shorten(a)} of player {i} out of range (its actions are 0..{m - 1})"
            )
    rewards = row.get("rewards")
    if rewards is not None and (
        not isinstance(rewards, list)
        or len(rewards) != n
        or not all(isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r) for r in rewards)
    ):
        raise InvalidGameError(f"{where}: 'rewards' must list one finite number per player ({n})")
    human = row.get("human")
    if human is not None and (
        not isinstance(human, list) or len(human) != n or not all(isinstance(h, bool) for h in human)
    ):
        raise InvalidGameError(f"{where}: 'human' must list one true/false per player ({n})")
    if row.get("time") is not None:
        strict.number(f"{where}: 'time'", row["time"], InvalidGameError)


def check_header(header: dict[str, Any]) -> tuple[int, list[int], int]:
    """``(n_players, num_actions, num_states)`` of a play-log header, after checking its keys and exact types
    (:class:`PlayLogError`, one line naming the field)."""
    strict.check_keys("header", header, HEADER_KEYS, "a play-log header", PlayLogError)
    strict.string("header.marlkit", header.get("marlkit", ""), PlayLogError)
    strict.string("header.source", header.get("source", ""), PlayLogError, limit=strict.MAX_TEXT_LENGTH, multiline=True)
    g = strict.mapping("header.game", header.get("game"), PlayLogError)
    strict.check_keys("header.game", g, GAME_KEYS, "a play log's game", PlayLogError)
    for key in ("n_players", "num_actions"):
        if key not in g:
            raise PlayLogError(f"header.game: {key!r} is missing; the header's game has {', '.join(GAME_KEYS)}")
    strict.string("header.game.name", g.get("name", ""), PlayLogError)
    if g.get("digest") is not None:
        strict.string("header.game.digest", g["digest"], PlayLogError)
    if "task" in g:
        strict.mapping("header.game.task", g["task"], PlayLogError)
    n = strict.integer("header.game.n_players", g["n_players"], PlayLogError, low=1, high=strict.MAX_DEPTH)
    raw = g["num_actions"]
    if not isinstance(raw, list) or len(raw) != n:
        raise strict.wrong("header.game.num_actions", f"a list of {n} action counts", raw, PlayLogError)
    num_actions = [strict.integer(f"header.game.num_actions[{i}]", m, PlayLogError, low=1) for i, m in enumerate(raw)]
    num_states = strict.integer("header.game.num_states", g.get("num_states", 1), PlayLogError, low=1)
    if "player_names" in g:
        strict.string_list("header.game.player_names", g["player_names"], PlayLogError)
    if "action_names" in g:
        strict.name_lists("header.game.action_names", g["action_names"], PlayLogError)
    return n, num_actions, num_states


def read_play_log(path: str | os.PathLike[str], game: Any | None = None) -> PlayLog:
    """Read a play log, checking it against ``game`` when given (the digest of its tables must match).

    Raises:
        PlayLogError: missing, not a play log (foreign), another version, truncated (a torn last line), a log of
            another game, or a decision out of range — one line naming the line number.
    """
    p = Path(path)
    if not p.exists():
        raise PlayLogError(f"{p}: no such play log")
    try:
        text = strict.read_limited(p, PlayLogError).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlayLogError(f"{p}: cannot read it as a UTF-8 play log ({exc.reason} at byte {exc.start})") from None
    lines = text.split("\n")
    if not text.strip():
        raise PlayLogError(f"{p}: empty file; a play log starts with a {FORMAT!r} header line")
    try:
        header = strict.loads_json(lines[0], PlayLogError, "it")
    except PlayLogError as exc:
        raise PlayLogError(f"{p}: not a marlkit play log (line 1: {exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise PlayLogError(f'{p}: not a marlkit play log (line 1 has no "format": "{FORMAT}")')
    if header.get("version") != VERSION:
        version = strict.shorten(header.get("version"))
        raise PlayLogError(f"{p}: play-log version {version}; this marlkit reads version {VERSION}")
    try:
        n, num_actions, num_states = check_header(header)
    except PlayLogError as exc:
        raise PlayLogError(f"{p}: line 1: {exc}") from None
    g = header["game"]
    if game is not None:
        expected = log_game_header(game)
        if expected["digest"] != g.get("digest"):
            raise PlayLogError(
                f"{p}: a log of another game ({g.get('name') or 'unnamed'}, actions {num_actions}); it does "
                f"not match {expected['name'] or 'the given game'} (actions {expected['num_actions']}) — pass the "
                "game it was played in"
            )
    if lines[-1] != "":
        raise PlayLogError(f"{p}: truncated (line {len(lines)} does not end with a newline: a torn write)")
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines[1:-1], start=2):
        if not line.strip():
            continue
        try:
            row = strict.loads_json(line, PlayLogError, "it")
        except PlayLogError as exc:
            raise PlayLogError(
                f"{p}: line {number} is not JSON a play log accepts (a corrupt or foreign line: {exc})"
            ) from None
        try:
            check_record(row, n, num_actions, num_states, where=f"line {number}")
        except InvalidGameError as exc:
            raise PlayLogError(f"{p}: {exc}") from None
        rows.append(row)
    N = len(rows)
    nan_row = [math.nan] * n
    return PlayLog(
        header=header,
        episodes=np.array([r["episode"] for r in rows], dtype=np.int64),
        steps=np.array([r["step"] for r in rows], dtype=np.int64),
        states=np.array([r["state"] for r in rows], dtype=np.int64),
        actions=np.array([r["actions"] for r in rows], dtype=np.int64).reshape(N, n),
        rewards=np.array([r.get("rewards") or nan_row for r in rows], dtype=np.float64).reshape(N, n),
        human=np.array([r.get("human") or [False] * n for r in rows], dtype=bool).reshape(N, n),
        times=np.array([r.get("time", math.nan) for r in rows], dtype=np.float64),
    )


def write_play_log_from_policies(
    path: str | os.PathLike[str],
    game: Any,
    policies: Any,
    *,
    episodes: int,
    seed: int = 0,
    max_steps: int = 100,
    human: Sequence[bool] | None = None,
    source: str = "",
) -> PlayLog:
    """Play ``game`` with ``policies`` and log every decision; returns the log read back.

    ``policies``: a normal-form profile (one ``[A_i]`` distribution per player) or a stochastic-game policy
    ``[n, S, A_max]`` (docs/architecture.md). Each episode starts from the initial distribution and runs until a
    terminal state or ``max_steps`` decisions (a one-state game, normal-form included, is one decision per
    episode). Joint actions, the
    initial state and transitions are sampled with ``numpy.random.default_rng(seed)``.
    """
    g = as_stochastic(game)
    n, S = g.n_players, g.num_states
    if isinstance(policies, list | tuple) and S == 1:
        policy = np.zeros((n, 1, g.max_actions))
        for i, p in enumerate(policies):
            policy[i, 0, : g.num_actions[i]] = np.asarray(p, dtype=np.float64)
    else:
        policy = np.asarray(policies, dtype=np.float64)
    policy = g.check_policy(policy)
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise InvalidGameError(f"episodes must be an integer >= 1, got {episodes!r}")
    rng = np.random.default_rng(seed)
    with PlayLogWriter(path, game, source=source or "marlkit policies", durable=False) as log:
        for episode in range(episodes):
            state = int(rng.choice(S, p=g.initial))
            for step in range(max_steps):
                if g.terminal[state]:
                    break
                joint = tuple(int(rng.choice(g.max_actions, p=policy[i, state])) for i in range(n))
                rewards = [float(g.rewards[(i, state, *joint)]) for i in range(n)]
                log.write(episode=episode, step=step, state=state, actions=list(joint), rewards=rewards, human=human)
                if S == 1:
                    break
                state = int(rng.choice(S, p=g.transitions[(state, *joint)]))
    return read_play_log(path, game)


__all__ = [
    "FORMAT",
    "VERSION",
    "PlayLog",
    "PlayLogError",
    "PlayLogWriter",
    "check_header",
    "check_record",
    "log_game_header",
    "read_play_log",
    "record_line",
    "write_play_log_from_policies",
]
