"""The embedded default convergence study: its grid, its run-directory layout, its table, its page."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from marlkit.diagnose.report import diagnose
from marlkit.errors import InvalidGameError
from marlkit.experiment.study import (
    DEFAULT_GAMES,
    DEFAULT_LEARNERS,
    StudyConfig,
    new_run_directory,
    run_study,
    study_cells,
)
from marlkit.games.catalog import make
from marlkit.history import History

# shapes shared with the other modules here (2x2 games, IQL, 1000 steps logged every 10, 2 seeds): one compile
SMALL = StudyConfig(
    name="small-study",
    games=("stag-hunt", "prisoners-dilemma"),
    learners=("iql", "minimax-q"),
    steps=1000,
    log_every=10,
    seeds=2,
)


def test_default_grid_covers_the_issue() -> None:
    config = StudyConfig()
    for game in ("matching-pennies", "rock-paper-scissors", "shapley", "climbing", "prisoners-dilemma", "stag-hunt"):
        assert game in config.games
    for learner in ("iql", "fp", "wolf-phc", "regret-matching", "jal-am", "minimax-q"):
        assert learner in config.learners
    assert config.seeds >= 8
    cells = study_cells(config)
    assert len(cells) == len(DEFAULT_GAMES) * len(DEFAULT_LEARNERS) == len(set(cells))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"games": ("no-such-game",)}, "unknown game"),
        ({"learners": ("no-such-learner",)}, "unknown learner"),
        ({"steps": 0}, "steps must be"),
        ({"seeds": 1.5}, "seeds must be"),
        ({"steps": 1000, "log_every": 300}, "must divide"),
    ],
)
def test_bad_study_config_fails_before_compute(fields: dict, message: str) -> None:
    with pytest.raises(InvalidGameError, match=message):
        StudyConfig(**fields)


def test_existing_or_unwritable_output_fails_before_compute(tmp_path: Path) -> None:
    first = new_run_directory(tmp_path, "s")
    first.mkdir()
    stamp = first.name.removeprefix("s-")
    from datetime import UTC, datetime

    with pytest.raises(InvalidGameError, match="already exists"):
        new_run_directory(tmp_path, "s", now=datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(tzinfo=UTC))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(InvalidGameError, match="cannot create"):
        new_run_directory(blocker / "runs", "s")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("study")
    seen: list[tuple[str, str, int, int]] = []
    directory, cells = run_study(SMALL, root, progress=lambda *args: seen.append(args))
    return directory, cells, seen


def test_study_layout_and_progress(study) -> None:
    directory, _cells, seen = study
    assert [s[2] for s in seen] == [1, 2, 3, 4] and all(s[3] == 4 for s in seen)
    config = yaml.safe_load((directory / "config.yaml").read_text())
    assert config["games"] == list(SMALL.games) and config["learners"] == list(SMALL.learners)
    summary = json.loads((directory / "summary.json").read_text())
    assert summary["wall_time_s"] > 0 and len(summary["cells"]) == 4
    assert (directory / "report.html").read_text().startswith("<!DOCTYPE html>")
    for game in SMALL.games:
        cell = directory / "cells" / f"{game}--iql"
        for name in ("config.yaml", "history.npz", "metrics.jsonl", "summary.json"):
            assert (cell / name).is_file()
        lines = (cell / "metrics.jsonl").read_text().splitlines()
        assert len(lines) == SMALL.steps // SMALL.log_every
        assert json.loads(lines[-1])["step"] == SMALL.steps


def test_minimax_q_is_skipped_on_general_sum_games_with_the_reason(study) -> None:
    directory, cells, _ = study
    skipped = {(c.game, c.learner): c.skipped for c in cells if c.skipped}
    assert set(skipped) == {(g, "minimax-q") for g in SMALL.games}
    assert all("zero-sum" in reason for reason in skipped.values())
    assert not (directory / "cells" / "stag-hunt--minimax-q").exists()


def test_study_fractions_match_a_diagnosis_of_the_saved_history(study) -> None:
    directory, cells, _ = study
    for cell in (c for c in cells if not c.skipped):
        history = History.load(directory / "cells" / cell.folder / "history.npz")
        assert history.n_seeds == SMALL.seeds and int(history.steps[-1]) == SMALL.steps
        report = diagnose(history, make(cell.game))
        for name, stats in report.statistics.items():
            assert cell.fractions[name] == pytest.approx(stats.fraction)


def test_run_default_study_prints_the_table(tmp_path: Path, capsys) -> None:
    from marlkit.cli.experiments import run_default_study

    directory = run_default_study(
        out=str(tmp_path), steps=1000, seeds=2, games=["prisoners-dilemma"], learners=["iql", "minimax-q"]
    )
    out = capsys.readouterr().out
    assert directory.name.startswith("default-study-") and (directory / "report.html").is_file()
    assert "prisoners-dilemma" in out and "NashConv" in out and "wall time" in out
    assert "skipped prisoners-dilemma x minimax-q" in out
    summary = json.loads((directory / "summary.json").read_text())
    fractions = next(c["fractions"] for c in summary["cells"] if not c["skipped"])
    assert all(f is None or 0.0 <= f <= 1.0 for f in fractions.values())
    assert np.isfinite(summary["wall_time_s"])


def test_no_progress_silences_the_study_bar(tmp_path: Path, capsys) -> None:
    """Issue 14 item 9: `marlkit run --no-progress` still drew the study's bar when output was not a terminal."""
    from marlkit.cli.experiments import run_default_study

    args = {"steps": 1000, "seeds": 2, "games": ["prisoners-dilemma"], "learners": ["iql"]}
    run_default_study(out=str(tmp_path / "a"), progress=False, **args)
    out = capsys.readouterr().out
    assert "cells" not in out and "ETA" not in out and "writing the study" not in out
    assert "prisoners-dilemma" in out and "wall time" in out
    run_default_study(out=str(tmp_path / "b"), **args)
    out = capsys.readouterr().out
    assert "1/1 cells" in out and "writing the study's summary.json and report.html" in out


