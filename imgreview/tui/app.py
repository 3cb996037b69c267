"""The review app: a thin shell that shows the :class:`~imgreview.tui.screens.review.ReviewScreen`.

The screen owns the review's bindings and data; the app owns what outlives screens: the
thumbnail/picture cache and its worker threads, and the signals that end the review cleanly.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from dataclasses import replace

from textual.app import App

from imgreview.tui import kitty
from imgreview.tui.pictures import Canvas
from imgreview.tui.screens.review import ReviewScreen
from imgreview.tui.state import ReviewState
from imgreview.tui.thumbs import ThumbnailCache

REVIEW_PICTURES = 96  # rendered pictures kept: the group on screen, the next two, and the way back


def freeze_long_lived() -> None:
    """Move what is loaded now (the scan result, the journal: ~10 objects per grouped file) out of the
    garbage collector's full passes. Those passes otherwise walk every one of them from time to time
    while the person moves between groups (0.5-0.8 s each on a 100k-image session). Nothing here is
    kept alive by this: frozen objects are still freed when no longer used, only cycles among them
    would not be. Called by ``imgreview review`` (and the latency benchmark) just before the app runs.
    Only the young generations are collected first: a full pass here would delay the first picture."""
    gc.collect(1)
    gc.freeze()


class ReviewApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "imgreview"
    ENABLE_COMMAND_PALETTE = False  # it would cover pictures; every action has a key

    def __init__(self, state: ReviewState, canvas: Canvas, *, read_only: bool = False,
                 thumbs: ThumbnailCache | None = None, notes: list[str] | None = None,
                 start_group: int | None = None, advance: bool = True) -> None:
        super().__init__()
        # half-cell pictures carry their terminal codes, made in the workers for this console
        canvas = replace(canvas, color_system=self.console.color_system)
        # few rendered pictures are kept: a half-cell one is ~8 000 small objects, and every object
        # the collector tracks lengthens its full passes, which stop the UI thread
        self.thumbs = thumbs or ThumbnailCache(canvas=canvas, picture_capacity=REVIEW_PICTURES)
        self.thumbs.canvas = canvas
        self.review = ReviewScreen(state, canvas, self.thumbs, read_only=read_only, start_group=start_group,
                                   advance=advance, notes=notes)

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, self.exit)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
                pass
        self.push_screen(self.review)

    def on_unmount(self) -> None:
        self.thumbs.close()
        if self.review.canvas.mode == "kitty":  # the pictures sent to the terminal go with the review
            kitty.write(self, kitty.layer_of(self).close())
