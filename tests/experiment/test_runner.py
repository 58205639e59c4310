"""The runner: a run killed at any point (SIGKILL, Ctrl-C, a crash between its writes) and resumed ends with the
History and metrics.jsonl of an uninterrupted run, bit for bit; bad output folders fail before any compute.

One config serves every test (one compile in this process). Its segments take a noticeable time (12,000 steps
x 2 seeds each: 15-100 ms here), and the test polls every 2 ms, so a run killed right after its first
checkpoint is found mid-way (the tests check that it was).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from marlkit.diagnose.results import CRITERIA
from marlkit.errors import MarlkitError, NotApplicableError
from marlkit.experiment import runner
from marlkit.experiment.checkpoint import CheckpointError
from marlkit.experiment.rundir import METRICS, RunDirError, read_metrics
from marlkit.experiment.runner import RunInterrupted, resume, run, windows_done
from marlkit.train import History, TrainPlan

CONFIG = {
    "name": "kill-test",
    "game": "matching-pennies",
    "learners": "wolf-phc",
    "steps": 60_000,
    "log_every": 6_000,
    "checkpoint_every": 2,  # 5 segments of 2 windows
    "seeds": 2,
    "key": 5,
}
WINDOWS, SEEDS = 10, 2
CLI = "import sys; from marlkit.cli import main; sys.exit(main(sys.argv[1:]))"


def config_at(root: Path) -> dict:
    return {**CONFIG, "output": {"root": str(root)}}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of CONFIG."""
    root = tmp_path_factory.mktemp("reference")
    result = run(config_at(root), progress=False)
    return result.path


def history_bytes(path: Path) -> dict[str, tuple[str, tuple, bytes]]:
    h = History.load(path / "history.npz")
    arrays = {name: getattr(h, name) for name in ("steps", "seeds", "policy", "average_policy", "has_average_policy")}
    arrays.update({name: getattr(h, name) for name in ("joint_counts", "episode_return", "episode_count")})
    arrays.update({"reward_mean": h.reward_mean, **{f"metric.{k}": v for k, v in h.metrics.items()}})
    return {name: (str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()) for name, a in arrays.items()}


def assert_same_run(path: Path, reference: Path) -> None:
    assert history_bytes(path) == history_bytes(reference)  # every array, bit for bit
    assert History.load(path / "history.npz").meta == History.load(reference / "history.npz").meta
    lines = read_metrics(path)
    assert lines == read_metrics(reference)
    assert [(line["window"], line["seed"]) for line in lines] == [(w, s) for w in range(WINDOWS) for s in range(SEEDS)]
    assert (path / METRICS).read_bytes() == (reference / METRICS).read_bytes()
    assert not (path / "segments").exists() and (path / "summary.json").is_file()


def test_uninterrupted_run_writes_the_layout(reference: Path) -> None:
    assert sorted(p.name for p in reference.iterdir()) == [
        "checkpoint.npz",
        "config.yaml",
        "game.npz",
        "history.npz",
        "metrics.jsonl",
        "report.html",
        "summary.json",
    ]
    assert reference.name.startswith("kill-test-") and len(reference.name) == len("kill-test-YYYYmmdd-HHMMSS")
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["kind"] == "run" and summary["windows"] == WINDOWS and summary["seeds"] == [0, 1]
    assert len(summary["learning"]["nash_conv_final"]) == SEEDS and set(summary["diagnosis"]["results"]) == set(
        CRITERIA
    )
    assert yaml.safe_load((reference / "config.yaml").read_text())["checkpoint_every"] == 2
    assert windows_done(reference) == WINDOWS
    h = History.load(reference / "history.npz")
    assert h.steps.tolist() == [6_000 * (w + 1) for w in range(WINDOWS)] and h.policy.shape == (2, 10, 2, 1, 2)
    with pytest.raises(RunDirError, match="already finished"):
        resume(reference, progress=False)


def spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_first_checkpoint(root: Path, process: subprocess.Popen, timeout: float = 300.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in root.glob("kill-test-*/checkpoint.npz"):
            return path.parent
        if process.poll() is not None:
            raise AssertionError(f"the run ended before its first checkpoint: {process.communicate()}")
        time.sleep(0.002)
    process.kill()
    raise AssertionError("no checkpoint within the timeout")


def test_sigkill_then_resume_is_bit_identical(tmp_path: Path, reference: Path, skip_report) -> None:
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config_at(tmp_path / "runs")))
    process = spawn(["run", str(tmp_path / "cfg.yaml"), "--no-progress"])
    path = wait_for_first_checkpoint(tmp_path / "runs", process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    done = windows_done(path)
    assert 2 <= done < WINDOWS and not (path / "history.npz").exists(), "killed mid-way"
    from marlkit.cli import main

    assert main(["resume", str(path), "--no-progress"]) == 0
    assert_same_run(path, reference)


def test_ctrl_c_writes_a_checkpoint_and_exits_cleanly(tmp_path: Path, reference: Path, skip_report) -> None:
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config_at(tmp_path / "runs")))
    process = spawn(["run", str(tmp_path / "cfg.yaml"), "--no-progress"])
    path = wait_for_first_checkpoint(tmp_path / "runs", process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert f"continue with: marlkit resume {path}" in stderr and "Traceback" not in stderr
    done = windows_done(path)
    assert 2 <= done < WINDOWS
    assert len(read_metrics(path)) == done * SEEDS  # the checkpoint and metrics.jsonl agree
    resume(path, progress=False)
    assert_same_run(path, reference)


class Killed(BaseException):
    """Stands in for a kill at one exact point of the runner's write sequence."""


def fail_on_call(n: int, function, before=None):
    calls = {"count": 0}

    def wrapper(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] == n:
            if before is not None:
                before(*args, **kwargs)
            raise Killed
        return function(*args, **kwargs)

    return wrapper


def torn_metrics(run: Path, lines) -> None:
    with open(run / METRICS, "ab") as handle:  # half of the segment's lines, the last one cut mid-way
        text = "".join(line + "\n" for line in lines)
        handle.write(text[: len(text) // 2].encode())


def torn_checkpoint(path: Path, *args, **kwargs) -> None:
    (path.parent / ".checkpoint.npz.tmp-left-behind.tmp").write_bytes(b"PK\x03\x04 half a zip")


@pytest.mark.parametrize(
    ("target", "make_fault"),
    [
        ("rundir.write_segment", lambda f: fail_on_call(3, f)),  # before the 3rd segment's records are written
        ("rundir.append_metrics", lambda f: fail_on_call(2, f, before=torn_metrics)),  # torn metrics lines
        ("save_checkpoint", lambda f: fail_on_call(4, f, before=torn_checkpoint)),  # records and lines written
    ],
    ids=["before-records", "mid-metrics", "mid-checkpoint"],
)
def test_a_kill_between_writes_resumes_identically(
    tmp_path: Path, reference: Path, monkeypatch: pytest.MonkeyPatch, target: str, make_fault, skip_report
) -> None:
    owner = runner.rundir if target.startswith("rundir.") else runner
    name = target.split(".")[-1]
    monkeypatch.setattr(owner, name, make_fault(getattr(owner, name)))
    with pytest.raises(Killed):
        run(config_at(tmp_path), progress=False)
    monkeypatch.undo()
    (path,) = tmp_path.glob("kill-test-*")
    resume(path, progress=False)
    assert_same_run(path, reference)


def test_a_run_killed_before_its_first_checkpoint_starts_over(
    tmp_path: Path, reference: Path, monkeypatch: pytest.MonkeyPatch, skip_report
) -> None:
    monkeypatch.setattr(runner.rundir, "write_segment", fail_on_call(1, runner.rundir.write_segment))
    with pytest.raises(Killed):
        run(config_at(tmp_path), progress=False)
    monkeypatch.undo()
    (path,) = tmp_path.glob("kill-test-*")
    assert windows_done(path) == 0
    resume(path, progress=False)
    assert_same_run(path, reference)


def test_deleted_records_are_found_before_resuming(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.rundir, "write_segment", fail_on_call(3, runner.rundir.write_segment))
    with pytest.raises(Killed):
        run(config_at(tmp_path), progress=False)
    monkeypatch.undo()
    (path,) = tmp_path.glob("kill-test-*")
    (path / "segments" / "windows-000000-000002.npz").unlink()
    monkeypatch.setattr(TrainPlan, "advance", fail_on_call(1, TrainPlan.advance))
    with pytest.raises(RunDirError, match="records were deleted, so this run cannot be resumed"):
        resume(path, progress=False)


def test_a_foreign_checkpoint_is_refused_on_resume(tmp_path: Path, reference: Path) -> None:
    (tmp_path / "run").mkdir()
    for name in ("config.yaml", "game.npz", "checkpoint.npz"):
        (tmp_path / "run" / name).write_bytes((reference / name).read_bytes())
    (tmp_path / "run" / METRICS).write_text("")
    config = yaml.safe_load((reference / "config.yaml").read_text())
    config["key"] = 6  # another experiment now owns this folder's checkpoint
    (tmp_path / "run" / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(CheckpointError, match="checkpoint of another config"):
        resume(tmp_path / "run", progress=False)


# ----------------------------------------------------------------------------------- bad output, before compute


@pytest.fixture
def no_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("training started although the input was bad")

    monkeypatch.setattr(TrainPlan, "advance", refuse)


def test_existing_run_directory_is_an_error(tmp_path: Path, no_compute) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(RunDirError, match=r"taken: the run directory already exists; resume it with"):
        run(config_at(tmp_path), run_dir=tmp_path / "taken", progress=False)
    assert list((tmp_path / "taken").iterdir()) == []


def test_unwritable_or_full_output_is_an_error(tmp_path: Path, no_compute, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(RunDirError, match=r"output.root: .*a-file/runs cannot be created: .*a-file is a file"):
        run(config_at(tmp_path / "a-file" / "runs"), progress=False)
    full = tmp_path / "full"
    full.mkdir()
    usage = runner.rundir.shutil.disk_usage(full)
    monkeypatch.setattr(runner.rundir.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(RunDirError, match=r"output.root: .*full has 0.0 MiB free but the run needs about"):
        run(config_at(full), progress=False)
    monkeypatch.undo()
    assert list(full.iterdir()) == []
    if os.geteuid() != 0:  # root writes anywhere: the permission check cannot fail there
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(RunDirError, match="is not writable"):
            run(config_at(locked), progress=False)


def test_bad_config_and_sinks_fail_before_anything_is_written(
    tmp_path: Path, no_compute, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(MarlkitError, match="steps: expected an integer"):
        run({**config_at(tmp_path), "steps": "many"}, progress=False)
    monkeypatch.setattr(runner.check_sinks.__globals__["importlib"].util, "find_spec", lambda name: None)
    with pytest.raises(NotApplicableError, match=r"sinks.tensorboard: .* or set sinks.tensorboard.enabled: false"):
        run({**config_at(tmp_path), "sinks": {"tensorboard": True}}, progress=False)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RunDirError, match="no such run directory"):
        resume(tmp_path / "nothing", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match=r"not a run directory \(no config.yaml\)"):
        resume(tmp_path / "empty", progress=False)


def test_cli_run_without_a_config_runs_the_default_study(monkeypatch) -> None:
    """`marlkit run` with no CONFIG hands over to the default study (its own tests: test_study.py)."""
    import marlkit.cli.experiments as experiments
    from marlkit.cli import main

    calls = []
    monkeypatch.setattr(experiments, "run_default_study", lambda **kwargs: calls.append(kwargs))
    assert main(["run", "--root", "elsewhere"]) == 0
    assert calls == [{"out": "elsewhere", "progress": True}]


def test_run_interrupted_message_names_the_command() -> None:
    message = str(RunInterrupted(Path("runs/x-1"), 4, 10))
    assert "after 4 of 10 logging windows" in message and "marlkit resume runs/x-1" in message


# ------------------------------------------------------------------------------------- issue 14, item 9
def test_the_progress_bar_fits_80_columns() -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress

    from marlkit.experiment.runner import PROGRESS_WIDTH, progress_columns

    assert PROGRESS_WIDTH == 80
    for unit in ("windows", "cells"):
        buffer = io.StringIO()
        console = Console(file=buffer, width=80, force_terminal=True, color_system=None)
        with Progress(*progress_columns(unit, description_width=24), console=console) as bar:
            bar.add_task("rock-paper-scissors x regret-matching", total=10_000, completed=9_999)
        last = buffer.getvalue().split("\r")[-1].replace("\x1b[2K", "").split("\n")[0]
        assert "9999/10000 " + unit in last and "ETA" in last and "…" not in last, last
        assert len(last) <= 80
    # a run's bar: its latest mean return too (the longest a 4-significant-digit number prints)
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=True, color_system=None)
    with Progress(*progress_columns("windows", description_width=12, latest=True), console=console) as bar:
        bar.add_task("rock-paper-scissors", total=10_000, completed=9_999, latest="ret -1.235e+05")
    last = buffer.getvalue().split("\r")[-1].replace("\x1b[2K", "").split("\n")[0]
    assert "9999/10000 windows ret -1.235e+05" in last and "ETA" in last and "…" not in last, last
    assert len(last) <= 80


def test_the_progress_bar_shows_the_latest_mean_return() -> None:
    from types import SimpleNamespace

    from marlkit.experiment.runner import latest_return

    returns = np.full((2, 3, 2), np.nan)  # [seeds, windows, agents]
    assert latest_return(SimpleNamespace(episode_return=returns)) == "ret -"
    returns[0, -1] = [1.0, 2.0]
    returns[1, -1] = [3.0, np.nan]
    returns[1, 0] = [100.0, 100.0]  # an earlier window: not shown
    assert latest_return(SimpleNamespace(episode_return=returns)) == "ret 2"


def test_ctrl_c_in_the_last_segment_is_honoured(tmp_path: Path, reference: Path, monkeypatch, skip_report) -> None:
    """A Ctrl-C that came during the last segment used to be ignored (the run went on and exited 0)."""

    def interrupt_at_the_end(function):
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            if kwargs.get("windows_done") == WINDOWS:
                os.kill(os.getpid(), signal.SIGINT)  # the runner's handler only sets its flag
            return result

        return wrapper

    monkeypatch.setattr(runner, "save_checkpoint", interrupt_at_the_end(runner.save_checkpoint))
    with pytest.raises(RunInterrupted, match="training finished") as stopped:
        run(config_at(tmp_path), progress=False)
    monkeypatch.undo()
    path = stopped.value.path
    assert f"marlkit resume {path}" in str(stopped.value) and not (path / "summary.json").exists()
    resume(path, progress=False)
    assert_same_run(path, reference)


def test_ctrl_c_while_the_run_is_diagnosed_leaves_it_resumable(tmp_path: Path, reference: Path, monkeypatch) -> None:
    def ctrl_c(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "diagnosis_for_summary", ctrl_c)
    with pytest.raises(RunInterrupted, match="finish them with: marlkit resume") as stopped:
        run(config_at(tmp_path), progress=False)
    monkeypatch.undo()
    path = stopped.value.path
    assert not (path / "summary.json").exists() and not (path / "history.npz").exists()
    resume(path, progress=False)
    assert_same_run(path, reference)
    assert (path / "report.html").is_file()


def test_a_run_killed_while_its_page_is_written_gets_it_on_resume(tmp_path: Path, reference: Path, monkeypatch) -> None:
    """Issue 15: a finished run killed while report.html was rendered had no page, and resume refused."""
    from marlkit.experiment import report

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "render_run_report", ctrl_c)
    with pytest.raises(RunInterrupted, match=r"the run is finished .* marlkit resume") as stopped:
        run(config_at(tmp_path), progress=False)
    monkeypatch.undo()
    path = stopped.value.path
    assert (path / "summary.json").is_file() and not (path / "report.html").exists()
    resume(path, progress=False)
    assert_same_run(path, reference)
    assert (path / "report.html").read_text().count("<h2>") > 3
    with pytest.raises(RunDirError, match="already finished"):
        resume(path, progress=False)


def test_run_ends_with_the_verdict_summary(reference: Path) -> None:
    """The end of `marlkit run` printed only the state-0 policy; it prints the verdicts now."""
    from marlkit.cli.run import verdict_lines
    from marlkit.diagnose.results import CRITERION_TITLES

    lines = verdict_lines(reference / "summary.json")
    summary = json.loads((reference / "summary.json").read_text())["diagnosis"]["summary"]
    assert lines[0].startswith("convergence to ") and lines[-1].endswith("report.html")
    for name, row in summary.items():
        counts = row["counts"]
        tally = f"{counts['converged']}/{counts['not converged']}/{counts['inconclusive']}"
        assert any(CRITERION_TITLES[name] in line and tally in line for line in lines[1:-1])
