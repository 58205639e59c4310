"""Proximal policy optimisation for many agents: IPPO (de Witt et al. 2020) and MAPPO (Yu et al. 2022).

One learner, two critics. Every agent has a policy ``pi_i(a | o_i)`` and a value function; the two published
variants differ only in what the value function sees:

* :class:`IPPO` — "Is independent learning all you need in the StarCraft multi-agent challenge?" (de Witt et al.
  2020): each agent's critic sees its own observation, ``V_i(o_i)``;
* :class:`MAPPO` — "The surprising effectiveness of PPO in cooperative multi-agent games" (Yu et al. 2022): a
  centralised critic on the env's global state, ``V_i(s)``, with the agent id appended where the critic is shared
  (their §4, "agent-specific global state" in its simplest form). Each agent's critic learns that agent's own
  reward, which is the team reward in the cooperative tasks MAPPO was written for and keeps the learner meaningful
  in general-sum games.

The update is PPO (Schulman et al. 2017) as in PureJaxRL / JaxMARL (Lu et al. 2022; Rutherford et al. 2024):

* advantages by GAE(lambda) (Schulman et al. 2016, Eq. 16; :func:`marlkit.agents.deep.advantages.gae`), the
  bootstrap of a truncated step read from ``Rollout.final_obs`` / ``final_global_state`` (zero after a true end);
* the clipped surrogate ``L^CLIP = E[min(r A, clip(r, 1 - eps, 1 + eps) A)]``, ``r = pi / pi_old`` (Schulman et al.
  2017, Eq. 7), with advantages normalised per minibatch, an entropy bonus (their Eq. 9) and a squared-error value
  loss, optionally clipped around the old value (the PPO2 / JaxMARL form; Huang et al. 2022, detail 9);
* ``update_epochs`` passes over the rollout in ``num_minibatches`` minibatches, Adam (eps 1e-5) after global
  gradient-norm clipping, optionally a learning rate annealed linearly to 0.

Defaults are JaxMARL's published IPPO hyper-parameters for MPE (``baselines/IPPO/config/ippo_ff_mpe.yaml``: LR
2.5e-4, 128 steps per env per update, 4 epochs x 4 minibatches, gamma 0.99, GAE lambda 0.95, clip 0.2, entropy
0.01, value 0.5, max grad norm 0.5, 64-unit tanh layers, anneal LR). Annealing needs the run's length, which a
learner does not know: pass ``anneal_updates`` (JaxMARL's ``NUM_UPDATES = steps / (num_envs * rollout_length)``);
``None`` keeps the learning rate constant.

Parameter sharing (:mod:`marlkit.agents.deep.sharing`): the actor and the critic are each one parameter set per
sharing group (leading ``[P]`` axis), applied together in one pass (one vmap over sets, or one call when shared).

Continuous (Box) actions (``spec.continuous``; :mod:`marlkit.envs.base`): the learner picks its head from the spec —
a categorical over the masked logits for ``Discrete`` actions, and for Box actions a **diagonal Gaussian with a
state-independent, learned log-std** (one ``log_std [D]`` per parameter set, initialised to 0: sigma = 1): the actor
network's head (gain 0.01) outputs the mean ``mu(o)``, the action is ``a = mu(o) + sigma * eps``, ``eps ~ N(0, I)``,
over the agent's real dimensions (padding dimensions: 0). The sample is **unbounded and the env clips it to the
box** (the contract's clipping, like mpe2's ``ClipOutOfBoundsWrapper``): the rollout stores the unclipped sample,
whose log-density ``sum_d log N(a_d; mu_d, sigma_d^2)`` is exact, and the entropy is the Gaussian's closed form
``sum_d [log sigma_d + (1 + log 2 pi) / 2]`` (:func:`~marlkit.agents.deep.networks.gaussian_log_prob`,
:func:`~marlkit.agents.deep.networks.gaussian_entropy`). Why clipping rather than a tanh squash: it is the
standard PPO choice (the PPO paper's MuJoCo policy, a Gaussian with state-independent variable standard deviations,
Schulman et al. 2017, Sec. 6.1; clipped to the action box by CleanRL's ``ppo_continuous_action`` and
Stable-Baselines3), it needs no log-det-Jacobian correction (whose ``log(1 - tanh^2)`` is
unstable near the bounds), and the entropy stays in closed form (a squashed Gaussian's has none: it needs a
sample estimate). The cost: the policy is trained as if unclipped, so samples beyond a bound all act as the
bound (their density differences carry no reward signal) and the entropy bonus counts spread the env cuts off.
``policy`` returns ``[E, n, 2, D_max]``: the mean ``[..., 0, :]`` and the standard
deviation ``[..., 1, :]`` (0 on padding dimensions); the deterministic ("greedy") action is the mean, clipped by
the env; a stochastic one is ``mean + std * eps``.

Recurrent policies (``recurrent=True``): actor and critic are :class:`~marlkit.agents.deep.networks.RecurrentMLP`
(dense -> GRU -> dense), their memory reset where ``Observation.first``. The update re-runs both over the rollout
from ``Rollout.memory``, so minibatches split the *envs* (whole ``T``-step sequences), not time; ``num_envs`` must
then be a multiple of ``num_minibatches``. Feed-forward minibatches split the ``T x E`` (time, env) samples; an
agent axis is never split (all agents of a sample stay together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from marlkit.agents.deep.advantages import gae
from marlkit.agents.deep.base import LEARNING_RATE, Observation, Rollout
from marlkit.agents.deep.networks import (
    MLP,
    RecurrentMLP,
    forward,
    forward_recurrent,
    gaussian_entropy,
    gaussian_log_prob,
    masked_logits,
)
from marlkit.agents.deep.sharing import SHARING_MODES, SharingPlan, learner_plan
from marlkit.envs.base import MultiAgentSpec
from marlkit.errors import LearnerConfigError
from marlkit.schema import setting, validate

Array = jax.Array


def _local_critic_input(obs: Array, global_state: Array) -> Array:
    """IPPO: each agent's critic sees its own observation ``[*B, n, d]``."""
    return obs


