"""Tabular Q-learning in a game: independent learners (IQL) and one central learner over joint actions (CQL).

Both run Watkins' update (Watkins & Dayan 1992, Eq. 1) on a table Q(s, b) over "actions" b:

    Q(s, b) ← Q(s, b) + α [ r + γ · (0 if s' terminal else max_{b' legal in s'} Q(s', b')) − Q(s, b) ]

* **IQL** (Tan 1993; Claus & Boutilier 1998, "independent learners"): each agent i keeps its own Q_i(s, a_i),
  updated with its own reward r_i, treating the other agents as part of the environment. One IQL object
  controls a group of agents as independent copies (self-play with one object, or one per agent).
* **CQL** (central / "joint action learner with a team reward", Claus & Boutilier 1998): one Q(s, a) over the
  group's joint actions a = (a_1..a_k), flattened in C order, updated with a team reward: ``"common"`` (the
  game must give every group member the same reward; the learner checks it before compiling), ``"sum"`` or
  ``"mean"`` of the members' rewards. It acts with the (explored) joint greedy action; its per-agent
  ``policy`` is the marginal of its joint behaviour distribution (exact for the greedy joint action, which is a
  product; correlated exploration such as joint Boltzmann has marginals that lose the correlation).

The step size α = ``step_size(t, n(s, b))`` (default 0.1) with n(s, b) counting this visit; exploration
(default :data:`DECAYING_BOLTZMANN`) is called with ``(t, n(s))``. Metrics: ``td_error`` = |δ| of the update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import (
    AVERAGING_STEP,
    Array,
    Boltzmann,
    Exploration,
    ExponentialDecay,
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
from marlkit.errors import NotApplicableError
from marlkit.games import StochasticGame
from marlkit.schema import setting, validate


class QState(NamedTuple):
    """``g`` Q-tables over ``B`` actions each (IQL: one per agent over its actions; CQL: one over joint actions)."""

    q: Array  # [g, S, B] float32
    visits: Array  # [g, S, B] int32: n(s, b)
    legal: Array  # [g, S, B] bool
    step: Array  # [] int32: updates done
    gamma: Array  # [] float32


def init_tables(legal: Array, initial_q: float, gamma: float) -> QState:
    return QState(
        q=jnp.full(legal.shape, initial_q, dtype=jnp.float32),
        visits=jnp.zeros(legal.shape, dtype=jnp.int32),
        legal=jnp.asarray(legal, dtype=bool),
        step=jnp.int32(0),
        gamma=jnp.float32(gamma),
    )


def behaviour(exploration: Exploration, state: QState, s: Array) -> Array:
    """The exploration distribution ``[g, B]`` of every table in states ``s [g]``."""
    rows = jnp.arange(s.shape[0])
    count = jnp.sum(state.visits[rows, s], axis=-1, keepdims=True)  # n(s) per table, [g, 1]
    return exploration(state.q[rows, s], state.legal[rows, s], state.step, count)


def q_update(
    step_size: Schedule, state: QState, s: Array, b: Array, r: Array, s_next: Array, terminated: Array
) -> tuple[QState, Array]:
    """Watkins' update of every table at (s[g], b[g]) with rewards r[g]; returns the new state and |δ| [g]."""
    rows = jnp.arange(s.shape[0])
    visits = state.visits.at[rows, s, b].add(1)
    alpha = step_size(state.step, visits[rows, s, b])
    bootstrap = jnp.where(terminated, 0.0, masked_max(state.q[rows, s_next], state.legal[rows, s_next]))
    td = r + state.gamma * bootstrap - state.q[rows, s, b]
    q = state.q.at[rows, s, b].add(alpha * td)
    return state._replace(q=q, visits=visits, step=state.step + 1), jnp.abs(td)


DECAYING_BOLTZMANN = Boltzmann(ExponentialDecay(16.0, 0.999, 0.05))
"""Boltzmann exploration with τ = 16 · 0.999^t, floor 0.05 (Claus & Boutilier 1998 use a decaying τ): the default
of IQL and CQL, in Python as on the command line and in configs (``marlkit learners``)."""


@dataclass(frozen=True)
class _QLearner(UniformActing):
    """Hyper-parameters shared by IQL and CQL (``gamma=None`` takes the game's discount)."""

    step_size: Schedule | float = setting(0.1, doc="α, called with (t, n(s, b))", **AVERAGING_STEP)
    exploration: Exploration = setting(
        DECAYING_BOLTZMANN, doc="the behaviour policy over Q(s, ·), called with (t, n(s))"
    )
    initial_q: float = setting(0.0, doc="initial Q-values", range=(None, None))
    gamma: float | None = setting(None, doc="discount (null: the game's)", range=(0, 1), open="high", what="a discount")

    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)
        name = type(self).__name__
        object.__setattr__(self, "step_size", as_schedule(self.step_size, f"{name}.step_size"))
        check_exploration(self.exploration, f"{name}.exploration")

    def _gamma(self, spec: GroupSpec) -> float:
        return spec.gamma if self.gamma is None else float(self.gamma)

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        """Nothing to check beyond the loop's own checks."""


