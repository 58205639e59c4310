"""Experiment configs: frozen dataclasses loaded from YAML (or a dict), every error naming its key.

:func:`load_config` reads a YAML file (``yaml.safe_load``) or a mapping, checks every key and value, builds the
game and the learners and checks that each learner applies to the game — all before any training compiles —
and returns an :class:`ExperimentConfig` with every default filled in (learner hyper-parameters included), so
the config saved with a run (:func:`dump_config`) says exactly what ran. Errors are one line: the source, the key
path (``learners[1].params.step_size``), what was wrong and the allowed values.

The schema, with an example, is documented in ``docs/experiments.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from marlkit.agents.tabular.registry import LEARNERS, make_learner
from marlkit.envs.tabular import as_stochastic, make_env
from marlkit.errors import LearnerConfigError, MarlkitError, NotApplicableError, UnknownNameError
from marlkit.experiment.atomic import write_text
from marlkit.experiment.params import ConfigError, configure, learner_params, unknown_key
from marlkit.games import Game, NormalFormGame, StochasticGame, load_game
from marlkit.games.catalog import lookup
from marlkit.games.properties.descriptor import require_two_player_zero_sum
from marlkit.train.loop import LearnerAssignment, assign

if TYPE_CHECKING:
    from marlkit.experiment.deep_config import DeepConfig

# ------------------------------------------------------------------------------------------------ schema


@dataclass(frozen=True)
class GameConfig:
    """The game: a catalog ``name`` with ``params`` (every parameter, defaults filled) or a game ``file``
    (an absolute path once resolved)."""

    name: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    file: str | None = None


@dataclass(frozen=True)
class LearnerConfig:
    """One learner: a registered ``name`` (``marlkit.agents.tabular.LEARNERS``), its hyper-parameters
    ``params`` (all of them once resolved) and, for explicit groups, the ``agents`` it controls."""

    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    agents: tuple[int, ...] | None = None


@dataclass(frozen=True)
class DiagnosticsConfig:
    """How the run is judged: the solution ``concept``, the tolerance ``eps`` (a number, one per criterion, or
    None for the criteria's defaults) and the policy ``distance``."""

    concept: str = "nash"
    eps: float | Mapping[str, float] | None = None
    distance: str = "tv"


@dataclass(frozen=True)
class OutputConfig:
    """Where runs go: ``<root>/<name>-<YYYYmmdd-HHMMSS>/`` (``name`` defaults to the experiment's name)."""

    root: str = "runs"
    name: str | None = None


@dataclass(frozen=True)
class TensorBoardSink:
    enabled: bool = False
    log_dir: str | None = None


@dataclass(frozen=True)
class WandbSink:
    enabled: bool = False
    project: str | None = None
    mode: str = "offline"


@dataclass(frozen=True)
class MlflowSink:
    enabled: bool = False
    tracking_uri: str | None = None
    experiment: str | None = None


@dataclass(frozen=True)
class SinksConfig:
    """Optional metric sinks, each off unless ``enabled`` (``metrics.jsonl`` is always written)."""

    tensorboard: TensorBoardSink = field(default_factory=TensorBoardSink)
    wandb: WandbSink = field(default_factory=WandbSink)
    mlflow: MlflowSink = field(default_factory=MlflowSink)

    def enabled(self) -> list[str]:
        """The names of the sinks switched on."""
        return [name for name in SINKS if getattr(self, name).enabled]


@dataclass(frozen=True)
class ExperimentConfig:
    """A resolved experiment: what to train, for how long, on which seeds, how to judge it and where to write it.

    ``seeds`` is a count (seeds ``0..seeds-1``) or a tuple of seed indices; seed i runs with key
    ``fold_in(key, i)`` (:func:`marlkit.train.train`). ``log_every`` steps make one logging window
    (``num_logs = steps // log_every``); a checkpoint is written every ``checkpoint_every`` windows.
    ``deep`` holds a deep run's env, ``num_envs`` and reward transform (:mod:`marlkit.experiment.deep_config`;
    ``game`` is None when its env is a task); None for tabular runs.
    """

    name: str
    game: GameConfig | None
    learners: tuple[LearnerConfig, ...]
    steps: int
    seeds: int | tuple[int, ...] = 8
    key: int = 0
    log_every: int = 1
    max_episode_steps: int | None = None
    checkpoint_every: int = 1
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    sinks: SinksConfig = field(default_factory=SinksConfig)
    deep: DeepConfig | None = None

    @property
    def num_logs(self) -> int:
        """Logging windows of the run."""
        return self.steps // self.log_every

    @property
    def n_seeds(self) -> int:
        return self.seeds if isinstance(self.seeds, int) else len(self.seeds)

    @property
    def assignment(self) -> str:
        """How the learners cover the agents: ``"all"`` (one learner), ``"per-agent"`` or ``"groups"``."""
        if any(entry.agents is not None for entry in self.learners):
            return "groups"
        return "all" if len(self.learners) == 1 else "per-agent"


TOP_KEYS = (
    "name",
    "game",
    "learners",
    "steps",
    "seeds",
    "key",
    "log_every",
    "max_episode_steps",
    "checkpoint_every",
    "diagnostics",
    "output",
    "sinks",
    "env",
    "num_envs",
    "reward",
)
REQUIRED_KEYS = {
    "game": "a catalog name such as matching-pennies, or {file: path/to/game.json}",
    "learners": "a learner name such as wolf-phc, a list with one per agent, or groups with agents",
    "steps": "environment steps per seed, e.g. steps: 20000",
}
DEFAULT_SEEDS = 8
CHECKPOINTS_PER_RUN = 10
"""Default ``checkpoint_every``: about this many checkpoints per run (``ceil(num_logs / 10)`` windows each)."""


def _any_game(game: Game) -> None:
    return None


def _one_state(game: Game) -> None:
    if as_stochastic(game).num_states != 1:
        raise NotApplicableError(
            f"this concept is defined here for one-state (normal-form) games; {game.name!r} has "
            f"{as_stochastic(game).num_states} states — use concept: nash"
        )


def _zero_sum(game: Game) -> None:
    require_two_player_zero_sum(game, "this concept")


CONCEPTS: dict[str, Callable[[Game], None]] = {
    "nash": _any_game,
    "ce": _one_state,
    "cce": _one_state,
    "minimax": _zero_sum,
    "maximin": _zero_sum,
}
"""Solution concepts the diagnostics judge against, each with the check that it applies to the game."""

DISTANCES = ("tv", "l1", "l2", "kl", "js")
"""Policy distances of the diagnostics (total variation, L1, L2, Kullback-Leibler, Jensen-Shannon)."""

CRITERIA = (
    "joint_policy",
    "expected_return",
    "empirical_distribution",
    "averaged_joint_policy",
    "solution_set",
    "average_return",
)
"""The six convergence criteria (Albrecht, Christianos & Schäfer 2024, §5.2) an ``eps`` mapping may name
(the same names as ``marlkit.diagnose.results.CRITERIA``)."""

SINKS: dict[str, type] = {"tensorboard": TensorBoardSink, "wandb": WandbSink, "mlflow": MlflowSink}
WANDB_MODES = ("offline", "online", "disabled")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ------------------------------------------------------------------------------------------ small checks


def _mapping(value: Any, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a mapping ({what}), got {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{path}: keys must be strings, got {key!r}")
    return value


def _only(data: Mapping[str, Any], allowed: Sequence[str], path: str, what: str) -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(unknown_key(f"{path}.{key}" if path else key, key, list(allowed), what))


def _integer(value: Any, path: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{path}: expected an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{path}: expected an integer <= {maximum}, got {value!r}")
    return value


def _optional_integer(value: Any, path: str, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{path}: expected an integer >= {minimum} or null, got {value!r}")
    return value


def _positive(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{path}: expected a positive number, got {value!r}")
    return float(value)


def _text(value: Any, path: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: expected a non-empty string{' or null' if optional else ''}, got {value!r}")
    return value


def _safe_name(value: Any, path: str) -> str:
    text = _text(value, path)
    assert text is not None
    if not _SAFE_NAME.match(text):
        raise ConfigError(
            f"{path}: {text!r} must start with a letter or digit and use only letters, digits, '.', '_' and '-' "
            "(it names a folder)"
        )
    return text


def _choice(value: Any, path: str, choices: Sequence[str]) -> str:
    if value not in choices:
        close = difflib.get_close_matches(str(value), list(choices), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{path}: expected one of {', '.join(choices)}, got {value!r}{hint}")
    return value


def _prefixed(exc: MarlkitError, path: str) -> MarlkitError:
    """The same kind of error with the key path in front (the CLI prints it on one line)."""
    return type(exc)(f"{path}: {exc}")


# ---------------------------------------------------------------------------------------------- sections


def _game(value: Any, base: Path) -> GameConfig:
    if isinstance(value, str):
        is_file = Path(value).suffix in (".json", ".npz") or (base / value).is_file()
        value = {"file": value} if is_file else {"name": value}
    data = _mapping(value, "game", "a catalog name, {name: NAME, params: {...}} or {file: PATH}")
    _only(data, ("name", "params", "file"), "game", "keys of game")
    if ("name" in data) == ("file" in data):
        raise ConfigError("game: give either name (a catalog game) or file (a .json/.npz game file), not both")
    if "file" in data:
        if "params" in data:
            raise ConfigError("game.params: parameters apply to catalog games, not to game files")
        file = _text(data["file"], "game.file")
        return GameConfig(file=str((base / file).resolve()))  # type: ignore[operator]
    name = _text(data["name"], "game.name")
    try:
        entry = lookup(name)  # type: ignore[arg-type]
    except UnknownNameError as exc:
        raise _prefixed(exc, "game.name") from None
    params = dict(_mapping(data.get("params", {}) or {}, "game.params", f"parameters of {entry.name}"))
    _only(params, list(entry.parameters), "game.params", f"parameters of {entry.name}")
    resolved = {k: list(v) if isinstance(v, tuple) else v for k, v in {**entry.parameters, **params}.items()}
    return GameConfig(name=entry.name, params=MappingProxyType(resolved))


def build_game(config: GameConfig) -> Game:
    """The game a :class:`GameConfig` describes (catalog factory or game file)."""
    if config.file is not None:
        try:
            return load_game(config.file)
        except MarlkitError as exc:
            raise _prefixed(exc, "game.file") from None
    try:
        return lookup(config.name).factory(**config.params)  # type: ignore[arg-type]
    except MarlkitError as exc:
        raise _prefixed(exc, "game.params") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"game.params: {exc}") from None


def _learner_entry(value: Any, path: str) -> tuple[str, Mapping[str, Any], Any]:
    if isinstance(value, str):
        value = {"name": value}
    data = _mapping(value, path, "a learner name or {name: NAME, params: {...}, agents: [...]}")
    _only(data, ("name", "params", "agents"), path, "keys of a learner")
    if "name" not in data:
        raise ConfigError(f"{path}.name: missing; known learners: {', '.join(LEARNERS)}")
    name = _text(data["name"], f"{path}.name")
    if name not in LEARNERS:
        close = difflib.get_close_matches(str(name), list(LEARNERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownNameError(f"{path}.name: unknown learner {name!r}{hint}; known learners: {', '.join(LEARNERS)}")
    params = _mapping(data.get("params", {}) or {}, f"{path}.params", f"hyper-parameters of {name}")
    return name, params, data.get("agents")  # type: ignore[return-value]


def _agents(value: Any, path: str, n_agents: int) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or any(isinstance(a, bool) or not isinstance(a, int) or not 0 <= a < n_agents for a in value)
    ):
        raise ConfigError(f"{path}: expected a non-empty list of agent indices in 0..{n_agents - 1}, got {value!r}")
    return tuple(value)


def _learners(value: Any, game: Game) -> tuple[LearnerConfig, ...]:
    n = game.n_players
    single = not isinstance(value, list)
    items = [value] if single else value
    if not items:
        raise ConfigError("learners: the list is empty; give one learner, one per agent, or groups with agents")
    paths = ["learners"] if single else [f"learners[{i}]" for i in range(len(items))]
    parsed = [_learner_entry(item, path) for item, path in zip(items, paths, strict=True)]
    with_agents = [agents is not None for _, _, agents in parsed]
    if single and with_agents[0]:
        raise ConfigError("learners.agents: a single learner controls every agent; use a list of groups instead")
    if any(with_agents) and not all(with_agents):
        first = with_agents.index(not with_agents[0])
        raise ConfigError(
            f"learners[{first}].agents: give agents for every group or for none (one learner per agent, in order)"
        )
    if not single and not any(with_agents) and len(items) != n:
        raise ConfigError(
            f"learners: {len(items)} learners for a game of {n} agents; give one learner for all agents, one per "
            "agent, or groups with agents: [...]"
        )
    entries = []
    for (name, params, agents), path, index in zip(parsed, paths, range(len(items)), strict=True):
        controlled = (
            tuple(range(n)) if single else _agents(agents, f"{path}.agents", n) if agents is not None else (index,)
        )
        learner = _build_learner(name, params, game, path)
        check = getattr(learner, "check", None)
        if check is not None:
            try:
                check(as_stochastic(game), controlled)
            except MarlkitError as exc:
                raise _prefixed(exc, f"{path} ({name})") from None
        entries.append(
            LearnerConfig(
                name=name,
                params=MappingProxyType(learner_params(learner)),
                agents=controlled if agents is not None else None,
            )
        )
    resolved = tuple(entries)
    try:
        assign(build_learners(resolved, game), n)
    except LearnerConfigError as exc:
        raise _prefixed(exc, "learners") from None
    return resolved


def _build_learner(name: str, params: Mapping[str, Any], game: Game, path: str) -> Any:
    try:
        learner = make_learner(name, game)
    except MarlkitError as exc:
        raise _prefixed(exc, f"{path} ({name})") from None
    return configure(learner, params, f"{path}.params", name)


def build_learners(learners: Sequence[LearnerConfig], game: Game) -> LearnerAssignment:
    """The learner assignment :func:`marlkit.train.train` takes: one learner, one per agent, or
    ``(learner, agents)`` groups — in the form the config used."""
    built = [_build_learner(e.name, e.params, game, f"learners[{i}]") for i, e in enumerate(learners)]
    if any(e.agents is not None for e in learners):
        return [(learner, e.agents) for learner, e in zip(built, learners, strict=True)]
    return built[0] if len(built) == 1 else built


def _seeds(value: Any) -> int | tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, list) and value:
        ids = tuple(_integer(v, f"seeds[{i}]", 0, 2**32 - 1) for i, v in enumerate(value))
        if len(set(ids)) != len(ids):
            raise ConfigError(f"seeds: seed indices must be distinct, got {list(ids)}")
        return ids
    raise ConfigError(f"seeds: expected a count >= 1 or a non-empty list of seed indices >= 0, got {value!r}")


def _log_every(value: Any, steps: int) -> int:
    if value is None:
        return steps // 100 if steps % 100 == 0 else steps
    log_every = _integer(value, "log_every", 1)
    if steps % log_every:
        nearby = [d for d in range(max(1, log_every // 2), min(steps, 2 * log_every) + 1) if steps % d == 0]
        raise ConfigError(
            f"log_every: {log_every} does not divide steps: {steps}; choose a divisor (nearby: {nearby[:6]}) or "
            "change steps"
        )
    return log_every


def _diagnostics(value: Any, game: Game) -> DiagnosticsConfig:
    data = _mapping(value, "diagnostics", "concept, eps, distance")
    _only(data, ("concept", "eps", "distance"), "diagnostics", "keys of diagnostics")
    concept = _choice(data.get("concept", "nash"), "diagnostics.concept", list(CONCEPTS))
    try:
        CONCEPTS[concept](game)
    except NotApplicableError as exc:
        raise _prefixed(exc, f"diagnostics.concept ({concept})") from None
    eps = data.get("eps")
    if isinstance(eps, Mapping):
        _only(eps, CRITERIA, "diagnostics.eps", "criteria")
        eps = MappingProxyType({k: _positive(v, f"diagnostics.eps.{k}") for k, v in eps.items()})
    elif eps is not None:
        eps = _positive(eps, "diagnostics.eps")
    distance = _choice(data.get("distance", "tv"), "diagnostics.distance", DISTANCES)
    return DiagnosticsConfig(concept=concept, eps=eps, distance=distance)


def _output(value: Any) -> OutputConfig:
    data = _mapping(value, "output", "root, name")
    _only(data, ("root", "name"), "output", "keys of output")
    root = _text(data.get("root", "runs"), "output.root")
    name = None if data.get("name") is None else _safe_name(data["name"], "output.name")
    return OutputConfig(root=root, name=name)  # type: ignore[arg-type]


def _sinks(value: Any) -> SinksConfig:
    data = _mapping(value, "sinks", "tensorboard, wandb, mlflow")
    _only(data, list(SINKS), "sinks", "sinks")
    built = {}
    for name, item in data.items():
        path = f"sinks.{name}"
        if isinstance(item, bool):
            item = {"enabled": item}
        options = _mapping(item, path, "true/false or {enabled: ..., ...}")
        fields = list(SINKS[name].__dataclass_fields__)
        _only(options, fields, path, f"options of {name}")
        kwargs: dict[str, Any] = {}
        for key, option in options.items():
            if key == "enabled":
                if not isinstance(option, bool):
                    raise ConfigError(f"{path}.enabled: expected true or false, got {option!r}")
                kwargs[key] = option
            elif key == "mode":
                kwargs[key] = _choice(option, f"{path}.mode", WANDB_MODES)
            else:
                kwargs[key] = _text(option, f"{path}.{key}", optional=True)
        built[name] = SINKS[name](**kwargs)
    return SinksConfig(**built)


# -------------------------------------------------------------------------------------------------- load


def load_config(source: str | os.PathLike[str] | Mapping[str, Any], *, game: Game | None = None) -> ExperimentConfig:
    """Read, check and resolve an experiment config (a YAML file path or a mapping).

    Relative game-file paths are read from the config file's folder (from the working directory for a
    mapping). ``game`` replaces the game the config names (a resumed run uses the copy saved in its folder).
    The name defaults to the file's stem (``"experiment"`` for a mapping).

    Raises (one-line messages that start with the source and the key path):
        ConfigError: unknown keys, wrong types, impossible values.
        UnknownNameError: an unknown game or learner name.
        InvalidGameError / GameFileError: a bad catalog parameter or game file.
        LearnerConfigError / NotApplicableError: a learner that is malformed or does not apply to the game.
    """
    if isinstance(source, Mapping):
        origin, base, default_name, data = "config", Path.cwd(), "experiment", source
    else:
        path = Path(source)
        origin, base, default_name = str(path), path.resolve().parent, path.stem
        data = _read_yaml(path)
    try:
        return _resolve(data, base, default_name, game)
    except MarlkitError as exc:
        raise _prefixed(exc, origin) from None


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from None


def _resolve(data: Any, base: Path, default_name: str, game: Game | None) -> ExperimentConfig:
    top = _mapping(data, "config", "the experiment's keys: " + ", ".join(TOP_KEYS))
    _only(top, TOP_KEYS, "", "top-level keys")
    from marlkit.experiment import deep_config  # deep runs: env, one deep learner, num_envs, reward

    if deep_config.is_deep(top):
        return deep_config.resolve_deep(top, base, default_name, game)
    for key, example in REQUIRED_KEYS.items():
        if key not in top:
            raise ConfigError(f"{key}: missing (required): {example}")
    name = _safe_name(top.get("name", default_name), "name")
    game_config = _game(top["game"], base)
    model = build_game(game_config) if game is None else game
    if not isinstance(model, NormalFormGame | StochasticGame):
        raise ConfigError(f"game: expected a normal-form or stochastic game, got {type(model).__name__}")
    steps = _integer(top["steps"], "steps", 1)
    log_every = _log_every(top.get("log_every"), steps)
    max_episode_steps = _optional_integer(top.get("max_episode_steps"), "max_episode_steps", 1)
    try:
        make_env(model, max_episode_steps)  # rejects POSGs and bad time limits before any compile
    except MarlkitError as exc:
        raise _prefixed(exc, "game") from None
    num_logs = steps // log_every
    every = top.get("checkpoint_every")
    every = -(-num_logs // CHECKPOINTS_PER_RUN) if every is None else _integer(every, "checkpoint_every", 1)
    return ExperimentConfig(
        name=name,
        game=game_config,
        learners=_learners(top["learners"], model),
        steps=steps,
        seeds=_seeds(top.get("seeds", DEFAULT_SEEDS)),
        key=_integer(top.get("key", 0), "key", 0, 2**63 - 1),
        log_every=log_every,
        max_episode_steps=max_episode_steps,
        checkpoint_every=min(every, num_logs),
        diagnostics=_diagnostics(top.get("diagnostics", {}) or {}, model),
        output=_output(top.get("output", {}) or {}),
        sinks=_sinks(top.get("sinks", {}) or {}),
    )


# -------------------------------------------------------------------------------------------------- dump


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as plain data (what :func:`dump_config` writes; :func:`load_config` reads it back)."""
    game: dict[str, Any] | None = (
        None
        if config.game is None
        else {"file": config.game.file}
        if config.game.file
        else {"name": config.game.name, "params": config.game.params}
    )
    learners = [
        {"name": e.name, "params": e.params, **({"agents": e.agents} if e.agents is not None else {})}
        for e in config.learners
    ]
    sinks = {name: vars(getattr(config.sinks, name)) for name in SINKS}
    data = {
        "name": config.name,
        "game": game,
        "learners": learners[0] if config.assignment == "all" else learners,
        "steps": config.steps,
        "seeds": config.seeds,
        "key": config.key,
        "log_every": config.log_every,
        "max_episode_steps": config.max_episode_steps,
        "checkpoint_every": config.checkpoint_every,
        "diagnostics": vars(config.diagnostics),
        "output": vars(config.output),
        "sinks": sinks,
    }
    if config.deep is not None:
        from marlkit.experiment.deep_config import with_deep_keys

        data = with_deep_keys(data, config.deep)
    return _plain(data)


def dump_config(config: ExperimentConfig, path: str | os.PathLike[str] | None = None) -> str:
    """The resolved config as YAML; written atomically to ``path`` when given."""
    text = yaml.safe_dump(config_to_dict(config), sort_keys=False, allow_unicode=True)
    if path is not None:
        write_text(Path(path), text)
    return text


def config_hash(config: ExperimentConfig) -> str:
    """SHA-256 of what determines a run's results (everything but ``output`` and ``sinks``), as hex."""
    data = {k: v for k, v in config_to_dict(config).items() if k not in ("output", "sinks")}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def with_output(config: ExperimentConfig, root: str | None = None, name: str | None = None) -> ExperimentConfig:
    """``config`` with another output root or run name (e.g. from the command line)."""
    output = config.output
    if root is not None:
        output = replace(output, root=_text(root, "output.root"))
    if name is not None:
        output = replace(output, name=_safe_name(name, "output.name"))
    return replace(config, output=output)


__all__ = [
    "CONCEPTS",
    "DISTANCES",
    "SINKS",
    "ConfigError",
    "DiagnosticsConfig",
    "ExperimentConfig",
    "GameConfig",
    "LearnerConfig",
    "MlflowSink",
    "OutputConfig",
    "SinksConfig",
    "TensorBoardSink",
    "WandbSink",
    "build_game",
    "build_learners",
    "config_hash",
    "config_to_dict",
    "dump_config",
    "load_config",
    "with_output",
]
