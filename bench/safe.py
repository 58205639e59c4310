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

import argparse
import os
import platform

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import numpy as np

from marlkit.agents.deep.ppo import MAPPO
from marlkit.agents.deep.ppo_lagrangian import MAPPOLagrangian
from marlkit.envs import make
from train import PUBLISHED, compile_marlkit, timed

RUNS = {
    "mappo/simple_spread": (MAPPO(), "simple_spread"),
    "mappo/constrained_spread": (MAPPO(), "constrained_spread"),
    "mappo_l/constrained_spread": (MAPPOLagrangian(), "constrained_spread"),
    "mappo_l(shared)/constrained": (MAPPOLagrangian(cost_critic="shared"), "constrained_spread"),
}
BASELINE = "mappo/constrained_spread"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--updates", type=int, default=8, help="updates per timed run (16 x 128 env steps each)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()}; jax {jax.__version__} on {jax.devices()[0]}"
    )
    steps = args.updates * PUBLISHED["NUM_ENVS"] * 128
    compiled, states = {}, {}
    for name, (learner, task) in RUNS.items():
        run = compile_marlkit(make(task, n_agents=args.agents), learner, steps, steps)
        compiled[name], states[name] = run, jax.block_until_ready(run.plan_for(0).start())
        run.compiled(states[name])  # warm-up (first-call allocations)
        print(f"compiled {name} in {run.compile_s:.1f} s", flush=True)
    wall: dict[str, list[float]] = {name: [] for name in RUNS}
    cpu: dict[str, list[float]] = {name: [] for name in RUNS}
    for _ in range(args.rounds):
        for name, run in compiled.items():
            _, w, c = timed(lambda run=run, name=name: run.compiled(states[name]))
            wall[name].append(w)
            cpu[name].append(c)
    print(f"\n{args.agents} agents, {args.updates} updates x 2,048 env steps per timed run, {args.rounds} rounds")
    print(f"{'run':<28} {'steps/s wall best':>18} {'median':>9} {'cpu best':>9} {'median':>9} {'time x (cpu)':>13}")
    base_cpu, base_wall = np.median(cpu[BASELINE]), np.median(wall[BASELINE])
    for name in RUNS:
        w, c = np.asarray(wall[name]), np.asarray(cpu[name])
        print(
            f"{name:<28} {steps / w.min():>18,.0f} {steps / np.median(w):>9,.0f} {steps / c.min():>9,.0f} "
            f"{steps / np.median(c):>9,.0f} {np.median(c) / base_cpu:>13.3f}"
        )
    print()
    for name in ("mappo_l/constrained_spread", "mappo_l(shared)/constrained"):
        ratio_cpu, ratio_wall = np.median(cpu[name]) / base_cpu, np.median(wall[name]) / base_wall
        print(
            f"{name} / MAPPO time (same task, medians): x{ratio_cpu:.3f} CPU, x{ratio_wall:.3f} wall (target <= x1.15)"
        )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
