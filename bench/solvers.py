"""Two-player Nash solvers side by side: marlkit vs nashpy vs pygambit on seeded random games, in one run.

    python bench/solvers.py            # sizes 2x2..20x20, about 1-2 minutes
    python bench/solvers.py --quick    # fewer games and tighter caps, under 30 s

For each size it times, per game (one call, ``time.perf_counter``), marlkit's ``all_equilibria`` (vertex
enumeration) and ``lemke_howson_all_labels``, nashpy's vertex and support enumeration, and pygambit's
``enummixed_solve`` and ``lcp_solve`` when ``import pygambit`` works; it prints the median ms per game and the
ratio marlkit all_equilibria / peer (< 1: marlkit faster). A solver past its size cap, or past its time budget at a
smaller size, is "skipped (too slow)". On every game where nashpy's vertex enumeration (or pygambit's enummixed)
ran, marlkit's set is compared with it (within 1e-8) and mismatches are printed, with their NashConv. Not a test:
nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from marlkit.solve.lemke_howson import lemke_howson_all_labels
from marlkit.solve.two_player import nash_conv_pair
from marlkit.solve.vertex_enumeration import all_equilibria

Profiles = list[np.ndarray]
"""Equilibria as concatenated (x, y) vectors."""

SIZES = (2, 3, 5, 10, 15, 20)
MATCH = 1e-8


def _flat(pairs) -> Profiles:
    return [np.concatenate([np.asarray(x, dtype=float), np.asarray(y, dtype=float)]) for x, y in pairs]


def marlkit_vertex_enumeration(A: np.ndarray, B: np.ndarray) -> Profiles:
    return _flat(e.profile for e in all_equilibria(A, B))


def marlkit_lemke_howson(A: np.ndarray, B: np.ndarray) -> Profiles:
    return _flat(e.profile for e in lemke_howson_all_labels(A, B))


def nashpy_solver(method: str) -> Callable[[np.ndarray, np.ndarray], Profiles]:
    import nashpy

    def solve(A: np.ndarray, B: np.ndarray) -> Profiles:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _flat(getattr(nashpy.Game(A, B), method)())

    return solve


def pygambit_solver(name: str) -> Callable[[np.ndarray, np.ndarray], Profiles] | None:
    try:
        import pygambit as gbt
    except ImportError:
        return None
    solver = {"enummixed": gbt.nash.enummixed_solve, "lcp": gbt.nash.lcp_solve}[name]

    def solve(A: np.ndarray, B: np.ndarray) -> Profiles:
        game = gbt.Game.from_arrays(A, B)
        result = solver(game, rational=False)
        return [np.array([float(eq[s]) for s in game.strategies]) for eq in result.equilibria]

    return solve


SOLVERS: dict[str, Callable[[np.ndarray, np.ndarray], Profiles] | None] = {
    "marlkit all_equilibria": marlkit_vertex_enumeration,
    "nashpy vertex_enumeration": nashpy_solver("vertex_enumeration"),
    "nashpy support_enumeration": nashpy_solver("support_enumeration"),
    "pygambit enummixed": pygambit_solver("enummixed"),
    "pygambit lcp": pygambit_solver("lcp"),
    "marlkit lemke_howson_all_labels": marlkit_lemke_howson,
}
"""Every solver by name (``None``: not installed); the first is the reference of the ratios."""

ORACLES = ("nashpy vertex_enumeration", "pygambit enummixed")
"""Peers whose all-equilibria set marlkit's must equal on every game both ran."""


def max_sizes(quick: bool) -> dict[str, int]:
    """Largest size each solver is tried at (beyond: "skipped (too slow)")."""
    return {
        "marlkit all_equilibria": 15,  # a random 20x20 polytope has millions of vertices
        "nashpy vertex_enumeration": 5 if quick else 10,  # ~40 s per 10x10 game on a 2-core CPU
        "nashpy support_enumeration": 5,  # ~2 min per 10x10 game
        "pygambit enummixed": 10,  # > 4 min per 15x15 game
        "pygambit lcp": 20,
        "marlkit lemke_howson_all_labels": 20,
    }


def _timed(name: str, A: np.ndarray, B: np.ndarray) -> tuple[float, Profiles]:
    """Runs in a worker process, so that a peer that hangs (gambit's lcp on some games) can be stopped."""
    solve = SOLVERS[name]
    assert solve is not None
    start = time.perf_counter()
    found = solve(A, B)
    return time.perf_counter() - start, found


def games_per_size(quick: bool) -> dict[int, int]:
    if quick:
        return {2: 5, 3: 5, 5: 3, 10: 2, 15: 1, 20: 1}
    return {2: 20, 3: 20, 5: 10, 10: 5, 15: 3, 20: 3}


def random_games(size: int, count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(size,)))
    return [(rng.standard_normal((size, size)), rng.standard_normal((size, size))) for _ in range(count)]


