"""Non-stationarity: synthetic Histories where known agents move by known amounts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlkit.diagnose.nonstationarity import Nonstationarity, nonstationarity
from marlkit.errors import InvalidGameError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.history import History

T = 6
STEP = 0.1  # agent 0's probability of action 0 grows by this much per logging point


def history(policy: np.ndarray, returns: np.ndarray | None = None) -> History:
    """A History around ``policy [N, T, n, S, A]`` (counts and returns are placeholders unless given)."""
    N, T_, n, S, A = policy.shape
    if returns is None:
        returns = np.arange(N * T_ * n, dtype=np.float64).reshape(N, T_, n)
    return History(
        steps=(np.arange(T_) + 1) * 50,
        seeds=np.arange(N),
        policy=policy.astype(np.float32),
        average_policy=np.full(policy.shape, np.nan, dtype=np.float32),
        has_average_policy=np.zeros(n, dtype=bool),
        joint_counts=np.zeros((N, T_, S, *([A] * n)), dtype=np.int64),
        episode_return=returns,
        episode_count=np.ones((N, T_), dtype=np.int64),
        reward_mean=np.zeros((N, T_, n)),
    )


def moving_and_frozen(n: int = 2, seeds: int = 2) -> np.ndarray:
    """Agent 0 moves from (0.2, 0.8) by STEP per point; every other agent is frozen at (0.3, 0.7)."""
    policy = np.zeros((seeds, T, n, 1, 2))
    p = 0.2 + STEP * np.arange(T)
    policy[:, :, 0, 0] = np.stack([p, 1 - p], axis=-1)
    policy[:, :, 1:, 0] = [0.3, 0.7]
    return policy


def test_frozen_agent_sees_the_moving_one_and_not_vice_versa() -> None:
    game = NormalFormGame(np.zeros((2, 2, 2)))
    returns = np.random.default_rng(0).normal(size=(2, T, 2))
    ns = nonstationarity(history(moving_and_frozen(), returns), game)
    assert isinstance(ns, Nonstationarity) and ns.distance == "tv"
    assert ns.others_movement.shape == ns.own_movement.shape == (2, T, 2)
    assert np.all(np.isnan(ns.others_movement[:, 0])) and np.all(np.isnan(ns.own_movement[:, 0]))
    # TV between (p, 1-p) and (p + 0.1, 0.9 - p) is 0.1 (float32 snapshots: 1e-6)
    np.testing.assert_allclose(ns.others_movement[:, 1:, 1], STEP, atol=1e-6)  # agent 1 sees agent 0 move
    np.testing.assert_array_equal(ns.others_movement[:, 1:, 0], 0.0)  # agent 0's opponent is frozen
    np.testing.assert_allclose(ns.own_movement[:, 1:, 0], STEP, atol=1e-6)
    np.testing.assert_array_equal(ns.own_movement[:, 1:, 1], 0.0)
    np.testing.assert_array_equal(ns.own_return, returns)
    np.testing.assert_array_equal(ns.z, (np.arange(T) + 1) * 50)


def test_other_distances_and_a_user_callable() -> None:
    game = NormalFormGame(np.zeros((2, 2, 2)))
    h = history(moving_and_frozen())
    l1 = nonstationarity(h, game, distance="l1")
    np.testing.assert_allclose(l1.others_movement[:, 1:, 1], 2 * STEP, atol=1e-6)

    def max_abs(p, q):
        return np.abs(p - q).max(axis=-1)

    user = nonstationarity(h, game, distance=max_abs)
    assert user.distance == "max_abs"
    np.testing.assert_allclose(user.others_movement[:, 1:, 1], STEP, atol=1e-6)


def test_three_agents_the_others_product_moves_like_the_one_mover() -> None:
    # TV(p ⊗ r, q ⊗ r) = TV(p, q) for a fixed r: the frozen agents don't dilute or amplify the mover's motion
    game = NormalFormGame(np.zeros((3, 2, 2, 2)))
    ns = nonstationarity(history(moving_and_frozen(n=3, seeds=1)), game)
    for i in (1, 2):
        np.testing.assert_allclose(ns.others_movement[0, 1:, i], STEP, atol=1e-6)
    np.testing.assert_array_equal(ns.others_movement[0, 1:, 0], 0.0)


def test_states_are_weighted() -> None:
    # two live states; agent 0 moves only in state 1
    T_ = np.full((2, 2, 2, 2), 0.5)
    game = StochasticGame(transitions=T_, rewards=np.zeros((2, 2, 2, 2)), initial=np.array([1.0, 0.0]), gamma=0.9)
    policy = np.full((1, T, 2, 2, 2), 0.5)
    p = 0.2 + STEP * np.arange(T)
    policy[0, :, 0, 1] = np.stack([p, 1 - p], axis=-1)
    h = history(policy)
    uniform = nonstationarity(h, game, weights="uniform")  # the default for a multi-state game is visitation
    np.testing.assert_allclose(uniform.others_movement[0, 1:, 1], STEP / 2, atol=1e-6)
    np.testing.assert_allclose(uniform.weights, [0.5, 0.5])
    initial = nonstationarity(h, game, weights="initial")  # all weight on state 0, where nothing moves
    np.testing.assert_array_equal(initial.others_movement[0, 1:, 1], 0.0)
    custom = nonstationarity(h, game, weights=np.array([1.0, 3.0]))
    np.testing.assert_allclose(custom.others_movement[0, 1:, 1], 0.75 * STEP, atol=1e-6)


def test_to_dict_is_json_with_nan_as_null() -> None:
    game = NormalFormGame(np.zeros((2, 2, 2)))
    ns = nonstationarity(history(moving_and_frozen()), game)
    data = json.loads(json.dumps(ns.to_dict(), allow_nan=False))
    assert data["others_movement"][0][0] == [None, None]
    assert data["others_movement"][0][1][1] == pytest.approx(STEP, abs=1e-6)
    assert data["distance"] == "tv" and len(data["z"]) == T


def test_a_history_of_another_game_is_rejected() -> None:
    game = NormalFormGame(np.zeros((3, 2, 2, 2)))  # three players; the History has two
    with pytest.raises(InvalidGameError, match="n=3"):
        nonstationarity(history(moving_and_frozen()), game)
