"""All Nash equilibria of a two-player game by vertex enumeration of the best-response polytopes.

Von Stengel 2007, "Equilibrium computation for two-player games in strategic and extensive form" (Algorithmic
Game Theory ch. 3), Algorithm 3.5: a pair (x, y) of vertices of P and Q other than (0, 0) whose label sets cover
all m + n labels is, normalised, a Nash equilibrium, and in a non-degenerate game every equilibrium arises so.
The polytopes and labels are described in :mod:`marlkit.solve.two_player`.

How it is computed, vectorised:

1. **Vertices by breadth-first search over lexicographically feasible bases** (the vertex graph of the perturbed
   polytope; Avis & Fukuda 1992 enumerate the same bases by reverse search). A whole layer of the search is one
   batched ratio test over every (basis, entering column) pair and one batched pivot; bases are identified by the
   bitmask of their nonbasic labels (a ``uint64``), and new ones are found with sorted-array set operations.
2. **Label sets as bitmasks**: a vertex's labels are its nonbasic variables plus every basic variable at 0.
3. **Matching complementary pairs with integer operations**: in a non-degenerate game each vertex of P has
   exactly m labels and the partner must have exactly the other n, found by binary search of
   ``ALL ^ mask(x)`` among Q's sorted masks. In a degenerate game the test is ``mask(y) ⊇ ALL & ~mask(x)``.
4. **Polish and certify**: each matched vertex is re-solved from its d binding constraints, normalised, and its
   NashConv on the original payoffs is reported as ``epsilon``.

**Degenerate games** (a mixed strategy with support size k has more than k pure best responses; equivalently a
vertex of P or Q with more than m, resp. n, labels; von Stengel 2007, Def. 3.2 and §3.6) are detected. Their
equilibria can form continua (convex combinations of the listed ones within a maximal Nash subset); the result
lists every completely labelled vertex pair, i.e. the extreme equilibria of every component, with
``degenerate=True`` and ``complete=False``.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from marlkit.errors import NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.results import EquilibriumSet
from marlkit.solve.two_player import (
    TOLERANCE,
    ZERO_RHS,
    Polytope,
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
    uncertified_note,
)

METHOD = "vertex-enumeration"

DEGENERATE_NOTE = (
    "degenerate game: equilibria may form continua; the extreme equilibria of each component are listed "
    "(every completely labelled vertex pair), and any convex combination within a component is also an equilibrium"
)

MAX_LABELS = 64
"""Label sets are ``uint64`` bitmasks, so vertex enumeration takes games with m + n <= 64."""

MAX_VERTICES = 2_000_000
"""Default cap on the bases visited per polytope before giving up (use Lemke-Howson for such games)."""

SMALL_BASES = 300
"""Polytopes with at most this many candidate bases C(m + n, d) are enumerated by one batched solve."""

_CHUNK = 4096
"""Bases pivoted per batch (bounds the memory of the batched ratio test, ``chunk * k * d`` floats)."""


@dataclass(frozen=True)
class Vertices:
    """The vertices of one polytope: label bitmasks (all binding constraints), d binding labels, degeneracy."""

    labels: np.ndarray  # [V] uint64
    basis: np.ndarray  # [V, d] the nonbasic labels of one basis of the vertex (d linearly independent constraints)
    points: np.ndarray  # [V, d] the vertex as read from that basis's dictionary
    degenerate: bool


def _bitmasks(ids: np.ndarray, bits: np.ndarray) -> np.ndarray:
    return np.bitwise_or.reduce(bits[ids], axis=-1)


def enumerate_vertices(polytope: Polytope, max_vertices: int = MAX_VERTICES) -> Vertices:
    """Every vertex of a best-response polytope.

    Small polytopes (at most :data:`SMALL_BASES` candidate bases) solve every basis in one batch
    (:func:`_vertices_by_bases`). Larger ones are searched over lexicographically feasible bases; the search first
    runs with the plain ratio test (right-hand side only, half the work), and the first basis with a variable at 0
    proves the polytope degenerate and restarts it with the lexicographic rule.
    """
    if math.comb(polytope.H.shape[0], polytope.dim) <= SMALL_BASES:
        return _vertices_by_bases(polytope)
    found = _search(polytope, max_vertices, lexicographic=False)
    if found is None:
        found = _search(polytope, max_vertices, lexicographic=True)
    assert found is not None  # the lexicographic search always finishes
    return found


@functools.cache
def _label_subsets(n_labels: int, d: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n_labels), d)), dtype=np.int8).reshape(-1, d)


def _vertices_by_bases(polytope: Polytope) -> Vertices:
    """All vertices of a small polytope: solve ``H[N] z = h[N]`` for every d-subset N of labels at once, keep the
    nonsingular, feasible solutions, label each by its binding constraints and keep one per label set."""
    n_labels, d = polytope.H.shape[0], polytope.dim
    subsets = _label_subsets(n_labels, d)
    M = polytope.H[subsets]  # [S, d, d]
    h = polytope.is_payoff.astype(np.float64)
    nonsingular = np.abs(np.linalg.det(M)) > ZERO_RHS
    subsets, M = subsets[nonsingular], M[nonsingular]
    z = np.linalg.solve(M, h[subsets][..., None])[..., 0]  # [S, d]
    slack = h - z @ polytope.H.T  # [S, m + n]; unit rows read -z_i, so slack >= 0 is feasibility for every label
    slack[:, ~polytope.is_payoff] = z[:, polytope.structural - polytope.structural[0]]
    feasible = np.all(slack >= -ZERO_RHS, axis=1)
    bits = np.left_shift(np.uint64(1), np.arange(n_labels, dtype=np.uint64))
    labels = np.bitwise_or.reduce(np.where(slack[feasible] <= ZERO_RHS, bits, np.uint64(0)), axis=1)
    labels, keep = np.unique(labels, return_index=True)
    degenerate = bool(np.any(np.bitwise_count(labels) > d))
    return Vertices(labels, subsets[feasible][keep], z[feasible][keep], degenerate)


def _search(polytope: Polytope, max_vertices: int, lexicographic: bool) -> Vertices | None:
    n_labels = polytope.H.shape[0]
    bits = np.left_shift(np.uint64(1), np.arange(n_labels, dtype=np.uint64))
    stack = [origin_dictionary(polytope, lexicographic)]
    seen = set(_bitmasks(stack[0].nonbasic, bits).tolist())  # a hash set: fastest for batches small and large
    labels, bases, points = [], [], []
    while stack:
        D = stack.pop()  # depth-first over batches keeps the stored dictionaries few
        nonbasic_mask = _bitmasks(D.nonbasic, bits)
        at_zero = D.rhs <= ZERO_RHS  # binding: the vertex's labels include these basic variables
        if not lexicographic and at_zero.any():
            return None
        labels.append(nonbasic_mask | _bitmasks(np.where(at_zero, D.basic, D.nonbasic[:, :1]), bits))
        bases.append(D.nonbasic.astype(np.int8))
        points.append(dictionary_points(polytope, D))
        rows = leaving_rows(D.T, D.R)  # [F, d]; P and Q are bounded, so every column has a leaving row
        f, c = np.nonzero(rows >= 0)
        r = rows[f, c]
        child = (nonbasic_mask[f] ^ bits[D.nonbasic[f, c]]) | bits[D.basic[f, r]]
        fresh = []
        for i, key in enumerate(child.tolist()):
            if key not in seen:
                seen.add(key)
                fresh.append(i)
        if not fresh:
            continue
        first = np.array(fresh)
        if len(seen) > max_vertices:
            raise NotApplicableError(
                f"vertex enumeration: more than {max_vertices} bases in one best-response polytope; the game is "
                "too large to enumerate, use marlkit.solve.lemke_howson.lemke_howson_all_labels instead"
            )
        for s in range(0, first.size, _CHUNK):
            sel = first[s : s + _CHUNK]
            stack.append(pivot(D, f[sel], r[sel], c[sel]))
    all_labels = np.concatenate(labels)
    all_bases = np.concatenate(bases)
    all_points = np.concatenate(points)
    degenerate = False
    if lexicographic:  # several bases of one vertex: keep one per label set
        all_labels, keep = np.unique(all_labels, return_index=True)
        all_bases, all_points = all_bases[keep], all_points[keep]
        degenerate = bool(np.any(np.bitwise_count(all_labels) > polytope.dim))
    return Vertices(all_labels, all_bases, all_points, degenerate)


def _complementary_pairs(P: Vertices, Q: Vertices, full: np.uint64, degenerate: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices (p, q) of completely labelled vertex pairs (the artificial pair (0, 0) among them)."""
    if not degenerate:
        order = np.argsort(Q.labels)
        sorted_q = Q.labels[order]
        wanted = full ^ P.labels
        at = np.minimum(np.searchsorted(sorted_q, wanted), sorted_q.size - 1)
        p = np.flatnonzero(sorted_q[at] == wanted)
        return p, order[at[p]]
    found_p, found_q = [], []
    need = full & ~P.labels
    for s in range(0, need.size, 1024):
        block = need[s : s + 1024, None]
        p, q = np.nonzero((Q.labels[None, :] & block) == block)
        found_p.append(p + s)
        found_q.append(q)
    return np.concatenate(found_p), np.concatenate(found_q)


