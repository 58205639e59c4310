"""Sweeps: grid parsing and its errors, the run-directory layout, and the local and Ray backends giving the same
Histories bit for bit (a real local Ray instance, loopback only)."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from marlkit.cli import main
from marlkit.errors import InvalidGameError, MarlkitError, UnknownNameError
from marlkit.experiment.sweep import grid_points, parse_grid, point_folder, run_sweep
from marlkit.history import History

# shapes shared with the other modules here (2x2 games, IQL, 1000 steps logged every 10, 2 seeds): one compile
CONFIG = {
    "name": "sw",
    "game": "matching-pennies",
    "learners": {"name": "iql", "params": {"step_size": 0.1}},  # one learner for all agents
    "steps": 1000,
    "log_every": 10,
    "seeds": 2,
    "key": 0,
}
GRID = ["key=0,1", "game=matching-pennies,prisoners-dilemma"]
ARRAYS = (
    "steps",
    "seeds",
    "policy",
    "average_policy",
    "joint_counts",
    "episode_return",
    "episode_count",
    "reward_mean",
)


def test_grid_is_the_product_in_order() -> None:
    axes = parse_grid(CONFIG, ["learners.params.step_size=0.05,0.1", "steps=1000,2000"])
    points = grid_points(CONFIG, axes)
    assert [o for o, _ in points] == [
        {"learners.params.step_size": 0.05, "steps": 1000},
        {"learners.params.step_size": 0.05, "steps": 2000},
        {"learners.params.step_size": 0.1, "steps": 1000},
        {"learners.params.step_size": 0.1, "steps": 2000},
    ]
    assert points[1][1]["steps"] == 2000 and points[1][1]["learners"]["params"]["step_size"] == 0.05
    assert CONFIG["steps"] == 1000 and CONFIG["learners"]["params"]["step_size"] == 0.1  # not mutated
    assert point_folder(3, {"a.b": 1, "c": "x/y"}) == "3-a.b=1,c=x_y"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("stepz=1,2", "has no key 'stepz'"),
        ("learners.3.params.step_size=0.1", "learners has no key '3'"),
        ("steps=1000,lots", "is a str, but the config's steps is a int"),
        ("learners.params.step_size=true", "is a bool"),
        ("steps", "expected key=v1,v2"),
        ("learners=iql", "sweep a scalar inside"),
    ],
)
def test_bad_grid_items_fail_in_one_line(item: str, message: str) -> None:
    with pytest.raises(InvalidGameError, match=message):
        parse_grid(CONFIG, [item])


def test_bad_sweeps_fail_before_any_compute(tmp_path: Path, capsys) -> None:
    config = tmp_path / "sweep.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "runs"
    for args, message in [
        (["--grid", "nope=1,2"], "has no key 'nope'"),
        (["--grid", "steps=1,2", "--grid", "steps=3"], "given twice"),
        (["--grid", "game=matching-pennies,no-such-game"], "no-such-game"),
        (["--grid", "steps=1000", "--backend", "slurm"], "--backend 'slurm'"),
        (["--grid", "steps=1000", "--address", "127.0.0.1:1"], "--address applies to --backend ray"),
    ]:
        assert main(["sweep", str(config), *args, "--out", str(out)]) == 2, args
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, (args, err)
    assert not out.exists() or not any(out.iterdir())  # nothing half written
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(InvalidGameError, match="cannot create"):
        run_sweep(CONFIG, ["key=0"], root=blocker / "runs")
    with pytest.raises(UnknownNameError):
        run_sweep({**CONFIG, "learners": "no-such-learner"}, ["key=0"], root=out)


def _histories(directory: Path) -> dict[str, History]:
    return {p.name: History.load(p / "history.npz") for p in sorted((directory / "points").iterdir())}


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_sweep(CONFIG, GRID, backend="local", workers=2, root=tmp_path_factory.mktemp("local"))


def test_local_sweep_layout(local_sweep: Path) -> None:
    summary = json.loads((local_sweep / "summary.json").read_text())
    assert [p["overrides"] for p in summary["points"]] == [
        {"key": 0, "game": "matching-pennies"},
        {"key": 0, "game": "prisoners-dilemma"},
        {"key": 1, "game": "matching-pennies"},
        {"key": 1, "game": "prisoners-dilemma"},
    ]
    for point in summary["points"]:
        folder = local_sweep / point["folder"]
        config = yaml.safe_load((folder / "config.yaml").read_text())
        assert config["key"] == point["overrides"]["key"] and config["game"]["name"] == point["overrides"]["game"]
        history = History.load(folder / "history.npz")
        assert history.meta["game"] == point["overrides"]["game"] and history.n_seeds == CONFIG["seeds"]
        run_summary = json.loads((folder / "summary.json").read_text())  # an ordinary run directory
        assert run_summary["kind"] == "run" and set(run_summary["diagnosis"]["results"]) == set(
            point["metrics"]["fractions"]
        )
        assert (folder / "report.html").is_file() and (folder / "metrics.jsonl").is_file()
    assert "report.html" in {p.name for p in local_sweep.iterdir()}
    histories = list(_histories(local_sweep).values())
    assert not np.array_equal(histories[0].joint_counts, histories[2].joint_counts)  # the key axis matters


class _ListeningSockets(threading.Thread):
    """Polls, until stopped, the listening TCP/UDP sockets of this process and all its descendants (a local Ray
    instance's GCS server, raylet, workers, agents and autoscaler monitor are all descendants of the driver)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[tuple[str, str, int], str] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stop.is_set():
            try:
                processes = [me, *me.children(recursive=True)]
            except psutil.Error:
                processes = [me]
            for process in processes:
                try:
                    name, connections = process.name(), process.net_connections(kind="inet")
                except psutil.Error:
                    continue  # ended meanwhile
                for c in connections:
                    if c.status == psutil.CONN_LISTEN or (c.type == socket.SOCK_DGRAM and c.laddr):
                        self.seen[(name, c.laddr.ip, c.laddr.port)] = name
            self.stop.wait(0.2)


def _loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or address).is_loopback


