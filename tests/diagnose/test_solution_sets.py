"""Solution sets: Nash members of catalog games, distances computed by hand, CE/CCE polytope projections checked
against independent programs (marlkit's CE LP, SciPy's SLSQP, brute-force vertex enumeration), NashConv sets,
zero-sum stochastic games, and bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from marlkit.diagnose.distances import DISTANCES, joint_from_policy
from marlkit.diagnose.solution_sets import (
    SOLUTION_CONCEPTS,
    FiniteSolutionSet,
    NashConvSet,
    PolytopeSolutionSet,
    solution_set,
)
from marlkit.errors import InvalidGameError, NotApplicableError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame, repeated_game
from marlkit.games.catalog import make
from marlkit.solve.best_response import nash_conv
from marlkit.solve.correlated import ce_constraints, coarse_correlated_equilibrium, correlated_equilibrium

ONE = np.ones(1)  # state weights of a one-state game


def product(*strategies: list[float]) -> np.ndarray:
    """The product joint ``[1, J]`` of one strategy per player (one state)."""
    joint = np.ones(1)
    for s in strategies:
        joint = np.outer(joint, s).reshape(-1)
    return joint[None, :]


# -------------------------------------------------------------------------------------------- Nash sets
def test_matching_pennies_has_one_uniform_member_of_value_zero() -> None:
    s = solution_set(make("matching-pennies"))
    assert (
        s.kind == "finite"
        and s.labels == ("NE1 (heads: 0.5, tails: 0.5 | heads: 0.5, tails: 0.5)",)
        and "complete" in s.name
    )
    np.testing.assert_allclose(s.joints, np.full((1, 1, 4), 0.25), atol=1e-12)
    np.testing.assert_allclose(s.values, [[0.0, 0.0]], atol=1e-12)


def test_stag_hunt_and_chicken_have_three_members_pure_first() -> None:
    stag = solution_set(make("stag-hunt"))
    # issue 14 item 3: labels a user can find the equilibrium by (the profile rounded), numbered as `solve` does
    assert stag.labels == (
        "NE1 (stag | stag)",
        "NE2 (hare | hare)",
        "NE3 (stag: 0.75, hare: 0.25 | stag: 0.75, hare: 0.25)",
    )
    np.testing.assert_allclose(stag.values, [[4, 4], [3, 3], [3, 3]], atol=1e-9)  # stag 4, hare 3 (defaults)
    chicken = solution_set(make("chicken"))  # action 0 = swerve, 1 = dare; payoffs of Aumann (1974)
    assert chicken.labels == (
        "NE1 (swerve | straight)",
        "NE2 (straight | swerve)",
        "NE3 (swerve: 0.667, straight: 0.333 | swerve: 0.667, straight: 0.333)",
    )
    np.testing.assert_allclose(chicken.joints[2, 0], product([2 / 3, 1 / 3], [2 / 3, 1 / 3])[0], atol=1e-9)
    np.testing.assert_allclose(chicken.values, [[2, 7], [7, 2], [14 / 3, 14 / 3]], atol=1e-9)


def test_distance_from_a_pure_profile_to_the_chicken_nash_set() -> None:
    chicken = solution_set(make("chicken"))
    both_swerve = product([1, 0], [1, 0])
    # to each pure NE the supports are disjoint (TV 1); to the mixed NE (4/9, 2/9, 2/9, 1/9):
    # TV = ½ (5/9 + 2/9 + 2/9 + 1/9) = 5/9, the nearest member
    d, k = chicken.measure(both_swerve[None], ONE, "tv")
    assert d[0] == pytest.approx(5 / 9, abs=1e-12) and k[0] == 2
    d, k = chicken.measure(product([0, 1], [1, 0])[None], ONE, "tv")  # exactly NE2
    assert d[0] == pytest.approx(0.0, abs=1e-12) and k[0] == 1
    d, k = chicken.measure(both_swerve[None], ONE, "l2")
    assert d[0] == pytest.approx(math.sqrt((5 / 9) ** 2 + 2 * (2 / 9) ** 2 + (1 / 9) ** 2), abs=1e-12)


def test_finite_measure_is_vectorised_and_keeps_nan() -> None:
    stag = solution_set(make("stag-hunt"))
    rng = np.random.default_rng(0)
    policy = np.zeros((3, 7, 2, 1, 2))
    policy[..., 0, :] = rng.dirichlet(np.ones(2), size=(3, 7, 2))
    joint = joint_from_policy(policy, (2, 2))
    joint[1, 3] = np.nan  # an unvisited point
    d, k = stag.measure(joint, ONE, "js")
    assert d.shape == k.shape == (3, 7)
    assert np.isnan(d[1, 3]) and k[1, 3] == -1
    per_member = np.stack([DISTANCES["js"](joint[..., 0, :], m[0]) for m in stag.joints], axis=-1)
    mask = ~np.isnan(d)
    np.testing.assert_allclose(d[mask], per_member.min(axis=-1)[mask], atol=1e-14)
    np.testing.assert_array_equal(k[mask], per_member.argmin(axis=-1)[mask])


def test_n_player_and_degenerate_games_say_so_in_the_name() -> None:
    # issue 14: a 4-player public goods game is now enumerated completely; one beyond the enumeration's size (6
    # players, 729 support profiles) may be incomplete, says so, and is judged by NashConv
    goods = solution_set(make("public-goods"))
    assert goods.kind == "finite" and "complete" in goods.name and "may be incomplete" not in goods.name
    large = solution_set(make("public-goods", players=6))
    assert large.kind == "nash_conv" and "could not be shown to be all of them" in large.name
    # a degenerate bimatrix game: the column player is indifferent, equilibria form a continuum
    degenerate = NormalFormGame(np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]]))
    s = solution_set(degenerate)
    assert "degenerate" in s.name


def test_too_many_members_falls_back_to_nash_conv() -> None:
    s = solution_set(make("stag-hunt"), max_members=2)
    assert isinstance(s, NashConvSet) and "NashConv" in s.name and "more than max_members=2" in s.name


# ------------------------------------------------------------------------------------------- NashConv
def test_nash_conv_set_matches_marlkit_nash_conv() -> None:
    game = make("chicken")
    s = NashConvSet(game)
    assert s.kind == "nash_conv" and "NashConv" in s.name and s.labels == () and s.values is None
    rng = np.random.default_rng(3)
    policy = np.zeros((4, 5, 2, 1, 2))
    policy[..., 0, :] = rng.dirichlet(np.ones(2), size=(4, 5, 2))
    joint = joint_from_policy(policy, (2, 2))
    from_policy, index = s.measure(joint, ONE, policy=policy)
    from_joint, _ = s.measure(joint, ONE)  # the product joint's marginals are the policies
    assert from_policy.shape == (4, 5) and np.all(index == -1)
    oracle = [[nash_conv(game, [policy[a, b, i, 0] for i in range(2)]) for b in range(5)] for a in range(4)]
    np.testing.assert_allclose(from_policy, oracle, atol=1e-12)
    np.testing.assert_allclose(from_joint, oracle, atol=1e-12)
    at_equilibrium, _ = s.measure(solution_set(game).joints, ONE)
    np.testing.assert_allclose(at_equilibrium, 0.0, atol=1e-9)


def test_general_sum_stochastic_game_uses_nash_conv() -> None:
    game = repeated_game(make("prisoners-dilemma"), 0.9)
    s = solution_set(game)
    assert isinstance(s, NashConvSet) and "general-sum stochastic" in s.name
    defect = np.zeros((2, 1, 2))
    defect[:, 0, 1] = 1.0  # always defect: the repeated game's stationary equilibrium
    cooperate = defect[..., ::-1].copy()
    values, _ = s.measure(joint_from_policy(np.stack([defect, cooperate]), (2, 2)), ONE)
    assert values[0] == pytest.approx(0.0, abs=1e-9)
    assert values[1] == pytest.approx(nash_conv(game, cooperate), abs=1e-9) and values[1] > 1.0


# ------------------------------------------------------------------------------------- stochastic Nash
def two_state_zero_sum() -> StochasticGame:
    """tests/solve/test_shapley.py's game: state 0 matching pennies, then state 1 [[2, 0], [0, 1]] forever.

    Value of state 1's matrix: ad / (a + d) = 2/3 per step, so V(1) = (2/3) / (1 - γ) = 4/3 and V(0) = γ V(1) = 2/3
    at γ = 1/2; optimal play is uniform in state 0 and (1/3, 2/3) for both players in state 1.
    """
    R0 = np.array([[[1.0, -1.0], [-1.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]])
    T = np.zeros((2, 2, 2, 2))
    T[..., 1] = 1.0
    return StochasticGame(transitions=T, rewards=np.stack([R0, -R0]), initial=np.array([1.0, 0.0]), gamma=0.5)


@pytest.mark.parametrize("concept", ["nash", "minimax"])
def test_zero_sum_stochastic_game_is_one_shapley_member(concept: str) -> None:
    s = solution_set(two_state_zero_sum(), concept)
    assert s.kind == "finite" and "Shapley" in s.name and len(s.labels) == 1
    np.testing.assert_allclose(s.values, [[2 / 3, -2 / 3]], atol=1e-8)
    expected = np.stack([np.full(4, 0.25), product([1 / 3, 2 / 3], [1 / 3, 2 / 3])[0]])
    np.testing.assert_allclose(s.joints[0], expected, atol=1e-8)
    # a policy that matches in state 0 only: distance = weight of state 1 times its TV
    joint = np.stack([np.full(4, 0.25), np.array([1.0, 0.0, 0.0, 0.0])])
    d, k = s.measure(joint, np.array([0.25, 0.75]), "tv")
    assert d == pytest.approx(0.75 * 0.5 * ((1 - 1 / 9) + 2 / 9 + 2 / 9 + 4 / 9)) and k == 0


def test_minimax_of_a_matrix_game() -> None:
    s = solution_set(make("rock-paper-scissors"), "maximin")
    assert s.labels == ("minimax",) and s.values.shape == (1, 2)
    np.testing.assert_allclose(s.joints, np.full((1, 1, 9), 1 / 9), atol=1e-9)


# ---------------------------------------------------------------------------------------------- polytope
def chicken_ce() -> PolytopeSolutionSet:
    s = solution_set(make("chicken"), "ce")
    assert isinstance(s, PolytopeSolutionSet) and s.kind == "polytope" and "correlated" in s.name
    return s


def polytope_vertices(G: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Brute force: every J-1 active inequalities (G rows or μ_a >= 0) with Σ μ = 1, kept when feasible."""
    J = G.shape[1]
    A = np.concatenate([G, -np.eye(J)])
    b = np.concatenate([h, np.zeros(J)])
    vertices = []
    for rows in itertools.combinations(range(A.shape[0]), J - 1):
        M = np.concatenate([A[list(rows)], np.ones((1, J))])
        if abs(np.linalg.det(M)) < 1e-12:
            continue
        mu = np.linalg.solve(M, np.r_[b[list(rows)], 1.0])
        if np.all(A @ mu <= b + 1e-9):
            vertices.append(mu)
    return np.unique(np.round(vertices, 12), axis=0)


