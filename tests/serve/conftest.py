"""Fixtures of the web-app tests: a live server over a runs folder, and one headless Chromium page per session.

``live_server(runs_dir, token=None)`` starts uvicorn on a free loopback port in a background thread for
:func:`marlkit.serve.app.create_app` and returns its base URL (stopped at the end of the test). ``browser_page`` is a
Playwright page of Debian's Chromium (``/usr/bin/chromium``, installed by ``.ci/run``; no browser is downloaded at
run time); it is shared by the whole session (one browser start, ~1 s) and skipped, with the reason, only where
that system package is absent. ``shots`` is the folder screenshots go to (the test's tmp output).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving an app on 127.0.0.1:``port`` in a daemon thread."""

    def __init__(self, app: object, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10.0
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5.0)


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """``start(runs_dir, token=None) -> base URL``: the web app over ``runs_dir`` served on a free port."""
    from marlkit.serve.app import create_app

    servers: list[LiveServer] = []

    def start(runs_dir: Path, token: str | None = None) -> str:
        server = LiveServer(create_app(Path(runs_dir), token=token), free_port()).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium (Debian's system package) for the session."""
    if not CHROMIUM.is_file():
        pytest.skip(
            f"{CHROMIUM} is absent: install Debian's chromium package (apt-get install chromium) "
            "to run the browser tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(browser: object) -> Iterator[object]:
    """A fresh page (own context: cookies do not leak between tests) at 1280 x 900."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """The folder a test writes its screenshots into (inside the test's tmp output)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder
