"""Benchmark: env-steps per second of MPE simple spread, marlkit vs JaxMARL vs mpe2, side by side in one run.

Task: simple spread, 3 agents and 3 landmarks, 25-step episodes with auto-reset, uniformly random discrete
actions. One env-step is one joint step of one environment. Compared:

* ``marlkit``: :class:`marlkit.envs.mpe.SimpleSpread`, ``jax.vmap(env.step)`` over ``N`` envs inside one
  ``jax.jit`` + ``lax.scan`` rollout;
* ``jaxmarl``: JaxMARL's ``MPE_simple_spread_v3`` through the *same* rollout harness (only the action format
  differs: a dict of per-agent arrays, built from the same block of random integers), if ``import jaxmarl`` works.
  JaxMARL is not a marlkit dependency; to measure it, install it beside the project without touching its
  environment, e.g. ``pip install --no-deps --target /tmp/jm jaxmarl jaxtyping chex gymnax safetensors
  wadler_lindig toolz`` and run with ``PYTHONPATH=/tmp/jm``. Without it the issue's figures measured on this
  machine are printed, labelled "reference, not measured in this run";
* ``mpe2``: the PettingZoo reference (``simple_spread_v3.parallel_env``), a Python loop, at ``N = 1`` only.

The harness draws each step's actions for all envs with one ``randint`` call and one key per env, carries the
observations (so neither env can skip computing them) and sums the rewards. Neither computes a global state
(JaxMARL's step has none; marlkit's ``info["global_state"]`` is dead code here and compiled away). Compile time
is reported separately and not counted; each figure is the best of ``--repeats`` timed runs (the machine may be
shared: the load average is printed).

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python bench/envs.py [--quick] [--prng rbg]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import jax.numpy as jnp
import numpy as np

from marlkit.envs.mpe import SimpleSpread

N_AGENTS = 3
ENV_COUNTS = (1, 64, 1024, 8192)
# Issue 7, measured on this 2-core machine: JaxMARL jit + scan, and mpe2 at N = 1.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
REFERENCE = {"jaxmarl": {1: 40e3, 64: 308e3, 1024: 385e3, 8192: 604e3}, "mpe2": {1: 2.6e3}}


class Adapter:
    """What the harness needs from an env: batched reset and step with actions given as an ``[N, n]`` array."""

    def __init__(self, reset: Callable, step: Callable) -> None:
        self.reset, self.step = reset, step


def marlkit_adapter() -> Adapter:
    env = SimpleSpread(n_agents=N_AGENTS)

    def step(keys, state, actions):
        obs, state, reward, _, _ = jax.vmap(env.step)(keys, state, actions)
        return obs, state, reward.sum()

    return Adapter(jax.vmap(env.reset), step)


def jaxmarl_adapter() -> Adapter | None:
    try:
        import jaxmarl
    except ImportError:
        return None
    print(f"jaxmarl {getattr(jaxmarl, '__version__', '?')} from {os.path.dirname(jaxmarl.__file__)}")
    env = jaxmarl.make("MPE_simple_spread_v3", num_agents=N_AGENTS, num_landmarks=N_AGENTS)
    agents = env.agents

    def step(keys, state, actions):
        acts = {a: actions[:, i] for i, a in enumerate(agents)}
        obs, state, reward, _, _ = jax.vmap(env.step)(keys, state, acts)
        return obs, state, sum(r.sum() for r in reward.values())

    return Adapter(jax.vmap(env.reset), step)


def make_rollout(adapter: Adapter, n_envs: int, steps: int) -> Callable:
    """``key -> (obs, total_reward)``: reset ``n_envs`` envs, then ``steps`` random joint steps of each."""

    def rollout(key):
        key, reset_key = jax.random.split(key)
        obs, state = adapter.reset(jax.random.split(reset_key, n_envs))

        def one(carry, _):
            key, state, obs, total = carry
            key, act_key, step_key = jax.random.split(key, 3)
            actions = jax.random.randint(act_key, (n_envs, N_AGENTS), 0, 5)
            obs, state, reward = adapter.step(jax.random.split(step_key, n_envs), state, actions)
            return (key, state, obs, total + reward), None

        (_, _, obs, total), _ = jax.lax.scan(one, (key, state, obs, jnp.float32(0.0)), None, length=steps)
        return obs, total

    return jax.jit(rollout)


def time_jax(
    adapter: Adapter, n_envs: int, steps: int, repeats: int, key: jax.Array, clock: Callable[[], float]
) -> tuple[float, float]:
    """``(env-steps/s, compile seconds)``: best of ``repeats`` timed runs of the compiled rollout."""
    start = clock()
    rollout = make_rollout(adapter, n_envs, steps).lower(key).compile()
    compile_s = clock() - start
    jax.block_until_ready(rollout(key))  # warm-up
    best = np.inf
    for r in range(repeats):
        start = clock()
        jax.block_until_ready(rollout(jax.random.fold_in(key, r + 1)))
        best = min(best, clock() - start)
    return n_envs * steps / best, compile_s


def time_mpe2(steps: int, repeats: int, clock: Callable[[], float]) -> float | None:
    try:
        from mpe2 import simple_spread_v3
    except ImportError:
        return None
    env = simple_spread_v3.parallel_env(N=N_AGENTS, continuous_actions=False)
    rng = np.random.default_rng(np.random.SeedSequence(0))
    best = np.inf
    for _ in range(repeats):
        env.reset(seed=int(rng.integers(2**31)))
        start = clock()
        for _ in range(steps):
            acts = rng.integers(0, 5, N_AGENTS)
            _, _, _, truncated, _ = env.step({a: int(x) for a, x in zip(env.possible_agents, acts, strict=True)})
            if any(truncated.values()):
                env.reset()
        best = min(best, clock() - start)
    return steps / best


def steps_for(n_envs: int, budget: int) -> int:
    """Rollout length giving about ``budget`` env-steps per timed run (at least 100 steps)."""
    return max(100, budget // n_envs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller budget (a smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prng", default="threefry2x32", choices=["threefry2x32", "rbg", "unsafe_rbg"])
    parser.add_argument("--envs", type=int, nargs="*", default=list(ENV_COUNTS))
    parser.add_argument(
        "--clock",
        default="wall",
        choices=list(CLOCKS),
        help="wall: elapsed time (default); cpu: this process's CPU time, steadier on a shared machine",
    )
    args = parser.parse_args()
    budget = 200_000 if args.quick else 2_000_000
    key = jax.random.key(0, impl=args.prng)
    clock = CLOCKS[args.clock]

    print(f"load average {os.getloadavg()}, {os.cpu_count()} cores, jax {jax.__version__} on {jax.devices()[0]}")
    print(f"PRNG {args.prng}; spread, {N_AGENTS} agents; env-steps/s ({args.clock} clock), best of {args.repeats}")
    peers = {"marlkit": marlkit_adapter(), "jaxmarl": jaxmarl_adapter()}
    header = f"{'N':>6} {'marlkit':>12} {'jaxmarl':>12} {'ratio':>7} {'compile (s) marlkit/jaxmarl':>30}"
    print(header)
    for n in args.envs:
        steps = steps_for(n, budget)
        ours, ours_compile = time_jax(peers["marlkit"], n, steps, args.repeats, key, clock)
        if peers["jaxmarl"] is not None:
            theirs, theirs_compile = time_jax(peers["jaxmarl"], n, steps, args.repeats, key, clock)
            label, compile_text = "", f"{ours_compile:.1f} / {theirs_compile:.1f}"
        else:
            theirs, label = REFERENCE["jaxmarl"].get(n, np.nan), " (reference, not measured in this run)"
            compile_text = f"{ours_compile:.1f} / -"
        print(f"{n:>6} {ours:>12,.0f} {theirs:>12,.0f} {ours / theirs:>6.1f}x {compile_text:>30}{label}")
        if n == 1:
            mpe2 = time_mpe2(2_000 if args.quick else 10_000, args.repeats, clock)
            if mpe2 is None:
                mpe2, label = REFERENCE["mpe2"][1], " (reference, not measured in this run)"
            else:
                label = " (Python loop, PettingZoo parallel API)"
            print(f"{'':>6} marlkit vs mpe2 at N=1: {ours:,.0f} vs {mpe2:,.0f} = {ours / mpe2:.1f}x{label}")
    if peers["jaxmarl"] is None:
        print("jaxmarl: not importable here, its figures are the issue's reference numbers (see module docstring)")


if __name__ == "__main__":
    main()
