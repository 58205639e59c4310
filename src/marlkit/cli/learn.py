"""``marlkit learn GAME --learner NAME [--vs NAME]``: train learners on many seeds and judge the result.

Tabular learners (``marlkit.agents.tabular``) run in the tabular loop; a deep learner (``ippo``, ``mappo``,
``idqn``, ``vdn``, ``qmix``, ``coma``) runs in the compiled deep trainer on the game as an env, one network shared
as the game's homogeneity allows, and its policy is read back as a table — so the same NashConv and diagnosis
judge it. ``--hp key=value`` sets a hyper-parameter of ``--learner`` (tabular or deep); a value is read as JSON
(numbers, lists, ``{"type": "inverse-time", ...}`` schedules) or kept as text, and converted as a config's
``learners.params`` are (:func:`marlkit.experiment.params.configure`).

Prints each agent's final and average policy (mean over seeds; per state for small stochastic games), the mean
episode return over the last 10% of the run ("no episode ended" where none did: a stochastic game without
terminal states needs ``--max-episode-steps``; ``null`` with a reason in ``--json``), the NashConv of the final
and of the average policy, and the hyper-parameters every learner used (also saved in the History's
``meta["hyper_parameters"]``); with ``--diagnose`` also the verdict table of the six convergence criteria
(``marlkit diagnose``), with ``--plots DIR`` that and its pictures. A deep learner trains in whole updates:
``--steps`` is rounded up to a multiple of ``--num-envs x rollout_length``, with a note on stderr.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from marlkit.agents.deep.registry import is_deep_learner
from marlkit.cli.context import (
    GameArgument,
    ParamOption,
    console,
    parse_params,
    plots_folder,
    print_json,
    resolve_game,
    styled,
)
from marlkit.cli.render import number, plural
from marlkit.errors import InvalidGameError, LearnerConfigError, MarlkitError
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
    max_episode_steps: Annotated[
        int | None,
        typer.Option(
            "--max-episode-steps",
            help="Episode time limit (truncation), as a config's max_episode_steps; default: the game's (a "
            "stochastic game without terminal states never ends an episode).",
        ),
    ] = None,
    save_history: Annotated[str | None, typer.Option("--save-history", help="Write the History to this .npz.")] = None,
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
    diagnose: Annotated[
        bool, typer.Option("--diagnose", help="Also judge the run on the six convergence criteria (Nash set).")
    ] = False,
    plots: Annotated[
        str | None,
        typer.Option("--plots", help="Diagnose the run and write its PNG pictures into this folder (as diagnose)."),
    ] = None,
    hp: Annotated[
        list[str] | None, typer.Option("--hp", help="Hyper-parameter key=value of --learner (repeatable).")
    ] = None,
    num_envs: Annotated[int, typer.Option("--num-envs", help="Parallel envs per seed (deep learners).")] = 16,
) -> None:
    """Train tabular or deep learners on a game over many seeds; print policies, returns and NashConv."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.agents.tabular.registry import make_learner
    from marlkit.diagnose import summarize
    from marlkit.envs import make_env
    from marlkit.experiment.params import learner_params
    from marlkit.train import train
    from marlkit.train.protocol import default_log_every

    model = resolve_game(game, param)
    from marlkit.solve.constrained import require_feasible

    require_feasible(model, f"{game}: limits")  # no policy meets them: no run could be feasible
    if steps < 1 or seeds < 1:
        raise InvalidGameError(f"--steps and --seeds must be >= 1, got {steps} and {seeds}")
    if max_episode_steps is not None:
        if max_episode_steps < 1:
            raise InvalidGameError(f"--max-episode-steps must be >= 1, got {max_episode_steps}")
        make_env(model, max_episode_steps)  # the checks a config's max_episode_steps gets
    folder = plots_folder(plots) if plots else None  # before the compute: a bad folder fails in a second
    if log_every is None:
        log_every = default_log_every(steps)
    requested = steps
    if is_deep_learner(learner):
        if vs is not None:
            raise InvalidGameError("--vs applies to tabular learners; a deep learner plays every agent (self-play)")
        used = {learner: _deep(learner, parse_params(hp, "--hp"))}
        history = _train_deep(model, used[learner], steps, seeds, key, num_envs, max_episode_steps)
        steps, log_every = int(history.meta["steps"]), int(history.meta["log_every"])
        if steps != requested:
            typer.echo(
                f"note: --steps {requested} rounded up to {steps}: a deep learner trains in whole updates of "
                f"--num-envs x rollout_length = {num_envs} x {used[learner].rollout_length} env steps "
                "(a config must give the exact multiple)",
                err=True,
            )
    else:
        first = _tabular(learner, model, parse_params(hp, "--hp"))
        used = {learner: first}
        assignment = first
        if vs is not None:
            used[vs] = first if vs == learner else make_learner(vs, model)
            assignment = [first] + [used[vs]] * (model.n_players - 1)
        history = train(
            model, assignment, steps, seeds=seeds, key=key, log_every=log_every, max_episode_steps=max_episode_steps
        )
    hyper_parameters = {name: learner_params(agent) for name, agent in used.items()}
    meta: dict[str, object] = {**history.meta, "hyper_parameters": hyper_parameters}
    if _is_catalog_name(game):
        # lets `marlkit diagnose` rebuild the exact game (random games and --param runs included)
        meta["game_params"] = parse_params(param)
    history = dataclasses.replace(history, meta=meta)
    if save_history:
        history.save(save_history)
    summary = summarize(history, model)
    report = None
    if diagnose or folder is not None:
        from marlkit.diagnose.report import diagnose as run_diagnosis

        report = run_diagnosis(history, model)
    pictures = _draw(report, folder, plots) if report is not None and folder is not None else []
    names = [learner] * model.n_players if vs is None else [learner] + [vs] * (model.n_players - 1)
    no_return = _no_return_reason(summary, history.meta.get("max_episode_steps"))
    if json_output:
        payload: dict[str, object] = {
            "game": model.name,
            "learners": names,
            "hyper_parameters": hyper_parameters,
            "steps": steps,
            "seeds": seeds,
            "key": key,
            "log_every": log_every,
            "max_episode_steps": max_episode_steps,
            **summary.to_dict(),
        }
        if steps != requested:
            payload["steps_requested"] = requested
        if no_return:
            payload["null_reasons"] = {"tail_return": no_return}
        if report is not None:
            payload["diagnosis"] = report.to_dict()
        if folder is not None:
            payload["plots"] = [str(p) for p in pictures]
        print_json(payload)
        return
    out = console()
    _print(out, model, names, steps, seeds, summary, no_return)
    for name, values in hyper_parameters.items():
        out.print(f"hyper-parameters of {name}: {hyper_parameter_text(values)}", markup=False, soft_wrap=True)
    if report is not None:
        from marlkit.cli.diagnose import print_report

        print_report(out, report)
    for path in pictures:
        out.print(f"wrote {path}", markup=False)


