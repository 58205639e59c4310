"""Two-player Nash solvers side by side: marlkit vs nashpy vs pygambit vs lrsnash on seeded random games, in one run.

    python bench/solvers.py            # sizes 2x2..20x20, several minutes
    python bench/solvers.py --quick    # fewer games and tighter caps

For each size and each game, every solver is called once in turn (the harness's interleaving: game 1 by A, B, C,
..., game 2 by A, B, C, ...), each in its own worker process (so a peer that hangs can be stopped); the worker
measures the call's wall and CPU time (``bench/harness.py``'s clocks; lrsnash's CPU time is its process's). Per
size: the median and spread over the games, and the ratio peer / marlkit ``all_equilibria`` by median wall and CPU
time (> 1: marlkit faster). A solver past its size cap, or past its time budget at a smaller size, is "skipped (too
slow)". On every game where nashpy's vertex enumeration, pygambit's enummixed or lrsnash ran, marlkit's set is
compared with it (within 1e-8) and mismatches are printed, with their NashConv. Not a test: nothing here asserts
on time.

Peers:

* ``nashpy`` (a marlkit test dependency): vertex and support enumeration;
* ``pygambit`` (``enummixed_solve``, ``lcp_solve``), if ``import pygambit`` works (16.x and 17 APIs; verified with
  17.0.0b2, the cp311 wheel: ``pip install --pre pygambit``). Not a marlkit dependency; ``pip install pygambit``
  builds 16.x from source where the index has no wheel for your Python;
* ``lrsnash`` (lrslib, Avis's lexicographic reverse search; the strongest all-equilibria peer), if the ``lrsnash``
  program is on PATH: Debian/Ubuntu ``apt-get install lrslib``. Payoffs are passed exactly (every float64 as the
  fraction it is), so it solves the same game; its time includes starting the process and writing the game file.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable
from fractions import Fraction

import numpy as np

import harness
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

    build = getattr(gbt.Game, "from_arrays", None) or gbt.StrategicGame.from_arrays  # 16.x, 17

    def solve(A: np.ndarray, B: np.ndarray) -> Profiles:
        game = build(A, B)
        try:
            result = solver(game, rational=False)
        except TypeError:  # a release without the ``rational`` flag: floating point is its default
            result = solver(game)
        out = []
        for eq in result.equilibria:
            if hasattr(game, "get_strategies"):  # 17: players and strategies are labels, profile[player][strategy]
                probs = [float(eq[p][s]) for p in game.players for s in game.get_strategies(p)]
            else:  # 16.x: profile[strategy]
                probs = [float(eq[s]) for s in game.strategies]
            out.append(np.array(probs))
        return out

    return solve


def lrsnash_solver() -> Callable[[np.ndarray, np.ndarray], Profiles] | None:
    """lrslib's ``lrsnash`` (exact, GMP): all extreme equilibria, parsed from its output."""
    program = shutil.which("lrsnash")
    if program is None:
        return None

    def solve(A: np.ndarray, B: np.ndarray) -> Profiles:
        def rows(M: np.ndarray) -> str:
            return "\n".join(" ".join(str(Fraction(float(v))) for v in row) for row in M)

        with tempfile.NamedTemporaryFile("w", suffix=".nash") as f:
            f.write(f"{A.shape[0]} {A.shape[1]}\n\n{rows(A)}\n\n{rows(B)}\n")
            f.flush()
            text = subprocess.run([program, f.name], capture_output=True, text=True, check=True).stdout
        out, cols = [], []
        for line in text.splitlines():
            parts = line.split()
            if not parts or parts[0] not in ("1", "2"):
                continue
            probs = np.array([float(Fraction(v)) for v in parts[1:-1]])  # the last entry is a payoff
            if parts[0] == "2":  # column strategies come first, then the row strategy they pair with
                cols.append(probs)
            else:
                out.extend(np.concatenate([probs, y]) for y in cols)
                cols = []
        return out

    return solve


SOLVERS: dict[str, Callable[[np.ndarray, np.ndarray], Profiles] | None] = {
    "marlkit all_equilibria": marlkit_vertex_enumeration,
    "nashpy vertex_enumeration": nashpy_solver("vertex_enumeration"),
    "nashpy support_enumeration": nashpy_solver("support_enumeration"),
    "pygambit enummixed": pygambit_solver("enummixed"),
    "pygambit lcp": pygambit_solver("lcp"),
    "lrsnash": lrsnash_solver(),
    "marlkit lemke_howson_all_labels": marlkit_lemke_howson,
}
"""Every solver by name (``None``: not installed); the first is the reference of the ratios."""

ORACLES = ("nashpy vertex_enumeration", "pygambit enummixed", "lrsnash")
"""Peers whose all-equilibria set marlkit's must equal on every game both ran."""


