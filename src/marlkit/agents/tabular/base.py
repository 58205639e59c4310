"""The tabular learner contract and the small pieces learners share: schedules, exploration, sampling.

A **learner** is a frozen (hashable, static) dataclass of hyper-parameters with pure methods over an explicit
state pytree (docs/architecture.md, "Contracts"):

* ``init(key, spec: GroupSpec) -> state``
* ``act(key, state, obs [k]) -> (actions [k] int32, aux)``
* ``update(state, batch: Transition) -> (state, metrics)`` — ``metrics`` maps a name to a float32 ``[k]`` array
  (one value per controlled agent; the loop averages them over each logging window);
* ``policy(state, obs [k]) -> probs [k, A_max]`` — the distribution ``act`` samples from (the *behaviour*
  policy, exploration included), zero on illegal actions; diagnostics read it.

Fast path (optional, all learners here have it): ``act_uniform(u [k], state, obs) -> (actions, aux)`` draws the
actions from given uniforms in [0, 1), one per controlled agent; ``act(key, ...)`` is then
``act_uniform(uniform(key, [k]), ...)``. The loop draws every uniform of a logging window in one batched call
and runs no PRNG inside a step: JAX lowers threefry on CPU to a rolled loop whose per-call cost (measured
here: ~60% of a whole IQL step) dwarfs a tabular update. Learners without ``act_uniform`` get PRNG keys.

Optional: ``average_policy(state, obs) -> probs [k, A_max]`` for learners that keep one (WoLF's π̄),
``multipliers(state) -> λ [k, m]`` for learners that keep Lagrange multipliers (the primal-dual learners of
constrained games, :mod:`marlkit.agents.tabular.lagrangian`; the loop records them in the History), and
``check(game, agents)``, called at the Python edge before compiling, which raises
:class:`~marlkit.errors.NotApplicableError` when the learner cannot run on the game.

**Arrays of the game a learner was built with** (optional ``arrays(spec) -> pytree of arrays``): full-information
learners (fictitious play, regret matching, Hedge, the replicator and IGA learners) are built with the game and
read its payoffs. They compute what ``init`` needs from it in ``arrays`` (NumPy, at the Python edge), and the loop
passes the result into the compiled program as an input, ``GroupSpec.data``, instead of letting it become a
constant of the program: the same learner on another game of the same shape then lowers to the very same program,
which JAX's persistent compilation cache (:mod:`marlkit.compile_cache`) loads instead of compiling it again.
``init`` reads ``learner_arrays(self, spec)``: ``spec.data`` when the loop gave it, else ``arrays(spec)`` (callers
that build a :class:`GroupSpec` themselves need not know).

**Constrained games** (a game with ``costs [n, m, S, A..]`` and ``limits [n, m]``, Altman 1999): the loop gives
every learner the costs of each step in ``Transition.costs [k, m]`` (its own agents' ``C_j^i(s, a)``) and
``Transition.joint_costs [n, m]`` (every agent's), and the limits and initial distribution in
``GroupSpec.limits [k, m]`` and ``GroupSpec.initial [S]``; on an unconstrained game all four are ``None``. A
learner that ignores costs (every learner but the Lagrangian wrapper) runs unchanged on a constrained game — it
maximises its return and the History records how much it violates the limits.

A learner **controls a group of k agents** (``spec.agents``). Class attributes say how:

* ``joint = False`` (IQL, PHC, WoLF-PHC): the group members learn independently — the state has a leading
  ``[k]`` axis and one learner object can run self-play for several agents at once;
* ``joint = True`` (CQL): the group acts as one learner over its joint action space;
* ``needs_policies = True``: the loop fills ``Transition.policies`` with every agent's current policy
  ``[n, S, A_max]`` (full-information learners such as IGA, agent modelling); otherwise it is ``None`` and not
  computed (it costs S policy evaluations per step).

Step sizes and exploration parameters are :class:`Schedule` objects, called with the learner's update count
``step`` and a visit ``count`` (each learner documents which count it passes: ``n(s, a)`` for step sizes,
``n(s)`` for exploration and policy steps). Plain floats are accepted wherever a schedule is expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.errors import LearnerConfigError, NotApplicableError
from marlkit.schema import setting, validate

Array = jax.Array


# --------------------------------------------------------------------------------------------- the contract


@dataclass(frozen=True, eq=False)
class GroupSpec:
    """What a learner needs to know about its agents and the game at ``init`` (static except ``legal``).

    Attributes:
        agents: the indices of the agents the learner controls (``k = len(agents)``).
        n_agents: number of agents in the game.
        num_states: number of states S (tabular observations are state indices ``0..S-1``).
        num_actions: the action count of each controlled agent.
        max_actions: ``A_max`` of the game (the width of every policy row).
        gamma: the game's discount.
        legal: ``[k, S, A_max]`` bool, the controlled agents' action masks.
        limits: ``[k, m]`` float32, the controlled agents' cost limits c_j^i on a constrained game; None otherwise.
        initial: ``[S]`` float32, the initial-state distribution μ0 on a constrained game (the discounted cost
            J = Σ_s μ0(s) V_c(s) is measured from it); None otherwise.
        data: the learner's ``arrays(spec)`` as inputs of the compiled program (see the module docstring), or
            None (``init`` then computes them itself).
    """

    agents: tuple[int, ...]
    n_agents: int
    num_states: int
    num_actions: tuple[int, ...]
    max_actions: int
    gamma: float
    legal: Array
    limits: Array | None = None
    initial: Array | None = None
    data: Any = None


class Transition(NamedTuple):
    """One environment step as a learner sees it: its own agents' slice plus the joint context.

    ``k`` is the group size, ``n`` the number of agents. Truncation (``max_episode_steps``) bootstraps as usual;
    only ``terminated`` cuts the bootstrap (Pardo et al. 2018, "Time limits in reinforcement learning").
    """

    obs: Array  # [k] int32: observation before the step (tabular: the state index)
    actions: Array  # [k] int32: actions taken (after the env replaced illegal ones)
    rewards: Array  # [k] float32
    next_obs: Array  # [k] int32: observation of s' (before any auto-reset)
    terminated: Array  # [] bool: s' is terminal, its value is 0
    truncated: Array  # [] bool: the episode was cut by the time limit
    legal: Array  # [k, A_max] bool at s
    next_legal: Array  # [k, A_max] bool at s'
    joint_actions: Array  # [n] int32: every agent's action
    joint_rewards: Array  # [n] float32: every agent's reward
    policies: Array | None  # [n, S, A_max]: all agents' policies before the step (only if needs_policies)
    costs: Array | None = None  # [k, m] float32: own agents' costs C_j^i(s, a) (constrained games; else None)
    joint_costs: Array | None = None  # [n, m] float32: every agent's costs (constrained games; else None)


@runtime_checkable
class Learner(Protocol):
    """The tabular learner contract (see the module docstring; ``act_uniform`` is an optional fast path)."""

    joint: ClassVar[bool]

    @property
    def needs_policies(self) -> bool:
        """Whether ``update`` reads ``Transition.policies``: a class attribute, or a property where a
        hyper-parameter decides (regret matching and Hedge with ``feedback="expected"``)."""
        ...

    def init(self, key: Array, spec: GroupSpec) -> Any: ...

    def act(self, key: Array, state: Any, obs: Array) -> tuple[Array, Any]: ...

    def update(self, state: Any, batch: Transition) -> tuple[Any, dict[str, Array]]: ...

    def policy(self, state: Any, obs: Array) -> Array: ...


def learner_arrays(learner: Any, spec: GroupSpec) -> Any:
    """The arrays a learner built with a game reads in ``init``: ``spec.data`` when the loop passed them into the
    compiled program, else the learner's own ``arrays(spec)`` (see the module docstring)."""
    return spec.data if spec.data is not None else learner.arrays(spec)


