"""Training with a population of partners on the cooking task: is the population-trained agent more robust to
partners it never met? (Strouse et al. 2021, Fictitious Co-Play; Zhao et al. 2023, MEP: population training for
zero-shot coordination with people.)

Not a test: the budget is tens of CPU-minutes (the suite's is 30 minutes for everything). The cross-play table of
:mod:`marlkit.experiment.crossplay_task` on ``--layout`` (default coordination ring, where the Carroll effect shows
at 1M steps, bench/human_cooking_carroll.py): IPPO (``rollout_length`` 128, lr 2.5e-4, 16 envs) trained for
``--steps`` env steps x ``--seeds`` seeds

* with each training partner alone (two greedy humans, :class:`marlkit.envs.cooking.GreedyHuman`: a *precise* one,
  β_goal = β_action = ∞, and a *sloppy* one, β_goal 0.5, β_action 1), and
* with their population, one member drawn per episode (:class:`marlkit.envs.partner.PopulationPartner`, weights
  0.5 / 0.5),

then evaluated on the unshaped task (20 x soups) with the training partner, each member, and two **held-out**
greedy humans (overcooked-ai's default proxy, β_goal 1 / β_action 3, and a *noisy* one, β_goal 0 / β_action 0.5),
``--episodes`` episodes per seed, common random numbers, mean / IQM with two-stage bootstrap intervals.
``--members A,B`` trains with two other partners (rows ``first``, ``second``, ``population``).

Printed: the table (``CrossplayTable.lines``) and, per row, the mean over the held-out columns; ``--json PATH``
writes the table. Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false PYTHONPATH=src nice python
bench/human_population_task.py --steps 1024000 --seeds 3``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import argparse
import json
import time
from pathlib import Path

import numpy as np

PRECISE = "greedy-human?beta_goal=inf&beta_action=inf"
SLOPPY = "greedy-human?beta_goal=0.5&beta_action=1"
DEFAULT = "greedy-human?beta_goal=1&beta_action=3"
NOISY = "greedy-human?beta_goal=0&beta_action=0.5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_024_000, help="env steps per seed (a multiple of 16 x 128)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--layout", default="coordination_ring")
    parser.add_argument("--self-play", action="store_true", help="add the self-play row (about 2.5x a row's time)")
    parser.add_argument("--json", type=Path, default=None, help="write the table (JSON) here")
    parser.add_argument(
        "--members", default=f"{PRECISE},{SLOPPY}", help="the two training partners (comma-separated sources)"
    )
    args = parser.parse_args()

    from marlkit.experiment.config import load_config
    from marlkit.experiment.crossplay_table import CrossplaySettings
    from marlkit.experiment.crossplay_task import task_crossplay_table
    from marlkit.schema import parse

    base = load_config(
        {
            "name": "population-task",
            "env": {"name": "cooking", "params": {"layout": args.layout}},
            "learners": {"name": "ippo", "params": {"rollout_length": 128, "lr": 2.5e-4}},
            "num_envs": 16,
            "steps": args.steps,
            "seeds": args.seeds,
        }
    )
    settings = parse(
        CrossplaySettings,
        {
            "run": "-",
            "agents": [1],
            "humans": dict(zip(("first", "second"), args.members.split(","), strict=True)),
            "held_out": {"default": DEFAULT, "noisy": NOISY},
            "self_play": args.self_play,
            "population": True,
            "population_weights": [0.5, 0.5],
            "eval_params": {"shaping": 0},
            "episodes": args.episodes,
            "seed": 1,
        },
        "",
    )
    start = time.perf_counter()

    def progress(text: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {text}", flush=True)

    table = task_crossplay_table(base, settings, progress)
    progress("done")
    print("\n".join(table.lines()))
    held = [c for c, h in enumerate(table.held_out) if h]
    print("mean over the held-out partners (soups per episode = return / 20):")
    for r, row in enumerate(table.rows):
        means = np.asarray([table.stats[r][c]["mean"] for c in held])
        seeds = np.asarray([table.stats[r][c]["seed_means"] for c in held]).mean(axis=0)  # [N]
        print(f"  {row:<10} {means.mean() / 20:.2f} soups  (per seed {np.round(seeds / 20, 2).tolist()})")
    if args.json is not None:
        args.json.write_text(json.dumps(table.to_json(), indent=1))


if __name__ == "__main__":
    main()
