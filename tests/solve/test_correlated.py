"""Correlated and coarse correlated equilibria by LP: golden values, independent oracles, properties, bad input."""

from __future__ import annotations

import itertools
import json
import warnings

import nashpy
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.correlated import (
    OBJECTIVES,
    cce_constraints,
    ce_constraints,
    coarse_correlated_equilibrium,
    correlated_equilibrium,
)
from marlkit.solve.gaps import cce_gap
from marlkit.solve.n_player import pure_equilibria

TOL = 1e-9

# Aumann (1974), J. Math. Econ. 1:67-96, the chicken example: action 0 = swerve ("chicken"), 1 = dare.
# (C,C) -> (6,6), (C,D) -> (2,7), (D,C) -> (7,2), (D,D) -> (0,0).
CHICKEN = NormalFormGame([[[6, 2], [7, 0]], [[6, 7], [2, 0]]], name="chicken")
# Axelrod (1984, ch. 1): T=5, R=3, P=1, S=0; action 0 = cooperate, 1 = defect.
PD = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], name="prisoners-dilemma")
MATCHING_PENNIES = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])


# ----------------------------------------------------------------------------------- independent oracles
def brute_force_ce_violation(game: NormalFormGame, mu: np.ndarray) -> float:
    """max over i, a_i, a_i' of Σ_{a_-i} μ(a) [u_i(a_i', a_-i) - u_i(a)], by loops over every joint action."""
    worst = 0.0
    for i in range(game.n_players):
        for a_i, dev in itertools.product(range(game.num_actions[i]), repeat=2):
            total = 0.0
            for joint in itertools.product(*(range(m) for m in game.num_actions)):
                if joint[i] != a_i:
                    continue
                deviated = (*joint[:i], dev, *joint[i + 1 :])
                total += mu[joint] * (game.payoffs[(i, *deviated)] - game.payoffs[(i, *joint)])
            worst = max(worst, total)
    return worst


def brute_force_ce_rows(game: NormalFormGame) -> np.ndarray:
    """The CE constraint rows in the documented order (player, a_i, a_i' != a_i), built cell by cell."""
    rows = []
    cells = list(itertools.product(*(range(m) for m in game.num_actions)))
    for i in range(game.n_players):
        for a_i, dev in itertools.product(range(game.num_actions[i]), repeat=2):
            if a_i == dev:
                continue
            row = np.zeros(len(cells))
            for k, joint in enumerate(cells):
                if joint[i] == a_i:
                    deviated = (*joint[:i], dev, *joint[i + 1 :])
                    row[k] = game.payoffs[(i, *deviated)] - game.payoffs[(i, *joint)]
            rows.append(row)
    return np.array(rows).reshape(len(rows), len(cells))


def brute_force_cce_rows(game: NormalFormGame) -> np.ndarray:
    rows = []
    cells = list(itertools.product(*(range(m) for m in game.num_actions)))
    for i in range(game.n_players):
        for dev in range(game.num_actions[i]):
            row = np.zeros(len(cells))
            for k, joint in enumerate(cells):
                deviated = (*joint[:i], dev, *joint[i + 1 :])
                row[k] = game.payoffs[(i, *deviated)] - game.payoffs[(i, *joint)]
            rows.append(row)
    return np.array(rows)


def independent_max_welfare_ce(game: NormalFormGame) -> float:
    """Max Σ_i U_i over CEs, written as 'max' with >= rows from the loops above (a second formulation)."""
    G = brute_force_ce_rows(game)
    welfare = game.payoffs.sum(axis=0).reshape(-1)
    res = linprog(
        -welfare,
        A_ub=G if len(G) else None,
        b_ub=np.zeros(len(G)) if len(G) else None,
        A_eq=np.ones((1, welfare.size)),
        b_eq=[1.0],
        method="highs-ipm",
    )
    assert res.status == 0
    return -res.fun


def nash_welfares(game: NormalFormGame) -> list[float]:
    """Utilitarian welfare of every Nash equilibrium: nashpy vertex enumeration (2 players) or pure ones (n).

    nashpy's vertex enumeration fails on games where a player has one action; pure equilibria are used there.
    """
    if game.n_players == 2 and min(game.num_actions) >= 2:
        A, B = game.payoffs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nashpy warns on degenerate games; its extreme points still count
            eqs = list(nashpy.Game(A, B).vertex_enumeration())
        return [float(x @ A @ y + x @ B @ y) for x, y in eqs]
    return [float(e.values.sum()) for e in pure_equilibria(game)]


