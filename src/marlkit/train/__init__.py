"""The training loop (jit + lax.scan, vmap over seeds) and the History it records."""

from marlkit.train.history import History
from marlkit.train.loop import Group, Record, TrainPlan, TrainState, advance, assign, prepare, start, to_history, train

__all__ = [
    "Group",
    "History",
    "Record",
    "TrainPlan",
    "TrainState",
    "advance",
    "assign",
    "prepare",
    "start",
    "to_history",
    "train",
]
