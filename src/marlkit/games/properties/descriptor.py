"""The game-type descriptor (after OpenSpiel's ``GameType``) and the checks that solvers and learners run first.

``describe(game)`` returns a frozen :class:`GameType`; ``require_*`` raise :class:`NotApplicableError` with a message
that says what the game is and what applies to it instead, so that an algorithm fails before it runs, not after.

>>> from marlkit.games import NormalFormGame
>>> pd = NormalFormGame([[[3, 0], [5, 1]], [[3, 5], [0, 1]]], name="pd")
>>> t = describe(pd)
>>> (str(t.utility), str(t.relation), t.weakly_homogeneous.holds)
('general-sum', 'mixed', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from marlkit.errors import NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties._tabular import DEFAULT_TOLERANCE, Game, game_label, tabular_view
from marlkit.games.properties.symmetry import weakly_homogeneous
from marlkit.games.properties.team_optimum import strongly_homogeneous
from marlkit.games.properties.utility import Relation, Utility, UtilityClass, classify, utility_class
from marlkit.games.properties.verdict import Verdict
from marlkit.games.stochastic import StochasticGame


class GameKind(StrEnum):
    NORMAL_FORM = "normal-form"
    STOCHASTIC = "stochastic"


@dataclass(frozen=True, eq=False)
class GameType:
    """What kind of game this is, as algorithms need to know before they run.

    Attributes:
        n_players: number of players.
        num_actions: actions per player (the maximum over states).
        num_states: 1 for a normal-form game.
        kind: normal-form or stochastic (a POSG or constrained game is a stochastic game with flags set).
        partially_observable: the game has an observation model.
        constrained: the game has costs and limits.
        utility: zero-sum, constant-sum, common-payoff or general-sum (:mod:`.utility`).
        payoff_sum: the constant Σ_i u_i when it is constant (0.0 for zero-sum), else ``None``.
        relation: cooperative, competitive or mixed (Albrecht et al. 2024, §3.1).
        weakly_homogeneous: symmetric game / interchangeable agents (:mod:`.symmetry`).
        strongly_homogeneous: weakly homogeneous and an identical optimal joint policy (:mod:`.team_optimum`).
    """

    n_players: int
    num_actions: tuple[int, ...]
    num_states: int
    kind: GameKind
    partially_observable: bool
    constrained: bool
    utility: Utility
    payoff_sum: float | None
    relation: Relation
    weakly_homogeneous: Verdict
    strongly_homogeneous: Verdict

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (schema: docs/cli-json.md, "Game-type descriptor")."""
        return {
            "n_players": self.n_players,
            "num_actions": list(self.num_actions),
            "num_states": self.num_states,
            "kind": str(self.kind),
            "partially_observable": self.partially_observable,
            "constrained": self.constrained,
            "utility": str(self.utility),
            "payoff_sum": self.payoff_sum,
            "relation": str(self.relation),
            "weakly_homogeneous": self.weakly_homogeneous.to_dict(),
            "strongly_homogeneous": self.strongly_homogeneous.to_dict(),
        }


def describe(game: Game, *, seed: int = 0, tol: float = DEFAULT_TOLERANCE) -> GameType:
    """The :class:`GameType` of a normal-form or stochastic game.

    Args:
        game: the game.
        seed: seed for the sampling fallback of the homogeneity tests (reproducible results).
        tol: payoff tolerance (1e-9): absolute for the homogeneity tests, times max(1, largest absolute payoff)
            for the utility class (:func:`~marlkit.games.properties.utility.constant_sum_total`).
    """
    view = tabular_view(game, "describe")
    utility = classify(view, tol)
    weak = weakly_homogeneous(game, seed=seed, tol=tol)
    stochastic = game if isinstance(game, StochasticGame) else None
    return GameType(
        n_players=view.n_players,
        num_actions=view.num_actions,
        num_states=view.num_states,
        kind=GameKind.STOCHASTIC if stochastic else GameKind.NORMAL_FORM,
        partially_observable=stochastic is not None and stochastic.is_partially_observable,
        constrained=stochastic is not None and stochastic.is_constrained,
        utility=utility.utility,
        payoff_sum=utility.payoff_sum,
        relation=utility.relation,
        weakly_homogeneous=weak,
        strongly_homogeneous=strongly_homogeneous(game, weak=weak, utility=utility, seed=seed, tol=tol),
    )


# ------------------------------------------------------------------------------------------- requirements
def _not_applicable(
    what: str, needs: str, game: Game, is_: str, instead: str, applies_to: str | None = None
) -> NotApplicableError:
    head = f"{what} applies to {applies_to}" if applies_to else f"{what} needs {needs}"
    return NotApplicableError(f"{head}; {game_label(game)} {is_}. {instead}".rstrip())


_INSTEAD_OF_ZERO_SUM: dict[Utility, str] = {
    Utility.GENERAL_SUM: "For general-sum games use Nash equilibria (vertex enumeration / Lemke-Howson for two "
    "players, n-player solvers otherwise) or (coarse) correlated equilibria; minimax values are then only security "
    "levels.",
    Utility.COMMON_PAYOFF: "For common-payoff games the team optimum (max of the common payoff) and Nash/Pareto "
    "analysis apply; joint-action or value-decomposition learners fit.",
    Utility.CONSTANT_SUM: "Subtract the constant from player 1's payoffs to get the strategically equivalent zero-sum "
    "game, or pass allow_constant_sum=True if the algorithm handles the constant.",
}