# --------------------------------------------------------------------------------------------- golden
def test_chicken_max_welfare_ce_is_aumanns_point():
    # Derivation (μ over (CC, CD, DC, DD) = (a, b, c, d)): player 0 told C must not prefer D:
    # 6a + 2b >= 7a + 0b, i.e. a <= 2b; told D: 7c + 0d >= 6c + 2d, i.e. c >= 2d; player 1 by symmetry a <= 2c,
    # b >= 2d. Welfare 12a + 9b + 9c + 0d: d = 0 (it only costs), then a as large as a <= 2b, a <= 2c allow with
    # a + b + c = 1: a = 1/2, b = c = 1/4, welfare 6 + 4.5 = 10.5, each player 5.25.
    sol = correlated_equilibrium(CHICKEN)
    assert sol.objective_value == pytest.approx(10.5, abs=1e-9)
    np.testing.assert_allclose(sol.distribution, [[0.5, 0.25], [0.25, 0.0]], atol=1e-9)
    np.testing.assert_allclose(sol.values, [5.25, 5.25], atol=1e-9)
    assert sol.violation <= TOL
    assert independent_max_welfare_ce(CHICKEN) == pytest.approx(10.5, abs=1e-7)
    # The three Nash equilibria (Aumann 1974): (7,2), (2,7) and the mixed (14/3, 14/3): welfare 9, 9, 28/3.
    welfares = sorted(nash_welfares(CHICKEN))
    np.testing.assert_allclose(welfares, [9.0, 9.0, 28 / 3], atol=1e-9)
    assert max(welfares) < sol.objective_value


def test_chicken_egalitarian_and_linear_objectives():
    assert correlated_equilibrium(CHICKEN, "egalitarian").objective_value == pytest.approx(5.25, abs=1e-9)
    # Player 0 alone: the pure equilibrium (D, C) pays it 7, the largest entry of its payoff matrix.
    assert correlated_equilibrium(CHICKEN, "linear", target=[1.0, 0.0]).values[0] == pytest.approx(7.0, abs=1e-9)
    # Coefficients per joint action: max μ(C,C) over CEs is 1/2 (a <= 2b, a <= 2c above).
    sol = correlated_equilibrium(CHICKEN, "linear", target=[[1.0, 0.0], [0.0, 0.0]])
    assert sol.objective_value == pytest.approx(0.5, abs=1e-9)


def test_max_entropy_equilibria():
    # Matching pennies has a unique CE, the uniform distribution (entropy log 4); PD's is (D, D) (entropy 0).
    mp = correlated_equilibrium(MATCHING_PENNIES, "entropy")
    np.testing.assert_allclose(mp.distribution, np.full((2, 2), 0.25), atol=1e-9)
    assert mp.objective_value == pytest.approx(np.log(4), abs=1e-9)
    pd = correlated_equilibrium(PD, "entropy")
    np.testing.assert_allclose(pd.distribution, [[0, 0], [0, 1]], atol=1e-12)
    # Chicken: no other CE we can name has more entropy than the max-entropy one.
    best = correlated_equilibrium(CHICKEN, "entropy")
    assert best.violation <= TOL

    def entropy(mu: np.ndarray) -> float:
        p = mu[mu > 0]
        return float(-(p * np.log(p)).sum())

    others = [correlated_equilibrium(CHICKEN, o).distribution for o in ("utilitarian", "egalitarian")]
    others += [np.outer(x, y) for x, y in nashpy.Game(*CHICKEN.payoffs).vertex_enumeration()]
    for w in np.linspace(0, 1, 11):  # the CE set is convex: mixtures of CEs are CEs
        for mu in others:
            assert entropy(w * mu + (1 - w) * others[0]) <= best.objective_value + 1e-9


def test_l1_distance_zero_at_a_ce_and_hand_checked_positive():
    # Target = the mixed Nash equilibrium of chicken as a product distribution: a CE, so distance 0.
    x, y = next(e for e in nashpy.Game(*CHICKEN.payoffs).vertex_enumeration() if min(e[0]) > 0.1)
    assert correlated_equilibrium(CHICKEN, "l1", target=np.outer(x, y)).objective_value == pytest.approx(0, abs=1e-9)
    # Target δ(C,C): ||μ - δ||_1 = (1 - a) + b + c + d = 2 (1 - a), smallest at the largest a = 1/2 (see above):
    # distance 1 at μ = (1/2, 1/4, 1/4, 0).
    sol = correlated_equilibrium(CHICKEN, "l1", target=[[1.0, 0.0], [0.0, 0.0]])
    assert sol.objective_value == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(sol.distribution, [[0.5, 0.25], [0.25, 0.0]], atol=1e-9)
    # PD: the only CE is (D, D); from the uniform target the distance is 0.75 + 3 * 0.25 = 1.5.
    pd = correlated_equilibrium(PD, "l1", target=np.full((2, 2), 0.25))
    assert pd.objective_value == pytest.approx(1.5, abs=1e-9)


