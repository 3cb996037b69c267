"""The triage screen: every picture of one label in a grid, one key per mark.

Data comes in through ``__init__`` (a :class:`~imgreview.triage.state.TriageState`, the picture
widget class and the thumbnail cache); every mark is one fsynced journal batch written before the
screen changes, and is announced with a :class:`TriageScreen.Marked` message. The screen owns its
bindings (:data:`TRIAGE_KEYS`), so it can live in any app.
"""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from imgreview.session.journal import JournalError
from imgreview.text import human_bytes
from imgreview.triage.items import Item
from imgreview.triage.state import FILTER_LABELS, FILTERS, TriageState
from imgreview.triage.suggest import SuggestError
from imgreview.tui.pictures import Canvas, Rendered
from imgreview.tui.thumbs import ZOOM_PIXELS, ThumbnailCache
from imgreview.tui.widgets.picture import PictureView
from imgreview.tui.widgets.triage_grid import PICTURE_CELLS, TILE_PIXELS, TileClicked, TileView, TriageGrid

TRIAGE_KEYS: tuple[tuple[str, str, str, bool], ...] = (
    # keys, action, footer label, shown in the footer
    ("x,d,delete", "mark('unwanted')", "unwanted", True),
    ("w,k", "mark('wanted')", "wanted", True),
    ("W", "page_wanted", "page wanted", True),
    ("r", "relabel", "relabel", True),
    ("u", "undo", "undo", True),
    ("z,enter", "zoom", "zoom", True),
    ("v", "cycle_filter", "filter", True),
    ("s", "suggest", "suggest", True),
    ("n,pagedown,space", "page(1)", "next page", True),
    ("p,pageup", "page(-1)", "prev page", False),
    ("right_square_bracket,tab", "label(1)", "next label", True),
    ("left_square_bracket,shift+tab", "label(-1)", "prev label", False),
    ("left,h", "move(-1, 0)", "left", False),
    ("right,l", "move(1, 0)", "right", False),
    ("up", "move(0, -1)", "up", False),
    ("down,j", "move(0, 1)", "down", False),
    ("1", "filter('all')", "all", False),
    ("2", "filter('undecided')", "undecided", False),
    ("3", "filter('unwanted')", "unwanted", False),
    ("4", "filter('flagged')", "flagged", False),
    ("5", "filter('suggested')", "suggested", False),
    ("q", "quit", "quit", True),
)


