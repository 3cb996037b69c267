"""One picture, centred in its area: the zoom, flip and difference screens (line API, no layout passes)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from imgreview.tui import kitty
from imgreview.tui.pictures import Canvas, Rendered


def sixel_segment(rendered: Rendered, x: int, y: int) -> Segment:
    """Save the cursor, draw ``rendered`` with its top-left at screen cell (x, y), restore the cursor.

    A control segment (no cells): Textual keeps it in place and Rich leaves its text alone.
    """
    return Segment(f"\x1b7\x1b[{y + 1};{x + 1}H{rendered.sixel}\x1b8", None, [(1, 0)])  # type: ignore[list-item]


def inject_sixels(strips: list[Strip], crop: Region, origin_x: int, origin_y: int,
                  pictures: list[tuple[Region, Rendered]]) -> list[Strip]:
    """Append each Sixel picture that overlaps ``crop`` to the last line of it that ``crop`` covers.

    Every cell under a picture is written as a space in the same frame before the picture is drawn,
    so nothing of an earlier picture survives where this one does not reach.
    """
    for region, rendered in pictures:
        if not rendered.sixel or not crop.overlaps(region):
            continue
        last = min(region.bottom, crop.bottom) - 1 - crop.y
        if not 0 <= last < len(strips):
            continue
        seg = sixel_segment(rendered, origin_x + region.x, origin_y + region.y)
        strips[last] = Strip([*strips[last], seg], strips[last].cell_length)
    return strips


def inject_kitty(strips: list[Strip], app: object, owner: object,
                 pictures: Sequence[tuple[Hashable, Region, Rendered]], origin_x: int, origin_y: int) -> list[Strip]:
    """Put the Kitty commands that make ``owner``'s placements ``pictures`` (slot, region, picture)
    in front of the first line Textual writes for it (nothing when nothing changed)."""
    wanted = {slot: kitty.Wanted(("kitty", r.serial), r.kitty, r.pixels, origin_x + region.x, origin_y + region.y)
              for slot, region, r in pictures if r.kitty}
    commands = kitty.layer_of(app).update(owner, wanted)
    if commands and strips:
        control = Segment(commands, None, [(1, 0)])  # type: ignore[list-item]
        strips[0] = Strip([control, *strips[0]], strips[0].cell_length)
    return strips


class PictureView(Widget, can_focus=False):
    DEFAULT_CSS = """
    PictureView { width: 1fr; height: 1fr; }
    """

    def __init__(self, canvas: Canvas, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.canvas = canvas
        self.rendered: Rendered | None = None
        self.text = ""

    def show(self, rendered: Rendered | None, text: str = "") -> None:
        self.rendered = rendered
        self.text = text
        self.refresh()

    @property
    def box(self) -> tuple[int, int]:
        return max(1, self.size.width), max(1, self.size.height)

    def _region(self) -> Region | None:
        r = self.rendered
        if r is None:
            return None
        w, h = self.size
        return Region(max(0, (w - r.cols) // 2), max(0, (h - r.rows) // 2), min(r.cols, w), min(r.rows, h))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        region = self._region()
        r = self.rendered
        if r is not None and region is not None and r.strips and region.y <= y < region.bottom:
            row = r.strips[y - region.y].crop(0, region.width)
            return Strip([Segment(" " * region.x, base), *row]).adjust_cell_length(width, base)
        if (r is None or not self.canvas.pictures) and y == self.size.height // 2 and self.text:
            t = self.text[:width]
            left = (width - len(t)) // 2
            return Strip([Segment(" " * left, base), Segment(t, base + Style(dim=True))]).adjust_cell_length(
                width, base)
        return Strip.blank(width, base)

    def render_lines(self, crop: Region) -> list[Strip]:
        strips = super().render_lines(crop)
        region = self._region()
        if not self.screen.is_active:
            return strips
        origin = self.content_region.offset
        if self.canvas.mode == "kitty":
            shown = [] if region is None or self.rendered is None else [(0, region, self.rendered)]
            return inject_kitty(strips, self.app, self, shown, origin.x, origin.y)
        if self.canvas.mode != "sixel" or region is None or self.rendered is None:
            return strips
        return inject_sixels(strips, crop, origin.x, origin.y, [(region, self.rendered)])

    def hide_pictures(self) -> None:
        """Kitty: take this view's picture off the screen (its screen is covered or closed)."""
        if self.canvas.mode == "kitty":
            kitty.write(self.app, kitty.layer_of(self.app).hide(self))


class PictureLines(Widget):
    """A widget that draws picture cells itself, line by line (the review's cards, the triage grid)."""

    def get_line_filters(self) -> Sequence[LineFilter]:
        """The app's filters without the ANSI-to-truecolor one: picture cells are truecolor already, and
        running thousands of distinct cell styles a frame through its small style cache cost more
        than the rest of a group or page change. (Dim and no-colour filters still apply.)"""
        return [f for f in super().get_line_filters() if not isinstance(f, ANSIToTruecolor)]
