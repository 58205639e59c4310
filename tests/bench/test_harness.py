"""bench/harness.py: interleaving order, per-call clock deltas and the statistics it reports (no real timing).

Oracle: a fake pair of clocks that advance by known amounts per call, so every recorded time is known exactly;
the quartiles are checked against ``numpy.percentile`` (linear interpolation = ``statistics.quantiles``'
"inclusive" method), the median against ``numpy.median``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

HARNESS = Path(__file__).resolve().parents[2] / "bench" / "harness.py"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("bench_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


class FakeClocks:
    """Wall and CPU clocks that a run advances by a chosen amount."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def advance(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def test_interleave_order_and_times(harness):
    clocks = FakeClocks()
    calls: list[tuple[str, int]] = []
    cost = {"A": [3.0, 1.0, 2.0, 5.0, 4.0], "B": [10.0, 30.0, 20.0, 50.0, 40.0]}

    def run(name):
        def fn(r):
            calls.append((name, r))
            if r >= 0:
                clocks.advance(cost[name][r], cost[name][r] / 2)

        return fn

    timings = harness.interleave(
        {"A": run("A"), "B": run("B")}, rounds=5, clocks=(lambda: clocks.wall, lambda: clocks.cpu)
    )
    assert calls == [("A", -1), ("B", -1)] + [(name, r) for r in range(5) for name in ("A", "B")]  # A, B, A, B ...
    assert timings["A"].wall == cost["A"] and timings["B"].cpu == [c / 2 for c in cost["B"]]
    summary = harness.Timing.summary(timings["B"].wall)
    q1, q3 = np.percentile(cost["B"], [25, 75])
    assert summary == {"median": np.median(cost["B"]), "q1": q1, "q3": q3, "min": 10.0, "max": 50.0}
    # B takes 10x A's time per call; per item of work with 4x the items per call it is 2.5x
    assert harness.ratio(timings["B"], timings["A"]) == {"wall": 10.0, "cpu": 10.0}
    assert harness.ratio(timings["B"], timings["A"], run_per=4.0) == {"wall": 2.5, "cpu": 2.5}


def test_report_rows_and_machine(harness, tmp_path):
    report = harness.Report("demo", "python bench/demo.py")
    assert report.machine["cores"] >= 1 and report.machine["cpu"]
    ours = harness.Timing("marlkit", [1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    peer = harness.Timing("peer", [4.0, 6.0, 8.0], [2.0, 2.0, 2.0])
    row = report.compare("w", ours, peer, "peer", unit="step", per=2.0, peer_per=1.0)
    assert row["ratio"] == {"wall": 6.0, "cpu": 4.0}  # (6 / 1) / (2 / 2) and (2 / 1) / (1 / 2)
    skipped = report.compare("w2", ours, None, "absent", skipped="not installed")
    assert "ratio" not in skipped and skipped["skipped"] == "not installed"
    report.finish(str(tmp_path / "out.json"))
    assert "load_after" in report.machine and (tmp_path / "out.json").exists()
    with pytest.raises(ValueError, match="rounds"):
        harness.interleave({"A": lambda r: None}, rounds=0)


def test_the_readme_speed_list_is_the_harness_output(harness, monkeypatch):
    # The README's speed list is generated from bench/results.json (`python bench/run_all.py --readme`), never
    # edited by hand: regenerating it from the committed results changes nothing.
    root = HARNESS.parents[1]
    monkeypatch.syspath_prepend(str(root / "bench"))
    monkeypatch.setitem(sys.modules, "harness", harness)
    spec = importlib.util.spec_from_file_location("bench_run_all", root / "bench" / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    readme = (root / "README.md").read_text()
    results = json.loads((root / "bench" / "results.json").read_text())
    assert run_all.BEGIN in readme and run_all.END in readme
    assert run_all.with_speed_list(readme, results) == readme, "run `python bench/run_all.py --readme`"
    listed = run_all.speed_list(results)
    assert listed.count("\n- **") >= len(run_all.HEADLINES) - 1  # a line per headline bench at least
