"""The constrained-CE gap of a correlated joint policy in a Markov game (occupancy LP over (s, a_i, a_i')).

Oracles: (1) on one-state games, the per-step modification LP :func:`constrained_ce_gaps` (a different
formulation, itself checked against a grid in test_constrained_correlated.py); (2) on 3-state games, brute force over
every deterministic stationary modification φ: (s, a_i) -> a_i', each modified joint policy evaluated by exact
Bellman solves (``joint_values``): the LP gain is >= the best feasible one, and equal to it when the limits cannot
bind (an unconstrained MDP on the augmented state (s, a_i) has a deterministic optimum, Puterman 1994 Thm. 6.2.10).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from marlkit.games.catalog.constrained import random_constrained
from marlkit.solve.constrained import constrained_ce_gaps, constrained_optimum, markov_constrained_ce_gaps
from marlkit.solve.constrained.occupancy import joint_values


@pytest.mark.parametrize("seed", range(4))
def test_one_state_equals_the_per_step_modification_lp(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    game = random_constrained(rng, states=1, actions=(2, 3), constraints=1 + seed % 2, gamma=0.6, slack=1.3)
    mu = rng.dirichlet(np.ones(6)).reshape(2, 3)
    assert markov_constrained_ce_gaps(game, mu[None]) == pytest.approx(constrained_ce_gaps(game, mu), abs=1e-9)


def deterministic_best(game, joint: np.ndarray, agent: int) -> float:
    """Best feasible gain of ``agent`` over every deterministic stationary modification (2 actions)."""
    S = game.num_states
    current = joint_values(game, joint, game.rewards)[agent]
    best = -np.inf
    for choice in itertools.product(range(2), repeat=2 * S):
        phi = np.array(choice).reshape(S, 2)  # phi[s, recommended] = played
        moved = np.moveaxis(joint, 1 + agent, 1)
        modified = np.zeros_like(moved)
        for s in range(S):
            for a in range(2):
                modified[s, phi[s, a]] += moved[s, a]
        modified = np.moveaxis(modified, 1, 1 + agent)
        costs = joint_values(game, modified, game.costs[agent])
        if np.all(costs <= game.limits[agent] + 1e-12):
            best = max(best, joint_values(game, modified, game.rewards)[agent] - current)
    return best


@pytest.mark.parametrize("seed", range(3))
def test_multi_state_gap_brackets_deterministic_modifications(seed: int) -> None:
    rng = np.random.default_rng(310 + seed)
    game = random_constrained(rng, states=3, actions=(2, 2), gamma=0.8, slack=1.3)
    joint = rng.dirichlet(np.ones(4), size=3).reshape(3, 2, 2)
    gains = markov_constrained_ce_gaps(game, joint)
    loose = dataclasses.replace(game, limits=np.full_like(game.limits, 1e3))
    loose_gains = markov_constrained_ce_gaps(loose, joint)
    for agent in (0, 1):
        assert gains[agent] >= deterministic_best(game, joint, agent) - 1e-9
        assert loose_gains[agent] == pytest.approx(deterministic_best(loose, joint, agent), abs=1e-9)
        assert gains[agent] <= loose_gains[agent] + 1e-9


def test_team_optimum_gap_is_nonnegative_and_identity_is_feasible() -> None:
    # the identity modification is feasible for a feasible policy, so every gain is >= 0 (up to rounding)
    game = random_constrained(np.random.default_rng(320), states=3, actions=(2, 2), gamma=0.8, slack=1.3)
    gains = markov_constrained_ce_gaps(game, constrained_optimum(game).policy)
    assert np.all(gains >= -1e-9)
