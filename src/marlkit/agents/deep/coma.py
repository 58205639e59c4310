"""COMA: counterfactual multi-agent policy gradients (Foerster, Farquhar, Afouras, Nardelli & Whiteson 2018,
"Counterfactual Multi-Agent Policy Gradients", AAAI).

Decentralised actors, one centralised critic, and a baseline that answers "what did *my* action contribute?":

* **actors** ``pi_i(u_i | tau_i)`` on each agent's own observation (feed-forward :class:`~marlkit.agents.deep.
  networks.MLP`, or a GRU with ``recurrent=True``), shared across agents per :mod:`marlkit.agents.deep.sharing`;
* **critic** ``Q(s, u_-i, i) -> [A]``: one network for every agent (their §4, Fig. 1c) whose input is the global
  state, agent i's observation, the other agents' actions (one-hot; agent i's own slot zeroed) and agent i's
  one-hot id, and whose output is the joint-action value ``Q(s, (u_-i, u_i'))`` for each of i's actions ``u_i'``
  — so every counterfactual of agent i costs one forward pass;
* **counterfactual advantage** (their Eq. 4)::

      A_i(s, u) = Q(s, u) - sum_{u_i'} pi_i(u_i' | tau_i) Q(s, (u_-i, u_i'))

  which marginalises out only agent i's action while the others' stay fixed: a baseline that does not depend on
  ``u_i`` (so the gradient stays unbiased, their §4) and that isolates i's contribution to the team reward;
* **actor gradient** ``E[sum_i A_i grad log pi_i(u_i | tau_i)]`` (their §4), the advantage held constant, plus
  an optional entropy bonus (``ent_coef``; 0 in the paper and PyMARL);
* **critic training** by TD(lambda) (their §5, "the critic is trained ... using TD(lambda)"): lambda-returns of
  the *team* reward ``rollout.reward.mean(-1)`` built from a target critic updated every
  ``target_update_interval`` critic gradient steps, with one critic gradient step per rollout time step, walking
  backwards in time (PyMARL's ``critic_train_mode: "seq"``); the advantage uses each step's ``Q`` as the critic
  saw it just before that step's update (as PyMARL's learner does).

Bootstrapping: inside the rollout the lambda-return uses the target ``Q`` of the action the agents actually took
next (SARSA-style, as in the paper). Where no next action exists — after the last step of the rollout, and at a
time limit, read from ``Rollout.final_*`` — it uses an expected target value ``sum_{u_i'} pi_i(u_i') Q̂(s', (u_-i',
u_i'))`` with the others' actions ``u_-i'`` drawn from the current policy; a true termination bootstraps with 0.

Exploration: actions are sampled from the epsilon-bounded softmax of the paper's experimental setup,
``(1 - eps) softmax(z) + eps / |legal actions|`` (illegal actions masked with
:func:`~marlkit.agents.deep.networks.masked_logits`), eps annealed linearly over env steps. That mixture *is*
the policy: it is what :meth:`COMA.policy` returns, what the log-probabilities and the baseline use (as PyMARL's
controller does).

Defaults follow PyMARL (Samvelyan et al. 2019; ``src/config/algs/coma.yaml`` and ``default.yaml``): actor and
critic learning rates 5e-4, RMSprop (alpha 0.99, eps 1e-5), gradient-norm clip 10, gamma 0.99, TD lambda 0.8,
target update every 200 critic steps, eps annealed 0.5 -> 0.01 over 100k env steps, a 128-128 ReLU critic and
64-unit ReLU actors. ``rollout_length=32``: with the trainer's 16 envs an update sees 512 env steps, close to
PyMARL's batch of 8 episodes (about 60 SMAC steps each) per update. Deviation: PyMARL's critic also reads every
agent's previous action; the marlkit env's global state is Markov, so this critic does not.
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
    ILLEGAL_LOGIT,
    MLP,
    RecurrentMLP,
    forward,
    forward_recurrent,
    masked_logits,
)
from marlkit.agents.deep.sharing import SHARING_MODES, SharingPlan, learner_plan
from marlkit.envs.base import MultiAgentSpec
from marlkit.errors import LearnerConfigError
from marlkit.schema import setting, validate

Array = jax.Array


class COMAAux(NamedTuple):
    """What :meth:`COMA.act` records per step: the behaviour log-probability of each agent's action ``[E, n]``."""

    log_prob: Array


