"""Two-player (bimatrix) games: input checks, best-response polytopes with lexicographic pivoting, certificates.

This module is the shared floor of the two-player Nash solvers (:mod:`marlkit.solve.vertex_enumeration`, all
equilibria; :mod:`marlkit.solve.lemke_howson`, one equilibrium per label). The row player's payoffs are
``A [m, n]``, the column player's ``B [m, n]``; a :class:`~marlkit.games.NormalFormGame` with payoffs
``[2, m, n]`` is the pair ``(payoffs[0], payoffs[1])``.

**Polytopes** (von Stengel 2007, "Equilibrium computation for two-player games in strategic and extensive form",
Algorithmic Game Theory ch. 3, eq. 3.7). With payoffs made positive,

    P = {x in R^m : x >= 0,  B^T x <= 1},        Q = {y in R^n : A y <= 1,  y >= 0}.

Labels are 0..m-1 (row actions) and m..m+n-1 (column actions). A point x of P has label i if x_i = 0 and label
m + j if (B^T x)_j = 1; y in Q has label i if (A y)_i = 1 and m + j if y_j = 0. A pair (x, y) != (0, 0) is
*completely labelled* (every label in L(x) ∪ L(y)) exactly when (x / Σx, y / Σy) is a Nash equilibrium (von
Stengel 2007, Thm. 3.4). Equilibria are unchanged by a positive affine map of each player's payoffs, so the
polytopes are built from payoffs mapped to [1, 2] (well scaled, strictly positive; P and Q are then bounded).

**Dictionaries.** Each polytope is written in slack form, one variable per label (x_i or y_j, and one slack per
payoff constraint), with a basis of k basic variables and d nonbasic ones (d = m for P, n for Q):

    basic = R[:, 0] - T @ nonbasic,       R = [rhs | basis inverse]  (k x (k + 1)),

stored batched (a leading axis over many bases) so that a whole breadth-first layer of the vertex graph pivots at
once. The leaving variable is chosen by the **lexicographic minimum-ratio rule** (Dantzig, Orden & Wolfe 1955;
von Stengel 2007 §3.5.3): among rows with a positive pivot entry, the lexicographically smallest row of
``R / T[:, c]``. The rows of R are linearly independent, so the choice is unique; this is the simplex method on
the perturbed polytope with right-hand side ``1 + (ε, ε², ...)``, which is non-degenerate, so pivoting never
cycles and every vertex of P has at least one lexicographically feasible basis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties import require_players
from marlkit.games.validation import as_real_array
from marlkit.solve.results import Equilibrium, EquilibriumSet

TOLERANCE = 1e-9
"""Default tolerance: support threshold (a probability above it is in the support); results' NashConv is far below."""

DUPLICATE_TOLERANCE = 1e-8
"""Two equilibria whose strategies differ by at most this (max-abs) are reported once."""

PIVOT_TOLERANCE = 1e-12
"""A dictionary entry at most this times its column's largest entry (and 1) counts as zero: never a pivot."""

POLISH_AGREEMENT = 1e-7
"""A vertex re-solved from its binding constraints replaces the pivoted one only if they agree this closely."""

TIE_TOLERANCE = 1e-12
"""Two ratios equal to this relative precision are a tie, broken by the next column of the lexicographic rule."""

ZERO_RHS = 1e-12
"""A basic variable below this is 0: its constraint binds (a label), and it ties in the ratio test. Variables are
coordinates and slacks of vertices of P and Q, O(1) on [1, 2]-scaled payoffs, so this is rounding level: payoffs
tied up to rounding make a degenerate game, payoffs that differ by more do not."""


