"""Numerics you can trust: conditioning of payoffs before a Nash solver, re-certification of what it returns, and
the exact pure-equilibrium check that backs it up.

**Rescaling rule.** Nash equilibria are invariant to a positive affine map of each player's payoffs separately
(u_i -> a_i u_i + b_i, a_i > 0; e.g. Shoham & Leyton-Brown 2009, §3.1.2: utilities are defined up to such maps).
Float64 pivoting (vertex enumeration, Lemke-Howson) and the polynomial systems of support enumeration lose
precision when a player's payoffs are huge, tiny or tiny differences on a large offset, so a player whose
payoffs are outside the well-conditioned band — all of

    spread_i = max u_i - min u_i >= 1e-4,   max |u_i| <= 1e4,   max |u_i| <= 1e4 · spread_i

— is solved on its normalised payoffs w_i = (u_i - min u_i) / spread_i in [0, 1] (a player with constant
payoffs is indifferent: w_i = 0), and the result carries a note saying so.

**Resolution.** A player whose incentives — differences between two of its payoffs that differ only in its own
action — can be smaller than :data:`RESOLUTION` x its payoff spread (beyond float noise: a difference within 8 ulps
of the two values themselves counts as a tie) has choices a float64 solver working on the whole range cannot tell
apart — e.g. an incentive of 1 next to a payoff of -1e12 — so such a game is refused
(:func:`require_resolvable`, :class:`~marlkit.errors.InvalidGameError` naming the player, the smallest difference
and the spread) instead of answered wrongly; rescaling cannot help, it maps both onto the same normalised range.

**Certificate.** Every equilibrium a solver returns is re-checked on the original game through the normalised
payoffs (the original up to the affine map above, rounded by at most one ulp of the spread): player i's regret
max_a W_i(a, σ_-i) - W_i(σ) must be at most :data:`CERTIFY_TOLERANCE`, i.e. its regret in the original game at
most ``CERTIFY_TOLERANCE × spread_i`` and below half the player's smallest incentive (so a pure profile that is no
equilibrium, whose regret is at least the player's smallest incentive, always fails); a profile that fails is
dropped with a note. Its reported ``epsilon`` is the original game's NashConv Σ_i spread_i · regret_i(W), computed
without the cancellation that evaluating 1e14-sized payoffs directly would add; its ``values`` are the original
expected payoffs.

**Pure check.** Every pure equilibrium is found exactly (float comparisons: a joint action is an equilibrium iff
each player's payoff there equals the maximum over its own actions), so a pure equilibrium a solver missed is
added with a note and the set is marked incomplete — "0 equilibria" is never printed where a pure one exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games import NormalFormGame
from marlkit.solve.best_response import contract_others
from marlkit.solve.results import Equilibrium, EquilibriumSet

BAND = 1e4
"""Half-width of the well-conditioned band (module docstring): spread >= 1/BAND, |u| <= BAND, |u| <= BAND · spread."""
CERTIFY_TOLERANCE = 1e-5
"""Largest regret of a certified equilibrium, per player, as a fraction of the player's payoff spread."""


RESOLUTION = 1e-10
"""Smallest ratio of a player's payoff difference to its payoff spread the solvers are trusted with (docstring)."""


def resolutions(game: NormalFormGame) -> np.ndarray:
    """``[n]``: each player's smallest incentive — the smallest positive difference between two of its payoffs that
    differ only in its own action, u_i(a_i, a_-i) - u_i(a_i', a_-i), ties within float noise (8 ulps of the two
    values) ignored; ``inf`` for a player that is never strictly better off deviating or staying."""
    out = np.full(game.n_players, np.inf)
    for i in range(game.n_players):
        ordered = np.sort(game.payoffs[i], axis=i)
        gaps = np.diff(ordered, axis=i)
        lower, upper = np.delete(ordered, -1, axis=i), np.delete(ordered, 0, axis=i)
        noise = 8 * np.spacing(np.maximum(np.abs(lower), np.abs(upper)))
        real = gaps[gaps > noise]
        if real.size:
            out[i] = float(real.min())
    return out


def require_resolvable(game: NormalFormGame) -> None:
    """Refuse a game some player's payoffs of which float64 solvers cannot resolve (module docstring).

    Raises:
        InvalidGameError: naming the player, its smallest incentive and its spread.
    """
    spread, resolution = spreads(game), resolutions(game)
    for i in range(game.n_players):
        if np.isfinite(resolution[i]) and resolution[i] < RESOLUTION * spread[i]:
            raise InvalidGameError(
                f"{game.player_names[i]}'s incentives (payoff differences between its own actions) go down to "
                f"{resolution[i]:.3g} on a payoff range of "
                f"{spread[i]:.3g} (less than {RESOLUTION:g} of it): float64 solvers cannot tell such payoffs apart, "
                "so their equilibria could be wrong; round or rescale the payoffs (e.g. cap the extreme entries)"
            )


MAX_ADDED = 100
"""Most missed pure equilibria listed (a constant game has one per joint action); the note gives the count."""


def spreads(game: NormalFormGame) -> np.ndarray:
    """``[n]``: each player's payoff spread max u_i - min u_i (finite: entries are at most 1e300 in magnitude)."""
    flat = game.payoffs.reshape(game.n_players, -1)
    return flat.max(axis=1) - flat.min(axis=1)


def outside_band(values: np.ndarray) -> bool:
    """Whether an array of payoffs lies outside the well-conditioned band (module docstring); constant arrays are
    inside."""
    spread = float(values.max() - values.min())
    size = float(np.abs(values).max())
    return spread > 0 and (spread < 1 / BAND or size > BAND or size > BAND * spread)


