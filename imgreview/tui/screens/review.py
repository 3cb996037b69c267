"""The review screen: the group list, the group's cards, progress, and every decision key.

It owns the review's bindings and its data (given to ``__init__``); other screens are pushed over
it with their data and answer through a typed ``dismiss()``. Each key press that decides something
becomes one fsynced journal batch before the screen changes; after a group is fully decided the
screen moves on to the next undecided group (``advance``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer

from imgreview.model import Group
from imgreview.session.journal import JournalError
from imgreview.text import human_bytes
from imgreview.tui.facts import card_facts
from imgreview.tui.keys import bindings
from imgreview.tui.messages import CardClicked, GroupChosen
from imgreview.tui.pictures import Canvas, Rendered
from imgreview.tui.screens.confirm import ConfirmScreen
from imgreview.tui.screens.find import FindScreen
from imgreview.tui.screens.help import HelpScreen
from imgreview.tui.screens.zoom import CompareScreen, FlipScreen, ZoomScreen
from imgreview.tui.state import FILTERS, ReviewState
from imgreview.tui.thumbs import ThumbnailCache
from imgreview.tui.widgets.cards import Card, CardGrid, aspect_of
from imgreview.tui.widgets.group_list import GroupList
from imgreview.tui.widgets.progress import ProgressLine, TextLine

READY_ENV = "IMGREVIEW_TEST_READY"  # test hook: a file written once the first group is on screen
PREFETCH_GROUPS = 2
NARROW = 110  # below this many columns the group list hides itself
FOOTER_LATEST = 2.0  # seconds after start-up the footer is put in even when the first pictures are not there


class ReviewScreen(Screen[None]):
    BINDINGS = bindings()

    def __init__(self, state: ReviewState, canvas: Canvas, thumbs: ThumbnailCache, *, read_only: bool = False,
                 start_group: int | None = None, advance: bool = True, notes: list[str] | None = None) -> None:
        super().__init__()
        self.state = state
        self.canvas = canvas
        self.thumbs = thumbs
        self.read_only = read_only
        self.advance = advance
        self.notes = list(notes or [])
        self.filter = "all"
        self.order: list[int] = list(range(len(state)))
        self.current: int | None = None
        self._shown = False  # until the first group's pictures are on screen its renders are not held
        self._start_group = start_group
        self._list_wanted: bool | None = None  # None: automatic (hidden when narrow)
        self._pending: set[tuple[int, int, bool]] = set()
        self._suggesting: set[int] = set()  # groups whose picture-based suggestion a worker is making
        self._shown_size: tuple[int, int] | None = None  # the grid's size when the pictures were asked for
        self._after_pictures: int | None = None  # the group whose follow-up work waits for its pictures
        self._footer = False  # the key footer is mounted (after the first group's pictures, see _put_footer)
        if start_group is None:
            start_group = state.first_undecided()
        if start_group is None and len(state):
            start_group = 0
        self._start_group = start_group
        if start_group is not None and canvas.pictures:
            # the first group's files are decoded while Textual starts (decoding releases the GIL):
            # which picture size they need is only known once the screen is laid out
            thumbs.prefetch((m.path, m.digest) for m in state.groups[start_group].members)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield ProgressLine(id="progress")
        with Horizontal(id="main"):
            yield GroupList(self.state, id="groups")
            with Vertical(id="group"):
                yield TextLine(id="group-title")
                yield CardGrid(self.canvas, id="cards")
        # the footer's row, kept from the start so that putting the footer in changes no layout
        yield Container(id="footer-slot")

    @property
    def group_list(self) -> GroupList:
        return self.query_one("#groups", GroupList)

    @property
    def grid(self) -> CardGrid:
        return self.query_one("#cards", CardGrid)

    def on_mount(self) -> None:
        self.group_list.show(self.order)
        self._fit_list(self.app.size.width)
        self.show_group(self._start_group)
        if self._start_group is None or not self.canvas.pictures:
            self.call_after_refresh(self._put_footer)
        else:
            self.set_timer(FOOTER_LATEST, self._put_footer)
        for note in self.notes:
            self.notify(note, severity="warning", timeout=8)
        ready = os.environ.get(READY_ENV)
        if ready:
            Path(ready).write_text(json.dumps({"pid": os.getpid(), "group": self.group.id if self.group else None}))

    def _put_footer(self) -> None:
        """Put the key footer in its row. Textual's footer mounts a widget per key and lays them out
        (~50 ms of the UI thread): done once the first group's pictures are on screen, not while
        they render; its row is kept from the start, so nothing moves and no picture is redrawn."""
        if self._footer:
            return
        self._footer = True
        self.call_later(self._mount_footer)

    async def _mount_footer(self) -> None:
        try:
            slot = self.query_one("#footer-slot", Container)
        except NoMatches:  # the review is closing
            return
        await slot.mount(Footer())
        self.refresh_bindings()  # the footer shows the keys when the bindings are announced

    def on_screen_suspend(self) -> None:
        """Kitty pictures are drawn over the text: they go while another screen (zoom, help, a
        question) covers the review, and come back when it is on top again."""
        self.grid.hide_pictures()

    def on_screen_resume(self) -> None:
        self.grid.refresh()

    def on_resize(self) -> None:
        self._fit_list(self.app.size.width)
        if self.current is not None:
            self.call_after_refresh(self._reshow)

    def _reshow(self) -> None:
        """Show the group again for the grid's new size (nothing to do when its size did not change)."""
        if self.current is None or self._grid_size() == self._shown_size:
            return
        if self._shown_size is None:
            # shown before the first layout (start-up): its cards are on screen, placed by the grid
            # when it was first drawn; only their pictures waited for the size
            self._request_pictures(self.current)
        else:
            self.show_group(self.current, self.member)

    def _request_pictures(self, gi: int) -> None:
        """Ask for the pictures of the cards on screen (group ``gi``) at the grid's size; the grid
        gets them as they are ready, without showing the group again (no repaint now)."""
        self._shown_size = self._grid_size()
        self.thumbs.restart_wanted()
        cols, rows = self._box(gi)
        grid = self.grid
        for card in grid.cards:
            rendered = self._picture(gi, card, cols, rows)
            if rendered is not None:  # already rendered (or a plain one while its dimmed one renders)
                grid.set_picture(card.index, rendered)
        self._after_pictures = gi
        if self.pictures_loaded:
            self.call_after_refresh(self._follow_up, gi)

    def _grid_size(self) -> tuple[int, int] | None:
        """The card grid's size in cells; None before the screen is laid out (no picture size is known)."""
        size = self.grid.size
        return (size.width, size.height) if size.width and size.height else None

    def _fit_list(self, width: int) -> None:
        wanted = self._list_wanted if self._list_wanted is not None else width >= NARROW
        self.group_list.display = wanted

    # ------------------------------------------------------------------ showing
    @property
    def group(self) -> Group | None:
        return None if self.current is None else self.state.groups[self.current]

    @property
    def member(self) -> int:
        m = self.grid.focused_member
        return 0 if m is None else m

    @property
    def pictures_loaded(self) -> bool:
        """Every card on screen has its picture (or pictures are off): for tests and the benchmark."""
        if not self.canvas.pictures:
            return True
        shown = self.grid.shown_members()
        return bool(shown) and all(self.grid.pictures.get(k) is not None for k in shown)

    @property
    def position(self) -> int | None:
        return None if self.current is None else self.group_list.row_of(self.current)

    def update_progress(self) -> None:
        self.query_one(ProgressLine).show(self.state, self.position, len(self.order), self.filter,
                                          self.canvas.mode, self.read_only)

    def title_text(self, gi: int) -> Text:
        g, st = self.state.groups[gi], self.state.status[gi]
        s = self.state.suggestion(gi)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"Group {g.id}", style="bold")
        t.append(f"  {'exact copies' if g.kind == 'exact' else 'near duplicates'}", style="cyan")
        t.append(f" · {len(g.members)} files")
        t.append(f" · up to {human_bytes(g.reclaimable_bytes)} reclaimable")
        if g.label_conflict:
            t.append("  LABEL CONFLICT", style="bold red")
        if g.split_leak:
            t.append("  SPLIT LEAK", style="bold red")
        if st.distinct:
            t.append("  marked NOT duplicates", style="bold cyan")
        elif st.decided:
            t.append("  decided", style="green")
        elif st.touched:
            t.append("  partly decided", style="yellow")
        t.append("\n")
        if s.index is None:
            t.append(f"{s.reason}", style="bold yellow")
        else:
            t.append("★ ", style="bold green")
            t.append(f"suggested: {g.members[s.index].relpath}", style="green")
            t.append(f"  ({s.reason})", style="dim")
        return t

    def _suggestion(self, gi: int) -> int | None:
        """The ★ of group ``gi``: made with the pictures when a worker has done that (see
        :meth:`_suggest_with_pictures`), else from what the scan recorded (cheap, no pixels)."""
        return self.state.suggestion(gi).index

    def _suggest_with_pictures(self, gi: int) -> None:
        """In a worker thread: the suggestion from the group's thumbnails (medoid, black corners, borders,
        greyscale) and JPEG qualities; the cards are redrawn if the group is on screen by then (the ★
        may move, and the JPEG qualities read with the thumbnails go on the cards)."""
        if self.state.has_picture_suggestion(gi) or gi in self._suggesting:
            return
        self._suggesting.add(gi)
        g = self.state.groups[gi]

        def job() -> None:
            try:
                pics = [self.thumbs.thumbnail_now(m.path, m.digest) for m in g.members]
                quals = [self.thumbs.qualities.get(m.path) for m in g.members]
                self.state.suggestion(gi, pics, quals)
            finally:
                self._suggesting.discard(gi)
            if gi == self.current:  # a prefetched group is drawn with all of this when it is shown
                try:
                    self.app.call_from_thread(self._suggestion_ready, gi)
                except RuntimeError:  # the app is gone
                    pass

        self.thumbs.submit(job)

    def _suggestion_ready(self, gi: int) -> None:
        if gi == self.current:
            self.refresh_cards()

    def cards_of(self, gi: int) -> list[Card]:
        g = self.state.groups[gi]
        best = self._suggestion(gi)
        cards = []
        for k, m in enumerate(g.members):
            action = self.state.action(m)
            problem = self.thumbs.errors.get(m.path, "")
            cards.append(Card(k, m, action, k == best,
                              card_facts(m, g, k, action, k == best, self.thumbs.qualities.get(m.path), problem,
                                         issues=self.state.issues(m)),
                              problem))
        return cards

    def _box(self, gi: int) -> tuple[int, int]:
        g = self.state.groups[gi]
        return self.grid.plan_for(len(g.members), aspect_of(g)).picture

    def show_group(self, gi: int | None, member: int | None = None) -> None:
        """Put group ``gi`` on screen (one repaint) with ``member`` (default: the ★, else the first) focused."""
        self.current = gi
        grid = self.grid
        # renders not started yet wait for this repaint (the workers would hold the GIL during it);
        # not at start-up, where the only renders are the first group's own pictures
        if self._shown:
            self.thumbs.hold()
            self.call_after_refresh(self.thumbs.release)
        with self.app.batch_update():
            if gi is None:
                grid.empty_text = ("No duplicate groups here: nothing to review." if not len(self.state)
                                   else "No group matches this filter: press v or 1 to see all groups.")
                grid.show([], 0, 4 / 3, {})
                self.query_one("#group-title", TextLine).update("")
                self.update_progress()
                return
            g = self.state.groups[gi]
            cards = self.cards_of(gi)
            if member is None:
                best = next((c.index for c in cards if c.suggested), None)
                member = best if best is not None else next(
                    (c.index for c in cards if c.action in ("undecided", "stale")), 0)
            # before the first layout the grid has no size: the pictures are asked for when it has one
            # (on_resize), not rendered now for a size nobody sees
            self._shown_size = self._grid_size()
            pictures: dict[int, Rendered | None] = {}
            if self._shown_size is not None:
                self.thumbs.restart_wanted()  # queued pictures of groups left behind are skipped
                cols, rows = self._box(gi)
                pictures = {c.index: self._picture(gi, c, cols, rows) for c in cards}
            grid.show(cards, member, aspect_of(g), pictures)
            self.query_one("#group-title", TextLine).update(self.title_text(gi))
            self.group_list.mark_current(gi)
            self.update_progress()
        if self._shown_size is None:
            return
        # what follows the group's own pictures (the suggestion made with its pictures, the next groups'
        # pictures) starts once they are on screen: worker threads hold the GIL while they render, and
        # neither this repaint nor the pictures in it should wait for them
        self._after_pictures = gi
        if self.pictures_loaded:
            self.call_after_refresh(self._follow_up, gi)

    def _follow_up(self, gi: int) -> None:
        """The group on screen has its pictures: make its suggestion with them, then render the next
        groups' pictures (in the workers)."""
        if self._after_pictures != gi:
            return
        self._after_pictures = None
        self._shown = True
        self._put_footer()
        self._suggest_with_pictures(gi)
        self.prefetch_after(gi)

    def _picture(self, gi: int, card: Card, cols: int, rows: int) -> Rendered | None:
        """The rendered picture when cached; else None now, and the grid gets it when it is ready."""
        if not self.canvas.pictures:
            return None
        m = card.member
        dim = card.action == "delete"
        r = self.thumbs.member_picture(m.path, m.digest, cols, rows, dim)
        if r is not None:
            return r
        if not dim:
            fallback = None
        else:  # show the plain picture until the dimmed one is ready
            fallback = self.thumbs.member_picture(m.path, m.digest, cols, rows, False)
        future = self.thumbs.request_member(m.path, m.digest, cols, rows, dim)
        index = card.index

        def ready(f: Future[Rendered]) -> None:
            self._ready(f, gi, index, dim)

        future.add_done_callback(ready)
        return fallback

    def _ready(self, future: Future[Rendered], gi: int, index: int, dim: bool) -> None:
        """A picture finished rendering (worker thread): hand it to the UI thread."""
        if future.cancelled() or future.exception() is not None:
            # a picture that will not come (skipped, failed) holds back nothing that follows it
            self._call_on_ui(self._follow_up, gi)
            return
        self._call_on_ui(self._arrived, gi, index, dim, future.result())

    def _call_on_ui(self, fn: Callable[..., object], *args: object) -> None:
        try:
            self.app.call_from_thread(fn, *args)
        except RuntimeError:  # already the UI thread (the picture was done at once), or the app is gone
            self.call_later(fn, *args)

    def _arrived(self, gi: int, index: int, dim: bool, rendered: Rendered) -> None:
        if gi != self.current:
            return
        try:
            grid = self.grid
        except NoMatches:  # the review is closing: its widgets are gone
            return
        self._place(grid, index, dim, rendered)
        if self._after_pictures == gi and self.pictures_loaded:
            self.call_after_refresh(self._follow_up, gi)

    def _place(self, grid: CardGrid, index: int, dim: bool, rendered: Rendered) -> None:
        card = next((c for c in grid.cards if c.index == index), None)
        if card is None or (card.action == "delete") != dim:
            return
        problem = self.thumbs.errors.get(card.member.path, "")
        if problem and not card.problem:
            self.refresh_cards()
        self.grid.set_picture(index, rendered)

    def refresh_cards(self) -> None:
        gi = self.current
        if gi is None:
            return
        cols, rows = self._box(gi)
        cards = self.cards_of(gi)
        with self.app.batch_update():
            for c in cards:
                r = self._picture(gi, c, cols, rows)
                if r is not None:
                    self.grid.pictures[c.index] = r
            self.grid.update_cards(cards)
            self.query_one("#group-title", TextLine).update(self.title_text(gi))
            self.update_progress()

    def prefetch_after(self, gi: int) -> None:
        if not self.canvas.pictures:
            return
        row = self.group_list.row_of(gi)
        if row is None:
            return
        for nxt in self.order[row + 1: row + 1 + PREFETCH_GROUPS]:
            g = self.state.groups[nxt]
            cols, rows = self._box(nxt)
            for m in g.members:
                self.thumbs.request_member(m.path, m.digest, cols, rows, self.state.action(m) == "delete")
            self._suggest_with_pictures(nxt)

    # ------------------------------------------------------------------ messages
    @on(GroupChosen)
    def group_chosen(self, message: GroupChosen) -> None:
        if message.group != self.current:
            self.show_group(message.group)

    @on(CardClicked)
    def card_clicked(self, message: CardClicked) -> None:
        pos = self.grid.position_of(message.member)
        if pos is not None:
            self.grid.set_focus(pos)
        if message.double:
            self.action_zoom()

    # ------------------------------------------------------------------ decisions
    def _record(self, fn: Callable[..., list[int] | None], *args: object) -> list[int] | None:
        """Run a state change; a journal failure is shown and nothing else happens."""
        try:
            changed = fn(*args)
        except JournalError as exc:
            self.notify(str(exc), title="Not recorded", severity="error", timeout=10)
            return None
        if changed:
            self.group_list.update_groups(changed)
            self.refresh_cards()
        return changed

    def _after_decision(self, gi: int) -> None:
        """Move on when the group is fully decided (and the person wants that)."""
        if not self.advance or gi != self.current or not self.state.status[gi].decided:
            return
        if self.app.screen is not self:  # decided under the zoom: stay until the person is back
            return
        nxt = self.state.next_undecided(gi, self.order, 1)
        if nxt is None:
            self.notify("Every group here is decided.", timeout=4)
        elif nxt != gi:
            self.show_group(nxt)

    def decide_member(self, gi: int, mi: int, what: str) -> None:
        """keep / delete / toggle one member (also used by the zoom screen)."""
        if what == "toggle":
            changed = self._record(self.state.toggle, gi, mi)
        else:
            changed = self._record(self.state.set_action, gi, mi, what)
        g = self.state.groups[gi]
        if what != "keep" and all(self.state.action(m) == "delete" for m in g.members):
            self.notify("Every file of this group is marked delete.", severity="warning")
        if changed is not None:
            self._after_decision(gi)

    def action_keep(self) -> None:
        if self.current is not None:
            self.decide_member(self.current, self.member, "keep")

    def action_delete(self) -> None:
        if self.current is not None:
            self.decide_member(self.current, self.member, "delete")

    def action_toggle_member(self) -> None:
        if self.current is not None:
            self.decide_member(self.current, self.member, "toggle")

    def action_keep_only(self) -> None:
        if self.current is not None and self._record(self.state.keep_only, self.current, self.member) is not None:
            self._after_decision(self.current)

    def action_accept(self) -> None:
        gi = self.current
        if gi is None:
            return
        if self.state.suggested(gi) is None:
            self.notify("No clear original here: choose the keeper yourself (o keeps only the focused picture).",
                        severity="warning")
            return
        if self._record(self.state.accept_suggestion, gi) is not None:
            self._after_decision(gi)

    def action_not_duplicates(self) -> None:
        gi = self.current
        if gi is not None and self._record(self.state.not_duplicates, gi) is not None:
            self.notify("Marked not duplicates: all kept, and a later scan will not group them again.")
            self._after_decision(gi)

    def action_accept_all_exact(self) -> None:
        todo = self.state.exact_batch_candidates()
        skipped = self.state.exact_batch_skipped()
        if not todo:
            self.notify("No undecided exact-copy group left to accept"
                        + (f" ({skipped} label-conflict/split-leak groups need a look)." if skipped else "."))
            return
        files = sum(len(self.state.groups[gi].members) - 1 for gi in todo)
        question = (f"Accept the suggested keeper in {len(todo):,} undecided exact-copy groups?\n"
                    f"{files:,} byte-identical copies will be marked delete (nothing is deleted now; u undoes it).")
        if skipped:
            question += (f"\n{skipped:,} exact groups with a label conflict or a split leak are left for you "
                         "to decide by eye.")

        def answered(yes: bool | None) -> None:
            if yes:
                changed = self._record(self.state.accept_all_exact)
                if changed:
                    self.notify(f"Accepted the suggestion in {len(changed)} exact groups (u undoes all).")

        self.app.push_screen(ConfirmScreen(question), answered)

    def action_undo(self) -> None:
        self._undo_redo(self.state.undo, "Undone", self.state.journal.can_undo, "Nothing to undo.")

    def action_redo(self) -> None:
        self._undo_redo(self.state.redo, "Redone", self.state.journal.can_redo, "Nothing to redo.")

    def _undo_redo(self, fn: Callable[[], list[int] | None], verb: str, possible: bool, nothing: str) -> None:
        if not possible:
            self.notify(nothing)
            return
        changed = self._record(fn)
        if not changed:
            return
        target = self.current if self.current in changed else next(
            (gi for gi in changed if self.group_list.contains(gi)), changed[0])
        g = self.state.groups[target]
        if target != self.current:
            if not self.group_list.contains(target):  # hidden by the filter: show every group
                self._set_filter("all", keep=target)
            self.show_group(target)
        others = f" and {len(changed) - 1} more groups" if len(changed) > 1 else ""
        self.notify(f"{verb}: the last decision in group {g.id}{others}.", timeout=5)

    # ------------------------------------------------------------------ moving
    def action_move_image(self, step: int) -> None:
        grid = self.grid
        if grid.cards:
            grid.set_focus((grid.focus_index + step) % len(grid.cards))

    def action_step_group(self, step: int) -> None:
        if not self.order:
            return
        row = self.position
        if row is None:
            row = -1 if step > 0 else len(self.order)
        target = row + step
        if 0 <= target < len(self.order):
            self.show_group(self.order[target])
        else:
            self.app.bell()

    def action_first_group(self) -> None:
        if self.order:
            self.show_group(self.order[0])

    def action_last_group(self) -> None:
        if self.order:
            self.show_group(self.order[-1])

    def action_undecided(self, step: int) -> None:
        after = self.current if self.current is not None else -1
        gi = self.state.next_undecided(after, self.order, step)
        if gi is None:
            self.notify("Every group here is decided.")
        else:
            self.show_group(gi)

    def action_find(self) -> None:
        def found(text: str | None) -> None:
            if not text:
                return
            gi = self.state.find(text, after=self.current, order=self.order)
            if gi is None:
                self.notify(f"No group here has a file whose path contains {text!r}.", severity="warning")
                return
            g = self.state.groups[gi]
            k = next(k for k, m in enumerate(g.members) if text.lower() in m.path.lower())
            self.show_group(gi, k)

        self.app.push_screen(FindScreen(), found)

    # ------------------------------------------------------------------ view
    def _set_filter(self, name: str, keep: int | None = None) -> int | None:
        """Switch the filter; returns the group to show: ``keep`` or the current one when still visible,
        else the nearest visible group after it (in the review order)."""
        self.filter = name
        self.order = self.state.visible(name)
        self.group_list.show(self.order)
        here = keep if keep is not None else self.current
        if here is None or not self.order:
            return self.order[0] if self.order else None
        if here in self.order:
            return here
        after = [gi for gi in self.order if gi > here]
        return after[0] if after else self.order[-1]

    def action_filter(self, name: str) -> None:
        if name not in FILTERS:
            return
        member = self.member
        target = self._set_filter(name)
        same = target == self.current
        self.current = None
        self.show_group(target, member if same else None)

    def action_cycle_filter(self) -> None:
        self.action_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])

    def action_toggle_list(self) -> None:
        self._list_wanted = not self.group_list.display
        self._fit_list(self.app.size.width)
        self.call_after_refresh(self._reshow)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_quit(self) -> None:
        self.app.exit()

    def _back_from(self, member: int | None) -> None:
        self.refresh_cards()
        if member is not None:
            pos = self.grid.position_of(member)
            if pos is not None:
                self.grid.set_focus(pos)

    def action_zoom(self) -> None:
        if self.current is not None:
            self.app.push_screen(ZoomScreen(self.state, self.thumbs, self.canvas, self.current, self.member,
                                            self.decide_member), self._back_from)

    def _pair(self) -> tuple[int, int] | None:
        g = self.group
        if g is None or self.current is None or len(g.members) < 2:
            return None
        a = self.member
        best = self.state.suggested(self.current)
        b = best if best is not None and best != a else (a + 1) % len(g.members)
        return a, b

    def action_flip(self) -> None:
        pair = self._pair()
        if pair is not None and self.current is not None:
            self.app.push_screen(FlipScreen(self.state, self.thumbs, self.canvas, self.current, *pair),
                                 self._back_from)

    def action_compare(self) -> None:
        pair = self._pair()
        if pair is not None and self.current is not None:
            self.app.push_screen(CompareScreen(self.state, self.thumbs, self.canvas, self.current, *pair),
                                 self._back_from)
