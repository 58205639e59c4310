"""Statistics across seeds: Wilson interval, IQM and its bootstrap CI (cross-checked against rliable), and the
per-criterion summary on synthetic verdicts."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marlkit.diagnose.results import CriterionResult, SeedVerdict, Verdict
from marlkit.diagnose.seeds import bootstrap_ci, iqm, last_finite, seed_statistics, wilson_interval
from marlkit.errors import NotApplicableError

# ------------------------------------------------------------------------------------------------ Wilson


def test_wilson_matches_the_formula_worked_by_hand() -> None:
    # k = 3 of n = 10 at 95%: z = 1.959964 (normal quantile from the standard library, not SciPy).
    z = NormalDist().inv_cdf(0.975)
    centre = (3 + z * z / 2) / (10 + z * z)
    half = z / (10 + z * z) * math.sqrt(3 * 7 / 10 + z * z / 4)
    lower, upper = wilson_interval(3, 10)
    assert lower == pytest.approx(centre - half, abs=1e-12) and upper == pytest.approx(centre + half, abs=1e-12)
    assert (round(lower, 4), round(upper, 4)) == (0.1078, 0.6032)  # the same by hand to 4 places


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of seven methods",
    # Stat. Med. 17:857-872, Table II, method 3 (score interval without continuity correction), 95%.
    [(81, 263, (0.2553, 0.3662)), (15, 148, (0.0624, 0.1605)), (0, 20, (0.0, 0.1611)), (1, 29, (0.0061, 0.1718))],
)
def test_wilson_matches_newcombe_1998(k: int, n: int, expected: tuple[float, float]) -> None:
    assert tuple(round(x, 4) for x in wilson_interval(k, n)) == expected


def test_wilson_matches_statsmodels_on_a_grid() -> None:
    proportion_confint = pytest.importorskip(
        "statsmodels.stats.proportion", reason="statsmodels is an optional oracle"
    ).proportion_confint

    for n in (1, 2, 5, 17, 100):
        for k in range(n + 1):
            for confidence in (0.8, 0.95, 0.99):
                ours = wilson_interval(k, n, confidence)
                theirs = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
                np.testing.assert_allclose(ours, theirs, atol=1e-12, err_msg=f"k={k} n={n} c={confidence}")


def test_wilson_edges_are_exact() -> None:
    for n in (1, 3, 10, 1000):
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(0, n)[1] > 0.0
        assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(n, n)[0] < 1.0


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10_000), data=st.data(), confidence=st.floats(0.5, 0.999))
def test_wilson_stays_in_the_unit_interval_and_covers_the_estimate(n: int, data, confidence: float) -> None:
    k = data.draw(st.integers(0, n))
    lower, upper = wilson_interval(k, n, confidence)
    assert 0.0 <= lower <= k / n <= upper <= 1.0
    wider_lower, wider_upper = wilson_interval(k, n, min(0.9999, confidence + 0.0005))
    assert wider_lower <= lower + 1e-15 and wider_upper >= upper - 1e-15  # more confidence, no narrower


@pytest.mark.parametrize(
    ("k", "n", "confidence"), [(1, 0, 0.95), (4, 3, 0.95), (-1, 3, 0.95), (1.5, 3, 0.95), (1, 3, 1.0), (1, 3, 0.0)]
)
def test_wilson_rejects_bad_input(k, n, confidence) -> None:
    with pytest.raises(NotApplicableError):
        wilson_interval(k, n, confidence)


# ---------------------------------------------------------------------------------------------------- IQM


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)  # (3 + 4 + 5 + 6) / 4
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx(4.5)  # order does not matter
    assert iqm([0, 1, 1, 1, 1, 2, 1e9, -1e9]) == pytest.approx(1.0)  # sorted, the middle four are all 1
    assert iqm([2.0, 4.0, 9.0]) == pytest.approx(5.0)  # fewer than 4 values: nothing is cut


def test_iqm_equals_rliables_aggregate_iqm_exactly() -> None:
    rliable_metrics = pytest.importorskip(
        "rliable.metrics",
        reason="rliable is an optional oracle (not a test dependency: it does not import with pandas >= 3)",
    )
    rng = np.random.default_rng(np.random.SeedSequence(5))
    samples = [rng.normal(size=size) for size in (1, 2, 3, 4, 5, 7, 10, 33, 101)]
    samples += [rng.integers(0, 3, size=12).astype(float), rng.lognormal(size=(6, 1))]  # ties; a runs x 1 task array
    for x in samples:
        assert iqm(x) == rliable_metrics.aggregate_iqm(np.asarray(x, dtype=np.float64).reshape(-1, 1))


@pytest.mark.parametrize("bad", [[], [1.0, np.nan], [np.inf]])
def test_iqm_and_bootstrap_reject_empty_or_nonfinite(bad) -> None:
    with pytest.raises(NotApplicableError):
        iqm(bad)
    with pytest.raises(NotApplicableError):
        bootstrap_ci(bad)


# ----------------------------------------------------------------------------------------------- bootstrap

# A skewed sample of 30 "seeds" (log-normal with an outlier), where the IQM, the mean and a wrong confidence level
# give clearly different intervals.
SAMPLE = np.concatenate([np.random.default_rng(np.random.SeedSequence(11)).lognormal(0.0, 0.6, size=29), [9.0]])
RESAMPLES = 20_000
RLIABLE_RESAMPLES = 5_000  # rliable (through arch) runs its statistic in a Python loop: ~1 ms per resample


def _sorted_iqm(resampled: np.ndarray) -> np.ndarray:
    """IQM of each row written out (sort, drop floor(n/4) from each end, average) — not via SciPy."""
    cut = resampled.shape[1] // 4
    return np.sort(resampled, axis=1)[:, cut : resampled.shape[1] - cut].mean(axis=1)


def _bootstrap_distribution(x: np.ndarray, rows_statistic, resamples: int, seed: int) -> np.ndarray:
    """Independent oracle: the statistic on ``resamples`` resamples of ``x`` drawn with replacement."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return rows_statistic(x[rng.integers(0, x.size, size=(resamples, x.size))])


def _percentile_interval(values: np.ndarray, confidence: float) -> np.ndarray:
    alpha = (1 - confidence) / 2
    return np.percentile(values, [100 * alpha, 100 * (1 - alpha)])


def _tolerance(values: np.ndarray, confidence: float, *resamples: int) -> np.ndarray:
    """Monte-Carlo tolerance, per endpoint, for percentile-bootstrap intervals computed from independent resamples.

    An endpoint is the q-quantile of the bootstrap distribution estimated from B resamples; its standard error is
    sqrt(q (1 - q) / B) / f(x_q) (the asymptotic SE of a sample quantile), with the density f estimated from the
    oracle's own distribution ``values`` by the quantile spacing (Q(q + h) - Q(q - h)) / 2h, h = 0.01 (the IQM's
    bootstrap distribution here is skewed, so its two tails differ). We allow 5 standard errors of the difference
    of the two estimates: a false failure is practically impossible, yet a 90% instead of a 95% interval, or the
    mean instead of the IQM on this skewed sample, would fail (both checked below).
    """
    alpha = (1 - confidence) / 2
    out = []
    for q in (alpha, 1 - alpha):
        spacing = (np.percentile(values, 100 * (q + 0.01)) - np.percentile(values, 100 * (q - 0.01))) / 0.02
        out.append(5.0 * spacing * math.sqrt(sum(q * (1 - q) / b for b in resamples)))
    return np.array(out)


