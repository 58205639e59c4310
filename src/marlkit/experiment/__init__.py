"""Experiments: configs, run directories, checkpoint and resume (and, built on them, reports and sweeps).

>>> from marlkit.experiment import load_config, run, resume      # doctest: +SKIP
>>> result = run("experiment.yaml")                               # doctest: +SKIP
>>> result.path, result.history.policy.shape                      # doctest: +SKIP

* :mod:`~marlkit.experiment.config` — the config schema (frozen dataclasses), :func:`load_config`,
  :func:`dump_config`; every error names its key (``docs/experiments.md``).
* :mod:`~marlkit.experiment.runner` — :func:`run` and :func:`resume`: checkpointed segments, Ctrl-C safe,
  bit-identical after a kill.
* :mod:`~marlkit.experiment.rundir` — the run directory layout, ``metrics.jsonl``, atomic writes.
* :mod:`~marlkit.experiment.checkpoint` — training state as NPZ + JSON header, versioned, checked on load.
"""

from marlkit.experiment.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from marlkit.experiment.config import (
    ConfigError,
    ExperimentConfig,
    config_hash,
    config_to_dict,
    dump_config,
    load_config,
)
from marlkit.experiment.rundir import RunDirError, read_metrics
from marlkit.experiment.runner import RunInterrupted, RunResult, diagnosis_for_summary, resume, run

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ConfigError",
    "ExperimentConfig",
    "RunDirError",
    "RunInterrupted",
    "RunResult",
    "config_hash",
    "config_to_dict",
    "diagnosis_for_summary",
    "dump_config",
    "load_checkpoint",
    "load_config",
    "read_metrics",
    "resume",
    "run",
    "save_checkpoint",
]
