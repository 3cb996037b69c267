"""Decisions over the latest scan: every group member sorted into keep, delete or undecided.

The rules are stated for users in docs/safety.md.

The journal holds one decision per path, bound to the content digest it was made on; the latest
scan result says which files exist and which group each belongs to. :func:`build_decisions` joins
the two and applies the rules that protect the user:

* an undecided file is never in the delete list;
* a decision made on other content (the file changed since: *stale*) is not applied;
* a group whose every member is marked delete is in the delete list only when every one of those
  decisions is explicit: made by a person, or by a rule the person asked to drop whole groups
  (``resolve --conflicts drop-all`` / ``--leaks drop-all``, rule names ending in ``drop-all``);
  otherwise those deletions are *held back*.

Files without an applicable decision (undecided, stale, held back) form the undecided list.

Triage marks (see :mod:`imgreview.triage`) add three lists: ``unwanted`` (marked unwanted: apply
moves them to the quarantine like deletions), ``relabel`` (belongs to another label; ``to`` says
which; ``apply --relabel`` moves them) and ``wanted``. They never contradict the duplicate
decisions silently: a file *kept* in a duplicate group and marked unwanted is unwanted (it leaves
the keep list, and its note says so); a file already in the delete list stays there (noted); a
relabel of a file marked delete is not listed (noted on the delete row).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from imgreview.model import Group, Member, ScanResult
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.session.store import ScanGroups
from imgreview.vocab import DecidedBy, RowDecision

EXPLICIT_DROP_SUFFIX = "drop-all"  # rules a person requested by name to drop whole groups
LISTS = ("keep", "delete", "undecided", "unwanted", "relabel", "wanted")


@dataclass(slots=True)
class Row:
    """One file of a group with its decision."""

    group: str
    member: Member
    decision: RowDecision  # a Verdict, or a triage mark in the unwanted / relabel / wanted lists
    by: DecidedBy | Literal[""]  # "" when undecided
    note: str = ""
    rule: str | None = None
    to: str | None = None  # relabel: the label the file belongs to

    @property
    def explicit(self) -> bool:
        """Decided by a person, or by a rule the person asked to drop whole groups."""
        return self.by == "person" or (self.by == "rule" and (self.rule or "").endswith(EXPLICIT_DROP_SUFFIX))

    @property
    def path(self) -> str:
        return self.member.path

    def as_dict(self) -> dict[str, object]:
        m = self.member
        meta = m.meta or {}
        gps = meta.get("gps")
        keywords = meta.get("keywords")
        return {"group": self.group, "path": m.path, "decision": self.decision, "by": self.by,
                "distance": m.distance, "size": m.size, "width": m.width, "height": m.height,
                "digest": m.digest, "label": m.label, "split": m.split, "note": self.note, "to": self.to,
                "gps": f"{gps[0]:.6f},{gps[1]:.6f}" if isinstance(gps, list) and len(gps) == 2 else None,
                "description": meta.get("description") or meta.get("comment"),
                "keywords": ";".join(keywords) if isinstance(keywords, list) and keywords else None}


@dataclass(slots=True)
class Decisions:
    """The journal's current state over the latest scan, sorted into lists.

    Built from every group (:func:`build_decisions`) or only from the groups the journal names
    (:func:`decisions_of`: ``complete`` False). Then the ``untouched`` members of the other groups
    are undecided but not in :attr:`undecided` (:func:`undecided_rows` streams the whole list);
    every other list, count and set is the same either way.
    """

    keep: list[Row] = field(default_factory=list)
    delete: list[Row] = field(default_factory=list)
    undecided: list[Row] = field(default_factory=list)  # undecided, stale and held-back files
    stale: list[Row] = field(default_factory=list)
    held: list[Row] = field(default_factory=list)  # whole group marked delete, not all explicitly
    dropped_groups: set[str] = field(default_factory=set)  # a person marked every member delete
    orphans: list[str] = field(default_factory=list)  # decided paths that are in no group of the scan
    groups: dict[str, Group] = field(default_factory=dict)
    unwanted: list[Row] = field(default_factory=list)  # triage: marked unwanted (and not already delete)
    relabel: list[Row] = field(default_factory=list)  # triage: belongs to another label
    wanted: list[Row] = field(default_factory=list)  # triage: looked at and wanted
    triage_orphans: list[str] = field(default_factory=list)  # marked paths that no longer exist
    complete: bool = True  # built from every group (else from the groups the journal names)
    untouched: int = 0  # members of groups the journal does not name (not in ``undecided`` unless complete)
    positions: list[int] = field(default_factory=list)  # scan positions of the groups in ``groups``
    moved_out: set[str] = field(default_factory=set)  # kept or undecided paths listed as unwanted instead
    notes: dict[str, str] = field(default_factory=dict)  # delete rows' notes from triage marks

    def rows(self, which: str) -> list[Row]:
        if which not in LISTS:
            raise ValueError(f"unknown list {which!r}")
        if which == "undecided" and not self.complete:
            raise ValueError("the undecided list of partial decisions: use undecided_rows()")
        return list(getattr(self, which))

    @property
    def undecided_count(self) -> int:
        return len(self.undecided) + (0 if self.complete else self.untouched)

    @property
    def delete_bytes(self) -> int:
        return sum(r.member.size for r in self.delete)


def group_rows(group: Group, journal: Journal) -> tuple[list[Row], bool]:
    """One group's rows with the journal's decisions, and whether they are held back (every member
    marked delete, not all explicitly: then each row says so and counts as undecided)."""
    rows: list[Row] = []
    for m in group.members:
        action = journal.action_for(m.path, m.digest)
        d = journal.decisions.get(m.path)
        by = d.by if d is not None and action != "undecided" else ""
        note = ""
        if action == "stale" and d is not None:
            note = f"stale: decided on content {d.digest[:12]}, the file changed since"
        rows.append(Row(group.id, m, action, by, note, d.rule if d is not None else None))
    held = bool(rows) and all(r.decision == "delete" for r in rows) and not all(r.explicit for r in rows)
    if held:
        for r in rows:
            r.note = "held back: every file of the group is marked delete, not all explicitly"
    return rows, held


def _sort_group(out: Decisions, group: Group, journal: Journal) -> None:
    """Sort one group's rows into ``out`` (the triage marks' effects already in ``out``)."""
    out.groups[group.id] = group
    rows, held = group_rows(group, journal)
    if held:
        out.held.extend(rows)
        out.undecided.extend(r for r in rows if r.path not in out.moved_out)
        return
    if rows and all(r.decision == "delete" for r in rows):
        out.dropped_groups.add(group.id)
    for r in rows:
        if r.decision == "keep":
            if r.path not in out.moved_out:
                out.keep.append(r)
        elif r.decision == "delete":
            if r.path in out.notes:
                r.note = (r.note + "; " if r.note else "") + out.notes[r.path]
            out.delete.append(r)
        else:
            if r.path not in out.moved_out:
                out.undecided.append(r)
            if r.decision == "stale":
                out.stale.append(r)


def build_decisions(result: ScanResult, journal: Journal) -> Decisions:
    """Join the journal with the scan result and sort every group member into a list."""
    return _decisions(result, ScanGroups(result.groups), journal, complete=True)


def decisions_of(header: ScanResult, groups: ScanGroups, journal: Journal) -> Decisions:
    """The decisions read from only the groups holding a file the journal decides or marks (``complete``
    False): every other group's members are undecided (counted in ``untouched``)."""
    return _decisions(header, groups, journal, complete=False)


