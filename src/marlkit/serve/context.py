"""What every route of the web app shares: the runs folder, the access token, the templates.

One :class:`ServeContext` is built by :func:`marlkit.serve.app.create_app` and handed to each page module's
``routes(context)``; page modules never read global state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class ServeContext:
    """The app's shared state.

    ``runs_dir`` is the only folder routes read or write (play logs go under ``runs_dir / "play"``); ``token`` is
    None on loopback, else the secret every request must carry (``?token=`` once, then a cookie); ``templates`` is
    the Jinja2 environment (autoescaping on).
    """

    runs_dir: Path
    token: str | None
    templates: Environment

    @property
    def play_dir(self) -> Path:
        """Where play sessions write their logs (inside the runs folder)."""
        return self.runs_dir / "play"


def make_templates() -> Environment:
    """The Jinja2 environment over ``serve/templates`` with HTML autoescaping."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"]))