@pytest.mark.parametrize(
    ("statistic", "rows_statistic"), [(iqm, _sorted_iqm), (np.mean, lambda r: r.mean(axis=1))], ids=["iqm", "mean"]
)
def test_bootstrap_ci_agrees_with_an_independent_numpy_bootstrap(statistic, rows_statistic) -> None:
    ours = np.array(bootstrap_ci(SAMPLE, statistic, 0.95, RESAMPLES, seed=1))
    values = _bootstrap_distribution(SAMPLE, rows_statistic, RESAMPLES, seed=2)
    tolerance = _tolerance(values, 0.95, RESAMPLES, RESAMPLES)
    assert np.all(np.abs(ours - _percentile_interval(values, 0.95)) < tolerance)
    assert np.any(np.abs(ours - _percentile_interval(values, 0.90)) > tolerance)  # it can tell 95% from 90%
    if statistic is iqm:
        means = _bootstrap_distribution(SAMPLE, lambda r: r.mean(axis=1), RESAMPLES, seed=2)
        assert np.any(np.abs(ours - _percentile_interval(means, 0.95)) > tolerance)  # ... and the IQM from the mean


def _import_rliable_library():
    try:
        from rliable import library
    except (ImportError, TypeError) as exc:  # rliable imports `arch`, which fails on pandas >= 3 (TypeError)
        pytest.skip(
            f"rliable.library cannot be imported here ({type(exc).__name__}: {exc}); needs arch < 8, pandas < 3"
        )
    return library


@pytest.fixture
def legacy_global_seed():
    """rliable's StratifiedBootstrap draws indices from NumPy's *global* RNG (np.random.choice); seed it for a
    deterministic test and put the state back afterwards so no other test sees the change."""
    state = np.random.get_state()  # noqa: NPY002 (the third-party oracle reads the legacy global RNG)
    np.random.seed(3)  # noqa: NPY002 (same reason)
    yield
    np.random.set_state(state)  # noqa: NPY002 (same reason)


def test_iqm_and_its_ci_agree_with_rliable(legacy_global_seed) -> None:
    library = _import_rliable_library()
    from rliable import metrics as rliable_metrics

    scores = SAMPLE.reshape(-1, 1)  # runs x tasks, one task: the stratified bootstrap is the plain bootstrap
    point, interval = library.get_interval_estimates(
        {"run": scores},
        lambda s: np.array([rliable_metrics.aggregate_iqm(s)]),
        method="percentile",
        reps=RLIABLE_RESAMPLES,
        confidence_interval_size=0.95,
    )
    assert iqm(SAMPLE) == point["run"][0]
    ours = np.array(bootstrap_ci(SAMPLE, iqm, 0.95, RESAMPLES, seed=0))
    tolerance = _tolerance(
        _bootstrap_distribution(SAMPLE, _sorted_iqm, RESAMPLES, 4), 0.95, RESAMPLES, RLIABLE_RESAMPLES
    )
    assert np.all(np.abs(ours - interval["run"][:, 0]) < tolerance)


def test_bootstrap_ci_is_seeded_and_degenerates_to_a_point() -> None:
    assert bootstrap_ci(SAMPLE, seed=7) == bootstrap_ci(SAMPLE, seed=7)
    assert bootstrap_ci(SAMPLE, seed=7) != bootstrap_ci(SAMPLE, seed=8)
    lower, upper = bootstrap_ci(SAMPLE)
    assert lower < iqm(SAMPLE) < upper
    assert bootstrap_ci([0.25]) == (0.25, 0.25)
    assert bootstrap_ci([0.25] * 5) == (0.25, 0.25)
    with pytest.raises(NotApplicableError):
        bootstrap_ci(SAMPLE, n_resamples=0)


# ------------------------------------------------------------------------------------------ seed_statistics


def _verdict(kind: Verdict, z0: float | None = None, target: int | None = None) -> SeedVerdict:
    return SeedVerdict(kind, z0, "synthetic", None, target)


