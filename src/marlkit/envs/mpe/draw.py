"""Pictures of particle worlds, drawn as mpe2 draws them (``_mpe_utils/simple_env.py``, ``SimpleEnv.draw``).

mpe2's camera and style, reproduced on a NumPy canvas (:mod:`marlkit.envs.canvas`):

* a white ``700 x 700`` picture; the camera is centred on the origin and scaled so that the largest coordinate
  magnitude of any drawn entity, ``cam = max |p|`` over both axes, lies at 90% of the half-width:
  ``x_px = W/2 + (x / cam) · (W/2) · 0.9``, ``y_px = H/2 - (y / cam) · (H/2) · 0.9`` (y points up);
* every entity a disc of radius ``size · W/2`` pixels (mpe2's ``size · 350`` at 700 pixels, its
  ``dynamic_rescaling=False`` mode: the zoom of ``dynamic_rescaling`` depends on the camera at reset, which a
  functional state does not keep), filled with ``colour · 200`` and outlined in black, one pixel wide;
* agents first, then landmarks (mpe2's ``world.entities`` order, so a landmark is drawn over an agent);
* a speaking agent's message as ``"<name> sends <letter>"`` (``_`` before its first message) near the bottom
  left, mpe2's text lines.

Colours are mpe2's scenario colours (each task module lists its own).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from marlkit.envs.canvas import BLACK, Canvas

RENDER_SIZE = 700
"""mpe2's picture side in pixels."""
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""mpe2's letters for discrete messages (``simple_env.alphabet``)."""


def camera_range(positions: np.ndarray) -> float:
    """mpe2's ``cam_range = max |p|`` over every drawn entity and both axes (1.0 if all sit at the origin)."""
    cam = float(np.max(np.abs(positions))) if positions.size else 0.0
    return cam if cam > 0 else 1.0


def to_pixels(positions: np.ndarray, cam: float, size: int = RENDER_SIZE) -> np.ndarray:
    """World positions ``[k, 2]`` to pixel coordinates ``[k, 2]`` (x right, y down) under mpe2's camera."""
    p = np.asarray(positions, np.float64).reshape(-1, 2)
    half = size / 2
    return np.stack([half + p[:, 0] / cam * half * 0.9, half - p[:, 1] / cam * half * 0.9], axis=1)


def draw_world(
    positions: np.ndarray,
    sizes: Sequence[float],
    colours: np.ndarray,
    messages: Sequence[str] = (),
    size: int = RENDER_SIZE,
) -> np.ndarray:
    """A picture of discs at ``positions [k, 2]`` with radii ``sizes [k]`` (world units) and mpe2 colours
    ``colours [k, 3]`` in 0..1 (drawn as ``colour · 200``), in drawing order; ``messages`` are text lines."""
    positions = np.asarray(positions, np.float64).reshape(-1, 2)
    cam = camera_range(positions)
    pixels = to_pixels(positions, cam, size)
    canvas = Canvas(size, size)
    for (x, y), radius, colour in zip(pixels, sizes, np.asarray(colours, np.float64), strict=True):
        fill = (np.clip(colour, 0, None) * 200).astype(int)
        canvas.circle(float(x), float(y), float(radius) * size / 2, (int(fill[0]), int(fill[1]), int(fill[2])), BLACK)
    for line, message in enumerate(messages):
        canvas.text(
            size * 0.05,
            size * 0.95 - size * 0.05 * line,
            message,
            BLACK,
            size=max(size * 24 // RENDER_SIZE, 8),
            anchor="la",
        )
    return canvas.pixels


def message_text(name: str, message: np.ndarray) -> str:
    """mpe2's text line for a speaking agent: ``"<name> sends <letter>"``, ``_`` for a zero message."""
    m = np.asarray(message)
    word = "_" if not np.any(m != 0) else ALPHABET[int(np.argmax(m))]
    return f"{name} sends {word}"


__all__ = ["ALPHABET", "RENDER_SIZE", "camera_range", "draw_world", "message_text", "to_pixels"]