def _global_critic_input(obs: Array, global_state: Array) -> Array:
    """MAPPO: every agent's critic sees the global state ``[*B, G]`` (broadcast to ``[*B, n, G]``)."""
    return jnp.broadcast_to(global_state[..., None, :], (*obs.shape[:-1], global_state.shape[-1]))


CRITIC_INPUTS = {"local": _local_critic_input, "global": _global_critic_input}


def normalise(x: Array) -> Array:
    """``(x - mean) / (std + 1e-8)`` over every entry (PPO's per-minibatch advantage normalisation)."""
    return (x - x.mean()) / (x.std() + 1e-8)


def per_agent(x: Array) -> Array:
    """The mean of ``x [..., n]`` over every axis but the last (agents) ``-> [n]``."""
    return x.reshape(-1, x.shape[-1]).mean(axis=0)


def is_gaussian(params: Any) -> bool:
    """Whether PPO parameters belong to a Gaussian (Box-action) policy: they hold a ``log_std`` (static: the
    pytree's structure, known at trace time)."""
    return isinstance(params, dict) and "log_std" in params


def gaussian_parts(policy: Array) -> tuple[Array, Array]:
    """``(mean, std)``, each ``[..., D]``, of what a Gaussian PPO's :meth:`PPO.policy` returns (``[..., 2, D]``)."""
    return policy[..., 0, :], policy[..., 1, :]


class PPOAux(NamedTuple):
    """What :meth:`PPO.act` records per step: the behaviour log-probability and value of each agent ``[E, n]``."""

    log_prob: Array
    value: Array


class PPOMemory(NamedTuple):
    """Recurrent memory ``[E, n, H]`` of the actor's and the critic's GRU."""

    actor: Array
    critic: Array


@struct.dataclass
class PPOState:
    """Learner state: ``params = {"actor": [P]..., "critic": [P]...}``, Adam's state, the update counter, and the
    resolved sharing plan (static: not a leaf)."""

    params: Any
    opt_state: Any
    updates: Array  # [] int32
    plan: SharingPlan = struct.field(pytree_node=False)


