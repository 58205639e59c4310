"""What the runner needs for a deep run (:class:`~marlkit.experiment.config.DeepRun`): the compiled trainer's
plan, the disk space it takes, and the fields it adds to ``summary.json``.

The config itself — the ``env``, one deep learner for all agents, ``num_envs`` and the ``reward`` transform — is
declared and checked in :mod:`marlkit.experiment.config` (schema in ``docs/experiments.md`` and
``docs/deep.md``). On an exact game the deep trainer records policy tables, so the run gets the convergence
diagnosis and report of a tabular run; the learner's ``sharing: null`` stays null in ``config.yaml`` and the mode
the env's homogeneity chose, with its reason, goes into ``summary.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import TYPE_CHECKING, Any

import jax

from marlkit.diagnose.summary import tail_return
from marlkit.experiment.config import (
    DeepRun,
    ExperimentConfig,
    build_deep_learner,
    build_env,
    build_reward,
    config_hash,
)
from marlkit.games import Game

if TYPE_CHECKING:
    from marlkit.train import History
    from marlkit.train.deep import DeepPlan

PLAN_CACHE_SIZE = 8
_plans: dict[tuple[str, str | None], tuple[DeepPlan, Game | None]] = {}

TAIL_FRACTION = 0.1
"""The share of logging windows a summary's ``tail_return`` averages (as :func:`marlkit.diagnose.summary`)."""


def _fingerprint(game: Game | None) -> str | None:
    if game is None:
        return None
    from marlkit.games.io import game_to_dict

    return hashlib.sha256(json.dumps(game_to_dict(game), sort_keys=True).encode()).hexdigest()


def deep_plan(config: ExperimentConfig, game: Game | None = None) -> tuple[DeepPlan, Game | None]:
    """The compiled trainer's plan for a deep run (:func:`marlkit.train.deep.prepare`) and the run's exact game
    (None on a task).

    The trainer compiles once per plan *object*, so the same config and game (a resumed run, a repeated run in
    one process) get the same plan back from a small cache and reuse the compiled program."""
    from marlkit.train import deep

    if not isinstance(config, DeepRun):
        raise TypeError(f"deep_plan: {config.name} is a tabular run")

    env, model = build_env(config, game)
    key = (config_hash(config), _fingerprint(model))
    if key not in _plans:
        while len(_plans) >= PLAN_CACHE_SIZE:
            _plans.pop(next(iter(_plans)))
        transform = None if config.reward is None else build_reward(config.reward)
        seeds = config.seeds if isinstance(config.seeds, int) else list(config.seeds)
        plan = deep.prepare(
            env,
            build_deep_learner(config.learners[0]),
            config.steps,
            seeds,
            config.key,
            config.log_every,
            num_envs=config.num_envs,
            reward=transform,
        )
        _plans[key] = (plan, model)
    return _plans[key]


def needed_bytes(plan: DeepPlan) -> int:
    """Disk space a deep run takes at most (as the tabular estimate: records twice, the checkpoint twice, about
    60 bytes per number of ``metrics.jsonl``; 16 metrics assumed)."""
    from marlkit.train import deep

    spec = plan.env.spec
    n, A = spec.n_agents, spec.max_actions
    S = spec.global_state_size if plan.tables else 0
    J = math.prod(spec.num_actions) if plan.tables else 0
    per_window = 2 * 4 * n * S * A + 4 * S * J + 4 * (2 * n + 1) + 4 * 16 * n
    records = len(plan.seeds) * plan.num_logs * per_window
    state = sum(
        math.prod(x.shape) * (8 if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x.dtype.itemsize)
        for x in jax.tree_util.tree_leaves(jax.eval_shape(lambda: deep.start(plan)))
    )
    metrics = len(plan.seeds) * plan.num_logs * (120 + 60 * n * 20)
    return 2 * records + 2 * state + metrics


def summary_fields(plan: DeepPlan, history: History) -> dict[str, Any]:
    """What ``summary.json`` adds for a deep run: the env, the trainer, the sharing mode and why, the reward
    transform, and (on a task, where no policy table exists) the tail returns."""
    fields: dict[str, Any] = {
        "env": plan.env.spec.name,
        "trainer": history.meta.get("trainer", "deep"),
        "num_envs": plan.num_envs,
        "sharing": {"mode": plan.sharing.mode, "agent_id": plan.sharing.agent_id, "reason": plan.sharing.reason},
        "reward_transform": history.meta.get("reward_transform"),
    }
    if not plan.tables:
        fields["learning"] = {"tail_return": tail_return(history).tolist(), "tail_fraction": TAIL_FRACTION}
    return fields


__all__ = ["TAIL_FRACTION", "deep_plan", "needed_bytes", "summary_fields"]
