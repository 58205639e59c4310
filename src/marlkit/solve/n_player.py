"""Nash equilibria of n-player normal-form games: every pure equilibrium, and a mixed one of any finite game.

* :func:`pure_equilibria` lists all pure Nash equilibria exactly: a joint action is one iff every player's payoff
  there equals the maximum over its own axis (vectorised over the payoff tensor).
* :func:`mixed_equilibrium` finds a (possibly mixed) equilibrium of any finite game in two stages:

  1. **Homotopy.** It follows the logit quantal-response-equilibrium (QRE) correspondence
     σ_i(a) ∝ p_i(a) exp(λ U_i(a, σ_-i)) (McKelvey & Palfrey 1995, GEB 10, §2, with a uniform prior p) from
     λ = 0, where σ = p, towards λ -> ∞, where every limit point is a Nash equilibrium (McKelvey & Palfrey
     1995, Thm. 2; an interior prior p only adds log p / λ to the payoff differences, which vanishes). For a
     generic game the branch that starts at λ = 0 is a smooth curve reaching an equilibrium (McKelvey & Palfrey
     1995, Thm. 3: the principal branch, uniform prior). The curve is traced in (log σ, λ) by
     pseudo-arclength predictor-corrector continuation (Allgower & Georg 1990, ch. 2) as in Turocy 2005, "A
     dynamic homotopy interpretation of the logistic QRE correspondence", GEB 51: Euler predictor along the
     tangent, Newton corrector on the tangent's normal hyperplane, step control by corrector contraction and
     tangent angle, so turning points (λ decreasing for a while) are passed.
  2. **Polish.** At each decade of λ the support is guessed from σ (actions above a ladder of relative
     thresholds), and the support's indifference equations U_i(a, σ_-i) = v_i (a in S_i), Σ_{a in S_i} σ_i(a) = 1
     — a polynomial system for n >= 3, linear for n = 2 — are solved by Newton's method (least-squares steps, so
     a wrong-sized support still converges where it can). A candidate is accepted only when its NashConv,
     recomputed on the original payoffs, is <= ``tol`` (the certificate), and it ends the trace early only if it
     lies within ``_ACCEPT_DISTANCE`` of the homotopy point, so the answer is the branch's limit, not another
     equilibrium that a far-off support guess happened to reach (checked on 150 random games against traces
     run on to λ = 1e5).

  If the principal branch does not certify (a step limit, a degenerate game), the search restarts from seeded
  random priors. The result's ``epsilon`` is always the certified NashConv; if no candidate reaches ``tol`` the
  best one is returned with an :class:`ApproximationWarning` and ``method`` ending in ``"(uncertified)"``.

Two-player games work too; exact enumeration of all two-player equilibria is ``marlkit.solve.two_player``, and
of all equilibria of small n-player games (up to 4 players and 400 support profiles: 2x2x2, 2x2x2x2, 3x3x3)
``marlkit.solve.support_enumeration.all_equilibria``, which :func:`marlkit.solve.nash.nash_equilibria` uses there;
:func:`equilibria` below (``complete=False``) is for larger games.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games.normal_form import NormalFormGame
from marlkit.solve.best_response import contract_others, nash_conv
from marlkit.solve.results import Equilibrium, EquilibriumSet

SUPPORT_TOLERANCE = 1e-9
"""A probability above this counts as in the support (reported in :class:`Equilibrium`)."""

DUPLICATE_TOLERANCE = 1e-6
"""Two equilibria whose strategies differ by at most this (max-abs) are the same."""

METHOD = "logit-qre-homotopy+support-newton"

_POLISH_ITERATIONS = 30
"""Newton iterations on a support system (quadratic convergence from a nearby point needs far fewer)."""

_THRESHOLDS = (0.5, 0.1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-9)
"""Relative thresholds σ_i(a) >= τ max σ_i that guess supports from an approximate QRE point."""


class ApproximationWarning(UserWarning):
    """A solver returned a point whose certified NashConv is above the requested tolerance."""


# ------------------------------------------------------------------------------------------------ pure
def pure_equilibria(game: NormalFormGame, tol: float = 0.0) -> EquilibriumSet:
    """All pure Nash equilibria, exactly (``complete=True`` among pure profiles), for any number of players.

    A joint action a is an equilibrium iff u_i(a) >= max_{a_i'} u_i(a_i', a_-i) - tol for every i (Nash 1951;
    Shoham & Leyton-Brown 2009, Def. 3.3.4). ``degenerate`` is True when some player has two or more pure best
    responses to some pure profile of the others (then equilibria may come in continua with mixed members).
    """
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"pure_equilibria: expected a NormalFormGame, got {type(game).__name__}")
    best = np.ones(game.num_actions, dtype=bool)
    degenerate = False
    for i in range(game.n_players):
        u = game.payoffs[i]
        is_best = u >= u.max(axis=i, keepdims=True) - tol
        best &= is_best
        degenerate |= bool(np.any(is_best.sum(axis=i) > 1))
    found = []
    for joint in np.argwhere(best):
        profile = tuple(np.eye(m)[a] for m, a in zip(game.num_actions, joint, strict=True))
        found.append(_equilibrium(game, profile, "pure-enumeration"))
    notes: tuple[str, ...] = ("all pure equilibria; mixed equilibria are not searched (see mixed_equilibrium)",)
    if degenerate:
        notes += ("degenerate: some player has tied pure best responses, so equilibria may form continua",)
    return EquilibriumSet(tuple(found), complete=True, degenerate=degenerate, method="pure-enumeration", notes=notes)


def _equilibrium(game: NormalFormGame, profile: Sequence[np.ndarray], method: str) -> Equilibrium:
    profile = tuple(np.asarray(p, dtype=np.float64) for p in profile)
    return Equilibrium(
        profile=profile,
        values=game.expected_utility(profile),
        supports=tuple(tuple(int(a) for a in np.flatnonzero(p > SUPPORT_TOLERANCE)) for p in profile),
        epsilon=nash_conv(game, profile),
        method=method,
    )


# ------------------------------------------------------------------------------------ shared algebra
def _pair_payoffs(payoffs: np.ndarray, sigma: Sequence[np.ndarray]) -> dict[tuple[int, int], np.ndarray]:
    """``D[i, j][a_i, a_j] = U_i(a_i, a_j, σ_-ij)`` for every ordered pair i != j (the Jacobian blocks)."""
    n = payoffs.shape[0]
    pairs = {}
    for i in range(n):
        for j in range(n):
            if i != j:
                D = contract_others(payoffs[i], sigma, (i, j))
                pairs[i, j] = D if i < j else D.T
    return pairs


def _deviations(payoffs: np.ndarray, sigma: Sequence[np.ndarray], pairs: dict | None = None) -> list[np.ndarray]:
    """``U_i(a_i, σ_-i)`` for every i; from the pair matrices when given (U_i = D[i, j] σ_j for any j != i)."""
    n = payoffs.shape[0]
    if pairs is None or n == 1:
        return [contract_others(payoffs[i], sigma, (i,)) for i in range(n)]
    return [pairs[i, (i + 1) % n] @ sigma[(i + 1) % n] for i in range(n)]


def _normalised(payoffs: np.ndarray) -> np.ndarray:
    """Rescale each player's payoffs to [0, 1]: equilibria are invariant under positive affine maps per player."""
    n = payoffs.shape[0]
    flat = payoffs.reshape(n, -1)
    low, span = flat.min(axis=1), np.ptp(flat, axis=1)
    span = np.where(span > 0, span, 1.0)
    return (payoffs - low.reshape((n,) + (1,) * n)) / span.reshape((n,) + (1,) * n)


