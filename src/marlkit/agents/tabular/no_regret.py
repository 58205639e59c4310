"""No-regret learners for repeated games: regret matching (unconditional and conditional) and Hedge.

Each agent i values every own action k against what the others did at step t (the counterfactual payoff
v_t(k)) and accumulates **regrets** against its own payoff,

    R_t(k) = Σ_{τ ≤ t} [ v_τ(k) − v_τ(own) ].

``feedback`` says what both are measured against (a dict registry, :data:`FEEDBACK`):

* ``"realised"`` (Hart & Mas-Colell 2000): v_t(k) = u_i(k, a_-i^t) against the others' realised actions and the
  own term u_i(a_i^t, a_-i^t) of the realised joint action;
* ``"expected"`` (full information): v_t(k) = u_i(k, π_-i^t) against the others' current mixed policies
  (``needs_policies``; the product of their marginals) and the own term Σ_k π_i^t(k) v_t(k).

The learners read the payoffs of actions they did not play from the stage game, which they are given at
construction: ``RegretMatching(game)`` (see :class:`~marlkit.agents.tabular.agent_modelling.StagePayoffs`).
They run on a repeated normal-form game and, per state with immediate rewards, on multi-state games with
discount 0 (each state then is its own stage game); ``check`` rejects a multi-state game with discount > 0.
Counts, regrets and averages are per state, with t = n(s) the agent's visits to s.

* :class:`RegretMatching` — **unconditional** regret matching (the variant Hart & Mas-Colell 2000, Econometrica
  68, discuss besides their main procedure; Hart & Mas-Colell 2001, JET 98): play
  π_{t+1}(k) = [R_t(k)]_+ / Σ_l [R_t(l)]_+, uniform over legal actions when no regret is positive. The
  average external regret max_k R_T(k) / T -> 0 almost surely (Blackwell approachability); in expectation it
  is ≤ range_i · sqrt(|A_i| / T), since E ||R_t^+||² grows by at most |A_i| range_i² a step (the cross term
  vanishes when π ∝ R^+; cf. Cesa-Bianchi & Lugosi 2006, §2.1, polynomial weights). So the empirical joint
  distribution of play converges to the set of **coarse correlated equilibria** (the Hannan set).
* :class:`ConditionalRegretMatching` — the procedure of Hart & Mas-Colell (2000, §2): with j the
  action played at the last visit and D_t(j, k) = (1/t) Σ_{τ ≤ t: a^τ = j} [u_i(k, a_-i^τ) − u_i(j, a_-i^τ)],
  play k ≠ j with probability [D_t(j, k)]_+ / μ and stay with j otherwise; μ > 2 M (|A_i| − 1), M = max |u_i|.
  The empirical joint distribution converges to the set of **correlated equilibria** (their Main Theorem).
  Realised feedback only.
* :class:`Hedge` — exponential weights / multiplicative weights (Freund & Schapire 1997, JCSS 55; 1999, GEB 29;
  Cesa-Bianchi & Lugosi 2006, §2.1): π_{t+1}(k) ∝ exp(η_{t+1} R_t(k)) (= exp(η Σ_τ v_τ(k)) normalised). With
  ``learning_rate=None`` the anytime rate η_t = sqrt(8 ln |A_i| / t) / range_i, whose average regret against the
  mixtures played is ≤ range_i · (sqrt(2 ln |A_i| / T) + sqrt(ln |A_i| / 8) / T) (Cesa-Bianchi & Lugosi 2006,
  Thm. 2.3); a schedule gives η in payoff units, called with ``(t, n(s))``.

``policy`` is the distribution played; ``average_policy`` the time-average of the policies played, (1/t) Σ π_τ
(for the conditional procedure, the empirical frequency of its own actions). Metric ``regret``: the agent's
average external regret max_k R_t(k) / t in the state just updated (for the conditional procedure the largest
average conditional regret max_{j,k} D_t(j, k)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.agent_modelling import (
    Others,
    StagePayoffs,
    as_payoffs,
    check_stage_learner,
    flat_others,
    frequencies,
    others_index,
    product_belief,
)
from marlkit.agents.tabular.base import (
    Array,
    GroupSpec,
    LearnerConfigError,
    Schedule,
    Transition,
    UniformActing,
    as_schedule,
    learner_arrays,
    sample,
    scheduled,
    uniform_over,
)
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.schema import setting, validate


class RegretState(NamedTuple):
    regret: Array  # [k, S, A_max] float32: R_t(k) (−∞-free: illegal entries stay 0 and are masked)
    policy_sum: Array  # [k, S, A_max] float32: Σ_τ π_τ
    visits: Array  # [k, S] int32: n(s)
    payoffs: Array  # [k, S, A_max, J] float32
    scale: Array  # [k] float32: 1 / range of each agent's payoffs
    legal: Array  # [k, S, A_max] bool
    others: Others
    step: Array  # [] int32


# ---------------------------------------------------------------------------------------------- feedback


def _realised(state: RegretState, batch: Transition, policy: Array) -> tuple[Array, Array]:
    """Counterfactual payoffs v(k) = u_i(k, a_-i^t) and the realised own payoff u_i(a^t)."""
    rows, s = jnp.arange(batch.obs.shape[0]), batch.obs
    v = state.payoffs[rows, s, :, flat_others(state.others, batch.joint_actions)]  # [k, A_max]
    return v, v[rows, batch.actions]


def _expected(state: RegretState, batch: Transition, policy: Array) -> tuple[Array, Array]:
    """v(k) = u_i(k, π_-i) against the others' current policies, and the own expected payoff Σ π_i(k) v(k)."""
    assert batch.policies is not None  # feedback "expected" sets needs_policies: the loop passes the policies
    rows, s = jnp.arange(batch.obs.shape[0]), batch.obs
    marginals = jnp.moveaxis(batch.policies[:, s], 1, 0)  # [k, n, A_max]
    v = jnp.einsum("kaj,kj->ka", state.payoffs[rows, s], product_belief(state.others, marginals))
    return v, jnp.sum(policy * v, axis=-1)


