"""``marlkit explain RUN_DIR``: see docs/human.md."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``explain`` to the ``marlkit`` app."""
