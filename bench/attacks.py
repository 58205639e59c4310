"""Benchmark: what observation attacks cost (issue 20, "Speed").

**PGD attack throughput** — perturbed observations per second of :func:`marlkit.agents.deep.attacks.gradient_attack`
against a MAPPO policy (default network: 64x64 MLP actor) on simple spread (3 agents, 18 features), every agent
attacked (L∞, ε = 0.1), one compiled program per run, batched over ``E`` envs and ``N`` seeds (``jax.vmap`` over the
seeds' parameters). One "perturbed observation" is one agent's observation vector of one env of one seed, so a call
perturbs ``N x E x n`` of them. Runs, timed *interleaved* (round r times every run once, so a load change on a
shared machine hits all alike):

* ``fgsm`` — one signed gradient step (:func:`~marlkit.agents.deep.attacks.fgsm`);
* ``pgd-10`` / ``pgd-50`` — 10 and 50 projected steps (the default of ``marlkit attack observation`` and a strong
  attack);
* ``pgd-10 loop`` — the peer: the same PGD-10 compiled for one seed and called in a Python loop over the seeds.

**Attacks inside the compiled evaluation** — :func:`marlkit.train.evaluate.evaluate` of ``N`` seeds x ``E``
episodes (25 steps) clean and under PGD-10 / uniform noise, in env steps per second (what a robustness curve costs
per point).

Timing: ``bench/harness.py`` (interleaved rounds, median and spread of wall and CPU time, the machine and its
load); each run against the baseline (``pgd-10``; ``clean`` for the evaluation), ratio = baseline time / run time.

**The poisoning LP as the dataset's support grows** — ``bench/poisoning.py``'s ``poisoning_lp_scaling``: the reduced
attack (one variable per logged (state, joint action)) against the per-sample LP written from the definitions, as
the number of states grows (``--poisoning`` runs it here too; ``--quick`` stops at 64 states).

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python bench/attacks.py [--envs 256] [--seeds 4] [--rounds 5]
[--poisoning] [--quick]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import harness
from marlkit.agents.deep.attacks import Ball, GradientAttack, RandomAttack, fgsm, gradient_attack
from marlkit.agents.deep.base import Observation
from marlkit.agents.deep.ppo import MAPPO
from marlkit.envs import make
from marlkit.games.uncertainty import ObservationBall
from marlkit.train.evaluate import evaluate


def interleaved(
    runs: dict[str, Callable[[], Any]], items: int, rounds: int, baseline: str, unit: str, report: harness.Report
) -> None:
    """Warm every run up (its compile time noted), time them interleaved with the harness, and record each run
    against ``baseline`` (ratio = baseline time / run time per ``unit``)."""
    for name, fn in runs.items():
        _, w, _ = harness.timed_once(fn)
        report.note(f"compiled {name} in {w:.1f} s")
    timings = harness.interleave({name: lambda _, fn=fn: fn() for name, fn in runs.items()}, rounds, warmup=False)
    for name, timing in timings.items():
        if name != baseline:
            report.compare(name, timing, timings[baseline], baseline, unit=unit, per=items)


def attack_throughput(envs: int, seeds: int, rounds: int, report: harness.Report) -> None:
    """Perturbed observations per second of FGSM and PGD, batched over envs and seeds, and PGD in a seed loop."""
    env = make("simple_spread", n_agents=3)
    learner = MAPPO()
    spec = env.spec
    states = jax.vmap(lambda k: learner.init(k, spec, 1))(jax.random.split(jax.random.key(0), seeds))
    n, d = spec.n_agents, spec.obs_shape[0]
    obs = jax.random.normal(jax.random.key(1), (envs, n, d))
    observation = Observation(
        obs, jnp.ones((envs, n, max(spec.num_actions)), bool), jnp.zeros((envs, spec.global_state_size)),
        jnp.zeros(envs, bool),
    )  # fmt: skip
    ball = Ball.of(ObservationBall(0.1, tuple(range(n))), n)

    def one(state: Any, steps: int) -> jax.Array:
        def policy(_: Any, o: jax.Array) -> jax.Array:
            return learner.policy(state, observation._replace(obs=o), ())

        if steps == 1:
            return fgsm(policy, (), obs, ball)
        return gradient_attack(policy, (), obs, ball, steps=steps)

    batched = {k: jax.jit(jax.vmap(lambda s, k=k: one(s, k))) for k in (1, 10, 50)}
    single = jax.jit(lambda s: one(s, 10))
    per_seed = [jax.tree.map(lambda x, i=i: x[i], states) for i in range(seeds)]
    runs = {
        "fgsm": lambda: batched[1](states),
        "pgd-10": lambda: batched[10](states),
        "pgd-50": lambda: batched[50](states),
        "pgd-10 loop": lambda: [single(s) for s in per_seed],
    }
    report.note(f"PGD attack throughput: MAPPO on simple spread, {seeds} seeds x {envs} envs x {n} agents, L∞ ε = 0.1")
    interleaved(runs, seeds * envs * n, rounds, "pgd-10", "observation", report)


def evaluation_cost(envs: int, seeds: int, rounds: int, report: harness.Report) -> None:
    """Env steps per second of the compiled evaluation, clean and under PGD-10 / noise on every agent."""
    env = make("simple_spread", n_agents=3)
    learner: Any = MAPPO()
    states = jax.vmap(lambda k: learner.init(k, env.spec, 1))(jax.random.split(jax.random.key(0), seeds))
    ball = Ball.of(ObservationBall(0.1, (0, 1, 2)), 3)
    attacks = {"clean": None, "pgd-10": GradientAttack(ball), "noise": RandomAttack(ball)}

    def run(attack: Any) -> Callable[[], Any]:
        return lambda: evaluate(env, learner, states, episodes=envs, key=0, attack=attack, stacked=True).returns

    runs = {name: run(attack) for name, attack in attacks.items()}
    report.note(f"compiled evaluation: {seeds} seeds x {envs} episodes x {env.spec.max_episode_steps} steps")
    interleaved(runs, seeds * envs * env.spec.max_episode_steps, rounds, "clean", "env-step", report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser)
    parser.add_argument("--envs", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--poisoning", action="store_true", help="also time the poisoning LP (bench/poisoning.py)")
    args = parser.parse_args()
    report = harness.Report("attacks", harness.command_line())
    envs = max(args.envs // 4, 1) if args.quick else args.envs
    attack_throughput(envs, args.seeds, args.rounds, report)
    evaluation_cost(max(envs // 4, 1), args.seeds, args.rounds, report)
    if args.poisoning:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from poisoning import poisoning_lp_scaling  # bench/poisoning.py

        poisoning_lp_scaling((1, 4, 16, 64) if args.quick else (1, 4, 16, 64, 256), max(args.rounds // 2, 1), report)
    report.finish(args.json)


if __name__ == "__main__":
    main()
