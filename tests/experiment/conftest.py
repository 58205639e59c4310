"""Fixtures shared by the run tests (tabular and deep)."""

from __future__ import annotations

import pytest

from marlkit.experiment import runner


@pytest.fixture
def skip_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """The convergence report (diagnosis, plots, report.html: seconds per run) is checked once, on each module's
    reference run; the runs resumed in the other tests skip it through the runner's hook."""
    monkeypatch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)
