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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from imgreview.model import Group, Member, ScanResult
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.vocab import DecidedBy, Verdict

EXPLICIT_DROP_SUFFIX = "drop-all"  # rules a person requested by name to drop whole groups
LISTS = ("keep", "delete", "undecided")


@dataclass(slots=True)
class Row:
    """One file of a group with its decision."""

    group: str
    member: Member
    decision: Verdict
    by: DecidedBy | Literal[""]  # "" when undecided
    note: str = ""
    rule: str | None = None

    @property
    def explicit(self) -> bool:
        """Decided by a person, or by a rule the person asked to drop whole groups."""
        return self.by == "person" or (self.by == "rule" and (self.rule or "").endswith(EXPLICIT_DROP_SUFFIX))

    @property
    def path(self) -> str:
        return self.member.path

    def as_dict(self) -> dict[str, object]:
        m = self.member
        return {"group": self.group, "path": m.path, "decision": self.decision, "by": self.by,
                "distance": m.distance, "size": m.size, "width": m.width, "height": m.height,
                "digest": m.digest, "label": m.label, "split": m.split, "note": self.note}


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
    return out


def load_decisions(session: Session) -> tuple[ScanResult, Journal, Decisions]:
    """A session's latest scan, its journal (read-only) and the decisions they make together.

    Raises :class:`~imgreview.session.folder.SessionError` when the session or its result cannot be read.
    """
    session.read_meta()
    result = session.load_result()
    journal = session.journal(read_only=True)
    return result, journal, build_decisions(result, journal)
