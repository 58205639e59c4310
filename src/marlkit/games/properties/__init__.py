"""Game properties and the game-type descriptor: what kind of game this is, decided exactly where possible.

* :mod:`.utility` — zero-sum / constant-sum / common-payoff / general-sum, and cooperative / competitive / mixed;
* :mod:`.symmetry` — symmetric games, weakly homogeneous agents (exact for normal-form games; a sharp sufficient
  tensor test plus sampling for stochastic games);
* :mod:`.team_optimum` — strongly homogeneous agents (common-payoff games, exact);
* :mod:`.dominance` — strictly dominant pure strategies;
* :mod:`.descriptor` — ``describe(game) -> GameType`` and the ``require_*`` checks algorithms run first.

A normal-form game is treated exactly; a stochastic game through its reward, transition and action-mask tensors
(legal joint actions of non-terminal states only). Tolerance 1e-9 throughout (for the utility class times
max(1, largest absolute payoff): one zero-/constant-sum rule, :func:`.utility.constant_sum_total`, shared with the
solvers); sampling uses a fixed seed.
"""

from marlkit.games.properties.descriptor import (
    GameKind,
    GameType,
    describe,
    require_common_payoff,
    require_fully_observable,
    require_normal_form,
    require_players,
    require_two_player_zero_sum,
    require_unconstrained,
)
from marlkit.games.properties.dominance import dominant_strategies
from marlkit.games.properties.symmetry import is_symmetric, sample_policy, weakly_homogeneous
from marlkit.games.properties.team_optimum import optimal_values, strongly_homogeneous
from marlkit.games.properties.utility import (
    Relation,
    Utility,
    UtilityClass,
    constant_sum_total,
    payoff_tolerance,
    utility_class,
)
from marlkit.games.properties.verdict import Method, Verdict

__all__ = [
    "GameKind",
    "GameType",
    "Method",
    "Relation",
    "Utility",
    "UtilityClass",
    "Verdict",
    "constant_sum_total",
    "describe",
    "dominant_strategies",
    "is_symmetric",
    "optimal_values",
    "payoff_tolerance",
    "require_common_payoff",
    "require_fully_observable",
    "require_normal_form",
    "require_players",
    "require_two_player_zero_sum",
    "require_unconstrained",
    "sample_policy",
    "strongly_homogeneous",
    "utility_class",
    "weakly_homogeneous",
]
