"""Fuzzing run folders through ``marlkit resume``, ``marlkit report`` and the web app's runs index (issue 15, "A
fuzz suite ... for run folders").

One small real run is trained once per module (matching pennies, WoLF-PHC, 400 steps in 4 logging windows of 100, a
checkpoint every window, 2 seeds), with a copy killed after 2 windows (a segment write made to raise, as in
tests/experiment/test_runner.py), a second run of another key and another 2x2 game's file ("another run's files").
Each case copies a folder and mutates one file — ``config.yaml``, ``summary.json``, ``metrics.jsonl``,
``checkpoint.npz``, ``history.npz``, ``game.npz`` or a segment file: truncated, a bit flipped, a JSON value (a top-
level field, a nested one, an NPZ archive's JSON header, a metrics line) replaced by one of the wrong type, a huge,
NaN, negative or deeply nested one, an unknown key added, a key duplicated, the file deleted, replaced by a symbolic
link, a folder, a FIFO, an empty file, random bytes, or another run's file — then runs, in this process:

* the killed copy: ``marlkit resume`` (the result must equal the uninterrupted run: ``history.npz``'s arrays and
  meta and ``metrics.jsonl``'s bytes);
* the finished copy: ``marlkit report`` (``report.html`` written, the same page as the clean run's but for the
  folder's name) and ``marlkit resume`` (nothing to resume);
* both: the runs index scan (:class:`marlkit.serve.runs_index.RunsIndex`), which must list the folder (a damaged
  ``summary.json`` as ``corrupt``) and never raise.

Each command must end in exit 2 with exactly one ``error: `` line (not an internal error) and nothing on stdout,
or in exit 0 with the clean result — never a traceback, exit 1, a hang (a per-case time limit) or a different
result. A mutation may leave a file valid (a bit flip inside zip padding); then the result must be identical.

Budget: ``MARLKIT_FUZZ_EXAMPLES`` cases per test (default 100 resume + 50 report cases, derandomized: the same
cases on every run). The larger seeded campaign: ``python bench/fuzz_run_folders.py`` (or
``MARLKIT_FUZZ_EXAMPLES=1000 MARLKIT_FUZZ_SEED=1 pytest -n 0 -p no:cacheprovider tests/fuzz/test_run_folders.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from marlkit.experiment import runner
from marlkit.games import save_game
from marlkit.games.catalog import make
from marlkit.history import History
from marlkit.serve.runs_index import STATUSES, RunsIndex

EXAMPLES = int(os.environ.get("MARLKIT_FUZZ_EXAMPLES", "0"))
SEED = os.environ.get("MARLKIT_FUZZ_SEED")
CASE_SECONDS = 60.0
"""Per-case time limit (all commands of a case); a resume or a report takes well under a few seconds."""

CONFIG = {
    "name": "fuzz-run",
    "game": "matching-pennies",
    "learners": "wolf-phc",
    "steps": 400,
    "log_every": 100,
    "checkpoint_every": 1,
    "seeds": 2,
    "key": 3,
}
KILLED_AFTER = 2
"""Windows the killed copy completed (its third segment write raised)."""
SEGMENT = "segments/windows-000000-000001.npz"


def _settings(default: int) -> Any:
    config = settings(
        max_examples=EXAMPLES or default,
        derandomize=SEED is None,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    return (lambda f: seed(int(SEED))(config(f))) if SEED is not None else config


class Killed(BaseException):
    """Stands in for a kill at one exact point of the runner's write sequence."""


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The clean finished run, the killed copy, another run (another key), each made once."""
    base = tmp_path_factory.mktemp("fuzz-runs")
    calls = {"count": 0}
    write_segment = runner.rundir.write_segment

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == KILLED_AFTER + 1:
            raise Killed
        return write_segment(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:  # no diagnosis: no page (seconds); `report` draws it when asked
        patch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)
        clean = runner.run({**CONFIG, "output": {"root": str(base / "clean")}}, progress=False).path
        other = runner.run({**CONFIG, "key": 4, "output": {"root": str(base / "other")}}, progress=False).path
        patch.setattr(runner.rundir, "write_segment", failing)
        with pytest.raises(Killed):
            runner.run({**CONFIG, "output": {"root": str(base / "killed")}}, progress=False)
    (killed,) = (base / "killed").iterdir()
    save_game(make("stag-hunt"), base / "other-game.npz")  # another 2x2 game: "another run's" game.npz
    return {"clean": clean, "killed": killed, "other": other, "base": base, "other_game": base / "other-game.npz"}


# ---------------------------------------------------------------------------------------------- mutations
HOSTILE: list[Any] = [
    "3",
    "0.9",
    True,
    False,
    None,
    [],
    {},
    -1,
    0,
    1.5,
    -1e308,
    1e308,
    2**63,
    2**64 + 1,
    10**400,
    float("nan"),
    float("inf"),
    "x" * 5000,
    "\x1b[31mred[/bold]",
    [[1, 2], [3]],
    {"unknown": 1},
]
"""Values a JSON field is replaced by: the wrong type, huge, NaN / Infinity, negative, long or control text."""


def _paths(data: Any, prefix: tuple[Any, ...] = (), limit: int = 400) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside ``data`` (keys and indices), breadth first, at most ``limit``."""
    queue: list[tuple[tuple[Any, ...], Any]] = [(prefix, data)]
    count = 0
    while queue and count < limit:
        path, value = queue.pop(0)
        if path:
            yield path
            count += 1
        if isinstance(value, dict):
            queue.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            queue.extend(((*path, i), v) for i, v in enumerate(value[:8]))


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: _replace(data[head], rest, value)}
    copy = list(data)
    copy[head] = _replace(copy[head], rest, value)
    return copy


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _npz_members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def _header_member(members: dict[str, np.ndarray]) -> str:
    return next(name for name, array in members.items() if array.dtype.kind == "U")


