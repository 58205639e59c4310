"""Pictures of exact games' states (issue 17, item 3): boards for grid games, a table for every other game.

:class:`~marlkit.envs.games.GameEnv` draws state ``s`` of its game with :func:`draw_game_state`:

* **a board** where the game says how to draw one (:func:`board_of`), read from its metadata:

  - the catalog's Hu & Wellman grid games 1 and 2 (``metadata["catalog"]["name"]`` ``grid-game-1`` /
    ``grid-game-2``; Hu & Wellman 2003, §5): the 3x3 grid with row 0 at the *bottom* as in the paper, the agents'
    goal cells, grid game 2's barriers as thick lines, states ``"(l1,l2)"`` giving both agents' cells;
  - the catalog's ``soccer`` (Littman 1994, §6.1, Figure 2): the 4x5 field between the two goal mouths (A scores
    in the left one, B in the right one), the ball drawn on its holder; the absorbing ``goal`` state shows an
    empty field;
  - any one-agent game whose states are the cells of a grid, ``metadata`` ``{"rows": R, "cols": C}`` with
    ``R · C`` states numbered ``r · C + c`` — e.g. the cliff walking of :func:`marlkit.human.handover.cliff_walking`
    (Sutton & Barto 2018, Example 6.6); optional ``start``, ``goal`` (cells) and ``cliff`` (a list of cells) are
    coloured;

* **a table** otherwise: the game's name, the state's index and name and, for two players, the stage game at that
  state (each joint action's rewards; at most 12 actions a side).

An episode's last joint action is shown under every frame by :func:`marlkit.envs.render.render_episode` (the
state of a ``GameEnv`` is the state index alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from marlkit.envs.canvas import (
    BLACK,
    LIGHT_GREY,
    PALETTE,
    WHITE,
    Canvas,
    Colour,
    cell_box,
    cell_centre,
    grid_picture,
)
from marlkit.games import NormalFormGame, StochasticGame, as_stochastic

CELL = 64
"""Pixels per board cell."""
MARGIN = 8
GOAL_COLOURS: tuple[Colour, ...] = ((198, 219, 239), (253, 208, 162))
"""Light versions of the first two agents' colours: agent i's goal cells."""
START_COLOUR: Colour = (199, 233, 192)
CLIFF_COLOUR: Colour = (90, 90, 90)
BALL_COLOUR: Colour = (255, 255, 255)
MAX_TABLE_ACTIONS = 12

Mark = tuple[str, Colour, tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class Board:
    """How to draw every state of a game on a ``rows x cols`` grid (row 0 at the top of the picture).

    ``cells [S, n, 2]`` int: each agent's ``(row, col)`` in each state, ``-1`` where it is not on the board;
    ``marks``: coloured cells ``(label, colour, cells)``; ``walls``: pairs of neighbouring cells with a thick line
    between them; ``holder [S]``: the agent carrying the ball (``-1``: none), or ``None`` for a game without one;
    ``labels``: the text on each agent's disc.
    """

    rows: int
    cols: int
    cells: np.ndarray
    labels: tuple[str, ...]
    marks: tuple[Mark, ...] = ()
    walls: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()
    holder: np.ndarray | None = None


def _hu_wellman(g: StochasticGame, name: str) -> Board:
    from marlkit.games.catalog.grid import GRID_GAME_1, GRID_GAME_2, SIZE

    layout = GRID_GAME_1 if name == "grid-game-1" else GRID_GAME_2

    def rc(cell: int) -> tuple[int, int]:
        row, col = divmod(cell, SIZE)
        return SIZE - 1 - row, col  # the paper's row 0 is the bottom one

    cells = np.full((g.num_states, 2, 2), -1, np.int64)
    for s, label in enumerate(g.state_names):
        found = re.fullmatch(r"\((\d+),(\d+)\)", label)
        if found:
            cells[s] = [rc(int(found.group(1))), rc(int(found.group(2)))]
    goals = layout.goals
    if goals[0] == goals[1]:
        marks: tuple[Mark, ...] = (("goal", GOAL_COLOURS[0], (rc(goals[0]),)),)
    else:
        marks = tuple((f"goal {i + 1}", GOAL_COLOURS[i], (rc(goals[i]),)) for i in range(2))
    walls = tuple((rc(a), rc(b)) for a, b in sorted(layout.barriers))
    return Board(SIZE, SIZE, cells, ("1", "2"), marks, walls)


def _soccer(g: StochasticGame) -> Board:
    from marlkit.games.catalog.soccer import COLUMNS, GOAL_ROWS, ROWS

    cols = COLUMNS + 2  # a goal-mouth column on each side
    cells = np.full((g.num_states, 2, 2), -1, np.int64)
    holder = np.full(g.num_states, -1, np.int64)
    pattern = r"A\((\d+),(\d+)\) B\((\d+),(\d+)\) ball:([AB])"
    for s, label in enumerate(g.state_names):
        found = re.fullmatch(pattern, label)
        if found:
            ra, ca, rb, cb = (int(found.group(k)) for k in range(1, 5))
            cells[s] = [(ra, ca + 1), (rb, cb + 1)]
            holder[s] = "AB".index(found.group(5))
    rows = tuple(sorted(GOAL_ROWS))
    marks: tuple[Mark, ...] = (
        ("A's goal", GOAL_COLOURS[0], tuple((r, 0) for r in rows)),
        ("B's goal", GOAL_COLOURS[1], tuple((r, cols - 1) for r in rows)),
        ("off the field", LIGHT_GREY, tuple((r, c) for c in (0, cols - 1) for r in range(ROWS) if r not in rows)),
    )
    return Board(ROWS, cols, cells, ("A", "B"), marks, holder=holder)


def _grid_world(g: StochasticGame, meta: dict) -> Board | None:
    rows, cols = meta.get("rows"), meta.get("cols")
    if not (isinstance(rows, int) and isinstance(cols, int) and rows * cols == g.num_states and g.n_players == 1):
        return None
    cells = np.array([[divmod(s, cols)] for s in range(g.num_states)], np.int64)

    def cell_list(value: object) -> tuple[tuple[int, int], ...]:
        items = value if isinstance(value, list | tuple) else [value]
        return tuple(divmod(int(v), cols) for v in items if isinstance(v, int | np.integer) and 0 <= v < g.num_states)

    marks = tuple(
        (label, colour, cell_list(meta[label]))
        for label, colour in (("start", START_COLOUR), ("goal", GOAL_COLOURS[0]), ("cliff", CLIFF_COLOUR))
        if label in meta
    )
    return Board(rows, cols, cells, ("1",), marks)


def board_of(game: NormalFormGame | StochasticGame) -> Board | None:
    """The board that draws ``game``'s states, from its metadata (module docstring), or ``None``."""
    g = as_stochastic(game)
    meta = dict(g.metadata)
    catalog = meta.get("catalog")
    name = catalog.get("name") if isinstance(catalog, dict) else None
    if name in ("grid-game-1", "grid-game-2") and g.n_players == 2:
        return _hu_wellman(g, name)
    if name == "soccer" and g.n_players == 2:
        return _soccer(g)
    return _grid_world(g, meta)