def policy_table(method: Any, state: Any, k: int, num_states: int) -> Array:
    """A learner's per-state distribution ``[k, S, A_max]`` from ``method(state, obs [k])`` (``policy`` or
    ``average_policy``), evaluated at every state index ``0..S-1``."""
    return jax.vmap(lambda s: method(state, jnp.full((k,), s, dtype=jnp.int32)), out_axes=1)(
        jnp.arange(num_states, dtype=jnp.int32)
    )


# ----------------------------------------------------------------------------------------------- schedules


class Schedule(Protocol):
    """A step size or exploration parameter as a function of the update count and a visit count.

    ``span()`` gives its first value and its limit as the counts grow; every schedule here is monotone, so its
    values lie between the two, and a learner field's range (:func:`marlkit.schema.check`) holds for the whole
    schedule when it holds for both (the limit may sit on an open bound: α decaying to 0 is a step size > 0)."""

    def __call__(self, step: Array, count: Array) -> Array: ...

    def span(self) -> tuple[float, float]: ...


AVERAGING_STEP: dict[str, Any] = {"range": (0, 1), "open": "low"}
"""The rules of a step size α of an averaging update ``x <- (1 - α) x + α target`` (Q-values, cost critics): α in
(0, 1] keeps ``x`` a convex combination of old value and target (Sutton & Barto 2018, §2.4-2.5); α > 1 overshoots
every target and diverges, α <= 0 never learns. ``setting(0.1, doc=..., **AVERAGING_STEP)``."""