def all_equilibria(A: object, B: object, tol: float = TOLERANCE, max_vertices: int = MAX_VERTICES) -> EquilibriumSet:
    """Every Nash equilibrium of the bimatrix game (A, B) (von Stengel 2007, Alg. 3.5; see the module docstring).

    Args:
        A: the row player's payoffs ``[m, n]``.
        B: the column player's payoffs ``[m, n]``.
        tol: support threshold (probability > tol), and the certificate: a vertex pair is reported only if its
            NashConv is <= tol * max(1, max |payoff|) (a pair failing it, possible only when payoffs are tied to
            within ~1e-8, is left out with a note and ``complete=False``). A constraint binds when its slack is
            below ``ZERO_RHS`` (1e-12) on payoffs scaled to [1, 2], so exact payoff ties make a degenerate game.
        max_vertices: give up (``NotApplicableError``) when a polytope has more bases than this.

    Returns:
        An :class:`EquilibriumSet`, sorted lexicographically by profile and deduplicated within 1e-8. For a
        non-degenerate game it holds every equilibrium (``complete=True``); for a degenerate one the extreme
        equilibria of every component (``degenerate=True``, ``complete=False``, with a note). Every member's
        ``epsilon`` is its NashConv on the original payoffs.

    Example:
        >>> eqs = all_equilibria([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])  # matching pennies
        >>> [p.round(12).tolist() for p in eqs[0].profile]
        [[0.5, 0.5], [0.5, 0.5]]
    """
    A, B = check_bimatrix(A, B)
    tol = check_tolerance(tol)
    m, n = A.shape
    if m + n > MAX_LABELS:
        raise NotApplicableError(
            f"vertex enumeration takes games with m + n <= {MAX_LABELS} actions in all, got {m}x{n}; use "
            "marlkit.solve.lemke_howson.lemke_howson_all_labels for larger games"
        )
    P_poly, Q_poly = best_response_polytopes(A, B)
    P = enumerate_vertices(P_poly, max_vertices)
    Q = enumerate_vertices(Q_poly, max_vertices)
    degenerate = P.degenerate or Q.degenerate
    full = np.uint64((1 << (m + n)) - 1) if m + n < 64 else np.uint64(np.iinfo(np.uint64).max)
    p, q = _complementary_pairs(P, Q, full, degenerate)
    x_zero = np.uint64((1 << m) - 1)
    keep = P.labels[p] != x_zero  # the artificial pair (0, 0); no other pair has a zero vertex
    p, q = p[keep], q[keep]
    xs = polished_points(P_poly, P.basis[p], P.points[p])
    ys = polished_points(Q_poly, Q.basis[q], Q.points[q])
    candidates = [
        make_equilibrium(A, B, as_strategy(x), as_strategy(y), METHOD, tol) for x, y in zip(xs, ys, strict=True)
    ]
    bound = certificate_bound(A, B, tol)
    found = [e for e in candidates if e.epsilon <= bound]
    notes: tuple[str, ...] = (DEGENERATE_NOTE,) if degenerate else ()
    if len(found) < len(candidates):
        notes += (uncertified_note(len(candidates) - len(found), bound),)
    complete = not degenerate and len(found) == len(candidates)
    return equilibrium_set(found, complete=complete, degenerate=degenerate, method=METHOD, notes=notes)


def game_equilibria(game: NormalFormGame, tol: float = TOLERANCE, max_vertices: int = MAX_VERTICES) -> EquilibriumSet:
    """:func:`all_equilibria` of a two-player :class:`NormalFormGame` (payoffs ``[2, m, n]``).

    Raises:
        NotApplicableError: the game does not have exactly two players (use :mod:`marlkit.solve.n_player`).
    """
    A, B = game_bimatrix(game)
    return all_equilibria(A, B, tol, max_vertices)
