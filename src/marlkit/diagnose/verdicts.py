"""Verdicts on a finite metric curve: converged (from when), not converged, or inconclusive.

Every convergence criterion of Albrecht, Christianos & Schäfer (2024), *Multi-Agent Reinforcement Learning*, §5.2,
is a limit: "for every eps there is a z0 such that for all z > z0 the metric is below eps" (criterion 5 states it
in that form; 1-4 and 6 are the same statement about a distance or a return gap). A finite run cannot prove a
limit, so :func:`judge` reads the recorded curve ``metric(z)`` at the logging points and says what the run
*supports*, with the evidence beside it (:class:`~marlkit.diagnose.results.TailEvidence`). The rule, in words, is
:data:`VERDICT_RULE`; its parts:

* **z0** is the first logging point from which every later defined value is strictly below eps ("d < eps", as in
  the definition). It lies on the logging grid: the metric crossed eps somewhere in the window ending at z0.
* **The stay** is ``z_end - z0`` (0 when only the last point is below). A run is *converged* only if the stay
  covers at least ``min_stay`` of the logged span ``z[-1] - z[0]``, is longer than any earlier stay below eps
  that ended (otherwise the run has shown stays like it end), and the tail is not rising out of the band.
* **The trend** is a least-squares line through the tail window (the last ``tail`` fraction of the logged span, at
  least 3 points). Its slope is *significant* when the t-statistic ``slope / SE(slope)`` exceeds
  :data:`TREND_T` in size; the residual standard deviation is the fluctuation.
* **Inconclusive**: below eps but the stay is short (first entry into the band, or longer than any earlier stay),
  or the tail is rising significantly and its line reaches eps within one more tail length; above eps but falling
  significantly, at the lowest level of the run so far (the tail's fitted end is no higher than the lowest value
  before the tail plus twice the fluctuation) *and* fast enough that the trend line reaches eps within
  :data:`HORIZON` more run lengths — still approaching; the last point undefined (NaN), or the tail too sparsely
  defined to fit a trend.
* **Not converged**: above eps at the end and not approaching it (flat, rising, falling only back to levels it had
  already reached and left — a cycle, not progress — or falling too slowly to reach eps within another run); or
  back below eps only briefly after earlier stays at least as long that ended (oscillation across eps).

Failure modes (read the evidence, not only the verdict):

* **Late dips.** A metric that dips below eps for ``min_stay`` of the run and would leave again after the run ends
  is called converged; nothing inside the run can tell. Longer runs and a larger ``min_stay`` make this rarer.
* **Slow convergence.** A metric still falling at the end is *inconclusive* even if it would reach eps later; one
  falling so slowly that its trend line needs more than another run to reach eps, or whose fall over the tail is
  within its fluctuation, reads as *not converged* (within this run). A line underestimates how long a
  decelerating (e.g. 1/sqrt(z)) fall takes and overestimates an accelerating one. The slope (per 1,000 z) and the
  fluctuation are reported so that a user can extrapolate.
* **Noise near eps.** One excursion above eps resets z0 and a single noisy point at the end turns converged into
  not converged; choose eps above the metric's noise floor (compare eps with the reported fluctuation).
* **Logging granularity.** z0 is only known to the logging grid, and a metric that leaves the band and returns
  between two logging points is not seen leaving. Fine logging makes z0 and the crossing count more faithful.
* **Autocorrelation.** The t-test treats tail residuals as independent; learning curves are autocorrelated, so
  slopes are called significant more often than the nominal level says. The test guards against calling pure
  noise a trend, not against a slow drift.
* **Cycles longer than the run.** The "lowest level so far" test recognises a cycle only after the metric has
  been low and left; a falling phase of the first cycle reads as inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from marlkit.diagnose.results import SeedVerdict, TailEvidence, Verdict
from marlkit.errors import MarlkitError

TREND_T = 2.0
"""|t| of the tail's least-squares slope above which the trend counts as real (about 95% for independent noise)."""

HORIZON = 1.0
"""A metric above eps counts as still approaching only if its tail's trend line reaches eps within this many more
run lengths (``z[-1] - z[0]``); slower falls are judged not converged within the run."""

MIN_TAIL_POINTS = 3
"""Fewest defined points a tail window needs for a line and a residual (one degree of freedom)."""

_FLAT = 1e-12
"""A change over the tail window below this (relative to the metric's scale) is no change: constant curves have
slope 0, not a t-statistic of rounding noise."""

