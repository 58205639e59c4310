"""Players as frozen env partners, and policies trained beside a partner seated back in the full env.

* :class:`ActorPartner` turns a :class:`~marlkit.policies.partners.Player` (a trained policy, a fixed policy, a
  table) into a :class:`marlkit.envs.partner.Partner`: inside the wrapped env's compiled step it builds the
  :class:`~marlkit.agents.deep.base.Observation` of the full env (observations, legal actions, global state) and
  samples every agent's action from the player's actor (stochastic mode: what ``learner.act`` does). Only
  memory-less actors qualify (the partner keeps no memory between steps): a recurrent policy is refused.
* :class:`Embedded` is the third: a policy trained on the full env (e.g. by self-play) acting as the learners of a
  partner-wrapped env (evaluated with the partner inside): it places the learners' observation rows at their agents
  of the full env (the other rows zero, all actions legal there), and keeps the learners' rows of its output. Exact
  for policies whose agent i acts on its own observation row (independent learners, parameter sharing with agent
  ids); a centralised actor that reads other agents' rows would see zeros.
* :class:`Seated` is the other direction: a policy trained on a :class:`~marlkit.envs.partner.WithPartner` env
  acts only for the learners' agents; seated in the full env (evaluation, cross-play) it reads its agents' rows of
  the full observation and writes its rows of the result; the other agents' rows are uniform over their legal
  actions (a :class:`~marlkit.policies.actors.Team` keeps only the rows of the agents a member is seated on).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.deep.base import Observation
from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import NotApplicableError
from marlkit.policies.actors import legal_uniform
from marlkit.policies.partners import Player

Array = jax.Array


def params_digest(params: Any) -> str:
    """SHA-256 of a pytree of arrays (its structure, shapes, dtypes and bytes)."""
    digest = hashlib.sha256(repr(jax.tree_util.tree_structure(params)).encode())
    for leaf in jax.tree_util.tree_leaves(params):
        x = np.asarray(leaf)
        digest.update(repr((x.shape, x.dtype.str)).encode() + x.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class ActorPartner:
    """A memory-less player frozen as a partner on ``env`` (module docstring); equal by env, actor and a digest
    of the parameters."""

    env: MultiAgentEnv
    actor: Any
    params: Any = ()
    label: str = ""
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        memory = self.actor.initial_memory(self.env.spec, 1)
        if jax.tree_util.tree_leaves(memory):
            raise NotApplicableError(
                f"partner {self.label or type(self.actor).__name__}: a recurrent policy keeps memory between steps, "
                "which a frozen partner cannot; train the partner without recurrent: true"
            )
        object.__setattr__(self, "digest", params_digest(self.params))

    def act(self, key: Array, state: Any, obs: Array, action_mask: Array) -> Array:
        info = self.env.state_info(state)
        observation = Observation(obs[None], action_mask[None], info["global_state"][None], jnp.ones(1, bool))
        actions, _, _ = self.actor.act(key, self.params, observation, ())
        return actions[0]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ActorPartner)
            and other.env == self.env
            and other.actor == self.actor
            and other.digest == self.digest
        )

    def __hash__(self) -> int:
        return hash((self.env, self.actor, self.digest))


def player_partner(player: Player, env: MultiAgentEnv) -> ActorPartner:
    """``player`` as a frozen partner on ``env`` (:class:`ActorPartner`)."""
    return ActorPartner(env, player.actor, player.state, player.label)


@dataclass(frozen=True)
class Seated:
    """An actor trained on ``spec`` (the learners' agents of a partner-wrapped env) acting as ``agents`` of the full
    env (module docstring)."""

    actor: Any
    agents: tuple[int, ...]
    spec: MultiAgentSpec
    rollout_length: int = 1

    def _cut(self, observation: Observation) -> Observation:
        rows = np.asarray(self.agents)
        A = self.spec.max_actions
        return Observation(
            observation.obs[:, rows], observation.action_mask[:, rows, :A], observation.global_state, observation.first
        )

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        return self.actor.initial_memory(self.spec, num_envs)

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        probs = self.actor.policy(state, self._cut(observation), memory)  # [E, k, A_learners]
        full = legal_uniform(observation.action_mask)  # [E, n, A]
        padded = jnp.zeros((*probs.shape[:2], full.shape[-1]), full.dtype).at[..., : probs.shape[-1]].set(probs)
        return full.at[:, np.asarray(self.agents)].set(padded)

    def act(self, key: Array, state: Any, observation: Observation, memory: Any) -> tuple[Array, Any, Any]:
        actions, aux, memory = self.actor.act(key, state, self._cut(observation), memory)
        E, n = observation.action_mask.shape[:2]
        full = jnp.zeros((E, n, *actions.shape[2:]), actions.dtype).at[:, np.asarray(self.agents)].set(actions)
        return full, aux, memory


@dataclass(frozen=True)
class Embedded:
    """An actor trained on the full env of ``spec`` acting as its ``agents`` in a partner-wrapped env (module
    docstring)."""

    actor: Any
    agents: tuple[int, ...]
    spec: MultiAgentSpec  # the full env's
    rollout_length: int = 1

    def _embed(self, observation: Observation) -> Observation:
        rows = np.asarray(self.agents)
        E = observation.obs.shape[0]
        n, A = self.spec.n_agents, self.spec.max_actions
        obs = jnp.zeros((E, n, *observation.obs.shape[2:]), observation.obs.dtype).at[:, rows].set(observation.obs)
        mask = jnp.ones((E, n, A), bool).at[:, rows, : observation.action_mask.shape[-1]].set(observation.action_mask)
        return Observation(obs, mask, observation.global_state, observation.first)

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        return self.actor.initial_memory(self.spec, num_envs)

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array:
        probs = self.actor.policy(state, self._embed(observation), memory)[:, np.asarray(self.agents)]
        return probs[..., : observation.action_mask.shape[-1]]

    def act(self, key: Array, state: Any, observation: Observation, memory: Any) -> tuple[Array, Any, Any]:
        actions, aux, memory = self.actor.act(key, state, self._embed(observation), memory)
        return actions[:, np.asarray(self.agents)], aux, memory


__all__ = ["ActorPartner", "Embedded", "Seated", "params_digest", "player_partner"]
