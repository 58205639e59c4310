"""Nash equilibria of any normal-form game, with the best exact method for its size, in one canonical order.

* two players: every equilibrium by vertex enumeration of the best-response polytopes (complete for
  non-degenerate games; extreme equilibria and a note for degenerate ones) — ``vertex_enumeration``;
  beyond ``max_vertices`` polytope vertices, Lemke-Howson from every label (``complete=False``);
* n >= 3 players, small games (:func:`marlkit.solve.support_enumeration.enumerable`: at most 4 players and at
  most 400 support profiles Π_i (2^{m_i} - 1), e.g. 2x2x2, 2x2x2x2, 3x3x3): every equilibrium by support
  enumeration with each polynomial system solved exactly (``support_enumeration``; ``complete=True`` unless
  some support's solution set is not finite, i.e. a degenerate game with possible continua);
* larger n-player games: every pure equilibrium exactly, plus mixed equilibria traced along logit-QRE paths and
  certified by NashConv (``n_player.equilibria``; ``complete=False``).

The equilibria are returned in one canonical order (:func:`canonical_order`), which is the numbering ``marlkit
solve`` prints (#1, #2, ...) and the diagnosis, its plots and reports use (NE1, NE2, ...), with the labels of
:func:`equilibrium_label`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from marlkit.errors import InvalidGameError
from marlkit.games import NormalFormGame
from marlkit.solve.results import Equilibrium, EquilibriumSet


def canonical_order(eq: Equilibrium) -> tuple:
    """Sort key: pure equilibria first, in lexicographic order of the action profile, then mixed ones by total
    support size and then by probabilities (larger first on the lower-numbered actions) — independent of the
    solver's own order."""
    return (
        not eq.is_pure,
        sum(len(s) for s in eq.supports),
        tuple(-x for x in np.round(np.concatenate(eq.profile), 9)),
    )


def strategy_text(names: Sequence[str], strategy: np.ndarray, digits: int = 3) -> str:
    """One player's strategy as a person finds it: the action name for a pure one, else ``"L: 0.5, R: 0.5"``
    over the support (probabilities to ``digits`` significant digits)."""
    support = [a for a, p in enumerate(strategy) if p > 1e-9]
    if len(support) == 1:
        return str(names[support[0]])
    return ", ".join(f"{names[a]}: {float(strategy[a]):.{digits}g}" for a in support)


def profile_text(game: NormalFormGame, profile: Sequence[np.ndarray]) -> str:
    """The profile rounded, players separated by ``|``: ``"(L: 0.5, R: 0.5 | l)"``."""
    return "(" + " | ".join(strategy_text(game.action_names[i], s) for i, s in enumerate(profile)) + ")"


def equilibrium_label(game: NormalFormGame, number: int, eq: Equilibrium) -> str:
    """``"NE4 (L: 0.5, R: 0.5 | l)"``: the canonical number (1-based) and the profile rounded."""
    return f"NE{number} {profile_text(game, eq.profile)}"


def _same(a: Equilibrium, b: Equilibrium, tol: float = 1e-6) -> bool:
    """Whether two equilibria are the same profile (every player's strategy within ``tol``)."""
    return all(np.allclose(x, y, atol=tol) for x, y in zip(a.profile, b.profile, strict=True))


def _ordered(found: EquilibriumSet) -> EquilibriumSet:
    return EquilibriumSet(
        tuple(sorted(found.equilibria, key=canonical_order)),
        complete=found.complete,
        degenerate=found.degenerate,
        method=found.method,
        notes=found.notes,
    )


def nash_equilibria(game: NormalFormGame, tol: float = 1e-9) -> EquilibriumSet:
    """All equilibria of a two-player or small n-player game (see the module docstring), in canonical order;
    pure equilibria plus certified mixed ones (``complete=False``) for larger n-player games.

    Payoffs outside the well-conditioned band are solved normalised per player, and every equilibrium is
    re-certified on the original game, missed pure equilibria added (:mod:`marlkit.solve.certify`)."""
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"nash_equilibria: expected a NormalFormGame, got {type(game).__name__}")
    from marlkit.solve.certify import certified, conditioned

    solved, notes = conditioned(game)
    return _ordered(certified(game, _solve(solved, tol), notes))


def _solve(game: NormalFormGame, tol: float) -> EquilibriumSet:
    """The solver of the module docstring for ``game``'s size."""
    if game.n_players == 2:
        from marlkit.solve.vertex_enumeration import game_equilibria

        return _ordered(game_equilibria(game, tol=tol))
    from marlkit.solve.n_player import equilibria
    from marlkit.solve.support_enumeration import all_equilibria, enumerable

    if game.n_players >= 3 and enumerable(game):
        exact = all_equilibria(game)
        if exact.complete or exact.degenerate:
            return _ordered(exact)
        # stopped by its time limit: add what the homotopy search certifies (the union is still not complete)
        searched = equilibria(game, tol=tol)
        extra = [e for e in searched.equilibria if not any(_same(e, f) for f in exact.equilibria)]
        return _ordered(replace(exact, equilibria=(*exact.equilibria, *extra), notes=(*exact.notes, *searched.notes)))
    found = equilibria(game, tol=tol)
    size = (
        f"{len(game.num_actions)} players and {int(np.prod([2**m - 1 for m in game.num_actions], dtype=np.float64))} "
        "support profiles"
    )
    note = (
        f"too large for the complete support enumeration ({size}; it takes at most 4 players and 400 support profiles)"
    )
    return _ordered(EquilibriumSet(found.equilibria, False, found.degenerate, found.method, notes=(*found.notes, note)))
