"""Metric sinks (TensorBoard, W&B offline, MLflow file store): each is read back with its own tool's reader and
must hold exactly the scalars of ``metrics.jsonl``; a sink that fails warns and the run's files are complete; a
sink without its package is an error before anything is written.

TensorBoard, wandb and mlflow are optional third-party packages (marlkit's `tensorboard`, `wandb` and `mlflow`
extras, all in the `test` extra); a test that needs one skips without it, and says which.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest

from marlkit.errors import NotApplicableError
from marlkit.experiment import runner, sinks
from marlkit.experiment.rundir import read_metrics
from marlkit.experiment.runner import resume, run
from marlkit.experiment.sinks import SinkSet, SinkWarning, scalars_of

CONFIG = {  # the runner tests' config (one compiled program for both modules): 10 windows of 6,000 steps, 2 seeds
    "name": "sinks-test",
    "game": "matching-pennies",
    "learners": "wolf-phc",
    "steps": 60_000,
    "log_every": 6_000,
    "checkpoint_every": 2,
    "seeds": 2,
    "key": 5,
}


def expected_scalars(path: Path) -> dict[str, dict[int, float]]:
    """What every sink must hold: the scalars of metrics.jsonl by tag and step."""
    lines = [json.dumps(entry) for entry in read_metrics(path)]
    table: dict[str, dict[int, float]] = {}
    for tag, value, step in scalars_of(lines):
        table.setdefault(tag, {})[step] = value
    return table


@pytest.fixture
def skip_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)


def test_scalars_of_a_metrics_line() -> None:
    line = {
        "window": 0,
        "step": 100,
        "seed": 3,
        "episode_return": [1.0, None],
        "episode_count": 2,
        "reward_mean": [0.5, -0.5],
        "metrics": {"td_error": [0.25, 0.75]},
    }
    other = {**line, "seed": 4, "episode_return": [3.0, 2.0]}
    got = {tag: (value, step) for tag, value, step in scalars_of([json.dumps(line), json.dumps(other)])}
    assert got["seed3/episode_return/0"] == (1.0, 100) and "seed3/episode_return/1" not in got  # null: left out
    assert got["seed3/td_error/1"] == (0.75, 100) and got["seed4/reward_mean/1"] == (-0.5, 100)
    assert got["mean/episode_return/0"] == (2.0, 100)  # (1 + 3) / 2
    assert got["mean/episode_return/1"] == (2.0, 100)  # only seed 4's finite value
    assert got["mean/reward_mean/0"] == (0.5, 100)


def test_tensorboard_holds_the_metrics_after_a_kill_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skip_report
) -> None:
    pytest.importorskip("tensorboardX", reason="tensorboardX (the `tensorboard` extra) is not installed")
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard (its reader) is not installed"
    )

    class KilledError(Exception):
        pass

    save = runner.save_checkpoint
    calls = []

    def kill_at_third_checkpoint(*args, **kwargs):  # segment 3's lines already went to the sink
        calls.append(1)
        if len(calls) == 3:
            raise KilledError
        return save(*args, **kwargs)

    monkeypatch.setattr(runner, "save_checkpoint", kill_at_third_checkpoint)
    config = {**CONFIG, "output": {"root": str(tmp_path)}, "sinks": {"tensorboard": True}}
    with pytest.raises(KilledError):
        run(config, progress=False)
    monkeypatch.undo()
    (path,) = tmp_path.glob("sinks-test-*")
    resume(path, progress=False)

    events = accumulator.EventAccumulator(str(path / "tensorboard"), size_guidance={accumulator.SCALARS: 0})
    events.Reload()
    expected = expected_scalars(path)
    assert set(events.Tags()["scalars"]) == set(expected)
    for tag, by_step in expected.items():
        got = [(e.step, e.value) for e in events.Scalars(tag)]
        # each step once (the killed attempt's windows 4-5 purged), in order, float32 as TensorBoard stores them
        assert [step for step, _ in got] == sorted(by_step)
        assert all(math.isclose(value, by_step[step], rel_tol=1e-6, abs_tol=1e-6) for step, value in got)


def read_wandb_history(path: Path) -> dict[str, dict[int, float]]:
    """The history records of an offline W&B run file, read with W&B's protobuf schema.

    The file is a LevelDB-style log (W&B's datastore format): a 7-byte header (``:W&B``, magic 0xBEE1, version 0),
    then records of ``crc32 (4) | length (2, little-endian) | type (1: full, 2: first, 3: middle, 4: last)`` in
    32 KiB blocks, a block's tail shorter than a record header padded with zeros.
    """
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, position, pending, records = 32768, 7, b"", []
    while position + 7 <= len(data):
        if block - position % block < 7:  # padding at the end of a block
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        payload = data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind == 0:
            break
        pending += payload
        if kind in (1, 4):
            records.append(pending)
            pending = b""
    history: dict[str, dict[int, float]] = {}
    for raw in records:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") != "history":
            continue
        items = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
        step = int(items.pop("_step"))
        for tag, value in items.items():
            if not tag.startswith("_"):
                history.setdefault(tag, {})[step] = value
    return history


def test_wandb_offline_and_mlflow_hold_the_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skip_report
) -> None:
    pytest.importorskip("wandb", reason="wandb (the `wandb` extra) is not installed")
    pytest.importorskip("mlflow", reason="mlflow (the `mlflow` extra) is not installed")
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    config = {  # MLflow with no tracking URI: a file store in the run directory
        **CONFIG,
        "output": {"root": str(tmp_path)},
        "sinks": {"wandb": {"enabled": True, "mode": "offline"}, "mlflow": True},
    }
    path = run(config, progress=False).path
    store = f"file://{path / 'mlruns'}"
    expected = expected_scalars(path)

    (wandb_file,) = path.glob("wandb/offline-run-*/run-*.wandb")
    history = read_wandb_history(wandb_file)
    assert set(history) == set(expected)
    for tag, by_step in expected.items():
        assert history[tag].keys() == by_step.keys()
        assert all(math.isclose(history[tag][step], value, rel_tol=1e-12) for step, value in by_step.items())

    run_id = json.loads((path / sinks.SINKS_FILE).read_text())["mlflow_run_id"]
    client = MlflowClient(tracking_uri=store)
    logged = client.get_run(run_id)
    assert logged.info.status == "FINISHED" and logged.data.params["learners.name"] == "wolf-phc"
    assert logged.data.params["steps"] == "60000" and logged.data.params["learners.params.epsilon"] == "0.05"
    for tag, by_step in expected.items():
        got = {m.step: m.value for m in client.get_metric_history(run_id, tag)}
        assert got.keys() == by_step.keys()
        assert all(math.isclose(got[step], value, rel_tol=1e-12) for step, value in by_step.items())


class FailingSink:
    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    def write(self, scalars) -> None:
        self.calls += 1
        raise OSError("no space left on device")

    def close(self) -> None:
        raise AssertionError("a dropped sink is not closed again")


def test_a_failing_sink_warns_once_and_is_dropped() -> None:
    failing = FailingSink()
    sink_set = SinkSet([failing])
    line = json.dumps(
        {
            "window": 0,
            "step": 10,
            "seed": 0,
            "episode_return": [1.0],
            "episode_count": 1,
            "reward_mean": [1.0],
            "metrics": {},
        }
    )
    with pytest.warns(SinkWarning, match="the failing sink failed and is switched off .*no space left on device"):
        sink_set.write([line])
    sink_set.write([line])
    sink_set.close()
    assert failing.calls == 1 and sink_set.sinks == []


def test_a_sink_that_cannot_open_leaves_the_run_complete(tmp_path: Path, skip_report) -> None:
    pytest.importorskip("tensorboardX", reason="tensorboardX (the `tensorboard` extra) is not installed")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the event folder should be")
    sink = {"tensorboard": {"enabled": True, "log_dir": str(blocker)}}
    config = {**CONFIG, "output": {"root": str(tmp_path)}, "sinks": sink}
    with pytest.warns(SinkWarning, match="tensorboard sink"):
        path = run(config, progress=False).path
    assert len(read_metrics(path)) == 20 and (path / "summary.json").is_file()


def test_a_sink_without_its_package_is_an_error_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sinks.importlib.util, "find_spec", lambda name: None)
    config = {**CONFIG, "output": {"root": str(tmp_path)}, "sinks": {"mlflow": True}}
    message = r'sinks.mlflow: the mlflow package is not installed; pip install "marlkit\[mlflow\]"'
    with pytest.raises(NotApplicableError, match=message):
        run(config, progress=False)
    assert list(tmp_path.iterdir()) == []
