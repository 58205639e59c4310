"""``marlkit learn GAME --learner NAME [--vs NAME]``: train learners on many seeds and judge the result.

Tabular learners (``marlkit.agents.tabular``) run in the tabular loop; a deep learner (``ippo``, ``mappo``,
``idqn``, ``vdn``, ``qmix``, ``coma``) runs in the compiled deep trainer on the game as an env, one network shared
as the game's homogeneity allows, and its policy is read back as a table — so the same NashConv and diagnosis
judge it. ``--hp key=value`` sets a hyper-parameter of ``--learner`` (tabular or deep); a value is read as JSON
(numbers, lists, ``{"type": "inverse-time", ...}`` schedules) or kept as text, and converted as a config's
``learners.params`` are (:func:`marlkit.experiment.params.configure`).

Prints each agent's final and average policy (mean over seeds; per state for small stochastic games), the mean
episode return over the last 10% of the run, and the NashConv of the final and of the average policy; with
``--diagnose`` also the verdict table of the six convergence criteria (``marlkit diagnose``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from marlkit.agents.deep.registry import is_deep_learner
from marlkit.cli.context import GameArgument, ParamOption, console, parse_params, print_json, resolve_game
from marlkit.cli.render import number
from marlkit.errors import InvalidGameError, LearnerConfigError
from marlkit.registry import unknown_parameter

MAX_STATES_SHOWN = 4


def _policy_rows(game, policy: np.ndarray, label: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    states = range(min(MAX_STATES_SHOWN, policy.shape[2]))
    for i, name in enumerate(game.player_names):
        for s in states:
            probs = policy[:, i, s, : game.num_actions[i]].mean(axis=0)
            text = ", ".join(f"{a}: {number(p)}" for a, p in zip(game.action_names[i], probs, strict=True))
            where = "" if policy.shape[2] == 1 else f" @ {game.state_names[s]}"
            rows.append((f"{name}{where}", label, text))
    return rows


def _spread(values: np.ndarray) -> str:
    return f"{number(np.median(values))} (min {number(values.min())}, max {number(values.max())})"


def learn(
    game: GameArgument,
    learner: Annotated[str, typer.Option("--learner", "-l", help="Learner of agent 0 (all agents without --vs).")],
    vs: Annotated[str | None, typer.Option("--vs", help="Learner of every other agent.")] = None,
    steps: Annotated[int, typer.Option("--steps", help="Environment steps per seed.")] = 20_000,
    seeds: Annotated[int, typer.Option("--seeds", help="Independent seeds, run at once (vmapped).")] = 8,
    key: Annotated[int, typer.Option("--key", help="Base PRNG key; seed i runs with fold_in(key, i).")] = 0,
    log_every: Annotated[int | None, typer.Option("--log-every", help="Steps between History records.")] = None,
    save_history: Annotated[str | None, typer.Option("--save-history", help="Write the History to this .npz.")] = None,
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
    diagnose: Annotated[
        bool, typer.Option("--diagnose", help="Also judge the run on the six convergence criteria (Nash set).")
    ] = False,
    hp: Annotated[
        list[str] | None, typer.Option("--hp", help="Hyper-parameter key=value of --learner (repeatable).")
    ] = None,
    num_envs: Annotated[int, typer.Option("--num-envs", help="Parallel envs per seed (deep learners).")] = 16,
) -> None:
    """Train tabular or deep learners on a game over many seeds; print policies, returns and NashConv."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.agents.tabular.registry import make_learner
    from marlkit.diagnose import summarize
    from marlkit.train import train
    from marlkit.train.protocol import default_log_every

    model = resolve_game(game, param)
    if steps < 1 or seeds < 1:
        raise InvalidGameError(f"--steps and --seeds must be >= 1, got {steps} and {seeds}")
    if log_every is None:
        log_every = default_log_every(steps)
    if is_deep_learner(learner):
        if vs is not None:
            raise InvalidGameError("--vs applies to tabular learners; a deep learner plays every agent (self-play)")
        history = _train_deep(model, learner, parse_params(hp), steps, seeds, key, num_envs)
        steps, log_every = int(history.meta["steps"]), int(history.meta["log_every"])
    else:
        first = _tabular(learner, model, parse_params(hp))
        assignment = first if vs is None else [first] + [make_learner(vs, model)] * (model.n_players - 1)
        history = train(model, assignment, steps, seeds=seeds, key=key, log_every=log_every)
    if _is_catalog_name(game):
        # lets `marlkit diagnose` rebuild the exact game (random games and --param runs included)
        history = dataclasses.replace(history, meta={**history.meta, "game_params": parse_params(param)})
    if save_history:
        history.save(save_history)
    summary = summarize(history, model)
    report = None
    if diagnose:
        from marlkit.diagnose.report import diagnose as run_diagnosis

        report = run_diagnosis(history, model)
    names = [learner] * model.n_players if vs is None else [learner] + [vs] * (model.n_players - 1)
    if json_output:
        payload = {
            "game": model.name,
            "learners": names,
            "steps": steps,
            "seeds": seeds,
            "key": key,
            "log_every": log_every,
            **summary.to_dict(),
        }
        if report is not None:
            payload["diagnosis"] = report.to_dict()
        print_json(payload)
        return
    out = console()
    _print(out, model, names, steps, seeds, summary)
    if report is not None:
        from marlkit.cli.diagnose import print_report

        print_report(out, report)


