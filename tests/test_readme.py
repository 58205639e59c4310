"""The README's front door stays true: CI runs exactly the README's test command."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    command = ci_lines[ci_lines.index("# README test command:") + 1]
    readme = (ROOT / "README.md").read_text()
    setup = "python3 -m venv .venv && . .venv/bin/activate && "
    assert f"{setup}{command}" in readme, f"README must show the CI test command {command!r} after the venv setup"


def test_readme_main_command_is_present() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e . && marlkit run\n" in readme  # the main job: the default convergence study
