"""The group's files as a grid of cards, drawn by one line-API widget.

One widget draws every card (frame, picture, facts), so showing another group is one
:meth:`CardGrid.show` and one repaint: no widgets are mounted, restyled or laid out, and the
pictures come ready-made from the :class:`~imgreview.tui.thumbs.PictureCache` (half-cell strips
or Sixel strings rendered in worker threads). The grid is fitted to the terminal and to the
pictures' aspect; when a big group does not fit, it pages, and the suggested keeper stays pinned
as the first card of every page.

A card's treatment says its decision: DELETE cards have a red frame, a red badge and a dimmed
picture; KEEP cards a green frame and badge; the focused card a heavy frame in a colour that means
nothing else (cyan).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.strip import Strip

from imgreview.model import Group, Member
from imgreview.tui import kitty
from imgreview.tui.messages import CardClicked
from imgreview.tui.pictures import Canvas, Rendered, fit
from imgreview.tui.widgets.picture import PictureLines, inject_kitty, inject_sixels

FACT_LINES = 5
MIN_CARD_W = 24
MIN_CARD_H = 12
FOCUS = Style(color="bright_cyan", bold=True)
FRAME = {
    "keep": Style(color="green"),
    "delete": Style(color="red"),
    "undecided": Style(color="grey50"),
    "stale": Style(color="yellow"),
}
BADGE = {
    "keep": ("KEEP", Style(color="black", bgcolor="green", bold=True)),
    "delete": ("DELETE", Style(color="white", bgcolor="red", bold=True)),
    "undecided": ("undecided", Style(dim=True)),
    "stale": ("STALE: changed since decided", Style(color="black", bgcolor="yellow", bold=True)),
}
BOX = {False: "╭╮╰╯─│", True: "┏┓┗┛━┃"}


@dataclass(slots=True)
class Card:
    """What one card shows."""

    index: int  # member index in the group
    member: Member
    action: str
    suggested: bool
    facts: Text
    problem: str = ""  # "missing since the scan", "unreadable: ..."


@dataclass(frozen=True, slots=True)
class Layout:
    cols: int
    rows: int
    card_w: int
    card_h: int
    fact_lines: int

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    @property
    def picture(self) -> tuple[int, int]:
        """Cells of the picture area inside a card."""
        return max(1, self.card_w - 4), max(1, self.card_h - 2 - self.fact_lines)


def plan(n: int, aspect: float, size: tuple[int, int], cell: tuple[int, int] = (10, 20)) -> Layout:
    """The grid for ``n`` cards of pictures ``aspect`` (w/h) wide in ``size`` cells: the largest pictures
    that show every card, else pages of as many cards as fit at the minimum size."""
    width, height = size
    facts = FACT_LINES if height >= 20 else 3
    n = max(1, n)
    best: tuple[float, Layout] | None = None
    for cols in range(1, n + 1):
        card_w = width // cols
        if card_w < MIN_CARD_W and cols > 1:
            break
        rows = math.ceil(n / cols)
        fit_rows = max(1, min(rows, height // MIN_CARD_H)) if height >= MIN_CARD_H else 1
        card_h = height // fit_rows
        layout = Layout(cols, fit_rows, card_w, card_h, facts)
        pw, ph = layout.picture
        w, h = fit((int(aspect * 1000), 1000), (pw * cell[0], ph * cell[1]))
        shown = min(n, cols * fit_rows)
        # every card on screen first, then the biggest pictures, then fewer empty slots
        score = (shown / n) * 1e9 + w * h * shown - (cols * fit_rows - shown) * 10
        if best is None or score > best[0]:
            best = (score, layout)
    assert best is not None
    return best[1]


@dataclass(slots=True)
class _Placed:
    card: Card
    region: Region  # in widget cells
    picture: Region  # the picture area (widget cells)
    rendered: Rendered | None
    focused: bool
    position: str


class CardGrid(PictureLines, can_focus=False):
    """All cards of the group on screen; ``pictures(card, cols, rows)`` supplies ready pictures."""

    DEFAULT_CSS = """
    CardGrid { width: 1fr; height: 1fr; }
    """

    def __init__(self, canvas: Canvas, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.canvas = canvas
        self.cards: list[Card] = []
        self.focus_index = 0  # position in self.cards
        self.aspect = 4 / 3
        self.layout_: Layout | None = None
        self.pictures: dict[int, Rendered | None] = {}  # member index -> rendered picture (None: not ready)
        self._placed: list[_Placed] = []
        self._arranged_for: Size | None = None  # the size the cards were placed for
        self._lines: dict[int, Strip] = {}
        self._facts: dict[tuple[int, int, int], list[Strip]] = {}
        self._base = Style()
        self.empty_text = ""

    # ------------------------------------------------------------------ content
    def plan_for(self, n: int, aspect: float, size: Size | None = None) -> Layout:
        size = size or self.size
        return plan(n, aspect, (size.width, size.height), self.canvas.cell)

    def show(self, cards: Sequence[Card], focus: int, aspect: float,
             pictures: dict[int, Rendered | None]) -> None:
        self.cards = list(cards)
        self.focus_index = max(0, min(focus, len(self.cards) - 1))
        self.aspect = aspect
        self.pictures = dict(pictures)
        self._facts.clear()
        self._arrange()

    def set_picture(self, index: int, rendered: Rendered | None) -> None:
        self.pictures[index] = rendered
        for p in self._placed:
            if p.card.index == index:
                self._arrange()
                return

    def update_cards(self, cards: Sequence[Card]) -> None:
        """New decisions or facts, same members (no new pictures unless the dimming changed)."""
        self.cards = list(cards)
        self._facts.clear()
        self._arrange()

    def set_focus(self, position: int) -> None:
        if not self.cards:
            return
        self.focus_index = max(0, min(position, len(self.cards) - 1))
        self._arrange()

    @property
    def layout_now(self) -> Layout:
        return self.layout_ or self.plan_for(len(self.cards), self.aspect)

    def visible_positions(self) -> list[int]:
        """Positions (in self.cards) of the cards on screen: the focused card's page, ★ pinned."""
        n = len(self.cards)
        if not n:
            return []
        per = self.layout_now.per_page
        if n <= per:
            return list(range(n))
        star = next((k for k, c in enumerate(self.cards) if c.suggested), None)
        rest = [k for k in range(n) if k != star]
        slots = per - (1 if star is not None else 0)
        focus = self.focus_index
        page = 0 if focus == star else rest.index(focus) // max(1, slots)
        shown = rest[page * slots:(page + 1) * slots]
        return ([star] if star is not None else []) + shown

    def _arrange(self) -> None:
        self._place()
        self.refresh()

    def _place(self) -> None:
        """Place the cards (and their pictures) for the widget's size."""
        self._lines.clear()
        self._base = self.rich_style  # computed once per arrangement, not per line
        self._placed = []
        self._arranged_for = self.size
        if not self.cards or not self.size.width:
            return
        self.layout_ = layout = self.plan_for(len(self.cards), self.aspect)
        pw, ph = layout.picture
        for slot, pos in enumerate(self.visible_positions()):
            card = self.cards[pos]
            r, c = divmod(slot, layout.cols)
            region = Region(c * layout.card_w, r * layout.card_h, layout.card_w, layout.card_h)
            rendered = self.pictures.get(card.index)
            if rendered is not None:
                x = region.x + 2 + max(0, (pw - rendered.cols) // 2)
                y = region.y + 1 + max(0, (ph - rendered.rows) // 2)
                picture = Region(x, y, min(rendered.cols, pw), min(rendered.rows, ph))
            else:
                picture = Region(region.x + 2, region.y + 1, pw, ph)
            self._placed.append(_Placed(card, region, picture, rendered, pos == self.focus_index,
                                        f"{pos + 1} of {len(self.cards)}"))

    def on_resize(self, event: events.Resize) -> None:
        if self._arranged_for != self.size:  # not already placed when the new size was first drawn
            self._arrange()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = self.rich_style
        self._lines.clear()
        self._facts.clear()

    # ------------------------------------------------------------------ drawing
    def _card_line(self, p: _Placed, ly: int) -> list[Segment]:
        w = p.region.width
        focused = p.focused
        box = BOX[focused]
        frame = FOCUS if focused else FRAME.get(p.card.action, FRAME["undecided"])
        base = self._base
        if ly == 0:
            title = f" {p.position} "
            segs = [Segment(box[0] + box[4], frame), Segment(title, frame)]
            used = 2 + len(title)
            if p.card.suggested:
                star = " ★ suggested "
                segs.append(Segment(star, Style(color="black", bgcolor="green", bold=True)))
                used += len(star)
            segs.append(Segment(box[4] * max(0, w - used - 1) + box[1], frame))
            return segs
        if ly == p.region.height - 1:
            return [Segment(box[2] + box[4] * (w - 2) + box[3], frame)]
        inner = w - 2
        y = p.region.y + ly
        content: list[Segment]
        pic = p.picture
        fact_top = p.region.y + p.region.height - 1 - self.layout_now.fact_lines
        if y < fact_top:
            content = [Segment(" " * inner, base)]
            if p.rendered is not None and p.rendered.strips and pic.y <= y < pic.bottom:
                row = p.rendered.strips[y - pic.y]
                left = pic.x - p.region.x - 1
                content = [Segment(" " * left, base), *row.crop(0, pic.width),
                           Segment(" " * max(0, inner - left - pic.width), base)]
            elif p.rendered is None and y == p.region.y + 1 + (fact_top - p.region.y - 1) // 2:
                text = p.card.problem or ("loading…" if self.canvas.pictures else "")
                style = Style(color="red", bold=True) if p.card.problem else Style(dim=True)
                text = text[:inner]
                left = (inner - len(text)) // 2
                content = [Segment(" " * left, base), Segment(text, base + style),
                           Segment(" " * (inner - left - len(text)), base)]
        else:
            k = y - fact_top
            lines = self._fact_strips(p)
            strip = lines[k] if k < len(lines) else Strip.blank(inner, base)
            content = list(strip)
        return [Segment(box[5], frame), *content, Segment(box[5], frame)]

    def _fact_strips(self, p: _Placed) -> list[Strip]:
        inner = p.region.width - 2
        key = (p.card.index, inner, id(p.card.facts))
        cached = self._facts.get(key)
        if cached is not None:
            return cached
        console = self.app.console
        lines_n = self.layout_now.fact_lines
        options = console.options.update(width=inner, height=lines_n, no_wrap=True, overflow="ellipsis")
        lines = console.render_lines(p.card.facts, options, style=self._base, pad=True)
        strips = [Strip(line, inner).adjust_cell_length(inner, self._base) for line in lines][:lines_n]
        self._facts[key] = strips
        return strips

    def render_line(self, y: int) -> Strip:
        strip = self._lines.get(y)
        if strip is not None:
            return strip
        width = self.size.width
        base = self._base
        segments: list[Segment] = []
        x = 0
        for p in sorted((p for p in self._placed if p.region.y <= y < p.region.bottom), key=lambda p: p.region.x):
            if p.region.x > x:
                segments.append(Segment(" " * (p.region.x - x), base))
            segments.extend(self._card_line(p, y - p.region.y))
            x = p.region.right
        if not self._placed and y == self.size.height // 2 and self.empty_text:
            t = self.empty_text[:width]
            segments.append(Segment(" " * ((width - len(t)) // 2), base))
            segments.append(Segment(t, base + Style(dim=True)))
        strip = Strip(segments).adjust_cell_length(width, base)
        self._lines[y] = strip
        return strip

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._arranged_for != self.size:
            # the first drawing at a new size (the first layout, before the Resize event is handled):
            # the cards are placed now, so that this drawing shows them and the Resize needs no other
            self._place()
        strips = super().render_lines(crop)
        if self.canvas.mode not in ("sixel", "kitty") or not self.screen.is_active:
            return strips
        origin = self.content_region.offset  # screen position of the widget's first cell
        if self.canvas.mode == "kitty":
            shown = [(p.card.index, p.picture, p.rendered) for p in self._placed if p.rendered is not None]
            return inject_kitty(strips, self.app, self, shown, origin.x, origin.y)
        placed = [(p.picture, p.rendered) for p in self._placed if p.rendered is not None]
        return inject_sixels(strips, crop, origin.x, origin.y, placed)

    def hide_pictures(self) -> None:
        """Kitty: take the cards' pictures off the screen (the review is covered by another screen)."""
        if self.canvas.mode == "kitty":
            kitty.write(self.app, kitty.layer_of(self.app).hide(self))

    # ------------------------------------------------------------------ mouse
    def on_click(self, event: events.Click) -> None:
        event.stop()
        for p in self._placed:
            if p.region.contains(event.x, event.y):
                self.post_message(CardClicked(p.card.index, double=getattr(event, "chain", 1) >= 2))
                return

    def position_of(self, member_index: int) -> int | None:
        return next((k for k, c in enumerate(self.cards) if c.index == member_index), None)

    @property
    def focused_member(self) -> int | None:
        if not self.cards:
            return None
        return self.cards[self.focus_index].index

    def shown_members(self) -> list[int]:
        return [p.card.index for p in self._placed]

    def picture_boxes(self) -> dict[int, tuple[int, int]]:
        pw, ph = self.layout_now.picture
        return {c.index: (pw, ph) for c in self.cards}


def aspect_of(group: Group) -> float:
    """The typical width/height of the group's pictures (the median member)."""
    ratios = sorted(m.width / m.height for m in group.members if m.width and m.height)
    return ratios[len(ratios) // 2] if ratios else 4 / 3
