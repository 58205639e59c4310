"""Utility classes (zero-sum, constant-sum, common-payoff, general-sum) and the cooperative/competitive/mixed relation.

Definitions (Shoham & Leyton-Brown 2009, Defs. 3.2.2-3.2.3 for common-payoff and constant-sum games; Albrecht,
Christianos & Schäfer 2024, *Multi-Agent Reinforcement Learning: Foundations and Modern Approaches*, §3.1 for the
reward classes of stochastic games and the names *zero-sum*, *common-reward*, *general-sum*):

* **zero-sum**: Σ_i u_i(a) = 0 for every joint action a (in every state);
* **constant-sum**: Σ_i u_i(a) = c for a constant c != 0 (strategically equivalent to zero-sum);
* **common-payoff** (identical interest, common reward): u_1(a) = ... = u_n(a) for every a;
* **general-sum**: none of these.

A stochastic game is classified by its expected rewards R_i(s, a) over the *legal joint actions of non-terminal
states* only (no other entry can ever be paid); a game with terminal states is constant-sum only with sum 0, since
its returns sum to a constant otherwise only if every episode lasts equally long. All comparisons use one rule
(:func:`constant_sum_total`): tolerance 1e-9 times max(1, largest absolute payoff), so that the class does not
depend on the payoffs' unit; for payoffs of order 1 it is the absolute 1e-9 of docs/architecture.md.

The classes overlap exactly in *trivial* games in which every player receives the same constant payoff everywhere (for
n >= 2, equal payoffs with a constant sum c force u_i = c/n). We then report common-payoff (no
conflict of interest exists) and keep the constant in ``payoff_sum``, so solvers that need a (constant-)sum game still
accept it. A one-player game is common-payoff, trivially.

The relation of the agents follows the classes (Albrecht et al. 2024, §3.1; Zhang, Yang & Başar 2021, "Multi-agent
reinforcement learning: a selective overview", §2.2): **cooperative** = common reward, **competitive** = zero-sum or
constant-sum, **mixed** = general-sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from marlkit.games.properties._tabular import DEFAULT_TOLERANCE, Game, TabularView, tabular_view


class Utility(StrEnum):
    """How the players' payoffs relate (see the module docstring)."""

    ZERO_SUM = "zero-sum"
    CONSTANT_SUM = "constant-sum"
    COMMON_PAYOFF = "common-payoff"
    GENERAL_SUM = "general-sum"


class Relation(StrEnum):
    """The agents' relation in the MARL book's terms (Albrecht et al. 2024, §3.1)."""

    COOPERATIVE = "cooperative"
    COMPETITIVE = "competitive"
    MIXED = "mixed"


RELATION_OF: dict[Utility, Relation] = {
    Utility.ZERO_SUM: Relation.COMPETITIVE,
    Utility.CONSTANT_SUM: Relation.COMPETITIVE,
    Utility.COMMON_PAYOFF: Relation.COOPERATIVE,
    Utility.GENERAL_SUM: Relation.MIXED,
}


@dataclass(frozen=True)
class UtilityClass:
    """The utility class of a game.

    Attributes:
        utility: the class (common-payoff wins in trivial games that are also constant-sum).
        payoff_sum: the constant Σ_i u_i when it is constant (0.0 for zero-sum), else ``None``.
        common_payoff: all players' payoffs are equal at every legal joint action of every non-terminal state.
    """

    utility: Utility
    payoff_sum: float | None
    common_payoff: bool

    @property
    def relation(self) -> Relation:
        return RELATION_OF[self.utility]

    @property
    def zero_sum(self) -> bool:
        return self.payoff_sum is not None and self.payoff_sum == 0.0

    @property
    def constant_sum(self) -> bool:
        """Zero-sum or constant-sum (a strategically zero-sum game)."""
        return self.payoff_sum is not None


def payoff_tolerance(game: Game, tol: float = DEFAULT_TOLERANCE) -> float:
    """The absolute tolerance of every utility-class comparison: ``tol · max(1, M)``, M = max_{i,s,a} |R_i(s, a)|
    over the live entries (the payoff scale).

    Float64 payoffs of magnitude M carry rounding errors proportional to M (an LP or Bellman solve on them is exact
    only to ~1e-9 · M), so a fixed absolute tolerance would call the same game zero-sum or general-sum depending
    on its unit: matching pennies with B = −A + ε is zero-sum for ε = 1e-10 but general-sum, under an absolute
    1e-9, once scaled by 1e6. Scaled by max(1, M) the class does not change with the unit for |payoffs| >= 1, and
    stays the absolute 1e-9 of docs/architecture.md for payoffs of order 1 or less.
    """
    return _tolerance(tabular_view(game, "payoff_tolerance"), tol)


