"""The ASGI app: page modules' routes, static files, Plotly's bundled JavaScript, the token check, error pages.

Each page module (``dashboard``, ``play``) exposes ``routes(context) -> list[BaseRoute]``; this module only
assembles them, so a new page is one module and one line here. Plotly's JavaScript is served from the installed
``plotly`` package (``plotly/package_data/plotly.min.js``) at :data:`PLOTLY_ROUTE`: nothing is fetched from the
internet. Every error — a refused path, a missing run, a bug — is answered with a plain error page (never a stack
trace; the server's log has it); off loopback :class:`marlkit.serve.security.TokenMiddleware` guards every route.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from marlkit.serve.context import STATIC_DIR, ServeContext, make_templates

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

PLOTLY_ROUTE = "/vendor/plotly.min.js"
LOG = logging.getLogger("marlkit.serve")


def plotly_js_path() -> Path:
    """The minified Plotly bundle inside the installed ``plotly`` package."""
    import plotly  # type: ignore[import-untyped]

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def error_response(context: ServeContext, request: Request, status: int, message: str) -> Response:
    """A plain error page (HTML, or JSON for ``/api/`` requests) with ``status`` and a one-line ``message``."""
    from starlette.responses import HTMLResponse, JSONResponse

    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    titles = {403: "forbidden", 404: "not found", 400: "bad request", 500: "server error"}
    text = context.templates.get_template("error.html").render(
        status=status, title=titles.get(status, "error"), message=message, active=""
    )
    return HTMLResponse(text, status_code=status)


def preload() -> threading.Thread:
    """Import the diagnosis and report modules (JAX, SciPy: seconds) in a background thread, so the first run page
    a person opens does not wait for them."""

    def work() -> None:
        import marlkit.diagnose.curves
        import marlkit.diagnose.report
        import marlkit.experiment.report  # noqa: F401

    thread = threading.Thread(target=work, name="marlkit-serve-preload", daemon=True)
    thread.start()
    return thread


def create_app(runs_dir: Path, token: str | None = None) -> Starlette:
    """The web app over ``runs_dir`` (must exist); ``token`` None means no token is asked for (loopback)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from marlkit.serve import dashboard, play
    from marlkit.serve.security import PathRefusedError, TokenMiddleware

    context = ServeContext(runs_dir=Path(runs_dir).resolve(), token=token, templates=make_templates())
    preload()

    def plotly_js(request: Request) -> Response:
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"cache-control": "max-age=86400"})

    routes = [*dashboard.routes(context), *play.routes(context)]
    routes.append(Route(PLOTLY_ROUTE, plotly_js, name="plotly"))
    routes.append(Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = exc.detail if exc.detail and exc.status_code != 404 else "nothing here: " + request.url.path
        return error_response(context, request, exc.status_code, str(message))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PathRefusedError)
        return error_response(context, request, exc.status, str(exc))

    async def server_error(request: Request, exc: Exception) -> Response:
        LOG.exception("error answering %s", request.url.path)
        return error_response(
            context,
            request,
            500,
            f"{type(exc).__name__}: {exc}".splitlines()[0][:300] + " (the server log has details)",
        )

    return Starlette(
        routes=routes,
        middleware=[Middleware(TokenMiddleware, token=token)],
        exception_handlers={HTTPException: http_error, PathRefusedError: refused, Exception: server_error},
    )
