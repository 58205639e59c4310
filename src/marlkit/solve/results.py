"""Typed results of the solvers: an equilibrium (profile, values, supports, certified epsilon) and a set of them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Equilibrium:
    """One (approximate) Nash equilibrium of a normal-form game.

    Attributes:
        profile: one mixed strategy per player (float64 vectors summing to 1).
        values: expected payoff of each player under the profile, shape ``[n]``.
        supports: the actions each player plays with probability above the solver's tolerance.
        epsilon: the certified NashConv of ``profile`` (Σ_i max_a U_i(a, σ_-i) - U_i(σ)); 0 up to rounding
            for exact methods.
        method: which algorithm produced it (e.g. ``"vertex-enumeration"``, ``"lemke-howson"``).
    """

    profile: tuple[np.ndarray, ...]
    values: np.ndarray
    supports: tuple[tuple[int, ...], ...]
    epsilon: float
    method: str

    @property
    def is_pure(self) -> bool:
        return all(len(s) == 1 for s in self.supports)

    def to_dict(self) -> dict[str, object]:
        return {
            "profile": [p.tolist() for p in self.profile],
            "values": self.values.tolist(),
            "supports": [list(s) for s in self.supports],
            "epsilon": float(self.epsilon),
            "method": self.method,
            "pure": self.is_pure,
        }


@dataclass(frozen=True, eq=False)
class EquilibriumSet:
    """The equilibria a solver found, with what is known about completeness.

    Attributes:
        equilibria: the equilibria found (deduplicated within the solver's tolerance).
        complete: True when the method provably returns *all* equilibria of this game (e.g. vertex enumeration
            of a non-degenerate bimatrix game); False when it may have missed some.
        degenerate: True when the game was detected to be degenerate (a mixed strategy with support size k has
            more than k pure best responses), in which case the equilibria can form continua and only their
            extreme points are listed.
        method: the algorithm used.
        notes: anything a user must know to read the result (e.g. "degenerate: extreme equilibria only").
    """

    equilibria: tuple[Equilibrium, ...]
    complete: bool
    degenerate: bool
    method: str
    notes: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.equilibria)

    def __iter__(self):
        return iter(self.equilibria)

    def __getitem__(self, index: int) -> Equilibrium:
        return self.equilibria[index]

    def to_dict(self) -> dict[str, object]:
        return {
            "equilibria": [e.to_dict() for e in self.equilibria],
            "complete": self.complete,
            "degenerate": self.degenerate,
            "method": self.method,
            "notes": list(self.notes),
        }