@struct.dataclass
class COMAState:
    """Learner state: actor parameters (leading ``[P]`` sharing axis), the critic and its target (one network),
    their RMSprop states, counters, and the resolved sharing plan (static: not a leaf)."""

    actor: Any
    critic: Any
    target_critic: Any
    actor_opt_state: Any
    critic_opt_state: Any
    updates: Array  # [] int32 learner updates so far
    env_steps: Array  # [] int32 env steps seen (the exploration schedule's clock)
    critic_steps: Array  # [] int32 critic gradient steps so far
    target_step: Array  # [] int32 critic_steps at the last target update
    plan: SharingPlan = struct.field(pytree_node=False)


# ---------------------------------------------------------------------------------------------- pure pieces


def bounded_softmax(logits: Array, mask: Array, epsilon: Array | float) -> Array:
    """The epsilon-bounded softmax of Foerster et al. (2018, experimental setup): ``(1 - eps) softmax(z) + eps /
    |legal|`` on legal actions, exactly 0 on illegal ones (``mask`` False). ``logits`` and ``mask`` are ``[..., A]``."""
    legal = mask.astype(jnp.float32)
    greedy = jax.nn.softmax(masked_logits(logits, mask))
    uniform = legal / jnp.maximum(legal.sum(axis=-1, keepdims=True), 1.0)
    return jnp.where(mask, (1.0 - epsilon) * greedy + epsilon * uniform, 0.0)


def counterfactual_advantage(q_values: Array, probs: Array, actions: Array) -> Array:
    """COMA's advantage (Foerster et al. 2018, Eq. 4), ``[...]``.

    Args:
        q_values: ``[..., A]`` — ``Q(s, (u_-i, u_i'))`` for each action ``u_i'`` of agent i, others fixed.
        probs: ``[..., A]`` — agent i's policy ``pi_i(u_i' | tau_i)`` (0 on illegal actions).
        actions: ``[...]`` int — the action ``u_i`` agent i took.

    Returns:
        ``Q(s, u) - sum_{u_i'} pi_i(u_i' | tau_i) Q(s, (u_-i, u_i'))``.
    """
    taken = jnp.take_along_axis(q_values, actions[..., None], axis=-1)[..., 0]
    baseline = jnp.sum(jnp.where(probs > 0, probs * q_values, 0.0), axis=-1)
    return taken - baseline


def critic_input(observation: Observation, actions: Array) -> Array:
    """The critic's input for every agent, ``[*B, n, G + d + n A + n]``: the global state, agent i's flattened
    observation, the joint action one-hot with agent i's own slot zeroed (``u_-i``), agent i's one-hot id
    (Foerster et al. 2018, §4 and Fig. 1c)."""
    batch = observation.first.shape
    n, num_actions = observation.action_mask.shape[-2:]
    obs = observation.obs.reshape(*batch, n, -1).astype(jnp.float32)
    state = jnp.broadcast_to(observation.global_state[..., None, :], (*batch, n, observation.global_state.shape[-1]))
    joint = jax.nn.one_hot(actions, num_actions, dtype=jnp.float32).reshape(*batch, 1, n * num_actions)
    others = jnp.asarray(np.repeat(1.0 - np.eye(n, dtype=np.float32), num_actions, axis=1))  # [n, n A]
    ids = jnp.broadcast_to(jnp.eye(n, dtype=jnp.float32), (*batch, n, n))
    return jnp.concatenate([state.astype(jnp.float32), obs, joint * others, ids], axis=-1)


def _final_observation(rollout: Rollout) -> Observation:
    """The observation each step ended on (before any auto-reset), ``[T, E, ...]``."""
    return Observation(
        rollout.final_obs, rollout.final_action_mask, rollout.final_global_state, jnp.zeros_like(rollout.done)
    )


# ---------------------------------------------------------------------------------------------- the learner


