"""Learning curves across seeds: IQM with a percentile-bootstrap band per logging point (Agarwal et al. 2021)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from marlkit.diagnose.curves import CURVE_RESAMPLES, final_return, iqm_curve, metric_curves
from marlkit.diagnose.seeds import bootstrap_ci, iqm


def test_iqm_curve_uses_the_seeds_with_a_value_and_leaves_gaps() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(6, 4))
    values[2, 1] = np.nan  # seed 2 finished no episode at point 1
    values[:, 3] = np.nan  # no seed did at point 3
    centre, low, high = iqm_curve(values)
    for t in (0, 2):
        assert centre[t] == pytest.approx(iqm(values[:, t]))
        assert (low[t], high[t]) == pytest.approx(bootstrap_ci(values[:, t], n_resamples=CURVE_RESAMPLES, seed=t))
    kept = np.delete(values[:, 1], 2)
    assert centre[1] == pytest.approx(iqm(kept)) and low[1] <= centre[1] <= high[1]
    assert np.isnan([centre[3], low[3], high[3]]).all()


def test_final_return_takes_each_seeds_last_finished_window() -> None:
    returns = np.array([[[1.0, 3.0], [5.0, 7.0]], [[2.0, 2.0], [np.nan, np.nan]], [[np.nan] * 2, [np.nan] * 2]])
    history = SimpleNamespace(team_return=lambda: _team(returns))
    got = final_return(history)
    assert got is not None
    assert got[0] == pytest.approx(iqm([6.0, 2.0])) and got[3] == 2  # seed 2 never finished one: left out
    assert final_return(SimpleNamespace(team_return=lambda: np.full((2, 3), np.nan))) is None


def _team(returns: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return returns.mean(axis=-1)


def test_metric_curves_average_over_the_agents_that_report() -> None:
    loss = np.array([[[1.0, 3.0, np.nan]], [[np.nan, np.nan, np.nan]]])  # [N=2, T=1, n=3]
    cost = np.ones((2, 1, 3, 2)) * np.array([0.5, 2.0])
    history = SimpleNamespace(metrics={"loss": loss, "never": np.full((2, 1, 3), np.nan)}, episode_cost=cost)
    curves = metric_curves(history)
    assert list(curves) == ["loss", "episode cost 0", "episode cost 1"]  # an all-NaN metric is left out
    assert curves["loss"][0, 0] == 2.0 and np.isnan(curves["loss"][1, 0])
    assert curves["episode cost 1"].tolist() == [[2.0], [2.0]]