def test_a_stopped_study_resumes_cell_by_cell(study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: a study killed mid-way resumes without recomputing its finished cells (``marlkit resume``)."""
    import shutil

    from marlkit.cli import main
    from marlkit.experiment import study as study_module

    directory, _cells, _seen = study
    stopped = tmp_path / directory.name
    shutil.copytree(directory, stopped)
    for name in ("summary.json", "report.html"):
        (stopped / name).unlink()
    killed = stopped / "cells" / "prisoners-dilemma--iql"
    (killed / "summary.json").unlink()  # killed while the cell was written: its summary comes last
    finished = (stopped / "cells" / "stag-hunt--iql" / "summary.json").read_bytes()
    diagnosed: list[tuple[str, str]] = []
    real = study_module.diagnose_cell

    def spy(game: str, learner: str, *args: object) -> object:
        diagnosed.append((game, learner))
        return real(game, learner, *args)

    monkeypatch.setattr(study_module, "diagnose_cell", spy)
    assert main(["resume", str(stopped), "--no-progress"]) == 0
    assert diagnosed == [("prisoners-dilemma", "iql")]  # the finished cell is read back, not recomputed
    assert (stopped / "cells" / "stag-hunt--iql" / "summary.json").read_bytes() == finished
    for game in SMALL.games:
        original = History.load(directory / "cells" / f"{game}--iql" / "history.npz")
        resumed = History.load(stopped / "cells" / f"{game}--iql" / "history.npz")
        assert np.array_equal(original.policy, resumed.policy) and np.array_equal(
            original.joint_counts, resumed.joint_counts
        )
    before = json.loads((directory / "summary.json").read_text())["cells"]
    after = json.loads((stopped / "summary.json").read_text())["cells"]
    strip = [{k: v for k, v in cell.items() if k != "seconds"} for cell in before]
    assert [{k: v for k, v in cell.items() if k != "seconds"} for cell in after] == strip
    assert (stopped / "report.html").is_file()
    assert main(["resume", str(stopped), "--no-progress"]) == 2  # finished: nothing to resume


@pytest.mark.parametrize(
    ("error", "failing", "says"),
    [
        (errno.ENOSPC, "cells/prisoners-dilemma--iql/metrics.jsonl", "the disk is full"),  # the second cell
        (errno.EROFS, "summary.json", "the file system is read-only"),  # the study's own summary
    ],
    ids=["full-disk-in-a-cell", "read-only-at-the-summary"],
)
def test_a_disk_error_in_the_default_study_is_one_line_and_resumable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, small_study_grid, error: int, failing: str, says: str
) -> None:
    """Issue 15: a full or read-only disk during `marlkit run` (the default study) was a traceback; now one line
    saying what to free and how to go on, exit 2, and `marlkit resume` finishes it without recomputing the cells
    already written."""
    from marlkit.cli import main
    from marlkit.experiment import study as study_module

    monkeypatch.setattr(study_module, "StudyConfig", small_study_grid)
    real_write = study_module.write_text

    def write_text(path: Path, text: str) -> Path:
        if "/".join(Path(path).relative_to(tmp_path).parts[1:]) == failing:  # inside the study's folder
            raise OSError(error, os.strerror(error), str(path))
        return real_write(path, text)

    monkeypatch.setattr(study_module, "write_text", write_text)
    assert main(["run", "--root", str(tmp_path), "--no-progress"]) == 2
    (directory,) = tmp_path.iterdir()
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    assert says in err and f"then continue with: marlkit resume {directory}" in err
    assert ("free space" if error == errno.ENOSPC else "make it writable") in err
    monkeypatch.setattr(study_module, "write_text", real_write)
    diagnosed: list[str] = []
    real_diagnose = study_module.diagnose_cell

    def spy(game: str, learner: str, *args: object) -> object:
        diagnosed.append(f"{game}--{learner}")
        return real_diagnose(game, learner, *args)

    monkeypatch.setattr(study_module, "diagnose_cell", spy)
    assert main(["resume", str(directory), "--no-progress"]) == 0
    assert diagnosed == ([] if failing == "summary.json" else ["prisoners-dilemma--iql"])  # finished cells kept
    summary = json.loads((directory / "summary.json").read_text())
    assert [(c["game"], c["learner"]) for c in summary["cells"]] == study_cells(small_study_grid())
    assert (directory / "report.html").is_file() and not list(directory.rglob(".*.tmp"))


def test_the_study_table_is_coloured_without_markup() -> None:
    """The terminal table styled its cells with markup ('[green]0.88[/]'), which marlkit's console (markup off, so
    user strings print as written) showed literally."""
    import io

    from rich.console import Console

    from marlkit.experiment.study import CellResult, study_table

    cells = [CellResult("stag-hunt", "iql", fractions={"joint_policy": 1.0, "expected_return": 0.0})]
    buffer = io.StringIO()
    Console(file=buffer, width=160, markup=False, force_terminal=True, color_system="standard").print(
        study_table(cells)
    )
    text = buffer.getvalue()
    assert "[green]" not in text and "[red]" not in text and "[/]" not in text
    assert "\x1b[32m1.00" in text and "\x1b[31m0.00" in text  # green and red, as ANSI styles
