"""The review's decisions as lists: keep, delete, undecided (see docs/safety.md).

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

Output formats (:func:`render`):

* ``txt``: one path a line, or NUL-terminated with ``nul=True``; paths are written as their
  original bytes (``os.fsencode``). A path containing a newline cannot be written unambiguously one
  a line: :class:`ExportError` is raised, suggesting NUL separators or JSON.
* ``csv``: UTF-8, a header row, :data:`COLUMNS`; empty cells for unknown values. Bytes of a path
  that are not valid UTF-8 appear as ``\\udcXX`` escapes (Python's ``surrogateescape`` +
  ``backslashreplace``); use JSON or ``txt -0`` for an exact round trip of such paths.
* ``json``: a list of objects with the :data:`COLUMNS` keys, ASCII only; non-UTF-8 bytes are lone
  surrogate escapes (``\\udcXX``) that ``json.loads`` + ``os.fsencode`` turn back into the bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field

from imgreview.model import Group, Member, ScanResult
from imgreview.session.journal import Journal

EXPLICIT_DROP_SUFFIX = "drop-all"  # rules a person requested by name to drop whole groups
COLUMNS = ("group", "path", "decision", "by", "distance", "size", "width", "height", "digest", "label",
           "split", "note")
FORMATS = ("txt", "csv", "json")
LISTS = ("keep", "delete", "undecided")


class ExportError(Exception):
    """The list cannot be written as asked; the message says why and what to do instead."""


@dataclass(slots=True)
class Row:
    """One file of a group with its decision."""

    group: str
    member: Member
    decision: str  # keep | delete | undecided | stale
    by: str  # person | rule | "" (undecided)
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


# ---------------------------------------------------------------------- output
def _text(value: object) -> str:
    """A cell for CSV: non-UTF-8 bytes (surrogates) as backslash escapes; None as empty."""
    if value is None:
        return ""
    s = str(value)
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def render_txt(rows: list[Row], nul: bool = False) -> bytes:
    sep = b"\0" if nul else b"\n"
    out: list[bytes] = []
    for r in rows:
        raw = os.fsencode(r.path)
        if not nul and b"\n" in raw:
            raise ExportError(
                f"the path {display_path(r.path)} contains a newline, which one path a line cannot "
                "represent; use -0 (NUL-separated, for xargs -0) or --format json"
            )
        out.append(raw + sep)
    return b"".join(out)


def render_csv(rows: list[Row]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        d = r.as_dict()
        writer.writerow([_text(d[c]) for c in COLUMNS])
    return buf.getvalue().encode("utf-8")


def render_json(rows: list[Row]) -> bytes:
    text = json.dumps([r.as_dict() for r in rows], indent=1, ensure_ascii=True)
    return (text + "\n").encode("ascii")


def render(rows: list[Row], fmt: str = "txt", nul: bool = False) -> bytes:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if nul and fmt != "txt":
        raise ExportError("-0 applies to the txt format only")
    if fmt == "txt":
        return render_txt(rows, nul)
    if fmt == "csv":
        return render_csv(rows)
    return render_json(rows)


def display_path(path: str) -> str:
    """A path for messages: printable, one line, non-UTF-8 bytes and control characters escaped."""
    s = path.encode("utf-8", "backslashreplace").decode("utf-8")
    if any(ord(c) < 32 or ord(c) == 127 for c in s):
        s = "".join(c if 32 <= ord(c) != 127 else repr(c)[1:-1] for c in s)
    return s
