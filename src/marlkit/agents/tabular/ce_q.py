"""CE-Q (Greenwald & Hall 2003, "Correlated-Q learning", ICML, §3 and Table 1).

Joint-action Q-learning in which the value of a state is the players' expected Q under a correlated equilibrium
(Aumann 1974) of the stage game, selected by an objective (Greenwald & Hall 2003, §3, Eqs. 6-9):

    Q_j(s, a) ← (1 − α) Q_j(s, a) + α [ r_j + γ V_j(s') ],     V_j(s') = Σ_a σ(s')(a) Q_j(s', a),

with σ(s') ∈ CE(Q_1(s'), Q_2(s')) maximising

* ``"utilitarian"`` (uCE-Q): the sum of the players' expected Q-values;
* ``"egalitarian"`` (eCE-Q): the minimum of them;
* ``"republican"`` (rCE-Q): the maximum of them;
* ``"libertarian"`` (lCE-Q): each player j its own — player j's value comes from its own CE σ^j; there is no
  common σ, so the agents act on their own marginals (player 1 of σ^1, player 2 of σ^2), independently.

The CE is computed by :func:`marlkit.solve.stage.batched_correlated_equilibrium` (a fixed-iteration interior point LP,
jittable; ``iterations`` is its static iteration count). For the first three objectives the joint action is drawn
from σ(s) itself with one shared random number when the learner controls both agents (Greenwald & Hall assume such
a randomisation device); ``History.joint_counts`` then shows the correlation. ``stage_error`` is the largest
incentive-constraint violation of the returned distribution(s) in payoff units (0 = an exact CE).

Greenwald & Hall's soccer runs used ε-greedy exploration and α decayed to 0.001; the defaults here are those of
:class:`.JointActionQ`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp

from marlkit.agents.tabular.joint_action import (
    Array,
    JointActionQ,
    LearnerConfigError,
    StageSolution,
    StageSolver,
    dominated_payoffs,
    product_solution,
    restrict,
)
from marlkit.games import StochasticGame
from marlkit.schema import setting
from marlkit.solve.stage import OBJECTIVES, batched_correlated_equilibrium


@dataclass(frozen=True)
class CorrelatedStage:
    """A correlated equilibrium of the stage game chosen by a CE-Q ``objective``."""

    objective: str = "utilitarian"
    iterations: int = 30

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise LearnerConfigError(
                f"CEQ.objective: unknown {self.objective!r}; choose one of {', '.join(OBJECTIVES)}"
            )
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1:
            raise LearnerConfigError(f"CEQ.iterations: expected a positive integer, got {self.iterations!r}")

    @property
    def correlated(self) -> bool:
        return self.objective != "libertarian"

    def __call__(self, q: Array, row_legal: Array, col_legal: Array) -> StageSolution:
        A, B = dominated_payoffs(q, row_legal, col_legal)
        ce = batched_correlated_equilibrium(A, B, objective=self.objective, iterations=self.iterations)
        if self.objective == "libertarian":  # σ^1 for player 1, σ^2 for player 2
            own = restrict(ce.distribution[0].sum(1), row_legal), restrict(ce.distribution[1].sum(0), col_legal)
            solution = product_solution(q, *own, row_legal, col_legal, ce.incentive_violation)
            legal = row_legal[:, None] & col_legal[None, :]
            values = jnp.stack(
                [jnp.sum(restrict(ce.distribution[j], legal) * q[j]) for j in (0, 1)]  # each player's own CE
            )
            return solution._replace(values=values)
        sigma = restrict(ce.distribution, row_legal[:, None] & col_legal[None, :])
        return StageSolution(sigma, jnp.einsum("mn,jmn->j", sigma, q), ce.incentive_violation)

    def check(self, game: StochasticGame, learner: str) -> None:
        """Any two-player game (the learner checks the player count)."""


@dataclass(frozen=True)
class CEQ(JointActionQ):
    """CE-Q (Greenwald & Hall 2003) with a CE selection ``objective`` (module docstring)."""

    stage: StageSolver = field(default=CorrelatedStage(), init=False)  # replaced from ``objective`` on construction
    objective: str = setting(
        "utilitarian", doc="the correlated equilibrium selected", choices=tuple(OBJECTIVES), what="objective"
    )
    iterations: int = setting(30, doc="iterations of the batched CE solver", range=(1, None))

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", CorrelatedStage(self.objective, self.iterations))
        super().__post_init__()


__all__ = ["CEQ", "CorrelatedStage"]
