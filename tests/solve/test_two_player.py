"""Two-player Nash equilibria: vertex enumeration (all equilibria) and Lemke-Howson, against oracles and goldens."""

from __future__ import annotations

import warnings

import nashpy
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.lemke_howson import (
    LemkeHowsonError,
    game_lemke_howson,
    game_lemke_howson_all_labels,
    lemke_howson,
    lemke_howson_all_labels,
)
from marlkit.solve.two_player import nash_conv_pair
from marlkit.solve.vertex_enumeration import DEGENERATE_NOTE, all_equilibria, game_equilibria

TOL = 1e-9
MATCH = 1e-8


# ----------------------------------------------------------------------------------------------- helpers
def flat(profiles) -> list[np.ndarray]:
    return [np.concatenate([np.asarray(p, dtype=float) for p in profile]) for profile in profiles]


def ours(result) -> list[np.ndarray]:
    return flat(e.profile for e in result)


def nashpy_vertex_enumeration(A, B) -> list[np.ndarray]:
    """nashpy's vertex enumeration, keeping the pairs whose NashConv is <= 1e-9.

    nashpy labels a vertex with ``np.isclose`` (relative tolerance 1e-5), so on a nearly degenerate game it can
    return vertex pairs that are not equilibria (seen here: NashConv 1e-5 on one of the 200 random games); those
    are dropped, every exact one is kept.
    """
    A, B = np.asarray(A, float), np.asarray(B, float)
    with warnings.catch_warnings():  # nashpy warns on degenerate games; we compare against what it returns
        warnings.simplefilter("ignore")
        found = list(nashpy.Game(A, B).vertex_enumeration())
    return flat((x, y) for x, y in found if nash_conv_pair(A, B, x, y) <= TOL)


def is_member(point: np.ndarray, points: list[np.ndarray], tol: float = MATCH) -> bool:
    return any(np.max(np.abs(point - q)) <= tol for q in points)


def same_set(a: list[np.ndarray], b: list[np.ndarray], tol: float = MATCH) -> bool:
    """Equal as sets: same count and a one-to-one matching within ``tol`` (max-abs)."""
    if len(a) != len(b):
        return False
    unused = list(range(len(b)))
    for p in a:
        match = next((j for j in unused if np.max(np.abs(p - b[j])) <= tol), None)
        if match is None:
            return False
        unused.remove(match)
    return True


def check_certified(result) -> None:
    for e in result:
        for strategy in e.profile:
            assert strategy.dtype == np.float64
            assert np.all(strategy >= 0.0)
            assert abs(strategy.sum() - 1.0) <= 1e-12
        assert 0.0 <= e.epsilon <= TOL


