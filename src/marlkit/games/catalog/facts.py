"""The catalog's fixed facts, precomputed: each game's properties at its default parameters.

``marlkit games`` lists every catalog game with its class and homogeneity verdicts; building the games and
deciding their properties takes seconds (grid and soccer tables, homogeneity by permutations), yet the answers are
fixed by marlkit's own code. They are computed once into ``facts.json`` beside this module, together with a digest
of every source file of :mod:`marlkit.games` (the catalog, the models and :mod:`marlkit.games.properties`):
:func:`catalog_facts` returns the stored facts while the sources are unchanged and recomputes them otherwise, so the
listing is always that of the code that runs. Regenerate the file after changing :mod:`marlkit.games` with
``python -m marlkit.games.catalog.facts`` (a test checks that it is current).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from marlkit.atomic import write_text

FACTS_FILE = Path(__file__).with_name("facts.json")
"""Where the precomputed facts live (shipped with the package)."""

GAMES_PACKAGE = Path(__file__).resolve().parents[1]
"""The source folder of :mod:`marlkit.games`, whose code decides the facts."""


def sources_digest() -> str:
    """SHA-256 over the relative path and content of every ``.py`` file of :mod:`marlkit.games` (sorted)."""
    digest = hashlib.sha256()
    for path in sorted(GAMES_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(GAMES_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def compute_facts() -> dict[str, dict[str, Any]]:
    """Every catalog game (catalog order) at its default parameters -> ``{"normal_form": bool, **descriptor}``,
    the descriptor being :func:`marlkit.games.properties.describe`'s ``to_dict()``."""
    from marlkit.games import NormalFormGame
    from marlkit.games.catalog.registry import GAMES, make
    from marlkit.games.properties import describe

    facts: dict[str, dict[str, Any]] = {}
    for listed in GAMES.listing():
        game = make(listed["name"])
        facts[listed["name"]] = {"normal_form": isinstance(game, NormalFormGame), **describe(game).to_dict()}
    return facts


def catalog_facts() -> dict[str, dict[str, Any]]:
    """The facts of :func:`compute_facts`: read from :data:`FACTS_FILE` when it was computed from the sources that
    run now (same :func:`sources_digest`), computed afresh otherwise."""
    try:
        stored = json.loads(FACTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    if isinstance(stored, dict) and stored.get("digest") == sources_digest():
        games: dict[str, dict[str, Any]] = stored["games"]
        return games
    return compute_facts()


def write_facts(path: Path = FACTS_FILE) -> Path:
    """Compute the facts and write them, with the sources' digest, to ``path`` (atomically)."""
    payload = {"digest": sources_digest(), "games": compute_facts()}
    write_text(path, json.dumps(payload, indent=1, sort_keys=False) + "\n")
    return path


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    print(f"wrote {write_facts()}")


__all__ = ["FACTS_FILE", "catalog_facts", "compute_facts", "sources_digest", "write_facts"]
