"""The result types of the convergence diagnostics: verdicts, their evidence, and one criterion's outcome.

These are plain frozen dataclasses with ``to_dict()`` (JSON-ready: lists, floats, strings, ``None``), so the
criteria (:mod:`marlkit.diagnose.criteria`), the multi-seed statistics (:mod:`marlkit.diagnose.seeds`), the
pictures (:mod:`marlkit.diagnose.plots`) and the report (:mod:`marlkit.diagnose.report`) share one vocabulary.
The criteria's keys and titles (:data:`CRITERIA`, :data:`CRITERION_TITLES`) come from the one table,
:mod:`marlkit.diagnose.criteria_table`, and are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from marlkit.diagnose.criteria_table import CRITERIA, CRITERION_TITLES


class Verdict(StrEnum):
    """What a finite run lets us say about a limit (see :mod:`marlkit.diagnose.verdicts` for the rule)."""

    CONVERGED = "converged"
    NOT_CONVERGED = "not converged"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"


def float_or_none(x: float | None) -> float | None:
    """``x`` as a float for JSON, ``None`` for ``None`` and NaN."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


@dataclass(frozen=True)
class TailEvidence:
    """What the end of a metric curve looked like when the verdict was given.

    ``stayed_for``: steps (z units) the metric has stayed below eps up to the end (0 if it ends above eps);
    ``stayed_fraction``: that as a fraction of the run; ``slope``: least-squares slope of the metric over the
    tail window per 1,000 z units (negative: still falling); ``fluctuation``: standard deviation of the metric's
    residual about that line over the tail window; ``final``: the metric's last value; ``tail_start``: the first
    z of the tail window the slope and fluctuation were computed on; ``crossings``: how often the metric crossed
    eps over the whole run (a high count with no final stay reads as oscillation).
    """

    stayed_for: float
    stayed_fraction: float
    slope: float
    fluctuation: float
    final: float
    tail_start: float
    crossings: int

    def to_dict(self) -> dict[str, object]:
        return {
            "stayed_for": float_or_none(self.stayed_for),
            "stayed_fraction": float_or_none(self.stayed_fraction),
            "slope": float_or_none(self.slope),
            "fluctuation": float_or_none(self.fluctuation),
            "final": float_or_none(self.final),
            "tail_start": float_or_none(self.tail_start),
            "crossings": int(self.crossings),
        }


@dataclass(frozen=True)
class SeedVerdict:
    """One seed's verdict on one criterion at one eps: ``z0`` (the first logging point from which the metric
    stays below eps to the end, as in :mod:`marlkit.diagnose.verdicts`; ``None`` unless converged), ``reason``
    (one line a user can read), ``evidence`` and ``target`` (index of the solution-set member the run converged
    to or ends nearest; ``None`` where the set has no members to name, e.g. a polytope or the NashConv test)."""

    verdict: Verdict
    z0: float | None
    reason: str
    evidence: TailEvidence | None
    target: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "z0": float_or_none(self.z0),
            "reason": self.reason,
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
            "target": self.target,
        }


@dataclass(frozen=True, eq=False)
class CriterionResult:
    """One criterion on one History: its metric over z for every seed, and a verdict per seed.

    ``z [T]`` are the x-values (environment steps at the logging points); ``metric [N, T]`` the criterion's
    metric (a distance, a return gap, or a NashConv — ``metric_name`` says which; NaN where undefined, e.g.
    before any episode finished); ``verdicts`` one per seed; ``targets [N]`` the member index per seed (-1 where
    none); ``solution_set`` and ``distance`` describe what the metric measures; ``notes`` say what
    approximations were made (e.g. "conditioned on the state", "snapshots averaged per logging window").
    """

    criterion: str
    eps: float
    z: np.ndarray
    metric: np.ndarray
    metric_name: str
    verdicts: tuple[SeedVerdict, ...]
    solution_set: str
    distance: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def targets(self) -> np.ndarray:
        return np.array([-1 if v.target is None else v.target for v in self.verdicts], dtype=np.int64)

    def to_dict(self) -> dict[str, object]:
        return {
            "criterion": self.criterion,
            "eps": float(self.eps),
            "metric_name": self.metric_name,
            "solution_set": self.solution_set,
            "distance": self.distance,
            "notes": list(self.notes),
            "z": np.asarray(self.z, dtype=np.float64).tolist(),
            "metric": [[float_or_none(x) for x in row] for row in np.asarray(self.metric, dtype=np.float64)],
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


__all__ = [
    "CRITERIA",
    "CRITERION_TITLES",
    "CriterionResult",
    "SeedVerdict",
    "TailEvidence",
    "Verdict",
    "float_or_none",
]
