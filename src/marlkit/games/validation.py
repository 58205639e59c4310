"""Validation of the arrays and names that make up a game: every failure raises
:class:`~marlkit.errors.InvalidGameError` naming the field and what was expected.

The game models (:mod:`.normal_form`, :mod:`.stochastic`, :mod:`.observation`) validate their inputs with these, and
the exact solvers (:mod:`marlkit.solve`) validate the payoff matrices and distributions they are handed directly, so
that a bad input gives the same one-line error wherever it enters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from marlkit import strict
from marlkit.errors import InvalidGameError

MAX_MAGNITUDE = 1e300
"""Largest |entry| of a game's arrays (payoffs, rewards, costs, limits). With at most
:data:`marlkit.strict.DEFAULT_MAX_ELEMENTS` (3.4e7) entries, every sum, difference and expected value of them stays
finite in float64 (3.4e7 x 1e300 < 1.8e308), so no solver or property test overflows."""

PROBABILITY_TOLERANCE = 1e-9
"""Absolute tolerance on a probability vector's sum (exact models are float64; docs/architecture.md, "Numerics and
randomness")."""


def as_real_array(field: str, value: object, ndim: int | None = None) -> np.ndarray:
    """Convert ``value`` to a read-only float64 array, rejecting non-numeric input, NaN, inf and entries beyond
    :data:`MAX_MAGNITUDE`."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidGameError(f"{field}: expected an array of real numbers ({exc})") from None
    if ndim is not None and array.ndim != ndim:
        raise InvalidGameError(f"{field}: expected {ndim} dimensions, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise InvalidGameError(f"{field}: contains NaN or inf (first at index {bad}); every entry must be finite")
    if array.size and float(np.abs(array).max()) > MAX_MAGNITUDE:
        bad = tuple(int(i) for i in np.argwhere(np.abs(array) > MAX_MAGNITUDE)[0])
        raise InvalidGameError(
            f"{field}: entry {bad} is {float(array[bad]):.3g}; entries must have magnitude at most {MAX_MAGNITUDE:.0e} "
            "(rescale the payoffs: equilibria do not change under a positive affine map per player)"
        )
    array.setflags(write=False)
    return array


def as_bool_array(field: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    """Convert ``value`` to a read-only boolean array of exactly ``shape``."""
    array = np.asarray(value)
    if array.dtype != np.bool_:
        if array.dtype.kind not in "iuf" or not np.all(np.isin(array, (0, 1))):
            raise InvalidGameError(f"{field}: expected booleans (or 0/1), got dtype {array.dtype}")
        array = array.astype(np.bool_)
    else:
        array = array.copy()
    check_shape(field, array, shape)
    array.setflags(write=False)
    return array


def check_shape(field: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    """Raise unless ``array`` has exactly ``shape``."""
    if array.shape != tuple(shape):
        raise InvalidGameError(f"{field}: expected shape {tuple(shape)}, got {array.shape}")


def check_distributions(field: str, array: np.ndarray, where: np.ndarray | None = None) -> None:
    """Check that ``array`` holds probability distributions over its last axis.

    ``where`` (shape ``array.shape[:-1]``) selects the rows that must be distributions; the others are ignored
    (illegal joint actions, terminal states). Entries must be >= -tol and rows must sum to 1 within
    ``PROBABILITY_TOLERANCE``.
    """
    rows = array.reshape(-1, array.shape[-1])
    selected = np.ones(rows.shape[0], dtype=bool) if where is None else np.asarray(where).reshape(-1)
    negative = selected & np.any(rows < -PROBABILITY_TOLERANCE, axis=1)
    if np.any(negative):
        index = np.unravel_index(int(np.argmax(negative)), array.shape[:-1])
        raise InvalidGameError(
            f"{field}: row {tuple(int(i) for i in index)} has a negative probability; probabilities must be >= 0"
        )
    sums = rows.sum(axis=1)
    wrong = selected & (np.abs(sums - 1.0) > PROBABILITY_TOLERANCE)
    if np.any(wrong):
        k = int(np.argmax(wrong))
        index = np.unravel_index(k, array.shape[:-1])
        raise InvalidGameError(
            f"{field}: row {tuple(int(i) for i in index)} sums to {float(sums[k])!r}, not 1 "
            f"(tolerance {PROBABILITY_TOLERANCE}); each row must be a probability distribution"
        )


def check_gamma(gamma: float) -> float:
    """The discount ``gamma`` as a float in ``[0, 1)`` (whatever was passed: a string or ``None`` is refused)."""
    try:
        value = float(gamma)
    except (TypeError, ValueError):
        raise InvalidGameError(f"gamma: expected a number in [0, 1), got {gamma!r}") from None
    if not (0.0 <= value < 1.0):
        raise InvalidGameError(f"gamma: expected a discount in [0, 1), got {value!r}")
    return value


def check_names(field: str, names: Sequence[str] | None, count: int, default_prefix: str) -> tuple[str, ...]:
    """Validate a list of ``count`` distinct names, or make default ones (``prefix0``, ``prefix1``, ...). Each name
    has at most :data:`marlkit.strict.MAX_NAME_LENGTH` characters and no control characters (they would reach a
    terminal as escape sequences)."""
    if names is None or len(names) == 0:
        return tuple(f"{default_prefix}{k}" for k in range(count))
    if isinstance(names, str):
        raise InvalidGameError(f"{field}: expected a list of {count} names, got the string {names!r}")
    result = tuple(strict.string(f"{field}[{k}]", str(n), InvalidGameError) for k, n in enumerate(names))
    if len(result) != count:
        raise InvalidGameError(f"{field}: expected {count} names, got {len(result)}: {strict.shorten(list(result))}")
    if len(set(result)) != len(result):
        raise InvalidGameError(f"{field}: names must be distinct, got {strict.shorten(list(result))}")
    return result


def check_action_names(
    names: Sequence[Sequence[str]] | None, num_actions: tuple[int, ...]
) -> tuple[tuple[str, ...], ...]:
    """One list of distinct action names per player (``a0``, ``a1``, ... where none is given)."""
    if names is None or len(names) == 0:
        return tuple(tuple(f"a{k}" for k in range(m)) for m in num_actions)
    if len(names) != len(num_actions):
        raise InvalidGameError(f"action_names: expected one list per player ({len(num_actions)}), got {len(names)}")
    return tuple(
        check_names(f"action_names[{i}]", list(n), m, "a")
        for i, (n, m) in enumerate(zip(names, num_actions, strict=True))
    )