PROBABILITY: dict[str, Any] = {"range": (0, 1)}
"""The rules of an exploration probability ε (or any probability): in [0, 1]."""

POSITIVE: dict[str, Any] = {"range": (0, None), "open": "low"}
"""The rules of a quantity that must be > 0 and finite (a temperature τ, a scale)."""


@dataclass(frozen=True)
class Constant:
    """``x_t = value``."""

    value: float = setting(doc="the value", range=(None, None))

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)

    def span(self) -> tuple[float, float]:
        return self.value, self.value

    def __call__(self, step: Array, count: Array) -> Array:
        return jnp.float32(self.value)


@dataclass(frozen=True)
class PowerCount:
    """``x = scale / max(count, 1)^power``: with ``count = n(s, a)`` and ``power`` in (1/2, 1] it meets the
    Robbins-Monro conditions Σ α = ∞, Σ α² < ∞ (Watkins & Dayan 1992; Even-Dar & Mansour 2003, polynomial
    rates)."""

    scale: float = setting(1.0, doc="the scale S", range=(None, None))
    power: float = setting(1.0, doc="the power P of the count", range=(0, None))

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)

    def span(self) -> tuple[float, float]:  # S / 1^P at the first visit, -> 0 (P > 0)
        return self.scale, (0.0 if self.power > 0 else self.scale)

    def __call__(self, step: Array, count: Array) -> Array:
        return jnp.float32(self.scale) / jnp.maximum(count, 1).astype(jnp.float32) ** jnp.float32(self.power)


@dataclass(frozen=True)
class ExponentialDecay:
    """``x_t = max(floor, initial · rate^t)`` with ``t`` the update count."""

    initial: float = setting(doc="the value at t = 0", range=(None, None))
    rate: float = setting(doc="the factor per update", range=(0, None))
    floor: float = setting(0.0, doc="the lower bound", range=(None, None))

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)

    def span(self) -> tuple[float, float]:
        first = max(self.initial, self.floor)
        if self.rate < 1:
            tail = 0.0  # initial · rate^t -> 0
        elif self.rate == 1:
            tail = self.initial
        else:
            tail = math.copysign(math.inf, self.initial) if self.initial else 0.0
        return first, max(tail, self.floor)

    def __call__(self, step: Array, count: Array) -> Array:
        value = jnp.float32(self.initial) * jnp.float32(self.rate) ** step.astype(jnp.float32)
        return jnp.maximum(value, jnp.float32(self.floor))