def test_constraint_matrices_match_a_cell_by_cell_construction():
    rng = np.random.default_rng(7)
    for shape in [(2, 2, 3), (3, 2, 3, 2), (1, 4), (3, 1, 2, 2)]:
        game = NormalFormGame(rng.normal(size=shape))
        G, h = ce_constraints(game)
        np.testing.assert_array_equal(G, brute_force_ce_rows(game))
        assert h.shape == (G.shape[0],) and not h.any()
        Gc, hc = cce_constraints(game)
        np.testing.assert_allclose(Gc, brute_force_cce_rows(game), atol=1e-12)
        assert hc.shape == (Gc.shape[0],)


def test_scaling_payoffs_scales_values_only():
    big = NormalFormGame(CHICKEN.payoffs * 1e4)
    sol = correlated_equilibrium(big)
    np.testing.assert_allclose(sol.distribution, [[0.5, 0.25], [0.25, 0.0]], atol=1e-9)
    assert sol.objective_value == pytest.approx(10.5e4, rel=1e-12)


def test_to_dict_is_json():
    for objective in OBJECTIVES:
        target = {"linear": [1.0, 1.0], "l1": np.full((2, 2), 0.25)}.get(objective)
        d = coarse_correlated_equilibrium(CHICKEN, objective, target=target).to_dict()
        assert json.loads(json.dumps(d))["concept"] == "coarse-correlated"


# ------------------------------------------------------------------------------------------ properties
@st.composite
def random_games(draw: st.DrawFn) -> NormalFormGame:
    n = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.integers(1, 4 if n == 2 else 3)) for _ in range(n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    return NormalFormGame(rng.normal(size=(n, *shape)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_games())
def test_random_games_ce_properties(game: NormalFormGame):
    ce = correlated_equilibrium(game)
    cce = coarse_correlated_equilibrium(game)
    egal = correlated_equilibrium(game, "egalitarian")
    for sol in (ce, egal):
        assert sol.violation <= TOL
        assert brute_force_ce_violation(game, sol.distribution) <= TOL  # every incentive constraint, by loops
        assert cce_gap(game, sol.distribution) <= TOL  # CE ⊂ CCE
    assert cce.violation <= TOL
    # The CCE set contains the CE set, so its best welfare is at least the CE's.
    assert cce.objective_value >= ce.objective_value - 1e-9
    # Every Nash equilibrium is a CE (its product distribution), so the best CE welfare is at least its welfare.
    for w in nash_welfares(game):
        assert ce.objective_value >= w - 1e-7
    # Egalitarian CE: its minimum is the largest over CEs, in particular >= that of the utilitarian CE.
    assert egal.objective_value >= ce.values.min() - 1e-9
    assert ce.objective_value == pytest.approx(independent_max_welfare_ce(game), abs=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_games())
def test_random_games_entropy_and_l1(game: NormalFormGame):
    ent = correlated_equilibrium(game, "entropy")
    assert ent.violation <= TOL
    assert brute_force_ce_violation(game, ent.distribution) <= TOL
    # A CE as the target: distance 0. The uniform target: distance 0 iff uniform is a CE.
    assert correlated_equilibrium(game, "l1", target=ent.distribution).objective_value <= 1e-8
    uniform = np.full(game.num_actions, 1.0 / np.prod(game.num_actions))
    d = correlated_equilibrium(game, "l1", target=uniform).objective_value
    assert (d <= 1e-8) == (brute_force_ce_violation(game, uniform) <= 1e-9)


# ------------------------------------------------------------------------------------------- bad input
def test_bad_input():
    with pytest.raises(UnknownNameError, match="utilitarian"):
        correlated_equilibrium(CHICKEN, "max-happiness")
    with pytest.raises(InvalidGameError, match="needs a target"):
        correlated_equilibrium(CHICKEN, "l1")
    with pytest.raises(InvalidGameError, match="needs weights"):
        correlated_equilibrium(CHICKEN, "linear")
    with pytest.raises(InvalidGameError, match="shape"):
        correlated_equilibrium(CHICKEN, "l1", target=[0.5, 0.5])
    with pytest.raises(InvalidGameError, match="sums to"):
        correlated_equilibrium(CHICKEN, "l1", target=[[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(InvalidGameError, match="player weights"):
        correlated_equilibrium(CHICKEN, "linear", target=[1.0, 2.0, 3.0])
    with pytest.raises(InvalidGameError, match="takes no target"):
        correlated_equilibrium(CHICKEN, "utilitarian", target=[1.0, 1.0])
    with pytest.raises(InvalidGameError, match="NormalFormGame"):
        correlated_equilibrium(np.zeros((2, 2, 2)))
    with pytest.raises(InvalidGameError, match="tol"):
        coarse_correlated_equilibrium(CHICKEN, tol=0.0)
    with pytest.raises(InvalidGameError, match="NaN"):
        correlated_equilibrium(CHICKEN, "linear", target=[np.nan, 1.0])
