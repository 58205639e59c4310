"""The play pages of the web app (filled in by issue 22)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from marlkit.serve.context import ServeContext


def routes(context: ServeContext) -> list[BaseRoute]:
    """This module's routes."""
    return []
