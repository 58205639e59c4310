"""Exact robust solutions (NumPy float64, SciPy HiGHS) of the two threat models of :mod:`marlkit.games.uncertainty`.

* :mod:`.inner` — closed-form inner minimisations over L1 / L∞ transition balls (Iyengar 2005; Nilim & El
  Ghaoui 2005);
* :mod:`.model` — model uncertainty: robust policy evaluation, the robust team optimum, robust Shapley value
  iteration and the robust Bellman operators (Zhang et al. 2020, NeurIPS);
* :mod:`.state_adversary` — state uncertainty: the optimal state adversary against a fixed joint policy, solved
  exactly as an MDP, and the random-perception baseline (Zhang et al. 2020 SA-MDP; Han et al. 2024, TMLR);
* :mod:`.robust_policy` — the robust (max-min) agent policy over stochastic policies: an LP where the structure
  allows, certified lower and upper bounds otherwise, and the best deterministic policy beside it.
"""

from marlkit.solve.robust.inner import worst_distribution, worst_expectation
from marlkit.solve.robust.model import (
    RobustSolution,
    RobustValues,
    robust_bellman,
    robust_policy_evaluation,
    robust_shapley,
    robust_team_optimum,
)
from marlkit.solve.robust.robust_policy import (
    DeterministicRobustPolicy,
    RobustPolicyResult,
    deterministic_robust_policy,
    robust_agent_policy,
    unattacked_best_response,
)
from marlkit.solve.robust.state_adversary import (
    AdversaryResult,
    objective_weights,
    perceived_joint,
    random_perception_evaluation,
    worst_case_evaluation,
)

__all__ = [
    "AdversaryResult",
    "DeterministicRobustPolicy",
    "RobustPolicyResult",
    "RobustSolution",
    "RobustValues",
    "deterministic_robust_policy",
    "objective_weights",
    "perceived_joint",
    "random_perception_evaluation",
    "robust_agent_policy",
    "robust_bellman",
    "robust_policy_evaluation",
    "robust_shapley",
    "robust_team_optimum",
    "unattacked_best_response",
    "worst_case_evaluation",
    "worst_distribution",
    "worst_expectation",
]
