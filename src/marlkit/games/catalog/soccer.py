"""Littman's (1994) grid soccer: a two-player zero-sum stochastic game on a 4x5 field.

Rules (Littman 1994, "Markov games as a framework for multi-agent reinforcement learning", ICML, §6.1 and
Figure 2), with the choices the paper leaves open stated:

* The field has 4 rows (0 = top) and 5 columns (0 = left). A starts at (row 1, column 3) and B at (row 2,
  column 1), the left board of Figure 2; the ball goes to A or to B with probability 1/2 each.
* Actions N, S, E, W, stand. After both choose, the two moves are executed in random order (1/2 each).
* A move into the square occupied by the other player does not take place, and the ball goes to the
  stationary player (so a carrier who bumps into the other loses the ball).
* The carrier scores by stepping into the goal it attacks: A the left goal (W from column 0), B the right goal
  (E from column 4), the goals spanning the two middle rows (1 and 2). The scorer gets +1, the other -1
  (zero-sum). Once a goal is scored the second move of that step is not executed.
* Choices of ours: any other move off the field (including the carrier stepping towards its own goal, which
  the paper does not describe) leaves the player in place. After a goal, ``after_goal="terminal"`` (default)
  moves to an absorbing terminal state (one episode = one goal, as in episodic MARL benchmarks), and
  ``after_goal="reset"`` resets the board to the initial distribution, the paper's infinite game.

States are ``(position of A, position of B, ball holder)`` with distinct positions: 20·19·2 = 760, plus one
terminal state in the default mode. Discount 0.9 as in the paper.
"""

from __future__ import annotations

import numpy as np

from marlkit.games.catalog import checks as check
from marlkit.games.catalog.registry import labels, register
from marlkit.games.stochastic import StochasticGame

ROWS, COLUMNS = 4, 5
GOAL_ROWS = frozenset({1, 2})
MOVES = (("N", (-1, 0)), ("S", (1, 0)), ("E", (0, 1)), ("W", (0, -1)), ("stand", (0, 0)))
START = ((1, 3), (2, 1))
"""Start squares of A and B (row, column), Littman 1994, Figure 2 (left)."""
ATTACK = (-1, 1)
"""Column step with which each player scores: A leaves the field to the west, B to the east."""
AFTER_GOAL = ("terminal", "reset")

Cell = tuple[int, int]
Board = tuple[Cell, Cell, int]  # positions of A and B, index of the ball holder


def step(board: Board, mover: int, move: Cell) -> tuple[Board, int | None]:
    """One player's move on ``board``; returns the new board and the scorer (``None`` if no goal)."""
    positions, holder = [board[0], board[1]], board[2]
    (row, column), (dr, dc) = positions[mover], move
    target = (row + dr, column + dc)
    if not 0 <= target[1] < COLUMNS and dc == ATTACK[mover] and holder == mover and row in GOAL_ROWS:
        return board, mover
    if not (0 <= target[0] < ROWS and 0 <= target[1] < COLUMNS):
        return board, None
    other = 1 - mover
    if target == positions[other]:
        return (positions[0], positions[1], other), None
    positions[mover] = target
    return (positions[0], positions[1], holder), None


def outcomes(board: Board, actions: tuple[int, int]) -> list[tuple[float, Board, int | None]]:
    """``(probability, board, scorer)`` for both execution orders of a joint action."""
    results = []
    for order in ((0, 1), (1, 0)):
        current, scorer = board, None
        for mover in order:
            current, scorer = step(current, mover, MOVES[actions[mover]][1])
            if scorer is not None:
                break
        results.append((0.5, current, scorer))
    return results


def boards() -> list[Board]:
    cells = [(r, c) for r in range(ROWS) for c in range(COLUMNS)]
    return [(a, b, holder) for a in cells for b in cells if a != b for holder in (0, 1)]


def board_name(board: Board) -> str:
    (ra, ca), (rb, cb), holder = board
    return f"A({ra},{ca}) B({rb},{cb}) ball:{'AB'[holder]}"


@register(
    "soccer",
    kind="stochastic",
    description="Littman's 4x5 grid soccer: zero-sum, random move order, ball lost on a bump, +1/-1 per goal.",
    citation="Littman 1994, Markov games as a framework for multi-agent reinforcement learning, ICML, §6.1 "
    "and Figure 2",
    aliases=("littman-soccer", "markov-soccer"),
)
def soccer(*, gamma: float = 0.9, after_goal: str = "terminal") -> StochasticGame:
    """Littman's (1994, §6.1) soccer as an exact stochastic game; see the module docstring for the rules."""
    gamma = check.discount(gamma)
    after_goal = check.choice("after_goal", after_goal, AFTER_GOAL)
    live = boards()
    index = {b: s for s, b in enumerate(live)}
    terminal_state = len(live) if after_goal == "terminal" else None
    S = len(live) + (terminal_state is not None)
    m = len(MOVES)

    initial = np.zeros(S)
    for holder in (0, 1):
        initial[index[(START[0], START[1], holder)]] = 0.5
    after_score = np.zeros(S)
    if terminal_state is None:
        after_score[:] = initial
    else:
        after_score[terminal_state] = 1.0

    T = np.zeros((S, m, m, S))
    R = np.zeros((2, S, m, m))
    for s, board in enumerate(live):
        for a in range(m):
            for b in range(m):
                for p, nxt, scorer in outcomes(board, (a, b)):
                    if scorer is None:
                        T[s, a, b, index[nxt]] += p
                    else:
                        T[s, a, b] += p * after_score
                        R[scorer, s, a, b] += p
                        R[1 - scorer, s, a, b] -= p
    terminal = np.zeros(S, dtype=bool)
    names = [board_name(b) for b in live]
    if terminal_state is not None:
        T[terminal_state, :, :, terminal_state] = 1.0
        terminal[terminal_state] = True
        names.append("goal")
    return StochasticGame(
        transitions=T,
        rewards=R,
        initial=initial,
        gamma=gamma,
        terminal=terminal,
        player_names=("A", "B"),
        action_names=(tuple(name for name, _ in MOVES),) * 2,
        state_names=tuple(names),
        **labels("soccer", gamma=gamma, after_goal=after_goal),
    )
