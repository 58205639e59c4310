"""Exact solutions of constrained (safe) Markov games: float64 occupancy-measure LPs through SciPy's HiGHS.

* :func:`constrained_optimum` — the team's correlated optimum under every agent's cost limits, with λ* and the
  unconstrained optimum beside it (Altman 1999, §3).
"""

from marlkit.solve.constrained.optimum import ConstrainedOptimum, constrained_optimum

__all__ = ["ConstrainedOptimum", "constrained_optimum"]
