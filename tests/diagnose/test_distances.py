"""Distances between distributions, product joints and state weights: golden values, independent oracles
(SciPy), metric axioms as properties, NaN handling and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from marlkit.diagnose.distances import (
    DISTANCES,
    KL_FLOOR,
    joint_from_policy,
    resolve_distance,
    state_weights,
    weighted_distance,
)
from marlkit.errors import InvalidGameError, UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.history import History

# ------------------------------------------------------------------------------------------ strategies
K = 4


@st.composite
def distributions(draw, k: int = K, n: int = 1) -> np.ndarray:
    """``[n, k]`` probability vectors with some exact zeros (raw non-negative weights, normalised)."""
    raw = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0, allow_subnormal=False)))
    raw[:, 0] += 1e-3  # a positive sum; zeros elsewhere stay possible
    return raw / raw.sum(axis=1, keepdims=True)


METRICS = ("tv", "l1", "l2")
SYMMETRIC = ("tv", "l1", "l2", "js")


# --------------------------------------------------------------------------------------------- golden
def test_golden_values_on_disjoint_and_uniform_distributions() -> None:
    p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert DISTANCES["tv"](p, q) == 1.0
    assert DISTANCES["l1"](p, q) == 2.0
    assert DISTANCES["l2"](p, q) == pytest.approx(math.sqrt(2.0))
    assert DISTANCES["js"](p, q) == pytest.approx(math.log(2.0))  # Lin (1991): the upper bound, disjoint supports
    half = np.array([0.5, 0.5])
    # KL(target || learned) with target q = (1, 0): ln(1 / 0.5) = ln 2 (Cover & Thomas 2006, §2.3)
    assert DISTANCES["kl"](half, p) == pytest.approx(math.log(2.0))


def test_kl_direction_and_floor() -> None:
    learned, target = np.array([0.9, 0.1]), np.array([0.5, 0.5])
    assert DISTANCES["kl"](learned, target) == pytest.approx(entropy(target, learned))  # KL(target || learned)
    assert DISTANCES["kl"](learned, target) != pytest.approx(entropy(learned, target))
    # the learned policy dropped the target's action 1: capped at ln(1 / KL_FLOOR) instead of +inf
    assert DISTANCES["kl"](np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(-math.log(KL_FLOOR))
    # target zeros contribute nothing (0 ln 0 = 0)
    assert DISTANCES["kl"](np.array([0.3, 0.7]), np.array([0.0, 1.0])) == pytest.approx(math.log(1 / 0.7))


@settings(max_examples=40, deadline=None)
@given(distributions(n=2))
def test_kl_and_js_match_scipy(pq: np.ndarray) -> None:
    p, q = pq
    assert DISTANCES["js"](p, q) == pytest.approx(jensenshannon(p, q) ** 2, abs=1e-12)  # SciPy gives the sqrt
    if np.all(p[q > 0] > KL_FLOOR):  # where the floor is not active KL is exact
        assert DISTANCES["kl"](p, q) == pytest.approx(entropy(q, p), abs=1e-12)


# ------------------------------------------------------------------------------------------ properties
@settings(max_examples=60, deadline=None)
@given(distributions(n=3))
def test_metric_axioms(pqr: np.ndarray) -> None:
    p, q, r = pqr
    for name in SYMMETRIC:
        d = DISTANCES[name]
        assert d(p, q) == pytest.approx(d(q, p), abs=1e-15), name
        assert d(p, p) == pytest.approx(0.0, abs=1e-15), name
        assert d(p, q) >= 0.0, name
    for name in METRICS:
        d = DISTANCES[name]
        assert d(p, r) <= d(p, q) + d(q, r) + 1e-12, name
    root_js = lambda a, b: math.sqrt(max(DISTANCES["js"](a, b), 0.0))  # noqa: E731 (a metric: Endres & Schindelin)
    # float64 JS carries ~1e-16 absolute error and the square root amplifies it to ~1e-8 near 0
    assert root_js(p, r) <= root_js(p, q) + root_js(q, r) + 3e-8
    # Gibbs' inequality, up to the documented floor on the learned side: target mass t <= KL_FLOOR below a floored
    # learned entry contributes t * ln(t / KL_FLOOR) >= -KL_FLOOR / e per action
    assert DISTANCES["kl"](p, q) >= -len(p) * KL_FLOOR / math.e - 1e-15
    if not np.allclose(p, q, atol=1e-6):  # closer than that, JS ~ sum (p-q)^2 / 8p is below float64 resolution
        assert all(DISTANCES[name](p, q) > 0.0 for name in SYMMETRIC)


@settings(max_examples=40, deadline=None)
@given(distributions(n=2))
def test_bounds_and_tv_is_half_l1(pq: np.ndarray) -> None:
    p, q = pq
    assert 0.0 <= DISTANCES["tv"](p, q) <= 1.0 + 1e-15
    assert DISTANCES["tv"](p, q) == pytest.approx(0.5 * DISTANCES["l1"](p, q), abs=1e-15)
    assert -1e-15 <= DISTANCES["js"](p, q) <= math.log(2.0) + 1e-12
    assert DISTANCES["l2"](p, q) <= DISTANCES["l1"](p, q) + 1e-15


@pytest.mark.parametrize("name", list(DISTANCES))
def test_vectorised_over_leading_axes(name: str) -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=(3, 4))
    q = rng.dirichlet(np.ones(5), size=(4,))  # broadcasts over the first axis
    d = DISTANCES[name](p, q)
    assert d.shape == (3, 4)
    for a in range(3):
        for b in range(4):
            assert d[a, b] == pytest.approx(float(DISTANCES[name](p[a, b], q[b])), abs=1e-15)


def test_resolve_distance() -> None:
    assert resolve_distance("tv") == ("tv", DISTANCES["tv"])

    def hellinger(p, q):
        return np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(axis=-1))

    assert resolve_distance(hellinger) == ("hellinger", hellinger)
    with pytest.raises(UnknownNameError, match="tv, l1, l2, kl, js"):
        resolve_distance("wasserstein")
    with pytest.raises(UnknownNameError, match="callable"):
        resolve_distance(3)


# ----------------------------------------------------------------------------------------------- joints
def test_joint_from_policy_is_the_c_order_outer_product() -> None:
    rng = np.random.default_rng(1)
    num_actions = (2, 3, 2)
    policy = np.zeros((4, 3, 2, 3))  # [batch, n, S, A_max]
    for i, m in enumerate(num_actions):
        policy[:, i, :, :m] = rng.dirichlet(np.ones(m), size=(4, 2))
    joint = joint_from_policy(policy, num_actions)
    assert joint.shape == (4, 2, 12)
    expected = np.einsum("bsx,bsy,bsz->bsxyz", policy[:, 0, :, :2], policy[:, 1, :, :3], policy[:, 2, :, :2])
    np.testing.assert_allclose(joint, expected.reshape(4, 2, 12), atol=1e-15)
    np.testing.assert_allclose(joint.sum(-1), 1.0, atol=1e-12)


def test_joint_from_policy_matches_the_history_joint_count_order() -> None:
    # agent 0 plays action 1, agent 1 plays action 2 of 3: the joint count lands at [1, 2] -> flat index 1*3 + 2
    policy = np.zeros((2, 1, 3))
    policy[0, 0, 1] = 1.0
    policy[1, 0, 2] = 1.0
    counts = np.zeros((1, 2, 3))
    counts[0, 1, 2] = 7
    np.testing.assert_array_equal(joint_from_policy(policy, (2, 3)), counts.reshape(1, -1) / 7)


def test_joint_from_policy_of_no_agents_and_bad_shapes() -> None:
    np.testing.assert_array_equal(joint_from_policy(np.zeros((5, 0, 2, 3)), ()), np.ones((5, 2, 1)))
    with pytest.raises(InvalidGameError, match="n=2"):
        joint_from_policy(np.zeros((3, 1, 2)), (2, 2))
    with pytest.raises(InvalidGameError, match="3 actions"):
        joint_from_policy(np.zeros((2, 1, 2)), (2, 3))


# ------------------------------------------------------------------------------------------ state weights
def three_state_game() -> StochasticGame:
    """States 0 and 1 live (uniform moves between all states), state 2 terminal; starts in state 1."""
    T = np.full((3, 2, 2, 3), 1 / 3)
    return StochasticGame(
        transitions=T,
        rewards=np.zeros((2, 3, 2, 2)),
        initial=np.array([0.0, 1.0, 0.0]),
        gamma=0.9,
        terminal=np.array([False, False, True]),
    )


def history_with_counts(joint_counts: np.ndarray) -> History:
    N, T, S = joint_counts.shape[:3]
    return History(
        steps=np.arange(1, T + 1) * 10,
        seeds=np.arange(N),
        policy=np.full((N, T, 2, S, 2), 0.5, dtype=np.float32),
        average_policy=np.full((N, T, 2, S, 2), np.nan, dtype=np.float32),
        has_average_policy=np.zeros(2, dtype=bool),
        joint_counts=joint_counts,
        episode_return=np.zeros((N, T, 2)),
        episode_count=np.ones((N, T), dtype=np.int64),
        reward_mean=np.zeros((N, T, 2)),
    )


def test_state_weights() -> None:
    game = three_state_game()
    np.testing.assert_allclose(state_weights(game), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(state_weights(game, "initial"), [0.0, 1.0, 0.0])
    counts = np.zeros((2, 2, 3, 2, 2), dtype=np.int64)
    counts[0, -1, 0, 0, 0], counts[1, -1, 0, 1, 1], counts[1, -1, 1, 0, 1] = 3, 3, 2  # last point is cumulative
    counts[0, 0, 1, 0, 0] = 100  # an earlier logging point: not counted twice
    np.testing.assert_allclose(state_weights(game, "visitation", history_with_counts(counts)), [0.75, 0.25, 0.0])
    np.testing.assert_allclose(state_weights(game, np.array([1.0, 3.0, 0.0])), [0.25, 0.75, 0.0])
    stage = NormalFormGame(np.zeros((2, 2, 2)))
    for kind in ("uniform", "initial"):
        np.testing.assert_array_equal(state_weights(stage, kind), [1.0])


def test_state_weights_bad_input() -> None:
    game = three_state_game()
    with pytest.raises(UnknownNameError, match="uniform, visitation, initial"):
        state_weights(game, "stationary")
    with pytest.raises(InvalidGameError, match="history"):
        state_weights(game, "visitation")
    with pytest.raises(InvalidGameError, match=r"shape \(3,\)"):
        state_weights(game, np.ones(2))
    for bad in ([1.0, -1.0, 1.0], [0.0, 0.0, 0.0], [np.nan, 1.0, 1.0]):
        with pytest.raises(InvalidGameError, match="non-negative"):
            state_weights(game, np.array(bad))
    with pytest.raises(InvalidGameError, match="no visits"):
        state_weights(game, "visitation", history_with_counts(np.zeros((1, 1, 3, 2, 2), dtype=np.int64)))


# ----------------------------------------------------------------------------------------- weighted
def test_weighted_distance_drops_unvisited_states_and_renormalises() -> None:
    target = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])  # [S, J]
    learned = np.array(
        [
            [[0.0, 1.0], [0.0, 1.0], [0.5, 0.5]],  # TV per state: 1, 0, 0
            [[np.nan, np.nan], [1.0, 0.0], [0.5, 0.5]],  # state 0 unvisited: per state -, 1, 0
            [[np.nan, np.nan], [np.nan, np.nan], [np.nan, np.nan]],  # nothing visited
        ]
    )
    w = np.array([0.5, 0.25, 0.25])
    d = weighted_distance(learned, target, w, "tv")
    np.testing.assert_allclose(d[:2], [0.5, 0.25 / 0.5])
    assert np.isnan(d[2])
    # a state with weight 0 contributes nothing even when the learned distribution is far from the target there
    np.testing.assert_allclose(weighted_distance(learned[:1], target, np.array([0.0, 0.5, 0.5]), "l1"), [0.0])


def test_weighted_distance_broadcasts_history_shaped_arrays() -> None:
    rng = np.random.default_rng(2)
    joint = rng.dirichlet(np.ones(4), size=(3, 5, 2))  # [N, T, S, J]
    target = rng.dirichlet(np.ones(4), size=2)
    w = np.array([0.3, 0.7])
    d = weighted_distance(joint, target, w, "js")
    assert d.shape == (3, 5)
    manual = sum(w[s] * DISTANCES["js"](joint[1, 4, s], target[s]) for s in range(2))
    assert d[1, 4] == pytest.approx(manual, abs=1e-14)
