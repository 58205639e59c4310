"""A primal-dual (Lagrangian) wrapper around any independent tabular learner, for constrained Markov games.

Agent i of a constrained Markov game maximises J_r^i(π) subject to J_j^i(π) = E_π[Σ_t γ^t C_j^i] <= c_j^i for its
m constraints (Altman 1999, Constrained Markov Decision Processes, §3). :class:`Lagrangian` relaxes them with
multipliers λ^i >= 0 (:mod:`marlkit.agents.lagrangian`, shared with the deep MAPPO-L):

* **primal** — the ``inner`` learner (IQL, PHC, WoLF-PHC, JAL-AM: any independent learner that learns from the
  sampled rewards) updates on the Lagrangian reward ``r - Σ_j λ_j c_j`` (:func:`lagrangian_reward`);
* **cost critic** — per agent and constraint a table Q_c(s, a_i) learned by expected SARSA on the costs under the
  agent's current (behaviour) policy π (van Seijen et al. 2009), ``Q_c(s, a) += β (c + γ Σ_a' π(a'|s') Q_c(s', a')
  - Q_c(s, a))`` with γ the game's discount, no bootstrap at a terminal s'; so V_c^π(s) = Σ_a π(a|s) Q_c(s, a)
  tracks the discounted cost of π and **Ĵ_j = Σ_s μ0(s) V_c^π(s)** is the constraint's quantity J_j of the
  game's definition (the limits bound the discounted J, not the per-step or episode cost);
* **dual** — after every update the projected dual ascent step ``λ <- max(0, λ + η (Ĵ - c))``
  (:func:`dual_ascent`), so λ >= 0 always.

Two time-scales (Borkar 2008, Stochastic Approximation, ch. 6; Borkar 2005, "An actor-critic algorithm for
constrained Markov decision processes"; Tessler, Mankowitz & Mannor 2019, RCPO, Assumption 2): the dual step η is
much smaller than the critic's β and the inner learner's step sizes, so the primal sees a quasi-static λ and the
dual sees a converged primal. The critic's β must stay constant (or decay slower than η): a critic that slows down
(β = n^-0.7 was tried) feeds the dual stale costs and λ swings (measured: λ between 0.8 and 2.9 on
resource-sharing). The defaults — η = 1e-4, β = 0.1, inner IQL with α = n(s, a)^-0.7 (Robbins-Monro; Even-Dar &
Mansour 2003) and Boltzmann play at τ = 0.5 with a 5% uniform floor — are this module's own choice, measured on
the catalog's ``resource-sharing`` game (tests/agents/tabular/test_lagrangian.py); no paper gives tabular values.

Which inner learner: the Lagrangian is **linear** in the policy, so a learner whose policy jumps to the greedy
action (Q-learning with greedy or ε-greedy play, PHC's policy step toward greedy) answers a λ near λ* with an
all-or-nothing policy: its last iterate oscillates around the constrained solution and only its *average* play
converges (the classical behaviour of gradient descent-ascent on a bilinear saddle; Altman 1999, ch. 3 uses the
average). A learner with a smooth response — Boltzmann play π ∝ exp(Q/τ) — makes the primal problem strictly
concave (entropy-regularised), and the last iterate can converge (:data:`SMOOTH_IQL`, registered as
``lagrangian-iql``). **WoLF-PHC** (Bowling & Veloso 2002) is the other cure: its "learn fast when losing" step
damps the primal-dual cycle, its last iterate converged on resource-sharing (p_high 0.393-0.405 over 8 seeds
after 200,000 steps) with λ at λ* = 1.4 (1.37-1.47) and no temperature bias, so it is the default inner learner
(``lagrangian``, ``lagrangian-wolf-phc``); it needs longer runs than Boltzmann IQL (its step sizes decay with t).
For Boltzmann IQL, two facts measured and derived on resource-sharing set τ:

* **τ must not be small.** Agents that share a congested resource play an anti-coordination game, whose mixed
  equilibrium is unstable under sharp responses (two-population dynamics of hawk-dove). Linearising the softmax
  responses p_i = σ((2 - 1.5 p_j - λ_i)/τ) at p = 0.4 gives a stable symmetric point only if 1.5 · 0.24 / τ < 1,
  i.e. τ > 0.36 (reward units); at τ = 0.1 the learners alternated between high and low (p from 0.03 to 0.98).
* **The price is a bias of order τ in λ**, not in the policy: the dual drives Ĵ to the limit, so the policy meets
  it, but at the fixed point it is the softmax of the Lagrangian Q-values, so λ settles where
  (1 - ε) σ((λ* - λ)/τ) + ε/2 = 0.4, i.e. λ_τ = λ* + 0.43 τ = 1.61 for λ* = 1.4 at τ = 0.5 (measured: 1.62).

A uniform floor (:class:`~marlkit.agents.tabular.base.EpsilonBoltzmann`, ε = 0.05) keeps every Q-value fresh: a
fast early rise of λ shifts the continuation value of every Q-value, and an action Boltzmann play has stopped
taking keeps its stale value (measured without the floor: all seeds stuck at "low" with λ = 0).

Metrics: the inner learner's, plus ``constraint_gap`` = max_j (Ĵ_j - c_j) per agent (> 0: violated as
estimated). λ is exposed by :meth:`Lagrangian.multipliers` (the loop records it in ``History.multipliers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp

from marlkit.agents.lagrangian import dual_ascent, lagrangian_reward
from marlkit.agents.tabular.base import (
    AVERAGING_STEP,
    Array,
    Constant,
    EpsilonBoltzmann,
    GroupSpec,
    Learner,
    LearnerConfigError,
    PowerCount,
    Schedule,
    Transition,
    as_schedule,
    policy_table,
    scheduled,
)
from marlkit.agents.tabular.hill_climbing import PHC, WoLFPHC
from marlkit.agents.tabular.q_learning import IQL
from marlkit.errors import NotApplicableError
from marlkit.games import StochasticGame
from marlkit.schema import setting, validate

SMOOTH_IQL = IQL(step_size=PowerCount(1.0, 0.7), exploration=EpsilonBoltzmann(Constant(0.5), Constant(0.05)))
"""The default inner learner: IQL with α = n(s, a)^-0.7 and Boltzmann play at τ = 0.5 with a 5% uniform floor (a
smooth policy response to λ; see the module docstring for why τ is not smaller)."""


class LagrangianState(NamedTuple):
    """The inner learner's state, the multipliers and the cost critic of a group of k agents."""

    inner: Any
    multipliers: Array  # [k, m] float32: λ >= 0
    cost_q: Array  # [k, S, A_max, m] float32: Q_c(s, a_i) per constraint
    visits: Array  # [k, S, A_max] int32: n(s, a_i), the critic's visit counts
    limits: Array  # [k, m] float32: c_j^i
    initial: Array  # [S] float32: μ0
    gamma: Array  # [] float32: the game's discount (the limits bound the game's discounted J)
    step: Array  # [] int32: updates done


