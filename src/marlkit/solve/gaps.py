"""How far a correlated distribution is from a correlated or coarse correlated equilibrium.

A correlated distribution μ over joint actions is an array ``[A_1, ..., A_n]`` summing to 1.

* **Correlated equilibrium** (Aumann 1974; Shoham & Leyton-Brown 2009, Def. 3.4.12): for every player i and every
  pair of own actions (a_i -> a_i'),

      G_i(a_i, a_i') = Σ_{a_-i} μ(a_i, a_-i) [u_i(a_i', a_-i) - u_i(a_i, a_-i)] <= 0.

  The CE gap is the largest violated incentive constraint, max_i max_{a_i, a_i'} G_i(a_i, a_i') >= 0 (the pair
  a_i = a_i' gives 0), and it is 0 exactly at a CE.
* **Coarse correlated equilibrium** (Hannan 1957; Moulin & Vial 1978): no player gains by committing to a fixed
  action before seeing the recommendation,

      g_i(a_i') = U_i(a_i', μ_-i) - U_i(μ) = Σ_{a_i} G_i(a_i, a_i') <= 0,

  with μ_-i the others' marginal. The raw gains can be negative (a strict CCE); the CCE gap is
  max(0, max_i max_{a_i'} g_i(a_i')), 0 exactly at a CCE.

For a product distribution μ = ⊗_i σ_i the CCE gains are the Nash gains, so the CCE gap equals max_i regret_i(σ).
"""

from __future__ import annotations

import numpy as np

from marlkit.games.normal_form import NormalFormGame


def _own_axis_first(game: NormalFormGame, mu: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """μ and u_i as matrices ``[A_i, Π_{j≠i} A_j]`` (own action first, the others in player order)."""
    m = game.num_actions[i]
    return np.moveaxis(mu, i, 0).reshape(m, -1), np.moveaxis(game.payoffs[i], i, 0).reshape(m, -1)


def ce_deviation_gains(game: NormalFormGame, mu: np.ndarray) -> list[np.ndarray]:
    """For each player the matrix ``G_i[a_i, a_i']`` of gains from switching a_i -> a_i' (module docstring)."""
    mu = game.check_correlated(mu)
    gains = []
    for i in range(game.n_players):
        M, U = _own_axis_first(game, mu, i)
        G = M @ U.T - np.sum(M * U, axis=1)[:, None]
        np.fill_diagonal(G, 0.0)  # a_i -> a_i is no deviation; removes rounding in the two sums above
        gains.append(G)
    return gains


def ce_gap_per_player(game: NormalFormGame, mu: np.ndarray) -> np.ndarray:
    """``[n]``: each player's largest violated correlated-equilibrium incentive constraint (>= 0)."""
    return np.array([G.max() for G in ce_deviation_gains(game, mu)])


def ce_gap(game: NormalFormGame, mu: np.ndarray) -> float:
    """Largest violated CE incentive constraint over all players (Aumann 1974); 0 exactly at a CE."""
    return float(ce_gap_per_player(game, mu).max())


def cce_deviation_gains(game: NormalFormGame, mu: np.ndarray) -> list[np.ndarray]:
    """For each player the vector ``g_i[a_i'] = U_i(a_i', μ_-i) - U_i(μ)`` (may be negative)."""
    mu = game.check_correlated(mu)
    gains = []
    for i in range(game.n_players):
        M, U = _own_axis_first(game, mu, i)
        gains.append(U @ M.sum(axis=0) - np.sum(M * U))
    return gains


def cce_gap_per_player(game: NormalFormGame, mu: np.ndarray) -> np.ndarray:
    """``[n]``: max(0, max_{a_i'} U_i(a_i', μ_-i) - U_i(μ)) for each player (Hannan 1957; Moulin & Vial 1978)."""
    return np.array([max(0.0, float(g.max())) for g in cce_deviation_gains(game, mu)])


def cce_gap(game: NormalFormGame, mu: np.ndarray) -> float:
    """Largest gain from a fixed unilateral deviation, clipped at 0; 0 exactly at a CCE."""
    return float(cce_gap_per_player(game, mu).max())
