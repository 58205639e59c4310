"""Lazy ``"package.module:Name"`` targets.

The registries (environments, deep learners, reward transforms) name each class by where it lives and import it on
first use, so listing a registry imports nothing heavy (flax networks, optional PettingZoo tasks). This module is a
leaf like :mod:`marlkit.errors`.
"""

from __future__ import annotations

import importlib
from typing import Any

from marlkit.errors import NotApplicableError


def load_target(target: str, what: str) -> Any:
    """Import ``target = "package.module:Name"`` and return ``Name``.

    Raises :class:`NotApplicableError` (chained to the cause) naming ``what`` (e.g. ``"task"``) when the module
    cannot be imported or has no such name.
    """
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise NotApplicableError(
            f"the {what}'s module {module_name!r} cannot be imported ({exc}); is it installed and complete?"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise NotApplicableError(f"module {module_name!r} has no {what} class {attr!r}") from exc


__all__ = ["load_target"]
