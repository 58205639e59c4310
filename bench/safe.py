"""Benchmark: what the Lagrangian costs — MAPPO-L against MAPPO, env-steps/s in the same run (issue 18, "Speed").

Three compiled runs of marlkit's deep trainer (``marlkit.train.deep``; 16 envs x 128 steps per update, one seed,
MAPPO's default hyper-parameters — 64x64 tanh networks, 4 epochs x 4 minibatches), timed *interleaved* (round r
times every learner once, so a load change on a shared machine hits all of them alike):

* ``mappo/simple_spread`` — MAPPO on the unconstrained task (the trainer records no costs);
* ``mappo/constrained_spread`` — MAPPO on the constrained task (the trainer records the costs; the learner ignores
  them): the bookkeeping's share;
* ``mappo_l/constrained_spread`` — MAPPO-L on the constrained task: a cost critic (a third network, as the
  reference MAPPO-L has), cost GAE, the combined advantage and the dual step;
* ``mappo_l(shared)/constrained`` — the same with ``cost_critic="shared"``: the cost values are ``m`` more units on
  the reward critic's head instead of a third network.

Printed: the machine (platform, cores, load average, JAX device), per run the compile time and the best and median
env-steps/s over the rounds by wall clock and by this process's CPU time, and the ratios of the medians' times
against ``mappo/constrained_spread``. The issue's target: the Lagrangian adds <= 15% time.

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python bench/safe.py [--agents 3] [--updates 8] [--rounds 5]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")


from marlkit.agents.deep.ppo import MAPPO
from marlkit.agents.deep.ppo_lagrangian import MAPPOLagrangian
from marlkit.envs import make
from train import PUBLISHED, deep_bench_arguments, interleaved_rates

RUNS = {
    "mappo/simple_spread": (MAPPO(), "simple_spread"),
    "mappo/constrained_spread": (MAPPO(), "constrained_spread"),
    "mappo_l/constrained_spread": (MAPPOLagrangian(), "constrained_spread"),
    "mappo_l(shared)/constrained": (MAPPOLagrangian(cost_critic="shared"), "constrained_spread"),
}
BASELINE = "mappo/constrained_spread"


def main() -> None:
    args = deep_bench_arguments(__doc__.split("\n")[0], "safe")
    steps = args.updates * PUBLISHED["NUM_ENVS"] * 128
    runs = {name: (learner, make(task, n_agents=args.agents)) for name, (learner, task) in RUNS.items()}
    ratios = interleaved_rates(runs, steps, args.rounds, BASELINE, args.report)
    print(f"({args.agents} agents, {args.updates} updates x 2,048 env steps)\n")
    for name in ("mappo_l/constrained_spread", "mappo_l(shared)/constrained"):
        ratio_cpu, ratio_wall = ratios[name]
        print(
            f"{name} / MAPPO time (same task, medians): x{ratio_cpu:.3f} CPU, x{ratio_wall:.3f} wall (target <= x1.15)"
        )
    args.report.finish(args.json)


if __name__ == "__main__":
    main()
