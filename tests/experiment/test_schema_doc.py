"""docs/experiments.md lists every config key as the schema declares it: each table between ``schema`` markers
is the one generated from the dataclasses (type, default, range, doc), and every key has a doc."""

from __future__ import annotations

from pathlib import Path

from marlkit.experiment.schema_doc import BLOCK, render, tables

DOC = Path(__file__).resolve().parents[2] / "docs" / "experiments.md"


def test_the_doc_tables_are_the_schema() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = {m.group("name") for m in BLOCK.finditer(text)}
    assert named == set(tables()), "every generated table has its place in the doc, and no other"
    assert text == render(text), (
        "docs/experiments.md disagrees with the schema: run python -m marlkit.experiment.schema_doc"
    )


def test_every_key_has_a_doc() -> None:
    for name, generated in tables().items():
        for line in generated.splitlines():
            if line.startswith("| `"):
                assert not line.rstrip().endswith("|  |"), f"{name}: {line} has no doc"
