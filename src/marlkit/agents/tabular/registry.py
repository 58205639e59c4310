"""Tabular learners by name: ``make_learner(name, game=..., **params)`` for the CLI, configs and scripts.

:data:`LEARNERS` is a :class:`~marlkit.registry.Registry` of the learner classes. Each entry's ``defaults`` are
the hyper-parameters the CLI and configs use (where a class has its own defaults, they are the class's: ``IQL()``
is ``make_learner("iql")``), its ``citation`` says where the method and those numbers come from
(the source papers where they give settings, otherwise common textbook choices), and ``extra["game"]`` names the
field that receives the game for the full-information learners that read its payoffs (fictitious play, regret
matching, Hedge, replicator dynamics, gradient ascent).

>>> from marlkit.agents.tabular.registry import make_learner
>>> make_learner("iql-eps", step_size=0.5).step_size
Constant(value=0.5)
"""

from __future__ import annotations

from typing import Any

from marlkit.agents.tabular.agent_modelling import JALAM
from marlkit.agents.tabular.base import Constant, EpsilonGreedy, Learner
from marlkit.agents.tabular.ce_q import CEQ
from marlkit.agents.tabular.fictitious_play import FictitiousPlay, SmoothFictitiousPlay
from marlkit.agents.tabular.gradient_ascent import IGA, WoLFIGA
from marlkit.agents.tabular.hill_climbing import PHC, WoLFPHC
from marlkit.agents.tabular.minimax_q import MinimaxQ
from marlkit.agents.tabular.nash_q import NashQ
from marlkit.agents.tabular.no_regret import ConditionalRegretMatching, Hedge, RegretMatching
from marlkit.agents.tabular.q_learning import CQL, DECAYING_BOLTZMANN, IQL
from marlkit.agents.tabular.replicator import Replicator
from marlkit.errors import LearnerConfigError, MarlkitError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.registry import Registry

Game = NormalFormGame | StochasticGame

LEARNERS: Registry[Learner] = Registry("learner", param_error=LearnerConfigError, param_word="hyper-parameter")
"""Every tabular learner by name, in a fixed order (the CLI lists them so)."""

_BOLTZMANN_NOTE = "decaying Boltzmann τ = 16 · 0.999^t, floor 0.05, as Claus & Boutilier 1998"
_JOINT_Q_NOTE = "defaults α = n(s,a)^-0.7, ε = 0.2"