class PPOBatch(NamedTuple):
    """Training samples, time-major ``[T', B, ...]`` (feed-forward: ``T' = 1`` and ``B = T x E``); the cost fields
    are ``()`` unless the learner has a cost critic (:mod:`marlkit.agents.deep.ppo_lagrangian`: ``[T', B, n, m]``)."""

    observation: Observation
    actions: Array
    old: Any  # act's aux (PPOAux, or a subclass's)
    advantages: Array
    targets: Array
    memory: Any  # [B, ...] memory before the first step (() feed-forward)
    cost_advantages: Any = ()
    cost_targets: Any = ()
    cost_values: Any = ()  # the cost critic's values before the update (clipping)


@dataclass(frozen=True)
class PPO:
    """Multi-agent PPO; use :class:`IPPO` (``critic="local"``) or :class:`MAPPO` (``critic="global"``).

    Attributes:
        critic: what each agent's value function sees — ``"local"`` (its observation) or ``"global"`` (the global
            state, plus the agent id when shared).
        lr: Adam learning rate; ``anneal_updates``: anneal it linearly to 0 over this many updates (``None``: keep
            it constant).
        rollout_length: env steps per env per update (JaxMARL's ``NUM_STEPS``).
        update_epochs / num_minibatches: passes over the rollout and minibatches per pass.
        gamma / gae_lambda: discount and GAE lambda. clip_eps: the surrogate's clip range.
        ent_coef / vf_coef: entropy bonus and value-loss weights. value_clip: clip the value update around the old
            value by this much (``None``: plain squared error). max_grad_norm: global gradient-norm clip.
        hidden / activation: layer widths and activation (the recurrent torso uses ``hidden[0]`` units).
        recurrent: GRU actor and critic (see the module docstring).
        sharing / agent_id: parameter sharing (:func:`~marlkit.agents.deep.sharing.learner_plan`).
    """

    name: ClassVar[str] = "ppo"
    continuous_actions: ClassVar[bool] = True  # Box actions: a Gaussian head (module docstring)

    critic: str = setting("local", doc="what each value function sees: its observation or the global state",
                          choices=tuple(CRITIC_INPUTS))  # fmt: skip
    lr: float = setting(2.5e-4, doc="Adam learning rate", **LEARNING_RATE)
    anneal_updates: int | None = setting(None, doc="anneal lr linearly to 0 over this many updates (null: "
                                         "constant)", range=(1, None))  # fmt: skip
    rollout_length: int = setting(128, doc="env steps per env per update", range=(1, None))
    update_epochs: int = setting(4, doc="passes over each rollout", range=(1, None))
    num_minibatches: int = setting(4, doc="minibatches per pass", range=(1, None))
    gamma: float = setting(0.99, doc="discount", range=(0, 1))
    gae_lambda: float = setting(0.95, doc="GAE lambda", range=(0, 1))
    clip_eps: float = setting(0.2, doc="the surrogate's clip range", range=(0, None), open="low")
    ent_coef: float = setting(0.01, doc="entropy bonus weight", range=(0, None))
    vf_coef: float = setting(0.5, doc="value-loss weight", range=(0, None))
    value_clip: float | None = setting(0.2, doc="clip the value update around the old value (null: plain squared "
                                       "error)", range=(0, None), open="low")  # fmt: skip
    max_grad_norm: float = setting(0.5, doc="global gradient-norm clip", range=(0, None), open="low")
    hidden: tuple[int, ...] = setting((64, 64), doc="layer widths", range=(1, None), nonempty=True)
    activation: str = setting("tanh", doc="hidden-layer activation", choices=("tanh", "relu"))
    recurrent: bool = setting(False, doc="GRU actor and critic")
    sharing: str | None = setting(None, doc="parameter sharing (null: chosen from the env's homogeneity)",
                                  choices=SHARING_MODES)  # fmt: skip
    agent_id: bool | None = setting(None, doc="append a one-hot agent id (null: where shared)")

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)

    # ------------------------------------------------------------------------------------------ networks

    def _networks(self, num_actions: int, value_outputs: int = 1) -> tuple[nn.Module, nn.Module]:
        """Actor (policy head gain 0.01) and critic (value head gain 1), Huang et al. 2022 details 2 and 3; the
        critic's head has ``value_outputs`` units: the value, then any extra heads (a subclass's cost values)."""
        if self.recurrent:
            width = self.hidden[0]
            return (
                RecurrentMLP(width, num_actions, self.activation, head_gain=0.01),
                RecurrentMLP(width, value_outputs, self.activation, head_gain=1.0),
            )
        return (
            MLP(self.hidden, num_actions, self.activation, head_gain=0.01),
            MLP(self.hidden, value_outputs, self.activation, head_gain=1.0),
        )

    def _critic_outputs(self, spec: MultiAgentSpec) -> int:
        """Units of the critic's head (PPO: 1, the value)."""
        return 1

    def _value_outputs(self, params: Any) -> int:
        """Units of the critic's head, read from its parameters (static: an array shape)."""
        if self.recurrent:
            return 1
        return int(params["critic"]["params"][f"Dense_{len(self.hidden)}"]["kernel"].shape[-1])

    def _inputs(self, plan: SharingPlan, observation: Observation) -> tuple[Array, Array]:
        """Actor and critic inputs ``[*B, n, d]`` (flattened observation / critic view, agent ids appended)."""
        batch_dims = observation.first.ndim
        obs = observation.obs.reshape(*observation.obs.shape[: batch_dims + 1], -1).astype(jnp.float32)
        critic_in = CRITIC_INPUTS[self.critic](obs, observation.global_state.astype(jnp.float32))
        return plan.with_ids(obs), plan.with_ids(critic_in)

    def _forward(
        self, plan: SharingPlan, params: Any, memory: Any, observation: Observation
    ) -> tuple[Any, Array, Array, Array]:
        """One decision step of every agent: ``(memory, masked logits [*B, n, A], values [*B, n], extra heads
        [*B, n, k - 1])`` (no extra heads, ``k = 1``, in PPO)."""
        actor, critic = self._networks(observation.action_mask.shape[-1], self._value_outputs(params))
        actor_in, critic_in = self._inputs(plan, observation)
        batch_dims = observation.first.ndim
        first = jnp.broadcast_to(observation.first[..., None], actor_in.shape[:-1])

        def per_set(p: Any, mem: Any, a: Array, c: Array, f: Array) -> tuple[Any, Array, Array]:
            if self.recurrent:
                h_actor, logits = forward_recurrent(actor, p["actor"], mem.actor, a, f)
                h_critic, value = forward_recurrent(critic, p["critic"], mem.critic, c, f)
                return PPOMemory(h_actor, h_critic), logits, value
            return mem, forward(actor, p["actor"], a), forward(critic, p["critic"], c)

        memory, logits, value = plan.apply(per_set, params, memory, actor_in, critic_in, first, batch_dims=batch_dims)
        if is_gaussian(params):  # the actor's head is the Gaussian's mean (0 on padding dimensions)
            return memory, jnp.where(observation.action_mask, logits, 0.0), value[..., 0], value[..., 1:]
        return memory, masked_logits(logits, observation.action_mask), value[..., 0], value[..., 1:]

    @staticmethod
    def _log_std(plan: SharingPlan, params: Any, mean: Array) -> Array:
        """Each agent's log-std (its parameter set's), broadcast to ``mean [*B, n, D]``."""
        log_std = params["log_std"][np.asarray(plan.set_of, np.int32)]  # [n, D]
        return jnp.broadcast_to(log_std, mean.shape)

    def _log_prob_entropy(
        self, plan: SharingPlan, params: Any, head: Array, actions: Array, mask: Array
    ) -> tuple[Array, Array]:
        """``(log pi(actions), entropy)`` ``[*B, n]`` of the policy whose head (masked logits, or the Gaussian's
        mean) is ``head``."""
        if is_gaussian(params):
            log_std = self._log_std(plan, params, head)
            return gaussian_log_prob(actions, head, log_std, mask), gaussian_entropy(log_std, mask)
        log_probs = jax.nn.log_softmax(head)
        log_prob = jnp.take_along_axis(log_probs, actions[..., None], axis=-1)[..., 0]
        entropy = -jnp.sum(jnp.where(mask, jnp.exp(log_probs) * log_probs, 0.0), axis=-1)
        return log_prob, entropy

    def _rerun(
        self, plan: SharingPlan, params: Any, memory: Any, observation: Observation
    ) -> tuple[Array, Array, Array]:
        """Masked logits, values and extra heads over a time-major ``[T', B, ...]`` batch (a GRU re-run from
        ``memory``)."""
        if not self.recurrent:
            _, logits, value, extra = self._forward(plan, params, memory, observation)
            return logits, value, extra

        def step(mem: Any, obs_t: Observation) -> tuple[Any, tuple[Array, Array, Array]]:
            mem, logits, value, extra = self._forward(plan, params, mem, obs_t)
            return mem, (logits, value, extra)

        _, (logits, value, extra) = jax.lax.scan(step, memory, observation)
        return logits, value, extra

    def _optimizer(self) -> optax.GradientTransformation:
        """Adam (eps 1e-5) after global gradient-norm clipping; the learning rate optionally annealed to 0."""
        lr: float | optax.Schedule = self.lr
        if self.anneal_updates is not None:
            lr = optax.linear_schedule(self.lr, 0.0, self.anneal_updates * self.update_epochs * self.num_minibatches)
        return optax.chain(optax.clip_by_global_norm(self.max_grad_norm), optax.adam(lr, eps=1e-5))

    # ------------------------------------------------------------------------------------------ contract

    def init(self, key: Array, spec: MultiAgentSpec, num_envs: int) -> PPOState:
        """Fresh actor and critic parameters (one set per sharing group) and Adam's state."""
        samples = num_envs if self.recurrent else num_envs * self.rollout_length
        if samples % self.num_minibatches:
            unit = "num_envs" if self.recurrent else "num_envs x rollout_length"
            raise LearnerConfigError(
                f"{type(self).__name__}: num_minibatches={self.num_minibatches} must divide {unit} = {samples} "
                "(a recurrent learner splits whole env sequences into minibatches)"
            )
        plan = learner_plan(spec, self.sharing, self.agent_id)
        actor, critic = self._networks(spec.max_actions, self._critic_outputs(spec))
        obs_size = int(np.prod(spec.obs_shape))
        critic_size = obs_size if self.critic == "local" else spec.global_state_size
        actor_x = jnp.zeros(plan.input_size(obs_size), jnp.float32)
        critic_x = jnp.zeros(plan.input_size(critic_size), jnp.float32)

        gaussian = {"log_std": jnp.zeros(spec.max_actions, jnp.float32)} if spec.continuous else {}

        def init_one(k: Array) -> dict[str, Any]:
            k_actor, k_critic = jax.random.split(k)
            if self.recurrent:
                h = jnp.zeros(self.hidden[0], jnp.float32)
                first = jnp.zeros((), bool)
                return {
                    "actor": actor.init(k_actor, h, actor_x, first),
                    "critic": critic.init(k_critic, h, critic_x, first),
                    **gaussian,
                }
            return {"actor": actor.init(k_actor, actor_x), "critic": critic.init(k_critic, critic_x), **gaussian}

        params = plan.init(key, init_one)
        return PPOState(params, self._optimizer().init(params), jnp.int32(0), plan)

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        """Zero GRU memory ``[E, n, H]`` for actor and critic (``()`` when feed-forward)."""
        if not self.recurrent:
            return ()
        zeros = jnp.zeros((num_envs, spec.n_agents, self.hidden[0]), jnp.float32)
        return PPOMemory(zeros, zeros)

    def act(self, key: Array, state: PPOState, observation: Observation, memory: Any) -> tuple[Array, PPOAux, Any]:
        """Sample every agent's action from its masked policy; record log-probabilities and values. Box actions:
        ``[E, n, D_max]`` float32 unbounded Gaussian samples (the env clips them; module docstring)."""
        memory, logits, value, _ = self._forward(state.plan, state.params, memory, observation)
        if is_gaussian(state.params):
            mask = observation.action_mask
            log_std = self._log_std(state.plan, state.params, logits)
            noise = jax.random.normal(key, logits.shape, jnp.float32)
            actions = jnp.where(mask, logits + jnp.exp(log_std) * noise, 0.0)
            return actions, PPOAux(gaussian_log_prob(actions, logits, log_std, mask), value), memory
        actions = jax.random.categorical(key, logits).astype(jnp.int32)
        log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), actions[..., None], axis=-1)[..., 0]
        return actions, PPOAux(log_prob, value), memory

    def policy(self, state: PPOState, observation: Observation, memory: Any) -> Array:
        """The masked softmax ``act`` samples from, ``[E, n, A_max]`` (exactly 0 on illegal actions).

        Box actions: the Gaussian ``act`` samples from, as ``[E, n, 2, D_max]`` — the mean ``[..., 0, :]`` (the
        deterministic action, clipped by the env) and the standard deviation ``[..., 1, :]``, both 0 on padding
        dimensions (:func:`gaussian_parts` splits them)."""
        _, logits, _, _ = self._forward(state.plan, state.params, memory, observation)
        if is_gaussian(state.params):
            std = jnp.where(observation.action_mask, jnp.exp(self._log_std(state.plan, state.params, logits)), 0.0)
            return jnp.stack([logits, std], axis=-2)
        return jnp.where(observation.action_mask, jax.nn.softmax(logits), 0.0)

    def update(self, key: Array, state: PPOState, rollout: Rollout) -> tuple[PPOState, dict[str, Array]]:
        """GAE on the rollout, then ``update_epochs x num_minibatches`` clipped-surrogate Adam steps."""
        plan = state.plan
        batch = self._batch(state, rollout)
        if not self.recurrent:  # fold time into the sample axis: [1, T * E, ...]
            batch = jax.tree_util.tree_map(lambda x: x.reshape(1, -1, *x.shape[2:]), batch)
        optimizer = self._optimizer()
        samples = batch.actions.shape[1]
        size = samples // self.num_minibatches

        def minibatch_step(carry: tuple[Any, Any], mb: PPOBatch) -> tuple[tuple[Any, Any], dict[str, Array]]:
            params, opt_state = carry
            grads, metrics = jax.grad(self._loss, argnums=1, has_aux=True)(plan, params, mb, state)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), metrics

        def epoch(carry: tuple[Any, Any], k: Array) -> tuple[tuple[Any, Any], dict[str, Array]]:
            order = jax.random.permutation(k, samples)

            def split(x: Array, axis: int) -> Array:
                x = jnp.take(x, order, axis=axis).reshape(
                    *x.shape[:axis], self.num_minibatches, size, *x.shape[axis + 1 :]
                )
                return jnp.moveaxis(x, axis, 0)

            sequences = batch._replace(memory=())
            minibatches = jax.tree_util.tree_map(lambda x: split(x, 1), sequences)
            minibatches = minibatches._replace(memory=jax.tree_util.tree_map(lambda x: split(x, 0), batch.memory))
            return jax.lax.scan(minibatch_step, carry, minibatches)

        (params, opt_state), metrics = jax.lax.scan(
            epoch, (state.params, state.opt_state), jax.random.split(key, self.update_epochs)
        )
        metrics = {name: value.mean(axis=(0, 1)) for name, value in metrics.items()}
        return self._next_state(state, params, opt_state, rollout, metrics)

    # ------------------------------------------------------------------------------------------ hooks
    # (:class:`~marlkit.agents.deep.ppo_lagrangian.PPOLagrangian` overrides these three; PPO's program is unchanged)

    def _batch(self, state: PPOState, rollout: Rollout) -> PPOBatch:
        """The training samples of a rollout: GAE advantages and value targets ``[T, E, n]``."""
        advantages, targets = gae(
            rollout.reward.astype(jnp.float32),
            rollout.aux.value,
            self._next_values(state.plan, state.params, rollout),
            rollout.done[..., None],
            self.gamma,
            self.gae_lambda,
        )
        return PPOBatch(rollout.observation, rollout.actions, rollout.aux, advantages, targets, rollout.memory)

    def _advantage(
        self, plan: SharingPlan, params: Any, mb: PPOBatch, state: PPOState, extra: Array
    ) -> tuple[Array, Array, dict[str, Array]]:
        """The actor's advantage ``[T', B', n]`` (normalised per minibatch), any extra critic loss and its
        per-agent metrics, given the critic's extra heads ``extra [T', B', n, k - 1]``: PPO's is the reward
        advantage alone and no extra loss."""
        return normalise(mb.advantages), jnp.float32(0.0), {}

    def _next_state(
        self, state: PPOState, params: Any, opt_state: Any, rollout: Rollout, metrics: dict[str, Array]
    ) -> tuple[PPOState, dict[str, Array]]:
        """The state after an update (PPO: the new parameters and optimiser state, one more update)."""
        return PPOState(params, opt_state, state.updates + 1, state.plan), metrics

    def value_error(self, value: Array, old: Array, target: Array) -> Array:
        """The squared value error, clipped around the old value when ``value_clip`` is set (PPO2 / JaxMARL;
        Huang et al. 2022, detail 9)."""
        error = jnp.square(value - target)
        if self.value_clip is not None:
            clipped = old + jnp.clip(value - old, -self.value_clip, self.value_clip)
            error = jnp.maximum(error, jnp.square(clipped - target))
        return error

    # ------------------------------------------------------------------------------------------ pieces

    def _next_values(self, plan: SharingPlan, params: Any, rollout: Rollout) -> Array:
        """``V(s_{t+1})`` of the observation each step ended on (``final_*``: before any auto-reset), 0 where the
        episode terminated ``[T, E, n]``. Recurrent: the critic reads it from the memory after step t."""
        final = Observation(
            rollout.final_obs,
            rollout.final_action_mask,
            rollout.final_global_state,
            jnp.zeros_like(rollout.done),
        )
        if self.recurrent:

            def step(mem: Any, pair: tuple[Observation, Observation]) -> tuple[Any, Array]:
                obs_t, final_t = pair
                mem, _, _, _ = self._forward(plan, params, mem, obs_t)
                _, _, value, _ = self._forward(plan, params, mem, final_t)
                return mem, value

            _, next_value = jax.lax.scan(step, rollout.memory, (rollout.observation, final))
        else:
            _, _, next_value, _ = self._forward(plan, params, (), final)
        return jnp.where(rollout.terminated[..., None], 0.0, jax.lax.stop_gradient(next_value))

    def _loss(self, plan: SharingPlan, params: Any, mb: PPOBatch, state: PPOState) -> tuple[Array, dict[str, Array]]:
        """PPO's loss on one minibatch ``[T', B', n]``: clipped surrogate (Schulman et al. 2017, Eq. 7) + ``vf_coef``
        x value loss - ``ent_coef`` x entropy (their Eq. 9); per-agent metrics ``[n]``."""
        logits, value, extra = self._rerun(plan, params, mb.memory, mb.observation)
        log_prob, entropy = self._log_prob_entropy(plan, params, logits, mb.actions, mb.observation.action_mask)
        log_ratio = log_prob - mb.old.log_prob
        ratio = jnp.exp(log_ratio)
        adv, extra_loss, extra_metrics = self._advantage(plan, params, mb, state, extra)
        surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - self.clip_eps, 1.0 + self.clip_eps) * adv)
        value_error = self.value_error(value, mb.old.value, mb.targets)
        policy_loss, value_loss = -surrogate.mean(), 0.5 * value_error.mean() + extra_loss
        total = policy_loss + self.vf_coef * value_loss - self.ent_coef * entropy.mean()

        metrics = {
            "loss/policy": per_agent(-surrogate),
            "loss/value": per_agent(0.5 * value_error),
            "entropy": per_agent(entropy),
            "approx_kl": per_agent(jax.lax.stop_gradient((ratio - 1.0) - log_ratio)),
            "clip_fraction": per_agent((jnp.abs(ratio - 1.0) > self.clip_eps).astype(jnp.float32)),
            **extra_metrics,
        }
        return total, metrics


@dataclass(frozen=True)
class IPPO(PPO):
    """Independent PPO (de Witt et al. 2020): each agent's critic sees its own observation."""

    name: ClassVar[str] = "ippo"
    critic: str = setting("local", doc="each agent's value function sees its own observation",
                          choices=tuple(CRITIC_INPUTS))  # fmt: skip


@dataclass(frozen=True)
class MAPPO(PPO):
    """Multi-agent PPO (Yu et al. 2022): a centralised critic on the global state (agent ids where shared)."""

    name: ClassVar[str] = "mappo"
    critic: str = setting("global", doc="a centralised value function on the global state",
                          choices=tuple(CRITIC_INPUTS))  # fmt: skip


__all__ = [
    "CRITIC_INPUTS",
    "IPPO",
    "MAPPO",
    "PPO",
    "PPOAux",
    "PPOBatch",
    "PPOMemory",
    "PPOState",
    "gaussian_parts",
    "is_gaussian",
    "normalise",
    "per_agent",
]