VERDICT_RULE = (
    "z0 is the first logging point from which the metric stays strictly below eps to the end (NaN points are "
    "skipped). Converged: it is below eps at the end, the stay z_end - z0 covers at least min_stay of the logged "
    "span, is longer than every earlier stay below eps that ended, and a least-squares line through the tail "
    "window (the last `tail` of the span) is not rising significantly (|t| > 2) toward eps within one more tail "
    "length. Inconclusive: below eps but the stay is short or the tail is rising out of the band; above eps but "
    "falling significantly, at the lowest level of the run so far, and on a trend line that reaches eps within "
    "another run length (still approaching); the last point undefined or the tail too sparsely defined. Not "
    "converged: above eps and not approaching it (flat, rising, falling back to levels already reached and left, "
    "or too slowly to reach eps within another run), or back below eps only briefly after earlier stays at least "
    "as long ended (oscillation)."
)


@dataclass(frozen=True)
class _Trend:
    """The tail window's least-squares line: slope per z unit, t-statistic, residual std, fitted end value."""

    start: float
    slope: float
    t: float
    fluctuation: float
    fit_end: float
    length: float


def _check(z: np.ndarray, metric: np.ndarray, eps: float, min_stay: float, tail: float) -> tuple[np.ndarray, ...]:
    z = np.asarray(z, dtype=np.float64)
    metric = np.asarray(metric, dtype=np.float64)
    if z.ndim != 1 or z.size == 0 or metric.shape != z.shape:
        raise MarlkitError(
            f"judge: expected z [T] and metric [T] of one length T >= 1, got shapes {z.shape} and {metric.shape}"
        )
    if not np.all(np.isfinite(z)) or np.any(np.diff(z) <= 0):
        raise MarlkitError("judge: z must be finite and strictly increasing (the logging points of one run)")
    if np.any(np.isinf(metric)):
        raise MarlkitError("judge: metric has inf values; use NaN for points where the metric is undefined")
    if not (isinstance(eps, int | float | np.floating | np.integer) and math.isfinite(eps) and eps > 0):
        raise MarlkitError(f"judge: eps must be a finite number > 0, got {eps!r}")
    if not 0.0 <= min_stay <= 1.0 or not 0.0 < tail <= 1.0:
        raise MarlkitError(f"judge: need 0 <= min_stay <= 1 and 0 < tail <= 1, got min_stay={min_stay}, tail={tail}")
    return z, metric


def _tail_trend(z: np.ndarray, metric: np.ndarray, tail: float) -> _Trend | None:
    """Fit a line to the tail window (None when it has too few defined points to fit one honestly)."""
    span = z[-1] - z[0]
    inside = z >= z[-1] - tail * span
    if np.count_nonzero(inside) < MIN_TAIL_POINTS:
        inside = np.arange(z.size) >= z.size - MIN_TAIL_POINTS
    defined = inside & ~np.isnan(metric)
    k = int(np.count_nonzero(defined))
    if k < MIN_TAIL_POINTS or 2 * k < np.count_nonzero(inside):
        return None
    x, y = z[defined], metric[defined]
    dx = x - x.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ (y - y.mean())) / sxx
    length = float(x[-1] - x[0])
    if abs(slope * length) <= _FLAT * max(1.0, float(np.abs(y).max())):
        slope = 0.0
    residual = y - (y.mean() + slope * dx)
    ssr = float(residual @ residual)
    se = math.sqrt(ssr / (k - 2) / sxx) if k > 2 else math.inf
    if slope == 0.0:
        t = 0.0
    elif se == 0.0:
        t = math.copysign(math.inf, slope)
    else:
        t = slope / se
    return _Trend(
        start=float(z[inside][0]),
        slope=slope,
        t=t,
        fluctuation=math.sqrt(ssr / k),
        fit_end=float(y.mean() + slope * (z[-1] - x.mean())),
        length=length,
    )


