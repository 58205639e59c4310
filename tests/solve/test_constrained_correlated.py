"""Constrained correlated equilibria (Chen, Ma & Zhou 2022; Bernasconi et al. 2023) of one-state games.

Oracles: (1) a brute-force grid over agent i's stochastic modifications of a 2x2 game, φ(1|0) = t, φ(0|1) = s,
each kept only when the modified play meets agent i's own limits, brackets the exact gap LP; (2) where no
constraint can bind, the constrained CE set is the ordinary CE set, so the optimum equals
:func:`marlkit.solve.correlated.correlated_equilibrium` (an independent CE LP) divided by 1 - γ; (3) the constrained
team optimum is an upper bound, reached by resource-sharing (hand derivation in games/catalog/constrained.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from marlkit.errors import NotApplicableError, UnknownNameError
from marlkit.games import NormalFormGame
from marlkit.games.catalog import make
from marlkit.games.catalog.constrained import random_constrained
from marlkit.solve.constrained import constrained_ce_gaps, constrained_correlated_equilibrium
from marlkit.solve.correlated import correlated_equilibrium


def grid_gain(game, mu: np.ndarray, agent: int, points: int = 401) -> tuple[float, float]:
    """Best gain of ``agent`` over a grid of its feasible modifications of μ (2x2), and the bracket width."""
    u = game.rewards[agent, 0]
    C = game.costs[agent, :, 0]
    budget = game.limits[agent] * (1 - game.gamma)
    own = np.moveaxis(mu, agent, 0)  # [own recommended, other]
    U, Cs = np.moveaxis(u, agent, 0), np.moveaxis(C, agent + 1, 1)
    t, s = np.meshgrid(np.linspace(0, 1, points), np.linspace(0, 1, points), indexing="ij")

    # recommended 0: play 1 with prob t; recommended 1: play 0 with prob s
    def modified(table: np.ndarray) -> np.ndarray:
        r0 = own[0] @ ((1 - t)[..., None] * table[0] + t[..., None] * table[1]).transpose(2, 0, 1).reshape(2, -1)
        r1 = own[1] @ (s[..., None] * table[0] + (1 - s)[..., None] * table[1]).transpose(2, 0, 1).reshape(2, -1)
        return (r0 + r1).reshape(t.shape)

    value = modified(U)
    costs = np.stack([modified(Cs[j]) for j in range(Cs.shape[0])])
    feasible = np.all(costs <= budget[:, None, None] + 1e-12, axis=0)
    base = float(np.sum(mu * u))
    best = float(value[feasible].max()) if feasible.any() else -np.inf
    return (best - base) / (1 - game.gamma), 2 * float(np.abs(U).max()) / (points - 1) / (1 - game.gamma)


@pytest.mark.parametrize("seed", range(5))
def test_gap_lp_matches_the_modification_grid(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    game = random_constrained(rng, states=1, actions=(2, 2), constraints=1 + seed % 2, gamma=0.5, slack=1.2)
    mu = rng.dirichlet(np.ones(4)).reshape(2, 2)
    gains = constrained_ce_gaps(game, mu)
    for agent in (0, 1):
        best, width = grid_gain(game, mu, agent)
        if np.isfinite(best):
            assert best - 1e-9 <= gains[agent] <= best + width + 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_returned_equilibria_are_certified_by_the_grid(seed: int) -> None:
    game = random_constrained(np.random.default_rng(seed), states=1, actions=(2, 2), gamma=0.5, slack=1.5)
    result = constrained_correlated_equilibrium(game)
    if not result.found:  # none certified: may not exist (Slater-type condition, Ni et al. 2025)
        assert np.isnan(result.objective_value) and result.to_json()["found"] is False
        return
    assert result.objective_value <= result.upper_bound + 1e-9
    assert np.all(result.costs <= result.limits + 1e-9)
    for agent in (0, 1):
        best, _ = grid_gain(game, result.distribution, agent)
        assert best <= 1e-9
    if result.exact and "no constraint can bind" not in result.method:
        assert result.objective_value == pytest.approx(result.upper_bound, abs=1e-9)


def test_without_binding_constraints_it_is_the_ordinary_ce() -> None:
    for seed in range(3):
        game = random_constrained(np.random.default_rng(200 + seed), states=1, actions=(2, 3), gamma=0.5)
        loose = dataclasses.replace(game, limits=np.full_like(game.limits, 10.0))
        result = constrained_correlated_equilibrium(loose)
        ce = correlated_equilibrium(NormalFormGame(game.rewards[:, 0]), "utilitarian")
        assert result.exact and result.objective_value == pytest.approx(ce.objective_value / 0.5, abs=1e-8)


def test_resource_sharing_team_optimum_is_a_constrained_ce() -> None:
    # Derivation (games/catalog/constrained.py and tests/games/test_constrained_games.py): every deviation towards
    # high breaks the 0.4 budget, every deviation towards low loses reward, so (low, high)/(high, low)/(low, low)
    # at 0.4/0.4/0.2 is a constrained CE worth 36, the constrained team optimum.
    result = constrained_correlated_equilibrium(make("resource-sharing"))
    assert result.exact and result.objective_value == pytest.approx(36.0, abs=1e-9)
    assert result.to_json()["found"] is True


def test_weights_and_bad_objectives() -> None:
    game = make("resource-sharing")
    # agent 1 alone: the constrained team optimum for weights (1, 0) gives agent 1 its cap 0.4 of high against
    # a partner that stays low when agent 1 is high — worth (0.6·1 + 0.4·3) / 0.1 = 18 — and it is certified
    result = constrained_correlated_equilibrium(game, objective=[1.0, 0.0])
    assert result.found and result.exact and result.objective_value == pytest.approx(18.0, abs=1e-9)
    assert result.gains.max() <= 1e-9
    with pytest.raises(UnknownNameError, match="welfare"):
        constrained_correlated_equilibrium(game, objective="utilitarian")


def test_several_states_are_not_applicable() -> None:
    game = random_constrained(np.random.default_rng(0), states=2, actions=(2, 2))
    with pytest.raises(NotApplicableError, match="one-state"):
        constrained_correlated_equilibrium(game)