def _decisions(header: ScanResult, groups: ScanGroups, journal: Journal, complete: bool) -> Decisions:
    out = Decisions(complete=complete)
    marked = groups.positions_of(journal.marks) if journal.marks else []
    if journal.marks:
        _plan_triage(out, header, list(groups.at(marked)), journal)
    if complete:
        chosen: Iterable[Group] = groups
        out.positions = list(range(len(groups)))
    else:
        out.positions = sorted(set(groups.positions_of(journal.decisions)) | set(marked))
        chosen = groups.at(out.positions)
    seen: set[str] = set()
    for group in chosen:
        seen.update(m.path for m in group.members)
        _sort_group(out, group, journal)
    if not complete:
        out.untouched = groups.member_count() - sum(len(g.members) for g in out.groups.values())
    out.orphans = sorted(p for p, d in journal.decisions.items() if p not in seen and d.action in ("keep", "delete"))
    return out


def undecided_rows(decisions: Decisions, groups: ScanGroups, journal: Journal) -> Iterator[Row]:
    """The whole undecided list in its order, a group at a time: the rows of ``decisions`` (from
    :func:`decisions_of`) for the groups it holds, every member of the other groups."""
    if decisions.complete:
        yield from decisions.undecided
        return
    for group in groups.each(evidence=False):  # the lists do not show the evidence
        if group.id in decisions.groups:
            rows, held = group_rows(group, journal)
            yield from (r for r in rows if r.path not in decisions.moved_out
                        and (held or r.decision not in ("keep", "delete")))
        else:
            yield from (Row(group.id, m, "undecided", "") for m in group.members)


