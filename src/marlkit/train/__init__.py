"""The trainers behind one protocol (:mod:`marlkit.train.protocol`): the compiled tabular loop (jit + lax.scan,
vmap over seeds), the compiled deep trainer (:mod:`marlkit.train.deep`) and the host loop for PettingZoo envs
(:mod:`marlkit.train.host`), and the History they record.

Compiling a run's program takes seconds, most of a small run's time. In Python, opt in to JAX's persistent
compilation cache once, before the first run, and later processes load the compiled programs instead::

    from marlkit.compile_cache import enable_compilation_cache

    enable_compilation_cache()  # ~/.cache/marlkit/jax; MARLKIT_JAX_CACHE=/folder moves it, =off disables it

The ``marlkit`` command turns it on for every sub-command. Same-shape games share one program (the game's tables
and the full-information learners' payoffs are inputs of the program, not constants), so the cache serves
every game of a shape.
"""

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