FILES_KILLED = ["config.yaml", "metrics.jsonl", "checkpoint.npz", "game.npz", SEGMENT, "summary.json"]
FILES_FINISHED = ["config.yaml", "summary.json", "history.npz", "game.npz"]
MUTATIONS = ["truncate", "bitflip", "json", "delete", "symlink", "folder", "fifo", "empty", "random", "foreign"]


@st.composite
def mutations(draw: st.DrawFn, files: list[str]) -> tuple[str, str, Callable[[Path, dict[str, Path]], None]]:
    """(file, mutation, apply(folder, folders)): one mutation of one run file."""
    name = draw(st.sampled_from(files))
    kind = draw(st.sampled_from(MUTATIONS))
    cut = draw(st.floats(0.0, 1.0))
    bit = draw(st.integers(0, 2**31))
    noise = draw(st.binary(min_size=0, max_size=300))
    chooser = draw(st.randoms(use_true_random=False))

    def apply(folder: Path, known: dict[str, Path]) -> None:
        path = folder / name
        if not path.exists():  # a killed run has no summary.json: the mutation starts from the clean run's
            shutil.copy(known["clean"] / name, path)
        data = path.read_bytes()
        if kind == "truncate":
            path.write_bytes(data[: int(len(data) * cut)])
        elif kind == "bitflip":
            flipped = bytearray(data)
            index = bit % max(len(data), 1)
            if flipped:
                flipped[index] ^= 1 << (bit % 8)
            path.write_bytes(bytes(flipped))
        elif kind == "json":
            path.write_bytes(_json_mutation(path, data, chooser))
        elif kind == "delete":
            path.unlink()
        elif kind == "symlink":
            path.unlink()
            path.symlink_to(known["clean"] / name if (known["clean"] / name).exists() else known["other"] / name)
        elif kind == "folder":
            path.unlink()
            path.mkdir()
        elif kind == "fifo":  # a reader that opens it would block (the time limit catches a hang)
            path.unlink()
            os.mkfifo(path)
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "random":
            path.write_bytes(noise)
        elif kind == "foreign":
            source = known["other_game"] if name == "game.npz" else known["other"] / name
            if source.exists():
                shutil.copy(source, path)
            else:  # the other run dropped its segments when it finished: another window's segment of this run
                path.unlink()

    return name, kind, apply


def _json_mutation(path: Path, data: bytes, chooser: Any) -> bytes:
    """One JSON edit of a JSON file, a metrics line, a YAML config's value, or an NPZ archive's JSON header."""

    def edit(text: str) -> str:
        return _edit(text, chooser)

    if path.suffix == ".json":
        return edit(data.decode()).encode()
    if path.suffix == ".jsonl":
        lines = data.decode().splitlines()
        k = chooser.randrange(len(lines))
        lines[k] = edit(lines[k])
        return ("\n".join(lines) + "\n").encode()
    if path.suffix == ".yaml":
        config = yaml.safe_load(data)
        key = chooser.choice(sorted(config))
        value = chooser.choice([*HOSTILE[:14], "", "1e-4", 401, 7])
        return yaml.safe_dump({**config, key: value}).encode()
    members = _npz_members(path)
    header = _header_member(members)
    members[header] = np.array(edit(str(members[header])))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "x.npz"
        np.savez(target, **members)
        return target.read_bytes()


def _edit(text: str, chooser: Any) -> str:
    """A JSON text with one edit — a value replaced (:data:`HOSTILE`), an unknown key, a duplicated key, deep
    nesting, a raw literal (NaN, 1e999, 400 digits) — chosen by hypothesis' seeded ``random.Random``."""
    data = json.loads(text)
    paths = list(_paths(data))
    kind = chooser.choice(["value", "value", "value", "unknown", "duplicate", "deep", "literal"])
    if kind == "value" and paths:
        return json.dumps(_replace(data, chooser.choice(paths), chooser.choice(HOSTILE)))
    if kind == "unknown" and isinstance(data, dict):
        return json.dumps({**data, chooser.choice(["kindd", "extra", "windows_done2", ""]): 1})
    if kind == "duplicate" and isinstance(data, dict) and data:
        key = chooser.choice(sorted(data))
        return "{" + json.dumps(key) + ": " + json.dumps(chooser.choice(HOSTILE)) + ", " + text.lstrip()[1:]
    if kind in ("deep", "literal") and paths:
        marker = "__MARK__"
        if kind == "deep":
            literal = _deep(chooser.choice([70, 3000]))
        else:
            literal = chooser.choice(["NaN", "Infinity", "-Infinity", "1e999", "9" * 400, "1" * 30])
        return json.dumps(_replace(data, chooser.choice(paths), marker)).replace(json.dumps(marker), literal)
    return text + "x"


# ------------------------------------------------------------------------------------------ checking a case
def history_arrays(path: Path) -> dict[str, Any]:
    """Every array of a History (dtype, shape, bytes) and its meta."""
    h = History.load(path / "history.npz")
    names = ["steps", "seeds", "policy", "average_policy", "has_average_policy", "joint_counts"]
    names += ["episode_return", "episode_count", "reward_mean"]
    arrays = {name: getattr(h, name) for name in names} | {f"metric.{k}": v for k, v in h.metrics.items()}
    found: dict[str, Any] = {k: (str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()) for k, a in arrays.items()}
    found["meta"] = json.dumps(h.meta, sort_keys=True)
    return found


def page(path: Path) -> str:
    """A report page with its folder's own path taken out (the copies live in other folders)."""
    return (path / "report.html").read_text(encoding="utf-8").replace(str(path), "RUN")


def clean_page(folders: dict[str, Path], fuzz_cli: Any) -> str:
    """The page `marlkit report` writes for an undamaged copy of the clean run (drawn once, when first needed)."""
    if "page" not in folders:
        _, folder = fresh(folders, "clean")
        assert fuzz_cli("report", str(folder))[0] == 0
        folders["page"] = folder
    return page(folders["page"])


def index_entry(root: Path, folder: Path) -> tuple[str, str]:
    """(status, problem) of ``folder`` in the runs index of ``root`` (``absent`` where it is not listed)."""
    rows = {entry.path: entry for entry in RunsIndex(root).entries()}
    entry = rows.get(folder.relative_to(root).as_posix())
    if entry is None:  # a folder without a config.yaml file is not a run folder: not listed
        assert not (folder / "config.yaml").is_file() or (folder / "config.yaml").is_symlink()
        return "absent", ""
    assert entry.status in STATUSES, entry
    return entry.status, entry.problem


