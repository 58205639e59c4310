"""Other-Play: coordination that does not rely on arbitrary conventions (Hu, Lerer, Peysakhovich & Foerster 2020).

Agents trained together (self-play, SP) coordinate on conventions: among equivalent ways to succeed they break the
tie arbitrarily, and a new partner — another SP agent, or a person — picks another one. Other-Play (OP) trains
against the partner's policy relabelled by a random symmetry φ of the game (:mod:`marlkit.games.properties.
action_symmetry`), so no arbitrary convention pays (Hu et al. 2020, eq. 2):

    J_OP(π¹, π²) = E_{φ ~ U(Φ)} J(π¹, φ(π²)),

where φ(π²) plays ``σ_2(a)`` whenever π² plays ``a``. On a two-player normal-form game J is bilinear, and since
``σ_2(a)`` is uniform on the orbit of ``a`` when φ is uniform on Φ,

    J_OP(π¹, π²) = π¹ᵀ Ū π²,   Ū_i(a, b) = mean_{c ∈ orbit_2(b)} U_i(a, c),

the **Other-Play game** Ū (:func:`other_play_game`). OP is self-play on Ū: any learner trained on Ū optimises the
OP objective (in expectation: Ū averages over φ where OP training samples one φ per episode), and on a
common-payoff game the OP-optimal policies are the optima of Ū (:func:`other_play_optimum`: a bilinear form is
maximised at a pure pair, so the maximum over pure pairs is exact).

The **cross-play** value of a policy pair — what it earns with an independently trained partner that followed
the same recipe and so found an equivalent policy up to a uniformly random symmetry — is ``J(π¹, φ(π²))`` in
expectation over φ, i.e. ``J_OP`` again (:func:`cross_play_value`). Hu et al.'s lever game (§3, :func:`lever_game`):
SP picks one of the nine levers worth 1.0 (1.0 in self-play, 1/9 in cross-play); OP picks the unique lever worth
0.9 (0.9 in both).

Stochastic games, whose symmetries also relabel states: :mod:`marlkit.human.other_play_stochastic` (on a one-state
game it gives this module's values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from marlkit.errors import NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties.action_symmetry import ActionSymmetries, action_symmetries
from marlkit.games.properties.descriptor import require_common_payoff, require_normal_form, require_players


def lever_game(levers: int = 10, low: float = 0.9) -> NormalFormGame:
    """Hu et al. (2020, §3)'s lever game: two players each pull one of ``levers`` levers; if they pull the same one
    both get its value — 1.0 for all levers but the last, which pays ``low`` — and 0 otherwise."""
    if int(levers) != levers or levers < 2:
        raise NotApplicableError(f"lever_game: levers must be an integer >= 2, got {levers!r}")
    if not 0 < low < 1:
        raise NotApplicableError(f"lever_game: low must be in (0, 1), got {low!r}")
    values = np.ones(int(levers))
    values[-1] = low
    payoff = np.diag(values)
    names = tuple(f"lever {k}" for k in range(int(levers)))
    return NormalFormGame(np.stack([payoff, payoff]), player_names=("A", "B"), action_names=(names, names))


def other_play_game(game: NormalFormGame, symmetries: ActionSymmetries | None = None) -> NormalFormGame:
    """The Other-Play game Ū of a two-player normal-form game: player 2's actions averaged over their orbits
    (module docstring). Training any learner on it optimises the OP objective.

    Raises:
        NotApplicableError: not a two-player normal-form game.
    """
    game = require_normal_form(game, "Other-Play")
    require_players(game, "Other-Play", 2)
    symmetries = symmetries or action_symmetries(game)
    averaged = np.empty_like(game.payoffs)
    for orbit in symmetries.orbits[1]:
        averaged[:, :, list(orbit)] = game.payoffs[:, :, list(orbit)].mean(axis=2, keepdims=True)
    return NormalFormGame(
        averaged,
        player_names=game.player_names,
        action_names=game.action_names,
        metadata={"other_play_of": game.metadata.get("name", "game")},
    )


def cross_play_value(
    game: NormalFormGame, first: np.ndarray, second: np.ndarray, symmetries: ActionSymmetries | None = None
) -> np.ndarray:
    """``[2]``: each player's expected payoff when ``first`` (player 1's mixed strategy) meets ``second`` relabelled
    by a uniformly random symmetry — the Other-Play objective, and the expected score with an independently
    trained partner of the same recipe."""
    bar = other_play_game(game, symmetries)
    return np.einsum("iab,a,b->i", bar.payoffs, _strategy(first, game, 0), _strategy(second, game, 1))


@dataclass(frozen=True)
class OtherPlayComparison:
    """Self-play vs Other-Play on a common-payoff two-player game (exact).

    Attributes:
        symmetries: the action orbits.
        self_play_optima: the joint actions that maximise the game's payoff (what SP converges to).
        self_play_value: their payoff with themselves.
        self_play_cross_play: the mean over the SP optima of their cross-play value (an SP agent with an
            independently trained SP partner).
        other_play_optima: the joint actions that maximise Ū.
        other_play_value: their payoff in the game itself (self-play value of the OP policy).
        other_play_cross_play: their cross-play value (Ū at the optimum).
    """

    symmetries: ActionSymmetries
    self_play_optima: tuple[tuple[int, int], ...]
    self_play_value: float
    self_play_cross_play: float
    other_play_optima: tuple[tuple[int, int], ...]
    other_play_value: float
    other_play_cross_play: float

    def to_json(self) -> dict[str, object]:
        return {
            "symmetries": self.symmetries.to_json(),
            "self_play": {
                "optima": [list(a) for a in self.self_play_optima],
                "value": self.self_play_value,
                "cross_play": self.self_play_cross_play,
            },
            "other_play": {
                "optima": [list(a) for a in self.other_play_optima],
                "value": self.other_play_value,
                "cross_play": self.other_play_cross_play,
            },
        }

    def lines(self, game: NormalFormGame | None = None) -> list[str]:
        def names(joint: tuple[int, int]) -> str:
            if game is not None and game.action_names:
                return "(" + ", ".join(game.action_names[i][a] for i, a in enumerate(joint)) + ")"
            return str(joint)

        return [
            "action orbits (symmetries of the game):",
            *("  " + line for line in self.symmetries.lines(game)),
            f"self-play:  {_optima(self.self_play_optima)}, e.g. {names(self.self_play_optima[0])}; value "
            f"{self.self_play_value:.4g} with itself, {self.self_play_cross_play:.4g} in cross-play",
            f"other-play: {_optima(self.other_play_optima)}, e.g. {names(self.other_play_optima[0])}; value "
            f"{self.other_play_value:.4g} with itself, {self.other_play_cross_play:.4g} in cross-play",
        ]


def other_play_optimum(game: NormalFormGame, tol: float = 1e-9) -> OtherPlayComparison:
    """Self-play and Other-Play optima of a common-payoff two-player normal-form game, with their self-play and
    cross-play values (exact; see the module docstring).

    Raises:
        NotApplicableError: not a two-player common-payoff normal-form game.
    """
    game = require_normal_form(game, "Other-Play")
    require_players(game, "Other-Play", 2, instead="Other-Play's optima are computed for two players.")
    require_common_payoff(game, "Other-Play")
    symmetries = action_symmetries(game)
    payoff = game.payoffs[0]
    bar = other_play_game(game, symmetries).payoffs[0]
    sp = _argmax_pairs(payoff, tol)
    op = _argmax_pairs(bar, tol)
    return OtherPlayComparison(
        symmetries=symmetries,
        self_play_optima=sp,
        self_play_value=float(payoff.max()),
        self_play_cross_play=float(np.mean([bar[a, b] for a, b in sp])),
        other_play_optima=op,
        other_play_value=float(np.mean([payoff[a, b] for a, b in op])),
        other_play_cross_play=float(bar.max()),
    )


def _optima(optima: tuple[tuple[int, int], ...]) -> str:
    return f"{len(optima)} optim{'um' if len(optima) == 1 else 'a'}"


def _argmax_pairs(payoff: np.ndarray, tol: float) -> tuple[tuple[int, int], ...]:
    best = payoff.max()
    rows, columns = np.nonzero(payoff >= best - tol * max(1.0, abs(best)))
    return tuple((int(a), int(b)) for a, b in zip(rows, columns, strict=True))


def _strategy(strategy: Sequence[float] | np.ndarray, game: NormalFormGame, player: int) -> np.ndarray:
    values = np.asarray(strategy, dtype=np.float64)
    size = game.payoffs.shape[1 + player]
    if values.shape != (size,) or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise NotApplicableError(f"player {player}'s strategy: expected {size} non-negative probabilities")
    if abs(values.sum() - 1) > 1e-6:  # float32 policies of learners sum to 1 within ~1e-7
        raise NotApplicableError(f"player {player}'s strategy: sums to {values.sum():.6g}, not 1")
    return values / values.sum()


__all__ = ["OtherPlayComparison", "cross_play_value", "lever_game", "other_play_game", "other_play_optimum"]
