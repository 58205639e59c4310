"""Fixtures shared by the run tests (tabular and deep)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import pytest

from marlkit.experiment import runner


@pytest.fixture
def skip_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """The convergence report (diagnosis, plots, report.html: seconds per run) is checked once, on each module's
    reference run; the runs resumed in the other tests skip it through the runner's hook."""
    monkeypatch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)


@pytest.fixture(scope="session")
def small_study_grid() -> type:
    """The default study's config class with a small grid (2x2 games, IQL and minimax-q — skipped on both, so 2 cells
    train — 1000 steps logged every 10, 2 seeds: the shapes test_study.py and test_sweep.py compile). Patch
    ``marlkit.experiment.study.StudyConfig`` with it and ``marlkit run`` without a config runs it."""
    from dataclasses import dataclass

    from marlkit.experiment.study import StudyConfig

    @dataclass(frozen=True)
    class SmallStudy(StudyConfig):
        games: tuple[str, ...] = ("stag-hunt", "prisoners-dilemma")
        learners: tuple[str, ...] = ("iql", "minimax-q")
        steps: int = 1000
        log_every: int = 10
        seeds: int = 2

    return SmallStudy


class PoisonedPlan:
    """A plan whose records get NaN in ``reward_mean`` of seed index 1, agent 0, at logging window ``bad`` (a
    learner diverging there), the rest as the plan computes it."""

    def __init__(self, plan: Any, bad: int) -> None:
        self.plan, self.bad = plan, bad

    def __getattr__(self, name: str) -> Any:
        return getattr(self.plan, name)

    def advance(self, state: Any, first: int, count: int) -> tuple[Any, Any]:
        state, records = self.plan.advance(state, first, count)
        records = jax.tree_util.tree_map(np.array, records)
        if first <= self.bad < first + count:
            records.reward_mean[1, self.bad - first, 0] = np.nan
        return state, records


@pytest.fixture(scope="session")
def poisoned_plan_for() -> Callable[[int], Callable[..., tuple[Any, Any]]]:
    r"""``poisoned_plan_for(bad)``: a stand-in for ``runner.plan_for`` whose plans are :class:`PoisonedPlan`\ s
    (patch the runner with it to stop a run at window ``bad`` with the NaN / inf guard)."""
    real = runner.plan_for

    def make(bad: int) -> Callable[..., tuple[Any, Any]]:
        def plan_for(config: Any, game: Any = None) -> tuple[Any, Any]:
            plan, built = real(config, game)
            return PoisonedPlan(plan, bad), built

        return plan_for

    return make