# ---------------------------------------------------------------------------------------------- polish
def _polish(payoffs: np.ndarray, start: Sequence[np.ndarray], supports: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Newton's method on the support's indifference system; returns the (unvalidated) profile it reaches.

    Unknowns: σ_i(a) for a in S_i, and the values v_i. Equations: U_i(a, σ_-i) - v_i = 0 for a in S_i and
    Σ_{a in S_i} σ_i(a) - 1 = 0. Jacobian blocks: ∂U_i(a, σ_-i)/∂σ_j(b) = U_i(a, b, σ_-ij) (j != i).
    """
    n = payoffs.shape[0]
    sizes = [len(S) for S in supports]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    k = int(offsets[-1])
    sigma = [np.zeros_like(p) for p in start]
    for i, S in enumerate(supports):
        sigma[i][S] = start[i][S] / start[i][S].sum()
    v = np.array([contract_others(payoffs[i], sigma, (i,))[S] @ sigma[i][S] for i, S in enumerate(supports)])
    for iteration in range(_POLISH_ITERATIONS):
        pairs = _pair_payoffs(payoffs, sigma)
        dev = _deviations(payoffs, sigma, pairs)
        F = np.concatenate([dev[i][S] - v[i] for i, S in enumerate(supports)] + [[p.sum() - 1 for p in sigma]])
        residual = float(np.max(np.abs(F)))
        if not np.isfinite(residual) or residual < 1e-15 or (iteration >= 10 and residual > 1e-8):
            break  # converged, diverged, or (a wrong support) not converging
        J = np.zeros((k + n, k + n))
        for i, Si in enumerate(supports):
            rows = slice(offsets[i], offsets[i + 1])
            J[rows, k + i] = -1.0
            J[k + i, rows] = 1.0
            for j, Sj in enumerate(supports):
                if j != i:
                    J[rows, offsets[j] : offsets[j + 1]] = pairs[i, j][np.ix_(Si, Sj)]
        step = np.linalg.lstsq(J, -F, rcond=None)[0]
        for i, S in enumerate(supports):
            sigma[i][S] += step[offsets[i] : offsets[i + 1]]
        v = v + step[k:]
        if np.max(np.abs(step)) < 1e-16:
            break
    return sigma


def _support_guesses(sigma: Sequence[np.ndarray]) -> Iterator[tuple[np.ndarray, ...]]:
    seen = set()
    for tau in _THRESHOLDS:
        supports = tuple(np.flatnonzero(p >= tau * p.max()) for p in sigma)
        key = tuple(tuple(S) for S in supports)
        if key not in seen:
            seen.add(key)
            yield supports


def _certify(game: NormalFormGame, sigma: Sequence[np.ndarray]) -> tuple[list[np.ndarray], float] | None:
    """Clip rounding-level negatives, renormalise and return (profile, NashConv); None if not a profile."""
    profile = []
    for p in sigma:
        q = np.maximum(p, 0.0)
        if not np.all(np.isfinite(p)) or p.min() < -1e-10 or q.sum() <= 0:
            return None
        profile.append(q / q.sum())
    return profile, nash_conv(game, profile)


@dataclass
class _Candidate:
    profile: list[np.ndarray]
    epsilon: float
    distance: float  # max-abs distance to the homotopy point it was polished from


def _polished_candidates(game: NormalFormGame, payoffs: np.ndarray, sigma: Sequence[np.ndarray]) -> list[_Candidate]:
    """Polish every support guessed from the homotopy point σ; the valid profiles with their NashConv."""
    candidates = []
    for supports in _support_guesses(sigma):
        with np.errstate(all="ignore"):  # a wrong support can make Newton diverge; _certify rejects the result
            try:
                result = _certify(game, _polish(payoffs, sigma, supports))
            except np.linalg.LinAlgError:
                result = None
        if result is not None:
            distance = max(float(np.max(np.abs(p - s))) for p, s in zip(result[0], sigma, strict=True))
            candidates.append(_Candidate(result[0], result[1], distance))
    return candidates


# -------------------------------------------------------------------------------------------- homotopy
@dataclass(frozen=True)
class _LogitSystem:
    """H(y, λ) = 0 for the logit QRE with prior p, in log-probabilities y = log σ (Turocy 2005, §3).

    For each player i: Σ_a exp(y_i(a)) - 1 = 0, and for each a != 0:
    y_i(a) - y_i(0) - (log p_i(a) - log p_i(0)) - λ (U_i(a, σ_-i) - U_i(0, σ_-i)) = 0.
    """

    payoffs: np.ndarray
    log_prior: tuple[np.ndarray, ...]

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(m) for m in self.payoffs.shape[1:])

    @cached_property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)])

    def split(self, y: np.ndarray) -> list[np.ndarray]:
        return [y[self.offsets[i] : self.offsets[i + 1]] for i in range(len(self.sizes))]

    def evaluate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residual ``[N]`` and Jacobian ``[N, N + 1]`` (columns: y, then λ) at x = (y, λ)."""
        n, sizes, offsets = self.payoffs.shape[0], self.sizes, self.offsets
        N = int(offsets[-1])
        y, lam = x[:-1], x[-1]
        sigma = [np.exp(part) for part in self.split(y)]
        pairs = _pair_payoffs(self.payoffs, sigma)
        dev = _deviations(self.payoffs, sigma, pairs)
        H = np.empty(N)
        J = np.zeros((N, N + 1))
        for i in range(n):
            o, m = offsets[i], sizes[i]
            H[o] = sigma[i].sum() - 1.0
            J[o, o : o + m] = sigma[i]
            if m == 1:
                continue
            rows = slice(o + 1, o + m)
            H[rows] = y[o + 1 : o + m] - y[o] - (self.log_prior[i][1:] - self.log_prior[i][0])
            H[rows] -= lam * (dev[i][1:] - dev[i][0])
            J[rows, o + 1 : o + m] = np.eye(m - 1)
            J[rows, o] = -1.0
            J[rows, -1] = -(dev[i][1:] - dev[i][0])
            for j in range(n):
                if j != i:
                    D = pairs[i, j]
                    J[rows, offsets[j] : offsets[j + 1]] = -lam * (D[1:] - D[0]) * sigma[j]
        return H, J


def _tangent(J: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Unit null vector of J ``[N, N+1]`` (last column of Q in J^T = QR), oriented along ``previous``."""
    Q, _ = np.linalg.qr(J.T, mode="complete")
    t = Q[:, -1]
    reference = previous if previous is not None else np.eye(len(t))[-1]  # start with λ increasing
    return -t if t @ reference < 0 else t


_MAX_DISTANCE = 0.4
"""Largest first corrector step accepted (log-probability units); step control as Allgower & Georg 1990, §6.1."""
_MAX_CONTRACTION = 0.5
"""Largest ratio of successive Newton corrector steps accepted."""
_MAX_ANGLE = 0.1
"""Largest angle (radians) between successive tangents accepted; guards against jumping between branches."""
_MIN_STEP = 1e-10


@dataclass(frozen=True)
class _Correction:
    x: np.ndarray
    jacobian: np.ndarray
    distance: float
    contraction: float


def _correct(system: _LogitSystem, x_pred: np.ndarray, t: np.ndarray) -> _Correction | None:
    """Newton's method on {H(x) = 0, t·(x - x_pred) = 0}; None if it strays too far or contracts too slowly."""
    x = x_pred.copy()
    distance, contraction, previous = 0.0, 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for iteration in range(10):
            H, J = system.evaluate(x)
            if not (np.all(np.isfinite(H)) and np.all(np.isfinite(J))):
                return None
            try:
                step = np.linalg.solve(np.vstack([J, t]), -np.append(H, t @ (x - x_pred)))
            except np.linalg.LinAlgError:
                return None
            size = float(np.linalg.norm(step))
            if iteration == 0:
                distance = size
                if distance > _MAX_DISTANCE:
                    return None
            elif previous > 0:
                contraction = max(contraction, size / previous)
                if contraction > _MAX_CONTRACTION:
                    return None
            x = x + step
            previous = size
            if size <= 1e-10 * (1.0 + float(np.max(np.abs(x)))):
                # J was evaluated one tiny step (<= 1e-10 relative) back: accurate enough for the tangent
                return _Correction(x, J, distance, contraction)
    return None


def _trace(
    system: _LogitSystem, max_steps: int, lambda_max: float, first_checkpoint: float = 10.0
) -> Iterator[tuple[float, list[np.ndarray]]]:
    """Follow the logit branch from λ = 0, yielding (λ, σ) each time λ passes a checkpoint (×10 from
    ``first_checkpoint``), and once more where the trace stops (λ >= ``lambda_max``, the step limit, or a step
    size underflow).

    A step is accepted when the corrector converges within the distance/contraction limits, the tangent turns by
    at most ``_MAX_ANGLE`` and λ stays >= 0 (the branch from λ = 0 never returns there: the QRE at λ = 0 is
    unique). The next step length is h / f with the deceleration factor
    f = max(sqrt(distance / max), contraction / max, angle / max, 1/2) (Allgower & Georg 1990, §6.1).
    """
    x = np.append(np.concatenate(system.log_prior), 0.0)
    t = _tangent(system.evaluate(x)[1], None)
    h, checkpoint = 0.05, first_checkpoint
    for _ in range(max_steps):
        corrected = _correct(system, x + h * t, t)
        if corrected is not None and corrected.x[-1] >= 0:
            t_new = _tangent(corrected.jacobian, t)
            angle = float(np.arccos(np.clip(t_new @ t, -1.0, 1.0)))
            if angle <= _MAX_ANGLE:
                x, t = corrected.x, t_new
                decelerate = max(
                    np.sqrt(corrected.distance / _MAX_DISTANCE),
                    corrected.contraction / _MAX_CONTRACTION,
                    angle / _MAX_ANGLE,
                    0.5,
                )
                h /= decelerate
                if x[-1] >= lambda_max:
                    break
                if x[-1] >= checkpoint:
                    checkpoint = 10.0 * x[-1]
                    yield float(x[-1]), [np.exp(part) for part in system.split(x[:-1])]
                continue
        h *= 0.5
        if h < _MIN_STEP:
            break
    yield float(x[-1]), [np.exp(part) for part in system.split(x[:-1])]


# --------------------------------------------------------------------------------------------- drivers
_ACCEPT_DISTANCE = 1e-2
"""A certified candidate ends the trace early only if it lies this close (max-abs) to the homotopy point, so the
result is the limit of the branch, not another equilibrium that a far-off support guess happened to reach."""


def _search(
    game: NormalFormGame,
    payoffs: np.ndarray,
    prior: Sequence[np.ndarray],
    tol: float,
    max_steps: int,
    lambda_max: float,
) -> _Candidate | None:
    """Trace one logit branch, polishing at each checkpoint.

    Returns the first certified candidate near the branch, else the certified candidate from the latest
    checkpoint (nearest its homotopy point), else the lowest-NashConv candidate seen (uncertified).
    """
    system = _LogitSystem(payoffs, tuple(np.log(p) for p in prior))
    latest_certified, lowest = None, None
    for _, sigma in _trace(system, max_steps, lambda_max):
        candidates = _polished_candidates(game, payoffs, sigma)
        certified = [c for c in candidates if c.epsilon <= tol]
        if certified:
            latest_certified = min(certified, key=lambda c: c.distance)
            if latest_certified.distance <= _ACCEPT_DISTANCE:
                return latest_certified
        for c in candidates:
            if lowest is None or c.epsilon < lowest.epsilon:
                lowest = c
    return latest_certified if latest_certified is not None else lowest


def _priors(game: NormalFormGame, seed: int, restarts: int) -> Iterator[list[np.ndarray]]:
    """The uniform prior (principal branch), then ``restarts`` Dirichlet(1) priors from ``seed``."""
    yield [np.full(m, 1.0 / m) for m in game.num_actions]
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    for _ in range(restarts):
        prior = [np.maximum(rng.dirichlet(np.ones(m)), 1e-3) for m in game.num_actions]  # keep log p finite
        yield [p / p.sum() for p in prior]


def _check_inputs(game: NormalFormGame, tol: float, max_steps: int) -> None:
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"expected a NormalFormGame, got {type(game).__name__}")
    if not (tol > 0 and np.isfinite(tol)):
        raise InvalidGameError(f"tol: expected a positive NashConv tolerance, got {tol!r}")
    if max_steps < 1:
        raise InvalidGameError(f"max_steps: expected a positive number of continuation steps, got {max_steps!r}")


def mixed_equilibrium(
    game: NormalFormGame,
    tol: float = 1e-9,
    seed: int = 0,
    max_steps: int = 2000,
    restarts: int = 4,
    lambda_max: float = 1e8,
) -> Equilibrium:
    """A Nash equilibrium of any finite game (possibly pure), certified by NashConv; see the module docstring.

    Args:
        game: any n-player normal-form game.
        tol: the NashConv a result must reach to count as certified.
        seed: seeds the random priors of the restarts (the first attempt, the principal logit branch from the
            uniform prior, does not depend on it).
        max_steps: continuation steps per traced branch.
        restarts: how many random-prior branches to try after the principal one fails to certify.
        lambda_max: the precision parameter (payoffs rescaled to [0, 1]) at which a branch is abandoned.

    Returns:
        An :class:`Equilibrium` whose ``epsilon`` is the certified NashConv on the original payoffs. If no
        candidate reached ``tol``, the lowest-NashConv point found is returned, its ``method`` ends in
        ``"(uncertified)"``, and an :class:`ApproximationWarning` is issued.
    """
    _check_inputs(game, tol, max_steps)
    payoffs = _normalised(game.payoffs)
    best = None
    for attempt, prior in enumerate(_priors(game, seed, restarts)):
        candidate = _search(game, payoffs, prior, tol, max_steps, lambda_max)
        if candidate is not None and (best is None or candidate.epsilon < best.epsilon):
            best, best_attempt = candidate, attempt
        if best is not None and best.epsilon <= tol:
            break
    if best is None:  # nothing polished to a valid profile: fall back to the uniform profile
        best, best_attempt = _Candidate([np.full(m, 1.0 / m) for m in game.num_actions], np.inf, np.inf), 0
        best.epsilon = nash_conv(game, best.profile)
    method = METHOD if best_attempt == 0 else f"{METHOD} (random prior, restart {best_attempt})"
    if best.epsilon > tol:
        warnings.warn(
            f"mixed_equilibrium: best point found has NashConv {best.epsilon:.3g} > tol {tol:.3g} on {game!r}; "
            "it is an approximate equilibrium only (raise max_steps/restarts or loosen tol)",
            ApproximationWarning,
            stacklevel=2,
        )
        method += " (uncertified)"
    return _equilibrium(game, best.profile, method)


def _is_new(candidate: Equilibrium, found: Sequence[Equilibrium]) -> bool:
    return all(
        max(float(np.max(np.abs(p - q))) for p, q in zip(candidate.profile, other.profile, strict=True))
        > DUPLICATE_TOLERANCE
        for other in found
    )


def equilibria(
    game: NormalFormGame, tol: float = 1e-9, seed: int = 0, starts: int = 4, max_steps: int = 2000
) -> EquilibriumSet:
    """All pure equilibria plus the certified equilibria found on ``starts`` logit branches, deduplicated.

    The first branch is the principal one (uniform prior), the others start from seeded Dirichlet priors; only
    candidates with NashConv <= ``tol`` are kept. ``complete=False``: mixed equilibria may be missed.
    """
    _check_inputs(game, tol, max_steps)
    pure = pure_equilibria(game)
    found = list(pure.equilibria)
    payoffs = _normalised(game.payoffs)
    failed = 0
    for prior in _priors(game, seed, max(0, starts - 1)):
        candidate = _search(game, payoffs, prior, tol, max_steps, 1e8)
        if candidate is None or candidate.epsilon > tol:
            failed += 1
            continue
        equilibrium = _equilibrium(game, candidate.profile, METHOD)
        if _is_new(equilibrium, found):
            found.append(equilibrium)
    notes: tuple[str, ...] = (
        f"all {len(pure)} pure equilibria plus mixed ones from {starts} logit branches; others may exist",
    )
    if failed:
        notes += (f"{failed} of {starts} branches did not certify to NashConv <= {tol:g}",)
    return EquilibriumSet(
        tuple(found), complete=False, degenerate=pure.degenerate, method=f"pure-enumeration+{METHOD}", notes=notes
    )
