"""Tabular learners by name, each with the default hyper-parameters the CLI and configs use.

Defaults follow the source papers where they give settings (cited per entry) and are otherwise the common
textbook choices; every entry says where its numbers come from.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from marlkit.agents.tabular.agent_modelling import JALAM
from marlkit.agents.tabular.base import Boltzmann, EpsilonGreedy, ExponentialDecay, InverseTime, Learner
from marlkit.agents.tabular.ce_q import CEQ
from marlkit.agents.tabular.fictitious_play import FictitiousPlay, SmoothFictitiousPlay
from marlkit.agents.tabular.gradient_ascent import IGA, WoLFIGA
from marlkit.agents.tabular.hill_climbing import PHC, WoLFPHC
from marlkit.agents.tabular.minimax_q import MinimaxQ
from marlkit.agents.tabular.nash_q import NashQ
from marlkit.agents.tabular.no_regret import ConditionalRegretMatching, Hedge, RegretMatching
from marlkit.agents.tabular.q_learning import CQL, IQL
from marlkit.agents.tabular.replicator import Replicator
from marlkit.errors import UnknownNameError
from marlkit.games import NormalFormGame, StochasticGame

Game = NormalFormGame | StochasticGame


@dataclass(frozen=True)
class LearnerEntry:
    name: str
    make: Callable[[Game], Learner]  # built for a game: full-information learners read its payoffs
    description: str
    defaults: str


_BOWLING_VELOSO_ALPHA = InverseTime(10.0, 10000.0)  # α = 1 / (10 + t/10000), Bowling & Veloso 2002, §5
_DECAYING_BOLTZMANN = Boltzmann(ExponentialDecay(16.0, 0.999, 0.05))  # Claus & Boutilier 1998 use decaying τ

LEARNERS: dict[str, LearnerEntry] = {
    entry.name: entry
    for entry in (
        LearnerEntry(
            "iql",
            lambda game: IQL(step_size=0.1, exploration=_DECAYING_BOLTZMANN),
            "independent Q-learning (Tan 1993; Watkins & Dayan 1992)",
            "α = 0.1, Boltzmann τ = 16 · 0.999^t, floor 0.05 (Claus & Boutilier 1998 use decaying Boltzmann)",
        ),
        LearnerEntry(
            "cql",
            lambda game: CQL(step_size=0.1, exploration=_DECAYING_BOLTZMANN),
            "central Q-learning over joint actions (one team learner; common-payoff games)",
            "α = 0.1, Boltzmann τ = 16 · 0.999^t, floor 0.05",
        ),
        LearnerEntry(
            "phc",
            lambda game: PHC(step_size=_BOWLING_VELOSO_ALPHA, delta=InverseTime(20000.0, 1.0, 4.0), epsilon=0.05),
            "policy hill-climbing (Bowling & Veloso 2002, Table 1)",
            "α = 1/(10 + t/10000), δ = 4/(20000 + t), ε = 0.05 (Bowling & Veloso 2002, §5)",
        ),
        LearnerEntry(
            "wolf-phc",
            lambda game: WoLFPHC(
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
            lambda game: IQL(step_size=0.1, exploration=EpsilonGreedy(0.1)),
            "independent Q-learning with constant ε-greedy exploration",
            "α = 0.1, ε = 0.1",
        ),
        LearnerEntry(
            "jal-am",
            lambda game: JALAM(step_size=0.1, exploration=_DECAYING_BOLTZMANN),
            "joint-action learning with empirical agent models (Albrecht et al. 2024, Alg. 6)",
            "α = 0.1, Boltzmann τ = 16 · 0.999^t, floor 0.05",
        ),
        LearnerEntry(
            "minimax-q",
            lambda game: MinimaxQ(),
            "minimax-Q for two-player zero-sum games (Littman 1994, Fig. 1)",
            "α = n(s,a)^-0.7, ε = 0.2 (Littman: explor = 0.2)",
        ),
        LearnerEntry(
            "nash-q",
            lambda game: NashQ(),
            "Nash-Q for two-player general-sum games (Hu & Wellman 2003, Table 1)",
            "α = n(s,a)^-0.7, ε = 0.2, stage equilibrium of max utilitarian welfare",
        ),
        LearnerEntry(
            "ce-q",
            lambda game: CEQ(),
            "correlated-Q, utilitarian (Greenwald & Hall 2003)",
            "α = n(s,a)^-0.7, ε = 0.2, 30 interior-point iterations per stage solve",
        ),
        LearnerEntry(
            "fp",
            lambda game: FictitiousPlay(game),
            "fictitious play: best response to the others' empirical frequencies (Brown 1951)",
            "ties split uniformly",
        ),
        LearnerEntry(
            "smooth-fp",
            lambda game: SmoothFictitiousPlay(game, temperature=0.1),
            "smooth fictitious play: logit response to the empirical beliefs (Fudenberg & Kreps 1993)",
            "τ = 0.1",
        ),
        LearnerEntry(
            "regret-matching",
            lambda game: RegretMatching(game),
            "regret matching on realised play (Hart & Mas-Colell 2000): empirical play -> CCE",
            "realised feedback",
        ),
        LearnerEntry(
            "conditional-rm",
            lambda game: ConditionalRegretMatching(game),
            "conditional regret matching (Hart & Mas-Colell 2000, main procedure): empirical play -> CE",
            "inertia μ = 2 · max|u| · |A|",
        ),
        LearnerEntry(
            "hedge",
            lambda game: Hedge(game),
            "Hedge / multiplicative weights (Freund & Schapire 1997)",
            "η_t = sqrt(8 ln|A| / t) / payoff range (Cesa-Bianchi & Lugosi 2006, Thm. 2.3)",
        ),
        LearnerEntry(
            "replicator",
            lambda game: Replicator(game),
            "discrete-time (Euler) replicator dynamics on expected payoffs (Taylor & Jonker 1978)",
            "dt = 0.01, uniform start",
        ),
        LearnerEntry(
            "iga",
            lambda game: IGA(game),
            "infinitesimal gradient ascent, 2x2 games (Singh, Kearns & Mansour 2000)",
            "η = 0.01",
        ),
        LearnerEntry(
            "wolf-iga",
            lambda game: WoLFIGA(game),
            "WoLF gradient ascent, 2x2 games (Bowling & Veloso 2002)",
            "η = 0.01, ℓ_min = 1, ℓ_max = 4",
        ),
    )
}


def make_learner(name: str, game: Game) -> Learner:
    """The learner registered under ``name``, with its default hyper-parameters, for ``game``."""
    if name not in LEARNERS:
        close = difflib.get_close_matches(name, LEARNERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(f"unknown learner {name!r}{hint} Known learners: {', '.join(LEARNERS)}")
    return LEARNERS[name].make(game)
