"""Offline learners and the worst case of a target's gaps over the learners' reward box.

* The worst case over the box is exact (min of a linear function over a box, coordinate by coordinate): checked
  against brute force over every vertex of the box on random small stochastic games.
* What the learners adopt on clean data of catalog games: prisoner's dilemma -> (defect, defect), strictly
  dominant (margins 1 and 2, less the box); rock-paper-scissors -> its uniform minimax policy; stag hunt -> the
  payoff-dominant equilibrium (stag, stag) of the estimated stage game.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from marlkit.games import StochasticGame
from marlkit.games.catalog import make
from marlkit.offline.dominance import direct_gaps, gap_rows, worst_margins
from marlkit.offline.estimate import estimate
from marlkit.offline.learners import learn
from marlkit.offline.record import record, record_counts


def _random_game(rng: np.random.Generator) -> StochasticGame:
    T = rng.dirichlet(np.ones(3), size=(2, 2, 2))  # 2 states (+ a terminal one), 2x2 actions
    T = np.concatenate([T, np.zeros((1, 2, 2, 3))])
    T[2, :, :, 2] = 1.0
    R = rng.normal(size=(2, 3, 2, 2))
    R[:, 2] = 0.0
    return StochasticGame(T, R, initial=np.array([1.0, 0.0, 0.0]), gamma=0.8, terminal=np.array([False, False, True]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_worst_case_is_the_minimum_over_the_vertices_of_the_box(seed: int) -> None:
    rng = np.random.default_rng(seed)
    game = _random_game(rng)
    counts = rng.integers(1, 6, size=(3, 2, 2))
    counts[2] = 0
    data = record_counts(game, counts, seed=seed, noise=0.5)
    model = estimate(data, rho=0.7)
    target = rng.integers(0, 2, size=(3, 2))
    legal = data.legal_joint_actions()
    rows = gap_rows(model, target, "dominant", legal)
    worst = worst_margins(model, rows, data.num_actions).rows
    # brute force: every vertex R̂ ± r of the 8 live entries of each agent, gaps by direct policy evaluation
    live = 8
    best = np.full(rows.num_rows, np.inf)
    for signs in itertools.product((-1.0, 1.0), repeat=live):  # each row reads one agent's table: same signs serve
        step = np.zeros(model.radius.size)
        step[:live] = np.array(signs) * model.radius.ravel()[:live]
        best = np.minimum(best, direct_gaps(model, target, model.means + step.reshape(1, 3, 4), rows))
    assert np.allclose(worst, best, atol=1e-9)
    # the coefficient rows agree with direct evaluation at the center
    stream_means = model.means[rows.stream].reshape(rows.num_rows, -1)
    assert np.allclose(np.asarray(rows.coef.multiply(stream_means).sum(axis=1)).ravel(),
                       direct_gaps(model, target, model.means, rows), atol=1e-9)  # fmt: skip


def test_clean_catalog_games() -> None:
    pd = record(make("prisoners-dilemma"), episodes=400, seed=0, noise=0.2)
    for rho in (0.0, 1.0):
        adopted = learn(pd, rho)
        assert adopted.case == "dominant" and adopted.adopts([1, 1])
    rps = learn(record(make("rock-paper-scissors"), episodes=900, seed=0), 0.0)
    assert rps.case == "nash-of-estimate" and rps.actions is None
    assert rps.policy is not None and np.allclose(rps.policy[:, 0], 1 / 3, atol=0.05)  # near-uniform counts
    stag = learn(record(make("stag-hunt"), episodes=400, seed=0), 0.0)
    assert stag.case == "nash-of-estimate" and stag.adopts([0, 0])


def test_unvisited_joint_actions_block_a_pessimistic_dominant_equilibrium() -> None:
    counts = np.array([[[50, 0], [50, 50]]])  # (cooperate, defect) never logged
    data = record_counts(make("prisoners-dilemma"), counts)
    assert learn(data, 0.0).adopts([1, 1])  # CE reads R̂ = 0 there: defect still dominates (1 > 0, 5 > 3)
    pessimistic = learn(data, 0.5)
    assert pessimistic.case == "nash-of-estimate"  # the unbounded interval leaves no common dominant strategy
