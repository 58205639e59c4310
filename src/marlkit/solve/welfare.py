"""Social welfare of payoff vectors: utilitarian, egalitarian and the Nash product.

Every function takes payoffs of shape ``[n]`` (one outcome) or ``[..., n]`` (a batch of outcomes, players on the
last axis) and returns a float or an array of shape ``[...]``:

* **utilitarian** W(u) = Σ_i u_i (Harsanyi 1955; the "sum of payoffs" of Albrecht, Christianos & Schäfer 2024,
  *Multi-Agent Reinforcement Learning*, §4.9 "Social welfare and fairness").
* **egalitarian** W(u) = min_i u_i (Rawls 1971; max-min fairness, Albrecht et al. 2024, §4.9).
* **Nash product** W(u) = Π_i max(u_i - d_i, 0) with a disagreement point d (Nash 1950, "The bargaining problem",
  Econometrica 18(2):155-162: the bargaining solution maximises Π_i (u_i - d_i) over the outcomes with u >= d).
  Outcomes below d in some coordinate are outside the bargaining set and score 0, so a product of two negative
  gains never counts as a positive one. **Default d = 0.** :func:`pure_security_levels` gives the usual game-based
  choice, each player's pure maximin payoff ``max_{a_i} min_{a_-i} u_i(a)``; equilibrium selection uses it.

``WELFARE`` maps each name to its function; all of them take the payoff array as their only required argument.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.validation import as_real_array

WelfareFunction = Callable[[np.ndarray], "float | np.ndarray"]


def _payoffs(values: object) -> np.ndarray:
    u = as_real_array("payoffs", values)
    if u.ndim == 0 or u.shape[-1] == 0:
        raise InvalidGameError(
            f"payoffs: expected a payoff vector [n] or a batch [..., n] with n >= 1 players, got shape {u.shape}"
        )
    return u


def _scalar_or_array(w: np.ndarray) -> float | np.ndarray:
    return float(w) if w.ndim == 0 else w


def utilitarian(values: object) -> float | np.ndarray:
    """Σ_i u_i over the last axis (utilitarian welfare)."""
    return _scalar_or_array(_payoffs(values).sum(axis=-1))


def egalitarian(values: object) -> float | np.ndarray:
    """min_i u_i over the last axis (egalitarian, max-min welfare)."""
    return _scalar_or_array(_payoffs(values).min(axis=-1))


def nash_product(values: object, disagreement: object = None) -> float | np.ndarray:
    """Π_i max(u_i - d_i, 0) over the last axis (Nash 1950); ``disagreement`` d is ``[n]`` or a scalar, default 0.
    A product beyond float64's range (payoffs near 1e300) is ``inf``."""
    u = _payoffs(values)
    n = u.shape[-1]
    d = np.zeros(n) if disagreement is None else as_real_array("disagreement", disagreement)
    if d.ndim == 0:
        d = np.full(n, float(d))
    if d.shape != (n,):
        raise InvalidGameError(f"disagreement: expected a scalar or one value per player, shape ({n},), got {d.shape}")
    with np.errstate(over="ignore"):  # a product beyond float64's range is inf (ranked by its log elsewhere)
        return _scalar_or_array(np.prod(np.maximum(u - d, 0.0), axis=-1))


WELFARE: dict[str, WelfareFunction] = {
    "utilitarian": utilitarian,
    "egalitarian": egalitarian,
    "nash-product": nash_product,
}
"""Welfare functions by name (``nash-product`` with its default disagreement point 0)."""


def welfare_function(name: str) -> WelfareFunction:
    """The welfare function registered as ``name``; raises :class:`UnknownNameError` listing the valid names."""
    try:
        return WELFARE[name]
    except (KeyError, TypeError):
        raise UnknownNameError(f"unknown welfare {name!r}; expected one of {sorted(WELFARE)}") from None


def pure_security_levels(game: NormalFormGame) -> np.ndarray:
    """``[n]``: each player's pure security level ``max_{a_i} min_{a_-i} u_i(a_i, a_-i)``.

    It is what a player guarantees itself with a pure action whatever the others do; every Nash equilibrium pays
    each player at least its (mixed) security level, which is at least this, so Nash products of equilibria
    against this point are never clipped. For the mixed security level see
    :func:`marlkit.solve.zero_sum.security_strategies`.
    """
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"pure_security_levels: expected a NormalFormGame, got {type(game).__name__}")
    levels = []
    for i in range(game.n_players):
        own_first = np.moveaxis(game.payoffs[i], i, 0).reshape(game.num_actions[i], -1)
        levels.append(own_first.min(axis=1).max())
    return np.array(levels, dtype=np.float64)
