"""PPO-Lagrangian for many agents: MAPPO-L and IPPO-L (Gu et al. 2021, "Multi-agent constrained policy
optimisation", arXiv:2110.02793, §5; Gu et al. 2023, "Safe multi-agent reinforcement learning for multi-robot
control", Artificial Intelligence 319, Algorithm 2 "MAPPO-L").

Every agent ``i`` maximises its return subject to ``J_j^i(π) <= c_j^i`` for its ``m`` costs (a constrained Markov
game; Altman 1999, ch. 3). The learner is :class:`~marlkit.agents.deep.ppo.PPO` with, per agent:

* a **cost critic** ``V_c^i`` with ``m`` outputs, seeing what the reward critic sees and shared as it is (MAPPO-L:
  the global state, centralised; IPPO-L: the agent's own observation), trained like the reward critic (squared
  error, clipped around the old value when ``value_clip`` is set, weight ``vf_coef``). ``cost_critic="separate"``
  (the default) gives it its own network, as the reference does; ``"shared"`` adds ``m`` units to the reward
  critic's head instead (one torso trained by both value losses: a deviation from the reference that costs almost
  no time — ``bench/safe.py`` measures both);
* **cost GAE**: ``A_c`` by GAE(γ, λ_GAE) on the costs ``Rollout.costs [T, E, n, m]`` (Schulman et al. 2016, Eq. 16),
  bootstrapped exactly as the reward advantage is;
* the **actor's advantage** ``Â_r - Σ_j λ_j Â_c,j`` in PPO's clipped surrogate, where ``Â_r`` and each ``Â_c,j``
  are normalised separately to zero mean and unit standard deviation — as the reference MAPPO-L does (MACPO's
  ``mappo_lagr`` trainer and SafePO's ``safepo/multi_agent/mappolag.py``: ``adv_targ - lamda_lagr * cost_adv_targ``,
  each advantage standardised over the buffer, no division by ``1 + λ``). marlkit standardises per minibatch over
  every sample and agent, as its PPO does for ``Â_r``. ``advantage_mix="penalised"`` uses SafePO's single-agent
  PPO-Lag form instead, ``(A_r - Σ_j λ_j A_c,j) / (1 + Σ_j λ_j)`` on the raw advantages, then standardised: the
  reward and cost advantages keep their relative scale (measured on resource-sharing: both forms end feasible
  near the best product policy; with this one λ ends near λ*, with the default λ decays to 0 once the cost is
  inside the limit — docs/safe.md);
* **λ per agent and constraint**, ``[n, m]``, updated once per update by projected dual ascent
  (:func:`marlkit.agents.lagrangian.dual_ascent`): ``λ <- max(0, λ + η (Ĵ_c - c))`` — λ >= 0 always.

**Which cost the dual step measures**: by default the *undiscounted episode cost*, the convention of
Safety-Gymnasium's cost limits and SafePO's ``cost_limit`` / MACPO's ``safety_bound`` (``aver_episode_costs -
safety_bound``); with ``discounted_cost=True`` the discounted episode cost ``Σ_k γ^k c_k`` (``k`` counted from the
episode's start), the convention of a constrained Markov game's ``J_c`` (Altman 1999) and of the catalog games'
limits. ``Ĵ_c`` is the mean cost of the episodes that *ended* in the rollout, each summed over its whole length
(the running sums are carried across rollouts in the learner's state); an update in which no episode ended leaves
λ as it was. The limits ``c`` are per agent and constraint: ``cost_limit``
(one float for all, or ``n·m`` floats, agent-major) or, left ``None``, the task's own limits, which the trainer
fills in (:func:`marlkit.train.deep.prepare`).

Defaults, cited: ``initial_multiplier = 0.78`` is MACPO's / SafePO's MAPPO-L initial multiplier (``lamda_lagr: 0.78``
in ``safepo/multi_agent/marl_cfg/mappolag/config.yaml``); ``dual_step = 0.035`` is SafePO's multiplier learning
rate (``--lagrangian-multiplier-lr 0.035``, ``safepo/utils/config.py``; OmniSafe's default too). The MAPPO-L
reference's own rate (``lagrangian_coef_rate: 1e-5`` on ``(1 - γ)(Ĵ_c - c)`` per minibatch) leaves λ within 1e-3 of
0.78 over a run of its defaults, i.e. a fixed penalty; marlkit takes SafePO's rate so that λ does respond to the
measured cost. The remaining hyper-parameters are PPO's (:mod:`marlkit.agents.deep.ppo`).

Feed-forward networks only (``recurrent=True`` raises): a recurrent cost critic would need its own memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlkit.agents.deep.advantages import gae
from marlkit.agents.deep.base import Observation, Rollout
from marlkit.agents.deep.networks import MLP, forward
from marlkit.agents.deep.ppo import CRITIC_INPUTS, PPO, PPOBatch, PPOState, normalise, per_agent
from marlkit.agents.deep.sharing import SharingPlan
from marlkit.agents.lagrangian import dual_ascent
from marlkit.envs.base import MultiAgentSpec
from marlkit.errors import LearnerConfigError, NotApplicableError
from marlkit.schema import setting

Array = jax.Array
COST_CRITICS = ("separate", "shared")
"""``cost_critic``: a separate network per parameter set (as the reference MAPPO-L), or ``m`` more units on the reward
critic's head (one torso trained by both value losses)."""


