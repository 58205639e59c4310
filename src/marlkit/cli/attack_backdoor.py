"""``marlkit attack backdoor RUN_DIR``, ``marlkit defend detect RUN_DIR`` and ``marlkit defend unlearn RUN_DIR``:
backdoors planted at training time in a deep team, their detection and removal (docs/attacks.md).

A backdoored team is trained by ``marlkit run`` from a deep config with a ``backdoor:`` section (docs/experiments.md,
"Backdoor"); ``hack: false`` trains its clean control. Then:

* ``attack backdoor RUN_DIR [--reference CLEAN_RUN_DIR]`` measures the planted backdoor of every seed: ASR, clean and
  triggered returns, and CPVR against the clean control run (same budget and seeds); writes ``backdoor.json``;
* ``defend detect RUN_DIR`` searches every agent's trigger channels for a trigger that collapses the team's return
  (:func:`marlkit.attacks.trojan.detect`); writes ``backdoor-detect.json``;
* ``defend unlearn RUN_DIR [--trigger-from-detect FILE] [--out NEW_RUN_DIR]`` fine-tunes the team with the recovered
  triggers shown to the flagged agents and the true reward (:func:`marlkit.attacks.unlearning.unlearn`), reports the
  backdoor's metrics before and after, and writes ``backdoor-unlearn.json`` — into ``NEW_RUN_DIR``, a copy of the run
  directory whose checkpoint holds the fine-tuned team (so every command that reads a run reads it), when given.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import save_and_show
from marlkit.errors import InvalidGameError


def _load(run_dir: str) -> Any:
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # docs/architecture.md, Performance
    from marlkit.attacks.backdoor import TriggeredEnv
    from marlkit.experiment.runner import load_trained

    trained = load_trained(run_dir)
    if not isinstance(getattr(trained.plan, "env", None), TriggeredEnv):
        raise InvalidGameError(
            f"{run_dir}: the run has no trigger channels; train it from a deep config with a backdoor: section "
            "(docs/experiments.md, Backdoor)"
        )
    return trained


def _truth(trained: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The trojaned agents and target actions the run's config planted (the experimenter's truth)."""
    settings = trained.config.backdoor
    return tuple(settings.trojaned), tuple(settings.target)


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise InvalidGameError(f"{name} must be >= 1, got {value}")
    return value


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")]
EpisodesOption = Annotated[int, typer.Option("--episodes", help="Evaluation episodes per seed.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Evaluation seed, independent of training.")]