@dataclass(frozen=True)
class InverseTime:
    """``x_t = scale / (offset + t / stretch)``: the form Bowling & Veloso (2002, §5) use for α and δ."""

    offset: float = setting(doc="the offset O", range=(0, None), open="low")
    stretch: float = setting(1.0, doc="the stretch T of t", range=(0, None), open="low")
    scale: float = setting(1.0, doc="the scale S", range=(None, None))

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)

    def span(self) -> tuple[float, float]:  # S / O at t = 0, -> 0
        return self.scale / self.offset, 0.0

    def __call__(self, step: Array, count: Array) -> Array:
        return jnp.float32(self.scale) / (jnp.float32(self.offset) + step.astype(jnp.float32) / self.stretch)


def as_schedule(value: Schedule | float | int, name: str) -> Schedule:
    """Accept a plain number as a :class:`Constant`; reject anything that is not a schedule."""
    if isinstance(value, bool):
        raise LearnerConfigError(f"{name}: expected a number or a schedule, got {value!r}")
    if isinstance(value, int | float | np.floating | np.integer):
        return Constant(float(value))
    if not callable(value):
        raise LearnerConfigError(f"{name}: expected a number or a schedule (e.g. Constant(0.1)), got {value!r}")
    try:
        hash(value)
    except TypeError:
        raise LearnerConfigError(f"{name}: a schedule must be hashable (a frozen dataclass), got {value!r}") from None
    return value


def scheduled(value: Schedule | float) -> Schedule:
    """The schedule a learner's ``Schedule | float`` field holds once the learner is built.

    Such a field accepts a plain number at construction, and the learner's ``__post_init__`` replaces it by a
    :class:`Constant` (:func:`as_schedule`); this narrows the field's type to :class:`Schedule` where it is called.
    """
    if isinstance(value, int | float):
        raise TypeError(f"a number {value!r} where a schedule was expected: __post_init__ did not run as_schedule")
    return value


# --------------------------------------------------------------------------------------------- exploration


def masked_max(values: Array, legal: Array) -> Array:
    """Max over the last axis restricted to legal entries."""
    return jnp.max(jnp.where(legal, values, -jnp.inf), axis=-1)


def uniform_over(legal: Array) -> Array:
    """The uniform distribution over the legal entries of the last axis."""
    weights = legal.astype(jnp.float32)
    return weights / jnp.sum(weights, axis=-1, keepdims=True)


def mix_uniform(probs: Array, legal: Array, epsilon: Array) -> Array:
    """``(1 - ε) · probs + ε · uniform(legal)``."""
    return (1.0 - epsilon) * probs + epsilon * uniform_over(legal)


class Exploration(Protocol):
    """Turns action values into a behaviour distribution over legal actions (last axis)."""

    def __call__(self, values: Array, legal: Array, step: Array, count: Array) -> Array: ...


@dataclass(frozen=True)
class Greedy:
    """Uniform over the legal maximisers (ties are split evenly, so zero-initialised tables do not bias)."""

    def __call__(self, values: Array, legal: Array, step: Array, count: Array) -> Array:
        best = legal & (values >= masked_max(values, legal)[..., None])
        return uniform_over(best)