def _tolerance(view: TabularView, tol: float) -> float:
    payoffs = view.rewards[:, view.live]
    return tol * max(1.0, float(np.abs(payoffs).max(initial=0.0)))


def _payoff_sum(view: TabularView, tolerance: float) -> float | None:
    payoffs = view.rewards[:, view.live]  # [n, number of live entries]
    totals = payoffs.sum(axis=0)
    if not view.is_normal_form and np.any(view.terminal):
        # With terminal states the episode length depends on the policies, so a constant non-zero reward sum does
        # not make the returns sum to a constant: only zero-sum rewards qualify (0 is added as an outcome).
        totals = np.append(totals, 0.0)
    if totals.size == 0:  # no legal joint action anywhere: nothing is ever paid
        return 0.0
    low, high = float(totals.min()), float(totals.max())
    if high - low > tolerance:
        return None
    mid = 0.5 * (low + high)
    return 0.0 if abs(mid) <= tolerance else mid


def constant_sum_total(game: Game, tol: float = DEFAULT_TOLERANCE) -> float | None:
    """The constant ``c`` with Σ_i u_i(a) = c at every outcome that can be paid, or ``None`` if there is none.

    The one zero-/constant-sum rule of marlkit, used by :func:`classify` (so by :func:`utility_class`, the
    descriptor, ``marlkit show`` and the config) and by the solvers through
    :func:`~marlkit.games.properties.descriptor.require_two_player_zero_sum`:

    * the outcomes are the live entries — every joint action of a normal-form game; the legal joint actions of
      non-terminal states of a stochastic game, plus an outcome of sum 0 when the game has terminal states (the
      returns of a game whose episodes end at a policy-dependent time sum to a constant only if the rewards sum
      to 0);
    * the sums are constant when ``max − min <= tol · max(1, M)``, M the largest absolute live payoff
      (:func:`payoff_tolerance`), and ``c`` is their midrange;
    * ``c`` is reported as exactly ``0.0`` (zero-sum) when ``|c| <= tol · max(1, M)``.

    Example:
        >>> from marlkit.games import NormalFormGame
        >>> constant_sum_total(NormalFormGame([[[2, 0], [1, 3]], [[1, 3], [2, 0]]]))
        3.0
    """
    view = tabular_view(game, "constant_sum_total")
    return _payoff_sum(view, _tolerance(view, tol))


def classify(view: TabularView, tol: float = DEFAULT_TOLERANCE) -> UtilityClass:
    """Classify the payoffs of a :class:`TabularView` (see :func:`utility_class`)."""
    payoffs = view.rewards[:, view.live]  # [n, number of live entries]
    if payoffs.shape[1] == 0:  # no legal joint action anywhere: nothing is ever paid
        return UtilityClass(Utility.COMMON_PAYOFF, 0.0, True)
    tolerance = _tolerance(view, tol)
    common = bool(np.all(payoffs.max(axis=0) - payoffs.min(axis=0) <= tolerance))
    payoff_sum = _payoff_sum(view, tolerance)
    if common or view.n_players == 1:
        utility = Utility.COMMON_PAYOFF
    elif payoff_sum == 0.0:
        utility = Utility.ZERO_SUM
    elif payoff_sum is not None:
        utility = Utility.CONSTANT_SUM
    else:
        utility = Utility.GENERAL_SUM
    return UtilityClass(utility, payoff_sum, common or view.n_players == 1)


def utility_class(game: Game, tol: float = DEFAULT_TOLERANCE) -> UtilityClass:
    """The utility class of a normal-form or stochastic game (module docstring; tolerance ``tol`` scaled by
    max(1, largest absolute payoff), see :func:`constant_sum_total`).

    Example:
        >>> from marlkit.games import NormalFormGame
        >>> utility_class(NormalFormGame([[[1, -1], [-1, 1]], [[-1, 1], [1, -1]]])).utility
        <Utility.ZERO_SUM: 'zero-sum'>
    """
    return classify(tabular_view(game, "utility_class"), tol)