def require_two_player_zero_sum(
    game: Game,
    what: str,
    *,
    allow_constant_sum: bool = False,
    applies_to: str | None = None,
    instead: str | None = None,
    tol: float = DEFAULT_TOLERANCE,
) -> UtilityClass:
    """Raise :class:`NotApplicableError` unless ``game`` is a two-player zero-sum game (or constant-sum, if allowed).

    The class is decided by the one rule of :func:`~marlkit.games.properties.utility.constant_sum_total`
    (tolerance ``tol`` times max(1, largest absolute payoff)), so a solver accepts exactly the games that
    ``describe`` and ``marlkit show`` call zero-sum (or constant-sum).

    Args:
        game: the game an algorithm is about to run on.
        what: the algorithm's name, for the message (e.g. ``"minimax-Q"``).
        allow_constant_sum: also accept a constant-sum game (Σ_i u_i = c != 0).
        applies_to: the games the algorithm applies to, for the message (``"<what> applies to <applies_to>"``;
            default ``"<what> needs a two-player zero-sum game"``).
        instead: what applies instead, for the message (default: advice by the game's utility class).
        tol: the relative payoff tolerance of :func:`~marlkit.games.properties.utility.payoff_tolerance`.

    Returns:
        The game's :class:`UtilityClass` (its ``payoff_sum`` is the constant; exactly 0.0 for a zero-sum game).
    """
    view = tabular_view(game, what)
    needs = "a two-player zero-sum or constant-sum game" if allow_constant_sum else "a two-player zero-sum game"
    if view.n_players != 2:
        raise _not_applicable(
            what,
            needs,
            game,
            f"has {view.n_players} players",
            instead or "For n-player games use n-player Nash solvers or (coarse) correlated equilibria.",
            applies_to,
        )
    utility = classify(view, tol)
    if utility.zero_sum or (allow_constant_sum and utility.constant_sum):
        return utility
    is_ = f"is {utility.utility} ({utility.relation})"
    if utility.payoff_sum is not None:
        is_ += f", payoffs summing to {utility.payoff_sum:g}"
    raise _not_applicable(what, needs, game, is_, instead or _INSTEAD_OF_ZERO_SUM[utility.utility], applies_to)


def require_common_payoff(game: Game, what: str, *, instead: str | None = None) -> UtilityClass:
    """Raise :class:`NotApplicableError` unless all players of ``game`` receive the same payoff (cooperative)."""
    utility = utility_class(game)
    if utility.common_payoff:
        return utility
    raise _not_applicable(
        what,
        "a common-payoff (fully cooperative) game",
        game,
        f"is {utility.utility} ({utility.relation})",
        instead
        or "With individual rewards use independent or equilibrium-seeking learners (e.g. Nash-Q, minimax-Q for "
        "two-player zero-sum) and judge the result by NashConv rather than by the team return.",
    )


def require_players(
    game: Game, what: str, n_players: int, *, applies_to: str | None = None, instead: str | None = None
) -> None:
    """Raise :class:`NotApplicableError` unless ``game`` has exactly ``n_players`` players.

    ``applies_to`` and ``instead`` word the message as in :func:`require_two_player_zero_sum`.
    """
    n = tabular_view(game, what).n_players
    if n != n_players:
        raise _not_applicable(
            what,
            f"a {n_players}-player game",
            game,
            f"has {n} players",
            instead or "Pick an algorithm for that number of players (n-player Nash solvers, correlated equilibria).",
            applies_to,
        )


def require_normal_form(game: object, what: str, *, instead: str | None = None) -> NormalFormGame:
    """Raise :class:`NotApplicableError` unless ``game`` is a normal-form game; return it (typed) if it is."""
    if isinstance(game, NormalFormGame):
        return game
    view = tabular_view(game, what)  # a clear InvalidGameError for anything that is not a game
    raise _not_applicable(
        what,
        "a normal-form game (a NormalFormGame)",
        view.game,
        f"is a stochastic game ({type(game).__name__}, {view.num_states} state{'' if view.num_states == 1 else 's'})",
        instead
        or "For a stochastic game analyse the stage game of a state (marlkit.games.stage_game(game, state)), or "
        "use a stochastic-game method.",
    )


def require_fully_observable(game: Game, what: str, *, instead: str | None = None) -> None:
    """Raise :class:`NotApplicableError` if ``game`` is partially observable (a POSG)."""
    if isinstance(game, StochasticGame) and game.is_partially_observable:
        raise _not_applicable(
            what,
            "a fully observable game",
            game,
            "is partially observable",
            instead
            or "Use a learner that conditions on observation histories (recurrent policies), or analyse the "
            "underlying state-based game explicitly by dropping its observation model.",
        )
    tabular_view(game, what)


def require_unconstrained(game: Game, what: str, *, instead: str | None = None) -> None:
    """Raise :class:`NotApplicableError` if ``game`` has costs and limits (a constrained game)."""
    if isinstance(game, StochasticGame) and game.is_constrained:
        raise _not_applicable(
            what,
            "an unconstrained game",
            game,
            f"has {game.num_constraints} cost constraint(s) per agent",
            instead
            or "Use a constrained (Lagrangian / safe-MARL) method, or drop the costs to study the reward alone.",
        )
    tabular_view(game, what)