LEARNERS.add(
    "iql",
    IQL,
    description="independent Q-learning",
    citation=f"Tan 1993; Watkins & Dayan 1992; {_BOLTZMANN_NOTE}",
)
LEARNERS.add(
    "cql",
    CQL,
    description="central Q-learning over joint actions (one team learner; common-payoff games)",
    citation=_BOLTZMANN_NOTE,
)
LEARNERS.add(
    "phc",
    PHC,
    description="policy hill-climbing",
    citation="Bowling & Veloso 2002, Table 1; α = 1/(10 + t/10000), δ = 4/(20000 + t), ε = 0.05 as in §5",
)
LEARNERS.add(
    "wolf-phc",
    WoLFPHC,
    description="win-or-learn-fast policy hill-climbing",
    citation="Bowling & Veloso 2002, Table 2; α = 1/(10 + t/10000), δ_w = 1/(20000 + t), δ_l = 4 δ_w, ε = 0.05 "
    "as in §5",
)
LEARNERS.add(
    "iql-eps",
    IQL,
    description="independent Q-learning with constant ε-greedy exploration (α = 0.1, ε = 0.1)",
    citation="Tan 1993; Watkins & Dayan 1992",
    defaults={"step_size": 0.1, "exploration": EpsilonGreedy(Constant(0.1))},
)
LEARNERS.add(
    "jal-am",
    JALAM,
    description="joint-action learning with empirical agent models",
    citation=f"Albrecht, Christianos & Schäfer 2024, Multi-Agent Reinforcement Learning, Alg. 6; {_BOLTZMANN_NOTE}",
)
LEARNERS.add(
    "minimax-q",
    MinimaxQ,
    description="minimax-Q for two-player zero-sum games",
    citation=f"Littman 1994, Fig. 1; {_JOINT_Q_NOTE} (Littman: explor = 0.2)",
)
LEARNERS.add(
    "nash-q",
    NashQ,
    description="Nash-Q for two-player general-sum games (stage equilibrium of max utilitarian welfare)",
    citation=f"Hu & Wellman 2003, Table 1; {_JOINT_Q_NOTE}",
)
LEARNERS.add(
    "ce-q",
    CEQ,
    description="correlated-Q, utilitarian (30 interior-point iterations per stage solve)",
    citation=f"Greenwald & Hall 2003; {_JOINT_Q_NOTE}",
)
LEARNERS.add(
    "fp",
    FictitiousPlay,
    description="fictitious play: best response to the others' empirical frequencies (ties split uniformly)",
    citation="Brown 1951",
    extra={"game": "payoffs"},
)
LEARNERS.add(
    "smooth-fp",
    SmoothFictitiousPlay,
    description="smooth fictitious play: logit response to the empirical beliefs (τ = 0.1)",
    citation="Fudenberg & Kreps 1993",
    extra={"game": "payoffs"},
)
LEARNERS.add(
    "regret-matching",
    RegretMatching,
    description="regret matching on realised play: empirical play -> CCE",
    citation="Hart & Mas-Colell 2000",
    extra={"game": "payoffs"},
)
LEARNERS.add(
    "conditional-rm",
    ConditionalRegretMatching,
    description="conditional regret matching (inertia μ = 2 · max|u| · |A|): empirical play -> CE",
    citation="Hart & Mas-Colell 2000, main procedure",
    extra={"game": "payoffs"},
)
LEARNERS.add(
    "hedge",
    Hedge,
    description="Hedge / multiplicative weights, η_t = sqrt(8 ln|A| / t) / payoff range",
    citation="Freund & Schapire 1997; the rate of Cesa-Bianchi & Lugosi 2006, Thm. 2.3",
    extra={"game": "payoffs"},
)
LEARNERS.add(
    "replicator",
    Replicator,
    description="discrete-time (Euler) replicator dynamics on expected payoffs (dt = 0.01, uniform start)",
    citation="Taylor & Jonker 1978",
    extra={"game": "game"},
)
LEARNERS.add(
    "iga",
    IGA,
    description="infinitesimal gradient ascent, 2x2 games (η = 0.01)",
    citation="Singh, Kearns & Mansour 2000",
    extra={"game": "game"},
)
LEARNERS.add(
    "wolf-iga",
    WoLFIGA,
    description="WoLF gradient ascent, 2x2 games (η = 0.01, ℓ_min = 1, ℓ_max = 4)",
    citation="Bowling & Veloso 2002",
    extra={"game": "game"},
)
_LAGRANGIAN_NOTE = (
    "Altman 1999, Constrained MDPs, ch. 3; two time-scales as Borkar 2005 and Tessler et al. 2019 (RCPO); "
    "expected-SARSA cost critic (van Seijen et al. 2009); η = 1e-4, β = 0.1 measured on resource-sharing "
    "(no published tabular values)"
)
LEARNERS.add(
    "lagrangian-wolf-phc",
    "marlkit.agents.tabular.lagrangian:Lagrangian",
    description="primal-dual WoLF-PHC for constrained games: Lagrangian reward r - λ·c, λ by projected dual ascent "
    "on a cost critic's discounted cost",
    citation=f"{_LAGRANGIAN_NOTE}; inner WoLF-PHC as Bowling & Veloso 2002",
    aliases=("lagrangian",),
)
LEARNERS.add(
    "lagrangian-iql",
    "marlkit.agents.tabular.lagrangian:lagrangian_iql",
    description="primal-dual IQL for constrained games (Boltzmann τ = 0.5 with a 5% uniform floor, α = n^-0.7)",
    citation=f"{_LAGRANGIAN_NOTE}; inner Boltzmann IQL (Tan 1993; Claus & Boutilier 1998), τ measured here",
)
LEARNERS.add(
    "lagrangian-phc",
    "marlkit.agents.tabular.lagrangian:lagrangian_phc",
    description="primal-dual PHC for constrained games (last iterate cycles; the average policy converges)",
    citation=f"{_LAGRANGIAN_NOTE}; inner PHC as Bowling & Veloso 2002",
)
LEARNERS.add(
    "robust-q",
    "marlkit.agents.tabular.robust_q:RobustQ",
    description="robust joint-action Q-learning for model uncertainty: target r - ε + γ min over an L1/L∞ ball "
    "around the empirical next-state distribution (team or two-player zero-sum)",
    citation=f"Zhang, Sun, Basar et al. 2020 (NeurIPS), §3; Iyengar 2005; {_JOINT_Q_NOTE}",
    aliases=("robust-q-learning", "rq"),
)


def reads_game(name: str) -> bool:
    """Whether the learner ``name`` is a full-information one built with the game (it reads the payoffs)."""
    return "game" in LEARNERS.get(name).extra


def make_learner(name: str, game: Game | None = None, **params: Any) -> Learner:
    """The learner registered under ``name`` with its default hyper-parameters overridden by ``params``; the
    full-information learners (:func:`reads_game`) are given ``game``.

    Raises:
        UnknownNameError: an unknown learner (close matches and every name are listed).
        LearnerConfigError: an unknown hyper-parameter (with a close match), or a value the learner rejects.
    """
    entry = LEARNERS.get(name)
    field = entry.extra.get("game")
    if field is not None and game is not None:
        params = {field: game, **params}
    try:
        return LEARNERS.make(entry.name, **params)
    except MarlkitError:
        raise
    except (TypeError, ValueError) as exc:
        raise LearnerConfigError(f"{entry.name}: {exc}") from None


__all__ = ["DECAYING_BOLTZMANN", "LEARNERS", "make_learner", "reads_game"]
