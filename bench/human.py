"""Benchmark: env-steps per second of the cooking task (Overcooked, cramped room), marlkit vs JaxMARL's Overcooked.

Task: the cramped room, 2 chefs, 6 actions, 400-step episodes with auto-reset. One env-step is one joint step of one
environment. Compared, through one rollout harness (``jax.jit`` + ``lax.scan`` over steps, ``jax.vmap`` over ``N``
envs; each step's actions for all envs drawn by one ``randint`` call, the observations carried so neither env can
skip computing them, the rewards summed):

* ``marlkit`` — :class:`marlkit.envs.cooking.Cooking`, uniformly random actions;
* ``jaxmarl`` — JaxMARL's ``overcooked`` (its cramped room, 26-channel observation), the same random actions as a
  dict of per-agent arrays, if ``import jaxmarl`` works. JaxMARL is not a marlkit dependency; to measure it, install
  it beside the project without touching its environment: ``pip install --no-deps --target /tmp/jm jaxmarl
  jaxtyping chex gymnax safetensors wadler_lindig toolz`` and run with ``PYTHONPATH=src:/tmp/jm`` (bench/envs.py
  does the same for MPE). Without it only marlkit's rows are printed;
* ``greedy`` — marlkit's env driven by two :class:`~marlkit.envs.cooking.GreedyHuman` partners (default β) instead
  of random actions: what a frozen human-model partner costs inside a compiled loop.

Timing: every rollout is compiled first (compile time printed separately, not counted) and run once to warm up;
then ``bench/harness.py`` times ``--rounds`` rounds, each running every rollout once in turn (A, B, C, A, B, C,
...), and reports the median and spread of wall and CPU time per env-step and the ratios (jaxmarl / marlkit;
greedy partners against random actions), with the machine and its load before and after.

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false PYTHONPATH=src:/tmp/jm python bench/human.py [--quick]
[--rounds 5] [--envs 1 64 1024]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import argparse
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import harness
from marlkit.envs.cooking import Cooking, GreedyHuman

ENV_COUNTS = (1, 64, 1024)
MAX_STEPS = 20_000
N_AGENTS, N_ACTIONS = 2, 6
Step = Callable[[jax.Array, Any, jax.Array, jax.Array], tuple[Any, Any, jax.Array]]


def marlkit_runs() -> dict[str, tuple[Callable, Step]]:
    env = Cooking(layout="cramped_room")
    human = GreedyHuman(env)

    def random_step(keys, state, actions, _):
        obs, state, reward, _, _ = jax.vmap(env.step)(keys, state, actions)
        return obs, state, reward.sum()

    def greedy_step(keys, state, _, act_keys):
        def one(key, state, act_key):
            k0, k1 = jax.random.split(act_key)
            actions = jnp.stack([human(k0, state, 0), human(k1, state, 1)])
            obs, state, reward, _, _ = env.step(key, state, actions)
            return obs, state, reward

        obs, state, reward = jax.vmap(one)(keys, state, act_keys)
        return obs, state, reward.sum()

    return {"marlkit": (jax.vmap(env.reset), random_step), "greedy": (jax.vmap(env.reset), greedy_step)}


def jaxmarl_run() -> tuple[Callable, Step] | None:
    try:
        import warnings

        import jaxmarl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation notice in favour of OvercookedV2
            env = jaxmarl.make("overcooked")
    except ImportError:
        return None
    print(f"jaxmarl {getattr(jaxmarl, '__version__', '?')} from {os.path.dirname(jaxmarl.__file__)}")
    agents = env.agents

    def step(keys, state, actions, _):
        acts = {a: actions[:, i] for i, a in enumerate(agents)}
        obs, state, reward, _, _ = jax.vmap(env.step)(keys, state, acts)
        return obs, state, sum(r.sum() for r in reward.values())

    return jax.vmap(env.reset), step


def make_rollout(reset: Callable, step: Step, n_envs: int, steps: int) -> Callable:
    """``key -> (obs, total reward)``: reset ``n_envs`` envs, then ``steps`` joint steps of each."""

    def rollout(key):
        key, reset_key = jax.random.split(key)
        obs, state = reset(jax.random.split(reset_key, n_envs))

        def one(carry, _):
            key, state, obs, total = carry
            key, act_key, step_key = jax.random.split(key, 3)
            actions = jax.random.randint(act_key, (n_envs, N_AGENTS), 0, N_ACTIONS)
            obs, state, reward = step(
                jax.random.split(step_key, n_envs), state, actions, jax.random.split(act_key, n_envs)
            )
            return (key, state, obs, total + reward), None

        (_, _, obs, total), _ = jax.lax.scan(one, (key, state, obs, jnp.float32(0.0)), None, length=steps)
        return obs, total

    return jax.jit(rollout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser)
    parser.add_argument("--envs", type=int, nargs="*", default=list(ENV_COUNTS))
    args = parser.parse_args()
    budget = 20_000 if args.quick else 200_000
    report = harness.Report("human", harness.command_line())
    runs: dict[str, tuple[Callable, Step]] = dict(marlkit_runs())
    peer = jaxmarl_run()
    if peer is not None:
        runs = {"marlkit": runs["marlkit"], "jaxmarl": peer, "greedy": runs["greedy"]}
    else:
        report.note("jaxmarl: not importable here; install it as the module docstring says to measure it")
    key = jax.random.key(0)
    for n in args.envs:
        steps = max(100, min(budget // n, MAX_STEPS))  # N = 1: a 20,000-step scan (a long one only adds time)
        fns = {}
        for name, (reset, step) in runs.items():
            compiled, compile_s, _ = harness.timed_once(
                lambda reset=reset, step=step, n=n, steps=steps: (
                    make_rollout(reset, step, n, steps).lower(key).compile()
                )
            )
            fns[name] = lambda r, fn=compiled: fn(jax.random.fold_in(key, r + 1))
            report.note(f"N={n} {name}: compiled in {compile_s:.1f} s ({steps} steps x {n} envs per timed run)")
        timings = harness.interleave(fns, args.rounds)
        per = n * steps
        report.compare(
            f"cramped room N={n}",
            timings["marlkit"],
            timings.get("jaxmarl"),
            "jaxmarl",
            unit="env-step",
            per=per,
            **({} if "jaxmarl" in timings else {"skipped": "jaxmarl not importable"}),
        )
        report.compare(
            f"cramped room N={n}, greedy human partners", timings["greedy"], timings["marlkit"], "random actions",
            unit="env-step", per=per,
        )  # fmt: skip
    report.finish(args.json)


if __name__ == "__main__":
    main()
