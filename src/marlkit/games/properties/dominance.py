"""Strictly dominant pure strategies of a normal-form game (Shoham & Leyton-Brown 2009, §3.4.3).

Action a of player i is *strictly dominant* when u_i(a, a_-i) > u_i(b, a_-i) for every other action b and every
profile a_-i of the others (strict by more than the tolerance). At most one action per player can be strictly
dominant; a player with a single action has it, vacuously. Dominance by pure strategies against pure profiles is
the same as against mixed ones (the payoff is linear in the others' mixed strategies).
"""

from __future__ import annotations

import numpy as np

from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties._tabular import DEFAULT_TOLERANCE
from marlkit.games.properties.descriptor import require_normal_form


def dominant_strategies(game: NormalFormGame, tol: float = DEFAULT_TOLERANCE) -> tuple[int | None, ...]:
    """Each player's strictly dominant pure strategy, or ``None`` where it has none.

    Example (prisoner's dilemma, defect = action 1 is strictly dominant for both):
        >>> g = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]])
        >>> dominant_strategies(g)
        (1, 1)
    """
    game = require_normal_form(
        game, "dominant_strategies", instead="For a stochastic game analyse a stage game (stage_game(game, s))."
    )
    result: list[int | None] = []
    for i in range(game.n_players):
        u = np.moveaxis(game.payoffs[i], i, 0).reshape(game.num_actions[i], -1)  # [A_i, others' profiles]
        best = int(np.argmax(u.min(axis=1)))  # a dominant action must have the largest worst case
        others = np.delete(u, best, axis=0)
        margin = (u[best][None, :] - others).min(initial=np.inf)
        result.append(best if margin > tol else None)
    return tuple(result)
