"""The safety diagnosis of constrained runs (issue 18, item 4): costs over learning, feasibility verdicts, the gaps
to the exact optima and λ against λ*.

Golden values are derived by hand on the catalog's resource-sharing game (src/marlkit/games/catalog/constrained.py:
one state, γ = 0.9, per-step reward 1 for low, 3 (other low) or 1.5 (other high) for high, cost 1 per high, limit 4
per agent). A stationary policy playing high with probability p costs J = p / (1 - γ) = 10 p, so p = 0.4 sits on
the limit, p = 0.6 exceeds it by 2 (relative violation 2 / 4 = 0.5).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlkit.diagnose.report import diagnose
from marlkit.diagnose.safety import (
    SLACK,
    Feasibility,
    feasibility,
    game_safety,
    task_safety,
    trailing_costs,
    violation,
)
from marlkit.errors import NotApplicableError
from marlkit.games.catalog import make
from marlkit.history import History

T, EVERY = 40, 100
STEPS = np.arange(1, T + 1) * EVERY


def _history(high: np.ndarray, multipliers: np.ndarray | None = None) -> History:
    """Two agents on resource-sharing, both playing high with probability ``high [N, T]``; the play counts follow
    the policy exactly (100 plays per window, rounded), and costs are recorded as a Lagrangian learner would."""
    high = np.asarray(high, dtype=np.float64)
    N = high.shape[0]
    row = np.stack([1.0 - high, high], axis=-1)  # [N, T, A=2]
    policy = np.stack([row, row], axis=2)[:, :, :, None, :]  # [N, T, n=2, S=1, A=2]
    joint = row[..., :, None] * row[..., None, :]  # [N, T, 2, 2]
    counts = np.rint(joint * EVERY).astype(np.int64)
    cost = np.repeat(high[..., None, None], 2, axis=2)  # [N, T, n, m=1]: mean cost per step
    if multipliers is None:
        multipliers = np.full((N, T, 2, 1), np.nan)
    return History(
        steps=STEPS,
        seeds=np.arange(N),
        policy=policy.astype(np.float32),
        average_policy=np.full(policy.shape, np.nan, dtype=np.float32),
        has_average_policy=np.zeros(2, dtype=bool),
        joint_counts=np.cumsum(counts, axis=1)[:, :, None],
        episode_return=np.full((N, T, 2), np.nan),
        episode_count=np.zeros((N, T), dtype=np.int64),
        reward_mean=np.zeros((N, T, 2)),
        cost_mean=cost,
        episode_cost=np.full(cost.shape, np.nan),
        multipliers=multipliers,
        meta={"game": "resource-sharing"},
    )


def test_violation_is_the_largest_relative_excess():
    limits = np.array([[4.0, 0.5], [4.0, 0.5]])
    costs = np.array([[5.0, 0.5], [3.0, 1.5]])  # agent 0 over by 1 (of 4); agent 1's second cost over by 1 (of 1)
    assert violation(costs, limits) == pytest.approx(1.0)  # 1 / max(1, 0.5) beats 1 / 4
    assert violation(np.array([[4.0, 0.5], [0.0, 0.0]]), limits) == 0.0  # on the limit is feasible
    assert np.isnan(violation(np.array([[np.nan, 0.0], [0.0, 0.0]]), limits))


def test_feasibility_verdicts_follow_the_convergence_rule():
    z = STEPS.astype(float)
    settles = np.where(np.arange(T) < 10, 0.5, 0.0)  # violates, then within the limits from point 10 on
    stays_over = np.full(T, 0.3)
    oscillates = np.tile([0.0, 0.2], T // 2)  # ends above the limit
    returns = np.where((np.arange(T) < 15) | (np.arange(T) >= 36), 0.0, 0.3)  # inside, out for 21 points, back
    verdicts = feasibility(z, np.stack([settles, stays_over, oscillates, returns]), slack=SLACK)
    assert [v.verdict for v in verdicts] == [
        Feasibility.FEASIBLE,
        Feasibility.VIOLATING,
        Feasibility.VIOLATING,
        Feasibility.INCONCLUSIVE,  # back inside only briefly after a longer stay inside ended: not yet judged
    ]
    assert verdicts[0].z0 == z[10]
    assert verdicts[1].z0 is None and "slack" in verdicts[1].reason
    with pytest.raises(NotApplicableError, match="slack"):
        feasibility(z, settles[None], slack=0.0)


@pytest.fixture(scope="module")
def game():
    return make("resource-sharing")


def test_game_safety_on_the_limit_and_over_it(game):
    high = np.stack([np.full(T, 0.4), np.full(T, 0.6)])  # seed 0 on the limit, seed 1 over it
    lam = np.full((2, T, 2, 1), 1.4)
    report = game_safety(_history(high, lam), game)
    # exact J = 10 p
    np.testing.assert_allclose(report.costs[0, -1], [[4.0], [4.0]], atol=1e-5)
    np.testing.assert_allclose(report.costs[1, -1], [[6.0], [6.0]], atol=1e-5)
    assert [v.verdict for v in report.last_iterate] == [Feasibility.FEASIBLE, Feasibility.VIOLATING]
    # average play: the counts follow the policy, so the same verdicts
    assert [v.verdict for v in report.average] == [Feasibility.FEASIBLE, Feasibility.VIOLATING]
    # team return per step at p = 0.4 for both: 2 · 1.56 = 3.12, over 1 / (1 - γ) = 10 steps
    assert report.team_return[0] == pytest.approx(31.2, abs=1e-4)
    # the correlated constrained optimum: (high, low) and (low, high) 0.4 each, (low, low) 0.2 — team 3.6 per step;
    # unconstrained: (high, low) / (low, high) only, team 4 per step
    assert report.constrained_optimum == pytest.approx(36.0, abs=1e-6)
    assert report.unconstrained_optimum == pytest.approx(40.0, abs=1e-6)
    assert report.price_of_safety == pytest.approx(4.0, abs=1e-6)
    assert report.gap()[0] == pytest.approx(36.0 - 31.2, abs=1e-4)
    # (0.4, 0.4) is a constrained Nash equilibrium: high gains 2 - 1.5 · 0.4 = 1.4 > 0 per step, so each agent
    # plays high up to its limit; its λ* is that gain per unit of cost (both in discounted units)
    assert report.constrained_nash_conv[0] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(report.reference_multipliers[0], [[1.4], [1.4]], atol=1e-6)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["feasibility"]["last_iterate"] == {"feasible": 1, "violating": 1, "inconclusive": 0}
    text = "\n".join(report.lines())
    assert "return given up for safety 4" in text and "λ*" in text


def test_a_constrained_game_is_diagnosed_with_its_safety_section(game, tmp_path):
    history = _history(np.stack([np.full(T, 0.4), np.full(T, 0.4)]))
    report = diagnose(history, game)
    assert report.concept == "constrained"
    assert report.safety is not None and report.safety.counts()["feasible"] == 2
    assert report.safety.multipliers is None  # no learner kept a λ
    # (0.4, 0.4) is a constrained Nash equilibrium: the joint policy's distance to the set (its constrained
    # NashConv plus violations; float32 snapshots) is 0
    assert np.all(report.results["joint_policy"].metric[:, -1] < 1e-4)
    assert json.loads(json.dumps(report.to_dict(), allow_nan=False))["safety"]["constrained_optimum"] == 36.0
    assert "safety" in report.text()
    written = report.plots(tmp_path)
    assert tmp_path / "costs.png" in written


def test_task_safety_is_monte_carlo_with_standard_errors():
    N = 4
    episode_cost = np.full((N, T, 3, 1), np.nan)
    rng = np.random.default_rng(0)
    episode_cost[:, 1:] = 20.0 + rng.normal(0.0, 1.0, (N, T - 1, 3, 1))  # limit 25: feasible with margin
    history = History(
        steps=STEPS,
        seeds=np.arange(N),
        policy=np.zeros((N, T, 3, 0, 5), dtype=np.float32),
        average_policy=np.zeros((N, T, 3, 0, 5), dtype=np.float32),
        has_average_policy=np.zeros(3, dtype=bool),
        joint_counts=np.zeros((N, T, 0), dtype=np.int64),
        episode_return=np.full((N, T, 3), -10.0),
        episode_count=np.ones((N, T), dtype=np.int64),
        reward_mean=np.zeros((N, T, 3)),
        cost_mean=np.zeros((N, T, 3, 1)),
        episode_cost=episode_cost,
        multipliers=np.zeros((N, T, 3, 1)),
    )
    report = task_safety(history, np.full((3, 1), 25.0))
    assert report.counts()["violating"] == 0
    assert np.all(np.abs(report.final_cost - 20.0) < 1.0)
    assert np.all(report.final_cost_se > 0) and np.all(report.final_cost_se < 1.0)
    assert report.constrained_optimum is None and report.team_return[0] == pytest.approx(-30.0)
    tight = task_safety(history, np.full((3, 1), 10.0))
    assert tight.counts()["violating"] == N
    with pytest.raises(NotApplicableError, match="limits"):
        task_safety(history, np.full((2, 1), 25.0))
    # noise alone does not make a seed violating: windows scatter ±1 around a mean 0.5 above the limit of 20 —
    # within the slack (5% of 20 = 1) once averaged over the trailing windows
    assert task_safety(history, np.full((3, 1), 19.5)).counts()["violating"] == 0


def test_trailing_costs_weight_windows_by_their_episodes():
    costs = np.array([[1.0, np.nan, 4.0, 2.0]])[:, :, None, None]  # one seed, four windows, one agent
    episodes = np.array([[1, 0, 3, 1]])
    mean, se = trailing_costs(costs, episodes, span=3)
    assert mean[0, 0, 0, 0] == 1.0 and np.isnan(se[0, 0, 0, 0])  # one window: no spread
    assert mean[0, 2, 0, 0] == pytest.approx((1.0 + 3 * 4.0) / 4)  # the NaN window (no episode) is skipped
    assert mean[0, 3, 0, 0] == pytest.approx((3 * 4.0 + 2.0) / 4)  # the last three windows only
    assert se[0, 3, 0, 0] > 0
