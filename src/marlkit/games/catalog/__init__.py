"""The game catalog: classic and research games by name, with payoffs as in their cited sources.

>>> from marlkit.games.catalog import make, names
>>> make("prisoners-dilemma").payoffs[0].tolist()
[[3.0, 0.0], [5.0, 1.0]]
>>> float(make("penalty", k=-50).payoffs[0, 0, 2])
-50.0

``make(name, **params)`` builds a game (aliases such as ``"pd"``, ``"rps"``, ``"mp"`` are accepted), ``names()``
lists the catalog, and ``GAMES[name]`` (also ``CATALOG[name]``) is each game's :class:`~marlkit.registry.Entry`:
factory, description, citation, parameter ``defaults`` and ``extra["kind"]``.
The modules register their factories on import, in the order of the imports below (the catalog's order).
"""

# isort: off
# The modules register their games on import: this order is the catalog's order.
from marlkit.games.catalog.registry import ALIASES, CATALOG, GAMES, KINDS, kind, lookup, make, names
from marlkit.games.catalog import matrix
from marlkit.games.catalog import n_player
from marlkit.games.catalog import soccer
from marlkit.games.catalog import grid
from marlkit.games.catalog import posg
from marlkit.games.catalog import constrained
from marlkit.games.catalog import decomposition
from marlkit.games.catalog import robust
from marlkit.games.catalog.random_games import (
    random_common_payoff,
    random_general_sum,
    random_symmetric,
    random_zero_sum,
)
# isort: on

__all__ = [
    "ALIASES",
    "CATALOG",
    "GAMES",
    "KINDS",
    "constrained",
    "decomposition",
    "grid",
    "kind",
    "lookup",
    "make",
    "matrix",
    "n_player",
    "names",
    "posg",
    "random_common_payoff",
    "random_general_sum",
    "random_symmetric",
    "random_zero_sum",
    "robust",
    "soccer",
]
