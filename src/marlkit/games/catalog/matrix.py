"""Classic two-player matrix games (and pure coordination for n players), payoffs as in the cited sources.

Every game is a :class:`NormalFormGame` with ``payoffs[0]`` the row player's matrix and ``payoffs[1]`` the
column player's; the citation of each entry names where its numbers come from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.normal_form import NormalFormGame

ROW_COLUMN = ("row", "column")


def bimatrix(
    name: str,
    row: ArrayLike,
    column: ArrayLike,
    action_names: Sequence[str],
    **parameters: object,
) -> NormalFormGame:
    """A two-player game from the row and column players' payoff matrices; both have ``action_names``."""
    return NormalFormGame(
        np.stack([np.asarray(row, dtype=np.float64), np.asarray(column, dtype=np.float64)]),
        player_names=ROW_COLUMN,
        action_names=(tuple(action_names), tuple(action_names)),
        **labels(name, **parameters),
    )


def symmetric(
    name: str, row: Sequence[Sequence[float]], action_names: Sequence[str], **parameters: object
) -> NormalFormGame:
    """A symmetric two-player game: the column player's matrix is the transpose of the row player's."""
    row_matrix = np.asarray(row, dtype=np.float64)
    return bimatrix(name, row_matrix, row_matrix.T, action_names, **parameters)


def zero_sum(
    name: str, row: Sequence[Sequence[float]], action_names: Sequence[str], **parameters: object
) -> NormalFormGame:
    """A two-player zero-sum game: the column player's payoff is minus the row player's."""
    row_matrix = np.asarray(row, dtype=np.float64)
    return bimatrix(name, row_matrix, -row_matrix, action_names, **parameters)


def common_payoff(
    name: str,
    payoff: np.ndarray,
    action_names: Sequence[Sequence[str]],
    player_names: Sequence[str],
    **parameters: object,
) -> NormalFormGame:
    """A common-payoff (team) game: every player receives ``payoff[a]``."""
    payoff = np.asarray(payoff, dtype=np.float64)
    return NormalFormGame(
        np.stack([payoff] * payoff.ndim),
        player_names=tuple(player_names),
        action_names=tuple(tuple(a) for a in action_names),
        **labels(name, **parameters),
    )


# ------------------------------------------------------------------------------------------ social dilemmas
@register(
    "prisoners-dilemma",
    kind="normal-form",
    description="Prisoner's dilemma: defect strictly dominates, yet mutual cooperation Pareto-dominates.",
    citation="Axelrod 1984, The Evolution of Cooperation (Basic Books), ch. 1, Figure 1: T=5, R=3, P=1, S=0",
    aliases=("pd",),
)
def prisoners_dilemma(*, T: float = 5.0, R: float = 3.0, P: float = 1.0, S: float = 0.0) -> NormalFormGame:
    """Axelrod (1984, ch. 1, Fig. 1): (C,C) -> (R,R), (C,D) -> (S,T), (D,C) -> (T,S), (D,D) -> (P,P).

    A prisoner's dilemma needs T > R > P > S (temptation, reward, punishment, sucker's payoff).
    """
    t, r, p, s = (check.real(k, v) for k, v in (("T", T), ("R", R), ("P", P), ("S", S)))
    check.require(t > r > p > s, "T, R, P, S", "T > R > P > S", (T, R, P, S))
    return symmetric("prisoners-dilemma", [[r, s], [t, p]], ("cooperate", "defect"), T=t, R=r, P=p, S=s)


@register(
    "stag-hunt",
    kind="normal-form",
    description="Stag hunt: two pure equilibria, (stag, stag) payoff-dominant and (hare, hare) risk-dominant.",
    citation="Skyrms 2004, The Stag Hunt and the Evolution of Social Structure (CUP), ch. 1; default "
    "payoffs stag=4, hare=3, alone=0",
    aliases=("sh",),
)
def stag_hunt(*, stag: float = 4.0, hare: float = 3.0, alone: float = 0.0) -> NormalFormGame:
    """Rousseau's stag hunt as a game (Skyrms 2004, ch. 1): a hare is caught alone, a stag only together.

    (stag, stag) -> (stag, stag); (stag, hare) -> (alone, hare); (hare, ·) -> hare. A stag hunt needs
    stag > hare > alone; with the defaults (hare, hare) is risk-dominant (deviation loss 3 > 1).
    """
    v = {k: check.real(k, x) for k, x in (("stag", stag), ("hare", hare), ("alone", alone))}
    check.require(v["stag"] > v["hare"] > v["alone"], "stag, hare, alone", "stag > hare > alone", (stag, hare, alone))
    row = [[v["stag"], v["alone"]], [v["hare"], v["hare"]]]
    return symmetric("stag-hunt", row, ("stag", "hare"), **v)


