"""n-player games with two actions whose payoffs depend on one's own action and how many others chose each.

All four are *anonymous* binary games: ``u_i(a) = f(a_i, #{j : a_j = 1})``, built by :func:`binary_anonymous`
on the full ``[n, 2, ..., 2]`` payoff tensor (so ``players`` is bounded by the catalog's size limit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.normal_form import NormalFormGame

PayoffRule = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``f(own, ones)``: own actions (0/1) and the number of players choosing action 1, elementwise."""


def binary_anonymous(
    name: str, n_players: int, action_names: tuple[str, str], rule: PayoffRule, **parameters: object
) -> NormalFormGame:
    """The n-player game with ``payoffs[i, a] = rule(a_i, Σ_j a_j)`` over all ``2^n`` joint actions."""
    check.check_size(n_players, (2,) * n_players)
    joint = np.indices((2,) * n_players)  # joint[i] = player i's action at every joint action
    ones = joint.sum(axis=0)
    payoffs = np.stack([rule(joint[i], ones) for i in range(n_players)]).astype(np.float64)
    return NormalFormGame(
        payoffs,
        player_names=tuple(f"player{i}" for i in range(n_players)),
        action_names=(action_names,) * n_players,
        **labels(name, **parameters),
    )


@register(
    "public-goods",
    kind="normal-form",
    description="Linear public goods game: contribute the endowment to a pot multiplied by r and shared by all.",
    citation="Ledyard 1995, Public goods: a survey of experimental research, Handbook of Experimental "
    "Economics (Princeton UP), ch. 2 (the linear voluntary contribution mechanism, MPCR = r/n)",
    aliases=("pgg",),
)
def public_goods(*, players: int = 4, multiplier: float = 1.6, endowment: float = 1.0) -> NormalFormGame:
    """Each of n players keeps its endowment e or contributes all of it; the pot is multiplied by r and split
    equally: ``u_i = e·(1 - c_i) + r·e·C/n`` with c_i in {0, 1} and C contributors (Ledyard 1995).

    With 1 < r < n it is a social dilemma: defecting strictly dominates (a contribution returns r/n < 1 to the
    contributor) while everyone contributing gives each r·e > e. Actions: 0 = contribute, 1 = defect.
    """
    n = check.integer("players", players, 2)
    r = check.real("multiplier", multiplier)
    e = check.real("endowment", endowment)
    check.require(r > 0, "multiplier", "a multiplier r > 0 (a social dilemma needs 1 < r < players)", multiplier)
    check.require(e > 0, "endowment", "an endowment > 0", endowment)

    def rule(own: np.ndarray, defectors: np.ndarray) -> np.ndarray:
        contributors = n - defectors
        return e * own + r * e * contributors / n

    return binary_anonymous("public-goods", n, ("contribute", "defect"), rule, players=n, multiplier=r, endowment=e)


@register(
    "minority-game",
    kind="normal-form",
    description="Minority game: an odd number of players pick side A or B; those on the smaller side score 1.",
    citation="Challet & Zhang 1997, Emergence of cooperation and organization in an evolutionary game, "
    "Physica A 246:407-418 (winners on the minority side gain a point)",
)
def minority_game(*, players: int = 3) -> NormalFormGame:
    """n (odd) players choose A (0) or B (1); each player on the minority side gets 1, the majority gets 0
    (Challet & Zhang 1997). Every pure profile with (n-1)/2 players on one side is an equilibrium."""
    n = check.integer("players", players, 3)
    check.require(n % 2 == 1, "players", "an odd number of players >= 3 (so a strict minority exists)", players)

    def rule(own: np.ndarray, on_b: np.ndarray) -> np.ndarray:
        same_side = np.where(own == 1, on_b, n - on_b)
        return (2 * same_side < n).astype(np.float64)

    return binary_anonymous("minority-game", n, ("A", "B"), rule, players=n)


@register(
    "el-farol",
    kind="normal-form",
    description="El Farol bar: going pays +1 if attendance is within capacity and -1 if crowded; staying pays 0.",
    citation="Arthur 1994, Inductive reasoning and bounded rationality, AER 84(2):406-411 (the El Farol "
    "bar problem: 100 people, enjoyable when at most 60 attend); payoffs +1/-1/0 are marlkit's",
    aliases=("el-farol-bar",),
)
def el_farol(*, players: int = 5, capacity: int = 3) -> NormalFormGame:
    """n players choose go (0) or stay (1): a goer gets +1 when attendance <= capacity and -1 otherwise, a
    stayer 0 (Arthur 1994 posed 100 players and capacity 60; the default keeps his 60% ratio at n = 5)."""
    n = check.integer("players", players, 2)
    c = check.integer("capacity", capacity, 0, n)

    def rule(own: np.ndarray, staying: np.ndarray) -> np.ndarray:
        attendance = n - staying
        return np.where(own == 0, np.where(attendance <= c, 1.0, -1.0), 0.0)

    return binary_anonymous("el-farol", n, ("go", "stay"), rule, players=n, capacity=c)


@register(
    "volunteers-dilemma",
    kind="normal-form",
    description="Volunteer's dilemma: all gain the benefit if at least one volunteers; volunteering costs c.",
    citation="Diekmann 1985, Volunteer's dilemma, Journal of Conflict Resolution 29(4):605-610 (n players, "
    "benefit U if at least one pays the cost K < U)",
    aliases=("volunteer", "vod"),
)
def volunteers_dilemma(*, players: int = 3, benefit: float = 1.0, cost: float = 0.5) -> NormalFormGame:
    """n players volunteer (0) or ignore (1): everyone gets the benefit b when at least one volunteers, and a
    volunteer pays the cost c (0 < c < b), so a volunteer gets b - c, an ignorer b if someone volunteered else 0
    (Diekmann 1985). Pure equilibria: exactly one volunteers. With the defaults (3 players, b = 1, c = 0.5)
    there are 7 equilibria: the 3 pure ones, 3 where two players volunteer with probability 1/2 and the third
    ignores, and the symmetric one where each ignores with probability (c/b)^(1/(n-1)) = 1/√2."""
    n = check.integer("players", players, 2)
    b = check.real("benefit", benefit)
    c = check.real("cost", cost)
    check.require(b > 0, "benefit", "a benefit b > 0", benefit)
    check.require(0 < c < b, "cost", "a cost 0 < c < benefit", cost)

    def rule(own: np.ndarray, ignoring: np.ndarray) -> np.ndarray:
        return np.where(own == 0, b - c, np.where(ignoring < n, b, 0.0))

    return binary_anonymous("volunteers-dilemma", n, ("volunteer", "ignore"), rule, players=n, benefit=b, cost=c)
