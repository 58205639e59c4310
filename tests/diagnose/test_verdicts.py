"""The verdict rule on synthetic metric curves whose answer is known by construction."""

import math

import numpy as np
import pytest

from marlkit.diagnose.results import Verdict
from marlkit.diagnose.verdicts import VERDICT_RULE, judge
from marlkit.errors import MarlkitError

EPS = 0.05
Z = np.arange(1, 101) * 100.0  # 100 logging points, every 100 steps, as train(steps=10_000) logs by default


def _converging(k0: int, seed: int) -> np.ndarray:
    """Above eps before index k0 (with one dip below at index 5), strictly below eps from k0 on."""
    rng = np.random.default_rng(seed)
    metric = np.concatenate([rng.uniform(EPS, 0.5, k0), rng.uniform(0.0, 0.8 * EPS, Z.size - k0)])
    metric[:k0] = np.maximum(metric[:k0], EPS)  # exactly eps counts as outside the band (d < eps is strict)
    metric[5] = 0.5 * EPS
    return metric


@pytest.mark.parametrize(("k0", "seed"), [(10, 0), (37, 1), (60, 2), (79, 3)])
def test_converging_sequence_gives_its_z0_on_the_logging_grid(k0, seed):
    v = judge(Z, _converging(k0, seed), EPS)
    assert v.verdict is Verdict.CONVERGED, v.reason
    assert v.z0 == Z[k0]
    assert v.target is None
    assert v.evidence.stayed_for == Z[-1] - Z[k0]
    assert v.evidence.stayed_fraction == pytest.approx((Z[-1] - Z[k0]) / (Z[-1] - Z[0]))
    assert v.evidence.crossings == 3  # into the dip at 5, out of it, and into the band at k0
    assert v.evidence.final < EPS


def test_converging_needs_the_stay_to_cover_min_stay():
    metric = _converging(85, 4)  # the stay covers 15/99 of the span
    assert judge(Z, metric, EPS).verdict is Verdict.INCONCLUSIVE
    v = judge(Z, metric, EPS, min_stay=0.1)
    assert v.verdict is Verdict.CONVERGED and v.z0 == Z[85]


def test_exactly_zero_metric_converged_from_the_first_point_with_a_flat_tail():
    v = judge(Z, np.zeros(Z.size), EPS)
    assert v.verdict is Verdict.CONVERGED and v.z0 == Z[0]
    assert v.evidence.slope == 0.0 and v.evidence.fluctuation == 0.0


def test_damped_oscillation_that_settles_is_converged_from_its_last_crossing():
    metric = EPS + 0.3 * np.exp(-Z / 1500.0) * np.cos(2 * np.pi * Z / 1000.0) - 0.01
    last_out = int(np.flatnonzero(metric >= EPS)[-1])
    v = judge(Z, metric, EPS)
    assert v.verdict is Verdict.CONVERGED, v.reason
    assert v.z0 == Z[last_out + 1]
    assert v.evidence.crossings > 4


@pytest.mark.parametrize("end", [100, 107, 103])
def test_oscillating_across_eps_is_not_converged(end):
    z = np.arange(1, end + 1) * 100.0
    metric = EPS + 0.05 * np.sin(2 * np.pi * z / 1000.0)  # below eps for 4 points of every 10
    v = judge(z, metric, EPS)
    assert v.verdict is Verdict.NOT_CONVERGED, v.reason
    assert v.z0 is None
    assert v.evidence.crossings >= 19


def test_still_falling_toward_eps_at_the_end_is_inconclusive():
    rng = np.random.default_rng(5)
    metric = 2 * EPS + 0.4 * (1.0 - Z / Z[-1]) + rng.normal(0.0, 0.002, Z.size)
    v = judge(Z, metric, EPS)
    assert v.verdict is Verdict.INCONCLUSIVE, v.reason
    assert v.z0 is None and v.evidence.slope < 0 and v.evidence.stayed_for == 0.0


def test_falling_too_slowly_to_reach_eps_within_another_run_is_not_converged():
    metric = 0.5 - 0.1 * Z / Z[-1]  # a clean fall, but its line reaches eps only after 3.5 more runs
    v = judge(Z, metric, EPS)
    assert v.verdict is Verdict.NOT_CONVERGED and "too slowly" in v.reason
    assert v.evidence.slope == pytest.approx(-0.01)  # per 1,000 z


