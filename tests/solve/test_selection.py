"""Equilibrium selection: stag hunt, battle of the sexes, chicken, larger games, properties and bad input."""

from __future__ import annotations

import json
import warnings

import nashpy
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.errors import InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.n_player import pure_equilibria
from marlkit.solve.selection import CRITERIA, select_equilibrium

# Stag hunt (Harsanyi & Selten 1988, §3.9; Skyrms 2004, ch. 1): stag/stag 4, hare 3 whatever the other does,
# stag alone 0. Row payoffs [[4, 0], [3, 3]].
STAG_HUNT = NormalFormGame(
    [[[4, 0], [3, 3]], [[4, 3], [0, 3]]], action_names=[["stag", "hare"]] * 2, player_names=["row", "column"]
)
# Osborne & Rubinstein (1994, Ex. 15.3).
BOS = NormalFormGame(
    [[[2, 0], [0, 1]], [[1, 0], [0, 2]]], action_names=[["bach", "stravinsky"]] * 2, player_names=["row", "column"]
)
# Aumann (1974) chicken.
CHICKEN = NormalFormGame([[[6, 2], [7, 0]], [[6, 7], [2, 0]]], action_names=[["swerve", "dare"]] * 2)


def vertex_equilibria(game: NormalFormGame) -> list[list[np.ndarray]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nashpy warns on degenerate games
        return [list(e) for e in nashpy.Game(*game.payoffs).vertex_enumeration()]


def by_label(selection) -> dict:
    return {r.label: r for r in selection.ranked}


def test_stag_hunt_payoff_and_risk_dominance():
    eqs = vertex_equilibria(STAG_HUNT)  # (stag, stag), (hare, hare) and the mixed (3/4 stag, 3/4 stag)
    assert len(eqs) == 3
    payoff = select_equilibrium(STAG_HUNT, eqs, "payoff")
    assert payoff.chosen.label == "(stag, stag)"
    assert "(stag, stag) payoff-dominates (hare, hare): 4 > 3 for both players" in payoff.chosen.reason
    assert by_label(payoff)["(hare, hare)"].rank == 2
    # Harsanyi & Selten 1988 §3.9: deviation losses at (stag, stag) (4-3)(4-3) = 1, at (hare, hare) (3-0)(3-0) = 9.
    risk = select_equilibrium(STAG_HUNT, eqs, "risk")
    assert risk.chosen.label == "(hare, hare)"
    assert "(hare, hare) risk-dominates (stag, stag): deviation-loss product 9 > 1" in risk.chosen.reason
    assert "losses 3·3 vs 1·1" in risk.chosen.reason
    ranked = [r.label for r in risk.ranked]
    assert ranked[:2] == ["(hare, hare)", "(stag, stag)"]
    assert "mixed" in risk.ranked[2].reason
    assert select_equilibrium(STAG_HUNT, eqs, "pareto").chosen.label == "(stag, stag)"
    json.loads(json.dumps(risk.to_dict()))


def test_battle_of_the_sexes_has_no_payoff_dominant_equilibrium():
    eqs = vertex_equilibria(BOS)
    payoff = select_equilibrium(BOS, eqs, "payoff")
    assert payoff.chosen is None
    assert payoff.summary.startswith("no payoff-dominant equilibrium")
    assert all(r.rank == 1 for r in payoff.ranked)
    assert "(bach, bach) is not payoff-dominant: against (stravinsky, stravinsky), column gets 1 <= 2" in (
        by_label(payoff)["(bach, bach)"].reason
    )
    # Risk: both pure equilibria have deviation-loss product 2 * 1 = 1 * 2: a tie, nothing selected.
    risk = select_equilibrium(BOS, eqs, "risk")
    assert risk.chosen is None
    assert "ties with" in by_label(risk)["(bach, bach)"].reason
    # Pareto: the two pure equilibria are undominated, the mixed one (2/3, 2/3) is dominated by both.
    pareto = select_equilibrium(BOS, eqs, "pareto")
    assert pareto.chosen is None
    assert sorted(r.rank for r in pareto.ranked) == [1, 1, 3]


def test_chicken_welfare_rankings():
    eqs = vertex_equilibria(CHICKEN)  # (7,2), (2,7) and the mixed (14/3, 14/3) (Aumann 1974)
    util = select_equilibrium(CHICKEN, eqs, "utilitarian")
    assert util.chosen is util.ranked[0]
    assert util.chosen.score == pytest.approx(28 / 3)
    assert [r.rank for r in util.ranked] == [1, 2, 2]
    assert sorted(r.score for r in util.ranked[1:]) == pytest.approx([9.0, 9.0])
    assert "utilitarian welfare 9.33333" in util.chosen.reason
    egal = select_equilibrium(CHICKEN, eqs, "egalitarian")
    assert egal.chosen.score == pytest.approx(14 / 3)
    # Nash product against the pure security levels (2, 2): (14/3 - 2)^2 = 64/9 for the mixed one, 0 for the others.
    nash = select_equilibrium(CHICKEN, eqs, "nash-product")
    assert nash.chosen.score == pytest.approx(64 / 9)
    assert [r.score for r in nash.ranked[1:]] == pytest.approx([0.0, 0.0])
    # Pareto: (7,2), (2,7), (14/3, 14/3): none dominates another; payoff dominance selects none either.
    assert select_equilibrium(CHICKEN, eqs, "pareto").chosen is None
    assert select_equilibrium(CHICKEN, eqs, "payoff").chosen is None
    # Only the pure ones: the two tie on utilitarian welfare 9, so nothing is selected.
    pure = select_equilibrium(CHICKEN, pure_equilibria(CHICKEN), "utilitarian")
    assert pure.chosen is None and "tie" in pure.summary


def test_risk_dominance_in_a_larger_game():
    # 3x3 coordination with diagonal payoffs k+1 for both: at (k,k) vs (j,j) the restricted 2x2 game's deviation
    # losses are (k+1)·(k+1), so (a2, a2) (product 9) risk-dominates the others (4 and 1).
    game = NormalFormGame(np.stack([np.diag([1.0, 2.0, 3.0])] * 2))
    sel = select_equilibrium(game, pure_equilibria(game), "risk")
    assert sel.chosen.label == "(a2, a2)"
    assert [r.score for r in sel.ranked] == [2.0, 1.0, 0.0]
    # Two pure equilibria sharing the row action are not comparable (the 2x2 restriction is degenerate).
    shared = NormalFormGame([[[1, 1], [0, 0]], [[1, 1], [0, 0]]])
    sel = select_equilibrium(shared, pure_equilibria(shared), "risk")
    assert sel.chosen is None
    assert all("not comparable" in r.reason for r in sel.ranked)


def test_accepts_equilibrium_sets_and_profiles():
    ess = pure_equilibria(STAG_HUNT)
    a = select_equilibrium(STAG_HUNT, ess, "payoff")
    b = select_equilibrium(STAG_HUNT, list(ess), "payoff")
    c = select_equilibrium(STAG_HUNT, [e.profile for e in ess], "payoff")
    assert a.chosen.label == b.chosen.label == c.chosen.label == "(stag, stag)"


def test_n_player_payoff_dominance():
    game = NormalFormGame(np.stack([np.diag([1.0, 2.0])[:, :, None] * np.eye(2)[None, :, :]] * 3))  # 3 players
    sel = select_equilibrium(game, pure_equilibria(game), "payoff")
    assert sel.chosen.label == "(a1, a1, a1)"
    assert "2 > 1 for all 3 players" in sel.chosen.reason


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 4), st.integers(2, 4))
def test_random_games_rankings_are_consistent(seed: int, rows: int, cols: int):
    game = NormalFormGame(np.random.default_rng(seed).normal(size=(2, rows, cols)))
    eqs = vertex_equilibria(game)
    for name in CRITERIA:
        sel = select_equilibrium(game, eqs, name)
        assert len(sel.ranked) == len(eqs)
        scores = [r.score for r in sel.ranked]
        assert scores == sorted(scores, reverse=True)
        assert [r.rank for r in sel.ranked] == sorted(r.rank for r in sel.ranked) and sel.ranked[0].rank == 1
        if sel.chosen is not None:
            assert sel.chosen is sel.ranked[0]
        json.dumps(sel.to_dict())
    payoff = select_equilibrium(game, eqs, "payoff")
    if payoff.chosen is not None:  # strictly better for every player than every other equilibrium
        for r in payoff.ranked[1:]:
            assert np.all(payoff.chosen.values > r.values)
    util = select_equilibrium(game, eqs, "utilitarian")
    assert util.ranked[0].score == pytest.approx(max(float(np.sum(game.expected_utility(e))) for e in eqs))


