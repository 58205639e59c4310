"""pygambit as an optional oracle, the same way for its 16.x and 17 APIs (a fixture; tests using it skip without
pygambit, which is not a test dependency)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest


@pytest.fixture
def gambit() -> SimpleNamespace:
    """``gambit.nash`` (pygambit's solvers), ``gambit.game(*payoffs)`` (a strategic game from one integer array
    per player) and ``gambit.profile(game, equilibrium)`` (each player's mixed strategy as a float array, in
    strategy order). 16.x: ``Game.from_arrays``, ``profile[strategy]``; 17: ``StrategicGame.from_arrays``, players
    and strategies by label (``game.get_strategies(player)``), ``profile[player][strategy]``."""
    gbt = pytest.importorskip("pygambit", reason="pygambit is an optional oracle (not a test dependency)")

    def game(*payoffs: np.ndarray):
        build = getattr(gbt.Game, "from_arrays", None) or gbt.StrategicGame.from_arrays
        return build(*payoffs)

    def profile(g, eq) -> list[np.ndarray]:
        if hasattr(g, "get_strategies"):  # 17: players are labels
            return [np.array([float(eq[p][s]) for s in g.get_strategies(p)]) for p in g.players]
        return [np.array([float(eq[s]) for s in p.strategies]) for p in g.players]

    return SimpleNamespace(nash=gbt.nash, game=game, profile=profile, version=gbt.__version__)