def test_just_below_eps_at_the_last_point_is_inconclusive():
    metric = EPS + 0.3 * (Z[-2] - Z) / Z[-1]
    metric[-1] = 0.99 * EPS
    assert np.all(metric[:-1] >= EPS)
    v = judge(Z, metric, EPS)
    assert v.verdict is Verdict.INCONCLUSIVE, v.reason
    assert v.z0 is None
    assert v.evidence.stayed_for == 0.0 and v.evidence.crossings == 1


def test_flat_above_eps_is_not_converged():
    rng = np.random.default_rng(6)
    v = judge(Z, 0.3 + rng.normal(0.0, 0.01, Z.size), EPS)
    assert v.verdict is Verdict.NOT_CONVERGED and v.evidence.crossings == 0


def test_cycle_falling_back_to_earlier_levels_is_not_converged():
    # above eps throughout; its minimum 0.15 at z = 3,000; falling over the last quarter, ending near 0.19
    metric = 0.3 - 0.15 * np.cos(2 * np.pi * (Z - Z[-1] - 1000.0) / 8000.0)
    tail = Z[-1] - 0.25 * (Z[-1] - Z[0]) <= Z
    assert np.all(np.diff(metric[tail]) < 0) and metric.min() > EPS
    v = judge(Z, metric, EPS)
    assert v.verdict is Verdict.NOT_CONVERGED, v.reason
    assert v.evidence.slope < 0


def test_below_eps_but_rising_out_of_the_band_is_inconclusive():
    metric = 0.9 * EPS * Z / Z[-1]  # below eps throughout, reaches eps soon after the run
    v = judge(Z, metric, EPS)
    assert v.verdict is Verdict.INCONCLUSIVE, v.reason
    assert v.evidence.slope > 0
    # the same rise far from eps does not leave the band within one more tail length
    assert judge(Z, 0.3 * EPS * Z / Z[-1], EPS).verdict is Verdict.CONVERGED


def test_nan_points_are_skipped_and_z0_stays_on_the_grid():
    metric = _converging(30, 7)
    metric[:8] = np.nan  # e.g. no episode finished yet
    metric[50] = np.nan
    v = judge(Z, metric, EPS)
    assert v.verdict is Verdict.CONVERGED and v.z0 == Z[30]


def test_nan_everywhere_or_at_the_end_or_in_most_of_the_tail_is_inconclusive():
    all_nan = judge(Z, np.full(Z.size, np.nan), EPS)
    assert all_nan.verdict is Verdict.INCONCLUSIVE and all_nan.evidence is None and "undefined" in all_nan.reason
    metric = _converging(10, 8)
    metric[-1] = np.nan
    last = judge(Z, metric, EPS)
    assert last.verdict is Verdict.INCONCLUSIVE and "last logging point" in last.reason
    assert last.evidence.final == metric[-2]
    sparse = _converging(10, 8)
    sparse[70:-1] = np.nan
    assert judge(Z, sparse, EPS).verdict is Verdict.INCONCLUSIVE


def test_too_few_points_is_inconclusive():
    assert judge(Z[:2], np.zeros(2), EPS).verdict is Verdict.INCONCLUSIVE
    single = judge(Z[:1], np.zeros(1), EPS)
    assert single.verdict is Verdict.INCONCLUSIVE and single.evidence.stayed_fraction == 0.0


def test_evidence_is_json_ready():
    d = judge(Z, _converging(20, 9), EPS).to_dict()
    assert d["verdict"] == "converged" and d["z0"] == Z[20]
    assert all(isinstance(d["evidence"][k], float) for k in ("slope", "fluctuation", "final", "tail_start"))
    assert not math.isnan(d["evidence"]["slope"])


@pytest.mark.parametrize(
    ("z", "metric", "eps"),
    [
        (Z, np.zeros(5), EPS),
        (Z[::-1], np.zeros(Z.size), EPS),
        (Z, np.full(Z.size, np.inf), EPS),
        (Z, np.zeros(Z.size), 0.0),
        (Z, np.zeros(Z.size), float("nan")),
    ],
)
def test_bad_input_raises(z, metric, eps):
    with pytest.raises(MarlkitError):
        judge(z, metric, eps)


def test_rule_text_names_its_parts():
    for word in ("z0", "min_stay", "tail", "Inconclusive", "Not converged", "NaN"):
        assert word in VERDICT_RULE
