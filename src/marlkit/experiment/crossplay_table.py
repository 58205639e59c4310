"""The human-AI cross-play table (Carroll et al. 2019, Table 1 / Fig. 4; issue 21, item 3).

Rows are agents trained from one deep run config, each with a small budget and several seeds:

* **self-play**: the config as it is (the learner plays every agent);
* **with a human model** H (one row per model of ``humans``): the config with ``partner: {agents, policy: H}``
  (:mod:`marlkit.experiment.partner`): H plays the human seats inside the env, the learner the others;
* **with a population** of the ``humans`` (uniform weights, or ``population_weights``): the person in the human
  seats plays the mixture Σ_m w_m π_m (on a task, :mod:`marlkit.experiment.crossplay_task`, one member drawn per
  episode plays it whole).

``human_rows: false`` leaves out the per-model rows (self-play and population rows only).

Columns are the partners in the human seats at evaluation: **the training partner** (the self-play agent itself;
the model or population it trained with), **each human model** of ``humans``, and each **held-out** model (used in
no row's training). The agent plays the other seats.

Each cell is evaluated by :func:`marlkit.policies.evaluate.evaluate_lineup` (the evaluation protocol of
:mod:`marlkit.policies.evaluate`: ``episodes`` episodes, common random numbers fixed by the evaluation seed) for
every training seed (all seeds in one compiled evaluation, ``stacked``). A cell's statistics are over the seeds'
mean team returns: their mean and IQM (rliable's recommendation for few runs; Agarwal et al. 2021), each with a
95% percentile interval of a **two-stage bootstrap** (Davison & Hinkley 1997, §3.8): resample the seeds, then each
resampled seed's episodes, so the interval carries both the spread between seeds and the episodes' noise (every
seed plays the same episodes — common random numbers — so a bootstrap over seeds alone would call a deterministic
agent's cell exact). With fewer than 4 seeds the IQM is the mean (``trim_mean(x, 0.25)`` drops nothing).

Human models act in matrix games (one state), so the table needs an exact matrix game (``game:`` or
``env: game:NAME``). The settings file (YAML)::

    run: carroll.yaml               # a deep run config (no partner, no backdoor); relative to this file
    agents: [human]                 # the seats people take
    humans: {boltzmann: "boltzmann?beta=0.1", level-1: "level-k?k=1"}
    held_out: {qre: "qre?lam=1"}
    episodes: 200
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from marlkit.diagnose.seeds import cell_statistics
from marlkit.errors import MarlkitError
from marlkit.schema import ConfigError, mapping, parse, setting

SCHEMA = "human-crossplay"
TRAINING_PARTNER = "training partner"
SELF_PLAY = "self-play"
POPULATION = "population"
MODES = ("stochastic", "greedy")


def _labels(value: Mapping[str, str], path: str) -> Mapping[str, str]:
    for label, spec in value.items():
        if not label.strip() or not isinstance(spec, str) or not spec.strip():
            raise ConfigError(
                f"{path}.{label}: expected label: partner, e.g. boltzmann: 'boltzmann?beta=0.1' (a human model) or, "
                "on a task, greedy: greedy-human"
            )
    return value


@dataclass(frozen=True)
class CrossplaySettings:
    """The settings of ``marlkit human crossplay`` (module docstring)."""

    run: str = setting(doc="a deep run config (YAML), relative to the settings file", nonempty=True)
    agents: tuple[int | str, ...] = setting(doc="the human seats: agent names or indices", expected="a list of agents")
    humans: Mapping[str, str] = setting(
        doc="label: human-model spec; each trains a row and is a column", check=_labels, nonempty=True
    )
    held_out: Mapping[str, str] = setting(
        doc="label: human-model spec; columns only (used in no training)",
        check=_labels,
        default_factory=lambda: MappingProxyType({}),
        null_is_default=True,
    )
    self_play: bool = setting(True, doc="a row trained by self-play")
    human_rows: bool = setting(
        True, doc="a row trained with each of `humans` (false: the self-play and population rows only)"
    )
    population: bool = setting(
        True,
        doc="a row trained with the population of `humans` (needs two or more; on a matrix game the mixture at every "
        "step, on a task one member drawn per episode)",
    )
    population_weights: tuple[float, ...] | None = setting(
        None, doc="the population's weights (default uniform)", range=(0, None)
    )
    episodes: int = setting(200, doc="evaluation episodes per cell and seed", range=(1, None))
    seed: int = setting(0, doc="the evaluation seed", range=(0, None))
    mode: str = setting("stochastic", doc="how the agents act at evaluation", choices=MODES)
    eval_params: Mapping[str, Any] = setting(
        doc="a task's parameters changed at evaluation (e.g. cooking's shaping: 0, so the return counts soups)",
        default_factory=lambda: MappingProxyType({}),
        null_is_default=True,
    )


def read_settings(path: str | os.PathLike[str]) -> tuple[CrossplaySettings, Path]:
    """The settings file and its folder.

    Raises:
        ConfigError: no such file, not YAML, unknown keys, wrong types (one line naming the key).
    """
    import yaml

    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such settings file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{file}: not a readable YAML file ({str(exc).splitlines()[0]})") from None
    try:
        settings = parse(CrossplaySettings, mapping(data, "", "the cross-play settings"))
    except MarlkitError as exc:
        raise type(exc)(f"{file}: {exc}") from None
    return settings, file.resolve().parent


@dataclass(frozen=True)
class Row:
    """One kind of training: its label and training partner (None: self-play; a spec; a tuple: a population)."""

    label: str
    partner: str | tuple[str, ...] | None


def rows_of(settings: CrossplaySettings) -> list[Row]:
    """The rows the settings ask for, in order: self-play, each human model (``human_rows``), the population."""
    rows = [Row(SELF_PLAY, None)] if settings.self_play else []
    if settings.human_rows:
        rows += [Row(label, spec) for label, spec in settings.humans.items()]
    if settings.population and len(settings.humans) >= 2:
        rows.append(Row(POPULATION, tuple(settings.humans.values())))
    if not rows:
        raise ConfigError("self_play: no rows; keep self_play: true, human_rows: true, or a population of two humans")
    return rows


@dataclass(frozen=True)
class CrossplayTable:
    """The table (module docstring): ``rows`` × ``columns`` cells, ``stats[r][c]`` each (:func:`cell_statistics`:
    mean, IQM, their intervals, the seeds' means); ``training_return [R, N]`` the last logging window's mean return
    of the learners in training."""

    env: str
    learner: str
    steps: int
    seeds: int
    human_agents: tuple[str, ...]
    rows: tuple[str, ...]
    row_partners: tuple[Any, ...]
    columns: tuple[str, ...]
    column_partners: tuple[Any, ...]
    held_out: tuple[bool, ...]
    stats: tuple[tuple[dict[str, Any], ...], ...]
    training_return: np.ndarray
    episodes: int
    seed: int
    mode: str
    population_weights: tuple[float, ...] | None = None  # the population row's weights (None: uniform)

    def cell(self, row: str, column: str) -> dict[str, Any]:
        """The statistics of one cell (``mean``, ``mean_ci``, ``iqm``, ``iqm_ci``)."""
        return self.stats[self.rows.index(row)][self.columns.index(column)]

    def gaps(self) -> list[dict[str, Any]]:
        """For each human model that trained a row: that row minus the self-play row, paired with the model (the
        Carroll gap), and whether their intervals are disjoint."""
        if SELF_PLAY not in self.rows:
            return []
        out = []
        for label in self.rows:
            if label in (SELF_PLAY, POPULATION) or label not in self.columns:
                continue
            aware, self_play = self.cell(label, label), self.cell(SELF_PLAY, label)
            out.append(
                {
                    "partner": label,
                    "human_aware": aware["mean"],
                    "self_play": self_play["mean"],
                    "gap": aware["mean"] - self_play["mean"],
                    "separated": aware["mean_ci"][0] > self_play["mean_ci"][1],
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON schema ``human-crossplay`` (docs/cli-json.md)."""
        return {
            "schema": SCHEMA,
            "env": self.env,
            "learner": self.learner,
            "steps": self.steps,
            "seeds": self.seeds,
            "human_agents": list(self.human_agents),
            "episodes": self.episodes,
            "seed": self.seed,
            "mode": self.mode,
            "rows": [{"label": r, "partner": _plain(p)} for r, p in zip(self.rows, self.row_partners, strict=True)],
            "columns": [
                {"label": c, "partner": _plain(p), "held_out": h}
                for c, p, h in zip(self.columns, self.column_partners, self.held_out, strict=True)
            ],
            "cells": [[dict(cell) for cell in row] for row in self.stats],
            "training_return": self.training_return.tolist(),
            "gaps": self.gaps(),
            "population_weights": None if self.population_weights is None else list(self.population_weights),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrossplayTable:
        """The table back from :meth:`to_json` (a run page's section)."""
        return cls(
            env=data["env"],
            learner=data["learner"],
            steps=int(data["steps"]),
            seeds=int(data["seeds"]),
            human_agents=tuple(data["human_agents"]),
            rows=tuple(r["label"] for r in data["rows"]),
            row_partners=tuple(_tuple(r["partner"]) for r in data["rows"]),
            columns=tuple(c["label"] for c in data["columns"]),
            column_partners=tuple(_tuple(c["partner"]) for c in data["columns"]),
            held_out=tuple(bool(c["held_out"]) for c in data["columns"]),
            stats=tuple(tuple(dict(cell) for cell in row) for row in data["cells"]),
            training_return=np.asarray(data["training_return"], np.float64),
            episodes=int(data["episodes"]),
            seed=int(data["seed"]),
            mode=data["mode"],
            population_weights=None if data.get("population_weights") is None else tuple(data["population_weights"]),
        )

    def lines(self) -> list[str]:
        """What the CLI prints: the mean and the IQM tables with their intervals, the legend and the gaps."""
        seats = ", ".join(self.human_agents)
        out = [
            f"human-AI cross-play on {self.env}: agents trained by {self.learner} ({self.steps:,} steps, "
            f"{self.seeds} seeds per row) x partners in the human seats ({seats}); {self.episodes} episodes per cell "
            f"and seed, {self.mode}, evaluation seed {self.seed}",
        ]
        heads = [c + (" (held out)" if h else "") for c, h in zip(self.columns, self.held_out, strict=True)]
        for key, title in (("mean", "mean"), ("iqm", "IQM")):
            out.append(f"{title} team return over seeds [95% two-stage bootstrap interval: seeds, then episodes]")
            cells = [
                [f"{s[key]:.3f} [{s[key + '_ci'][0]:.3f}, {s[key + '_ci'][1]:.3f}]" for s in row] for row in self.stats
            ]
            out.extend(_grid(list(self.rows), heads, cells))
        out.append(
            "partners: "
            + "; ".join(f"{c} = {_text(p)}" for c, p in zip(self.columns, self.column_partners, strict=True))
        )
        out.append(
            "rows trained with: "
            + "; ".join(f"{r} = {_text(p)}" for r, p in zip(self.rows, self.row_partners, strict=True))
            + (
                ""
                if self.population_weights is None or POPULATION not in self.rows
                else f" (weights {', '.join(f'{w:g}' for w in self.population_weights)})"
            )
        )
        for gap in self.gaps():
            verdict = "intervals disjoint" if gap["separated"] else "intervals overlap"
            out.append(
                f"with {gap['partner']}: trained with it {gap['human_aware']:.3f}, self-play {gap['self_play']:.3f}, "
                f"gap {gap['gap']:+.3f} ({verdict})"
            )
        return out  # fmt: skip

    def plot(self, path: str | os.PathLike[str] | None = None, ax: Any = None) -> Any:
        """A heat map of the cells' mean team returns (annotated with mean and interval); saved to ``path`` when
        given. Returns the matplotlib figure."""
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        means = np.asarray([[s["mean"] for s in row] for row in self.stats])
        R, C = means.shape
        if ax is None:
            fig, ax = plt.subplots(figsize=(2.2 + 1.9 * C, 1.4 + 0.9 * R))
        else:
            fig = ax.figure
        image = ax.imshow(means, cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=ax, label="mean team return")
        heads = [c + ("\n(held out)" if h else "") for c, h in zip(self.columns, self.held_out, strict=True)]
        ax.set_xticks(range(C), heads, rotation=20, ha="right")
        ax.set_yticks(range(R), self.rows)
        ax.set_ylabel("agent trained with")
        ax.set_xlabel(f"partner in the human seats ({', '.join(self.human_agents)})")
        ax.set_title(f"human-AI cross-play on {self.env} ({self.seeds} seeds)")
        middle = (np.nanmax(means) + np.nanmin(means)) / 2
        for r in range(R):
            for c in range(C):
                s = self.stats[r][c]
                ax.text(
                    c, r, f"{s['mean']:.2f}\n[{s['mean_ci'][0]:.2f}, {s['mean_ci'][1]:.2f}]",
                    ha="center", va="center", fontsize=8, color="black" if means[r, c] > middle else "white",
                )  # fmt: skip
        fig.tight_layout()
        if path is not None:
            from marlkit.atomic import write_with

            write_with(Path(path), lambda handle: fig.savefig(handle, format=Path(path).suffix[1:] or "png"))
        return fig


def plot_crossplay_table(table: CrossplayTable, path: str | os.PathLike[str]) -> Path:
    """The heat map of ``table`` saved to ``path`` (a run page's picture)."""
    import matplotlib.pyplot as plt

    plt.close(table.plot(path))
    return Path(path)


def _cell(stats: Mapping[str, Any], key: str) -> str:
    low, high = stats[key + "_ci"]
    return f"{stats[key]:.3f} [{low:.3f}, {high:.3f}]"


def _plain(partner: Any) -> Any:
    return list(partner) if isinstance(partner, tuple) else partner


def _tuple(partner: Any) -> Any:
    return tuple(partner) if isinstance(partner, list) else partner


def _text(partner: Any) -> str:
    if partner is None:
        return "itself"
    if isinstance(partner, tuple):
        return "population of " + ", ".join(partner)
    return str(partner)


def _grid(rows: list[str], heads: list[str], cells: list[list[str]]) -> list[str]:
    width = max(len(r) for r in rows)
    cols = [max(len(h), *(len(row[c]) for row in cells)) for c, h in enumerate(heads)]
    out = [" " * width + "  " + "  ".join(f"{h:>{w}}" for h, w in zip(heads, cols, strict=True))]
    for label, row in zip(rows, cells, strict=True):
        out.append(f"{label:<{width}}  " + "  ".join(f"{x:>{w}}" for x, w in zip(row, cols, strict=True)))
    return out


# ------------------------------------------------------------------------------------------------- build


@dataclass(frozen=True)
class TrainedRow:
    """A row's trained agents: one player acting in the full env, its state stacked over seeds, and the training
    returns."""

    row: Row
    player: Any
    training_return: np.ndarray  # [N]
    partner: Any  # the training partner's player (None: the agent itself)


def _human_player(label: str, spec: str | tuple[str, ...], weights: Any, env: Any, agents: Sequence[int]) -> Any:
    import jax.numpy as jnp

    from marlkit.experiment.partner import human_model, human_table
    from marlkit.policies.actors import Table
    from marlkit.policies.partners import Player

    model, _ = human_model(spec, weights, label)
    return Player(label, Table(), jnp.asarray(human_table(model, env, agents, label)))


def _train_row(base: Any, row: Row, agents: tuple[int, ...], weights: Any, env: Any) -> TrainedRow:
    from marlkit.envs.partner import WithPartner
    from marlkit.experiment.config import config_to_dict, load_config
    from marlkit.experiment.trainers import plan_for
    from marlkit.policies.frozen import Seated
    from marlkit.policies.partners import Player

    data = config_to_dict(base)
    data["name"] = f"{base.name}-{row.label}"
    partner = None
    if row.partner is not None:
        section: dict[str, Any] = {"agents": list(agents), "policy": _plain(row.partner)}
        if isinstance(row.partner, tuple) and weights is not None:
            section["weights"] = list(weights)
        data["partner"] = section
        partner = _human_player(
            row.label, row.partner, weights if isinstance(row.partner, tuple) else None, env, agents
        )
    try:
        config = load_config(data)
    except MarlkitError as exc:
        raise type(exc)(f"row {row.label}: {exc}") from None
    plan: Any = plan_for(config)[0]  # the deep trainer's plan (a DeepRun)
    state, records = plan.advance(plan.start(), 0, plan.num_logs)
    history = plan.to_history(records)
    last = np.asarray(history.episode_return, np.float64)[:, -1]  # [N, n_learners]
    learner = plan.learner
    actor: Any = learner
    if isinstance(plan.env, WithPartner):
        actor = Seated(learner, plan.env.learners, plan.env.spec)
    return TrainedRow(row, Player(row.label, actor, state.carry.learner), np.nanmean(last, axis=-1), partner)


def table_setup(base: Any, settings: CrossplaySettings) -> tuple[Any, tuple[int, ...]]:
    """``(env, human seats)`` of a table, after the checks every table shares: a deep run config without a partner
    or backdoor, seats that leave the agent one, distinct column labels.

    Raises:
        ConfigError: one line naming the key.
    """
    from marlkit.experiment.config import DeepRun, build_env
    from marlkit.policies.partners import parse_agents

    if not isinstance(base, DeepRun):
        raise ConfigError("run: the cross-play table trains a deep learner; give a deep run config (learners: ippo)")
    if base.partner is not None or base.backdoor is not None:
        raise ConfigError("run: give the plain run (no partner, no backdoor); the table adds each row's partner")
    env, _ = build_env(base)
    agents = parse_agents(",".join(str(a) for a in settings.agents), env.spec, "agents")
    if len(agents) >= env.spec.n_agents:
        raise ConfigError(f"agents: {list(settings.agents)} takes every seat of {env.spec.name}; leave the agent one")
    labels = [TRAINING_PARTNER, *settings.humans, *settings.held_out]
    if len(set(labels)) != len(labels) or SELF_PLAY in labels or POPULATION in labels:
        raise ConfigError(
            f"humans / held_out: labels must be distinct and not {TRAINING_PARTNER!r}, {SELF_PLAY!r} or "
            f"{POPULATION!r}; got {labels[1:]}"
        )
    return env, agents


def crossplay_table(base: Any, settings: CrossplaySettings, progress: Any = None) -> CrossplayTable:
    """Train every row of ``settings`` from the deep run config ``base`` (an
    :data:`~marlkit.experiment.config.ExperimentConfig`) and evaluate it with every partner (module docstring).
    ``progress(text)`` is called before each row's training.

    Raises:
        ConfigError / NotApplicableError / InvalidGameError: a tabular run, a run with a partner or a backdoor, an env
            that is not a matrix game's, bad seats or model specs — before anything trains.
    """
    import jax
    import jax.numpy as jnp

    from marlkit.envs.games import GameEnv
    from marlkit.policies.evaluate import team_returns
    from marlkit.policies.partners import Lineup
    from marlkit.train.evaluate import evaluate

    env, agents = table_setup(base, settings)
    if not isinstance(env, GameEnv):
        raise ConfigError(
            f"run: human models act in matrix games; {env.spec.name} is a task (marlkit.experiment.crossplay_task)"
        )
    if settings.eval_params:
        raise ConfigError("eval_params: applies to a task's parameters; this run is on a matrix game")
    weights = settings.population_weights
    columns: list[tuple[str, str | None, bool]] = [(TRAINING_PARTNER, None, False)]
    columns += [(label, spec, False) for label, spec in settings.humans.items()]
    columns += [(label, spec, True) for label, spec in settings.held_out.items()]
    humans = {label: _human_player(f"{label} ({spec})", str(spec), None, env, agents) for label, spec, _ in columns[1:]}
    rows = rows_of(settings)
    if weights is not None and len(weights) != len(settings.humans):
        raise ConfigError(
            f"population_weights: expected {len(settings.humans)} weights (one per human), got {len(weights)}"
        )
    seats = tuple(1 if i in agents else 0 for i in range(env.spec.n_agents))
    trained = []
    for row in rows:
        if progress is not None:
            progress(f"training {row.label} ({base.steps:,} steps x {base.n_seeds} seeds)")
        trained.append(_train_row(base, row, agents, weights, env))
    N = base.n_seeds
    stats = []
    for done in trained:
        cells = []
        for c, (label, _, _) in enumerate(columns):
            partner = humans[label] if c else (done.partner or done.player)
            lineup = Lineup((done.player, partner), seats)
            state = tuple(  # every seed's state: a fixed partner's broadcast over the seeds
                p.state
                if p is done.player
                else jax.tree.map(lambda x: jnp.broadcast_to(x, (N, *jnp.shape(x))), p.state)
                for p in lineup.players
            )
            team: Any = lineup.team  # an actor (train.evaluate.check_actor)
            result = evaluate(
                env, team, state, episodes=settings.episodes, key=settings.seed, mode=settings.mode,
                stacked=True,
            )  # fmt: skip
            cells.append(cell_statistics(team_returns(result.returns)))  # [N, E]
        stats.append(tuple(cells))
    training = np.stack([t.training_return for t in trained])
    return assemble(base, settings, env.spec, agents, rows, columns, stats, training)


def assemble(
    base: Any,
    settings: CrossplaySettings,
    spec: Any,
    agents: Sequence[int],
    rows: Sequence[Row],
    columns: Sequence[tuple[str, Any, bool]],
    stats: Sequence[tuple[dict[str, Any], ...]],
    training_return: np.ndarray,
) -> CrossplayTable:
    """The table from its parts: ``columns`` as ``(label, partner, held out)``, ``stats[r][c]`` each cell's
    statistics, ``training_return [R, N]``; the env's ``spec`` names it and the human seats ``agents``."""
    return CrossplayTable(
        env=spec.name,
        learner=base.learners[0].name,
        steps=base.steps,
        seeds=base.n_seeds,
        human_agents=tuple(spec.agent_names[i] for i in agents),
        rows=tuple(r.label for r in rows),
        row_partners=tuple(r.partner for r in rows),
        columns=tuple(c[0] for c in columns),
        column_partners=tuple(c[1] for c in columns),
        held_out=tuple(c[2] for c in columns),
        stats=tuple(stats),
        training_return=training_return,
        episodes=settings.episodes,
        seed=settings.seed,
        mode=settings.mode,
        population_weights=settings.population_weights,
    )


__all__ = [
    "SCHEMA",
    "CrossplaySettings",
    "CrossplayTable",
    "Row",
    "assemble",
    "crossplay_table",
    "plot_crossplay_table",
    "read_settings",
    "rows_of",
    "table_setup",
]
