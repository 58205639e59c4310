"""Kitchen layouts of the cooperative cooking task and their static shortest-path tables.

Source: the layouts of Carroll, Shah, Ho, Griffiths, Seshia, Abbeel & Dragan (2019), "On the Utility of Learning
about Humans for Human-AI Coordination" (NeurIPS), as the ``overcooked_ai_py`` package (``data/layouts/*.layout``)
and its web demo spell them. One character per cell:

``X`` counter (items may be put down and picked up), ``O`` onion dispenser, ``P`` pot, ``D`` dish dispenser,
``S`` serving counter, `` `` floor, ``1``/``2`` floor where chef 0/1 starts.

Everything here is NumPy and static: the terrain, the pots, and the motion planner's tables over *poses*
``(cell, facing)`` — the one-step transition of every action on the empty kitchen (the other chef ignored, as
overcooked-ai's ``MotionPlanner`` ignores it) and, by breadth-first search, the number of actions from every pose to
a pose from which INTERACT reaches a given cell (:func:`interact_distances`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from marlkit.errors import InvalidGameError

FLOOR, COUNTER, ONION_PILE, POT, DISH_PILE, SERVE = range(6)
TERRAIN_CHARS = {
    " ": FLOOR,
    "1": FLOOR,
    "2": FLOOR,
    "X": COUNTER,
    "O": ONION_PILE,
    "P": POT,
    "D": DISH_PILE,
    "S": SERVE,
}
NORTH, SOUTH, EAST, WEST, STAY, INTERACT = range(6)
ACTION_NAMES = ("up", "down", "right", "left", "stay", "interact")
NUM_ACTIONS = 6
# (d_row, d_col) of each action: overcooked-ai's Direction.NORTH = (0, -1) in (x, y) is one row up.
ACTION_DELTAS = np.array([[-1, 0], [1, 0], [0, 1], [0, -1], [0, 0], [0, 0]], dtype=np.int32)
UNREACHABLE = 10_000  # distance to a cell no pose can interact with

LAYOUTS: dict[str, tuple[str, ...]] = {
    "cramped_room": ("XXPXX", "O  2O", "X1  X", "XDXSX"),
    "asymmetric_advantages": ("XXXXXXXXX", "O XSXOX S", "X   P 1 X", "X2  P   X", "XXXDXDXXX"),
    "coordination_ring": ("XXXPX", "X 1 P", "D2X X", "O   X", "XOSXX"),
}


@dataclass(frozen=True)
class Layout:
    """One kitchen: ``rows`` of equal length over the characters of the module docstring, with chefs ``1`` and
    ``2`` (two chefs). Derived arrays are read-only NumPy."""

    name: str
    rows: tuple[str, ...]
    terrain: np.ndarray = field(init=False, repr=False, compare=False)
    start: np.ndarray = field(init=False, repr=False, compare=False)
    pots: np.ndarray = field(init=False, repr=False, compare=False)
    pot_index: np.ndarray = field(init=False, repr=False, compare=False)
    next_pose: np.ndarray = field(init=False, repr=False, compare=False)
    interact_distance: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = self.rows
        if not rows or len({len(r) for r in rows}) != 1:
            raise InvalidGameError(f"cooking layout {self.name!r}: rows must be non-empty and of equal length")
        bad = sorted({c for r in rows for c in r} - set(TERRAIN_CHARS))
        if bad:
            raise InvalidGameError(
                f"cooking layout {self.name!r}: unknown cell character(s) {bad}; use {''.join(TERRAIN_CHARS)}"
            )
        terrain = np.array([[TERRAIN_CHARS[c] for c in r] for r in rows], dtype=np.int32)
        starts = []
        for chef in "12":
            cells = [(i, j) for i, r in enumerate(rows) for j, c in enumerate(r) if c == chef]
            if len(cells) != 1:
                raise InvalidGameError(f"cooking layout {self.name!r}: chef {chef!r} must appear exactly once")
            starts.append(cells[0])
        _height, _width = terrain.shape
        border = np.concatenate([terrain[0], terrain[-1], terrain[:, 0], terrain[:, -1]])
        if np.any(border == FLOOR):
            raise InvalidGameError(f"cooking layout {self.name!r}: the border must be counters, not floor")
        for kind, label in ((ONION_PILE, "O"), (POT, "P"), (DISH_PILE, "D"), (SERVE, "S")):
            if not np.any(terrain == kind):
                raise InvalidGameError(f"cooking layout {self.name!r}: needs at least one {label!r} cell")
        pots = np.argwhere(terrain == POT).astype(np.int32)
        pot_index = np.full(terrain.shape, -1, np.int32)
        pot_index[pots[:, 0], pots[:, 1]] = np.arange(len(pots))
        next_pose = pose_transitions(terrain)
        for name, value in (
            ("terrain", terrain),
            ("start", np.array(starts, np.int32)),
            ("pots", pots),
            ("pot_index", pot_index),
            ("next_pose", next_pose),
            ("interact_distance", interact_distances(terrain, next_pose)),
        ):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.rows), len(self.rows[0]))


def pose_transitions(terrain: np.ndarray) -> np.ndarray:
    """``[H * W * 4, 6]``: the pose ``cell * 4 + facing`` each action leads to on the empty kitchen (overcooked-ai
    ``_move_if_direction``: a move turns the chef and steps when the target is floor; STAY and INTERACT keep the
    pose)."""
    height, width = terrain.shape
    out = np.zeros((height * width * 4, NUM_ACTIONS), np.int32)
    for r in range(height):
        for c in range(width):
            for d in range(4):
                pose = (r * width + c) * 4 + d
                for a in range(NUM_ACTIONS):
                    if a >= STAY:
                        out[pose, a] = pose
                        continue
                    tr, tc = r + ACTION_DELTAS[a, 0], c + ACTION_DELTAS[a, 1]
                    inside = 0 <= tr < height and 0 <= tc < width
                    cell = tr * width + tc if inside and terrain[tr, tc] == FLOOR else r * width + c
                    out[pose, a] = cell * 4 + a
    return out


def interact_distances(terrain: np.ndarray, next_pose: np.ndarray) -> np.ndarray:
    """``[H * W * 4, H * W]`` int32: the fewest actions from a pose (on floor) to a pose that faces the cell from
    an adjacent floor cell, so that INTERACT reaches it (0 when already there); :data:`UNREACHABLE` otherwise.
    Breadth-first search backwards from the facing poses of each cell over :func:`pose_transitions`."""
    height, width = terrain.shape
    poses = height * width * 4
    predecessors: list[list[int]] = [[] for _ in range(poses)]
    for pose in range(poses):
        if terrain.flat[pose // 4] != FLOOR:
            continue
        for a in range(4):
            predecessors[int(next_pose[pose, a])].append(pose)
    out = np.full((poses, height * width), UNREACHABLE, np.int32)
    for r in range(height):
        for c in range(width):
            target = r * width + c
            frontier: deque[int] = deque()
            for d in range(4):  # stand at target - delta(d), facing d
                sr, sc = r - ACTION_DELTAS[d, 0], c - ACTION_DELTAS[d, 1]
                if 0 <= sr < height and 0 <= sc < width and terrain[sr, sc] == FLOOR:
                    pose = (sr * width + sc) * 4 + d
                    out[pose, target] = 0
                    frontier.append(pose)
            while frontier:
                pose = frontier.popleft()
                for prev in predecessors[pose]:
                    if out[prev, target] == UNREACHABLE:
                        out[prev, target] = out[pose, target] + 1
                        frontier.append(prev)
    return out


def get_layout(name: str) -> Layout:
    """The built-in layout ``name`` (one of :data:`LAYOUTS`)."""
    if name not in LAYOUTS:
        raise InvalidGameError(f"cooking: unknown layout {name!r}; choose one of {sorted(LAYOUTS)}")
    return Layout(name, LAYOUTS[name])


__all__ = [
    "ACTION_DELTAS",
    "ACTION_NAMES",
    "COUNTER",
    "DISH_PILE",
    "EAST",
    "FLOOR",
    "INTERACT",
    "LAYOUTS",
    "NORTH",
    "NUM_ACTIONS",
    "ONION_PILE",
    "POT",
    "SERVE",
    "SOUTH",
    "STAY",
    "UNREACHABLE",
    "WEST",
    "Layout",
    "get_layout",
    "interact_distances",
    "pose_transitions",
]
