"""The one table of solution concepts: :data:`CONCEPTS`, what each needs, its exact solver and its solution set.

Every place that names a solution concept — ``marlkit solve --concept``, ``marlkit diagnose --concept``, a
config's ``diagnostics.concept`` — reads this :class:`~marlkit.registry.Registry`. An entry holds:

* ``target``: the exact solver, ``solver(game, **options) -> result`` with ``result.to_dict()``;
* ``description`` and ``citation``;
* ``extra["normal_form"]``: whether the solver takes only normal-form games (``extra["instead"]`` says what to do
  otherwise) — :func:`require_solver`;
* ``extra["solution_set"]``: the diagnostics' builder ``(game, max_members) -> SolutionSet`` as a lazy
  ``"module:Name"`` (it lives in :mod:`marlkit.diagnose.solution_sets`; solve does not import diagnose), or
  ``None`` when the diagnostics do not judge runs against this concept;
* ``extra["applies"]``: the check that the solution set applies to a game (through the game-type descriptor's
  ``require_*`` where one exists) — :func:`require_solution_set`.

>>> from marlkit.solve.concepts import CONCEPTS, solution_set_concepts
>>> CONCEPTS.names()
['nash', 'ce', 'cce', 'minimax', 'pareto', 'welfare', 'constrained']
>>> solution_set_concepts()
('nash', 'ce', 'cce', 'minimax', 'maximin')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from marlkit.errors import NotApplicableError
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.properties.descriptor import require_two_player_zero_sum
from marlkit.registry import Entry, Registry, load_target

Game = NormalFormGame | StochasticGame

# ------------------------------------------------------------------------------------------------ solvers


def nash(game: NormalFormGame) -> Any:
    """Every Nash equilibrium marlkit finds (:func:`marlkit.solve.nash.nash_equilibria`)."""
    from marlkit.solve.nash import nash_equilibria

    return nash_equilibria(game)


def minimax(game: Game) -> Any:
    """The minimax solution of a two-player zero-sum game: the maximin pair of a normal-form game
    (:func:`marlkit.solve.zero_sum.maximin`), Shapley value iteration on a stochastic one."""
    if isinstance(game, StochasticGame):
        from marlkit.solve.shapley import shapley_value_iteration

        return shapley_value_iteration(game)
    from marlkit.solve.zero_sum import maximin

    return maximin(game)


def ce(game: NormalFormGame, *, objective: str = "utilitarian") -> Any:
    """The correlated equilibrium that maximises ``objective`` (:mod:`marlkit.solve.correlated`)."""
    from marlkit.solve.correlated import correlated_equilibrium

    return correlated_equilibrium(game, objective=objective)


def cce(game: NormalFormGame, *, objective: str = "utilitarian") -> Any:
    """The coarse correlated equilibrium that maximises ``objective``."""
    from marlkit.solve.correlated import coarse_correlated_equilibrium

    return coarse_correlated_equilibrium(game, objective=objective)


@dataclass(frozen=True)
class ParetoFronts:
    """The Pareto-optimal pure outcomes and, for two players, the front of the correlated-payoff region."""

    pure: Any  # marlkit.solve.pareto.ParetoFront
    correlated: Any | None  # marlkit.solve.pareto.CorrelatedFront

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"pure": self.pure.to_dict()}
        if self.correlated is not None:
            data["correlated"] = self.correlated.to_dict()
        return data


def pareto(game: NormalFormGame) -> ParetoFronts:
    """The Pareto fronts of ``game`` (:mod:`marlkit.solve.pareto`)."""
    from marlkit.solve.pareto import pareto_front_correlated, pareto_front_pure

    correlated = pareto_front_correlated(game) if game.n_players == 2 else None
    return ParetoFronts(pareto_front_pure(game), correlated)


class WelfareBest(TypedDict):
    """One welfare function's best value over the pure outcomes and the joint actions that reach it."""

    value: float
    joint_actions: list[list[int]]


