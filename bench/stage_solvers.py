"""Batched JAX stage-game solvers vs one SciPy HiGHS LP call per game, in one run.

    python bench/stage_solvers.py              # 2x2..5x5, batches of 1,000, float32 (what learners use)
    python bench/stage_solvers.py --x64        # the same in float64
    python bench/stage_solvers.py --quick      # batch 200, fewer SciPy games

For each size and each solver (zero-sum value by support enumeration; utilitarian correlated equilibrium by the
interior point LP) it reports the jit compile time (``jit(...).lower(...).compile()``, once), the best-of-R time of
a batch divided by the batch size (ms/game), the time of one ``scipy.optimize.linprog(method="highs")`` call per
game on the same LP (median over the SciPy games, ms/game), the speed-up SciPy / JAX, and the largest difference of
the value (zero-sum) or of the welfare (CE) from SciPy's. Target of the design: >= 10x per game. Not a test: nothing
asserts on time. ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` is set (a vmapped run once deadlocked on a
2-core CPU with XLA's default threading) unless XLA_FLAGS is already set.
"""

from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")  # before jax is imported

import argparse
import statistics
import time
from collections.abc import Callable

import jax
import numpy as np
from scipy.optimize import linprog

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


def time_jax(fn: Callable, A: np.ndarray, B: np.ndarray, repeats: int) -> tuple[float, float, np.ndarray]:
    jitted = jax.jit(fn)
    start = time.perf_counter()
    compiled = jitted.lower(A, B).compile()
    compile_s = time.perf_counter() - start
    out = compiled(A, B)
    jax.block_until_ready(out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = compiled(A, B)
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - start)
    return compile_s, best / A.shape[0] * 1e3, np.asarray(out)


def time_scipy(fn: Callable, A: np.ndarray, B: np.ndarray) -> tuple[float, np.ndarray]:
    times, values = [], []
    for a, b in zip(A, B, strict=True):
        start = time.perf_counter()
        values.append(fn(a, b))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, np.array(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=1000, help="games per JAX batch")
    parser.add_argument("--scipy-games", type=int, default=200, help="games solved one by one with SciPy")
    parser.add_argument("--repeats", type=int, default=5, help="timed JAX batches (best is reported)")
    parser.add_argument("--x64", action="store_true", help="run JAX in float64")
    parser.add_argument("--quick", action="store_true", help="batch 200, 50 SciPy games, 3 repeats")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.batch, args.scipy_games, args.repeats = 200, 50, 3
    jax.config.update("jax_enable_x64", args.x64)
    dtype = np.float64 if args.x64 else np.float32
    rng = np.random.default_rng(args.seed)
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, dtype {np.dtype(dtype).name}, batch {args.batch}, "
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
    )
    columns = ("compile s", "jax ms/game", "scipy ms/game", "speed-up", "max |diff|")
    header = f"{'solver':<18} {'size':>5} " + " ".join(
        f"{c:>{w}}" for c, w in zip(columns, (10, 12, 14, 9, 11), strict=True)
    )
    print(header)
    print("-" * len(header))
    for name, (jax_fn, scipy_fn) in SOLVERS.items():
        for k in SIZES:
            A = rng.normal(size=(args.batch, k, k)).astype(dtype)
            B = rng.normal(size=(args.batch, k, k)).astype(dtype)
            compile_s, jax_ms, values = time_jax(jax_fn, A, B, args.repeats)
            count = min(args.scipy_games, args.batch)
            A64, B64 = A[:count].astype(np.float64), B[:count].astype(np.float64)
            scipy_ms, reference = time_scipy(scipy_fn, A64, B64)
            diff = float(np.abs(values[:count] - reference).max())
            print(
                f"{name:<18} {f'{k}x{k}':>5} {compile_s:>10.2f} {jax_ms:>12.4f} {scipy_ms:>14.3f} "
                f"{scipy_ms / jax_ms:>8.1f}x {diff:>11.2e}",
                flush=True,
            )


if __name__ == "__main__":
    main()
