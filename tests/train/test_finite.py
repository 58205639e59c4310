"""The NaN / inf guard's rules (marlkit.train.finite) on hand-made records: the NaN markers of healthy windows
(no episode ended, a metric its learner does not report, no average policy) pass; inf anywhere, NaN in an always
defined field, and NaN where a number was before are caught, with the window, seed, key and agent named."""

from __future__ import annotations

import numpy as np

from marlkit.train.finite import FiniteGuard
from marlkit.train.protocol import Record

N, W, n, S, A = 2, 3, 2, 1, 2  # seeds, windows, agents, states, actions


def _records(**changes: object) -> Record:
    record = Record(
        policy=np.full((N, W, n, S, A), 0.5, np.float32),
        average_policy=np.full((N, W, n, S, A), np.nan, np.float32),  # no learner keeps one: a marker
        counts=np.zeros((N, W, S, 4), np.int32),
        episode_return=np.ones((N, W, n), np.float32),
        episode_count=np.ones((N, W), np.int32),
        reward_mean=np.zeros((N, W, n), np.float32),
        metrics={"td_error": np.stack([np.ones((N, W)), np.full((N, W), np.nan)], axis=-1).astype(np.float32)},
    )
    return record._replace(**changes)  # type: ignore[arg-type]


def test_healthy_markers_pass() -> None:
    returns = np.ones((N, W, n), np.float32)
    returns[1, 2] = np.nan
    counts = np.ones((N, W), np.int32)
    counts[1, 2] = 0  # no episode ended in that window: its return is undefined
    assert FiniteGuard().check(_records(episode_return=returns, episode_count=counts), 0, [0, 1]) is None


def test_inf_anywhere_and_nan_in_always_defined_fields_are_caught() -> None:
    reward = np.zeros((N, W, n), np.float32)
    reward[1, 2, 0] = np.inf
    found = FiniteGuard().check(_records(reward_mean=reward), 10, [4, 7])
    assert (found.window, found.seed, found.key, found.agent, found.value) == (12, 7, "reward_mean", 0, np.inf)
    assert found.describe() == "inf in reward_mean of agent 0, seed 7, logging window 12"
    assert found.to_json()["value"] == "inf"

    policy = np.full((N, W, n, S, A), 0.5, np.float32)
    policy[0, 1, 1, 0, 0] = np.nan
    found = FiniteGuard().check(_records(policy=policy), 0, [0, 1])
    assert (found.window, found.seed, found.key, found.agent) == (1, 0, "policy", 1)

    returns = np.ones((N, W, n), np.float32)
    returns[0, 0, 1] = np.nan  # an episode ended (count 1) but its return is NaN
    assert FiniteGuard().check(_records(episode_return=returns), 0, [0, 1]).key == "episode_return"


def test_a_metric_that_turns_nan_is_caught_but_an_unreported_one_is_not() -> None:
    metric = np.stack([np.ones((N, W)), np.full((N, W), np.nan)], axis=-1).astype(np.float32)
    metric[1, 2, 0] = np.nan  # agent 0 reported numbers in windows 0 and 1; agent 1 never reports it
    found = FiniteGuard().check(_records(metrics={"td_error": metric}), 0, [0, 1])
    assert (found.window, found.seed, found.key, found.agent) == (2, 1, "metrics.td_error", 0)
    # across calls (segments): the guard remembers agent 0 reported it
    guard = FiniteGuard()
    assert guard.check(_records(), 0, [0, 1]) is None
    later = np.full((N, W, n), np.nan, np.float32)
    assert guard.check(_records(metrics={"td_error": later}), 3, [0, 1]).window == 3


def test_a_partly_nan_average_policy_is_caught() -> None:
    average = np.full((N, W, n, S, A), 0.5, np.float32)
    average[:, :, 1] = np.nan  # agent 1's learner keeps no average policy: a marker
    assert FiniteGuard().check(_records(average_policy=average), 0, [0, 1]) is None
    average[0, 2, 0, 0, 1] = np.nan  # agent 0's has numbers, and one NaN
    assert FiniteGuard().check(_records(average_policy=average), 0, [0, 1]).agent == 0
