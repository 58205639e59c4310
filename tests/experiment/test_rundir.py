"""Run-directory files: segment names for any run length, foreign segments refused before training (issue 15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from marlkit.experiment import rundir
from marlkit.experiment.rundir import RunDirError, check_segments, load_segments, write_segment
from marlkit.train.protocol import Record


def records(windows: int, value: float) -> Record:
    n, w = 2, windows
    return Record(
        policy=np.zeros((1, w, n, 0, 2), np.float32),
        average_policy=np.zeros((1, w, n, 0, 2), np.float32),
        counts=np.zeros((1, w, 0, 4), np.int64),
        episode_return=np.full((1, w, n), value, np.float32),
        episode_count=np.ones((1, w), np.int32),
        reward_mean=np.zeros((1, w, n), np.float32),
        metrics={"loss": np.full((1, w, n), value, np.float32)},
    )


def test_segments_past_a_million_windows_are_read_in_order(tmp_path: Path) -> None:
    """The names were ``{:06d}`` and the reader accepted only six digits: a run of >= 1,000,000 windows trained
    to the end and then could neither finish nor resume."""
    (tmp_path / rundir.SEGMENTS).mkdir()
    first = 999_998
    # windows 0 .. first - 1 stand in as one big segment (its records are never looked at by name)
    write_segment(tmp_path, 0, records(1, 0.0), "h")
    (tmp_path / rundir.SEGMENTS / "windows-000000-000001.npz").rename(
        tmp_path / rundir.SEGMENTS / f"windows-000000-{first:06d}.npz"
    )
    write_segment(tmp_path, first, records(2, 1.0), "h")  # 999998-1000000
    write_segment(tmp_path, first + 2, records(3, 2.0), "h")  # 1000000-1000003
    names = sorted(p.name for p in (tmp_path / rundir.SEGMENTS).iterdir())
    assert "windows-1000000-1000003.npz" in names
    check_segments(tmp_path, first + 5, "h")
    loaded = load_segments(tmp_path, first + 5, "h")
    assert [float(r.episode_return[0, 0, 0]) for r in loaded] == [0.0, 1.0, 2.0]


def test_a_foreign_segment_is_refused_before_training(tmp_path: Path) -> None:
    (tmp_path / rundir.SEGMENTS).mkdir()
    write_segment(tmp_path, 0, records(2, 0.0), "mine")
    write_segment(tmp_path, 2, records(2, 0.0), "another run's")
    check_segments(tmp_path, 4)  # by name only: covered
    with pytest.raises(RunDirError, match=r"windows-000002-000004\.npz: a segment of another format or config"):
        check_segments(tmp_path, 4, "mine")
    (tmp_path / rundir.SEGMENTS / "windows-000002-000004.npz").write_bytes(b"torn")
    with pytest.raises(RunDirError, match="unreadable segment"):
        check_segments(tmp_path, 4, "mine")