@dataclass(frozen=True)
class IQL(_QLearner):
    """Independent Q-learning: each controlled agent runs Watkins' Q-learning on its own reward."""

    joint: ClassVar[bool] = False

    def init(self, key: Array, spec: GroupSpec) -> QState:
        return init_tables(spec.legal, self.initial_q, self._gamma(spec))

    def policy(self, state: QState, obs: Array) -> Array:
        return behaviour(self.exploration, state, obs)

    def act_uniform(self, u: Array, state: QState, obs: Array) -> tuple[Array, Array]:
        probs = self.policy(state, obs)
        return sample(u, probs), probs

    def update(self, state: QState, batch: Transition) -> tuple[QState, dict[str, Array]]:
        state, td = q_update(
            scheduled(self.step_size), state, batch.obs, batch.actions, batch.rewards, batch.next_obs, batch.terminated
        )
        return state, {"td_error": td}


TEAM_REWARDS: dict[str, Callable[[Array], Array]] = {
    "common": lambda r: r[0],
    "sum": jnp.sum,
    "mean": jnp.mean,
}
"""How CQL turns its members' rewards ``[k]`` into one team reward."""


class CQLState(NamedTuple):
    tables: QState  # one table: q [1, S, J] over the group's flattened joint actions
    joint_actions: Array  # [J, k] int32: the members' actions of each flat joint action
    strides: Array  # [k] int32: C-order strides, j = Σ_i a_i · strides_i
    member_one_hot: Array  # [J, k, A_max] float32: one-hot of each member's action in each joint action


@dataclass(frozen=True)
class CQL(_QLearner):
    """Central Q-learning over the group's joint action space with a team reward (see the module docstring)."""

    team_reward: str = setting("common", doc="the team reward: common (the game's), sum or mean of the members'",
                               choices=tuple(TEAM_REWARDS))  # fmt: skip

    joint: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.team_reward not in TEAM_REWARDS:
            raise LearnerConfigError(
                f"CQL.team_reward: unknown {self.team_reward!r}; choose one of {sorted(TEAM_REWARDS)}"
            )

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        joint = int(np.prod([game.num_actions[i] for i in agents]))
        if joint * game.num_states > 2**26:
            raise NotApplicableError(
                f"CQL: the joint Q-table would have {joint * game.num_states} entries (states x joint actions); "
                "too large for a tabular learner — use independent learners"
            )
        if self.team_reward == "common":
            r = game.rewards[list(agents)]
            legal = game.legal_joint_actions()
            if not np.all((np.abs(r - r[:1]) <= 1e-9) | ~legal[None]):
                raise NotApplicableError(
                    f"CQL(team_reward='common') needs a common-payoff game (every controlled agent gets the same "
                    f"reward), but the rewards of agents {list(agents)} differ in game {game.name!r}; use "
                    "CQL(team_reward='sum') to learn the sum of their rewards"
                )

    def init(self, key: Array, spec: GroupSpec) -> CQLState:
        shape = spec.num_actions
        table = np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1).astype(np.int32)
        strides = np.cumprod((1, *shape[:0:-1]))[::-1].astype(np.int32)
        members = jnp.arange(len(shape))
        legal = jnp.all(spec.legal[members[None, :], :, jnp.asarray(table)], axis=1).T  # [S, J]
        return CQLState(
            tables=init_tables(legal[None], self.initial_q, self._gamma(spec)),
            joint_actions=jnp.asarray(table),
            strides=jnp.asarray(strides),
            member_one_hot=jax.nn.one_hot(table, spec.max_actions, dtype=jnp.float32),
        )

    def _joint_policy(self, state: CQLState, obs: Array) -> Array:
        return behaviour(self.exploration, state.tables, obs[:1])[0]  # [J]; tabular obs: every member sees s

    def policy(self, state: CQLState, obs: Array) -> Array:
        return jnp.einsum("j,jka->ka", self._joint_policy(state, obs), state.member_one_hot)

    def act_uniform(self, u: Array, state: CQLState, obs: Array) -> tuple[Array, Array]:
        probs = self._joint_policy(state, obs)
        return state.joint_actions[sample(u[0], probs)], probs

    def update(self, state: CQLState, batch: Transition) -> tuple[CQLState, dict[str, Array]]:
        j = jnp.sum(batch.actions * state.strides)[None]
        r = TEAM_REWARDS[self.team_reward](batch.rewards)[None]
        tables, td = q_update(
            scheduled(self.step_size), state.tables, batch.obs[:1], j, r, batch.next_obs[:1], batch.terminated
        )
        return state._replace(tables=tables), {"td_error": jnp.broadcast_to(td, batch.obs.shape)}
