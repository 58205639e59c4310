"""Advantage estimation for on-policy learners: generalised advantage estimation (Schulman et al. 2016).

GAE(gamma, lambda), Eq. 16 of Schulman, Moritz, Levine, Jordan & Abbeel (2016), "High-dimensional continuous
control using generalized advantage estimation":

    A_t = sum_l (gamma lambda)^l delta_{t+l},   delta_t = r_t + gamma V(s_{t+1}) - V(s_t),

computed backwards as ``A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}`` so that no sum crosses an episode
boundary. ``next_value[t]`` is the bootstrap ``V(s_{t+1})`` of the state step t *ended on* — already zero after a
true termination and the value of the pre-reset observation after a time limit (Pardo et al. 2018, "Time limits
in reinforcement learning") — so truncation and termination are both handled by what the caller passes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def gae(reward: Array, value: Array, next_value: Array, done: Array, gamma: float, lam: float) -> tuple[Array, Array]:
    """Time-major GAE(lambda): ``(advantages, value targets = advantages + value)``, each shaped like ``reward``.

    Args:
        reward: ``[T, ...]`` rewards of steps ``0..T-1``.
        value: ``[T, ...]`` ``V(s_t)`` under the behaviour policy's critic.
        next_value: ``[T, ...]`` ``V(s_{t+1})`` of the state step t ended on, zero where the episode terminated.
        done: ``[T, ...]`` (broadcastable to ``reward``) — the episode ended after step t (terminated or truncated):
            the trace ``A_{t+1}`` is cut there.
        gamma: discount; lam: the GAE lambda (1 gives Monte-Carlo returns minus V, 0 the TD(0) error).
    """
    delta = reward + gamma * next_value - value
    decay = gamma * lam * (1.0 - jnp.broadcast_to(done, reward.shape).astype(reward.dtype))

    def backward(carry: Array, step: tuple[Array, Array]) -> tuple[Array, Array]:
        d, k = step
        carry = d + k * carry
        return carry, carry

    _, advantages = jax.lax.scan(backward, jnp.zeros_like(reward[0]), (delta, decay), reverse=True)
    return advantages, advantages + value


__all__ = ["gae"]
