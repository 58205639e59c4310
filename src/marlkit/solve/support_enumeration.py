"""All Nash equilibria of a small n-player normal-form game: support enumeration with exact algebra.

A profile σ with supports S_1, ..., S_n is a Nash equilibrium iff (Nash 1951; Shoham & Leyton-Brown 2009, §4.2):

* indifference: U_i(a, σ_-i) = U_i(a', σ_-i) for all a, a' in S_i (with Σ_{a in S_i} σ_i(a) = 1, σ_i = 0 off S_i);
* positivity: σ_i(a) > 0 for a in S_i;
* no profitable deviation: U_i(b, σ_-i) <= U_i(a, σ_-i) for b outside S_i.

Every equilibrium has exactly one support profile, so enumerating the profiles (smallest first; those with an
action conditionally strictly dominated given the others' supports are skipped, Porter, Nudelman & Shoham 2008,
GEB 63, §3) and solving each one's system lists every equilibrium exactly once. For n >= 3 the indifference
system is polynomial (multilinear), so each is solved **exactly** with SymPy over the rationals:

1. payoffs are converted exactly to integers (every float is a dyadic rational; each player's payoffs are
   shifted and scaled by a positive factor, which changes no equilibrium);
2. with x the free probabilities (σ_i(S_i[0]) = 1 - Σ x_i), a separating linear form t = Σ c_j x_j (small
   integer c_j) is appended and the reduced lex Gröbner basis computed with t last (Buchberger's algorithm,
   ``sympy.groebner``). For a zero-dimensional radical ideal and a separating t the basis is in *shape
   position*, {x_j - g_j(t), p(t)} (the shape lemma; Cox, Little & O'Shea 2015, *Ideals, Varieties, and
   Algorithms*, §3.5 and ex. 2.7.16; Rouillier 1999 for the rational univariate representation); other c are
   tried if it is not;
3. the real roots of p are isolated in exact rational intervals (``Poly.intervals``, Vincent-Collins-Akritas),
   and the sign of every positivity and deviation polynomial q(t) (reduced mod p) at a root r is decided
   exactly: q(r) = 0 iff gcd(p, q) has a root in r's isolating interval, else the interval is refined until q
   has no root in it (Sturm counts, ``Poly.count_roots``) and the sign of q at an endpoint is q(r)'s.

So the positivity and no-deviation checks are **exact** (no floating-point tolerance). The reported profile is
the float of a rational point within 1e-30 of the exact root.

A support profile whose ideal is not zero-dimensional (a positive-dimensional solution set: the game is
degenerate, e.g. a player indifferent between two actions against a pure profile of the others) may hold a
continuum of equilibria; the result then says so (``complete=False``, ``degenerate=True`` and a note naming the
support). The same holds when the basis is not in shape position for any tried c (a multiple root): the support is
named and the set is not claimed complete. Generic games have neither (Harsanyi 1973; Wilson 1971).

Cost: measured on a shared 2-core CPU, see ``docs/diagnostics.md`` and :data:`ENUMERATION_LIMIT`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from math import gcd, lcm

import numpy as np
import sympy

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.best_response import nash_conv
from marlkit.solve.results import Equilibrium, EquilibriumSet

METHOD = "support-enumeration (exact: SymPy Gröbner basis + real root isolation)"

ENUMERATION_LIMIT = 400
"""Largest number of support profiles Π_i (2^{m_i} - 1) enumerated (3x3x3 has 343, 2x2x2x2 has 81)."""

TIME_LIMIT = 30.0
"""Default seconds :func:`all_equilibria` spends before it stops (between support profiles) and reports an
incomplete list: exact arithmetic on full-precision float payoffs can take minutes for a 3x3x3 or 2x2x2x2 game
(measured here: 63 s for a random normal 2x2x2x2 game, over 5 minutes for a random normal 3x3x3 one), while small
integer or simple-fraction payoffs take well under a second."""

COSTLY_UNKNOWNS = 4
COSTLY_BITS = 24
"""A support system with at least :data:`COSTLY_UNKNOWNS` unknowns is skipped (the list is then reported
incomplete, never silently) when the exact integer payoffs need more than :data:`COSTLY_BITS` bits: Gröbner bases of
such systems took minutes here (the full support of a random normal 3x3x3 game: over 5 minutes; its other 342
supports: under 5 s). Integer and simple-fraction payoffs stay far below the bound."""

MAX_PLAYERS = 4
"""Largest number of players enumerated (each support system has up to Σ (m_i - 1) unknowns of degree n - 1)."""

_SEPARATORS = ((1, 2, 3, 5, 7, 11, 13, 17), (3, -1, 4, 1, -5, 9, 2, -6), (2, 7, 1, 8, 2, 8, 1, 8))
"""Coefficients c_j of the separating form t = Σ c_j x_j, tried in turn until the basis is in shape position."""

_PRECISION = Fraction(1, 10**30)
"""Width to which a root's isolating interval is refined before the profile is read off as floats."""


