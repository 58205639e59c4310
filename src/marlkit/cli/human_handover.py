"""``marlkit human handover``: see docs/human.md."""

from __future__ import annotations

import typer


def register(human_app: typer.Typer) -> None:
    """Add this module's commands to the ``human`` group."""
