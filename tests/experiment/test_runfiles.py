"""Run-folder files on the strict boundary (marlkit.experiment.runfiles): each defect the run-folder fuzzer
(tests/fuzz/test_run_folders.py) found, and the typed checks of summary.json, metrics lines, checkpoint headers,
History files and segments — each a one-line error naming the file and the field, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marlkit.cli import main
from marlkit.errors import GameFileError
from marlkit.experiment import rundir
from marlkit.experiment.runfiles import (
    CELL_SUMMARY_FIELDS,
    RunDirError,
    check_digests,
    file_digests,
    read_metrics_file,
    read_summary,
    read_text,
    summary_digest,
)
from marlkit.history import History
from marlkit.serve.runs_index import read_entry


def summary_of(**fields: object) -> dict:
    data = {
        "format": "marlkit.run-summary",
        "version": 1,
        "kind": "run",
        "name": "x",
        "steps": 400,
        "log_every": 100,
        "seeds": [0, 1],
        "windows": 4,
        "marlkit": "0.1.0",
        "training_seconds": 1.5,
        **fields,
    }
    data["digest"] = summary_digest(data)
    return data


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def small_history() -> History:
    N, T, n, S, A = 1, 2, 2, 1, 2
    return History(
        steps=np.array([100, 200]),
        seeds=np.array([0]),
        policy=np.full((N, T, n, S, A), 0.5, np.float32),
        average_policy=np.full((N, T, n, S, A), np.nan, np.float32),
        has_average_policy=np.zeros(n, bool),
        joint_counts=np.zeros((N, T, S, A, A), np.int64),
        episode_return=np.zeros((N, T, n), np.float32),
        episode_count=np.zeros((N, T), np.int32),
        reward_mean=np.zeros((N, T, n), np.float32),
        metrics={"td_error": np.zeros((N, T, n), np.float32)},
        meta={"game": "matching-pennies", "learners": ["a", "b"]},
    )


# ------------------------------------------------------------------------------------------------ summary.json
def test_a_written_summary_reads_back_and_an_edit_is_caught(tmp_path: Path) -> None:
    path = write(tmp_path / "summary.json", summary_of())
    assert read_summary(path)["windows"] == 4
    edited = {**json.loads(path.read_text()), "training_seconds": 0.0}  # a valid value, but not the run's
    write(path, edited)
    with pytest.raises(RunDirError, match=r"summary\.json: edited or damaged"):
        read_summary(path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("windows", "4", r"windows: expected a whole number, got string '4'"),
        ("windows", True, r"windows: expected a whole number, got boolean true"),
        ("windows", -1, r"windows: expected a whole number in \[0, inf\]"),
        ("seeds", [0, 1.5], r"seeds\[1\]: expected a whole number"),
        ("training_seconds", -3.0, r"training_seconds: expected a number >= 0"),
        ("diagnosis", [1], r"diagnosis: expected an object, got list"),
        ("windos", 4, r"windos: unknown field \(did you mean 'windows'\?\)"),
        ("name", "a\x1b[31m", r"name: contains the control character \\x1b"),
    ],
)
def test_summary_fields_have_exact_types(tmp_path: Path, field: str, value: object, message: str) -> None:
    path = write(tmp_path / "summary.json", summary_of(**{field: value}))  # a correct digest of a wrong file
    with pytest.raises(RunDirError, match=message) as caught:
        read_summary(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"kind": "run", "kind": "run"}', "duplicate key 'kind'"),
        ('{"kind": "run", "windows": NaN}', "NaN is not a JSON number"),
        ("[" * 3000 + "]" * 3000, "nested too deeply"),
        ('["kind", "run"]', "expected a JSON object, got list"),
        ('{"kind": "runn"}', "kind: expected 'run', 'study' or 'sweep'"),
        ('{"format": "marlkit.history", "version": 1}', "format is 'marlkit.history'"),
    ],
)
def test_damaged_summary_json_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "summary.json"
    path.write_text(text)
    with pytest.raises(RunDirError, match=message):
        read_summary(path)


def test_links_folders_and_hand_written_summaries(tmp_path: Path) -> None:
    target = write(tmp_path / "real.json", summary_of())
    (tmp_path / "link.json").symlink_to(target)
    with pytest.raises(RunDirError, match="a symbolic link"):
        read_summary(tmp_path / "link.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(RunDirError, match="a folder, where a file is expected"):
        read_summary(tmp_path / "folder.json")
    # written by hand (or an older marlkit): the fields it has, each of its type
    assert read_summary(write(tmp_path / "hand.json", {"kind": "run", "game": None, "env": "simple_spread"}))


def test_the_cell_summary_fields_are_the_cell_results() -> None:
    import dataclasses

    from marlkit.experiment.study import CellResult

    fields = [f.name for f in dataclasses.fields(CellResult)]
    assert list(CELL_SUMMARY_FIELDS) == [*fields, "marlkit_version", "wall_time_s"]  # what study._write_cell writes


def test_the_runs_index_lists_a_damaged_summary_as_corrupt_naming_the_field(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("name: x\ngame: matching-pennies\nlearners: iql\nsteps: 400\n")
    write(run / "summary.json", summary_of(windows="4"))
    entry = read_entry(tmp_path, run)
    assert entry.status == "corrupt" and entry.problem.startswith("summary.json: windows: expected a whole number")


# ------------------------------------------------------------------------------ files the summary recorded
def test_report_refuses_files_changed_after_the_run(tmp_path: Path) -> None:
    """Found by the fuzzer: a truncated config.yaml gave a page titled by the folder's name, a History with an
    edited meta another page — `report` trusted whatever it found. summary.json now records the SHA-256 of
    config.yaml, game.npz and history.npz, and the report checks them."""
    from marlkit.experiment.report import read_run

    (tmp_path / "config.yaml").write_text("name: x\ngame: matching-pennies\nlearners: iql\nsteps: 400\n")
    small_history().save(tmp_path / "history.npz")
    write(tmp_path / "summary.json", summary_of(files_sha256=file_digests(tmp_path)))
    assert read_run(tmp_path).config["name"] == "x"
    (tmp_path / "config.yaml").write_text("name: y\ngame: matching-pennies\nlearners: iql\nsteps: 400\n")
    with pytest.raises(GameFileError, match=r"config\.yaml: not the file the run wrote"):
        read_run(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    (tmp_path / "config.yaml").unlink()
    with pytest.raises(RunDirError, match="missing"):
        check_digests(tmp_path, read_summary(tmp_path / "summary.json"))


def test_report_of_a_runner_folder_without_summary_says_it_has_not_finished(tmp_path: Path) -> None:
    """Found by the fuzzer: with summary.json deleted, `report` drew a page from a History that a resume would
    rewrite (a run killed while finishing)."""
    from marlkit.experiment.report import read_run

    (tmp_path / "config.yaml").write_text("name: x\ngame: matching-pennies\nlearners: iql\nsteps: 400\n")
    small_history().save(tmp_path / "history.npz")
    (tmp_path / "checkpoint.npz").write_bytes(b"")
    with pytest.raises(GameFileError, match="the run has not finished"):
        read_run(tmp_path)


def test_a_config_with_a_control_character_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Found by the fuzzer: a bit flip making a \\x1a in config.yaml reached PyYAML's reader, whose ReaderError
    (raised while the loader is built) escaped as an internal error in `resume` and `report`."""
    (tmp_path / "config.yaml").write_text("name: x\x1a\ngame: matching-pennies\n")
    with pytest.raises(RunDirError, match=r"control character \\x1a"):
        read_text(tmp_path / "config.yaml")
    for command in (["resume", str(tmp_path), "--no-progress"], ["report", str(tmp_path)]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and "internal error" not in err
    assert read_entry(tmp_path.parent, tmp_path).status == "corrupt"


# ------------------------------------------------------------------------------------------- metrics.jsonl
def test_metrics_lines_are_checked_field_by_field(tmp_path: Path) -> None:
    line = {"window": 0, "step": 100, "seed": 0, "episode_return": [1.0, None], "episode_count": 3,
            "reward_mean": ["Infinity", -1.0], "metrics": {"td_error": [0.5, "-Infinity"]}}  # fmt: skip
    path = tmp_path / rundir.METRICS
    path.write_text(json.dumps(line) + "\n\n")
    assert read_metrics_file(path) == [line]
    for edit, message in (
        ({"window": "0"}, r"line 1\.window: expected a whole number"),
        ({"episode_return": [1.0, "NaN"]}, r"line 1\.episode_return\[1\]: expected a number"),
        ({"metrics": {"td_error": 3}}, r"line 1\.metrics\.td_error: expected a list"),
        ({"sede": 0}, r"line 1\.sede: unknown field \(did you mean 'seed'\?\)"),
    ):
        path.write_text(json.dumps({**line, **edit}) + "\n")
        with pytest.raises(RunDirError, match=message):
            read_metrics_file(path)


def test_an_edited_metrics_file_is_refused_before_a_resume_appends(tmp_path: Path) -> None:
    """Found by the fuzzer: a bit flip in the lines a checkpoint covers survived `resume` (it only cut the file
    back to the checkpoint's length), so the finished run's metrics.jsonl differed from an uninterrupted run's.
    Checkpoints now record the SHA-256 of those lines."""
    lines = [json.dumps({"window": w}) for w in range(3)]
    length = rundir.append_metrics(tmp_path, lines)
    digest = rundir.metrics_digest(tmp_path, length).hexdigest()
    rundir.append_metrics(tmp_path, ['{"window": 3}'])  # a later window the checkpoint does not cover
    rundir.check_metrics(tmp_path, length, digest)
    data = bytearray((tmp_path / rundir.METRICS).read_bytes())
    data[5] ^= 1
    (tmp_path / rundir.METRICS).write_bytes(bytes(data))
    with pytest.raises(RunDirError, match="do not match the checkpoint's SHA-256"):
        rundir.check_metrics(tmp_path, length, digest)
    (tmp_path / rundir.METRICS).write_bytes(bytes(data[:10]))
    with pytest.raises(RunDirError, match="lines were lost"):
        rundir.check_metrics(tmp_path, length, digest)


def test_a_folder_in_place_of_a_run_file_is_refused(tmp_path: Path) -> None:
    """Found by the fuzzer: metrics.jsonl replaced by a folder gave IsADirectoryError (exit 1) in `resume`."""
    (tmp_path / rundir.METRICS).mkdir()
    with pytest.raises(RunDirError, match=r"metrics\.jsonl: a folder, where a file is expected"):
        rundir.check_no_links(tmp_path)
    (tmp_path / rundir.METRICS).rmdir()
    (tmp_path / rundir.SEGMENTS).write_text("")
    with pytest.raises(RunDirError, match="segments: not a folder"):
        rundir.check_no_links(tmp_path)


# ---------------------------------------------------------------------------------------- History, segments
def test_history_files_are_read_strictly(tmp_path: Path) -> None:
    path = small_history().save(tmp_path / "h.npz")
    assert History.load(path).meta["game"] == "matching-pennies"
    members = dict(np.load(path, allow_pickle=False))
    cases = [
        ({"episode_count": np.zeros((1, 2), np.float32)}, "episode_count: expected whole numbers"),
        ({"reward_mean": np.zeros((1, 3, 2), np.float32)}, "reward_mean: shape .* does not fit policy's"),
        ({"extra": np.zeros(1)}, "archive member 'extra': not a History array"),
        ({"policy": np.zeros((1, 2, 2, 1, 2), complex)}, "policy: dtype complex128 is not a real number type"),
        ({"header": np.array(json.dumps({"format": "marlkit.history", "version": "1", "meta": {}}))}, "version '1'"),
        ({"header": np.array(json.dumps({"format": "marlkit.history", "version": 1, "meta": []}))}, "meta: expected"),
    ]
    for change, message in cases:
        np.savez(tmp_path / "bad.npz", **{**members, **change})
        with pytest.raises(GameFileError, match=message) as caught:
            History.load(tmp_path / "bad.npz")
        assert str(caught.value).startswith(str(tmp_path / "bad.npz"))


def test_a_segment_is_read_strictly(tmp_path: Path) -> None:
    from marlkit.train.protocol import Record

    (tmp_path / rundir.SEGMENTS).mkdir()
    record = Record(
        policy=np.zeros((2, 1, 2, 1, 2), np.float32),
        average_policy=np.zeros((2, 1, 2, 1, 2), np.float32),
        counts=np.zeros((2, 1, 1, 4), np.int32),
        episode_return=np.zeros((2, 1, 2), np.float32),
        episode_count=np.zeros((2, 1), np.int32),
        reward_mean=np.zeros((2, 1, 2), np.float32),
        metrics={"td_error": np.zeros((2, 1, 2), np.float32)},
    )
    path = rundir.write_segment(tmp_path, 0, record, "h")
    assert len(rundir.load_segments(tmp_path, 1, "h")) == 1
    members = dict(np.load(path, allow_pickle=False))
    cases = [
        ({"counts": np.zeros((2, 1, 1, 4), np.float32)}, "counts: expected 4 dimensions of whole numbers"),
        ({"reward_mean": np.zeros((3, 1, 2), np.float32)}, r"reward_mean: shape \[3, 1, 2\] does not fit"),
        (
            {
                "__header__": np.array(
                    json.dumps({"format": "marlkit.segment", "version": 1, "config_hash": "h", "first": 5})
                )
            },
            "says window 0; a renamed or edited segment",
        ),
        ({"metric.x": np.zeros((2, 1, 3), np.float32)}, "disagree on the number of agents"),
    ]
    for change, message in cases:
        np.savez(path, **{**members, **change})
        with pytest.raises(RunDirError, match=message):
            rundir.load_segments(tmp_path, 1, "h")
