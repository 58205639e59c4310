"""A learned state adversary for the compiled tabular loop: training against state perturbations.

A state-adversarial stochastic game (Zhang et al. 2020, "Robust deep RL against adversarial perturbations on state
observations", NeurIPS, the SA-MDP; Han et al. 2024, "What is the solution for state-adversarial multi-agent
RL?", TMLR) lets an adversary ν replace, for every attacked agent j, the state agent j perceives by
``ŝ_j ∈ B^j(s)`` (:class:`~marlkit.games.uncertainty.StateUncertainty`); agent j acts with ``π_j(· | ŝ_j)``
while the env moves and pays from the true s. For a fixed joint policy π the adversary faces an MDP over the true
states whose actions are the choices ``c = (ŝ_j)_{j attacked}``, with reward −(team reward) (Zhang et al. 2020,
Lemma 1: the optimal adversary of a fixed policy is an optimal policy of an MDP; the multi-agent version in Han
et al. 2024):

    Q_ν(s, c) ← Q_ν(s, c) + α [ −r̄ + γ max_{c' ∈ C(s')} Q_ν(s', c') − Q_ν(s, c) ]     (Watkins & Dayan 1992)

with ``r̄`` the mean of the agents' rewards (the common reward in a common-payoff game) or ``Σ_i w_i r_i``, no
bootstrap at a terminal s', and C(s) = Π_j B^j(s). It plays ε-greedily over the allowed choices of the true state.

:class:`StateAdversary` is that learner's frozen hyper-parameters (hashable **by value**: plans and the jit caches
compare it by value). :func:`marlkit.train.prepare` takes it (``adversary=``); the loop then

* shows every learner the perceived states (``obs`` = perception of s, ``next_obs`` = perception of s', and the next
  step acts on that same perception of s'; after an auto-reset, a fresh perception of the reset state), and the
  learners act and update on them — training against perturbations in the spirit of ATLA (Zhang, Chen, Boning &
  Hsieh 2021, "Robust RL on state observations with learned optimal adversary", ICLR);
* ``schedule="alternating"``: for ``period`` steps the agents learn while the adversary is frozen, then for
  ``period`` steps the adversary learns while the agents are frozen, and so on (ATLA's alternation; both always
  act — the agents on perturbed states); ``"simultaneous"``: both learn every step.

The adversary draws its random numbers from the window's block of uniforms (two per step: the choice for s', and
one for the reset state), so a run stays a pure function of its key and resumes bit for bit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.agents.tabular.base import (
    AVERAGING_STEP,
    EpsilonGreedy,
    LearnerConfigError,
    PowerCount,
    Schedule,
    as_schedule,
    sample,
    scheduled,
)
from marlkit.agents.tabular.q_learning import QState, behaviour, init_tables, q_update
from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.games.uncertainty import StateUncertainty, uncertainty_to_dict
from marlkit.schema import setting, validate

Array = jax.Array

SCHEDULES = ("alternating", "simultaneous")
"""How the agents' and the adversary's learning interleave."""

MAX_TABLE = 2**22
"""Largest adversary table ``S x Π_j S`` (states x choices) the loop accepts."""


class AdversaryState(NamedTuple):
    """The adversary's Q-table over (true state, choice) and its current choice."""

    tables: QState  # q [1, S, C], visits n(s, c), legal [1, S, C]
    choice: Array  # [] int32: the choice c shown at the current state


