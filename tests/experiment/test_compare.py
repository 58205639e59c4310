"""marlkit compare: the config keys that differ and the runs' numbers, in a table, JSON and a page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.experiment.compare import compare_runs, differing_keys, flatten
from marlkit.experiment.sweep import run_point

CONFIG = {"name": "tiny", "game": "matching-pennies", "learners": "iql", "steps": 1000, "log_every": 10, "seeds": 2}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("compare")
    folders = [root / "a", root / "b"]
    for key, folder in enumerate(folders):
        run_point({**CONFIG, "key": key}, str(folder))
    return folders


def test_flatten_and_differing_keys() -> None:
    assert flatten({"a": {"b": [1, {"c": 2}]}, "d": 3}) == {"a.b.0": 1, "a.b.1.c": 2, "d": 3}
    one, two = {"steps": 10, "learners": [{"name": "iql"}]}, {"steps": 20, "learners": [{"name": "iql"}], "x": 1}
    assert differing_keys([one, two]) == {"steps": [10, 20], "x": ["(absent)", 1]}


def test_compare_names_the_differing_key_and_reads_each_summary(runs: list[Path]) -> None:
    comparison = compare_runs(runs)
    assert comparison["differing_config"] == {"key": [0, 1]}
    for folder, metrics in zip(runs, comparison["metrics"], strict=True):
        summary = json.loads((folder / "summary.json").read_text())
        statistics = summary["diagnosis"]["statistics"]  # the runner's summary: read, not recomputed
        assert metrics["fractions"] == {name: stats["fraction"] for name, stats in statistics.items()}
        assert metrics["nash_conv_final"] == float(np.median(summary["learning"]["nash_conv_final"]))


def test_compare_without_a_summary_diagnoses_the_history(runs: list[Path], tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.yaml", "history.npz"):
        (bare / name).write_bytes((runs[0] / name).read_bytes())
    comparison = compare_runs([runs[0], bare])
    assert comparison["differing_config"] == {}
    assert comparison["metrics"][1]["fractions"] == comparison["metrics"][0]["fractions"]


def test_cli_table_json_and_page(runs: list[Path], tmp_path: Path, capsys) -> None:
    page = tmp_path / "compare.html"
    assert main(["compare", *map(str, runs), "--html", str(page)]) == 0
    out = capsys.readouterr().out
    assert "config: key" in out and "converged: 1 joint policy" in out
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert main(["compare", *map(str, runs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["differing_config"] == {"key": [0, 1]}


def test_compare_needs_two_runs(runs: list[Path], capsys) -> None:
    assert main(["compare", str(runs[0])]) == 2
    assert "at least two" in capsys.readouterr().err
