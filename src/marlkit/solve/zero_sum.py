"""Two-player zero-sum matrix games by linear programming, minimax equilibria and security (maximin) strategies.

For a matrix ``A`` of the row player's payoffs (the column player receives ``-A``) von Neumann's minimax theorem
(1928) gives the value ``v = max_x min_y x^T A y = min_y max_x x^T A y``. The row player's maximin strategy solves
(Shoham & Leyton-Brown 2009, §4.1, LP (4.6)/(4.7), written for the maximiser)

    maximise v   subject to   Σ_i x_i A[i, j] >= v   for every column j,   Σ_i x_i = 1,   x >= 0,

and the column player's minimax strategy is its dual (min w s.t. Σ_j A[i, j] y_j <= w, Σ_j y_j = 1, y >= 0).
Both are read from one HiGHS solve (the dual values of the column constraints are y); if the pair does not certify
the value within ``tol`` the dual LP is solved on its own.

Every answer carries a certificate that needs no trust in the LP solver: ``lower = min_j (x^T A)_j`` is what x
guarantees the row player, ``upper = max_i (A y)_i`` is what y concedes at most, so the value lies in
``[lower, upper]`` and the reported ``value`` is their midpoint (``gap = upper - lower <= 2 tol``).

Security strategies (maximin) apply to any game: player i's security level is ``max_{σ_i} min_{a_-i} U_i(σ_i,
a_-i)``, the payoff it can guarantee whatever the others do. The inner minimum of a function linear in each
opponent's strategy is attained at a pure joint action, so this LP is the same whether the others randomise
independently or correlate. Its dual gives the others' *correlated* punishment (a joint distribution over A_-i
that holds player i to its security level). For n > 2 players who must randomise independently the min-max value
``min_{σ_-i} max_{a_i} U_i`` can be strictly larger; that non-convex problem is not solved here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties import require_normal_form, require_two_player_zero_sum
from marlkit.solve.certify import outside_band
from marlkit.solve.results import Equilibrium

DEFAULT_TOLERANCE = 1e-9
"""Default tolerance on the certified gap ``max_i (A y)_i - min_j (x^T A)_j`` (docs/architecture.md, Numerics)."""

_HIGHS_TOLERANCE_RANGE = (1e-10, 1e-7)
"""HiGHS accepts feasibility tolerances down to 1e-10; its default is 1e-7."""


@dataclass(frozen=True, eq=False)
class MatrixGameSolution:
    """Value and optimal strategies of a two-player zero-sum matrix game.

    Attributes:
        value: the game value to the row player (midpoint of the certified interval ``[lower, upper]``).
        row_strategy: a maximin strategy x of the row player, shape ``[m]``.
        col_strategy: a minimax strategy y of the column player, shape ``[n]``.
        lower: ``min_j (x^T A)_j``, the payoff x guarantees the row player.
        upper: ``max_i (A y)_i``, the most y lets the row player get.
    """

    value: float
    row_strategy: np.ndarray
    col_strategy: np.ndarray
    lower: float
    upper: float

    @property
    def gap(self) -> float:
        """``upper - lower`` >= 0 (up to rounding): how far the pair is from certifying the value exactly."""
        return self.upper - self.lower

    def to_dict(self) -> dict[str, object]:
        return {
            "value": float(self.value),
            "row_strategy": self.row_strategy.tolist(),
            "col_strategy": self.col_strategy.tolist(),
            "lower": float(self.lower),
            "upper": float(self.upper),
            "gap": float(self.gap),
        }


@dataclass(frozen=True, eq=False)
class SecurityStrategies:
    """Each player's security level (maximin value) and a strategy that guarantees it, in an n-player game.

    Attributes:
        values: ``[n]`` security levels ``max_{σ_i} min_{a_-i} U_i(σ_i, a_-i)``.
        strategies: player i's maximin mixed strategy ``[A_i]``, one per player.
        punishments: for each player i, a correlated distribution of the others over their joint actions
            (shape ``A_-i``, the other players' axes in increasing player order) that holds player i to
            ``values[i]``: the minimax side of the LP.
    """

    values: np.ndarray
    strategies: tuple[np.ndarray, ...]
    punishments: tuple[np.ndarray, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "values": self.values.tolist(),
            "strategies": [s.tolist() for s in self.strategies],
            "punishments": [p.tolist() for p in self.punishments],
            "note": "maximin against the others' joint (possibly correlated) actions",
        }


# ------------------------------------------------------------------------------------------------- the LP
def _check_matrix(A: object) -> np.ndarray:
    try:
        M = np.array(A, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(f"A: expected a matrix of real numbers ({exc})") from None
    if M.ndim != 2 or M.shape[0] < 1 or M.shape[1] < 1:
        raise InvalidGameError(f"A: expected a non-empty 2-D payoff matrix [m, n], got shape {M.shape}")
    if not np.all(np.isfinite(M)):
        raise InvalidGameError("A: contains NaN or inf; every payoff must be finite")
    return M


def _check_tolerance(tol: float) -> float:
    tol = float(tol)
    if not (tol > 0 and np.isfinite(tol)):
        raise InvalidGameError(f"tol: expected a positive finite tolerance, got {tol!r}")
    return tol


def _as_distribution(p: np.ndarray) -> np.ndarray:
    """Clip the LP's rounding below 0 and renormalise (a certified bound is recomputed afterwards)."""
    p = np.maximum(np.asarray(p, dtype=np.float64), 0.0)
    return p / p.sum()


def _maximin_lp(A: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Solve max v s.t. A^T x >= v 1, 1^T x = 1, x >= 0 with HiGHS; return x and the dual y (column weights)."""
    m, n = A.shape
    highs_tol = float(np.clip(tol, *_HIGHS_TOLERANCE_RANGE))
    res = linprog(
        c=np.r_[np.zeros(m), -1.0],  # minimise -v
        A_ub=np.c_[-A.T, np.ones(n)],  # v - (x^T A)_j <= 0
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
        options={"primal_feasibility_tolerance": highs_tol, "dual_feasibility_tolerance": highs_tol},
    )
    if res.status != 0:  # cannot happen for a finite matrix (the LP is feasible and bounded)
        raise RuntimeError(f"HiGHS failed on a matrix game of shape {A.shape}: {res.message}")
    return res.x[:m], -res.ineqlin.marginals


def solve_matrix_game(A: np.ndarray, tol: float = DEFAULT_TOLERANCE) -> MatrixGameSolution:
    """Value and optimal strategies of the zero-sum game with row payoffs ``A [m, n]`` (column player gets -A).

    Linear program of von Neumann's minimax theorem (Shoham & Leyton-Brown 2009, §4.1, LP (4.6)/(4.7)) solved by
    HiGHS; the column player's strategy is the LP dual. The result is certified: ``min_j (x^T A)_j >= value - tol``
    and ``max_i (A y)_i <= value + tol`` (computed in float64 after the solve; when the dual read from HiGHS does
    not meet this, the column player's LP is solved separately). Payoffs outside the well-conditioned band of
    :mod:`marlkit.solve.certify` (huge, tiny, or tiny differences on a large offset) are solved as
    ``B = (A - min A) / spread`` — the same optimal strategies, value ``min A + spread · v(B)`` — so the
    certificate then holds to ``tol × spread``.

    Example:
        >>> sol = solve_matrix_game([[1, -1], [-1, 1]])  # matching pennies
        >>> round(sol.value, 12), sol.row_strategy.round(6).tolist()
        (0.0, [0.5, 0.5])
    """
    A = _check_matrix(A)
    tol = _check_tolerance(tol)
    low, spread = float(A.min()), float(A.max() - A.min())
    if spread == 0.0:  # a constant game: every strategy is optimal and the value is the constant
        x, y = np.full(A.shape[0], 1.0 / A.shape[0]), np.full(A.shape[1], 1.0 / A.shape[1])
        return MatrixGameSolution(low, x, y, low, low)
    if outside_band(A):  # v(low + spread·B) = low + spread·v(B) with the same optimal strategies
        unit = solve_matrix_game((A - low) / spread, tol)
        return MatrixGameSolution(
            low + spread * unit.value,
            unit.row_strategy,
            unit.col_strategy,
            low + spread * unit.lower,
            low + spread * unit.upper,
        )
    x, y = _maximin_lp(A, tol)
    x, y = _as_distribution(x), _as_distribution(y)
    lower, upper = float((x @ A).min()), float((A @ y).max())
    if upper - lower > 2 * tol:
        y_dual, _ = _maximin_lp(-A.T, tol)  # the column player maximises -A^T
        y = _as_distribution(y_dual)
        upper = float((A @ y).max())
    if upper - lower > 2 * tol:
        raise RuntimeError(
            f"solve_matrix_game: HiGHS strategies certify the value only to {upper - lower:.3g} > 2*tol={2 * tol:.3g}; "
            "rescale the payoffs (entries of order 1 work best) or loosen tol"
        )
    return MatrixGameSolution(0.5 * (lower + upper), x, y, lower, upper)


# ------------------------------------------------------------------------------------------- game level
def _supports(profile: tuple[np.ndarray, ...], tol: float) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(a) for a in np.flatnonzero(p > tol)) for p in profile)


def maximin(game: NormalFormGame, tol: float = DEFAULT_TOLERANCE) -> Equilibrium:
    """The minimax equilibrium of a two-player zero-sum or constant-sum normal-form game.

    With ``u_0 + u_1 = c`` everywhere, player 0's payoff matrix defines the zero-sum game ``A = u_0 - c/2``; its
    value v gives the values ``[v + c/2, c/2 - v]`` (= ``[v', c - v']`` for v' player 0's value), and the optimal
    strategies are each player's maximin strategy (von Neumann 1928; Shoham & Leyton-Brown 2009, §3.4.1, §4.1).
    The ``epsilon`` of the result is its certified NashConv (the gap of the LP certificate).

    Raises:
        NotApplicableError: for a game that is not two-player constant-sum (the one rule of
            :func:`marlkit.games.properties.constant_sum_total`); the message says what applies instead.
    """
    game = require_normal_form(game, "maximin", instead="For a StochasticGame use shapley_value_iteration.")
    total = require_two_player_zero_sum(
        game,
        "minimax",
        allow_constant_sum=True,
        applies_to="two-player zero-sum or constant-sum games",
        instead="For general-sum games use --concept nash or ce; security_strategies gives maximin values.",
    ).payoff_sum
    assert total is not None  # a (constant-)sum game has its constant
    sol = solve_matrix_game(game.payoffs[0] - total / 2.0, tol)
    profile = (sol.row_strategy, sol.col_strategy)
    return Equilibrium(
        profile=profile,
        values=np.array([sol.value + total / 2.0, total / 2.0 - sol.value]),
        supports=_supports(profile, tol),
        epsilon=max(0.0, sol.gap),
        method="minimax-lp",
    )


def security_strategies(game: NormalFormGame, tol: float = DEFAULT_TOLERANCE) -> SecurityStrategies:
    """Each player's maximin (security) strategy and value in an n-player normal-form game.

    Player i's payoff tensor is flattened to a matrix ``[A_i, Π_{j≠i} A_j]`` (own action against the others'
    joint action) and solved as a zero-sum game: the row strategy is the maximin strategy, the value the security
    level, and the column strategy the others' correlated punishment (see the module docstring for why the maximin
    value does not depend on whether the others may correlate).
    """
    game = require_normal_form(game, "security_strategies")
    values, strategies, punishments = [], [], []
    for i in range(game.n_players):
        own_first = np.moveaxis(game.payoffs[i], i, 0)
        sol = solve_matrix_game(own_first.reshape(own_first.shape[0], -1), tol)
        values.append(sol.value)
        strategies.append(sol.row_strategy)
        punishments.append(sol.col_strategy.reshape(own_first.shape[1:]))
    return SecurityStrategies(np.array(values), tuple(strategies), tuple(punishments))
