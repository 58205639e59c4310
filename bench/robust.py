"""Benchmark: what robustness costs (issue 19, "Speed").

**Adversarial training vs plain training** — two compiled runs of marlkit's deep trainer (``marlkit.train.deep``;
16 envs x 128 steps per update, one seed, MAPPO's default hyper-parameters) on simple spread, timed *interleaved*
(round r times every run once, so a load change on a shared machine hits both alike):

* ``mappo`` — plain MAPPO;
* ``atla_mappo`` — MAPPO trained against a learned observation adversary on agent 0 (ε = 0.1, L∞;
  :class:`marlkit.agents.deep.adversarial.ATLAMAPPO`): per step one adversary forward pass, per update the team's
  and the adversary's PPO updates (both computed under the trainer's vmap over seeds, one kept per phase);
* ``pgd_mappo`` — the same learner with ``adversary="gradient"`` (5 PGD steps per env step against the current team,
  Madry et al. 2018): per step 5 forward-and-backward passes of the team's policy, per update the team's update only.

Printed: the machine, per run the compile time and the best and median env-steps/s over the rounds by wall clock and
by this process's CPU time, and the ratio of the medians' times (the issue's target: <= 2x).

**Robust vs nominal dynamic programming** — :func:`robust_value_iteration_ratio`: the robust team optimum and
robust policy evaluation against their nominal counterparts as the states grow (the issue's ratio).

Run: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false python bench/robust.py [--agents 3] [--updates 8] [--rounds 5]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import numpy as np

import harness
from marlkit.agents.deep.adversarial import ATLAMAPPO
from marlkit.agents.deep.ppo import MAPPO
from marlkit.envs import make
from train import PUBLISHED, deep_bench_arguments, interleaved_rates

RUNS = {
    "mappo": MAPPO(),
    "atla_mappo": ATLAMAPPO(epsilon=0.1, attacked=(0,)),
    "pgd_mappo": ATLAMAPPO(epsilon=0.1, attacked=(0,), adversary="gradient", gradient_steps=5),
}
BASELINE = "mappo"


def adversarial_training_ratio(agents: int, updates: int, rounds: int, report: harness.Report) -> None:
    """Env-steps/s of ATLA-MAPPO, PGD-trained MAPPO and MAPPO, interleaved, and the ratios of their median times."""
    steps = updates * int(PUBLISHED["NUM_ENVS"]) * 128  # type: ignore[call-overload]
    env = make("simple_spread", n_agents=agents)
    runs = {name: (learner, env) for name, learner in RUNS.items()}
    ratios = interleaved_rates(runs, steps, rounds, BASELINE, report)
    print(f"({agents} agents, {updates} updates x 2,048 env steps)")
    for name, (ratio_cpu, ratio_wall) in ratios.items():
        if name != BASELINE:
            print(f"{name} / {BASELINE} time (medians): x{ratio_cpu:.3f} CPU, x{ratio_wall:.3f} wall (target <= x2)")


def robust_value_iteration_ratio(
    report: harness.Report, sizes: tuple[int, ...] = (16, 64, 256), rounds: int = 3
) -> None:
    """Robust dynamic programming against the nominal one as the states grow, interleaved per round.

    Seeded random common-payoff games (2 players x 3 actions; dense Dirichlet(1) rows, or sparse rows with about
    half the entries 0), γ = 0.9, a transition ball of δ = 0.1 (L1) and a reward box of 0.05:

    * team optimum: :func:`marlkit.solve.robust.model.robust_team_optimum` with the ball against the same robust
      policy iteration with the singleton set (δ = ε = 0: the nominal optimum);
    * policy evaluation (the uniform policy): :func:`~marlkit.solve.robust.model.robust_policy_evaluation` against
      the exact nominal evaluation (:meth:`marlkit.games.StochasticGame.evaluate`, one linear solve).
    """
    from marlkit.games.catalog.robust import random_stochastic
    from marlkit.games.uncertainty import ModelUncertainty
    from marlkit.solve.robust.model import robust_policy_evaluation, robust_team_optimum

    ball, nominal = ModelUncertainty(0.05, 0.1, "l1"), ModelUncertainty()
    report.note(f"robust vs nominal dynamic programming (δ = 0.1 L1, ε = 0.05; 2 players x 3 actions; {rounds} rounds)")
    for sparse in (False, True):
        for S in sizes:
            game = random_stochastic(np.random.default_rng(S), states=S, actions=3, utility="common", sparse=sparse)
            policy = game.uniform_policy()
            cases = {
                "team optimum": (
                    lambda g=game: robust_team_optimum(g, nominal),
                    lambda g=game: robust_team_optimum(g, ball),
                ),
                "policy evaluation": (
                    lambda g=game, p=policy: g.evaluate(p),
                    lambda g=game, p=policy: robust_policy_evaluation(g, p, ball),
                ),
            }
            for what, (plain, robust) in cases.items():
                t = harness.interleave({"nominal": lambda _, f=plain: f(), "robust": lambda _, f=robust: f()}, rounds)
                label = f"{what} ({'sparse' if sparse else 'dense'}), {S} states"
                report.compare(label, t["robust"], t["nominal"], "nominal", unit="solve")


def main() -> None:
    args = deep_bench_arguments(__doc__.split("\n")[0], "robust")
    adversarial_training_ratio(args.agents, args.updates, args.rounds, args.report)
    robust_value_iteration_ratio(args.report, (16, 64) if args.quick else (16, 64, 256))
    args.report.finish(args.json)


if __name__ == "__main__":
    main()