class TriageScreen(Screen[None]):
    BINDINGS = [Binding(k, a, label, show=show, priority=k.startswith(("right_square", "left_square")))
                for k, a, label, show in TRIAGE_KEYS]

    class Marked(Message):
        """Pictures were marked (or a batch undone); ``action`` unwanted | wanted | relabel | undo."""

        def __init__(self, action: str, paths: list[str], batch: int) -> None:
            super().__init__()
            self.action = action
            self.paths = paths
            self.batch = batch

    def __init__(self, state: TriageState, canvas: Canvas, thumbs: ThumbnailCache, *,
                 read_only: bool = False, start: tuple[str, int] | None = None) -> None:
        super().__init__()
        self.state = state
        self.canvas = canvas
        self.thumbs = thumbs
        self.read_only = read_only
        start = start or state.resume_point()
        self.label = start[0] if start else ""
        self._start_pos = start[1] if start else 0
        self.filter = "all"
        self.view: list[int] = []
        self.first = 0  # first position of the page in the view
        self.slot = 0  # focused tile

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static(id="triage-title")
        yield TriageGrid(self.canvas, self.thumbs, id="triage-grid")
        yield Footer()

    @property
    def grid(self) -> TriageGrid:
        return self.query_one(TriageGrid)

    def on_mount(self) -> None:
        self.view = self.state.view(self.label, self.filter)
        self._reshape()
        cap = max(1, self.grid.capacity)
        self.first = (self._start_pos // cap) * cap
        self.slot = self._start_pos - self.first
        self.refresh_page()

    def on_resize(self) -> None:
        if self._reshape():
            self.refresh_page()

    def _reshape(self) -> bool:
        size = self.size
        return self.grid.reshape(size.width, max(1, size.height - 3))

    # ------------------------------------------------------------------ showing
    @property
    def page(self) -> list[int]:
        return self.view[self.first:self.first + self.grid.capacity]

    def focused_item(self) -> int | None:
        page = self.page
        return page[self.slot] if 0 <= self.slot < len(page) else None

    def refresh_page(self) -> None:
        cap = self.grid.capacity
        if self.first >= len(self.view) and self.view:
            self.first = max(0, (len(self.view) - 1) // cap * cap)
        page = self.page
        self.slot = min(self.slot, max(0, len(page) - 1))
        prob = self.state.probability
        views = [TileView(self.state.items[i], self.state.mark_of(i), self.state.relabel_to(i),
                          float(prob[i]) if prob is not None else None, self.first + k + 1)
                 for k, i in enumerate(page)]
        with self.app.batch_update():
            self.grid.show(views, self.slot)
            self.update_title()
        if not self.canvas.pictures:
            return  # no pictures: nothing to prefetch
        cols, rows = PICTURE_CELLS
        for i in self.view[self.first + cap:self.first + 2 * cap]:  # rendered in the workers, ahead
            it = self.state.items[i]
            self.thumbs.request_member(it.path, it.digest, cols, rows, size=TILE_PIXELS)

    def update_title(self) -> None:
        labels = self.state.labels
        marked, total = self.state.counts(self.label)
        n = len(self.view)
        first = self.first + 1 if n else 0
        last = min(n, self.first + self.grid.capacity)
        pos = self.first + self.slot + 1 if n else 0
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {self.label} ", style="bold reverse")
        t.append(f"  label {labels.index(self.label) + 1 if self.label in labels else 0} of {len(labels)}")
        t.append(f"   {pos} of {n}", style="bold")
        t.append(f" (page {first}–{last})")
        t.append(f"   {marked} of {total} marked")
        t.append(f"   filter: {FILTER_LABELS[self.filter]}", style="cyan")
        if self.read_only:
            t.append("   read-only", style="bold yellow")
        i = self.focused_item()
        if i is not None:
            it = self.state.items[i]
            t.append("\n ")
            t.append(it.relpath, style="bold")
            t.append(f"  {it.width}×{it.height}  {human_bytes(it.size)}")
            if it.issues:
                t.append("  " + ", ".join(it.issues), style="magenta")
            if it.group:
                t.append(f"  duplicate group {it.group}", style="cyan")
        self.query_one("#triage-title", Static).update(t)

    # ------------------------------------------------------------------ moving
    def action_move(self, dx: int, dy: int) -> None:
        cols = max(1, self.grid.shape[0])
        slot = self.slot + dx + dy * cols
        page = self.page
        if 0 <= slot < len(page):
            self.slot = slot
        elif slot >= len(page) and self.first + self.grid.capacity < len(self.view):
            self.first += self.grid.capacity
            self.slot = 0
        elif slot < 0 and self.first > 0:
            self.first = max(0, self.first - self.grid.capacity)
            self.slot = self.grid.capacity - 1
        self.refresh_page()

    def action_page(self, step: int) -> None:
        cap = self.grid.capacity
        new = self.first + step * cap
        if 0 <= new < len(self.view):
            self.first = new
            self.slot = 0 if step > 0 else self.slot
        elif step > 0:
            self.action_label(1)
            return
        self.refresh_page()

    def action_label(self, step: int) -> None:
        labels = self.state.labels
        if not labels:
            return
        k = (labels.index(self.label) + step) % len(labels) if self.label in labels else 0
        self.label = labels[k]
        self.view = self.state.view(self.label, self.filter)
        self.first = self.slot = 0
        self.refresh_page()

    def action_filter(self, name: str) -> None:
        self.filter = name
        self.view = self.state.view(self.label, name)
        self.first = self.slot = 0
        self.refresh_page()

    def action_cycle_filter(self) -> None:
        self.action_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])

    def on_tile_clicked(self, message: TileClicked) -> None:
        if message.slot < len(self.page):
            self.slot = message.slot
            self.refresh_page()
            if message.double:
                self.action_zoom()

    # ------------------------------------------------------------------ marking
    def _write(self, action: str, fn: Any) -> None:
        if self.read_only:
            self.notify("read-only: nothing is recorded", severity="warning")
            return
        try:
            batch, paths = fn()
        except JournalError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        if batch:
            self.post_message(self.Marked(action, paths, batch))
        self.refresh_page()

    def action_mark(self, action: str) -> None:
        i = self.focused_item()
        if i is None:
            return

        def do() -> tuple[int, list[str]]:
            batch = self.state.toggle(i, action)
            return batch, [self.state.items[i].path]

        self._write(action, do)
        if self.state.mark_of(i) == action and self.slot + 1 < len(self.page):
            self.slot += 1
            self.refresh_page()

    def action_page_wanted(self) -> None:
        page = list(self.page)

        def do() -> tuple[int, list[str]]:
            todo = [i for i in page if self.state.mark_of(i) in ("undecided", "stale")]
            return self.state.page_wanted(page), [self.state.items[i].path for i in todo]

        self._write("wanted", do)
        self.action_page(1)

    def action_undo(self) -> None:
        def do() -> tuple[int, list[str]]:
            paths = self.state.undo()
            if paths is None:
                self.notify("nothing to undo")
                return 0, []
            return 1, paths

        self._write("undo", do)

    def action_relabel(self) -> None:
        i = self.focused_item()
        if i is None:
            return
        item = self.state.items[i]
        choices = [label for label in self.state.labels if label != item.label]
        if not choices:
            self.notify("this dataset has one label only", severity="warning")
            return

        def chosen(label: str | None) -> None:
            if label:
                self._write("relabel", lambda: (self.state.mark([i], "relabel", label), [item.path]))

        self.app.push_screen(LabelChooser(item, choices), chosen)

    def action_suggest(self) -> None:
        try:
            self.state.train()
        except SuggestError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.action_filter("suggested")
        self.notify("suggestions: the pictures most likely unwanted come first (nothing is marked)")

    def action_zoom(self) -> None:
        i = self.focused_item()
        if i is not None:
            prob = self.state.probability
            self.app.push_screen(TriageZoom(self.state.items[i], self.state.mark_of(i), self.state.relabel_to(i),
                                            float(prob[i]) if prob is not None else None, self.canvas,
                                            self.thumbs))

    def action_quit(self) -> None:
        self.dismiss(None)