def fresh(folders: dict[str, Path], which: str) -> tuple[Path, Path]:
    """A copy of one of the module's runs in its own runs folder."""
    root = Path(tempfile.mkdtemp(dir=folders["base"], prefix="case-"))
    folder = root / "run"
    shutil.copytree(folders[which], folder, symlinks=True)
    return root, folder


@_settings(100)
@given(case=mutations(FILES_KILLED))
def test_resume_of_a_damaged_killed_run(
    case: Any, folders: dict[str, Path], fuzz_cli: Any, fuzz_limit: Any, fuzz_outcome: Any
) -> None:
    name, kind, apply = case
    root, folder = fresh(folders, "killed")
    try:
        apply(folder, folders)
        with pytest.MonkeyPatch.context() as patch, fuzz_limit(CASE_SECONDS):
            patch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)  # no page: fast
            code, out, err = fuzz_cli("resume", str(folder), "--no-progress")
            fuzz_outcome(f"resume ({name}: {kind})", code, out, err)
            event(f"resume exit {code}")  # --hypothesis-show-statistics: how many cases ended each way
            status, _ = index_entry(root, folder)
        if code == 0:  # the result of an uninterrupted run, bit for bit
            assert history_arrays(folder) == history_arrays(folders["clean"]), f"{name}: {kind}: another History"
            clean_metrics = (folders["clean"] / "metrics.jsonl").read_bytes()
            assert (folder / "metrics.jsonl").read_bytes() == clean_metrics, f"{name}: {kind}: other metrics"
            assert status == "finished"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@_settings(50)
@given(case=mutations(FILES_FINISHED))
def test_report_of_a_damaged_finished_run(
    case: Any, folders: dict[str, Path], fuzz_cli: Any, fuzz_limit: Any, fuzz_outcome: Any
) -> None:
    name, kind, apply = case
    root, folder = fresh(folders, "clean")
    try:
        apply(folder, folders)
        with fuzz_limit(CASE_SECONDS):
            status, problem = index_entry(root, folder)
            code, out, err = fuzz_cli("report", str(folder))
            fuzz_outcome(f"report ({name}: {kind})", code, out, err)
            event(f"report exit {code}" + (f" ({name}: {kind})" if code == 0 else ""))
            again = fuzz_cli("resume", str(folder), "--no-progress")
            fuzz_outcome(f"resume of a finished run ({name}: {kind})", *again)
            index_entry(root, folder)  # after the resume: listed, no exception
        if code == 0:  # the clean run's page
            same = page(folder) == clean_page(folders, fuzz_cli)
            assert same, f"{name}: {kind}: report.html differs from the clean run's"
        if problem.startswith("summary.json"):  # the index and the report agree on a damaged summary.json
            assert code == 2 and "summary.json" in err, f"the index says {problem!r}, report exited {code}: {err}"
        if code == 2 and f"{folder / 'summary.json'}:" in err:
            assert status == "corrupt" and problem.startswith("summary.json"), f"{status}: {problem}; {err}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_an_undamaged_copy_resumes_and_reports_as_the_clean_run(folders: dict[str, Path], fuzz_cli: Any) -> None:
    """No false alarm: the killed copy resumes to the clean run, and `report` on an undamaged copy of the finished
    run writes a page (the one the damaged cases are compared with)."""
    root, folder = fresh(folders, "killed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "diagnosis_for_summary", lambda history, game, config: None)
        assert fuzz_cli("resume", str(folder), "--no-progress")[0] == 0
    assert history_arrays(folder) == history_arrays(folders["clean"])
    assert (folder / "metrics.jsonl").read_bytes() == (folders["clean"] / "metrics.jsonl").read_bytes()
    assert index_entry(root, folder)[0] == "finished"
    text = clean_page(folders, fuzz_cli)
    assert "matching-pennies" in text and "verdicts" in text