def _draw(report, folder: Path, plots: str | None) -> list[Path]:
    try:
        return list(report.plots(folder))
    except OSError as exc:
        raise MarlkitError(f"--plots {plots}: could not write the pictures ({exc.strerror or exc})") from None


def _no_return_reason(summary, limit: object) -> str | None:
    """Why some tail returns are missing (None when every seed ended an episode in the tail)."""
    from marlkit.envs.games import NO_TIME_LIMIT

    missing = ~np.isfinite(summary.tail_return)
    if not missing.any():
        return None
    if isinstance(limit, int) and limit < NO_TIME_LIMIT:
        return f"no episode ended in {plural(int(missing.any(axis=1).sum()), 'seed')}"
    return (
        "no episode ended (the game has no time limit and no terminal state was reached; "
        "--max-episode-steps T ends each episode after T steps)"
    )


def hyper_parameter_text(values: Mapping[str, object]) -> str:
    """``key=value, ...`` of a learner's plain hyper-parameters; a schedule or exploration rule reads
    ``type(key=value, ...)``; ``null`` stands for "the game's" (e.g. gamma)."""
    return ", ".join(f"{k}={_plain(v)}" for k, v in values.items()) or "none"


def _plain(value: object) -> str:
    if isinstance(value, Mapping):
        rest = {k: v for k, v in value.items() if k != "type"}
        return f"{value.get('type', '')}({hyper_parameter_text(rest)})"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool | str):
        return str(value).lower() if isinstance(value, bool) else value
    if isinstance(value, int | float):
        return number(value)
    return str(value)


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
    return configure(learner, params, "--hp", name, make=lambda **values: make_learner(name, model, **values))


def _deep(name: str, params: dict):
    from marlkit.agents.deep.registry import make_deep_learner

    return make_deep_learner(name, **params)


def _train_deep(model, learner, steps: int, seeds: int, key: int, num_envs: int, max_episode_steps: int | None):
    """Train the deep ``learner`` on ``model`` as an env; ``steps`` is rounded up to whole updates."""
    from marlkit.envs.games import GameEnv
    from marlkit.train import deep

    per_update = num_envs * learner.rollout_length
    steps = -(-steps // per_update) * per_update
    env = GameEnv(model, max_episode_steps)
    return deep.train(env, learner, steps, seeds=seeds, key=key, num_envs=num_envs).history


def _is_catalog_name(spec: str) -> bool:
    """Whether the game argument named a catalog game (not a game file)."""
    from marlkit.games.catalog import GAMES

    return spec in GAMES and not Path(spec).is_file()


def _print(out: Console, game, names: list[str], steps: int, seeds: int, summary, no_return: str | None) -> None:
    out.print(styled((game.name, "bold"), f": {' vs '.join(names)}, {steps} steps x {plural(seeds, 'seed')}"))
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
    header = f"mean episode return over the last {summary.tail_fraction:.0%} of the run"
    ended = np.isfinite(summary.tail_return)  # [seeds, agents]
    if not ended.any():
        out.print(f"{header}: {no_return}", markup=False, soft_wrap=True)
    else:
        means = [
            number(np.mean(summary.tail_return[ended[:, i], i])) if ended[:, i].any() else "-"
            for i in range(ended.shape[1])
        ]
        seen = f" ({no_return}; mean over the others)" if no_return else ""
        out.print(f"{header}: {', '.join(means)}{seen}", markup=False)
    kind = summary.nash_conv_kind
    out.print(f"{kind} of the final policy (median over seeds): {_spread(summary.nash_conv_final)}")
    out.print(f"{kind} of the average policy (median over seeds): {_spread(summary.nash_conv_average)}")


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
