"""``marlkit solve``: solution concepts on exact games (filled in by the solution-concepts work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Nothing registered yet."""
