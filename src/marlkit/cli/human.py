"""``marlkit human ...``: human behaviour models fitted from play, human-aware evaluation and hand-over of control
(docs/human.md).

Each sub-command lives in its own module (``human_fit.py``, ``human_handover.py``, ``human_other_play.py``,
``human_crossplay.py``)
with a ``register(human_app)`` function, so this module only builds the group.
"""

from __future__ import annotations

import typer

from marlkit.cli import human_crossplay, human_fit, human_handover, human_other_play
from marlkit.cli.context import command_group

human_app = command_group(
    "human",
    "Human behaviour models: fit them from play logs, best-respond to them, cross-play with them, hand over control.",
)

for module in (human_fit, human_handover, human_other_play, human_crossplay):
    module.register(human_app)


def register(app: typer.Typer) -> None:
    """Add ``human`` to the ``marlkit`` app."""
    app.add_typer(human_app, name="human")
