"""Benchmark: agent-updates per second of the compiled tabular loop against the usual ways of writing it.

IQL and WoLF-PHC in self-play on the 3x3 climbing game (Claus & Boutilier 1998), ``--seeds`` seeds x ``--steps``
steps, run side by side in one process by

* ``marlkit``: ``marlkit.train.train`` (jit + lax.scan, vmap over seeds, History recorded every 1,000 steps);
* ``python``: a per-seed pure-Python loop of the same algorithm (``random.Random`` per seed); only
  ``--python-seeds`` seeds are timed and the time is extrapolated linearly to all seeds (said in the output);
* ``numpy``: a hand-vectorised NumPy loop over seeds (one ``Generator``, arrays ``[seeds, agents, actions]``);
* ``openspiel``: its tabular multi-agent Q-learner, only if ``import pyspiel`` already works (never installed).

All implementations run the same algorithm with the same hyper-parameters: a generic one-state env step (sample
s' from the cumulative transition row, look up the reward), epsilon exploration, Watkins' update with gamma = 0
(the normal-form game), and for WoLF-PHC the average-policy and δ_w / δ_l hill-climbing step of Bowling & Veloso
(2002, Table 2). Only marlkit records a History.

Timing: ``bench/harness.py`` (all runs interleaved, median and spread of wall and CPU time, the machine and its
load); ratios per agent-update, peer time / marlkit time (> 1: marlkit faster), **with and without compile time**:
``marlkit`` runs a program compiled before the clock starts; ``marlkit+compile`` clears JAX's in-memory caches
first, so every call traces, lowers and compiles again (the persistent compilation cache is not enabled in benches:
a cold first run, imports excluded).

Run: ``python bench/tabular.py [--quick] [--rounds 3] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
from collections.abc import Callable

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

import jax
import numpy as np

import harness
from marlkit.agents.tabular import IQL, EpsilonGreedy, WoLFPHC
from marlkit.games import NormalFormGame
from marlkit.train import train

CLIMBING = np.array([[11.0, -30.0, 0.0], [-30.0, 7.0, 6.0], [0.0, 0.0, 5.0]])  # Claus & Boutilier 1998, Table 3
ALPHA, EPSILON_IQL, EPSILON_PHC, DELTA_WIN, DELTA_LOSE = 0.1, 0.1, 0.05, 0.01, 0.04
N_AGENTS, N_ACTIONS = 2, 3
LEARNERS = {
    "IQL": IQL(step_size=ALPHA, exploration=EpsilonGreedy(EPSILON_IQL)),
    "WoLF-PHC": WoLFPHC(step_size=ALPHA, delta=DELTA_WIN, delta_lose=DELTA_LOSE, epsilon=EPSILON_PHC),
}


# ------------------------------------------------------------------------------------- pure Python, per seed


def _python_env_step(rng: random.Random, cdf: list[float], joint: int) -> tuple[int, float]:
    s_next = bisect.bisect_right(cdf, rng.random())  # one state: always 0, but drawn as the generic env does
    return s_next, CLIMBING.flat[joint]


def _python_sample(rng: random.Random, probs: list[float]) -> int:
    u, total = rng.random(), 0.0
    for a, p in enumerate(probs):
        total += p
        if u < total:
            return a
    return len(probs) - 1


def python_iql(steps: int, seed: int) -> list[list[float]]:
    rng, cdf = random.Random(seed), [1.0]
    q = [[0.0] * N_ACTIONS for _ in range(N_AGENTS)]
    payoff = CLIMBING.tolist()
    for _ in range(steps):
        actions = []
        for i in range(N_AGENTS):
            best = max(q[i])
            greedy = [a for a in range(N_ACTIONS) if q[i][a] >= best]
            probs = [
                (1 - EPSILON_IQL) * (a in greedy) / len(greedy) + EPSILON_IQL / N_ACTIONS for a in range(N_ACTIONS)
            ]
            actions.append(_python_sample(rng, probs))
        bisect.bisect_right(cdf, rng.random())
        r = payoff[actions[0]][actions[1]]
        for i in range(N_AGENTS):
            q[i][actions[i]] += ALPHA * (r - q[i][actions[i]])
    return q


def python_wolf(steps: int, seed: int) -> list[list[float]]:
    rng, cdf = random.Random(seed), [1.0]
    q = [[0.0] * N_ACTIONS for _ in range(N_AGENTS)]
    pi = [[1.0 / N_ACTIONS] * N_ACTIONS for _ in range(N_AGENTS)]
    avg = [row[:] for row in pi]
    count = [0] * N_AGENTS
    payoff = CLIMBING.tolist()
    for _ in range(steps):
        actions = [
            _python_sample(rng, [(1 - EPSILON_PHC) * p + EPSILON_PHC / N_ACTIONS for p in pi[i]])
            for i in range(N_AGENTS)
        ]
        bisect.bisect_right(cdf, rng.random())
        r = payoff[actions[0]][actions[1]]
        for i in range(N_AGENTS):
            a = actions[i]
            q[i][a] += ALPHA * (r - q[i][a])
            count[i] += 1
            avg[i] = [m + (p - m) / count[i] for m, p in zip(avg[i], pi[i], strict=True)]
            winning = sum(p * v for p, v in zip(pi[i], q[i], strict=True)) > sum(
                m * v for m, v in zip(avg[i], q[i], strict=True)
            )
            delta = DELTA_WIN if winning else DELTA_LOSE
            best = max(q[i])
            greedy = [b for b in range(N_ACTIONS) if q[i][b] >= best]
            loss = [0.0 if b in greedy else min(pi[i][b], delta / (N_ACTIONS - 1)) for b in range(N_ACTIONS)]
            gain = sum(loss) / len(greedy)
            pi[i] = [pi[i][b] - loss[b] + (gain if b in greedy else 0.0) for b in range(N_ACTIONS)]
    return pi


# ----------------------------------------------------------------------------------- NumPy, vectorised


def _numpy_sample(u: np.ndarray, probs: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(probs, axis=-1)
    return np.minimum((cdf <= (u * cdf[..., -1])[..., None]).sum(-1), N_ACTIONS - 1)


def _numpy_greedy(q: np.ndarray) -> np.ndarray:
    return q >= q.max(axis=-1, keepdims=True)


def numpy_iql(steps: int, seeds: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    q = np.zeros((seeds, N_AGENTS, N_ACTIONS))
    rows, agents, payoff, cdf = (
        np.arange(seeds)[:, None],
        np.arange(N_AGENTS)[None, :],
        CLIMBING.reshape(-1),
        np.ones(1),
    )
    for _ in range(steps):
        u = rng.random((seeds, N_AGENTS + 1))
        greedy = _numpy_greedy(q)
        probs = (1 - EPSILON_IQL) * greedy / greedy.sum(-1, keepdims=True) + EPSILON_IQL / N_ACTIONS
        a = _numpy_sample(u[:, :N_AGENTS], probs)
        (cdf[None, :] <= u[:, -1:]).sum(-1)  # s' (one state)
        r = payoff[a[:, 0] * N_ACTIONS + a[:, 1]][:, None]
        q[rows, agents, a] += ALPHA * (r - q[rows, agents, a])
    return q


def numpy_wolf(steps: int, seeds: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    q = np.zeros((seeds, N_AGENTS, N_ACTIONS))
    pi = np.full_like(q, 1.0 / N_ACTIONS)
    avg = pi.copy()
    rows, agents, payoff, cdf = (
        np.arange(seeds)[:, None],
        np.arange(N_AGENTS)[None, :],
        CLIMBING.reshape(-1),
        np.ones(1),
    )
    for t in range(1, steps + 1):
        u = rng.random((seeds, N_AGENTS + 1))
        a = _numpy_sample(u[:, :N_AGENTS], (1 - EPSILON_PHC) * pi + EPSILON_PHC / N_ACTIONS)
        (cdf[None, :] <= u[:, -1:]).sum(-1)
        r = payoff[a[:, 0] * N_ACTIONS + a[:, 1]][:, None]
        q[rows, agents, a] += ALPHA * (r - q[rows, agents, a])
        avg += (pi - avg) / t
        winning = (pi * q).sum(-1, keepdims=True) > (avg * q).sum(-1, keepdims=True)
        delta = np.where(winning, DELTA_WIN, DELTA_LOSE)
        greedy = _numpy_greedy(q)
        loss = np.where(greedy, 0.0, np.minimum(pi, delta / (N_ACTIONS - 1)))
        pi += -loss + greedy * (loss.sum(-1, keepdims=True) / greedy.sum(-1, keepdims=True))
    return pi


# -------------------------------------------------------------------------------------------------- runner


def marlkit_runs(name: str, steps: int, seeds: int, log_every: int) -> dict[str, Callable[[int], object]]:
    """marlkit's run with the program compiled once before (``marlkit``), and compiled afresh in every call
    (``marlkit+compile``: JAX's in-memory caches cleared first; the persistent cache is off in benches)."""
    game = NormalFormGame(np.stack([CLIMBING, CLIMBING]), name="climbing")

    def run(r: int) -> object:
        return train(game, LEARNERS[name], steps, seeds, r + 1, log_every).average_policy

    def cold(r: int) -> object:
        jax.clear_caches()
        return run(r)

    return {"marlkit": run, "marlkit+compile": cold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_arguments(parser, rounds=3)
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=None, help="steps per seed (100,000; quick: 10,000)")
    parser.add_argument("--python-seeds", type=int, default=3, help="seeds timed for the pure-Python loop")
    parser.add_argument("--numpy-steps", type=int, default=None, help="steps timed for NumPy (ratio per update)")
    args = parser.parse_args()
    steps = args.steps or (10_000 if args.quick else 100_000)
    numpy_steps = args.numpy_steps or steps
    log_every = 1000 if steps % 1000 == 0 else steps
    report = harness.Report("tabular", harness.command_line())
    try:
        import pyspiel  # noqa: F401

        openspiel = "available (not benchmarked here yet)"
    except ImportError:
        openspiel = "not installed: skipped (this benchmark never installs it)"
    report.note(
        f"{args.seeds} seeds x {steps} steps x {N_AGENTS} agents per marlkit run; python: {args.python_seeds} seeds; "
        f"numpy: {args.seeds} seeds x {numpy_steps} steps; ratios per agent-update; openspiel: {openspiel}"
    )
    python_fns = {"IQL": python_iql, "WoLF-PHC": python_wolf}
    numpy_fns = {"IQL": numpy_iql, "WoLF-PHC": numpy_wolf}
    per = {
        "marlkit": steps * args.seeds * N_AGENTS,
        "marlkit+compile": steps * args.seeds * N_AGENTS,
        "python": steps * args.python_seeds * N_AGENTS,
        "numpy": numpy_steps * args.seeds * N_AGENTS,
    }
    for name in LEARNERS:
        runs = marlkit_runs(name, steps, args.seeds, log_every)
        runs["python"] = lambda _, f=python_fns[name]: [f(steps, seed) for seed in range(args.python_seeds)]
        runs["numpy"] = lambda _, f=numpy_fns[name]: f(numpy_steps, args.seeds)
        timings = harness.interleave(runs, args.rounds)
        for ours in ("marlkit", "marlkit+compile"):
            for peer in ("python", "numpy"):
                report.compare(
                    f"{name} climbing game, {ours}",
                    timings[ours],
                    timings[peer],
                    peer,
                    unit="agent-update",
                    per=per[ours],
                    peer_per=per[peer],
                )
    report.finish(args.json)


if __name__ == "__main__":
    main()
