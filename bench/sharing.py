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
from collections.abc import Callable

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import numpy as np

import harness
from marlkit.envs import make
from marlkit.train import deep
from train import PUBLISHED, compile_marlkit, marlkit_ippo

MODES = {"full": None, "none": None}  # sharing mode -> agent_id (None: the mode's default)


def prepare(n: int, mode: str, updates: int) -> tuple[dict[str, float], Callable[[int], object], int]:
    """One ``(n agents, sharing mode)`` cell compiled: ``(facts, run, env steps per run)``; facts: parameters,
    compile seconds, compiled memory (MiB: arguments + temporaries, ``Compiled.memory_analysis()``)."""
    env = make("simple_spread", n_agents=n, n_landmarks=n)
    per_update = PUBLISHED["NUM_ENVS"] * PUBLISHED["NUM_STEPS"]
    learner = marlkit_ippo(updates, sharing=mode, agent_id=MODES[mode])
    run = compile_marlkit(env, learner, updates * per_update, updates * per_update)
    state = jax.block_until_ready(deep.start(run.plan_for(0)))
    params = sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(state.carry.learner.params))
    memory = run.compiled.memory_analysis()
    mib = np.nan
    if memory is not None:
        mib = (memory.argument_size_in_bytes + memory.temp_size_in_bytes) / 2**20
    facts = {"params": params, "compile_s": round(run.compile_s, 2), "memory_mib": round(float(mib), 3)}
    return facts, lambda _: run.compiled(state), run.env_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser)
    parser.add_argument("--agents", type=int, nargs="*", default=None, help="agent counts (3 6 12; quick: 3 6)")
    parser.add_argument("--updates", type=int, default=8, help="updates per timed run (16 x 128 env steps each)")
    args = parser.parse_args()
    agents = args.agents or ([3, 6] if args.quick else [3, 6, 12])
    report = harness.Report("sharing", harness.command_line())
    report.note(f"IPPO on simple spread, {args.updates} updates x 2,048 env steps per timed run")
    for n in agents:
        prepared = {mode: prepare(n, mode, args.updates) for mode in MODES}
        for mode, (facts, _, _) in prepared.items():
            report.note(f"{n} agents, sharing={mode}: {facts}")
        timings = harness.interleave({mode: p[1] for mode, p in prepared.items()}, args.rounds)
        full, none = prepared["full"][0], prepared["none"][0]
        report.compare(
            f"{n} agents, sharing=none",
            timings["none"],
            timings["full"],
            "sharing=full",
            unit="env-step",
            per=prepared["none"][2],
            memory_ratio=round(none["memory_mib"] / full["memory_mib"], 3),
        )
    report.finish(args.json)


if __name__ == "__main__":
    main()
