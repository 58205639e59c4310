"""The config sections of deep runs: an ``env``, one deep learner for all agents, ``num_envs`` and a ``reward``
transform — checked at the edge, every error naming its key path, like the rest of the config
(:mod:`marlkit.experiment.config`; schema in ``docs/experiments.md`` and ``docs/deep.md``).

A config is a *deep run* when its learner is a deep one (:data:`marlkit.agents.deep.registry.DEEP_LEARNERS`) or
it has one of the keys :data:`DEEP_KEYS`. Its environment is

* ``env: NAME`` or ``env: {name: NAME, params: {...}}`` — a task of :func:`marlkit.envs.make` (``simple_spread``,
  ``lbf``, ...) or ``game:<catalog name>`` (an exact game as an env; its ``params`` are the game's plus
  ``max_episode_steps``); or
* a ``game`` section exactly as for tabular runs — the env is then ``GameEnv(game, max_episode_steps)``.

On an exact game (either form) the deep trainer records policy tables, so the run gets the convergence diagnosis
and report of a tabular run. The resolved config fills every default (the env's, the learner's hyper-parameters,
the transform's) so ``config.yaml`` says exactly what ran; the learner's ``sharing: null`` stays null there and
the mode the env's homogeneity chose, with its reason, goes into ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import jax

from marlkit.agents.deep.registry import DEEP_LEARNERS, deep_learner_class, is_deep_learner
from marlkit.diagnose.summary import tail_return
from marlkit.errors import MarlkitError, NotApplicableError, UnknownNameError
from marlkit.experiment.config import (
    CHECKPOINTS_PER_RUN,
    DiagnosticsConfig,
    ExperimentConfig,
    LearnerConfig,
    _diagnostics,
    _game,
    _integer,
    _mapping,
    _only,
    _optional_integer,
    _output,
    _prefixed,
    _safe_name,
    _seeds,
    _sinks,
    _text,
    build_game,
)
from marlkit.experiment.params import ConfigError, convert, learner_params, unknown_key
from marlkit.games import Game, NormalFormGame, StochasticGame
from marlkit.targets import load_target

if TYPE_CHECKING:
    from marlkit.envs.base import MultiAgentEnv
    from marlkit.train import History
    from marlkit.train.deep import DeepPlan

DEEP_KEYS = ("env", "num_envs", "reward")
"""Top-level keys that only deep runs have."""

DEFAULT_NUM_ENVS = 16
"""Parallel envs per seed: JaxMARL's IPPO setting for MPE (Rutherford et al. 2024), also the trainer's default."""

REWARD_TRANSFORMS: Mapping[str, str] = MappingProxyType({"difference": "marlkit.agents.credit:DifferenceRewards"})
"""Reward transforms by config name and where their class lives (imported when used)."""

GAME_ENV = "game:"


@dataclass(frozen=True)
class EnvConfig:
    """A task of :func:`marlkit.envs.make`: its ``name`` and ``params`` (every parameter once resolved)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_game(self) -> bool:
        """Whether this is an exact catalog game as an env (``game:<name>``)."""
        return self.name.startswith(GAME_ENV)


