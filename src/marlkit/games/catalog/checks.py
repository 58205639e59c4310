"""Validation of catalog parameters: each failure names the parameter, the value and what is allowed."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence

import numpy as np

from marlkit.errors import InvalidGameError

MAX_PAYOFF_ENTRIES = 10_000_000
"""Largest payoff tensor (entries, all players together) a catalog factory builds: 80 MB of float64."""


def integer(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``; bools and non-integral numbers are rejected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidGameError(f"parameter {name!r}: expected an integer, got {value!r}")
    result = int(value)
    if result < minimum or (maximum is not None and result > maximum):
        allowed = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise InvalidGameError(f"parameter {name!r}: expected an integer {allowed}, got {result}")
    return result


def real(name: str, value: object) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InvalidGameError(f"parameter {name!r}: expected a finite real number, got {value!r}")
    return float(value)


def require(condition: bool, name: str, allowed: str, value: object) -> None:
    """Raise unless ``condition``: ``parameter 'k': expected k <= 0, got 5``."""
    if not condition:
        raise InvalidGameError(f"parameter {name!r}: expected {allowed}, got {value!r}")


def choice(name: str, value: object, allowed: Collection[str]) -> str:
    if value not in allowed:
        raise InvalidGameError(f"parameter {name!r}: expected one of {', '.join(map(repr, allowed))}, got {value!r}")
    return str(value)


def discount(value: object) -> float:
    gamma = real("gamma", value)
    require(0.0 <= gamma < 1.0, "gamma", "a discount in [0, 1)", value)
    return gamma


def action_counts(value: object, players: int, name: str = "actions") -> tuple[int, ...]:
    """One action count per player, from an int (the same for all) or a sequence of ``players`` ints >= 1."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != players:
            raise InvalidGameError(
                f"parameter {name!r}: expected one action count per player ({players}), got {list(value)}"
            )
        counts = tuple(integer(f"{name}[{i}]", m, 1) for i, m in enumerate(value))
    else:
        counts = (integer(name, value, 1),) * players
    check_size(players, counts)
    return counts


def check_size(players: int, counts: Sequence[int]) -> None:
    """Refuse payoff tensors larger than :data:`MAX_PAYOFF_ENTRIES` before allocating them."""
    entries = players * math.prod(counts)
    if entries > MAX_PAYOFF_ENTRIES:
        raise InvalidGameError(
            f"parameters: {players} players with actions {tuple(counts)} need a payoff tensor of {entries:,} "
            f"entries; the catalog builds at most {MAX_PAYOFF_ENTRIES:,} (use fewer players or actions)"
        )


def generator(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InvalidGameError(
            f"rng: expected a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


def seed(value: object) -> int:
    return integer("seed", value, 0)
