"""Joint-action Q-learning with a game-theoretic stage solution: the machinery Minimax-Q, Nash-Q and CE-Q share.

In a two-player stochastic game the learner keeps, for **both** players j, a table Q_j(s, a_1, a_2) over joint
actions and, after the joint action a = (a_1, a_2) in s with rewards r_j and next state s', runs

    Q_j(s, a) ← Q_j(s, a) + α [ r_j + γ V_j(s') − Q_j(s, a) ]      (V_j(s') = 0 when s' is terminal)

for j = 1, 2, where V_j(s) is player j's expected Q under a *solution σ(s) of the stage game* (Q_1(s), Q_2(s)):

    V_j(s) = Σ_a σ(s)(a) Q_j(s, a).

The three algorithms differ only in that solution (a :class:`StageSolver`):

* **Minimax-Q** (Littman 1994, Fig. 1; :mod:`.minimax_q`): the maximin/minimax pair of the zero-sum game Q_1(s);
* **Nash-Q** (Hu & Wellman 2003, JMLR 4, Table 1; :mod:`.nash_q`): a Nash equilibrium of (Q_1(s), Q_2(s)) picked
  by a stated selection rule;
* **CE-Q** (Greenwald & Hall 2003, ICML, Table 1; :mod:`.ce_q`): a correlated equilibrium picked by an objective.

**One stage solve per step.** As in Littman's Fig. 1 ("use linear programming to find π[s, ·] … V[s] ← min …"),
the stage game of s is re-solved right after Q(s, ·) changes and its solution σ(s) and values V(s) are stored;
V(s') is then a table look-up, and it *is* the solution of the current Q(s') because Q(s') has not changed since it
was last solved — the same values Hu & Wellman's "NashQ_j(s')" computed afresh. Tables start at ``initial_q``,
V = ``initial_q`` and σ(s) uniform over legal joint actions (Littman: π[s, ·] = 1/|A|), which is a solution of the
constant initial stage games. Solves use the batched, jittable solvers of :mod:`marlkit.solve.stage` inside the
compiled loop (under ``vmap`` they are batched across seeds).

**Legal actions.** The stage game of s is restricted to the legal actions by giving each player's illegal actions a
payoff below every legal entry (:func:`dominated_payoffs`): they are then strictly dominated, and no minimax,
Nash or correlated equilibrium uses them (iterated strict dominance); σ is also zeroed there and renormalised.

**Acting.** The learner is ``joint``: it controls a group of one or both agents of the game (``train(game,
MinimaxQ(), ...)`` gives it both). Each agent explores ε-greedily around the stage solution: with probability ε
a uniformly random legal action (Littman's "explor"; schedule called with ``(t, n(s))``). For a *product* solution
(minimax, Nash: σ = x ⊗ y) each agent samples its own marginal with its own random number. For a *correlated*
solution (CE-Q) a learner controlling both agents draws the joint action from (1 − ε) σ + ε · uniform with **one
shared random number** — Greenwald & Hall's shared randomisation device; a CE-Q learner controlling one agent can
only sample its own marginal (no device is shared across groups). ``policy`` returns each controlled agent's
marginal of its behaviour distribution; the correlation shows in ``History.joint_counts``.

A learner controlling one agent (``train(game, [NashQ(), NashQ()], ...)`` — Hu & Wellman's setting, each agent
keeping Q_j for all j) needs both players to have the same number of actions and the other player to have every
action legal: the group spec carries only the controlled agents' actions and masks (``check`` says so).

Step size α = ``step_size(t, n(s, a))`` with n(s, a) counting this visit of the joint action. Metrics (one value
per controlled agent): ``td_error`` |δ_j|, ``value`` V_j(s) after the update (in a one-state game: the learned
game value), ``stage_error`` the stage solver's own accuracy certificate at s in payoff units (see each solver).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol

import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import (
    AVERAGING_STEP,
    Array,
    GroupSpec,
    LearnerConfigError,
    PowerCount,
    Schedule,
    Transition,
    UniformActing,
    as_schedule,
    mix_uniform,
    sample,
    scheduled,
)
from marlkit.errors import NotApplicableError
from marlkit.games import StochasticGame
from marlkit.games.properties import require_players
from marlkit.schema import setting, validate
from marlkit.solve.stage import MAX_ACTIONS

# ------------------------------------------------------------------------------------------- stage solvers


class StageSolution(NamedTuple):
    """A solution of one stage game (Q_1(s), Q_2(s)) of shape ``[m, n]``."""

    joint: Array  # [m, n] σ(s): the recommended joint distribution (x ⊗ y for a product solution)
    values: Array  # [2] V_j(s) = Σ_a σ(a) Q_j(s, a) (CE-Q libertarian: each player's own CE)
    error: Array  # [] the solver's accuracy certificate in payoff units (0 for an exact solution)


class StageSolver(Protocol):
    """Solves the stage game of one state; jittable (it runs inside the compiled training loop).

    ``correlated`` (static) says whether σ must be sampled as a joint distribution with a shared random number
    (True, CE-Q) or is a product of the players' marginals that each agent samples on its own (False).
    """

    @property
    def correlated(self) -> bool: ...

    def __call__(self, q: Array, row_legal: Array, col_legal: Array) -> StageSolution:
        """Solve the stage game ``q [2, m, n]`` (player j's payoffs ``q[j]``) restricted to the legal actions."""
        ...

    def check(self, game: StochasticGame, learner: str) -> None:
        """Raise :class:`NotApplicableError` if this solution concept does not apply to ``game``."""
        ...


def dominated_payoffs(q: Array, row_legal: Array, col_legal: Array) -> tuple[Array, Array]:
    """``(A, B)`` = ``(q[0], q[1])`` with the row player's illegal rows in A and the column player's illegal columns
    in B set below every entry of q: they are strictly dominated, so no equilibrium of (A, B) plays them."""
    low = jnp.min(q) - (jnp.max(q) - jnp.min(q)) - 1.0
    return jnp.where(row_legal[:, None], q[0], low), jnp.where(col_legal[None, :], q[1], low)


def zero_sum_payoffs(A: Array, row_legal: Array, col_legal: Array) -> Array:
    """The row player's payoffs ``A [m, n]`` of a zero-sum stage game with illegal rows set below, and illegal
    columns (for legal rows) above, every entry: illegal rows are strictly dominated for the maximiser and, once
    they are removed, illegal columns for the minimiser."""
    span = jnp.max(A) - jnp.min(A) + 1.0
    low, high = jnp.min(A) - span, jnp.max(A) + span
    return jnp.where(row_legal[:, None], jnp.where(col_legal[None, :], A, high), low)


def restrict(p: Array, legal: Array) -> Array:
    """Zero ``p`` on illegal entries and renormalise (uniform over the legal ones if nothing is left)."""
    p = jnp.where(legal, jnp.maximum(p, 0.0), 0.0)
    total, fallback = jnp.sum(p), legal / jnp.sum(legal)
    return jnp.where(total > 0, p / jnp.where(total > 0, total, 1.0), fallback)


def product_solution(
    q: Array, row: Array, col: Array, row_legal: Array, col_legal: Array, error: Array
) -> StageSolution:
    """The stage solution σ = x ⊗ y of a strategy pair, with V_j = x^T Q_j y on the unmasked tables."""
    joint = restrict(row, row_legal)[:, None] * restrict(col, col_legal)[None, :]
    return StageSolution(joint, jnp.einsum("mn,jmn->j", joint, q), error)


# ------------------------------------------------------------------------------------------------ learner


class JointQState(NamedTuple):
    """Both players' joint-action tables and the stored stage solutions (players in game order)."""

    q: Array  # [2, S, m, n] float32: Q_j(s, a_1, a_2)
    visits: Array  # [S, m, n] int32: n(s, a)
    values: Array  # [2, S] float32: V_j(s) of the stored stage solution
    joint: Array  # [S, m, n] float32: σ(s)
    legal: Array  # [2, S, A_max] bool: both players' action masks
    players: Array  # [k] int32: the game indices of the controlled agents, in group order
    step: Array  # [] int32: updates done
    gamma: Array  # [] float32


@dataclass(frozen=True)
class JointActionQ(UniformActing):
    """Joint-action Q-learning with the stage solution ``stage`` (see the module docstring).

    Attributes:
        stage: the stage-game solver (Minimax-Q, Nash-Q and CE-Q fix it; see :class:`StageSolver`).
        step_size: α, called with ``(t, n(s, a))``. Default n(s, a)^-0.7: count-based, Robbins-Monro, and
            polynomial rather than 1/n, whose rate degrades exponentially in 1/(1 − γ) (Even-Dar & Mansour 2003).
        epsilon: exploration probability, called with ``(t, n(s))``. Default 0.2 (Littman 1994, "explor").
        initial_q: initial Q-values (and V).
        gamma: discount; ``None`` takes the game's.
    """

    stage: StageSolver
    step_size: Schedule | float = setting(PowerCount(1.0, 0.7), doc="α, called with (t, n(s, a))", **AVERAGING_STEP)
    epsilon: Schedule | float = setting(0.2, doc="exploration probability, called with (t, n(s))", range=(0, 1))
    initial_q: float = setting(0.0, doc="initial Q-values (and V)", range=(None, None))
    gamma: float | None = setting(None, doc="discount (null: the game's)", range=(0, 1), open="high", what="a discount")

    joint: ClassVar[bool] = True
    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)
        name = type(self).__name__
        for field in ("step_size", "epsilon"):
            object.__setattr__(self, field, as_schedule(getattr(self, field), f"{name}.{field}"))

    # ------------------------------------------------------------------------------------------ edge check
    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        """Two players, at most :data:`~marlkit.solve.stage.MAX_ACTIONS` actions each, the stage
        solver's own conditions, and what a one-agent group needs (module docstring)."""
        name = type(self).__name__
        require_players(
            game,
            name,
            2,
            applies_to="two-player games (its stage games are bimatrix games solved by the batched two-player solvers)",
            instead="For n players use independent learners (IQL, WoLF-PHC) or a central learner (CQL).",
        )
        too_many = [m for m in game.num_actions if m > MAX_ACTIONS]
        if too_many:
            raise NotApplicableError(
                f"{name}: game {game.name!r} has {list(game.num_actions)} actions per player; the batched stage "
                f"solvers handle at most {MAX_ACTIONS} actions per player (their cost grows combinatorially)"
            )
        self.stage.check(game, name)
        if len(agents) == 1:
            other = 1 - agents[0]
            if game.num_actions[0] != game.num_actions[1] or not np.all(
                game.action_mask[other, :, : game.num_actions[other]]
            ):
                raise NotApplicableError(
                    f"{name} controlling only agent {agents[0]} needs both players to have the same number of "
                    f"actions and agent {other} to have every action legal (the learner's spec carries only its own "
                    f"agents' actions); game {game.name!r} has {list(game.num_actions)} actions and masks — give "
                    f"the learner both agents: train(game, {name}(...), ...)"
                )

    # ---------------------------------------------------------------------------------------------- init
    def init(self, key: Array, spec: GroupSpec) -> JointQState:
        if spec.n_agents != 2 or len(spec.agents) not in (1, 2):
            raise NotApplicableError(f"{type(self).__name__} controls one or both agents of a two-player game")
        S, a_max = spec.num_states, spec.max_actions
        if len(spec.agents) == 2:
            shape = tuple(spec.num_actions[spec.agents.index(j)] for j in (0, 1))
            legal = jnp.asarray(spec.legal)[jnp.asarray([spec.agents.index(j) for j in (0, 1)])]
        else:  # one agent: the other has A_max actions, all legal (``check``)
            shape = (a_max, a_max)
            own = jnp.asarray(spec.legal)[0]
            full = jnp.ones((S, a_max), bool)
            legal = jnp.stack([own, full] if spec.agents[0] == 0 else [full, own])
        m, n = shape
        legal_joint = legal[0, :, :m, None] & legal[1, :, None, :n]  # [S, m, n]
        sigma = legal_joint / jnp.sum(legal_joint, axis=(1, 2), keepdims=True)
        gamma = spec.gamma if self.gamma is None else float(self.gamma)
        return JointQState(
            q=jnp.full((2, S, m, n), self.initial_q, jnp.float32),
            visits=jnp.zeros((S, m, n), jnp.int32),
            values=jnp.full((2, S), self.initial_q, jnp.float32),
            joint=sigma.astype(jnp.float32),
            legal=legal,
            players=jnp.asarray(spec.agents, jnp.int32),
            step=jnp.int32(0),
            gamma=jnp.float32(gamma),
        )

    # -------------------------------------------------------------------------------------------- acting
    def _epsilon(self, state: JointQState, s: Array) -> Array:
        return scheduled(self.epsilon)(state.step, jnp.sum(state.visits[s]))

    def _marginals(self, state: JointQState, s: Array) -> Array:
        """Both players' behaviour marginals ``[2, A_max]`` at s: (1 − ε) · marginal of σ(s) + ε · uniform."""
        sigma, a_max = state.joint[s], state.legal.shape[-1]
        m, n = sigma.shape
        marginals = jnp.stack([jnp.pad(sigma.sum(1), (0, a_max - m)), jnp.pad(sigma.sum(0), (0, a_max - n))])
        return mix_uniform(marginals, state.legal[:, s], self._epsilon(state, s))

    def policy(self, state: JointQState, obs: Array) -> Array:
        return self._marginals(state, obs[0])[state.players]

    def act_uniform(self, u: Array, state: JointQState, obs: Array) -> tuple[Array, Array]:
        s = obs[0]
        marginals = self._marginals(state, s)
        if self.stage.correlated and obs.shape[0] == 2:  # one shared random number draws the joint action
            legal = state.legal[0, s, : state.joint.shape[1], None] & state.legal[1, s, None, : state.joint.shape[2]]
            behaviour = mix_uniform(state.joint[s].reshape(-1), legal.reshape(-1), self._epsilon(state, s))
            pair = jnp.stack(jnp.unravel_index(sample(u[0], behaviour), state.joint.shape[1:]))
            return pair[state.players].astype(jnp.int32), marginals[state.players]
        probs = marginals[state.players]
        return sample(u, probs), probs

    # ------------------------------------------------------------------------------------------- update
    def update(self, state: JointQState, batch: Transition) -> tuple[JointQState, dict[str, Array]]:
        s, s_next = batch.obs[0], batch.next_obs[0]
        a1, a2 = batch.joint_actions[0], batch.joint_actions[1]
        m, n = state.joint.shape[1:]
        visits = state.visits.at[s, a1, a2].add(1)
        alpha = scheduled(self.step_size)(state.step, visits[s, a1, a2])
        bootstrap = jnp.where(batch.terminated, 0.0, state.values[:, s_next])
        td = batch.joint_rewards + state.gamma * bootstrap - state.q[:, s, a1, a2]
        q = state.q.at[:, s, a1, a2].add(alpha * td)
        solution = self.stage(q[:, s], state.legal[0, s, :m], state.legal[1, s, :n])
        new_state = state._replace(
            q=q,
            visits=visits,
            values=state.values.at[:, s].set(solution.values),
            joint=state.joint.at[s].set(solution.joint),
            step=state.step + 1,
        )
        k = batch.obs.shape[0]
        metrics = {
            "td_error": jnp.abs(td)[state.players],
            "value": solution.values[state.players],
            "stage_error": jnp.broadcast_to(solution.error, (k,)),
        }
        return new_state, metrics
