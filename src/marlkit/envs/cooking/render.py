"""A NumPy picture of a cooking-task state (:meth:`marlkit.envs.cooking.Cooking.render`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from marlkit.envs.cooking.layouts import ACTION_DELTAS, COUNTER, DISH_PILE, FLOOR, ONION_PILE, POT, SERVE, Layout

TERRAIN_COLOURS = {
    FLOOR: (235, 225, 200),
    COUNTER: (150, 140, 130),
    ONION_PILE: (200, 170, 60),
    POT: (60, 60, 60),
    DISH_PILE: (200, 200, 220),
    SERVE: (90, 170, 90),
}
ITEM_COLOURS = {1: (230, 200, 40), 2: (245, 245, 255), 3: (220, 110, 40)}  # onion, dish, soup
CHEF_COLOURS = ((40, 90, 200), (200, 50, 50), (120, 60, 170), (40, 150, 150))
TIMER_COLOUR = (240, 80, 40)


def render_kitchen(layout: Layout, state: Any, cook_time: int, tile: int = 16) -> np.ndarray:
    """``uint8 [H * tile, W * tile, 3]`` for a (host) ``CookingState`` on ``layout``."""
    if tile < 8:
        raise ValueError(f"render: tile must be >= 8 pixels, got {tile}")
    height, width = layout.shape
    image = np.zeros((height * tile, width * tile, 3), np.uint8)
    for r in range(height):
        for c in range(width):
            image[r * tile : (r + 1) * tile, c * tile : (c + 1) * tile] = TERRAIN_COLOURS[int(layout.terrain[r, c])]
    q = tile // 4
    items = np.asarray(state.items)
    for r, c in np.argwhere(items > 0):
        image[r * tile + q : r * tile + 3 * q, c * tile + q : c * tile + 3 * q] = ITEM_COLOURS[int(items[r, c])]
    for p, (r, c) in enumerate(np.asarray(layout.pots)):
        onions, time = int(np.asarray(state.pot_onions)[p]), int(np.asarray(state.pot_time)[p])
        for k in range(onions):  # one onion-coloured bar per onion
            top = r * tile + 2 + k * (q + 1)
            image[top : top + q, c * tile + 2 : (c + 1) * tile - 2] = ITEM_COLOURS[1]
        bar = round((tile - 4) * min(time, cook_time) / cook_time)
        image[(r + 1) * tile - 3 : (r + 1) * tile - 1, c * tile + 2 : c * tile + 2 + bar] = TIMER_COLOUR
    pos, facing, held = np.asarray(state.pos), np.asarray(state.facing), np.asarray(state.held)
    for i, (r, c) in enumerate(pos):
        top, left = r * tile + 2, c * tile + 2
        image[top : top + tile - 4, left : left + tile - 4] = CHEF_COLOURS[i % len(CHEF_COLOURS)]
        dr, dc = ACTION_DELTAS[int(facing[i])]
        mr, mc = r * tile + tile // 2 + dr * (tile // 2 - 3), c * tile + tile // 2 + dc * (tile // 2 - 3)
        image[mr - 2 : mr + 2, mc - 2 : mc + 2] = (0, 0, 0)
        if held[i] > 0:
            image[r * tile + q + 1 : r * tile + 3 * q - 1, c * tile + q + 1 : c * tile + 3 * q - 1] = ITEM_COLOURS[
                int(held[i])
            ]
    return image


__all__ = ["render_kitchen"]
