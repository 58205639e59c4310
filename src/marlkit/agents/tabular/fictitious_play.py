"""Fictitious play (FP) and smooth (stochastic) fictitious play in repeated games.

**Fictitious play** (Brown 1951; Robinson 1951; Fudenberg & Levine 1998, *The Theory of Learning in Games*,
ch. 2). Agent i counts the actions every other agent has played, C_j(a_j), forms the belief that the others play
the **product of their empirical marginals**, γ_i(a_-i) = Π_{j≠i} C_j(a_j) / t, and plays a best response:

    a_i^{t+1} ∈ argmax_{a_i} Σ_{a_-i} u_i(a_i, a_-i) γ_i^t(a_-i)                      (Fudenberg & Levine 1998, ch. 2)

Ties (including the first play, before any count) are broken **uniformly at random** over the maximisers, so
``policy`` is pure except at exact ties. The expected payoffs are computed from integer counts (then divided),
so in integer-payoff games exact ties are recognised exactly. ``average_policy`` is the empirical frequency of
the agent's own actions C_i(a_i) / t — the quantity Robinson (1951) proves converges to the equilibrium set in
two-player zero-sum games, and the one diagnostics read.

**Smooth fictitious play** (Fudenberg & Kreps 1993; Fudenberg & Levine 1998, ch. 4): the best response is
replaced by the logit (Boltzmann) response with temperature τ,

    π_i^{t+1}(a_i) ∝ exp( Σ_{a_-i} u_i(a_i, a_-i) γ_i^t(a_-i) / τ ),

whose rest points are the logit quantal-response equilibria (McKelvey & Palfrey 1995) with λ = 1/τ.
``temperature`` is a schedule called with ``(t, n(s))``.

FP needs the payoffs of actions it did not play, so it is built with the game: ``FictitiousPlay(game)`` (see
:class:`~marlkit.agents.tabular.agent_modelling.StagePayoffs`). It runs on a repeated normal-form game and,
per state with the state's immediate payoffs, on a multi-state game with discount 0; a multi-state game with
discount > 0 is rejected by ``check`` (its natural extension is :class:`~marlkit.agents.tabular.JALAM`).
Counts are kept per state, in the state every agent observes. No metrics are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.agent_modelling import (
    Others,
    StagePayoffs,
    as_payoffs,
    check_stage_learner,
    count_joint_action,
    frequencies,
    others_index,
    product_belief,
)
from marlkit.agents.tabular.base import (
    Array,
    Boltzmann,
    Constant,
    Greedy,
    GroupSpec,
    LearnerConfigError,
    Schedule,
    Transition,
    UniformActing,
    as_schedule,
    learner_arrays,
    sample,
    scheduled,
)
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.schema import setting, validate


class FPState(NamedTuple):
    counts: Array  # [n, S, A_max] float32: C_j(s, a_j) for every agent (own counts give the average policy)
    payoffs: Array  # [k, S, A_max, J] float32: u_i(s, a_i, a_-i)
    legal: Array  # [k, S, A_max] bool
    others: Others
    step: Array  # [] int32


@dataclass(frozen=True)
class FictitiousPlay(UniformActing):
    """Fictitious play: best response (uniform over ties) to the product of the others' empirical marginals."""

    payoffs: StagePayoffs | NormalFormGame | StochasticGame | None = None

    joint: ClassVar[bool] = False
    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "payoffs", as_payoffs(self.payoffs, type(self).__name__))

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        check_stage_learner(type(self).__name__, self.payoffs, game, agents)

    def arrays(self, spec: GroupSpec) -> np.ndarray:
        """The controlled agents' payoff tables ``[k, S, A_max, J]`` (inputs of the compiled program)."""
        assert isinstance(self.payoffs, StagePayoffs)  # check() ran at the edge
        return self.payoffs.tables(spec.agents, spec.max_actions)

    def init(self, key: Array, spec: GroupSpec) -> FPState:
        return FPState(
            counts=jnp.zeros((spec.n_agents, spec.num_states, spec.max_actions), dtype=jnp.float32),
            payoffs=jnp.asarray(learner_arrays(self, spec)),
            legal=jnp.asarray(spec.legal, dtype=bool),
            others=others_index(spec.agents, spec.n_agents, spec.max_actions),
            step=jnp.int32(0),
        )

    def expected_payoffs(self, state: FPState, obs: Array) -> Array:
        """``[k, A_max]``: Σ_{a_-i} u_i(s, a_i, a_-i) γ_i(a_-i) against the empirical beliefs (0 before any play)."""
        counts = jnp.moveaxis(state.counts[:, obs], 1, 0)  # [k, n, A_max]
        weights = product_belief(state.others, counts)  # Π_j C_j(a_j): integer-exact, unnormalised
        rows = jnp.arange(obs.shape[0])
        total = jnp.prod(jnp.sum(counts, axis=-1)[rows[:, None], state.others.ids], axis=-1, keepdims=True)
        values = jnp.einsum("kaj,kj->ka", state.payoffs[rows, obs], weights)
        return values / jnp.maximum(total, 1.0)

    def respond(self, values: Array, legal: Array, step: Array, count: Array) -> Array:
        """The response to the expected payoffs: a best response, ties split uniformly."""
        return Greedy()(values, legal, step, count)

    def policy(self, state: FPState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        count = jnp.sum(state.counts[state.others.own, obs], axis=-1, keepdims=True)  # n(s)
        return self.respond(self.expected_payoffs(state, obs), state.legal[rows, obs], state.step, count)

    def average_policy(self, state: FPState, obs: Array) -> Array:
        own = state.counts[state.others.own, obs]  # [k, A_max]
        legal = state.legal[jnp.arange(obs.shape[0]), obs]
        return jnp.where(jnp.sum(own, -1, keepdims=True) > 0, frequencies(own), frequencies(legal.astype(jnp.float32)))

    def act_uniform(self, u: Array, state: FPState, obs: Array) -> tuple[Array, Array]:
        probs = self.policy(state, obs)
        return sample(u, probs), probs

    def update(self, state: FPState, batch: Transition) -> tuple[FPState, dict[str, Array]]:
        counts = count_joint_action(state.counts, batch.obs[0], batch.joint_actions)
        return state._replace(counts=counts, step=state.step + 1), {}


@dataclass(frozen=True)
class SmoothFictitiousPlay(FictitiousPlay):
    """Smooth (stochastic) fictitious play: logit response with temperature τ to the empirical beliefs."""

    temperature: Schedule | float = setting(0.1, doc="τ of the smoothed best response", range=(0, None), open="low")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "temperature", as_schedule(self.temperature, "SmoothFictitiousPlay.temperature"))
        if isinstance(self.temperature, Constant) and not self.temperature.value > 0:
            raise LearnerConfigError(
                f"SmoothFictitiousPlay.temperature: expected τ > 0, got {self.temperature.value}; "
                "use FictitiousPlay for the best response (τ -> 0)"
            )
        validate(self, LearnerConfigError)  # every declared range (a schedule over all its values; issue 15)

    def respond(self, values: Array, legal: Array, step: Array, count: Array) -> Array:
        return Boltzmann(scheduled(self.temperature))(values, legal, step, count)