@dataclass(frozen=True)
class COMA:
    """Counterfactual multi-agent policy gradients (see the module docstring for the algorithm and its sources).

    Attributes:
        lr / critic_lr: RMSprop learning rates of the actors and of the critic (PyMARL: 5e-4 each).
        optim_alpha / optim_eps: RMSprop's decay and epsilon (PyMARL: 0.99, 1e-5; eps outside the square root,
            as in PyTorch). max_grad_norm: global gradient-norm clip per network (PyMARL: 10).
        rollout_length: env steps per env per update (one actor step and ``rollout_length`` critic steps).
        gamma / td_lambda: discount and the lambda of the critic's TD(lambda) targets (PyMARL: 0.99, 0.8).
        target_update_interval: copy the critic into its target after this many critic gradient steps (PyMARL:
            200).
        epsilon_start / epsilon_finish / epsilon_anneal_steps: the bounded-softmax exploration, annealed linearly
            over env steps (PyMARL: 0.5 -> 0.01 over 100k).
        ent_coef: entropy bonus on the actors (0: none, as in the paper).
        hidden / critic_hidden / activation: actor and critic layer widths and activation (PyMARL: 64-unit ReLU
            agents, a 128-128 ReLU critic; the recurrent actor uses ``hidden[0]`` GRU units).
        recurrent: GRU actors (:class:`~marlkit.agents.deep.networks.RecurrentMLP`) for partially observable tasks.
        sharing / agent_id: actor parameter sharing (:func:`~marlkit.agents.deep.sharing.learner_plan`); the
            critic is always one network with agent-id input.
    """

    name: ClassVar[str] = "coma"

    lr: float = setting(5e-4, doc="the actors' RMSprop learning rate", **LEARNING_RATE)
    critic_lr: float = setting(5e-4, doc="the critic's RMSprop learning rate", **LEARNING_RATE)
    optim_alpha: float = setting(0.99, doc="RMSprop decay", range=(0, 1))
    optim_eps: float = setting(1e-5, doc="RMSprop epsilon", range=(0, None), open="low")
    max_grad_norm: float = setting(10.0, doc="gradient-norm clip per network", range=(0, None), open="low")
    rollout_length: int = setting(32, doc="env steps per env per update", range=(1, None))
    gamma: float = setting(0.99, doc="discount", range=(0, 1))
    td_lambda: float = setting(0.8, doc="the critic's TD(lambda)", range=(0, 1))
    target_update_interval: int = setting(200, doc="critic steps between target copies", range=(1, None))
    epsilon_start: float = setting(0.5, doc="initial bounded-softmax exploration", range=(0, 1))
    epsilon_finish: float = setting(0.01, doc="final bounded-softmax exploration", range=(0, 1))
    epsilon_anneal_steps: int = setting(100_000, doc="env steps of the linear anneal", range=(0, None))
    ent_coef: float = setting(0.0, doc="entropy bonus on the actors", range=(0, None))
    hidden: tuple[int, ...] = setting((64, 64), doc="actor layer widths", range=(1, None), nonempty=True)
    critic_hidden: tuple[int, ...] = setting((128, 128), doc="critic layer widths", range=(1, None), nonempty=True)
    activation: str = setting("relu", doc="hidden-layer activation", choices=("tanh", "relu"))
    recurrent: bool = setting(False, doc="GRU actors")
    sharing: str | None = setting(None, doc="actor parameter sharing (null: chosen from the env's homogeneity)",
                                  choices=SHARING_MODES)  # fmt: skip
    agent_id: bool | None = setting(None, doc="append a one-hot agent id to the actors' input (null: where shared)")

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)

    # ------------------------------------------------------------------------------------------ networks

    def _actor_net(self, num_actions: int) -> nn.Module:
        """The actor: logits for each action (head gain 0.01, so every policy starts near uniform)."""
        if self.recurrent:
            return RecurrentMLP(self.hidden[0], num_actions, self.activation, head_gain=0.01)
        return MLP(self.hidden, num_actions, self.activation, head_gain=0.01)

    def _critic_net(self, num_actions: int) -> nn.Module:
        """The critic: ``Q(s, (u_-i, u_i'))`` for each action ``u_i'`` of agent i."""
        return MLP(self.critic_hidden, num_actions, self.activation, head_gain=1.0)

    def _optimizer(self, lr: float) -> optax.GradientTransformation:
        """RMSprop (PyTorch's form: eps outside the square root) after global gradient-norm clipping (PyMARL)."""
        return optax.chain(
            optax.clip_by_global_norm(self.max_grad_norm),
            optax.rmsprop(lr, decay=self.optim_alpha, eps=self.optim_eps, eps_in_sqrt=False),
        )

    def epsilon(self, env_steps: Array) -> Array:
        """The exploration epsilon after ``env_steps`` env steps (linear from ``epsilon_start`` to
        ``epsilon_finish`` over ``epsilon_anneal_steps``)."""
        if self.epsilon_anneal_steps == 0:
            return jnp.float32(self.epsilon_finish)
        fraction = jnp.minimum(env_steps.astype(jnp.float32) / self.epsilon_anneal_steps, 1.0)
        return jnp.float32(self.epsilon_start) + fraction * (self.epsilon_finish - self.epsilon_start)

    def _actor_step(self, plan: SharingPlan, params: Any, memory: Any, observation: Observation) -> tuple[Any, Array]:
        """One decision step of every agent's actor: ``(memory, logits [*B, n, A])``."""
        actor = self._actor_net(observation.action_mask.shape[-1])
        batch_dims = observation.first.ndim
        obs = observation.obs.reshape(*observation.obs.shape[: batch_dims + 1], -1).astype(jnp.float32)
        x = plan.with_ids(obs)
        first = jnp.broadcast_to(observation.first[..., None], x.shape[:-1])

        def per_set(p: Any, mem: Any, xi: Array, fi: Array) -> tuple[Any, Array]:
            if self.recurrent:
                return forward_recurrent(actor, p, mem, xi, fi)
            return mem, forward(actor, p, xi)

        return plan.apply(per_set, params, memory, x, first, batch_dims=batch_dims)

    def _actor_rerun(self, plan: SharingPlan, params: Any, memory: Any, observation: Observation) -> Array:
        """Actor logits over a time-major ``[T, E, ...]`` rollout (a GRU re-run from ``memory``)."""
        if not self.recurrent:
            return self._actor_step(plan, params, memory, observation)[1]

        def step(mem: Any, obs_t: Observation) -> tuple[Any, Array]:
            return self._actor_step(plan, params, mem, obs_t)

        return jax.lax.scan(step, memory, observation)[1]

    def _final_logits(self, plan: SharingPlan, params: Any, rollout: Rollout) -> Array:
        """Actor logits at the observation each step ended on, ``[T, E, n, A]`` (recurrent: from the memory after
        step t)."""
        final = _final_observation(rollout)
        if not self.recurrent:
            return self._actor_step(plan, params, (), final)[1]

        def step(mem: Any, pair: tuple[Observation, Observation]) -> tuple[Any, Array]:
            obs_t, final_t = pair
            mem, _ = self._actor_step(plan, params, mem, obs_t)
            return mem, self._actor_step(plan, params, mem, final_t)[1]

        return jax.lax.scan(step, rollout.memory, (rollout.observation, final))[1]

    # ------------------------------------------------------------------------------------------ contract

    def init(self, key: Array, spec: MultiAgentSpec, num_envs: int) -> COMAState:
        """Fresh actors (one parameter set per sharing group), the critic, its target copy, RMSprop states."""
        plan = learner_plan(spec, self.sharing, self.agent_id)
        n, num_actions = spec.n_agents, spec.max_actions
        obs_size = int(np.prod(spec.obs_shape))
        actor = self._actor_net(num_actions)
        actor_x = jnp.zeros(plan.input_size(obs_size), jnp.float32)
        critic_x = jnp.zeros(spec.global_state_size + obs_size + n * num_actions + n, jnp.float32)
        k_actor, k_critic = jax.random.split(key)

        def init_actor(k: Array) -> Any:
            if self.recurrent:
                return actor.init(k, jnp.zeros(self.hidden[0], jnp.float32), actor_x, jnp.zeros((), bool))
            return actor.init(k, actor_x)

        actor_params = plan.init(k_actor, init_actor)
        critic_params = self._critic_net(num_actions).init(k_critic, critic_x)
        zero = jnp.int32(0)
        return COMAState(
            actor=actor_params,
            critic=critic_params,
            target_critic=critic_params,
            actor_opt_state=self._optimizer(self.lr).init(actor_params),
            critic_opt_state=self._optimizer(self.critic_lr).init(critic_params),
            updates=zero,
            env_steps=zero,
            critic_steps=zero,
            target_step=zero,
            plan=plan,
        )

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        """Zero GRU memory ``[E, n, H]`` (``()`` when feed-forward)."""
        if not self.recurrent:
            return ()
        return jnp.zeros((num_envs, spec.n_agents, self.hidden[0]), jnp.float32)

    def act(self, key: Array, state: COMAState, observation: Observation, memory: Any) -> tuple[Array, COMAAux, Any]:
        """Sample every agent's action from its bounded softmax; record the log-probability."""
        memory, logits = self._actor_step(state.plan, state.actor, memory, observation)
        probs = bounded_softmax(logits, observation.action_mask, self.epsilon(state.env_steps))
        log_probs = jnp.where(probs > 0, jnp.log(jnp.where(probs > 0, probs, 1.0)), ILLEGAL_LOGIT)
        actions = jax.random.categorical(key, log_probs).astype(jnp.int32)
        return actions, COMAAux(jnp.take_along_axis(log_probs, actions[..., None], axis=-1)[..., 0]), memory

    def policy(self, state: COMAState, observation: Observation, memory: Any) -> Array:
        """The bounded softmax ``act`` samples from, ``[E, n, A_max]`` (exactly 0 on illegal actions)."""
        _, logits = self._actor_step(state.plan, state.actor, memory, observation)
        return bounded_softmax(logits, observation.action_mask, self.epsilon(state.env_steps))

    def update(self, key: Array, state: COMAState, rollout: Rollout) -> tuple[COMAState, dict[str, Array]]:
        """TD(lambda) critic steps backwards through the rollout, then one actor step on the counterfactual
        advantage (Foerster et al. 2018, Algorithm 1 in the PyMARL form)."""
        plan = state.plan
        eps = self.epsilon(state.env_steps)
        targets = self._td_lambda_targets(key, state, rollout, eps)
        critic, critic_opt_state, q_values, critic_metrics = self._train_critic(state, rollout, targets)
        actor, actor_opt_state, actor_metrics = self._train_actor(plan, state, rollout, q_values, eps)

        critic_steps = state.critic_steps + rollout.actions.shape[0]
        refresh = critic_steps - state.target_step >= self.target_update_interval
        target_critic = jax.tree_util.tree_map(
            lambda online, target: jnp.where(refresh, online, target), critic, state.target_critic
        )
        new_state = COMAState(
            actor=actor,
            critic=critic,
            target_critic=target_critic,
            actor_opt_state=actor_opt_state,
            critic_opt_state=critic_opt_state,
            updates=state.updates + 1,
            env_steps=state.env_steps + rollout.actions.shape[0] * rollout.actions.shape[1],
            critic_steps=critic_steps,
            target_step=jnp.where(refresh, critic_steps, state.target_step),
            plan=plan,
        )
        return new_state, {**critic_metrics, **actor_metrics, "epsilon": eps}

    # ------------------------------------------------------------------------------------------ pieces

    def _td_lambda_targets(self, key: Array, state: COMAState, rollout: Rollout, eps: Array) -> Array:
        """TD(lambda) targets ``[T, E, n]`` for ``Q(s_t, u_t)`` of each agent from the target critic.

        Within an episode the next value is the target ``Q`` of the joint action taken next; at the rollout's end
        and at a time limit it is the expected target value at ``final_*`` (own action marginalised under the
        policy, the others' drawn from it); 0 after a termination.
        """
        target_net = self._critic_net(rollout.final_action_mask.shape[-1])
        taken_q = jnp.take_along_axis(
            forward(target_net, state.target_critic, critic_input(rollout.observation, rollout.actions)),
            rollout.actions[..., None],
            axis=-1,
        )[..., 0]  # [T, E, n]

        final_probs = bounded_softmax(
            self._final_logits(state.plan, state.actor, rollout), rollout.final_action_mask, eps
        )
        log_final = jnp.where(final_probs > 0, jnp.log(jnp.where(final_probs > 0, final_probs, 1.0)), ILLEGAL_LOGIT)
        next_actions = jax.random.categorical(key, log_final).astype(jnp.int32)
        final_q = forward(target_net, state.target_critic, critic_input(_final_observation(rollout), next_actions))
        expected_final = jnp.sum(final_probs * final_q, axis=-1)  # [T, E, n]

        length = rollout.actions.shape[0]
        boundary = rollout.done | (jnp.arange(length) == length - 1)[:, None]
        next_taken = jnp.concatenate([taken_q[1:], jnp.zeros_like(taken_q[:1])], axis=0)
        next_value = jnp.where(boundary[..., None], expected_final, next_taken)
        next_value = jnp.where(rollout.terminated[..., None], 0.0, next_value)
        team = jnp.broadcast_to(rollout.reward.astype(jnp.float32).mean(-1, keepdims=True), taken_q.shape)
        _, returns = gae(team, taken_q, next_value, rollout.done[..., None], self.gamma, self.td_lambda)
        return jax.lax.stop_gradient(returns)

    def _train_critic(
        self, state: COMAState, rollout: Rollout, targets: Array
    ) -> tuple[Any, Any, Array, dict[str, Array]]:
        """One critic step per rollout time step, last step first (PyMARL's sequential mode). Returns the new
        critic, its optimiser state, ``Q [T, E, n, A]`` as seen just before each step's update, and metrics."""
        critic_net = self._critic_net(rollout.observation.action_mask.shape[-1])
        optimizer = self._optimizer(self.critic_lr)
        inputs = critic_input(rollout.observation, rollout.actions)

        def step(carry: tuple[Any, Any], batch: tuple[Array, Array, Array]) -> tuple[tuple[Any, Any], Any]:
            params, opt_state = carry
            x, actions, y = batch

            def loss(p: Any) -> tuple[Array, tuple[Array, Array]]:
                q = forward(critic_net, p, x)
                error = jnp.take_along_axis(q, actions[..., None], axis=-1)[..., 0] - y
                return jnp.mean(jnp.square(error)), (q, error)

            (value, (q, error)), grads = jax.value_and_grad(loss, has_aux=True)(params)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (q, value, jnp.abs(error))

        (params, opt_state), (q_values, losses, abs_errors) = jax.lax.scan(
            step, (state.critic, state.critic_opt_state), (inputs, rollout.actions, targets), reverse=True
        )
        n = abs_errors.shape[-1]
        metrics = {
            "loss/critic": losses.mean(),
            "td_error": abs_errors.reshape(-1, n).mean(axis=0),
            "target_mean": targets.reshape(-1, n).mean(axis=0),
        }
        return params, opt_state, jax.lax.stop_gradient(q_values), metrics

    def _train_actor(
        self, plan: SharingPlan, state: COMAState, rollout: Rollout, q_values: Array, eps: Array
    ) -> tuple[Any, Any, dict[str, Array]]:
        """One actor step on ``-E[A_i log pi_i(u_i | tau_i)] - ent_coef H(pi_i)`` (Foerster et al. 2018, Eq. 4, §4)."""
        mask = rollout.observation.action_mask
        optimizer = self._optimizer(self.lr)

        def loss(params: Any) -> tuple[Array, dict[str, Array]]:
            logits = self._actor_rerun(plan, params, rollout.memory, rollout.observation)
            probs = bounded_softmax(logits, mask, eps)
            advantage = jax.lax.stop_gradient(
                counterfactual_advantage(q_values, jax.lax.stop_gradient(probs), rollout.actions)
            )
            log_probs = jnp.log(jnp.where(mask, probs, 1.0))
            log_taken = jnp.take_along_axis(log_probs, rollout.actions[..., None], axis=-1)[..., 0]
            entropy = -jnp.sum(jnp.where(mask, probs * log_probs, 0.0), axis=-1)
            policy_loss = -advantage * log_taken
            total = policy_loss.mean() - self.ent_coef * entropy.mean()
            n = advantage.shape[-1]
            return total, {
                "loss/actor": policy_loss.reshape(-1, n).mean(axis=0),
                "advantage": advantage.reshape(-1, n).mean(axis=0),
                "advantage_abs": jnp.abs(advantage).reshape(-1, n).mean(axis=0),
                "entropy": entropy.reshape(-1, n).mean(axis=0),
            }

        grads, metrics = jax.grad(loss, has_aux=True)(state.actor)
        updates, opt_state = optimizer.update(grads, state.actor_opt_state, state.actor)
        return optax.apply_updates(state.actor, updates), opt_state, metrics


__all__ = ["COMA", "COMAAux", "COMAState", "bounded_softmax", "counterfactual_advantage", "critic_input"]
