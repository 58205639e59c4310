"""``marlkit attack ...`` and ``marlkit defend ...``: attacks on MARL and defences against them (docs/attacks.md).

``marlkit attack poison|observation|backdoor`` and ``marlkit defend detect|unlearn``; each sub-command lives in its
own module (``attack_poison.py``, ``attack_observation.py``, ``attack_backdoor.py``) with a
``register(attack_app, defend_app)`` function, so this module only builds the two groups.
"""

from __future__ import annotations

import typer

from marlkit.cli import attack_backdoor, attack_observation, attack_poison
from marlkit.cli.context import command_group

attack_app = command_group(
    "attack", "Attack a game, a dataset or a trained run: reward poisoning, observation attacks, backdoors."
)
defend_app = command_group("defend", "Defend trained agents: detect a Trojan (trigger search) and unlearn it.")

for module in (attack_poison, attack_observation, attack_backdoor):
    module.register(attack_app, defend_app)


def register(app: typer.Typer) -> None:
    """Add ``attack`` and ``defend`` to the ``marlkit`` app."""
    app.add_typer(attack_app, name="attack")
    app.add_typer(defend_app, name="defend")