@dataclass(frozen=True)
class EpsilonGreedy:
    """``(1 - ε) · greedy + ε · uniform`` over legal actions (Sutton & Barto 2018, §2.2)."""

    epsilon: Schedule = setting(Constant(0.1), doc="ε, the uniform share", **PROBABILITY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", as_schedule(self.epsilon, "EpsilonGreedy.epsilon"))
        validate(self, LearnerConfigError)

    def __call__(self, values: Array, legal: Array, step: Array, count: Array) -> Array:
        return mix_uniform(Greedy()(values, legal, step, count), legal, self.epsilon(step, count))


@dataclass(frozen=True)
class Boltzmann:
    """``π(a) ∝ exp(Q(a) / τ)`` over legal actions (Sutton & Barto 2018, §13.1; Claus & Boutilier 1998)."""

    temperature: Schedule = setting(Constant(1.0), doc="τ", **POSITIVE)

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", as_schedule(self.temperature, "Boltzmann.temperature"))
        validate(self, LearnerConfigError)

    def __call__(self, values: Array, legal: Array, step: Array, count: Array) -> Array:
        tau = jnp.maximum(self.temperature(step, count), jnp.float32(1e-8))
        logits = jnp.where(legal, values / tau, -jnp.inf)
        return jax.nn.softmax(logits, axis=-1)


@dataclass(frozen=True)
class EpsilonBoltzmann:
    """``(1 - ε) · softmax(Q / τ) + ε · uniform`` over legal actions: Boltzmann play with a uniform floor, the
    mixture of Exp3 (Auer, Cesa-Bianchi, Freund & Schapire 2002, "The nonstochastic multiarmed bandit problem").

    The floor keeps every action's value estimate fresh where pure Boltzmann play at a small τ would starve an
    action whose stale Q-value fell behind (a trap the Lagrangian learner meets: λ shifts every Q-value's
    continuation part while an unplayed action's value waits for its next visit)."""

    temperature: Schedule = setting(Constant(0.1), doc="τ", **POSITIVE)
    epsilon: Schedule = setting(Constant(0.05), doc="ε, the uniform share", **PROBABILITY)

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", as_schedule(self.temperature, "EpsilonBoltzmann.temperature"))
        object.__setattr__(self, "epsilon", as_schedule(self.epsilon, "EpsilonBoltzmann.epsilon"))
        validate(self, LearnerConfigError)

    def __call__(self, values: Array, legal: Array, step: Array, count: Array) -> Array:
        soft = Boltzmann(self.temperature)(values, legal, step, count)
        return mix_uniform(soft, legal, self.epsilon(step, count))


def check_exploration(value: object, name: str) -> Exploration:
    if not callable(value):
        raise LearnerConfigError(f"{name}: expected an exploration such as EpsilonGreedy(0.1), got {value!r}")
    return value


# ------------------------------------------------------------------------------------------------ sampling


def sample(u: Array, probs: Array) -> Array:
    """Draw one index per row of ``probs [..., A]`` by inverse CDF from uniforms ``u [...]`` in [0, 1) (int32).

    Indices with probability 0 are never drawn: the draw is capped at the last positive entry, which guards
    against float32 cumulative sums that end a hair below 1.
    """
    cdf = jnp.cumsum(probs, axis=-1)
    index = jnp.sum(cdf <= (u * cdf[..., -1])[..., None], axis=-1)
    width = probs.shape[-1]
    last = width - 1 - jnp.argmax(jnp.flip(probs > 0, axis=-1), axis=-1)
    return jnp.minimum(index, last).astype(jnp.int32)


def check_initial_policy(initial: tuple[float, ...] | None, num_actions: tuple[int, ...], learner: str) -> None:
    """An initial policy given as one probability per action must match every controlled agent's count."""
    if initial is None:
        return
    for m in num_actions:
        if len(initial) != m:
            raise NotApplicableError(
                f"{learner}.initial_policy has {len(initial)} entries but a controlled agent has {m} actions; "
                f"give one probability per action or leave it None (uniform over legal actions)"
            )
    if any(p < 0 for p in initial) or abs(sum(initial) - 1.0) > 1e-6:
        raise LearnerConfigError(f"{learner}.initial_policy must be a distribution (>= 0, sums to 1), got {initial}")


class ActsOnUniforms(Protocol):
    """A learner with the ``act_uniform`` fast path (what :class:`UniformActing` builds ``act`` on)."""

    def act_uniform(self, u: Array, state: Any, obs: Array) -> tuple[Array, Any]: ...


class UniformActing:
    """Mixin: ``act(key, ...)`` from ``act_uniform(u, ...)`` with one uniform per controlled agent."""

    def act(self: ActsOnUniforms, key: Array, state: Any, obs: Array) -> tuple[Array, Any]:
        return self.act_uniform(jax.random.uniform(key, obs.shape[:1]), state, obs)
