"""The Lagrangian relaxation of a constrained game, shared by every primal-dual learner (tabular and deep).

An agent i of a constrained Markov game maximises its return J_r^i(π) subject to J_j^i(π) <= c_j^i for its m
constraints (Altman 1999, Constrained Markov Decision Processes, §3). Its Lagrangian is

    L^i(π, λ) = J_r^i(π) - Σ_j λ_j (J_j^i(π) - c_j^i),      λ_j >= 0,

and a primal-dual learner (Altman 1999, ch. 3; Tessler, Mankowitz & Mannor 2019, RCPO; Gu et al. 2021, MAPPO-L)
alternates a policy step on the reward ``r - Σ_j λ_j c_j`` (:func:`lagrangian_reward`) with a projected dual
ascent step ``λ_j <- max(0, λ_j + η (Ĵ_j - c_j))`` on the measured cost Ĵ_j (:func:`dual_ascent`): λ grows while
a constraint is violated and shrinks to 0 while it holds with slack.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def lagrangian_reward(rewards: Array, costs: Array, multipliers: Array) -> Array:
    """``r - Σ_j λ_j c_j``: ``rewards [...]``, ``costs [..., m]``, ``multipliers [..., m]`` (broadcast)."""
    return rewards - jnp.sum(multipliers * costs, axis=-1)


def dual_ascent(multipliers: Array, measured: Array, limits: Array, step_size: Array | float) -> Array:
    """One projected dual ascent step ``λ <- max(0, λ + η (Ĵ - c))`` (all ``[..., m]``); λ stays >= 0."""
    return jnp.maximum(0.0, multipliers + step_size * (measured - limits))


__all__ = ["dual_ascent", "lagrangian_reward"]
