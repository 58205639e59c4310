"""Issue 15: a run stopped on a non-finite value continues from its last checkpoint with other hyper-parameters
(``marlkit.experiment.fork``; ``marlkit resume RUN --set KEY=VALUE``). The oracle is the trainer's own segment API:
the old plan advanced to the checkpoint's window, the new plan from there — the forked run's History must equal it
bit for bit. Shapes are test_run_hardening's (matching pennies, IQL, 1000 steps logged every 10, 2 seeds)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from marlkit.errors import InvalidGameError, MarlkitError
from marlkit.experiment import rundir, runner
from marlkit.experiment.config import load_config
from marlkit.experiment.fork import FORKED_FROM, fork_stopped
from marlkit.experiment.runfiles import summary_digest
from marlkit.experiment.trainers import plan_for
from marlkit.history import History

CONFIG = {
    "name": "fork",
    "game": "matching-pennies",
    "learners": {"name": "iql", "params": {"step_size": 0.1}},
    "steps": 1000,
    "log_every": 10,
    "seeds": 2,
    "key": 0,
}
ARRAYS = ("policy", "average_policy", "joint_counts", "episode_return", "episode_count", "reward_mean")
BAD_WINDOW = 37


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory, poisoned_plan_for: Any) -> Path:
    """The run stopped by the guard at window 37 (a NaN in seed 1's records, tests/experiment/conftest.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)
        patch.setattr(runner, "plan_for", poisoned_plan_for(BAD_WINDOW))
        with pytest.raises(runner.NonFiniteError) as info:
            runner.run(CONFIG, tmp_path_factory.mktemp("stopped"), progress=False)
    return info.value.path


def test_a_stopped_run_continues_with_a_new_step_size(stopped: Path, skip_report: None) -> None:
    before = sorted(p.name for p in stopped.iterdir())
    forked = fork_stopped(stopped, ["learners.params.step_size=0.05"])
    assert sorted(p.name for p in stopped.iterdir()) == before  # the stopped run is kept as it was
    lineage = json.loads((forked / FORKED_FROM).read_text())
    checkpoint_window = 30  # checkpoints every 10 windows: the last one before window 37
    assert lineage["window"] == checkpoint_window and lineage["changed"] == {"learners.params.step_size": [0.1, 0.05]}
    assert lineage["stopped"]["window"] == BAD_WINDOW
    result = runner.resume(forked, progress=False)
    # the oracle: old hyper-parameters for 30 windows, the new ones for the other 70, by the plans themselves
    old_plan, _ = plan_for(load_config(CONFIG))
    new_plan, _ = plan_for(load_config({**CONFIG, "learners": {"name": "iql", "params": {"step_size": 0.05}}}))
    state, records = old_plan.start(), []
    for first in range(0, old_plan.num_logs, 10):  # in the runner's segments of 10 windows: its compiled program
        state, record = (old_plan if first < checkpoint_window else new_plan).advance(state, first, 10)
        records.append(record)
    expected = new_plan.to_history(records)
    saved = History.load(forked / rundir.HISTORY)
    for name in ARRAYS:
        assert np.array_equal(getattr(saved, name), getattr(expected, name), equal_nan=True), name
        assert np.array_equal(getattr(result.history, name), getattr(expected, name), equal_nan=True), name
    lines = rundir.read_metrics(forked)
    assert [(line["window"], line["seed"]) for line in lines] == [(w, s) for w in range(100) for s in (0, 1)]
    assert lines[:60] == rundir.read_metrics(stopped)[:60]  # the first 30 windows' lines are the stopped run's


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (["steps=2000"], InvalidGameError, "only the learners' hyper-parameters may change"),
        (["learners.params.step_size"], InvalidGameError, "expected KEY=VALUE"),
        (["learners.params.stepsize=0.1"], InvalidGameError, "has no key 'stepsize'"),
        (["learners.params.step_size=fast"], InvalidGameError, "is a str"),
        (["learners.params.step_size=2.0"], MarlkitError, "step_size"),  # out of (0, 1]: the schema's range
        ([], InvalidGameError, "at least one KEY=VALUE"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(
    stopped: Path, settings: list[str], error: type[Exception], message: str
) -> None:
    siblings = sorted(stopped.parent.iterdir())
    with pytest.raises(error, match=message):
        fork_stopped(stopped, settings)
    assert sorted(stopped.parent.iterdir()) == siblings


def test_only_a_stopped_run_is_forked(stopped: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(stopped, other)
    summary = json.loads((other / rundir.SUMMARY).read_text())
    del summary["stopped"]
    summary["digest"] = summary_digest(summary)  # a finished run's summary, as marlkit writes it
    (other / rundir.SUMMARY).write_text(json.dumps(summary))
    with pytest.raises(rundir.RunDirError, match="did not"):
        fork_stopped(other, ["learners.params.step_size=0.05"])


def test_cli_resume_set_continues_a_stopped_run(
    stopped: Path, tmp_path: Path, skip_report: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from marlkit.cli import main

    copy = tmp_path / "runs" / stopped.name
    shutil.copytree(stopped, copy)
    assert main(["resume", str(copy), "--no-progress"]) == 2  # as it is: one line saying how to continue it
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"marlkit resume {copy} --set learners.params.KEY=VALUE" in err
    assert main(["resume", str(copy), "--set", "learners.params.step_size=0.05", "--no-progress"]) == 0
    (forked,) = [p for p in copy.parent.iterdir() if p.name.startswith("fork-resumed-")]
    assert "continuing in" in capsys.readouterr().out and History.load(forked / rundir.HISTORY).num_logs == 100
