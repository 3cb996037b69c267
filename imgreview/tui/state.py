"""The review's state without any widget: group order, filters, decisions, progress totals.

Everything the app shows is derived from the scan result and the journal; every decision goes
through :class:`imgreview.journal.Journal` at once (one fsynced batch per key press). This module
imports no Textual so it can be tested and benchmarked on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imgreview.decisions.keeper import Suggestion, suggest
from imgreview.model import Group, Member, ScanResult
from imgreview.session.journal import Change, Journal
from imgreview.session.store import FLAG_CONFLICT, FLAG_EXACT, FLAG_LEAK, Brief, GroupPages, MemoryGroups
from imgreview.vocab import DecidedBy, FileAction

FILTERS: tuple[str, ...] = ("all", "undecided", "decided", "conflicts", "leaks")
FILTER_LABELS = {
    "all": "all groups",
    "undecided": "undecided",
    "decided": "decided",
    "conflicts": "label conflicts",
    "leaks": "split leaks",
}


@dataclass(slots=True)
class GroupStatus:
    """What the journal says about one group."""

    decided: bool = False  # every member is keep or delete (none undecided or stale)
    touched: bool = False  # at least one member is decided (partly decided when not ``decided``)
    deletes: int = 0  # members marked delete
    delete_bytes: int = 0
    stale: int = 0  # members whose decision was made on other content
    distinct: bool = False  # a person said "not duplicates"


_UNTOUCHED = GroupStatus()


def order_groups(groups: Sequence[Group]) -> list[Group]:
    """Label-conflict and split-leak groups first, then the scan order."""
    return sorted(groups, key=lambda g: 0 if (g.label_conflict or g.split_leak) else 1)


class ReviewState:
    """Groups in review order plus their decision status, kept in step with the journal.

    ``stored`` (from :meth:`Session.load_groups`) gives the groups a page at a time from the
    session's database; without it the groups of ``result`` are held in memory. Either way only
    the groups whose files the journal names are looked at when the state is made: every other
    group is undecided.
    """

    def __init__(self, result: ScanResult, journal: Journal, prefer: Sequence[str] | None = None,
                 stored: GroupPages | None = None) -> None:
        self.result = result
        self.journal = journal
        self.prefer = tuple(prefer) if prefer else None  # None: the evidence-based suggestion
        self.groups: GroupPages = stored if stored is not None else MemoryGroups(order_groups(result.groups))
        # one shared "nothing decided" status until a group's own is computed (statuses are replaced, never
        # changed in place): 300,000 groups cost a list, not 300,000 objects
        self.status: list[GroupStatus] = [_UNTOUCHED] * len(self.groups)
        self._suggestions: dict[int, tuple[bool, Suggestion]] = {}  # gi -> (with pictures, suggestion)
        # the scan's quality flags (dark, blurry, tiny, ...) by path, for the cards' badges
        self.quality: dict[str, tuple[str, ...]] = {
            str(q["path"]): tuple(str(i) for i in q.get("issues", ()))
            for q in result.quality if isinstance(q.get("path"), str) and q.get("issues")}
        self.decided_groups = 0
        self.delete_files = 0
        self.delete_bytes = 0
        for gi, brief in self.groups.briefs(self.groups.positions_of(journal.decisions)).items():
            self._refresh_one(gi, brief)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.groups)

    def issues(self, member: Member) -> tuple[str, ...]:
        """The scan's quality flags of ``member`` (empty: none, or a scan without quality flags)."""
        return self.quality.get(member.path, ())

    def action(self, member: Member) -> str:
        """``keep``, ``delete``, ``undecided`` or ``stale``."""
        return self.journal.action_for(member.path, member.digest)

    def suggestion(self, gi: int, pictures: Sequence[object] | None = None,
                   qualities: Sequence[int | None] | None = None) -> Suggestion:
        """The suggested keeper of group ``gi`` (``index`` None: no clear original).

        Without ``pictures`` the suggestion uses what the scan recorded; once the caller has the
        group's thumbnails it passes them (and the JPEG qualities read with them), and that
        suggestion is kept. Never reads files itself (it runs on the UI thread).
        """
        cached = self._suggestions.get(gi)
        if cached is not None and (cached[0] or pictures is None):
            return cached[1]
        g = self.groups[gi]
        if qualities is None:
            qualities = [None] * len(g.members)
        s = suggest(g.members, self.prefer, pictures=pictures, qualities=qualities,
                    identical=g.kind == "exact")
        self._suggestions[gi] = (pictures is not None, s)
        return s

    def has_picture_suggestion(self, gi: int) -> bool:
        """The suggestion of group ``gi`` was made with its pictures (medoid, black corners, borders)."""
        cached = self._suggestions.get(gi)
        return cached is not None and cached[0]

    def suggested(self, gi: int) -> int | None:
        """Index of the suggested keeper in group ``gi``, or None when there is no clear original."""
        return self.suggestion(gi).index

    def suggestion_reason(self, gi: int) -> str:
        return self.suggestion(gi).reason

    def matches(self, gi: int, filter_name: str) -> bool:
        st = self.status[gi]
        if filter_name == "undecided":
            return not st.decided
        if filter_name == "decided":
            return st.decided
        if filter_name == "conflicts":
            return bool(self.groups.flags[gi] & FLAG_CONFLICT)
        if filter_name == "leaks":
            return bool(self.groups.flags[gi] & FLAG_LEAK)
        return True

    def visible(self, filter_name: str) -> list[int]:
        if filter_name == "all":
            return list(range(len(self.groups)))
        return [gi for gi in range(len(self.groups)) if self.matches(gi, filter_name)]

    def first_undecided(self) -> int | None:
        return next((gi for gi, st in enumerate(self.status) if not st.decided), None)

    def next_undecided(self, after: int, order: Sequence[int] | None = None, step: int = 1) -> int | None:
        """The next (or with ``step=-1`` previous) undecided group in ``order``, wrapping around."""
        order = list(range(len(self.groups))) if order is None else list(order)
        if not order:
            return None
        try:
            start = order.index(after)
        except ValueError:
            start = -1 if step > 0 else 0
        n = len(order)
        for k in range(1, n + 1):
            gi = order[(start + step * k) % n]
            if not self.status[gi].decided:
                return gi
        return None

    def find(self, text: str, after: int | None = None, order: Sequence[int] | None = None) -> int | None:
        """The next group (after ``after``, wrapping around) with a file whose path contains ``text``."""
        needle = text.lower()
        order = list(range(len(self.groups))) if order is None else list(order)
        if not order or not needle:
            return None
        start = order.index(after) if after in order else -1
        hits = set(self.groups.positions_matching(needle))
        n = len(order)
        for k in range(1, n + 1):
            gi = order[(start + k) % n]
            if gi in hits:
                return gi
        return None

    # ------------------------------------------------------------------ bookkeeping
    def _compute(self, gi: int, members: Sequence[Brief | Member] | None = None) -> GroupStatus:
        """Group ``gi``'s status (from ``members``' path, digest and size when given: no group is built)."""
        if members is None:
            members = self.groups[gi].members
        st = GroupStatus()
        undecided = 0
        for m in members:
            a = self.journal.action_for(m.path, m.digest)
            if a == "delete":
                st.deletes += 1
                st.delete_bytes += m.size
            elif a == "stale":
                st.stale += 1
            elif a == "undecided":
                undecided += 1
        st.decided = undecided == 0 and st.stale == 0
        st.touched = undecided + st.stale < len(members)
        st.distinct = frozenset(m.digest for m in members) in self.journal.distinct
        return st

    def _refresh_one(self, gi: int, members: Sequence[Brief | Member] | None = None) -> None:
        old = self.status[gi]
        new = self._compute(gi, members)
        self.decided_groups += int(new.decided) - int(old.decided)
        self.delete_files += new.deletes - old.deletes
        self.delete_bytes += new.delete_bytes - old.delete_bytes
        self.status[gi] = new

    def refresh(self, groups: Iterable[int]) -> list[int]:
        touched = sorted(set(groups))
        for gi in touched:
            self._refresh_one(gi)
        return touched

    def groups_of(self, paths: Iterable[str]) -> list[int]:
        return self.groups.positions_of(paths)

    # ------------------------------------------------------------------ decisions
    def _decide(self, gi: int, actions: dict[int, FileAction], by: DecidedBy = "person",
                rule: str | None = None) -> list[int]:
        g = self.groups[gi]
        changes = [Change(g.members[mi].path, g.members[mi].digest, a) for mi, a in actions.items()
                   if self.action(g.members[mi]) != a]
        if not changes:
            return []
        self.journal.decide(changes, group=g.id, by=by, rule=rule)
        return self.refresh(self.groups_of(c.path for c in changes))

    def set_action(self, gi: int, mi: int, action: FileAction) -> list[int]:
        """Keep, delete or reset one file; returns the groups whose status changed.

        In a pair, deleting one copy keeps the other (when the other is still undecided).
        """
        actions: dict[int, FileAction] = {mi: action}
        g = self.groups[gi]
        if action == "delete" and len(g.members) == 2:
            other = 1 - mi
            if self.action(g.members[other]) in ("undecided", "stale"):
                actions[other] = "keep"
        return self._decide(gi, actions)

    def toggle(self, gi: int, mi: int) -> list[int]:
        """Delete <-> keep; an undecided or stale file becomes delete."""
        current = self.action(self.groups[gi].members[mi])
        return self.set_action(gi, mi, "keep" if current == "delete" else "delete")

    def keep_only(self, gi: int, mi: int) -> list[int]:
        n = len(self.groups[gi].members)
        return self._decide(gi, {k: ("keep" if k == mi else "delete") for k in range(n)})

    def accept_suggestion(self, gi: int) -> list[int] | None:
        """A person pressed "accept": journaled as the person's decision. None: no clear original."""
        best = self.suggested(gi)
        if best is None:
            return None
        n = len(self.groups[gi].members)
        return self._decide(gi, {k: ("keep" if k == best else "delete") for k in range(n)}, by="person")

    def exact_batch_candidates(self) -> list[int]:
        """Undecided exact-duplicate groups that are neither label conflicts nor split leaks."""
        flags = self.groups.flags
        return [gi for gi in range(len(flags))
                if flags[gi] & (FLAG_EXACT | FLAG_CONFLICT | FLAG_LEAK) == FLAG_EXACT
                and all(self.action(m) == "undecided" for m in self.groups[gi].members)]

    def exact_batch_skipped(self) -> int:
        """Undecided exact groups the batch leaves alone: label conflicts and split leaks (decide by eye)."""
        flags = self.groups.flags
        return sum(1 for gi in range(len(flags))
                   if flags[gi] & FLAG_EXACT and flags[gi] & (FLAG_CONFLICT | FLAG_LEAK)
                   and all(self.action(m) == "undecided" for m in self.groups[gi].members))

    def accept_all_exact(self) -> list[int]:
        """Accept the suggestion for every batch candidate, as ONE undoable journal batch (a person's)."""
        todo = self.exact_batch_candidates()
        changes: list[Change] = []
        for gi in todo:
            g = self.groups[gi]
            best = self.suggested(gi)
            if best is None:
                continue
            for k, m in enumerate(g.members):
                changes.append(Change(m.path, m.digest, "keep" if k == best else "delete", group=g.id))
        if not changes:
            return []
        self.journal.decide(changes, group="batch:exact", by="person")
        return self.refresh(todo)

    def not_duplicates(self, gi: int) -> list[int]:
        """Keep every file and remember they are distinct (a later scan will not group them)."""
        g = self.groups[gi]
        self.journal.mark_distinct(g.id, [(m.path, m.digest) for m in g.members])
        return self.refresh(self.groups_of(m.path for m in g.members))

    def undo(self) -> list[int] | None:
        paths = self.journal.undo()
        if paths is None:
            return None
        return self.refresh(self.groups_of(paths))

    def redo(self) -> list[int] | None:
        paths = self.journal.redo()
        if paths is None:
            return None
        return self.refresh(self.groups_of(paths))
