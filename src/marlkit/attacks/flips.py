"""The minimal observation budget that flips a deep policy's action, by bisection on ε with PGD, per observation.

For an agent ``j`` and an observation ``o`` met in play, the **flipping budget** is the smallest ε such that some
``δ`` with ``‖δ‖_p <= ε`` changes ``j``'s greedy action ``argmax_a π_j(a | o + δ)``. A deep policy has no closed
form (a linear-softmax one has: :mod:`marlkit.attacks.linear`), so it is searched: PGD with the greedy objective
(:func:`~marlkit.agents.deep.attacks.gradient_attack`, Huang et al. 2017 / Madry et al. 2018) tests whether radius ε
flips the action, and a bisection on ``[0, max_epsilon]`` (``iterations`` halvings, every observation at once: ε is
an array ``[B, 1, 1]`` of the ball) returns the smallest radius found to flip — an **upper bound** on the true
minimal budget (PGD may miss a flip a larger search would find, and success need not be monotone in ε for a
non-convex policy); ``+∞`` where even ``max_epsilon`` did not flip (censored). On a linear-softmax policy the search
reaches the closed form (tests/attacks/test_observation_linear.py).

Observations are sampled from the policy's own greedy play (:func:`sample_observations`: every step of ``count``
episodes of the env under the trained team).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.attacks import Ball, gradient_attack
from marlkit.agents.deep.base import DeepLearner, Observation
from marlkit.envs.base import MultiAgentEnv
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.train.inputs import base_key

Array = jax.Array

__all__ = ["flip_search", "flipped", "sample_observations"]


@partial(jax.jit, static_argnums=(0, 1, 2))
def _sample(env: MultiAgentEnv, learner: DeepLearner, count: int, state: Any, key: Array) -> Observation:
    spec = env.spec
    k_reset, k_steps = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, count))
    info = jax.vmap(env.state_info)(env_state)
    observation = Observation(obs, info["action_mask"], info["global_state"], jnp.zeros(count, bool))
    memory = learner.initial_memory(spec, count)

    def step(carry: tuple, k: Array) -> tuple[tuple, Observation]:
        env_state, observation = carry
        probs = learner.policy(state, observation, memory)
        actions = jnp.argmax(jnp.where(observation.action_mask, probs, -1.0), axis=-1).astype(jnp.int32)
        obs, env_state, _, done, info = jax.vmap(env.step)(jax.random.split(k, count), env_state, actions)
        nxt = Observation(obs, info["action_mask"], info["global_state"], done)
        return (env_state, nxt), observation

    _, seen = jax.lax.scan(step, (env_state, observation), jax.random.split(k_steps, spec.max_episode_steps))
    return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), seen)


def sample_observations(
    env: MultiAgentEnv, learner: DeepLearner, state: Any, *, count: int = 16, key: int | Array = 0
) -> Observation:
    """Every step's observation of ``count`` greedy episodes of ``env`` (``max_episode_steps`` each; steps after
    an episode's end are the env's own continuation): leaves ``[count * T, ...]``.

    Raises:
        NotApplicableError: a recurrent policy (its action depends on a memory, not on the observation alone).
    """
    if jax.tree_util.tree_leaves(learner.initial_memory(env.spec, 1)):
        raise NotApplicableError(
            "flip budgets: the policy is recurrent; its action is not a function of one observation"
        )
    return _sample(env, learner, int(count), state, base_key(key))


@partial(jax.jit, static_argnums=(0, 1, 2))
def flipped(
    learner: DeepLearner, norm: str, steps: int, state: Any, observation: Observation, attacked: Array, eps: Array
) -> Array:
    """``[B, n]`` bool: whether PGD (greedy objective, ``steps`` steps) within radius ``eps [B]`` on the
    ``attacked [n]`` agents changes each agent's greedy action (only attacked agents can flip)."""

    def probs_fn(_: Any, o: Array) -> Array:  # a feed-forward policy: no memory (sample_observations checks)
        return learner.policy(state, observation._replace(obs=o), ())

    ball = Ball(eps[:, None, None].astype(jnp.float32), attacked, norm)
    perturbed = gradient_attack(probs_fn, (), observation.obs, ball, steps=steps)
    mask = observation.action_mask

    def greedy(o: Array) -> Array:
        return jnp.argmax(jnp.where(mask, probs_fn((), o), -1.0), axis=-1)

    return greedy(perturbed) != greedy(observation.obs)


def flip_search(
    learner: DeepLearner,
    state: Any,
    observation: Observation,
    agent: int,
    *,
    norm: str = "linf",
    max_epsilon: float = 1.0,
    iterations: int = 12,
    steps: int = 10,
) -> np.ndarray:
    """The flipping budget ``[B]`` of ``agent`` at each observation (module docstring; ``+∞``: no flip within
    ``max_epsilon``), found to ``max_epsilon / 2^iterations``."""
    n = observation.obs.shape[1]
    if not 0 <= agent < n:
        raise InvalidGameError(f"flip budgets: agent {agent} does not exist; agents are 0..{n - 1}")
    if not max_epsilon > 0 or not np.isfinite(max_epsilon):
        raise InvalidGameError(f"flip budgets: max_epsilon must be a finite number > 0, got {max_epsilon!r}")
    attacked = jnp.arange(n) == agent
    B = observation.obs.shape[0]

    def flips(eps: np.ndarray) -> np.ndarray:
        return np.asarray(flipped(learner, norm, int(steps), state, observation, attacked, jnp.asarray(eps)))[:, agent]

    hi = np.full(B, float(max_epsilon))
    lo = np.zeros(B)
    reachable = flips(hi)
    for _ in range(int(iterations)):
        mid = (lo + hi) / 2
        yes = flips(mid)
        hi = np.where(yes, mid, hi)
        lo = np.where(yes, lo, mid)
    return np.where(reachable, hi, np.inf)
