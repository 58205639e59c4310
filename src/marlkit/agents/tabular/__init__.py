"""Tabular learners under one contract (see :mod:`marlkit.agents.tabular.base`)."""

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
