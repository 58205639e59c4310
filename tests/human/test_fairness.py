"""The AI Economist's social metrics (Zheng et al. 2020, §2; the reference code's social_metrics.py) on hand-computed
vectors, against a second formulation of the Gini index (the sorted-rank form), and the rules for negative returns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, NotApplicableError
from marlkit.human.fairness import Fairness, fairness, fairness_lines, normalised_gini


def sorted_gini(x: np.ndarray) -> float:
    """The Gini index in its rank form G = 2 Σ_i i x_(i) / (N Σ x) - (N + 1) / N (x sorted ascending, i = 1..N),
    times N / (N - 1): an independent formulation of the pairwise-difference definition."""
    s = np.sort(x)
    n = s.size
    g = 2.0 * np.sum(np.arange(1, n + 1) * s) / (n * s.sum()) - (n + 1) / n
    return g * n / (n - 1)


def test_hand_computed_values() -> None:
    equal = fairness([2.0, 2.0, 2.0, 2.0])
    assert equal.gini == 0.0 and equal.equality == 1.0 and equal.productivity == 8.0
    assert equal.equality_x_productivity == 8.0 and equal.inverse_income_welfare == pytest.approx(2.0)
    # one agent holds everything: Σ|x_i - x_j| = 24, 2 N Σx = 32, 24/32 * 4/3 = 1
    rich = fairness([0.0, 0.0, 0.0, 4.0])
    assert rich.gini == pytest.approx(1.0, abs=1e-12) and rich.equality == pytest.approx(0.0, abs=1e-12)
    # weights 1/max(x, 1) = (1, 1, 1, 1/4), normalised by 13/4: welfare = (1/4 * 4) / (13/4) = 4/13
    assert rich.inverse_income_welfare == pytest.approx(4 / 13, abs=1e-12)
    two = fairness([1.0, 3.0])  # Σ|.| = 4, 2 N Σx = 16, 1/4 * 2 = 1/2
    assert two.gini == pytest.approx(0.5) and two.equality_x_productivity == pytest.approx(2.0)
    # welfare with weights (1, 1/3) / (4/3) = (3/4, 1/4): 3/4 + 3/4 = 3/2
    assert two.inverse_income_welfare == pytest.approx(1.5)


def test_gini_matches_the_rank_form_and_is_scale_invariant() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        x = rng.exponential(size=int(rng.integers(2, 9)))
        assert normalised_gini(x) == pytest.approx(sorted_gini(x), abs=1e-12)
        assert normalised_gini(7.5 * x) == pytest.approx(normalised_gini(x), abs=1e-12)
        assert 0.0 <= normalised_gini(x) <= 1.0 + 1e-12


def test_negative_and_zero_returns() -> None:
    shifted = fairness([-1.0, 1.0])  # shifted by +1 to (0, 2): one agent has everything above the poorest
    assert shifted.shift == 1.0 and shifted.gini == pytest.approx(1.0) and shifted.productivity == 2.0
    assert shifted.returns == (-1.0, 1.0) and "shifted by +1" in shifted.lines()[0]
    with pytest.raises(NotApplicableError, match="negative return"):
        fairness([-1.0, 1.0], negative="refuse")
    zeros = fairness([0.0, 0.0, 0.0])  # a zero total is perfectly equal
    assert zeros.gini == 0.0 and zeros.equality == 1.0 and zeros.productivity == 0.0
    for bad in ([1.0], [1.0, float("nan")]):
        with pytest.raises(InvalidGameError):
            fairness(bad)
    with pytest.raises(InvalidGameError, match="negative must be"):
        fairness([1.0, 2.0], negative="clip")
    assert fairness_lines([3.0]) == [] and len(fairness_lines([-3.0, -1.0, -2.0])) == 3


def test_json_round_trip() -> None:
    result = fairness([-7.1, -6.3, -8.0])
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert Fairness.from_json(data) == result
