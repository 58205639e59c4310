"""Kill points (issue 15): a run or a study killed at EVERY durable write it makes resumes to the files of an
uninterrupted one, bit for bit, and leaves no temp file behind.

A durable write is a call of ``os.replace``, ``os.rename``, ``os.fsync`` (of a file or of a folder),
``os.unlink`` or ``os.rmdir`` made by marlkit's own code (directly or through :mod:`pathlib`):
:class:`DurableWrites` replaces those functions, counts the calls whose caller is a marlkit module, and raises
:class:`Killed` (a ``BaseException``: no ``except Exception`` can swallow it) before the k-th. Calls made by other
libraries (JAX's compilation cache, ``tempfile``, ``shutil.rmtree``) are neither counted nor killed.

For every k, and once more "after the last call", the same config runs in-process up to the k-th call, then is
resumed. Two states are checked per k:

* the directory as the exception left it (``except BaseException`` clean-ups ran, as they do for Ctrl-C or an
  error), and
* a copy taken just before the k-th call, while the process was alive: what a SIGKILL at that instant leaves (no
  clean-up runs; a killed process's completed system calls are all on disk, its unflushed buffers are not — marlkit
  flushes before every fsync).

Then a few real SIGKILLs in child processes, one per distinct call site, confirm the model.

Pictures: a run's report draws ten PNGs (~4 s) into a private temp folder (``marlkit-report-*``), outside the run
directory, then writes ``report.html`` in it. The every-k tests render the page without pictures
(``render_run_report(pictures=False)``: the same ``report.html`` write, no PNG writes), and the study's heatmap is
one small figure through the same ``save_figure``; the SIGKILL test kills one run inside a real picture write.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import marlkit
from marlkit.cli import main
from marlkit.experiment import report, study
from marlkit.experiment.rundir import RunDirError
from marlkit.experiment.runner import resume, run

RUN = {
    "name": "kill-points",
    "game": "matching-pennies",
    "learners": "wolf-phc",
    "steps": 400,
    "log_every": 100,
    "checkpoint_every": 2,  # 2 segments of 2 windows: a kill in the first starts over, in the second resumes
    "seeds": 2,
    "key": 5,
}
WATCHED = ("replace", "rename", "fsync", "unlink", "rmdir")
MARLKIT = str(Path(marlkit.__file__).parent) + os.sep
_TMP = re.compile(r"^\.(.+)\.[0-9a-f]{16}\.tmp$")  # marlkit.atomic's temp files
_SEGMENT = re.compile(r"^windows-\d{6,}-\d{6,}\.npz$")
_STAMPED = re.compile(r"-\d{8}-\d{6}$")
_TEMP_FOLDER = re.compile(r"^(marlkit-(?:report|study)-).+$")  # tempfile.mkdtemp's random suffix


class Killed(BaseException):
    """Stands in for a kill just before one durable write."""


@dataclass(frozen=True)
class Call:
    """One durable write: the system call, marlkit's function that made it, and the file (its temp-file and
    segment names normalised, so two runs' sequences compare; folders end in ``/``)."""

    name: str
    site: str
    target: str

    def __str__(self) -> str:
        return f"{self.site} {self.name} {self.target}"


