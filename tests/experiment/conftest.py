"""Fixtures shared by the run tests (tabular and deep)."""

from __future__ import annotations

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