def enumerable(game: NormalFormGame) -> bool:
    """Whether :func:`all_equilibria` handles ``game``: at most :data:`MAX_PLAYERS` players and at most
    :data:`ENUMERATION_LIMIT` support profiles."""
    profiles = int(np.prod([2**m - 1 for m in game.num_actions], dtype=np.float64))
    return game.n_players <= MAX_PLAYERS and profiles <= ENUMERATION_LIMIT


def exact_payoffs(game: NormalFormGame) -> np.ndarray:
    """Each player's payoffs as Python integers (object array), a positive affine image of the float payoffs.

    ``Fraction(x)`` of a float is exact; subtracting the player's minimum and multiplying by the least common
    denominator (then dividing by the gcd) keeps every equilibrium (Nash equilibria are invariant under positive
    affine transformations of one player's payoffs)."""
    out = np.empty(game.payoffs.shape, dtype=object)
    for i in range(game.n_players):
        values = [Fraction(float(x)) for x in game.payoffs[i].reshape(-1)]
        low = min(values)
        shifted = [v - low for v in values]
        scale = reduce(lcm, (v.denominator for v in shifted), 1)
        ints = [int(v * scale) for v in shifted]
        common = reduce(gcd, ints, 0) or 1
        out[i] = np.array([v // common for v in ints], dtype=object).reshape(game.payoffs[i].shape)
    return out


# --------------------------------------------------------------------------------------------- supports
def _subsets(m: int) -> list[tuple[int, ...]]:
    return [s for k in range(1, m + 1) for s in itertools.combinations(range(m), k)]


def support_profiles(num_actions: Sequence[int]) -> Iterator[tuple[tuple[int, ...], ...]]:
    """Every profile of nonempty supports, by total size then lexicographically."""
    profiles = list(itertools.product(*(_subsets(m) for m in num_actions)))
    profiles.sort(key=lambda p: (sum(len(s) for s in p), p))
    yield from profiles


def _conditionally_dominated(payoffs: np.ndarray, supports: Sequence[tuple[int, ...]]) -> bool:
    """Whether some a in S_i is strictly dominated by some b in A_i on every pure profile of S_-i (then no
    profile with these supports is an equilibrium: b would beat a against σ_-i)."""
    n = payoffs.shape[0]
    for i in range(n):
        axes = [list(range(payoffs.shape[1 + i])) if j == i else list(s) for j, s in enumerate(supports)]
        block = np.moveaxis(payoffs[i][np.ix_(*axes)], i, 0)
        flat = block.reshape(block.shape[0], -1)
        for a in supports[i]:
            if np.any(np.all(flat > flat[a], axis=1)):
                return True
    return False


# ------------------------------------------------------------------------------------------ exact signs
def _sign_at_root(q: sympy.Poly, p: sympy.Poly, interval: tuple[Fraction, Fraction]) -> int:
    """The exact sign of q at the unique root of the squarefree p in the closed rational ``interval``."""
    if q.is_zero:
        return 0
    lo, hi = interval
    if lo == hi:
        value = q.eval(sympy.Rational(lo.numerator, lo.denominator))
        return int(sympy.sign(value))
    common = sympy.gcd(p, q)
    if common.degree() > 0 and common.count_roots(_rational(lo), _rational(hi)) > 0:
        return 0
    while q.count_roots(_rational(lo), _rational(hi)) > 0:
        lo, hi = _refine(p, lo, hi, (hi - lo) / 16)
        if lo == hi:
            return int(sympy.sign(q.eval(_rational(lo))))
    return int(sympy.sign(q.eval(_rational(lo))))


def _rational(x: Fraction) -> sympy.Rational:
    return sympy.Rational(x.numerator, x.denominator)


def _fraction(x: object) -> Fraction:
    r = sympy.Rational(x)
    return Fraction(int(r.p), int(r.q))


def _refine(p: sympy.Poly, lo: Fraction, hi: Fraction, eps: Fraction) -> tuple[Fraction, Fraction]:
    a, b = p.refine_root(_rational(lo), _rational(hi), eps=_rational(eps))
    return _fraction(a), _fraction(b)


# --------------------------------------------------------------------------------------------- one support
@dataclass(frozen=True)
class SupportOutcome:
    """What one support profile's system gave: the equilibria on it (float profiles) and whether its solution
    set was shown finite (``finite``; False for a positive-dimensional ideal or no shape position)."""

    profiles: tuple[tuple[np.ndarray, ...], ...]
    finite: bool
    why: str = ""


def solve_support(
    payoffs: np.ndarray, num_actions: Sequence[int], supports: Sequence[tuple[int, ...]]
) -> SupportOutcome:
    """Every equilibrium with exactly these supports, of the game with integer ``payoffs`` (object array)."""
    n = len(num_actions)
    free = [[sympy.Symbol(f"x{i}_{a}") for a in supports[i][1:]] for i in range(n)]
    xs = [x for group in free for x in group]
    if not xs:
        raise ValueError("solve_support: a pure profile has no unknowns (use pure_equilibria)")
    # σ_i(a) as expressions in x
    sigma: list[dict[int, sympy.Expr]] = []
    for i in range(n):
        entries: dict[int, sympy.Expr] = {a: x for a, x in zip(supports[i][1:], free[i], strict=True)}
        entries[supports[i][0]] = 1 - sum(free[i], sympy.Integer(0))
        sigma.append(entries)
    equations = []
    for i in range(n):
        if len(supports[i]) < 2:
            continue
        utility = [_utility(payoffs[i], i, a, supports, sigma) for a in supports[i]]
        equations += [sympy.expand(u - utility[0]) for u in utility[1:]]
    equations = [e for e in equations if e != 0]
    if any(e.is_number for e in equations):
        return SupportOutcome((), True)  # a nonzero constant: no solution
    t = sympy.Symbol("t")
    for separator in ((), *_SEPARATORS):
        # the last unknown is replaced by t = x_last + Σ c_j x_j (j < last): the same ideal in new coordinates
        shift = sum((c * x for c, x in zip(separator, xs[:-1], strict=False)), sympy.Integer(0))
        system = [sympy.expand(e.subs(xs[-1], t - shift)) for e in equations]
        basis = sympy.groebner(system, *xs[:-1], t, order="grevlex", domain="QQ")
        if list(basis.exprs) == [1]:
            return SupportOutcome((), True)
        if not basis.is_zero_dimensional:
            return SupportOutcome((), False, "positive-dimensional solution set")
        shape = _shape(basis.fglm("lex").exprs, xs[:-1], t)
        if shape is not None:
            g, p = shape
            last = sympy.Poly(t, t, domain="QQ") - sum(
                (c * q for c, q in zip(separator, g, strict=False)), sympy.Poly(0, t, domain="QQ")
            )
            return SupportOutcome(_roots(payoffs, num_actions, supports, [*g, last.rem(p)], p), True)
    return SupportOutcome((), False, "no shape position (a multiple root)")


def _utility(
    u: np.ndarray, i: int, a: int, supports: Sequence[tuple[int, ...]], sigma: Sequence[dict[int, object]]
) -> sympy.Expr:
    """U_i(a, σ_-i) = Σ_{a_-i in S_-i} u_i(a, a_-i) Π_j σ_j(a_j) (σ_j is 0 off S_j)."""
    others = [j for j in range(len(supports)) if j != i]
    total: sympy.Expr = sympy.Integer(0)
    for rest in itertools.product(*(supports[j] for j in others)):
        joint = list(rest)
        joint.insert(i, a)
        coefficient = u[tuple(joint)]
        if coefficient == 0:
            continue
        term: sympy.Expr = sympy.Integer(coefficient)
        for j, b in zip(others, rest, strict=True):
            term = term * sigma[j][b]
        total = total + term
    return total


def _shape(exprs: Sequence[sympy.Expr], xs: Sequence[sympy.Symbol], t: sympy.Symbol):
    """(g_j(t) for each x_j, p(t)) if the lex basis is {x_j - g_j(t), p(t)}, else None."""
    if len(exprs) != len(xs) + 1:
        return None
    g = []
    for x, e in zip(xs, exprs[:-1], strict=True):
        poly = sympy.Poly(e, *xs, t)
        rest = sympy.expand(x - e)  # g(t) if e = x - g(t)
        if poly.coeff_monomial(x) != 1 or any(s in rest.free_symbols for s in xs):
            return None
        g.append(sympy.Poly(rest, t, domain="QQ"))
    p = sympy.Poly(exprs[-1], t, domain="QQ")
    if p.free_symbols - {t} or p.degree() < 1:
        return None
    return g, p


def _roots(
    payoffs: np.ndarray,
    num_actions: Sequence[int],
    supports: Sequence[tuple[int, ...]],
    g: Sequence[sympy.Poly],
    p: sympy.Poly,
) -> tuple[tuple[np.ndarray, ...], ...]:
    """The real roots of p that give equilibria (exact positivity and deviation signs), as float profiles."""
    n = len(num_actions)
    one = sympy.Poly(1, p.gen, domain="QQ")
    zero = sympy.Poly(0, p.gen, domain="QQ")
    # σ_i(a) as polynomials in t (mod p)
    sigma_t: list[list[sympy.Poly]] = []
    k = 0
    for i in range(n):
        row = [zero] * num_actions[i]
        rest = one
        for a in supports[i][1:]:
            row[a] = g[k]
            rest = rest - g[k]
            k += 1
        row[supports[i][0]] = rest
        sigma_t.append(row)
    checks: list[tuple[sympy.Poly, bool]] = []  # (q, strict): need q > 0 (strict) or q >= 0
    for i in range(n):
        for a in supports[i]:
            checks.append((sigma_t[i][a].rem(p), True))
    for i in range(n):
        utility = [_utility_t(payoffs[i], i, b, supports, sigma_t, p, zero) for b in range(num_actions[i])]
        base = utility[supports[i][0]]
        for b in range(num_actions[i]):
            if b not in supports[i]:
                checks.append(((base - utility[b]).rem(p), False))
    found = []
    for (lo, hi), _ in p.intervals():
        interval = (_fraction(lo), _fraction(hi))
        if all((s > 0) if strict else (s >= 0) for q, strict in checks for s in [_sign_at_root(q, p, interval)]):
            found.append(_profile(sigma_t, p, interval))
    return tuple(found)


def _utility_t(
    u: np.ndarray,
    i: int,
    b: int,
    supports: Sequence[tuple[int, ...]],
    sigma_t: Sequence[Sequence[sympy.Poly]],
    p: sympy.Poly,
    zero: sympy.Poly,
) -> sympy.Poly:
    """U_i(b, σ_-i) as a polynomial in t reduced mod p."""
    others = [j for j in range(len(supports)) if j != i]
    total = zero
    for rest in itertools.product(*(supports[j] for j in others)):
        joint = list(rest)
        joint.insert(i, b)
        coefficient = u[tuple(joint)]
        if coefficient == 0:
            continue
        term = sympy.Poly(int(coefficient), p.gen, domain="QQ")
        for j, a in zip(others, rest, strict=True):
            term = (term * sigma_t[j][a]).rem(p)
        total = total + term
    return total


def _profile(
    sigma_t: Sequence[Sequence[sympy.Poly]], p: sympy.Poly, interval: tuple[Fraction, Fraction]
) -> tuple[np.ndarray, ...]:
    lo, hi = interval
    if hi - lo > _PRECISION:
        lo, hi = _refine(p, lo, hi, _PRECISION)
    mid = _rational((lo + hi) / 2)
    out = []
    for row in sigma_t:
        values = np.array([float(q.eval(mid)) for q in row])
        values = np.maximum(values, 0.0)
        out.append(values / values.sum())
    return tuple(out)


# ---------------------------------------------------------------------------------------------- driver
def _equilibrium(game: NormalFormGame, profile: Sequence[np.ndarray]) -> Equilibrium:
    profile = tuple(np.asarray(s, dtype=np.float64) for s in profile)
    return Equilibrium(
        profile=profile,
        values=game.expected_utility(profile),
        supports=tuple(tuple(int(a) for a in np.flatnonzero(s > 0)) for s in profile),
        epsilon=nash_conv(game, profile),
        method=METHOD,
    )


def _pure(game: NormalFormGame, joint: Sequence[int]) -> bool:
    for i in range(game.n_players):
        column = game.payoffs[i][tuple(slice(None) if j == i else a for j, a in enumerate(joint))]
        if column.max() > column[joint[i]]:
            return False
    return True


def all_equilibria(game: NormalFormGame, *, time_limit: float | None = TIME_LIMIT) -> EquilibriumSet:
    """Every Nash equilibrium of a small n-player game, exactly (see the module docstring).

    ``complete`` is True when every support system was shown to have finitely many solutions (then the list is
    all equilibria); otherwise ``degenerate`` is True and a note names the supports whose solution set is not
    finite (equilibria there may form a continuum; the list holds the isolated equilibria found). When
    ``time_limit`` seconds pass (checked between support profiles; None: no limit), the enumeration stops and the
    set is returned with ``complete = False`` and a note saying how far it got.

    Raises:
        InvalidGameError: when ``game`` is too large (:func:`enumerable`).
    """
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"all_equilibria: expected a NormalFormGame, got {type(game).__name__}")
    if not enumerable(game):
        raise InvalidGameError(
            f"all_equilibria: {game.num_actions} is too large for support enumeration (at most {MAX_PLAYERS} "
            f"players and {ENUMERATION_LIMIT} support profiles)"
        )
    payoffs = exact_payoffs(game)
    bits = max(int(abs(v)).bit_length() for v in payoffs.flat)
    found: list[Equilibrium] = []
    unresolved: list[str] = []
    skipped: list[str] = []
    profiles = list(support_profiles(game.num_actions))
    deadline = None if time_limit is None else time.monotonic() + time_limit
    for done, supports in enumerate(profiles):
        if deadline is not None and time.monotonic() > deadline:
            note = (
                f"support enumeration stopped after {time_limit:g} s at support profile {done} of {len(profiles)} "
                "(exact arithmetic on these payoffs is slow; all_equilibria(game, time_limit=None) runs it to the "
                "end): the list may be incomplete"
            )
            return EquilibriumSet(tuple(found), complete=False, degenerate=False, method=METHOD, notes=(note,))
        if all(len(s) == 1 for s in supports):
            joint = tuple(s[0] for s in supports)
            if _pure(game, joint):
                found.append(_equilibrium(game, [np.eye(m)[a] for m, a in zip(game.num_actions, joint, strict=True)]))
            continue
        if _conditionally_dominated(game.payoffs, supports):
            continue
        if bits > COSTLY_BITS and sum(len(s) - 1 for s in supports) >= COSTLY_UNKNOWNS:
            skipped.append(_support_text(game, supports))
            continue
        outcome = solve_support(payoffs, game.num_actions, supports)
        found += [_equilibrium(game, profile) for profile in outcome.profiles]
        if not outcome.finite:
            unresolved.append(f"{_support_text(game, supports)} ({outcome.why})")
    notes: tuple[str, ...] = ()
    if skipped:
        notes += (
            f"{len(skipped)} support profile(s) skipped, {', '.join(skipped[:3])}"
            f"{', ...' if len(skipped) > 3 else ''}: "
            f"exact arithmetic on these payoffs ({bits}-bit integers after exact scaling) is too costly "
            f"(COSTLY_BITS = {COSTLY_BITS}); the list may be incomplete",
        )
    if unresolved:
        shown = "; ".join(unresolved[:4]) + ("; ..." if len(unresolved) > 4 else "")
        notes += (
            f"the set is not shown finite: {len(unresolved)} support profile(s) have a solution set that is not "
            f"finite, where equilibria may form a continuum (degenerate game): {shown}; the isolated equilibria "
            "are listed",
        )
    return EquilibriumSet(
        tuple(found), complete=not unresolved and not skipped, degenerate=bool(unresolved), method=METHOD, notes=notes
    )


def _support_text(game: NormalFormGame, supports: Sequence[tuple[int, ...]]) -> str:
    return "(" + " | ".join(",".join(game.action_names[i][a] for a in s) for i, s in enumerate(supports)) + ")"