def _reads_game(learner: object) -> bool:
    """Full-information learners are built with the game (a ``payoffs`` or ``game`` field) and compute their
    payoffs from it: they never see the reward of a transition, so a Lagrangian reward would not reach them."""
    return hasattr(learner, "payoffs") or hasattr(learner, "game")


@dataclass(frozen=True)
class Lagrangian:
    """Primal-dual learning on a constrained game: ``inner`` on the Lagrangian reward, λ by projected dual ascent
    on the discounted cost Ĵ a cost critic measures (see the module docstring for the equations and sources).

    Controls a group of independent agents (each its own λ, critic and inner state), like its inner learner."""

    inner: Learner = setting(WoLFPHC(), doc="the learner of the Lagrangian reward (Python only)")
    dual_step: Schedule | float = setting(
        1e-4, doc="η, the dual step size, called with (t, t)", range=(0, None), open="low"
    )
    cost_step_size: Schedule | float = setting(
        0.1, doc="β, the cost critic's step size, called with (t, n(s, a))", **AVERAGING_STEP
    )
    initial_multiplier: float = setting(0.0, doc="λ at the start, every agent and constraint", range=(0, None))

    joint: ClassVar[bool] = False
    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)
        inner = self.inner
        if not isinstance(inner, Learner) or isinstance(inner, Lagrangian):
            raise LearnerConfigError(
                f"Lagrangian.inner: expected a tabular learner such as IQL() or PHC() (not a Lagrangian), got {inner!r}"
            )
        if inner.joint or inner.needs_policies or _reads_game(inner):
            raise LearnerConfigError(
                f"Lagrangian.inner: {type(inner).__name__} does not learn from the sampled rewards of its own "
                "agents (a joint or full-information learner); use an independent learner such as IQL, PHC, "
                "WoLF-PHC or JAL-AM"
            )
        for name in ("dual_step", "cost_step_size"):
            value = as_schedule(getattr(self, name), f"Lagrangian.{name}")
            if isinstance(value, Constant) and not value.value >= 0:
                raise LearnerConfigError(f"Lagrangian.{name}: expected a step size >= 0, got {value.value}")
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------------------------------ edge checks
    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        """A Lagrangian learner needs a constrained game; the inner learner's own check runs too."""
        if game.costs is None or game.limits is None:
            raise NotApplicableError(
                f"a Lagrangian learner needs a constrained game (costs and limits); game {game.name!r} has no "
                "costs: train its inner learner on it directly (e.g. --learner wolf-phc for lagrangian), or use a "
                "constrained game such as resource-sharing"
            )
        inner_check = getattr(self.inner, "check", None)
        if inner_check is not None:
            inner_check(game, agents)

    # ----------------------------------------------------------------------------------------------- contract
    def init(self, key: Array, spec: GroupSpec) -> LagrangianState:
        if spec.limits is None or spec.initial is None:
            raise NotApplicableError("Lagrangian.init: the game has no cost limits (a constrained game is needed)")
        k, m = spec.limits.shape
        return LagrangianState(
            inner=self.inner.init(key, spec),
            multipliers=jnp.full((k, m), self.initial_multiplier, dtype=jnp.float32),
            cost_q=jnp.zeros((k, spec.num_states, spec.max_actions, m), dtype=jnp.float32),
            visits=jnp.zeros((k, spec.num_states, spec.max_actions), dtype=jnp.int32),
            limits=jnp.asarray(spec.limits, dtype=jnp.float32),
            initial=jnp.asarray(spec.initial, dtype=jnp.float32),
            gamma=jnp.float32(spec.gamma),
            step=jnp.int32(0),
        )

    def act(self, key: Array, state: LagrangianState, obs: Array) -> tuple[Array, Any]:
        return self.inner.act(key, state.inner, obs)

    @property
    def act_uniform(self) -> Any:
        """The inner learner's fast path on the inner state (absent when the inner learner has none)."""
        method = getattr(self.inner, "act_uniform", None)
        if method is None:
            raise AttributeError(f"{type(self.inner).__name__} has no act_uniform")
        return lambda u, state, obs: method(u, state.inner, obs)

    def policy(self, state: LagrangianState, obs: Array) -> Array:
        return self.inner.policy(state.inner, obs)

    @property
    def average_policy(self) -> Any:
        """The inner learner's average policy (absent when the inner learner keeps none)."""
        method = getattr(self.inner, "average_policy", None)
        if method is None:
            raise AttributeError(f"{type(self.inner).__name__} keeps no average policy")
        return lambda state, obs: method(state.inner, obs)

    def multipliers(self, state: LagrangianState) -> Array:
        """λ ``[k, m]`` (>= 0)."""
        return state.multipliers

    def estimated_costs(self, state: LagrangianState) -> Array:
        """Ĵ ``[k, m]`` = Σ_s μ0(s) Σ_a π(a|s) Q_c(s, a): the critic's discounted cost of the current policy."""
        k, num_states = state.cost_q.shape[:2]
        return _discounted_cost(policy_table(self.inner.policy, state.inner, k, num_states), state)

    def update(self, state: LagrangianState, batch: Transition) -> tuple[LagrangianState, dict[str, Array]]:
        if batch.costs is None:
            raise NotApplicableError("Lagrangian.update: the transition has no costs (a constrained game is needed)")
        costs = batch.costs.astype(jnp.float32)
        rewards = lagrangian_reward(batch.rewards, costs, state.multipliers)
        inner, metrics = self.inner.update(state.inner, batch._replace(rewards=rewards))
        # cost critic: expected SARSA under the updated policy
        rows, s, a, s_next = jnp.arange(batch.obs.shape[0]), batch.obs, batch.actions, batch.next_obs
        k, num_states = state.cost_q.shape[:2]
        table = policy_table(self.inner.policy, inner, k, num_states)  # [k, S, A_max]
        visits = state.visits.at[rows, s, a].add(1)
        beta = scheduled(self.cost_step_size)(state.step, visits[rows, s, a])
        value_next = jnp.einsum("ka,kam->km", table[rows, s_next], state.cost_q[rows, s_next])
        target = costs + state.gamma * jnp.where(batch.terminated, 0.0, value_next)
        td = target - state.cost_q[rows, s, a]
        cost_q = state.cost_q.at[rows, s, a].add(jnp.reshape(beta, (-1, 1)) * td)
        state = state._replace(inner=inner, cost_q=cost_q, visits=visits)
        # dual: projected ascent on the measured discounted cost
        measured = _discounted_cost(table, state)
        eta = scheduled(self.dual_step)(state.step, state.step)
        multipliers = dual_ascent(state.multipliers, measured, state.limits, eta)
        gap = jnp.max(measured - state.limits, axis=-1)
        return state._replace(multipliers=multipliers, step=state.step + 1), {**metrics, "constraint_gap": gap}


def lagrangian_iql(**params: Any) -> Lagrangian:
    """:class:`Lagrangian` around :data:`SMOOTH_IQL` (Boltzmann IQL; the ``lagrangian-iql`` registry entry)."""
    return Lagrangian(inner=SMOOTH_IQL, **params)


def lagrangian_phc(**params: Any) -> Lagrangian:
    """:class:`Lagrangian` around PHC with Bowling & Veloso's settings (``lagrangian-phc``): its last iterate cycles
    on the bilinear Lagrangian, its average policy converges (see the module docstring)."""
    return Lagrangian(inner=PHC(), **params)


def _discounted_cost(table: Array, state: LagrangianState) -> Array:
    """Ĵ ``[k, m]`` from the policy ``table [k, S, A_max]`` and the critic: Σ_s μ0(s) Σ_a π(a|s) Q_c(s, a)."""
    values = jnp.einsum("ksa,ksam->ksm", table, state.cost_q)
    return jnp.einsum("s,ksm->km", state.initial, values)


__all__ = ["SMOOTH_IQL", "Lagrangian", "LagrangianState", "lagrangian_iql", "lagrangian_phc"]
