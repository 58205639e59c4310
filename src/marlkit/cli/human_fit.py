"""``marlkit human fit LOG.jsonl`` and ``marlkit human log OUT.jsonl``: fit human models to a play log, and write
a play log from human models or a finished run (docs/human.md).

``fit`` reads a play log (:mod:`marlkit.human.playlog`), checks it against the game (``--game``, or the catalog
game named in its header when its tables match) and prints the maximum-likelihood estimate, the 95%
profile-likelihood interval, the log-likelihood and the number of decisions (:mod:`marlkit.human.fit`); with
``--model all``, a comparison of every model by log-likelihood and AIC. ``--partner SPEC`` fits the Boltzmann /
noisy-best-response agent against a given partner model (e.g. ``boltzmann?beta=2``) instead of the partner's
empirical play.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from marlkit.cli.context import ParamOption, console, print_json, resolve_game
from marlkit.errors import InvalidGameError, MarlkitError


def log_game(log: Any, spec: str | None, params: list[str] | None) -> Any:
    """The game a play log was played in: ``--game`` (checked by digest) or the catalog game its header names."""
    from marlkit.human.playlog import PlayLogError, log_game_header

    name = log.header["game"].get("name") or ""
    if spec is None:
        try:
            game = resolve_game(name, params)
        except MarlkitError:
            raise PlayLogError(
                f"the log's game {name!r} is not a catalog game; pass --game GAME (a catalog name or game file)"
            ) from None
        if log_game_header(game)["digest"] != log.header["game"].get("digest"):
            raise PlayLogError(
                f"the log's game differs from the catalog game {name!r} (other parameters?); pass "
                "--game with the game it was played in"
            )
        return game
    game = resolve_game(spec, params)
    if log_game_header(game)["digest"] != log.header["game"].get("digest"):
        raise PlayLogError(
            f"a log of another game ({name or 'unnamed'}, actions {log.header['game']['num_actions']})"
            f"; it does not match --game {spec}"
        )
    return game


def fit_command(
    log_paths: Annotated[
        list[str],
        typer.Argument(
            metavar="LOG.jsonl", help="Marlkit play logs of one game (several: pooled, or one person each)."
        ),
    ],
    game: Annotated[
        str | None, typer.Option("--game", help="The game it was played in (default: its header's).")
    ] = None,
    param: ParamOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="boltzmann (default) | qre | cognitive-hierarchy | noisy-best-response | all"
        ),
    ] = None,
    agent: Annotated[int | None, typer.Option("--agent", help="Whose choices to fit (default 0; QRE/CH: all).")] = None,
    partner: Annotated[
        str | None,
        typer.Option(
            "--partner", help="Fit against this partner model (e.g. boltzmann?beta=2) instead of its empirical play."
        ),
    ] = None,
    member: Annotated[
        list[str] | None,
        typer.Option(
            "--member",
            help="A population member model (repeat, >= 2): fit the members' weights, one person per log.",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fit human behaviour models to play logs by maximum likelihood (95% profile-likelihood intervals); with
    --member, the weights of a population of models (one person per log)."""
    from marlkit.games.normal_form import NormalFormGame
    from marlkit.human.fit import FITTERS, compare_models, fit_model
    from marlkit.human.models import parse_model
    from marlkit.human.playlog import PlayLogError, read_play_log
    from marlkit.registry import normalise, unknown_name

    if member and model is not None:
        raise InvalidGameError("--model and --member exclude each other: --member fits a population's weights")
    key = normalise(model or "boltzmann")
    if key not in (*FITTERS, "all"):
        raise InvalidGameError("--model: " + unknown_name("model", model or "", [*FITTERS, "all"]))
    logs = [read_play_log(path) for path in log_paths]
    g = log_game(logs[0], game, param)
    for path, other in zip(log_paths[1:], logs[1:], strict=True):
        if other.header["game"].get("digest") != logs[0].header["game"].get("digest"):
            raise PlayLogError(f"{path}: a log of another game than {log_paths[0]}; fit logs of one game together")
    if not isinstance(g, NormalFormGame):
        raise InvalidGameError(
            f"{log_paths[0]}: fits from the CLI are on normal-form games; for a stochastic game use "
            "marlkit.human.fit.fit_beta with Q-values"
        )
    if agent is not None and not 0 <= agent < g.n_players:
        raise InvalidGameError(f"--agent must be a player index 0..{g.n_players - 1}, got {agent}")
    decisions = sum(log.n_decisions for log in logs)
    if decisions == 0:
        raise InvalidGameError(f"{', '.join(log_paths)}: too little data: no decisions")
    partner_policies = None
    if partner is not None:
        partner_model = parse_model(partner)
        partner_policies = [partner_model.policy(g, i) for i in range(g.n_players)]
        if key in ("qre", "cognitive-hierarchy"):
            raise InvalidGameError(f"--partner applies to boltzmann and noisy-best-response, not to {key}")
    logs_field: str | list[str] = log_paths[0] if len(log_paths) == 1 else list(log_paths)
    about = {"log": logs_field, "game": g.name, "joint_decisions": decisions}
    heading = logs[0].lines()[0] if len(logs) == 1 else f"{len(logs)} play logs of {g.name}: {decisions} decisions"
    counts = [sum(parts) for parts in zip(*(log.all_counts() for log in logs), strict=True)]
    if member:
        from marlkit.human.fit import partner_profile
        from marlkit.human.population_fit import fit_population

        seat = 0 if agent is None else agent
        people = [log.counts(seat) for log in logs]
        # the members respond to what the partners played (pooled over the logs), as the one-model fits, or --partner
        faced = partner_profile(g, counts, partner_policies)
        fitted = fit_population(
            [parse_model(spec) for spec in member], g, people, agent=seat, partner_policies=faced, labels=log_paths
        )
        if json_out:
            print_json({**about, **fitted.to_json()})
            return
        write_lines([heading, *fitted.lines()])
        return
    if key == "all":
        if partner_policies is not None:
            raise InvalidGameError("--partner applies to one model (boltzmann or noisy-best-response), not to all")
        comparison = compare_models(g, counts, agent=agent)
        if json_out:
            print_json({**about, **comparison.to_json()})
            return
        lines = [f"{heading}; models scored on player {comparison.agent}'s choices", *comparison.lines()]
    else:
        result = fit_model(key, g, counts, agent=agent, partner_policies=partner_policies)
        if json_out:
            print_json({**about, **result.to_json()})
            return
        lines = [heading, *result.lines()]
    write_lines(lines)


