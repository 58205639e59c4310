"""Continue a run that stopped on a non-finite value with other hyper-parameters: a new run directory that starts
from the stopped run's last checkpoint (``marlkit resume RUN_DIR --set KEY=VALUE``).

A run stopped by the NaN / inf guard (:mod:`marlkit.train.finite`) cannot be resumed as it is: it would reach the
same value. Forking it copies what was computed up to its last checkpoint — the windows' records (re-stamped with
the new config's hash), the ``metrics.jsonl`` lines, the training state — into a new run directory whose config
differs only in the learners' hyper-parameters (``learners[.i].params.*``: a step size, a learning rate, an initial
value, a temperature), then resumes it with :func:`marlkit.experiment.runner.resume`. The stopped run stays as it
was, for inspection. The continuation is exactly what training with the old hyper-parameters for the first
``window`` windows and the new ones after would give (same keys: the window keys are part of the checkpointed
state); ``forked_from.json`` in the new run says from which run, at which window and what changed.

Only hyper-parameters may change: anything else (the game, the steps, the seeds, the learner itself) changes what
the run is, so start a new run. A change that alters the learners' state (e.g. another exploration type) is
refused by the checkpoint's structure check before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import jax
import numpy as np

from marlkit.atomic import write_text, write_with
from marlkit.errors import InvalidGameError
from marlkit.experiment import rundir
from marlkit.experiment.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from marlkit.experiment.config import config_hash, dump_config, load_config
from marlkit.experiment.dotted import replaced
from marlkit.experiment.trainers import plan_for

FORKED_FROM = "forked_from.json"
"""The file in a forked run directory that names the stopped run, the window it continued from and the changes."""


def stopped_reason(path: Path) -> dict[str, Any] | None:
    """``summary.json``'s ``stopped`` entry of a run directory, or None (no summary, or a run that finished)."""
    from marlkit.experiment.runfiles import read_summary

    if not (path / rundir.SUMMARY).is_file():
        return None
    stopped = read_summary(path / rundir.SUMMARY).get("stopped")
    return stopped if isinstance(stopped, dict) else None


def check_hyper_parameter(key: str) -> None:
    """Only ``learners[.i].params.*`` keys may change in a fork (module docstring)."""
    parts = key.split(".")
    index = 2 if len(parts) > 1 and parts[1].isdigit() else 1
    if parts[0] != "learners" or len(parts) <= index or parts[index] != "params":
        raise InvalidGameError(
            f"--set {key}: only the learners' hyper-parameters may change when a stopped run continues "
            "(learners.params.NAME, or learners.I.params.NAME for the I-th learner); to change anything else, "
            "start a new run"
        )


def fork_stopped(run_dir: str | os.PathLike[str], settings: Sequence[str]) -> Path:
    """A new run directory (beside the stopped one) that continues ``run_dir`` from its last checkpoint with the
    hyper-parameters ``settings`` (``KEY=VALUE`` items, dotted keys of the run's config) changed; not yet trained
    further: :func:`marlkit.experiment.runner.resume` it.

    Raises:
        RunDirError: not a run directory, or not a run stopped on a non-finite value.
        InvalidGameError / ConfigError: a malformed or unknown key, a key other than a hyper-parameter, a value of
            the wrong type or out of its range.
        CheckpointError: a change that alters the learners' state structure; a corrupt checkpoint.
    """
    from marlkit.experiment.runner import run_game
    from marlkit.schema import load_yaml

    source = rundir.open_run(run_dir)
    rundir.check_no_links(source)
    stopped = stopped_reason(source)
    if stopped is None:
        raise rundir.RunDirError(
            f"{source}: --set continues a run that stopped on a non-finite value; this run did not (resume it "
            "without --set, or start a new run with other hyper-parameters)"
        )
    if not settings:
        raise InvalidGameError("--set: give at least one KEY=VALUE, e.g. --set learners.params.step_size=0.05")
    data = load_yaml((source / rundir.CONFIG).read_text(encoding="utf-8"))
    changed: dict[str, list[Any]] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise InvalidGameError(f"--set {item!r}: expected KEY=VALUE, e.g. --set learners.params.step_size=0.05")
        if key in changed:
            raise InvalidGameError(f"--set {key} given twice")
        check_hyper_parameter(key)
        data, old, new = replaced(data, key, text, "--set")
        changed[key] = [old, new]
    game = run_game(source)
    old_config = load_config(source / rundir.CONFIG, game=game)
    new_config = load_config(data, game=game)  # the new values' ranges are checked here
    new_plan, game = plan_for(new_config, game)
    old_digest, new_digest = config_hash(old_config, game), config_hash(new_config, game)
    checkpoint = None
    if (source / rundir.CHECKPOINT).is_file():
        try:
            checkpoint = load_checkpoint(
                source / rundir.CHECKPOINT, jax.eval_shape(new_plan.start), config_hash=old_digest
            )
        except CheckpointError as exc:
            raise CheckpointError(
                f"{exc}; the change alters what the learners keep between steps, so the stopped run's state cannot "
                "continue under it: start a new run"
            ) from None
    done = 0 if checkpoint is None else checkpoint.windows_done
    records = rundir.load_segments(source, done, old_digest) if done else []
    name = f"{old_config.output.name or old_config.name}-resumed"
    target = rundir.create(source.parent, name, new_plan.needed_bytes())
    try:
        with rundir.disk_errors(target, resumable=False):
            if (source / rundir.GAME).is_file():
                shutil.copyfile(source / rundir.GAME, target / rundir.GAME)
            first = 0
            for record in records:
                rundir.write_segment(target, first, record, new_digest)
                first += int(np.shape(record.counts)[1])
            kept = b""
            if checkpoint is not None:
                with open(source / rundir.METRICS, "rb") as handle:
                    kept = handle.read(int(checkpoint.info["metrics_bytes"]))

            def write_kept(handle: IO[Any]) -> None:
                handle.write(kept)

            write_with(target / rundir.METRICS, write_kept)
            if checkpoint is not None:
                save_checkpoint(
                    target / rundir.CHECKPOINT,
                    checkpoint.state,
                    config_hash=new_digest,
                    windows_done=done,
                    info=dict(checkpoint.info),
                )
            lineage = {"run": str(source), "window": done, "changed": changed, "stopped": stopped}
            write_text(target / FORKED_FROM, json.dumps(lineage, indent=1) + "\n")
            dump_config(new_config, target / rundir.CONFIG)  # last: its presence marks a run directory
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # nothing trained in it: leave nothing half-written
        raise
    return target


__all__ = ["FORKED_FROM", "check_hyper_parameter", "fork_stopped", "stopped_reason"]
