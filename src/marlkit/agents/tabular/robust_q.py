"""Robust Q-learning for model uncertainty: one joint-action learner over Q(s, a_1..a_n) whose target is the
robust Bellman operator's (Zhang, Sun, Basar et al. 2020, "Robust multi-agent reinforcement learning with model
uncertainty", NeurIPS, §3: the robust Markov game, its robust Bellman equation and robust Q-learning; Iyengar 2005,
"Robust dynamic programming", Math. Oper. Res. 30(2), for one agent and (s, a)-rectangular sets). Equation numbers
are not given here: they were not checked against the papers.

Nature picks, independently at every (s, a) ((s, a)-rectangularity), a reward in the box ``R(s, a) ± ε`` and a
next-state distribution in the ball ``{p ∈ Δ(S) : ||p − T(·|s, a)|| <= δ}`` (``norm`` L1 or L∞;
:class:`~marlkit.games.uncertainty.ModelUncertainty`). The robust Q-function solves

    Q(s, a) = R(s, a) − ε + γ · σ_δ(T(·|s, a), V),     σ_δ(p0, V) = min_{||p − p0|| <= δ, p ∈ Δ} p · V,

where the worst reward of the box is R − ε (the box is an interval around the expected reward) and σ is the
closed-form inner minimum of :func:`marlkit.solve.stage.robust.worst_expectation`. The successor value V(s') is
0 at a terminal s' and otherwise

* ``payoff="team"`` (common-payoff games; the robust team optimum): ``V(s) = max_a Q(s, a)`` over legal joint
  actions;
* ``payoff="zero-sum"`` (two players, zero-sum): the value of the stage game Q(s) [m, n] for the row player,
  solved exactly by :func:`marlkit.solve.stage.zero_sum_value` (the minimax-Q stage solver,
  :class:`~marlkit.agents.tabular.minimax_q.MinimaxStage`). Nature works against the row player (agent 0): this
  is the robust value of agent 0 in Zhang et al.'s sense (nature minimises agent i's value, i = 0); its target
  uses r_0.

**The update.** The learner does not know T; it keeps the counts n(s, a, s') and uses the empirical next-state
distribution ``p̂(s, a) = n(s, a, ·) / n(s, a)`` in place of T (the certainty-equivalent, model-based form of the
robust target; the counts converge to T almost surely and σ_δ is 1-Lipschitz in p0 in L1 and continuous in V, so
with Robbins-Monro step sizes the iteration tracks asynchronous robust value iteration, a γ-contraction in the
sup norm — Iyengar 2005). After the joint action a in s with reward r and next state s':

    n(s, a, s') += 1;   Q(s, a) ← Q(s, a) + α [ r − ε + γ · σ_δ(p̂(s, a), V) − Q(s, a) ],

then V(s) is re-solved from the new Q(s) (one stage solve per step, as minimax-Q; Littman 1994, Fig. 1), so
V(s') is a look-up. At ε = δ = 0 the target is ``r + γ p̂(s, a) · V``; on a deterministic game p̂ is the one-hot of
s' and it is CQL's target ``r + γ max_a' Q(s', a')`` exactly (bit for bit; tested).

Terminal states are learned from ``Transition.terminated`` (a state is marked terminal the first time it is
reached by a terminating step; its V is 0 from then on). The worst case may move mass onto any state of the game,
so a state never reached keeps V = ``initial_q`` — on games where every state is reachable this washes out.

Acting: ε-greedy. ``team``: with probability ε a uniformly random legal joint action, otherwise a greedy one (ties
split uniformly) — CQL with ``EpsilonGreedy(ε)``. ``zero-sum``: each player samples its stage strategy (maximin /
minimax of Q(s), moved toward uniform among optimal ones) mixed with ε uniform (Littman's "explor").
Step size α = ``step_size(t, n(s, a))`` (default n(s, a)^-0.7, Robbins-Monro; Even-Dar & Mansour 2003).
Metrics: ``td_error`` |δ_TD| and ``value`` V(s) after the update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import (
    AVERAGING_STEP,
    Array,
    EpsilonGreedy,
    GroupSpec,
    LearnerConfigError,
    PowerCount,
    Schedule,
    Transition,
    UniformActing,
    as_schedule,
    masked_max,
    mix_uniform,
    sample,
    scheduled,
)
from marlkit.agents.tabular.minimax_q import MinimaxStage
from marlkit.agents.tabular.q_learning import CQL, CQLState
from marlkit.errors import NotApplicableError
from marlkit.games import StochasticGame
from marlkit.games.properties import require_two_player_zero_sum
from marlkit.games.uncertainty import ModelUncertainty
from marlkit.schema import setting, validate
from marlkit.solve.stage import MAX_ACTIONS
from marlkit.solve.stage.robust import NORMS, worst_expectation

PAYOFFS = ("team", "zero-sum")
"""What V(s) is: the team's max over joint actions, or the row player's zero-sum stage value."""


class RobustQState(NamedTuple):
    """The joint Q-table (CQL's layout), the empirical model and the stored stage solutions."""

    cql: CQLState  # q [1, S, J] over flattened joint actions, visits n(s, a), joint-action tables
    model: Array  # [S, J, S] int32: n(s, a, s')
    values: Array  # [S] float32: V(s) of the stored stage solution
    strategies: Array  # [2, S, A_max] float32: zero-sum stage strategies (maximin row, minimax column)
    terminal: Array  # [S] bool: states seen terminal
    legal: Array  # [k, S, A_max] bool: the members' action masks
    stage_legal: Array  # [S, m, n] bool: the legal joint actions of each stage game (zero-sum; [S, 1, 1] for team)


@dataclass(frozen=True)
class RobustQ(UniformActing):
    """Robust joint-action Q-learning for (s, a)-rectangular model uncertainty (see the module docstring)."""

    reward_radius: float = setting(0.0, doc="ε, the half-width of the reward box R(s, a) ± ε", range=(0, None))
    transition_radius: float = setting(
        0.0, doc="δ, the radius of the next-state ball around T(·|s, a)", range=(0, None)
    )
    norm: str = setting("l1", doc="the norm of the transition ball", choices=NORMS)
    payoff: str = setting("team", doc="team: V = max_a Q (common payoff); zero-sum: the stage value", choices=PAYOFFS)
    step_size: Schedule | float = setting(PowerCount(1.0, 0.7), doc="α, called with (t, n(s, a))", **AVERAGING_STEP)
    epsilon: Schedule | float = setting(0.2, doc="exploration probability, called with (t, n(s))", range=(0, 1))
    initial_q: float = setting(0.0, doc="initial Q-values (and V)", range=(None, None))
    gamma: float | None = setting(None, doc="discount (null: the game's)", range=(0, 1), open="high", what="a discount")

    joint: ClassVar[bool] = True
    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)
        for field in ("step_size", "epsilon"):
            object.__setattr__(self, field, as_schedule(getattr(self, field), f"RobustQ.{field}"))

    @classmethod
    def for_model(cls, model: ModelUncertainty, **params: Any) -> RobustQ:
        """The learner of the robust values of ``model`` (its ε, δ and norm; other hyper-parameters from
        ``params``). Only scalar radii: per-state radii raise :class:`LearnerConfigError`."""
        if model.reward_radius.ndim or model.transition_radius.ndim:
            raise LearnerConfigError(
                "RobustQ.for_model: RobustQ takes one reward radius and one transition radius; the model "
                "uncertainty has per-state (or per-agent) radii"
            )
        return cls(
            reward_radius=float(model.reward_radius),
            transition_radius=float(model.transition_radius),
            norm=model.norm,
            **params,
        )

    @property
    def _cql(self) -> CQL:
        """The CQL with this learner's table layout and ε-greedy play (acting and tables of ``team``)."""
        return CQL(self.step_size, EpsilonGreedy(scheduled(self.epsilon)), self.initial_q, self.gamma)

    # ------------------------------------------------------------------------------------------ edge check
    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        """``team``: a common-payoff game; ``zero-sum``: a two-player zero-sum game whose two
        agents this learner controls, at most :data:`~marlkit.solve.stage.MAX_ACTIONS` actions each; and an
        empirical model n(s, a, s') of at most 2^24 entries."""
        if self.payoff == "team":
            r = game.rewards[list(agents)]
            if not np.all((np.abs(r - r[:1]) <= 1e-9) | ~game.legal_joint_actions()[None]):
                raise NotApplicableError(
                    f"RobustQ(payoff='team') needs a common-payoff game (every controlled agent gets the same "
                    f"reward), but the rewards of agents {list(agents)} differ in game {game.name!r}; use "
                    "payoff='zero-sum' for a two-player zero-sum game"
                )
        else:
            require_two_player_zero_sum(
                game,
                "RobustQ(payoff='zero-sum')",
                instead="For common-payoff games use RobustQ(payoff='team').",
            )
            if tuple(agents) != (0, 1):
                raise NotApplicableError(
                    "RobustQ(payoff='zero-sum') controls both players of the game; give it both agents: "
                    "train(game, RobustQ(payoff='zero-sum'), ...)"
                )
            if max(game.num_actions) > MAX_ACTIONS:
                raise NotApplicableError(
                    f"RobustQ(payoff='zero-sum'): game {game.name!r} has {list(game.num_actions)} actions per "
                    f"player; the batched stage solver handles at most {MAX_ACTIONS}"
                )
        joint = int(np.prod([game.num_actions[i] for i in agents]))
        if game.num_states * joint * game.num_states > 2**24:
            raise NotApplicableError(
                f"RobustQ: the empirical model n(s, a, s') would have {game.num_states**2 * joint} entries; too "
                "large for a tabular learner"
            )

    # ---------------------------------------------------------------------------------------------- init
    def init(self, key: Array, spec: GroupSpec) -> RobustQState:
        cql = self._cql.init(key, spec)
        S, J = cql.tables.q.shape[1:]
        legal = jnp.asarray(spec.legal)
        strategies = jnp.zeros((2, S, spec.max_actions), jnp.float32)
        stage_legal = jnp.zeros((S, 1, 1), bool)
        if self.payoff == "zero-sum":
            strategies = (legal / jnp.sum(legal, axis=-1, keepdims=True)).astype(jnp.float32)
            stage_legal = cql.tables.legal[0].reshape(S, *spec.num_actions)
        return RobustQState(
            cql=cql,
            model=jnp.zeros((S, J, S), jnp.int32),
            values=jnp.full((S,), self.initial_q, jnp.float32),
            strategies=strategies,
            terminal=jnp.zeros((S,), bool),
            legal=legal,
            stage_legal=stage_legal,
        )

    # -------------------------------------------------------------------------------------------- acting
    def _marginals(self, state: RobustQState, s: Array) -> Array:
        """Zero-sum: both players' behaviour marginals ``[2, A_max]`` at s."""
        tables = state.cql.tables
        epsilon = scheduled(self.epsilon)(tables.step, jnp.sum(tables.visits[0, s]))
        return mix_uniform(state.strategies[:, s], state.legal[:, s], epsilon)

    def policy(self, state: RobustQState, obs: Array) -> Array:
        if self.payoff == "team":
            return self._cql.policy(state.cql, obs)
        return self._marginals(state, obs[0])

    def act_uniform(self, u: Array, state: RobustQState, obs: Array) -> tuple[Array, Array]:
        if self.payoff == "team":
            return self._cql.act_uniform(u, state.cql, obs)
        probs = self._marginals(state, obs[0])
        return sample(u, probs), probs

    # ------------------------------------------------------------------------------------------- update
    def _stage_value(self, state: RobustQState, q_s: Array, s: Array) -> tuple[Array, Array]:
        """V(s) and the zero-sum strategies ``[2, A_max]`` of the stage game ``q_s [J]`` of state s."""
        if self.payoff == "team":
            return masked_max(q_s, state.cql.tables.legal[0, s]), state.strategies[:, s]
        m, n = state.stage_legal.shape[1:]
        A = q_s.reshape(m, n)
        row_legal, col_legal = jnp.any(state.stage_legal[s], axis=1), jnp.any(state.stage_legal[s], axis=0)
        solution = MinimaxStage()(jnp.stack([A, -A]), row_legal, col_legal)
        a_max = state.strategies.shape[-1]
        strategies = jnp.stack(
            [jnp.pad(solution.joint.sum(1), (0, a_max - m)), jnp.pad(solution.joint.sum(0), (0, a_max - n))]
        )
        return solution.values[0], strategies

    def update(self, state: RobustQState, batch: Transition) -> tuple[RobustQState, dict[str, Array]]:
        tables = state.cql.tables
        s, s_next = batch.obs[0], batch.next_obs[0]
        j = jnp.sum(batch.actions * state.cql.strides)
        r = batch.rewards[0] if self.payoff == "team" else batch.joint_rewards[0]
        model = state.model.at[s, j, s_next].add(1)
        terminal = state.terminal.at[s_next].set(state.terminal[s_next] | batch.terminated)
        visits = tables.visits.at[0, s, j].add(1)
        p_hat = model[s, j].astype(jnp.float32) / visits[0, s, j].astype(jnp.float32)
        successors = jnp.where(terminal, 0.0, state.values)
        worst = worst_expectation(p_hat, successors, jnp.float32(self.transition_radius), self.norm)
        target = r - jnp.float32(self.reward_radius) + tables.gamma * worst
        alpha = scheduled(self.step_size)(tables.step, visits[0, s, j])
        td = target - tables.q[0, s, j]
        q = tables.q.at[0, s, j].add(alpha * td)
        value, strategies = self._stage_value(state, q[0, s], s)
        new_tables = tables._replace(q=q, visits=visits, step=tables.step + 1)
        new_state = state._replace(
            cql=state.cql._replace(tables=new_tables),
            model=model,
            values=state.values.at[s].set(value),
            strategies=state.strategies.at[:, s].set(strategies),
            terminal=terminal,
        )
        k = batch.obs.shape[0]
        return new_state, {"td_error": jnp.broadcast_to(jnp.abs(td), (k,)), "value": jnp.broadcast_to(value, (k,))}


__all__ = ["PAYOFFS", "RobustQ", "RobustQState"]
