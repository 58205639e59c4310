"""``marlkit human handover GAME`` and ``marlkit human respond GAME``: see docs/human.md.

* ``handover``: the exact trade-off of a hand-over rule (value margin, novelty, deferral) between a Boltzmann human
  model and the AI on a one-agent task whose cost marks catastrophes (``cliff-walking``, built in; or a game file /
  catalog game of that form): return, catastrophes and takeover rate per threshold, from the training start and
  from a start never seen in training (:mod:`marlkit.human.handover`).
  Given a RUN_DIR or policy file instead, the trade-off by simulation on the policy's deep task: a human model in
  some seats, the trained AI taking over as a novelty (out-of-distribution) or deferral rule decides, at calibrated
  threshold levels, on the training task and on a task shifted by ``--shift KEY=VALUE``
  (:mod:`marlkit.human.handover_sim`).
* ``respond``: the Carroll effect — the self-play plan against the exact best response to a Boltzmann human, on a
  two-player common-payoff game (``carroll-coordination``, built in; or any catalog game / file of that form)
  (:mod:`marlkit.human.best_response`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import ParamOption, resolve_game, show
from marlkit.errors import InvalidGameError

HANDOVER_TASKS = ("cliff-walking",)
"""Built-in hand-over tasks (not in the game catalog)."""
RESPOND_GAMES = ("carroll-coordination",)
"""Built-in games for ``respond`` (not in the game catalog)."""


def _built_in(name: str, factory: Any, params: list[str] | None, allowed: tuple[str, ...]) -> Any:
    from marlkit.cli.context import parse_params

    values = parse_params(params)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InvalidGameError(f"--param {unknown[0]}: {name} takes {', '.join(allowed)}")
    return factory(**values)


def parse_thresholds(values: list[str] | None, default: list[float]) -> list[float] | str:
    """``--margin 0,1 --margin 2`` -> ``[0.0, 1.0, 2.0]``; each a finite number >= 0; ``--margin all`` -> ``"all"``."""
    if values == ["all"]:
        return "all"
    out: list[float] = []
    for value in values or []:
        for part in value.split(","):
            try:
                number = float(part)
            except ValueError:
                number = -1.0
            if not 0 <= number < float("inf"):
                raise InvalidGameError(
                    f"--margin {part!r}: a threshold must be a finite number >= 0 (e.g. --margin 0,1,2) or all"
                )
            if number in out:
                raise InvalidGameError(f"--margin {part!r}: threshold {number:g} given twice; give each once")
            out.append(number)
    return sorted(out) or default


def _check_beta_option(beta: float) -> None:
    if not beta >= 0:
        raise InvalidGameError(f"--beta {beta!r}: the human's inverse temperature must be >= 0 (0 is uniform)")


def handover(
    game: Annotated[
        str,
        typer.Argument(
            help="cliff-walking, or a one-agent game file / catalog game with costs (exact); or a RUN_DIR / policy "
            "file of a deep task (simulated)."
        ),
    ],
    beta: Annotated[
        float | None, typer.Option("--beta", help="Exact: the Boltzmann human's inverse temperature β >= 0 (0.05).")
    ] = None,
    margin: Annotated[
        list[str] | None,
        typer.Option(
            "--margin",
            "-m",
            help="Thresholds (comma-separated or repeated): the value margin m, the novelty rule's minimum training "
            "count, or the defer rule's action-value gap. Default 0,1,2,50,99,100; `all`: every distinct policy "
            "(the exact curve).",
        ),
    ] = None,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule", help="value-margin | novelty | defer (exact; default value-margin); novelty | defer (simulated)."
        ),
    ] = None,
    unforeseen: Annotated[
        int | None, typer.Option("--unforeseen", help="Start state of the second evaluation (default: least seen).")
    ] = None,
    ai_values: Annotated[
        str | None,
        typer.Option(
            "--ai-values",
            help="exact (the task's Q*) | trained (Q* where training visited, 0 elsewhere) | auto (exact for "
            "value-margin, trained for the others; the default).",
        ),
    ] = None,
    training_episodes: Annotated[
        int | None, typer.Option("--training-episodes", help="Exact: the AI's training episodes (20).")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the training run (visit counts); simulated: of the evaluation.")
    ] = 0,
    param: ParamOption = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold",
            "-t",
            help="Simulated: levels q in [0, 1] (comma-separated or repeated): the AI keeps at least q of the "
            "in-distribution decisions. Default 0.5,0.9,0.99.",
        ),
    ] = None,
    shift: Annotated[
        list[str] | None,
        typer.Option("--shift", help="Simulated: KEY=VALUE env parameters of the shifted task, e.g. spawn_range=2."),
    ] = None,
    episodes: Annotated[
        int | None, typer.Option("--episodes", help="Simulated: evaluation episodes per seed (100).")
    ] = None,
    fit_episodes: Annotated[
        int | None,
        typer.Option(
            "--fit-episodes",
            help="Simulated: the AI's episodes that fit (half) and calibrate (half); default --episodes.",
        ),
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option("--detector", help="Simulated: mahalanobis (default) | knn | ensemble (the seeds' disagreement)."),
    ] = None,
    human: Annotated[
        str | None,
        typer.Option(
            "--human",
            help="Simulated: tempered?beta=1&epsilon=0.3 (default) | nearest-landmark?beta=4 (simple_spread).",
        ),
    ] = None,
    agents: Annotated[
        str | None, typer.Option("--agents", help="Simulated: the human's seats (names or indices; default 0).")
    ] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="Simulated: the AI's mode, stochastic (default) | greedy.")
    ] = None,
    save: Annotated[
        bool,
        typer.Option("--save", help="Simulated, on a RUN_DIR: also write handover.json into it (its page shows it)."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Hand-over of control: the trade-off curve (return, catastrophes, takeover rate) over a rule's threshold —
    exact on a tabular task, simulated on a trained deep policy's task."""
    from marlkit.policies.files import is_policy_file

    path = Path(game)
    if path.is_dir() or (path.is_file() and is_policy_file(path)):
        _simulated(
            game,
            rule=rule,
            threshold=threshold,
            shift=shift,
            episodes=100 if episodes is None else episodes,
            fit_episodes=fit_episodes,
            detector=detector or "mahalanobis",
            human=human or "tempered",
            agents=agents or "0",
            mode=mode or "stochastic",
            seed=seed,
            save=save,
            exact_options={
                "--margin": margin,
                "--unforeseen": unforeseen is not None,
                "--param": param,
                "--beta": beta is not None,
                "--training-episodes": training_episodes is not None,
                "--ai-values": ai_values is not None,
            },
            json_output=json_output,
        )
        return
    sim_options = {
        "--threshold": threshold,
        "--shift": shift,
        "--episodes": episodes is not None,
        "--fit-episodes": fit_episodes is not None,
        "--detector": detector is not None,
        "--human": human is not None,
        "--agents": agents is not None,
        "--mode": mode is not None,
        "--save": save,
    }
    given = [k for k, v in sim_options.items() if v]
    if given:
        raise InvalidGameError(f"{given[0]}: applies to a RUN_DIR or policy file (simulation), not to a game {game!r}")
    rule = rule or "value-margin"
    from marlkit.human.handover import RULES, cliff_walking, handover_curve

    beta = 0.05 if beta is None else beta
    training_episodes = 20 if training_episodes is None else training_episodes
    ai_values = ai_values or "auto"
    _check_beta_option(beta)
    if rule not in RULES:
        raise InvalidGameError(f"--rule {rule!r}: expected one of {', '.join(RULES)}")
    thresholds = parse_thresholds(margin, [0.0, 1.0, 2.0, 50.0, 99.0, 100.0])
    if training_episodes < 1:
        raise InvalidGameError(f"--training-episodes must be >= 1, got {training_episodes}")
    if game in HANDOVER_TASKS:
        task = _built_in(game, cliff_walking, param, ("rows", "cols", "gamma"))
    else:
        task = resolve_game(game, param)
    curve = handover_curve(
        task,
        rule=rule,
        beta=beta,
        thresholds=thresholds,
        unforeseen_state=unforeseen,
        training_episodes=training_episodes,
        ai_values=ai_values,
        seed=seed,
    )
    show(curve.to_json(), curve.lines(), json_output)


