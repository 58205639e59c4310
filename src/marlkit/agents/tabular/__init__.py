"""Tabular learners under one contract (see :mod:`marlkit.agents.tabular.base`)."""

from marlkit.agents.tabular.base import (
    Boltzmann,
    Constant,
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
from marlkit.agents.tabular.hill_climbing import PHC, WoLFPHC
from marlkit.agents.tabular.q_learning import CQL, IQL

__all__ = [
    "CQL",
    "IQL",
    "PHC",
    "Boltzmann",
    "Constant",
    "EpsilonGreedy",
    "Exploration",
    "ExponentialDecay",
    "Greedy",
    "GroupSpec",
    "InverseTime",
    "Learner",
    "LearnerConfigError",
    "PowerCount",
    "Schedule",
    "Transition",
    "WoLFPHC",
]
