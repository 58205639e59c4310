"""Observation attacks inside an ``L_p`` ball: what a state adversary does to a deep policy (issue 19).

The threat model is the state-adversarial one of Zhang et al. (NeurIPS 2020, "Robust deep reinforcement learning
against adversarial perturbations on state observations", SA-MDP) and Han et al. (TMLR 2024, the multi-agent
SA-MG): for every attacked agent ``j`` an adversary replaces the observation ``o_j`` the agent acts on by
``o_j + δ_j`` with ``‖δ_j‖_p <= ε`` (:class:`marlkit.games.uncertainty.ObservationBall`); the env itself is
unchanged. Everything here is pure JAX over a batch ``obs [E, n, d]`` (``E`` envs, ``n`` agents, ``d`` features;
the attacked agents are a boolean mask ``[n]``, so one compiled program serves every attacked set and every ε).

* :func:`random_noise` — ``δ`` drawn **uniformly from the ball**: for ``linf`` each coordinate ``U(-ε, ε)``; for
  ``l2`` a direction uniform on the sphere (a normalised Gaussian) at radius ``ε U^(1/d)``; for ``l1`` the first
  ``d`` coordinates of a flat Dirichlet on ``d + 1`` coordinates (uniform on the solid simplex) with random signs,
  times ε (the ball is ``2^d`` reflected simplices). The baseline "noise of the same budget".
* :func:`gradient_attack` — projected gradient steps (PGD; Madry et al. 2018, Eq. 2 and §2.1) on the attacked
  agents' observations, with one of two critic-free objectives:

  - ``objective="greedy"`` (default): **minimise the log-probability of the clean greedy action**
    ``a* = argmax_a π(a | o)``, i.e. maximise the cross-entropy ``-log π(a* | o + δ)`` — the attack of Huang et al.
    (2017, "Adversarial attacks on neural network policies", §3.1: FGSM with the policy's most likely action as the
    label), iterated as PGD;
  - ``objective="kl"``: **maximise** ``KL(π(· | o) ‖ π(· | o + δ))`` — SA-PPO's critic-free "maximal action
    difference" attack (Zhang et al. 2020, §3.4 and Appendix), started from a uniform random point of the ball (the
    gradient of the KL vanishes at ``δ = 0``);
  - ``objective="targeted"``: **maximise** ``log π(target | o + δ)`` for a given target action per (env, agent) —
    the targeted attack of Lin, Dzeparoska, Zhang, Leon-Garcia & Papernot (2020, "On the robustness of cooperative
    multi-agent reinforcement learning", IEEE S&P Workshops, §III: the attacked agent is pushed towards the action an
    adversarial policy chose), here with PGD instead of their JSMA / elastic-net step.

  Steps: ``linf`` the signed gradient ``δ <- Π(δ + α sign g)``; ``l2`` and ``l1`` the normalised gradient
  ``δ <- Π(δ + α g / ‖g‖_2)``; ``Π`` the Euclidean projection onto the ball (``l1``: Duchi et al. 2008, Fig. 1).
  ``α = step_size`` defaults to ``2.5 ε / steps`` (Madry et al. 2018, Appendix). The policy of agent ``i`` reads
  only ``o_i``, so the objective summed over envs and attacked agents has per-(env, agent) gradients. The policy
  must be differentiable in the observation (a softmax policy: PPO, COMA); an ε-greedy policy over Q-values is
  piecewise constant, its gradient zero, and PGD leaves it unperturbed (attack it with noise or a learned adversary).
* :func:`fgsm` — the fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, Eq. 3; Huang et al. 2017 on
  policies): one step of size ε from ``δ = 0`` — :func:`gradient_attack` with ``steps=1, step_size=ε`` (``linf``:
  ``δ = ε sign g``; ``l2``: ``δ = ε g / ‖g‖_2``).
* :class:`TargetedAttack` — the targeted objective as an attack object; its target per agent is a fixed action or
  (``-1``) the clean policy's least likely action at the current observation (a target chooser that is a function of
  the observation).
* a learned adversary as an attack: :class:`LearnedAttack` (built by
  :meth:`marlkit.agents.deep.adversarial.AdversarialTraining.as_attack`) applies a trained adversary policy's
  mean perturbation.

The attack objects (:class:`RandomAttack`, :class:`GradientAttack`, :class:`LearnedAttack`) are pytrees with ε and
the attacked mask as array leaves, called as ``attack(key, obs, probs_fn) -> perturbed obs`` where ``probs_fn(obs)
-> probs [E, n, A]`` is the attacked policy; :mod:`marlkit.train.evaluate` runs them inside its compiled loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlkit.errors import InvalidGameError
from marlkit.games.uncertainty import OBSERVATION_NORMS, ObservationBall

Array = jax.Array
ProbsFn = Callable[[Array], Array]
"""The attacked policy: ``obs [E, n, d] -> probs [E, n, A]`` (zero on illegal actions)."""
OBJECTIVES = ("greedy", "kl", "targeted")
""":func:`gradient_attack`'s objectives (module docstring)."""
TINY = 1e-12


