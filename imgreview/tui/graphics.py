"""Choosing how pictures are drawn: Sixel, half-cell characters, or not at all.

:func:`choose_canvas` must run before the app starts: it asks the terminal (DA1, XTSMGRAPHICS,
XTVERSION, see :mod:`imgreview.tui.terminal`), which is impossible once Textual owns stdin.
Kitty's graphics protocol is used when XTVERSION names kitty 0.20 or later outside tmux (direct
placements, :mod:`imgreview.tui.kitty`; an older kitty or kitty inside tmux gets half-cell
pictures); Sixel when the terminal says it draws Sixel; every other terminal gets half-cell
pictures, which work everywhere colours do. Kitty pictures are drawn by the review's widgets
only: a caller whose widgets do not place them (triage) asks with ``kitty=False``.
"""

from __future__ import annotations

from imgreview.tui.pictures import Canvas
from imgreview.tui.terminal import TerminalInfo, query
from imgreview.vocab import GRAPHICS_MODES

MODES = GRAPHICS_MODES
MIN_REGISTERS = 16


def choose_canvas(mode: str = "auto", info: TerminalInfo | None = None, *, kitty: bool = False) -> tuple[Canvas, str]:
    """The canvas for ``--graphics MODE`` and a note for the person when it is not what they asked for.

    ``kitty``: the caller draws Kitty graphics (the review); otherwise kitty gets half-cell pictures."""
    if mode not in MODES:
        raise ValueError(f"unknown graphics mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "none":
        return Canvas("none"), ""
    if info is None:
        info = query() if mode in ("auto", "sixel", "kitty") else TerminalInfo()
    if mode == "halfcell":
        return Canvas("halfcell", info.cell), ""
    if mode == "kitty":
        if not kitty:
            return Canvas("halfcell", info.cell), "kitty graphics are not drawn here: using half-cell pictures"
        if info.in_tmux:
            return Canvas("halfcell", info.cell), "kitty graphics do not pass through tmux: using half-cell pictures"
        v = info.kitty_version
        if v is not None and not info.kitty_graphics:
            return Canvas("halfcell", info.cell), (f"kitty {'.'.join(map(str, v))} is older than 0.20: "
                                                   "using half-cell pictures")
        return Canvas("kitty", info.cell), ""  # asked for by name: trusted when the terminal did not say
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
    if kitty and info.kitty_graphics:
        return Canvas("kitty", info.cell), ""
    if info.kitty_version is not None:
        why = ("inside tmux" if info.in_tmux else "older than 0.20") if kitty else "not drawn here"
        return Canvas("halfcell", info.cell), f"kitty graphics {why}: using half-cell pictures"
    return Canvas("halfcell", info.cell), ""
