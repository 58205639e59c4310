"""Value-based deep MARL: independent DQN (IDQN), VDN and QMIX — one learner, three choices of mixer.

Every agent has a feed-forward Q-network ``Q_i(o_i, .; theta)`` (:class:`~marlkit.agents.deep.networks.MLP`,
shared according to the learner's ``sharing`` plan). The learners differ only in what the TD error is taken on:

* **IDQN** (Tan 1993 with DQN, Mnih et al. 2015): each agent regresses its own ``Q_i(o_i, a_i)`` on its own reward,
  ``y_i = r_i + gamma (1 - terminated) Q_i(o'_i, a'_i; theta^-)``;
* **VDN** (Sunehag et al. 2018, Eq. 1): ``Q_tot = sum_i Q_i`` regressed on the team reward ``r = mean_i r_i``;
* **QMIX** (Rashid et al. 2018, §4, Eq. 5-6): ``Q_tot = f(Q_1..Q_n; s)`` with a state-conditioned mixer monotone in
  every ``Q_i`` (:class:`~marlkit.agents.deep.mixers.QMixer`), regressed on the team reward.

The DQN machinery is shared (Mnih et al. 2015, Algorithm 1): transitions go into a replay buffer kept in the
learner's state (:mod:`marlkit.agents.deep.replay`); each update inserts the rollout's ``T x E`` transitions, then
takes ``updates_per_rollout`` Adam steps on uniform minibatches once ``learning_starts`` env steps have been seen;
a target network ``theta^-`` follows the online one, ``theta^- <- tau theta + (1 - tau) theta^-`` every
``target_update_interval`` gradient steps (``tau = 1``: the periodic copy of DQN and PyMARL; small ``tau`` with
interval 1: Polyak averaging). Double-Q targets (van Hasselt, Guez & Silver 2016, Eq. 4) pick the next action with
the online network and evaluate it with the target network: ``a'_i = argmax_{legal a} Q_i(o'_i, a; theta)``.
A step that ended by termination bootstraps with zero; one cut by a time limit bootstraps from ``final_obs`` /
``final_action_mask`` / ``final_global_state`` (the observation the step ended on; Pardo et al. 2018). The env
contract gives ``final_*`` on every step, so it is the next observation of every transition.

Acting is epsilon-greedy with epsilon annealed linearly in env steps; exploration samples uniformly among the
*legal* actions and the greedy action is the best legal one, so an illegal action is never picked.
:meth:`ValueBasedLearner.policy` returns exactly that distribution.

Defaults follow PyMARL's QMIX configuration (Samvelyan et al. 2019, ``default.yaml``/``qmix.yaml``) and EPyMARL
(Papoudakis et al. 2021) where they translate to a feed-forward, transition-level learner: gamma 0.99, Adam
(EPyMARL) with learning rate 5e-4, gradient-norm clip 10, epsilon 1 -> 0.05 over 50,000 env steps, double-Q, a
hard target update every 200 gradient steps (PyMARL: every 200 episodes, one gradient step per episode), two
hidden ReLU layers of 64 (EPyMARL's feed-forward agent), mixing embedding 32 and hypernetwork hidden 64 (QMIX),
squared TD error. PyMARL replays 5,000 episodes in batches of 32 episodes; a transition buffer of 50,000 in
batches of 128 with learning from 10,000 env steps (CleanRL's DQN, Huang et al. 2022) is the feed-forward
counterpart used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from marlkit.agents.deep.base import LEARNING_RATE, Observation, Rollout
from marlkit.agents.deep.mixers import QMixer, VDNMixer
from marlkit.agents.deep.networks import MLP, forward, masked_argmax, masked_logits
from marlkit.agents.deep.replay import ReplayBuffer, replay_add, replay_init, replay_sample
from marlkit.agents.deep.sharing import SHARING_MODES, SharingPlan, learner_plan
from marlkit.envs.base import MultiAgentSpec
from marlkit.errors import LearnerConfigError
from marlkit.schema import setting, validate

Array = jax.Array


def squared_error(td: Array, delta: float) -> Array:
    """``td^2`` (PyMARL's Q-learner loss)."""
    del delta
    return jnp.square(td)


def huber(td: Array, delta: float) -> Array:
    """Huber loss (Huber 1964; the DQN error clipping of Mnih et al. 2015): quadratic within ``delta``."""
    return optax.huber_loss(td, delta=delta)


LOSSES = {"mse": squared_error, "huber": huber}
ACTIVATIONS = ("relu", "tanh")


# ------------------------------------------------------------------------------------------------- state


@jax.tree_util.register_static
@dataclass(frozen=True)
class ValueStatic:
    """What the learner needs of the env outside ``init`` (static under ``jit``: no array leaves)."""

    plan: SharingPlan
    obs_shape: tuple[int, ...]
    num_actions: int


class QParams(NamedTuple):
    """Agent Q-network parameters (leading ``[P]`` parameter-set axis) and mixer parameters (empty for IDQN)."""

    agent: Any
    mixer: Any


class Transition(NamedTuple):
    """One replayed step of all agents (flattened observations)."""

    obs: Array  # [n, d]
    global_state: Array  # [G]
    actions: Array  # [n] int32
    reward: Array  # [n]
    terminated: Array  # [] bool
    next_obs: Array  # [n, d] — final_obs: where the step ended, before any auto-reset
    next_action_mask: Array  # [n, A]
    next_global_state: Array  # [G]


class ValueState(NamedTuple):
    """The learner's state: online and target parameters, optimiser state, replay buffer and counters."""

    params: QParams
    target: QParams
    opt_state: Any
    buffer: ReplayBuffer
    env_steps: Array  # [] int32 — env steps seen (all envs), drives epsilon and learning_starts
    updates: Array  # [] int32 — gradient steps taken
    static: ValueStatic


# ----------------------------------------------------------------------------------------------- learner


@dataclass(frozen=True)
class ValueBasedLearner:
    """The shared DQN-style learner (see the module docstring); :class:`IDQN`, :class:`VDN` and :class:`QMIX` differ
    only in :meth:`mixer_module`. Hyper-parameters and their sources are listed in the module docstring."""

    name: ClassVar[str] = "value-based"

    hidden: tuple[int, ...] = setting((64, 64), doc="layer widths", range=(1, None), nonempty=True)
    activation: str = setting("relu", doc="hidden-layer activation", choices=ACTIVATIONS)
    gamma: float = setting(0.99, doc="discount", range=(0, 1))
    lr: float = setting(5e-4, doc="Adam learning rate", **LEARNING_RATE)
    max_grad_norm: float = setting(10.0, doc="global gradient-norm clip", range=(0, None), open="low")
    loss: str = setting("mse", doc="TD loss", choices=tuple(LOSSES))
    huber_delta: float = setting(1.0, doc="the Huber loss's threshold", range=(0, None), open="low")
    double_q: bool = setting(True, doc="double-Q targets (van Hasselt et al. 2016)")
    buffer_size: int = setting(50_000, doc="replay capacity in transitions", range=(1, None))
    batch_size: int = setting(128, doc="transitions per gradient step", range=(1, None))
    learning_starts: int = setting(10_000, doc="env steps before the first update", range=(0, None))
    rollout_length: int = setting(1, doc="env steps per env per update", range=(1, None))
    updates_per_rollout: int = setting(1, doc="gradient steps per rollout", range=(1, None))
    target_update_interval: int = setting(200, doc="gradient steps between target updates", range=(1, None))
    tau: float = setting(1.0, doc="target update rate (1: copy)", range=(0, 1), open="low")
    epsilon_start: float = setting(1.0, doc="initial exploration probability", range=(0, 1))
    epsilon_finish: float = setting(0.05, doc="final exploration probability", range=(0, 1))
    epsilon_anneal_steps: int = setting(50_000, doc="env steps of the linear epsilon anneal", range=(1, None))
    sharing: str | None = setting(None, doc="parameter sharing (null: chosen from the env's homogeneity)",
                                  choices=SHARING_MODES)  # fmt: skip
    agent_id: bool | None = setting(None, doc="append a one-hot agent id (null: where shared)")

    def __post_init__(self) -> None:
        if isinstance(self.hidden, list):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        validate(self, LearnerConfigError)
        if self.batch_size > self.buffer_size:
            raise LearnerConfigError(
                f"batch_size={self.batch_size} exceeds buffer_size={self.buffer_size}; raise buffer_size"
            )

    # -- what the subclasses choose ---------------------------------------------------------------------
    def mixer_module(self) -> nn.Module | None:
        """The mixer of the agents' utilities, or ``None`` for independent learners (one TD error per agent)."""
        return None

    # -- pieces -----------------------------------------------------------------------------------------
    def network(self, num_actions: int) -> MLP:
        return MLP(self.hidden, num_actions, self.activation)

    def optimizer(self) -> optax.GradientTransformation:
        """Adam (Kingma & Ba 2015) after global-norm gradient clipping."""
        return optax.chain(optax.clip_by_global_norm(self.max_grad_norm), optax.adam(self.lr))

    def epsilon(self, env_steps: Array) -> Array:
        """Linear schedule from ``epsilon_start`` to ``epsilon_finish`` over ``epsilon_anneal_steps`` env steps."""
        fraction = jnp.clip(env_steps / self.epsilon_anneal_steps, 0.0, 1.0)
        return self.epsilon_start + fraction * (self.epsilon_finish - self.epsilon_start)

    def q_values(self, static: ValueStatic, agent_params: Any, obs: Array) -> Array:
        """``Q_i(o_i, .)`` for observations ``[*B, n, *obs_shape]``: ``[*B, n, A_max]``."""
        x = obs.reshape(*obs.shape[: obs.ndim - len(static.obs_shape)], -1)
        x = static.plan.with_ids(x)
        net = self.network(static.num_actions)
        return static.plan.apply(lambda p, xi: net.apply(p, xi), agent_params, x)

    # -- the contract -----------------------------------------------------------------------------------
    def init(self, key: Array, spec: MultiAgentSpec, num_envs: int) -> ValueState:
        plan = learner_plan(spec, self.sharing, self.agent_id)
        per_update = self.rollout_length * num_envs
        if per_update > self.buffer_size:
            raise LearnerConfigError(
                f"{self.name}: buffer_size={self.buffer_size} is smaller than the {per_update} transitions of one "
                f"rollout (rollout_length x num_envs); raise buffer_size"
            )
        static = ValueStatic(plan, tuple(spec.obs_shape), spec.max_actions)
        n, d, G = spec.n_agents, int(np.prod(spec.obs_shape)), spec.global_state_size
        k_agent, k_mixer = jax.random.split(key)
        net = self.network(spec.max_actions)
        agent = plan.init(k_agent, lambda k: net.init(k, jnp.zeros((plan.input_size(d),), jnp.float32)))
        mixer = self.mixer_module()
        mixer_params = {} if mixer is None else mixer.init(k_mixer, jnp.zeros((n,)), jnp.zeros((G,)))
        params = QParams(agent, mixer_params)
        example = Transition(
            obs=jnp.zeros((n, d), jnp.float32),
            global_state=jnp.zeros((G,), jnp.float32),
            actions=jnp.zeros((n,), jnp.int32),
            reward=jnp.zeros((n,), jnp.float32),
            terminated=jnp.zeros((), bool),
            next_obs=jnp.zeros((n, d), jnp.float32),
            next_action_mask=jnp.zeros((n, spec.max_actions), bool),
            next_global_state=jnp.zeros((G,), jnp.float32),
        )
        return ValueState(
            params=params,
            target=params,
            opt_state=self.optimizer().init(params),
            buffer=replay_init(example, self.buffer_size),
            env_steps=jnp.int32(0),
            updates=jnp.int32(0),
            static=static,
        )

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> tuple[()]:
        return ()

    def greedy(self, state: ValueState, observation: Observation) -> Array:
        """The greedy legal action of every agent, ``[E, n]`` int32 (the learned policy without exploration)."""
        q = self.q_values(state.static, state.params.agent, observation.obs)
        return masked_argmax(q, observation.action_mask)

    def act(self, key: Array, state: ValueState, observation: Observation, memory: Any) -> tuple[Array, Any, Any]:
        """Epsilon-greedy over legal actions: with probability epsilon a uniformly random legal action."""
        greedy = self.greedy(state, observation)
        k_explore, k_random = jax.random.split(key)
        uniform_legal = masked_logits(jnp.zeros(observation.action_mask.shape), observation.action_mask)
        random_action = jax.random.categorical(k_random, uniform_legal, axis=-1).astype(jnp.int32)
        explore = jax.random.uniform(k_explore, greedy.shape) < self.epsilon(state.env_steps)
        return jnp.where(explore, random_action, greedy), (), memory

    def policy(self, state: ValueState, observation: Observation, memory: Any) -> Array:
        """The epsilon-greedy distribution ``act`` samples from: ``[E, n, A_max]``, zero on illegal actions."""
        mask = observation.action_mask
        greedy = jax.nn.one_hot(self.greedy(state, observation), mask.shape[-1], dtype=jnp.float32)
        legal = mask.astype(jnp.float32)
        eps = self.epsilon(state.env_steps)
        return eps * legal / legal.sum(axis=-1, keepdims=True) + (1.0 - eps) * greedy

    def transitions(self, rollout: Rollout) -> Transition:
        """The rollout's ``T x E`` steps as transitions (leaves ``[T E, ...]``)."""
        T, E, n = rollout.actions.shape

        def flat(x: Array, per_agent: bool = True) -> Array:
            return x.reshape(T * E, n, -1) if per_agent else x.reshape(T * E, *x.shape[2:])

        return Transition(
            obs=flat(rollout.observation.obs).astype(jnp.float32),
            global_state=flat(rollout.observation.global_state, False).astype(jnp.float32),
            actions=flat(rollout.actions, False).astype(jnp.int32),
            reward=flat(rollout.reward, False).astype(jnp.float32),
            terminated=flat(rollout.terminated, False),
            next_obs=flat(rollout.final_obs).astype(jnp.float32),
            next_action_mask=flat(rollout.final_action_mask, False),
            next_global_state=flat(rollout.final_global_state, False).astype(jnp.float32),
        )

    def td_loss(self, params: QParams, target: QParams, batch: Transition, static: ValueStatic) -> tuple[Array, Any]:
        """The (double-)Q TD loss of a batch: per agent ``[n]`` for IDQN, a scalar for a mixer; returns
        ``(total, (loss, mean chosen Q))``."""
        B = batch.actions.shape[0]
        online_obs = jnp.concatenate([batch.obs, batch.next_obs]) if self.double_q else batch.obs
        online = self.q_values(static, params.agent, online_obs)  # [B or 2B, n, A]: one pass for both
        q_taken = jnp.take_along_axis(online[:B], batch.actions[..., None], axis=-1)[..., 0]  # [B, n]
        next_target = self.q_values(static, target.agent, batch.next_obs)
        chooser = online[B:] if self.double_q else next_target
        next_action = masked_argmax(jax.lax.stop_gradient(chooser), batch.next_action_mask)
        next_q = jnp.take_along_axis(next_target, next_action[..., None], axis=-1)[..., 0]  # [B, n]
        continuing = 1.0 - batch.terminated.astype(jnp.float32)
        mixer = self.mixer_module()
        if mixer is None:  # independent learners: one TD error per agent on its own reward
            prediction = q_taken
            bootstrap = self.gamma * continuing[:, None] * next_q
            y = batch.reward + bootstrap
        else:  # value decomposition: one TD error on Q_tot and the team reward
            prediction = forward(mixer, params.mixer, q_taken, batch.global_state)
            bootstrap = self.gamma * continuing * forward(mixer, target.mixer, next_q, batch.next_global_state)
            y = batch.reward.mean(axis=-1) + bootstrap
        td = prediction - jax.lax.stop_gradient(y)
        loss = LOSSES[self.loss](td, self.huber_delta).mean(axis=0)  # [n] or []
        return loss.sum(), (loss, q_taken.mean(axis=0))

    def update(self, key: Array, state: ValueState, rollout: Rollout) -> tuple[ValueState, dict[str, Array]]:
        """Store the rollout, then ``updates_per_rollout`` gradient steps once learning has started."""
        T, E = rollout.actions.shape[:2]
        buffer = replay_add(state.buffer, self.transitions(rollout))
        env_steps = state.env_steps + T * E
        ready = (env_steps >= self.learning_starts) & (buffer.size >= self.batch_size)
        optimizer = self.optimizer()
        grad_fn = jax.value_and_grad(self.td_loss, has_aux=True)

        def step(carry: tuple[QParams, QParams, Any, Array], k: Array) -> tuple[tuple, tuple]:
            params, target, opt_state, updates = carry
            batch = replay_sample(buffer, k, self.batch_size)
            (_, (loss, q_mean)), grads = grad_fn(params, target, batch, state.static)
            changes, new_opt_state = optimizer.update(grads, opt_state, params)
            new_params = optax.apply_updates(params, changes)
            new_updates = updates + 1
            sync = new_updates % self.target_update_interval == 0
            new_target = optax.incremental_update(new_params, target, self.tau)
            new_target = jax.tree_util.tree_map(lambda a, b: jnp.where(sync, a, b), new_target, target)
            new = (new_params, new_target, new_opt_state, new_updates)
            carry = jax.tree_util.tree_map(lambda a, b: jnp.where(ready, a, b), new, carry)
            return carry, (loss, q_mean)

        carry = (state.params, state.target, state.opt_state, state.updates)
        (params, target, opt_state, updates), (loss, q_mean) = jax.lax.scan(
            step, carry, jax.random.split(key, self.updates_per_rollout)
        )
        learning = ready.astype(jnp.float32)
        metrics = {
            "loss": learning * loss.mean(axis=0),
            "q_taken": learning * q_mean.mean(axis=0),
            "epsilon": self.epsilon(env_steps),
            "learning": learning,
        }
        new_state = ValueState(params, target, opt_state, buffer, env_steps, updates, state.static)
        return new_state, metrics


@dataclass(frozen=True)
class IDQN(ValueBasedLearner):
    """Independent DQN: every agent learns its own ``Q_i`` from its own reward (Tan 1993; Mnih et al. 2015;
    double-Q targets, van Hasselt et al. 2016); the other agents are part of its environment."""

    name: ClassVar[str] = "idqn"


@dataclass(frozen=True)
class VDN(ValueBasedLearner):
    """Value-decomposition networks: ``Q_tot = sum_i Q_i`` trained on the team reward (Sunehag et al. 2018,
    Eq. 1); additive, so it cannot express a payoff in which one agent's best action depends on the other's."""

    name: ClassVar[str] = "vdn"

    def mixer_module(self) -> nn.Module:
        return VDNMixer()


@dataclass(frozen=True)
class QMIX(ValueBasedLearner):
    """QMIX: ``Q_tot = f(Q_1..Q_n; s)`` with a state-conditioned mixer monotone in every ``Q_i`` (Rashid et al.
    2018, §4); ``mixing_embed`` and ``hypernet_hidden`` are PyMARL's ``mixing_embed_dim`` (32) and
    ``hypernet_embed`` (64) (``None``: the paper's single-layer hypernetworks)."""

    name: ClassVar[str] = "qmix"

    mixing_embed: int = setting(32, doc="the mixer's embedding width", range=(1, None))
    hypernet_hidden: int | None = setting(64, doc="the hypernetworks' hidden width (null: one layer)",
                                          range=(1, None))  # fmt: skip

    def mixer_module(self) -> nn.Module:
        return QMixer(self.mixing_embed, self.hypernet_hidden)


__all__ = [
    "IDQN",
    "LOSSES",
    "QMIX",
    "VDN",
    "QParams",
    "Transition",
    "ValueBasedLearner",
    "ValueState",
    "ValueStatic",
]
