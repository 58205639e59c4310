"""``marlkit serve [RUNS_DIR]``: the local web app (dashboard of runs, live; compare; games; play).

Binds to 127.0.0.1 by default (no token). Any other ``--host`` makes a random token, printed in the URL as Jupyter
does; every request must carry it (see :mod:`marlkit.serve.security`). Starlette, uvicorn and Jinja2 are imported
only when the command runs, so ``marlkit --help`` stays fast. See docs/serve.md.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer

from marlkit.errors import MarlkitError


def open_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when ``host`` has a colon); one-line errors for a port in use,
    a port out of range or an address this machine does not have."""
    if not 0 < port < 65536:
        raise MarlkitError(f"--port {port}: not a TCP port; choose one in 1..65535 (default 8765)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise MarlkitError(
                f"--port {port}: already in use on {host}; stop what uses it or pick another --port"
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise MarlkitError(f"--port {port}: not allowed for this user; pick a port above 1023") from None
        raise MarlkitError(
            f"--host {host}: cannot listen there ({exc.strerror or exc}); use 127.0.0.1 or this machine's address"
        ) from None
    except (socket.gaierror, UnicodeError) as exc:
        sock.close()
        raise MarlkitError(f"--host {host}: not an address of this machine ({exc})") from None
    return sock


def check_runs_dir(runs_dir: str) -> Path:
    """The runs folder, which must be an existing folder."""
    path = Path(runs_dir)
    if not path.exists():
        raise MarlkitError(
            f"RUNS_DIR {runs_dir}: no such folder; pass the folder your runs are in (marlkit run writes to runs/ "
            "unless output.root or --root says otherwise)"
        )
    if not path.is_dir():
        raise MarlkitError(f"RUNS_DIR {runs_dir}: a file, not a folder; pass the folder your runs are in")
    return path


def serve(
    runs_dir: Annotated[str, typer.Argument(help="The folder of runs to show (default: runs).")] = "runs",
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; off 127.0.0.1 a token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser tab.")] = False,
) -> None:
    """Serve the web app: runs (live), a run, compare, games, play. Ctrl-C stops it."""
    folder = check_runs_dir(runs_dir)
    sock = open_socket(host, port)
    import uvicorn

    from marlkit.serve.app import create_app
    from marlkit.serve.security import needs_token, new_token

    token = new_token() if needs_token(host) else None
    app = create_app(folder, token=token)  # also starts importing the diagnosis modules in the background
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{sock.getsockname()[1]}/" + (f"?token={token}" if token else "")
    typer.echo(f"marlkit serve: {folder.resolve()}")
    typer.echo(f"    {url}")
    if token:
        typer.echo("    (listening beyond this computer: every request needs this token; keep the URL private)")
    typer.echo("Ctrl-C stops the server.")
    if not no_browser:
        import threading
        import webbrowser

        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