@register(
    "chicken",
    kind="normal-form",
    description="Game of chicken: two pure asymmetric equilibria and a correlated equilibrium better than both.",
    citation="Aumann 1974, Subjectivity and correlation in randomized strategies, J. Math. Econ. 1(1):67-96, "
    "the 2x2 correlated-equilibrium example with payoffs (6,6) (2,7) (7,2) (0,0)",
)
def chicken() -> NormalFormGame:
    """Aumann's (1974) chicken: swerve/swerve 6 each, the one who goes straight against a swerver 7 (and the
    swerver 2), straight/straight 0. Pure equilibria (7,2) and (2,7), a mixed one (14/3, 14/3), and the
    correlated equilibrium uniform over the three other cells gives (5, 5)."""
    return symmetric("chicken", [[6, 2], [7, 0]], ("swerve", "straight"))


@register(
    "hawk-dove",
    kind="normal-form",
    description="Hawk-dove: contest over a resource of value V with fight cost C; mixed ESS hawk w.p. V/C.",
    citation="Maynard Smith 1982, Evolution and the Theory of Games (CUP), ch. 2 (the Hawk-Dove game); "
    "defaults V=2, C=4",
)
def hawk_dove(*, V: float = 2.0, C: float = 4.0) -> NormalFormGame:
    """Maynard Smith (1982, ch. 2): H vs H -> (V-C)/2 each, H vs D -> V to the hawk and 0 to the dove,
    D vs D -> V/2 each. With C > V the evolutionarily stable strategy plays hawk with probability V/C."""
    v, c = check.real("V", V), check.real("C", C)
    check.require(v > 0, "V", "a resource value V > 0", V)
    check.require(c > 0, "C", "a fight cost C > 0", C)
    return symmetric("hawk-dove", [[(v - c) / 2, v], [0.0, v / 2]], ("hawk", "dove"), V=v, C=c)


# --------------------------------------------------------------------------------------- coordination games
@register(
    "battle-of-the-sexes",
    kind="normal-form",
    description="Battle of the sexes (Bach or Stravinsky): coordinate, but each prefers a different event.",
    citation="Osborne & Rubinstein 1994, A Course in Game Theory (MIT Press), §2.3, Example 15.3 (BoS)",
    aliases=("bos", "bach-or-stravinsky"),
)
def battle_of_the_sexes() -> NormalFormGame:
    """Osborne & Rubinstein (1994, Ex. 15.3): (Bach, Bach) -> (2, 1), (Stravinsky, Stravinsky) -> (1, 2),
    miscoordination -> (0, 0)."""
    return bimatrix("battle-of-the-sexes", [[2, 0], [0, 1]], [[1, 0], [0, 2]], ("bach", "stravinsky"))


@register(
    "coordination",
    kind="normal-form",
    description="Pure coordination: every player gets 1 if all choose the same action, else 0.",
    citation="Shoham & Leyton-Brown 2009, Multiagent Systems (CUP), §3.2.1 (coordination game: 1 on a "
    "match, 0 otherwise), generalised to n players and m actions",
)
def coordination(*, actions: int = 2, players: int = 2) -> NormalFormGame:
    """Common payoff 1 when all ``players`` pick the same one of ``actions`` actions, 0 otherwise: m pure
    optimal equilibria that no player can tell apart, the textbook equilibrium-selection problem."""
    m = check.integer("actions", actions, 1)
    n = check.integer("players", players, 2)
    check.check_size(n, (m,) * n)
    payoff = np.zeros((m,) * n)
    payoff[(np.arange(m),) * n] = 1.0
    return common_payoff(
        "coordination",
        payoff,
        [tuple(f"a{k}" for k in range(m))] * n,
        tuple(f"player{i}" for i in range(n)),
        actions=m,
        players=n,
    )


@register(
    "climbing",
    kind="normal-form",
    description="Climbing game: common payoff, optimum 11 at (a0, b0) guarded by -30 miscoordination penalties.",
    citation="Claus & Boutilier 1998, The dynamics of reinforcement learning in cooperative multiagent "
    "systems, AAAI-98, §5 (the climbing game)",
)
def climbing() -> NormalFormGame:
    """Claus & Boutilier (1998, §5): the common payoff [[11, -30, 0], [-30, 7, 6], [0, 0, 5]]; independent
    learners tend to 'climb' to (a2, b2) or (a1, b1) instead of the optimum (a0, b0)."""
    payoff = np.array([[11, -30, 0], [-30, 7, 6], [0, 0, 5]], dtype=np.float64)
    return common_payoff("climbing", payoff, [("a0", "a1", "a2"), ("b0", "b1", "b2")], ROW_COLUMN)


