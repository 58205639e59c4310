"""The exact constrained optimum's LP time as states x joint actions grow; the largest game solved within 10 s.

    python bench/safe_lp.py            # dense and sparse random games, two players, 2 constraints each
    python bench/safe_lp.py --quick    # smaller sizes only, under a minute

Each row is one seeded random constrained game (:func:`marlkit.games.catalog.constrained.random_constrained`:
rewards N(0, 1), costs U[0, 1], limits = the uniform policy's costs, gamma 0.95) and the wall and CPU time
(``bench/harness.py``'s clocks) of one
:func:`marlkit.solve.constrained.constrained_optimum` call (``time.perf_counter``): two occupancy LPs (with and
without the cost rows, HiGHS dual simplex) plus the exact Bellman evaluation of the policy. "dense": every (s, a)
can reach every state (Dirichlet(1) rows); "sparse": every (s, a) reaches 4 random states, as in grid worlds. The
occupancy LP has S·Π A_i variables, S equality rows and n·m cost rows; its non-zeros are S·Π A_i·(next states).
A family stops growing after its first solve over 10 s. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

import harness
from marlkit.games.catalog.constrained import random_constrained
from marlkit.games.stochastic import StochasticGame
from marlkit.solve.constrained import constrained_optimum

BUDGET_S = 10.0
SUPPORT = 4


def sparse_version(game: StochasticGame, rng: np.random.Generator, support: int) -> StochasticGame:
    """The same game with each transition row restricted to ``support`` random next states (Dirichlet(1))."""
    S = game.num_states
    rows = game.transitions.reshape(-1, S)
    T = np.zeros_like(rows)
    for k in range(rows.shape[0]):
        T[k, rng.choice(S, size=min(support, S), replace=False)] = rng.dirichlet(np.ones(min(support, S)))
    sparse = dataclasses.replace(game, transitions=T.reshape(game.transitions.shape), limits=np.ones_like(game.limits))
    return dataclasses.replace(sparse, limits=sparse.expected_costs(sparse.uniform_policy()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_arguments(parser, rounds=1)
    args = parser.parse_args()
    report = harness.Report("safe_lp", harness.command_line())
    states = (10, 30, 100, 300) if args.quick else (10, 30, 100, 300, 1000, 2000)
    largest: dict[tuple[str, str], tuple[int, int, float]] = {}
    for family in ("dense", "sparse"):
        for actions in ((2, 2), (3, 3), (5, 5)):
            joint = int(np.prod(actions))
            for S in states:
                if S * joint * S > 60_000_000:  # the dense transition tensor alone would pass ~0.5 GB
                    break
                rng = np.random.default_rng(S * 100 + joint)
                game = random_constrained(rng, states=S, actions=actions, constraints=2, gamma=0.95)
                if family == "sparse":
                    game = sparse_version(game, rng, SUPPORT)
                out: list = []
                timing = harness.interleave({"lp": lambda _, g=game, o=out: o.append(constrained_optimum(g))}, 1, False)
                opt, seconds = out[-1], timing["lp"].median("wall")
                report.compare(
                    f"{family} {'x'.join(map(str, actions))} S={S} (S x A = {S * joint})",
                    timing["lp"],
                    None,
                    "-",
                    unit="solve",
                    skipped="scaling bench (no peer)",
                    team_return=round(float(opt.team_return), 4),
                    unconstrained_team_return=round(float(opt.unconstrained_team_return), 4),
                )
                key = (family, "x".join(map(str, actions)))
                if seconds <= BUDGET_S and S * joint > largest.get(key, (0, 0, 0.0))[1]:
                    largest[key] = (S, S * joint, seconds)
                if seconds > BUDGET_S:
                    break
    for (family, actions), (S, size, seconds) in largest.items():
        report.note(
            f"largest {family} {actions} game within {BUDGET_S:.0f} s: S = {S}, S x A = {size}, {seconds:.1f} s"
        )
    report.finish(args.json)


if __name__ == "__main__":
    main()
