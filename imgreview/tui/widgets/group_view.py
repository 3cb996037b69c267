"""The main area: the group's title line and its image cards side by side (scrolls sideways)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import HorizontalScroll, Vertical
from textual.widgets import Static

from imgreview.decisions.keeper import highlights
from imgreview.text import human_bytes
from imgreview.tui.state import ReviewState
from imgreview.tui.thumbs import ThumbnailCache
from imgreview.tui.widgets.card import ImageCard

MIN_CARD = 34  # columns


class CardStrip(HorizontalScroll, can_focus=False):
    """The cards side by side; keys belong to the app, so the strip never takes focus."""


class GroupView(Vertical):
    def __init__(self, state: ReviewState, widget_cls: Any, thumbs: ThumbnailCache, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.widget_cls = widget_cls
        self.thumbs = thumbs
        self.group_index: int | None = None
        self.focused_member = 0

    def compose(self) -> ComposeResult:
        yield Static(id="group-title")
        yield CardStrip(id="cards")
        yield Static("No duplicate groups here: nothing to review.", id="empty")

    @property
    def cards(self) -> list[ImageCard]:
        return list(self.query(ImageCard))

    def title_text(self, gi: int) -> Text:
        g, st = self.state.groups[gi], self.state.status[gi]
        t = Text()
        t.append(f"Group {g.id}", style="bold")
        t.append(f"  {'exact copies' if g.kind == 'exact' else 'near duplicates'}", style="cyan")
        t.append(f"  ·  {len(g.members)} files")
        if g.kind != "exact":
            t.append(f"  ·  max distance {g.max_distance}")
        t.append(f"  ·  up to {human_bytes(g.reclaimable_bytes)} reclaimable")
        if g.label_conflict:
            t.append("  LABEL CONFLICT", style="bold red")
        if g.split_leak:
            t.append("  SPLIT LEAK", style="bold red")
        if st.distinct:
            t.append("  marked NOT duplicates", style="bold cyan")
        elif st.decided:
            t.append("  decided", style="green")
        t.append(f"\nsuggested keeper: {self.state.suggestion_reason(gi)}", style="dim")
        return t

    async def show_group(self, gi: int | None, member: int = 0) -> None:
        scroller = self.query_one("#cards", HorizontalScroll)
        self.query_one("#empty").display = gi is None
        scroller.display = gi is not None
        self.query_one("#group-title").display = gi is not None
        self.group_index = gi
        if gi is None:
            self.query_one("#empty", Static).update(
                "No duplicate groups here: nothing to review." if not len(self.state)
                else "No group matches this filter: press v or 1 to see all groups.")
            await scroller.remove_children()
            return
        g = self.state.groups[gi]
        marks = highlights(g.members)
        best = self.state.suggested(gi)
        actions = [self.state.action(m) for m in g.members]
        existing = self.cards
        with self.app.batch_update():  # one repaint for the whole swap
            self.query_one("#group-title", Static).update(self.title_text(gi))
            for k, card in enumerate(existing):
                if k < len(g.members):
                    card.bind(g, k, actions[k], k == best, marks)
                    card.display = True
                else:
                    card.display = False
            new = [ImageCard(g, k, self.widget_cls, self.thumbs, actions[k], k == best, marks)
                   for k in range(len(existing), len(g.members))]
            if new:
                await scroller.mount_all(new)
            self.size_cards()
            self.focus_member(min(member, len(g.members) - 1))

    @property
    def shown_cards(self) -> list[ImageCard]:
        n = 0 if self.group_index is None else len(self.state.groups[self.group_index].members)
        return self.cards[:n]

    def size_cards(self, cards: list[ImageCard] | None = None) -> None:
        """Share the width between the cards; below MIN_CARD columns each, the strip scrolls."""
        cards = self.shown_cards if cards is None else cards
        if not cards:
            return
        available = self.size.width or self.app.size.width
        width = max(MIN_CARD, available // len(cards))
        for card in cards:
            card.styles.width = width

    def on_resize(self) -> None:
        self.size_cards()

    def focus_member(self, k: int) -> None:
        cards = self.shown_cards
        if not cards:
            return
        k = max(0, min(k, len(cards) - 1))
        self.focused_member = k
        for card in cards:
            card.set_class(card.index == k, "-focused")
        cards[k].scroll_visible(animate=False)

    def refresh_decisions(self) -> None:
        gi = self.group_index
        if gi is None:
            return
        for card in self.shown_cards:
            card.set_action(self.state.action(card.member))
        self.query_one("#group-title", Static).update(self.title_text(gi))
