"""Every view of an exact game, in one place: a normal-form game read as a stochastic one, and back.

A normal-form game ``u[i, a_1..a_n]`` is the stochastic game with one state ``s0`` that every joint action returns
to, rewards ``R_i(s0, a) = u_i(a)``, initial distribution ``[1]`` and no terminal state (Shapley 1953; Filar &
Vrieze 1997, §3.1): with ``gamma = 0`` its value is the one-shot game's, with ``gamma > 0`` it is the infinitely
repeated game (Mertens, Sorin & Zamir 2015, ch. IV). Conversely the *stage game* of state s of a stochastic game is
the normal-form game of its expected rewards ``R(s, ·)``.

The tensors an algorithm reads — rewards ``[n, S, A_1..A_n]``, the action mask ``[n, S, A_max]`` and the live
joint actions ``[S, A_1..A_n]`` — are given here for both models, so no other module re-derives them.

This module is the one place that imports both game models: :mod:`.stochastic` depends on :mod:`.normal_form`
in neither direction, and :mod:`.normal_form` on nothing of stochastic games.

>>> from marlkit.games.normal_form import NormalFormGame
>>> pd = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], name="pd")
>>> repeated_game(pd, 0.9)
<StochasticGame 'repeated pd': 2 players, 1 states, actions 2x2, gamma=0.9>
>>> (num_states(pd), stage_game(repeated_game(pd, 0.9)).payoffs.tolist() == pd.payoffs.tolist())
(1, True)
"""

from __future__ import annotations

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.stochastic import StochasticGame

Game = NormalFormGame | StochasticGame
"""Any exact game model."""


def _expect_game(game: object, where: str) -> Game:
    if not isinstance(game, NormalFormGame | StochasticGame):
        raise InvalidGameError(
            f"{where}: expected a NormalFormGame or StochasticGame, got {type(game).__name__}; build one from "
            "marlkit.games (or marlkit.games.catalog.make)"
        )
    return game


def _one_state(game: NormalFormGame, gamma: float, name: str) -> StochasticGame:
    return StochasticGame(
        transitions=np.ones((1, *game.num_actions, 1)),
        rewards=game.payoffs[:, None, ...],
        initial=np.ones(1),
        gamma=gamma,
        name=name,
        player_names=game.player_names,
        action_names=game.action_names,
        state_names=("s0",),
        description=game.description,
        citation=game.citation,
    )


# ------------------------------------------------------------------------------------------ conversions
def repeated_game(stage: object, gamma: float) -> StochasticGame:
    """The infinitely repeated game of a normal-form game with discount ``gamma`` (one state, self-loop).

    ``gamma = 0`` gives the one-shot game as a one-state stochastic game (keeping its name); any other discount is
    named ``"repeated <name>"``.
    """
    if not isinstance(stage, NormalFormGame):
        raise InvalidGameError(f"repeated_game: expected a NormalFormGame, got {type(stage).__name__}")
    return _one_state(stage, gamma, stage.name if gamma == 0 else f"repeated {stage.name}".strip())


def as_stochastic(game: object) -> StochasticGame:
    """A stochastic game as it is; a normal-form game as its one-state game with ``gamma = 0`` (the one-shot game;
    use :func:`repeated_game` for another discount)."""
    game = _expect_game(game, "game")
    if isinstance(game, NormalFormGame):
        return repeated_game(game, 0.0)
    return game


def stage_game(game: object, state: int = 0) -> NormalFormGame:
    """The normal-form game of state ``state``'s expected rewards ``R(state, ·)`` (a normal-form game is its own
    stage game, state 0). Rewards of illegal joint actions are kept as stored; read :func:`action_mask` for them."""
    game = _expect_game(game, "stage_game")
    if not isinstance(state, int | np.integer) or not 0 <= int(state) < num_states(game):
        raise InvalidGameError(f"state: expected an index in 0..{num_states(game) - 1}, got {state!r}")
    if isinstance(game, NormalFormGame):
        return game
    return NormalFormGame(
        game.rewards[:, int(state)],
        name=game.name,
        player_names=game.player_names,
        action_names=game.action_names,
        description=game.description,
        citation=game.citation,
    )


def is_one_shot(game: object) -> bool:
    """True for a normal-form game and for a one-state stochastic game with ``gamma = 0`` (played once: its value
    is its stage game's)."""
    game = _expect_game(game, "is_one_shot")
    return isinstance(game, NormalFormGame) or (game.num_states == 1 and game.gamma == 0.0)


# ----------------------------------------------------------------------------------------- the tensors
def num_states(game: object) -> int:
    """1 for a normal-form game, else the stochastic game's state count."""
    game = _expect_game(game, "num_states")
    return 1 if isinstance(game, NormalFormGame) else game.num_states


def stage_rewards(game: object) -> np.ndarray:
    """Expected rewards ``[n, S, A_1..A_n]`` (read-only; ``S = 1`` for a normal-form game)."""
    game = _expect_game(game, "stage_rewards")
    if isinstance(game, NormalFormGame):
        return game.payoffs[:, None, ...]
    return game.rewards


def action_mask(game: object) -> np.ndarray:
    """Legal actions ``[n, S, A_max]`` per agent and state (a normal-form game: every action, one state)."""
    game = _expect_game(game, "action_mask")
    if isinstance(game, StochasticGame):
        return game.action_mask
    mask = np.zeros((game.n_players, 1, max(game.num_actions)), dtype=bool)
    for i, m in enumerate(game.num_actions):
        mask[i, 0, :m] = True
    mask.setflags(write=False)
    return mask


def terminal_states(game: object) -> np.ndarray:
    """``[S]`` absorbing states of value 0 (none in a normal-form game)."""
    game = _expect_game(game, "terminal_states")
    return np.zeros(1, dtype=bool) if isinstance(game, NormalFormGame) else game.terminal


def live_joint_actions(game: object) -> np.ndarray:
    """``[S, A_1..A_n]`` boolean: the legal joint actions of non-terminal states, the only entries ever paid."""
    game = _expect_game(game, "live_joint_actions")
    if isinstance(game, NormalFormGame):
        return np.ones((1, *game.num_actions), dtype=bool)
    return game.legal_joint_actions() & ~game.terminal.reshape((-1,) + (1,) * game.n_players)


__all__ = [
    "Game",
    "action_mask",
    "as_stochastic",
    "is_one_shot",
    "live_joint_actions",
    "num_states",
    "repeated_game",
    "stage_game",
    "stage_rewards",
    "terminal_states",
]
