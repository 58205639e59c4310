"""An adversarial policy that chooses the target of a targeted observation attack (Lin et al. 2020).

Lin, Dzeparoska, Zhang, Leon-Garcia & Papernot (2020, "On the robustness of cooperative multi-agent reinforcement
learning", IEEE S&P Workshops, §III) attack one agent of a trained team in two stages: (1) train an **adversarial
policy** for the victim — the victim's action is controlled by a learner rewarded with the *negated team reward*
while its teammates keep their trained policy (frozen) — and (2) at test time perturb the victim's observation so
that the trained victim plays the action the adversarial policy chooses (a targeted attack).

* :class:`VictimControl` — stage 1's environment: a one-agent wrapper of the task in which the agent is the victim
  (its observation, legal actions and action), the teammates play the frozen team's greedy action at their own
  observation, and the reward is ``-mean_i r_i`` (minus the team reward per agent).
* :func:`train_adversarial_policy` — trains it with marlkit's compiled deep trainer (:func:`marlkit.train.deep.train`;
  any deep learner, IPPO by default), one run per team seed (the frozen team is part of the env, so every seed
  compiles its own program).
* :class:`AdversaryTargetedAttack` — stage 2: the targeted PGD attack
  (:func:`~marlkit.agents.deep.attacks.gradient_attack`, ``objective="targeted"``) on the victim, the target being
  the adversarial policy's greedy action at the victim's *clean* observation; evaluated by
  :func:`marlkit.train.evaluate.evaluate` (``per_seed``: one adversarial policy per team seed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlkit.agents.deep.attacks import Ball, ProbsFn, gradient_attack
from marlkit.agents.deep.base import DeepLearner, Observation
from marlkit.envs.base import MultiAgentEnv, MultiAgentSpec
from marlkit.errors import InvalidGameError, NotApplicableError

Array = jax.Array

__all__ = ["AdversaryTargetedAttack", "VictimControl", "train_adversarial_policy"]

PER_AGENT = ("action_mask", "final_obs", "final_action_mask", "illegal_action", "cost")
"""``info`` entries with a leading agent axis (sliced to the victim)."""


@dataclass(frozen=True, eq=False)
class VictimControl(MultiAgentEnv):
    """The victim's seat of ``env`` with the frozen ``team`` in the other seats (module docstring). Hashed by
    identity (it holds the team's parameters)."""

    env: MultiAgentEnv
    team: DeepLearner
    team_state: Any
    victim: int
    spec: MultiAgentSpec = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        inner = self.env.spec
        v = int(self.victim)
        if not 0 <= v < inner.n_agents:
            raise InvalidGameError(f"adversarial policy: victim {v} does not exist; agents are 0..{inner.n_agents - 1}")
        if jax.tree_util.tree_leaves(self.team.initial_memory(inner, 1)):
            raise NotApplicableError("adversarial policy: the team is recurrent; its frozen seats need a memory")
        spec = dataclasses.replace(
            inner,
            name=f"{inner.name}-victim{v}",
            n_agents=1,
            agent_names=(inner.agent_names[v],),
            obs_sizes=(inner.obs_sizes[v],),
            num_actions=(inner.num_actions[v],),
            groups=(),
        )
        object.__setattr__(self, "spec", spec)

    def _pick(self, x: Array) -> Array:
        return x[self.victim : self.victim + 1]

    def reset(self, key: Array) -> tuple[Array, Any]:
        obs, state = self.env.reset(key)
        return self._pick(obs), (state, obs)

    def step(self, key: Array, state: Any, actions: Array) -> tuple[Array, Any, Array, Array, dict]:
        inner, obs = state
        info = self.env.state_info(inner)
        observation = Observation(obs[None], info["action_mask"][None], info["global_state"][None], jnp.zeros(1, bool))
        probs = self.team.policy(self.team_state, observation, ())[0]
        team = jnp.argmax(jnp.where(info["action_mask"], probs, -1.0), axis=-1).astype(jnp.int32)
        joint = team.at[self.victim].set(actions[0].astype(jnp.int32))
        obs, inner, reward, done, info = self.env.step(key, inner, joint)
        info = {k: (self._pick(v) if k in PER_AGENT else v) for k, v in info.items()}
        return self._pick(obs), (inner, obs), -jnp.mean(reward)[None], done, info

    def state_info(self, state: Any) -> dict[str, Array]:
        info = self.env.state_info(state[0])
        return {**info, "action_mask": self._pick(info["action_mask"])}


def train_adversarial_policy(
    env: MultiAgentEnv,
    team: DeepLearner,
    team_states: Any,
    victim: int,
    *,
    steps: int,
    key: int = 0,
    adversary: DeepLearner | None = None,
    num_envs: int = 16,
) -> tuple[DeepLearner, Any]:
    """Train the adversarial policy of ``victim`` against each seed of ``team_states`` (leading seed axis) with the
    deep trainer on :class:`VictimControl` (``steps`` rounded up to whole updates; default adversary: IPPO, 32-unit
    MLP, rollouts of 16 steps, lr 3e-3); returns ``(adversary learner, its states [N, ...])``."""
    from marlkit.agents.deep.ppo import IPPO
    from marlkit.train.deep import train

    learner: Any = (
        adversary
        if adversary is not None
        else IPPO(rollout_length=16, update_epochs=4, num_minibatches=2, hidden=(32,), lr=3e-3)
    )
    per_update = num_envs * int(learner.rollout_length)
    steps = max(1, -(-int(steps) // per_update)) * per_update  # rounded up to whole updates
    seeds = jax.tree_util.tree_leaves(team_states)[0].shape[0]
    states = []
    plan_learner = learner
    for i in range(seeds):
        one = jax.tree.map(lambda x, i=i: x[i], team_states)
        result = train(VictimControl(env, team, one, victim), learner, steps, 1, key + i, steps, num_envs=num_envs)
        plan_learner = result.plan.learner
        states.append(jax.tree.map(lambda x: x[0], result.states))
    return plan_learner, jax.tree.map(lambda *xs: jnp.stack(xs), *states)


@struct.dataclass
class AdversaryTargetedAttack:
    """Targeted PGD on ``victim`` towards the adversarial policy's greedy action at its clean observation (module
    docstring). ``params``: the adversary's state (a leading seed axis with ``per_seed=True``)."""

    ball: Ball
    params: Any
    adversary: DeepLearner = struct.field(pytree_node=False)
    victim: int = struct.field(pytree_node=False, default=0)
    global_size: int = struct.field(pytree_node=False, default=1)  # the env's global_state_size
    steps: int = struct.field(pytree_node=False, default=10)
    per_seed: bool = struct.field(pytree_node=False, default=False)

    def __call__(self, key: Array, obs: Array, probs_fn: ProbsFn) -> Array:
        E, n = obs.shape[:2]
        clean = jax.lax.stop_gradient(probs_fn(obs))
        mine = Observation(
            obs[:, self.victim : self.victim + 1], clean[:, self.victim : self.victim + 1] > 0,
            jnp.zeros((E, self.global_size)),
            jnp.zeros(E, bool),
        )  # fmt: skip
        wanted = jnp.argmax(self.adversary.policy(self.params, mine, ())[:, 0], axis=-1)
        target = jnp.zeros((E, n), jnp.int32).at[:, self.victim].set(wanted.astype(jnp.int32))
        alpha = 2.5 * self.ball.epsilon / self.steps
        return gradient_attack(lambda _, o: probs_fn(o), (), obs, self.ball, steps=self.steps, step_size=alpha,
                               objective="targeted", target=target)  # fmt: skip
