"""Nash equilibria of any normal-form game, with the best exact method for its size.

* two players: every equilibrium by vertex enumeration of the best-response polytopes (complete for
  non-degenerate games; extreme equilibria and a note for degenerate ones) — ``vertex_enumeration``;
  beyond ``max_vertices`` polytope vertices, Lemke-Howson from every label (``complete=False``);
* n players: every pure equilibrium exactly, plus mixed equilibria traced along logit-QRE paths and certified
  by NashConv (``n_player.equilibria``; ``complete=False``).
"""

from __future__ import annotations

from marlkit.errors import InvalidGameError
from marlkit.games import NormalFormGame
from marlkit.solve.results import EquilibriumSet


def nash_equilibria(game: NormalFormGame, tol: float = 1e-9) -> EquilibriumSet:
    """All equilibria of a two-player game; pure equilibria plus certified mixed ones for n players."""
    if not isinstance(game, NormalFormGame):
        raise InvalidGameError(f"nash_equilibria: expected a NormalFormGame, got {type(game).__name__}")
    if game.n_players == 2:
        from marlkit.solve.vertex_enumeration import game_equilibria

        return game_equilibria(game, tol=tol)
    from marlkit.solve.n_player import equilibria

    return equilibria(game, tol=tol)
