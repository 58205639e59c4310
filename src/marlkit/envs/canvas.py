"""A small NumPy raster canvas for rendering env states to RGB arrays (issue 17, item 3).

Every task draws its state with these few primitives — filled discs with an outline, rectangles, grid lines and
text — into a ``uint8 [H, W, 3]`` array on the host, so rendering needs no display, no OpenGL and no pygame.
Rasterisation rule: a pixel ``(row, col)`` is covered by a shape when its centre ``(col + 0.5, row + 0.5)`` lies
inside it (no anti-aliasing: pictures are exact functions of the state and compare bit for bit). Text is drawn
with Pillow's built-in font (:func:`PIL.ImageFont.load_default`), the one dependency beyond NumPy.

Coordinates are pixels: ``x`` to the right, ``y`` down, the origin at the top-left corner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from marlkit.errors import InvalidGameError

Colour = tuple[int, int, int]

WHITE: Colour = (255, 255, 255)
BLACK: Colour = (0, 0, 0)
GREY: Colour = (128, 128, 128)
LIGHT_GREY: Colour = (220, 220, 220)

PALETTE: tuple[Colour, ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
"""Distinct colours for agents (matplotlib's ``tab10``), agent ``i`` gets ``PALETTE[i % 10]``."""


def rgb(colour: Sequence[float] | np.ndarray) -> Colour:
    """An RGB triple as three ints in 0..255 (values are rounded and clipped)."""
    c = np.clip(np.rint(np.asarray(colour, np.float64)), 0, 255).astype(int)
    if c.shape != (3,):
        raise InvalidGameError(f"a colour is three numbers (R, G, B), got {colour!r}")
    return int(c[0]), int(c[1]), int(c[2])


class Canvas:
    """A ``height x width`` RGB picture filled with ``background``; draw on it, then read :attr:`pixels`."""

    def __init__(self, height: int, width: int, background: Colour = WHITE) -> None:
        if height < 1 or width < 1:
            raise InvalidGameError(f"a canvas needs a positive size, got {height}x{width}")
        self.pixels = np.empty((int(height), int(width), 3), np.uint8)
        self.pixels[:] = np.asarray(rgb(background), np.uint8)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice, np.ndarray, np.ndarray]:
        """Rows and columns whose pixel centres may lie in ``[x0, x1] x [y0, y1]``, and those centres."""
        c0, c1 = max(int(np.floor(x0 - 0.5)), 0), min(int(np.ceil(x1 - 0.5)) + 1, self.width)
        r0, r1 = max(int(np.floor(y0 - 0.5)), 0), min(int(np.ceil(y1 - 0.5)) + 1, self.height)
        cols = np.arange(c0, max(c1, c0)) + 0.5
        rows = np.arange(r0, max(r1, r0)) + 0.5
        return slice(r0, max(r1, r0)), slice(c0, max(c1, c0)), rows, cols

    def circle(
        self, x: float, y: float, radius: float, fill: Colour, outline: Colour | None = BLACK, width: float = 1.0
    ) -> None:
        """A disc of ``radius`` pixels centred at ``(x, y)``, filled, with an outline ``width`` pixels wide."""
        rs, cs, rows, cols = self._box(x - radius, y - radius, x + radius, y + radius)
        if rows.size == 0 or cols.size == 0:
            return
        d = np.hypot(cols[None, :] - x, rows[:, None] - y)
        inside = d <= radius
        region = self.pixels[rs, cs]
        region[inside] = rgb(fill)
        if outline is not None and width > 0:
            region[inside & (d > radius - width)] = rgb(outline)

    def rect(
        self, x0: float, y0: float, x1: float, y1: float, fill: Colour | None, outline: Colour | None = None
    ) -> None:
        """The rectangle ``[x0, x1] x [y0, y1]`` (pixel edges), filled and/or with a one-pixel outline."""
        c0, c1 = max(round(x0), 0), min(round(x1), self.width)
        r0, r1 = max(round(y0), 0), min(round(y1), self.height)
        if c1 <= c0 or r1 <= r0:
            return
        if fill is not None:
            self.pixels[r0:r1, c0:c1] = rgb(fill)
        if outline is not None:
            o = rgb(outline)
            self.pixels[r0, c0:c1] = o
            self.pixels[r1 - 1, c0:c1] = o
            self.pixels[r0:r1, c0] = o
            self.pixels[r0:r1, c1 - 1] = o

    def text(self, x: float, y: float, s: str, colour: Colour = BLACK, size: int = 14, anchor: str = "la") -> None:
        """Text at ``(x, y)`` with Pillow's default font; ``anchor`` as in Pillow (``"la"`` left-top, ``"mm"``
        centred)."""
        from PIL import Image, ImageDraw, ImageFont

        image = Image.fromarray(self.pixels)
        ImageDraw.Draw(image).text((x, y), s, fill=rgb(colour), font=ImageFont.load_default(size=size), anchor=anchor)
        self.pixels = np.asarray(image, np.uint8).copy()

    def paste(self, other: np.ndarray, x: int, y: int) -> None:
        """Copy the picture ``other [h, w, 3]`` with its top-left corner at ``(x, y)`` (clipped to the canvas)."""
        h = min(other.shape[0], self.height - y)
        w = min(other.shape[1], self.width - x)
        if h > 0 and w > 0:
            self.pixels[y : y + h, x : x + w] = other[:h, :w]