def test_nash_products_are_inside_the_ce_polytope_and_pure_crash_is_outside() -> None:
    ce = chicken_ce()
    nash = solution_set(make("chicken")).joints  # [3, 1, 4]: every NE is a CE (Aumann 1974)
    crash = product([0, 1], [0, 1])  # both dare
    for name in DISTANCES:
        d, k = ce.measure(nash, ONE, name)
        np.testing.assert_array_equal(d, 0.0)
        np.testing.assert_array_equal(k, -1)
        outside, _ = ce.measure(crash[None], ONE, name)
        assert outside[0] > 0.01, name


def test_l1_projection_matches_the_ce_lp_and_brute_force_vertices() -> None:
    game = make("chicken")
    ce = chicken_ce()
    vertices = polytope_vertices(*ce_constraints(game))
    assert len(vertices) == 5  # Aumann's chicken: 3 Nash + 2 correlated extreme points
    rng = np.random.default_rng(4)
    points = rng.dirichlet(np.ones(4), size=12)
    points = points[~ce.contains(points)]
    assert len(points) >= 6
    d, _ = ce.measure(points[:, None, :], ONE, "l1")
    tv, _ = ce.measure(points[:, None, :], ONE, "tv")
    np.testing.assert_allclose(tv, d / 2, atol=1e-12)
    hull = rng.dirichlet(np.full(len(vertices), 0.3), size=20_000) @ vertices  # points of the polytope
    for p, dist in zip(points, d, strict=True):
        other = correlated_equilibrium(game, objective="l1", target=p.reshape(2, 2))  # marlkit's other LP form
        assert dist == pytest.approx(other.objective_value, abs=1e-8)
        sampled = np.abs(hull - p).sum(axis=1).min()
        assert dist <= sampled + 1e-9  # never worse than a point of the polytope
        assert sampled - dist < 0.05  # and the dense sample gets close to it


