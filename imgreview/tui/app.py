"""The review app: the group list, the group's image cards, progress, and every decision key.

The app is a thin layer over :class:`~imgreview.tui.state.ReviewState`; each key press that
decides something becomes one fsynced journal batch before the screen changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Footer

from imgreview.model import Group
from imgreview.session.journal import JournalError
from imgreview.tui.graphics import Renderer
from imgreview.tui.keys import KEYS, bindings
from imgreview.tui.messages import CardClicked, DecisionsChanged, GroupChosen
from imgreview.tui.screens.confirm import ConfirmScreen
from imgreview.tui.screens.help import HelpScreen
from imgreview.tui.screens.zoom import FlipScreen, ZoomScreen
from imgreview.tui.state import FILTERS, ReviewState
from imgreview.tui.thumbs import ThumbnailCache
from imgreview.tui.widgets.group_list import GroupList
from imgreview.tui.widgets.group_view import GroupView
from imgreview.tui.widgets.progress import ProgressLine

# Review keys act on the group view only: under zoom, flip, help or a question they are off.
REVIEW_ACTIONS = frozenset(k.action.split("(")[0] for k in KEYS) - {"quit"}
READY_ENV = "IMGREVIEW_TEST_READY"  # test hook: a file touched once the first group is on screen
PREFETCH_GROUPS = 2


class ReviewApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "imgreview"
    BINDINGS = bindings()
    ENABLE_COMMAND_PALETTE = False  # it would cover pictures; every action has a key

    def __init__(self, state: ReviewState, renderer: Renderer, *, read_only: bool = False,
                 thumbs: ThumbnailCache | None = None, notes: list[str] | None = None,
                 start_group: int | None = None) -> None:
        super().__init__()
        self.state = state
        self.renderer = renderer
        self.read_only = read_only
        self.thumbs = thumbs or ThumbnailCache()
        self.notes = list(notes or [])
        self.filter = "all"
        self.order: list[int] = list(range(len(state)))
        self.current: int | None = None
        self._start_group = start_group
        self._show_lock = asyncio.Lock()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in REVIEW_ACTIONS and len(self.screen_stack) > 1)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield ProgressLine(id="progress")
        with Horizontal(id="main"):
            yield GroupList(self.state, id="groups")
            yield GroupView(self.state, self.renderer.widget, self.thumbs, id="group")
        yield Footer()

    @property
    def group_list(self) -> GroupList:
        return self.query_one("#groups", GroupList)

    @property
    def group_view(self) -> GroupView:
        return self.query_one("#group", GroupView)

    async def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, self.exit)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
                pass
        self.group_list.show(self.order)
        start = self._start_group
        if start is None:
            start = self.state.first_undecided()
        if start is None and len(self.state):
            start = 0
        await self.show_group(start)
        for note in self.notes:
            self.notify(note, severity="warning", timeout=8)
        ready = os.environ.get(READY_ENV)
        if ready:
            Path(ready).write_text(json.dumps({"pid": os.getpid(), "group": self.group.id if self.group else None}))

    def on_unmount(self) -> None:
        self.thumbs.close()

    # ------------------------------------------------------------------ showing
    @property
    def position(self) -> int | None:
        if self.current is None:
            return None
        row = self.group_list.row_of(self.current)
        return row

    def update_progress(self) -> None:
        self.query_one(ProgressLine).show(self.state, self.position, len(self.order), self.filter,
                                          self.renderer.name, self.read_only)

    async def show_group(self, gi: int | None, member: int = 0) -> None:
        async with self._show_lock:
            self.current = gi
            with self.batch_update():  # the cards, the list and the progress line: one repaint
                await self.group_view.show_group(gi, member)
                if gi is not None:
                    self.group_list.mark_current(gi)
                self.update_progress()
            if gi is not None:
                self.prefetch_after(gi)

    def prefetch_after(self, gi: int) -> None:
        row = self.group_list.row_of(gi)
        if row is None:
            return
        for nxt in self.order[row + 1: row + 1 + PREFETCH_GROUPS]:
            self.thumbs.prefetch((m.path, m.digest) for m in self.state.groups[nxt].members)

    @property
    def group(self) -> Group | None:
        return None if self.current is None else self.state.groups[self.current]

    @property
    def member(self) -> int:
        return self.group_view.focused_member

    # ------------------------------------------------------------------ messages
    @on(GroupChosen)
    async def group_chosen(self, message: GroupChosen) -> None:
        if message.group != self.current:
            await self.show_group(message.group)

    @on(CardClicked)
    def card_clicked(self, message: CardClicked) -> None:
        self.group_view.focus_member(message.member)
        if message.double:
            self.action_zoom()

    @on(DecisionsChanged)
    def decisions_changed(self, message: DecisionsChanged) -> None:
        self.group_list.update_groups(message.groups)
        self.group_view.refresh_decisions()
        self.update_progress()

    # ------------------------------------------------------------------ decisions
    def _record(self, what: str, fn: Callable[..., list[int] | None], *args: object) -> list[int] | None:
        """Run a state change; a journal failure is shown and nothing else happens."""
        try:
            changed = fn(*args)
        except JournalError as exc:
            self.notify(str(exc), title="Not recorded", severity="error", timeout=10)
            return None
        if changed:
            self.post_message(DecisionsChanged(changed))
        return changed

    def decide_member(self, gi: int, mi: int, what: str) -> None:
        """keep / delete / toggle one member (also used by the zoom screen)."""
        if what == "toggle":
            self._record(what, self.state.toggle, gi, mi)
        else:
            self._record(what, self.state.set_action, gi, mi, what)
        g = self.state.groups[gi]
        if what != "keep" and all(self.state.action(m) == "delete" for m in g.members):
            self.notify("Every file of this group is marked delete.", severity="warning")

    def action_keep(self) -> None:
        if self.current is not None:
            self.decide_member(self.current, self.member, "keep")

    def action_delete(self) -> None:
        if self.current is not None:
            self.decide_member(self.current, self.member, "delete")

    def action_toggle_decision(self) -> None:
        if self.current is not None:
            self.decide_member(self.current, self.member, "toggle")

    def action_keep_only(self) -> None:
        if self.current is not None:
            self._record("keep only", self.state.keep_only, self.current, self.member)

    def action_accept(self) -> None:
        if self.current is not None:
            self._record("accept", self.state.accept_suggestion, self.current)

    def action_not_duplicates(self) -> None:
        if self.current is not None and self._record("not duplicates", self.state.not_duplicates,
                                                     self.current) is not None:
            self.notify("Marked not duplicates: all kept, and a later scan will not group them again.")

    def action_accept_all_exact(self) -> None:
        todo = self.state.exact_batch_candidates()
        if not todo:
            self.notify("No undecided exact-duplicate group left.")
            return
        files = sum(len(self.state.groups[gi].members) - 1 for gi in todo)

        def answered(yes: bool | None) -> None:
            if yes:
                changed = self._record("accept all exact", self.state.accept_all_exact)
                if changed:
                    self.notify(f"Accepted the suggestion in {len(changed)} exact groups (u undoes all).")

        self.push_screen(ConfirmScreen(
            f"Accept the suggested keeper in {len(todo):,} undecided exact-duplicate groups?\n"
            f"{files:,} byte-identical copies will be marked delete (nothing is deleted now; u undoes it)."),
            answered)

    def action_undo(self) -> None:
        if self._record("undo", self.state.undo) is None and not self.state.journal.can_undo:
            self.notify("Nothing to undo.")

    def action_redo(self) -> None:
        if self._record("redo", self.state.redo) is None and not self.state.journal.can_redo:
            self.notify("Nothing to redo.")

    # ------------------------------------------------------------------ moving
    def action_prev_image(self) -> None:
        self.group_view.focus_member(self.member - 1)

    def action_next_image(self) -> None:
        self.group_view.focus_member(self.member + 1)

    async def _step(self, step: int) -> None:
        if not self.order:
            return
        row = self.position
        if row is None:
            row = -1 if step > 0 else len(self.order)
        target = row + step
        if 0 <= target < len(self.order):
            await self.show_group(self.order[target])
        else:
            self.bell()

    async def action_next_group(self) -> None:
        await self._step(1)

    async def action_prev_group(self) -> None:
        await self._step(-1)

    async def action_first_group(self) -> None:
        if self.order:
            await self.show_group(self.order[0])

    async def action_last_group(self) -> None:
        if self.order:
            await self.show_group(self.order[-1])

    async def _undecided(self, step: int) -> None:
        after = self.current if self.current is not None else -1
        gi = self.state.next_undecided(after, self.order, step)
        if gi is None:
            self.notify("Every group here is decided.")
        else:
            await self.show_group(gi)

    async def action_next_undecided(self) -> None:
        await self._undecided(1)

    async def action_prev_undecided(self) -> None:
        await self._undecided(-1)

    # ------------------------------------------------------------------ view
    async def action_filter(self, name: str) -> None:
        if name not in FILTERS:
            return
        self.filter = name
        self.order = self.state.visible(name)
        self.group_list.show(self.order)
        target = self.current if self.current in self.order else (self.order[0] if self.order else None)
        self.current = None
        await self.show_group(target)

    async def action_cycle_filter(self) -> None:
        await self.action_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])

    def action_toggle_panel(self) -> None:
        self.group_list.display = not self.group_list.display

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _back_from(self, member: int | None) -> None:
        if member is not None:
            self.group_view.focus_member(member)

    def action_zoom(self) -> None:
        if self.current is not None:
            self.push_screen(ZoomScreen(self.current, self.member), self._back_from)

    def action_flip(self) -> None:
        g = self.group
        if g is None or self.current is None:
            return
        a = self.member
        ref = next((k for k, m in enumerate(g.members) if m.path == g.reference), 0)
        b = ref if ref != a else (a + 1) % len(g.members)
        self.push_screen(FlipScreen(self.current, a, b), self._back_from)
