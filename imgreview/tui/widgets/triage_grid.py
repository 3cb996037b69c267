"""The triage grid: as many picture tiles as the terminal fits, drawn by one line-API widget.

One widget draws every tile (frame, picture, two caption lines), so showing the next page is one
:meth:`TriageGrid.show` and one repaint: no widget is mounted, restyled or laid out. Lines are
built once per page and cached; a mark or a focus move rebuilds and repaints only the rows of the
tiles that changed. Pictures come ready-made from the :class:`~imgreview.tui.thumbs.ThumbnailCache`
(half-cell strips or Sixel strings rendered in its worker threads); a tile whose picture is not
rendered yet says so and is redrawn alone when it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip

from imgreview.triage.items import Item
from imgreview.tui.pictures import Canvas, Rendered
from imgreview.tui.thumbs import ThumbnailCache
from imgreview.tui.widgets.picture import PictureLines, inject_sixels

TILE_PIXELS = 256  # longest side of a tile thumbnail
TILE_WIDTH = 24  # cells, frame included
TILE_HEIGHT = 13
CAPTION_LINES = 2
PICTURE_CELLS = (TILE_WIDTH - 2, TILE_HEIGHT - 2 - CAPTION_LINES)  # inside the frame, above the caption
MARK_BADGES = {
    "unwanted": ("UNWANTED", "bold white on red"),
    "wanted": ("wanted", "bold black on green"),
    "relabel": ("→ ", "bold black on yellow"),
    "stale": ("STALE", "bold black on yellow"),
    "undecided": ("", ""),
}
FRAME = {
    "unwanted": Style(color="red"),
    "wanted": Style(color="green"),
    "relabel": Style(color="yellow"),
    "stale": Style(color="yellow"),
    "undecided": Style(color="grey42"),
}
FOCUS = Style(color="bright_cyan", bold=True)  # a focused tile not marked yet
BOX = {False: "╭╮╰╯─│", True: "┏┓┗┛━┃"}  # round frame; heavy when focused
ISSUE_SHORT = {"dark": "dark", "light": "light", "blurry": "blur", "low_information": "flat",
               "odd_aspect_ratio": "shape", "odd_size": "small", "grayscale": "grey"}


class TileClicked(Message):
    def __init__(self, slot: int, double: bool = False) -> None:
        super().__init__()
        self.slot = slot
        self.double = double


def caption(item: Item, mark: str, to: str | None, probability: float | None) -> list[list[tuple[str, str]]]:
    """The two caption lines of a tile as (text, style) runs: mark badge, quality flags, "odd" for an
    outlier, the suggestion's probability; then the file name."""
    first: list[tuple[str, str]] = []
    badge, style = MARK_BADGES.get(mark, (mark, ""))
    if mark == "relabel":
        badge = f"→ {to or '?'}"
    if badge:
        first += [(f" {badge} ", style), (" ", "")]
    for issue in item.issues:
        first += [(ISSUE_SHORT.get(issue, issue), "bold magenta"), (" ", "")]
    if item.outlier >= 2.0:
        first.append(("odd ", "bold cyan"))
    if probability is not None:
        first.append((f"{probability:.0%}", "bold red" if probability >= 0.5 else "dim"))
    return [first, [(item.name, "bold" if mark == "undecided" else "dim")]]


def runs_strip(runs: list[tuple[str, str]], width: int, base: Style) -> Strip:
    """One line of ``runs`` on ``base``, exactly ``width`` cells: cut with an ellipsis when longer."""
    segments = [Segment(text, base + Style.parse(style) if style else base) for text, style in runs]
    strip = Strip(segments)
    if strip.cell_length > width:
        strip = Strip([*strip.crop(0, width - 1), Segment("…", base)])
    return strip.adjust_cell_length(width, base)


@dataclass(frozen=True, slots=True)
class TileView:
    """What one tile shows: the picture's item, its mark, and its position in the view (from 1)."""

    item: Item
    mark: str = "undecided"
    to: str | None = None
    probability: float | None = None
    position: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return self.item.path, self.item.digest

    def caption_key(self) -> tuple[object, ...]:
        p = None if self.probability is None else round(self.probability, 2)
        return (self.item.path, self.item.digest, self.mark, self.to, p, tuple(self.item.issues),
                self.item.outlier >= 2.0)


