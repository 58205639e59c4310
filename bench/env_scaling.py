"""Benchmark: how an env's cost grows with the number of agents (issue 7, "Speed").

For ``n`` agents in 3, 10, 30, 100, 300 it measures, for

* ``simple_spread``: :class:`marlkit.envs.mpe.simple_spread.SimpleSpread` with ``n`` agents and ``n`` landmarks;
* ``lbf``: :class:`marlkit.envs.lbf.LevelBasedForaging` with ``n`` agents, ``n`` food (lbforaging's standard
  tasks keep food about equal to agents) and the smallest grid on which they always fit
  (:func:`marlkit.envs.lbf.min_grid_size`: 8x8 at n = 3, 67x67 at n = 300 — the grid's area grows with ``n``),

* env-steps/s (wall clock, and per CPU-second of the process — steadier on a shared machine): ``--envs`` envs
  under ``jax.vmap(env.step)`` (auto-reset included) inside one ``jax.jit`` + ``lax.scan`` rollout with
  uniformly random actions (illegal LBF actions are replaced by NONE, as the contract says), the observations
  carried and the rewards summed so neither can be compiled away; the median of ``--rounds`` timed runs after a
  compiling run (``bench/harness.py``: wall and CPU time); agent-steps/s = env-steps/s x n;
* peak memory, two ways: XLA's compiled memory analysis of the rollout (``temp`` = the scratch buffers it
  allocates; ``args + out`` = its inputs and outputs), divided by the number of envs; and the worker process's
  peak resident set size (``ru_maxrss``) minus its resident size just before compiling. Each (task, n) runs in a
  fresh worker process so the peaks do not mix.

The growth exponent is the least-squares slope of log(cost) against log(n) — over all sizes, and over the
largest three (the asymptotic rate, once fixed per-step overheads stop mattering). Cost is seconds per env-step
(the inverse of env-steps/s) and bytes per env.

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python bench/env_scaling.py [--quick] [--tasks lbf]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import numpy as np

import harness

AGENT_COUNTS = (3, 10, 30, 100, 300)


def make_simple_spread(n: int):
    from marlkit.envs.mpe.simple_spread import SimpleSpread

    return SimpleSpread(n_agents=n)


def make_lbf(n: int):
    from marlkit.envs.lbf import LevelBasedForaging, min_grid_size

    return LevelBasedForaging(grid_size=min_grid_size(n, n), n_agents=n, n_food=n)


TASKS: dict[str, Callable[[int], object]] = {"simple_spread": make_simple_spread, "lbf": make_lbf}


def describe(env) -> str:
    spec = env.spec
    return f"{spec.name}, obs {spec.obs_shape[0]}/agent, state {spec.global_state_size}"


def rss_bytes() -> int:
    """The current resident set size (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------------------------------------- one worker


def run_worker(task: str, n: int, n_envs: int, steps: int, repeats: int, prng: str) -> dict:
    """Time one (task, n) and measure its memory; a dict of results (printed as JSON by the worker)."""
    import jax
    import jax.numpy as jnp

    env = TASKS[task](n)
    num_actions = env.spec.max_actions

    def rollout(key):
        key, reset_key = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(reset_key, n_envs))

        def one(carry, _):
            key, state, obs, total = carry
            key, act_key, step_key = jax.random.split(key, 3)
            actions = jax.random.randint(act_key, (n_envs, n), 0, num_actions)
            obs, state, reward, _, _ = jax.vmap(env.step)(jax.random.split(step_key, n_envs), state, actions)
            return (key, state, obs, total + reward.sum()), None

        (_, _, obs, total), _ = jax.lax.scan(one, (key, state, obs, jnp.float32(0.0)), None, length=steps)
        return obs, total

    key = jax.random.key(0, impl=prng)
    rss_before = rss_bytes()
    start = time.perf_counter()
    compiled = jax.jit(rollout).lower(key).compile()
    jax.block_until_ready(compiled(key))
    compile_s = time.perf_counter() - start
    timing = harness.interleave({"rollout": lambda r: compiled(jax.random.fold_in(key, r + 1))}, repeats, warmup=False)[
        "rollout"
    ]
    memory = compiled.memory_analysis()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {
        "task": task,
        "n": n,
        "env": describe(env),
        "envs": n_envs,
        "steps": steps,
        "env_steps_per_s": n_envs * steps / timing.median("wall"),
        "env_steps_per_cpu_s": n_envs * steps / timing.median("cpu"),
        "timing": timing.to_json(),
        "compile_s": compile_s,
        "temp_bytes": getattr(memory, "temp_size_in_bytes", float("nan")),
        "io_bytes": getattr(memory, "argument_size_in_bytes", 0) + getattr(memory, "output_size_in_bytes", 0),
        "rss_growth_bytes": max(peak_rss - rss_before, 0),
    }