@dataclass(frozen=True)
class WelfareOptima:
    """For each welfare function of :data:`marlkit.solve.welfare.WELFARE`: its best value over the pure outcomes
    and the joint actions that reach it (within 1e-9 x |best|; Nash products within a ratio of
    1 + 1e-12, compared by their logarithms)."""

    best: dict[str, WelfareBest]

    def to_dict(self) -> dict[str, object]:
        return {"over": "pure outcomes", "best": self.best}


def welfare(game: NormalFormGame) -> WelfareOptima:
    """The welfare-maximising pure outcomes of ``game``."""
    from marlkit.solve.pareto import pure_payoff_points
    from marlkit.solve.welfare import WELFARE

    joints, payoffs = pure_payoff_points(game)
    best: dict[str, WelfareBest] = {}
    for name, function in WELFARE.items():
        scores = np.asarray(function(payoffs), dtype=float)
        if name == "nash-product":  # ranked by Σ_i log u_i: the same order, and no overflow near 1e300
            with np.errstate(divide="ignore"):
                rank = np.sum(np.log(np.maximum(payoffs, 0.0)), axis=-1)
            slack = 1e-12  # a ratio of 1 + 1e-12 between products
        else:
            rank, slack = scores, 1e-9 * abs(float(scores.max()))  # relative: payoffs may be 1e-300 or 1e300
        top = (
            np.flatnonzero(rank >= rank.max() - slack)
            if np.isfinite(rank.max())
            else np.flatnonzero(rank == rank.max())
        )
        best[name] = WelfareBest(value=float(scores[top[0]]), joint_actions=joints[top].tolist())
    return WelfareOptima(best)


def constrained(game: Game) -> Any:
    """The correlated optimum of a constrained team game beside its best product policy
    (:func:`marlkit.solve.constrained.report.solve_constrained`)."""
    from marlkit.solve.constrained.report import solve_constrained

    has_costs(game)
    return solve_constrained(game)


# ------------------------------------------------------------------------------------------ applicability


def any_game(game: Game) -> None:
    """Every game qualifies."""
    return None


def one_state(game: Game) -> None:
    """Raise :class:`NotApplicableError` unless ``game`` has one state (the (coarse) correlated polytope)."""
    states = 1 if isinstance(game, NormalFormGame) else game.num_states
    if states != 1:
        raise NotApplicableError(
            f"this concept is defined here for one-state (normal-form) games; {game.name!r} has {states} states — "
            "use concept: nash"
        )


def has_costs(game: Game) -> None:
    """Raise :class:`NotApplicableError` unless ``game`` is a constrained game (costs and limits)."""
    if not (isinstance(game, StochasticGame) and game.is_constrained):
        raise NotApplicableError(
            f"--concept constrained needs a game with costs and limits; {game.name or 'this game'!r} has none "
            "(try resource-sharing or narrow-passage)"
        )


def zero_sum(game: Game) -> None:
    """Raise :class:`NotApplicableError` unless ``game`` is two-player zero-sum (the descriptor's check)."""
    require_two_player_zero_sum(game, "this concept")


# ---------------------------------------------------------------------------------------------- the table

CONCEPTS: Registry[Any] = Registry("concept")
"""Every solution concept, in the order the CLI lists them."""

_SETS = "marlkit.diagnose.solution_sets"

