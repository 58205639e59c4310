"""The ASGI app: page modules' routes, static files, the token check.

Each page module (``dashboard``, ``play``) exposes ``routes(context) -> list[BaseRoute]``; this module only
assembles them, so a new page is one module and one line here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from marlkit.serve.context import STATIC_DIR, ServeContext, make_templates

if TYPE_CHECKING:
    from starlette.applications import Starlette


def create_app(runs_dir: Path, token: str | None = None) -> Starlette:
    """The web app over ``runs_dir`` (must exist); ``token`` None means no token is asked for (loopback)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from marlkit.serve import dashboard, play

    context = ServeContext(runs_dir=Path(runs_dir).resolve(), token=token, templates=make_templates())
    routes = [*dashboard.routes(context), *play.routes(context)]
    routes.append(Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"))
    return Starlette(routes=routes)
