"""Gradient saliency of observation features for softmax policies (Simonyan, Vedaldi & Zisserman 2014, "Deep inside
convolutional networks", §3: the magnitude of the gradient of the chosen output w.r.t. the input).

For agent ``j``, observation feature ``k`` and an observation ``o`` met in the team's greedy play, the saliency is
``|∂ log π_j(a*_j | o) / ∂ o_{j,k}|`` with ``a*_j = argmax_a π_j(a | o)`` (the greedy legal action), and the report
is its mean over the observations of ``episodes`` greedy episodes (host-side rollouts,
:func:`marlkit.human.distill.host_rollout`). The gradient is taken through the learner's own ``policy`` (one
``jax.grad`` of ``Σ_B Σ_j log π_j(a*_j | o)`` w.r.t. the observations: with decentralised actors agent j's term
depends on its own observation only, so the ``[B, n, d]`` gradient holds each agent's own-feature derivatives).

**Refused** for ε-greedy Q policies (IDQN, VDN, QMIX): their action distribution is piecewise constant in ``o``, the
gradient is zero almost everywhere (:class:`NotApplicableError`), and for recurrent policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.base import Observation
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.human.distill import greedy_chooser, has_q_values, host_rollout


def check_softmax_policy(learner: Any) -> None:
    """Raise :class:`NotApplicableError` (one line) for an ε-greedy Q learner (no gradient)."""
    if has_q_values(learner):
        raise NotApplicableError(
            f"saliency: {getattr(learner, 'name', learner)} acts epsilon-greedy over Q-values (piecewise constant, "
            "zero gradient in the observation); saliency needs a softmax policy (IPPO, MAPPO, COMA)"
        )


@partial(jax.jit, static_argnums=0)
def log_prob_gradients(learner: Any, state: Any, observation: Observation) -> jax.Array:
    """``[B, n, *obs_shape]``: ``∂ log π_j(a*_j | o) / ∂ o`` at each observation (a* the greedy legal action)."""
    probs = learner.policy(state, observation, ())
    greedy = jnp.argmax(jnp.where(observation.action_mask, probs, -1.0), axis=-1)

    def objective(obs: jax.Array) -> jax.Array:
        p = learner.policy(state, observation._replace(obs=obs), ())
        chosen = jnp.take_along_axis(p, greedy[..., None], axis=-1)[..., 0]
        return jnp.sum(jnp.log(jnp.maximum(chosen, 1e-30)))

    return jax.grad(objective)(observation.obs)


@dataclass(frozen=True)
class Saliency:
    """Mean ``|∂ log π_j(a*_j | o) / ∂ o_{j,k}|`` per agent ``j`` and feature ``k`` (``values [n][d]``) over
    ``observations`` observations of ``episodes`` greedy episodes."""

    values: tuple[tuple[float, ...], ...]
    episodes: int
    observations: int

    def top(self, agent: int, count: int = 3) -> list[tuple[int, float]]:
        """The ``count`` most salient features of ``agent``: ``(feature, saliency)``, largest first."""
        row = np.asarray(self.values[agent])
        order = np.argsort(-row, kind="stable")[:count]
        return [(int(k), float(row[k])) for k in order]

    def to_json(self) -> dict[str, Any]:
        return {
            "values": [list(r) for r in self.values],
            "episodes": self.episodes,
            "observations": self.observations,
            "top": [[[k, v] for k, v in self.top(j)] for j in range(len(self.values))],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Saliency:
        return cls(
            tuple(tuple(float(x) for x in r) for r in data["values"]), int(data["episodes"]), int(data["observations"])
        )

    def lines(self) -> list[str]:
        out = [
            f"gradient saliency |d log pi(a*|o) / d o_k| over {self.observations} observations of "
            f"{self.episodes} greedy episodes (top features):"
        ]
        for j in range(len(self.values)):
            out.append(f"  agent {j}: " + "  ".join(f"o[{k}] {v:.3g}" for k, v in self.top(j)))
        return out


def saliency(env: Any, learner: Any, state: Any, *, episodes: int = 16, key: int = 0) -> Saliency:
    """The gradient saliency of a feed-forward softmax deep team (one seed's ``state``) on ``env`` (module
    docstring).

    Raises:
        NotApplicableError: an ε-greedy Q policy or a recurrent one.
        InvalidGameError: episodes < 1.
    """
    from marlkit.train.evaluate import deployed

    check_softmax_policy(learner)
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise InvalidGameError(f"saliency: episodes must be an integer >= 1, got {episodes!r}")
    team, team_state = deployed(learner, state)
    check_softmax_policy(team)
    if jax.tree_util.tree_leaves(team.initial_memory(env.spec, 1)):
        raise NotApplicableError("saliency: the policy is recurrent; its action is not a function of one observation")
    rollout = host_rollout(env, greedy_chooser(env, team, team_state), int(episodes), key)
    keep = rollout.alive
    obs = rollout.obs[keep].reshape(-1, env.spec.n_agents, *env.spec.obs_shape)
    observation = Observation(
        jnp.asarray(obs, jnp.float32), jnp.asarray(rollout.mask[keep]), jnp.asarray(rollout.global_state[keep]),
        jnp.zeros(obs.shape[0], bool),
    )  # fmt: skip
    grads = np.abs(np.asarray(log_prob_gradients(team, team_state, observation), np.float64))
    mean = grads.reshape(obs.shape[0], env.spec.n_agents, -1).mean(axis=0)
    return Saliency(tuple(tuple(float(x) for x in row) for row in mean), int(episodes), int(obs.shape[0]))


__all__ = ["Saliency", "check_softmax_policy", "log_prob_gradients", "saliency"]
