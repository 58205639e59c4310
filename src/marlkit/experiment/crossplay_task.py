"""The human-AI cross-play table on a task (the cooking task with its greedy human; any env with frozen partners):
the rows and columns of :mod:`marlkit.experiment.crossplay_table`, with the partners acting **inside the env**.

On a matrix game a human model is a table over the stage's actions; on a task a person's stand-in needs the env's
state (the greedy human plans to a sub-goal from the positions of chefs, pots and dishes), so each partner is a
``partner`` source (:mod:`marlkit.experiment.partner`: ``greedy-human?beta_goal=…``, ``fixed:NAME``, a policy
file or a run directory) wrapped into the env by :func:`marlkit.envs.partner.with_partner`:

* **rows**: the self-play agent (the run config as it is) and, per partner of ``humans``, an agent trained with it
  inside the env (the config with ``partner: {agents, policy}``) — Carroll et al. (2019)'s PPO_SP and PPO_BC; and,
  with two or more ``humans`` and ``population: true``, an agent trained with their **population drawn per
  episode** (``partner: {agents, policy: [every human], weights: population_weights}``,
  :class:`marlkit.envs.partner.PopulationPartner`: each training episode one of the partners, drawn by the weights,
  plays it whole — the diversity of people as a distribution over partners, as Strouse et al. (2021)'s Fictitious
  Co-Play and Zhao et al. (2023)'s MEP train with populations);
* **cells**: the row's agent in the learners' seats with the column's partner inside the env: a self-play agent
  acts through :class:`marlkit.policies.frozen.Embedded` (its full-env policy, read at the learners' seats), a
  partner-trained agent directly; the training-partner column is the self-play agent with itself on the plain env
  and a partner-trained agent with its own partner (the population row: with the population, a member drawn per
  episode). The **held-out** columns (``held_out``) are partners no row trained with: how each agent fares with
  people it never met.

Every cell is evaluated by :func:`marlkit.train.evaluate.evaluate` on ``episodes`` episodes per training seed with
the evaluation seed's common random numbers, on the env with ``eval_params`` applied (e.g. ``shaping: 0``, so the
cooking task's return is 20 × soups), and summarised as on matrix games (mean and IQM over seeds with two-stage
bootstrap intervals). The team return is the mean over the learners' seats (the cooking task's reward is shared).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from marlkit.diagnose.seeds import cell_statistics
from marlkit.errors import MarlkitError
from marlkit.experiment.crossplay_table import (
    SELF_PLAY,
    TRAINING_PARTNER,
    CrossplaySettings,
    CrossplayTable,
    Row,
    assemble,
    crossplay_table,
    rows_of,
    table_setup,
)
from marlkit.schema import ConfigError


def with_params(base: Any, params: Mapping[str, Any]) -> Any:
    """The deep run config ``base`` with ``params`` added to its env's parameters (checked by the config loader)."""
    from marlkit.experiment.config import config_to_dict, load_config

    if not params:
        return base
    data = config_to_dict(base)
    env = dict(data.get("env") or {})
    env["params"] = {**dict(env.get("params") or {}), **dict(params)}
    data["env"] = env
    try:
        return load_config(data)
    except MarlkitError as exc:
        raise type(exc)(f"eval_params: {exc}") from None


def partner_section(
    spec: str | Sequence[str], agents: Sequence[int], weights: Sequence[float] | None = None
) -> dict[str, Any]:
    """The ``partner`` section of the source ``spec`` (a list: a population drawn per episode, with ``weights``)."""
    section: dict[str, Any] = {"agents": list(agents), "policy": spec if isinstance(spec, str) else list(spec)}
    if not isinstance(spec, str) and weights is not None:
        section["weights"] = list(weights)
    return section


def partner_in(
    env: Any, spec: str | Sequence[str], agents: Sequence[int], weights: Sequence[float] | None = None
) -> Any:
    """``env`` with the partner source ``spec`` inside, in ``agents``' seats (a list of sources: their population,
    one member per episode, drawn by ``weights``)."""
    from marlkit.experiment.config import PartnerConfig
    from marlkit.experiment.partner import partner_env
    from marlkit.schema import parse

    return partner_env(parse(PartnerConfig, partner_section(spec, agents, weights), "partner"), env)


