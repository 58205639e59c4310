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
is reported separately and not counted. Timing: ``bench/harness.py`` (marlkit and the peer interleaved, median
and spread of wall and CPU time, the machine and its load before and after). The mpe2 comparison runs marlkit's
compiled N = 1 rollout and mpe2's loop interleaved and compares time per env-step.

Run: ``PYTHONPATH=src:/tmp/jm python bench/envs.py [--quick] [--rounds 5] [--envs 1024 8192] [--prng rbg]
[--no-peers] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import jax.numpy as jnp
import numpy as np

import harness
from marlkit.envs.mpe import SimpleSpread

N_AGENTS = 3
ENV_COUNTS = (1, 64, 1024, 8192)


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


def mpe2_loop(steps: int) -> Callable[[int], None] | None:
    """mpe2's simple spread driven by a Python loop for ``steps`` steps (resetting at truncation), or None."""
    try:
        from mpe2 import simple_spread_v3
    except ImportError:
        return None
    env = simple_spread_v3.parallel_env(N=N_AGENTS, continuous_actions=False)
    rng = np.random.default_rng(np.random.SeedSequence(0))

    def run(_: int) -> None:
        env.reset(seed=int(rng.integers(2**31)))
        for _ in range(steps):
            acts = rng.integers(0, 5, N_AGENTS)
            _, _, _, truncated, _ = env.step({a: int(x) for a, x in zip(env.possible_agents, acts, strict=True)})
            if any(truncated.values()):
                env.reset()

    return run


def steps_for(n_envs: int, budget: int) -> int:
    """Rollout length giving about ``budget`` env-steps per timed run (at least 100 steps)."""
    return max(100, budget // n_envs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser)
    parser.add_argument("--prng", default="threefry2x32", choices=["threefry2x32", "rbg", "unsafe_rbg"])
    parser.add_argument("--envs", type=int, nargs="*", default=list(ENV_COUNTS))
    parser.add_argument("--no-peers", action="store_true", help="time marlkit alone (e.g. to compare two commits)")
    args = parser.parse_args()
    budget = 200_000 if args.quick else 2_000_000
    key = jax.random.key(0, impl=args.prng)
    report = harness.Report("envs", harness.command_line())
    report.note(
        f"PRNG {args.prng}; simple spread, {N_AGENTS} agents; time per env-step, {args.rounds} interleaved rounds"
    )
    peer = None if args.no_peers else jaxmarl_adapter()
    if peer is None and not args.no_peers:
        report.note(
            "jaxmarl: not importable; install it beside marlkit as this module's docstring says (marlkit rows only)"
        )
    adapters = {"marlkit": marlkit_adapter(), **({"jaxmarl": peer} if peer is not None else {})}
    for n in args.envs:
        steps = steps_for(n, budget)
        runs, compile_s = {}, {}
        for name, adapter in adapters.items():
            rollout, compile_s[name], _ = harness.timed_once(
                lambda a=adapter, n=n, steps=steps: make_rollout(a, n, steps).lower(key).compile()
            )
            runs[name] = lambda r, f=rollout: f(jax.random.fold_in(key, r + 2))
        timings = harness.interleave(runs, args.rounds)
        per = n * steps
        report.compare(
            f"simple spread N={n}",
            timings["marlkit"],
            timings.get("jaxmarl"),
            "jaxmarl",
            unit="env-step",
            per=per,
            compile_s={k: round(v, 2) for k, v in compile_s.items()},
            **({} if "jaxmarl" in timings else {"skipped": "jaxmarl not importable"}),
        )
        if n == 1 and not args.no_peers:
            mpe2_steps = 2_000 if args.quick else 10_000
            loop = mpe2_loop(mpe2_steps)
            if loop is None:
                report.note("mpe2: not importable (no N=1 comparison)")
                continue
            both = harness.interleave({"marlkit": runs["marlkit"], "mpe2": loop}, args.rounds)
            report.compare(
                "simple spread N=1 vs mpe2 (Python loop, PettingZoo parallel API)",
                both["marlkit"],
                both["mpe2"],
                "mpe2",
                unit="env-step",
                per=per,
                peer_per=mpe2_steps,
            )
    report.finish(args.json)


if __name__ == "__main__":
    main()
