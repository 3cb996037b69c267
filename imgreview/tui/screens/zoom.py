"""Zoom (one image full screen with all its facts) and flip (two images alternately in one place)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from imgreview.decisions.keeper import highlights
from imgreview.tui.thumbs import ZOOM_PIXELS
from imgreview.tui.widgets.card import Picture, facts

if TYPE_CHECKING:
    from imgreview.tui.app import ReviewApp


class ZoomScreen(Screen[int]):
    """Dismisses with the index of the member shown last (the app focuses it)."""

    BINDINGS = [
        Binding("escape,z,q,enter", "close", "back"),
        Binding("left,h", "move(-1)", "prev image"),
        Binding("right,l", "move(1)", "next image"),
        Binding("k", "decide('keep')", "keep"),
        Binding("d,delete", "decide('delete')", "delete"),
        Binding("space", "decide('toggle')", "toggle", show=False),
        Binding("f", "flip", "flip"),
    ]

    def __init__(self, gi: int, member: int) -> None:
        super().__init__()
        self.gi = gi
        self.member = member

    @property
    def review(self) -> ReviewApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        g = self.review.state.groups[self.gi]
        with Horizontal(id="zoom-body"):
            yield Picture(self.review.renderer.widget, self.review.thumbs, g.members[self.member], ZOOM_PIXELS,
                          id="zoom-picture")
            with VerticalScroll(id="zoom-facts"):
                yield Static(id="zoom-title", classes="screen-title")
                yield Static(id="zoom-text")
        yield Footer()

    def on_mount(self) -> None:
        self.update_facts()

    def update_facts(self) -> None:
        state = self.review.state
        g = state.groups[self.gi]
        m = g.members[self.member]
        self.query_one("#zoom-title", Static).update(
            Text(f"Group {g.id} · image {self.member + 1} of {len(g.members)}", style="bold"))
        self.query_one("#zoom-text", Static).update(
            facts(m, g, self.member, state.action(m), self.member == state.suggested(self.gi), highlights(g.members),
                  full=True))

    def action_move(self, step: int) -> None:
        g = self.review.state.groups[self.gi]
        self.member = (self.member + step) % len(g.members)
        self.query_one("#zoom-picture", Picture).show_member(g.members[self.member])
        self.update_facts()

    def action_decide(self, what: str) -> None:
        self.review.decide_member(self.gi, self.member, what)
        self.update_facts()

    def action_flip(self) -> None:
        self.dismiss(self.member)
        self.review.call_later(self.review.action_flip)

    def action_close(self) -> None:
        self.dismiss(self.member)


class FlipScreen(Screen[int]):
    """Shows image A and image B alternately in the same place; ←/→ choose B."""

    BINDINGS = [
        Binding("escape,f,q", "close", "back"),
        Binding("space", "pause", "pause/run"),
        Binding("period", "swap", "swap now"),
        Binding("left,h", "other(-1)", "other B"),
        Binding("right,l", "other(1)", "other B"),
    ]
    INTERVAL = 0.8

    def __init__(self, gi: int, a: int, b: int) -> None:
        super().__init__()
        self.gi = gi
        self.a = a
        self.b = b
        self.showing_a = True
        self.paused = False

    @property
    def review(self) -> ReviewApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        g = self.review.state.groups[self.gi]
        yield Static(id="flip-title", classes="screen-title")
        yield Picture(self.review.renderer.widget, self.review.thumbs, g.members[self.a], ZOOM_PIXELS,
                      id="flip-picture")
        yield Footer()

    def on_mount(self) -> None:
        g = self.review.state.groups[self.gi]
        self.review.thumbs.prefetch([(g.members[self.b].path, g.members[self.b].digest)], ZOOM_PIXELS)
        self.update_title()
        self.timer = self.set_interval(self.INTERVAL, self.action_swap)

    def shown(self) -> int:
        return self.a if self.showing_a else self.b

    def update_title(self) -> None:
        g = self.review.state.groups[self.gi]
        m = g.members[self.shown()]
        t = Text()
        t.append(" A " if self.showing_a else " B ", style="bold reverse")
        t.append(f"  {m.relpath}  {m.width}×{m.height}  {m.format}", style="bold")
        other = g.members[self.b if self.showing_a else self.a]
        t.append(f"   (flipping with {other.relpath})", style="dim")
        if self.paused:
            t.append("  paused", style="yellow")
        self.query_one("#flip-title", Static).update(t)

    def action_swap(self) -> None:
        self.showing_a = not self.showing_a
        g = self.review.state.groups[self.gi]
        self.query_one("#flip-picture", Picture).show_member(g.members[self.shown()])
        self.update_title()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.timer.pause()
        else:
            self.timer.resume()
        self.update_title()

    def action_other(self, step: int) -> None:
        n = len(self.review.state.groups[self.gi].members)
        b = self.b
        for _ in range(n):
            b = (b + step) % n
            if b != self.a:
                break
        self.b = b
        self.showing_a = True
        g = self.review.state.groups[self.gi]
        self.query_one("#flip-picture", Picture).show_member(g.members[self.a])
        self.review.thumbs.prefetch([(g.members[b].path, g.members[b].digest)], ZOOM_PIXELS)
        self.update_title()

    def action_close(self) -> None:
        self.dismiss(self.a)
