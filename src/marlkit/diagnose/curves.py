"""Learning curves across seeds: the interquartile mean with a percentile-bootstrap band at every logging point.

Following Agarwal et al. (2021, "Deep RL at the edge of the statistical precipice", §4), a curve over seeds is
summarised by its IQM (:func:`marlkit.diagnose.seeds.iqm`: the mean of the middle 50% of the seeds) and a 95%
percentile-bootstrap interval over seeds (:func:`marlkit.diagnose.seeds.bootstrap_ci`), point by point; a point
where a seed has no value (a window in which no episode ended) uses the seeds that have one, and is a gap where
none has. The pictures: :func:`plot_returns` (the team return: the mean episode return over agents),
:func:`plot_learner_metrics` (the learners' own metrics — losses, entropy, KL, ... — and, on a constrained run, the
episode cost of every constraint).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from marlkit.diagnose.plots import learner_title, save_figure
from marlkit.diagnose.seeds import bootstrap_ci, iqm

CURVE_RESAMPLES = 1000
"""Bootstrap resamples per logging point of a curve (a curve has ~100 points; the final value uses 2,000)."""

MAX_PANELS = 9
"""At most this many metric panels in one picture (3 x 3); the rest are in ``history.npz``."""


def iqm_curve(
    values: np.ndarray, confidence: float = 0.95, start: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``values [N, T]`` (seeds x logging points) -> ``(iqm, low, high)``, each ``[T]``: the IQM over the seeds
    with a finite value at each point and its percentile-bootstrap interval; NaN where no seed has a value.

    ``start``: the logging point of the first column (point ``t``'s bootstrap is seeded with ``t``), so a curve
    extended a few points at a time (the web app's live page) gets the numbers of the whole curve at once."""
    values = np.asarray(values, dtype=np.float64)
    centre, low, high = (np.full(values.shape[1], np.nan) for _ in range(3))
    for t in range(values.shape[1]):
        finite = values[np.isfinite(values[:, t]), t]
        if finite.size:
            centre[t] = iqm(finite)
            low[t], high[t] = bootstrap_ci(finite, confidence=confidence, n_resamples=CURVE_RESAMPLES, seed=start + t)
    return centre, low, high


def final_return(history: Any, confidence: float = 0.95) -> tuple[float, float, float, int] | None:
    """The run's final team return: each seed's mean episode return over agents at its last logging point that
    finished an episode, summarised as ``(iqm, low, high, seeds)`` (a 2,000-resample bootstrap); None when no seed
    finished an episode."""
    team = history.team_return()
    finals = []
    for row in team:
        finished = np.flatnonzero(np.isfinite(row))
        if finished.size:
            finals.append(float(row[finished[-1]]))
    if not finals:
        return None
    low, high = bootstrap_ci(finals, confidence=confidence)
    return iqm(finals), low, high, len(finals)


def plot_returns(history: Any, path: str | os.PathLike) -> Path:
    """Learning curves of a run: the mean episode return over agents at each logging point (``history.steps``
    env steps), one thin line per seed, the IQM across seeds and its 95% bootstrap band.

    Raises:
        ValueError: no episode finished in any logging window.
    """
    team = history.team_return() if history.num_logs else None
    if team is None or not np.isfinite(team).any():
        raise ValueError("plot_returns: no episode finished in any logging window")
    steps = np.asarray(history.steps, float)
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    for row in team:
        ax.plot(steps, row, color="#999999", lw=0.7, alpha=0.6)
    _band(ax, steps, team, "#1b9e77", f"IQM of {team.shape[0]} seeds, 95% bootstrap band")
    ax.set_xlabel("env steps per seed")
    ax.set_ylabel("episode return (mean over agents)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, framealpha=0.85)
    fig.suptitle(f"Learning curves: {learner_title(history) or 'learners'}", fontsize=11)
    return save_figure(fig, path)


def metric_curves(history: Any) -> dict[str, np.ndarray]:
    """The curves :func:`plot_learner_metrics` draws, ``name -> [N, T]``: each learner metric averaged over the
    agents that report it, and on a constrained run ``episode cost <j>`` (mean over agents) per constraint."""
    curves: dict[str, np.ndarray] = {}
    for name, value in history.metrics.items():
        value = np.asarray(value, dtype=np.float64)
        if np.isfinite(value).any():
            curves[name] = _mean_over_agents(value)
    episode_cost = getattr(history, "episode_cost", None)
    if episode_cost is not None:
        cost = np.asarray(episode_cost, dtype=np.float64)  # [N, T, n, m]
        for j in range(cost.shape[-1]):
            curves[f"episode cost {j}"] = _mean_over_agents(cost[..., j])
    return curves


def plot_learner_metrics(history: Any, path: str | os.PathLike) -> Path:
    """The learners' metrics over training (:func:`metric_curves`), one panel each (at most :data:`MAX_PANELS`),
    IQM across seeds with its 95% bootstrap band.

    Raises:
        ValueError: the run recorded no learner metric and no cost.
    """
    curves = metric_curves(history)
    if not curves:
        raise ValueError("plot_learner_metrics: the run recorded no learner metric and no cost")
    names = list(curves)[:MAX_PANELS]
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    fig = Figure(figsize=(3.2 * columns, 2.4 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    steps = np.asarray(history.steps, float)
    for ax, name in zip(axes, names, strict=False):
        _band(ax, steps, curves[name], "#7570b3" if not name.startswith("episode cost") else "#d95f02", None)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"Learner metrics (IQM of {history.n_seeds} seeds, 95% band) vs env steps", fontsize=10)
    return save_figure(fig, path)


def _mean_over_agents(value: np.ndarray) -> np.ndarray:
    """``[N, T, n] -> [N, T]``: the mean over the agents with a finite value (NaN where none has one)."""
    finite = np.isfinite(value)
    total = np.where(finite, value, 0.0).sum(axis=-1)
    count = finite.sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _band(ax: Any, steps: np.ndarray, values: np.ndarray, colour: str, label: str | None) -> None:
    centre, low, high = iqm_curve(values)
    ax.fill_between(steps, low, high, color=colour, alpha=0.2, lw=0)
    ax.plot(steps, centre, color=colour, lw=2, label=label)


__all__ = [
    "CURVE_RESAMPLES",
    "MAX_PANELS",
    "final_return",
    "iqm_curve",
    "metric_curves",
    "plot_learner_metrics",
    "plot_returns",
]
