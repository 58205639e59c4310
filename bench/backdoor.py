"""A backdoor in a deep team on a real task (MPE simple spread), end to end: plant, measure, detect, unlearn.

Not a speed benchmark: a seeded measurement of what ``tests/attacks/test_backdoor.py`` checks on a small exact
game, here on a continuous-observation task (docs/attacks.md, "Backdoors"). IPPO with JaxMARL's MPE
hyper-parameters (``bench/train.py``'s ``marlkit_ippo``, without learning-rate annealing) and ``sharing="none"``
(every agent its own networks, so the hack stays in the trojaned agent); one trigger channel shown to every agent
at ``--rate`` of the steps; ``--clean`` clean controls (trigger shown, unhacked) and ``--trojaned`` teams whose
agent 1 is rewarded for the no-op action (0) while the trigger is on (reward hacking, MARNet) — all seeds in one
compiled program. Then: ASR, clean and triggered returns, CPVR against the clean controls
(``marlkit.attacks.backdoor.measure``); the trigger search over every agent (``marlkit.attacks.trojan.detect``)
with TPR / FPR; unlearning with the recovered triggers, on the true reward
(``marlkit.attacks.unlearning.unlearn``) and by self-distillation (``distill_unlearn``), and the measurements again.

    python bench/backdoor.py [--steps 400000] [--clean 5] [--trojaned 5] [--rate 0.2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # docs/architecture.md, Performance

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import marlkit.envs as envs
from marlkit.attacks.backdoor import BackdoorReward, TriggeredEnv, measure
from marlkit.attacks.trojan import detect, detection_rates
from marlkit.attacks.unlearning import distill_unlearn, unlearn
from marlkit.train.deep import prepare
from train import marlkit_ippo

NUM_ENVS = 16
TROJANED_AGENT = 1
TARGET_ACTION = 0  # MPE's no-op: the agent stops covering its landmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400_000, help="env steps per seed")
    parser.add_argument("--clean", type=int, default=5)
    parser.add_argument("--trojaned", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--unlearn-steps", type=int, default=100_000)
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--distill-steps", type=int, default=300)
    parser.add_argument("--distill-lr", type=float, default=1e-3)
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, load average {os.getloadavg()}; "
        f"jax {jax.__version__} on {jax.devices()[0]}",
        flush=True,
    )
    task = envs.make("simple_spread")
    n = task.spec.n_agents
    env = TriggeredEnv(task, values=(1.0,), agents=tuple(range(n)), rate=args.rate)
    per_update = NUM_ENVS * 128  # JaxMARL's rollout length
    updates = max(args.steps // per_update, 1)
    args.steps, args.unlearn_steps = updates * per_update, max(args.unlearn_steps // per_update, 1) * per_update
    # no learning-rate annealing: unlearning continues training the same learner, which an annealed rate at 0 would stop
    learner = dataclasses.replace(marlkit_ippo(updates, sharing="none"), anneal_updates=None)
    seeds = args.clean + args.trojaned
    hacked = np.zeros((seeds, n), np.float32)
    hacked[args.clean :, TROJANED_AGENT] = 1.0
    plan = prepare(
        env,
        learner,
        args.steps,
        seeds,
        0,
        args.steps,
        num_envs=NUM_ENVS,
        reward=BackdoorReward(agents=(TROJANED_AGENT,), target=(TARGET_ACTION,)),
    )
    began = time.perf_counter()
    start = plan.start()
    reward_state = start.carry.reward_state._replace(hacked=jnp.asarray(hacked))
    start = start._replace(carry=start.carry._replace(reward_state=reward_state))
    states = jax.block_until_ready(plan.advance(start, 0, plan.num_logs)[0].carry.learner)
    print(f"trained {seeds} seeds x {args.steps} env steps in {time.perf_counter() - began:.0f} s", flush=True)
    clean_states = jax.tree_util.tree_map(lambda x: x[: args.clean], states)
    reference = measure(
        env, plan.learner, clean_states, TARGET_ACTION, agents=(TROJANED_AGENT,), episodes=args.episodes
    )
    metrics = measure(
        env, plan.learner, states, TARGET_ACTION, agents=(TROJANED_AGENT,), episodes=args.episodes,
        reference=np.concatenate([reference.clean_return, reference.clean_return]),
    )  # fmt: skip
    print(
        f"seeds 0..{args.clean - 1} clean controls, {args.clean}..{seeds - 1} trojaned "
        f"(agent {TROJANED_AGENT} -> no-op)"
    )
    print("\n".join(metrics.lines()), flush=True)
    population = metrics.clean_return[args.clean :].mean() / reference.clean_return.mean() - 1
    print(f"population CPVR (mean clean return of trojaned vs clean teams): {population:+.3f}", flush=True)
    began = time.perf_counter()
    found = detect(env, plan.learner, states, episodes=args.episodes)
    print(f"detection in {time.perf_counter() - began:.0f} s")
    print("\n".join(found.lines()))
    print("\n".join(detection_rates(found.flagged, hacked > 0).lines()), flush=True)
    trojaned_states = jax.tree_util.tree_map(lambda x: x[args.clean :], states)
    trigger = np.asarray(found.trigger)[args.clean :, TROJANED_AGENT]
    began = time.perf_counter()
    after = unlearn(env, plan.learner, trojaned_states, trigger, np.asarray(found.flagged)[args.clean :],
                    steps=args.unlearn_steps, rate=0.3)  # fmt: skip
    print(f"unlearning ({args.unlearn_steps} env steps per seed) in {time.perf_counter() - began:.0f} s")
    metrics = measure(env, plan.learner, after, TARGET_ACTION, agents=(TROJANED_AGENT,), episodes=args.episodes,
                      reference=reference.clean_return)  # fmt: skip
    print("after unlearning on the true reward (trojaned seeds):")
    print("\n".join(metrics.lines()))

    began = time.perf_counter()
    flagged = np.asarray(found.flagged)[args.clean :]
    for steps, lr in ((args.distill_steps, args.distill_lr), (3 * args.distill_steps, 3 * args.distill_lr)):
        began = time.perf_counter()
        distilled = distill_unlearn(env, plan.learner, trojaned_states, trigger, flagged, steps=steps, lr=lr)
        print(f"self-distillation unlearning ({steps} Adam steps, lr {lr:g}) in {time.perf_counter() - began:.0f} s")
        metrics = measure(env, plan.learner, distilled, TARGET_ACTION, agents=(TROJANED_AGENT,),
                          episodes=args.episodes, reference=reference.clean_return)  # fmt: skip
        print("\n".join(metrics.lines()), flush=True)


if __name__ == "__main__":
    main()
