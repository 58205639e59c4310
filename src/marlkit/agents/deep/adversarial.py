"""Adversarial training against a learned observation adversary: ATLA for a team (issue 19, "Robust learners").

ATLA — Zhang, Chen, Boning & Hsieh (ICLR 2021), "Robust reinforcement learning on state observations with learned
optimal adversary": for a fixed agent policy ``π``, the optimal state adversary of an SA-MDP is the optimal policy
of an MDP whose actions are perturbations (their Lemma 1 / Theorem 5), so it can be *learned* with RL; training the
agent against that learned adversary, alternately, makes the agent robust to it (their Algorithm 2). RMA3C (Han,
Nisioti & Wang, TMLR 2024, "What is the solution for state-adversarial multi-agent reinforcement learning?") does the
same for a team: adversaries perturb the observations of the attacked agents, and the team learns against them.

:class:`AdversarialTraining` is a deep *learner* (the contract of :mod:`marlkit.agents.deep.base`) that wraps a
PPO-family team learner (``inner``: :class:`~marlkit.agents.deep.ppo.MAPPO` or :class:`~marlkit.agents.deep.ppo.IPPO`)
and runs in the compiled deep trainer (:func:`marlkit.train.deep.train`, vmapped over seeds) like any other:

* **the adversary** of attacked agent ``j`` (one parameter set per attacked agent, stacked ``[M]``) sees ``j``'s clean
  observation ``o_j`` and acts ``u_j ~ N(μ_φ(o_j), diag σ_φ²)`` (a Gaussian over ``R^d``, state-independent
  log-std); the perturbation is ``δ_j = squash(u_j)`` — ``ε tanh(u_j)`` per coordinate for the ``L∞`` ball (a
  tanh-squashed Gaussian as in SAC, Haarnoja et al. 2018, App. C), a radial tanh for ``L2`` / ``L1``
  (:func:`~marlkit.agents.deep.attacks.squash`) — always inside the ball. Its reward is ``-(1/n) Σ_i r_i`` (minus
  the mean team reward), its critic ``V_φ(o_j, s)`` sees the observation and the global state. The PPO ratio is
  taken on ``u`` (the squashing is the same deterministic map under both policies, so its Jacobian cancels in
  ``π_new(u) / π_old(u)``).
* **the team** acts on ``o + δ`` with the inner learner's ``act``; ``aux`` stores the perturbed observation, so the
  inner learner's update sees exactly the observations it acted on (the bootstrap observation ``final_obs`` is
  perturbed by the adversary's mean). At deployment (:meth:`AdversarialTraining.policy`, :meth:`deployed`) the team
  acts on clean observations.
* **alternation** (ATLA, Algorithm 2): phases of ``period`` team updates and ``adversary_period`` adversary updates
  (ATLA's ``N_π`` and ``N_ν``); in the team's phases only the inner learner's
  parameters change, in the adversary's only the adversary's (``adversary_first`` picks which starts). Under the
  trainer's vmap over seeds both updates are computed and one is kept (``jnp.where``), so an update costs the team's
  update plus the adversary's (``bench/robust.py`` measures the whole: target <= 2x plain MAPPO's time).

**PGD adversarial training** (``adversary="gradient"``; Madry, Makelov, Schmidt, Tsipras & Vladu, ICLR 2018, Eq. 2
— the saddle point ``max_θ E[min_{δ ∈ B} ...]`` with the inner problem solved approximately by PGD; for deep RL,
Pattanaik et al., AAMAS 2018, "Robust deep reinforcement learning with adversarial attacks"): instead of a learned
adversary, at every env step the attacked agents' observations are perturbed by
:func:`~marlkit.agents.deep.attacks.gradient_attack` (``gradient_steps`` signed-gradient steps lowering the
probability of the current team's greedy action, Huang et al. 2017) against the team's *current* parameters; every
update is the team's (no alternation, no adversary update; the learned adversary's parameters stay unused) and
the bootstrap observations ``final_obs`` stay clean. Measured on simple spread (``tests/agents/deep/
test_adversarial.py``): this is what makes the team's *attacked* return beat plain MAPPO's at ε = 1 on agent 0; the
learned adversary at the same budget is too weak to (it narrows the gap but does not raise the attacked return).

The adversary's PPO: clipped surrogate (Schulman et al. 2017, Eq. 7), GAE (Schulman et al. 2016, Eq. 16) with the
inner learner's γ and λ, Adam after gradient-norm clipping; ``adversary_lr`` etc. default to the inner learner's
values (ATLA trains its adversary with the agent's PPO hyper-parameters).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from marlkit.agents.deep.advantages import gae
from marlkit.agents.deep.attacks import Ball, LearnedAttack, gradient_attack, squash
from marlkit.agents.deep.base import LEARNING_RATE, Observation, Rollout
from marlkit.agents.deep.networks import MLP, forward, gaussian_entropy, gaussian_log_prob
from marlkit.agents.deep.ppo import IPPO, MAPPO, PPO, normalise
from marlkit.agents.deep.sharing import SHARING_MODES
from marlkit.envs.base import MultiAgentSpec
from marlkit.errors import LearnerConfigError
from marlkit.games.uncertainty import OBSERVATION_NORMS, ObservationBall
from marlkit.schema import setting, validate

Array = jax.Array
ADVERSARIES = ("learned", "gradient")
""":attr:`AdversarialTraining.adversary`: ATLA's learned adversary or PGD adversarial training (module docstring)."""


