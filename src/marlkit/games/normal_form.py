"""Normal-form (matrix) games: n players choose actions at once and each receives a payoff.

A game is its payoff tensor ``payoffs[i, a_1, ..., a_n]`` (player i's payoff for joint action a), as in
the contract of docs/architecture.md; names and a citation ride along. Expected utilities are multilinear in the
players' mixed strategies (Shoham & Leyton-Brown 2009, Def. 3.2.7):

    U_i(σ) = Σ_a  Π_j σ_j(a_j) · u_i(a),         and for a correlated distribution μ:  U_i(μ) = Σ_a μ(a) u_i(a).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.metadata import FrozenDict, freeze_metadata
from marlkit.games.validation import (
    as_real_array,
    check_action_names,
    check_distributions,
    check_names,
    check_shape,
)

MixedProfile = Sequence[np.ndarray]
"""One mixed strategy (a probability vector of length A_i) per player."""


@dataclass(frozen=True, eq=False)
class NormalFormGame:
    """An n-player normal-form game with payoffs ``[n, A_1, ..., A_n]`` (float64, read-only after construction).

    ``metadata`` is frozen on construction (:mod:`marlkit.games.metadata`). The game as a one-state stochastic
    game, its repeated game and its other views are in :mod:`marlkit.games.views`.

    Example:
        >>> g = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], name="matching pennies")
        >>> g.expected_utility([np.array([0.5, 0.5]), np.array([0.5, 0.5])])
        array([0., 0.])
    """

    payoffs: np.ndarray
    name: str = ""
    player_names: tuple[str, ...] = ()
    action_names: tuple[tuple[str, ...], ...] = ()
    description: str = ""
    citation: str = ""
    metadata: Mapping[str, object] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        payoffs = as_real_array("payoffs", self.payoffs)
        if payoffs.ndim < 2:
            raise InvalidGameError(
                f"payoffs: expected shape [n_players, A_1, ..., A_n] with n >= 1, got {payoffs.shape}"
            )
        n = payoffs.shape[0]
        if payoffs.ndim != n + 1:
            raise InvalidGameError(
                f"payoffs: a game of {n} players needs {n + 1} dimensions [n, A_1..A_{n}], got shape "
                f"{payoffs.shape}; the first axis counts players, one further axis per player's actions"
            )
        if any(m < 1 for m in payoffs.shape[1:]):
            raise InvalidGameError(f"payoffs: every player needs at least one action, got shape {payoffs.shape}")
        object.__setattr__(self, "payoffs", payoffs)
        object.__setattr__(self, "player_names", check_names("player_names", self.player_names, n, "player"))
        object.__setattr__(self, "action_names", check_action_names(self.action_names, payoffs.shape[1:]))
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "metadata", freeze_metadata(self.metadata))

    # ----------------------------------------------------------------------------------------------- shape
    @property
    def n_players(self) -> int:
        return int(self.payoffs.shape[0])

    @property
    def num_actions(self) -> tuple[int, ...]:
        return tuple(int(m) for m in self.payoffs.shape[1:])

    # ------------------------------------------------------------------------------------------ utilities
    def check_profile(self, profile: MixedProfile) -> list[np.ndarray]:
        """Validate a mixed profile (one distribution per player) and return it as float64 arrays."""
        if len(profile) != self.n_players:
            raise InvalidGameError(f"profile: expected {self.n_players} mixed strategies, got {len(profile)}")
        checked = []
        for i, (strategy, m) in enumerate(zip(profile, self.num_actions, strict=True)):
            s = as_real_array(f"profile[{i}]", strategy, ndim=1)
            check_shape(f"profile[{i}]", s, (m,))
            check_distributions(f"profile[{i}]", s)
            checked.append(s)
        return checked

    def check_correlated(self, distribution: np.ndarray) -> np.ndarray:
        """Validate a correlated joint distribution ``[A_1, ..., A_n]`` summing to 1."""
        mu = as_real_array("distribution", distribution)
        check_shape("distribution", mu, self.num_actions)
        check_distributions("distribution", mu.reshape(1, -1))
        return mu

    def expected_utility(self, profile: MixedProfile) -> np.ndarray:
        """Expected payoff ``[n]`` of a mixed profile (Shoham & Leyton-Brown 2009, Def. 3.2.7)."""
        u = self.payoffs
        for strategy in reversed(self.check_profile(profile)):
            u = u @ strategy  # contracts the last action axis
        return np.asarray(u, dtype=np.float64)

    def expected_utility_correlated(self, distribution: np.ndarray) -> np.ndarray:
        """Expected payoff ``[n]`` under a correlated joint distribution μ over joint actions."""
        mu = self.check_correlated(distribution)
        return self.payoffs.reshape(self.n_players, -1) @ mu.reshape(-1)

    def pure_utility(self, joint_action: Sequence[int]) -> np.ndarray:
        """Payoff vector ``[n]`` of one joint action."""
        if len(joint_action) != self.n_players:
            raise InvalidGameError(f"joint_action: expected {self.n_players} actions, got {len(joint_action)}")
        for i, (a, m) in enumerate(zip(joint_action, self.num_actions, strict=True)):
            if not (0 <= int(a) < m):
                raise InvalidGameError(f"joint_action[{i}]: expected an action in 0..{m - 1}, got {a}")
        index: tuple[slice | int, ...] = (slice(None), *(int(a) for a in joint_action))
        return np.array(self.payoffs[index])

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        shape = "x".join(str(m) for m in self.num_actions)
        return f"<NormalFormGame{label}: {self.n_players} players, {shape} actions>"