@dataclass(frozen=True, eq=False)
class StateAdversary:
    """A tabular ε-greedy Q-learning state adversary (module docstring); hashable and compared by value."""

    uncertainty: StateUncertainty = setting(doc="the sets B^j(s) the adversary may show attacked agent j")
    schedule: str = setting("alternating", doc="alternating or simultaneous learning", choices=SCHEDULES)
    period: int = setting(1000, doc="steps per phase of the alternating schedule", range=(1, None))
    step_size: Schedule | float = setting(PowerCount(1.0, 0.7), doc="α, called with (t, n(s, c))", **AVERAGING_STEP)
    epsilon: Schedule | float = setting(0.1, doc="exploration probability, called with (t, n(s))", range=(0, 1))
    weights: tuple[float, ...] | None = setting(None, doc="agent weights w of the team reward (null: the mean)")

    def __post_init__(self) -> None:
        if not isinstance(self.uncertainty, StateUncertainty):
            raise LearnerConfigError(
                f"StateAdversary.uncertainty: expected a StateUncertainty, got {type(self.uncertainty).__name__}"
            )
        validate(self, LearnerConfigError)
        for field in ("step_size", "epsilon"):
            object.__setattr__(self, field, as_schedule(getattr(self, field), f"StateAdversary.{field}"))
        if self.weights is not None:
            weights = tuple(float(w) for w in self.weights)
            if len(weights) != self.uncertainty.n_agents or not all(np.isfinite(weights)):
                raise LearnerConfigError(
                    f"StateAdversary.weights: expected {self.uncertainty.n_agents} finite numbers (one per agent), "
                    f"got {self.weights!r}"
                )
            object.__setattr__(self, "weights", weights)

    # ------------------------------------------------------------------------------------------ by value
    def _key(self) -> tuple[Any, ...]:
        u = self.uncertainty
        return (u.allowed.shape, u.allowed.tobytes(), u.attacked, self.schedule, self.period, self.step_size,
                self.epsilon, self.weights)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StateAdversary) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    # ------------------------------------------------------------------------------------------- static
    @property
    def choices(self) -> np.ndarray:
        """``[C, M]`` the perceived state of each attacked agent under each choice c (C = S^M, C order)."""
        S, M = self.uncertainty.num_states, len(self.uncertainty.attacked)
        return np.array(list(itertools.product(range(S), repeat=M)), dtype=np.int32).reshape(S**M, M)

    @property
    def legal(self) -> np.ndarray:
        """``[S, C]`` whether choice c is allowed in true state s (every ŝ_j ∈ B^j(s))."""
        u, choices = self.uncertainty, self.choices
        attacked = np.asarray(u.attacked, dtype=np.int64)
        ok = np.ones((u.num_states, len(choices)), dtype=bool)
        for m, j in enumerate(attacked):
            ok &= u.allowed[j][:, choices[:, m]]
        return ok

    def check(self, game: Any) -> None:
        """Raise :class:`InvalidGameError` unless the sets fit ``game`` (fully observable, same agents and states),
        and :class:`NotApplicableError` if the table of choices is too large."""
        self.uncertainty.check_against(game)
        if not self.uncertainty.attacked:
            raise InvalidGameError("adversary: the state uncertainty attacks no agent; give B^j(s) for some agent j")
        S, M = self.uncertainty.num_states, len(self.uncertainty.attacked)
        if S * S**M > MAX_TABLE:
            raise NotApplicableError(
                f"adversary: {M} attacked agents over {S} states give {S**M} choices per state; the table "
                f"(states x choices) would exceed {MAX_TABLE} entries — attack fewer agents"
            )

    def describe(self) -> dict[str, Any]:
        """A JSON-able description (``History.meta["adversary"]``)."""
        return {
            "type": "state",
            "uncertainty": uncertainty_to_dict(self.uncertainty),
            "schedule": self.schedule,
            "period": self.period,
            "step_size": repr(self.step_size),
            "epsilon": repr(self.epsilon),
            "weights": None if self.weights is None else list(self.weights),
        }

    # ------------------------------------------------------------------------------------------ compiled
    def init(self, gamma: float) -> AdversaryState:
        """The adversary before its first step (Q = 0, choice 0 until :meth:`choose` sets one)."""
        return AdversaryState(tables=init_tables(jnp.asarray(self.legal)[None], 0.0, gamma), choice=jnp.int32(0))

    def choose(self, u: Array, state: AdversaryState, s: Array) -> Array:
        """The choice c at true state s, ε-greedy over the allowed choices, drawn by inverse CDF from ``u``."""
        probs = behaviour(EpsilonGreedy(scheduled(self.epsilon)), state.tables, s[None])[0]
        return sample(u, probs)

    def perceive(self, s: Array, c: Array, n_agents: int) -> Array:
        """The states ``[n]`` the agents perceive: s, with attacked agent j's replaced by ``choices[c, j]``."""
        attacked = np.asarray(self.uncertainty.attacked, dtype=np.int32)
        return jnp.full((n_agents,), s, jnp.int32).at[attacked].set(jnp.asarray(self.choices)[c])

    def phases(self, t: Array) -> tuple[Array | None, Array | None]:
        """``(agents learn, adversary learns)`` at step ``t`` (bool scalars); ``(None, None)`` when both always
        learn (simultaneous)."""
        if self.schedule == "simultaneous":
            return None, None
        adversary_phase = (t // self.period) % 2 == 1
        return ~adversary_phase, adversary_phase

    def reward(self, rewards: Array) -> Array:
        """The adversary's reward −r̄ from the agents' rewards ``[n]``."""
        if self.weights is None:
            return -jnp.mean(rewards)
        return -jnp.sum(jnp.asarray(self.weights, jnp.float32) * rewards)

    def update(
        self, state: AdversaryState, learn: Array | None, s: Array, rewards: Array, s_next: Array, terminated: Array
    ) -> AdversaryState:
        """One Q-learning step on (s, c, −r̄, s'); skipped (``lax.cond``) where ``learn`` is False."""

        def step() -> QState:
            return q_update(
                scheduled(self.step_size),
                state.tables,
                s[None],
                state.choice[None],
                self.reward(rewards)[None],
                s_next[None],
                terminated,
            )[0]

        tables = step() if learn is None else jax.lax.cond(learn, step, lambda: state.tables)
        return state._replace(tables=tables)


__all__ = ["MAX_TABLE", "SCHEDULES", "AdversaryState", "StateAdversary"]
