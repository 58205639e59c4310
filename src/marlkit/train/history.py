"""Moved to :mod:`marlkit.history` (a leaf module the diagnostics import without the trainers); this name stays
until the modules that import it from here switch (issue 13)."""

from marlkit.history import History

__all__ = ["History"]
