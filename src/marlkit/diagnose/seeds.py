"""Statistics across seeds: how often a criterion converged, when, to what, and how good the end was.

One run of a learner is one draw; what a user can trust is the distribution over seeds. For one criterion
(a :class:`~marlkit.diagnose.results.CriterionResult`) this module reports

* the **fraction of seeds converged** with a Wilson score interval (Wilson 1927, "Probable inference, the law of
  succession, and statistical inference", JASA 22(158):209-212) — unlike the normal-approximation ("Wald")
  interval it stays inside [0, 1] and does not collapse to a point at 0 or n successes;
* the **distribution of z0** over the converged seeds (median and quartiles);
* the **final metric** aggregated by the interquartile mean (IQM) with a percentile-bootstrap confidence
  interval, as recommended by Agarwal, Schwarzer, Castro, Courville & Bellemare (2021), "Deep reinforcement
  learning at the edge of the statistical precipice", NeurIPS, §4 and §A.  Their ``rliable`` package computes a
  *stratified* bootstrap (resample runs within each task); a criterion on one game is one task, i.e. one stratum,
  so the stratified bootstrap is the plain bootstrap over seeds, which we take from :func:`scipy.stats.bootstrap`
  with the percentile method (rliable's default);
* **equilibrium selection**: how many converged seeds ended at each member of the solution set.

Verdicts of ``not applicable`` are left out of every count (a criterion that does not apply to a seed is neither
a success nor a failure); ``n_seeds`` counts all seeds, ``n_applicable`` those that were judged.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from marlkit.diagnose.results import CriterionResult, Verdict
from marlkit.errors import NotApplicableError

IQM_TRIM = 0.25
"""Fraction cut from each end for the IQM: the mean of the middle 50% (Agarwal et al. 2021, §4)."""


def _check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise NotApplicableError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence}")
    return confidence


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion: ``k`` successes in ``n`` trials.

    With z the two-sided normal quantile of ``confidence`` and p̂ = k/n (Wilson 1927, eq. for the "score"
    interval; Brown, Cai & DasGupta 2001, Statist. Sci. 16(2), eq. 4):

        centre = (k + z²/2) / (n + z²),   half-width = z / (n + z²) · sqrt(k (n - k) / n + z²/4).

    The bounds are exact at the edges: the lower bound is 0 when k = 0 and the upper bound is 1 when k = n (the
    formula gives these analytically; floating point could miss them by an ulp, so they are set exactly).

    Raises:
        NotApplicableError: n < 1, k outside [0, n], non-integer counts, or confidence outside (0, 1).
    """
    if int(k) != k or int(n) != n:
        raise NotApplicableError(f"wilson_interval: counts must be integers, got k={k}, n={n}")
    k, n = int(k), int(n)
    if n < 1:
        raise NotApplicableError("wilson_interval: needs at least one trial (n >= 1); with no seeds there is no rate")
    if not 0 <= k <= n:
        raise NotApplicableError(f"wilson_interval: k={k} successes is not within 0..n={n}")
    z = float(special.ndtri(0.5 + _check_confidence(confidence) / 2.0))
    z2 = z * z
    centre = (k + z2 / 2.0) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4.0)
    lower = 0.0 if k == 0 else max(0.0, centre - half)
    upper = 1.0 if k == n else min(1.0, centre + half)
    return lower, upper


def _finite_sample(x: np.ndarray | Sequence[float], what: str) -> np.ndarray:
    values = np.asarray(x, dtype=np.float64).ravel()
    if values.size == 0:
        raise NotApplicableError(f"{what}: no values (give at least one seed's number)")
    if not np.all(np.isfinite(values)):
        raise NotApplicableError(f"{what}: values must be finite; drop NaN/inf seeds first (got {values.tolist()})")
    return values