def backdoor(
    run_dir: Annotated[str, typer.Argument(help="A finished deep run trained with a backdoor: section.")],
    reference: Annotated[
        str | None, typer.Option("--reference", help="The clean control run (hack: false; same budget and seeds).")
    ] = None,
    episodes: EpisodesOption = 32,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Measure a planted backdoor: ASR, clean and triggered returns, CPVR against a clean control."""
    _positive("--episodes", episodes)
    from marlkit.attacks.backdoor import measure, returns
    from marlkit.experiment.report import BACKDOOR_FILE

    trained = _load(run_dir)
    trojaned, target = _truth(trained)
    env, learner, states = trained.plan.env, trained.plan.learner, trained.state.carry.learner
    ref = None
    if reference is not None:
        if Path(reference).resolve() == Path(run_dir).resolve():
            raise InvalidGameError(f"--reference {reference}: that is the run itself; give its clean control run")
        control = _load(reference)
        if control.plan.env.spec != env.spec:
            raise InvalidGameError(f"--reference {reference}: its env differs from {run_dir}'s")
        ref = returns(
            control.plan.env,
            control.plan.learner,
            control.state.carry.learner,
            env.values,
            (),
            episodes=episodes,
            key=seed,
        )
        if ref.shape[0] != len(trained.plan.seeds):
            raise InvalidGameError(
                f"--reference {reference}: {ref.shape[0]} seeds, {run_dir} has {len(trained.plan.seeds)}"
            )
    result = measure(env, learner, states, target, agents=trojaned, reference=ref, episodes=episodes, key=seed)
    data = result.to_json()
    path = trained.path / BACKDOOR_FILE
    save_and_show(path.parent, path.name, data, result.lines(), json_output)


def detect(
    run_dir: Annotated[str, typer.Argument(help="A finished deep run whose env has trigger channels.")],
    threshold: Annotated[
        float, typer.Option("--threshold", help="Flag a drop above this fraction of the return.")
    ] = 0.2,
    override: Annotated[
        float,
        typer.Option(
            "--override", help="Flag a trigger that overrides the agent's decisions on this fraction of observations."
        ),
    ] = 0.5,
    restarts: Annotated[int, typer.Option("--restarts", help="Random starts per agent and action.")] = 8,
    low: Annotated[float, typer.Option("--low", help="Smallest trigger value searched.")] = 0.0,
    high: Annotated[float, typer.Option("--high", help="Largest trigger value searched.")] = 1.0,
    gradient_steps: Annotated[
        int, typer.Option("--gradient-steps", help="Gradient ascent steps per start (0: random search).")
    ] = 30,
    episodes: EpisodesOption = 32,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Search each agent for a Trojan trigger that collapses the team's return (after PolicyCleanse)."""
    _positive("--episodes", episodes)
    _positive("--restarts", restarts)
    if gradient_steps < 0:
        raise InvalidGameError(f"--gradient-steps must be >= 0 (0: random search only), got {gradient_steps}")
    if not 0 <= threshold < float("inf"):
        raise InvalidGameError(f"--threshold must be a fraction >= 0 of the clean return, got {threshold}")
    if not 0 < override <= 1:
        raise InvalidGameError(f"--override must be in (0, 1], got {override}")
    from marlkit.attacks.trojan import detect as run_detect
    from marlkit.experiment.report import DETECT_FILE

    trained = _load(run_dir)
    result = run_detect(
        trained.plan.env,
        trained.plan.learner,
        trained.state.carry.learner,
        threshold=threshold,
        override_threshold=override,
        low=low,
        high=high,
        restarts=restarts,
        gradient_steps=gradient_steps,
        episodes=episodes,
        key=seed,
    )
    data = result.to_json()
    path = trained.path / DETECT_FILE
    save_and_show(path.parent, path.name, data, result.lines(), json_output)


def unlearn(
    run_dir: Annotated[str, typer.Argument(help="A finished deep run whose env has trigger channels.")],
    trigger_from_detect: Annotated[
        str | None,
        typer.Option("--trigger-from-detect", help="The detector's JSON (default: RUN_DIR/backdoor-detect.json)."),
    ] = None,
    steps: Annotated[
        int, typer.Option("--steps", help="Fine-tuning env steps per seed (a multiple of num_envs x rollout_length).")
    ] = 7680,
    rate: Annotated[float, typer.Option("--rate", help="Probability per step of showing the recovered trigger.")] = 0.5,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="reward: fine-tune on the true reward with the trigger shown (PolicyCleanse); distill: pull the "
            "flagged agents' triggered behaviour onto their clean behaviour (no reward needed).",
        ),
    ] = "reward",
    out: Annotated[
        str | None, typer.Option("--out", help="Write a copy of the run with the fine-tuned team here.")
    ] = None,
    episodes: EpisodesOption = 32,
    seed: SeedOption = 0,
    json_output: JsonOption = False,
) -> None:
    """Remove a found backdoor (fine-tune on the true reward, or self-distil); report the backdoor before and after."""
    _positive("--episodes", episodes)
    _positive("--steps", steps)
    from marlkit.attacks.backdoor import check_rate, measure
    from marlkit.attacks.trojan import Detection
    from marlkit.attacks.unlearning import Unlearning, distill_unlearn
    from marlkit.attacks.unlearning import unlearn as run_unlearn
    from marlkit.experiment.report import DETECT_FILE, UNLEARN_FILE

    if method not in ("reward", "distill"):
        raise InvalidGameError(f"--method must be reward or distill, got {method!r}")

    rate = check_rate(rate, "--rate")
    target_dir = None if out is None else Path(out)
    if target_dir is not None and target_dir.exists():
        raise InvalidGameError(f"--out {out}: already exists; give a new directory")
    trained = _load(run_dir)
    source = Path(trigger_from_detect) if trigger_from_detect else trained.path / DETECT_FILE
    try:
        found = Detection.from_json(json.loads(source.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise InvalidGameError(f"{source}: no detector output; run `marlkit defend detect {run_dir}` first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidGameError(f"{source}: not a backdoor-detect.json ({type(exc).__name__}: {exc})") from None
    env, learner, states = trained.plan.env, trained.plan.learner, trained.state.carry.learner
    N, n = len(trained.plan.seeds), env.spec.n_agents
    if found.flagged.shape != (N, n) or found.trigger.shape != (N, n, env.width):
        raise InvalidGameError(
            f"{source}: its findings are for another run (shape {found.flagged.shape}, not {(N, n)})"
        )
    flagged = found.flagged
    pick = found.drop.argmax(axis=1)  # each seed's strongest recovered trigger
    trigger = found.trigger[range(N), pick]
    trojaned, target = _truth(trained)
    before = measure(env, learner, states, target, agents=trojaned, episodes=episodes, key=seed)
    if method == "reward":
        fixed = run_unlearn(
            env, learner, states, trigger, flagged, steps=steps, rate=rate, key=seed, num_envs=trained.config.num_envs
        )
    else:
        fixed = distill_unlearn(env, learner, states, trigger, flagged, key=seed)
    after = measure(
        env, learner, fixed, target, agents=trojaned, reference=before.clean_return, episodes=episodes, key=seed
    )
    result = Unlearning(
        str(source),
        [list(map(int, row.nonzero()[0])) for row in flagged],
        trigger.tolist(),
        steps,
        rate,
        before,
        after,
        method,
    )
    data, lines = result.to_json(), result.lines()
    where = trained.path
    if target_dir is not None:
        where = _copy_run(trained, fixed, target_dir)
    path = where / UNLEARN_FILE
    save_and_show(path.parent, path.name, data, lines, json_output)


def _copy_run(trained: Any, learner_states: Any, target: Path) -> Path:
    """A copy of the run directory at ``target`` whose checkpoint holds ``learner_states`` (built beside it, then
    renamed into place, so a failure leaves nothing at ``target``)."""
    import shutil
    import tempfile

    from marlkit.experiment import rundir
    from marlkit.experiment.checkpoint import read_header, save_checkpoint
    from marlkit.experiment.report import RESULT_SECTIONS

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        copy = staging / "run"
        shutil.copytree(trained.path, copy)
        for stale in (*(entry.file for entry in RESULT_SECTIONS), "report.html"):  # they measured the team before
            (copy / stale).unlink(missing_ok=True)
        header = read_header(trained.path / rundir.CHECKPOINT)
        state = trained.state._replace(carry=trained.state.carry._replace(learner=learner_states))
        save_checkpoint(
            copy / rundir.CHECKPOINT,
            state,
            config_hash=header["config_hash"],
            windows_done=header["windows_done"],
            info=header.get("info", {}),
        )
        copy.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def register(attack_app: typer.Typer, defend_app: typer.Typer) -> None:
    """Add ``attack backdoor``, ``defend detect`` and ``defend unlearn``."""
    attack_app.command("backdoor")(backdoor)
    defend_app.command("detect")(detect)
    defend_app.command("unlearn")(unlearn)


__all__ = ["backdoor", "detect", "register", "unlearn"]
