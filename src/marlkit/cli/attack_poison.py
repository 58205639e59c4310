"""``marlkit attack poison GAME|DATASET.npz|RUN_DIR --target ...``: minimal-cost reward poisoning of offline data so
that a target policy becomes what rational offline learners adopt (docs/attacks.md; Wu, McMahan, Zhu & Xie, AAAI
2023).

The source is a dataset (``.npz`` written by ``--save-clean`` or :func:`marlkit.offline.dataset.save`), a game
(catalog name or file: a dataset is recorded with the uniform behaviour policy) or a run directory of an exact game
(recorded with the run's final policies, averaged over seeds and mixed with ``--explore`` uniform play).

Target syntax: ``--target C,C`` (one action per agent, by name, unique name prefix or index; used in every state)
and, for stochastic games, ``--target STATE=A,B`` (STATE a state index or name; repeatable) for per-state targets; a
profile without ``STATE=`` is the default for the states not named. Every state the data visits needs a target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import ParamOption, console, print_json, resolve_game
from marlkit.errors import InvalidGameError, MarlkitError


def _action(value: str, names: list[str], agent: int) -> int:
    value = value.strip()
    if value.lstrip("-").isdigit():
        index = int(value)
        if not 0 <= index < len(names):
            raise InvalidGameError(f"--target: agent {agent} has actions 0..{len(names) - 1}, got {index}")
        return index
    lowered = [name.lower() for name in names]
    if value.lower() in lowered:
        return lowered.index(value.lower())
    matches = [k for k, name in enumerate(lowered) if name.startswith(value.lower())]
    if len(matches) == 1:
        return matches[0]
    raise InvalidGameError(f"--target: agent {agent} has no action {value!r}; its actions are {names}")


def parse_target(values: list[str], game: dict[str, Any], visited: Any) -> Any:
    """``--target`` values -> ``[S, n]`` action indices (module docstring)."""
    import numpy as np

    n, S = len(game["num_actions"]), int(game["num_states"])
    actions = game.get("action_names") or [[str(a) for a in range(m)] for m in game["num_actions"]]
    states = game.get("state_names") or [str(s) for s in range(S)]
    default: list[int] | None = None
    per_state: dict[int, list[int]] = {}
    for value in values:
        where, sep, profile = value.rpartition("=")
        parts = profile.split(",")
        if len(parts) != n:
            raise InvalidGameError(f"--target {value!r}: expected {n} actions separated by commas, e.g. --target "
                                   f"{','.join(a[0] for a in actions)}")  # fmt: skip
        row = [_action(p, list(actions[i]), i) for i, p in enumerate(parts)]
        if not sep:
            default = row
            continue
        if where in states:  # a state's name first (two-step's states are named "1", "2A", ...), then its index
            s = states.index(where)
        elif where.isdigit() and int(where) < S:
            s = int(where)
        else:
            raise InvalidGameError(f"--target {value!r}: no state {where!r}; states are 0..{S - 1} or {states[:8]}")
        if s in per_state:
            raise InvalidGameError(f"--target {value!r}: state {s} ({states[s]}) already has a target")
        per_state[s] = row
    target = np.zeros((S, n), dtype=np.int64)
    for s in range(S):
        chosen = per_state.get(s, default)
        if chosen is None:
            if visited[s]:
                raise InvalidGameError(f"--target: no target for state {s} ({states[s]}), which the data visits; "
                                       f"give --target {s}=... or a default profile")  # fmt: skip
            continue
        target[s] = chosen
    return target


def poison_command(
    source: Annotated[str, typer.Argument(help="A dataset .npz, a catalog game / game file, or a run directory.")],
    target: Annotated[list[str], typer.Option("--target", "-t", help="Target actions, e.g. C,C or STATE=A,B.")],
    margin: Annotated[float, typer.Option("--margin", help="The margin ι >= 0 of the installed equilibrium.")] = 1.0,
    radius: Annotated[float, typer.Option("--radius", help="Learners' confidence radius ρ >= 0 (ρ/sqrt(N)).")] = 0.0,
    norm: Annotated[str, typer.Option("--norm", help="Cost norm: l1 | linf | l2.")] = "l1",
    budget: Annotated[float | None, typer.Option("--budget", help="The attacker's budget (in --norm).")] = None,
    concept: Annotated[str, typer.Option("--concept", help="auto | dominant | saddle (zero-sum).")] = "auto",
    bound: Annotated[float | None, typer.Option("--bound", help="Reward bound b: unvisited (s,a) in [-b, b].")] = None,
    game: Annotated[str | None, typer.Option("--game", help="Check a dataset was recorded from this game.")] = None,
    against: Annotated[
        list[float] | None,
        typer.Option("--against", help="Also judge against learners of this radius ρ' (repeatable)."),
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", help="Episodes to record from a game or run.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Recording seed.")] = 0,
    noise: Annotated[float, typer.Option("--noise", help="Gaussian reward noise σ >= 0 when recording.")] = 0.0,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Episode limit when recording.")] = None,
    explore: Annotated[float, typer.Option("--explore", help="Uniform mix into a run's policies.")] = 0.1,
    out: Annotated[str | None, typer.Option("--out", "-o", help="Write the poisoned dataset here (.npz).")] = None,
    save_clean: Annotated[str | None, typer.Option("--save-clean", help="Write the recorded dataset here.")] = None,
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Poison a dataset's rewards at minimal cost so the target becomes the learners' dominant (or unique Nash)
    equilibrium; print the cost, the changes, the certificate and what the learners adopt before and after."""
    from marlkit.attacks.poisoning import certify, check_norm, poison
    from marlkit.offline.dataset import DatasetError, save
    from marlkit.offline.estimate import check_radius
    from marlkit.offline.learners import learn

    check_radius(margin, "--margin")
    check_radius(radius, "--radius")
    if budget is not None:
        check_radius(budget, "--budget")
    check_norm(norm)
    for value in against or []:
        check_radius(value, "--against")
    for path_option, name in ((out, "--out"), (save_clean, "--save-clean")):
        if path_option is None:
            continue
        if Path(path_option).suffix != ".npz":
            raise InvalidGameError(f"{name} {path_option}: a dataset file must end in .npz")
        if not Path(path_option).resolve().parent.is_dir():
            raise InvalidGameError(f"{name} {path_option}: no folder {Path(path_option).parent}; create it first")
        if Path(path_option).resolve() == Path(source).resolve():
            raise InvalidGameError(f"{name} {path_option}: that is the input dataset; write to another file")
    if out is not None and save_clean is not None and Path(out).resolve() == Path(save_clean).resolve():
        raise InvalidGameError(f"--out and --save-clean name the same file {out}; give two files")
    dataset = _source(source, param, episodes, seed, noise, max_steps, explore)
    if game is not None:
        dataset.check_game(resolve_game(game, None))
    if dataset.num_steps == 0:
        raise DatasetError(f"{source}: the dataset has no steps")
    visited = dataset.counts().reshape(dataset.num_states, -1).sum(axis=1) > 0
    chosen = parse_target(target, dataset.game, visited)
    result = poison(dataset, chosen, iota=margin, rho=radius, norm=norm, concept=concept, bound=bound, budget=budget)
    radii = sorted({0.0, radius, *(against or [])})
    learners: dict[str, list[Any]] = {"clean": [learn(dataset, r, bound=bound) for r in radii]}
    if result.dataset is not None:
        learners["poisoned"] = [learn(result.dataset, r, bound=bound) for r in radii]
    versus = []
    if result.dataset is not None:
        for value in sorted(set(against or [])):
            margin_at = certify(result.dataset, chosen, rho=value, concept=result.concept, bound=bound).margin
            versus.append({"rho": value, "margin": margin_at, "guaranteed": bool(margin_at >= margin - 1e-7)})
    written: list[str] = []
    try:
        if save_clean is not None:
            written.append(str(save(dataset, save_clean)))
        if out is not None and result.dataset is not None:
            written.append(str(save(result.dataset, out)))
    except OSError as exc:
        raise MarlkitError(f"could not write the dataset ({exc})") from None
    if json_output:
        print_json({
            "source": source,
            "dataset": {"num_steps": dataset.num_steps, "game": dataset.game["name"], "digest": dataset.game["digest"],
                        "provenance": dict(dataset.provenance)},
            "attack": result.to_json(),
            "learners": {k: [p.to_json() for p in v] for k, v in learners.items()},
            "adopt_target": {k: [bool(p.adopts(chosen)) for p in v] for k, v in learners.items()},
            "against": versus,
            "written": written,
        })  # fmt: skip
        return
    console_out = console()
    lines = [dataset.describe(), *result.lines()]
    for entry in versus:
        verdict = ">= ι: still guaranteed" if entry["guaranteed"] else "< ι: not guaranteed"
        lines.append(f"against learners with ρ' = {entry['rho']:g}: worst-case margin {entry['margin']:.6g} {verdict}")
    for key, policies in learners.items():
        lines.append(f"learners on the {key} data:")
        lines += [f"  {line}" + ("  [target]" if p.adopts(chosen) else "") for p in policies for line in p.lines()]
    if out is not None and result.dataset is None:
        lines.append(f"nothing written to {out}: the attack is infeasible")
    lines += [f"wrote {path}" for path in written]
    for line in lines:
        console_out.print(line, markup=False, highlight=False, soft_wrap=True)


