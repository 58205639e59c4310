"""Exact solutions of constrained (safe) Markov games: float64 occupancy-measure LPs through SciPy's HiGHS.

* :func:`constrained_optimum` — the team's correlated optimum under every agent's cost limits, with λ* and the
  unconstrained optimum beside it (Altman 1999, §3);
* :func:`best_feasible_response`, :func:`constrained_nash_conv` — each agent's best deviation among the policies
  that meet its own limits, and the sum of the gains (zero exactly at a constrained Nash equilibrium);
* :func:`best_product_policy` — the best decentralised (product) policy: exact for one-state 2x2 games, a labelled
  lower bound otherwise, beside the correlated optimum it cannot exceed;
* :func:`constrained_correlated_equilibrium`, :func:`constrained_ce_gaps` — constrained correlated equilibria of
  one-state games (certified; exact where a certificate exists, else a labelled lower bound);
  :func:`markov_constrained_ce_gaps` — the exact constrained-CE gap of any correlated joint policy of a Markov game.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marlkit.registry import lazy_exports

if TYPE_CHECKING:  # the type checker sees the names; at run time each loads with its submodule on first use
    from marlkit.solve.constrained.correlated import (
        ConstrainedCorrelatedEquilibrium,
        constrained_ce_gaps,
        constrained_correlated_equilibrium,
    )
    from marlkit.solve.constrained.markov_gap import markov_constrained_ce_gaps
    from marlkit.solve.constrained.nash_conv import (
        ConstrainedNashConv,
        FeasibleResponse,
        best_feasible_response,
        constrained_nash_conv,
    )
    from marlkit.solve.constrained.optimum import ConstrainedOptimum, constrained_optimum, require_feasible
    from marlkit.solve.constrained.product import ProductOptimum, best_product_policy

_HOME = {
    "ConstrainedCorrelatedEquilibrium": "correlated",
    "constrained_ce_gaps": "correlated",
    "constrained_correlated_equilibrium": "correlated",
    "markov_constrained_ce_gaps": "markov_gap",
    "ConstrainedNashConv": "nash_conv",
    "FeasibleResponse": "nash_conv",
    "best_feasible_response": "nash_conv",
    "constrained_nash_conv": "nash_conv",
    "ConstrainedOptimum": "optimum",
    "constrained_optimum": "optimum",
    "require_feasible": "optimum",
    "ProductOptimum": "product",
    "best_product_policy": "product",
}
"""Re-exported name -> the submodule that defines it: importing one module (the CLI imports ``report``) does not
import SciPy and every LP."""

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())

__all__ = [
    "ConstrainedCorrelatedEquilibrium",
    "ConstrainedNashConv",
    "ConstrainedOptimum",
    "FeasibleResponse",
    "ProductOptimum",
    "best_feasible_response",
    "best_product_policy",
    "constrained_ce_gaps",
    "constrained_correlated_equilibrium",
    "constrained_nash_conv",
    "constrained_optimum",
    "markov_constrained_ce_gaps",
    "require_feasible",
]
