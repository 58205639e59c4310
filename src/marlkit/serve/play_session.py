"""A play session: a person in one seat of a catalog game, a partner in the others, one joint step per move.

Pure Python over the exact game (NumPy float64; no web types). A **round** is one joint action: the person's action
and the partner's (drawn from :meth:`Partner.probabilities` with the session's generator) give every player's reward
from the game's tables, the next state (sampled from the transition row; a normal-form game has one state, and each
round is one episode, as in :func:`marlkit.human.playlog.write_play_log_from_policies`), and the partner observes the
step (a learner updates). An episode of a stochastic game ends at a terminal state or after ``episode_steps``
decisions; the next starts from the initial distribution.

**The running picture** (normal-form games): after round t, each player's empirical action frequencies
``x̄_i^t = C_i^t / t`` and, for the product profile x̄^t,

* NashConv(x̄^t) = Σ_i [max_a U_i(a, x̄_-i) − U_i(x̄)] (:func:`marlkit.solve.nash_conv`), 0 exactly at a Nash
  equilibrium — the quantity whose decay fictitious play's convergence theorems are about (Robinson 1951 in
  two-player zero-sum games);
* the distance to the nearest listed Nash equilibrium, min_e max_i TV(x̄_i, e_i) (total variation,
  ½‖·‖₁), over :func:`marlkit.solve.nash_equilibria` (all of them for two-player games; ``complete`` says whether the
  list is known to be the whole set).

**The play log**: every round is a line of the play-log format (:mod:`marlkit.human.playlog`: episode, step,
state, actions, rewards, which seat was human, time); after every round the whole file is rewritten atomically
(:func:`marlkit.atomic.write_text`), so a crash leaves the previous complete log, never a torn line. ``marlkit
human fit LOG`` reads it (its header names the catalog game and its digest).

Sessions live in a :class:`SessionStore`: random ids (``secrets.token_urlsafe``), at most ``max_sessions`` (the
least recently used is dropped), each dropped after ``ttl_s`` seconds without a move; one lock per session.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, MarlkitError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame, as_stochastic
from marlkit.serve.play_partners import Partner, make_partner

Game = NormalFormGame | StochasticGame

PLAYABLE_KINDS = ("normal-form", "random", "stochastic")
"""Catalog kinds offered on the play page: matrix games and fully observed stochastic games of two or more
players (POSGs would show the person the hidden state; constrained games' costs are not shown)."""
MAX_ROUNDS = 5000
"""Rounds a session may play (the log and the picture stay small)."""
EPISODE_STEPS = 50
"""Decisions per episode of a stochastic game without a terminal state reached."""
SOURCE = "marlkit play page"


class SessionError(MarlkitError, ValueError):
    """A play request that cannot be served: an action out of range, a session at its round limit."""


class UnknownSessionError(SessionError):
    """No live session of that id (never started, expired or dropped)."""

    status = 404


@dataclass(frozen=True)
class GameChoice:
    """A catalog game the play page offers."""

    name: str
    kind: str
    description: str
    n_players: int
    num_actions: tuple[int, ...]
    player_names: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "n_players": self.n_players,
            "num_actions": list(self.num_actions),
            "player_names": list(self.player_names),
        }


@lru_cache(maxsize=1)
def playable_games() -> tuple[GameChoice, ...]:
    """Every catalog game of :data:`PLAYABLE_KINDS` with at least two players, in catalog order."""
    from marlkit.games.catalog import GAMES, names

    out = []
    for name in names():
        entry = GAMES[name]
        kind = str(entry.extra.get("kind", ""))
        if kind not in PLAYABLE_KINDS:
            continue
        g = as_stochastic(built(name))
        if g.n_players < 2 or g.is_partially_observable:
            continue
        out.append(GameChoice(name, kind, entry.description, g.n_players, tuple(g.num_actions), g.player_names))
    return tuple(out)


def playable_game(name: str) -> Game:
    """The catalog game ``name`` if the play page offers it (built once per process: games are immutable).

    Raises:
        UnknownNameError: not a catalog game (close matches named), or a game the page does not offer.
    """
    from marlkit.games.catalog import GAMES

    key = GAMES.get(str(name)).name
    if key not in {c.name for c in playable_games()}:
        offered = ", ".join(c.name for c in playable_games())
        raise UnknownNameError(f"game: {name!r} cannot be played here; pick one of {offered}")
    return built(key)


@lru_cache(maxsize=64)
def built(name: str) -> Game:
    """The catalog game ``name`` at its default parameters (cached)."""
    from marlkit.games.catalog import make

    return make(name)


