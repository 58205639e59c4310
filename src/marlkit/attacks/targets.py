"""How often a targeted observation attack makes a deep policy play its target, on observations met in play.

For sampled observations ``o`` (:func:`marlkit.attacks.flips.sample_observations`) and the attacked agents ``j``,
the target ``τ_j(o)`` is chosen at the clean observation (:func:`~marlkit.agents.deep.attacks.choose_target`: a fixed
action, or the clean policy's least likely one), the targeted PGD attack (``max log π_j(τ | o + δ)``, Lin et al. 2020)
perturbs ``o`` within the ball, and the **target rate** is the share of (observation, attacked agent) pairs whose
greedy action ``argmax_a π_j(a | o + δ)`` is ``τ_j(o)`` — beside the same share without attack.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from marlkit.agents.deep.attacks import Ball, choose_target, gradient_attack
from marlkit.agents.deep.base import DeepLearner, Observation

Array = jax.Array

__all__ = ["target_rates"]


@partial(jax.jit, static_argnums=(0, 1, 2))
def _rates(
    learner: DeepLearner, norm: str, steps: int, state: Any, observation: Observation, attacked: Array, eps: Array,
    target: Array,
) -> tuple[Array, Array]:  # fmt: skip
    def probs_fn(_: Any, o: Array) -> Array:  # feed-forward policies (sample_observations checks)
        return learner.policy(state, observation._replace(obs=o), ())

    clean = probs_fn((), observation.obs)
    tau = choose_target(target, clean)
    ball = Ball(eps.astype(jnp.float32), attacked, norm)
    perturbed = gradient_attack(probs_fn, (), observation.obs, ball, steps=steps, objective="targeted", target=tau)
    mask = observation.action_mask

    def hits(probs: Array) -> Array:
        greedy = jnp.argmax(jnp.where(mask, probs, -1.0), axis=-1)
        return jnp.sum((greedy == tau) & attacked[None, :]) / (greedy.shape[0] * jnp.sum(attacked))

    return hits(probs_fn((), perturbed)), hits(clean)


def target_rates(
    learner: DeepLearner,
    state: Any,
    observation: Observation,
    agents: tuple[int, ...],
    epsilon: float,
    norm: str = "linf",
    steps: int = 10,
    target_action: int = -1,
) -> tuple[float, float]:
    """``(attacked, clean)`` target rates (module docstring) of one learner state on ``observation`` (leaves
    ``[B, ...]``), the ``agents`` attacked within radius ``epsilon``; ``target_action -1``: least likely action."""
    n = observation.obs.shape[1]
    attacked = jnp.zeros(n, bool).at[jnp.asarray(agents)].set(True)
    target = jnp.full(n, int(target_action), jnp.int32)
    hit, clean = _rates(learner, norm, int(steps), state, observation, attacked, jnp.float32(epsilon), target)
    return float(hit), float(clean)
