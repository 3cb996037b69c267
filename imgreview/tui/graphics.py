"""Choosing how pictures are drawn: Kitty graphics, Sixel, half-cell characters, or not at all.

textual-image detects the terminal's protocol when it is *imported* (it queries the terminal,
which is impossible once Textual owns stdin), so :func:`choose_renderer` must run before the app
starts. Its Kitty renderer relies on Unicode placeholders, which kitty supports only from 0.28;
an older kitty (Debian's 0.26) would show empty boxes, so such a terminal gets half-cell pictures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from imgreview.vocab import GRAPHICS_MODES

MODES = GRAPHICS_MODES
KITTY_PLACEHOLDERS = (0, 28)  # first kitty release with Unicode placeholders


@dataclass(frozen=True, slots=True)
class Renderer:
    name: str  # kitty | sixel | halfcell | unicode | none
    widget: Any  # a textual-image widget class, or None for "no pictures"
    note: str = ""  # why this renderer was chosen, when not the obvious one


def parse_kitty_version(text: str) -> tuple[int, ...] | None:
    """``kitty 0.26.5 created by ...`` or an XTVERSION reply ``kitty(0.26.5)`` -> (0, 26, 5)."""
    m = re.search(r"kitty[ (]v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(x) for x in m.groups() if x is not None)


def _xtversion() -> str:
    """The terminal's XTVERSION reply (``ESC P >| name(version) ESC \\``), or ''."""
    if not (sys.__stdout__ and sys.__stdout__.isatty() and sys.__stdin__ and sys.__stdin__.isatty()):
        return ""
    try:
        from textual_image._terminal import capture_terminal_response

        with capture_terminal_response("\x1bP>|", "\x1b\\", 0.2) as response:
            sys.__stdout__.write("\x1b[>q")
            sys.__stdout__.flush()
        return str(response.sequence)
    except Exception:  # no reply, not a terminal, timeout
        return ""


def kitty_version() -> tuple[int, ...] | None:
    """The version of the kitty terminal we run in, when it can be found out."""
    version = parse_kitty_version(_xtversion())
    if version is None and (os.environ.get("KITTY_WINDOW_ID") or os.environ.get("TERM") == "xterm-kitty"):
        exe = shutil.which("kitty")
        if exe:
            try:
                out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=2).stdout
                version = parse_kitty_version(out)
            except (OSError, subprocess.SubprocessError):
                pass
    return version


def choose_renderer(mode: str = "auto") -> Renderer:
    """The picture widget for ``--graphics MODE``; imports textual-image (terminal detection)."""
    if mode not in MODES:
        raise ValueError(f"unknown graphics mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "none":
        return Renderer("none", None)
    from textual_image import widget as tiw
    from textual_image.renderable import HalfcellImage as HalfcellRenderable
    from textual_image.renderable import Image as Detected
    from textual_image.renderable import SixelImage as SixelRenderable
    from textual_image.renderable import TGPImage as TGPRenderable
    from textual_image.renderable import UnicodeImage as UnicodeRenderable

    if mode == "halfcell":
        return Renderer("halfcell", tiw.HalfcellImage)
    if mode == "sixel":
        return Renderer("sixel", tiw.SixelImage)
    if mode == "kitty":
        return Renderer("kitty", tiw.TGPImage)
    # auto
    if Detected is SixelRenderable:
        return Renderer("sixel", tiw.SixelImage)
    if Detected is TGPRenderable:
        version = kitty_version()
        if version is not None and version >= KITTY_PLACEHOLDERS:
            return Renderer("kitty", tiw.TGPImage)
        what = f"kitty {'.'.join(map(str, version))}" if version else "a terminal that is not kitty 0.28+"
        return Renderer("halfcell", tiw.HalfcellImage,
                        note=f"Kitty graphics need Unicode placeholders (kitty 0.28+); {what}: using half-cell pictures")
    if Detected is HalfcellRenderable:
        return Renderer("halfcell", tiw.HalfcellImage)
    if Detected is UnicodeRenderable:
        # Not a terminal (tests, pipes): half-cell still gives a faithful picture in screenshots.
        return Renderer("halfcell", tiw.HalfcellImage)
    return Renderer("halfcell", tiw.HalfcellImage)