@lru_cache(maxsize=64)
def equilibria_of(name: str) -> tuple[tuple[tuple[np.ndarray, ...], ...], bool]:
    """The Nash equilibria of catalog game ``name`` (profiles) and whether the list is complete."""
    from marlkit.solve import nash_equilibria

    found = nash_equilibria(playable_game(name))  # type: ignore[arg-type]
    return tuple(e.profile for e in found.equilibria), bool(found.complete)


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """½ Σ |p − q|."""
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def nearest_equilibrium(profile: list[np.ndarray], equilibria: tuple[tuple[np.ndarray, ...], ...]) -> float | None:
    """min over equilibria e of max_i TV(profile_i, e_i) (None when there is none listed)."""
    if not equilibria:
        return None
    return min(max(total_variation(x, e) for x, e in zip(profile, eq, strict=True)) for eq in equilibria)


def new_log_path(log_dir: str | os.PathLike[str], name: str, started: float) -> Path:
    """``log_dir/<UTC time>-<name>-<8 random hex digits>.jsonl``, a name not taken yet (the folder is created)."""
    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(started))
    while True:
        path = folder / f"{stamp}-{name}-{secrets.token_hex(4)}.jsonl"  # random, not the session id (a secret)
        if not path.exists():
            return path


class PlaySession:
    """One person playing ``game_name`` from ``seat`` with ``partner`` (module docstring).

    Attributes:
        id: the random session id.
        log_path: the play log (rewritten atomically after every round).
    """

    def __init__(
        self,
        game_name: str,
        seat: int,
        partner_kind: str,
        partner_spec: str,
        *,
        runs_dir: str | os.PathLike[str],
        log_dir: str | os.PathLike[str],
        seed: int | None = None,
        episode_steps: int = EPISODE_STEPS,
        session_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from marlkit.games.catalog import GAMES
        from marlkit.human.playlog import FORMAT, VERSION, log_game_header, marlkit_version

        self.game = playable_game(game_name)
        self.name = GAMES.get(game_name).name
        g = as_stochastic(self.game)
        self.g = g
        self.n = g.n_players
        if isinstance(seat, bool) or not isinstance(seat, int | np.integer) or not 0 <= int(seat) < self.n:
            names = ", ".join(f"{i} ({p})" for i, p in enumerate(g.player_names))
            raise InvalidGameError(f"seat: pick a player of {self.name}: {names}; got {seat!r}")
        if isinstance(episode_steps, bool) or not isinstance(episode_steps, int) or episode_steps < 1:
            raise InvalidGameError(f"episode_steps must be an integer >= 1, got {episode_steps!r}")
        self.seat = int(seat)
        self.seats = tuple(i for i in range(self.n) if i != self.seat)
        self.seed = secrets.randbits(31) if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.partner: Partner = make_partner(
            partner_kind, partner_spec, self.game, self.seats, runs_dir, seed=self.seed
        )
        self.id = session_id or secrets.token_urlsafe(12)
        self.clock = clock
        self.started = clock()
        self.touched = self.started
        self.lock = threading.Lock()
        self.matrix = isinstance(self.game, NormalFormGame)
        self.episode_steps = 1 if self.matrix else int(episode_steps)
        self.episode = 0
        self.step = 0
        self.state = self.initial_state()
        self.rounds = 0
        self.scores = np.zeros(self.n)
        self.episode_return = np.zeros(self.n)
        self.returns: list[list[float]] = []  # finished episodes' returns
        self.counts = np.zeros((self.n, g.max_actions))  # every player's action counts over all states
        self.last: dict[str, Any] | None = None
        self.series: dict[str, list[Any]] = {"round": [], "frequencies": [], "nash_conv": [], "nash_distance": []}
        if self.matrix:
            self.equilibria, self.equilibria_complete = equilibria_of(self.name)
        else:
            self.equilibria, self.equilibria_complete = (), False
        self.log_path = new_log_path(log_dir, self.name, self.started)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "marlkit": marlkit_version(),
            "game": log_game_header(self.game),
            "source": f"{SOURCE}: person in seat {self.seat}, partner {self.partner.kind} {self.partner.label}",
        }
        self.log_lines = [json.dumps(header, allow_nan=False)]
        self.write_log()

    # ------------------------------------------------------------------------------------------------ play
    def initial_state(self) -> int:
        return int(self.rng.choice(self.g.num_states, p=self.g.initial))

    def legal_actions(self, state: int | None = None) -> list[int]:
        """The person's legal actions in ``state`` (default: the current state)."""
        s = self.state if state is None else state
        return np.flatnonzero(self.g.action_mask[self.seat, s]).tolist()

    def play(self, action: object) -> dict[str, Any]:
        """Play the person's ``action`` (an index) for one round; returns :meth:`view`.

        Raises:
            SessionError: not an integer, out of range or illegal in the state, or the session is full.
        """
        from marlkit.human.playlog import record_line

        if isinstance(action, bool) or not isinstance(action, int | np.integer):
            raise SessionError(f"action: expected an action index (an integer), got {action!r}")
        a = int(action)
        legal = self.legal_actions()
        if a not in legal:
            names = self.g.action_names[self.seat]
            choices = ", ".join(f"{i} ({names[i]})" for i in legal)
            raise SessionError(f"action {a} is not a legal action of {self.player_name} here; legal: {choices}")
        if self.rounds >= MAX_ROUNDS:
            raise SessionError(f"this session has reached {MAX_ROUNDS} rounds; start a new one from /play")
        s = self.state
        probs = self.partner.probabilities(s)
        joint = np.zeros(self.n, dtype=np.int64)
        joint[self.seat] = a
        for row, j in zip(probs, self.seats, strict=True):
            joint[j] = int(self.rng.choice(len(row), p=row / row.sum()))
        rewards = np.array([self.g.rewards[(i, s, *joint.tolist())] for i in range(self.n)], dtype=np.float64)
        s_next = int(self.rng.choice(self.g.num_states, p=self.g.transitions[(s, *joint.tolist())]))
        terminated = bool(self.g.terminal[s_next]) and not self.matrix
        truncated = not terminated and self.step + 1 >= self.episode_steps  # a matrix game: every round (as the loop)
        self.partner.observe(s, joint, rewards, s_next, terminated, truncated)
        now = self.clock()
        human = [i == self.seat for i in range(self.n)]
        self.log_lines.append(
            json.dumps(
                record_line(self.game, self.episode, self.step, s, joint.tolist(), rewards.tolist(), human, now),
                allow_nan=False,
            )
        )
        self.rounds += 1
        self.scores += rewards
        self.episode_return += rewards
        for i in range(self.n):
            self.counts[i, joint[i]] += 1.0
        self.last = {
            "state": s,
            "actions": joint.tolist(),
            "rewards": rewards.tolist(),
            "partner_probabilities": probs.tolist(),
            "next_state": s_next,
            "terminated": terminated,
            "truncated": truncated,
        }
        if self.matrix:
            self.record_picture()
            self.episode += 1
        elif terminated or truncated:
            self.returns.append(self.episode_return.tolist())
            self.episode_return = np.zeros(self.n)
            self.episode += 1
            self.step = 0
            self.state = self.initial_state()
        else:
            self.step += 1
            self.state = s_next
        self.touched = now
        self.write_log()
        return self.view()

    def write_log(self) -> None:
        """Rewrite the whole play log atomically (module docstring)."""
        from marlkit.atomic import write_text

        write_text(self.log_path, "\n".join(self.log_lines) + "\n")

    # ---------------------------------------------------------------------------------------------- picture
    def frequencies(self) -> list[np.ndarray]:
        """Every player's empirical action frequencies x̄_i (uniform before the first round)."""
        out = []
        for i, m in enumerate(self.g.num_actions):
            c = self.counts[i, :m]
            out.append(c / c.sum() if c.sum() > 0 else np.full(m, 1.0 / m))
        return out

    def record_picture(self) -> None:
        from marlkit.solve import nash_conv

        x = self.frequencies()
        self.series["round"].append(self.rounds)
        self.series["frequencies"].append([p.tolist() for p in x])
        self.series["nash_conv"].append(float(nash_conv(self.game, x)))
        self.series["nash_distance"].append(nearest_equilibrium(x, self.equilibria))

    # ------------------------------------------------------------------------------------------------ views
    @property
    def player_name(self) -> str:
        return str(self.g.player_names[self.seat])

    def payoff_table(self) -> dict[str, Any] | None:
        """The stage game the person faces in the current state, for two players: rows are the person's actions,
        columns the partner's; each cell the (person, partner) rewards. None for n > 2 players."""
        if self.n != 2:
            return None
        other = self.seats[0]
        s = self.state
        rows = []
        for a in range(self.g.num_actions[self.seat]):
            cells = []
            for b in range(self.g.num_actions[other]):
                joint = [0, 0]
                joint[self.seat], joint[other] = a, b
                cells.append([float(self.g.rewards[self.seat, s, *joint]), float(self.g.rewards[other, s, *joint])])
            rows.append(cells)
        return {
            "rows": list(self.g.action_names[self.seat]),
            "columns": list(self.g.action_names[other]),
            "cells": rows,
        }

    def expected_payoffs(self) -> list[float]:
        """The person's expected reward of each action now, against the partner's current policy (the stage game
        at the current state)."""
        probs = self.partner.probabilities(self.state)
        table = self.g.rewards[self.seat, self.state]
        for k, j in reversed(list(enumerate(self.seats))):
            table = np.tensordot(table, probs[k, : self.g.num_actions[j]], axes=([j], [0]))
        return [float(v) for v in np.asarray(table)[: self.g.num_actions[self.seat]]]

    def view(self) -> dict[str, Any]:
        """Everything the board shows, JSON-safe."""
        g = self.g
        probs = self.partner.probabilities(self.state)
        out: dict[str, Any] = {
            "id": self.id,
            "game": self.name,
            "kind": "matrix" if self.matrix else "stochastic",
            "seat": self.seat,
            "player_names": list(g.player_names),
            "action_names": [list(a) for a in g.action_names],
            "partner": self.partner.to_json(),
            "partner_seats": list(self.seats),
            "partner_policy": [
                {"seat": j, "probabilities": probs[k, : g.num_actions[j]].tolist()} for k, j in enumerate(self.seats)
            ],
            "rounds": self.rounds,
            "max_rounds": MAX_ROUNDS,
            "scores": self.scores.tolist(),
            "mean_scores": (self.scores / max(self.rounds, 1)).tolist(),
            "episode": self.episode,
            "step": self.step,
            "episode_steps": self.episode_steps,
            "state": self.state,
            "state_name": str(g.state_names[self.state]),
            "legal_actions": self.legal_actions(),
            "expected_payoffs": self.expected_payoffs(),
            "payoff_table": self.payoff_table(),
            "last": self.last,
            "log": self.log_path.name,
        }
        if self.matrix:
            out["picture"] = {
                **self.series,
                "equilibria": [[p.tolist() for p in e] for e in self.equilibria],
                "equilibria_complete": self.equilibria_complete,
            }
        else:
            out["disc"] = self.disc()
            out["returns"] = self.returns[-20:]
            out["episodes_finished"] = len(self.returns)
        return json.loads(json.dumps(out, default=finite))

    def disc(self) -> str | None:
        """The label of the person's disc in the state picture (None where the game draws a table)."""
        from marlkit.envs.render_games import board_of

        board = board_of(self.game)
        return None if board is None else f"disc {board.labels[self.seat % len(board.labels)]}"

    def frame_png(self, scale: int = 2) -> bytes:
        """The current state drawn by the game env's ``render`` (:class:`marlkit.envs.games.GameEnv`: a board, or
        the stage game's table), each pixel ``scale`` x ``scale``, as PNG."""
        import io

        from PIL import Image

        from marlkit.envs.render_games import draw_game_state

        picture = np.asarray(draw_game_state(self.game, self.state)).repeat(scale, axis=0).repeat(scale, axis=1)
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        return buffer.getvalue()


