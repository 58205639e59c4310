"""Policies of finished run directories: ``export_policy(run_dir, path)`` writes one seed's trained policy as a policy
file (:mod:`marlkit.policies.files`), ``run_policies`` reads every seed's, ``load_source`` reads what a command
line names (a run directory or a policy file).

This is the run-directory side of :mod:`marlkit.policies` (which sits below ``experiment`` and does not read run
directories itself):

* a **deep** run (on a task or an exact game): the learner the run's config describes, with seed ``i``'s final
  state from the run's last checkpoint (the training state after the last window);
* a **tabular** run: the policy table ``[n, S, A_max]`` of the run's History at its last logging point — the
  behaviour policy each learner held at the end of training (what ``act`` sampled from; for WoLF-type learners the
  current, not the average, policy).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from marlkit.envs.games import GameEnv
from marlkit.errors import NotApplicableError, PolicyFileError
from marlkit.experiment.runner import TrainedRun, load_trained
from marlkit.policies.files import (
    Policy,
    is_policy_file,
    load_policy,
    policy_from_learner,
    policy_from_table,
    save_policy,
)
from marlkit.policies.spec import EnvRef, game_env_ref


def _trained(run: str | os.PathLike[str] | TrainedRun) -> TrainedRun:
    return run if isinstance(run, TrainedRun) else load_trained(run)


def _seed_indices(trained: TrainedRun, seeds: Sequence[int] | None) -> list[int]:
    count = len(trained.plan.seeds)
    chosen = list(range(count)) if seeds is None else [int(s) for s in seeds]
    bad = [s for s in chosen if not 0 <= s < count]
    if bad:
        raise NotApplicableError(
            f"{trained.path}: seed {bad[0]} does not exist; the run trained {count} seeds (0..{count - 1})"
        )
    return chosen


def _sharing_reason(trained: TrainedRun) -> str | None:
    """Why the run's trainer chose its parameter sharing (the History's ``meta["sharing"]``), if it says."""
    sharing = trained.history.meta.get("sharing")
    reason = sharing.get("reason") if isinstance(sharing, Mapping) else None
    return str(reason) if reason else None


def run_policies(run: str | os.PathLike[str] | TrainedRun, seeds: Sequence[int] | None = None) -> list[Policy]:
    """The trained policy of every seed (or of the seed indices ``seeds``) of a finished run (module docstring).

    Raises:
        RunDirError / CheckpointError: not a finished run directory.
        NotApplicableError: a seed index out of range; a backdoor run (its env carries trigger channels, which a
            policy file does not describe).
    """
    trained = _trained(run)
    plan: Any = trained.plan
    config: Any = trained.config
    if getattr(config, "backdoor", None) is not None:
        raise NotApplicableError(
            f"{trained.path}: a backdoor run's policies act on trigger channels its env appends; policy files "
            "describe plain envs only (evaluate it with `marlkit defend` / `marlkit attack backdoor`)"
        )
    if getattr(config, "partner", None) is not None:
        raise NotApplicableError(
            f"{trained.path}: a partner run's policies act only on the learners' agents of an env with a frozen "
            "partner inside, which a policy file does not describe; compare it with partners by `marlkit human "
            "crossplay` (docs/human.md)"
        )
    chosen = _seed_indices(trained, seeds)
    seed_values = np.asarray(plan.seeds).tolist()
    if hasattr(plan, "learner"):  # the compiled deep trainer's plan
        env = plan.env
        if isinstance(env, GameEnv):
            ref = game_env_ref(env, config.env.name if config.env is not None else None)
        else:
            ref = EnvRef(config.env.name or config.env.target, dict(config.env.params), target=config.env.target)
        states = trained.state.carry.learner
        return [
            policy_from_learner(
                plan.learner,
                jax.tree.map(lambda x, i=i: x[i], states),
                env,
                ref,
                num_envs=plan.num_envs,
                source={"run": str(trained.path), "seed_index": i, "seed": seed_values[i], "steps": plan.steps},
                sharing_reason=_sharing_reason(trained),
            )
            for i in chosen
        ]
    env = GameEnv(plan.env.game, plan.env.max_episode_steps)  # one-hot observations, as every actor reads them
    names = dict.fromkeys(str(getattr(g.learner, "name", type(g.learner).__name__)) for g in plan.groups)
    tables = np.asarray(trained.history.policy[:, -1], np.float32)
    steps = int(np.asarray(trained.history.steps)[-1]) if hasattr(trained.history, "steps") else plan.steps
    return [
        policy_from_table(
            tables[i],
            env,
            game_env_ref(env),
            learner="+".join(names),
            source={
                "run": str(trained.path),
                "seed_index": i,
                "seed": seed_values[i],
                "steps": plan.steps,
                "table": f"History policy snapshot at the last logging point (step {steps})",
            },
        )
        for i in chosen
    ]


def export_policy(run: str | os.PathLike[str] | TrainedRun, path: str | os.PathLike[str], *, seed: int = 0) -> Path:
    """Write training seed index ``seed``'s policy of a finished run to a policy file at ``path`` (atomic).

    >>> export_policy("runs/spread", "spread.mkp")  # doctest: +SKIP

    Raises:
        RunDirError / CheckpointError: not a finished run directory.
        NotApplicableError: a seed index out of range, a learner that cannot be rebuilt, a backdoor run.
    """
    return save_policy(run_policies(run, [seed])[0], path)


def load_source(source: str | os.PathLike[str], *, seed: int | None = None, mode: str = "stochastic") -> list[Policy]:
    """The policies a command line names: a policy file (one policy) or a finished run directory (every seed's,
    or only seed index ``seed``).

    Raises:
        PolicyFileError: neither a run directory nor a policy file, or a bad policy file.
    """
    path = Path(source)
    if path.is_dir():
        return [p.with_mode(mode) for p in run_policies(path, None if seed is None else [seed])]
    if path.is_file() and not is_policy_file(path):
        raise PolicyFileError(
            f"{path}: neither a run directory nor a marlkit policy file; write one with `marlkit export RUN_DIR`"
        )
    if not path.exists():
        raise PolicyFileError(f"{path}: no such run directory or policy file")
    return [load_policy(path, mode=mode)]


__all__ = ["export_policy", "load_source", "run_policies"]
