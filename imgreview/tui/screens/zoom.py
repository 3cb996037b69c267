"""Zoom (one picture large with all its facts), flip (two pictures alternately in one place) and the
difference view (two pictures aligned side by side with their differences highlighted).

Each screen gets its data through ``__init__`` and dismisses with the index of the member to focus.
Pictures are rendered for the screen's picture area in the thumbnail cache's workers.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
from PIL import Image, ImageChops, ImageOps
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from imgreview.model import Group
from imgreview.tui.facts import card_facts
from imgreview.tui.pictures import Canvas, Rendered
from imgreview.tui.state import ReviewState
from imgreview.tui.thumbs import ZOOM_PIXELS, ThumbnailCache
from imgreview.tui.widgets.picture import PictureView

Decide = Callable[[int, int, str], None]


class _PictureScreen(Screen[int]):
    """Shared: render a member (or a made picture) for a PictureView and show it when ready."""

    def __init__(self, state: ReviewState, thumbs: ThumbnailCache, canvas: Canvas, gi: int) -> None:
        super().__init__()
        self.state = state
        self.thumbs = thumbs
        self.canvas = canvas
        self.gi = gi
        self._want: object = None

    @property
    def group(self) -> Group:
        return self.state.groups[self.gi]

    def _hide_pictures(self) -> None:
        for view in self.query(PictureView):
            view.hide_pictures()

    def on_screen_suspend(self) -> None:
        """Kitty pictures are drawn over the text: they go when another screen covers this one."""
        self._hide_pictures()

    def on_screen_resume(self) -> None:
        for view in self.query(PictureView):
            view.refresh()

    def on_unmount(self) -> None:
        self._hide_pictures()

    def put(self, view: PictureView, key: object, source: Callable[[], Image.Image], text: str = "") -> None:
        """Show ``source()`` in ``view``: at once when rendered before, else when a worker has rendered it."""
        cols, rows = view.box
        full_key = (key, cols, rows, self.canvas)
        self._want = full_key
        if not self.canvas.pictures:
            view.show(None, "(pictures off: --graphics none)")
            return
        cached = self.thumbs.picture(full_key)
        if cached is not None:
            view.show(cached)
            return
        view.show(None, text or "loading…")
        future = self.thumbs.request_picture(full_key, source, cols, rows)

        def done(f: Future[Rendered]) -> None:
            if f.cancelled() or f.exception() is not None:
                return
            try:
                self.app.call_from_thread(self._arrived, view, full_key, f.result())
            except RuntimeError:
                pass

        future.add_done_callback(done)

    def _arrived(self, view: PictureView, key: object, rendered: Rendered) -> None:
        if key == self._want:
            view.show(rendered)

    def member_source(self, k: int) -> Callable[[], Image.Image]:
        m = self.group.members[k]
        thumbs = self.thumbs

        def source() -> Image.Image:
            im = thumbs.get(m.path, m.digest, ZOOM_PIXELS)
            return im if im is not None else thumbs._load((m.path, m.digest, ZOOM_PIXELS))

        return source


class ZoomScreen(_PictureScreen):
    """Dismisses with the index of the member shown last (the review focuses it)."""

    BINDINGS = [
        Binding("escape,z,q,enter", "close", "back"),
        Binding("left,h", "move(-1)", "prev"),
        Binding("right,l", "move(1)", "next"),
        Binding("y", "decide('keep')", "keep"),
        Binding("d,x,delete", "decide('delete')", "delete"),
        Binding("t", "decide('toggle')", "toggle", show=False),
    ]

    def __init__(self, state: ReviewState, thumbs: ThumbnailCache, canvas: Canvas, gi: int, member: int,
                 decide: Decide) -> None:
        super().__init__(state, thumbs, canvas, gi)
        self.member = member
        self.decide = decide

    def compose(self) -> ComposeResult:
        with Horizontal(id="zoom-body"):
            yield PictureView(self.canvas, id="zoom-picture")
            with VerticalScroll(id="zoom-facts"):
                yield Static(id="zoom-title", classes="screen-title")
                yield Static(id="zoom-text")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self.show_member)

    def on_resize(self) -> None:
        self.call_after_refresh(self.show_member)

    def show_member(self) -> None:
        g = self.group
        m = g.members[self.member]
        view = self.query_one("#zoom-picture", PictureView)
        self.put(view, ("zoom", m.path, m.digest), self.member_source(self.member),
                 self.thumbs.errors.get(m.path, ""))
        self.update_facts()

    def update_facts(self) -> None:
        g = self.group
        m = g.members[self.member]
        best = self.state.suggested(self.gi)
        self.query_one("#zoom-title", Static).update(
            Text(f"Group {g.id} · picture {self.member + 1} of {len(g.members)}", style="bold"))
        self.query_one("#zoom-text", Static).update(
            card_facts(m, g, self.member, self.state.action(m), self.member == best,
                       self.thumbs.qualities.get(m.path), self.thumbs.errors.get(m.path, ""), full=True,
                       issues=self.state.issues(m)))

    def action_move(self, step: int) -> None:
        self.member = (self.member + step) % len(self.group.members)
        self.show_member()

    def action_decide(self, what: str) -> None:
        self.decide(self.gi, self.member, what)
        self.update_facts()

    def action_close(self) -> None:
        self.dismiss(self.member)


class FlipScreen(_PictureScreen):
    """Shows picture A and picture B alternately in the same place; ←/→ choose B; ``.`` swaps now."""

    BINDINGS = [
        Binding("escape,f,q", "close", "back"),
        Binding("space", "pause", "pause/run"),
        Binding("full_stop", "swap", "swap now"),
        Binding("left,h", "other(-1)", "other B"),
        Binding("right,l", "other(1)", "other B"),
    ]
    INTERVAL = 0.8

    def __init__(self, state: ReviewState, thumbs: ThumbnailCache, canvas: Canvas, gi: int, a: int, b: int) -> None:
        super().__init__(state, thumbs, canvas, gi)
        self.a = a
        self.b = b
        self.showing_a = True
        self.paused = False

    def compose(self) -> ComposeResult:
        yield Static(id="flip-title", classes="screen-title")
        yield PictureView(self.canvas, id="flip-picture")
        yield Footer()

    def on_mount(self) -> None:
        self.update_title()
        self.call_after_refresh(self.show_shown)
        self.timer = self.set_interval(self.INTERVAL, self.action_swap)

    def shown(self) -> int:
        return self.a if self.showing_a else self.b

    def show_shown(self) -> None:
        view = self.query_one("#flip-picture", PictureView)
        k = self.shown()
        m = self.group.members[k]
        # both pictures at the same size and place: A's box
        self.put(view, ("flip", m.path, m.digest), self.member_source(k))
        other = self.b if self.showing_a else self.a
        om = self.group.members[other]
        cols, rows = view.box
        self.thumbs.request_picture((("flip", om.path, om.digest), cols, rows, self.canvas),
                                    self.member_source(other), cols, rows)

    def update_title(self) -> None:
        g = self.group
        m = g.members[self.shown()]
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" A " if self.showing_a else " B ", style="bold reverse")
        t.append(f"  {m.relpath}  {m.width}×{m.height}  {m.format}", style="bold")
        other = g.members[self.b if self.showing_a else self.a]
        t.append(f"   (flipping with {other.relpath})", style="dim")
        if self.paused:
            t.append("  paused", style="yellow")
        self.query_one("#flip-title", Static).update(t)

    def action_swap(self) -> None:
        self.showing_a = not self.showing_a
        self.show_shown()
        self.update_title()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.timer.pause()
        else:
            self.timer.resume()
        self.update_title()

    def action_other(self, step: int) -> None:
        n = len(self.group.members)
        b = self.b
        for _ in range(n):
            b = (b + step) % n
            if b != self.a:
                break
        self.b = b
        self.showing_a = True
        self.show_shown()
        self.update_title()

    def action_close(self) -> None:
        self.dismiss(self.a)


def difference_picture(a: Image.Image, b: Image.Image, gap: int = 8) -> tuple[Image.Image, float, float]:
    """A and B side by side at the same size, and a third panel: A in grey with the differences in red.

    Returns (picture, mean absolute difference 0..255, share of pixels that differ by more than 24).
    """
    a = a.convert("RGB")
    b = ImageOps.fit(b.convert("RGB"), a.size, Image.Resampling.BILINEAR) if b.size != a.size else b.convert("RGB")
    diff = np.asarray(ImageChops.difference(a, b).convert("L"), dtype=np.float32)
    changed = diff > 24
    grey = np.asarray(a.convert("L"), dtype=np.float32) * 0.5
    heat = np.stack([grey, grey, grey], axis=-1)
    strength = np.clip(diff / 96.0, 0, 1)
    heat[..., 0] = np.maximum(heat[..., 0], 255 * strength)
    heat[..., 1] *= 1 - strength
    heat[..., 2] *= 1 - strength
    panel = Image.fromarray(heat.astype(np.uint8), "RGB")
    w, h = a.size
    out = Image.new("RGB", (3 * w + 2 * gap, h), (0, 0, 0))
    out.paste(a, (0, 0))
    out.paste(b, (w + gap, 0))
    out.paste(panel, (2 * (w + gap), 0))
    return out, float(diff.mean()), float(changed.mean())


class CompareScreen(_PictureScreen):
    """The difference view: A | B (scaled to A) | where they differ."""

    BINDINGS = [
        Binding("escape,c,q", "close", "back"),
        Binding("left,h", "other(-1)", "other B"),
        Binding("right,l", "other(1)", "other B"),
    ]

    def __init__(self, state: ReviewState, thumbs: ThumbnailCache, canvas: Canvas, gi: int, a: int, b: int) -> None:
        super().__init__(state, thumbs, canvas, gi)
        self.a = a
        self.b = b
        self.stats: tuple[float, float] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="compare-title", classes="screen-title")
        yield PictureView(self.canvas, id="compare-picture")
        yield Static(id="compare-facts")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self.show_pair)

    def show_pair(self) -> None:
        g = self.group
        ma, mb = g.members[self.a], g.members[self.b]
        src_a, src_b = self.member_source(self.a), self.member_source(self.b)

        def source() -> Image.Image:
            picture, mean, share = difference_picture(src_a(), src_b())
            self.stats = (mean, share)
            return picture

        self.put(self.query_one("#compare-picture", PictureView), ("diff", ma.path, ma.digest, mb.path, mb.digest),
                 source)
        self.update_title()

    def update_title(self) -> None:
        g = self.group
        ma, mb = g.members[self.a], g.members[self.b]
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" A ", style="bold reverse")
        t.append(f" {ma.relpath} {ma.width}×{ma.height}   ")
        t.append(" B ", style="bold reverse")
        t.append(f" {mb.relpath} {mb.width}×{mb.height}   ")
        t.append(" differences ", style="bold white on red")
        self.query_one("#compare-title", Static).update(t)
        facts = Text()
        facts.append("red: where B differs from A (B scaled to A's size). ", style="dim")
        if self.stats is not None:
            mean, share = self.stats
            facts.append(f"mean difference {mean:.1f}/255, {share:.1%} of pixels differ clearly")
        self.query_one("#compare-facts", Static).update(facts)

    def _arrived(self, view: PictureView, key: object, rendered: Rendered) -> None:
        super()._arrived(view, key, rendered)
        self.update_title()

    def action_other(self, step: int) -> None:
        n = len(self.group.members)
        b = self.b
        for _ in range(n):
            b = (b + step) % n
            if b != self.a:
                break
        self.b = b
        self.stats = None
        self.show_pair()

    def action_close(self) -> None:
        self.dismiss(self.a)