def _caller_site() -> str | None:
    """``module.py:function`` of the marlkit code that made this system call (through pathlib or not), else None."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == pathlib.__file__:
        frame = frame.f_back
    if frame is None or not frame.f_code.co_filename.startswith(MARLKIT):
        return None
    return f"{frame.f_code.co_filename[len(MARLKIT) :]}:{frame.f_code.co_name}"


def _target(name: str, args: tuple[Any, ...]) -> str:
    if name == "fsync":
        try:
            path = os.readlink(f"/proc/self/fd/{args[0]}")
        except OSError:  # no /proc (not Linux): the call is still counted
            return "?"
    else:
        path = os.fspath(args[0])
    base = os.path.basename(path)
    base = _TMP.sub(r"\1", base)
    base = "windows-*.npz" if _SEGMENT.match(base) else _TEMP_FOLDER.sub(r"\1*", _STAMPED.sub("-STAMP", base))
    if base.startswith("k") and base[1:].isdigit():
        base = "RUN"  # the run directories of this module are k<index>
    return base + ("/" if os.path.isdir(path) and name == "fsync" else "")


class DurableWrites:
    """Count marlkit's durable writes; with ``kill_at`` raise :class:`Killed` before that call (1-based), after
    calling ``before_kill`` (which may copy the run directory: its SIGKILL state)."""

    def __init__(self, kill_at: int | None = None, before_kill: Callable[[], None] | None = None) -> None:
        self.calls: list[Call] = []
        self.kill_at, self.before_kill, self.killed = kill_at, before_kill, False

    def install(self, monkeypatch: pytest.MonkeyPatch) -> DurableWrites:
        for name in WATCHED:
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name)))
        return self

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            site = None if self.killed else _caller_site()
            if site is not None:
                self.calls.append(Call(name, site, _target(name, args)))
                if len(self.calls) == self.kill_at:
                    self.killed = True  # the clean-ups an exception runs are not counted
                    if self.before_kill is not None:
                        self.before_kill()
                    raise Killed(str(self.calls[-1]))
            return real(*args, **kwargs)

        return call


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if _TMP.match(p.name)]


def npz_arrays(path: Path) -> dict[str, tuple[str, tuple[int, ...], bytes]]:
    """Every member of an NPZ file (dtype, shape, bytes): zip timestamps aside, the file's content."""
    with np.load(path, allow_pickle=False) as archive:
        return {k: (str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()) for k, a in archive.items()}