def _triage_member(result: ScanResult, path: str, digest: str, label: str | None) -> Member | None:
    """A Member for a marked file outside every duplicate group (None when it no longer exists)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    roots = sorted((os.path.abspath(r) for r in result.roots), key=len, reverse=True)
    root = next((r for r in roots if path.startswith(r.rstrip(os.sep) + os.sep)), "")
    split = None
    if root:
        from imgreview.labels import Labeller, Layout

        try:
            found, split = Labeller(Layout.from_settings(result.settings)).classify(path, root)
            label = label or found
        except ValueError:
            pass
    width = height = 0
    meta = None
    try:  # the header only: size and metadata, no pixels decoded
        from PIL import Image

        from imgreview.scan.metadata import extract

        with Image.open(path) as im:
            width, height = im.size
            meta = extract(im) or None
    except Exception:  # not an image any more, unreadable: the list still names it
        pass
    return Member(path=path, digest=digest, distance=0, size=st.st_size, width=width, height=height,
                  mtime=st.st_mtime, root=root, label=label, split=split, meta=meta)


def _plan_triage(out: Decisions, result: ScanResult, marked_groups: list[Group], journal: Journal) -> None:
    """Sort the triage marks into the unwanted / relabel / wanted lists, against the duplicate decisions of
    ``marked_groups`` (the groups holding a marked file); record in ``out`` which kept or undecided files
    leave their list (``moved_out``) and the notes of delete rows, for the groups sorted after."""
    trial = Decisions()
    for group in marked_groups:
        _sort_group(trial, group, journal)
    where: dict[str, str] = {}
    for name in ("keep", "delete", "undecided"):
        for r in getattr(trial, name):
            where[r.path] = name
    members = {m.path: (g.id, m) for g in marked_groups for m in g.members}
    for path in sorted(journal.marks):
        mark = journal.marks[path]
        by: DecidedBy = "rule" if mark.by == "rule" else "person"
        hit = members.get(path)
        if hit is not None:
            gid, member = hit
            if mark.digest and member.digest != mark.digest:
                continue  # stale: marked on other content
        else:
            gid = ""
            found = _triage_member(result, path, mark.digest, mark.label)
            if found is None:
                out.triage_orphans.append(path)
                continue
            member = found
        listed = where.get(path, "")
        if mark.action == "unwanted":
            if listed == "delete":
                out.notes[path] = "also marked unwanted in triage"
                continue
            note = "marked unwanted in triage"
            if listed == "keep":
                note = f"kept in duplicate group {gid}, marked unwanted in triage: unwanted"
                out.moved_out.add(path)
            elif listed == "undecided":
                note = f"in duplicate group {gid} (undecided there), marked unwanted in triage"
                out.moved_out.add(path)
            out.unwanted.append(Row(gid, member, "unwanted", by, note, mark.rule))
        elif mark.action == "relabel":
            if listed == "delete":
                out.notes[path] = f"relabel to {mark.to} ignored: marked delete"
                continue
            out.relabel.append(Row(gid, member, "relabel", by, f"relabel {member.label or '?'} -> {mark.to}",
                                   mark.rule, to=mark.to))
        elif mark.action == "wanted":
            out.wanted.append(Row(gid, member, "wanted", by, "", mark.rule))


def load_decisions(session: Session) -> tuple[ScanResult, Journal, Decisions]:
    """A session's latest scan (its header: no groups), its journal (read-only) and the decisions they
    make together, read from only the groups the journal names (:func:`decisions_of`).

    Raises :class:`~imgreview.session.folder.SessionError` when the session or its result cannot be read.
    """
    session.read_meta()
    header, groups = session.open_scan()
    with groups:
        journal = session.journal(read_only=True)
        return header, journal, decisions_of(header, groups, journal)