def iqm(x: np.ndarray | Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% of the values (all axes pooled).

    Defined as in rliable (Agarwal et al. 2021, §4; ``rliable.metrics.aggregate_iqm``): SciPy's
    ``trim_mean(x, 0.25)``, which sorts the values and drops ``floor(0.25 · len)`` from each end — so for fewer
    than 4 values nothing is dropped and the IQM is the plain mean.

    Raises:
        NotApplicableError: no values, or a NaN/inf among them.
    """
    return float(stats.trim_mean(_finite_sample(x, "iqm"), IQM_TRIM))


def _vectorised(statistic: Callable[[np.ndarray], float]) -> Callable[..., np.ndarray]:
    """The statistic in the form ``scipy.stats.bootstrap`` vectorises: ``f(sample, axis) -> array``."""
    if statistic is iqm:
        return lambda sample, axis: stats.trim_mean(sample, IQM_TRIM, axis=axis)
    return lambda sample, axis: np.apply_along_axis(statistic, axis, sample)


def bootstrap_ci(
    x: np.ndarray | Sequence[float],
    statistic: Callable[[np.ndarray], float] = iqm,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``statistic`` over the values ``x`` (one per seed).

    Resamples the seeds with replacement ``n_resamples`` times (Efron & Tibshirani 1993, *An Introduction to the
    Bootstrap*, §13.3, percentile interval) through :func:`scipy.stats.bootstrap` with ``method="percentile"``, as
    rliable does for one task (see the module docstring). ``seed`` makes it reproducible (a NumPy Generator is
    spawned from it; no global RNG). When all values are equal (including a single seed) every resample gives the
    same statistic and the interval is that point.

    Raises:
        NotApplicableError: no values, a NaN/inf among them, bad confidence or n_resamples.
    """
    values = _finite_sample(x, "bootstrap_ci")
    confidence = _check_confidence(confidence)
    if int(n_resamples) != n_resamples or n_resamples < 1:
        raise NotApplicableError(f"bootstrap_ci: n_resamples must be a positive integer, got {n_resamples}")
    if np.all(values == values[0]):
        point = float(statistic(values))
        return point, point
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(np.random.SeedSequence(seed))
    result = stats.bootstrap(
        (values,),
        _vectorised(statistic),
        vectorized=True,
        n_resamples=int(n_resamples),
        confidence_level=confidence,
        method="percentile",
        rng=rng,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _none_if_nan(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


@dataclass(frozen=True)
class SeedStatistics:
    """One criterion across seeds (see the module docstring for what each number means).

    ``fraction`` = n_converged / n_applicable with its Wilson interval ``fraction_ci`` (NaN and (0, 1) when no
    seed was judged); ``z0`` the converged seeds' z0 in seed order, ``z0_median`` and ``z0_quartiles`` (25th,
    75th percentile, linear interpolation) over them (None when none converged); ``final`` each seed's last
    finite metric value (NaN where the metric never had one), ``final_iqm`` and ``final_ci`` their IQM and its
    bootstrap interval over the seeds with a value; ``targets`` how many *converged* seeds ended at each
    solution-set member (equilibrium selection), ``nearest`` the same over every seed that names a member (where
    the run ended nearest, converged or not).
    """

    criterion: str
    metric_name: str
    eps: float
    confidence: float
    n_seeds: int
    n_applicable: int
    n_converged: int
    n_not_converged: int
    n_inconclusive: int
    fraction: float
    fraction_ci: tuple[float, float]
    z0: tuple[float, ...]
    z0_median: float | None
    z0_quartiles: tuple[float, float] | None
    final: tuple[float, ...]
    final_iqm: float | None
    final_ci: tuple[float, float] | None
    targets: dict[str, int]
    nearest: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (NaN becomes None)."""
        return {
            "criterion": self.criterion,
            "metric_name": self.metric_name,
            "eps": float(self.eps),
            "confidence": float(self.confidence),
            "n_seeds": self.n_seeds,
            "n_applicable": self.n_applicable,
            "n_converged": self.n_converged,
            "n_not_converged": self.n_not_converged,
            "n_inconclusive": self.n_inconclusive,
            "fraction": _none_if_nan(self.fraction),
            "fraction_ci": list(self.fraction_ci),
            "z0": list(self.z0),
            "z0_median": self.z0_median,
            "z0_quartiles": None if self.z0_quartiles is None else list(self.z0_quartiles),
            "final": [_none_if_nan(v) for v in self.final],
            "final_iqm": self.final_iqm,
            "final_ci": None if self.final_ci is None else list(self.final_ci),
            "targets": dict(self.targets),
            "nearest": dict(self.nearest),
        }


TWO_STAGE_RESAMPLES = 2000
TWO_STAGE_CONFIDENCE = 0.95
"""Resamples and level of :func:`two_stage_interval`."""


def two_stage_interval(
    x: np.ndarray, statistic: Any = np.mean, resamples: int = TWO_STAGE_RESAMPLES, seed: int = 0
) -> list[float]:
    """The 95% percentile interval of ``statistic`` over seed means of ``x [N seeds, E episodes]``, by a two-stage
    bootstrap: seeds resampled with replacement, then each drawn seed's episodes (the cross-play table's and the
    hand-over simulation's intervals; docs/human.md)."""
    x = np.asarray(x, np.float64)
    N, E = x.shape
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, N, size=(resamples, N))
    episodes = rng.integers(0, E, size=(resamples, N, E))
    means = x[seeds[..., None], episodes].mean(axis=-1)  # [B, N]
    if statistic is np.mean:
        values = means.mean(axis=1)
    elif statistic is iqm:  # marlkit's IQM is trim_mean(x, 0.25) (:func:`iqm`), here over each resample
        values = stats.trim_mean(means, IQM_TRIM, axis=1)
    else:
        values = np.asarray([statistic(row) for row in means])
    alpha = (1 - TWO_STAGE_CONFIDENCE) / 2
    return [float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))]


