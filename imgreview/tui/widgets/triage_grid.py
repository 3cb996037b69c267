"""The triage grid: as many picture tiles as the terminal fits, reused from page to page.

Tiles are created once per grid shape and re-bound to other pictures when the page changes (no
remount, no restyle), and a tile whose thumbnail is cached shows it in the same frame; others
load in the thumbnail pool off the UI thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widget import Widget

from imgreview.triage.items import Item
from imgreview.tui.pictures import Canvas
from imgreview.tui.thumbs import ThumbnailCache
from imgreview.tui.widgets.picture import PictureView

TILE_PIXELS = 256  # longest side of a tile thumbnail
TILE_WIDTH = 24  # cells, border included
TILE_HEIGHT = 13
PICTURE_CELLS = (TILE_WIDTH - 2, TILE_HEIGHT - 4)  # the picture area of a tile: inside the border, above the caption
MARK_BADGES = {
    "unwanted": ("UNWANTED", "bold white on red"),
    "wanted": ("wanted", "bold black on green"),
    "relabel": ("→ ", "bold black on yellow"),
    "stale": ("STALE", "bold black on yellow"),
    "undecided": ("", ""),
}
ISSUE_SHORT = {"dark": "dark", "light": "light", "blurry": "blur", "low_information": "flat",
               "odd_aspect_ratio": "shape", "odd_size": "small", "grayscale": "grey"}


class TileClicked(Message):
    def __init__(self, slot: int, double: bool = False) -> None:
        super().__init__()
        self.slot = slot
        self.double = double


def caption(item: Item, mark: str, to: str | None, probability: float | None, width: int) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    badge, style = MARK_BADGES.get(mark, (mark, ""))
    if mark == "relabel":
        badge = f"→ {to or '?'}"
    if badge:
        t.append(f" {badge} ", style=style)
        t.append(" ")
    for issue in item.issues:
        t.append(ISSUE_SHORT.get(issue, issue), style="bold magenta")
        t.append(" ")
    if item.outlier >= 2.0:
        t.append("odd ", style="bold cyan")
    if probability is not None:
        t.append(f"{probability:.0%}", style="bold red" if probability >= 0.5 else "dim")
    t.append("\n")
    t.append(item.name[: max(4, width)], style="bold" if mark == "undecided" else "dim")
    return t


class Caption(Widget):
    """Two lines of text; changing them repaints the widget only (no layout pass)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = Text()

    def show(self, text: Text) -> None:
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        return self.text


class Tile(Vertical):
    def __init__(self, slot: int, canvas: Canvas, thumbs: ThumbnailCache) -> None:
        super().__init__(classes="tile")
        self.slot = slot
        self.canvas = canvas
        self.thumbs = thumbs
        self.item: Item | None = None
        self.want: tuple[str, str] | None = None
        self.caption = Caption(classes="tile-caption")
        self.mark = ""
        self.picture = PictureView(canvas, classes="tile-picture")

    def compose(self) -> ComposeResult:
        yield self.picture
        yield self.caption

    def bind(self, item: Item | None, mark: str = "undecided", to: str | None = None,
             probability: float | None = None) -> None:
        self.item = item
        if self.display != (item is not None):
            self.display = item is not None
        if item is None:
            return
        if mark != self.mark:
            for name in MARK_BADGES:
                self.set_class(mark == name, f"-{name}")
            self.mark = mark
        self.caption.show(caption(item, mark, to, probability, TILE_WIDTH - 4))
        key = (item.path, item.digest)
        if self.want == key:
            return
        self.want = key
        if not self.canvas.pictures:
            self.picture.show(None, "")
            return
        cols, rows = PICTURE_CELLS
        cached = self.thumbs.member_picture(item.path, item.digest, cols, rows, size=TILE_PIXELS)
        if cached is not None:
            self.picture.show(cached)
            return
        self.picture.show(None, "…")
        future = self.thumbs.request_member(item.path, item.digest, cols, rows, size=TILE_PIXELS)
        self.run_worker(self._wait(future, key), group=f"tile-{self.slot}", exclusive=True)

    async def _wait(self, future: Any, key: tuple[str, str]) -> None:
        rendered = await asyncio.wrap_future(future)
        if self.want == key:
            self.picture.show(rendered)

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(TileClicked(self.slot, double=getattr(event, "chain", 1) >= 2))


class TriageGrid(Container):
    """A grid of :class:`Tile`; :attr:`capacity` tiles fit the widget's current size."""

    def __init__(self, canvas: Canvas, thumbs: ThumbnailCache, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.canvas = canvas
        self.thumbs = thumbs
        self.tiles: list[Tile] = []
        self.shape = (0, 0)

    def fit(self, width: int, height: int) -> tuple[int, int]:
        return max(1, width // TILE_WIDTH), max(1, height // TILE_HEIGHT)

    @property
    def capacity(self) -> int:
        return self.shape[0] * self.shape[1]

    async def reshape(self, width: int, height: int) -> bool:
        """Make one tile per grid cell for this size; True when the shape changed."""
        shape = self.fit(width, height)
        if shape == self.shape:
            return False
        self.shape = shape
        cols, rows = shape
        self.styles.grid_size_columns = cols
        self.styles.grid_size_rows = rows
        need = cols * rows
        if len(self.tiles) < need:
            new = [Tile(k, self.canvas, self.thumbs) for k in range(len(self.tiles), need)]
            self.tiles.extend(new)
            await self.mount_all(new)
        elif len(self.tiles) > need:
            extra = self.tiles[need:]
            self.tiles = self.tiles[:need]
            await self.remove_children(extra)
        return True

    def focus_slot(self, slot: int) -> None:
        for t in self.tiles:
            if t.has_class("-focused") != (t.slot == slot):
                t.set_class(t.slot == slot, "-focused")
