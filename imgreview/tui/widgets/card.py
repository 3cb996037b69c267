"""An image card: the picture (a ready thumbnail, loaded off the UI thread) and the facts."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widget import Widget
from textual.widgets import Static

from imgreview.model import Group, Member
from imgreview.text import human_bytes
from imgreview.tui.messages import CardClicked
from imgreview.tui.thumbs import CARD_PIXELS, ThumbnailCache

BADGES = {
    "keep": ("KEEP", "bold black on green"),
    "delete": ("DELETE", "bold white on red"),
    "undecided": ("undecided", "dim"),
    "stale": ("STALE: file changed since decided", "bold black on yellow"),
}


def date_of(m: Member) -> tuple[str, str]:
    """(date text, source) — EXIF capture date, else modification time."""
    if m.taken:
        return m.taken.replace("T", " ")[:19], "taken"
    if m.mtime:
        return datetime.fromtimestamp(m.mtime).strftime("%Y-%m-%d %H:%M:%S"), "modified"
    return "unknown", ""


def facts(m: Member, group: Group, index: int, action: str, suggested: bool, marks: dict[str, set[int]],
          full: bool = False) -> Text:
    """The facts that decide which file to keep, with the standout values highlighted."""
    hi = "bold reverse"
    t = Text(no_wrap=False, overflow="fold")
    label, style = BADGES.get(action, (action, ""))
    t.append(f" {label} ", style=style)
    if suggested:
        t.append("  ★ suggested keeper", style="bold green")
    t.append("\n")
    t.append(m.relpath if not full else m.path, style="bold")
    t.append("\n")
    if m.label or m.split:
        t.append("label ", style="dim")
        t.append(m.label or "?", style="magenta")
        if m.split:
            t.append("  ")
            t.append("split ", style="dim")
            t.append(m.split, style="magenta")
        t.append("\n")
    t.append(f"{m.width}×{m.height}", style=hi if index in marks.get("largest", ()) else "")
    t.append("  ")
    t.append(human_bytes(m.size), style=hi if index in marks.get("biggest", ()) else "")
    t.append("  ")
    t.append(m.format or "?")
    t.append("\n")
    when, source = date_of(m)
    t.append(when, style=hi if index in marks.get("oldest", ()) else "")
    if source:
        t.append(" ")
        t.append(f"({source})", style="dim")
    t.append("\n")
    if m.path == group.reference:
        t.append("reference", style="cyan")
    else:
        t.append(f"distance {m.distance}", style="cyan")
    if m.exact:
        t.append("  ")
        t.append("exact copy", style="bold cyan")
    if full:
        t.append("\n")
        t.append(f"mode {m.mode or '?'}  digest {m.digest[:16]}", style="dim")
        if m.camera:
            t.append(f"\ncamera {m.camera}")
        for alias in m.aliases:
            t.append(f"\nalso at {alias} (same file)", style="dim")
        t.append(f"\nroot {m.root}", style="dim")
        if not os.path.exists(m.path):
            t.append("\nfile missing now", style="bold red")
    return t


def make_picture(widget_cls: Any, classes: str = "image") -> Widget:
    if widget_cls is None:
        return Static("(pictures off: --graphics none)", classes=f"{classes} no-picture")
    return widget_cls(None, classes=classes)  # type: ignore[no-any-return]


class Picture(Center):
    """The picture area: shows a thumbnail from the cache as soon as it is ready."""

    def __init__(self, widget_cls: Any, thumbs: ThumbnailCache, member: Member, size: int = CARD_PIXELS,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.widget_cls = widget_cls
        self.thumbs = thumbs
        self.member = member
        self.thumb_size = size
        self.loaded = widget_cls is None  # nothing to load without pictures

    def compose(self) -> ComposeResult:
        picture = make_picture(self.widget_cls)
        if self.widget_cls is not None:
            # A cached thumbnail goes in before the first layout: no second layout pass.
            cached = self.thumbs.get(self.member.path, self.member.digest, self.thumb_size)
            if cached is not None:
                picture.image = cached  # type: ignore[attr-defined]
                self.loaded = True
        yield picture

    def on_mount(self) -> None:
        if not self.loaded:
            self.load()

    def load(self) -> None:
        if self.widget_cls is None:
            self.loaded = True
            return
        future = self.thumbs.request(self.member.path, self.member.digest, self.thumb_size)
        if future.done():
            self._set(future.result())
        else:
            self.run_worker(self._wait(future), exclusive=True, group="thumb")

    async def _wait(self, future: Any) -> None:
        image = await asyncio.wrap_future(future)
        self._set(image)

    def _set(self, image: Any) -> None:
        self.query_one(".image").image = image  # type: ignore[attr-defined]
        self.loaded = True

    def show_member(self, member: Member) -> None:
        """Switch to another member's picture (flip, zoom navigation)."""
        self.member = member
        self.loaded = False
        self.load()


class ImageCard(Vertical):
    """One member of the group on screen."""

    def __init__(self, group: Group, index: int, widget_cls: Any, thumbs: ThumbnailCache, action: str,
                 suggested: bool, marks: dict[str, set[int]]) -> None:
        super().__init__(classes="card")
        self.group = group
        self.index = index
        self.member = group.members[index]
        self.widget_cls = widget_cls
        self.thumbs = thumbs
        self.action = action
        self.suggested = suggested
        self.marks = marks
        self.picture = Picture(widget_cls, thumbs, self.member, classes="picture")
        self.facts = Static(classes="facts")

    def compose(self) -> ComposeResult:
        yield self.picture
        yield self.facts

    def on_mount(self) -> None:
        self.set_action(self.action)

    def bind(self, group: Group, index: int, action: str, suggested: bool, marks: dict[str, set[int]]) -> None:
        """Show another member (cards are reused from group to group: no remount, no restyle)."""
        self.group = group
        self.index = index
        self.member = group.members[index]
        self.suggested = suggested
        self.marks = marks
        if self.picture.member is not self.member:
            self.picture.show_member(self.member)
        self.set_action(action)

    def set_action(self, action: str) -> None:
        self.action = action
        for name in ("keep", "delete", "undecided", "stale"):
            self.set_class(action == name, f"-{name}")
        self.facts.update(facts(self.member, self.group, self.index, action, self.suggested, self.marks))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(CardClicked(self.index, double=getattr(event, "chain", 1) >= 2))
