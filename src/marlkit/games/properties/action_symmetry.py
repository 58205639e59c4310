"""Action symmetries of a normal-form game: relabellings of every player's actions that leave the game unchanged.

A symmetry is a tuple ``φ = (σ_1, ..., σ_n)`` of permutations, ``σ_i`` of player i's actions, with

    U_j(σ_1(a_1), ..., σ_n(a_n)) = U_j(a_1, ..., a_n)   for every player j and joint action a,

(the players are not permuted; agent permutations are :mod:`.symmetry`'s weak homogeneity). They form a group Φ.
Other-Play (Hu, Lerer, Peysakhovich & Foerster 2020, "Other-Play for zero-shot coordination", ICML, §3–4) needs
the symmetries a game does not distinguish, e.g. the nine 1.0-paying levers of its lever game, which any
convention must break arbitrarily.

What this module computes exactly: the **orbits** of each player's actions under Φ (``a ~ b`` iff some φ in Φ has
``σ_i(a) = b``). For a uniformly drawn φ in Φ, ``σ_i(a)`` is uniform on the orbit of ``a`` (orbit-stabiliser
theorem: the map φ ↦ σ_i(a) has fibres of equal size, the cosets of a's stabiliser), which is all the Other-Play
objective needs (:mod:`marlkit.human.other_play`). Deciding whether some φ maps ``a`` to ``b`` is a backtracking
search over partial relabellings, pruned by an invariant (the sorted multiset of payoff vectors in an action's
slice must be preserved) and by checking every payoff whose joint action is fully relabelled so far. The search is
exact; a node budget (:data:`MAX_NODES`) stops it on games too large to decide, with a clear error rather than a
wrong answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import NotApplicableError
from marlkit.games.normal_form import NormalFormGame
from marlkit.games.properties.disjoint_sets import root, union
from marlkit.games.properties.utility import payoff_tolerance

MAX_NODES = 2_000_000
"""Search nodes allowed per question "does some symmetry map a to b?" before giving up."""


@dataclass(frozen=True)
class ActionSymmetries:
    """The orbits of every player's actions under the game's symmetry group (exact).

    Attributes:
        orbits: per player, a tuple of orbits, each a sorted tuple of action indices; every action is in one.
        tolerance: the absolute payoff tolerance used to compare payoffs (``payoff_tolerance(game)``).
    """

    orbits: tuple[tuple[tuple[int, ...], ...], ...]
    tolerance: float

    def orbit_of(self, player: int, action: int) -> tuple[int, ...]:
        """The orbit holding ``action`` of ``player``."""
        for orbit in self.orbits[player]:
            if action in orbit:
                return orbit
        raise IndexError(f"player {player} has no action {action}")

    @property
    def trivial(self) -> bool:
        """True when no symmetry moves any action (Other-Play is then self-play)."""
        return all(len(orbit) == 1 for orbits in self.orbits for orbit in orbits)

    def to_json(self) -> dict[str, object]:
        return {"orbits": [[list(orbit) for orbit in orbits] for orbits in self.orbits], "tolerance": self.tolerance}

    def lines(self, game: NormalFormGame | None = None) -> list[str]:
        """One line per player: its orbits (action names when the game is given)."""
        out = []
        for i, orbits in enumerate(self.orbits):
            names = game.action_names[i] if game is not None and game.action_names else None
            parts = ["{" + ", ".join(names[a] if names else str(a) for a in orbit) + "}" for orbit in orbits]
            out.append(f"player {i}: " + " ".join(parts))
        return out


def is_symmetry(game: NormalFormGame, permutations: Sequence[Sequence[int]], tol: float | None = None) -> bool:
    """Whether ``(σ_1, ..., σ_n)`` (``permutations[i][a] = σ_i(a)``) leaves every payoff unchanged (within the
    payoff tolerance)."""
    tolerance = payoff_tolerance(game) if tol is None else tol
    payoffs = game.payoffs
    index: tuple[Any, ...] = (slice(None), *np.ix_(*[np.asarray(p) for p in permutations]))
    permuted = payoffs[index]
    return bool(np.all(np.abs(permuted - payoffs) <= tolerance))


def action_symmetries(game: NormalFormGame, tol: float | None = None) -> ActionSymmetries:
    """The orbits of each player's actions under the game's symmetries (see the module docstring).

    Raises:
        NotApplicableError: not a normal-form game, or a game too large to decide within :data:`MAX_NODES`.
    """
    if not isinstance(game, NormalFormGame):
        raise NotApplicableError(f"action symmetries are computed for normal-form games; got a {type(game).__name__}")
    tolerance = payoff_tolerance(game) if tol is None else float(tol)
    search = _Search(game.payoffs, tolerance)
    n = game.payoffs.shape[0]
    parents = [list(range(size)) for size in game.payoffs.shape[1:]]
    for i in range(n):
        for a in range(len(parents[i])):
            for b in range(a + 1, len(parents[i])):
                if root(parents[i], a) == root(parents[i], b) or search.signature[i][a] != search.signature[i][b]:
                    continue
                found = search.map(i, a, b)
                if found is not None:  # one symmetry joins a ~ σ_j(a) for every player j
                    for j, sigma in enumerate(found):
                        for x, y in enumerate(sigma):
                            union(parents[j], x, y)
    orbits = []
    for parent in parents:
        groups: dict[int, list[int]] = {}
        for a in range(len(parent)):
            groups.setdefault(root(parent, a), []).append(a)
        orbits.append(tuple(tuple(sorted(g)) for g in sorted(groups.values())))
    return ActionSymmetries(tuple(orbits), tolerance)


# ---------------------------------------------------------------------------------------------- internals


class _Search:
    """Backtracking over partial relabellings ``σ`` (``-1`` = not yet assigned), one action at a time."""

    def __init__(self, payoffs: np.ndarray, tolerance: float) -> None:
        self.payoffs, self.tolerance = payoffs, tolerance
        self.n = payoffs.shape[0]
        self.sizes = payoffs.shape[1:]
        self.signature = [[self._signature(i, a) for a in range(size)] for i, size in enumerate(self.sizes)]
        self.nodes = 0

    def _signature(self, player: int, action: int) -> tuple:
        """The sorted payoff vectors of the slice ``a_player = action``, rounded to the tolerance's grid: a
        symmetry maps an action only to one with the same signature."""
        piece = np.take(self.payoffs, action, axis=player + 1).reshape(self.n, -1).T
        grid = max(self.tolerance, 1e-300) * 4
        rounded = np.round(piece / grid).astype(np.int64)
        return tuple(sorted(map(tuple, rounded.tolist())))

    def map(self, player: int, a: int, b: int) -> list[list[int]] | None:
        """A symmetry with ``σ_player(a) = b``, or None when none exists."""
        sigma = [[-1] * size for size in self.sizes]
        used = [[False] * size for size in self.sizes]
        sigma[player][a], used[player][b] = b, True
        self.nodes = 0
        if not self._consistent(sigma, player, a):
            return None
        order = [(i, x) for x in range(max(self.sizes)) for i in range(self.n) if x < self.sizes[i]]
        order = [(i, x) for i, x in order if not (i == player and x == a)]
        return sigma if self._extend(sigma, used, order, 0) else None

    def _extend(self, sigma: list[list[int]], used: list[list[bool]], order: list[tuple[int, int]], k: int) -> bool:
        if k == len(order):
            return True
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NotApplicableError(
                f"action symmetries: the search passed {MAX_NODES:,} nodes; the game is too large to decide its "
                "symmetries exactly"
            )
        i, x = order[k]
        for y in range(self.sizes[i]):
            if used[i][y] or self.signature[i][x] != self.signature[i][y]:
                continue
            sigma[i][x], used[i][y] = y, True
            if self._consistent(sigma, i, x) and self._extend(sigma, used, order, k + 1):
                return True
            sigma[i][x], used[i][y] = -1, False
        return False

    def _consistent(self, sigma: list[list[int]], player: int, action: int) -> bool:
        """Every payoff whose joint action has ``a_player = action`` and every other coordinate relabelled."""
        domains = []
        images = []
        for i in range(self.n):
            if i == player:
                domains.append(np.array([action]))
                images.append(np.array([sigma[i][action]]))
            else:
                assigned = np.flatnonzero(np.asarray(sigma[i]) >= 0)
                if assigned.size == 0:
                    return True
                domains.append(assigned)
                images.append(np.asarray(sigma[i])[assigned])
        original_index: tuple[Any, ...] = (slice(None), *np.ix_(*domains))
        relabelled_index: tuple[Any, ...] = (slice(None), *np.ix_(*images))
        original, relabelled = self.payoffs[original_index], self.payoffs[relabelled_index]
        return bool(np.all(np.abs(original - relabelled) <= self.tolerance))


__all__ = ["MAX_NODES", "ActionSymmetries", "action_symmetries", "is_symmetry"]
