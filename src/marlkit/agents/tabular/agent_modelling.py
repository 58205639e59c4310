"""Empirical models of the other agents, and joint-action learning with agent modelling (JAL-AM).

**Models of the others** (shared with fictitious play and the no-regret learners). Agent i counts, per state,
how often every agent played each action, C_j(s, a_j), and models agent j by the empirical frequency
π̂_j(a_j | s) = C_j(s, a_j) / Σ_b C_j(s, b) (uniform before the first observation of s). The others' joint action
a_-i is a flat index over ``A_max^(n-1)`` entries (the others in player order, each with ``A_max`` digits, C
order; actions an agent does not have are never played, so their entries carry zero weight). The belief over
a_-i is the **product of the others' marginal models**, Π_{j≠i} π̂_j(a_j | s) — the classical form (Brown 1951;
Fudenberg & Levine 1998, ch. 2), not the joint empirical distribution of the others.

**JAL-AM** (Albrecht, Christianos & Schäfer 2024, *Multi-Agent Reinforcement Learning: Foundations and Modern
Approaches*, §6.3, Algorithm 6). Agent i learns joint-action values Q_i(s, a_i, a_-i) by TD and acts on the
action values

    AV_i(s, a_i) = Σ_{a_-i} Q_i(s, a_i, a_-i) Π_{j≠i} π̂_j(a_j | s)                             (Alg. 6)

with an exploration rule (ε-greedy in Alg. 6; any :class:`~marlkit.agents.tabular.base.Exploration`). After a
step it first updates the models with the observed joint action, then

    Q_i(s, a) ← Q_i(s, a) + α [ r_i + γ · (0 if s' terminal else max_{a_i' legal in s'} AV_i(s', a_i')) − Q_i(s, a) ].

α = ``step_size(t, n(s, a_i, a_-i))`` counting this visit; exploration is called with ``(t, n_i(s))``, agent i's
visits to s. Metrics: ``td_error`` = |δ|. Tabular observations are the state index for every agent, so the
models are indexed by the state all agents observe. (The uniform model of an unvisited state weights padding
actions too; that is harmless, since Q there still holds its initial value for every joint action.)

**The known stage game** (:class:`StagePayoffs`): fictitious play, regret matching and Hedge value actions they
did not play, so they take the game's stage payoffs at construction (the contract's ``init`` gets no rewards);
:func:`check_stage_learner` is their shared edge check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import (
    AVERAGING_STEP,
    Array,
    Exploration,
    GroupSpec,
    LearnerConfigError,
    Schedule,
    Transition,
    UniformActing,
    as_schedule,
    check_exploration,
    masked_max,
    sample,
    scheduled,
)
from marlkit.agents.tabular.q_learning import DECAYING_BOLTZMANN
from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame, stage_rewards
from marlkit.schema import setting, validate

MAX_TABLE_ENTRIES = 2**26
"""Largest joint-action table (controlled agents x states x own actions x others' joint actions) accepted."""


# ------------------------------------------------------------------------------------ the known stage game


@dataclass(frozen=True, eq=False)
class StagePayoffs:
    """The stage rewards ``[n, S, A_1..A_n]`` a full-information learner is given (hashable by content).

    Fictitious play, regret matching and Hedge need the payoff of actions they did not play; the learner contract
    gives ``init`` no rewards, so these learners take the game at construction (``FictitiousPlay(game)``) and
    ``check`` verifies that the game trained on is the one they were given.
    """

    rewards: np.ndarray
    name: str = ""

    @classmethod
    def of(cls, game: NormalFormGame | StochasticGame | StagePayoffs) -> StagePayoffs:
        if isinstance(game, StagePayoffs):
            return game
        if not isinstance(game, NormalFormGame | StochasticGame):
            raise LearnerConfigError(
                f"payoffs: expected the game being played (a NormalFormGame or StochasticGame), got {game!r}"
            )
        rewards = stage_rewards(game)
        rewards = np.array(rewards, dtype=np.float64)
        rewards.setflags(write=False)
        return cls(rewards, game.name)

    def __hash__(self) -> int:
        return hash((self.rewards.shape, self.rewards.tobytes()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StagePayoffs) and (
            self.rewards.shape == other.rewards.shape and bool(np.array_equal(self.rewards, other.rewards))
        )

    def __repr__(self) -> str:
        shape = "x".join(str(m) for m in self.rewards.shape[2:])
        return f"StagePayoffs({self.name!r}, {self.rewards.shape[1]} states, {shape})"

    def tables(self, agents: tuple[int, ...], max_actions: int) -> np.ndarray:
        """``[k, S, A_max, J]`` float32: u_i(s, a_i, a_-i) for each controlled agent, the others flattened as in
        :class:`Others` (zero where an action does not exist)."""
        n, num_states = self.rewards.shape[:2]
        padded = np.zeros((n, num_states, *(max_actions,) * n))
        padded[(slice(None), slice(None), *(slice(0, m) for m in self.rewards.shape[2:]))] = self.rewards
        out = [np.moveaxis(padded[i], 1 + i, 1).reshape(num_states, max_actions, -1) for i in agents]
        return np.stack(out).astype(np.float32)

    def payoff_range(self, agents: tuple[int, ...]) -> np.ndarray:
        """``[k]``: max − min of each controlled agent's stage rewards (1 where the rewards are constant)."""
        spread = np.array([np.ptp(self.rewards[i]) for i in agents])
        return np.where(spread > 0, spread, 1.0).astype(np.float32)


def as_payoffs(value: object, learner: str) -> StagePayoffs | None:
    """Accept a game (or :class:`StagePayoffs`, or None) for a learner's ``payoffs`` field."""
    if value is None:
        return None
    if not isinstance(value, NormalFormGame | StochasticGame | StagePayoffs):
        raise LearnerConfigError(
            f"{learner}.payoffs: expected the game being played (e.g. {learner}(game)), got {value!r}"
        )
    return StagePayoffs.of(value)


def check_stage_learner(
    learner: str,
    payoffs: StagePayoffs | NormalFormGame | StochasticGame | None,
    game: StochasticGame,
    agents: tuple[int, ...],
) -> None:
    """Edge checks of a learner that best-responds to / computes regrets on known stage payoffs (its ``payoffs``
    field: a game is read as its :class:`StagePayoffs`).

    Raises:
        LearnerConfigError: no payoffs were given, or they are not this game's.
        NotApplicableError: a multi-state game with discount > 0 (immediate-reward responses ignore continuation
            values; JAL-AM is the stochastic-game extension), or tables too large.
    """
    if payoffs is None:
        raise LearnerConfigError(
            f"{learner} needs the stage game's payoffs to value the actions it did not play: construct it with the "
            f"game, e.g. {learner}(game)"
        )
    payoffs = StagePayoffs.of(payoffs)
    if game.num_states > 1 and game.gamma > 0:
        raise NotApplicableError(
            f"{learner} learns on the stage payoffs of a repeated normal-form game (or per state when gamma = 0), "
            f"but game {game.name!r} has {game.num_states} states and gamma = {game.gamma}: immediate-reward "
            "responses would ignore the continuation values. Use JALAM (joint-action learning with agent "
            "modelling) for stochastic games"
        )
    if payoffs.rewards.shape != game.rewards.shape or not np.allclose(payoffs.rewards, game.rewards, atol=1e-9):
        raise LearnerConfigError(
            f"{learner} was given the payoffs of {payoffs!r} but is trained on game {game.name!r} "
            f"({game.n_players} players, actions {game.num_actions}); construct it with the game it plays"
        )
    check_table_size(learner, game, agents)


# ------------------------------------------------------------------------------------------ the others


class Others(NamedTuple):
    """Index arrays that locate each controlled agent's others (static content, stored in learner states)."""

    own: Array  # [k] int32: the controlled agents
    ids: Array  # [k, n-1] int32: each controlled agent's others, in player order
    digits: Array  # [J, n-1] int32: the others' actions of each flat a_-i (J = A_max^(n-1), C order)
    strides: Array  # [n-1] int32: a_-i = Σ_m a_{ids[m]} · strides[m]


def others_index(agents: tuple[int, ...], n_agents: int, max_actions: int) -> Others:
    """The :class:`Others` of a group of controlled agents."""
    m = n_agents - 1
    ids = np.array([[j for j in range(n_agents) if j != i] for i in agents], dtype=np.int32).reshape(len(agents), m)
    shape = (max_actions,) * m
    digits = np.stack(np.unravel_index(np.arange(max_actions**m), shape), axis=1) if m else np.zeros((1, 0))
    strides = (max_actions ** np.arange(m - 1, -1, -1)).astype(np.int32)
    return Others(
        own=jnp.asarray(agents, dtype=jnp.int32),
        ids=jnp.asarray(ids),
        digits=jnp.asarray(digits, dtype=jnp.int32),
        strides=jnp.asarray(strides),
    )


def check_table_size(learner: str, game: StochasticGame, agents: tuple[int, ...]) -> None:
    """Reject games whose per-agent joint-action tables would not fit a tabular learner."""
    entries = len(agents) * game.num_states * game.max_actions**game.n_players
    if entries > MAX_TABLE_ENTRIES:
        raise NotApplicableError(
            f"{learner}: its joint-action tables would have {entries} entries (agents x states x A_max^n) for game "
            f"{game.name!r}; too large for a tabular learner over joint actions — use independent learners (IQL)"
        )


def flat_others(others: Others, joint_actions: Array) -> Array:
    """``[k]``: the flat index of the others' realised joint action for each controlled agent."""
    return jnp.sum(joint_actions[others.ids] * others.strides, axis=-1).astype(jnp.int32)


def product_belief(others: Others, marginals: Array) -> Array:
    """``[k, J]``: Π_{j≠i} marginals[i][j, a_j] over the others' joint actions, from ``marginals [k, n, A_max]``
    (each controlled agent's view of every agent's action distribution, or counts for an unnormalised weight)."""
    rows = jnp.arange(others.ids.shape[0])[:, None]
    theirs = marginals[rows, others.ids]  # [k, n-1, A_max]
    picked = theirs[:, jnp.arange(others.ids.shape[1])[None, :], others.digits]  # [k, J, n-1]
    return jnp.prod(picked, axis=-1)


def frequencies(counts: Array) -> Array:
    """Empirical frequencies along the last axis; uniform where nothing was counted yet."""
    total = jnp.sum(counts, axis=-1, keepdims=True)
    return jnp.where(total > 0, counts / jnp.where(total > 0, total, 1), 1.0 / counts.shape[-1])


def count_joint_action(counts: Array, s: Array, joint_actions: Array) -> Array:
    """Add one observation of every agent's action in state ``s`` to ``counts [n, S, A_max]``."""
    return counts.at[jnp.arange(counts.shape[0]), s, joint_actions].add(1)


def models_at(counts: Array, obs: Array) -> Array:
    """``[k, n, A_max]``: each controlled agent's empirical models π̂_j(· | s) of every agent at its state."""
    return frequencies(jnp.moveaxis(counts[:, obs], 1, 0).astype(jnp.float32))


# ----------------------------------------------------------------------------------------------- JAL-AM


class JALAMState(NamedTuple):
    q: Array  # [k, S, A_max, J] float32: Q_i(s, a_i, a_-i)
    visits: Array  # [k, S, A_max, J] int32: n(s, a_i, a_-i)
    counts: Array  # [n, S, A_max] int32: C_j(s, a_j), every agent's observed actions
    legal: Array  # [k, S, A_max] bool
    others: Others
    step: Array  # [] int32
    gamma: Array  # [] float32


@dataclass(frozen=True)
class JALAM(UniformActing):
    """Joint-action learning with agent modelling (Albrecht et al. 2024, Alg. 6; see the module docstring).

    ``gamma=None`` takes the game's discount. Independent per controlled agent: one object runs self-play.
    """

    step_size: Schedule | float = setting(0.1, doc="α, called with (t, n(s, a_i, a_-i))", **AVERAGING_STEP)
    exploration: Exploration = setting(
        DECAYING_BOLTZMANN, doc="the behaviour policy over the action values (Claus & Boutilier 1998's decaying τ)"
    )
    initial_q: float = setting(0.0, doc="initial Q-values", range=(None, None))
    gamma: float | None = setting(None, doc="discount (null: the game's)", range=(0, 1), open="high", what="a discount")

    joint: ClassVar[bool] = False
    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)
        object.__setattr__(self, "step_size", as_schedule(self.step_size, "JALAM.step_size"))
        check_exploration(self.exploration, "JALAM.exploration")

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        check_table_size("JALAM", game, agents)

    def init(self, key: Array, spec: GroupSpec) -> JALAMState:
        others = others_index(spec.agents, spec.n_agents, spec.max_actions)
        shape = (len(spec.agents), spec.num_states, spec.max_actions, others.digits.shape[0])
        return JALAMState(
            q=jnp.full(shape, self.initial_q, dtype=jnp.float32),
            visits=jnp.zeros(shape, dtype=jnp.int32),
            counts=jnp.zeros((spec.n_agents, spec.num_states, spec.max_actions), dtype=jnp.int32),
            legal=jnp.asarray(spec.legal, dtype=bool),
            others=others,
            step=jnp.int32(0),
            gamma=jnp.float32(spec.gamma if self.gamma is None else self.gamma),
        )

    def action_values(self, state: JALAMState, obs: Array) -> Array:
        """``[k, A_max]``: AV_i(s, ·) of each controlled agent at its state (Alg. 6)."""
        belief = product_belief(state.others, models_at(state.counts, obs))  # [k, J]
        rows = jnp.arange(obs.shape[0])
        return jnp.einsum("kaj,kj->ka", state.q[rows, obs], belief)

    def policy(self, state: JALAMState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        count = jnp.sum(state.visits[rows, obs], axis=(-2, -1))[:, None]  # n_i(s)
        return self.exploration(self.action_values(state, obs), state.legal[rows, obs], state.step, count)

    def act_uniform(self, u: Array, state: JALAMState, obs: Array) -> tuple[Array, Array]:
        probs = self.policy(state, obs)
        return sample(u, probs), probs

    def update(self, state: JALAMState, batch: Transition) -> tuple[JALAMState, dict[str, Array]]:
        rows, s, a = jnp.arange(batch.obs.shape[0]), batch.obs, batch.actions
        counts = count_joint_action(state.counts, s[0], batch.joint_actions)  # models first (Alg. 6)
        state = state._replace(counts=counts)
        others = flat_others(state.others, batch.joint_actions)
        visits = state.visits.at[rows, s, a, others].add(1)
        alpha = scheduled(self.step_size)(state.step, visits[rows, s, a, others])
        next_av = self.action_values(state, batch.next_obs)
        bootstrap = jnp.where(batch.terminated, 0.0, masked_max(next_av, state.legal[rows, batch.next_obs]))
        td = batch.rewards + state.gamma * bootstrap - state.q[rows, s, a, others]
        q = state.q.at[rows, s, a, others].add(alpha * td)
        return state._replace(q=q, visits=visits, step=state.step + 1), {"td_error": jnp.abs(td)}