@pytest.mark.slow  # starts a real Ray instance (~15-30 s on 2 cores) and compiles in its workers
def test_ray_sweep_matches_the_local_sweep_bit_for_bit(local_sweep: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    sockets = _ListeningSockets()
    sockets.start()
    try:
        ray_sweep = run_sweep(CONFIG, GRID, backend="ray", workers=2, root=tmp_path)
    finally:
        sockets.stop.set()
        sockets.join()
    # issue 15: the local Ray instance listens on the loopback interface only, and we did see it listen
    names = {name for name, _, _ in sockets.seen}
    assert {"gcs_server", "raylet"} <= names, sockets.seen
    exposed = {key for key in sockets.seen if not _loopback(key[1])}
    assert not exposed, f"listening beyond loopback: {sorted(exposed)}"
    assert any((ray_sweep / "ray" / "logs").glob("session_*/gcs_server.out")), "Ray's logs are not in the sweep"
    local, remote = _histories(local_sweep), _histories(ray_sweep)
    assert list(local) == list(remote) and len(local) == 4
    for name, history in local.items():
        for array in ARRAYS:
            assert np.array_equal(getattr(history, array), getattr(remote[name], array), equal_nan=True), (name, array)
    local_summary = json.loads((local_sweep / "summary.json").read_text())
    ray_summary = json.loads((ray_sweep / "summary.json").read_text())
    assert ray_summary["backend"] == "ray"
    for a, b in zip(local_summary["points"], ray_summary["points"], strict=True):
        assert a["overrides"] == b["overrides"] and a["metrics"]["fractions"] == b["metrics"]["fractions"]


def test_a_stopped_sweep_resumes_point_by_point(
    local_sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: a sweep stopped mid-way computes only the points it had not finished, through the runner."""
    from marlkit.experiment import sweep

    stopped = tmp_path / local_sweep.name
    shutil.copytree(local_sweep, stopped)
    for name in ("summary.json", "report.html"):
        (stopped / name).unlink()
    points = sorted((stopped / "points").iterdir())
    for child in points[2].iterdir():  # killed while its run directory was created (no config.yaml yet)
        if child.name != "metrics.jsonl":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    finished = {p.name: (p / "point.json").read_bytes() for p in (points[0], points[1], points[3])}
    computed: list[str] = []
    real = sweep._run_or_resume

    def spy(config: dict, folder: Path) -> object:
        computed.append(folder.name)
        return real(config, folder)

    monkeypatch.setattr(sweep, "_run_or_resume", spy)
    monkeypatch.setitem(sweep.BACKENDS, "local", lambda jobs, workers, address: [sweep.run_point(*j) for j in jobs])
    assert main(["resume", str(stopped), "--no-progress"]) == 0
    assert computed == [points[2].name]  # the finished points are read back, not recomputed
    assert {p.name: (p / "point.json").read_bytes() for p in (points[0], points[1], points[3])} == finished
    original, resumed = _histories(local_sweep), _histories(stopped)
    for name, history in original.items():
        for array in ARRAYS:
            assert np.array_equal(getattr(history, array), getattr(resumed[name], array), equal_nan=True), array
    summary = json.loads((stopped / "summary.json").read_text())
    assert [p["metrics"]["fractions"] for p in summary["points"]] == [
        p["metrics"]["fractions"] for p in json.loads((local_sweep / "summary.json").read_text())["points"]
    ]
    assert (stopped / "report.html").is_file()
    assert main(["resume", str(stopped), "--no-progress"]) == 2  # finished: nothing to resume


def test_recycled_local_workers_give_the_same_histories(
    local_sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one point per worker process (sweep.POINTS_PER_WORKER bounds the memory mappings compiled programs keep)
    monkeypatch.setattr("marlkit.experiment.sweep.POINTS_PER_WORKER", 1)
    recycled = _histories(run_sweep(CONFIG, GRID[:1], backend="local", workers=1, root=tmp_path))
    local = _histories(local_sweep)
    twins = {"0-key=0": "0-key=0,game=matching-pennies", "1-key=1": "2-key=1,game=matching-pennies"}
    assert list(recycled) == list(twins)
    for name, history in recycled.items():
        for array in ARRAYS:
            assert np.array_equal(getattr(history, array), getattr(local[twins[name]], array), equal_nan=True), array


def test_the_sweep_page_table_does_not_overflow_the_page(local_sweep: Path) -> None:
    """Issue 14 item 9: the points table (long point folders) ran past the page's width."""
    from marlkit.experiment.report import html_page, html_table

    text = (local_sweep / "report.html").read_text(encoding="utf-8")
    assert text.count('<div class="wide"><table>') == text.count("<table>") >= 2
    assert "div.wide { max-width: 100%; overflow-x: auto; }" in text and "overflow-wrap: anywhere" in text
    page = html_page("t", [("s", html_table(["a"], [["x" * 300]]))])
    assert '<div class="wide"><table>' in page


@pytest.mark.parametrize(
    ("error", "says", "fix"),
    [
        (errno.ENOSPC, "the disk is full", "free space"),
        (errno.EACCES, "permission denied", "make it writable"),
    ],
    ids=["full", "not-writable"],
)
def test_a_disk_error_in_a_sweep_is_one_line_naming_the_sweep_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, skip_report, error: int, says: str, fix: str
) -> None:
    """Issue 15: a full or read-only disk while a point's run was written came back from the worker as a raw
    OSError (exit 1, a traceback); now one line — what to free, and to resume the sweep (not the point) — exit 2,
    and `marlkit resume SWEEP` computes only what was not finished."""
    from marlkit.experiment import rundir, sweep

    # the points in this process (as test_a_stopped_sweep_resumes_point_by_point does), so the fault reaches them
    monkeypatch.setitem(sweep.BACKENDS, "local", lambda jobs, workers, address: [sweep.run_point(*j) for j in jobs])
    real_append = rundir.append_metrics

    def append_metrics(run: Path, lines: object) -> int:
        if run.name.startswith("1-"):  # the second point, at its first segment's metrics lines
            raise OSError(error, os.strerror(error), str(run / "metrics.jsonl"))
        return real_append(run, lines)

    monkeypatch.setattr(rundir, "append_metrics", append_metrics)
    config = tmp_path / "sweep.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "checkpoint_every": 50}))
    assert main(["sweep", str(config), "--grid", "key=0,1", "--out", str(tmp_path / "runs")]) == 2
    (directory,) = (tmp_path / "runs").iterdir()
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    assert says in err and fix in err and err.endswith(f"then continue with: marlkit resume {directory}"), err
    assert "metrics.jsonl" in err  # the file it was writing
    monkeypatch.setattr(rundir, "append_metrics", real_append)
    computed: list[str] = []
    real_run = sweep._run_or_resume

    def spy(config: dict, folder: Path) -> object:
        computed.append(folder.name)
        return real_run(config, folder)

    monkeypatch.setattr(sweep, "_run_or_resume", spy)
    leftover = directory / ".summary.json.0123456789abcdef.tmp"  # what a kill in the summary's write leaves
    leftover.write_text("{")
    assert main(["resume", str(directory), "--no-progress"]) == 0
    assert computed == ["1-key=1"]  # the finished point is read back
    summary = json.loads((directory / "summary.json").read_text())
    assert [p["overrides"] for p in summary["points"]] == [{"key": 0}, {"key": 1}]
    assert (directory / "report.html").is_file() and not list(directory.rglob(".*.tmp"))
    # a point killed while its point.json was written (its run finished): the temp file goes, the point is read back
    point = directory / "points" / "0-key=0"
    metrics = json.loads((point / "point.json").read_text())
    (point / "point.json").rename(point / ".point.json.0123456789abcdef.tmp")
    (point / "report.html").write_text("<!DOCTYPE html>")  # the page this test's runs skip (skip_report)
    again = sweep.run_point(yaml.safe_load((point / "config.yaml").read_text()), str(point))
    assert computed == ["1-key=1", "0-key=0"] and not list(point.glob(".*.tmp"))
    assert {k: v for k, v in again.items() if k != "train_seconds"} == {
        k: v for k, v in metrics.items() if k != "train_seconds"
    }


def test_a_failed_point_cancels_the_points_not_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local sweep whose point fails (a full disk) stops: the points still queued are cancelled, not all computed
    on a disk that is full."""
    from marlkit.experiment import sweep

    started: list[str] = []

    class Future:
        def __init__(self, folder: str) -> None:
            self.folder, self.cancelled = folder, False

        def result(self) -> dict:
            if self.folder.endswith("0"):
                raise MarlkitError("disk full")
            started.append(self.folder)
            return {}

        def cancel(self) -> bool:
            self.cancelled = True
            return True

    futures: list[Future] = []

    class Pool:
        def __init__(self, **kwargs: object) -> None:
            pass

        def __enter__(self) -> Pool:
            return self

        def __exit__(self, *args: object) -> None:
            pass

        def submit(self, function: object, config: dict, folder: str) -> Future:
            futures.append(Future(folder))
            return futures[-1]

    monkeypatch.setattr(sweep, "ProcessPoolExecutor", Pool)
    with pytest.raises(MarlkitError, match="disk full"):
        sweep.run_local([({}, "p0"), ({}, "p1"), ({}, "p2")], workers=1)
    assert started == [] and all(f.cancelled for f in futures)
