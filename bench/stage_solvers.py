"""Batched JAX stage-game solvers vs one SciPy HiGHS LP call per game, in one run.

    python bench/stage_solvers.py              # 2x2..5x5, batches of 1,000, float32 (what learners use)
    python bench/stage_solvers.py --x64        # the same in float64
    python bench/stage_solvers.py --quick      # batch 200, fewer SciPy games

For each size and each solver (zero-sum value by support enumeration; utilitarian correlated equilibrium by the
interior point LP) it reports the jit compile time (``jit(...).lower(...).compile()``, once), then times, interleaved
by ``bench/harness.py``, one jitted call on the batch and one ``scipy.optimize.linprog(method="highs")`` call per game
on the same LP over ``--scipy-games`` games; per game: median and spread of wall and CPU time, the speed-up SciPy /
JAX, and the largest difference of the value (zero-sum) or of the welfare (CE) from SciPy's. Target of the design:
>= 10x per game. Not a test: nothing asserts on time. ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` is set (a
vmapped run once deadlocked on a 2-core CPU with XLA's default threading) unless XLA_FLAGS is already set.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # before jax is imported

import argparse
from collections.abc import Callable

import jax
import numpy as np
from scipy.optimize import linprog

import harness
from marlkit.games import NormalFormGame
from marlkit.solve.correlated import ce_constraints
from marlkit.solve.stage import batched_correlated_equilibrium, zero_sum_value

SIZES = (2, 3, 4, 5)


def scipy_zero_sum(A: np.ndarray, B: np.ndarray) -> float:
    """One HiGHS call: max v s.t. A^T x >= v, Σx = 1, x >= 0 (the LP of ``solve_matrix_game``)."""
    m, n = A.shape
    res = linprog(
        np.r_[np.zeros(m), -1.0],
        A_ub=np.c_[-A.T, np.ones(n)],
        b_ub=np.zeros(n),
        A_eq=np.r_[np.ones(m), 0.0][None, :],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    return -res.fun


def scipy_ce(A: np.ndarray, B: np.ndarray) -> float:
    """One HiGHS call: the utilitarian correlated equilibrium's welfare."""
    G, h = ce_constraints(NormalFormGame(np.stack([A, B])))
    res = linprog(
        -(A + B).ravel(),
        A_ub=G,
        b_ub=h,
        A_eq=np.ones((1, A.size)),
        b_eq=[1.0],
        bounds=[(0, None)] * A.size,
        method="highs",
    )
    return -res.fun


def jax_zero_sum(A, B):
    return zero_sum_value(A).value


def jax_ce(A, B):
    return batched_correlated_equilibrium(A, B).values.sum(axis=-1)


SOLVERS: dict[str, tuple[Callable, Callable]] = {
    "zero-sum value": (jax_zero_sum, scipy_zero_sum),
    "CE (utilitarian)": (jax_ce, scipy_ce),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_arguments(parser)
    parser.add_argument("--batch", type=int, default=1000, help="games per JAX batch")
    parser.add_argument("--scipy-games", type=int, default=200, help="games solved one by one with SciPy per round")
    parser.add_argument("--x64", action="store_true", help="run JAX in float64")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--solvers", nargs="*", default=list(SOLVERS), choices=list(SOLVERS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.batch, args.scipy_games = 200, 50
    jax.config.update("jax_enable_x64", args.x64)
    dtype = np.float64 if args.x64 else np.float32
    rng = np.random.default_rng(args.seed)
    report = harness.Report("stage_solvers", harness.command_line())
    report.note(
        f"dtype {np.dtype(dtype).name}; JAX: one jitted call on a batch of {args.batch} games; SciPy: one "
        f"linprog(method='highs') call per game, {args.scipy_games} games per round; {args.rounds} interleaved rounds; "
        "ratio = SciPy time per game / JAX time per game"
    )
    for name in args.solvers:
        jax_fn, scipy_fn = SOLVERS[name]
        for k in args.sizes:
            A = rng.normal(size=(args.batch, k, k)).astype(dtype)
            B = rng.normal(size=(args.batch, k, k)).astype(dtype)
            compiled, compile_s, _ = harness.timed_once(lambda A=A, B=B, f=jax_fn: jax.jit(f).lower(A, B).compile())
            count = min(args.scipy_games, args.batch)
            A64, B64 = A[:count].astype(np.float64), B[:count].astype(np.float64)
            timings = harness.interleave(
                {
                    "jax": lambda _, c=compiled, A=A, B=B: c(A, B),
                    "scipy": lambda _, f=scipy_fn, A64=A64, B64=B64: [f(a, b) for a, b in zip(A64, B64, strict=True)],
                },
                args.rounds,
            )
            values = np.asarray(compiled(A, B))[:count]
            reference = np.array([scipy_fn(a, b) for a, b in zip(A64, B64, strict=True)])
            diff = float(np.abs(values - reference).max())
            report.compare(
                f"{name} {k}x{k}",
                timings["jax"],
                timings["scipy"],
                "SciPy HiGHS LP per game",
                unit="game",
                per=args.batch,
                peer_per=count,
                compile_s=round(compile_s, 2),
                max_abs_diff=diff,
            )
    report.finish(args.json)


if __name__ == "__main__":
    main()
