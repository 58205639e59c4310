"""Tabular learners under one contract (see :mod:`marlkit.agents.tabular.base`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from marlkit.registry import lazy_exports

if TYPE_CHECKING:  # the type checker sees the names; at run time each loads with its submodule on first use
    from marlkit.agents.tabular.agent_modelling import JALAM
    from marlkit.agents.tabular.base import (
        Boltzmann,
        Constant,
        EpsilonBoltzmann,
        EpsilonGreedy,
        Exploration,
        ExponentialDecay,
        Greedy,
        GroupSpec,
        InverseTime,
        Learner,
        LearnerConfigError,
        PowerCount,
        Schedule,
        Transition,
    )
    from marlkit.agents.tabular.ce_q import CEQ, CorrelatedStage
    from marlkit.agents.tabular.fictitious_play import FictitiousPlay, SmoothFictitiousPlay
    from marlkit.agents.tabular.gradient_ascent import IGA, WoLFIGA, iga_trajectory, wolf_iga_trajectory
    from marlkit.agents.tabular.hill_climbing import PHC, WoLFPHC
    from marlkit.agents.tabular.joint_action import JointActionQ, StageSolution, StageSolver
    from marlkit.agents.tabular.lagrangian import Lagrangian
    from marlkit.agents.tabular.minimax_q import MinimaxQ, MinimaxStage
    from marlkit.agents.tabular.nash_q import NashQ, NashStage
    from marlkit.agents.tabular.no_regret import ConditionalRegretMatching, Hedge, RegretMatching
    from marlkit.agents.tabular.q_learning import CQL, IQL
    from marlkit.agents.tabular.registry import LEARNERS, make_learner
    from marlkit.agents.tabular.replicator import (
        Replicator,
        replicator_ode,
        replicator_trajectory,
        replicator_velocity,
        symmetric_replicator_trajectory,
    )
    from marlkit.agents.tabular.robust_q import RobustQ

_HOME = {
    "JALAM": "agent_modelling",
    "Boltzmann": "base",
    "Constant": "base",
    "EpsilonBoltzmann": "base",
    "EpsilonGreedy": "base",
    "Exploration": "base",
    "ExponentialDecay": "base",
    "Greedy": "base",
    "GroupSpec": "base",
    "InverseTime": "base",
    "Learner": "base",
    "LearnerConfigError": "base",
    "PowerCount": "base",
    "Schedule": "base",
    "Transition": "base",
    "CEQ": "ce_q",
    "CorrelatedStage": "ce_q",
    "FictitiousPlay": "fictitious_play",
    "SmoothFictitiousPlay": "fictitious_play",
    "IGA": "gradient_ascent",
    "WoLFIGA": "gradient_ascent",
    "iga_trajectory": "gradient_ascent",
    "wolf_iga_trajectory": "gradient_ascent",
    "PHC": "hill_climbing",
    "WoLFPHC": "hill_climbing",
    "JointActionQ": "joint_action",
    "StageSolution": "joint_action",
    "StageSolver": "joint_action",
    "Lagrangian": "lagrangian",
    "MinimaxQ": "minimax_q",
    "MinimaxStage": "minimax_q",
    "NashQ": "nash_q",
    "NashStage": "nash_q",
    "ConditionalRegretMatching": "no_regret",
    "Hedge": "no_regret",
    "RegretMatching": "no_regret",
    "CQL": "q_learning",
    "IQL": "q_learning",
    "LEARNERS": "registry",
    "make_learner": "registry",
    "Replicator": "replicator",
    "replicator_ode": "replicator",
    "replicator_trajectory": "replicator",
    "replicator_velocity": "replicator",
    "symmetric_replicator_trajectory": "replicator",
    "RobustQ": "robust_q",
}
"""Re-exported name -> the submodule that defines it: importing one learner (or ``base``, as the training loop
does) does not import every learner, nor the stage solvers CE-Q, Nash-Q and minimax-Q use."""

__getattr__, __dir__ = lazy_exports(__name__, _HOME, globals())

__all__ = [
    "CEQ",
    "CQL",
    "IGA",
    "IQL",
    "JALAM",
    "LEARNERS",
    "PHC",
    "Boltzmann",
    "ConditionalRegretMatching",
    "Constant",
    "CorrelatedStage",
    "EpsilonBoltzmann",
    "EpsilonGreedy",
    "Exploration",
    "ExponentialDecay",
    "FictitiousPlay",
    "Greedy",
    "GroupSpec",
    "Hedge",
    "InverseTime",
    "JointActionQ",
    "Lagrangian",
    "Learner",
    "LearnerConfigError",
    "MinimaxQ",
    "MinimaxStage",
    "NashQ",
    "NashStage",
    "PowerCount",
    "RegretMatching",
    "Replicator",
    "RobustQ",
    "Schedule",
    "SmoothFictitiousPlay",
    "StageSolution",
    "StageSolver",
    "Transition",
    "WoLFIGA",
    "WoLFPHC",
    "iga_trajectory",
    "make_learner",
    "replicator_ode",
    "replicator_trajectory",
    "replicator_velocity",
    "symmetric_replicator_trajectory",
    "wolf_iga_trajectory",
]
