"""The diagnosis report on a real short run: all six criteria, JSON that round-trips, a readable table."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from marlkit.diagnose.report import REPORT_VERSION, DiagnosisReport, diagnose
from marlkit.diagnose.results import CRITERIA, CRITERION_TITLES, Verdict
from marlkit.errors import InvalidGameError, UnknownNameError

SEEDS = 8


@pytest.fixture(scope="module")
def run(fp_pennies_run):
    """Fictitious play in self-play on matching pennies: 8 seeds, 10,000 steps, 1,000 logging points (shared with
    the other diagnose tests, tests/diagnose/conftest.py)."""
    game, history = fp_pennies_run
    return history, game


@pytest.fixture(scope="module")
def report(run) -> DiagnosisReport:
    history, game = run
    return diagnose(history, game)


def test_report_has_the_six_criteria_in_the_books_order(report: DiagnosisReport) -> None:
    assert list(report.results) == list(CRITERIA)
    assert list(report.statistics) == list(CRITERIA)
    assert set(report.eps) == set(CRITERIA)
    assert report.n_seeds == SEEDS
    for result in report.results.values():
        assert len(result.verdicts) == SEEDS
        assert result.metric.shape == (SEEDS, 1000)  # 10,000 steps logged every 10
    # matching pennies has exactly one Nash equilibrium, the uniform mixed profile (von Neumann 1928)
    assert report.solution_kind == "finite" and len(report.solution_labels) == 1


def test_verdict_counts_add_up_and_agree_with_the_seed_statistics(report: DiagnosisReport) -> None:
    for name, result in report.results.items():
        counts = report.verdict_counts(name)
        assert sum(counts.values()) == SEEDS
        tally = Counter(v.verdict.value for v in result.verdicts)
        assert counts == {verdict.value: tally.get(verdict.value, 0) for verdict in Verdict}
        stats = report.statistics[name]
        assert stats.n_converged == counts["converged"]
        assert stats.n_inconclusive == counts["inconclusive"]


def test_json_round_trips_with_a_version(report: DiagnosisReport, tmp_path: Path) -> None:
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)  # strict JSON: NaN must have become null
    assert json.loads(text) == data  # only JSON types inside (no tuples, arrays or numpy scalars)
    assert data["version"] == REPORT_VERSION
    assert list(data["results"]) == list(CRITERIA)
    assert data["solution_set"]["kind"] == "finite"
    assert data["meta"]["game"] == "matching-pennies"
    for name in CRITERIA:
        assert data["summary"][name]["title"] == CRITERION_TITLES[name]
        assert len(data["results"][name]["verdicts"]) == SEEDS
    path = report.save(tmp_path / "diagnosis.json")
    assert json.loads(path.read_text()) == data
    assert [p.name for p in tmp_path.iterdir()] == ["diagnosis.json"]  # the temp file was renamed, not left


def test_without_series_only_the_per_window_values_are_left_out(report: DiagnosisReport) -> None:
    full, small = report.to_dict(), report.to_dict(series=False)  # a run's summary.json: small at 1e6 windows
    for name in CRITERIA:
        assert {k: v for k, v in full["results"][name].items() if k not in ("z", "metric")} == small["results"][name]
    assert "series" in full["nonstationarity"] and "series" not in small["nonstationarity"]
    assert {k: v for k, v in full.items() if k not in ("results", "nonstationarity")} == {
        k: v for k, v in small.items() if k not in ("results", "nonstationarity")
    }


def test_table_text_names_every_criterion(report: DiagnosisReport) -> None:
    text = report.text()
    for title in CRITERION_TITLES.values():
        assert title in text
    assert f"of {SEEDS}" in text and "matching-pennies" in text


def test_nonstationarity_summary_is_the_tail_mean_of_the_series(run, report: DiagnosisReport) -> None:
    _, game = run
    series = report.nonstationarity.others_movement  # [N, T, n]
    tail = series[:, -(series.shape[1] // 4) :]  # the last quarter of the logging points (1,000 here)
    assert [m.agent for m in report.movement] == list(game.player_names)
    for i, movement in enumerate(report.movement):
        assert movement.others_movement == pytest.approx(float(np.nanmean(tail[:, :, i])))


def test_a_history_of_another_game_is_refused(run) -> None:
    from marlkit.games.catalog import make

    history, _ = run
    with pytest.raises(InvalidGameError, match="--game"):
        diagnose(history, make("rock-paper-scissors"))


def test_unknown_distance_is_refused_with_the_known_names(run) -> None:
    history, game = run
    with pytest.raises(UnknownNameError, match="tv"):
        diagnose(history, game, distance="hellinger")


def test_the_docs_state_the_verdict_rule_word_for_word() -> None:
    from marlkit.diagnose.verdicts import VERDICT_RULE

    docs = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"
    assert " ".join(VERDICT_RULE.split()) in " ".join(docs.read_text().split())


def test_importing_the_package_does_not_import_matplotlib() -> None:
    code = (
        "import sys, marlkit.diagnose as d; assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
        "d.diagnose; assert 'matplotlib' not in sys.modules, 'the report imported matplotlib'; "
        "d.plot_criteria; assert 'matplotlib' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_exported_name_resolves_from_its_submodule() -> None:
    import importlib

    import marlkit.diagnose as package

    assert sorted(package.__all__) == sorted(package._HOME)
    for name in package.__all__:
        assert getattr(package, name) is getattr(
            importlib.import_module(f"marlkit.diagnose.{package._HOME[name]}"), name
        )
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018
