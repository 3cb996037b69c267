"""What the terminal can draw, asked once before Textual takes the terminal.

The questions are the ones every graphics-capable terminal answers and every other terminal
ignores: primary device attributes (DA1; ``4`` means Sixel), XTSMGRAPHICS (how many colour
registers and how large a Sixel image may be) and XTVERSION (name and version, e.g.
``kitty(0.26.5)``). No Kitty graphics query is sent: it is an APC string, which tmux takes for a
window title (the title stayed ``Gi=…,a=q…`` after exit). Kitty graphics (direct placements, see
:mod:`imgreview.tui.kitty`) are used when XTVERSION names a kitty of 0.20 or later, outside tmux.

Replies are read with a short timeout; every answer is optional. Cell size comes from the
``TIOCGWINSZ`` ioctl (pixels / cells), with a VT340-like 10x20 fallback.
"""

from __future__ import annotations

import os
import re
import select
import sys
import time
from dataclasses import dataclass, field

KITTY_GRAPHICS = (0, 20)  # direct placements that leave the cursor alone (C=1)
XTERM_SIXEL_LIMIT = (1000, 1000)  # xterm's default maxGraphicSize, when XTSMGRAPHICS does not answer


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    sixel: bool = False
    colour_registers: int = 0  # 0: unknown
    sixel_max: tuple[int, int] = (0, 0)  # pixels; (0, 0): unknown
    cell: tuple[int, int] = (10, 20)  # pixels per cell (width, height)
    version: str = ""  # XTVERSION reply text, e.g. "XTerm(379)" or "kitty(0.26.5)"
    in_tmux: bool = False
    replies: dict[str, str] = field(default_factory=dict)

    @property
    def kitty_version(self) -> tuple[int, ...] | None:
        return parse_kitty_version(self.version)

    @property
    def kitty_graphics(self) -> bool:
        v = self.kitty_version
        return v is not None and v >= KITTY_GRAPHICS and not self.in_tmux


def parse_kitty_version(text: str) -> tuple[int, ...] | None:
    """``kitty 0.26.5 created by ...`` or an XTVERSION reply ``kitty(0.26.5)`` -> (0, 26, 5)."""
    m = re.search(r"kitty[ (]v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)


def parse_da1(reply: str) -> bool:
    """``ESC[?63;1;2;4;6c`` -> True (attribute 4: Sixel graphics)."""
    m = re.search(r"\x1b\[\?([\d;]*)c", reply)
    return m is not None and "4" in m.group(1).split(";")


def parse_xtsmgraphics(reply: str, item: int) -> tuple[int, ...] | None:
    """``ESC[?1;0;1024S`` (item 1, status 0 = success) -> (1024,); item 2 -> (width, height)."""
    for m in re.finditer(r"\x1b\[\?(\d+);(\d+)((?:;\d+)*)S", reply):
        if int(m.group(1)) == item and m.group(2) == "0":
            return tuple(int(v) for v in m.group(3).split(";") if v)
    return None


def _cell_size(fd: int) -> tuple[int, int] | None:
    try:
        import fcntl
        import struct
        import termios

        rows, cols, xpix, ypix = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
        if rows and cols and xpix and ypix:
            return xpix // cols, ypix // rows
    except (OSError, ImportError):
        pass
    return None


def query(timeout: float = 0.25) -> TerminalInfo:
    """Ask the terminal on stdin/stdout (both must be terminals; otherwise: a blank TerminalInfo)."""
    in_tmux = bool(os.environ.get("TMUX")) or os.environ.get("TERM", "").startswith(("tmux", "screen"))
    if not (sys.__stdin__ and sys.__stdout__ and sys.__stdin__.isatty() and sys.__stdout__.isatty()):
        return TerminalInfo(in_tmux=in_tmux)
    import termios
    import tty

    fd_in, fd_out = sys.__stdin__.fileno(), sys.__stdout__.fileno()
    cell = _cell_size(fd_out) or (10, 20)
    old = termios.tcgetattr(fd_in)
    replies: dict[str, str] = {}
    try:
        tty.setcbreak(fd_in, termios.TCSANOW)
        # DA1 goes last: every terminal answers it, so its reply ends the waiting
        os.write(fd_out, b"\x1b[?1;1;0S\x1b[?2;4;0S\x1b[>q\x1b[c")
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd_in], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd_in, 4096)
            if not chunk:
                break
            buf += chunk
            if re.search(rb"\x1b\[\?[\d;]*c", buf):
                break
        text = buf.decode("latin-1")
    finally:
        termios.tcsetattr(fd_in, termios.TCSANOW, old)
    replies["raw"] = text
    colours = parse_xtsmgraphics(text, 1)
    geometry = parse_xtsmgraphics(text, 2)
    version = ""
    m = re.search(r"\x1bP>\|(.*?)\x1b\\", text)
    if m:
        version = m.group(1)
    sixel = parse_da1(text)
    sixel_max = (geometry[0], geometry[1]) if geometry and len(geometry) >= 2 else (0, 0)
    if sixel and sixel_max == (0, 0) and version.lower().startswith("xterm"):
        sixel_max = XTERM_SIXEL_LIMIT
    return TerminalInfo(sixel=sixel, colour_registers=colours[0] if colours else 0, sixel_max=sixel_max,
                        cell=cell, version=version, in_tmux=in_tmux, replies=replies)
