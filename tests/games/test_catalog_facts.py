"""The catalog's precomputed facts (``marlkit games`` reads them instead of building every game)."""

from __future__ import annotations

import json

from marlkit.games.catalog.facts import FACTS_FILE, catalog_facts, compute_facts, sources_digest


def test_the_stored_facts_are_those_of_the_current_sources() -> None:
    stored = json.loads(FACTS_FILE.read_text(encoding="utf-8"))
    assert stored["digest"] == sources_digest(), (
        "marlkit.games changed since facts.json was written: run `python -m marlkit.games.catalog.facts`"
    )
    assert stored["games"] == compute_facts()  # the oracle: build and classify every game now
    assert catalog_facts() == stored["games"]