def max_sizes(quick: bool) -> dict[str, int]:
    """Largest size each solver is tried at (beyond: "skipped (too slow)")."""
    return {
        "marlkit all_equilibria": 15,  # a random 20x20 polytope has millions of vertices
        "nashpy vertex_enumeration": 5 if quick else 10,  # ~40 s per 10x10 game on a 2-core CPU
        "nashpy support_enumeration": 5,  # ~2 min per 10x10 game
        "pygambit enummixed": 10,  # > 4 min per 15x15 game
        "pygambit lcp": 20,
        "lrsnash": 20,
        "marlkit lemke_howson_all_labels": 20,
    }


def _timed(name: str, A: np.ndarray, B: np.ndarray) -> tuple[float, float, Profiles]:
    """Runs in a worker process, so that a peer that hangs (gambit's lcp on some games) can be stopped."""
    solve = SOLVERS[name]
    assert solve is not None
    found, wall, cpu = harness.timed_once(lambda: solve(A, B))
    return wall, cpu, found


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


def run(quick: bool, seed: int, budget_s: float, rounds: int, report: harness.Report) -> None:
    """Per size: every game solved by every solver in turn (interleaved), each solver in its own worker."""
    counts = games_per_size(quick)
    caps = max_sizes(quick)
    reference = next(iter(SOLVERS))
    mismatches: list[str] = []
    stopped: dict[str, str] = {}
    ctx = mp.get_context("fork")
    pools = {name: ctx.Pool(1) for name, solve in SOLVERS.items() if solve is not None}
    try:
        for size in SIZES:
            games = random_games(size, counts[size], seed)
            timings = {name: harness.Timing(name) for name in pools}
            found: dict[str, list[Profiles]] = {name: [] for name in pools}
            spent = dict.fromkeys(pools, 0.0)
            for A, B in games:
                for name, pool in list(pools.items()):
                    if size > caps[name] or name in stopped:
                        continue
                    try:
                        wall, cpu, profiles = pool.apply_async(_timed, (name, A, B)).get(
                            timeout=max(budget_s - spent[name], 1.0)
                        )
                    except mp.TimeoutError:
                        stopped[name] = f"timed out at {size}x{size} (> {budget_s:.0f} s)"
                        pool.terminate()
                        pools[name] = ctx.Pool(1)
                        continue
                    timings[name].wall.append(wall)
                    timings[name].cpu.append(cpu)
                    found[name].append(profiles)
                    spent[name] += wall
                    if spent[name] > budget_s:
                        stopped[name] = f"budget {budget_s:.0f} s spent at {size}x{size}"
            ours = timings[reference]
            for name in SOLVERS:
                if name == reference:
                    continue
                peer = timings.get(name)
                if not ours.wall:
                    break
                if peer is None or not peer.wall:
                    reason = (
                        "not installed"
                        if name not in pools
                        else stopped.get(name, "skipped (too slow)")
                        if size > caps[name] or name in stopped
                        else "no games"
                    )
                    report.compare(f"{size}x{size}", ours, None, name, unit="game", skipped=reason)
                    continue
                n = min(len(peer.wall), len(ours.wall))
                report.compare(
                    f"{size}x{size}",
                    harness.Timing(reference, ours.wall[:n], ours.cpu[:n]),
                    harness.Timing(name, peer.wall[:n], peer.cpu[:n]),
                    name,
                    unit="game",
                    games=n,
                )
            for peer_name in ORACLES:
                for k, (theirs, mine) in enumerate(zip(found.get(peer_name, []), found[reference], strict=False)):
                    if not same_set(mine, theirs):
                        A, B = games[k]
                        mismatches.append(
                            f"{size}x{size} game {k} vs {peer_name}: {describe_mismatch(A, B, mine, theirs)}"
                        )
    finally:
        for pool in pools.values():
            pool.terminate()
    report.note(f"games per size: {counts}")
    report.note(
        "set check (marlkit all_equilibria vs "
        + " / ".join(ORACLES)
        + ", within 1e-8): "
        + ("no mismatches" if not mismatches else "; ".join(f"MISMATCH {m}" for m in mismatches))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random games")
    parser.add_argument("--budget", type=float, default=None, help="seconds per solver and size (45; quick: 8)")
    args = parser.parse_args()
    budget = args.budget if args.budget is not None else (8.0 if args.quick else 45.0)
    report = harness.Report("solvers", harness.command_line())
    missing = [name for name, solve in SOLVERS.items() if solve is None]
    if missing:
        report.note(f"not installed here (see the module docstring): {', '.join(missing)}")
    run(args.quick, args.seed, budget, args.rounds, report)
    report.finish(args.json)


if __name__ == "__main__":
    main()
