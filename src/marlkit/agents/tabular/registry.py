"""Tabular learners by name, each with the default hyper-parameters the CLI and configs use.

Defaults follow the source papers where they give settings (cited per entry) and are otherwise the common
textbook choices; every entry says where its numbers come from.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from marlkit.agents.tabular.base import Boltzmann, EpsilonGreedy, ExponentialDecay, InverseTime, Learner
from marlkit.agents.tabular.hill_climbing import PHC, WoLFPHC
from marlkit.agents.tabular.q_learning import CQL, IQL
from marlkit.errors import UnknownNameError


@dataclass(frozen=True)
class LearnerEntry:
    name: str
    make: Callable[[], Learner]
    description: str
    defaults: str


_BOWLING_VELOSO_ALPHA = InverseTime(10.0, 10000.0)  # α = 1 / (10 + t/10000), Bowling & Veloso 2002, §5

LEARNERS: dict[str, LearnerEntry] = {
    entry.name: entry
    for entry in (
        LearnerEntry(
            "iql",
            lambda: IQL(step_size=0.1, exploration=Boltzmann(ExponentialDecay(16.0, 0.999, 0.05))),
            "independent Q-learning (Tan 1993; Watkins & Dayan 1992)",
            "α = 0.1, Boltzmann τ = 16 · 0.999^t, floor 0.05 (Claus & Boutilier 1998 use decaying Boltzmann)",
        ),
        LearnerEntry(
            "cql",
            lambda: CQL(step_size=0.1, exploration=Boltzmann(ExponentialDecay(16.0, 0.999, 0.05))),
            "central Q-learning over joint actions (one team learner; common-payoff games)",
            "α = 0.1, Boltzmann τ = 16 · 0.999^t, floor 0.05",
        ),
        LearnerEntry(
            "phc",
            lambda: PHC(step_size=_BOWLING_VELOSO_ALPHA, delta=InverseTime(20000.0, 1.0, 4.0), epsilon=0.05),
            "policy hill-climbing (Bowling & Veloso 2002, Table 1)",
            "α = 1/(10 + t/10000), δ = 4/(20000 + t), ε = 0.05 (Bowling & Veloso 2002, §5)",
        ),
        LearnerEntry(
            "wolf-phc",
            lambda: WoLFPHC(
                step_size=_BOWLING_VELOSO_ALPHA,
                delta=InverseTime(20000.0),
                delta_lose=InverseTime(20000.0, 1.0, 4.0),
                epsilon=0.05,
            ),
            "win-or-learn-fast policy hill-climbing (Bowling & Veloso 2002, Table 2)",
            "α = 1/(10 + t/10000), δ_w = 1/(20000 + t), δ_l = 4 δ_w, ε = 0.05 (Bowling & Veloso 2002, §5)",
        ),
        LearnerEntry(
            "iql-eps",
            lambda: IQL(step_size=0.1, exploration=EpsilonGreedy(0.1)),
            "independent Q-learning with constant ε-greedy exploration",
            "α = 0.1, ε = 0.1",
        ),
    )
}


def make_learner(name: str) -> Learner:
    """The learner registered under ``name`` with its default hyper-parameters."""
    if name not in LEARNERS:
        close = difflib.get_close_matches(name, LEARNERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(f"unknown learner {name!r}{hint} Known learners: {', '.join(LEARNERS)}")
    return LEARNERS[name].make()
