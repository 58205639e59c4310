"""The one table of the six convergence criteria: :data:`CRITERIA_TABLE` (key, number, title, default eps, measure).

Albrecht, Christianos & Schäfer (2024), *Multi-Agent Reinforcement Learning: Foundations and Modern Approaches*,
MIT Press, §5.2, list six meanings of "learning converges"; :mod:`marlkit.diagnose.criteria` measures each. Every
place that names, numbers, titles or thresholds a criterion (the diagnostics, their report and pictures, the CLI,
configs, studies, sweeps and comparisons) reads this table. It is a leaf: the measure functions are named as
``"module:Name"`` and imported on first use (:meth:`Criterion.load`), so results, verdicts and the experiment
tables import it without importing the criteria.

>>> from marlkit.diagnose.criteria_table import CRITERIA, criterion
>>> CRITERIA[0], criterion("solution_set").label
('joint_policy', '5 set of solutions')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from marlkit.errors import UnknownNameError
from marlkit.registry import load_target, unknown_name

SOURCE = "Albrecht, Christianos & Schäfer 2024, Multi-Agent Reinforcement Learning (MIT Press), §5.2"
"""Where the six criteria are defined."""


@dataclass(frozen=True)
class Criterion:
    """One convergence criterion.

    Attributes:
        key: the name in results, JSON and configs (``"joint_policy"``).
        number: its number in the book's list (1..6).
        title: a few words (``"joint policy"``); :attr:`label` prefixes the number.
        short: a narrower title for wide tables (studies, sweeps).
        default_eps: the default threshold: absolute for policy distances; a fraction of the payoff range for
            return gaps (``returns``) and for every criterion judged against a NashConv set
            (:func:`marlkit.diagnose.criteria.default_eps`).
        returns: whether the metric is a return gap (payoff units) rather than a policy distance.
        measure: the measure function as ``"module:Name"`` (:class:`marlkit.diagnose.criteria.CriterionFunction`).
    """

    key: str
    number: int
    title: str
    short: str
    default_eps: float
    returns: bool
    measure: str

    @property
    def label(self) -> str:
        """``"1 joint policy"``: the number and the title."""
        return f"{self.number} {self.title}"

    @property
    def short_label(self) -> str:
        """``"2 exp. return"``: the number and the short title."""
        return f"{self.number} {self.short}"

    def load(self) -> Any:
        """The measure function (imported on first use)."""
        return load_target(self.measure, "criterion")


_MEASURES = "marlkit.diagnose.criteria"

CRITERIA_TABLE: tuple[Criterion, ...] = (
    Criterion("joint_policy", 1, "joint policy", "joint policy", 0.05, False, f"{_MEASURES}:joint_policy"),
    Criterion("expected_return", 2, "expected return", "exp. return", 0.05, True, f"{_MEASURES}:expected_return"),
    Criterion(
        "empirical_distribution",
        3,
        "empirical distribution",
        "empirical dist.",
        0.05,
        False,
        f"{_MEASURES}:empirical_distribution",
    ),
    Criterion(
        "averaged_joint_policy",
        4,
        "averaged joint policy",
        "avg. policy",
        0.05,
        False,
        f"{_MEASURES}:averaged_joint_policy",
    ),
    Criterion("solution_set", 5, "set of solutions", "solution set", 0.05, False, f"{_MEASURES}:set_of_solutions"),
    Criterion("average_return", 6, "average return", "avg. return", 0.05, True, f"{_MEASURES}:average_return"),
)
"""The six criteria of :data:`SOURCE`, in the book's order."""

CRITERIA: tuple[str, ...] = tuple(c.key for c in CRITERIA_TABLE)
"""The criterion keys, in the book's order (1 .. 6)."""

CRITERION_TITLES: Mapping[str, str] = MappingProxyType({c.key: c.label for c in CRITERIA_TABLE})
"""Key -> ``"number title"`` (report tables, pictures)."""

CRITERION_SHORT: Mapping[str, str] = MappingProxyType({c.key: c.short_label for c in CRITERIA_TABLE})
"""Key -> ``"number short title"`` (study and sweep tables)."""

DEFAULT_EPS: Mapping[str, float] = MappingProxyType({c.key: c.default_eps for c in CRITERIA_TABLE})
"""Key -> default threshold (see :attr:`Criterion.default_eps`)."""

RETURN_CRITERIA: frozenset[str] = frozenset(c.key for c in CRITERIA_TABLE if c.returns)
"""Criteria whose metric is a return gap (payoff units)."""

_BY_KEY = {c.key: c for c in CRITERIA_TABLE}


def criterion(key: str) -> Criterion:
    """The criterion ``key``; :class:`UnknownNameError` with a close match and the six keys otherwise."""
    found = _BY_KEY.get(key)
    if found is None:
        raise UnknownNameError(unknown_name("criterion", key, CRITERIA, plural="criteria"))
    return found


__all__ = [
    "CRITERIA",
    "CRITERIA_TABLE",
    "CRITERION_SHORT",
    "CRITERION_TITLES",
    "DEFAULT_EPS",
    "RETURN_CRITERIA",
    "SOURCE",
    "Criterion",
    "criterion",
]
