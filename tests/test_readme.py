"""The README's front door stays true: every command and snippet in it is run here, and what it shows is checked.

* The set-up blocks (```bash with ``python3 -m venv``): CI runs exactly the README's test command
  (:func:`test_ci_runs_the_readme_test_command`); the install itself is what CI does. Their main job, ``marlkit run``
  without a config, is the default study (minutes): it is run with a reduced grid by
  ``tests/experiment/test_study.py::test_run_default_study_prints_the_table`` (same code path, ``marlkit run``
  hands over to it: ``tests/experiment/test_runner.py::test_cli_run_without_a_config_runs_the_default_study``).
* Sessions (a fenced block whose lines start with ``$ marlkit``): each command runs through
  :func:`marlkit.cli.main` in a temporary folder, and every line shown under it must be in what it prints (table
  rows cell by cell, other lines with spaces collapsed; ``...`` elides; a cell or line ending in ``...`` is a
  prefix).
* Inline commands in the prose (```marlkit games```, ```marlkit show penalty --param k=-50```) run and must exit 0,
  except templates (a word in capitals such as ``GAME`` or ``RUN_DIR``, or ``a|b`` alternatives) and
  ``marlkit run`` (above).
* Python blocks are executed; a line ``print(...)  # shown`` must print exactly ``shown``. The deep-learning blocks
  train for ``steps = 999_424``, ``steps = 300_000`` and ``steps = 64_000`` env steps as shown; the test runs them
  with 4,096, 4,000 and 1,600 steps (the README says the variable is the budget, :data:`BUDGETS`) and checks what
  they print; the IPPO return (about -58) is the benchmark's claim (``bench/train.py``), MAPPO-L's feasibility and
  continuous IPPO's learning the learner tests' (``tests/agents/deep/test_ppo_lagrangian.py``,
  ``test_ppo_continuous.py``), not this test's.

Cost: about a minute and a half of CPU on the 2-core machine, most of it the IPPO run (``--steps 40000 --seeds
4`` as shown: ~20 s) and compiling the tabular loops.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
BOX = set("┏┓┗┛┡┩┃│━─┳┻╇╋┼┬┴┌┐└┘├┤═║╔╗╚╝ ")
BUDGETS = (
    ("steps = 999_424", "steps = 4_096"),
    ("steps = 300_000", "steps = 4_000"),
    ("steps = 64_000", "steps = 1_600"),
)
"""The deep blocks' budgets as shown and as the test runs them (their results are the benchmarks' and the learner
tests' claims: ``bench/train.py``, ``tests/agents/deep/test_ppo_lagrangian.py``)."""


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def sessions() -> list[tuple[str, list[str]]]:
    """``(command, lines shown under it)`` of every ``$ marlkit ...`` line in a fenced block."""
    found: list[tuple[str, list[str]]] = []
    for lang, body in BLOCK.findall(README):
        if lang:
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found and line.strip():
                found[-1][1].append(line)
    return found


def inline_commands() -> list[str]:
    text = BLOCK.sub("", README)
    commands = sorted(set(re.findall(r"`(marlkit [^`]+)`", text)))
    return [c for c in commands if not re.search(r"\b[A-Z][A-Z_.]+\b|\||\.\.\.", c) and c != "marlkit run"]


def run_cli(command: str) -> tuple[int, str]:
    from marlkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(shlex.split(command)[1:])
    return code, out.getvalue() + err.getvalue()


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"[│┃]", line) if cell.strip()]


def collapsed(line: str) -> str:
    return " ".join(line.split())


def shown_in(expected: str, output: str) -> bool:
    lines = output.splitlines()
    if "│" in expected or "┃" in expected:
        want = cells(expected)
        for line in lines:
            have = cells(line)
            if len(have) >= len(want) and all(
                h.startswith(w[:-3].rstrip()) if w.endswith("...") else h == w for w, h in zip(want, have, strict=False)
            ):
                return True
        return False
    want = collapsed(expected)
    want = want[:-3].rstrip() if want.endswith("...") else want
    return any(want in collapsed(line) for line in lines)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def test_ci_runs_the_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    command = ci_lines[ci_lines.index("# README test command:") + 1]
    setup = "python3 -m venv .venv && . .venv/bin/activate && "
    assert f"{setup}{command}" in README, f"README must show the CI test command {command!r} after the venv setup"


def test_readme_main_command_is_present() -> None:
    assert "pip install -e . && marlkit run\n" in README  # the main job: the default convergence study


def test_every_shell_block_is_a_set_up_line_or_a_session() -> None:
    for body in blocks("bash"):
        for line in body.splitlines():
            assert line.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e "), line
    assert len(sessions()) >= 6 and len(blocks("python")) >= 3 and inline_commands()


@pytest.mark.parametrize(("command", "shown"), sessions(), ids=[c for c, _ in sessions()])
def test_readme_session(command: str, shown: list[str], in_tmp: Path) -> None:
    code, output = run_cli(command)
    assert code == 0, output
    for line in shown:
        if line.strip() == "..." or set(line) <= BOX:
            continue
        assert shown_in(line, output), f"README shows {line!r} under `{command}`; it printed:\n{output}"
    for path in re.findall(r"^wrote (\S+)", "\n".join(shown), re.M):
        assert (in_tmp / path).is_file()


@pytest.mark.parametrize("command", inline_commands())
def test_readme_inline_command(command: str, in_tmp: Path) -> None:
    code, output = run_cli(command)
    assert code == 0, output


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_readme_python_block(index: int, in_tmp: Path) -> None:
    source = blocks("python")[index]
    for shown, tested in BUDGETS:
        source = source.replace(shown, tested)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, f"README.md python block {index}", "exec"), {"__name__": "readme"})
    printed = out.getvalue().splitlines()
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.*)$", source, re.M)]
    assert printed == expected