def same_set(a: Profiles, b: Profiles) -> bool:
    if len(a) != len(b):
        return False
    unused = list(range(len(b)))
    for p in a:
        j = next((j for j in unused if np.max(np.abs(p - b[j])) <= MATCH), None)
        if j is None:
            return False
        unused.remove(j)
    return True


def describe_mismatch(A: np.ndarray, B: np.ndarray, ours: Profiles, theirs: Profiles) -> str:
    m = A.shape[0]

    def conv(p: np.ndarray) -> float:
        return nash_conv_pair(A, B, p[:m], p[m:])

    only_ours = [p for p in ours if not any(np.max(np.abs(p - q)) <= MATCH for q in theirs)]
    only_theirs = [p for p in theirs if not any(np.max(np.abs(p - q)) <= MATCH for q in ours)]
    return (
        f"marlkit {len(ours)} vs peer {len(theirs)}; only marlkit: NashConv "
        f"{[f'{conv(p):.1e}' for p in only_ours]}; only peer: NashConv {[f'{conv(p):.1e}' for p in only_theirs]}"
    )


def time_solver(name: str, games: list, budget_s: float) -> tuple[list[float], list[Profiles], str]:
    """Time ``name`` on the games in a fork()ed worker; stop when ``budget_s`` is spent or one call exceeds it."""
    times: list[float] = []
    found: list[Profiles] = []
    with mp.get_context("fork").Pool(1) as pool:
        for A, B in games:
            pending = pool.apply_async(_timed, (name, A, B))
            try:
                elapsed, profiles = pending.get(timeout=max(budget_s - sum(times), 1.0))
            except mp.TimeoutError:
                return times, found, f"timed out (> {budget_s:.0f} s)"
            times.append(elapsed)
            found.append(profiles)
            if sum(times) > budget_s:
                return times, found, f"stopped after {len(times)} games (budget {budget_s:.0f} s)"
    return times, found, ""


def run(quick: bool, seed: int, budget_s: float) -> None:
    counts = games_per_size(quick)
    caps = max_sizes(quick)
    reference = next(iter(SOLVERS))
    medians: dict[tuple[str, int], float | str] = {}
    mismatches: list[str] = []
    stopped: set[str] = set()
    for size in SIZES:
        games = random_games(size, counts[size], seed)
        results: dict[str, list[Profiles]] = {}
        for name, solve in SOLVERS.items():
            if solve is None:
                medians[name, size] = "not installed"
                continue
            if size > caps[name] or name in stopped:
                medians[name, size] = "skipped (too slow)"
                continue
            times, found, note = time_solver(name, games, budget_s)
            if note:
                stopped.add(name)  # larger sizes would take longer still
            medians[name, size] = 1e3 * statistics.median(times) if times else note
            results[name] = found
            print(f"  {size}x{size} {name}: {len(times)} games, {1e3 * sum(times):.0f} ms {note}".rstrip(), flush=True)
        ours = results.get(reference, [])
        for peer in ORACLES:
            for k, (theirs, mine) in enumerate(zip(results.get(peer, []), ours, strict=False)):
                if not same_set(mine, theirs):
                    A, B = games[k]
                    mismatches.append(f"{size}x{size} game {k} vs {peer}: {describe_mismatch(A, B, mine, theirs)}")
    print_table(list(SOLVERS), counts, medians)
    print("\nSet check (marlkit all_equilibria vs nashpy vertex_enumeration / pygambit enummixed, within 1e-8):")
    print("  no mismatches" if not mismatches else "\n".join(f"  MISMATCH {m}" for m in mismatches))


def print_table(names: list[str], counts: dict[int, int], medians: dict[tuple[str, int], float | str]) -> None:
    reference = names[0]
    width = max(len(name) for name in names)
    print("\nMedian ms per game (ratio = marlkit all_equilibria / peer; < 1 means marlkit is faster)\n")
    print(f"{'size':>6}  {'solver':<{width}}  {'median ms':>12}  {'ratio':>8}")
    for size in SIZES:
        print(f"{'-' * 6}  {'-' * width}  {'-' * 12}  {'-' * 8}")
        ours = medians.get((reference, size))
        for name in names:
            value = medians[name, size]
            if isinstance(value, str):
                print(f"{f'{size}x{size}':>6}  {name:<{width}}  {value:>12}")
                continue
            ratio = f"{ours / value:.3g}" if name != reference and isinstance(ours, float) and value > 0 else ""
            print(f"{f'{size}x{size}':>6}  {name:<{width}}  {value:12.3f}  {ratio:>8}")
    print(f"\ngames per size: {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer games and tighter caps (under 30 s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random games")
    parser.add_argument("--budget", type=float, default=None, help="seconds per solver and size (45; quick: 8)")
    args = parser.parse_args()
    budget = args.budget if args.budget is not None else (8.0 if args.quick else 45.0)
    run(args.quick, args.seed, budget)


if __name__ == "__main__":
    main()