def finite(value: object) -> object:
    """JSON default for NumPy scalars."""
    if isinstance(value, np.generic):
        item = value.item()
        return None if isinstance(item, float) and not math.isfinite(item) else item
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


class SessionStore:
    """Live sessions by id, bounded (module docstring)."""

    def __init__(self, max_sessions: int = 64, ttl_s: float = 3600.0, clock: Callable[[], float] = time.time):
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self.clock = clock
        self.sessions: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()

    def create(self, game_name: str, *args: Any, **kwargs: Any) -> Any:
        """A new session (:class:`PlaySession`, or :class:`marlkit.serve.play_task.TaskSession` for a cooking
        layout; their arguments), stored; the least recently used is dropped beyond ``max_sessions``."""
        from marlkit.serve.play_task import TaskSession, is_task

        kind = TaskSession if is_task(game_name) else PlaySession
        session = kind(game_name, *args, clock=self.clock, **kwargs)
        with self.lock:
            self.expire()
            self.sessions[session.id] = session
            while len(self.sessions) > self.max_sessions:
                self.sessions.popitem(last=False)
        return session

    def expire(self) -> None:
        now = self.clock()
        for key in [k for k, s in self.sessions.items() if now - s.touched > self.ttl_s]:
            del self.sessions[key]

    def get(self, session_id: str) -> Any:
        """The live session ``session_id``.

        Raises:
            UnknownSessionError: no such session (never started, expired or dropped).
        """
        with self.lock:
            self.expire()
            session = self.sessions.get(session_id)
            if session is None:
                raise UnknownSessionError(
                    f"no play session {session_id!r} (it expired or the server restarted); start one from /play"
                )
            self.sessions.move_to_end(session_id)
            return session

    def __len__(self) -> int:
        return len(self.sessions)


__all__ = [
    "EPISODE_STEPS",
    "MAX_ROUNDS",
    "PLAYABLE_KINDS",
    "GameChoice",
    "PlaySession",
    "SessionError",
    "SessionStore",
    "UnknownSessionError",
    "equilibria_of",
    "nearest_equilibrium",
    "new_log_path",
    "playable_game",
    "playable_games",
    "total_variation",
]