@struct.dataclass
class Ball:
    """An :class:`~marlkit.games.uncertainty.ObservationBall` as a pytree: ``epsilon []`` and ``attacked [n]`` bool
    are array leaves (one compiled program for every radius and attacked set), ``norm`` is static."""

    epsilon: Array
    attacked: Array
    norm: str = struct.field(pytree_node=False, default="linf")

    @classmethod
    def of(cls, ball: ObservationBall | Ball, n_agents: int) -> Ball:
        """The pytree form of ``ball`` for ``n_agents`` agents (a :class:`Ball` comes back as it is)."""
        if isinstance(ball, Ball):
            return ball
        if not isinstance(ball, ObservationBall):
            raise InvalidGameError(f"expected an ObservationBall(epsilon, attacked, norm), got {type(ball).__name__}")
        ball.check_against(n_agents, (1,))
        mask = np.zeros(n_agents, bool)
        mask[list(ball.attacked)] = True
        return cls(jnp.float32(ball.epsilon), jnp.asarray(mask), ball.norm)


def project(delta: Array, epsilon: Array, norm: str) -> Array:
    """The Euclidean projection of ``delta [..., d]`` onto the ``L_norm`` ball of radius ``epsilon`` (last axis).

    ``linf``: clipping; ``l2``: rescaling to ``ε`` when longer; ``l1``: soft-thresholding at the ``θ >= 0`` that
    makes ``‖δ‖_1 = ε`` (Duchi, Shalev-Shwartz, Singer & Chandra 2008, "Efficient projections onto the l1-ball",
    Fig. 1), identity inside the ball."""
    if norm == "linf":
        return jnp.clip(delta, -epsilon, epsilon)
    if norm == "l2":
        length = jnp.linalg.norm(delta, axis=-1, keepdims=True)
        return delta * jnp.minimum(1.0, epsilon / jnp.maximum(length, TINY))
    if norm != "l1":
        raise InvalidGameError(f"observation ball: norm must be one of {list(OBSERVATION_NORMS)}, got {norm!r}")
    mag = jnp.abs(delta)
    d = delta.shape[-1]
    sorted_mag = -jnp.sort(-mag, axis=-1)
    cumulative = jnp.cumsum(sorted_mag, axis=-1)
    ks = jnp.arange(1, d + 1, dtype=delta.dtype)
    active = sorted_mag - (cumulative - epsilon) / ks > 0
    rho = jnp.maximum(jnp.sum(active, axis=-1, keepdims=True), 1)
    theta = (jnp.take_along_axis(cumulative, rho - 1, axis=-1) - epsilon) / rho.astype(delta.dtype)
    shrunk = jnp.sign(delta) * jnp.maximum(mag - jnp.maximum(theta, 0.0), 0.0)
    inside = jnp.sum(mag, axis=-1, keepdims=True) <= epsilon
    return jnp.where(inside, delta, shrunk)