def test_bad_input():
    eqs = vertex_equilibria(STAG_HUNT)
    with pytest.raises(UnknownNameError, match=r"'egalitarian'.*'risk'"):
        select_equilibrium(STAG_HUNT, eqs, "fairness")
    three = NormalFormGame(np.zeros((3, 2, 2, 2)))
    with pytest.raises(NotApplicableError, match="two-player"):
        select_equilibrium(three, pure_equilibria(three), "risk")
    with pytest.raises(InvalidGameError, match="empty"):
        select_equilibrium(STAG_HUNT, [], "payoff")
    with pytest.raises(InvalidGameError, match=r"equilibria\[0\]"):
        select_equilibrium(STAG_HUNT, [[np.array([1.0, 0.0])]], "payoff")
    with pytest.raises(InvalidGameError, match=r"equilibria\[0\]"):
        select_equilibrium(STAG_HUNT, [[np.array([0.7, 0.7]), np.array([1.0, 0.0])]], "payoff")
    not_eq = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]  # (stag, hare): the row player gains 3 by deviating
    with pytest.raises(InvalidGameError, match="not a Nash equilibrium"):
        select_equilibrium(STAG_HUNT, [not_eq], "payoff")
    assert select_equilibrium(STAG_HUNT, [not_eq], "utilitarian", max_nash_conv=None).chosen.score == 3.0
    with pytest.raises(InvalidGameError, match="NormalFormGame"):
        select_equilibrium(np.zeros((2, 2, 2)), eqs, "payoff")