def _source(source: str, param: list[str] | None, episodes: int, seed: int, noise: float,
            max_steps: int | None, explore: float) -> Any:  # fmt: skip
    """The dataset a source names: load a dataset file, or record one from a game or a run directory."""
    import zipfile

    import numpy as np

    from marlkit.offline.dataset import DatasetError, is_dataset_file, load
    from marlkit.offline.record import record

    path = Path(source)
    if path.suffix == ".npz" and path.exists():
        if param:
            raise InvalidGameError("--param applies to catalog games, not to files")
        if is_dataset_file(path):
            return load(path)
        if not zipfile.is_zipfile(path):
            raise DatasetError(f"{source}: truncated or not an NPZ file (neither a marlkit dataset nor a game file)")
        try:
            game = resolve_game(source, None)
        except (MarlkitError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise DatasetError(
                f"{source}: neither a marlkit dataset nor a game file (truncated or foreign: {exc})"
            ) from None
    elif path.is_dir():
        if param:
            raise InvalidGameError("--param applies to catalog games, not to run directories")
        if not 0 <= explore <= 1:
            raise InvalidGameError(f"--explore must lie in [0, 1], got {explore}")
        from marlkit.experiment.runner import load_trained
        from marlkit.games import as_stochastic

        trained = load_trained(path)
        if trained.game is None:
            raise InvalidGameError(f"{source}: the run recorded no policy table (deep learners on a task, or on a "
                                   "game seen through a wrapper such as a backdoor's trigger); poisoning records "
                                   "from a run's tabular policies on an exact game")  # fmt: skip
        g = as_stochastic(trained.game)
        final = np.asarray(trained.history.policy[:, -1], dtype=np.float64).mean(axis=0)
        behaviour = (1 - explore) * final + explore * g.uniform_policy()
        behaviour = behaviour * g.action_mask
        behaviour /= behaviour.sum(axis=2, keepdims=True)
        return record(trained.game, behaviour, episodes=episodes, seed=seed, noise=noise, max_steps=max_steps,
                      behaviour=f"the run's final policies (mean over seeds) mixed with {explore:g} uniform",
                      provenance={"source": "run", "run_dir": str(path)})  # fmt: skip
    else:
        game = resolve_game(source, param)
    return record(game, episodes=episodes, seed=seed, noise=noise, max_steps=max_steps)


def register(attack_app: typer.Typer, defend_app: typer.Typer) -> None:
    """Add this module's commands to the ``attack`` (and ``defend``) groups."""
    attack_app.command("poison")(poison_command)


__all__ = ["parse_target", "poison_command", "register"]