class TriageGrid(PictureLines, can_focus=False):
    """A grid of tiles; :attr:`capacity` tiles fit the size given to :meth:`reshape`."""

    DEFAULT_CSS = """
    TriageGrid { width: 1fr; height: 1fr; }
    """

    def __init__(self, canvas: Canvas, thumbs: ThumbnailCache, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.canvas = canvas
        self.thumbs = thumbs
        self.shape = (0, 0)
        self.views: list[TileView | None] = []
        self.current = 0  # the focused slot
        self.pictures: dict[int, Rendered | None] = {}  # slot -> rendered picture (None: not ready)
        self._wanted: dict[int, tuple[str, str]] = {}  # slot -> (path, digest) the slot waits for
        self._lines: dict[int, Strip] = {}
        self._captions: dict[tuple[object, ...], list[Strip]] = {}
        self._base = Style()
        self.paints = 0  # full-page repaints asked for (for the tests and the benchmark)

    # ------------------------------------------------------------------ shape
    @staticmethod
    def fit(width: int, height: int) -> tuple[int, int]:
        return max(1, width // TILE_WIDTH), max(1, height // TILE_HEIGHT)

    @property
    def capacity(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def shown(self) -> int:
        """Tiles with a picture on them now."""
        return sum(v is not None for v in self.views)

    def reshape(self, width: int, height: int) -> bool:
        """Fit the grid to ``width`` x ``height`` cells; True when the shape changed."""
        shape = self.fit(width, height)
        if shape == self.shape:
            return False
        self.shape = shape
        self.views = []
        self._forget_all()
        return True

    def tile_region(self, slot: int) -> Region:
        cols = max(1, self.shape[0])
        r, c = divmod(slot, cols)
        return Region(c * TILE_WIDTH, r * TILE_HEIGHT, TILE_WIDTH, TILE_HEIGHT)

    def picture_region(self, slot: int) -> Region:
        """Where the slot's picture is drawn (centred in the picture area), in widget cells."""
        tile = self.tile_region(slot)
        pw, ph = PICTURE_CELLS
        r = self.pictures.get(slot)
        if r is None:
            return Region(tile.x + 1, tile.y + 1, pw, ph)
        return Region(tile.x + 1 + max(0, (pw - r.cols) // 2), tile.y + 1 + max(0, (ph - r.rows) // 2),
                      min(r.cols, pw), min(r.rows, ph))

    # ------------------------------------------------------------------ content
    def show(self, views: Sequence[TileView | None], focus: int) -> None:
        """Show ``views`` (one per slot, None for an empty slot) with ``focus`` the focused slot.

        Only tiles that changed are rebuilt and repainted; a new page repaints once.
        """
        cap = self.capacity
        new = list(views[:cap]) + [None] * max(0, cap - len(views))
        old = self.views + [None] * max(0, cap - len(self.views))
        focus = max(0, min(focus, cap - 1)) if cap else 0
        changed = [k for k in range(cap) if new[k] != old[k] or (focus != self.current and k in (focus, self.current))]
        self.views = new
        self.current = focus
        for k in changed:
            self._bind_picture(k)
        if len(changed) > cap // 2:
            self._forget_all()
            self.paints += 1
            self.refresh()
        else:
            for k in changed:
                self._repaint(k)

    def _bind_picture(self, slot: int) -> None:
        view = self.views[slot]
        if view is None:
            self._wanted.pop(slot, None)
            self.pictures.pop(slot, None)
            return
        if self._wanted.get(slot) == view.key:
            return  # same picture: keep it (only the mark or the focus changed)
        self._wanted[slot] = view.key
        self.pictures[slot] = None
        if not self.canvas.pictures:
            return
        path, digest = view.key
        cols, rows = PICTURE_CELLS
        cached = self.thumbs.member_picture(path, digest, cols, rows, size=TILE_PIXELS)
        if cached is not None:
            self.pictures[slot] = cached
            return
        future = self.thumbs.request_member(path, digest, cols, rows, size=TILE_PIXELS)
        self.run_worker(self._wait(slot, view.key, future), group=f"tile-{slot}", exclusive=True)

    async def _wait(self, slot: int, key: tuple[str, str], future: Future[Rendered]) -> None:
        rendered = await asyncio.wrap_future(future)
        if self._wanted.get(slot) == key:
            self.pictures[slot] = rendered
            self._repaint(slot)

    def _forget_all(self) -> None:
        self._lines.clear()
        self._base = self.rich_style
        if len(self._captions) > 4096:
            self._captions.clear()

    def _repaint(self, slot: int) -> None:
        """Rebuild and repaint the row of tiles ``slot`` is in.

        The whole width, not the tile alone: a Sixel picture rides at the end of a line (a control
        segment after the last cell), and a repaint cropped short of the line's end would drop it.
        """
        region = self.tile_region(slot)
        for y in range(region.y, region.bottom):
            self._lines.pop(y, None)
        self.refresh(Region(0, region.y, max(self.size.width, region.right), region.height))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = self.rich_style
        self._lines.clear()
        self._captions.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._forget_all()

    # ------------------------------------------------------------------ drawing
    def _caption_strips(self, view: TileView) -> list[Strip]:
        key = view.caption_key()
        strips = self._captions.get(key)
        if strips is None:
            lines = caption(view.item, view.mark, view.to, view.probability)
            strips = self._captions[key] = [runs_strip(runs, TILE_WIDTH - 2, self._base) for runs in lines]
        return strips

    def _tile_line(self, slot: int, view: TileView, ly: int) -> list[Segment]:
        focused = slot == self.current
        box = BOX[focused]
        frame = FOCUS if focused and view.mark == "undecided" else FRAME.get(view.mark, FRAME["undecided"])
        if focused:
            frame = frame + Style(bold=True)
        inner = TILE_WIDTH - 2
        base = self._base
        if ly == 0:
            title = f" {view.position} " if view.position else ""
            return [Segment(box[0] + box[4], frame), Segment(title, frame),
                    Segment(box[4] * max(0, inner - 1 - len(title)) + box[1], frame)]
        if ly == TILE_HEIGHT - 1:
            return [Segment(box[2] + box[4] * inner + box[3], frame)]
        side = Segment(box[5], frame)
        ph = PICTURE_CELLS[1]
        if ly > ph:
            strips = self._caption_strips(view)
            k = ly - ph - 1
            return [side, *(strips[k] if k < len(strips) else Strip.blank(inner, base)), side]
        rendered = self.pictures.get(slot)
        py = ly - 1  # row inside the picture area
        if rendered is not None and rendered.strips:
            pic = self.picture_region(slot)
            top = pic.y - self.tile_region(slot).y - 1
            if top <= py < top + pic.height:
                left = pic.x - self.tile_region(slot).x - 1
                row = rendered.strips[py - top].crop(0, pic.width)
                return [side, Segment(" " * left, base), *row,
                        Segment(" " * max(0, inner - left - pic.width), base), side]
        elif rendered is None and self.canvas.pictures and py == ph // 2:
            text = "…"
            left = (inner - len(text)) // 2
            return [side, Segment(" " * left, base), Segment(text, base + Style(dim=True)),
                    Segment(" " * (inner - left - len(text)), base), side]
        return [side, Segment(" " * inner, base), side]

    def render_line(self, y: int) -> Strip:
        strip = self._lines.get(y)
        if strip is not None:
            return strip
        width = self.size.width
        base = self._base
        segments: list[Segment] = []
        cols, rows = self.shape
        r, ly = divmod(y, TILE_HEIGHT)
        if r < rows:
            for c in range(cols):
                slot = r * cols + c
                view = self.views[slot] if slot < len(self.views) else None
                if view is None:
                    segments.append(Segment(" " * TILE_WIDTH, base))
                else:
                    segments.extend(self._tile_line(slot, view, ly))
        strip = Strip(segments).adjust_cell_length(width, base)
        self._lines[y] = strip
        return strip

    def render_lines(self, crop: Region) -> list[Strip]:
        strips = super().render_lines(crop)
        if self.canvas.mode != "sixel" or not self.screen.is_active:
            return strips
        origin = self.content_region.offset  # screen position of the widget's first cell
        placed = [(self.picture_region(k), r) for k, r in self.pictures.items()
                  if r is not None and k < len(self.views) and self.views[k] is not None]
        return inject_sixels(strips, crop, origin.x, origin.y, placed)

    # ------------------------------------------------------------------ mouse
    def slot_at(self, x: int, y: int) -> int | None:
        cols, rows = self.shape
        c, r = x // TILE_WIDTH, y // TILE_HEIGHT
        if not (0 <= c < cols and 0 <= r < rows):
            return None
        slot = r * cols + c
        return slot if slot < len(self.views) and self.views[slot] is not None else None

    def on_click(self, event: events.Click) -> None:
        event.stop()
        slot = self.slot_at(event.x, event.y)
        if slot is not None:
            self.post_message(TileClicked(slot, double=getattr(event, "chain", 1) >= 2))