CONCEPTS.add(
    "nash",
    nash,
    description="Nash equilibria: every equilibrium for two players (vertex enumeration), pure and certified "
    "mixed ones for n players",
    citation="Nash 1951; Avis, Rosenberg, Savani & von Stengel 2010 (vertex enumeration)",
    extra={
        "normal_form": True,
        "instead": "; for a two-player zero-sum stochastic game use --concept minimax (Shapley value iteration)",
        "applies": any_game,
        "solution_set": f"{_SETS}:nash_set",
    },
)
CONCEPTS.add(
    "ce",
    ce,
    description="the correlated equilibrium that maximises an objective (LP)",
    citation="Aumann 1974",
    defaults={"objective": "utilitarian"},
    extra={"normal_form": True, "instead": "", "applies": one_state, "solution_set": f"{_SETS}:ce_set"},
)
CONCEPTS.add(
    "cce",
    cce,
    description="the coarse correlated equilibrium that maximises an objective (LP)",
    citation="Moulin & Vial 1978",
    defaults={"objective": "utilitarian"},
    extra={"normal_form": True, "instead": "", "applies": one_state, "solution_set": f"{_SETS}:cce_set"},
)
CONCEPTS.add(
    "minimax",
    minimax,
    description="minimax (maximin) strategies of a two-player zero-sum game; Shapley value iteration for a "
    "stochastic one",
    citation="von Neumann 1928; Shapley 1953",
    aliases=("maximin",),
    extra={"normal_form": False, "instead": "", "applies": zero_sum, "solution_set": f"{_SETS}:minimax_set"},
)
CONCEPTS.add(
    "pareto",
    pareto,
    description="Pareto-optimal pure outcomes (and the correlated-payoff front for two players)",
    extra={"normal_form": True, "instead": "", "applies": any_game, "solution_set": None},
)
CONCEPTS.add(
    "welfare",
    welfare,
    description="welfare-maximising pure outcomes, one per welfare function of marlkit.solve.welfare",
    extra={"normal_form": True, "instead": "", "applies": any_game, "solution_set": None},
)

CONCEPTS.add(
    "constrained",
    constrained,
    description="the team-optimal correlated policy under every agent's cost limits (occupancy LP), with λ*, the "
    "unconstrained optimum and the best product (decentralised) policy",
    citation="Altman 1999, Constrained Markov Decision Processes, §3",
    aliases=("safe",),
    extra={
        "normal_form": False,
        "instead": "",
        "applies": has_costs,
        "solution_set": f"{_SETS}:constrained_set",
    },
)


def concept(name: str) -> Entry[Any]:
    """The entry of concept ``name`` (or an alias such as ``"maximin"``); :class:`UnknownNameError` with a close
    match otherwise."""
    return CONCEPTS.get(name)


def require_solver(name: str, game: Game, what: str) -> None:
    """Raise :class:`NotApplicableError` (naming ``what``, e.g. ``"--concept ce"``) when the exact solver of
    ``name`` takes only normal-form games and ``game`` is not one."""
    entry = CONCEPTS.get(name)
    if entry.extra["normal_form"] and not isinstance(game, NormalFormGame):
        raise NotApplicableError(f"{what} applies to normal-form games{entry.extra['instead']}")


def require_solution_set(name: str, game: Game) -> None:
    """Raise :class:`NotApplicableError` when the diagnostics cannot judge a run on ``game`` against ``name``."""
    check: Callable[[Game], None] = CONCEPTS.get(name).extra["applies"]
    check(game)


def solution_set_concepts() -> tuple[str, ...]:
    """The concept names (aliases included) the diagnostics judge runs against, in table order."""
    return tuple(n for e in CONCEPTS.entries().values() if e.extra["solution_set"] for n in (e.name, *e.aliases))


def solution_set_builder(name: str) -> Callable[[Game, int], Any]:
    """The diagnostics' builder ``(game, max_members) -> SolutionSet`` of concept ``name``.

    Raises:
        UnknownNameError: an unknown concept.
        NotApplicableError: the concept has no solution set (the diagnostics do not judge against it).
    """
    entry = CONCEPTS.get(name)
    target = entry.extra["solution_set"]
    if target is None:
        raise NotApplicableError(
            f"concept {entry.name!r} has no solution set to judge a run against; choose one of "
            f"{', '.join(solution_set_concepts())}"
        )
    builder: Callable[[Game, int], Any] = load_target(target, "solution set")
    return builder


__all__ = [
    "CONCEPTS",
    "ParetoFronts",
    "WelfareBest",
    "WelfareOptima",
    "any_game",
    "cce",
    "ce",
    "concept",
    "constrained",
    "has_costs",
    "minimax",
    "nash",
    "one_state",
    "pareto",
    "require_solution_set",
    "require_solver",
    "solution_set_builder",
    "solution_set_concepts",
    "welfare",
    "zero_sum",
]
