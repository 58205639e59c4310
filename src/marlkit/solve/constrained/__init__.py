"""Exact solutions of constrained (safe) Markov games: float64 occupancy-measure LPs through SciPy's HiGHS.

* :func:`constrained_optimum` — the team's correlated optimum under every agent's cost limits, with λ* and the
  unconstrained optimum beside it (Altman 1999, §3);
* :func:`best_feasible_response`, :func:`constrained_nash_conv` — each agent's best deviation among the policies
  that meet its own limits, and the sum of the gains (zero exactly at a constrained Nash equilibrium).
"""

from marlkit.solve.constrained.nash_conv import (
    ConstrainedNashConv,
    FeasibleResponse,
    best_feasible_response,
    constrained_nash_conv,
)
from marlkit.solve.constrained.optimum import ConstrainedOptimum, constrained_optimum

__all__ = [
    "ConstrainedNashConv",
    "ConstrainedOptimum",
    "FeasibleResponse",
    "best_feasible_response",
    "constrained_nash_conv",
    "constrained_optimum",
]