def cell_statistics(returns: np.ndarray) -> dict[str, Any]:
    """``{"mean", "mean_ci", "iqm", "iqm_ci", "seed_means"}`` of a cell's team returns ``[N seeds, E episodes]``."""
    x = np.asarray(returns, np.float64)
    means = x.mean(axis=1)
    return {
        "mean": float(means.mean()),
        "mean_ci": two_stage_interval(x),
        "iqm": float(iqm(means)),
        "iqm_ci": two_stage_interval(x, iqm),
        "seed_means": means.tolist(),
    }


def last_finite(metric: np.ndarray) -> np.ndarray:
    """Each row's last finite value, ``[N, T] -> [N]`` (NaN for a row with none)."""
    metric = np.asarray(metric, dtype=np.float64)
    finite = np.isfinite(metric)
    last = metric.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)
    values = metric[np.arange(metric.shape[0]), last]
    return np.where(finite.any(axis=1), values, np.nan)


def member_label(index: int, labels: Sequence[str]) -> str:
    """The name of solution-set member ``index``: ``labels[index]`` when given, else ``"#index"``."""
    return labels[index] if 0 <= index < len(labels) else f"#{index}"


def _count_members(indices: Sequence[int | None], labels: Sequence[str]) -> dict[str, int]:
    counts = Counter(member_label(i, labels) for i in indices if i is not None and i >= 0)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def seed_statistics(
    result: CriterionResult,
    labels: Sequence[str] = (),
    confidence: float = 0.95,
    *,
    n_resamples: int = 2000,
    seed: int = 0,
) -> SeedStatistics:
    """Summarise one criterion's verdicts and metric over seeds (see :class:`SeedStatistics`).

    ``labels`` name the solution-set members (``SolutionSet.labels``) for the target counts; ``seed`` seeds the
    bootstrap of the final-metric IQM.
    """
    confidence = _check_confidence(confidence)
    verdicts = result.verdicts
    by_kind = Counter(v.verdict for v in verdicts)
    applicable = len(verdicts) - by_kind[Verdict.NOT_APPLICABLE]
    converged = [v for v in verdicts if v.verdict is Verdict.CONVERGED]
    if applicable:
        fraction, fraction_ci = len(converged) / applicable, wilson_interval(len(converged), applicable, confidence)
    else:
        fraction, fraction_ci = math.nan, (0.0, 1.0)
    z0 = np.array([v.z0 for v in converged if v.z0 is not None], dtype=np.float64)
    final = last_finite(np.atleast_2d(result.metric))
    finite_final = final[np.isfinite(final)]
    has_final = finite_final.size > 0
    quartiles = np.percentile(z0, [25, 75]) if z0.size else None
    return SeedStatistics(
        criterion=result.criterion,
        metric_name=result.metric_name,
        eps=float(result.eps),
        confidence=confidence,
        n_seeds=len(verdicts),
        n_applicable=applicable,
        n_converged=len(converged),
        n_not_converged=by_kind[Verdict.NOT_CONVERGED],
        n_inconclusive=by_kind[Verdict.INCONCLUSIVE],
        fraction=fraction,
        fraction_ci=fraction_ci,
        z0=tuple(float(v) for v in z0),
        z0_median=float(np.median(z0)) if z0.size else None,
        z0_quartiles=None if quartiles is None else (float(quartiles[0]), float(quartiles[1])),
        final=tuple(float(v) for v in final),
        final_iqm=iqm(finite_final) if has_final else None,
        final_ci=bootstrap_ci(finite_final, iqm, confidence, n_resamples, seed) if has_final else None,
        targets=_count_members([v.target for v in converged], labels),
        nearest=_count_members([v.target for v in verdicts], labels),
    )


__all__ = [
    "IQM_TRIM",
    "TWO_STAGE_CONFIDENCE",
    "TWO_STAGE_RESAMPLES",
    "SeedStatistics",
    "bootstrap_ci",
    "cell_statistics",
    "iqm",
    "last_finite",
    "member_label",
    "seed_statistics",
    "two_stage_interval",
    "wilson_interval",
]
