"""The trainers behind one protocol (:mod:`marlkit.train.protocol`): the compiled tabular loop (jit + lax.scan,
vmap over seeds), the compiled deep trainer (:mod:`marlkit.train.deep`) and the host loop for PettingZoo envs
(:mod:`marlkit.train.host`), and the History they record."""

from marlkit.history import History
from marlkit.train.loop import Group, TrainPlan, TrainState, advance, assign, prepare, start, to_history, train
from marlkit.train.protocol import Plan, Record, default_log_every

__all__ = [
    "Group",
    "History",
    "Plan",
    "Record",
    "TrainPlan",
    "TrainState",
    "advance",
    "assign",
    "default_log_every",
    "prepare",
    "start",
    "to_history",
    "train",
]