@dataclass(frozen=True)
class RewardConfig:
    """A reward transform: a ``name`` of :data:`REWARD_TRANSFORMS` and its ``params`` (all, once resolved)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class DeepConfig:
    """What a deep run adds to :class:`~marlkit.experiment.config.ExperimentConfig`: the ``env`` (None: the
    config's ``game`` as a :class:`~marlkit.envs.games.GameEnv`), ``num_envs`` and the ``reward`` transform."""

    env: EnvConfig | None = None
    num_envs: int = DEFAULT_NUM_ENVS
    reward: RewardConfig | None = None


# ------------------------------------------------------------------------------------------------ detect


def _learner_names(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [item.get("name") if isinstance(item, Mapping) else item for item in items]


def is_deep(top: Mapping[str, Any]) -> bool:
    """Whether a config's top-level mapping describes a deep run; :class:`ConfigError` for one that mixes deep
    and tabular learners, or gives deep keys to tabular learners."""
    names = _learner_names(top.get("learners")) if "learners" in top else []
    deep = [name for name in names if is_deep_learner(name)]
    if deep and len(deep) != len(names):
        other = next(name for name in names if not is_deep_learner(name))
        raise ConfigError(
            f"learners: mixes the deep learner {deep[0]!r} with {other!r}; a run trains either tabular learners "
            "(on a game) or one deep learner for all agents (on an env or a game) — deep learners: "
            f"{', '.join(DEEP_LEARNERS)}"
        )
    given = [key for key in DEEP_KEYS if key in top]
    if given and names and not deep:
        from marlkit.agents.tabular.registry import LEARNERS

        if all(isinstance(name, str) and name in LEARNERS for name in names):
            raise ConfigError(
                f"{given[0]}: only deep runs take {', '.join(DEEP_KEYS)}; the tabular learner {names[0]!r} trains "
                f"on a game (game: NAME) — for an env choose a deep learner: {', '.join(DEEP_LEARNERS)}"
            )
    return bool(deep or given)


# ---------------------------------------------------------------------------------------------- sections


def _renamed(exc: MarlkitError, old: str, new: str) -> MarlkitError:
    text = str(exc)
    return type(exc)(new + text[len(old) :] if text.startswith(old) else f"{new}: {text}")


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _task_defaults(name: str) -> tuple[str, dict[str, Any]]:
    """A task's canonical name and its constructor's keyword defaults (fixed ones left out)."""
    from marlkit.envs.registry import TASKS, lookup

    entry = lookup(name)
    canonical = next(key for key, value in TASKS.items() if value is entry)
    try:
        cls = entry.load()
    except NotApplicableError:
        return canonical, {}  # make() reports the broken module with the env's name
    defaults = {
        p.name: _plain(p.default)
        for p in inspect.signature(cls).parameters.values()
        if p.default is not inspect.Parameter.empty and p.name not in entry.defaults
    }
    return canonical, defaults


def _env(value: Any, base: Path) -> tuple[EnvConfig, MultiAgentEnv]:
    from marlkit.envs.registry import make

    if isinstance(value, str):
        value = {"name": value}
    data = _mapping(value, "env", "a task name such as simple_spread, or {name: NAME, params: {...}}")
    _only(data, ("name", "params"), "env", "keys of env")
    if "name" not in data:
        raise ConfigError("env.name: missing; e.g. env: {name: simple_spread, params: {n_agents: 3}}")
    name = str(_text(data["name"], "env.name")).strip()
    params = dict(_mapping(data.get("params", {}) or {}, "env.params", f"parameters of {name}"))
    if name.lower().startswith(GAME_ENV):
        limit = params.pop("max_episode_steps", None)
        limit = _optional_integer(limit, "env.params.max_episode_steps", 1)
        try:
            game = _game({"name": name[len(GAME_ENV) :], "params": params}, base)
        except MarlkitError as exc:
            raise _renamed(exc, "game", "env") from None
        resolved = {**game.params, "max_episode_steps": limit}
        config = EnvConfig(GAME_ENV + str(game.name), MappingProxyType(resolved))
    else:
        try:
            canonical, defaults = _task_defaults(name)
        except UnknownNameError as exc:
            raise _prefixed(exc, "env.name") from None
        config = EnvConfig(canonical, MappingProxyType({**defaults, **params}))
    try:
        env = make(config.name, **config.params)
    except MarlkitError as exc:
        raise _prefixed(exc, "env.params") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"env.params: {exc}") from None
    return config, env


def _build(cls: type, params: Mapping[str, Any], path: str, name: str) -> Any:
    """``cls(**params)`` with each value converted by the field's annotation (errors name ``path``)."""
    hints = typing.get_type_hints(cls)
    fields = {name: hints[name] for name in settable_fields_of(cls)}
    values = {}
    for key, value in params.items():
        if key not in fields:
            raise ConfigError(unknown_key(f"{path}.{key}", key, list(fields), f"parameters of {name}"))
        values[key] = convert(value, fields[key], f"{path}.{key}")
    try:
        return cls(**values)
    except MarlkitError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {name}: {exc}") from None


def settable_fields_of(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass a config may set (those whose annotation a YAML value can give)."""
    from marlkit.experiment.params import _parts

    hints = typing.get_type_hints(cls)
    return tuple(
        f.name
        for f in dataclasses.fields(cls)
        if f.init and not f.name.startswith("_") and _parts(hints[f.name]) is not None
    )


def _learner(value: Any) -> tuple[LearnerConfig, Any]:
    if isinstance(value, list):
        if len(value) != 1:
            raise ConfigError(
                f"learners: a deep run takes one learner for all agents, got {len(value)}; choose which agents "
                "share a network with its sharing parameter (none, full or group)"
            )
        value = value[0]
    if isinstance(value, str):
        value = {"name": value}
    data = _mapping(value, "learners", "a deep learner name or {name: NAME, params: {...}}")
    if "agents" in data:
        raise ConfigError(
            "learners.agents: a deep learner controls every agent; use its sharing parameter (none, full or group) "
            "to choose which agents share a network"
        )
    _only(data, ("name", "params"), "learners", "keys of a deep learner")
    if "name" not in data:
        raise ConfigError(f"learners.name: missing; deep learners: {', '.join(DEEP_LEARNERS)}")
    name = str(_text(data["name"], "learners.name"))
    try:
        cls = deep_learner_class(name)
    except MarlkitError as exc:
        raise _prefixed(exc, "learners.name") from None
    params = _mapping(data.get("params", {}) or {}, "learners.params", f"hyper-parameters of {name}")
    learner = _build(cls, params, "learners.params", name)
    return LearnerConfig(name=name.lower(), params=MappingProxyType(learner_params(learner))), learner


def _reward(value: Any) -> tuple[RewardConfig | None, Any]:
    if value is None:
        return None, None
    if isinstance(value, str):
        value = {"name": value}
    data = _mapping(value, "reward", "a reward transform name or {name: NAME, params: {...}}")
    _only(data, ("name", "params"), "reward", "keys of reward")
    if data.get("name") not in REWARD_TRANSFORMS:
        raise ConfigError(
            f"reward.name: expected one of {', '.join(REWARD_TRANSFORMS)} (a reward transform), got "
            f"{data.get('name')!r}"
        )
    name = data["name"]
    try:
        cls = load_target(REWARD_TRANSFORMS[name], "reward transform")
    except NotApplicableError as exc:
        raise _prefixed(exc, "reward.name") from None
    params = _mapping(data.get("params", {}) or {}, "reward.params", f"parameters of {name}")
    transform = _build(cls, params, "reward.params", name)
    return RewardConfig(name, MappingProxyType(learner_params(transform))), transform


# -------------------------------------------------------------------------------------------------- resolve


def _steps_and_windows(top: Mapping[str, Any], per_update: int) -> tuple[int, int | None]:
    steps = _integer(top["steps"], "steps", 1)
    if steps % per_update:
        raise ConfigError(
            f"steps: {steps} is not a multiple of num_envs x rollout_length = {per_update} env steps per update; "
            f"use steps: {max(1, round(steps / per_update)) * per_update}"
        )
    log_every = top.get("log_every")
    if log_every is not None:
        log_every = _integer(log_every, "log_every", 1)
        if log_every % per_update or steps % log_every:
            raise ConfigError(
                f"log_every: {log_every} must be a multiple of the {per_update} env steps per update (num_envs x "
                f"rollout_length) and divide steps: {steps}"
            )
    return steps, log_every


def resolve_deep(top: Mapping[str, Any], base: Path, default_name: str, game: Game | None) -> ExperimentConfig:
    """The :class:`ExperimentConfig` of a deep run (called by :func:`~marlkit.experiment.config.load_config`,
    which has checked the top-level keys); ``game`` replaces the config's game (a resumed run's saved copy)."""
    from marlkit.envs.games import GameEnv
    from marlkit.train import deep

    for key, example in (("learners", "a deep learner, e.g. learners: ippo"), ("steps", "e.g. steps: 204800")):
        if key not in top:
            raise ConfigError(f"{key}: missing (required): {example}")
    if ("env" in top) == ("game" in top):
        raise ConfigError(
            "env: a deep run needs exactly one of env (a task: {name: simple_spread}, or game:<catalog name>) and "
            "game (an exact game as for tabular runs)"
        )
    name = _safe_name(top.get("name", default_name), "name")
    max_episode_steps = _optional_integer(top.get("max_episode_steps"), "max_episode_steps", 1)
    env_config, game_config = None, None
    if "env" in top:
        if max_episode_steps is not None:
            raise ConfigError("max_episode_steps: with env, give it in env.params (when the task takes it)")
        env_config, env = _env(top["env"], base)
        if game is not None and env_config.is_game:
            env = GameEnv(game, env_config.params.get("max_episode_steps"))
    else:
        game_config = _game(top["game"], base)
        model = build_game(game_config) if game is None else game
        if not isinstance(model, NormalFormGame | StochasticGame):
            raise ConfigError(f"game: expected a normal-form or stochastic game, got {type(model).__name__}")
        try:
            env = GameEnv(model, max_episode_steps)
        except MarlkitError as exc:
            raise _prefixed(exc, "game") from None
    num_envs = _integer(top.get("num_envs", DEFAULT_NUM_ENVS), "num_envs", 1)
    learner_config, learner = _learner(top["learners"])
    reward_config, transform = _reward(top.get("reward"))
    steps, log_every = _steps_and_windows(top, num_envs * learner.rollout_length)
    seeds = _seeds(top.get("seeds", 8))
    key = _integer(top.get("key", 0), "key", 0, 2**63 - 1)
    try:
        plan = deep.prepare(env, learner, steps, seeds, key, log_every, num_envs=num_envs, reward=transform)
    except MarlkitError as exc:
        raise _prefixed(exc, "learners") from None
    num_logs = plan.num_logs
    every = top.get("checkpoint_every")
    every = -(-num_logs // CHECKPOINTS_PER_RUN) if every is None else _integer(every, "checkpoint_every", 1)
    return ExperimentConfig(
        name=name,
        game=game_config,
        learners=(learner_config,),
        steps=steps,
        seeds=seeds,
        key=key,
        log_every=plan.log_every,
        max_episode_steps=max_episode_steps,
        checkpoint_every=min(every, num_logs),
        diagnostics=_deep_diagnostics(top.get("diagnostics"), plan),
        output=_output(top.get("output", {}) or {}),
        sinks=_sinks(top.get("sinks", {}) or {}),
        deep=DeepConfig(env=env_config, num_envs=num_envs, reward=reward_config),
    )


def _deep_diagnostics(value: Any, plan: DeepPlan) -> DiagnosticsConfig:
    if plan.tables:
        return _diagnostics(value or {}, plan.env.game)
    if value and dict(value) != dataclasses.asdict(DiagnosticsConfig()):  # a resolved config writes the defaults
        raise ConfigError(
            f"diagnostics: the convergence diagnostics judge policy tables of an exact, fully observable game; "
            f"{plan.env.spec.name} has none — remove diagnostics, or train on game: NAME"
        )
    return DiagnosticsConfig()


def with_deep_keys(data: dict[str, Any], deep: DeepConfig) -> dict[str, Any]:
    """``config_to_dict``'s plain data with a deep run's keys: ``env`` in place of ``game`` when the env is a
    task or ``game:<name>``, ``num_envs`` and ``reward`` after ``learners``."""
    reward = None if deep.reward is None else {"name": deep.reward.name, "params": dict(deep.reward.params)}
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        if key == "game" and deep.env is not None:
            items.append(("env", {"name": deep.env.name, "params": dict(deep.env.params)}))
            continue
        items.append((key, value))
        if key == "learners":
            items += [("num_envs", deep.num_envs), ("reward", reward)]
    return dict(items)


# ------------------------------------------------------------------------------------------------- building


def build_env(config: ExperimentConfig, game: Game | None = None) -> tuple[MultiAgentEnv, Game | None]:
    """A deep run's env and its exact game (None for a task); ``game`` replaces the config's (a resumed run)."""
    from marlkit.envs.games import GameEnv
    from marlkit.envs.registry import make

    assert config.deep is not None
    env_config = config.deep.env
    if env_config is None:
        model = build_game(config.game) if game is None else game  # type: ignore[arg-type]
        env = GameEnv(model, config.max_episode_steps)
    elif env_config.is_game and game is not None:
        env = GameEnv(game, env_config.params.get("max_episode_steps"))
    else:
        env = make(env_config.name, **env_config.params)
    return env, env.game if isinstance(env, GameEnv) else None


PLAN_CACHE_SIZE = 8
_plans: dict[tuple[str, str | None], tuple[DeepPlan, Game | None]] = {}


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
    from marlkit.experiment.config import config_hash

    assert config.deep is not None
    env, model = build_env(config, game)
    key = (config_hash(config), _fingerprint(model))
    if key not in _plans:
        while len(_plans) >= PLAN_CACHE_SIZE:
            _plans.pop(next(iter(_plans)))
        _plans[key] = (_new_plan(config, env), model)
    return _plans[key]


def _new_plan(config: ExperimentConfig, env: MultiAgentEnv) -> DeepPlan:
    from marlkit.train import deep

    assert config.deep is not None
    entry = config.learners[0]
    learner = _build(deep_learner_class(entry.name), entry.params, "learners.params", entry.name)
    reward = config.deep.reward
    transform = None
    if reward is not None:
        cls = load_target(REWARD_TRANSFORMS[reward.name], "reward transform")
        transform = _build(cls, reward.params, "reward.params", reward.name)
    seeds = config.seeds if isinstance(config.seeds, int) else list(config.seeds)
    return deep.prepare(
        env, learner, config.steps, seeds, config.key, config.log_every, num_envs=config.deep.num_envs, reward=transform
    )


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


TAIL_FRACTION = 0.1
"""The share of logging windows a summary's ``tail_return`` averages (as :func:`marlkit.diagnose.summary`)."""


__all__ = [
    "DEEP_KEYS",
    "DEFAULT_NUM_ENVS",
    "REWARD_TRANSFORMS",
    "DeepConfig",
    "EnvConfig",
    "RewardConfig",
    "build_env",
    "deep_plan",
    "is_deep",
    "needed_bytes",
    "resolve_deep",
    "settable_fields_of",
    "summary_fields",
    "with_deep_keys",
]
