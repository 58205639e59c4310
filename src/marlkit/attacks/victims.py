"""Victim selection: which agents hurt the team most when their observations are attacked.

Given the team's return under attack as a function ``value(attacked_set)`` (exact on games: the optimal state
adversary; on tasks: the compiled evaluation under PGD with common random numbers), :func:`greedy_victims` ranks the
single agents (``value({j})`` for every ``j``: the harm of attacking ``j`` alone) and builds the nested sets
``V_1 ⊂ V_2 ⊂ ... ⊂ V_M`` greedily, ``V_{m+1} = V_m ∪ {argmin_{j ∉ V_m} value(V_m ∪ {j})}`` — the usual greedy for
picking a set under a budget (Nemhauser, Wolsey & Fisher 1978; no approximation guarantee is claimed here: the
team's loss need not be submodular in the attacked set). Where ``value`` is monotone in the set (the optimal
adversary: a larger attacked set only adds adversary actions) the curve ``value(V_m)`` is non-increasing in ``m``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from marlkit.errors import InvalidGameError

__all__ = ["VictimSelection", "greedy_victims"]


@dataclass(frozen=True)
class VictimSelection:
    """``single[j]``: the value with agent j attacked alone; ``order``: the greedy victims; ``values[m - 1]``:
    the value with the first m of them attacked."""

    single: tuple[float, ...]
    order: tuple[int, ...]
    values: tuple[float, ...]

    def sets(self) -> list[tuple[int, ...]]:
        """The nested attacked sets ``V_1 .. V_M`` (each sorted)."""
        return [tuple(sorted(self.order[: m + 1])) for m in range(len(self.order))]


def greedy_victims(value: Callable[[tuple[int, ...]], float], n_agents: int, victims: int) -> VictimSelection:
    """Rank single victims and pick ``victims`` of them greedily (module docstring); ``value`` is called once per
    distinct set (ties: the lowest agent index)."""
    if not 1 <= victims <= n_agents:
        raise InvalidGameError(f"victims: the number of attacked agents M must be in 1..{n_agents}, got {victims}")
    cache: dict[tuple[int, ...], float] = {}

    def of(agents: tuple[int, ...]) -> float:
        key = tuple(sorted(agents))
        if key not in cache:
            cache[key] = float(value(key))
        return cache[key]

    single = tuple(of((j,)) for j in range(n_agents))
    order: list[int] = []
    values: list[float] = []
    for _ in range(victims):
        rest = [j for j in range(n_agents) if j not in order]
        best = min(rest, key=lambda j: (of((*order, j)), j))
        order.append(best)
        values.append(of(tuple(order)))
    return VictimSelection(single, tuple(order), tuple(values))
