"""Minimax-Q (Littman 1994, "Markov games as a framework for multi-agent reinforcement learning", ICML, Fig. 1).

For a two-player zero-sum stochastic game, after the joint action (a, o) in s with reward r and next state s':

    Q(s, a, o) ← (1 − α) Q(s, a, o) + α [ r + γ V(s') ]
    π(s, ·)    ← argmax_{π'} min_{o'} Σ_{a'} π'(a') Q(s, a', o')        (solved for s after its update)
    V(s)       ← min_{o'} Σ_{a'} π(s, a') Q(s, a', o')

with Q the row player's table (the column player's is −Q). Here the maximin π and the column player's minimax
strategy come from :func:`marlkit.solve.stage.zero_sum_value` (exact support enumeration, jittable), each
moved toward uniform as far as it stays optimal (:func:`toward_uniform`, the tie-break among optimal strategies),
and the stored stage solution is their product; V_j(s) = π^T Q_j(s) y (= the game value of Q(s) at an exact solution).
Both players' tables are learned from their own rewards (in a zero-sum game Q_2 = −Q_1 exactly, float negation
being exact); a constant-sum game is accepted too (V_2 is then player 2's payoff under the same pair).

Littman's settings: explor = 0.2 (``epsilon=0.2``, the default here), α decayed by 0.9999954 per step from 1
(``step_size=ExponentialDecay(1.0, 0.9999954)``), Q and V initialised to 1 (``initial_q=1.0``), 10^6 steps.
The default step size here is count-based, n(s, a, o)^-0.7 (see :class:`.JointActionQ`).

``stage_error`` is the certified gap ``max_i (A y)_i − min_j (x^T A)_j`` >= 0 of the returned pair (0 = exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp

from marlkit.agents.tabular.joint_action import (
    Array,
    JointActionQ,
    StageSolution,
    StageSolver,
    product_solution,
    zero_sum_payoffs,
)
from marlkit.games import StochasticGame
from marlkit.games.properties import require_two_player_zero_sum
from marlkit.solve.stage import zero_sum_value


def toward_uniform(x: Array, A: Array, legal: Array) -> Array:
    """The point of the segment from a maximin strategy ``x`` of ``A [m, n]`` (the maximiser's payoffs) to the
    uniform strategy over ``legal`` rows that is closest to uniform while guaranteeing what ``x`` guarantees.

    With a = x^T A, b = u^T A and the guarantee g = min_j a_j, x + λ (u − x) guarantees g iff
    λ (a_j − b_j) <= a_j − g for every column j, so λ = min over {j : b_j < g} of (a_j − g) / (a_j − b_j) (1 if
    none). The set of maximin strategies is convex, so the result is maximin too. This is the tie-break among
    optimal strategies: a degenerate stage game (all Q-values equal, as before the first update) gets the uniform
    strategy (Littman's initial π) instead of the solver's first pure vertex, which in soccer pins both players
    to a wall and starves exploration.
    """
    u = legal / jnp.sum(legal)
    a, b = x @ A, u @ A
    guarantee = jnp.min(a)
    short = b < guarantee
    ratios = jnp.where(short, (a - guarantee) / jnp.where(short, a - b, 1.0), 1.0)
    lam = jnp.clip(jnp.min(ratios), 0.0, 1.0)
    return x + lam * (u - x)


@dataclass(frozen=True)
class MinimaxStage:
    """The maximin/minimax pair of the zero-sum stage game Q_1(s) (Littman 1994, Fig. 1)."""

    @property
    def correlated(self) -> bool:
        return False

    def __call__(self, q: Array, row_legal: Array, col_legal: Array) -> StageSolution:
        A = zero_sum_payoffs(q[0], row_legal, col_legal)
        solution = zero_sum_value(A)
        row = toward_uniform(solution.row, A, row_legal)
        col = toward_uniform(solution.col, -A.T, col_legal)
        gap = jnp.max(A @ col) - jnp.min(row @ A)
        return product_solution(q, row, col, row_legal, col_legal, jnp.maximum(gap, 0.0))

    def check(self, game: StochasticGame, learner: str) -> None:
        require_two_player_zero_sum(
            game,
            f"{learner} (minimax-Q)",
            allow_constant_sum=True,
            instead="For general-sum games use NashQ (a Nash equilibrium of the stage game) or CEQ (a correlated "
            "equilibrium).",
        )


@dataclass(frozen=True)
class MinimaxQ(JointActionQ):
    """Minimax-Q (Littman 1994, Fig. 1): joint-action Q-learning whose stage solution is the minimax pair."""

    stage: StageSolver = field(default=MinimaxStage(), init=False)


__all__ = ["MinimaxQ", "MinimaxStage"]
