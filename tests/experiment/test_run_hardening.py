"""Issue 15, runs: the NaN / inf guard stops a run at its first non-finite window and keeps every finite one;
``metrics.jsonl`` writes inf; a full disk is one line and the run resumes bit-identically; the config hash covers
the game's content (a swapped ``game.npz`` is refused); leftovers of killed runs are cleaned; links in a run
directory are refused. Shapes are test_sweep's (2x2 games, IQL, 1000 steps logged every 10, 2 seeds): one
compiled program for the module (the natural-NaN test adds one)."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.experiment import rundir, runner
from marlkit.experiment.checkpoint import CheckpointError
from marlkit.experiment.config import config_hash, game_content_digest, load_config
from marlkit.games import load_game, save_game
from marlkit.games.catalog import make
from marlkit.history import History
from marlkit.train.protocol import Record

CONFIG = {
    "name": "hard",
    "game": "matching-pennies",
    "learners": {"name": "iql", "params": {"step_size": 0.1}},
    "steps": 1000,
    "log_every": 10,  # checkpoints every 10 windows (the default: about 10 per run)
    "seeds": 2,
    "key": 0,
}
ARRAYS = ("policy", "average_policy", "joint_counts", "episode_return", "episode_count", "reward_mean")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The clean run's History (no diagnosis: the runner's hook is skipped as in test_runner)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)
        return runner.run(CONFIG, tmp_path_factory.mktemp("ref"), progress=False).history


def test_a_non_finite_window_stops_the_run_and_keeps_every_finite_one(
    tmp_path: Path,
    reference: History,
    monkeypatch: pytest.MonkeyPatch,
    skip_report: None,
    capsys: Any,
    poisoned_plan_for: Any,
) -> None:
    monkeypatch.setattr(runner, "plan_for", poisoned_plan_for(37))
    with pytest.raises(runner.NonFiniteError) as info:
        runner.run(CONFIG, tmp_path, progress=False)
    path, message = info.value.path, str(info.value)
    assert "learner iql produced nan in reward_mean of agent 0, seed 1, logging window 37" in message
    assert "the 37 finite logging window(s) before it are kept" in message and "\n" not in message
    lines = rundir.read_metrics(path)
    assert [(line["window"], line["seed"]) for line in lines] == [(w, s) for w in range(37) for s in (0, 1)]
    kept = History.load(path / rundir.HISTORY)
    assert kept.num_logs == 37
    for name in ARRAYS:  # bit-identical to the clean run's first 37 windows
        assert np.array_equal(getattr(kept, name), getattr(reference, name)[:, :37], equal_nan=True), name
    stopped = json.loads((path / rundir.SUMMARY).read_text())["stopped"]
    assert stopped == {
        "reason": "non-finite",
        "learner": "iql",
        "window": 37,
        "seed": 1,
        "key": "reward_mean",
        "agent": 0,
        "value": "nan",
    }
    with pytest.raises(rundir.RunDirError, match="stopped on a non-finite value"):
        runner.resume(path, progress=False)
    assert main(["resume", str(path), "--no-progress"]) == 2  # the CLI: one line, exit 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "inspect its metrics.jsonl" in err[0]


def test_a_diverging_learner_is_stopped_at_its_first_window(tmp_path: Path, skip_report: None) -> None:
    # Q = 3e38 (finite in float32) divided by τ = 0.05 overflows the Boltzmann logits: the policy is NaN at once
    params = {"initial_q": 3.0e38, "exploration": {"type": "boltzmann", "temperature": 0.05}}
    config = {**CONFIG, "learners": {"name": "iql", "params": params}, "steps": 200}
    with pytest.raises(runner.NonFiniteError, match=r"learner iql produced nan in policy of agent 0, seed 0, "
                       r"logging window 0; no window before it was finite"):  # fmt: skip
        runner.run(config, tmp_path, progress=False)


def test_metrics_jsonl_writes_inf_and_nan() -> None:
    ones = np.ones((1, 1, 2), np.float32)
    record = Record(
        policy=np.zeros((1, 1, 2, 1, 2)),
        average_policy=np.zeros((1, 1, 2, 1, 2)),
        counts=np.zeros((1, 1, 1, 4), np.int32),
        episode_return=np.array([[[np.inf, -np.inf]]], np.float32),
        episode_count=np.ones((1, 1), np.int32),
        reward_mean=np.array([[[np.nan, 1.5]]], np.float32),
        metrics={"loss": ones},
    )
    (line,) = rundir.metrics_lines(record, 0, 10, [0])
    entry = json.loads(line)
    assert entry["episode_return"] == ["Infinity", "-Infinity"] and entry["reward_mean"] == [None, 1.5]
    assert [float(x) for x in entry["episode_return"]] == [np.inf, -np.inf]  # float() reads the tokens back


def test_a_full_disk_is_one_line_then_a_swapped_game_is_refused_and_the_run_resumes_identically(
    tmp_path: Path, reference: History, monkeypatch: pytest.MonkeyPatch, skip_report: None
) -> None:
    real_append, calls = rundir.append_metrics, []

    def full_disk(run: Path, lines: Any) -> int:
        calls.append(1)
        if len(calls) == 2:  # the second segment: after the first checkpoint
            raise OSError(errno.ENOSPC, "No space left on device", str(run / rundir.METRICS))
        return real_append(run, lines)

    monkeypatch.setattr(rundir, "append_metrics", full_disk)
    with pytest.raises(rundir.RunDirError) as info:
        runner.run(CONFIG, tmp_path, progress=False)
    message = str(info.value)
    assert "metrics.jsonl: the disk is full" in message and "free space" in message and "\n" not in message
    path = next(tmp_path.iterdir())
    assert f"marlkit resume {path}" in message and runner.windows_done(path) == 10
    monkeypatch.setattr(rundir, "append_metrics", real_append)

    game = load_game(path / rundir.GAME)
    save_game(make("prisoners-dilemma"), path / rundir.GAME)  # same shape, other tables
    with pytest.raises(CheckpointError):
        runner.resume(path, progress=False)
    save_game(game, path / rundir.GAME)

    # leftovers of a kill: temp files of atomic writes, in the run and its segments folder
    leftovers = [path / ".checkpoint.npz.0123456789abcdef.tmp", path / "segments" / ".w.0123456789abcdef.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b"partial")
    resumed = runner.resume(path, progress=False).history
    assert not any(leftover.exists() for leftover in leftovers)
    for name in ARRAYS:
        assert np.array_equal(getattr(resumed, name), getattr(reference, name), equal_nan=True), name


def test_the_config_hash_covers_the_games_content(tmp_path: Path) -> None:
    config = load_config(CONFIG)
    pennies, prisoners = make("matching-pennies"), make("prisoners-dilemma")
    assert config_hash(config, pennies) != config_hash(config, prisoners) != config_hash(config)
    for suffix in (".json", ".npz"):  # a saved and re-read game has the same content digest
        save_game(pennies, tmp_path / f"g{suffix}")
        assert game_content_digest(load_game(tmp_path / f"g{suffix}")) == game_content_digest(pennies)
    constrained = make("resource-sharing")
    save_game(constrained, tmp_path / "c.npz")
    assert game_content_digest(load_game(tmp_path / "c.npz")) == game_content_digest(constrained)


def test_links_in_a_run_directory_are_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / rundir.CONFIG).write_text("name: x\n")
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (run / rundir.METRICS).symlink_to(target)
    with pytest.raises(rundir.RunDirError, match=r"metrics\.jsonl: a symbolic link"):
        runner.resume(run, progress=False)
    assert target.read_text() == "keep me"
    with pytest.raises(OSError):  # and metrics.jsonl is never opened through a link
        rundir.append_metrics(run, ["{}"])
    assert target.read_text() == "keep me"


def test_disk_errors_and_stale_temp_folders(tmp_path: Path) -> None:
    with pytest.raises(rundir.RunDirError, match=r"read-only.*make it writable"), rundir.disk_errors(tmp_path):
        raise OSError(errno.EROFS, "Read-only file system", "x")
    with pytest.raises(FileNotFoundError), rundir.disk_errors(tmp_path):  # not a disk problem: left alone
        raise FileNotFoundError(errno.ENOENT, "gone")
    old, fresh, other = (tmp_path / name for name in ("marlkit-report-old", "marlkit-report-new", "keep-old"))
    for folder in (old, fresh, other):
        folder.mkdir()
    past = time.time() - 2 * rundir.STALE_TEMP_S
    for folder in (old, other):
        os.utime(folder, (past, past))
    assert rundir.clean_stale_temp(folder=tmp_path) == 1
    assert not old.exists() and fresh.exists() and other.exists()
