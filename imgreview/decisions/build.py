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
from dataclasses import dataclass, field
from typing import Literal

from imgreview.model import Group, Member, ScanResult
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
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
    """The journal's current state over the latest scan, sorted into lists."""

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

    def rows(self, which: str) -> list[Row]:
        if which not in LISTS:
            raise ValueError(f"unknown list {which!r}")
        return list(getattr(self, which))

    @property
    def delete_bytes(self) -> int:
        return sum(r.member.size for r in self.delete)


def build_decisions(result: ScanResult, journal: Journal) -> Decisions:
    """Join the journal with the scan result and sort every group member into a list."""
    out = Decisions()
    seen: set[str] = set()
    for group in result.groups:
        out.groups[group.id] = group
        rows: list[Row] = []
        for m in group.members:
            seen.add(m.path)
            action = journal.action_for(m.path, m.digest)
            d = journal.decisions.get(m.path)
            by = d.by if d is not None and action != "undecided" else ""
            note = ""
            if action == "stale" and d is not None:
                note = f"stale: decided on content {d.digest[:12]}, the file changed since"
            rows.append(Row(group.id, m, action, by, note, d.rule if d is not None else None))
        every_delete = bool(rows) and all(r.decision == "delete" for r in rows)
        if every_delete:
            if all(r.explicit for r in rows):
                out.dropped_groups.add(group.id)
            else:
                for r in rows:
                    r.note = "held back: every file of the group is marked delete, not all explicitly"
                out.held.extend(rows)
                out.undecided.extend(rows)
                continue
        for r in rows:
            if r.decision == "keep":
                out.keep.append(r)
            elif r.decision == "delete":
                out.delete.append(r)
            else:
                out.undecided.append(r)
                if r.decision == "stale":
                    out.stale.append(r)
    out.orphans = sorted(p for p, d in journal.decisions.items() if p not in seen and d.action in ("keep", "delete"))
    if journal.marks:
        _add_triage(out, result, journal)
    return out


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


def _add_triage(out: Decisions, result: ScanResult, journal: Journal) -> None:
    """Sort the triage marks into the unwanted / relabel / wanted lists, against the duplicate decisions."""
    where: dict[str, tuple[str, Row]] = {}
    for name in ("keep", "delete", "undecided"):
        for r in getattr(out, name):
            where[r.path] = (name, r)
    members = {m.path: (g.id, m) for g in result.groups for m in g.members}
    moved_out: set[str] = set()
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
        listed, row = where.get(path, ("", None))
        if mark.action == "unwanted":
            if listed == "delete" and row is not None:
                row.note = (row.note + "; " if row.note else "") + "also marked unwanted in triage"
                continue
            note = "marked unwanted in triage"
            if listed == "keep":
                note = f"kept in duplicate group {gid}, marked unwanted in triage: unwanted"
                moved_out.add(path)
            elif listed == "undecided":
                note = f"in duplicate group {gid} (undecided there), marked unwanted in triage"
                moved_out.add(path)
            out.unwanted.append(Row(gid, member, "unwanted", by, note, mark.rule))
        elif mark.action == "relabel":
            if listed == "delete" and row is not None:
                row.note = (row.note + "; " if row.note else "") + f"relabel to {mark.to} ignored: marked delete"
                continue
            out.relabel.append(Row(gid, member, "relabel", by, f"relabel {member.label or '?'} -> {mark.to}",
                                   mark.rule, to=mark.to))
        elif mark.action == "wanted":
            out.wanted.append(Row(gid, member, "wanted", by, "", mark.rule))
    if moved_out:
        out.keep = [r for r in out.keep if r.path not in moved_out]
        out.undecided = [r for r in out.undecided if r.path not in moved_out]


def load_decisions(session: Session) -> tuple[ScanResult, Journal, Decisions]:
    """A session's latest scan, its journal (read-only) and the decisions they make together.

    Raises :class:`~imgreview.session.folder.SessionError` when the session or its result cannot be read.
    """
    session.read_meta()
    result = session.load_result()
    journal = session.journal(read_only=True)
    return result, journal, build_decisions(result, journal)