def _result(verdicts: list[SeedVerdict], metric: np.ndarray) -> CriterionResult:
    z = np.arange(1, metric.shape[1] + 1) * 100.0
    return CriterionResult("joint_policy", 0.05, z, metric, "TV to nearest NE", tuple(verdicts), "NE (2)", "tv")


def test_seed_statistics_counts_rates_z0_final_and_targets() -> None:
    nan = np.nan
    metric = np.array(
        [
            [0.5, 0.04, 0.03, 0.02],
            [0.5, 0.3, 0.04, 0.01],
            [0.5, 0.04, 0.02, nan],  # ends undefined: its final value is the last defined one
            [0.5, 0.4, 0.3, 0.3],
            [0.5, 0.4, 0.2, 0.1],
            [nan, nan, nan, nan],  # not applicable, never defined
        ]
    )
    verdicts = [
        _verdict(Verdict.CONVERGED, 200.0, 1),
        _verdict(Verdict.CONVERGED, 300.0, 1),
        _verdict(Verdict.CONVERGED, 200.0, 0),
        _verdict(Verdict.NOT_CONVERGED, None, 0),
        _verdict(Verdict.INCONCLUSIVE, None, None),
        _verdict(Verdict.NOT_APPLICABLE),
    ]
    stats = seed_statistics(_result(verdicts, metric), labels=("pure A", "pure B"))
    assert (stats.n_seeds, stats.n_applicable, stats.n_converged) == (6, 5, 3)
    assert (stats.n_not_converged, stats.n_inconclusive) == (1, 1)
    assert stats.fraction == pytest.approx(3 / 5)
    assert stats.fraction_ci == wilson_interval(3, 5)
    assert stats.z0 == (200.0, 300.0, 200.0)
    assert stats.z0_median == 200.0 and stats.z0_quartiles == (200.0, 250.0)  # sorted 200, 200, 300
    np.testing.assert_array_equal(stats.final[:5], [0.02, 0.01, 0.02, 0.3, 0.1])
    assert math.isnan(stats.final[5])
    assert stats.final_iqm == pytest.approx((0.02 + 0.02 + 0.1) / 3)  # sorted 0.01 | 0.02 0.02 0.1 | 0.3
    assert stats.final_ci[0] <= stats.final_iqm <= stats.final_ci[1]
    assert stats.targets == {"pure B": 2, "pure A": 1}  # equilibrium selection among converged seeds
    assert stats.nearest == {"pure A": 2, "pure B": 2}
    assert seed_statistics(_result(verdicts, metric)).targets == {"#1": 2, "#0": 1}  # unnamed members
    payload = json.loads(json.dumps(stats.to_dict(), allow_nan=False))
    assert payload["final"][5] is None and payload["fraction"] == pytest.approx(0.6)


def test_seed_statistics_with_no_judged_seed_and_no_convergence() -> None:
    metric = np.full((2, 3), np.nan)
    stats = seed_statistics(_result([_verdict(Verdict.NOT_APPLICABLE)] * 2, metric))
    assert stats.n_applicable == 0 and math.isnan(stats.fraction) and stats.fraction_ci == (0.0, 1.0)
    assert stats.final_iqm is None and stats.final_ci is None and stats.z0_median is None
    assert json.loads(json.dumps(stats.to_dict(), allow_nan=False))["fraction"] is None

    none = seed_statistics(_result([_verdict(Verdict.NOT_CONVERGED, None, 0)] * 4, np.ones((4, 3))))
    assert none.fraction == 0.0 and none.fraction_ci[0] == 0.0 and none.z0 == () and none.z0_quartiles is None
    assert none.final_ci == (1.0, 1.0) and none.targets == {} and none.nearest == {"#0": 4}


def test_last_finite() -> None:
    nan = np.nan
    got = last_finite(np.array([[1.0, 2.0, nan], [nan, nan, nan], [nan, 5.0, 6.0]]))
    np.testing.assert_array_equal(got, [2.0, nan, 6.0])
