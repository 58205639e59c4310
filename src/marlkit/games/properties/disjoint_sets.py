"""Disjoint sets (union-find) over ``0 .. n-1`` as a parent list, for orbits of symmetry groups: ``parent =
list(range(n))``, :func:`union` the pairs a generator maps into each other, then :func:`root` names each orbit
(path halving; Tarjan & van Leeuwen 1984)."""

from __future__ import annotations


def root(parent: list[int], x: int) -> int:
    """The representative of ``x``'s set (halving the path on the way)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def union(parent: list[int], x: int, y: int) -> None:
    """Merge the sets of ``x`` and ``y``."""
    parent[root(parent, x)] = root(parent, y)


__all__ = ["root", "union"]
