"""A :class:`Verdict`: whether a property holds, how that was decided, why, and a counterexample when it fails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

MAX_ARRAY_IN_JSON = 256
"""Arrays in a counterexample with more entries than this are summarised (not listed) by :meth:`Verdict.to_dict`."""


class Method(StrEnum):
    """How a verdict was reached."""

    EXACT = "exact"
    """Proved for all joint policies (a tensor identity or an exact optimisation)."""
    SAMPLED = "sampled"
    """From sampled joint policies: ``holds=False`` comes with a definite counterexample; ``holds=True`` is
    evidence only (no difference found in ``samples`` comparisons)."""
    NOT_DECIDED = "not-decided"
    """The property is not defined for this game (``holds is None``); ``reason`` says why."""


@dataclass(frozen=True, eq=False)
class Verdict:
    """Whether a property holds (``True``/``False``, or ``None`` when not decided), with the method and reason.

    Attributes:
        holds: the answer, or ``None`` when the property is not defined for the game.
        method: how it was decided (:class:`Method`).
        reason: one or two sentences a user can check.
        counterexample: when ``holds`` is False, what shows it (e.g. a permutation, a policy and the two
            utilities that differ); values may be NumPy arrays.
        samples: number of sampled comparisons behind a ``"sampled"`` verdict (0 otherwise).
    """

    holds: bool | None
    method: Method
    reason: str
    counterexample: Mapping[str, object] | None = None
    samples: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (schema in docs/cli-json.md); large arrays in the counterexample are summarised."""
        return {
            "holds": self.holds,
            "method": str(self.method),
            "reason": self.reason,
            "counterexample": None
            if self.counterexample is None
            else {str(k): _jsonable(v) for k, v in self.counterexample.items()},
            "samples": self.samples,
        }


def _jsonable(value: object) -> object:
    if isinstance(value, np.ndarray):
        if value.size > MAX_ARRAY_IN_JSON:
            return f"array of shape {list(value.shape)} omitted (see the Verdict object)"
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
