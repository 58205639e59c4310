"""``marlkit attack observation``: see docs/attacks.md."""

from __future__ import annotations

import typer


def register(attack_app: typer.Typer, defend_app: typer.Typer) -> None:
    """Add this module's commands to the ``attack`` (and ``defend``) groups."""
