"""Solution concepts on exact game models (NumPy, float64; LPs through SciPy's HiGHS).

Metrics (utilities, best responses, NashConv, exploitability, CE/CCE gaps) are separate from solvers (Nash,
minimax, Shapley value iteration, correlated equilibria, Pareto fronts), as in OpenSpiel. The jittable JAX
stage-game solvers for learners (float32 by default) live in the sub-package :mod:`marlkit.solve.stage`; exact
solutions of constrained (safe) games in :mod:`marlkit.solve.constrained`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marlkit.registry import lazy_exports

if TYPE_CHECKING:  # the type checker sees the names; at run time each loads with its submodule on first use
    from marlkit.solve.best_response import (
        PolicyBestResponse,
        PureBestResponse,
        best_response,
        best_response_values,
        deviation_payoffs,
        exploitability,
        nash_conv,
        regrets,
    )
    from marlkit.solve.constrained import (
        ConstrainedNashConv,
        ConstrainedOptimum,
        ProductOptimum,
        best_feasible_response,
        best_product_policy,
        constrained_correlated_equilibrium,
        constrained_nash_conv,
        constrained_optimum,
        markov_constrained_ce_gaps,
    )
    from marlkit.solve.correlated import (
        CorrelatedSolution,
        cce_constraints,
        ce_constraints,
        coarse_correlated_equilibrium,
        correlated_equilibrium,
    )
    from marlkit.solve.gaps import cce_gap, ce_gap
    from marlkit.solve.lemke_howson import lemke_howson, lemke_howson_all_labels
    from marlkit.solve.n_player import mixed_equilibrium, pure_equilibria
    from marlkit.solve.nash import nash_equilibria
    from marlkit.solve.pareto import is_pareto_dominated, pareto_front_correlated, pareto_front_pure
    from marlkit.solve.results import Equilibrium, EquilibriumSet
    from marlkit.solve.selection import CRITERIA, Selection, select_equilibrium
    from marlkit.solve.shapley import shapley_value_iteration
    from marlkit.solve.vertex_enumeration import all_equilibria
    from marlkit.solve.welfare import WELFARE, egalitarian, nash_product, utilitarian
    from marlkit.solve.zero_sum import maximin, security_strategies, solve_matrix_game

_HOME = {
    "PolicyBestResponse": "best_response",
    "PureBestResponse": "best_response",
    "best_response": "best_response",
    "best_response_values": "best_response",
    "deviation_payoffs": "best_response",
    "exploitability": "best_response",
    "nash_conv": "best_response",
    "regrets": "best_response",
    "ConstrainedNashConv": "constrained",
    "ConstrainedOptimum": "constrained",
    "ProductOptimum": "constrained",
    "best_feasible_response": "constrained",
    "best_product_policy": "constrained",
    "constrained_correlated_equilibrium": "constrained",
    "constrained_nash_conv": "constrained",
    "constrained_optimum": "constrained",
    "markov_constrained_ce_gaps": "constrained",
    "CorrelatedSolution": "correlated",
    "cce_constraints": "correlated",
    "ce_constraints": "correlated",
    "coarse_correlated_equilibrium": "correlated",
    "correlated_equilibrium": "correlated",
    "cce_gap": "gaps",
    "ce_gap": "gaps",
    "lemke_howson": "lemke_howson",
    "lemke_howson_all_labels": "lemke_howson",
    "mixed_equilibrium": "n_player",
    "pure_equilibria": "n_player",
    "nash_equilibria": "nash",
    "is_pareto_dominated": "pareto",
    "pareto_front_correlated": "pareto",
    "pareto_front_pure": "pareto",
    "Equilibrium": "results",
    "EquilibriumSet": "results",
    "CRITERIA": "selection",
    "Selection": "selection",
    "select_equilibrium": "selection",
    "shapley_value_iteration": "shapley",
    "all_equilibria": "vertex_enumeration",
    "WELFARE": "welfare",
    "egalitarian": "welfare",
    "nash_product": "welfare",
    "utilitarian": "welfare",
    "maximin": "zero_sum",
    "security_strategies": "zero_sum",
    "solve_matrix_game": "zero_sum",
}
"""Re-exported name -> the submodule that defines it: importing :mod:`marlkit.solve.stage` or one solver does not
import SciPy and every other solver."""

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())

__all__ = [
    "CRITERIA",
    "WELFARE",
    "ConstrainedNashConv",
    "ConstrainedOptimum",
    "CorrelatedSolution",
    "Equilibrium",
    "EquilibriumSet",
    "PolicyBestResponse",
    "ProductOptimum",
    "PureBestResponse",
    "Selection",
    "all_equilibria",
    "best_feasible_response",
    "best_product_policy",
    "best_response",
    "best_response_values",
    "cce_constraints",
    "cce_gap",
    "ce_constraints",
    "ce_gap",
    "coarse_correlated_equilibrium",
    "constrained_correlated_equilibrium",
    "constrained_nash_conv",
    "constrained_optimum",
    "correlated_equilibrium",
    "deviation_payoffs",
    "egalitarian",
    "exploitability",
    "is_pareto_dominated",
    "lemke_howson",
    "lemke_howson_all_labels",
    "markov_constrained_ce_gaps",
    "maximin",
    "mixed_equilibrium",
    "nash_conv",
    "nash_equilibria",
    "nash_product",
    "pareto_front_correlated",
    "pareto_front_pure",
    "pure_equilibria",
    "regrets",
    "security_strategies",
    "select_equilibrium",
    "shapley_value_iteration",
    "solve_matrix_game",
    "utilitarian",
]
