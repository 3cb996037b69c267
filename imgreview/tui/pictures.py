"""Pictures drawn for a cell area, rendered in worker threads and cached.

A *rendered picture* is everything the UI thread needs to put a thumbnail on screen: for
half-cell pictures one :class:`~textual.strip.Strip` per text row (two pixels per cell, upper
half block), for Sixel one DCS string plus the cells it covers. Rendering happens in the
thumbnail cache's worker pool (see :mod:`imgreview.tui.thumbs`); the widgets only look pictures
up, so a group change costs one repaint and no image work on the UI thread.

Sixel pictures are encoded by :mod:`imgreview.tui.sixel` (dithered, one pass per colour) and
sized so they never exceed the terminal's Sixel limit and end on a whole six-pixel band inside
their cells (a band reaching into the row below scrolls the screen when that row is the last).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance
from rich.color import Color, ColorSystem, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from imgreview.tui.sixel import encode as sixel_encode

MODES = ("kitty", "sixel", "halfcell", "none")
_serials = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Canvas:
    """How pictures are drawn: ``mode``, pixels per cell, Sixel limits and colour registers."""

    mode: str = "halfcell"  # kitty | sixel | halfcell | none
    cell: tuple[int, int] = (10, 20)
    sixel_max: tuple[int, int] = (0, 0)  # (0, 0): no limit known
    colours: int = 256
    # the app console's colour system ("truecolor", "256", "standard"): half-cell pictures then carry
    # their terminal codes ready-made (see render_halfcell); None: Textual works them out when drawing
    color_system: str | None = None

    @property
    def pictures(self) -> bool:
        return self.mode != "none"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A picture ready for the screen, ``cols`` x ``rows`` cells (centred by the caller)."""

    cols: int
    rows: int
    strips: tuple[Strip, ...] = ()  # half-cell: one per row
    sixel: str = ""  # sixel: the DCS string, drawn at the top-left cell
    kitty: str = ""  # kitty: the picture's payload (see imgreview.tui.kitty), placed at the top-left cell
    pixels: tuple[int, int] = (0, 0)  # kitty: the picture's size in pixels
    serial: int = 0  # kitty: names this picture's content in the terminal (unique per rendering)


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled to fit ``box`` keeping its aspect (at least 1x1)."""
    w, h = size
    bw, bh = box
    if w <= 0 or h <= 0 or bw <= 0 or bh <= 0:
        return 1, 1
    scale = min(bw / w, bh / h)
    return max(1, int(w * scale)), max(1, int(h * scale))


def dimmed(image: Image.Image) -> Image.Image:
    """The picture of a file marked delete: darker and with less colour."""
    return ImageEnhance.Brightness(ImageEnhance.Color(image).enhance(0.35)).enhance(0.45)


COLOR_SYSTEMS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT,
                 "standard": ColorSystem.STANDARD, "windows": ColorSystem.WINDOWS}


def render_halfcell(image: Image.Image, cols: int, rows: int, color_system: str | None = None) -> Rendered:
    """Two pixels per cell: the upper one as foreground of ``▀``, the lower one as background.

    The cells are grouped with numpy (one style per distinct pair of colours, one segment per run of
    equal cells in a row), so the Python work is per distinct colour and per run, not per cell.

    With ``color_system`` each cell style's terminal codes are worked out here, in the worker
    thread, and kept on the style (``Style._ansi``, the cache Textual's own
    :meth:`~textual.strip.Strip.render_style` fills on first use): otherwise the UI thread computes
    the codes of ~3 000 new styles (colour downgrade and SGR text) when a new picture first reaches
    the terminal, which was the largest part of a group change.
    """
    w, h = fit(image.size, (cols, rows * 2))
    h += h % 2
    small = np.asarray(image.convert("RGB").resize((w, h), Image.Resampling.BILINEAR), dtype=np.uint32)
    rgb = (small[..., 0] << 16) | (small[..., 1] << 8) | small[..., 2]  # one 24-bit colour per pixel
    pairs = (rgb[0::2].astype(np.uint64) << np.uint64(24)) | rgb[1::2]  # (upper, lower) per cell
    keys, cell_style = np.unique(pairs, return_inverse=True)
    cell_style = cell_style.reshape(pairs.shape)
    truecolor = ColorType.TRUECOLOR
    colours = {c: Color(f"#{c:06x}", truecolor, None, ColorTriplet(c >> 16, (c >> 8) & 0xFF, c & 0xFF))
               for c in np.unique(rgb).tolist()}  # the same Color as Color.from_rgb makes
    styles = [Style.from_color(colours[k >> 24], colours[k & 0xFFFFFF]) for k in keys.tolist()]
    strips = []
    for row in cell_style:
        starts = [0, *(np.flatnonzero(row[1:] != row[:-1]) + 1).tolist()]
        ends = [*starts[1:], w]
        first = row[starts].tolist()
        strips.append(Strip([Segment("▀" * (b - a), styles[i]) for a, b, i in zip(starts, ends, first, strict=True)],
                            w))
    system = COLOR_SYSTEMS.get(color_system or "")
    if system is ColorSystem.TRUECOLOR:  # no downgrade: the SGR text of a truecolor pair, as Rich writes it
        for style, k in zip(styles, keys.tolist(), strict=True):
            t, b = k >> 24, k & 0xFFFFFF
            style._ansi = f"38;2;{t >> 16};{(t >> 8) & 0xFF};{t & 0xFF};48;2;{b >> 16};{(b >> 8) & 0xFF};{b & 0xFF}"
    elif system is not None:
        for style in styles:
            # set here too: on a hit of render_ansi's cache (an equal style of an earlier picture) it
            # returns the codes without storing them on this style
            style._ansi = Strip.render_ansi(style, system)
    return Rendered(w, len(strips), strips=tuple(strips))


def sixel_size(image_size: tuple[int, int], cols: int, rows: int, canvas: Canvas) -> tuple[int, int]:
    """Pixel size of the Sixel picture for a ``cols`` x ``rows`` cell area."""
    cw, ch = canvas.cell
    box_w, box_h = cols * cw, rows * ch
    mw, mh = canvas.sixel_max
    if mw and mh:
        box_w, box_h = min(box_w, mw), min(box_h, mh)
    w, h = fit(image_size, (box_w, box_h))
    h = max(6, h - h % 6)  # whole bands only, inside the cells
    return w, h


def render_sixel(image: Image.Image, cols: int, rows: int, canvas: Canvas) -> Rendered:
    w, h = sixel_size(image.size, cols, rows, canvas)
    picture = image.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
    cw, ch = canvas.cell
    data = sixel_encode(picture, colours=min(256, canvas.colours or 256))
    return Rendered(-(-w // cw), -(-h // ch), sixel=data)


def render_kitty(image: Image.Image, cols: int, rows: int, canvas: Canvas) -> Rendered:
    """The picture at the terminal's own pixel size for ``cols`` x ``rows`` cells (kitty draws it 1:1)."""
    from imgreview.tui.kitty import payload

    cw, ch = canvas.cell
    w, h = fit(image.size, (cols * cw, rows * ch))
    picture = image.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
    return Rendered(min(cols, -(-w // cw)), min(rows, -(-h // ch)), kitty=payload(picture), pixels=(w, h),
                    serial=next(_serials))


def render(image: Image.Image, cols: int, rows: int, canvas: Canvas, dim: bool = False) -> Rendered:
    """The picture for a ``cols`` x ``rows`` cell area in ``canvas.mode`` (never called on the UI thread)."""
    if dim:
        image = dimmed(image.convert("RGB"))
    if canvas.mode == "sixel":
        return render_sixel(image, cols, rows, canvas)
    if canvas.mode == "kitty":
        return render_kitty(image, cols, rows, canvas)
    if canvas.mode == "halfcell":
        return render_halfcell(image, cols, rows, canvas.color_system)
    return Rendered(0, 0)