def test_l2_projection_matches_slsqp_and_is_bounded_by_l1() -> None:
    ce = chicken_ce()
    rng = np.random.default_rng(5)
    points = rng.dirichlet(np.ones(4), size=10)
    points = points[~ce.contains(points)]
    l2, _ = ce.measure(points[:, None, :], ONE, "l2")
    l1, _ = ce.measure(points[:, None, :], ONE, "l1")
    assert np.all(l2 <= l1 + 1e-12) and np.all(l1 <= 2.0 * l2 + 1e-12)  # ||x||_2 <= ||x||_1 <= √J ||x||_2, J = 4
    for p, dist in zip(points, l2, strict=True):
        assert dist == pytest.approx(slsqp_l2(ce, p, correlated_equilibrium(make("chicken")).distribution), abs=1e-7)


def slsqp_l2(s: PolytopeSolutionSet, p: np.ndarray, start: np.ndarray) -> float:
    """An independent L2 projection: SciPy's SLSQP on min ||μ - p||² over the polytope from a feasible start."""
    J = p.size
    oracle = minimize(
        lambda mu: ((mu - p) ** 2).sum(),
        start.reshape(-1),
        jac=lambda mu: 2 * (mu - p),
        method="SLSQP",
        bounds=[(0, 1)] * J,
        constraints=[
            {"type": "eq", "fun": lambda mu: mu.sum() - 1},
            {"type": "ineq", "fun": lambda mu: s.h - s.G @ mu},
        ],
        options={"ftol": 1e-12, "maxiter": 1000},
    )
    assert oracle.success
    return math.sqrt(oracle.fun)