def row_config(base: Any, row: Row, agents: Sequence[int], weights: Sequence[float] | None = None) -> Any:
    """The deep run config that trains ``row``: ``base`` with the row's partner (a population row's with
    ``weights``) in ``agents``' seats, or as it is for self-play."""
    from marlkit.experiment.config import config_to_dict, load_config

    data = config_to_dict(base)
    data["name"] = f"{base.name}-{row.label}"
    if row.partner is not None:
        data["partner"] = partner_section(row.partner, agents, weights)
    try:
        return load_config(data)
    except MarlkitError as exc:
        raise type(exc)(f"row {row.label}: {exc}") from None


def train_row(
    base: Any, row: Row, agents: Sequence[int], weights: Sequence[float] | None = None
) -> tuple[Any, Any, np.ndarray]:
    """``(learner, every seed's state, training return [N])`` of one row (:func:`row_config`, trained)."""
    from marlkit.experiment.trainers import plan_for

    plan: Any = plan_for(row_config(base, row, agents, weights))[0]
    state, records = plan.advance(plan.start(), 0, plan.num_logs)
    last = np.asarray(plan.to_history(records).episode_return, np.float64)[:, -1]  # [N, n_learners]
    ended = np.isfinite(last)  # NaN: no episode ended in the last window (long episodes, a small budget)
    mean = np.where(
        ended.any(axis=-1), np.where(ended, last, 0).sum(axis=-1) / np.maximum(ended.sum(axis=-1), 1), np.nan
    )
    return plan.learner, state.carry.learner, mean


def any_crossplay_table(base: Any, settings: CrossplaySettings, progress: Any = None) -> CrossplayTable:
    """The cross-play table of ``settings`` on the run config ``base``'s env: a matrix game's
    (:func:`marlkit.experiment.crossplay_table.crossplay_table`) or a task's (:func:`task_crossplay_table`)."""
    from marlkit.envs.games import GameEnv

    env, _ = table_setup(base, settings)
    if isinstance(env, GameEnv):
        return crossplay_table(base, settings, progress)
    return task_crossplay_table(base, settings, progress)


def task_crossplay_table(base: Any, settings: CrossplaySettings, progress: Any = None) -> CrossplayTable:
    """The cross-play table of ``settings`` on the task of the deep run config ``base`` (module docstring)."""
    from marlkit.experiment.config import build_env
    from marlkit.experiment.partner import population_weights
    from marlkit.policies.evaluate import team_returns
    from marlkit.policies.frozen import Embedded
    from marlkit.train.evaluate import evaluate

    _, agents = table_setup(base, settings)
    for label, spec in (*settings.humans.items(), *settings.held_out.items()):
        if not isinstance(spec, str):
            raise ConfigError(f"humans.{label}: on a task give one partner source, e.g. greedy-human")
    weights = None
    if settings.population_weights is not None:
        weights = population_weights(settings.population_weights, len(settings.humans), "population_weights")
    plain, _ = build_env(with_params(base, settings.eval_params))
    learners = tuple(i for i in range(plain.spec.n_agents) if i not in agents)
    columns: list[tuple[str, str | None, bool]] = [(TRAINING_PARTNER, None, False)]
    columns += [(label, spec, False) for label, spec in settings.humans.items()]
    columns += [(label, spec, True) for label, spec in settings.held_out.items()]
    partner_envs = {label: partner_in(plain, str(spec), agents) for label, spec, _ in columns[1:]}
    rows = rows_of(settings)
    trained = []
    for row in rows:
        if progress is not None:
            progress(f"training {row.label} ({base.steps:,} steps x {base.n_seeds} seeds)")
        trained.append(train_row(base, row, agents, weights))
    stats = []
    for row, (learner, states, _) in zip(rows, trained, strict=True):
        self_play = row.label == SELF_PLAY
        cells = []
        for label, _, _ in columns:
            if label == TRAINING_PARTNER:
                cell_env = plain if row.partner is None else partner_in(plain, row.partner, agents, weights)
                actor = learner
            else:
                cell_env = partner_envs[label]
                actor = Embedded(learner, learners, plain.spec) if self_play else learner
            result = evaluate(
                cell_env, actor, states, episodes=settings.episodes, key=settings.seed, mode=settings.mode,
                stacked=True,
            )  # fmt: skip
            returns = np.asarray(result.returns)
            if self_play and label == TRAINING_PARTNER:
                returns = returns[..., list(learners)]  # the learners' seats, as in every other cell
            cells.append(cell_statistics(team_returns(returns)))
        stats.append(tuple(cells))
    return assemble(base, settings, plain.spec, agents, rows, columns, stats, np.stack([t[2] for t in trained]))


__all__ = [
    "any_crossplay_table",
    "partner_in",
    "partner_section",
    "row_config",
    "task_crossplay_table",
    "train_row",
    "with_params",
]
