"""Learners reproduce the published qualitative results, over many seeds, through the compiled loop.

* Climbing game (Claus & Boutilier 1998): independent learners miss the optimal joint action; a central learner
  over joint actions finds it.
* Matching pennies and rock-paper-scissors in self-play (Bowling & Veloso 2002, Figs. 4-5 and §5): WoLF-PHC's
  current policy converges to the mixed equilibrium, plain PHC's keeps cycling.
"""

from __future__ import annotations

import numpy as np
import pytest

from marlkit.agents.tabular import CQL, IQL, PHC, Boltzmann, ExponentialDecay, InverseTime, WoLFPHC
from marlkit.games import NormalFormGame
from marlkit.train import train

# Claus & Boutilier (1998), Table 3: common payoff, optimum (a, a) = 11 guarded by -30 penalties.
CLIMBING = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])
SEEDS = 64


def final_joint_greedy(history) -> np.ndarray:
    """Flat index of the joint action each seed's final policies put most mass on."""
    a = history.policy[:, -1, :, 0].argmax(-1)  # [seeds, n]
    return a[:, 0] * 3 + a[:, 1]


def test_iql_misses_and_cql_finds_the_climbing_optimum() -> None:
    game = NormalFormGame(np.stack([CLIMBING, CLIMBING]), name="climbing")
    # Boltzmann exploration with a temperature decayed from 16 (Claus & Boutilier's setting is Boltzmann with a
    # decaying temperature); α = 0.1; 5,000 plays.
    explore = Boltzmann(ExponentialDecay(16.0, 0.999, 0.05))
    iql = train(game, IQL(step_size=0.1, exploration=explore), 5000, seeds=SEEDS, key=0, log_every=500)
    cql = train(game, CQL(step_size=0.1, exploration=explore), 5000, seeds=SEEDS, key=0, log_every=500)
    iql_joint, cql_joint = final_joint_greedy(iql), final_joint_greedy(cql)
    # Measured (key 0): IQL settles on (b, b) = 7 in 58/64 seeds and on (a, a) in 6/64 (9%); CQL on (a, a) in
    # 64/64. With 64 seeds the binomial standard error of a rate near 0.1 is ~0.037, so 0.30 sits > 5 SE above
    # IQL's rate, and CQL's 0.90 floor would fail only if its true rate dropped by > 4 SE of a 0.9 rate.
    assert np.mean(iql_joint == 0) <= 0.30
    assert np.mean(cql_joint == 0) >= 0.90
    # IQL has *settled*: its final policies are near-deterministic (temperature 0.05) on a sub-optimal action.
    settled = iql.policy[:, -1, :, 0].max(-1).min(-1) > 0.95
    assert np.mean(settled & (iql_joint != 0)) >= 0.70
    assert set(np.unique(iql_joint[iql_joint != 0])) <= {4, 5, 7, 8}  # (b,b), (b,c), (c,b), (c,c)


# Bowling & Veloso (2002, §5) schedules: α = 1 / (10 + t/10000), δ_w = 1 / (20000 + t); δ_l = 4 δ_w here, and
# plain PHC steps with the losing rate 4 / (20000 + t). Exploration ε = 0.05.
ALPHA = InverseTime(10.0, 10000.0)
WOLF = WoLFPHC(step_size=ALPHA, delta=InverseTime(20000.0), delta_lose=InverseTime(20000.0, 1.0, 4.0), epsilon=0.05)
PLAIN = PHC(step_size=ALPHA, delta=InverseTime(20000.0, 1.0, 4.0), epsilon=0.05)
MATCHING_PENNIES = NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]], name="matching pennies")
_RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
ROCK_PAPER_SCISSORS = NormalFormGame(np.stack([_RPS, -_RPS]), name="rock-paper-scissors")


def late_distance(game: NormalFormGame, learner, key: int) -> np.ndarray:
    """Per seed: the largest max-norm distance of either agent's current policy to the uniform equilibrium over
    the last 20 of 100 logging points (steps 80k-100k)."""
    history = train(game, learner, 100_000, seeds=16, key=key, log_every=1000)
    m = game.num_actions[0]
    distance = np.abs(history.policy[:, -20:, :, 0, :m] - 1.0 / m).max(-1)
    return distance.max(axis=(1, 2))


@pytest.mark.parametrize(
    "game",
    [MATCHING_PENNIES, pytest.param(ROCK_PAPER_SCISSORS, marks=pytest.mark.slow)],  # ~15 s each, mostly compiling
    ids=["matching-pennies", "rps"],
)
def test_wolf_converges_while_phc_cycles(game: NormalFormGame) -> None:
    wolf, plain = late_distance(game, WOLF, key=1), late_distance(game, PLAIN, key=1)
    # Measured (16 seeds, key 1): WoLF's worst late distance 0.006 (MP) / 0.012 (RPS); PHC's *smallest* 0.093
    # (MP) / 0.159 (RPS), its mean 0.12 / 0.19 — it circles the equilibrium (Bowling & Veloso 2002, Fig. 4).
    # Thresholds sit ~3-5x away from every measured seed on both sides.
    assert wolf.max() < 0.03
    assert plain.min() > 0.03
    assert plain.mean() > 0.08