def squash(u: Array, epsilon: Array, norm: str) -> Array:
    """Map an unbounded ``u [..., d]`` smoothly into the open ball: ``linf``: ``ε tanh(u)`` per coordinate;
    ``l2`` / ``l1``: ``ε tanh(‖u‖) u / ‖u‖`` (a radial tanh in that norm). The learned adversary's squashing
    (:mod:`marlkit.agents.deep.adversarial`)."""
    if norm == "linf":
        return epsilon * jnp.tanh(u)
    order = 2 if norm == "l2" else 1
    length = jnp.linalg.norm(u, ord=order, axis=-1, keepdims=True)
    safe = jnp.maximum(length, 1e-6)
    return epsilon * jnp.tanh(safe) * u / safe


def masked(delta: Array, attacked: Array) -> Array:
    """``delta [E, n, d]`` on the attacked agents (``attacked [n]`` bool), zero elsewhere."""
    return jnp.where(attacked[None, :, None], delta, 0.0)


def _flat(obs: Array) -> tuple[Array, tuple[int, ...]]:
    return obs.reshape(*obs.shape[:2], -1).astype(jnp.float32), obs.shape


def uniform_in_ball(key: Array, shape: tuple[int, ...], epsilon: Array, norm: str) -> Array:
    """``shape = (..., d)`` points drawn uniformly from the ``L_norm`` ball of radius ``epsilon`` (module docstring
    says how, per norm)."""
    d = shape[-1]
    if norm == "linf":
        return epsilon * jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
    k_dir, k_rad = jax.random.split(key)
    if norm == "l2":
        g = jax.random.normal(k_dir, shape)
        direction = g / jnp.maximum(jnp.linalg.norm(g, axis=-1, keepdims=True), TINY)
        radius = jax.random.uniform(k_rad, (*shape[:-1], 1)) ** (1.0 / d)
        return epsilon * radius * direction
    e = jax.random.exponential(k_dir, (*shape[:-1], d + 1))
    simplex = e[..., :d] / e.sum(axis=-1, keepdims=True)  # flat Dirichlet, last coordinate dropped
    signs = jnp.where(jax.random.bernoulli(k_rad, 0.5, shape), 1.0, -1.0)
    return epsilon * signs * simplex


def random_noise(key: Array, obs: Array, ball: ObservationBall | Ball) -> Array:
    """``obs [E, n, *obs_shape]`` with uniform noise from the ball added to the attacked agents' observations
    (``ε = 0``: ``obs`` exactly)."""
    flat, shape = _flat(obs)
    b = Ball.of(ball, flat.shape[1])
    delta = masked(uniform_in_ball(key, flat.shape, b.epsilon, b.norm), b.attacked)
    return (flat + delta).reshape(shape)


def _objective(objective: str, clean: Array, attacked: Array, target: Array | None = None) -> Callable[[Array], Array]:
    """The loss the attack *ascends*, of perturbed probabilities ``[E, n, A]`` (summed over attacked agents);
    ``target [E, n]`` the target actions of ``objective="targeted"``."""
    greedy = jnp.argmax(clean, axis=-1)
    weight = attacked[None, :].astype(jnp.float32)

    def loss(probs: Array) -> Array:
        log_p = jnp.log(jnp.maximum(probs, TINY))
        if objective == "greedy":  # -log π(a* | o + δ)  (Huang et al. 2017)
            per = -jnp.take_along_axis(log_p, greedy[..., None], axis=-1)[..., 0]
        elif objective == "targeted":  # log π(target | o + δ)  (Lin et al. 2020)
            assert target is not None
            per = jnp.take_along_axis(log_p, target[..., None].astype(jnp.int32), axis=-1)[..., 0]
        else:  # KL(π(·|o) ‖ π(·|o + δ))  (Zhang et al. 2020)
            per = jnp.sum(jnp.where(clean > 0, clean * (jnp.log(jnp.maximum(clean, TINY)) - log_p), 0.0), axis=-1)
        return jnp.sum(per * weight)

    return loss