def random_game(rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((m, n)), rng.standard_normal((m, n))


# ------------------------------------------------------------------------------ random games vs nashpy
@pytest.mark.parametrize("block", range(10))
def test_matches_nashpy_vertex_enumeration_on_random_games(block: int) -> None:
    """200 random games (10 blocks of 20), 2x2..6x6, continuous payoffs: non-degenerate with probability 1."""
    rng = np.random.default_rng(np.random.SeedSequence(2024, spawn_key=(block,)))
    for index in range(20):
        m, n = (int(k) for k in rng.integers(2, 7, size=2))
        A, B = random_game(rng, m, n)
        result = all_equilibria(A, B)
        assert result.complete and not result.degenerate and result.notes == ()
        assert same_set(ours(result), nashpy_vertex_enumeration(A, B)), f"block {block} game {index} ({m}x{n})"
        check_certified(result)


def test_result_is_sorted_deduplicated_and_consistent() -> None:
    rng = np.random.default_rng(7)
    A, B = random_game(rng, 6, 6)
    result = all_equilibria(A, B)
    points = ours(result)
    keys = [tuple(np.round(p, 10)) for p in points]
    assert keys == sorted(keys)
    for i in range(len(points)):
        for j in range(i):
            assert np.max(np.abs(points[i] - points[j])) > MATCH
    for e in result:
        x, y = e.profile
        np.testing.assert_allclose(e.values, [x @ A @ y, x @ B @ y], atol=1e-12)
        assert e.supports == (tuple(np.flatnonzero(x > TOL)), tuple(np.flatnonzero(y > TOL)))
        assert e.epsilon == pytest.approx(nash_conv_pair(A, B, x, y), abs=1e-15)
        assert e.method == "vertex-enumeration"


def test_one_action_players() -> None:
    """A 1xn game: the row player has no choice; the equilibria are the column player's pure best responses."""
    A = np.array([[0.3, -1.0, 2.0]])
    B = np.array([[0.1, 0.7, -0.2]])
    result = all_equilibria(A, B)
    assert len(result) == 1 and result.complete
    assert result[0].supports == ((0,), (1,))
    assert all_equilibria(B.T, A.T)[0].supports == ((1,), (0,))


# ---------------------------------------------------------------------------------------- golden values
def test_matching_pennies() -> None:
    # Osborne 2004, "An Introduction to Game Theory", §4.1.2 (Matching Pennies): unique equilibrium, both players
    # uniform, value 0.
    A = np.array([[1.0, -1.0], [-1.0, 1.0]])
    result = all_equilibria(A, -A)
    assert len(result) == 1 and result.complete
    np.testing.assert_allclose(result[0].profile[0], [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(result[0].profile[1], [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(result[0].values, [0.0, 0.0], atol=1e-12)


def test_rock_paper_scissors() -> None:
    # Shoham & Leyton-Brown 2009, "Multiagent Systems", §3.2 (Rock, Paper, Scissors, Fig. 3.6): the unique
    # equilibrium is uniform with value 0.
    A = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    result = all_equilibria(A, -A)
    assert len(result) == 1
    for strategy in result[0].profile:
        np.testing.assert_allclose(strategy, [1 / 3, 1 / 3, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(result[0].values, [0.0, 0.0], atol=1e-12)


def test_battle_of_the_sexes() -> None:
    # Osborne 2004, §4.3-4.4 (BoS, mixed equilibrium by the indifference conditions), with payoffs (3,2)/(2,3):
    # the column player is indifferent when 2 p = 3 (1 - p), p = 3/5; the row player when 3 q = 2 (1 - q), q = 2/5.
    # Both pure coordination outcomes are equilibria too; the mixed one pays 6/5 to each.
    A = np.array([[3.0, 0.0], [0.0, 2.0]])
    B = np.array([[2.0, 0.0], [0.0, 3.0]])
    expected = flat(
        [
            ([0.0, 1.0], [0.0, 1.0]),
            ([0.6, 0.4], [0.4, 0.6]),
            ([1.0, 0.0], [1.0, 0.0]),
        ]
    )
    result = all_equilibria(A, B)
    points = ours(result)
    assert len(points) == 3
    for got, want in zip(points, expected, strict=True):  # also checks the lexicographic order
        np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(result[1].values, [1.2, 1.2], atol=1e-12)
    np.testing.assert_allclose(result[0].values, [2.0, 3.0], atol=1e-12)


def test_chicken() -> None:
    # Rapoport & Chammah 1966, "The game of Chicken" (Amer. Behav. Sci. 10); payoffs Swerve/Straight
    # (0,0) (-1,1) / (1,-1) (-10,-10). Two pure equilibria (one swerves, the other does not) and the symmetric mixed
    # one: indifference -(1 - q) = q - 10 (1 - q) gives q = 9/10 on Swerve, value -1/10 each.
    A = np.array([[0.0, -1.0], [1.0, -10.0]])
    result = all_equilibria(A, A.T)
    expected = flat([([0.0, 1.0], [1.0, 0.0]), ([0.9, 0.1], [0.9, 0.1]), ([1.0, 0.0], [0.0, 1.0])])
    assert same_set(ours(result), expected, tol=1e-12)
    mixed = next(e for e in result if not e.is_pure)
    np.testing.assert_allclose(mixed.values, [-0.1, -0.1], atol=1e-12)


def test_biased_rock_paper_scissors() -> None:
    # OpenSpiel, open_spiel/python/algorithms/lp_solver_test.py::test_biased_rock_paper_scissors (after Bosansky
    # et al. 2016, JAIR 55, §6.2): the unique equilibrium is (1/16, 10/16, 5/16) for both players, value 0.
    A = np.array([[0.0, -0.25, 0.5], [0.25, 0.0, -0.05], [-0.5, 0.05, 0.0]])
    result = all_equilibria(A, -A)
    assert len(result) == 1
    for strategy in result[0].profile:
        np.testing.assert_allclose(strategy, np.array([1, 10, 5]) / 16, atol=1e-12)
    np.testing.assert_allclose(result[0].values, [0.0, 0.0], atol=1e-12)


@pytest.mark.parametrize(
    ("A", "B"),
    [
        ([[0, 1, 2], [2, 0, 1], [1, 2, 0]], [[0, 2, 1], [1, 0, 2], [2, 1, 0]]),
        ([[0, 1, 0], [0, 0, 1], [1, 0, 0]], [[0, 0, 1], [1, 0, 0], [0, 1, 0]]),  # the 0/1 version
    ],
)
def test_shapley_game(A, B) -> None:
    # Shapley 1964, "Some topics in two-person games" (Advances in Game Theory, Ann. Math. Stud. 52): the unique
    # equilibrium is uniform for both players (the game where fictitious play cycles).
    result = all_equilibria(A, B)
    assert len(result) == 1 and result.complete
    for strategy in result[0].profile:
        np.testing.assert_allclose(strategy, [1 / 3, 1 / 3, 1 / 3], atol=1e-12)


def test_normal_form_game_wrappers() -> None:
    A = np.array([[3.0, 0.0], [0.0, 2.0]])
    B = np.array([[2.0, 0.0], [0.0, 3.0]])
    game = NormalFormGame(np.stack([A, B]), name="battle of the sexes")
    assert same_set(ours(game_equilibria(game)), ours(all_equilibria(A, B)), tol=0.0)
    assert same_set(ours(game_lemke_howson_all_labels(game)), ours(lemke_howson_all_labels(A, B)), tol=0.0)
    assert game_lemke_howson(game, 1).method == "lemke-howson (label 1)"


# ---------------------------------------------------------------------------------------- degenerate games
def test_dominant_row_column_indifferent() -> None:
    # Row 0 strictly dominates; the column player is indifferent, so every y is a best reply: the component
    # {(1,0)} x Δ_2, whose extreme points are the two pure profiles (von Stengel 2007, §3.6).
    A = [[1, 1], [0, 0]]
    result = all_equilibria(A, A)
    assert result.degenerate and not result.complete and result.notes == (DEGENERATE_NOTE,)
    assert same_set(ours(result), flat([([1, 0], [0, 1]), ([1, 0], [1, 0])]), tol=1e-12)
    assert same_set(ours(result), nashpy_vertex_enumeration(A, A))


def test_continuum_where_row_player_is_indifferent() -> None:
    # The row player is indifferent everywhere; the column player matches: components {x : x_0 >= 1/2} x {e_0}
    # and {x : x_0 <= 1/2} x {e_1}, each a segment with two extreme equilibria.
    A, B = [[1, 1], [1, 1]], [[1, 0], [0, 1]]
    result = all_equilibria(A, B)
    assert result.degenerate and not result.complete
    expected = flat([([0, 1], [0, 1]), ([0.5, 0.5], [0, 1]), ([0.5, 0.5], [1, 0]), ([1, 0], [1, 0])])
    assert same_set(ours(result), expected, tol=1e-12)
    assert same_set(ours(result), nashpy_vertex_enumeration(A, B))


def test_von_stengel_degenerate_example() -> None:
    # von Stengel 2007, §3.6 (the degenerate 3x2 game, B's first row tied): the pure strategy (1,0,0) has two
    # best replies, giving the component {(1,0,0)} x [(1,0), (2/3,1/3)], plus ((0,1/3,2/3), (1/3,2/3)).
    A = [[3, 3], [2, 5], [0, 6]]
    B = [[3, 3], [2, 6], [3, 1]]
    result = all_equilibria(A, B)
    expected = flat([([0, 1 / 3, 2 / 3], [1 / 3, 2 / 3]), ([1, 0, 0], [2 / 3, 1 / 3]), ([1, 0, 0], [1, 0])])
    assert result.degenerate and not result.complete
    assert same_set(ours(result), expected, tol=1e-12)
    assert same_set(ours(result), nashpy_vertex_enumeration(A, B))


def test_zero_game_lists_every_pure_profile() -> None:
    """All payoffs equal: every profile is an equilibrium; the extreme points are the m*n pure profiles."""
    result = all_equilibria(np.zeros((3, 4)), np.zeros((3, 4)))
    assert result.degenerate and not result.complete and len(result) == 12
    assert all(e.is_pure for e in result)


@pytest.mark.parametrize("seed", range(4))
def test_degenerate_integer_games_contain_nashpy(seed: int) -> None:
    """Small-integer payoffs are heavily degenerate. Every equilibrium nashpy's vertex enumeration returns is ours,
    and ours are all certified; nashpy's qhull-based enumeration misses some vertex pairs there (e.g. pure
    equilibria at highly degenerate vertices), which pygambit's exact enummixed confirms (next test)."""
    rng = np.random.default_rng(seed)
    for _ in range(10):
        A, B = rng.integers(0, 3, size=(4, 5)), rng.integers(0, 3, size=(4, 5))
        result = all_equilibria(A, B)
        points = ours(result)
        assert all(is_member(p, points) for p in nashpy_vertex_enumeration(A, B))
        check_certified(result)
        if result.degenerate:
            assert not result.complete and result.notes == (DEGENERATE_NOTE,)


@pytest.mark.parametrize("shape", [(5, 5), (6, 7)])  # one batched-solve polytope size, one searched by pivoting
def test_degenerate_integer_games_equal_pygambit_enummixed(shape: tuple[int, int], gambit) -> None:
    rng = np.random.default_rng(11)
    for _ in range(10):
        A, B = rng.integers(0, 2, size=shape), rng.integers(0, 2, size=shape)
        game = gambit.game(A, B)
        exact = gambit.nash.enummixed_solve(game, rational=True)
        theirs = [np.concatenate(gambit.profile(game, eq)) for eq in exact.equilibria]
        assert same_set(ours(all_equilibria(A, B)), theirs)


def test_near_ties_are_certified_or_reported() -> None:
    """Payoffs tied to within 1e-8 (found by hypothesis): float pivoting can produce vertex pairs that are not
    equilibria; they are left out with a note and ``complete=False``, never reported as equilibria."""
    e = 9.99999994e-09
    cases = [
        (np.array([[2, 0, e, e], [1, e, 1, e], [e, e, e, e]]), np.zeros((3, 4))),
        (np.array([[7.8125e-3, -1, e], [0, e, e], [e, e, e]]), np.zeros((3, 3))),
        (np.array([[e, -5], [0, 0]]), np.zeros((2, 2))),
        (np.array([[e], [0], [-5]]), np.zeros((3, 1))),
    ]
    for A, B in cases:
        result = all_equilibria(A, B)
        assert len(result) >= 1
        check_certified(result)
        dropped = [note for note in result.notes if "failed the NashConv certificate" in note]
        assert not (dropped and result.complete)
        check_certified(lemke_howson_all_labels(A, B))


# -------------------------------------------------------------------------------------------- Lemke-Howson
@pytest.mark.parametrize("size", [10, 20])
def test_lemke_howson_terminates_on_large_random_games(size: int) -> None:
    """nashpy's Lemke-Howson cycles on some 10x10 and all 20x20 random games; ours must not."""
    rng = np.random.default_rng(size)
    for _ in range(2):
        A, B = random_game(rng, size, size)
        result = lemke_howson_all_labels(A, B)
        assert 1 <= len(result) <= 2 * size and not result.complete
        check_certified(result)


def test_lemke_howson_results_are_vertex_enumeration_equilibria() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        m, n = (int(k) for k in rng.integers(2, 7, size=2))
        A, B = random_game(rng, m, n)
        every = ours(all_equilibria(A, B))
        found = lemke_howson_all_labels(A, B)
        assert not found.degenerate
        assert all(is_member(p, every) for p in ours(found))
        check_certified(found)


def test_lemke_howson_on_degenerate_games_is_certified_and_terminates() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        A, B = rng.integers(0, 2, size=(5, 6)), rng.integers(0, 2, size=(5, 6))
        every = ours(all_equilibria(A, B))
        found = lemke_howson_all_labels(A, B)
        assert all(is_member(p, every) for p in ours(found))
        check_certified(found)


def test_lemke_howson_golden_battle_of_the_sexes() -> None:
    # von Stengel 2007, §3.5: dropping label k leads to an equilibrium; in BoS dropping a row label of the pure
    # (1,0) path ends at a pure equilibrium and the set over all labels holds both pure ones.
    A = np.array([[3.0, 0.0], [0.0, 2.0]])
    B = np.array([[2.0, 0.0], [0.0, 3.0]])
    eq = lemke_howson(A, B, initial_label=0)
    assert eq.supports == ((0,), (0,)) and eq.epsilon == 0.0
    labels = {tuple(np.concatenate(lemke_howson(A, B, k).profile)) for k in range(4)}
    assert labels == {(1.0, 0.0, 1.0, 0.0), (0.0, 1.0, 0.0, 1.0)}


def test_lemke_howson_pivot_cap_is_a_clear_error() -> None:
    rng = np.random.default_rng(0)
    A, B = random_game(rng, 6, 6)
    with pytest.raises(LemkeHowsonError, match="max_pivots"):
        lemke_howson(A, B, initial_label=0, max_pivots=1)


# ------------------------------------------------------------------------------------------------ property
bimatrix = st.tuples(st.integers(1, 4), st.integers(1, 4), st.booleans()).flatmap(
    lambda s: st.tuples(
        arrays(np.float64, s[:2], elements=st.integers(-3, 3).map(float) if s[2] else st.floats(-1, 1, width=32)),
        arrays(np.float64, s[:2], elements=st.integers(-3, 3).map(float) if s[2] else st.floats(-1, 1, width=32)),
    )
)


@settings(max_examples=120, deadline=None)
@given(bimatrix)
def test_every_returned_profile_is_a_certified_equilibrium(game) -> None:
    """NashConv in [0, 1e-9] and proper distributions, for degenerate (small integers) and generic payoffs alike."""
    A, B = game
    result = all_equilibria(A, B)
    assert len(result) >= 1  # Nash 1951: every finite game has an equilibrium, so some vertex pair is complete
    check_certified(result)
    check_certified(lemke_howson_all_labels(A, B))


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("A", "B", "match"),
    [
        ([[1.0, np.nan], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]], "NaN or inf"),
        ([[1.0, 0.0], [0.0, 1.0]], [[np.inf, 0.0], [0.0, 1.0]], "NaN or inf"),
        ([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]], "same shape"),
        ([1.0, 0.0], [0.0, 1.0], "payoff matrix"),
        ([["a", "b"]], [["c", "d"]], "real numbers"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "at least one action"),
    ],
)
def test_bad_bimatrix_is_rejected(A, B, match) -> None:
    for solve in (all_equilibria, lemke_howson, lemke_howson_all_labels):
        with pytest.raises(InvalidGameError, match=match):
            solve(A, B)


def test_three_player_game_is_not_applicable() -> None:
    game = NormalFormGame(np.zeros((3, 2, 2, 2)))
    for solve in (game_equilibria, game_lemke_howson, game_lemke_howson_all_labels):
        with pytest.raises(NotApplicableError, match=r"marlkit\.solve\.n_player"):
            solve(game)
    with pytest.raises(InvalidGameError, match="NormalFormGame"):
        game_equilibria(np.zeros((2, 2, 2)))


def test_bad_label_and_tolerance() -> None:
    A = np.eye(2)
    with pytest.raises(InvalidGameError, match="initial_label"):
        lemke_howson(A, A, initial_label=4)
    with pytest.raises(InvalidGameError, match="tol"):
        all_equilibria(A, A, tol=-1.0)
    with pytest.raises(InvalidGameError, match="max_pivots"):
        lemke_howson(A, A, max_pivots=0)


def test_too_many_labels_points_to_lemke_howson() -> None:
    A = np.zeros((40, 30))
    with pytest.raises(NotApplicableError, match="lemke_howson_all_labels"):
        all_equilibria(A, A)