class AdversaryAux(NamedTuple):
    """What :meth:`AdversarialTraining.act` records per step besides the inner learner's aux."""

    inner: Any  # the inner learner's aux
    obs: Array  # [E, n, *obs_shape] the (perturbed) observations the team acted on
    raw: Array  # [E, M, d] the adversaries' pre-squash actions u
    log_prob: Array  # [E, M]
    value: Array  # [E, M]


@struct.dataclass
class AdversarialState:
    """The team's (inner learner's) state, the adversaries' parameters ``[M]`` (``actor``, ``log_std``, ``critic``)
    and Adam state, and the count of updates (which phase runs)."""

    inner: Any
    adversary: Any
    adversary_opt: Any
    updates: Array


@dataclass(frozen=True)
class AdversarialTraining:
    """Adversarial training of a team (``inner``) against learned observation adversaries (module docstring).

    Attributes:
        inner: the team's learner (a :class:`~marlkit.agents.deep.ppo.PPO`: MAPPO or IPPO).
        epsilon / attacked / norm: the :class:`~marlkit.games.uncertainty.ObservationBall` the adversaries perturb
            within (radius, attacked agents, ``"linf"`` | ``"l2"`` | ``"l1"``).
        period / adversary_period: updates per team phase and per adversary phase (``None``: ``period``), in a
            cycle team, adversary, team, ...; adversary_first: start with the adversaries' phase.
        train_team: ``False`` trains only the adversaries against a fixed team (ATLA's "optimal attack" of a
            trained policy, their §3.2: :func:`marlkit.train.evaluate.learned_attack`).
        adversary_lr / adversary_hidden / adversary_epochs / adversary_minibatches / adversary_ent_coef /
            adversary_log_std: the adversaries' PPO (``None``: the inner learner's lr, widths, epochs, minibatches;
            Gaussian entropy weight; initial log-std of ``u``).
        rollout_length / sharing / agent_id: passed to the inner learner (``0`` / ``None``: the inner learner's;
            the trainer resolves ``sharing=None`` from the env).
    """

    name: ClassVar[str] = "adversarial"
    team_class: ClassVar[type[PPO]] = MAPPO
    """What ``inner`` given as a mapping of hyper-parameters builds."""

    inner: Any = setting(default_factory=MAPPO, doc="the team's learner (MAPPO or IPPO), or a mapping of its "
                         "hyper-parameters")  # fmt: skip
    epsilon: float = setting(0.1, doc="radius of the observation ball", range=(0, None))
    attacked: tuple[int, ...] = setting((0,), doc="the attacked agents", range=(0, None), nonempty=True)
    norm: str = setting("linf", doc="the ball's norm", choices=OBSERVATION_NORMS)
    period: int = setting(5, doc="updates per team phase (team, adversary, team, ...)", range=(1, None))
    adversary_period: int | None = setting(None, doc="updates per adversary phase (null: period)", range=(1, None))
    adversary_first: bool = setting(False, doc="start with the adversary's phase")
    train_team: bool = setting(True, doc="false: only the adversaries learn, against a fixed team (an attack)")
    adversary_lr: float | None = setting(None, doc="the adversaries' Adam learning rate (null: inner's lr)",
                                         **LEARNING_RATE)  # fmt: skip
    adversary_hidden: tuple[int, ...] | None = setting(None, doc="the adversaries' layer widths (null: inner's)",
                                                       range=(1, None))  # fmt: skip
    adversary_epochs: int | None = setting(None, doc="passes over each rollout (null: inner's)", range=(1, None))
    adversary_minibatches: int | None = setting(None, doc="minibatches per pass (null: inner's)", range=(1, None))
    adversary_ent_coef: float = setting(0.0, doc="Gaussian entropy bonus of the adversaries", range=(0, None))
    adversary_log_std: float = setting(0.0, doc="initial log-std of the adversaries' pre-squash action")
    adversary: str = setting("learned", doc="who perturbs in training: a learned adversary (ATLA) or PGD against "
                             "the current team (Madry et al. 2018)", choices=ADVERSARIES)  # fmt: skip
    gradient_steps: int = setting(10, doc="PGD steps per env step (adversary: gradient)", range=(1, None))
    rollout_length: int = setting(0, doc="env steps per env per update (0: the inner learner's)", range=(0, None))
    sharing: str | None = setting(None, doc="parameter sharing of the team (null: the inner learner's / the env's)",
                                  choices=SHARING_MODES)  # fmt: skip
    agent_id: bool | None = setting(None, doc="append a one-hot agent id (null: the inner learner's / where shared)")

    def __post_init__(self) -> None:
        if isinstance(self.inner, Mapping):  # a config's {lr: ..., hidden: [...]}: the team class's hyper-parameters
            try:
                given: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in self.inner.items()}
                object.__setattr__(self, "inner", self.team_class(**given))
            except TypeError as exc:
                raise LearnerConfigError(f"{type(self).__name__}.inner: {exc}") from None
        validate(self, LearnerConfigError)
        if not isinstance(self.inner, PPO):
            raise LearnerConfigError(
                f"{type(self).__name__}.inner: expected a PPO-family learner (MAPPO or IPPO), got {self.inner!r}"
            )
        if self.adversary == "gradient" and not self.train_team:
            raise LearnerConfigError(
                f"{type(self).__name__}.train_team: false needs adversary='learned' (PGD is not trained)"
            )
        ObservationBall(self.epsilon, self.attacked, self.norm)  # validated: radius >= 0, distinct agents
        object.__setattr__(self, "attacked", tuple(int(a) for a in self.attacked))
        if self.rollout_length == 0:
            object.__setattr__(self, "rollout_length", int(self.inner.rollout_length))
        elif self.rollout_length != self.inner.rollout_length:
            object.__setattr__(self, "inner", dataclasses.replace(self.inner, rollout_length=self.rollout_length))
        if self.sharing is None and self.inner.sharing is not None:
            object.__setattr__(self, "sharing", self.inner.sharing)
            object.__setattr__(self, "agent_id", self.inner.agent_id)
        elif self.sharing is not None:
            inner = dataclasses.replace(self.inner, sharing=self.sharing, agent_id=self.agent_id)
            object.__setattr__(self, "inner", inner)

    # ------------------------------------------------------------------------------------------ properties

    @property
    def ball(self) -> ObservationBall:
        """The uncertainty set the adversaries perturb within."""
        return ObservationBall(self.epsilon, self.attacked, self.norm)

    def _ball(self, n_agents: int) -> Ball:
        return Ball.of(self.ball, n_agents)

    def _hyper(self) -> tuple[float, tuple[int, ...], int, int]:
        lr = self.inner.lr if self.adversary_lr is None else self.adversary_lr
        hidden = self.inner.hidden if self.adversary_hidden is None else self.adversary_hidden
        epochs = self.inner.update_epochs if self.adversary_epochs is None else self.adversary_epochs
        minibatches = self.inner.num_minibatches if self.adversary_minibatches is None else self.adversary_minibatches
        return lr, tuple(hidden), epochs, minibatches

    def _optimizer(self) -> optax.GradientTransformation:
        return optax.chain(optax.clip_by_global_norm(self.inner.max_grad_norm), optax.adam(self._hyper()[0], eps=1e-5))

    def _networks(self, d: int) -> tuple[MLP, MLP]:
        hidden = self._hyper()[1]
        return MLP(hidden, d, self.inner.activation, head_gain=0.01), MLP(hidden, 1, self.inner.activation, 1.0)

    # ------------------------------------------------------------------------------------------ adversary

    def _adversary_inputs(self, observation: Observation) -> tuple[Array, Array]:
        """The attacked agents' clean observations ``[*B, M, d]`` and the critic's ``[*B, M, d + G]``."""
        batch_dims = observation.first.ndim
        obs = observation.obs.reshape(*observation.obs.shape[: batch_dims + 1], -1).astype(jnp.float32)
        own = obs[..., jnp.asarray(self.attacked), :]
        state = jnp.broadcast_to(
            observation.global_state.astype(jnp.float32)[..., None, :],
            (*own.shape[:-1], observation.global_state.shape[-1]),
        )
        return own, jnp.concatenate([own, state], axis=-1)

    def _adversary_forward(self, params: Any, observation: Observation) -> tuple[Array, Array, Array]:
        """Every adversary's mean ``[*B, M, d]``, log-std ``[M, d]`` and value ``[*B, M]``."""
        own, critic_in = self._adversary_inputs(observation)
        actor, critic = self._networks(own.shape[-1])
        m_axis = own.ndim - 2

        def one(p: Any, o: Array, c: Array) -> tuple[Array, Array]:
            return forward(actor, p["actor"], o), forward(critic, p["critic"], c)[..., 0]

        mean, value = jax.vmap(one, in_axes=(0, m_axis, m_axis), out_axes=(m_axis, m_axis))(params, own, critic_in)
        return mean, params["log_std"], value

    def adversary_perturbation(self, params: Any, obs: Array, ball: Ball) -> Array:
        """The adversaries' mean perturbation ``δ [E, n, d]`` of clean observations ``obs [E, n, d]`` (zero on the
        agents not attacked): what :meth:`as_attack` applies."""
        own = obs[:, jnp.asarray(self.attacked), :]
        actor, _ = self._networks(own.shape[-1])
        mean = jax.vmap(lambda p, o: forward(actor, p["actor"], o), in_axes=(0, 1), out_axes=1)(params, own)
        delta = squash(mean, ball.epsilon, ball.norm)
        return jnp.zeros_like(obs).at[:, jnp.asarray(self.attacked), :].set(delta)

    def _perturb(self, raw: Array, observation: Observation) -> Array:
        """``observation.obs`` with ``squash(raw)`` added to the attacked agents' flattened observations."""
        batch_dims = observation.first.ndim
        shape = observation.obs.shape
        flat = observation.obs.reshape(*shape[: batch_dims + 1], -1).astype(jnp.float32)
        ball = self._ball(shape[batch_dims])
        delta = squash(raw, ball.epsilon, ball.norm)
        return flat.at[..., jnp.asarray(self.attacked), :].add(delta).reshape(shape)

    def _gradient_perturb(self, state: AdversarialState, observation: Observation, memory: Any) -> Array:
        """``observation.obs`` after PGD (:func:`~marlkit.agents.deep.attacks.gradient_attack`, greedy objective,
        ``gradient_steps`` steps) against the team's current policy, inside the ball on the attacked agents."""

        def probs(_: Any, obs: Array) -> Array:
            return self.inner.policy(state.inner, observation._replace(obs=obs), memory)

        ball = self._ball(observation.obs.shape[observation.first.ndim])
        return gradient_attack(probs, (), observation.obs, ball, steps=self.gradient_steps)

    def as_attack(self, state: AdversarialState, n_agents: int, *, per_seed: bool = False) -> LearnedAttack:
        """The trained adversaries as an attack (their mean perturbation) for :mod:`marlkit.train.evaluate`;
        ``per_seed``: ``state`` has a leading seed axis (one adversary per seed)."""
        return LearnedAttack(self._ball(n_agents), state.adversary, self.adversary_perturbation, per_seed)

    # ------------------------------------------------------------------------------------------ contract

    def init(self, key: Array, spec: MultiAgentSpec, num_envs: int) -> AdversarialState:
        """The inner learner's state and fresh adversaries (one per attacked agent)."""
        self.ball.check_against(spec.n_agents, spec.obs_shape if len(spec.obs_shape) == 1 else None)
        k_inner, k_adv = jax.random.split(key)
        minibatches = self._hyper()[3]
        if (num_envs * self.rollout_length) % minibatches:
            raise LearnerConfigError(
                f"{type(self).__name__}: adversary_minibatches={minibatches} must divide num_envs x rollout_length "
                f"= {num_envs * self.rollout_length}"
            )
        d = int(np.prod(spec.obs_shape))
        actor, critic = self._networks(d)
        M = len(self.attacked)

        def one(k: Array) -> dict[str, Any]:
            k_a, k_c = jax.random.split(k)
            return {
                "actor": actor.init(k_a, jnp.zeros(d, jnp.float32)),
                "critic": critic.init(k_c, jnp.zeros(d + spec.global_state_size, jnp.float32)),
                "log_std": jnp.full(d, self.adversary_log_std, jnp.float32),
            }

        adversary = jax.vmap(one)(jax.random.split(k_adv, M))
        return AdversarialState(
            self.inner.init(k_inner, spec, num_envs), adversary, self._optimizer().init(adversary), jnp.int32(0)
        )

    def initial_memory(self, spec: MultiAgentSpec, num_envs: int) -> Any:
        return self.inner.initial_memory(spec, num_envs)

    def act(
        self, key: Array, state: AdversarialState, observation: Observation, memory: Any
    ) -> tuple[Array, AdversaryAux, Any]:
        """The adversaries perturb the attacked agents' observations; the team acts on what it perceives."""
        k_adv, k_team = jax.random.split(key)
        mean, log_std, value = self._adversary_forward(state.adversary, observation)
        raw = mean + jnp.exp(log_std) * jax.random.normal(k_adv, mean.shape)
        if self.adversary == "gradient":  # PGD against the current team (the learned adversary is not used)
            perceived = observation._replace(obs=self._gradient_perturb(state, observation, memory))
        else:
            perceived = observation._replace(obs=self._perturb(raw, observation))
        actions, aux, memory = self.inner.act(k_team, state.inner, perceived, memory)
        log_prob = gaussian_log_prob(raw, mean, log_std, jnp.bool_(True))
        return actions, AdversaryAux(aux, perceived.obs, raw, log_prob, value), memory

    def policy(self, state: AdversarialState, observation: Observation, memory: Any) -> Array:
        """The team's policy on *clean* observations (the deployed policy; in training it acts on perturbed ones)."""
        return self.inner.policy(state.inner, observation, memory)

    def deployed(self, state: AdversarialState) -> tuple[PPO, Any]:
        """The team's learner and state, without the adversaries (what evaluation runs)."""
        return self.inner, state.inner

    def update(
        self, key: Array, state: AdversarialState, rollout: Rollout
    ) -> tuple[AdversarialState, dict[str, Array]]:
        """One phase step: the team's update (on the perturbed observations it acted on) in its phases, the
        adversaries' PPO update in theirs."""
        k_team, k_adv = jax.random.split(key)
        aux: AdversaryAux = rollout.aux
        if self.adversary == "gradient":  # PGD adversarial training: every update is the team's
            # the bootstrap observations stay clean (PGD on every step's final_obs would double the rollout's cost)
            gradient_rollout = rollout._replace(observation=rollout.observation._replace(obs=aux.obs), aux=aux.inner)
            inner, team_metrics = self.inner.update(k_team, state.inner, gradient_rollout)
            return dataclasses.replace(state, inner=inner, updates=state.updates + 1), team_metrics
        final = Observation(rollout.final_obs, rollout.final_action_mask, rollout.final_global_state, rollout.done)
        final_mean, _, _ = self._adversary_forward(state.adversary, final)
        team_rollout = rollout._replace(
            observation=rollout.observation._replace(obs=aux.obs),
            aux=aux.inner,
            final_obs=self._perturb(final_mean, final),
        )
        inner, team_metrics = self.inner.update(k_team, state.inner, team_rollout)
        adversary, adversary_opt, adv_metrics = self._adversary_update(k_adv, state, rollout)
        train_team = self.team_phase(state.updates)

        def pick(new: Any, old: Any) -> Any:
            return jax.tree_util.tree_map(lambda a, b: jnp.where(train_team, a, b), new, old)

        def keep(new: Any, old: Any) -> Any:
            return jax.tree_util.tree_map(lambda a, b: jnp.where(train_team, b, a), new, old)

        new = AdversarialState(
            pick(inner, state.inner),
            keep(adversary, state.adversary),
            keep(adversary_opt, state.adversary_opt),
            state.updates + 1,
        )
        metrics = {**team_metrics, **adv_metrics, "adversary/phase": (~train_team).astype(jnp.float32)}
        return new, metrics

    def team_phase(self, updates: Array) -> Array:
        """Whether update number ``updates`` (from 0) trains the team (else the adversaries): a cycle of ``period``
        team updates and ``adversary_period`` adversary updates, the adversaries' first if ``adversary_first``."""
        if not self.train_team:
            return jnp.zeros(jnp.shape(updates), bool)
        if self.adversary == "gradient":
            return jnp.ones(jnp.shape(updates), bool)
        team, adversary = self.period, self.period if self.adversary_period is None else self.adversary_period
        position = updates % (team + adversary)
        return position >= adversary if self.adversary_first else position < team

    def _adversary_update(self, key: Array, state: AdversarialState, rollout: Rollout) -> tuple[Any, Any, dict]:
        """PPO on the adversaries' rollout: reward ``-mean_i r_i``, GAE, clipped surrogate on ``u``."""
        aux: AdversaryAux = rollout.aux
        inner = self.inner
        final = Observation(
            rollout.final_obs, rollout.final_action_mask, rollout.final_global_state, jnp.zeros_like(rollout.done)
        )
        _, _, next_value = self._adversary_forward(state.adversary, final)
        next_value = jnp.where(rollout.terminated[..., None], 0.0, jax.lax.stop_gradient(next_value))
        reward = -rollout.reward.astype(jnp.float32).mean(axis=-1, keepdims=True)  # [T, E, 1]
        reward = jnp.broadcast_to(reward, aux.value.shape)
        advantages, targets = gae(reward, aux.value, next_value, rollout.done[..., None], inner.gamma, inner.gae_lambda)
        samples = (rollout.observation, aux.raw, aux.log_prob, aux.value, advantages, targets)
        samples = jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[2:]), samples)
        _, _, epochs, minibatches = self._hyper()
        n = samples[1].shape[0]
        size = n // minibatches
        optimizer = self._optimizer()

        def loss(params: Any, mb: tuple) -> tuple[Array, dict[str, Array]]:
            observation, raw, old_log_prob, old_value, adv, target = mb
            mean, log_std, value = self._adversary_forward(params, observation)
            log_prob = gaussian_log_prob(raw, mean, log_std, jnp.bool_(True))
            ratio = jnp.exp(log_prob - old_log_prob)
            adv = normalise(adv)
            surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - inner.clip_eps, 1 + inner.clip_eps) * adv)
            value_loss = 0.5 * inner.value_error(value, old_value, target).mean()
            entropy = gaussian_entropy(log_std, jnp.bool_(True)).mean()
            total = -surrogate.mean() + inner.vf_coef * value_loss - self.adversary_ent_coef * entropy
            return total, {"adversary/loss": -surrogate.mean(), "adversary/value_loss": value_loss}

        def minibatch(carry: tuple[Any, Any], mb: tuple) -> tuple[tuple[Any, Any], dict[str, Array]]:
            params, opt = carry
            grads, metrics = jax.grad(loss, has_aux=True)(params, mb)
            updates, opt = optimizer.update(grads, opt, params)
            return (optax.apply_updates(params, updates), opt), metrics

        def epoch(carry: tuple[Any, Any], k: Array) -> tuple[tuple[Any, Any], dict[str, Array]]:
            order = jax.random.permutation(k, n)
            batches = jax.tree_util.tree_map(
                lambda x: jnp.take(x, order, axis=0).reshape(minibatches, size, *x.shape[1:]), samples
            )
            return jax.lax.scan(minibatch, carry, batches)

        (params, opt), metrics = jax.lax.scan(
            epoch, (state.adversary, state.adversary_opt), jax.random.split(key, epochs)
        )
        ball = self._ball(rollout.observation.obs.shape[2])
        order = {"linf": np.inf, "l2": 2, "l1": 1}[self.norm]
        size_ratio = jnp.linalg.norm(squash(aux.raw, ball.epsilon, ball.norm), ord=order, axis=-1).mean()
        metrics = {name: value.mean() for name, value in metrics.items()}
        metrics["adversary/team_reward"] = -reward.mean()
        metrics["adversary/perturbation_norm"] = size_ratio
        return params, opt, metrics


@dataclass(frozen=True)
class ATLAMAPPO(AdversarialTraining):
    """Adversarial training of MAPPO (Yu et al. 2022) against learned observation adversaries (ATLA, Zhang et al.
    2021; RMA3C, Han et al. 2024)."""

    name: ClassVar[str] = "atla_mappo"
    inner: Any = setting(default_factory=MAPPO, doc="the team's learner (MAPPO), or a mapping of its hyper-parameters")


@dataclass(frozen=True)
class ATLAIPPO(AdversarialTraining):
    """Adversarial training of IPPO (de Witt et al. 2020) against learned observation adversaries (ATLA)."""

    name: ClassVar[str] = "atla_ippo"
    team_class: ClassVar[type[PPO]] = IPPO
    inner: Any = setting(default_factory=IPPO, doc="the team's learner (IPPO), or a mapping of its hyper-parameters")


__all__ = [
    "ATLAIPPO",
    "ATLAMAPPO",
    "AdversarialState",
    "AdversarialTraining",
    "AdversaryAux",
]