def gradient_attack(
    policy_fn: Callable[[Any, Array], Array],
    params: Any,
    obs: Array,
    ball: ObservationBall | Ball,
    *,
    steps: int = 10,
    step_size: float | Array | None = None,
    objective: str = "greedy",
    key: Array | None = None,
    target: Array | None = None,
) -> Array:
    """PGD on the attacked agents' observations (module docstring): ``obs [E, n, *obs_shape]`` perturbed inside the
    ball to ascend ``objective`` of ``policy_fn(params, obs) -> probs [E, n, A]``.

    Args:
        policy_fn: the attacked policy (a distribution per env and agent, zero on illegal actions).
        params: its parameters (any pytree; not differentiated).
        steps: gradient steps. step_size: ``α`` (default ``2.5 ε / steps``).
        objective: ``"greedy"`` (Huang et al. 2017), ``"kl"`` (Zhang et al. 2020; needs ``key`` for its random
            start; without one it starts from the centre of the ball) or ``"targeted"`` (Lin et al. 2020; needs
            ``target``).
        target: ``[E, n]`` int, the action each (env, agent) is pushed towards (``objective="targeted"`` only).
    """
    if objective not in OBJECTIVES:
        raise InvalidGameError(f"gradient attack: objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    if (objective == "targeted") != (target is not None):
        raise InvalidGameError("gradient attack: give target (the actions [E, n]) exactly when objective='targeted'")
    flat, shape = _flat(obs)
    b = Ball.of(ball, flat.shape[1])
    alpha = 2.5 * b.epsilon / steps if step_size is None else jnp.asarray(step_size, jnp.float32)
    clean = jax.lax.stop_gradient(policy_fn(params, flat.reshape(shape)))
    loss = _objective(objective, clean, b.attacked, target)

    def value(delta: Array) -> Array:
        return loss(policy_fn(params, (flat + delta).reshape(shape)))

    start = jnp.zeros_like(flat)
    if objective == "kl" and key is not None:
        start = masked(uniform_in_ball(key, flat.shape, b.epsilon, b.norm), b.attacked)

    def step(delta: Array, _: None) -> tuple[Array, None]:
        g = jax.grad(value)(delta)
        if b.norm == "linf":
            direction = jnp.sign(g)
        else:
            direction = g / jnp.maximum(jnp.linalg.norm(g, axis=-1, keepdims=True), TINY)
        delta = masked(project(delta + alpha * direction, b.epsilon, b.norm), b.attacked)
        return delta, None

    delta, _ = jax.lax.scan(step, start, None, length=steps)
    return (flat + jax.lax.stop_gradient(delta)).reshape(shape)


def fgsm(
    policy_fn: Callable[[Any, Array], Array],
    params: Any,
    obs: Array,
    ball: ObservationBall | Ball,
    *,
    objective: str = "greedy",
    target: Array | None = None,
) -> Array:
    """The fast gradient sign method (module docstring): :func:`gradient_attack` with one step of size ε from
    ``δ = 0`` (``objective`` "greedy" or "targeted"; the KL's gradient vanishes at ``δ = 0``)."""
    if objective == "kl":
        raise InvalidGameError("fgsm: the KL objective has zero gradient at delta = 0; use 'greedy' or 'targeted'")
    flat, _ = _flat(obs)
    b = Ball.of(ball, flat.shape[1])
    return gradient_attack(policy_fn, params, obs, b, steps=1, step_size=b.epsilon, objective=objective, target=target)


def choose_target(target: Array, clean: Array) -> Array:
    """The target action ``[E, n]`` per (env, agent): ``target [n]`` where ``>= 0``, else (``-1``) the clean
    policy's least likely legal action ``argmin_{a: π(a|o) > 0} π(a | o)`` at that observation."""
    least = jnp.argmin(jnp.where(clean > 0, clean, jnp.inf), axis=-1)
    return jnp.where(target[None, :] >= 0, target[None, :], least).astype(jnp.int32)


# ------------------------------------------------------------------------------------------ attack objects


class Attack(Protocol):
    """An observation attack: ``attack(key, obs [E, n, *obs_shape], probs_fn) -> perturbed obs``; ``ball`` is the
    set it perturbs within."""

    ball: Ball

    def __call__(self, key: Array, obs: Array, probs_fn: ProbsFn) -> Array: ...


@struct.dataclass
class RandomAttack:
    """:func:`random_noise` as an attack."""

    ball: Ball

    def __call__(self, key: Array, obs: Array, probs_fn: ProbsFn) -> Array:
        return random_noise(key, obs, self.ball)


@struct.dataclass
class GradientAttack:
    """:func:`gradient_attack` as an attack (``steps`` and ``objective`` static; ``step_fraction`` is ``α / ε``,
    default ``2.5 / steps``)."""

    ball: Ball
    step_fraction: Array | None = None
    steps: int = struct.field(pytree_node=False, default=10)
    objective: str = struct.field(pytree_node=False, default="greedy")

    def __call__(self, key: Array, obs: Array, probs_fn: ProbsFn) -> Array:
        fraction = 2.5 / self.steps if self.step_fraction is None else self.step_fraction
        return gradient_attack(
            lambda _, o: probs_fn(o),
            (),
            obs,
            self.ball,
            steps=self.steps,
            step_size=fraction * self.ball.epsilon,
            objective=self.objective,
            key=key,
        )


@struct.dataclass
class LearnedAttack:
    """A trained adversary policy as an attack: ``perturb(params, obs [E, n, d], ball) -> δ [E, n, d]`` (static, a
    bound method of the learner that trained it) applied at its mean, masked to the attacked agents. ``per_seed``:
    ``params`` hold one adversary per seed (leading axis), for a stacked evaluation."""

    ball: Ball
    params: Any
    perturb: Callable[[Any, Array, Ball], Array] = struct.field(pytree_node=False)
    per_seed: bool = struct.field(pytree_node=False, default=False)  # params have a leading seed axis

    def __call__(self, key: Array, obs: Array, probs_fn: ProbsFn) -> Array:
        flat, shape = _flat(obs)
        delta = masked(self.perturb(self.params, flat, self.ball), self.ball.attacked)
        return (flat + delta).reshape(shape)


def fgsm_attack(ball: Ball) -> GradientAttack:
    """:func:`fgsm` as an attack object: a :class:`GradientAttack` of one step with ``α = ε``."""
    return GradientAttack(ball, step_fraction=jnp.float32(1.0), steps=1)


@struct.dataclass
class TargetedAttack:
    """:func:`gradient_attack` with ``objective="targeted"`` as an attack: ``target [n]`` int per agent, a fixed
    action or ``-1`` for the clean policy's least likely action (:func:`choose_target`); ``steps = 1`` with
    ``step_fraction = 1`` is targeted FGSM."""

    ball: Ball
    target: Array
    step_fraction: Array | None = None
    steps: int = struct.field(pytree_node=False, default=10)

    def __call__(self, key: Array, obs: Array, probs_fn: ProbsFn) -> Array:
        fraction = 2.5 / self.steps if self.step_fraction is None else self.step_fraction
        target = choose_target(self.target, jax.lax.stop_gradient(probs_fn(obs)))
        return gradient_attack(
            lambda _, o: probs_fn(o),
            (),
            obs,
            self.ball,
            steps=self.steps,
            step_size=fraction * self.ball.epsilon,
            objective="targeted",
            target=target,
        )


ATTACKS = {"random": RandomAttack, "gradient": GradientAttack}
"""Attack names of :func:`marlkit.train.evaluate.robustness_curve` -> their class (built from a :class:`Ball`)."""


__all__ = [
    "ATTACKS",
    "OBJECTIVES",
    "Attack",
    "Ball",
    "GradientAttack",
    "LearnedAttack",
    "ProbsFn",
    "RandomAttack",
    "TargetedAttack",
    "choose_target",
    "fgsm",
    "fgsm_attack",
    "gradient_attack",
    "masked",
    "project",
    "random_noise",
    "squash",
    "uniform_in_ball",
]
