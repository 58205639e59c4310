"""The training loop (jit + lax.scan, vmap over seeds) and the History it records."""

from marlkit.train.history import History
from marlkit.train.loop import Group, assign, train

__all__ = ["Group", "History", "assign", "train"]