# ---------------------------------------------------------------------------------------------- orchestration


def steps_for(n: int, n_envs: int, budget: int) -> int:
    """Rollout length giving about ``budget`` agent-steps per timed run (between 10 and 200 steps)."""
    return int(np.clip(budget // (n * n_envs), 10, 200))


def slope(ns: list[int], costs: list[float]) -> float:
    """Least-squares slope of log(cost) against log(n)."""
    return float(np.polyfit(np.log(ns), np.log(costs), 1)[0])


def print_task(rows: list[dict], report: harness.Report) -> None:
    for row in rows:
        t = row["timing"]
        timing = harness.Timing(row["env"], [t["wall"]["median"]], [t["cpu"]["median"]])
        report.rows.append(
            {
                "workload": f"{row['task']} n={row['n']}, {row['envs']} envs",
                "peer": "-",
                "unit": "env-step",
                "per": row["envs"] * row["steps"],
                "marlkit": {**timing.to_json(), "wall": t["wall"], "cpu": t["cpu"]},
                "skipped": "scaling bench (no peer)",
            }
        )
    print(f"\n{rows[0]['task']}")
    print(
        f"{'n':>5} {'env':<40} {'env-steps/s':>12} {'per CPU-s':>10} {'agent-steps/s':>14} {'temp MB/env':>12} "
        f"{'args+out MB/env':>16} {'RSS growth MB':>14} {'compile s':>10}"
    )
    for row in rows:
        per_env = 1 / (row["envs"] * 2**20)
        print(
            f"{row['n']:>5} {row['env']:<40} {row['env_steps_per_s']:>12,.0f} {row['env_steps_per_cpu_s']:>10,.0f} "
            f"{row['env_steps_per_s'] * row['n']:>14,.0f} {row['temp_bytes'] * per_env:>12.3f} "
            f"{row['io_bytes'] * per_env:>16.3f} {row['rss_growth_bytes'] / 2**20:>14.0f} {row['compile_s']:>10.1f}"
        )
    ns = [row["n"] for row in rows]
    if len(ns) < 2:
        return
    tail = slice(-3, None) if len(ns) >= 3 else slice(None)
    costs = {
        "wall time per env-step": [1 / row["env_steps_per_s"] for row in rows],
        "CPU time per env-step": [1 / row["env_steps_per_cpu_s"] for row in rows],
        "compiled memory per env": [row["temp_bytes"] + row["io_bytes"] for row in rows],
    }
    report.note(f"{rows[0]['task']}: growth exponent (log-log slope vs n; all n / the largest {len(ns[tail])}):")
    for label, cost in costs.items():
        report.note(f"  {label:<26} {slope(ns, cost):5.2f} / {slope(ns[tail], cost[tail]):5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser, rounds=3)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--agents", type=int, nargs="*", default=None)
    parser.add_argument("--envs", type=int, default=64, help="parallel envs (vmap)")
    parser.add_argument("--prng", default="threefry2x32", choices=["threefry2x32", "rbg", "unsafe_rbg"])
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        task, n = args.worker[0], int(args.worker[1])
        print(json.dumps(run_worker(task, n, args.envs, args.steps, args.rounds, args.prng)))
        return

    agents = args.agents or (AGENT_COUNTS[:3] if args.quick else AGENT_COUNTS)
    budget = 20_000 if args.quick else 200_000
    report = harness.Report("env_scaling", harness.command_line())
    report.note(f"PRNG {args.prng}; {args.envs} envs under vmap, jit + scan, random actions; median of {args.rounds}")
    for task in args.tasks:
        rows = []
        for n in agents:
            command = [sys.executable, __file__, "--worker", task, str(n), "--envs", str(args.envs)]
            command += ["--steps", str(steps_for(n, args.envs, budget)), "--rounds", str(args.rounds)]
            command += ["--prng", args.prng]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                report.note(f"{task} n={n}: worker failed:\n{done.stderr[-2000:]}")
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if rows:
            print_task(rows, report)
    report.finish(args.json)


if __name__ == "__main__":
    main()