# ------------------------------------------------------------------------------------------------- input
def check_bimatrix(A: object, B: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate a bimatrix game: two finite real matrices of the same shape ``[m, n]`` with m, n >= 1."""
    A = as_real_array("A (row player's payoffs)", A)
    B = as_real_array("B (column player's payoffs)", B)
    for name, M in (("A", A), ("B", B)):
        if M.ndim != 2:
            raise InvalidGameError(
                f"{name}: expected a payoff matrix [m, n] (rows: player 0's actions, columns: player 1's), got "
                f"shape {M.shape}; for a game with more than two players use marlkit.solve.n_player"
            )
    if A.shape != B.shape:
        raise InvalidGameError(
            f"A and B must have the same shape [m, n], got A {A.shape} and B {B.shape}; "
            "A[i, j] and B[i, j] are the two players' payoffs when row i meets column j"
        )
    if A.size == 0:
        raise InvalidGameError(f"payoffs: every player needs at least one action, got shape {A.shape}")
    return A, B


def check_tolerance(tol: float) -> float:
    value = float(tol)
    if not (math.isfinite(value) and 0.0 < value < 1e-2):
        raise InvalidGameError(f"tol: expected a small positive tolerance (e.g. 1e-9), got {tol!r}")
    return value


def game_bimatrix(game: NormalFormGame) -> tuple[np.ndarray, np.ndarray]:
    """The payoff matrices ``(A, B)`` of a two-player :class:`NormalFormGame`; other games are refused."""
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(
            f"expected a two-player NormalFormGame, got {type(game).__name__}; build it with marlkit.games, or "
            "pass the payoff matrices A and B to the bimatrix functions"
        )
    require_players(
        game,
        "two-player Nash methods",
        2,
        applies_to="two-player games",
        instead="n-player methods apply instead: marlkit.solve.n_player (pure_equilibria, mixed_equilibrium, "
        "equilibria).",
    )
    return game.payoffs[0], game.payoffs[1]


def unit_payoffs(M: np.ndarray) -> np.ndarray:
    """``M`` mapped affinely onto [1, 2] (all ones when M is constant); equilibria are unchanged."""
    low, high = float(M.min()), float(M.max())
    if high - low == 0.0:
        return np.ones_like(M)
    return 1.0 + (M - low) / (high - low)


# ------------------------------------------------------------------------------------------- polytopes
@dataclass(frozen=True)
class Polytope:
    """A best-response polytope {z in R^d : H z <= h, one row per label}, with labels as variable ids.

    ``H [m + n, d]`` holds, in label order, either a unit row (the label of a coordinate z_i = 0, written -z_i <= 0
    in the slack form) or a payoff row; ``is_payoff [m + n]`` tells which. ``structural`` are the labels of the
    coordinates z (nonbasic at the origin), ``slack`` the labels of the payoff constraints (basic at the origin).
    """

    H: np.ndarray
    is_payoff: np.ndarray
    structural: np.ndarray
    slack: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.structural.size)


def best_response_polytopes(A: np.ndarray, B: np.ndarray) -> tuple[Polytope, Polytope]:
    """P = {x >= 0 : B'^T x <= 1} and Q = {y >= 0 : A' y <= 1} with A', B' the [1, 2]-scaled payoffs (eq. 3.7)."""
    m, n = A.shape
    Ap, Bp = unit_payoffs(A), unit_payoffs(B)
    labels = np.arange(m + n)
    P = Polytope(np.vstack([np.eye(m), Bp.T]), labels >= m, labels[:m], labels[m:])
    Q = Polytope(np.vstack([Ap, np.eye(n)]), labels < m, labels[m:], labels[:m])
    return P, Q


@dataclass(frozen=True)
class Dictionaries:
    """A batch of F bases of one polytope: ``T [F, k, d]``, ``R [F, k, k + 1]``, variable ids per position."""

    T: np.ndarray
    R: np.ndarray
    basic: np.ndarray
    nonbasic: np.ndarray

    def __len__(self) -> int:
        return int(self.T.shape[0])

    @property
    def rhs(self) -> np.ndarray:
        return self.R[:, :, 0]


def origin_dictionary(polytope: Polytope, lexicographic: bool = True) -> Dictionaries:
    """The basis at z = 0: every slack basic with value 1, ``T`` = the payoff rows, ``R = [1 | I]``.

    With ``lexicographic=False``, R holds the right-hand side only (half the pivoting work); ties in the ratio
    test are then broken by the lowest row, which is exact for a non-degenerate polytope only.
    """
    C = polytope.H[polytope.slack]
    k = C.shape[0]
    R = np.hstack([np.ones((k, 1)), np.eye(k)]) if lexicographic else np.ones((k, 1))
    return Dictionaries(C[None].copy(), R[None], polytope.slack[None].copy(), polytope.structural[None].copy())


def leaving_rows(T: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Lexicographic minimum-ratio leaving row for every candidate entering column: ``[F, C]`` (-1: unbounded).

    ``T [F, k, C]`` are the entering columns, ``R [F, k, k + 1]`` the right-hand sides with basis inverse. The
    primary ratio is ``R[:, 0] / T``; ties (degenerate vertices) are broken by the next columns of R
    (von Stengel 2007 §3.5.3). If R holds the right-hand side only, ties go to the lowest row.
    """
    limit = PIVOT_TOLERANCE * np.maximum(1.0, np.abs(T).max(axis=1, keepdims=True))
    positive = np.greater(T, limit)
    # a right-hand side (a coordinate or slack of the vertex, O(1) on [1, 2]-scaled payoffs) within ZERO_RHS of 0
    # is rounding at a degenerate vertex: as exactly 0 it ties, and R breaks the tie, instead of a tiny pivot
    # turning -1e-17 into the minimum ratio
    rhs = np.where(R[:, :, :1] < ZERO_RHS, 0.0, R[:, :, :1])
    ratio = np.where(positive, rhs, np.inf) / np.where(positive, T, 1.0)
    if R.shape[2] == 1:
        return np.where(positive.any(axis=1), ratio.argmin(axis=1), -1)
    best = ratio.min(axis=1, keepdims=True)
    candidate = positive & (ratio <= best * (1.0 + TIE_TOLERANCE))  # relative: steps can be tiny, yet not tied
    tied = candidate.sum(axis=1) > 1
    if np.any(tied):
        f, c = np.nonzero(tied)
        sub = candidate[f, :, c]
        Tsub, Rsub = T[f, :, c], R[f]
        for j in range(1, R.shape[2]):
            r = np.where(sub, Rsub[:, :, j], np.inf) / np.where(sub, Tsub, 1.0)
            low = r.min(axis=1, keepdims=True)
            sub &= r <= low + TIE_TOLERANCE * np.abs(low) + ZERO_RHS
            if np.all(sub.sum(axis=1) <= 1):
                break
        candidate[f, :, c] = sub
    return np.where(candidate.any(axis=1), candidate.argmax(axis=1), -1)


def pivot(D: Dictionaries, parents: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> Dictionaries:
    """New bases: for each g, basis ``parents[g]`` with nonbasic column ``cols[g]`` entering, row ``rows[g]`` leaving.

    Dictionary update (Chvátal 1983, ch. 2): with p = T[r, c], the entering variable's row becomes row / p (its
    coefficient of the leaving variable 1 / p), and every other row i subtracts T[i, c] / p times row r.
    """
    g = np.arange(parents.size)
    T, R = D.T[parents], D.R[parents]
    p = T[g, rows, cols]
    row_T = T[g, rows, :] / p[:, None]
    row_R = R[g, rows, :] / p[:, None]
    col = T[g, :, cols].copy()
    T -= col[:, :, None] * row_T[:, None, :]
    R -= col[:, :, None] * row_R[:, None, :]
    T[g, :, cols] = -col / p[:, None]
    T[g, rows, :] = row_T
    T[g, rows, cols] = 1.0 / p
    R[g, rows, :] = row_R
    basic, nonbasic = D.basic[parents].copy(), D.nonbasic[parents].copy()
    entering = nonbasic[g, cols]
    nonbasic[g, cols] = basic[g, rows]
    basic[g, rows] = entering
    return Dictionaries(T, R, basic, nonbasic)


def dictionary_points(polytope: Polytope, D: Dictionaries) -> np.ndarray:
    """The vertex ``z [F, d]`` of each basis: a structural variable's value is its row's right-hand side, else 0."""
    offset = int(polytope.structural[0])  # the structural labels are contiguous
    index = D.basic - offset
    structural = (index >= 0) & (index < polytope.dim)
    z = np.zeros((len(D), polytope.dim))
    f, r = np.nonzero(structural)
    z[f, index[f, r]] = D.rhs[f, r]
    return z


def polished_points(polytope: Polytope, tight: np.ndarray, pivoted: np.ndarray) -> np.ndarray:
    """Re-solve ``H[N] z = h[N]`` for each row ``N`` of ``tight [G, d]`` to remove the rounding of the pivots.

    The re-solved vertex replaces the pivoted one only where it agrees with it to :data:`POLISH_AGREEMENT`: when
    payoffs are nearly tied (rows equal to within the pivot tolerance), the binding system is ill-conditioned and
    the pivoted point, a vertex of the game with those ties made exact, is kept.
    """
    M = polytope.H[tight]
    rhs = polytope.is_payoff[tight].astype(np.float64)[..., None]
    try:
        solved = np.linalg.solve(M, rhs)[..., 0]
    except np.linalg.LinAlgError:  # an exactly singular system somewhere in the batch: solve one at a time
        solved = np.array([_solve_or_nan(Mi, ri) for Mi, ri in zip(M, rhs, strict=True)]).reshape(pivoted.shape)
    agree = np.all(np.abs(solved - pivoted) <= POLISH_AGREEMENT, axis=-1)
    return np.where(agree[:, None], solved, pivoted)


def _solve_or_nan(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(M, rhs)[:, 0]
    except np.linalg.LinAlgError:
        return np.full(M.shape[0], np.nan)


# ------------------------------------------------------------------------------------------ certificates
def nash_conv_pair(A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """NashConv (max_i (Ay)_i - xAy) + (max_j (xB)_j - xBy) (Lanctot et al. 2017, §3); >= 0, 0 at equilibria."""
    Ay, xB = A @ y, x @ B
    return float(max(Ay.max() - x @ Ay, 0.0) + max(xB.max() - xB @ y, 0.0))


def as_strategy(z: np.ndarray) -> np.ndarray:
    """A vertex coordinate vector of P or Q normalised to a probability vector (rounding below 0 clipped to 0).

    Small positive entries are kept: dropping them would move the profile by up to their size times the payoff
    range and spoil the certificate; :func:`make_equilibrium` leaves them out of the supports.
    """
    z = np.maximum(z, 0.0)
    return z / z.sum()


def make_equilibrium(
    A: np.ndarray, B: np.ndarray, x: np.ndarray, y: np.ndarray, method: str, tol: float
) -> Equilibrium:
    """An :class:`Equilibrium` with values, supports (probability > tol) and the certified NashConv."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x.setflags(write=False)
    y.setflags(write=False)
    values = np.array([x @ A @ y, x @ B @ y])
    supports = (tuple(int(i) for i in np.flatnonzero(x > tol)), tuple(int(j) for j in np.flatnonzero(y > tol)))
    return Equilibrium((x, y), values, supports, nash_conv_pair(A, B, x, y), method)


def certificate_bound(A: np.ndarray, B: np.ndarray, tol: float) -> float:
    """The NashConv a reported equilibrium must reach: ``tol`` times the payoff scale (at least 1)."""
    return tol * max(1.0, float(np.abs(A).max()), float(np.abs(B).max()))


def uncertified_note(dropped: int, bound: float) -> str:
    return (
        f"{dropped} candidate vertex pair(s) failed the NashConv certificate (> {bound:.1e}) and were left out: "
        "the payoffs are tied to within about 1e-8, beyond what float64 pivoting resolves; rescale or round them "
        "(exact ties are handled as a degenerate game)"
    )


def unique_sorted(equilibria: list[Equilibrium]) -> tuple[Equilibrium, ...]:
    """Drop equilibria within :data:`DUPLICATE_TOLERANCE` of an earlier one; sort lexicographically by profile."""
    if not equilibria:
        return ()
    flat = np.array([np.concatenate(e.profile) for e in equilibria])
    order = np.lexsort(np.round(flat, 10).T[::-1])
    kept: list[int] = []
    for i in order:
        if not kept or np.all(np.max(np.abs(flat[kept] - flat[i]), axis=1) > DUPLICATE_TOLERANCE):
            kept.append(int(i))
    return tuple(equilibria[i] for i in kept)


def equilibrium_set(
    equilibria: list[Equilibrium], complete: bool, degenerate: bool, method: str, notes: tuple[str, ...] = ()
) -> EquilibriumSet:
    return EquilibriumSet(unique_sorted(equilibria), complete, degenerate, method, notes)