def grid_picture(rows: int, cols: int, cell: int, margin: int = 0, background: Colour = WHITE) -> Canvas:
    """A canvas for a ``rows x cols`` board of square cells ``cell`` pixels wide, with ``margin`` pixels around it
    and the cell lines drawn (grey)."""
    canvas = Canvas(rows * cell + 2 * margin + 1, cols * cell + 2 * margin + 1, background)
    draw_grid_lines(canvas, rows, cols, cell, margin)
    return canvas


def draw_grid_lines(canvas: Canvas, rows: int, cols: int, cell: int, margin: int = 0, colour: Colour = GREY) -> None:
    """The ``rows + 1`` horizontal and ``cols + 1`` vertical one-pixel lines of a board of ``cell``-pixel squares."""
    width, height = cols * cell, rows * cell
    for r in range(rows + 1):
        canvas.rect(margin, margin + r * cell, margin + width + 1, margin + r * cell + 1, colour)
    for c in range(cols + 1):
        canvas.rect(margin + c * cell, margin, margin + c * cell + 1, margin + height + 1, colour)


def cell_box(row: int, col: int, cell: int, margin: int = 0) -> tuple[int, int, int, int]:
    """The interior ``(x0, y0, x1, y1)`` of board cell ``(row, col)`` (inside its grid lines)."""
    return margin + col * cell + 1, margin + row * cell + 1, margin + (col + 1) * cell, margin + (row + 1) * cell


def cell_centre(row: int, col: int, cell: int, margin: int = 0) -> tuple[float, float]:
    """The pixel coordinates ``(x, y)`` of the centre of board cell ``(row, col)``."""
    return margin + (col + 0.5) * cell + 0.5, margin + (row + 0.5) * cell + 0.5


def with_caption(frame: np.ndarray, lines: Sequence[str], size: int = 13) -> np.ndarray:
    """``frame`` with a white strip below holding ``lines`` of text (one per line)."""
    if not lines:
        return frame
    step = size + 4
    canvas = Canvas(frame.shape[0] + step * len(lines) + 4, frame.shape[1])
    canvas.paste(frame, 0, 0)
    canvas.rect(0, frame.shape[0], frame.shape[1], frame.shape[0] + 1, LIGHT_GREY)
    for k, line in enumerate(lines):
        canvas.text(4, frame.shape[0] + 3 + k * step, line, size=size)
    return canvas.pixels


__all__ = [
    "BLACK",
    "GREY",
    "LIGHT_GREY",
    "PALETTE",
    "WHITE",
    "Canvas",
    "Colour",
    "cell_box",
    "cell_centre",
    "draw_grid_lines",
    "grid_picture",
    "rgb",
    "with_caption",
]
