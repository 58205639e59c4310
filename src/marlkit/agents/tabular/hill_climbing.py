"""Policy hill-climbing (PHC) and Win-or-Learn-Fast PHC (Bowling & Veloso 2002, AIJ 136, Tables 1 and 2).

Each agent keeps Q(s, a) and a mixed policy π(s, ·). After taking a in s and observing r, s':

1. Q(s, a) ← (1 − α) Q(s, a) + α (r + γ max_a' Q(s', a'))                          (Table 1, step 2b)
2. WoLF only — C(s) ← C(s) + 1;  π̄(s, a') ← π̄(s, a') + (π(s, a') − π̄(s, a')) / C(s) for all a'   (Table 2, 2c)
   δ = δ_w if Σ_a' π(s, a') Q(s, a') > Σ_a' π̄(s, a') Q(s, a') ("winning") else δ_l, with δ_w < δ_l (Table 2, 2d)
3. π(s, a') ← π(s, a') + Δ_sa' with                                                   (Table 1, step 2c)
       Δ_sa' = −δ_sa'                       if a' is not greedy
               Σ_{a'' not greedy} δ_sa''    split evenly over the greedy actions otherwise,
       δ_sa' = min(π(s, a'), δ / (|A_i(s)| − 1)),

   where |A_i(s)| counts the legal actions. The ``min`` keeps π a distribution over the legal actions (the
   step never leaves the simplex, so no separate projection is needed); with a unique maximiser this is the
   paper's rule exactly, and splitting the gain over ties keeps zero-initialised tables unbiased.

Plain PHC keeps π̄ too (for diagnostics; it does not affect its steps). Exploration: actions are drawn from
``(1 − ε) π(s) + ε · uniform`` ("with suitable exploration", Table 1, 2a); ``policy`` returns that distribution
and ``average_policy`` returns π̄. Schedules: α gets ``(t, n(s, a))``; δ, δ_l and ε get ``(t, C(s))``.
Metrics: ``td_error`` = |δ_TD|, and for WoLF ``winning`` (1 when the δ_w branch was taken).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax.numpy as jnp

from marlkit.agents.tabular.base import (
    AVERAGING_STEP,
    PROBABILITY,
    Array,
    Constant,
    GroupSpec,
    InverseTime,
    LearnerConfigError,
    Schedule,
    Transition,
    UniformActing,
    as_schedule,
    check_initial_policy,
    masked_max,
    mix_uniform,
    sample,
    scheduled,
    uniform_over,
)
from marlkit.agents.tabular.q_learning import QState, init_tables, q_update
from marlkit.games import StochasticGame
from marlkit.schema import setting, validate


class PHCState(NamedTuple):
    tables: QState  # Q [k, S, A_max], visit counts n(s, a) (C(s) = Σ_a n(s, a))
    policy: Array  # [k, S, A_max] π
    average: Array  # [k, S, A_max] π̄


def hill_climb(pi: Array, q: Array, legal: Array, delta: Array) -> Array:
    """One policy-hill-climbing step of π toward the greedy actions of q (Table 1, step 2c); last axis = actions."""
    n_legal = jnp.sum(legal, axis=-1, keepdims=True)
    greedy = legal & (q >= masked_max(q, legal)[..., None])
    loss = jnp.where(legal & ~greedy, jnp.minimum(pi, delta / jnp.maximum(n_legal - 1, 1)), 0.0)
    gain = jnp.sum(loss, axis=-1, keepdims=True) / jnp.sum(greedy, axis=-1, keepdims=True)
    stepped = pi - loss + jnp.where(greedy, gain, 0.0)
    return stepped / jnp.sum(stepped, axis=-1, keepdims=True)  # remove float32 drift of the row sum


BOWLING_VELOSO_ALPHA = InverseTime(10.0, 10000.0)
"""α = 1 / (10 + t/10000): the step size of Bowling & Veloso 2002, §5."""


@dataclass(frozen=True)
class PHC(UniformActing):
    """Policy hill-climbing (Bowling & Veloso 2002, Table 1): Q-learning plus a δ-step of π toward greedy.

    Defaults are the paper's settings (§5): α = 1/(10 + t/10000), δ = 4/(20000 + t), ε = 0.05."""

    step_size: Schedule | float = setting(
        BOWLING_VELOSO_ALPHA, doc="α for Q, called with (t, n(s, a))", **AVERAGING_STEP
    )
    delta: Schedule | float = setting(
        InverseTime(20000.0, 1.0, 4.0), doc="δ, the policy step toward greedy", range=(0, None), open="low"
    )
    epsilon: Schedule | float = setting(0.05, doc="exploration probability", range=(0, 1))
    initial_policy: tuple[float, ...] | None = setting(
        None, doc="one probability per action (null: uniform)", **PROBABILITY
    )
    gamma: float | None = setting(None, doc="discount (null: the game's)", range=(0, 1), open="high", what="a discount")

    joint: ClassVar[bool] = False
    needs_policies: ClassVar[bool] = False

    def __post_init__(self) -> None:
        validate(self, LearnerConfigError)
        name = type(self).__name__
        for field in ("step_size", "delta", "epsilon"):
            object.__setattr__(self, field, as_schedule(getattr(self, field), f"{name}.{field}"))
        if self.initial_policy is not None:
            object.__setattr__(self, "initial_policy", tuple(float(p) for p in self.initial_policy))

    def check(self, game: StochasticGame, agents: tuple[int, ...]) -> None:
        check_initial_policy(self.initial_policy, tuple(game.num_actions[i] for i in agents), type(self).__name__)

    def init(self, key: Array, spec: GroupSpec) -> PHCState:
        gamma = spec.gamma if self.gamma is None else float(self.gamma)
        legal = spec.legal
        if self.initial_policy is None:
            pi = uniform_over(legal)
        else:
            start = jnp.zeros(spec.max_actions).at[: len(self.initial_policy)].set(jnp.asarray(self.initial_policy))
            masked = jnp.where(legal, start, 0.0)
            total = jnp.sum(masked, axis=-1, keepdims=True)  # 0 where the given support is illegal: uniform
            pi = jnp.where(total > 0, masked / jnp.where(total > 0, total, 1.0), uniform_over(legal))
        return PHCState(tables=init_tables(legal, 0.0, gamma), policy=pi, average=pi)

    def _state_count(self, state: PHCState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        return jnp.sum(state.tables.visits[rows, obs], axis=-1, keepdims=True)

    def policy(self, state: PHCState, obs: Array) -> Array:
        rows = jnp.arange(obs.shape[0])
        epsilon = scheduled(self.epsilon)(state.tables.step, self._state_count(state, obs))
        return mix_uniform(state.policy[rows, obs], state.tables.legal[rows, obs], epsilon)

    def average_policy(self, state: PHCState, obs: Array) -> Array:
        return state.average[jnp.arange(obs.shape[0]), obs]

    def act_uniform(self, u: Array, state: PHCState, obs: Array) -> tuple[Array, Array]:
        probs = self.policy(state, obs)
        return sample(u, probs), probs

    def _policy_step(
        self, step: Array, count: Array, pi: Array, average: Array, q: Array
    ) -> tuple[Array, dict[str, Array]]:
        """δ for this update (PHC: a fixed schedule) and any extra metrics."""
        return scheduled(self.delta)(step, count), {}

    def update(self, state: PHCState, batch: Transition) -> tuple[PHCState, dict[str, Array]]:
        rows, s = jnp.arange(batch.obs.shape[0]), batch.obs
        step = state.tables.step
        tables, td = q_update(
            scheduled(self.step_size), state.tables, s, batch.actions, batch.rewards, batch.next_obs, batch.terminated
        )
        q, legal, pi = tables.q[rows, s], tables.legal[rows, s], state.policy[rows, s]
        count = jnp.sum(tables.visits[rows, s], axis=-1, keepdims=True)  # C(s), this visit included
        average = state.average[rows, s] + (pi - state.average[rows, s]) / count
        delta, metrics = self._policy_step(step, count, pi, average, q)
        new_state = PHCState(
            tables=tables,
            policy=state.policy.at[rows, s].set(hill_climb(pi, q, legal, delta)),
            average=state.average.at[rows, s].set(average),
        )
        return new_state, {"td_error": td, **metrics}


@dataclass(frozen=True)
class WoLFPHC(PHC):
    """WoLF-PHC (Bowling & Veloso 2002, Table 2): PHC whose δ is δ_w (``delta``) while winning, else δ_l.

    Defaults are the paper's settings (§5): α = 1/(10 + t/10000), δ_w = 1/(20000 + t), δ_l = 4 δ_w, ε = 0.05."""

    delta: Schedule | float = setting(
        InverseTime(20000.0), doc="δ_w, the policy step toward greedy while winning", range=(0, None), open="low"
    )
    delta_lose: Schedule | float = setting(
        InverseTime(20000.0, 1.0, 4.0), doc="δ_l, the policy step while losing (> δ)", range=(0, None), open="low"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "delta_lose", as_schedule(self.delta_lose, "WoLFPHC.delta_lose"))
        delta, lose = self.delta, self.delta_lose
        if isinstance(delta, Constant) and isinstance(lose, Constant) and not delta.value < lose.value:
            raise LearnerConfigError(
                f"WoLFPHC: needs delta (δ_w = {delta.value}) < delta_lose (δ_l = {lose.value}): "
                "learn fast while losing (Bowling & Veloso 2002, Table 2)"
            )

    def _policy_step(
        self, step: Array, count: Array, pi: Array, average: Array, q: Array
    ) -> tuple[Array, dict[str, Array]]:
        winning = jnp.sum(pi * q, axis=-1, keepdims=True) > jnp.sum(average * q, axis=-1, keepdims=True)
        delta = jnp.where(winning, scheduled(self.delta)(step, count), scheduled(self.delta_lose)(step, count))
        return delta, {"winning": winning[:, 0].astype(jnp.float32)}