FEEDBACK: dict[str, Callable[[RegretState, Transition, Array], tuple[Array, Array]]] = {
    "realised": _realised,
    "expected": _expected,
}
"""What regrets are measured against (see the module docstring)."""


# ------------------------------------------------------------------------------------------------- base


@dataclass(frozen=True)
class _NoRegret(UniformActing):
    """Regret accumulation shared by regret matching and Hedge; subclasses map regrets to a policy."""

    payoffs: StagePayoffs | NormalFormGame | StochasticGame | None = None
    feedback: str = setting("realised", doc="which payoffs the regrets use", choices=tuple(FEEDBACK))

    joint: ClassVar[bool] = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "payoffs", as_payoffs(self.payoffs, name))
        if self.feedback not in FEEDBACK:
            raise LearnerConfigError(f"{name}.feedback: unknown {self.feedback!r}; choose one of {sorted(FEEDBACK)}")
        validate(self, LearnerConfigError)  # the fields' declared ranges (issue 15)

    @property
    def needs_policies(self) -> bool:
        return self.feedback == "expected"

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        check_stage_learner(type(self).__name__, self.payoffs, game, agents)

    def arrays(self, spec: GroupSpec) -> dict[str, np.ndarray]:
        """The controlled agents' payoff tables and payoff ranges (inputs of the compiled program)."""
        assert isinstance(self.payoffs, StagePayoffs)  # check() ran at the edge
        return {
            "payoffs": self.payoffs.tables(spec.agents, spec.max_actions),
            "range": self.payoffs.payoff_range(spec.agents),
        }

    def init(self, key: Array, spec: GroupSpec) -> RegretState:
        shape = (len(spec.agents), spec.num_states, spec.max_actions)
        arrays = learner_arrays(self, spec)
        return RegretState(
            regret=jnp.zeros(shape, dtype=jnp.float32),
            policy_sum=jnp.zeros(shape, dtype=jnp.float32),
            visits=jnp.zeros(shape[:2], dtype=jnp.int32),
            payoffs=jnp.asarray(arrays["payoffs"]),
            scale=1.0 / jnp.asarray(arrays["range"]),
            legal=jnp.asarray(spec.legal, dtype=bool),
            others=others_index(spec.agents, spec.n_agents, spec.max_actions),
            step=jnp.int32(0),
        )

    def from_regrets(self, regret: Array, legal: Array, visits: Array, scale: Array, step: Array) -> Array:
        """The policy ``[k, A_max]`` played after regrets ``regret [k, A_max]`` over ``visits [k, 1]`` plays."""
        raise NotImplementedError

    def policy(self, state: RegretState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        visits = state.visits[rows, obs][:, None]
        return self.from_regrets(
            state.regret[rows, obs], state.legal[rows, obs], visits, state.scale[:, None], state.step
        )

    def average_policy(self, state: RegretState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        total = state.policy_sum[rows, obs]
        return jnp.where(
            jnp.sum(total, -1, keepdims=True) > 0, frequencies(total), uniform_over(state.legal[rows, obs])
        )

    def act_uniform(self, u: Array, state: RegretState, obs: Array) -> tuple[Array, Array]:
        probs = self.policy(state, obs)
        return sample(u, probs), probs

    def update(self, state: RegretState, batch: Transition) -> tuple[RegretState, dict[str, Array]]:
        rows, s = jnp.arange(batch.obs.shape[0]), batch.obs
        pi = self.policy(state, s)  # the policy this step's action was drawn from
        v, own = FEEDBACK[self.feedback](state, batch, pi)
        legal = state.legal[rows, s]
        regret = state.regret[rows, s] + jnp.where(legal, v - own[:, None], 0.0)
        visits = state.visits.at[rows, s].add(1)
        new_state = state._replace(
            regret=state.regret.at[rows, s].set(regret),
            policy_sum=state.policy_sum.at[rows, s].add(pi),
            visits=visits,
            step=state.step + 1,
        )
        average = jnp.max(jnp.where(legal, regret, -jnp.inf), axis=-1) / visits[rows, s]
        return new_state, {"regret": average}


@dataclass(frozen=True)
class RegretMatching(_NoRegret):
    """Unconditional regret matching (Hart & Mas-Colell 2000; 2001): play ∝ positive cumulative regrets."""

    def from_regrets(self, regret: Array, legal: Array, visits: Array, scale: Array, step: Array) -> Array:
        positive = jnp.where(legal, jnp.maximum(regret, 0.0), 0.0)
        total = jnp.sum(positive, axis=-1, keepdims=True)
        return jnp.where(total > 0, positive / jnp.where(total > 0, total, 1.0), uniform_over(legal))


@dataclass(frozen=True)
class Hedge(_NoRegret):
    """Hedge / multiplicative weights (Freund & Schapire 1997): play ∝ exp(η · cumulative payoff)."""

    learning_rate: Schedule | float | None = setting(
        None, doc="η (null: the rate for the run's length)", range=(0, None), open="low"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.learning_rate is not None:
            object.__setattr__(self, "learning_rate", as_schedule(self.learning_rate, "Hedge.learning_rate"))

    def from_regrets(self, regret: Array, legal: Array, visits: Array, scale: Array, step: Array) -> Array:
        if self.learning_rate is None:  # η_t = sqrt(8 ln N / t) / range at round t = visits + 1 (CBL Thm. 2.3)
            n_legal = jnp.sum(legal, axis=-1, keepdims=True).astype(jnp.float32)
            eta = jnp.sqrt(8.0 * jnp.log(n_legal) / (visits + 1).astype(jnp.float32)) * scale
        else:
            eta = scheduled(self.learning_rate)(step, visits)
        return jax.nn.softmax(jnp.where(legal, eta * regret, -jnp.inf), axis=-1)


# ---------------------------------------------------------------------------------- conditional (CE) form


class ConditionalState(NamedTuple):
    gains: Array  # [k, S, A_max, A_max] float32: Σ_{τ: a^τ = j} [u(k, a_-i^τ) − u(j, a_-i^τ)]
    counts: Array  # [k, S, A_max] float32: own action counts (the average policy)
    last: Array  # [k, S] int32: action at the last visit (−1 before the first)
    payoffs: Array  # [k, S, A_max, J] float32
    inertia: Array  # [k] float32: μ
    legal: Array  # [k, S, A_max] bool
    others: Others
    step: Array  # [] int32


@dataclass(frozen=True)
class ConditionalRegretMatching(UniformActing):
    """Hart & Mas-Colell's (2000) regret matching over conditional regrets (converges to the CE set).

    ``inertia`` is μ; ``None`` takes μ = 2 M |A_i| (> 2 M (|A_i| − 1), their condition) with M = max |u_i|.
    """

    payoffs: StagePayoffs | NormalFormGame | StochasticGame | None = None
    inertia: float | None = setting(None, doc="μ, the inertia (null: from the payoffs)", range=(0, None), open="low")

    joint: ClassVar[bool] = False
    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "payoffs", as_payoffs(self.payoffs, "ConditionalRegretMatching"))
        if self.inertia is not None and not float(self.inertia) > 0:
            raise LearnerConfigError(f"ConditionalRegretMatching.inertia: expected μ > 0, got {self.inertia}")
        validate(self, LearnerConfigError)  # the fields' declared ranges (issue 15)

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        check_stage_learner("ConditionalRegretMatching", self.payoffs, game, agents)
        if self.inertia is not None:
            for i in agents:
                bound = 2 * np.abs(game.rewards[i]).max() * (game.num_actions[i] - 1)
                if not float(self.inertia) > bound:
                    raise LearnerConfigError(
                        f"ConditionalRegretMatching.inertia: μ = {self.inertia} must exceed 2 M (|A_i| − 1) = {bound} "
                        f"for agent {i} (Hart & Mas-Colell 2000, §2) so that the stay probability stays positive"
                    )

    def arrays(self, spec: GroupSpec) -> dict[str, np.ndarray]:
        """The controlled agents' payoff tables and inertias μ (inputs of the compiled program)."""
        assert isinstance(self.payoffs, StagePayoffs)  # check() ran at the edge
        if self.inertia is None:
            bound = [
                2 * np.abs(self.payoffs.rewards[i]).max() * m
                for i, m in zip(spec.agents, spec.num_actions, strict=True)
            ]
            inertia = np.maximum(np.array(bound, dtype=np.float64), 1.0)
        else:
            inertia = np.full(len(spec.agents), float(self.inertia))
        return {
            "payoffs": self.payoffs.tables(spec.agents, spec.max_actions),
            "inertia": inertia.astype(np.float32),
        }

    def init(self, key: Array, spec: GroupSpec) -> ConditionalState:
        k, num_states, a_max = len(spec.agents), spec.num_states, spec.max_actions
        arrays = learner_arrays(self, spec)
        return ConditionalState(
            gains=jnp.zeros((k, num_states, a_max, a_max), dtype=jnp.float32),
            counts=jnp.zeros((k, num_states, a_max), dtype=jnp.float32),
            last=jnp.full((k, num_states), -1, dtype=jnp.int32),
            payoffs=jnp.asarray(arrays["payoffs"]),
            inertia=jnp.asarray(arrays["inertia"]),
            legal=jnp.asarray(spec.legal, dtype=bool),
            others=others_index(spec.agents, spec.n_agents, spec.max_actions),
            step=jnp.int32(0),
        )

    def policy(self, state: ConditionalState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        legal, last = state.legal[rows, obs], state.last[rows, obs]
        t = jnp.maximum(jnp.sum(state.counts[rows, obs], axis=-1, keepdims=True), 1.0)
        j = jnp.maximum(last, 0)
        switch = jnp.where(legal, jnp.maximum(state.gains[rows, obs, j], 0.0), 0.0) / (t * state.inertia[:, None])
        stay_one_hot = jnp.arange(legal.shape[-1])[None, :] == j[:, None]
        switch = jnp.where(stay_one_hot, 0.0, switch)
        probs = switch + jnp.where(stay_one_hot, 1.0 - jnp.sum(switch, axis=-1, keepdims=True), 0.0)
        return jnp.where((last >= 0)[:, None], probs, uniform_over(legal))  # first visit: uniform

    def average_policy(self, state: ConditionalState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        own = state.counts[rows, obs]
        return jnp.where(jnp.sum(own, -1, keepdims=True) > 0, frequencies(own), uniform_over(state.legal[rows, obs]))

    def act_uniform(self, u: Array, state: ConditionalState, obs: Array) -> tuple[Array, Array]:
        probs = self.policy(state, obs)
        return sample(u, probs), probs

    def update(self, state: ConditionalState, batch: Transition) -> tuple[ConditionalState, dict[str, Array]]:
        rows, s, a = jnp.arange(batch.obs.shape[0]), batch.obs, batch.actions
        v = state.payoffs[rows, s, :, flat_others(state.others, batch.joint_actions)]  # [k, A_max]
        legal = state.legal[rows, s]
        gains = state.gains.at[rows, s, a].add(jnp.where(legal, v - v[rows, a][:, None], 0.0))
        counts = state.counts.at[rows, s, a].add(1.0)
        t = jnp.sum(counts[rows, s], axis=-1)
        worst = jnp.max(jnp.where(legal[:, None, :] & legal[:, :, None], gains[rows, s], -jnp.inf), axis=(-2, -1)) / t
        new_state = state._replace(gains=gains, counts=counts, last=state.last.at[rows, s].set(a), step=state.step + 1)
        return new_state, {"regret": worst}
