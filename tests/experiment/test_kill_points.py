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

Then real SIGKILLs in child processes, one per distinct ``os.replace`` / ``os.fsync`` call site, confirm the model.
Budget: about 50 s of one core for the module (notes in the lead's docs: 37 + 22 + 37 kill points, 5 children).

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
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import marlkit
from marlkit.experiment import report, study
from marlkit.experiment.rundir import RunDirError, clean_stale_temp
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
    calling ``before_kill`` (which may copy the run directory: its SIGKILL state, or end the process).

    marlkit's fsyncs are counted but not performed unless ``sync``: what they guard against is a power cut, which
    no test here can observe (a killed process's completed writes are all visible); skipping them saves a third of
    the time on this disk. The SIGKILL test's children perform them."""

    def __init__(
        self, kill_at: int | None = None, before_kill: Callable[[], None] | None = None, sync: bool = False
    ) -> None:
        self.calls: list[Call] = []
        self.kill_at, self.before_kill, self.sync, self.killed = kill_at, before_kill, sync, False

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
                if name == "fsync" and not self.sync:
                    return None
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
    # the digest covers training_seconds (timing), so it differs with it; files_sha256 is compared
    assert without(summary, "training_seconds", "digest") == without(expected, "training_seconds", "digest")
    assert (path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert not temp_files(path) and not (path / "segments").exists()


def small_heatmap(cells: object, path: Path) -> Path:
    """The study's heatmap as one small figure, written as the real one is (``save_figure``)."""
    from matplotlib.figure import Figure

    from marlkit.diagnose.plots import save_figure

    return save_figure(Figure(figsize=(1, 1)), path)


@pytest.fixture(scope="module")
def patches(small_study_grid: type) -> Iterator[pytest.MonkeyPatch]:
    """Module-wide: run pages without pictures, a small default study with a small heatmap (module docstring)."""
    with pytest.MonkeyPatch.context() as mp:
        real = report.render_run_report
        mp.setattr(report, "render_run_report", lambda directory, **kw: real(directory, **{**kw, "pictures": False}))
        mp.setattr(study, "StudyConfig", small_study_grid)  # `marlkit run` (no config) builds StudyConfig()
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
    """The run killed before each of its 36 durable writes (and after the last): resumed, it is the reference."""
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
            differ = writes.killed and not same_state(target, frozen)  # else: one state, resumed once
            # as the exception left it: a run stopped while its folder was made is removed (nothing trained)
            check_resumed(target, path, created=k > created + 1, finished=k > paged)
            if differ:  # as a SIGKILL would have left it
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
            differ = writes.killed and not same_state(target, frozen)
            check_resumed(target, path, created=True, finished=k > paged)
            if differ:
                check_resumed(frozen, path, created=True, finished=k > paged)
        except Exception as exc:
            failures.append(f"k={k} ({sequence[k - 1]}): {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures)


def same_state(a: Path, b: Path) -> bool:
    """Whether two killed runs' folders hold the same files (:func:`listing`): then one resume checks both. They
    differ where an exception's clean-up ran (a temp file removed, a new run directory removed)."""
    return a.exists() == b.exists() and (not a.exists() or listing(a) == listing(b))


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


# ------------------------------------------------------------------------------------------ real SIGKILLs
CHILD = (
    "import importlib.util, sys; "
    "spec = importlib.util.spec_from_file_location('kill_points_child', sys.argv[1]); "
    "module = sys.modules[spec.name] = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
    "module.child(sys.argv[2:])"
)


def child(argv: list[str]) -> None:
    """In a child process: ``run`` (or ``resume``) RUN in ``argv[2]`` and SIGKILL the process just before its
    ``argv[1]``-th durable write (fsyncs performed); ``argv[3]`` says whether the page has its pictures."""
    from marlkit.compile_cache import enable_compilation_cache

    enable_compilation_cache(min_compile_seconds=0.0)  # the session's cache folder (MARLKIT_JAX_CACHE, inherited)
    command, k, target, pictures, root = argv[0], int(argv[1]), Path(argv[2]), argv[3] == "pictures", argv[4]
    mp = pytest.MonkeyPatch()
    if not pictures:
        real = report.render_run_report
        mp.setattr(report, "render_run_report", lambda directory, **kw: real(directory, **{**kw, "pictures": False}))
    DurableWrites(k, before_kill=lambda: os.kill(os.getpid(), signal.SIGKILL), sync=True).install(mp)
    if command == "run":
        run({**RUN, "output": {"root": root}}, run_dir=target, progress=False)
    else:
        resume(target, progress=False)
    sys.exit(3)  # fewer than k writes: not killed


def sigkill(command: str, k: int, target: Path, pictures: bool, temp: Path, root: Path) -> subprocess.Popen:
    """Start a child that runs (or resumes) into ``target`` and SIGKILLs itself before its k-th durable write."""
    temp.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, __file__, command, str(k), str(target), "pictures" * pictures, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},  # the page's temp folder, left behind by the kill, lands here
    )


def reap(child: subprocess.Popen) -> None:
    _, stderr = child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL, (child.returncode, stderr[-2000:])


def listing(folder: Path) -> dict[str, Any]:
    """Every file under ``folder`` and its content (NPZ members; a checkpoint's without its wall-clock time; a temp
    file by its normalised name only: its random part differs)."""
    files: dict[str, Any] = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        name = str(p.relative_to(folder))
        if _TMP.match(p.name):
            files[str(p.parent.relative_to(folder) / _TMP.sub(r"\1", p.name)) + ".tmp"] = None
        elif p.name == "checkpoint.npz":
            files[name] = checkpoint_content(p)
        elif p.name == "summary.json":
            files[name] = without(json.loads(p.read_text()), "training_seconds", "digest")
        else:
            files[name] = npz_arrays(p) if p.suffix == ".npz" else p.read_bytes()
    return files


def test_real_sigkills_at_each_call_site_resume_identically(reference, tmp_path: Path) -> None:
    """One real SIGKILL per distinct call site of ``os.replace`` / ``os.fsync`` (a child process per kill: 4 in a run,
    1 in a resume): the child dies before the write, leaves what the in-process model's copy predicts (the same
    files and contents, the same temp files), and ``resume`` then gives the uninterrupted run. The ``unlink`` /
    ``rmdir`` sites (``drop_segments``, ``clean_leftovers``) are killed in-process only, in both states."""
    path, calls = reference
    texts = [str(c) for c in calls]

    def nth(text: str, n: int = 1) -> int:
        return [i + 1 for i, t in enumerate(texts) if t == text][n - 1]

    kills = {
        "write_with replace": nth("atomic.py:write_with replace checkpoint.npz", 2),  # a temp file left
        "append_metrics fsync": nth("experiment/rundir.py:append_metrics fsync metrics.jsonl", 2),
        "sync_folder fsync": nth("atomic.py:write_with replace summary.json") + 1,  # segments not dropped yet
        # the page's first picture (pictures drawn), after the segments were dropped
        "write_with fsync": nth("experiment/rundir.py:drop_segments rmdir segments") + 1,
    }
    assert texts[kills["sync_folder fsync"] - 1] == "atomic.py:sync_folder fsync RUN/"
    config = {**RUN, "output": {"root": str(path.parent)}}
    folders = {site: tmp_path / site.replace(" ", "-") / "k0" for site in kills}
    temps = {site: tmp_path / "temp" / site.replace(" ", "-") for site in kills}
    children = [
        sigkill("run", k, folders[site], site == "write_with fsync", temps[site], path.parent)
        for site, k in kills.items()
    ]  # side by side: each is mostly importing JAX
    for child_process in children:
        reap(child_process)
    for site, k in kills.items():
        target = folders[site]
        if site == "write_with fsync":  # killed in the page's pictures: the run is finished, its page is not
            assert (target / "summary.json").is_file() and not (target / "report.html").exists()
            left = [p.name for p in temps[site].iterdir()]  # the page's temp folder: a later run removes it
            assert len(left) == 1 and left[0].startswith("marlkit-report-")
            assert clean_stale_temp(max_age_s=0.0, folder=temps[site]) == 1
        else:  # the model: an in-process run stopped at the same write, copied just before it
            model, scratch = tmp_path / "model" / site.replace(" ", "-") / "k0", tmp_path / "in-process" / "k0"
            killed(lambda: run(config, run_dir=scratch, progress=False), k, scratch, model)  # noqa: B023
            shutil.rmtree(scratch.parent)
            assert listing(target) == listing(model), site
        if site == "write_with replace":
            shutil.copytree(target, tmp_path / "resume-start" / "k0")
        resume(target, progress=False)
        assert_same_run(target, path)
    # the site only a resume has: its truncation of metrics.jsonl (after it removed the killed write's temp file)
    resumed = {"truncate_metrics fsync": 2}
    for site in resumed:
        shutil.copytree(tmp_path / "resume-start" / "k0", tmp_path / site.replace(" ", "-") / "k0")
    children = [
        sigkill("resume", k, tmp_path / site.replace(" ", "-") / "k0", False, tmp_path / "temp" / site, path.parent)
        for site, k in resumed.items()
    ]
    for child_process in children:
        reap(child_process)
    for site in resumed:
        target = tmp_path / site.replace(" ", "-") / "k0"
        resume(target, progress=False)
        assert_same_run(target, path)


# ------------------------------------------------------------------------------------------ the default study
CELL_FILES = ("config.yaml", "history.npz", "metrics.jsonl", "summary.json")
TRAINED = ["stag-hunt--iql", "prisoners-dilemma--iql"]


@pytest.fixture(scope="module")
def study_reference(tmp_path_factory: pytest.TempPathFactory, patches) -> tuple[Path, list[Call]]:
    """An uninterrupted default study (``marlkit run`` without a config) and its durable writes."""
    root = tmp_path_factory.mktemp("study") / "root"
    with pytest.MonkeyPatch.context() as mp:
        writes = DurableWrites().install(mp)
        assert marlkit_cli(["run", "--root", str(root), "--no-progress"]) == 0
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


def marlkit_cli(args: list[str]) -> int:
    from marlkit.cli import main  # imported here: the SIGKILL test's children load this module, not the CLI

    return main(args)


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
        assert marlkit_cli(["resume", str(directory), "--no-progress"]) == 2
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
        assert marlkit_cli(["resume", str(directory), "--no-progress"]) == (2 if complete else 0)
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
            writes = killed(lambda: marlkit_cli(["run", "--root", str(root), "--no-progress"]), k, root, frozen)  # noqa: B023
            assert writes.killed and [str(c) for c in writes.calls] == [str(c) for c in calls[:k]]
            differ = not same_state(root, frozen)
            check_study_resumed(root, reference, monkeypatch)
            if differ:
                check_study_resumed(frozen, reference, monkeypatch)
        except Exception as exc:
            failures.append(f"k={k} ({calls[k - 1]}): {type(exc).__name__}: {exc}")
    capsys.readouterr()
    assert not failures, "\n".join(failures)
