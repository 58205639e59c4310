"""Benchmark: the cost of parameter sharing in marlkit's IPPO as the number of agents grows.

Simple spread with ``n`` agents and ``n`` landmarks (``marlkit.envs.make("simple_spread", n_agents=n,
n_landmarks=n)``), IPPO with JaxMARL's published MPE hyper-parameters (``bench/train.py``), trained by
``marlkit.train.deep`` (16 envs x 128 steps per update, one seed), with

* ``full``: one actor and one critic for all agents (one-hot agent id appended, the mode's default), run once over
  the ``[E, n]`` batch;
* ``none``: one actor and one critic per agent (``n`` parameter sets, ``vmap`` over them).

Printed per ``(n, mode)``: parameters (actor + critic, all sets), env-steps/s (wall and this process's CPU time;
the machine may be shared, so the load average is printed), compile time, and XLA's compiled memory
(``Compiled.memory_analysis()``: arguments + temporaries; what the compiled run allocates besides its code).

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python bench/sharing.py [--agents 3 6 12] [--updates 8]``.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import numpy as np

from marlkit.envs import make
from marlkit.train import deep
from train import PUBLISHED, compile_marlkit, marlkit_ippo, timed

MODES = {"full": None, "none": None}  # sharing mode -> agent_id (None: the mode's default)


def measure(n: int, mode: str, updates: int) -> dict[str, float]:
    """One ``(n agents, sharing mode)`` cell: parameters, steps/s, compile seconds, compiled memory (MiB)."""
    env = make("simple_spread", n_agents=n, n_landmarks=n)
    per_update = PUBLISHED["NUM_ENVS"] * PUBLISHED["NUM_STEPS"]
    learner = marlkit_ippo(updates, sharing=mode, agent_id=MODES[mode])
    run = compile_marlkit(env, learner, updates * per_update, updates * per_update)
    state = jax.block_until_ready(deep.start(run.plan_for(0)))
    params = sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(state.carry.learner.params))
    run.compiled(state)  # warm-up (first-call allocations)
    _, wall, cpu = timed(lambda: run.compiled(state))
    memory = run.compiled.memory_analysis()
    mib = np.nan
    if memory is not None:
        mib = (memory.argument_size_in_bytes + memory.temp_size_in_bytes) / 2**20
    return {
        "params": params,
        "wall": run.env_steps / wall,
        "cpu": run.env_steps / cpu,
        "compile": run.compile_s,
        "memory": mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, nargs="*", default=[3, 6, 12])
    parser.add_argument("--updates", type=int, default=8, help="updates per timed run (16 x 128 env steps each)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} cores, jax {jax.__version__} on {jax.devices()[0]}")
    print(f"IPPO on simple spread, {args.updates} updates x 2,048 env steps per timed run; steps/s wall (CPU time)")
    header = f"{'n':>3} {'sharing':>8} {'params':>9} {'steps/s wall':>13} {'(cpu)':>9} {'compile s':>10} {'mem MiB':>8}"
    print(header)
    rows = {}
    for n in args.agents:
        for mode in MODES:
            row = rows[n, mode] = measure(n, mode, args.updates)
            print(
                f"{n:>3} {mode:>8} {row['params']:>9,} {row['wall']:>13,.0f} {row['cpu']:>9,.0f} "
                f"{row['compile']:>10.1f} {row['memory']:>8.2f}",
                flush=True,
            )
        full, none = rows[n, "full"], rows[n, "none"]
        speed, memory = none["cpu"] / full["cpu"], none["memory"] / full["memory"]
        print(f"{n:>3} none/full: steps/s x{speed:.2f} (cpu), memory x{memory:.2f}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