def write_lines(lines: list[str]) -> None:
    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def log_command(
    out_path: Annotated[str, typer.Argument(metavar="OUT.jsonl", help="The play log to write (a new file).")],
    game: Annotated[str | None, typer.Option("--game", help="A catalog game or game file to play.")] = None,
    param: ParamOption = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="A human model spec per player (one spec: every player), e.g. boltzmann?beta=2."
        ),
    ] = None,
    run_dir: Annotated[
        str | None, typer.Option("--run", help="Play a finished run's final policies (mean over seeds) instead.")
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", help="Episodes to record.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write a play log by sampling human models (normal-form games) or a finished tabular run's policies."""
    import numpy as np

    from marlkit.human.models import parse_model
    from marlkit.human.playlog import write_play_log_from_policies

    if episodes < 1:
        raise InvalidGameError(f"--episodes must be >= 1, got {episodes}")
    if (run_dir is None) == (game is None):
        raise InvalidGameError("give exactly one of --game (with --model) or --run RUN_DIR")
    if run_dir is not None:
        if model or param:
            raise InvalidGameError("--model and --param apply with --game, not with --run")
        from marlkit.experiment.runner import load_trained
        from marlkit.games import as_stochastic

        trained = load_trained(run_dir)
        if trained.game is None:
            raise InvalidGameError(f"{run_dir}: a task run (deep learners on an env); a play log needs an exact game")
        g_game: Any = trained.game
        s = as_stochastic(g_game)
        policy = np.asarray(trained.history.policy[:, -1], dtype=np.float64).mean(axis=0) * s.action_mask
        policies: Any = policy / policy.sum(axis=2, keepdims=True)
        source = f"run {run_dir}"
    else:
        assert game is not None
        g_game = resolve_game(game, param)
        specs = model or ["boltzmann?beta=1"]
        n = g_game.payoffs.shape[0] if hasattr(g_game, "payoffs") else 0
        if not hasattr(g_game, "payoffs"):
            raise InvalidGameError("--model plays normal-form games; use --run for a stochastic game's run")
        if len(specs) not in (1, n):
            raise InvalidGameError(f"--model: give one spec or one per player ({n}), got {len(specs)}")
        models = [parse_model(s) for s in (specs * n if len(specs) == 1 else specs)]
        policies = [models[i].policy(g_game, i) for i in range(n)]
        source = "models " + ", ".join(m.to_json()["spec"] for m in models)
    log = write_play_log_from_policies(out_path, g_game, policies, episodes=episodes, seed=seed, source=source)
    if json_out:
        print_json({"log": out_path, "n_decisions": log.n_decisions, "source": source, "header": log.header})
        return
    console().print(f"wrote {out_path}: {log.lines()[0]} ({source})", markup=False, highlight=False, soft_wrap=True)


def register(human_app: typer.Typer) -> None:
    """Add this module's commands to the ``human`` group."""
    human_app.command("fit")(fit_command)
    human_app.command("log")(log_command)
