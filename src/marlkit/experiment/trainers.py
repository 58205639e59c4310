"""Which trainer runs an experiment config: a :class:`~marlkit.registry.Registry` of plan builders.

An entry builds, from a resolved :class:`~marlkit.experiment.config.ExperimentConfig` and the run's exact game
(a resumed run's saved copy, or None to build it from the config), the run's
:class:`~marlkit.train.protocol.Plan` and its exact game (None on a task). The runner
(:mod:`marlkit.experiment.runner`) looks the trainer up here by :func:`trainer_of` and calls only the plan's
protocol methods, so a new trainer — a Lagrangian learner's, adversarial training, a human-model partner — is one
``TRAINERS.add(name, "package.module:builder")`` and no change to the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from marlkit.registry import Registry

if TYPE_CHECKING:
    from marlkit.experiment.config import ExperimentConfig
    from marlkit.games import Game
    from marlkit.train.protocol import Plan

PlanBuilder: TypeAlias = "Callable[[ExperimentConfig, Game | None], tuple[Plan, Game | None]]"


def tabular_plan(config: ExperimentConfig, game: Game | None = None) -> tuple[Plan, Game | None]:
    """The tabular loop's plan (:func:`marlkit.train.loop.prepare`) for a tabular config and its game."""
    from marlkit.experiment.config import TabularRun, build_adversary, build_learners, run_game
    from marlkit.train.loop import prepare

    game = run_game(config, game)
    settings = config.adversary if isinstance(config, TabularRun) else None
    adversary = None if settings is None else build_adversary(settings, game)
    seeds = config.seeds if isinstance(config.seeds, int) else list(config.seeds)
    plan = prepare(
        game,
        build_learners(config.learners, game),
        config.steps,
        seeds=seeds,
        key=config.key,
        log_every=config.log_every,
        max_episode_steps=config.max_episode_steps,
        adversary=adversary,
    )
    return plan, game


def deep_plan(config: ExperimentConfig, game: Game | None = None) -> tuple[Plan, Game | None]:
    """The compiled deep trainer's plan (:func:`marlkit.train.deep.prepare`) for a deep run and its exact game
    (None on a task). Plans compare and hash by value, so an equal config and game reuse the compiled program
    through JAX's own cache (a resumed run, a repeated run in one process)."""
    from marlkit.experiment.config import DeepRun, backdoor_reward, build_deep_learner, build_env, build_reward
    from marlkit.train import deep

    if not isinstance(config, DeepRun):
        raise TypeError(f"deep_plan: {config.name} is a tabular run")
    env, model = build_env(config, game)
    transform = None if config.reward is None else build_reward(config.reward)
    if config.backdoor is not None:  # the trigger wraps the env in build_env; the hack is the reward transform
        transform = backdoor_reward(config, env)
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
    return plan, model


TRAINERS: Registry[tuple[Plan, Game | None]] = Registry("trainer")
TRAINERS.add(
    "tabular",
    tabular_plan,
    description="the compiled tabular loop: tabular learners on an exact game (marlkit.train.loop)",
)
TRAINERS.add(
    "deep",
    deep_plan,
    description="the compiled deep trainer: a deep learner on a JAX env or an exact game (marlkit.train.deep)",
)


def trainer_of(config: ExperimentConfig) -> str:
    """The trainer a config names: ``"deep"`` for a deep run (a config with a deep learner), else ``"tabular"``."""
    from marlkit.experiment.config import DeepRun

    return "deep" if isinstance(config, DeepRun) else "tabular"


def plan_for(config: ExperimentConfig, game: Game | None = None) -> tuple[Plan, Game | None]:
    """The run's plan and exact game, from the trainer :func:`trainer_of` names."""
    builder: Callable[..., tuple[Plan, Game | None]] = TRAINERS.load(trainer_of(config))
    return builder(config, game)


__all__ = ["TRAINERS", "PlanBuilder", "plan_for", "tabular_plan", "trainer_of"]
