"""Atomic writes for the experiment floor: the house-wide :mod:`marlkit.atomic` (kept so existing imports hold)."""

from marlkit.atomic import sync_folder, write_text, write_with

__all__ = ["sync_folder", "write_text", "write_with"]
