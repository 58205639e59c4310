"""One Nash equilibrium of a two-player game per missing label: the Lemke-Howson algorithm.

Lemke & Howson 1964, "Equilibrium points of bimatrix games" (SIAM J. Appl. Math. 12); in the polytope form of
von Stengel 2007, "Equilibrium computation for two-player games in strategic and extensive form" (Algorithmic
Game Theory ch. 3), §3.5, Algorithm 3.6 (polytopes P, Q and labels as in :mod:`marlkit.solve.two_player`):

    start at (x, y) = (0, 0), which has every label; drop label k by letting the variable with label k enter the
    basis of its polytope; the variable that leaves has a label l; if l == k stop, else l is now duplicate, so let
    the variable with label l enter in the *other* polytope; repeat.

Every pair met on the way is k-almost completely labelled, the path cannot revisit a pair, and it ends at a
completely labelled pair, i.e. an equilibrium (von Stengel 2007, Thm. 3.7). In a degenerate game a plain
minimum-ratio test can tie and the path can cycle; the **lexicographic minimum-ratio rule** (von Stengel 2007,
§3.5.3; Dantzig, Orden & Wolfe 1955) follows the path of a perturbed, non-degenerate game instead, so the
algorithm terminates. Pivots run in float64 dictionaries; the final vertex pair is re-solved from its binding
constraints and certified by its NashConv on the original payoffs (``epsilon``). A pivot cap stops a run that
exceeds it (a last resort: with the lexicographic rule this signals numerical trouble, not cycling).

The path from the artificial equilibrium finds one equilibrium per label; running it from all m + n labels
(:func:`lemke_howson_all_labels`) finds some, not necessarily all, equilibria (``complete=False``), in time that is
typically polynomial, so it reaches games far beyond vertex enumeration.
"""

from __future__ import annotations

import numpy as np

from marlkit.errors import InvalidGameError, MarlkitError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.results import Equilibrium, EquilibriumSet
from marlkit.solve.two_player import (
    TOLERANCE,
    ZERO_RHS,
    Dictionaries,
    as_strategy,
    best_response_polytopes,
    certificate_bound,
    check_bimatrix,
    check_tolerance,
    dictionary_points,
    equilibrium_set,
    game_bimatrix,
    leaving_rows,
    make_equilibrium,
    origin_dictionary,
    pivot,
    polished_points,
)

METHOD = "lemke-howson"

ALL_LABELS_NOTE = (
    "Lemke-Howson from every one of the m + n labels: the equilibria found, deduplicated; others may exist "
    "(use marlkit.solve.vertex_enumeration.all_equilibria for all of them when the game is small enough)"
)


class LemkeHowsonError(MarlkitError, RuntimeError):
    """A Lemke-Howson path exceeded its pivot cap, or its end failed the NashConv certificate (numerical trouble
    on payoffs tied to within ~1e-8; with the lexicographic rule it is never cycling)."""


def _default_cap(m: int, n: int) -> int:
    return max(10_000, 50 * (m + n) ** 2)


def _path(A: np.ndarray, B: np.ndarray, label: int, max_pivots: int, tol: float) -> tuple[Equilibrium, bool]:
    """Follow the path that drops ``label``; return the equilibrium and whether a degenerate basis was met."""
    m, n = A.shape
    P, Q = best_response_polytopes(A, B)
    dictionaries: list[Dictionaries] = [origin_dictionary(P), origin_dictionary(Q)]
    side = 0 if label < m else 1  # at (0, 0) the labels of P are the x_i = 0, those of Q the y_j = 0
    entering, zero = np.array([label]), np.array([0])
    degenerate = False
    for _ in range(max_pivots):
        D = dictionaries[side]
        col = np.flatnonzero(D.nonbasic[0] == entering[0])
        row = leaving_rows(D.T[:, :, col], D.R)[0]
        if row[0] < 0:  # cannot happen for the bounded polytopes P, Q; guard against numerical breakdown
            raise LemkeHowsonError(
                f"lemke_howson: unbounded ray at label {int(entering[0])} (numerical breakdown); rescale the payoffs"
            )
        leaving = D.basic[0, row[0]]
        dictionaries[side] = pivot(D, zero, row, col)
        degenerate |= bool(np.any(dictionaries[side].rhs <= ZERO_RHS))
        if leaving == label:
            break
        side, entering = 1 - side, np.array([leaving])
    else:
        raise LemkeHowsonError(
            f"lemke_howson: no equilibrium after {max_pivots} pivots from label {label} on a {m}x{n} game; raise "
            "max_pivots, or try another initial_label (the lexicographic rule rules out cycling, so this is a very "
            "long path or numerical trouble)"
        )
    x, y = (
        polished_points(poly, D.nonbasic, dictionary_points(poly, D))[0]
        for poly, D in zip((P, Q), dictionaries, strict=True)
    )
    equilibrium = make_equilibrium(A, B, as_strategy(x), as_strategy(y), f"{METHOD} (label {label})", tol)
    return equilibrium, degenerate


