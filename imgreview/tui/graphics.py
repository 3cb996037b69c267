"""Choosing how pictures are drawn: Sixel, half-cell characters, or not at all.

:func:`choose_canvas` must run before the app starts: it asks the terminal (DA1, XTSMGRAPHICS,
XTVERSION, see :mod:`imgreview.tui.terminal`), which is impossible once Textual owns stdin.
Sixel is used when the terminal says it draws Sixel; every other terminal gets half-cell pictures,
which work everywhere colours do. Kitty's own graphics protocol is not drawn by this version: a
kitty terminal gets half-cell pictures (kitty has no Sixel).
"""

from __future__ import annotations

from imgreview.tui.pictures import Canvas
from imgreview.tui.terminal import TerminalInfo, query
from imgreview.vocab import GRAPHICS_MODES

MODES = GRAPHICS_MODES
MIN_REGISTERS = 16


def choose_canvas(mode: str = "auto", info: TerminalInfo | None = None) -> tuple[Canvas, str]:
    """The canvas for ``--graphics MODE`` and a note for the person when it is not what they asked for."""
    if mode not in MODES:
        raise ValueError(f"unknown graphics mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "none":
        return Canvas("none"), ""
    if info is None:
        info = query() if mode in ("auto", "sixel", "kitty") else TerminalInfo()
    if mode == "halfcell":
        return Canvas("halfcell", info.cell), ""
    if mode == "kitty":
        return Canvas("halfcell", info.cell), "kitty graphics are not drawn by this version: using half-cell pictures"
    sixel_max = info.sixel_max if info.sixel_max != (0, 0) else (0, 0)
    colours = info.colour_registers or 256
    if mode == "sixel":
        if not info.sixel_max[0] and not info.replies:  # not a terminal (tests, benchmarks): xterm's limits
            sixel_max = (1000, 1000)
        return Canvas("sixel", info.cell, sixel_max, max(MIN_REGISTERS, min(256, colours))), ""
    # auto
    if info.sixel and colours >= MIN_REGISTERS:
        return Canvas("sixel", info.cell, sixel_max, min(256, colours)), ""
    if info.sixel:
        return Canvas("halfcell", info.cell), (f"the terminal offers only {colours} Sixel colour registers: "
                                               "using half-cell pictures")
    if info.kitty_version is not None:
        return Canvas("halfcell", info.cell), "kitty: using half-cell pictures"
    return Canvas("halfcell", info.cell), ""
