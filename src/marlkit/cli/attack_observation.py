"""``marlkit attack observation RUN_DIR``: observation attacks on a trained run (docs/attacks.md).

* a run of an **exact game** (tabular policies): exact attacks on the perceived state within ``d(s, ŝ) <= ε`` —
  the optimal adversary, a targeted (forcing) attack, random perception of the same budget, flipping budgets;
* a run of a **task** (deep policies): FGSM, PGD, targeted PGD and uniform noise in an L_p ball of radius ε on the
  attacked agents' observations, on the same evaluation episodes; flipping budgets by PGD bisection.

``--victims M`` ranks the agents by the harm of attacking each alone and attacks the M most harmful (greedy nested
sets) instead of ``--attacked``. The result is printed (or ``--json``) and written atomically to
``attack-observation.json`` in the run directory (:mod:`marlkit.attacks.observation`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import console, save_and_show
from marlkit.errors import InvalidGameError


def attack_observation(
    run_dir: Annotated[str, typer.Argument(help="A finished run directory (an exact game or a task).")],
    epsilon: Annotated[
        list[str] | None,
        typer.Option(
            "--epsilon",
            "-e",
            help="Budgets ε (comma-separated or repeated). Exact games: state radius under the game's state distance "
            "(default 0 and the game's suggested radius, else 1); tasks: L_p radius (default 0,0.05,0.1,0.2).",
        ),
    ] = None,
    attacked: Annotated[
        list[str] | None,
        typer.Option("--attacked", "-a", help="An attacked agent set, e.g. 0 or 0,1 (repeatable)."),
    ] = None,
    victims: Annotated[
        int | None,
        typer.Option("--victims", "-m", help="Attack the M most harmful agents (greedy, at the largest ε) instead."),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="Comma-separated attacks. Exact games: optimal,targeted,random (default all); tasks: "
            "fgsm,pgd,targeted,random (default all) and adversarial (opt-in: trains an adversarial policy per victim "
            "and seed, Lin et al. 2020).",
        ),
    ] = "",
    norm: Annotated[str, typer.Option("--norm", help="Observation ball norm on tasks: linf (default) | l2 | l1.")] = "",
    target_action: Annotated[
        int | None,
        typer.Option(
            "--target-action",
            help="The targeted attack's action. Tasks: default -1 = the clean policy's least likely action; exact "
            "games: default = each state's action worst for the team's value.",
        ),
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", help="Evaluation episodes per seed and point (tasks).")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Evaluation seed (tasks), independent of training.")] = 0,
    steps: Annotated[int, typer.Option("--steps", help="PGD steps (tasks).")] = 10,
    flip_samples: Annotated[
        int,
        typer.Option("--flip-samples", help="Greedy episodes per seed searched for flipping budgets (tasks; 0: none)."),
    ] = 2,
    adversary_steps: Annotated[
        int, typer.Option("--adversary-steps", help="Env steps per adversarial policy (tasks, --method adversarial).")
    ] = 16_384,
    plot: Annotated[str | None, typer.Option("--plot", help="Also draw the curves to this image file.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Observation attacks on a trained run: team return vs budget ε and attacked agents M, targeted attacks,
    victim selection and the minimal budget that flips an action."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.cli.robust import parse_numbers
    from marlkit.experiment.report import OBSERVATION_ATTACK_FILE as ATTACK_FILE
    from marlkit.experiment.runner import load_trained

    path = Path(run_dir)
    if not path.is_dir():
        raise InvalidGameError(f"{run_dir}: not a run directory (train one with `marlkit run CONFIG`)")
    if episodes < 1:
        raise InvalidGameError(f"--episodes must be >= 1, got {episodes}")
    if steps < 1:
        raise InvalidGameError(f"--steps must be >= 1, got {steps}")
    if adversary_steps < 1:
        raise InvalidGameError(f"--adversary-steps must be >= 1, got {adversary_steps}")
    if flip_samples < 0:
        raise InvalidGameError(f"--flip-samples must be >= 0, got {flip_samples}")
    if victims is not None and attacked:
        raise InvalidGameError("--victims M chooses the attacked agents; give either --victims or --attacked")
    methods = [m for m in method.split(",") if m.strip()] if method else None
    # validate the budgets before loading anything (a bad budget writes nothing)
    parse_numbers("--epsilon", epsilon, [])
    trained = load_trained(path)
    if trained.game is None:
        result = _deep(trained, epsilon, attacked, victims, methods, norm, target_action, episodes, seed, steps,
                       flip_samples, adversary_steps)  # fmt: skip
    else:
        if norm:
            raise InvalidGameError("--norm applies to task runs; on an exact game the budget is a state radius")
        result = _exact(trained, epsilon, attacked, victims, methods, target_action)
    if plot is not None:
        from marlkit.attacks.observation import plot_observation_attack

        plot_observation_attack(result, plot)
    save_and_show(trained.path, ATTACK_FILE, result.to_json(), result.lines(), json_output)
    if plot is not None and not json_output:
        console().print(f"wrote {plot}", markup=False)


def _exact(
    trained: Any, epsilon: list[str] | None, attacked: list[str] | None, victims: int | None, methods: Any,
    target_action: int | None,
) -> Any:  # fmt: skip
    import numpy as np

    from marlkit.attacks.observation import EXACT_METHODS, exact_observation_attack
    from marlkit.cli.robust import parse_attacked, parse_numbers
    from marlkit.games import as_stochastic

    game = as_stochastic(trained.game)
    meta: dict[str, Any] = dict(game.metadata)
    radii = parse_numbers("--epsilon", epsilon, [0.0, float(meta.get("state_radius", 1.0))])
    sets = None
    if victims is None:
        suggested = meta.get("attacked")
        if attacked is None and isinstance(suggested, (list, tuple)):
            attacked = [",".join(str(a) for a in suggested)]
        sets = parse_attacked(attacked, game.n_players)
    targets = None
    if target_action is not None:
        if not 0 <= target_action < min(game.num_actions):
            raise InvalidGameError(
                f"--target-action {target_action}: expected an action in 0..{min(game.num_actions) - 1}"
            )
        targets = np.full(game.n_players, int(target_action))
    from marlkit.diagnose.distances import playable

    policies = playable(game, trained.history.policy[:, -1])  # the float32 records as valid policies
    return exact_observation_attack(
        game, policies, epsilons=radii, attacked_sets=sets, victims=victims, methods=methods or EXACT_METHODS,
        targets=targets, target=str(trained.path),
    )  # fmt: skip


def _deep(
    trained: Any, epsilon: list[str] | None, attacked: list[str] | None, victims: int | None, methods: Any,
    norm: str, target_action: int | None, episodes: int, seed: int, steps: int, flip_samples: int,
    adversary_steps: int,
) -> Any:  # fmt: skip
    from marlkit.attacks.observation import deep_observation_attack
    from marlkit.cli.robust import parse_attacked, parse_numbers

    plan = trained.plan
    n = plan.env.spec.n_agents
    radii = parse_numbers("--epsilon", epsilon, [0.0, 0.05, 0.1, 0.2])
    sets = None if victims is not None else parse_attacked(attacked, n)
    return deep_observation_attack(
        plan.env, plan.learner, trained.state.carry.learner, epsilons=radii, attacked_sets=sets, victims=victims,
        methods=methods, norm=norm or "linf", episodes=episodes, key=seed, steps=steps,
        target_action=-1 if target_action is None else target_action, flip_samples=flip_samples,
        adversary_steps=adversary_steps, target=str(trained.path),
    )  # fmt: skip


def register(attack_app: typer.Typer, defend_app: typer.Typer) -> None:
    """Add this module's commands to the ``attack`` (and ``defend``) groups."""
    attack_app.command("observation")(attack_observation)


__all__ = ["attack_observation", "register"]
