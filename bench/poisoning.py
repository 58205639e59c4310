"""Benchmark: the reward-poisoning program's time as the dataset's (s, a) support grows (issue 20, "Speed").

    python bench/poisoning.py            # S = 1 .. 256 states, 2 players x 3 actions
    python bench/poisoning.py --quick    # S <= 64, well under a minute

Each row is one seeded random general-sum stochastic game (:func:`marlkit.games.catalog.robust.random_stochastic`,
rewards U[-1, 1], Dirichlet(1) transition rows, γ = 0.9; S = 1 is the one-shot game with γ = 0) and a designed
dataset with every (s, a) logged 1..20 times (:func:`marlkit.offline.record.record_counts`, σ = 0.5 reward noise),
so the support is S·9 cells and the dataset ~10.5 samples per cell. The attack: target (0, 0) in every state, ι = 0.5,
ρ = 0.5, L1. Timed (``time.perf_counter``, best of ``--rounds``):

* ``reduced`` — :func:`marlkit.attacks.poisoning.poison` end to end: gap rows, the reduced LP over one variable per
  (agent, s, a) with cost Σ N|Δ| (HiGHS), the poisoned dataset and the certificate recomputed from it;
* ``dense`` — the peer: the same constraints written over one variable per logged sample and agent (δ_k, mean =
  sums / N, cost Σ|δ_k|), the straightforward formulation, solved by the same ``scipy.optimize.linprog`` (HiGHS);
  the LP alone, rows built outside the clock;
* ``l2`` / ``linf`` — ``poison`` with the other norms (L2: Lawson & Hanson's least-distance program via NNLS).

Printed: the machine, per size the rows, variables, seconds and the dense / reduced ratio, and |optimum difference|
(the two formulations agree: the equal-shift reduction is exact). Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from marlkit.attacks.poisoning import PoisoningProgram, build_program, poison
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.catalog.robust import random_stochastic
from marlkit.offline.dataset import OfflineDataset
from marlkit.offline.dominance import gap_rows
from marlkit.offline.estimate import estimate
from marlkit.offline.record import record_counts

IOTA, RHO = 0.5, 0.5


def machine() -> str:
    """The machine line every benchmark prints first."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"load average {load}; numpy {np.__version__}")  # fmt: skip


def instance(states: int, seed: int = 0) -> tuple[OfflineDataset, np.ndarray]:
    """The seeded game and designed dataset of one row (module docstring), and the target ``[S, 2]``."""
    rng = np.random.default_rng(seed + states)
    game: NormalFormGame | StochasticGame
    if states == 1:
        game = NormalFormGame(rng.uniform(-1, 1, size=(2, 3, 3)))
    else:
        game = random_stochastic(rng, states=states, actions=3, gamma=0.9)
    counts = rng.integers(1, 21, size=(states, 3, 3))
    return record_counts(game, counts, seed=seed, noise=0.5), np.zeros((states, 2), dtype=np.int64)


def dense_program(data: OfflineDataset, program: PoisoningProgram) -> tuple[Any, np.ndarray, int]:
    """The per-sample LP of ``program``: column (stream, cell) of G spread over the cell's samples, divided by N."""
    from scipy import sparse

    S, J = data.num_states, data.num_joint_actions
    cell = data.state * J + data.joint_index()
    K = data.num_steps
    G = program.G.tocsc()
    cols, rows, vals = [], [], []
    position = {int(c): k for k, c in enumerate(program.columns)}
    for stream in range(program.streams):
        for k in range(K):
            var = position.get(stream * S * J + int(cell[k]))
            if var is None:
                continue
            start, end = G.indptr[var], G.indptr[var + 1]
            rows.append(G.indices[start:end])
            vals.append(G.data[start:end] / program.counts[var])
            cols.append(np.full(end - start, stream * K + k))
    dense = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(G.shape[0], program.streams * K))  # fmt: skip
    return dense, program.h, program.streams * K


def best_of(rounds: int, fn: Callable[[], Any]) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def poisoning_lp_scaling(sizes: tuple[int, ...] = (1, 4, 16, 64, 256), rounds: int = 3) -> list[dict[str, Any]]:
    """Time the reduced and dense formulations (and L2, L∞) per size; returns the rows printed."""
    from scipy import sparse
    from scipy.optimize import linprog

    print(machine())
    print(f"target (0, 0) everywhere, ι = {IOTA}, ρ = {RHO}; 2 players x 3 actions; best of {rounds}")
    print(f"{'S':>5} {'cells':>6} {'samples':>8} {'rows':>6} {'red. vars':>9} {'dense vars':>10} {'reduced s':>10} "
          f"{'dense s':>9} {'x dense':>8} {'|diff|':>8} {'l2 s':>8} {'linf s':>8}")  # fmt: skip
    out = []
    for S in sizes:
        data, target = instance(S)
        result, reduced_s = best_of(rounds, partial(poison, data, target, iota=IOTA, rho=RHO))
        model = estimate(data, RHO)
        program = build_program(model, gap_rows(model, target, "dominant", data.legal_joint_actions()), IOTA)
        G, h, p = dense_program(data, program)
        A = sparse.hstack([-G, G]).tocsc()

        def dense_lp(A: Any = A, h: np.ndarray = h, p: int = p) -> Any:
            return linprog(np.ones(2 * p), A_ub=A, b_ub=-h, bounds=(0, None), method="highs")

        res, dense_s = best_of(rounds, dense_lp)
        _, l2_s = best_of(rounds, partial(poison, data, target, iota=IOTA, rho=RHO, norm="l2"))
        _, linf_s = best_of(rounds, partial(poison, data, target, iota=IOTA, rho=RHO, norm="linf"))
        diff = abs(res.fun - result.cost)
        row = {
            "states": S,
            "cells": S * 9,
            "samples": data.num_steps,
            "rows": result.solve["rows"],
            "reduced_variables": 2 * result.solve["variables"],
            "dense_variables": 2 * p,
            "reduced_s": reduced_s,
            "dense_s": dense_s,
            "ratio": dense_s / reduced_s,
            "diff": diff,
            "l2_s": l2_s,
            "linf_s": linf_s,
        }
        out.append(row)
        print(
            f"{S:>5} {S * 9:>6} {data.num_steps:>8} {row['rows']:>6} {row['reduced_variables']:>9} {2 * p:>10} "
            f"{reduced_s:>10.4f} {dense_s:>9.4f} {row['ratio']:>8.2f} {diff:>8.1e} {l2_s:>8.4f} {linf_s:>8.4f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="S <= 64 only")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    poisoning_lp_scaling((1, 4, 16, 64) if args.quick else (1, 4, 16, 64, 256), args.rounds)


if __name__ == "__main__":
    main()
