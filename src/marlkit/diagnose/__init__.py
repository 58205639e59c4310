"""Diagnostics of learning runs against exact solutions (reads a History and a game).

:func:`diagnose` judges a run on the six convergence criteria of Albrecht, Christianos & Schäfer (2024),
*Multi-Agent Reinforcement Learning*, §5.2, and returns a :class:`DiagnosisReport` (table, JSON, pictures); the
parts are importable on their own: distances and state weights (``distances``), solution sets
(``solution_sets``), the criteria (``criteria``), the verdict rule (``verdicts``), statistics across seeds
(``seeds``), non-stationarity (``nonstationarity``) and the pictures (``plots``). ``docs/diagnostics.md``
explains them.

Every name below is loaded from its submodule on first use (PEP 562), so ``import marlkit.diagnose`` imports
neither matplotlib nor scipy.stats, and ``marlkit learn`` without ``--diagnose`` does not pay for them. The
function ``nonstationarity`` is not re-exported: bound on the package it would shadow its own submodule
(``import marlkit.diagnose.nonstationarity as m`` would give the function); import it from the submodule.
"""

from __future__ import annotations

from marlkit.registry import lazy_exports

_EXPORTS: dict[str, tuple[str, ...]] = {
    "criteria": ("CRITERION_FUNCTIONS", "DEFAULT_EPS", "evaluate"),
    "curves": ("final_return", "iqm_curve", "metric_curves", "plot_learner_metrics", "plot_returns"),
    "distances": (
        "DISTANCES",
        "STATE_WEIGHTS",
        "default_weights",
        "joint_from_policy",
        "resolve_distance",
        "state_weights",
        "weighted_distance",
    ),
    "nonstationarity": ("Nonstationarity",),
    "plots": (
        "plot_costs",
        "plot_criteria",
        "plot_criterion",
        "plot_nonstationarity",
        "plot_policy_trajectories",
        "plot_seed_fan",
    ),
    "report": ("REPORT_VERSION", "DiagnosisReport", "diagnose"),
    "safety": ("Feasibility", "FeasibilityVerdict", "SafetyReport", "game_safety", "task_safety"),
    "results": ("CRITERIA", "CRITERION_TITLES", "CriterionResult", "SeedVerdict", "TailEvidence", "Verdict"),
    "seeds": ("SeedStatistics", "bootstrap_ci", "iqm", "seed_statistics", "wilson_interval"),
    "solution_sets": (
        "SOLUTION_CONCEPTS",
        "FiniteSolutionSet",
        "NashConvSet",
        "PolytopeSolutionSet",
        "SolutionSet",
        "solution_set",
    ),
    "summary": ("LearningSummary", "summarize"),
    "verdicts": ("VERDICT_RULE", "judge"),
}
"""Submodule -> the public names the package re-exports from it."""

_HOME = {name: module for module, names in _EXPORTS.items() for name in names}


__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())


__all__ = [
    "CRITERIA",
    "CRITERION_FUNCTIONS",
    "CRITERION_TITLES",
    "DEFAULT_EPS",
    "DISTANCES",
    "REPORT_VERSION",
    "SOLUTION_CONCEPTS",
    "STATE_WEIGHTS",
    "VERDICT_RULE",
    "CriterionResult",
    "DiagnosisReport",
    "Feasibility",
    "FeasibilityVerdict",
    "FiniteSolutionSet",
    "LearningSummary",
    "NashConvSet",
    "Nonstationarity",
    "PolytopeSolutionSet",
    "SafetyReport",
    "SeedStatistics",
    "SeedVerdict",
    "SolutionSet",
    "TailEvidence",
    "Verdict",
    "bootstrap_ci",
    "default_weights",
    "diagnose",
    "evaluate",
    "final_return",
    "game_safety",
    "iqm",
    "iqm_curve",
    "joint_from_policy",
    "judge",
    "metric_curves",
    "plot_costs",
    "plot_criteria",
    "plot_criterion",
    "plot_learner_metrics",
    "plot_nonstationarity",
    "plot_policy_trajectories",
    "plot_returns",
    "plot_seed_fan",
    "resolve_distance",
    "seed_statistics",
    "solution_set",
    "state_weights",
    "summarize",
    "task_safety",
    "weighted_distance",
    "wilson_interval",
]
