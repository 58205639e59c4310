"""The Carroll effect on the cooking task: IPPO trained with the greedy human vs IPPO trained by self-play, both
paired with the greedy human (Carroll et al. 2019, Fig. 4: PPO_SP + human proxy vs PPO_BC + human proxy).

Not a test: the budget it needs is minutes to hours of CPU, far beyond the test suite's. Setting: the cramped room
(400-step episodes, shaping rewards 3 / 3 / 5 as overcooked-ai, not annealed), IPPO (``rollout_length`` 128, lr
``--lr``, 16 envs, parameter sharing by default), ``--seeds`` seeds, ``--steps`` env steps per seed. The human
partner is :class:`marlkit.envs.cooking.GreedyHuman` (β_goal 1, β_action 3) in chef 1's seat, inside the env
(:func:`marlkit.envs.partner.with_partner`) for the human-aware agent. Both agents are then evaluated with the same
greedy human on ``--episodes`` episodes of the **unshaped** env (shaping 0: the return is 20 x soups), with common
random numbers (``train.evaluate.evaluate``, evaluation key 1): the self-play agent through
:class:`marlkit.policies.frozen.Embedded` (its chef-0 policy acting in the partner-wrapped env), the human-aware agent
directly; and the self-play agent with itself for reference.

Printed: per seed, soups per episode with the human for each agent, and the gap (human-aware minus self-play) with
its mean over seeds. Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false PYTHONPATH=src python
bench/human_cooking_carroll.py --steps 204800 --seeds 3``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=204_800, help="env steps per seed (a multiple of 16 x 128)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--layout", default="cramped_room")
    args = parser.parse_args()

    from marlkit.agents.deep import IPPO
    from marlkit.envs import make
    from marlkit.envs.cooking import GreedyHuman
    from marlkit.envs.partner import with_partner
    from marlkit.policies.frozen import Embedded
    from marlkit.train import deep
    from marlkit.train.evaluate import evaluate

    env = make("cooking", layout=args.layout)
    learner = IPPO(rollout_length=128, lr=args.lr)
    trained = {}
    for name, train_env in (("self-play", env), ("human-aware", with_partner(env, GreedyHuman(env), [1]))):
        start = time.perf_counter()
        trained[name] = deep.train(train_env, learner, args.steps, seeds=args.seeds, num_envs=16)
        last = np.asarray(trained[name].history.episode_return)[:, -1, 0]
        print(f"trained {name}: {args.steps:,} steps x {args.seeds} seeds in {time.perf_counter() - start:.0f} s; "
              f"last training return per seed {np.round(last, 1).tolist()}", flush=True)  # fmt: skip
    plain = make("cooking", layout=args.layout, shaping=0.0)
    with_human = with_partner(plain, GreedyHuman(plain), [1])
    sp, ha = trained["self-play"], trained["human-aware"]

    def soups_of(eval_env: object, actor: object, states: object) -> np.ndarray:
        result = evaluate(eval_env, actor, states, episodes=args.episodes, key=1, stacked=True)  # type: ignore[arg-type]
        return result.returns[..., 0].mean(axis=1) / 20  # [seeds] soups per episode

    per_seed = {
        "self-play + human": soups_of(with_human, Embedded(sp.plan.learner, (0,), plain.spec), sp.states),
        "human-aware + human": soups_of(with_human, ha.plan.learner, ha.states),
        "self-play + self-play": soups_of(plain, sp.plan.learner, sp.states),
    }
    for k, v in per_seed.items():
        print(f"{k:<22} soups per episode per seed {np.round(v, 2).tolist()}  mean {v.mean():.2f}")
    gap = per_seed["human-aware + human"] - per_seed["self-play + human"]
    print(f"gap (human-aware - self-play, with the human) per seed {np.round(gap, 2).tolist()}  mean {gap.mean():+.2f}")


if __name__ == "__main__":
    main()