def _tabular(name: str, model, params: dict[str, object]):
    """The tabular learner ``name`` for ``model`` with the ``--hp`` values ``params`` (converted by annotation)."""
    from marlkit.agents.deep.registry import DEEP_LEARNERS
    from marlkit.agents.tabular.registry import make_learner
    from marlkit.experiment.params import configure, learner_params

    learner = make_learner(name, model)
    settable = learner_params(learner)  # plain values, as --hp takes them
    for key in params:
        if key not in settable:
            raise LearnerConfigError(
                f"--hp {unknown_parameter(name, key, settable, word='hyper-parameter')} (the deep learners "
                f"{', '.join(DEEP_LEARNERS)} take their own)"
            )
    return configure(learner, params, "--hp", name)


def _train_deep(model, name: str, params: dict, steps: int, seeds: int, key: int, num_envs: int):
    """Train deep learner ``name`` on ``model`` as an env; ``steps`` is rounded up to whole updates."""
    from marlkit.agents.deep.registry import make_deep_learner
    from marlkit.envs.games import GameEnv
    from marlkit.train import deep

    learner = make_deep_learner(name, **params)
    per_update = num_envs * learner.rollout_length
    steps = -(-steps // per_update) * per_update
    return deep.train(GameEnv(model), learner, steps, seeds=seeds, key=key, num_envs=num_envs).history


def _is_catalog_name(spec: str) -> bool:
    """Whether the game argument named a catalog game (not a game file)."""
    from marlkit.games.catalog import GAMES

    return spec in GAMES and not Path(spec).is_file()


def _print(out: Console, game, names: list[str], steps: int, seeds: int, summary) -> None:
    out.print(f"[bold]{game.name}[/bold]: {' vs '.join(names)}, {steps} steps x {seeds} seeds")
    table = Table(title="policies (mean over seeds)")
    for column in ("agent", "policy", "action probabilities"):
        table.add_column(column)
    for row in _policy_rows(game, summary.final_policy, "final"):
        table.add_row(*row)
    for row in _policy_rows(game, summary.average_policy, "average"):
        table.add_row(*row)
    out.print(table)
    kinds = ", ".join(f"{n}: {k}" for n, k in zip(game.player_names, summary.average_kind, strict=True))
    out.print(f"average policy = {kinds}")
    returns = ", ".join(number(r) for r in np.nanmean(summary.tail_return, axis=0))
    out.print(f"mean episode return over the last {summary.tail_fraction:.0%} of the run: {returns}")
    out.print(f"NashConv of the final policy (median over seeds): {_spread(summary.nash_conv_final)}")
    out.print(f"NashConv of the average policy (median over seeds): {_spread(summary.nash_conv_average)}")


def learners(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """List the learners ``--learner`` takes: tabular and deep, each with what it is and where it comes from."""
    from marlkit.agents.deep.registry import DEEP_LEARNERS
    from marlkit.agents.tabular.registry import LEARNERS

    rows = [
        {"kind": kind, **row}
        for kind, registry in (("tabular", LEARNERS), ("deep", DEEP_LEARNERS))
        for row in registry.listing()
    ]
    if json_output:
        print_json({"learners": rows})
        return
    table = Table(title=f"marlkit learners ({len(rows)}; hyper-parameters with --hp key=value)")
    for column in ("name", "kind", "description", "source"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["kind"], row["description"], row["citation"])
    console().print(table)


def register(app: typer.Typer) -> None:
    app.command("learn")(learn)
    app.command("learners")(learners)
