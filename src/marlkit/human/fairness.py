"""Equality and productivity of per-agent returns: the AI Economist's social metrics (Zheng et al. 2020).

For incomes ``x = (x_1..x_N) >= 0`` (here: each agent's return), Zheng et al. 2020 ("The AI Economist: Improving
Equality and Productivity with AI-Driven Tax Policies", arXiv:2004.13332, §2 and the reference code
``foundation/scenarios/utils/social_metrics.py``) define

* the normalised Gini index ``gini(x) = N/(N-1) · Σ_i Σ_j |x_i - x_j| / (2 N Σ_i x_i)`` (0: all equal; 1: one
  agent holds everything);
* equality ``eq(x) = 1 - gini(x)``;
* productivity ``prod(x) = Σ_i x_i``;
* the planner's social welfare ``eq(x) · prod(x)`` (equality times productivity);
* the inverse-income-weighted social welfare ``Σ_i ω_i x_i`` with Pareto weights ``ω_i ∝ 1 / max(x_i, floor)``
  normalised to sum to 1 (the reference code clamps at ``floor = 1`` coin, so a zero income gets a finite weight).

**Zero and negative returns.** The metrics are defined for non-negative incomes (Gini is not translation
invariant, and a negative total breaks its normalisation). With ``negative="shift"`` (the default) returns with a
negative entry are shifted by ``-min(x)`` so that the poorest agent's income is 0 — the metrics then measure the
spread *above the worst agent*, and the shift is reported; ``negative="refuse"`` raises instead. A zero total
(every income 0) is perfectly equal: ``gini = 0``, ``eq = 1``. One agent has no distribution: refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlkit.errors import InvalidGameError, NotApplicableError

NEGATIVE_RULES = ("shift", "refuse")


def normalised_gini(incomes: np.ndarray) -> float:
    """``N/(N-1) · Σ_ij |x_i - x_j| / (2 N Σ x)`` of non-negative ``incomes [N]`` (module docstring); 0 when
    ``Σ x = 0``."""
    x = np.asarray(incomes, dtype=np.float64)
    n = x.size
    total = float(x.sum())
    if total <= 0.0:
        return 0.0
    diff = float(np.abs(x[:, None] - x[None, :]).sum())
    return diff / (2.0 * n * total) * n / (n - 1)


@dataclass(frozen=True)
class Fairness:
    """The social metrics of one vector of per-agent returns (module docstring).

    Attributes:
        returns: the per-agent returns as given. shift: what was added to every return before the metrics (0 when
            none was negative). gini / equality / productivity / equality_x_productivity / inverse_income_welfare:
            the metrics of ``returns + shift``. floor: the clamp of the inverse-income weights.
    """

    returns: tuple[float, ...]
    shift: float
    gini: float
    equality: float
    productivity: float
    equality_x_productivity: float
    inverse_income_welfare: float
    floor: float

    def to_json(self) -> dict[str, Any]:
        return {
            "returns": list(self.returns),
            "shift": self.shift,
            "gini": self.gini,
            "equality": self.equality,
            "productivity": self.productivity,
            "equality_x_productivity": self.equality_x_productivity,
            "inverse_income_welfare": self.inverse_income_welfare,
            "floor": self.floor,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fairness:
        return cls(
            tuple(float(r) for r in data["returns"]),
            float(data["shift"]),
            float(data["gini"]),
            float(data["equality"]),
            float(data["productivity"]),
            float(data["equality_x_productivity"]),
            float(data["inverse_income_welfare"]),
            float(data["floor"]),
        )

    def lines(self) -> list[str]:
        shifted = f" (returns shifted by {self.shift:+.4g} so the poorest agent has 0)" if self.shift else ""
        return [
            f"fairness of the per-agent returns (Zheng et al. 2020){shifted}:",
            f"  normalised Gini {self.gini:.4f}   equality {self.equality:.4f}   productivity {self.productivity:.4g}",
            f"  equality x productivity {self.equality_x_productivity:.4g}   "
            f"inverse-income-weighted welfare {self.inverse_income_welfare:.4g}",
        ]


def fairness(returns: Sequence[float] | np.ndarray, *, negative: str = "shift", floor: float = 1.0) -> Fairness:
    """The AI Economist's metrics of per-agent ``returns [N]`` (module docstring).

    Raises:
        InvalidGameError: fewer than 2 agents, non-finite returns, an unknown ``negative`` rule, ``floor <= 0``.
        NotApplicableError: a negative return with ``negative="refuse"``.
    """
    x = np.asarray(returns, dtype=np.float64).reshape(-1)
    if x.size < 2:
        raise InvalidGameError(f"fairness: needs the returns of >= 2 agents, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise InvalidGameError("fairness: returns must be finite numbers")
    if negative not in NEGATIVE_RULES:
        raise InvalidGameError(f"fairness: negative must be one of {list(NEGATIVE_RULES)}, got {negative!r}")
    if not (math.isfinite(floor) and floor > 0):
        raise InvalidGameError(f"fairness: floor must be a finite number > 0, got {floor!r}")
    shift = 0.0
    if x.min() < 0:
        if negative == "refuse":
            raise NotApplicableError(
                f"fairness: agent {int(x.argmin())} has a negative return {x.min():.4g}; the metrics need incomes >= 0 "
                "(use negative='shift' to measure the spread above the poorest agent)"
            )
        shift = float(-x.min())
    incomes = x + shift
    gini = normalised_gini(incomes)
    equality = 1.0 - gini
    productivity = float(incomes.sum())
    weights = 1.0 / np.maximum(incomes, floor)
    weights = weights / weights.sum()
    return Fairness(
        tuple(float(r) for r in x),
        shift,
        gini,
        equality,
        productivity,
        equality * productivity,
        float(np.sum(weights * incomes)),
        float(floor),
    )


def fairness_lines(returns: Sequence[float] | np.ndarray) -> list[str]:
    """The lines a report prints for per-agent ``returns [N]`` (:meth:`Fairness.lines`; negative returns shifted);
    no lines for one agent or non-finite returns (nothing to measure)."""
    x = np.asarray(returns, dtype=np.float64).reshape(-1)
    if x.size < 2 or not np.all(np.isfinite(x)):
        return []
    return fairness(x).lines()


__all__ = ["NEGATIVE_RULES", "Fairness", "fairness", "fairness_lines", "normalised_gini"]