def test_l2_projection_on_random_3x3_games() -> None:
    # rng 0, game 3 once broke an NNLS formulation with the equality as two opposite inequalities (and SciPy's
    # nnls can be wrong, scipy/scipy#25389): the answer is now certified by its duality gap
    rng = np.random.default_rng(0)
    for trial in range(8):
        game = NormalFormGame(rng.normal(size=(2, 3, 3)))
        s = solution_set(game, "ce" if trial % 2 else "cce")
        start = (correlated_equilibrium if trial % 2 else coarse_correlated_equilibrium)(game).distribution
        points = rng.dirichlet(np.full(9, 0.5), size=5)
        points = points[~s.contains(points)]
        d, _ = s.measure(points[:, None, :], ONE, "l2")
        for p, dist in zip(points, d, strict=True):
            assert dist == pytest.approx(slsqp_l2(s, p, start), abs=1e-7)


def test_l2_falls_back_to_slsqp_when_uncertified(monkeypatch: pytest.MonkeyPatch) -> None:
    import marlkit.diagnose.solution_sets as module

    ce = chicken_ce()
    points = np.array([[0.0, 0.0, 0.0, 1.0], [0.6, 0.0, 0.0, 0.4]])
    certified, _ = ce.measure(points[:, None, :], ONE, "l2")
    monkeypatch.setattr(module, "_least_distance", lambda C, d: None)
    fallback, _ = ce.measure(points[:, None, :], ONE, "l2")
    np.testing.assert_allclose(fallback, certified, atol=1e-6)


def test_a_constant_constraint_row_changes_nothing() -> None:
    ce = chicken_ce()
    padded = PolytopeSolutionSet(np.vstack([ce.G, np.full(4, 2.0)]), np.r_[ce.h, 2.0], name="padded")  # Σ μ <= 1
    points = np.array([[[0.0, 0.0, 0.0, 1.0]], [[0.6, 0.0, 0.0, 0.4]]])
    for name in ("l1", "l2"):
        np.testing.assert_allclose(padded.measure(points, ONE, name)[0], ce.measure(points, ONE, name)[0], atol=1e-9)


@pytest.mark.parametrize("name", ["kl", "js"])
def test_convex_projections_are_no_worse_than_any_polytope_point(name: str) -> None:
    game = make("chicken")
    ce = chicken_ce()
    vertices = polytope_vertices(*ce_constraints(game))
    rng = np.random.default_rng(6)
    hull = rng.dirichlet(np.full(len(vertices), 0.3), size=5_000) @ vertices
    points = np.array([[0.0, 0.0, 0.0, 1.0], [0.1, 0.1, 0.1, 0.7], [0.6, 0.0, 0.0, 0.4]])
    assert not np.any(ce.contains(points))
    d, _ = ce.measure(points[:, None, :], ONE, name)
    for p, dist in zip(points, d, strict=True):
        sampled = DISTANCES[name](p, hull).min()
        assert 0.0 < dist <= sampled + 1e-9
        assert sampled - dist < 0.05