def parse_levels(values: list[str] | None) -> list[float]:
    """``--threshold 0.9,0.5 --threshold 0.99`` -> ``[0.5, 0.9, 0.99]`` (sorted); each a number in [0, 1], once."""
    out: list[float] = []
    for value in values or ["0.5,0.9,0.99"]:
        for part in value.split(","):
            try:
                number = float(part)
            except ValueError:
                number = -1.0
            if not 0 <= number <= 1:
                raise InvalidGameError(
                    f"--threshold {part!r}: a level must be a number in [0, 1] (the share of in-distribution "
                    "decisions the AI keeps), e.g. --threshold 0.5,0.9,0.99"
                )
            if number in out:
                raise InvalidGameError(f"--threshold {part!r}: level {number:g} given twice; give each level once")
            out.append(number)
    return sorted(out)


def _simulated(
    source: str,
    *,
    rule: str | None,
    threshold: list[str] | None,
    shift: list[str] | None,
    episodes: int,
    fit_episodes: int | None,
    detector: str,
    human: str,
    agents: str,
    mode: str,
    seed: int,
    save: bool,
    exact_options: dict[str, Any],
    json_output: bool,
) -> None:
    """``marlkit human handover RUN_DIR|POLICY``: the simulated trade-off (:mod:`marlkit.human.handover_sim`)."""
    from marlkit.cli.context import parse_params

    given = [k for k, v in exact_options.items() if v]
    if given:
        raise InvalidGameError(
            f"{given[0]}: applies to a tabular game (exact); for a RUN_DIR use --threshold / --shift"
        )
    if save and not Path(source).is_dir():
        raise InvalidGameError(f"--save: writes into a RUN_DIR; {source!r} is a policy file (leave --save out)")
    rule = rule or "novelty"
    if rule not in ("novelty", "defer"):
        raise InvalidGameError(f"--rule {rule!r}: the simulated rules are novelty and defer")
    levels = parse_levels(threshold)
    if episodes < 1:
        raise InvalidGameError(f"--episodes must be >= 1, got {episodes}")
    if fit_episodes is not None and fit_episodes < 2:
        raise InvalidGameError(f"--fit-episodes must be >= 2 (half fit, half calibrate), got {fit_episodes}")
    if mode not in ("stochastic", "greedy"):
        raise InvalidGameError(f"--mode {mode!r}: expected stochastic or greedy")
    shifted = parse_params(shift, "--shift")
    from marlkit.experiment.policies import load_source
    from marlkit.human.handover_sim import handover_simulation
    from marlkit.human.ood import DETECTORS
    from marlkit.policies.partners import parse_agents

    DETECTORS.get(detector)
    policies = load_source(source, mode=mode)
    seats = parse_agents(agents, policies[0].spec, "--agents")
    result = handover_simulation(
        policies,
        rule=rule,
        detector=detector,
        human=human,
        agents=seats,
        levels=levels,
        episodes=episodes,
        fit_episodes=fit_episodes,
        shift=shifted,
        seed=seed,
        mode=mode,
        source=source,
    )
    if save:
        from marlkit.cli.context import save_and_show
        from marlkit.experiment.report import HANDOVER_FILE

        save_and_show(Path(source), HANDOVER_FILE, result.to_json(), result.lines(), json_output)
        return
    show(result.to_json(), result.lines(), json_output)


def respond(
    game: Annotated[str, typer.Argument(help="carroll-coordination, or a two-player common-payoff game.")],
    beta: Annotated[float, typer.Option("--beta", help="The Boltzmann human's inverse temperature β >= 0.")] = 0.1,
    ai: Annotated[int, typer.Option("--ai", help="The AI's seat (0 or 1); the human is the other player.")] = 0,
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """The Carroll effect: the self-play plan vs the exact best response, both with a Boltzmann human."""
    from marlkit.human.best_response import carroll_game, carroll_gap

    _check_beta_option(beta)
    if game in RESPOND_GAMES:
        model: Any = _built_in(game, carroll_game, param, ("a", "b"))
    else:
        model = resolve_game(game, param)
    result = carroll_gap(model, beta, ai=ai)
    show(result.to_json(), result.lines(), json_output)


def register(human_app: typer.Typer) -> None:
    """Add this module's commands to the ``human`` group."""
    human_app.command("handover")(handover)
    human_app.command("respond")(respond)
