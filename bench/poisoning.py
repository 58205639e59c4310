"""Benchmark: the reward-poisoning program's time as the dataset's (s, a) support grows (issue 20, "Speed").

    python bench/poisoning.py            # S = 1 .. 256 states, 2 players x 3 actions
    python bench/poisoning.py --quick    # S <= 64, well under a minute

Each row is one seeded random general-sum stochastic game (:func:`marlkit.games.catalog.robust.random_stochastic`,
rewards U[-1, 1], Dirichlet(1) transition rows, γ = 0.9; S = 1 is the one-shot game with γ = 0) and a designed
dataset with every (s, a) logged 1..20 times (:func:`marlkit.offline.record.record_counts`, σ = 0.5 reward noise),
so the support is S·9 cells and the dataset ~10.5 samples per cell. The attack: target (0, 0) in every state, ι = 0.5,
ρ = 0.5, L1. Timed by ``bench/harness.py`` (interleaved rounds, median and spread of wall and CPU time):

* ``reduced`` — :func:`marlkit.attacks.poisoning.poison` end to end: gap rows, the reduced LP over one variable per
  (agent, s, a) with cost Σ N|Δ| (HiGHS), the poisoned dataset and the certificate recomputed from it;
* ``dense`` — the peer: the same constraints written over one variable per logged sample and agent (δ_k, mean =
  sums / N, cost Σ|δ_k|), the straightforward formulation, solved by the same ``scipy.optimize.linprog`` (HiGHS);
  the LP alone, rows built outside the clock;
* ``l2`` / ``linf`` — ``poison`` with the other norms (L2: Lawson & Hanson's least-distance program via NNLS).

Printed: the machine, per size the rows, variables, times and the dense / reduced ratio, and |optimum difference|
(the two formulations agree: the equal-shift reduction is exact). Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

import numpy as np

import harness
from marlkit.attacks.poisoning import PoisoningProgram, build_program, poison
from marlkit.games import NormalFormGame, StochasticGame
from marlkit.games.catalog.robust import random_stochastic
from marlkit.offline.dataset import OfflineDataset
from marlkit.offline.dominance import gap_rows
from marlkit.offline.estimate import estimate
from marlkit.offline.record import record_counts

IOTA, RHO = 0.5, 0.5


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


def poisoning_lp_scaling(
    sizes: tuple[int, ...] = (1, 4, 16, 64, 256), rounds: int = 3, report: harness.Report | None = None
) -> list[dict[str, Any]]:
    """Time the reduced and dense formulations (and L2, L∞) per size, interleaved; returns the rows recorded."""
    from scipy import sparse
    from scipy.optimize import linprog

    report = report or harness.Report("poisoning", harness.command_line())
    report.note(f"target (0, 0) everywhere, ι = {IOTA}, ρ = {RHO}; 2 players x 3 actions; {rounds} interleaved rounds")
    out = []
    for S in sizes:
        data, target = instance(S)
        model = estimate(data, RHO)
        program = build_program(model, gap_rows(model, target, "dominant", data.legal_joint_actions()), IOTA)
        G, h, p = dense_program(data, program)
        A = sparse.hstack([-G, G]).tocsc()

        def dense_lp(A: Any = A, h: np.ndarray = h, p: int = p) -> Any:
            return linprog(np.ones(2 * p), A_ub=A, b_ub=-h, bounds=(0, None), method="highs")

        results: dict[str, Any] = {}
        runs = {
            "reduced": partial(poison, data, target, iota=IOTA, rho=RHO),
            "dense": dense_lp,
            "l2": partial(poison, data, target, iota=IOTA, rho=RHO, norm="l2"),
            "linf": partial(poison, data, target, iota=IOTA, rho=RHO, norm="linf"),
        }
        timings = harness.interleave(
            {name: lambda _, name=name, fn=fn, out=results: out.__setitem__(name, fn()) for name, fn in runs.items()},
            rounds,
        )
        result, res = results["reduced"], results["dense"]
        diff = abs(res.fun - result.cost)
        row = {
            "states": S,
            "cells": S * 9,
            "samples": data.num_steps,
            "rows": result.solve["rows"],
            "reduced_variables": 2 * result.solve["variables"],
            "dense_variables": 2 * p,
            "diff": diff,
        }
        out.append(row)
        report.compare(
            f"L1 poisoning LP, {S} states ({data.num_steps} samples; {row['reduced_variables']} vs {2 * p} variables)",
            timings["reduced"],
            timings["dense"],
            "per-sample LP (HiGHS)",
            unit="solve",
            optimum_diff=diff,
        )
        for norm in ("l2", "linf"):
            report.compare(
                f"{norm} poisoning, {S} states", timings[norm], timings["reduced"], "L1 reduced", unit="solve"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    harness.add_arguments(parser, rounds=3)
    args = parser.parse_args()
    report = harness.Report("poisoning", harness.command_line())
    poisoning_lp_scaling((1, 4, 16, 64) if args.quick else (1, 4, 16, 64, 256), args.rounds, report)
    report.finish(args.json)


if __name__ == "__main__":
    main()