def _runs_below(z: np.ndarray, below: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of consecutive defined points below eps, as (first, last) indices."""
    runs, start = [], None
    for i, flag in enumerate(below):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(below) - 1))
    return runs


def judge(
    z: np.ndarray,
    metric: np.ndarray,
    eps: float,
    *,
    min_stay: float = 0.2,
    tail: float = 0.25,
) -> SeedVerdict:
    """The verdict on one seed's metric curve at one eps (the rule: :data:`VERDICT_RULE` and the module docstring).

    Args:
        z: logging points ``[T]``, strictly increasing (environment steps or updates).
        metric: the criterion's metric ``[T]`` (a distance or a gap; smaller is closer), NaN where undefined.
        eps: the band: converged means the metric stays strictly below eps.
        min_stay: the fraction of the logged span ``z[-1] - z[0]`` the final stay below eps must cover.
        tail: the fraction of the logged span whose points the trend is fitted on.

    Returns:
        A :class:`~marlkit.diagnose.results.SeedVerdict` with ``target=None`` (the caller knows the solution set).

    Raises:
        MarlkitError: mismatched or non-increasing ``z``, inf in ``metric``, eps <= 0, or fractions outside [0, 1].
    """
    z, metric = _check(z, metric, eps, min_stay, tail)
    defined = ~np.isnan(metric)
    if not defined.any():
        return SeedVerdict(Verdict.INCONCLUSIVE, None, "the metric is undefined (NaN) at every logging point", None)
    zd, md = z[defined], metric[defined]
    below = md < eps
    runs = _runs_below(zd, below)
    crossings = int(np.count_nonzero(below[1:] != below[:-1]))
    span = float(z[-1] - z[0])
    ends_below = bool(below[-1]) and bool(defined[-1])
    current = runs[-1] if ends_below else None
    stayed_for = float(z[-1] - zd[current[0]]) if current else 0.0
    stayed_fraction = stayed_for / span if span > 0 else 0.0
    trend = _tail_trend(z, metric, tail)
    evidence = TailEvidence(
        stayed_for=stayed_for,
        stayed_fraction=stayed_fraction,
        slope=math.nan if trend is None else trend.slope * 1000.0,
        fluctuation=math.nan if trend is None else trend.fluctuation,
        final=float(md[-1]),
        tail_start=math.nan if trend is None else trend.start,
        crossings=crossings,
    )

    def verdict(kind: Verdict, reason: str, z0: float | None = None) -> SeedVerdict:
        return SeedVerdict(kind, z0, reason, evidence)

    if not defined[-1]:
        return verdict(Verdict.INCONCLUSIVE, f"the metric is undefined (NaN) at the last logging point z={z[-1]:g}")
    if trend is None:
        return verdict(
            Verdict.INCONCLUSIVE,
            "too few defined points in the tail window to judge a trend; log more often or run longer",
        )
    ended = [float(zd[b] - zd[a]) for a, b in (runs[:-1] if current else runs)]
    longest_ended = max(ended, default=-math.inf)
    if current is not None:
        z0 = float(zd[current[0]])
        if stayed_for <= longest_ended:
            kind = Verdict.NOT_CONVERGED if stayed_fraction < min_stay else Verdict.INCONCLUSIVE
            return verdict(
                kind,
                f"below eps since z={z0:g}, but an earlier stay below eps of {longest_ended:g} ended "
                f"({crossings} crossings of eps): oscillating across eps",
            )
        if stayed_fraction < min_stay:
            return verdict(
                Verdict.INCONCLUSIVE,
                f"only just below eps: since z={z0:g}, {stayed_fraction:.0%} of the run (needs {min_stay:.0%})",
            )
        projected = trend.fit_end + trend.slope * trend.length
        if trend.t > TREND_T and projected >= eps:
            return verdict(
                Verdict.INCONCLUSIVE,
                f"below eps since z={z0:g}, but the tail is rising and its trend reaches eps within one more "
                f"tail length (projected {projected:.3g})",
            )
        return verdict(
            Verdict.CONVERGED,
            f"below eps since z={z0:g} ({stayed_fraction:.0%} of the run), tail not rising out of the band",
            z0,
        )
    before = md[zd < trend.start]
    lowest_before = float(before.min()) if before.size else math.inf
    falling = trend.t < -TREND_T
    at_lowest = trend.fit_end <= lowest_before + 2.0 * trend.fluctuation
    reaches = z[-1] + (trend.fit_end - eps) / -trend.slope if trend.slope < 0 else math.inf
    if falling and at_lowest and reaches - z[-1] <= HORIZON * span:
        return verdict(
            Verdict.INCONCLUSIVE,
            f"above eps at the end ({md[-1]:.3g}) but still falling toward it at its lowest level so far "
            f"(slope {trend.slope * 1000:.3g} per 1,000 z; its trend line reaches eps near z={reaches:.3g})",
        )
    if runs:
        reason = f"ends above eps ({md[-1]:.3g}) after {crossings} crossings of eps: it left the band"
    elif falling and not at_lowest:
        reason = (
            f"above eps throughout; the tail falls, but only back to levels already reached and left "
            f"(lowest before the tail {lowest_before:.3g}, final {md[-1]:.3g}): a cycle, not progress"
        )
    elif falling:
        reason = (
            f"above eps throughout and falling too slowly to reach it within another run of this length "
            f"(final {md[-1]:.3g}, slope {trend.slope * 1000:.3g} per 1,000 z; trend line reaches eps near "
            f"z={reaches:.3g})"
        )
    else:
        reason = (
            f"above eps throughout and not falling toward it (final {md[-1]:.3g}, "
            f"slope {trend.slope * 1000:.3g} per 1,000 z, t={trend.t:.2g})"
        )
    return verdict(Verdict.NOT_CONVERGED, reason)


__all__ = ["HORIZON", "MIN_TAIL_POINTS", "TREND_T", "VERDICT_RULE", "judge"]
