"""``marlkit eval`` and ``marlkit export``: evaluate trained policies under a fixed protocol, play them against other
policies, cross-play them, and write them as policy files (docs/policies.md).

* ``marlkit export RUN_DIR [--seed K] [--out FILE]``: training seed index ``K``'s policy as a policy file.
* ``marlkit eval RUN_DIR|POLICY``: every seed of a run (or the policy of a file) on fixed evaluation episodes —
  mean / IQM of the team return with bootstrap intervals, per-agent returns, costs on constrained tasks; every
  episode written to a JSONL (or ``.npz``) file. ``--vs AGENTS=SOURCE`` (repeatable) seats another run's or file's
  policy, ``fixed:NAME`` or ``human-model:SPEC`` on those agents.
* ``marlkit eval --crossplay A B C``: the cross-play matrix of the policies (row policy's row agents with the column
  policy's other agents), printed, as JSON, and as a heat map with ``--plot``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import console, finite, parse_params, print_json
from marlkit.errors import InvalidGameError


def _load(source: str, seed: int | None, mode: str) -> list[Any]:
    from marlkit.experiment.policies import load_source

    return load_source(source, seed=seed, mode=mode)


def _env(policy: Any, env_name: str | None, params: list[str] | None) -> tuple[Any, str]:
    """The env to evaluate on: ``--env`` with ``--param`` (checked against the policy), else the policy's own."""
    if env_name is None:
        if params:
            raise InvalidGameError("--param needs --env (the policy's own env takes no parameters here)")
        return policy.make_env(), policy.env.label()
    from marlkit.envs.registry import make

    values = parse_params(params)
    env = make(env_name, **values)
    label = " ".join([env_name, *(f"{k}={v}" for k, v in values.items())])
    return env, label


EPISODE_SUFFIXES = (".jsonl", ".npz")
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _check_suffix(option: str, path: str | None, suffixes: tuple[str, ...]) -> None:
    """Refuse an output file whose suffix this command cannot write, before anything is evaluated."""
    if path is not None and Path(path).suffix.lower() not in suffixes:
        raise InvalidGameError(f"{option} {path}: expected a file ending in {' or '.join(suffixes)}")


def _check_policy_seed(sources: list[str], policy_seed: int | None) -> None:
    """``--policy-seed`` picks a seed of run directories; refuse it where no source is one (it would be ignored)."""
    if policy_seed is not None and not any(Path(s).is_dir() for s in sources):
        raise InvalidGameError(
            f"--policy-seed {policy_seed} picks a training seed of run directories, and none is given (a policy "
            "file holds one policy: export another seed with `marlkit export RUN_DIR --seed K`)"
        )


def _default_out(target: str) -> Path:
    path = Path(target)
    return path / "eval-episodes.jsonl" if path.is_dir() else path.with_name(path.name + ".episodes.jsonl")