def test_polytope_measure_shapes_duplicates_and_nan() -> None:
    ce = chicken_ce()
    rng = np.random.default_rng(7)
    policy = np.zeros((4, 500, 2, 1, 2))  # criteria call measure on [N, T, S, J] arrays, N T ~ 2000
    policy[..., 0, :] = rng.dirichlet(np.ones(2), size=(4, 500, 2))
    joint = joint_from_policy(policy, (2, 2))
    joint[2, 10:] = joint[2, 9]  # a converged tail repeats one point
    joint[3, 0] = np.nan
    d, k = ce.measure(joint, ONE, "tv")
    assert d.shape == (4, 500) and np.all(k == -1)
    assert np.isnan(d[3, 0]) and np.all(np.isfinite(d[:3]))
    np.testing.assert_array_equal(d[2, 10:], d[2, 9])
    single, _ = ce.measure(joint[1, 17][None], ONE, "tv")
    assert single[0] == pytest.approx(d[1, 17], abs=1e-12)


def test_cce_contains_ce() -> None:
    game = make("chicken")
    ce, cce = solution_set(game, "ce"), solution_set(game, "cce")
    rng = np.random.default_rng(8)
    points = rng.dirichlet(np.ones(4), size=(30, 1))
    d_ce, _ = ce.measure(points, ONE, "l1")
    d_cce, _ = cce.measure(points, ONE, "l1")
    assert np.all(d_cce <= d_ce + 1e-9)  # every CE is a CCE, so the CCE set is never farther


# ------------------------------------------------------------------------------------------- bad input
def test_bad_input() -> None:
    game = make("chicken")
    with pytest.raises(UnknownNameError, match="nash, ce, cce, minimax, maximin"):
        solution_set(game, "pareto")
    with pytest.raises(NotApplicableError, match="one-state"):
        solution_set(two_state_zero_sum(), "ce")
    for concept in ("ce", "cce"):  # the message names the concept key a user types, not its label
        with pytest.raises(NotApplicableError, match=f"concept '{concept}':"):
            solution_set(two_state_zero_sum(), concept)
    with pytest.raises(NotApplicableError, match="zero-sum"):
        solution_set(game, "minimax")
    with pytest.raises(InvalidGameError, match=r"\[..., 1, 4\]"):
        chicken_ce().measure(np.full((3, 2, 4), 0.25), np.ones(2))
    with pytest.raises(InvalidGameError, match="one label per member"):
        FiniteSolutionSet(np.full((2, 1, 4), 0.25), ("a",), None, "x")
    with pytest.raises(InvalidGameError, match=r"\[K, n\]"):
        FiniteSolutionSet(np.full((2, 1, 4), 0.25), ("a", "b"), np.zeros((3, 2)), "x")
    assert set(SOLUTION_CONCEPTS) == {"nash", "ce", "cce", "minimax", "maximin", "constrained", "safe"}
    with pytest.raises(NotApplicableError, match="costs and limits"):
        solution_set(game, "constrained")


def test_volunteers_dilemma_set_is_complete_and_names_the_partly_mixed_equilibria() -> None:
    """Issue 14 item 2: the 3 partly mixed equilibria (two volunteer with probability 1/2, the third ignores) were
    missed, so a run on one was 'not converged' near a wrong member. Now all 7 are members, numbered as `solve`
    numbers them, and a point on one is at distance 0 from the member whose label shows its profile."""
    game = make("volunteers-dilemma")
    nash = solution_set(game)
    assert nash.kind == "finite" and nash.complete and len(nash.labels) == 7
    half, ignore = np.array([0.5, 0.5]), np.array([0.0, 1.0])
    joint = np.einsum("a,b,c->abc", half, half, ignore).reshape(1, 1, 8)
    d, k = nash.measure(joint, ONE, "tv")
    assert d[0] == pytest.approx(0.0, abs=1e-12)
    assert nash.labels[int(k[0])].endswith("(volunteer: 0.5, ignore: 0.5 | volunteer: 0.5, ignore: 0.5 | ignore)")