class EpisodeCosts(NamedTuple):
    """Each env's running episode cost ``[E, n, m]`` and the discount of its next step ``[E]`` (``γ^k``)."""

    running: Array
    weight: Array


@struct.dataclass
class PPOLagrangianState(PPOState):
    """:class:`~marlkit.agents.deep.ppo.PPOState` (``params`` also hold ``"cost_critic"`` when it is separate) plus
    the Lagrange multipliers ``λ [n, m]`` (>= 0) and every env's running episode cost."""

    multipliers: Array
    episode: EpisodeCosts


def finished_episode_costs(
    carry: EpisodeCosts, costs: Array, first: Array, done: Array, gamma: float
) -> tuple[EpisodeCosts, Array, Array]:
    """Run the episode sums over a rollout: ``(carry after it, Σ of the costs of the episodes that ended in it
    [n, m], how many ended [])``. Each episode's cost is ``Σ_k γ^k c_k`` over its steps ``k = 0, 1, ...`` (``gamma =
    1``: undiscounted); ``costs [T, E, n, m]``; ``first [T, E]`` — step t starts an episode; ``done [T, E]`` — it
    ends one."""

    def step(c: EpisodeCosts, x: tuple[Array, Array, Array]) -> tuple[EpisodeCosts, Array]:
        cost, start, end = x
        running = jnp.where(start[:, None, None], 0.0, c.running)
        weight = jnp.where(start, 1.0, c.weight)
        running = running + weight[:, None, None] * cost
        finished = jnp.where(end[:, None, None], running, 0.0)
        return EpisodeCosts(running, weight * gamma), finished

    carry, finished = jax.lax.scan(step, carry, (costs.astype(jnp.float32), first, done))
    return carry, finished.sum(axis=(0, 1)), done.sum().astype(jnp.float32)


ADVANTAGE_MIXES = ("standardise-each", "penalised")
"""How the actor's advantage mixes the reward and the cost advantages (:attr:`PPOLagrangian.advantage_mix`)."""


def standardise_each(x: Array) -> Array:
    """Standardise ``x [..., m]`` separately for every last-axis entry (each constraint's advantage)."""
    axes = tuple(range(x.ndim - 1))
    return (x - x.mean(axis=axes)) / (x.std(axis=axes) + 1e-8)