def without(data: Any, *keys: str) -> Any:
    """``data`` with the named keys removed at every level (wall-clock times, digests that cover them)."""
    if isinstance(data, dict):
        return {k: without(v, *keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [without(v, *keys) for v in data]
    return data


def checkpoint_content(path: Path) -> tuple[dict, dict]:
    """A checkpoint's arrays, and its header without the wall-clock time (and the digest that covers it)."""
    arrays = npz_arrays(path)
    del arrays["__header__"]
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(str(archive["__header__"]))
    return arrays, without(header, "elapsed_s", "digest")


def assert_same_run(path: Path, reference: Path) -> None:
    """``path`` holds the files of the uninterrupted ``reference`` run: histories, metrics lines, game and
    checkpoint bit for bit, the same summary (verdicts, learning statistics; wall-clock time aside), a page, and
    no temp file or segment left."""
    assert sorted(p.name for p in path.iterdir()) == sorted(p.name for p in reference.iterdir())
    assert npz_arrays(path / "history.npz") == npz_arrays(reference / "history.npz")
    assert (path / "metrics.jsonl").read_bytes() == (reference / "metrics.jsonl").read_bytes()
    assert (path / "config.yaml").read_bytes() == (reference / "config.yaml").read_bytes()
    assert npz_arrays(path / "game.npz") == npz_arrays(reference / "game.npz")
    assert checkpoint_content(path / "checkpoint.npz") == checkpoint_content(reference / "checkpoint.npz")
    summary, expected = (json.loads((p / "summary.json").read_text()) for p in (path, reference))
    assert summary["diagnosis"]["summary"] and summary["diagnosis"] == expected["diagnosis"]  # the verdicts
    assert without(summary, "training_seconds") == without(expected, "training_seconds")
    assert (path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert not temp_files(path) and not (path / "segments").exists()


@dataclass(frozen=True)
class SmallStudy(study.StudyConfig):
    """The default study's grid, shrunk (shapes shared with test_study.py: one compile): 2 games x 2 learners, of
    which minimax-q is skipped on both (general-sum games), so 2 cells train."""

    games: tuple[str, ...] = ("stag-hunt", "prisoners-dilemma")
    learners: tuple[str, ...] = ("iql", "minimax-q")
    steps: int = 1000
    log_every: int = 10
    seeds: int = 2


def small_heatmap(cells: object, path: Path) -> Path:
    """The study's heatmap as one small figure, written as the real one is (``save_figure``)."""
    from matplotlib.figure import Figure

    from marlkit.diagnose.plots import save_figure

    return save_figure(Figure(figsize=(1, 1)), path)


@pytest.fixture(scope="module")
def patches() -> Iterator[pytest.MonkeyPatch]:
    """Module-wide: run pages without pictures, a small default study with a small heatmap (module docstring)."""
    with pytest.MonkeyPatch.context() as mp:
        real = report.render_run_report
        mp.setattr(report, "render_run_report", lambda directory, **kw: real(directory, **{**kw, "pictures": False}))
        mp.setattr(study, "StudyConfig", SmallStudy)  # `marlkit run` (no config) builds StudyConfig()
        mp.setattr(study, "plot_study_heatmaps", small_heatmap)
        yield mp


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, patches) -> tuple[Path, list[Call]]:
    """An uninterrupted run (its directory named like the killed ones) and its durable writes."""
    root = tmp_path_factory.mktemp("kill-points") / "root"  # every run's root folder is named root
    with pytest.MonkeyPatch.context() as mp:
        writes = DurableWrites().install(mp)
        path = run({**RUN, "output": {"root": str(root)}}, run_dir=root / "k0", progress=False).path
    return path, writes.calls


def test_the_run_makes_the_durable_writes_the_kill_points_cover(reference) -> None:
    """The sequence the every-k test walks: creation, then per segment its records, metrics lines and checkpoint,
    then history, summary, the segments' removal and the page. A change in it shows here first."""
    _, calls = reference
    sites = [(c.site, c.name, c.target) for c in calls]
    write = [
        ("atomic.py:write_with", "fsync", "{}"),
        ("atomic.py:write_with", "replace", "{}"),
        ("atomic.py:sync_folder", "fsync", "{}/"),
    ]

    def atomic(name: str, folder: str = "RUN") -> list[tuple[str, str, str]]:
        return [(s, n, t.format(folder if t.endswith("/") else name)) for s, n, t in write]

    segment = [
        *atomic("windows-*.npz", "segments"),
        ("experiment/rundir.py:append_metrics", "fsync", "metrics.jsonl"),
        *atomic("checkpoint.npz"),
    ]
    expected = [
        ("atomic.py:sync_folder", "fsync", "root/"),  # the root folder, after creating the run directory in it
        *atomic("game.npz"),
        *atomic("metrics.jsonl"),
        *atomic("config.yaml"),
        *segment,
        *segment,
        *atomic("history.npz"),
        *atomic("summary.json"),
        ("experiment/rundir.py:drop_segments", "unlink", "windows-*.npz"),
        ("experiment/rundir.py:drop_segments", "unlink", "windows-*.npz"),
        ("experiment/rundir.py:drop_segments", "rmdir", "segments"),
        *atomic("report.html"),
    ]
    assert sites == expected


def killed(action: Callable[[], object], k: int, target: Path, frozen: Path) -> DurableWrites:
    """Run ``action`` killed before its k-th durable write, copying ``target`` to ``frozen`` just before (the
    SIGKILL state); returns the writes it made (all of them if it has fewer than k)."""

    def freeze() -> None:
        if target.exists():
            shutil.copytree(target, frozen)

    writes = DurableWrites(k, before_kill=freeze)
    with pytest.MonkeyPatch.context() as mp:
        writes.install(mp)
        with contextlib.suppress(Killed):
            action()
    return writes


def index_of(calls: list[Call], text: str) -> int:
    """The 1-based index of the first write described by ``text``."""
    return [str(c) for c in calls].index(text) + 1


def test_a_run_killed_at_every_durable_write_resumes_identically(reference, tmp_path: Path) -> None:
    path, calls = reference
    config = {**RUN, "output": {"root": str(path.parent)}}
    created = index_of(calls, "atomic.py:write_with replace config.yaml")  # config.yaml is in place after it
    paged = index_of(calls, "atomic.py:write_with replace report.html")  # the run is complete after it
    failures = []
    for k in range(1, len(calls) + 2):  # len(calls) + 1: killed after the last write (the run had finished)
        target, frozen = tmp_path / "root" / f"k{k}", tmp_path / "frozen" / f"k{k}"
        try:
            writes = killed(lambda: run(config, run_dir=target, progress=False), k, target, frozen)  # noqa: B023
            assert [str(c) for c in writes.calls] == [str(c) for c in calls[:k]], "another write sequence"
            # as the exception left it: a run stopped while its folder was made is removed (nothing trained)
            check_resumed(target, path, created=k > created + 1, finished=k > paged)
            if writes.killed:  # as a SIGKILL would have left it
                check_resumed(frozen, path, created=k > created, finished=k > paged)
        except Exception as exc:  # every kill point is checked; the failures are listed together
            point = str(calls[k - 1]) if k <= len(calls) else "after the last write"
            failures.append(f"k={k} ({point}): {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


def test_a_resume_killed_at_every_durable_write_resumes_identically(reference, tmp_path: Path) -> None:
    """A run killed (SIGKILL state) in its second segment's checkpoint write — a temp file left, metrics lines and a
    segment past its checkpoint — is resumed; that resume, which first cleans, truncates and drops, is killed at
    each of its own writes, then resumed again."""
    path, calls = reference
    config = {**RUN, "output": {"root": str(path.parent)}}
    second = [i + 1 for i, c in enumerate(calls) if str(c) == "atomic.py:write_with replace checkpoint.npz"][1]
    start = tmp_path / "start" / "k0"
    killed(
        lambda: run(config, run_dir=tmp_path / "root" / "k0", progress=False), second, tmp_path / "root" / "k0", start
    )
    assert any(start.glob(".checkpoint.npz.*.tmp")) and len(list((start / "segments").iterdir())) == 2
    shutil.copytree(start, tmp_path / "count" / "k0")
    with pytest.MonkeyPatch.context() as mp:
        writes = DurableWrites().install(mp)
        resume(tmp_path / "count" / "k0", progress=False)
    sequence = [str(c) for c in writes.calls]
    assert sequence[:3] == [
        "experiment/rundir.py:clean_leftovers unlink checkpoint.npz",  # the killed write's temp file
        "experiment/rundir.py:truncate_metrics fsync metrics.jsonl",  # the lines past the checkpoint
        "experiment/rundir.py:drop_segments unlink windows-*.npz",  # the segment past the checkpoint
    ]
    paged = index_of(writes.calls, "atomic.py:write_with replace report.html")
    failures = []
    for k in range(1, len(sequence) + 1):
        target, frozen = tmp_path / "root" / f"k{k}", tmp_path / "frozen" / f"k{k}"
        shutil.copytree(start, target)
        try:
            writes = killed(lambda: resume(target, progress=False), k, target, frozen)  # noqa: B023
            assert [str(c) for c in writes.calls] == sequence[:k], "another write sequence"
            check_resumed(target, path, created=True, finished=k > paged)
            check_resumed(frozen, path, created=True, finished=k > paged)
        except Exception as exc:
            failures.append(f"k={k} ({sequence[k - 1]}): {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


def check_resumed(state: Path, reference: Path, created: bool, finished: bool) -> None:
    """Resume ``state`` and compare it with ``reference``; a run killed before its ``config.yaml`` was in place
    trained nothing and has nothing to resume, and resume says so (or finds no folder: the exception removed it)."""
    if not created:
        if state.exists():
            with pytest.raises(RunDirError, match=r"not a run directory \(no config.yaml\).*start it again"):
                resume(state, progress=False)
        return
    if finished:
        with pytest.raises(RunDirError, match="already finished"):
            resume(state, progress=False)
    else:
        resume(state, progress=False)
    assert_same_run(state, reference)


# ------------------------------------------------------------------------------------------ the default study
CELL_FILES = ("config.yaml", "history.npz", "metrics.jsonl", "summary.json")
TRAINED = ["stag-hunt--iql", "prisoners-dilemma--iql"]


@pytest.fixture(scope="module")
def study_reference(tmp_path_factory: pytest.TempPathFactory, patches) -> tuple[Path, list[Call]]:
    """An uninterrupted default study (``marlkit run`` without a config) and its durable writes."""
    root = tmp_path_factory.mktemp("study") / "root"
    with pytest.MonkeyPatch.context() as mp:
        writes = DurableWrites().install(mp)
        assert main(["run", "--root", str(root), "--no-progress"]) == 0
    (directory,) = root.iterdir()
    return directory, writes.calls


def assert_same_study(directory: Path, reference: Path) -> None:
    """Every cell's files as the uninterrupted study's (wall-clock times aside), its summary and a page."""
    assert sorted(p.name for p in directory.iterdir()) == sorted(p.name for p in reference.iterdir())
    assert sorted(p.name for p in (directory / "cells").iterdir()) == sorted(TRAINED)
    for cell in TRAINED:
        here, there = directory / "cells" / cell, reference / "cells" / cell
        assert sorted(p.name for p in here.iterdir()) == sorted(CELL_FILES)
        assert npz_arrays(here / "history.npz") == npz_arrays(there / "history.npz")
        for name in ("config.yaml", "metrics.jsonl"):
            assert (here / name).read_bytes() == (there / name).read_bytes()
        summary, expected = (json.loads((p / "summary.json").read_text()) for p in (here, there))
        assert without(summary, "seconds", "wall_time_s") == without(expected, "seconds", "wall_time_s")
    summary, expected = (json.loads((p / "summary.json").read_text()) for p in (directory, reference))
    assert without(summary, "seconds", "wall_time_s", "finished") == without(
        expected, "seconds", "wall_time_s", "finished"
    )
    assert len(summary["cells"]) == 4 and (directory / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert not temp_files(directory)


def file_ids(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())}


def check_study_resumed(root: Path, reference: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``marlkit resume`` the study under ``root``: finished cells are not trained again (nor their files touched),
    the others are, and the study ends as the uninterrupted one; a study killed before its config.yaml trained
    nothing and is refused in one line."""
    from marlkit.train.loop import TrainPlan

    found = list(root.glob("default-study-*")) if root.is_dir() else []
    if not found:
        return  # killed before the study's folder existed
    (directory,) = found
    if not (directory / "config.yaml").is_file():
        assert main(["resume", str(directory), "--no-progress"]) == 2
        return
    finished = {
        cell.name: file_ids(cell)
        for cell in sorted((directory / "cells").glob("*"))
        if (cell / "summary.json").is_file()
    }
    complete = (directory / "summary.json").is_file() and (directory / "report.html").is_file()
    trained: list[str] = []
    real_run, real_diagnose = TrainPlan.run, study.diagnose_cell

    def counted_run(plan: TrainPlan) -> object:
        trained.append("run")
        return real_run(plan)

    def diagnose(game: str, learner: str, *args: object) -> object:
        trained.append(f"{game}--{learner}")
        return real_diagnose(game, learner, *args)

    with monkeypatch.context() as mp:
        mp.setattr(TrainPlan, "run", counted_run)
        mp.setattr(study, "diagnose_cell", diagnose)
        assert main(["resume", str(directory), "--no-progress"]) == (2 if complete else 0)
    unfinished = [cell for cell in TRAINED if cell not in finished]
    expected = [] if complete else [step for cell in unfinished for step in ("run", cell)]
    assert trained == expected, (trained, sorted(finished))
    for cell, ids in finished.items():  # read back: not one of its files was rewritten
        assert file_ids(directory / "cells" / cell) == ids, cell
    assert_same_study(directory, reference)


def test_the_default_study_killed_at_every_durable_write_resumes_without_recomputing(
    study_reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Issue 15: "the default study killed mid-way resumes without recomputing finished cells" — at every durable
    write of `marlkit run` without a config (its config, each cell's files, the study's summary and page)."""
    reference, calls = study_reference
    assert sum(str(c) == "atomic.py:write_with replace summary.json" for c in calls) == len(TRAINED) + 1
    failures = []
    for k in range(1, len(calls) + 1):
        root, frozen = tmp_path / f"s{k}" / "root", tmp_path / f"f{k}" / "root"
        try:
            writes = killed(lambda: main(["run", "--root", str(root), "--no-progress"]), k, root, frozen)  # noqa: B023
            assert writes.killed and [str(c) for c in writes.calls] == [str(c) for c in calls[:k]]
            check_study_resumed(root, reference, monkeypatch)
            check_study_resumed(frozen, reference, monkeypatch)
        except Exception as exc:
            failures.append(f"k={k} ({calls[k - 1]}): {type(exc).__name__}: {exc}")
    capsys.readouterr()
    assert not failures, "\n".join(failures)