def draw_board(board: Board, s: int, caption: str = "") -> np.ndarray:
    """State ``s`` on ``board``: marked cells, walls, the agents as discs in their palette colours (agent order;
    two agents on one cell are drawn side by side), the ball as a white dot on its holder; ``caption`` above."""
    top = 24 if caption else 0
    canvas = grid_picture(board.rows, board.cols, CELL, MARGIN)
    for _, colour, cells in board.marks:
        for r, c in cells:
            canvas.rect(*cell_box(r, c, CELL, MARGIN), colour)
    for (r1, c1), (r2, c2) in board.walls:
        if r1 != r2:  # a horizontal wall between vertically adjacent cells
            edge = MARGIN + max(r1, r2) * CELL
            canvas.rect(MARGIN + min(c1, c2) * CELL, edge - 2, MARGIN + (min(c1, c2) + 1) * CELL + 1, edge + 3, BLACK)
        else:
            edge = MARGIN + max(c1, c2) * CELL
            canvas.rect(edge - 2, MARGIN + r1 * CELL, edge + 3, MARGIN + (r1 + 1) * CELL + 1, BLACK)
    placed = board.cells[s]
    for i, (r, c) in enumerate(placed.tolist()):
        if r < 0:
            continue
        x, y = cell_centre(r, c, CELL, MARGIN)
        shared = [j for j, (r2, c2) in enumerate(placed.tolist()) if (r2, c2) == (r, c)]
        radius = 0.36 * CELL if len(shared) == 1 else 0.22 * CELL
        if len(shared) > 1:
            x += (shared.index(i) - (len(shared) - 1) / 2) * 0.46 * CELL
        canvas.circle(x, y, radius, PALETTE[i % len(PALETTE)])
        canvas.text(x, y, board.labels[i % len(board.labels)], WHITE, size=CELL // 3, anchor="mm")
        if board.holder is not None and board.holder[s] == i:
            canvas.circle(x + radius * 0.7, y + radius * 0.7, CELL * 0.12, BALL_COLOUR)
    if not caption:
        return canvas.pixels
    framed = Canvas(canvas.height + top, canvas.width)
    framed.paste(canvas.pixels, 0, top)
    framed.text(MARGIN, 6, caption, BLACK, size=13)
    return framed.pixels


def draw_table(game: NormalFormGame | StochasticGame, s: int) -> np.ndarray:
    """The table picture of state ``s`` (module docstring)."""
    g = as_stochastic(game)
    lines = [f"{g.name or 'game'}", f"state {s}: {g.state_names[s]}" + ("  (terminal)" if g.terminal[s] else "")]
    grid: list[list[str]] = []
    if g.n_players == 2 and max(g.num_actions) <= MAX_TABLE_ACTIONS:
        a1, a2 = g.action_names
        grid = [["", *a2]] + [
            [a1[i], *(f"{g.rewards[0, s, i, j]:.3g}, {g.rewards[1, s, i, j]:.3g}" for j in range(len(a2)))]
            for i in range(len(a1))
        ]
    else:
        lines += [f"{p}: {', '.join(names)}" for p, names in zip(g.player_names, g.action_names, strict=True)]
    size, row_height = 13, 22
    widths = [max(60, 8 * max(len(row[k]) for row in grid) + 12) for k in range(len(grid[0]))] if grid else []
    width = max(360, sum(widths) + 2 * MARGIN, 8 * max(len(line) for line in lines) + 2 * MARGIN)
    height = 2 * MARGIN + row_height * (len(lines) + len(grid)) + 8
    canvas = Canvas(height, width)
    for k, line in enumerate(lines):
        canvas.text(MARGIN, MARGIN + k * row_height, line, BLACK, size=size)
    y0 = MARGIN + row_height * len(lines) + 8
    for r, row in enumerate(grid):
        x = MARGIN
        for k, text in enumerate(row):
            fill = LIGHT_GREY if r == 0 or k == 0 else None
            canvas.rect(x, y0 + r * row_height, x + widths[k], y0 + (r + 1) * row_height + 1, fill, outline=BLACK)
            canvas.text(x + widths[k] / 2, y0 + r * row_height + row_height / 2, text, BLACK, size=size, anchor="mm")
            x += widths[k] - 1
    return canvas.pixels


def draw_game_state(game: NormalFormGame | StochasticGame, s: int) -> np.ndarray:
    """State ``s`` of ``game``: its board where the metadata gives one, else its table (module docstring)."""
    board = board_of(game)
    if board is None:
        return draw_table(game, s)
    return draw_board(board, s, caption=f"state {s}: {as_stochastic(game).state_names[s]}")


__all__ = ["Board", "board_of", "draw_board", "draw_game_state", "draw_table"]