@dataclass(frozen=True)
class PPOLagrangian(PPO):
    """Multi-agent PPO-Lagrangian; use :class:`MAPPOLagrangian` (centralised critics) or :class:`IPPOLagrangian`
    (local critics). See the module docstring for the method and its defaults.

    Attributes (beyond :class:`~marlkit.agents.deep.ppo.PPO`'s):
        cost_limit: the limit on each agent's undiscounted episode cost — one float for every agent and
            constraint, ``n·m`` floats (agent-major), or ``None``: the task's limits (filled in by the trainer).
        initial_multiplier: λ at the start, for every agent and constraint.
        dual_step: the dual step size η of ``λ <- max(0, λ + η (Ĵ_c - c))``.
    """

    name: ClassVar[str] = "ppo_lagrangian"

    cost_limit: float | tuple[float, ...] | None = setting(
        None, doc="limit on each agent's undiscounted episode cost: one float, n*m floats (agent-major), or null "
        "(the task's limits)", range=(0, None))  # fmt: skip
    initial_multiplier: float = setting(0.78, doc="initial Lagrange multiplier (MACPO / SafePO MAPPO-L: 0.78)",
                                     range=(0, None))  # fmt: skip
    dual_step: float = setting(0.035, doc="dual ascent step size (SafePO: 0.035)", range=(0, None), open="low")
    discounted_cost: bool = setting(False, doc="measure the discounted episode cost (the limits of a constrained "
                                    "game) instead of the undiscounted one (Safety-Gymnasium's)")  # fmt: skip
    cost_gamma: float | None = setting(None, doc="the discount of the measured cost when discounted_cost is set; null: "
                                       "gamma (the trainer sets an exact game's own)", range=(0, 1))  # fmt: skip
    cost_critic: str = setting("separate", doc="the cost critic: its own network (the reference's) or cost heads on "
                               "the reward critic's network (cheaper)", choices=COST_CRITICS)  # fmt: skip
    advantage_mix: str = setting("standardise-each", doc="how the actor's advantage mixes reward and cost: each "
                                 "standardised then Â_r - λ·Â_c (MAPPO-L's), or penalised: (A_r - λ·A_c) / (1 + λ) "
                                 "then standardised (SafePO's PPO-Lag)", choices=ADVANTAGE_MIXES)  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.recurrent:
            raise LearnerConfigError(
                f"{type(self).__name__}.recurrent: the Lagrangian learners are feed-forward only; set recurrent=false"
            )

    # ------------------------------------------------------------------------------------------ limits

    def limits(self, spec: MultiAgentSpec) -> np.ndarray:
        """The limits ``c [n, m]`` (float32) of this learner on ``spec``.

        Raises:
            NotApplicableError: the task has no costs.
            LearnerConfigError: ``cost_limit`` unset (and no trainer filled it in) or of the wrong length.
        """
        n, m = spec.n_agents, spec.num_constraints
        if m == 0:
            raise NotApplicableError(
                f"{type(self).__name__} needs a constrained task (costs in info['cost']); {spec.name!r} has none: "
                "use e.g. 'constrained_spread', or add a cost with marlkit.envs.wrappers.CostWrapper"
            )
        if self.cost_limit is None:
            raise LearnerConfigError(
                f"{type(self).__name__}.cost_limit: no limit given; set cost_limit or train with "
                "marlkit.train.deep, which takes the task's limits"
            )
        return self.limit_array(n, m)

    def limit_array(self, n: int, m: int) -> np.ndarray:
        """``cost_limit`` as an ``[n, m]`` float32 array (one float broadcast; ``n·m`` floats agent-major)."""
        values = np.atleast_1d(np.asarray(self.cost_limit, np.float32))
        if values.size == 1:
            return np.full((n, m), values[0], np.float32)
        if values.size != n * m:
            raise LearnerConfigError(
                f"{type(self).__name__}.cost_limit: expected one float or n*m = {n}*{m} = {n * m} floats "
                f"(agent-major), got {values.size}"
            )
        return values.reshape(n, m)

    def multipliers(self, state: PPOLagrangianState) -> Array:
        """The Lagrange multipliers ``λ [n, m]`` (>= 0)."""
        return state.multipliers

    # ------------------------------------------------------------------------------------------ contract

    def _cost_network(self, num_constraints: int) -> MLP:
        return MLP(self.hidden, num_constraints, self.activation, head_gain=1.0)

    def init(self, key: Array, spec: MultiAgentSpec, num_envs: int) -> PPOLagrangianState:
        """PPO's state plus a cost critic per parameter set and ``λ = initial_multiplier``."""
        limits = self.limits(spec)
        base = super().init(key, spec, num_envs)
        plan = base.plan
        obs_size = int(np.prod(spec.obs_shape))
        critic_size = obs_size if self.critic == "local" else spec.global_state_size
        x = jnp.zeros(plan.input_size(critic_size), jnp.float32)
        params = base.params
        if self.cost_critic == "separate":
            net = self._cost_network(spec.num_constraints)
            cost = plan.init(jax.random.fold_in(key, 1), lambda k: {"cost_critic": net.init(k, x)})
            params = {**params, **cost}
        multipliers = jnp.full(limits.shape, self.initial_multiplier, jnp.float32)
        episode = EpisodeCosts(jnp.zeros((num_envs, *limits.shape), jnp.float32), jnp.ones(num_envs, jnp.float32))
        if self.cost_critic == "shared":  # PPO's init built the critic with 1 + m head units (_critic_outputs)
            return PPOLagrangianState(params, base.opt_state, base.updates, plan, multipliers, episode)
        return PPOLagrangianState(params, self._optimizer().init(params), base.updates, plan, multipliers, episode)

    # ------------------------------------------------------------------------------------------ pieces

    def _critic_outputs(self, spec: MultiAgentSpec) -> int:
        """The value, then (``cost_critic="shared"``) the ``m`` cost values."""
        return 1 + (spec.num_constraints if self.cost_critic == "shared" else 0)

    def _cost_values(self, plan: SharingPlan, params: Any, observation: Observation, m: int) -> Array:
        """``V_c(s)`` of every agent and constraint ``[*B, n, m]`` (the reward critic's input)."""
        batch_dims = observation.first.ndim
        obs = observation.obs.reshape(*observation.obs.shape[: batch_dims + 1], -1).astype(jnp.float32)
        critic_in = plan.with_ids(CRITIC_INPUTS[self.critic](obs, observation.global_state.astype(jnp.float32)))
        if self.cost_critic == "shared":
            _, critic = self._networks(observation.action_mask.shape[-1], 1 + m)
            return plan.apply(
                lambda p, c: forward(critic, p["critic"], c)[..., 1:], params, critic_in, batch_dims=batch_dims
            )
        net = self._cost_network(m)
        return plan.apply(lambda p, c: forward(net, p["cost_critic"], c), params, critic_in, batch_dims=batch_dims)

    def _batch(self, state: PPOState, rollout: Rollout) -> PPOBatch:
        """PPO's samples plus cost GAE ``[T, E, n, m]`` (bootstrapped like the reward's, zero after a true end)."""
        if rollout.costs is None:
            raise NotApplicableError(
                f"{type(self).__name__}: the rollout carries no costs (Rollout.costs is None); train it on a "
                "constrained task with marlkit.train.deep"
            )
        assert isinstance(state, PPOLagrangianState)
        batch = super()._batch(state, rollout)
        T = rollout.done.shape[0]
        final = Observation(
            rollout.final_obs, rollout.final_action_mask, rollout.final_global_state, jnp.zeros_like(rollout.done)
        )
        # V_c at every step and at the observation it ended on, in one batched pass: the parameters did not change
        # during the rollout, so these are the values the acting policy's cost critic had
        both = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), rollout.observation, final)
        values = jax.lax.stop_gradient(self._cost_values(state.plan, state.params, both, state.multipliers.shape[-1]))
        cost_values, next_cost = values[:T], jnp.where(rollout.terminated[..., None, None], 0.0, values[T:])
        cost_advantages, cost_targets = gae(
            rollout.costs.astype(jnp.float32),
            cost_values,
            next_cost,
            rollout.done[..., None, None],
            self.gamma,
            self.gae_lambda,
        )
        return batch._replace(cost_advantages=cost_advantages, cost_targets=cost_targets, cost_values=cost_values)

    def _advantage(
        self, plan: SharingPlan, params: Any, mb: PPOBatch, state: PPOState, extra: Array
    ) -> tuple[Array, Array, dict[str, Array]]:
        """``Â_r - Σ_j λ_j Â_c,j`` (each standardised), and the cost critic's loss."""
        assert isinstance(state, PPOLagrangianState)
        multipliers = jax.lax.stop_gradient(state.multipliers)  # [n, m]
        if self.advantage_mix == "penalised":  # SafePO's PPO-Lag: raw advantages, scale kept by 1 / (1 + Σλ)
            mixed = mb.advantages - jnp.sum(multipliers * mb.cost_advantages, axis=-1)
            advantage = normalise(mixed / (1.0 + jnp.sum(multipliers, axis=-1)))
        else:
            advantage = normalise(mb.advantages) - jnp.sum(multipliers * standardise_each(mb.cost_advantages), axis=-1)
        shared = self.cost_critic == "shared"  # the critic's extra heads are the cost values
        cost_value = extra if shared else self._cost_values(plan, params, mb.observation, multipliers.shape[-1])
        cost_error = self.value_error(cost_value, mb.cost_values, mb.cost_targets).mean(axis=-1)  # [T', B', n]
        return advantage, 0.5 * cost_error.mean(), {"loss/cost_value": per_agent(0.5 * cost_error)}

    def _next_state(
        self, state: PPOState, params: Any, opt_state: Any, rollout: Rollout, metrics: dict[str, Array]
    ) -> tuple[PPOLagrangianState, dict[str, Array]]:
        """The new parameters, then the projected dual ascent step on the rollout's episode cost (no episode
        ended: λ unchanged)."""
        assert isinstance(state, PPOLagrangianState) and rollout.costs is not None
        gamma = (self.gamma if self.cost_gamma is None else self.cost_gamma) if self.discounted_cost else 1.0
        episode, total, ended = finished_episode_costs(
            state.episode, rollout.costs, rollout.observation.first, rollout.done, gamma
        )
        measured = total / jnp.maximum(ended, 1.0)
        limits = jnp.asarray(self.limit_array(*state.multipliers.shape))
        stepped = dual_ascent(state.multipliers, measured, limits, self.dual_step)
        multipliers = jnp.where(ended > 0, stepped, state.multipliers)
        metrics = {**metrics, "lagrangian/multiplier": multipliers.mean(axis=-1)}
        new = PPOLagrangianState(params, opt_state, state.updates + 1, state.plan, multipliers, episode)
        return new, metrics


@dataclass(frozen=True)
class IPPOLagrangian(PPOLagrangian):
    """IPPO-L: PPO-Lagrangian with local reward and cost critics (each agent's own observation)."""

    name: ClassVar[str] = "ippo_lagrangian"
    critic: str = setting("local", doc="each agent's value and cost functions see its own observation",
                          choices=tuple(CRITIC_INPUTS))  # fmt: skip


@dataclass(frozen=True)
class MAPPOLagrangian(PPOLagrangian):
    """MAPPO-L (Gu et al. 2023, Algorithm 2): centralised reward and cost critics on the global state."""

    name: ClassVar[str] = "mappo_lagrangian"
    critic: str = setting("global", doc="centralised value and cost functions on the global state",
                          choices=tuple(CRITIC_INPUTS))  # fmt: skip


__all__ = [
    "ADVANTAGE_MIXES",
    "EpisodeCosts",
    "IPPOLagrangian",
    "MAPPOLagrangian",
    "PPOLagrangian",
    "PPOLagrangianState",
    "finished_episode_costs",
    "standardise_each",
]
