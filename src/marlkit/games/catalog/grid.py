"""Hu & Wellman's (2003) 3x3 grid games 1 and 2: two-player general-sum stochastic games.

Rules (Hu & Wellman 2003, "Nash Q-learning for general-sum stochastic games", JMLR 4:1039-1069, §5), with the
choices the paper leaves open stated. Cells are numbered ``3·row + column`` with row 0 at the bottom:

    6 7 8
    3 4 5
    0 1 2

* Both agents start in the lower corners: agent 1 in cell 0, agent 2 in cell 2 (state ``(0,2)``).
* Actions up, down, left, right, one cell per step; a move off the grid leaves the agent in place (ours: the
  paper does not describe walls).
* Grid game 1: agent 1's goal is cell 8 and agent 2's goal cell 6 (the opposite upper corners).
  Grid game 2: both agents' goal is cell 7 (top centre), and barriers lie above the start cells: a move up
  out of cell 0 or cell 2 succeeds with probability 0.5, else the agent stays.
* If both agents would end in the same cell that is not a goal cell they bounce back to their previous cells
  and each receives -1 (ours: this includes one agent moving into the cell of one that stays put; agents
  that swap cells pass each other). Agents may share a goal cell.
* An agent that reaches its goal receives +100 (both do if they arrive together); all other moves pay 0. The
  game ends as soon as an agent is at its goal: such states are ``terminal``. Discount 0.99.

States are the pairs of cells ``(l1, l2)`` with ``l1 != l2``, plus ``(g, g)`` for each goal cell g (72 + 2
states in grid game 1, 72 + 1 in grid game 2); the state ``(l1,l2)`` is named ``"(l1,l2)"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.stochastic import StochasticGame

SIZE = 3
ACTIONS = (("up", (1, 0)), ("down", (-1, 0)), ("left", (0, -1)), ("right", (0, 1)))
GOAL_REWARD = 100.0
COLLISION_REWARD = -1.0


@dataclass(frozen=True)
class GridLayout:
    """Start and goal cell of each agent, and the ``(from, to)`` moves that cross a barrier."""

    starts: tuple[int, int]
    goals: tuple[int, int]
    barriers: frozenset[tuple[int, int]] = frozenset()


GRID_GAME_1 = GridLayout(starts=(0, 2), goals=(8, 6))
GRID_GAME_2 = GridLayout(starts=(0, 2), goals=(7, 7), barriers=frozenset({(0, 3), (2, 5)}))


def moves(layout: GridLayout, cell: int, action: int, pass_probability: float) -> list[tuple[float, int]]:
    """``(probability, destination)`` of one agent's move (walls and barriers applied, the other agent not)."""
    row, column = divmod(cell, SIZE)
    dr, dc = ACTIONS[action][1]
    if not (0 <= row + dr < SIZE and 0 <= column + dc < SIZE):
        return [(1.0, cell)]
    target = SIZE * (row + dr) + column + dc
    if (cell, target) in layout.barriers:
        return [(pass_probability, target), (1.0 - pass_probability, cell)]
    return [(1.0, target)]


def grid_game(name: str, layout: GridLayout, gamma: float, pass_probability: float = 1.0) -> StochasticGame:
    """The stochastic game of ``layout`` under Hu & Wellman's rules (see the module docstring)."""
    goal_cells = set(layout.goals)
    cells = range(SIZE * SIZE)
    pairs = [(a, b) for a in cells for b in cells if a != b or a in goal_cells]
    index = {pair: s for s, pair in enumerate(pairs)}
    S, m = len(pairs), len(ACTIONS)
    terminal = np.array([a == layout.goals[0] or b == layout.goals[1] for a, b in pairs])

    T = np.zeros((S, m, m, S))
    R = np.zeros((2, S, m, m))
    for s, (l1, l2) in enumerate(pairs):
        if terminal[s]:
            T[s, :, :, s] = 1.0
            continue
        for a1 in range(m):
            for a2 in range(m):
                for p1, d1 in moves(layout, l1, a1, pass_probability):
                    for p2, d2 in moves(layout, l2, a2, pass_probability):
                        p = p1 * p2
                        if d1 == d2 and d1 not in goal_cells:
                            T[s, a1, a2, s] += p
                            R[:, s, a1, a2] += p * COLLISION_REWARD
                            continue
                        T[s, a1, a2, index[(d1, d2)]] += p
                        for i, d in enumerate((d1, d2)):
                            if d == layout.goals[i]:
                                R[i, s, a1, a2] += p * GOAL_REWARD
    initial = np.zeros(S)
    initial[index[layout.starts]] = 1.0
    parameters = {"gamma": gamma} if not layout.barriers else {"gamma": gamma, "pass_probability": pass_probability}
    return StochasticGame(
        transitions=T,
        rewards=R,
        initial=initial,
        gamma=gamma,
        terminal=terminal,
        player_names=("agent1", "agent2"),
        action_names=(tuple(a for a, _ in ACTIONS),) * 2,
        state_names=tuple(f"({a},{b})" for a, b in pairs),
        **labels(name, **parameters),
    )


CITATION = "Hu & Wellman 2003, Nash Q-learning for general-sum stochastic games, JMLR 4:1039-1069, §5"


@register(
    "grid-game-1",
    kind="stochastic",
    description="Hu-Wellman grid game 1: 3x3 grid, agents cross to opposite top corners; +100 goal, -1 collision.",
    citation=CITATION + " (grid game 1)",
    aliases=("gg1", "hu-wellman-1"),
)
def grid_game_1(*, gamma: float = 0.99) -> StochasticGame:
    """Hu & Wellman's (2003, §5) grid game 1: goals in the opposite upper corners, deterministic moves."""
    return grid_game("grid-game-1", GRID_GAME_1, check.discount(gamma))


@register(
    "grid-game-2",
    kind="stochastic",
    description="Hu-Wellman grid game 2: 3x3 grid, shared top-centre goal, barriers above the start cells.",
    citation=CITATION + " (grid game 2)",
    aliases=("gg2", "hu-wellman-2"),
)
def grid_game_2(*, gamma: float = 0.99, pass_probability: float = 0.5) -> StochasticGame:
    """Hu & Wellman's (2003, §5) grid game 2: a shared goal (cell 7); moving up out of a start cell crosses a
    barrier with probability ``pass_probability`` (0.5 in the paper)."""
    p = check.real("pass_probability", pass_probability)
    check.require(0.0 < p <= 1.0, "pass_probability", "a probability in (0, 1]", pass_probability)
    return grid_game("grid-game-2", GRID_GAME_2, check.discount(gamma), p)
