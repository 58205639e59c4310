"""The deep learner contract: what the compiled trainer (:mod:`marlkit.train.deep`) and the host loop
(:mod:`marlkit.train.host`) hand a learner, and what they expect back (docs/architecture.md, "Contracts").

A deep learner is a frozen (hashable, static) dataclass of hyper-parameters with pure methods over an explicit
state pytree. The loop drives it in the PureJaxRL shape (Lu et al. 2022): run ``E`` environments for
``rollout_length`` steps with :meth:`DeepLearner.act`, hand the time-major :class:`Rollout` to
:meth:`DeepLearner.update`, repeat. On-policy learners (IPPO, MAPPO, COMA) learn from the rollout directly;
off-policy ones (IDQN, VDN, QMIX) push it into a replay buffer kept in their state and sample from it.

* ``init(key, spec, num_envs) -> state``
* ``initial_memory(spec, num_envs) -> memory`` — recurrent state per env and agent (``()`` for feed-forward);
* ``act(key, state, observation, memory) -> (actions [E, n] int32, aux, memory)`` — ``aux`` is a pytree with a
  leading ``[E]`` axis (log-probabilities, values, ...) that comes back stacked in ``Rollout.aux``; a recurrent
  learner resets its memory where ``observation.first``;
* ``update(key, state, rollout) -> (state, metrics)`` — ``metrics`` maps a name to a float32 scalar or an ``[n]``
  array (per agent);
* ``policy(state, observation, memory) -> probs [E, n, A_max]`` — the distribution ``act`` samples from
  (exploration included), zero on illegal actions; the game-theoretic evaluation reads it.

Every learner takes ``sharing`` (:mod:`marlkit.agents.deep.sharing`): ``None`` picks the default from the env's
homogeneity, ``"none"``, ``"full"`` (one network, agent-id input) or ``"group"`` (one network per agent group).

Rewards: ``Rollout.reward`` is what the learner should maximise, after any :class:`RewardTransform` (difference
rewards, :mod:`marlkit.agents.credit`); ``Rollout.env_reward`` is the env's own reward (for logging).
Cooperative learners (VDN, QMIX, COMA, MAPPO's shared critic) read the team reward as ``reward.mean(-1)``.

Costs (constrained tasks, ``spec.num_constraints = m > 0``): ``Rollout.costs [T, E, n, m]`` holds the env's
``info["cost"]`` of every step (``None`` on an unconstrained task — one field for every deep learner; learners that
ignore costs ignore it). A Lagrangian learner (:mod:`marlkit.agents.deep.ppo_lagrangian`) also has
``multipliers(state) -> [n, m]`` (its λ >= 0), which the trainers record in the History; a learner without that
method is recorded with NaN multipliers.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import jax

from marlkit.envs.base import MultiAgentSpec

Array = jax.Array

LEARNING_RATE: dict[str, Any] = {"range": (0, 1), "open": "low"}
"""The rules of every deep learner's optimiser learning rate (``setting(2.5e-4, doc=..., **LEARNING_RATE)``): in
(0, 1]. Adam moves each weight by about ``lr`` per step at most (Kingma & Ba 2015, §2.1: |Δθ| ≲ α), RMSprop by
about ``lr`` times the normalised gradient; a rate above 1 moves every weight of a network initialised at scale
~1 by more than its own size per step, which diverges rather than learns (the rates in use are 1e-5..1e-2)."""


class Observation(NamedTuple):
    """What the agents see at one decision point, for a batch of ``E`` envs (time-major ``[T, E, ...]`` inside a
    :class:`Rollout`)."""

    obs: Array  # [E, n, *obs_shape] float32
    action_mask: Array  # [E, n, A_max] bool — legal actions at obs
    global_state: Array  # [E, G] float32 — the centralised critic's input
    first: Array  # [E] bool — obs starts an episode (recurrent memory resets here)


class Rollout(NamedTuple):
    """``T = rollout_length`` steps of ``E`` envs, time-major. Step ``t`` acted on ``observation[t]``.

    ``done[t]`` ends the episode after step t (``terminated`` for a true end — bootstrap with zero — or a time
    limit — bootstrap from ``final_*``, the observation the step ended on, before the auto-reset).
    ``next`` is the observation after the last step and ``next_memory`` the memory there (bootstrap of the last
    step); ``memory`` is the recurrent memory before step 0 (recurrent learners re-run their network from it).
    """

    observation: Observation  # fields [T, E, ...]
    actions: Array  # [T, E, n] int32
    aux: Any  # act's aux, [T, E, ...]
    reward: Array  # [T, E, n] float32 — to learn from (after the reward transform)
    env_reward: Array  # [T, E, n] float32 — the env's reward
    done: Array  # [T, E] bool
    terminated: Array  # [T, E] bool
    final_obs: Array  # [T, E, n, *obs_shape]
    final_action_mask: Array  # [T, E, n, A_max]
    final_global_state: Array  # [T, E, G]
    next: Observation  # fields [E, ...]
    memory: Any  # [E, ...] recurrent memory before step 0 (() for feed-forward learners)
    next_memory: Any  # [E, ...] recurrent memory at ``next``
    costs: Array | None = None  # [T, E, n, m] float32 — the env's info["cost"] on a constrained task; else None


@runtime_checkable
class DeepLearner(Protocol):
    """The contract every deep learner follows (see the module docstring)."""

    name: ClassVar[str]
    rollout_length: int

    def init(self, key: Array, spec: MultiAgentSpec, num_envs: int) -> Any: ...

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any: ...

    def act(self, key: Array, state: Any, observation: Observation, memory: Any) -> tuple[Array, Any, Any]: ...

    def update(self, key: Array, state: Any, rollout: Rollout) -> tuple[Any, dict[str, Array]]: ...

    def policy(self, state: Any, observation: Observation, memory: Any) -> Array: ...


class StepContext(NamedTuple):
    """What a reward transform may use at one step of ``E`` envs (all arrays batched over ``[E]``).

    ``env_state`` and ``key`` are the state and key the env stepped from, so ``jax.vmap(env.step)(key,
    env_state, other_actions)`` replays the same step with other actions (the same randomness: an exact
    counterfactual). ``probs [E, n, A_max]`` is the acting policy (for expected difference rewards).
    """

    key: Array
    env_state: Any
    observation: Observation
    actions: Array  # [E, n]
    reward: Array  # [E, n]
    info: dict[str, Array]
    probs: Array  # [E, n, A_max]


@runtime_checkable
class RewardTransform(Protocol):
    """A reward transform the loop applies between the env step and the rollout (credit assignment).

    * ``init(key, spec) -> tstate``;
    * ``apply(tstate, env, ctx) -> reward [E, n]`` — ``env`` is the (unbatched) env; ``None`` in the host loop,
      where no counterfactual step is possible;
    * ``update(key, tstate, rollout) -> (tstate, metrics)`` — learn whatever the transform learns (a critic);
      ``rollout.env_reward`` is the env's reward.
    """

    needs_probs: bool

    def init(self, key: Array, spec: MultiAgentSpec) -> Any: ...

    def apply(self, tstate: Any, env: Any, ctx: StepContext) -> Array: ...

    def update(self, key: Array, tstate: Any, rollout: Rollout) -> tuple[Any, dict[str, Array]]: ...


__all__ = ["DeepLearner", "Observation", "RewardTransform", "Rollout", "StepContext"]