@register(
    "penalty",
    kind="normal-form",
    description="Penalty game: common payoff, two optima 10 with penalty k for miscoordinating between them.",
    citation="Claus & Boutilier 1998, The dynamics of reinforcement learning in cooperative multiagent "
    "systems, AAAI-98, §5 (the penalty game, k <= 0)",
)
def penalty(*, k: float = -10.0) -> NormalFormGame:
    """Claus & Boutilier (1998, §5): the common payoff [[10, 0, k], [0, 2, 0], [k, 0, 10]] with k <= 0;
    optima 10 at (a0, b0) and (a2, b2), a safe 2 at (a1, b1), and k when the players pick different optima."""
    value = check.real("k", k)
    check.require(value <= 0, "k", "a penalty k <= 0", k)
    payoff = np.array([[10, 0, value], [0, 2, 0], [value, 0, 10]], dtype=np.float64)
    return common_payoff("penalty", payoff, [("a0", "a1", "a2"), ("b0", "b1", "b2")], ROW_COLUMN, k=value)


# ------------------------------------------------------------------------------------------ zero-sum games
@register(
    "matching-pennies",
    kind="normal-form",
    description="Matching pennies: zero-sum, the row player wins on a match; unique equilibrium uniform.",
    citation="Osborne & Rubinstein 1994, A Course in Game Theory (MIT Press), §2.3, Example 17.1",
    aliases=("mp",),
)
def matching_pennies() -> NormalFormGame:
    """Osborne & Rubinstein (1994, Ex. 17.1): the row player gets +1 on a match and -1 otherwise."""
    return zero_sum("matching-pennies", [[1, -1], [-1, 1]], ("heads", "tails"))


@register(
    "rock-paper-scissors",
    kind="normal-form",
    description="Rock-paper-scissors: zero-sum, win +1, lose -1, draw 0; unique equilibrium uniform.",
    citation="Shoham & Leyton-Brown 2009, Multiagent Systems (CUP), §3.2.1 (rock, paper, scissors)",
    aliases=("rps",),
)
def rock_paper_scissors() -> NormalFormGame:
    """Rock beats scissors, scissors beat paper, paper beats rock: +1 to the winner, -1 to the loser."""
    return zero_sum("rock-paper-scissors", [[0, -1, 1], [1, 0, -1], [-1, 1, 0]], ("rock", "paper", "scissors"))


@register(
    "biased-rps",
    kind="normal-form",
    description="Biased rock-paper-scissors: zero-sum, unique equilibrium (1/16, 10/16, 5/16), value 0.",
    citation="Bošanský, Lisý, Lanctot, Čermák & Winands 2016, Algorithms for computing strategies in "
    "two-player simultaneous move games, AIJ 237:1-40, Figure 7 (OpenSpiel's matrix_brps)",
    aliases=("brps",),
)
def biased_rps() -> NormalFormGame:
    """Row payoffs [[0, -25, 50], [25, 0, -5], [-50, 5, 0]] (Bošanský et al. 2016, Fig. 7, as OpenSpiel's
    ``matrix_brps``); both players' equilibrium strategy is (1/16, 10/16, 5/16) and the value is 0."""
    return zero_sum("biased-rps", [[0, -25, 50], [25, 0, -5], [-50, 5, 0]], ("rock", "paper", "scissors"))


@register(
    "shapley",
    kind="normal-form",
    description="Shapley's game: general-sum 3x3 on which fictitious play cycles; unique equilibrium uniform.",
    citation="Shapley 1964, Some topics in two-person games, Advances in Game Theory (Annals of Math. "
    "Studies 52), the 3x3 example where fictitious play fails to converge; layout as Shoham & "
    "Leyton-Brown 2009, ch. 7 (fictitious play)",
    aliases=("shapleys-game",),
)
def shapley() -> NormalFormGame:
    """Shapley's (1964) almost-rock-paper-scissors game: the winner gets 1, loser and ties 0.

    Row: [[0, 0, 1], [1, 0, 0], [0, 1, 0]], column: [[0, 1, 0], [0, 0, 1], [1, 0, 0]]; the unique
    equilibrium plays uniformly (payoff 1/3 each) and fictitious play orbits it without converging.
    """
    row = [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    column = [[0, 1, 0], [0, 0, 1], [1, 0, 0]]
    return bimatrix("shapley", row, column, ("rock", "paper", "scissors"))
