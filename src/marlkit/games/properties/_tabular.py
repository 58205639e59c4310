"""One tabular view of any exact game, so that every property is computed by one code path.

The tensors come from :mod:`marlkit.games.views`. A normal-form game is read as a one-state game without
transitions (its payoffs are exact: no discounting, no dynamics); a stochastic game as its reward, transition and
action-mask tensors. Partially observable and
constrained games are read through their underlying state-based game (observations and costs are ignored here;
the homogeneity test reads a constrained game's costs and limits itself, :mod:`.symmetry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.stochastic import StochasticGame
from marlkit.games.views import Game, action_mask, live_joint_actions, stage_rewards, terminal_states

DEFAULT_TOLERANCE = 1e-9
"""Absolute tolerance for comparing payoffs (docs/architecture.md: exact models, tolerance 1e-9)."""


@dataclass(frozen=True, eq=False)
class TabularView:
    """The tensors a property test reads.

    Attributes:
        game: the game viewed.
        rewards: ``[n, S, A_1, ..., A_n]`` (``S = 1`` for a normal-form game).
        transitions: ``[S, A_1, ..., A_n, S']``, or ``None`` for a normal-form game.
        initial: ``[S]`` initial distribution.
        action_mask: ``[n, S, A_max]`` legal actions per agent and state.
        live: ``[S, A_1, ..., A_n]`` legal joint actions of non-terminal states (the entries that matter).
        terminal: ``[S]`` absorbing states of value 0.
    """

    game: Game
    rewards: np.ndarray
    transitions: np.ndarray | None
    initial: np.ndarray
    action_mask: np.ndarray
    live: np.ndarray
    terminal: np.ndarray

    @property
    def n_players(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def num_states(self) -> int:
        return int(self.rewards.shape[1])

    @property
    def num_actions(self) -> tuple[int, ...]:
        return tuple(int(m) for m in self.rewards.shape[2:])

    @property
    def is_normal_form(self) -> bool:
        return self.transitions is None

    def reachable(self) -> np.ndarray:
        """``[S]`` boolean: states reachable from the initial support under *some* sequence of legal joint actions.

        Breadth-first search on the graph ``s -> s'`` with an edge when some legal joint action of a non-terminal
        ``s`` has ``T(s'|s, a) > 0``. Every state visited with positive probability under any joint policy is in
        this set, so properties of U may be checked on it alone. Cost O(S·|A|·S).
        """
        reached = self.initial > 0
        if self.transitions is None:
            return reached
        S = self.num_states
        edges = ((self.transitions > 0) & self.live[..., None]).reshape(S, -1, S).any(axis=1)
        frontier = reached.copy()
        while frontier.any():
            nxt = edges[frontier].any(axis=0) & ~reached
            reached |= nxt
            frontier = nxt
        return reached


def tabular_view(game: object, where: str) -> TabularView:
    """The :class:`TabularView` of ``game`` (its tensors from :mod:`marlkit.games.views`); raise a clear error for
    anything that is not an exact game."""
    if not isinstance(game, NormalFormGame | StochasticGame):
        raise InvalidGameError(
            f"{where}: expected a NormalFormGame or StochasticGame, got {type(game).__name__}; build one from "
            "marlkit.games (or marlkit.games.catalog.make)"
        )
    return TabularView(
        game=game,
        rewards=stage_rewards(game),
        transitions=None if isinstance(game, NormalFormGame) else game.transitions,
        initial=np.ones(1) if isinstance(game, NormalFormGame) else game.initial,
        action_mask=action_mask(game),
        live=live_joint_actions(game),
        terminal=terminal_states(game),
    )


def game_label(game: Game) -> str:
    return repr(game.name) if game.name else f"this {type(game).__name__}"


# --------------------------------------------------------------------------------------- permutations
def inverse(sigma: Sequence[int]) -> tuple[int, ...]:
    inv = [0] * len(sigma)
    for i, j in enumerate(sigma):
        inv[j] = i
    return tuple(inv)


def permute_joint_action(sigma: Sequence[int], joint_action: Sequence[int]) -> tuple[int, ...]:
    """``a^σ``: the joint action in which agent ``σ(j)`` plays what agent ``j`` played (``a^σ_σ(j) = a_j``)."""
    permuted = [0] * len(sigma)
    for j, a in enumerate(joint_action):
        permuted[sigma[j]] = int(a)
    return tuple(permuted)


def permute_action_axes(tensor: np.ndarray, sigma: Sequence[int], first: int) -> np.ndarray:
    """Move the joint-action axes ``first .. first+n-1`` so that ``out[.., b, ..] = tensor[.., a, ..]``, b = a^σ.

    ``out[b_1..b_n] = tensor[b_σ(1), ..., b_σ(n)]``, i.e. output axis ``k`` is input axis ``σ^{-1}(k)``.
    """
    n = len(sigma)
    axes = list(range(tensor.ndim))
    axes[first : first + n] = [first + j for j in inverse(sigma)]
    return np.transpose(tensor, axes)


def permute_players(rewards: np.ndarray, sigma: Sequence[int]) -> np.ndarray:
    """``R^σ[σ(i), s, a^σ] = R[i, s, a]`` for a reward tensor ``[n, S, A_1..A_n]``.

    A game is invariant under σ (in the sense of :mod:`.symmetry`) iff ``R^σ == R``: agent σ(i), handed
    agent i's actions, receives agent i's reward.
    """
    return permute_action_axes(rewards[list(inverse(sigma))], sigma, first=2)


def generators(n: int) -> tuple[tuple[int, ...], ...]:
    """A generating set of the symmetric group S_n: the transposition (0 1) and the n-cycle (0 1 ... n-1).

    Proof: conjugating (0 1) by the k-th power of the n-cycle c gives c^k (0 1) c^-k = (k k+1), so every adjacent
    transposition is generated, and adjacent transpositions generate S_n (bubble sort sorts any arrangement by
    adjacent swaps). For n = 2 the two coincide; for n = 1 the group is trivial.
    """
    if n < 2:
        return ()
    swap = (1, 0, *range(2, n))
    cycle = tuple((i + 1) % n for i in range(n))
    return (swap,) if n == 2 else (swap, cycle)
