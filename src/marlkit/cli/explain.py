"""``marlkit explain RUN_DIR``: attribution, fairness and interpretability of a trained run (docs/human.md).

* every run: the per-agent **Shapley credit** of the team return (:mod:`marlkit.human.shapley`; exact over all
  coalitions for up to 12 agents, Monte Carlo with ``--samples K`` orders and standard errors otherwise; agents
  outside a coalition play ``--baseline``) and the AI Economist's **fairness** metrics of the final per-agent returns
  (:mod:`marlkit.human.fairness`);
* exact-game runs (tabular policies): ``v(C)`` by exact policy evaluation of every seed's final policy (averaged over
  seeds), and a decision tree per agent fitted to the final policy of seed 0 (exact fidelity and return);
* task runs (deep policies): ``v(C)`` by the compiled evaluation over every seed, ``--episodes`` episodes;
  VIPER/DAgger trees of max depth ``--depth`` and the gradient saliency of the observation features, both for the
  run's first seed (saliency is skipped, with a note, for ε-greedy Q policies).

The result is printed (or ``--json``) and written atomically to ``explain.json`` in the run directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from marlkit.cli.context import save_and_show
from marlkit.errors import InvalidGameError


def explain(
    run_dir: Annotated[str, typer.Argument(help="A finished run directory (an exact game or a task).")],
    depth: Annotated[int, typer.Option("--depth", help="Maximum depth of the distilled decision trees (>= 1).")] = 4,
    baseline: Annotated[
        str, typer.Option("--baseline", help="What agents outside a coalition play: uniform | noop (action 0).")
    ] = "uniform",
    samples: Annotated[
        int | None,
        typer.Option("--samples", help="Monte Carlo Shapley with K random orders (default: exact up to 12 agents)."),
    ] = None,
    episodes: Annotated[
        int, typer.Option("--episodes", help="Evaluation episodes per seed and coalition (tasks).")
    ] = 64,
    rounds: Annotated[int, typer.Option("--rounds", help="DAgger rounds of the tree distillation (tasks).")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Evaluation seed, independent of training.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (schema: docs/cli-json.md).")] = False,
) -> None:
    """Shapley credit of the team return, fairness of the per-agent returns, and (task runs) distilled decision
    trees and gradient saliency of a trained run."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # see docs/architecture.md, Performance
    from marlkit.experiment.report import EXPLAIN_FILE
    from marlkit.experiment.runner import load_trained
    from marlkit.human.distill import check_depth
    from marlkit.human.shapley import check_baseline

    path = Path(run_dir)
    if not path.is_dir():
        raise InvalidGameError(f"{run_dir}: not a run directory (train one with `marlkit run CONFIG`)")
    try:
        check_depth(depth)
    except InvalidGameError:
        raise InvalidGameError(f"--depth must be an integer >= 1, got {depth}") from None
    try:
        baseline = check_baseline(baseline)
    except InvalidGameError:
        raise InvalidGameError(f"--baseline must be uniform or noop, got {baseline!r}") from None
    if samples is not None and samples < 2:
        raise InvalidGameError(f"--samples must be >= 2 (a standard error needs two orders), got {samples}")
    for name, value in (("--episodes", episodes), ("--rounds", rounds)):
        if value < 1:
            raise InvalidGameError(f"{name} must be >= 1, got {value}")
    trained = load_trained(path)
    if trained.game is None:
        result = _task(trained, depth, baseline, samples, episodes, rounds, seed)
    else:
        result = _exact(trained, depth, baseline, samples, seed)
    save_and_show(trained.path, EXPLAIN_FILE, result.to_json(), result.lines(), json_output)


def _fairness(returns: Any) -> tuple[dict[str, Any] | None, list[str]]:
    from marlkit.human.fairness import fairness

    if len(returns) < 2:
        return None, ["fairness: one agent, no distribution to measure"]
    return fairness(returns).to_json(), []


def _exact(trained: Any, depth: int, baseline: str, samples: int | None, seed: int) -> Any:
    import numpy as np

    from marlkit.diagnose.distances import playable
    from marlkit.games import as_stochastic
    from marlkit.human.distill import distill_tabular
    from marlkit.human.shapley import Explanation, game_coalition_values, shapley

    game = as_stochastic(trained.game)
    policies = playable(game, trained.history.policy[:, -1])  # [N, n, S, A]: every seed's final policy
    per_seed = [game_coalition_values(game, p, baseline) for p in policies]

    def values(masks: Any) -> Any:
        return np.mean([v(masks) for v in per_seed], axis=0)

    credit = shapley(values, game.n_players, samples=samples, seed=seed, baseline=baseline)
    returns = np.mean([game.expected_return(p) for p in policies], axis=0)
    fair, notes = _fairness(returns)
    tree = distill_tabular(game, policies[0], depth)
    notes.append(f"v(C) averages the exact team return over {len(policies)} seeds; the trees fit seed 0's policy")
    return Explanation(
        str(trained.path), "exact game", tuple(float(r) for r in returns), credit, fair, tree.to_json(), None,
        tuple(notes),
    )  # fmt: skip


def _task(
    trained: Any, depth: int, baseline: str, samples: int | None, episodes: int, rounds: int, seed: int
) -> Any:  # fmt: skip
    import jax

    from marlkit.errors import NotApplicableError
    from marlkit.human.distill import distill_deep
    from marlkit.human.saliency import saliency
    from marlkit.human.shapley import Explanation, shapley, task_coalition_values

    plan = trained.plan
    env, learner, states = plan.env, plan.learner, trained.state.carry.learner
    n = env.spec.n_agents
    values = task_coalition_values(env, learner, states, baseline=baseline, episodes=episodes, key=seed)
    credit = shapley(values, n, samples=samples, seed=seed, baseline=baseline)
    returns = values.per_agent[2**n - 1]  # every Shapley computation evaluates the full coalition: the trained team
    fair, notes = _fairness(returns)
    first = jax.tree.map(lambda x: x[0], states)
    tree = distill_deep(env, learner, first, depth, rounds=rounds, episodes=episodes, key=seed)
    try:
        salient: dict[str, Any] | None = saliency(env, learner, first, episodes=episodes, key=seed).to_json()
    except NotApplicableError as exc:
        salient = None
        notes.append(str(exc))
    seeds = int(jax.tree_util.tree_leaves(states)[0].shape[0])
    notes.append(
        f"v(C) and the returns: {episodes} stochastic evaluation episodes x {seeds} seeds (common random numbers); "
        "the trees and the saliency: the run's first seed"
    )
    return Explanation(
        str(trained.path), "task", tuple(float(r) for r in returns), credit, fair, tree.to_json(), salient,
        tuple(notes),
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``explain`` to the ``marlkit`` app."""
    app.command("explain")(explain)


__all__ = ["explain", "register"]