def eval_command(
    targets: Annotated[
        list[str],
        typer.Argument(help="A run directory or a policy file (with --crossplay: two or more of them)."),
    ],
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Evaluation episodes per line-up.")] = 100,
    mode: Annotated[
        str, typer.Option("--mode", help="stochastic (sample from the learned policy) or greedy (argmax).")
    ] = "stochastic",
    seed: Annotated[
        int, typer.Option("--seed", help="Evaluation seed (fixes every episode; not a training seed).")
    ] = 0,
    env_name: Annotated[
        str | None, typer.Option("--env", help="Evaluate on this task instead of the policy's own env.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="--env parameter key=value.")] = None,
    vs: Annotated[
        list[str] | None,
        typer.Option(
            "--vs",
            help="AGENTS=SOURCE: seat SOURCE (a run directory, a policy file, fixed:NAME, human-model:SPEC) on "
            "AGENTS (names, indices or a group, comma-separated); repeatable.",
        ),
    ] = None,
    policy_seed: Annotated[
        int | None,
        typer.Option(
            "--policy-seed",
            help="Training seed index of run directories (default: every seed of the evaluated run; seed 0 of "
            "--vs and --crossplay runs).",
        ),
    ] = None,
    crossplay_flag: Annotated[
        bool, typer.Option("--crossplay", help="Cross-play matrix of the targets instead of an evaluation.")
    ] = False,
    row_agents: Annotated[
        str | None,
        typer.Option("--row-agents", help="Cross-play: the row policy's agents (default agent 0, or the first group)."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Where to write every episode (.jsonl, or .npz); default RUN_DIR/eval-episodes.jsonl or "
            "POLICY.episodes.jsonl. With --crossplay: the matrix as JSON.",
        ),
    ] = None,
    plot: Annotated[
        str | None, typer.Option("--plot", help="Cross-play: write the heat map (.png, .pdf, .svg).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Evaluate trained policies: fixed evaluation episodes, mean / IQM with bootstrap intervals, play against other
    policies (--vs), cross-play (--crossplay)."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.train.evaluate import MODES

    if mode not in MODES:
        raise InvalidGameError(f"--mode {mode!r}: expected one of {list(MODES)}")
    if episodes < 1:
        raise InvalidGameError(f"--episodes must be >= 1, got {episodes}")
    vs_sources = [text.partition("=")[2] for text in vs or []]
    _check_policy_seed([*targets, *vs_sources], policy_seed)
    if crossplay_flag:
        _check_suffix("--out", out, (".json",))
        _check_suffix("--plot", plot, PLOT_SUFFIXES)
        if vs:
            raise InvalidGameError("--vs and --crossplay do not mix: cross-play seats the targets themselves")
        _crossplay(targets, episodes, mode, seed, env_name, param, policy_seed, row_agents, out, plot, json_output)
        return
    if len(targets) != 1:
        raise InvalidGameError(
            f"eval takes one run directory or policy file, got {len(targets)}; compare several with --crossplay"
        )
    if row_agents is not None or plot is not None:
        raise InvalidGameError("--row-agents and --plot apply to --crossplay")
    _check_suffix("--out", out, EPISODE_SUFFIXES)
    from marlkit.policies.evaluate import evaluate_lineups
    from marlkit.policies.partners import check_policy_fits, lineup, make_player, parse_agents, player_of, split_vs

    target = targets[0]
    policies = _load(target, policy_seed, mode)
    env, label = _env(policies[0], env_name, param)
    for policy in policies:
        check_policy_fits(policy, env)
    seated = []
    for text in vs or []:
        agents_text, source = split_vs(text)
        agents = parse_agents(agents_text, env.spec)
        seated.append((agents, make_player(source, env, agents, lambda s: _load(s, policy_seed or 0, mode)[0])))
    n = env.spec.n_agents
    lineups = [(p.label, lineup(n, player_of(p), seated)) for p in policies]
    result = evaluate_lineups(env, lineups, env_label=label, episodes=episodes, seed=seed, mode=mode)
    written = result.write_episodes(out or _default_out(target))
    if json_output:
        print_json({**result.to_json(), "episodes_file": str(written)})
        return
    screen = console()
    for line in result.lines():
        screen.print(line, markup=False, highlight=False)
    screen.print(f"wrote {written}", markup=False)


def _crossplay(
    targets: list[str],
    episodes: int,
    mode: str,
    seed: int,
    env_name: str | None,
    param: list[str] | None,
    policy_seed: int | None,
    row_agents: str | None,
    out: str | None,
    plot: str | None,
    json_output: bool,
) -> None:
    from marlkit.policies.crossplay import crossplay
    from marlkit.policies.files import labels_unique
    from marlkit.policies.partners import check_policy_fits, parse_agents, player_of

    if len(targets) < 2:
        raise InvalidGameError("--crossplay: give two or more run directories or policy files")
    policies = labels_unique([_load(t, policy_seed or 0, mode)[0] for t in targets])
    env, label = _env(policies[0], env_name, param)
    for policy in policies:
        check_policy_fits(policy, env)
    rows = None if row_agents is None else parse_agents(row_agents, env.spec, "--row-agents")
    result = crossplay(
        env, [player_of(p) for p in policies], row_agents=rows, episodes=episodes, seed=seed, mode=mode,
        env_label=label,
    )  # fmt: skip
    data = finite(result.to_json())
    written = []
    if out is not None:
        import json

        from marlkit.atomic import write_text

        written.append(write_text(Path(out), json.dumps(data, indent=2) + "\n"))
    if plot is not None:
        import matplotlib.pyplot as plt

        figure = result.plot(plot)
        plt.close(figure)
        written.append(Path(plot))
    if json_output:
        print_json(data)
        return
    screen = console()
    for line in result.lines():
        screen.print(line, markup=False, highlight=False)
    for path in written:
        screen.print(f"wrote {path}", markup=False)


def export_command(
    run_dir: Annotated[str, typer.Argument(help="A finished run directory.")],
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="The policy file to write (default RUN_DIR/policy-seedK.mkp).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Which training seed's policy (its index in the run).")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the file's header as JSON.")] = False,
) -> None:
    """Write a trained run's policy as a policy file (flax msgpack parameters + a JSON header; docs/policies.md)."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    from marlkit.experiment.policies import export_policy
    from marlkit.policies.files import SUFFIX, read_header

    if not Path(run_dir).is_dir():
        raise InvalidGameError(f"{run_dir}: not a run directory (export reads a finished run)")
    target = Path(out) if out is not None else Path(run_dir) / f"policy-seed{seed}{SUFFIX}"
    if target.is_dir():
        raise InvalidGameError(f"--out {out}: a folder; give a file name, e.g. --out policy{SUFFIX}")
    path = export_policy(run_dir, target, seed=seed)
    header, _ = read_header(path)
    if json_output:
        print_json({"schema": "policy-file", "path": str(path), "bytes": path.stat().st_size, "header": header})
        return
    spec = header["spec"]
    screen = console()
    screen.print(
        f"wrote {path} ({header['kind']} policy, {header['learner']['name']}, {spec['name']} with "
        f"{spec['n_agents']} agents, training seed index {seed}; {path.stat().st_size:,} bytes)",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("export")(export_command)


__all__ = ["eval_command", "export_command", "register"]
