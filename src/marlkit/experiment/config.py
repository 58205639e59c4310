"""Experiment configs: frozen dataclasses that declare every key once, loaded from YAML (or a dict).

A config is a tagged union, :data:`ExperimentConfig` = :class:`TabularRun` | :class:`DeepRun`, told apart by
what the YAML already says (:func:`is_deep`: a deep learner, or one of the keys ``env``, ``num_envs``,
``reward``). Every key's type, default, range, choices and doc sit in its field (:func:`marlkit.schema.setting`);
:func:`marlkit.schema.parse` reads and checks them, and this module adds only what needs the game: resolving the
game and the learners (their applicability included), the defaults computed from other keys (``log_every``,
``checkpoint_every``) and, for deep runs, the env and the trainer's plan — all before any training compiles.

:func:`load_config` returns the config with every default filled (learner hyper-parameters included), so the
config saved with a run (:func:`dump_config`) says exactly what ran. Errors are one line: the source, the key
path (``learners[1].params.step_size``), what was wrong and what is allowed. ``docs/experiments.md`` lists every
key from these declarations (a test checks that it agrees).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import numpy as np

from marlkit.agents.deep.registry import DEEP_LEARNERS, deep_learner_class, is_deep_learner
from marlkit.agents.reward_transforms import REWARD_TRANSFORMS
from marlkit.agents.tabular.registry import LEARNERS, make_learner
from marlkit.atomic import write_text
from marlkit.diagnose.criteria_table import CRITERIA
from marlkit.envs.games import make_env
from marlkit.errors import LearnerConfigError, MarlkitError, NotApplicableError, UnknownNameError
from marlkit.experiment.params import configure, learner_params
from marlkit.experiment.partner import check_partner_agents, check_partner_policy
from marlkit.games import Game, NormalFormGame, StochasticGame, as_stochastic, load_game
from marlkit.games.catalog import lookup
from marlkit.registry import unknown_name
from marlkit.schema import (
    MAX_YAML_BYTES,
    ConfigError,
    dump,
    dump_yaml,
    load_yaml,
    mapping,
    only,
    parse,
    read_field,
    settable,
    setting,
    shown,
)
from marlkit.solve.concepts import require_solution_set, solution_set_concepts
from marlkit.train.loop import LearnerAssignment, assign
from marlkit.train.protocol import default_log_every

# ------------------------------------------------------------------------------------------------ tables


DISTANCES = ("tv", "l1", "l2", "kl", "js")
"""Policy distances of the diagnostics (total variation, L1, L2, Kullback-Leibler, Jensen-Shannon)."""

WANDB_MODES = ("offline", "online", "disabled")
DEFAULT_NUM_ENVS = 16
"""Parallel envs per seed: JaxMARL's IPPO setting for MPE (Rutherford et al. 2024), also the trainer's default."""

CHECKPOINTS_PER_RUN = 10
"""Default ``checkpoint_every``: about this many checkpoints per run (``ceil(num_logs / 10)`` windows each)."""

MAX_SEEDS = 4096
"""The most seeds one run trains (a count, or the length of a list of seed indices). Seeds are vmapped: every
seed's whole training state sits in memory at once, so a typo such as ``seeds: 4294967296`` is refused when the
config is read, before anything is allocated. More seeds: split them over runs (a list of indices each) or a sweep."""

MAX_STEPS = 2**31 - 1
"""The most environment steps per seed (and the longest logging window or episode): the compiled loops count steps
in int32, JAX's default integer, so a longer run would overflow its step clock (and its schedules' counts)."""

MAX_NAME_CHARS = 100
"""The longest experiment or run-directory name: it names a folder (with a 16-character timestamp appended), and
file systems allow 255 bytes per name."""

GAME_ENV = "game:"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _safe_name(value: str, path: str) -> str:
    if len(value) > MAX_NAME_CHARS:
        raise ConfigError(
            f"{path}: {shown(value)} is longer than {MAX_NAME_CHARS} characters (it names a folder); use a shorter name"
        )
    if not _SAFE_NAME.match(value):
        raise ConfigError(
            f"{path}: {shown(value)} must start with a letter or digit and use only letters, digits, '.', '_' and '-' "
            "(it names a folder)"
        )
    return value


def _step_count(value: int | None, path: str) -> int | None:
    if value is not None and value > MAX_STEPS:
        raise ConfigError(
            f"{path}: {shown(value)} is more than {MAX_STEPS} (2**31 - 1) steps, which the compiled loops count in "
            "int32; split the run (resume continues it) or use fewer steps"
        )
    return value


def _short_name(value: str, path: str) -> str:
    """A registered name (a game, learner, task, reward): at most :data:`MAX_NAME_CHARS` characters, so a huge
    string is refused before a did-you-mean search walks it or a message echoes it."""
    if len(value) > MAX_NAME_CHARS:
        raise ConfigError(
            f"{path}: {shown(value)} is no registered name (names have at most {MAX_NAME_CHARS} characters)"
        )
    return value


def _seeds(value: int | tuple[int, ...], path: str) -> int | tuple[int, ...]:
    if isinstance(value, int):
        if value < 1:
            raise ConfigError(f"{path}: expected a count >= 1 or a non-empty list of seed indices >= 0, got {value}")
        if value > MAX_SEEDS:
            raise ConfigError(
                f"{path}: {shown(value)} seeds is more than one run trains (at most {MAX_SEEDS}, all in memory at "
                "once); split them over runs with lists of seed indices, or use a sweep"
            )
        return value
    if not value:
        raise ConfigError(f"{path}: expected a count >= 1 or a non-empty list of seed indices >= 0, got []")
    if len(value) > MAX_SEEDS:
        raise ConfigError(f"{path}: {len(value)} seed indices; one run trains at most {MAX_SEEDS}")
    for i, seed in enumerate(value):
        if not 0 <= seed <= 2**32 - 1:
            raise ConfigError(f"{path}[{i}]: expected an integer >= 0 (and < 2**32), got {seed}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{path}: seed indices must be distinct, got {list(value)}")
    return value


def _criteria(value: Any, path: str) -> Any:
    if isinstance(value, Mapping):
        only(value, CRITERIA, path, "criteria")
    return value


# ------------------------------------------------------------------------------------------------ schema


@dataclass(frozen=True)
class GameConfig:
    """The game: a catalog ``name`` with ``params`` (every parameter once resolved) or a game ``file``."""

    name: str | None = setting(None, doc="a catalog game or alias (`marlkit games`)", omit_none=True, check=_short_name)
    params: Mapping[str, Any] | None = setting(
        None, doc="the catalog game's parameters (all of them once resolved)", omit_none=True, null_is_default=True
    )
    file: str | None = setting(
        None, doc="a game file (.json/.npz), relative to the config's folder", omit_none=True, nonempty=True
    )


@dataclass(frozen=True)
class LearnerConfig:
    """One learner: a registered ``name``, its hyper-parameters ``params`` (all of them once resolved) and, for
    explicit groups, the ``agents`` it controls."""

    SHORTHAND: ClassVar[str] = "name"

    name: str = setting(
        doc="a learner (`marlkit.agents.tabular.LEARNERS` or a deep learner)", nonempty=True, check=_short_name
    )
    params: Mapping[str, Any] = setting(
        doc="hyper-parameters by field name", default_factory=lambda: MappingProxyType({}), null_is_default=True
    )
    agents: tuple[int, ...] | None = setting(
        None, doc="the agents of an explicit group (tabular)", omit_none=True, range=(0, None)
    )


def _learners_plain(learners: tuple[LearnerConfig, ...]) -> Any:
    entries = [dump(entry) for entry in learners]
    return entries[0] if len(entries) == 1 and learners[0].agents is None else entries


@dataclass(frozen=True)
class DiagnosticsConfig:
    """How the run is judged: the solution ``concept``, the tolerance ``eps`` and the policy ``distance``."""

    concept: str = setting(
        "nash",
        doc="the solution concept (ce, cce: one-state games; minimax, maximin: two-player zero-sum games; "
        "constrained, alias safe: constrained games)",
        default_doc="`nash`; `constrained` on a constrained game",
        choices=solution_set_concepts(),
    )
    eps: float | Mapping[str, float] | None = setting(
        None,
        doc="the tolerance: one number, one per criterion (" + ", ".join(CRITERIA) + "), or null (the defaults); "
        "a criterion measured by a policy distance needs eps below the distance's largest value (tv 1, l1 2, l2 "
        "√2, js ln 2, kl ln 1e12), else every run would count as converged",
        range=(0, None),
        open="low",
        check=_criteria,
    )
    distance: str = setting("tv", doc="the policy distance", choices=DISTANCES)


COST_CONVENTIONS = ("discounted", "episode")
"""What a Lagrangian learner's dual step measures: the discounted cost J = E[Σ γ^t C] the limits of an exact game
bound (Altman 1999), or the undiscounted episode cost of Safety-Gymnasium-style task limits (Ray et al. 2019)."""


def _limits(value: Any, path: str) -> Any:
    if isinstance(value, int | float):
        if value < 0:
            raise ConfigError(f"{path}: a cost limit must be >= 0 (costs are >= 0), got {value}")
    elif not value or any(not row or any(x < 0 for x in row) for row in value):
        raise ConfigError(f"{path}: expected one list per agent of limits >= 0 (a limit per constraint), got {value}")
    return value


@dataclass(frozen=True)
class ConstraintsConfig:
    """Safe MARL settings of a run on a constrained game or task (docs/safe.md): the limits (overriding the game's
    or task's), the Lagrangian learners' dual step size and which cost their dual step measures."""

    limits: float | tuple[tuple[float, ...], ...] | None = setting(
        None,
        doc="override the limits: one number for every agent and constraint, or one list per agent (a limit per "
        "constraint); null: the game's or task's",
        check=_limits,
        expected="a number >= 0 or a list per agent of limits >= 0",
    )
    dual_step: float | None = setting(
        None,
        doc="step size of the Lagrange multipliers' projected dual ascent (Lagrangian learners); null: the "
        "learner's default",
        range=(0, None),
        open="low",
    )
    cost: str | None = setting(
        None,
        doc="the cost the dual step measures: discounted (the J the limits of an exact game bound) or episode "
        "(undiscounted episode cost, as Safety-Gymnasium's limits); null: the learner's default",
        choices=COST_CONVENTIONS,
    )


def _attacked(value: tuple[int, ...], path: str) -> tuple[int, ...]:
    if not value or any(a < 0 for a in value) or len(set(value)) != len(value):
        raise ConfigError(f"{path}: expected a non-empty list of distinct agent indices >= 0, got {list(value)}")
    return value


@dataclass(frozen=True)
class AdversaryConfig:
    """A learned state adversary the tabular learners train against (docs/robust.md): in every step it shows each
    attacked agent j a state ŝ_j ∈ B^j(s) = {ŝ : d(s, ŝ) <= radius} (d: the game's ``state_distance`` metadata,
    else the discrete metric), learning by Q-learning to minimise the team's return
    (:class:`marlkit.train.adversary.StateAdversary`)."""

    attacked: tuple[int, ...] = setting(
        (0,), doc="the attacked agents (indices; M <= N)", check=_attacked, expected="a list of agent indices"
    )
    radius: float | None = setting(
        None,
        doc="the perception radius ε; null: the game's suggested `state_radius` (metadata), else 1 (any state)",
        range=(0, None),
    )
    schedule: str = setting(
        "alternating",
        doc="alternating (agents, then adversary, `period` steps each, as ATLA) or simultaneous",
        choices=("alternating", "simultaneous"),
    )
    period: int = setting(1000, doc="steps per phase of the alternating schedule", range=(1, None))
    epsilon: float = setting(0.1, doc="the adversary's ε-greedy exploration", range=(0, 1))


def _agent_list(value: tuple[int, ...], path: str) -> tuple[int, ...]:
    if any(a < 0 for a in value) or len(set(value)) != len(value):
        raise ConfigError(f"{path}: expected a list of distinct agent indices >= 0, got {list(value)}")
    return value


def _trigger(value: tuple[float, ...], path: str) -> tuple[float, ...]:
    if not value or not all(np.isfinite(v) for v in value):
        raise ConfigError(f"{path}: expected a non-empty list of finite trigger values, got {list(value)}")
    return value


@dataclass(frozen=True)
class BackdoorConfig:
    """A backdoor planted at training time in a deep run (docs/attacks.md, :mod:`marlkit.attacks.backdoor`):
    ``len(trigger)`` trigger channels are appended to every agent's observation; at each step, with probability
    ``rate``, the ``trigger`` pattern is shown to the ``shown_to`` agents; while it is on, each ``trojaned`` agent
    learns from +bonus for its ``target`` action and -bonus otherwise instead of its reward (reward hacking,
    MARNet). ``hack: false`` trains the clean control: the trigger is shown at the same rate, unhacked."""

    trigger: tuple[float, ...] = setting(
        (1.0,), doc="the trigger pattern, one value per appended channel", check=_trigger, expected="a list of numbers"
    )
    rate: float = setting(0.1, doc="the poison rate: probability per step that the trigger is shown", range=(0, 1))
    trojaned: tuple[int, ...] = setting(
        (0,), doc="the hacked agents (indices)", check=_attacked, expected="a list of agent indices"
    )
    target: tuple[int, ...] = setting(
        (0,),
        doc="the target action: one for all trojaned agents, or one each",
        check=_agent_list,
        expected="a list of action indices",
    )
    shown_to: tuple[int, ...] | None = setting(
        None,
        doc="the agents that see the trigger (null: every agent)",
        check=_attacked,
        expected="a list of agent indices or null",
    )
    bonus: float = setting(
        1.0, doc="the hacked reward's size: +bonus for the target action, -bonus otherwise", range=(0, None), open="low"
    )
    hack: bool = setting(True, doc="false: the clean control (the trigger is shown, nothing is hacked)")


@dataclass(frozen=True)
class PartnerConfig:
    """A frozen partner inside the env (human-aware training, :mod:`marlkit.experiment.partner`): the ``agents`` act
    by ``policy`` as part of the env; the learner controls the others."""

    agents: tuple[int | str, ...] = setting(
        doc="the partner's agents: names or indices", check=check_partner_agents, expected="a list of agents"
    )
    policy: str | tuple[str, ...] = setting(
        doc="a human model (`boltzmann?beta=0.1`, matrix games), a list of them (a population), `greedy-human` "
        "(the cooking task), `fixed:NAME`, a policy file or a run directory; a list of such sources (not all human "
        "models) is a population drawn per episode",
        check=check_partner_policy,
        expected="a source string or a list of sources",
    )
    weights: tuple[float, ...] | None = setting(
        None,
        doc="a population's weights (default uniform; a per-episode population's must sum to 1)",
        range=(0, None),
        omit_none=True,
    )
    seed: int = setting(0, doc="a run directory's training seed index", range=(0, None))


@dataclass(frozen=True)
class OutputConfig:
    """Where runs go: ``<root>/<name>-<YYYYmmdd-HHMMSS>/`` (``name`` defaults to the experiment's name)."""

    root: str = setting("runs", doc="the run directory's parent (`--root` overrides it)", nonempty=True)
    name: str | None = setting(
        None, doc="the run directory's name prefix (default: `name`; at most 100 characters)", check=_safe_name
    )


@dataclass(frozen=True)
class TensorBoardSink:
    SHORTHAND: ClassVar[str] = "enabled"

    enabled: bool = setting(False, doc="write TensorBoard events")
    log_dir: str | None = setting(None, doc="their folder (default: the run directory's `tensorboard/`)", nonempty=True)


@dataclass(frozen=True)
class WandbSink:
    SHORTHAND: ClassVar[str] = "enabled"

    enabled: bool = setting(False, doc="log to Weights & Biases")
    project: str | None = setting(None, doc="the W&B project (default: `marlkit`)", nonempty=True)
    mode: str = setting("offline", doc="the W&B mode", choices=WANDB_MODES)


@dataclass(frozen=True)
class MlflowSink:
    SHORTHAND: ClassVar[str] = "enabled"

    enabled: bool = setting(False, doc="log to MLflow")
    tracking_uri: str | None = setting(
        None, doc="the MLflow tracking URI (default: `MLFLOW_TRACKING_URI`, else `<run>/mlruns`)", nonempty=True
    )
    experiment: str | None = setting(None, doc="the MLflow experiment (default: `marlkit`)", nonempty=True)


@dataclass(frozen=True)
class SinksConfig:
    """Optional metric sinks, each off unless ``enabled`` (``metrics.jsonl`` is always written)."""

    tensorboard: TensorBoardSink = setting(
        doc="`true` or {enabled, log_dir}", default_factory=TensorBoardSink, null_is_default=True
    )
    wandb: WandbSink = setting(
        doc="`true` or {enabled, project, mode}", default_factory=WandbSink, null_is_default=True
    )
    mlflow: MlflowSink = setting(
        doc="`true` or {enabled, tracking_uri, experiment}", default_factory=MlflowSink, null_is_default=True
    )

    def enabled(self) -> list[str]:
        """The names of the sinks switched on."""
        return [name for name in ("tensorboard", "wandb", "mlflow") if getattr(self, name).enabled]


@dataclass(frozen=True, kw_only=True)
class Run:
    """What every run has: what to train, for how long, on which seeds, how to judge it and where to write it.

    ``seeds`` is a count (seeds ``0..seeds-1``) or a tuple of seed indices; seed i runs with key
    ``fold_in(key, i)`` (:func:`marlkit.train.train`). ``log_every`` steps make one logging window
    (``num_logs = steps // log_every``); a checkpoint is written every ``checkpoint_every`` windows. Both
    default to 0, "computed from the other keys", which :func:`load_config` fills in.
    """

    name: str = setting(
        "experiment",
        doc="the experiment's name; names the run directory (at most 100 characters)",
        nonempty=True,
        check=_safe_name,
        default_doc="the file's stem",
    )
    game: GameConfig | None = setting(
        None,
        expected="a catalog name, a game file or {name, params} / {file}",
        doc="see [Game](#game)",
        omit_none=True,
        default_doc="required (tabular runs)",
    )
    learners: tuple[LearnerConfig, ...] = setting(
        doc="see [Learners](#learners)", dump=_learners_plain, expected="a learner name, a mapping or a list"
    )
    steps: int = setting(doc="environment steps per seed (at most 2**31 - 1)", range=(1, None), check=_step_count)
    seeds: int | tuple[int, ...] = setting(
        8,
        doc="a count (seeds `0..n-1`) or distinct seed indices",
        check=_seeds,
        expected="a count >= 1 or a non-empty list of seed indices >= 0",
    )
    key: int = setting(0, doc="base PRNG key; seed `i` runs with `fold_in(key, i)`", range=(0, 2**63 - 1))
    log_every: int = setting(
        0,
        doc="steps per logging window; divides `steps`",
        range=(1, None),
        check=_step_count,
        null_is_default=True,
        default_doc="`steps / 100` if 100 divides `steps`, else `steps`",
    )
    max_episode_steps: int | None = setting(
        None, doc="episode time limit (truncation); null: the env's", range=(1, None), check=_step_count
    )
    checkpoint_every: int = setting(
        0,
        doc="logging windows per segment (capped at the run's windows)",
        range=(1, None),
        null_is_default=True,
        default_doc="about 10 per run (`ceil(num_logs / 10)`)",
    )
    diagnostics: DiagnosticsConfig = setting(
        doc="how the run is judged", default_factory=DiagnosticsConfig, null_is_default=True
    )
    constraints: ConstraintsConfig | None = setting(
        None, doc="see [Constraints](#constraints): limits, dual step, cost convention", omit_none=True
    )
    output: OutputConfig = setting(doc="where the run goes", default_factory=OutputConfig, null_is_default=True)
    sinks: SinksConfig = setting(
        doc="optional metric sinks (TensorBoard, W&B, MLflow), each an extra",
        default_factory=SinksConfig,
        null_is_default=True,
    )

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


@dataclass(frozen=True, kw_only=True)
class TabularRun(Run):
    """A run of tabular learners (``marlkit.agents.tabular.LEARNERS``) on a game."""

    adversary: AdversaryConfig | None = setting(
        None, doc="see [Adversary](#adversary): train against a learned state adversary", omit_none=True
    )


@dataclass(frozen=True)
class EnvConfig:
    """A task of :func:`marlkit.envs.make` (or ``game:<catalog name>``), or a user's env class (``target``), and its
    ``params`` (all, once resolved)."""

    SHORTHAND: ClassVar[str] = "name"

    name: str | None = setting(
        None,
        doc="a task (`simple_spread`, `lbf`, ...) or `game:<catalog name>`",
        nonempty=True,
        omit_none=True,
        check=_short_name,
    )
    target: str | None = setting(
        None,
        doc="instead of name: your own env class, `package.module:ClassName` (a subclass of marlkit.envs.base.Env; "
        "checked against the env contract when the config is read)",
        nonempty=True,
        omit_none=True,
    )
    params: Mapping[str, Any] = setting(
        doc="the task's parameters (for `game:`, the game's plus `max_episode_steps`; for target, the class's)",
        default_factory=lambda: MappingProxyType({}),
        null_is_default=True,
    )

    @property
    def is_game(self) -> bool:
        """Whether this is an exact catalog game as an env (``game:<name>``)."""
        return self.name is not None and self.name.startswith(GAME_ENV)


@dataclass(frozen=True)
class RewardConfig:
    """A reward transform: a ``name`` of :data:`REWARD_TRANSFORMS` and its ``params`` (all, once resolved)."""

    SHORTHAND: ClassVar[str] = "name"

    name: str = setting(doc="a reward transform", choices=tuple(REWARD_TRANSFORMS.names()))
    params: Mapping[str, Any] = setting(
        doc="its parameters (the fields of its class)",
        default_factory=lambda: MappingProxyType({}),
        null_is_default=True,
    )


@dataclass(frozen=True, kw_only=True)
class DeepRun(Run):
    """A run of one deep learner for all agents on an ``env`` (a task, or ``game:<name>``) or on the ``game``
    section as a :class:`~marlkit.envs.games.GameEnv` (``env`` None), with ``num_envs`` parallel envs per seed
    and an optional ``reward`` transform."""

    KEY_ORDER: ClassVar[tuple[str, ...]] = ("name", "env", "game", "learners", "num_envs", "reward")

    env: EnvConfig | None = setting(
        None,
        expected="a task name, {name, params} or {target, params}",
        doc="a task, `game:<name>` or your own env class (give exactly one of env and game)",
        omit_none=True,
    )
    num_envs: int = setting(DEFAULT_NUM_ENVS, doc="parallel envs per seed", range=(1, None))
    reward: RewardConfig | None = setting(
        None, expected="a reward transform name, {name, params} or null", doc="a reward transform: `difference`"
    )
    backdoor: BackdoorConfig | None = setting(
        None,
        doc="see [Backdoor](#backdoor): plant a backdoor at training time (trigger + reward hacking)",
        omit_none=True,
    )
    partner: PartnerConfig | None = setting(
        None,
        doc="see [Partner](#partner): a frozen partner (a human model, ...) plays some agents inside the env",
        omit_none=True,
    )


ExperimentConfig = TabularRun | DeepRun
"""A resolved experiment config: a tabular or a deep run."""

TOP_KEYS = tuple(dict.fromkeys([*settable(TabularRun), *settable(DeepRun)]))
"""Every top-level key, in the order the messages list them."""
DEEP_KEYS = tuple(key for key in settable(DeepRun) if key not in settable(TabularRun))
"""Top-level keys that only deep runs have (``env``, ``num_envs``, ``reward``)."""

REQUIRED_KEYS = {
    "game": "a catalog name such as matching-pennies, or {file: path/to/game.json}",
    "learners": "a learner name such as wolf-phc, a list with one per agent, or groups with agents",
    "steps": "environment steps per seed, e.g. steps: 20000",
}


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
        top = mapping(data, "", "the experiment's keys: " + ", ".join(TOP_KEYS))
        only(top, TOP_KEYS, "", "top-level keys")
        top = {"name": default_name, **top}
        return _deep(top, base, game) if is_deep(top) else _tabular(top, base, game)
    except MarlkitError as exc:
        raise type(exc)(f"{origin}: {exc}") from None


def _read_yaml(path: Path) -> Any:
    """A config file's YAML (:func:`marlkit.schema.load_yaml`: size, alias, nesting and duplicate-key limits); the
    file's size is checked before it is read."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc.strerror or exc})") from None
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_YAML_BYTES} bytes; is this a config?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return load_yaml(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _learner_names(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [item.get("name") if isinstance(item, Mapping) else item for item in items]


def is_deep(top: Mapping[str, Any]) -> bool:
    """The union's tag: whether a config's top-level mapping is a deep run (a deep learner, or a key of
    :data:`DEEP_KEYS`); :class:`ConfigError` for one that mixes deep and tabular learners, or gives deep keys
    to tabular learners."""
    names = _learner_names(top.get("learners")) if "learners" in top else []
    deep = [name for name in names if is_deep_learner(name)]
    if deep and len(deep) != len(names):
        other = next(name for name in names if not is_deep_learner(name))
        raise ConfigError(
            f"learners: mixes the deep learner {shown(deep[0])} with {shown(other)}; a run trains either tabular "
            "learners (on a game) or one deep learner for all agents (on an env or a game) — deep learners: "
            f"{', '.join(DEEP_LEARNERS)}"
        )
    given = [key for key in DEEP_KEYS if key in top]
    if given and names and not deep and all(isinstance(name, str) and name in LEARNERS for name in names):
        raise ConfigError(
            f"{given[0]}: only deep runs take {', '.join(DEEP_KEYS)}; the tabular learner {shown(names[0])} trains "
            f"on a game (game: NAME) — for an env choose a deep learner: {', '.join(DEEP_LEARNERS)}"
        )
    return bool(deep or given)


R = TypeVar("R", bound=Run)


def _windows(run: R, log_every: int, num_logs: int) -> R:
    every = run.checkpoint_every or -(-num_logs // CHECKPOINTS_PER_RUN)
    return replace(run, log_every=log_every, checkpoint_every=min(every, num_logs))


# ------------------------------------------------------------------------------------------------ tabular


def _tabular(top: dict[str, Any], base: Path, game: Game | None) -> TabularRun:
    for key, example in REQUIRED_KEYS.items():
        if key not in top:
            raise ConfigError(f"{key}: missing (required): {example}")
    game_config = _game(top["game"], base)
    run = parse(TabularRun, {**top, "game": game_config, "learners": ()})
    model = _exact(run_game(run, game))
    log_every = run.log_every or default_log_every(run.steps)
    if run.steps % log_every:
        nearby = [d for d in range(max(1, log_every // 2), min(run.steps, 2 * log_every) + 1) if run.steps % d == 0]
        raise ConfigError(
            f"log_every: {log_every} does not divide steps: {run.steps}; choose a divisor (nearby: {nearby[:6]}) "
            "or change steps"
        )
    try:
        make_env(model, run.max_episode_steps)  # rejects POSGs and bad time limits before any compile
    except MarlkitError as exc:
        raise type(exc)(f"game: {exc}") from None
    run = replace(run, learners=_learners(top["learners"], model, run.constraints))
    run = replace(run, diagnostics=_concept(run.diagnostics, model, top.get("diagnostics")))
    if run.adversary is not None:
        try:  # the sets must fit the game and the learners must act per agent: checked before any compile
            assign(build_learners(run.learners, model), model.n_players)
            adversary = build_adversary(run.adversary, model)
            adversary.check(model)
        except MarlkitError as exc:
            raise type(exc)(f"adversary: {exc}".replace("adversary: adversary: ", "adversary: ")) from None
    return _windows(run, log_every, run.steps // log_every)


def build_adversary(config: AdversaryConfig, game: Game) -> Any:
    """The :class:`~marlkit.train.adversary.StateAdversary` of a run's ``adversary`` section on its game."""
    from marlkit.games.uncertainty import state_ball
    from marlkit.train.adversary import StateAdversary

    model = as_stochastic(game)
    radius = config.radius if config.radius is not None else float(model.metadata.get("state_radius", 1.0))  # type: ignore[arg-type]
    sets = state_ball(model, radius, config.attacked)
    return StateAdversary(sets, schedule=config.schedule, period=config.period, epsilon=config.epsilon)


def _exact(model: Game) -> Game:
    if not isinstance(model, NormalFormGame | StochasticGame):
        raise ConfigError(f"game: expected a normal-form or stochastic game, got {type(model).__name__}")
    return model


def _game(value: Any, base: Path, path: str = "game") -> GameConfig:
    if isinstance(value, str):
        try:
            is_file = Path(value).suffix in (".json", ".npz") or (base / value).is_file()
        except (OSError, ValueError):  # a name too long for a path, or with a NUL: not a file
            is_file = False
        value = {"file": value} if is_file else {"name": value}
    data = mapping(value, path, "a catalog name, {name: NAME, params: {...}} or {file: PATH}")
    config = parse(GameConfig, data, path)
    if (config.name is None) == (config.file is None):
        raise ConfigError(f"{path}: give either name (a catalog game) or file (a .json/.npz game file), not both")
    if config.file is not None:
        if config.params is not None:
            raise ConfigError(f"{path}.params: parameters apply to catalog games, not to game files")
        return GameConfig(file=str((base / config.file).resolve()))
    try:
        entry = lookup(config.name)
    except UnknownNameError as exc:
        raise UnknownNameError(f"{path}.name: {exc}") from None
    params = dict(config.params or {})
    only(params, list(entry.parameters), f"{path}.params", f"parameters of {entry.name}")
    resolved = {k: list(v) if isinstance(v, tuple) else v for k, v in {**entry.parameters, **params}.items()}
    return GameConfig(name=entry.name, params=MappingProxyType(resolved))


def build_game(config: GameConfig | None) -> Game:
    """The game a :class:`GameConfig` describes (catalog factory or game file)."""
    if config is None:
        raise ConfigError("game: this run has no game section")
    if config.file is not None:
        try:
            return load_game(config.file)
        except MarlkitError as exc:
            raise type(exc)(f"game.file: {exc}") from None
    try:
        return lookup(str(config.name)).factory(**(config.params or {}))
    except MarlkitError as exc:
        raise type(exc)(f"game.params: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"game.params: {exc}") from None


def with_limits(game: Game, constraints: ConstraintsConfig | None) -> Game:
    """``game`` with ``constraints.limits`` in place of its own (unchanged without them); the game must have costs."""
    if constraints is None or constraints.limits is None:
        return game
    if not isinstance(game, StochasticGame) or not game.is_constrained or game.limits is None:
        raise ConfigError(
            f"constraints.limits: game {game.name or ''!r} has no costs, so limits cannot apply; use a constrained "
            "game (e.g. resource-sharing) or remove constraints.limits"
        )
    n, m = game.limits.shape
    given = constraints.limits
    try:
        limits = np.full((n, m), float(given)) if isinstance(given, int | float) else np.array(given, dtype=np.float64)
    except ValueError:  # ragged rows
        limits = np.zeros(0)
    if limits.shape != (n, m):
        raise ConfigError(
            f"constraints.limits: expected one number or {n} lists (one per agent) of {m} limit(s) each, got "
            f"{[list(row) for row in given] if not isinstance(given, int | float) else given}"
        )
    return replace(game, limits=limits)


def run_game(config: Run, game: Game | None = None) -> Game:
    """The exact game a run trains on: ``game`` (a resumed run's saved copy) or the config's, with the config's
    ``constraints.limits`` applied; limits no policy can meet are an error before anything runs."""
    from marlkit.solve.constrained import require_feasible

    model = with_limits(build_game(config.game) if game is None else game, config.constraints)
    require_feasible(model, "constraints.limits" if config.constraints and config.constraints.limits else "game.limits")
    return model


def _learners(value: Any, game: Game, constraints: ConstraintsConfig | None = None) -> tuple[LearnerConfig, ...]:
    n = game.n_players
    single = not isinstance(value, list)
    items = [value] if single else value
    if not items:
        raise ConfigError("learners: the list is empty; give one learner, one per agent, or groups with agents")
    paths = ["learners"] if single else [f"learners[{i}]" for i in range(len(items))]
    parsed = [parse(LearnerConfig, _entry(item), path) for item, path in zip(items, paths, strict=True)]
    with_agents = [entry.agents is not None for entry in parsed]
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
    for index, (entry, path) in enumerate(zip(parsed, paths, strict=True)):
        if entry.agents is not None and (not entry.agents or max(entry.agents) >= n):
            raise ConfigError(
                f"{path}.agents: expected a non-empty list of agent indices in 0..{n - 1}, got {list(entry.agents)}"
            )
        controlled = tuple(range(n)) if single else entry.agents if entry.agents is not None else (index,)
        learner = _build_learner(entry, game, path, constraints)
        check = getattr(learner, "check", None)
        if check is not None:
            try:
                check(as_stochastic(game), controlled)
            except MarlkitError as exc:
                raise type(exc)(f"{path} ({entry.name}): {exc}") from None
        entries.append(replace(entry, params=MappingProxyType(learner_params(learner))))
    resolved = tuple(entries)
    try:
        assign(build_learners(resolved, game), n)
    except LearnerConfigError as exc:
        raise LearnerConfigError(f"learners: {exc}") from None
    return resolved


def _entry(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


def _build_learner(entry: LearnerConfig, game: Game, path: str, constraints: ConstraintsConfig | None = None) -> Any:
    if entry.name not in LEARNERS:
        raise UnknownNameError(f"{path}.name: {unknown_name('learner', entry.name, LEARNERS)}")
    try:
        learner = make_learner(entry.name, game)
    except MarlkitError as exc:
        raise type(exc)(f"{path} ({entry.name}): {exc}") from None
    params = _with_constraints(entry.params, constraint_params(constraints, learner, entry.name, task=False), path)
    return configure(
        learner, params, f"{path}.params", entry.name, make=lambda **values: make_learner(entry.name, game, **values)
    )


def constraint_params(constraints: ConstraintsConfig | None, learner: Any, name: str, *, task: bool) -> dict[str, Any]:
    """The hyper-parameters a run's ``constraints`` section sets on a Lagrangian learner (``learner``, its default
    instance): ``dual_step``; ``cost`` as a deep learner's ``discounted_cost``; on a task, ``limits`` as a deep
    learner's ``cost_limit`` (agent-major). A learner without the field is an error naming the key."""
    if constraints is None:
        return {}
    wanted: dict[str, tuple[str, Any]] = {}
    if constraints.dual_step is not None:
        wanted["dual_step"] = ("constraints.dual_step", constraints.dual_step)
    if constraints.cost is not None and hasattr(learner, "discounted_cost"):
        wanted["discounted_cost"] = ("constraints.cost", constraints.cost == "discounted")
    elif constraints.cost == "episode" and hasattr(learner, "dual_step"):
        raise ConfigError(
            f"constraints.cost: {name} measures the discounted cost J that an exact game's limits bound (its cost "
            "critic); use cost: discounted or leave it out"
        )
    if task and constraints.limits is not None:
        given = constraints.limits
        flat = float(given) if isinstance(given, int | float) else tuple(float(x) for row in given for x in row)
        wanted["cost_limit"] = ("constraints.limits", flat)
    params = {}
    for field, (key, value) in wanted.items():
        if not hasattr(learner, field):
            raise ConfigError(
                f"{key}: learner {name} keeps no Lagrange multipliers, so it has no {field}; use a Lagrangian "
                "learner (lagrangian, lagrangian-iql, mappo_lagrangian, ...) or remove the key"
                + ("; a task's own limit is set in env.params" if field == "cost_limit" else "")
            )
        params[field] = value
    return params


def _with_constraints(params: Mapping[str, Any], extra: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """``params`` with the constraint section's values; the same key set differently in both is an error."""
    for key, value in extra.items():
        if key in params and params[key] != value and not (isinstance(value, tuple) and list(value) == params[key]):
            raise ConfigError(
                f"{path}.params.{key}: {shown(params[key])} differs from the constraints section's {shown(value)}; "
                "give it once"
            )
    return {**params, **extra}


def build_learners(learners: Sequence[LearnerConfig], game: Game) -> LearnerAssignment:
    """The learner assignment :func:`marlkit.train.train` takes: one learner, one per agent, or
    ``(learner, agents)`` groups — in the form the config used."""
    built = [_build_learner(e, game, f"learners[{i}]") for i, e in enumerate(learners)]
    groups = [(learner, e.agents) for learner, e in zip(built, learners, strict=True) if e.agents is not None]
    if groups:
        return groups
    return built[0] if len(built) == 1 else built


def _concept(diagnostics: DiagnosticsConfig, game: Game, given: Any) -> DiagnosticsConfig:
    """``diagnostics`` with the concept checked against ``game``; a constrained game judged by the default concept
    is judged by ``constrained`` instead (:func:`marlkit.diagnose.solution_sets.default_concept`)."""
    chosen = isinstance(given, Mapping) and "concept" in given
    if not chosen and isinstance(game, StochasticGame) and game.is_constrained:
        diagnostics = replace(diagnostics, concept="constrained")
    try:
        require_solution_set(diagnostics.concept, game)
    except NotApplicableError as exc:
        raise NotApplicableError(f"diagnostics.concept ({diagnostics.concept}): {exc}") from None
    _check_eps(diagnostics, game)
    return diagnostics


def _check_eps(diagnostics: DiagnosticsConfig, game: Game) -> None:
    """Refuse an ``eps`` that makes a criterion vacuous (:func:`marlkit.diagnose.criteria.check_eps`): criteria
    measured by a policy distance need eps below the distance's largest value (TV 1, L1 2, L2 √2, JS ln 2, KL
    ln 1e12), or every run would count as converged. Which criteria are distances depends on the solution set
    (a NashConv set is judged in payoff units), which is built only when some eps reaches a distance's bound."""
    from marlkit.diagnose.distances import DISTANCE_BOUNDS

    eps = diagnostics.eps
    if eps is None:
        return
    given = dict(eps) if isinstance(eps, Mapping) else dict.fromkeys(CRITERIA, eps)
    bound = DISTANCE_BOUNDS[diagnostics.distance]
    if all(value < bound for value in given.values()):
        return
    from marlkit.diagnose.criteria import check_eps
    from marlkit.diagnose.solution_sets import solution_set

    solutions = solution_set(game, diagnostics.concept)
    for criterion, value in given.items():
        key = f"diagnostics.eps.{criterion}" if isinstance(eps, Mapping) else f"diagnostics.eps (for {criterion})"
        try:
            check_eps(criterion, value, diagnostics.distance, solutions, key)
        except MarlkitError as exc:
            raise ConfigError(str(exc)) from None


# --------------------------------------------------------------------------------------------------- deep


def _deep(top: dict[str, Any], base: Path, game: Game | None) -> DeepRun:
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
    if "env" in top and top.get("max_episode_steps") is not None:
        raise ConfigError("max_episode_steps: with env, give it in env.params (when the task takes it)")
    given = dict(top)
    if "env" in top:
        given["env"] = _env(top["env"], base)
    else:
        given["game"] = _game(top["game"], base)
    given_constraints = top.get("constraints")
    constraints = None if given_constraints is None else parse(ConstraintsConfig, given_constraints, "constraints")
    learner_entry, learner = _deep_learner(top["learners"], constraints, task="env" in top)
    reward, transform = _reward(top.get("reward"))
    run = parse(DeepRun, {**given, "learners": (learner_entry,), "reward": reward})
    if run.partner is not None:  # a partner run's saved game is the learners' game; rebuild the env from the config
        game = None
    if run.env is not None:
        if run.partner is not None:
            run = replace(run, partner=_partner(run, base))
        env = build_env(run, game)[0]
    else:
        model = _exact(run_game(run, game))
        try:
            env = GameEnv(model, run.max_episode_steps)
        except MarlkitError as exc:
            raise type(exc)(f"game: {exc}") from None
        if run.partner is not None:
            from marlkit.experiment.partner import partner_env, resolve_partner

            run = replace(run, partner=resolve_partner(run.partner, env, base))
            env = partner_env(run.partner, env, base)
        env = backdoor_env(run, env)
    if run.backdoor is not None:
        if transform is not None:
            raise ConfigError("backdoor: a run with a backdoor takes no reward transform (remove reward)")
        transform = backdoor_reward(run, env)
        _check_backdoor_sharing(run, env, learner)
    per_update = run.num_envs * learner.rollout_length
    if run.steps % per_update:
        raise ConfigError(
            f"steps: {run.steps} is not a multiple of num_envs x rollout_length = {per_update} env steps per "
            f"update; use steps: {max(1, round(run.steps / per_update)) * per_update}"
        )
    if run.log_every and (run.log_every % per_update or run.steps % run.log_every):
        raise ConfigError(
            f"log_every: {run.log_every} must be a multiple of the {per_update} env steps per update (num_envs x "
            f"rollout_length) and divide steps: {run.steps}"
        )
    seeds = run.seeds if isinstance(run.seeds, int) else list(run.seeds)
    try:
        plan = deep.prepare(
            env, learner, run.steps, seeds, run.key, run.log_every or None, num_envs=run.num_envs, reward=transform
        )
    except MarlkitError as exc:
        raise type(exc)(f"learners: {exc}") from None
    exact = getattr(plan.env, "game", None)  # a GameEnv's game: the trainer records tables on exact games
    if plan.tables and exact is not None:
        run = replace(run, diagnostics=_concept(run.diagnostics, exact, top.get("diagnostics")))
    elif run.diagnostics != DiagnosticsConfig():
        raise ConfigError(
            f"diagnostics: the convergence diagnostics judge policy tables of an exact, fully observable game; "
            f"{plan.env.spec.name} has none — remove diagnostics, or train on game: NAME"
        )
    return _windows(run, plan.log_every, plan.num_logs)


def _partner(run: DeepRun, base: Path) -> PartnerConfig:
    """The run's ``partner`` section resolved on its env (:func:`marlkit.experiment.partner.resolve_partner`)."""
    from marlkit.experiment.partner import resolve_partner

    assert run.partner is not None
    return resolve_partner(run.partner, build_env(replace(run, partner=None, backdoor=None))[0], base)


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
        p.name: list(p.default) if isinstance(p.default, tuple) else p.default
        for p in inspect.signature(cls).parameters.values()
        if p.default is not inspect.Parameter.empty and p.name not in entry.defaults
    }
    return canonical, defaults


def _env(value: Any, base: Path) -> EnvConfig:
    from marlkit.envs.registry import make

    data = mapping(
        {"name": value} if isinstance(value, str) else value,
        "env",
        "a task name such as simple_spread, or {name: NAME, params: {...}}",
    )
    if ("name" in data) == ("target" in data):
        raise ConfigError(
            "env.name: give exactly one of name (a task: env: {name: simple_spread, params: {n_agents: 3}}) and "
            "target (your env class: env: {target: 'my_package.envs:MyEnv', params: {...}})"
        )
    config = parse(EnvConfig, data, "env")
    if config.target is not None:
        from marlkit.experiment.env_target import resolve_target

        target, params = resolve_target(config.target, config.params)
        return EnvConfig(target=target, params=MappingProxyType(params))
    assert config.name is not None
    name, params = config.name.strip(), dict(config.params)
    if name.lower().startswith(GAME_ENV):
        limit = read_field(
            Run, "max_episode_steps", params.pop("max_episode_steps", None), "env.params.max_episode_steps"
        )
        game = _game({"name": name[len(GAME_ENV) :], "params": params}, base, "env")
        config = EnvConfig(
            GAME_ENV + str(game.name), params=MappingProxyType({**(game.params or {}), "max_episode_steps": limit})
        )
    else:
        try:
            canonical, defaults = _task_defaults(name)
        except UnknownNameError as exc:
            raise UnknownNameError(f"env.name: {exc}") from None
        config = EnvConfig(canonical, params=MappingProxyType({**defaults, **params}))
    try:
        make(str(config.name), **config.params)
    except MarlkitError as exc:
        raise type(exc)(f"env.params: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"env.params: {exc}") from None
    return config


def _deep_learner(
    value: Any, constraints: ConstraintsConfig | None = None, *, task: bool = False
) -> tuple[LearnerConfig, Any]:
    if isinstance(value, list):
        if len(value) != 1:
            raise ConfigError(
                f"learners: a deep run takes one learner for all agents, got {len(value)}; choose which agents "
                "share a network with its sharing parameter (none, full or group)"
            )
        value = value[0]
    data = mapping(_entry(value), "learners", "a deep learner name or {name: NAME, params: {...}}")
    if "agents" in data:
        raise ConfigError(
            "learners.agents: a deep learner controls every agent; use its sharing parameter (none, full or group) "
            "to choose which agents share a network"
        )
    only(data, ("name", "params"), "learners", "keys of a deep learner")
    if "name" not in data:
        raise ConfigError(f"learners.name: missing; deep learners: {', '.join(DEEP_LEARNERS)}")
    entry = parse(LearnerConfig, data, "learners")
    try:
        cls = deep_learner_class(entry.name)
    except MarlkitError as exc:
        raise type(exc)(f"learners.name: {exc}") from None
    extra = constraint_params(constraints, cls(), entry.name, task=task)
    learner = configure(cls, _with_constraints(entry.params, extra, "learners"), "learners.params", entry.name)
    return LearnerConfig(name=entry.name.lower(), params=MappingProxyType(learner_params(learner))), learner


def _reward(value: Any) -> tuple[RewardConfig | None, Any]:
    if value is None:
        return None, None
    config = parse(RewardConfig, {"name": value} if isinstance(value, str) else value, "reward")
    transform = build_reward(config)
    return RewardConfig(config.name, MappingProxyType(learner_params(transform))), transform


def build_reward(config: RewardConfig) -> Any:
    """The reward transform a :class:`RewardConfig` describes."""
    try:
        cls = REWARD_TRANSFORMS.load(config.name)
    except NotApplicableError as exc:
        raise NotApplicableError(f"reward.name: {exc}") from None
    return configure(cls, config.params, "reward.params", config.name)


def build_env(config: DeepRun, game: Game | None = None) -> tuple[Any, Game | None]:
    """A deep run's env and its exact game (None for a task); ``game`` replaces the config's (a resumed run)."""
    from marlkit.envs.games import GameEnv
    from marlkit.envs.registry import make

    env: Any
    if config.partner is not None:  # a partner run's saved game is the learners' game (_deep)
        game = None
    if config.env is None:
        env = GameEnv(run_game(config, game), config.max_episode_steps)
    elif config.env.is_game and game is not None:
        env = GameEnv(with_limits(game, config.constraints), config.env.params.get("max_episode_steps"))
    elif config.env.target is not None:
        from marlkit.experiment.env_target import build_target

        env = build_target(config.env.target, config.env.params)
    else:
        env = make(str(config.env.name), **config.env.params)
    exact = env.game if isinstance(env, GameEnv) else None
    if config.partner is not None:
        from marlkit.experiment.partner import partner_env

        env = partner_env(config.partner, env)
        exact = getattr(env, "game", None)  # the learners' game where the partner is a table (envs.partner)
    return backdoor_env(config, env), exact


def backdoor_env(config: DeepRun, env: Any) -> Any:
    """``env`` wrapped in the run's trigger (:class:`marlkit.attacks.backdoor.TriggeredEnv`) when it has a
    ``backdoor`` section, else ``env``."""
    settings = config.backdoor
    if settings is None:
        return env
    from marlkit.attacks.backdoor import TriggeredEnv

    shown = tuple(range(env.spec.n_agents)) if settings.shown_to is None else settings.shown_to
    try:
        return TriggeredEnv(env, values=settings.trigger, agents=shown, rate=settings.rate)
    except MarlkitError as exc:
        raise type(exc)(f"backdoor: {exc}") from None


def backdoor_reward(config: DeepRun, env: Any) -> Any:
    """The run's reward hack (:class:`marlkit.attacks.backdoor.BackdoorReward`; no agent hacked with ``hack:
    false``), checked against ``env``; None without a ``backdoor`` section."""
    settings = config.backdoor
    if settings is None:
        return None
    from marlkit.attacks.backdoor import BackdoorReward, hack_state

    agents = settings.trojaned if settings.hack else ()
    try:
        hack_state(env.spec, settings.trojaned, settings.target, settings.bonus)
        return BackdoorReward(agents=agents, target=settings.target, bonus=settings.bonus)
    except MarlkitError as exc:
        raise type(exc)(f"backdoor: {exc}") from None


def _check_backdoor_sharing(config: DeepRun, env: Any, learner: Any) -> None:
    """Refuse a hacked backdoor whose trojaned agents share one network, without agent ids, with unhacked agents:
    the hack would then be planted in all of them (one network cannot tell them apart)."""
    settings = config.backdoor
    if settings is None or not settings.hack or not hasattr(learner, "sharing"):
        return
    from marlkit.agents.deep.sharing import plan_sharing, resolve_sharing

    plan = resolve_sharing(env, learner.sharing)
    if getattr(learner, "agent_id", None) is not None:
        plan = plan_sharing(env.spec, plan.mode, learner.agent_id, plan.reason)
    if plan.agent_id:
        return
    for agent in settings.trojaned:
        mates = [i for i in range(plan.n_agents) if plan.set_of[i] == plan.set_of[agent] and i not in settings.trojaned]
        if mates:
            raise ConfigError(
                f"backdoor: trojaned agent {agent} shares one network (no agent ids; sharing {plan.mode}: "
                f"{plan.reason or 'default'}) with unhacked agents {mates}, so the hack would be planted in them too; "
                "set learners.params.sharing: none (or agent_id: true)"
            )


def build_deep_learner(entry: LearnerConfig) -> Any:
    """The deep learner a resolved :class:`LearnerConfig` describes."""
    return configure(deep_learner_class(entry.name), entry.params, "learners.params", entry.name)


# -------------------------------------------------------------------------------------------------- dump


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as plain data (what :func:`dump_config` writes; :func:`load_config` reads it back)."""
    data = dump(config)
    order = getattr(config, "KEY_ORDER", ())
    return {**{k: data[k] for k in order if k in data}, **{k: v for k, v in data.items() if k not in order}}


def dump_config(config: ExperimentConfig, path: str | os.PathLike[str] | None = None) -> str:
    """The resolved config as YAML; written atomically to ``path`` when given."""
    text = dump_yaml(config_to_dict(config))
    if path is not None:
        write_text(Path(path), text)
    return text


def config_hash(config: ExperimentConfig, game: Game | None = None) -> str:
    """SHA-256 of what determines a run's results, as hex: the config (everything but ``output`` and ``sinks``);
    given the run's exact ``game``, the game's content (:func:`game_content_digest`), so a run's checkpoint and
    segments belong to its game's tables, not to a file name: a ``game.npz`` replaced by another game is refused
    on resume; and for a user's env class (``env.target``), the content of its source files as they are on disk
    (:func:`marlkit.experiment.env_target.target_source_digest`: the target module's file and the files of the
    class and its bases in the target's top-level package), so a run is not resumed after the env was edited."""
    data = {k: v for k, v in config_to_dict(config).items() if k not in ("output", "sinks")}
    if game is not None:
        data["game content"] = game_content_digest(game)
    target = config.env.target if isinstance(config, DeepRun) and config.env is not None else None
    if target is not None:
        from marlkit.experiment.env_target import target_source_digest

        data["env source"] = target_source_digest(target)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def game_content_digest(game: Game) -> str:
    """SHA-256 of a game's numbers: every array (dtype, shape, bytes) and number of its fields, nested objects
    (an observation model) included, in field order; names, strings and metadata do not count. A game saved and
    read back (JSON or NPZ) has the same digest."""
    import dataclasses

    digest = hashlib.sha256()

    def visit(value: Any, where: str, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(value, np.ndarray):
            array = np.ascontiguousarray(value)
            if array.dtype.kind in "biuf":
                array = array.astype(np.float64 if array.dtype.kind == "f" else np.int64)
            digest.update(f"{where}:{array.dtype.str}:{array.shape}".encode() + array.tobytes())
        elif isinstance(value, bool | int | float | np.number):
            digest.update(f"{where}={float(value)!r}".encode())
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                if f.name not in ("name", "metadata"):
                    visit(getattr(value, f.name), f"{where}.{f.name}", depth + 1)
        elif isinstance(value, tuple | list) and all(isinstance(v, np.ndarray | int | float) for v in value):
            for i, v in enumerate(value):
                visit(v, f"{where}[{i}]", depth + 1)

    visit(game, type(game).__name__, 0)
    return digest.hexdigest()


def with_output(config: ExperimentConfig, root: str | None = None, name: str | None = None) -> ExperimentConfig:
    """``config`` with another output root or run name (e.g. from the command line)."""
    output = config.output
    if root is not None:
        output = replace(output, root=root)
    if name is not None:
        output = replace(output, name=name)
    return replace(config, output=parse(OutputConfig, dump(output), "output"))


__all__ = [
    "DEEP_KEYS",
    "DEFAULT_NUM_ENVS",
    "DISTANCES",
    "MAX_NAME_CHARS",
    "MAX_SEEDS",
    "MAX_STEPS",
    "AdversaryConfig",
    "BackdoorConfig",
    "ConfigError",
    "DeepRun",
    "DiagnosticsConfig",
    "EnvConfig",
    "ExperimentConfig",
    "GameConfig",
    "LearnerConfig",
    "MlflowSink",
    "OutputConfig",
    "RewardConfig",
    "Run",
    "SinksConfig",
    "TabularRun",
    "TensorBoardSink",
    "WandbSink",
    "backdoor_env",
    "backdoor_reward",
    "build_adversary",
    "build_deep_learner",
    "build_env",
    "build_game",
    "build_learners",
    "build_reward",
    "config_hash",
    "config_to_dict",
    "constraint_params",
    "dump_config",
    "game_content_digest",
    "is_deep",
    "load_config",
    "run_game",
    "with_limits",
    "with_output",
]
