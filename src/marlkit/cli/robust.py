"""``marlkit robust RUN_DIR|GAME``: how much return survives an adversary, as the threat grows (docs/robust.md).

* On a **game** (catalog name or file): the exact robust values — for each radius ε and attacked set, the robust
  (max-min) value of the best policy against the optimal state adversary (exact, or certified bounds) beside the
  best deterministic policy's; for each transition radius δ, the robust optimum under model uncertainty.
* On a **run directory** of an exact game: the same curves for the run's final policies (every seed): clean
  return, return under random perception noise of the same budget, return against the optimal adversary, the
  robustness gap and the distance to the robust value. The result is also written to ``robustness.json`` in the
  run directory, and its report page gains a robustness section.
* On a **run directory** of a task (a deep run): clean, random-noise and gradient-attack returns of the trained
  policies under an L_p ball of radius ε on the attacked agents' observations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import ParamOption, console, finite, print_json, resolve_game
from marlkit.errors import InvalidGameError


def parse_numbers(option: str, values: list[str] | None, default: list[float]) -> list[float]:
    """``--epsilon 0,0.5 --epsilon 1`` -> ``[0.0, 0.5, 1.0]``; each must be a finite number >= 0."""
    out: list[float] = []
    for value in values or []:
        for part in value.split(","):
            try:
                number = float(part)
            except ValueError:
                raise InvalidGameError(f"{option} {part!r}: expected a number >= 0, e.g. {option} 0,0.5,1") from None
            if not number >= 0 or number == float("inf"):
                raise InvalidGameError(f"{option} {part!r}: a radius must be a finite number >= 0")
            out.append(number)
    return out or default


def parse_attacked(values: list[str] | None, n_agents: int) -> list[tuple[int, ...]]:
    """``--attacked 0 --attacked 0,1`` -> ``[(0,), (0, 1)]`` (default: agent 0 alone, then every agent)."""
    if not values:
        return [(0,)] if n_agents == 1 else [(0,), tuple(range(n_agents))]
    sets = []
    for value in values:
        try:
            agents = tuple(int(a) for a in value.split(","))
        except ValueError:
            raise InvalidGameError(f"--attacked {value!r}: expected agent indices, e.g. --attacked 0,1") from None
        if len(agents) > n_agents:
            raise InvalidGameError(
                f"--attacked {value}: {len(agents)} attacked agents but there are {n_agents} (M <= N)"
            )
        bad = [a for a in agents if not 0 <= a < n_agents]
        if bad:
            raise InvalidGameError(f"--attacked {value}: agent {bad[0]} does not exist; agents are 0..{n_agents - 1}")
        sets.append(agents)
    return sets


def robust(
    target: Annotated[str, typer.Argument(help="A run directory, a catalog game name or a game file.")],
    epsilon: Annotated[
        list[str] | None,
        typer.Option(
            "--epsilon",
            "-e",
            help="State/observation radii ε (comma-separated or repeated). Exact games: B(s) = {ŝ : d(s, ŝ) <= ε} "
            "with the game's state distance (default: the discrete metric, so 1 = any state), default radii 0 and "
            "the game's suggested radius (or 1); tasks: an L_p ball, default 0,0.05,0.1,0.2.",
        ),
    ] = None,
    attacked: Annotated[
        list[str] | None,
        typer.Option(
            "--attacked",
            "-a",
            help="An attacked agent set, e.g. 0 or 0,1 (repeatable); default: the game's suggested set, else agent 0 "
            "alone and all agents.",
        ),
    ] = None,
    delta: Annotated[
        list[str] | None,
        typer.Option("--delta", help="Transition-ball radii δ for model uncertainty (exact games; comma-separated)."),
    ] = None,
    reward_radius: Annotated[float, typer.Option("--reward-radius", help="Reward box ±ε_r with --delta.")] = 0.0,
    norm: Annotated[
        str, typer.Option("--norm", help="Transition ball norm (l1 | linf) or observation ball norm.")
    ] = "",
    uncertainty: Annotated[
        str | None, typer.Option("--uncertainty", "-u", help="An uncertainty-set JSON file instead of the radii.")
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", help="Evaluation episodes per seed and point (tasks).")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Evaluation seed (tasks), independent of training.")] = 0,
    param: ParamOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Robustness curves: return under state / observation attacks and model uncertainty, against the exact robust
    values where they exist."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.diagnose.robustness import RobustnessReport

    path = Path(target)
    is_run = path.is_dir()
    if is_run and param:
        raise InvalidGameError("--param applies to catalog games, not to run directories")
    if episodes < 1:
        raise InvalidGameError(f"--episodes must be >= 1, got {episodes}")
    if is_run:
        from marlkit.experiment.runner import load_trained

        trained = load_trained(path)
        if trained.game is None:
            report = _task_report(trained, epsilon, attacked, uncertainty, norm, episodes, seed)
        else:
            policies = trained.history.policy[:, -1].astype(float)
            report = _game_report(
                str(path), trained.game, policies, epsilon, attacked, delta, reward_radius, norm, uncertainty
            )
        _save(trained.path, report)
    else:
        game = resolve_game(target, param)
        report = _game_report(target, game, None, epsilon, attacked, delta, reward_radius, norm, uncertainty)
    assert isinstance(report, RobustnessReport)
    if json_output:
        print_json(report.to_json())
        return
    out = console()
    for line in report.lines():
        out.print(line, markup=False, highlight=False)
    if is_run:
        out.print(f"wrote {Path(target) / 'robustness.json'}", markup=False)


def _game_report(
    target: str,
    game: Any,
    policies: Any,
    epsilon: list[str] | None,
    attacked: list[str] | None,
    delta: list[str] | None,
    reward_radius: float,
    norm: str,
    uncertainty: str | None,
) -> Any:
    from marlkit.diagnose.robustness import RobustnessReport, model_robustness, state_robustness
    from marlkit.games import as_stochastic, load_uncertainty
    from marlkit.games.uncertainty import ModelUncertainty, StateUncertainty

    game = as_stochastic(game)
    state_points: tuple = ()
    model_points: tuple = ()
    notes: list[str] = []
    if uncertainty is not None:
        sets = load_uncertainty(uncertainty)
        if isinstance(sets, StateUncertainty):
            state_points = state_robustness(game, policies, (), (), uncertainty=sets)
        elif isinstance(sets, ModelUncertainty):
            model_points = model_robustness(game, policies, (), uncertainty=sets)
        else:
            raise InvalidGameError(f"--uncertainty {uncertainty}: an observation ball applies to tasks, not to games")
    else:
        meta = game.metadata  # a catalog game may suggest its threat: metadata state_radius and attacked
        radii = parse_numbers("--epsilon", epsilon, [0.0, float(meta.get("state_radius", 1.0))])
        deltas = parse_numbers("--delta", delta, [])
        if norm and norm not in ("l1", "linf"):
            raise InvalidGameError(f"--norm {norm!r}: on an exact game the transition ball norm is l1 or linf")
        if game.observations is None:
            suggested = meta.get("attacked")
            if attacked is None and isinstance(suggested, (list, tuple)):
                attacked = [",".join(str(a) for a in suggested)]
            state_points = state_robustness(game, policies, radii, parse_attacked(attacked, game.n_players))
        else:
            notes.append("the game is partially observable: state perturbations do not apply (no state curve)")
        if deltas or reward_radius:
            model_points = model_robustness(
                game, policies, deltas or [0.0], reward_radius=reward_radius, norm=norm or "l1"
            )
    if "state_distance" not in game.metadata and state_points and uncertainty is None:
        notes.append("state distance: the discrete metric (ε < 1: no attack; ε >= 1: the adversary may show any state)")
    seeds = 0 if policies is None else len(policies)
    return RobustnessReport(target=target, seeds=seeds, state=state_points, model=model_points, notes=tuple(notes))


def _task_report(
    trained: Any,
    epsilon: list[str] | None,
    attacked: list[str] | None,
    uncertainty: str | None,
    norm: str,
    episodes: int,
    seed: int,
) -> Any:
    from marlkit.diagnose.robustness import RobustnessReport, task_points
    from marlkit.games import load_uncertainty
    from marlkit.games.uncertainty import ObservationBall
    from marlkit.train.evaluate import robustness_curve

    plan = trained.plan
    n = plan.env.spec.n_agents
    if uncertainty is not None:
        ball = load_uncertainty(uncertainty)
        if not isinstance(ball, ObservationBall):
            raise InvalidGameError(
                f"--uncertainty {uncertainty}: a task run takes an observation ball (type observation)"
            )
        ball.check_against(n, tuple(plan.env.spec.obs_shape))
        radii, sets, chosen = [ball.epsilon], [ball.attacked], ball.norm
    else:
        radii = parse_numbers("--epsilon", epsilon, [0.0, 0.05, 0.1, 0.2])
        sets, chosen = parse_attacked(attacked, n), norm or "linf"
    curve = robustness_curve(
        plan.env, plan.learner, trained.state.carry.learner, radii, sets, episodes=episodes, key=seed, norm=chosen,
        stacked=True,
    )  # fmt: skip
    notes = (
        f"{episodes} evaluation episodes per seed and point (key {seed}, independent of training); worst = a "
        "10-step PGD attack on the observations (Madry et al. 2018), the strongest attack measured, not a proven "
        "worst case",
    )
    return RobustnessReport(target=str(trained.path), seeds=len(plan.seeds), state=task_points(curve.to_json()),
                            notes=notes)  # fmt: skip


def _save(run_dir: Path, report: Any) -> None:
    from marlkit.experiment.report import ROBUSTNESS_FILE, save_run_result

    save_run_result(run_dir, ROBUSTNESS_FILE, finite(report.to_json()))  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    app.command("robust")(robust)


__all__ = ["parse_attacked", "parse_numbers", "register", "robust"]