def needs_rescaling(game: NormalFormGame) -> np.ndarray:
    """``[n]`` bools: the players whose payoffs lie outside the well-conditioned band (module docstring)."""
    flat = game.payoffs.reshape(game.n_players, -1)
    spread, size = spreads(game), np.abs(flat).max(axis=1)
    return (spread > 0) & ((spread < 1 / BAND) | (size > BAND) | (size > BAND * spread))


def normalised(game: NormalFormGame) -> NormalFormGame:
    """The game with each player's payoffs mapped onto [0, 1] (constant payoffs to 0): same equilibria."""
    flat = game.payoffs.reshape(game.n_players, -1)
    low, spread = flat.min(axis=1), spreads(game)
    shape = (game.n_players,) + (1,) * (game.payoffs.ndim - 1)
    scale = np.where(spread > 0, spread, 1.0).reshape(shape)
    payoffs = np.where(spread.reshape(shape) > 0, (game.payoffs - low.reshape(shape)) / scale, 0.0)
    return NormalFormGame(
        np.clip(payoffs, 0.0, 1.0), name=game.name, player_names=game.player_names, action_names=game.action_names
    )


def conditioned(game: NormalFormGame) -> tuple[NormalFormGame, tuple[str, ...]]:
    """The game a solver should see (normalised where a player is outside the band) and the note saying so;
    refuses games the solvers cannot resolve (:func:`require_resolvable`)."""
    require_resolvable(game)
    rescale = needs_rescaling(game)
    if not rescale.any():
        return game, ()
    players = ", ".join(game.player_names[i] for i in np.flatnonzero(rescale))
    note = (
        f"payoffs of {players} are outside the range float64 solvers resolve well (spread in [1e-4, 1e4] around "
        "an offset of at most 1e4 x spread); solved on payoffs mapped affinely onto [0, 1] per player (equilibria "
        "are unchanged) and re-certified on the original game"
    )
    return normalised(game), (note,)


def pure_equilibria(game: NormalFormGame) -> list[tuple[int, ...]]:
    """Every pure Nash equilibrium, exactly: joint actions where each player's payoff equals the maximum over its
    own actions with the others' fixed (comparisons of float64 values, no arithmetic)."""
    stable = np.ones(game.num_actions, dtype=bool)
    for i in range(game.n_players):
        stable &= game.payoffs[i] == game.payoffs[i].max(axis=i, keepdims=True)
    return [tuple(int(a) for a in joint) for joint in np.argwhere(stable)]


def _regrets(normal: NormalFormGame, profile: Sequence[np.ndarray]) -> np.ndarray:
    """Per-player regret of ``profile`` in the normalised game (a sum of non-negative terms, >= 0)."""
    gains = np.empty(normal.n_players)
    for i in range(normal.n_players):
        deviation = contract_others(normal.payoffs[i], profile, (i,))
        gains[i] = max(0.0, float(profile[i] @ (deviation.max() - deviation)))
    return gains


def _pure_profile(game: NormalFormGame, joint: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    profile = []
    for a, m in zip(joint, game.num_actions, strict=True):
        strategy = np.zeros(m)
        strategy[a] = 1.0
        strategy.setflags(write=False)
        profile.append(strategy)
    return tuple(profile)


def certified(game: NormalFormGame, found: EquilibriumSet, extra_notes: Sequence[str] = ()) -> EquilibriumSet:
    """``found`` re-certified on ``game`` (module docstring): failing profiles dropped, values and ``epsilon``
    recomputed on the original payoffs, missed pure equilibria added; every change is a note."""
    normal, spread = normalised(game), spreads(game)
    # per player, in normalised units: the relative tolerance, and below half the smallest payoff difference
    tolerance = np.minimum(CERTIFY_TOLERANCE, 0.5 * resolutions(game) / np.where(spread > 0, spread, 1.0))
    kept: list[Equilibrium] = []
    dropped: list[float] = []
    for eq in found.equilibria:
        profile = [np.asarray(p, dtype=np.float64) for p in eq.profile]
        if any(not np.all(np.isfinite(p)) for p in profile):
            dropped.append(float("inf"))
            continue
        regret = _regrets(normal, profile)
        if np.any(regret > tolerance):
            dropped.append(float(regret.max()))
            continue
        values = game.expected_utility(profile)
        kept.append(replace(eq, values=values, epsilon=float(np.sum(spread * regret))))
    notes = [*found.notes, *extra_notes]
    complete = found.complete
    if dropped:
        complete = False
        notes.append(
            f"{len(dropped)} profile(s) returned by {found.method} failed the re-certification (a player's regret "
            f"above {CERTIFY_TOLERANCE:g} x its payoff spread or half its smallest incentive; worst "
            f"{max(dropped):.1e} of the spread) and were dropped"
        )
    missed = [joint for joint in pure_equilibria(game) if not any(_is_pure_at(eq, joint) for eq in kept)]
    for joint in missed[:MAX_ADDED]:
        supports = tuple((a,) for a in joint)
        kept.append(Equilibrium(_pure_profile(game, joint), game.pure_utility(joint), supports, 0.0, "pure-check"))
    if missed:
        complete = False
        notes.append(
            f"{len(missed)} pure equilibri{'um' if len(missed) == 1 else 'a'} missed by {found.method} found by the "
            f"exact pure check{'' if len(missed) <= MAX_ADDED else f' (the first {MAX_ADDED} listed)'}; the set may "
            "be incomplete"
        )
    return EquilibriumSet(tuple(kept), complete, found.degenerate, found.method, notes=tuple(notes))


def _is_pure_at(eq: Equilibrium, joint: tuple[int, ...]) -> bool:
    return all(p[a] >= 1.0 - 1e-9 for p, a in zip(eq.profile, joint, strict=True))