def _uncertified(equilibrium: Equilibrium, A: np.ndarray, B: np.ndarray, tol: float) -> bool:
    return equilibrium.epsilon > certificate_bound(A, B, tol)


def _checked(A: object, B: object, tol: float, max_pivots: int | None) -> tuple[np.ndarray, np.ndarray, float, int]:
    A, B = check_bimatrix(A, B)
    tol = check_tolerance(tol)
    cap = _default_cap(*A.shape) if max_pivots is None else int(max_pivots)
    if cap < 1:
        raise InvalidGameError(f"max_pivots: expected a positive pivot cap, got {max_pivots!r}")
    return A, B, tol, cap


def lemke_howson(
    A: object, B: object, initial_label: int = 0, tol: float = TOLERANCE, max_pivots: int | None = None
) -> Equilibrium:
    """One Nash equilibrium of the bimatrix game (A, B) by Lemke-Howson (von Stengel 2007, Alg. 3.6).

    Args:
        A: the row player's payoffs ``[m, n]``.
        B: the column player's payoffs ``[m, n]``.
        initial_label: the label dropped first: 0..m-1 are the row player's actions, m..m+n-1 the column player's.
        tol: support threshold (probability > tol).
        max_pivots: pivot cap (default ``max(10_000, 50 (m + n)^2)``); exceeding it raises
            :class:`LemkeHowsonError`.

    Returns:
        The :class:`Equilibrium` at the end of the path, ``epsilon`` its NashConv on the original payoffs.

    Raises:
        LemkeHowsonError: the pivot cap was reached, or the end of the path fails the certificate NashConv <=
            tol * max(1, max |payoff|) (possible only when payoffs are tied to within ~1e-8).

    Example:
        >>> eq = lemke_howson([[3, 0], [0, 2]], [[2, 0], [0, 3]], initial_label=0)  # battle of the sexes
        >>> [p.tolist() for p in eq.profile]
        [[1.0, 0.0], [1.0, 0.0]]
    """
    A, B, tol, cap = _checked(A, B, tol, max_pivots)
    m, n = A.shape
    if not isinstance(initial_label, int | np.integer) or not (0 <= int(initial_label) < m + n):
        raise InvalidGameError(
            f"initial_label: expected a label in 0..{m + n - 1} (0..{m - 1} row actions, {m}..{m + n - 1} column "
            f"actions), got {initial_label!r}"
        )
    equilibrium = _path(A, B, int(initial_label), cap, tol)[0]
    if _uncertified(equilibrium, A, B, tol):
        raise LemkeHowsonError(
            f"lemke_howson: the path from label {initial_label} ended at a pair with NashConv "
            f"{equilibrium.epsilon:.2e} > {certificate_bound(A, B, tol):.1e}: payoffs tied to within ~1e-8 defeat "
            "float64 pivoting; round or rescale them, or try another initial_label"
        )
    return equilibrium


def lemke_howson_all_labels(
    A: object, B: object, tol: float = TOLERANCE, max_pivots: int | None = None
) -> EquilibriumSet:
    """Lemke-Howson from each of the m + n labels, deduplicated (within 1e-8) and sorted; ``complete=False``.

    ``degenerate`` is True when some path met a degenerate basis (a basic variable at 0), which proves the game
    degenerate; False means none was met, not that the game is non-degenerate.
    """
    A, B, tol, cap = _checked(A, B, tol, max_pivots)
    found, failed, degenerate = [], [], False
    for label in range(sum(A.shape)):
        equilibrium, met = _path(A, B, label, cap, tol)
        degenerate |= met
        if _uncertified(equilibrium, A, B, tol):
            failed.append(label)
        else:
            found.append(equilibrium)
    if not found:
        raise LemkeHowsonError(
            f"lemke_howson_all_labels: no path ended at a certified equilibrium on this {A.shape[0]}x{A.shape[1]} "
            "game (payoffs tied to within ~1e-8); round or rescale the payoffs"
        )
    notes: tuple[str, ...] = (ALL_LABELS_NOTE,)
    if failed:
        notes += (f"the paths from labels {failed} ended at uncertified pairs (near-tied payoffs) and were left out",)
    return equilibrium_set(found, complete=False, degenerate=degenerate, method=METHOD, notes=notes)


def game_lemke_howson(
    game: NormalFormGame, initial_label: int = 0, tol: float = TOLERANCE, max_pivots: int | None = None
) -> Equilibrium:
    """:func:`lemke_howson` of a two-player :class:`NormalFormGame` (NotApplicableError for other player counts)."""
    A, B = game_bimatrix(game)
    return lemke_howson(A, B, initial_label, tol, max_pivots)


def game_lemke_howson_all_labels(
    game: NormalFormGame, tol: float = TOLERANCE, max_pivots: int | None = None
) -> EquilibriumSet:
    """:func:`lemke_howson_all_labels` of a two-player :class:`NormalFormGame`."""
    A, B = game_bimatrix(game)
    return lemke_howson_all_labels(A, B, tol, max_pivots)
