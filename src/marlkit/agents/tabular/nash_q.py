"""Nash-Q (Hu & Wellman 2003, "Nash Q-learning for general-sum stochastic games", JMLR 4, Table 1).

Every agent keeps Q_j for all agents j and, after the joint action a = (a_1, a_2) in s with rewards r_j and next
state s', updates

    Q_j(s, a) ← (1 − α) Q_j(s, a) + α [ r_j + γ NashQ_j(s') ],     NashQ_j(s') = π_1(s') π_2(s') · Q_j(s')

where (π_1(s'), π_2(s')) is a Nash equilibrium of the stage game (Q_1(s'), Q_2(s')). Which equilibrium matters:
the convergence theorem (Hu & Wellman 2003, Thm. 17) assumes every stage game met has a global optimum or a
saddle point and all agents pick consistently; in practice the paper (§4.3, §6) selects one by a rule every agent
shares. Here the rule is ``select`` (:data:`marlkit.solve.stage.SELECTION_RULES`): ``"utilitarian"``
(default: the equilibrium found with the largest payoff sum), ``"egalitarian"``, ``"row"``, ``"col"`` or
``"first"``, applied to the equilibria that :func:`marlkit.solve.stage.bimatrix_nash` finds by support
enumeration on equal-size supports (all of them in a non-degenerate game; see its docstring for degenerate ones).
Two players only (the batched solver is bimatrix).

Hu & Wellman's settings: α = 1/n_t(s, a_1, a_2) (``step_size=PowerCount(1.0, 1.0)``) and, in the grid games,
actions chosen uniformly at random during learning (``epsilon=1.0``); the defaults here are those of
:class:`.JointActionQ`. ``stage_error`` is the NashConv of the returned pair in payoff units (0 = an exact
equilibrium; positive when no equal-support equilibrium passed the test and the least-violating candidate was
kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marlkit.agents.tabular.joint_action import (
    Array,
    JointActionQ,
    LearnerConfigError,
    StageSolution,
    StageSolver,
    dominated_payoffs,
    product_solution,
)
from marlkit.games import StochasticGame
from marlkit.schema import setting
from marlkit.solve.stage import SELECTION_RULES, bimatrix_nash


@dataclass(frozen=True)
class NashStage:
    """A Nash equilibrium of the stage game (Q_1(s), Q_2(s)) chosen by ``select``."""

    select: str = "utilitarian"

    def __post_init__(self) -> None:
        if self.select not in SELECTION_RULES:
            raise LearnerConfigError(
                f"NashQ.select: unknown selection rule {self.select!r}; choose one of {', '.join(SELECTION_RULES)}"
            )

    @property
    def correlated(self) -> bool:
        return False

    def __call__(self, q: Array, row_legal: Array, col_legal: Array) -> StageSolution:
        A, B = dominated_payoffs(q, row_legal, col_legal)
        nash = bimatrix_nash(A, B, select=self.select)
        return product_solution(q, nash.row, nash.col, row_legal, col_legal, nash.nash_gap)

    def check(self, game: StochasticGame, learner: str) -> None:
        """Any two-player game (the learner checks the player count)."""


@dataclass(frozen=True)
class NashQ(JointActionQ):
    """Nash-Q (Hu & Wellman 2003, Table 1) with the equilibrium selection rule ``select`` (module docstring)."""

    stage: StageSolver = field(default=NashStage(), init=False)  # replaced from ``select`` on construction
    select: str = setting(
        "utilitarian", doc="which stage equilibrium to follow", choices=SELECTION_RULES, what="selection rule"
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", NashStage(self.select))
        super().__post_init__()


__all__ = ["NashQ", "NashStage"]