def item_facts(item: Item, mark: str, to: str | None, probability: float | None) -> Text:
    t = Text()
    t.append(item.path, style="bold")
    t.append(f"\nlabel {item.label}" + (f"  split {item.split}" if item.split else ""), style="magenta")
    t.append(f"\nmark {mark}" + (f" → {to}" if to else ""))
    t.append(f"\n{item.width}×{item.height}  {human_bytes(item.size)}  {item.format}")
    if item.taken:
        t.append(f"\ntaken {item.taken.replace('T', ' ')}")
    if item.camera:
        t.append(f"\ncamera {item.camera}")
    meta = item.meta
    if "gps" in meta:
        lat, lon = meta["gps"]
        t.append(f"\nGPS {lat:.5f}, {lon:.5f}", style="green")
    for key in ("description", "comment"):
        if key in meta:
            t.append(f"\n{key} {meta[key]}", style="green")
    if meta.get("keywords"):
        t.append("\nkeywords " + ", ".join(meta["keywords"]), style="green")
    t.append("\nquality " + (", ".join(item.issues) or "no flag"), style="bold magenta" if item.issues else "dim")
    t.append("\n  " + "  ".join(f"{k} {v:.2f}" for k, v in item.scores.items()), style="dim")
    t.append(f"\noutlier score {item.outlier:.2f} (1 = typical of its label)", style="dim")
    if probability is not None:
        t.append(f"\nsuggestion: {probability:.0%} likely unwanted", style="bold red" if probability >= .5 else "")
    if item.group:
        t.append(f"\nin duplicate group {item.group}", style="cyan")
    if not os.path.exists(item.path):
        t.append("\nfile missing now", style="bold red")
    return t


class TriageZoom(Screen[None]):
    BINDINGS = [Binding("escape,z,q,enter", "close", "back")]

    def __init__(self, item: Item, mark: str, to: str | None, probability: float | None, canvas: Canvas,
                 thumbs: ThumbnailCache) -> None:
        super().__init__()
        self.item = item
        self.text = item_facts(item, mark, to, probability)
        self.canvas = canvas
        self.thumbs = thumbs

    def compose(self) -> ComposeResult:
        with Vertical(id="triage-zoom"):
            yield PictureView(self.canvas, id="triage-zoom-picture")
            with VerticalScroll(id="triage-zoom-facts"):
                yield Static(self.text)
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self._load)

    def _load(self) -> None:
        view = self.query_one(PictureView)
        if not self.canvas.pictures:
            view.show(None, "(pictures off: --graphics none)")
            return
        cols, rows = view.box
        future = self.thumbs.request_member(self.item.path, self.item.digest, cols, rows, size=ZOOM_PIXELS)
        if future.done():
            view.show(future.result())
            return

        async def wait() -> None:
            import asyncio

            rendered: Rendered = await asyncio.wrap_future(future)
            view.show(rendered)

        self.run_worker(wait())

    def action_close(self) -> None:
        self.dismiss(None)


class LabelChooser(Screen[str | None]):
    """Pick the label a picture belongs to (Enter), or Escape for none."""

    BINDINGS = [Binding("escape,q", "cancel", "cancel")]

    def __init__(self, item: Item, labels: list[str]) -> None:
        super().__init__()
        self.item = item
        self.labels = labels

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("Relabel ", "bold"), (self.item.relpath, "bold"), f" (now {self.item.label}) "
                                   "to:"), id="chooser-title")
        yield OptionList(*(Option(label, id=f"l{k}") for k, label in enumerate(self.labels)), id="chooser")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.labels[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
