"""The decision journal: every review decision, appended at once, replayed on start.

``journal.jsonl`` holds one JSON object per line. Each call that decides something writes one
*batch* (one or more lines sharing a ``batch`` number) with a single ``write``, then flushes and
fsyncs, so a crash loses at most the decision in flight. Nothing is ever rewritten in place:
undo and redo append records too.

Record fields: ``v`` (format), ``batch``, ``time`` (ISO 8601, UTC), ``action``, ``by``
(``person`` or ``rule``), ``rule`` (which rule, for rule decisions), ``group``, and

* for ``keep`` / ``delete`` / ``undecided``: ``path`` and ``digest`` (the content the decision
  was made on; if the file's content changes the decision is *stale* and is not applied);
* for ``distinct`` / ``not-distinct``: ``paths`` and ``digests`` of a group a person declared
  "not duplicates" (or took that back); later scans do not group those contents together;
* for triage marks ``unwanted`` / ``wanted`` / ``relabel`` (and ``unmarked``, which takes a mark
  back): ``path`` and ``digest`` (a mark made on other content is *stale*), ``label`` (the label
  the picture had) and, for ``relabel``, ``to`` (the label it belongs to). Triage marks are kept
  apart from keep/delete: a file kept in a duplicate group may still be marked unwanted;
* ``undoes`` / ``redoes``: on records written by undo/redo, the batch they reverse or repeat.

On replay a truncated or unreadable line (a crash mid-write, a hand edit) is skipped with a
warning, never fatal.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from imgreview.errors import ImgreviewError
from imgreview.fs import utc_now
from imgreview.schema import check
from imgreview.session.jsonl import append_records, read_bytes
from imgreview.vocab import DecidedBy, FileAction, Verdict

JOURNAL_VERSION = 1
FILE_ACTIONS = ("keep", "delete", "undecided")
GROUP_ACTIONS = ("distinct", "not-distinct")
TRIAGE_ACTIONS = ("unwanted", "wanted", "relabel", "unmarked")


class JournalError(ImgreviewError):
    """The journal cannot be written; the decision was NOT recorded."""


@dataclass(slots=True, frozen=True)
class Decision:
    action: FileAction  # keep | delete
    digest: str
    group: str
    by: DecidedBy
    rule: str | None
    time: str
    batch: int


@dataclass(slots=True, frozen=True)
class Mark:
    """A triage mark on one file."""

    action: str  # unwanted | wanted | relabel
    digest: str
    to: str | None  # relabel: the label the picture belongs to
    label: str | None  # the label it had when marked
    by: str
    rule: str | None
    time: str
    batch: int


@dataclass(slots=True)
class MarkChange:
    """One file's triage mark in a batch."""

    path: str
    digest: str
    action: str  # unwanted | wanted | relabel | unmarked
    to: str | None = None
    label: str | None = None


@dataclass(slots=True)
class Change:
    """One file's decision in a batch."""

    path: str
    digest: str
    action: FileAction
    group: str | None = None  # overrides the batch's group (one batch spanning several groups)


@dataclass(slots=True)
class _Batch:
    number: int
    records: list[dict[str, Any]]
    before: list[dict[str, Any]] = field(default_factory=list)  # records restoring the prior state


class _Common(TypedDict):
    """Fields every journal record may have (``batch`` and ``action`` are checked separately)."""

    v: NotRequired[int]
    time: NotRequired[str]
    group: NotRequired[str]
    by: NotRequired[str]
    rule: NotRequired[str | None]
    undoes: NotRequired[int]
    redoes: NotRequired[int]


class FileRecord(_Common):
    """A keep / delete / undecided decision for one file."""

    path: str
    digest: NotRequired[str]


class GroupRecord(_Common):
    """A distinct / not-distinct decision for a group's contents."""

    digests: list[str]
    paths: NotRequired[list[str]]


def _check_record(rec: object) -> int:
    """The batch number of a well-formed record; ValueError/TypeError for anything else.

    The one type check of journal records: every field a reader uses has its declared type
    (:class:`FileRecord`, :class:`GroupRecord`), so replay and the code built on it never meet a
    value of the wrong type.
    """
    if not isinstance(rec, dict) or "action" not in rec or "batch" not in rec:
        raise ValueError("not a journal record")
    check(rec, FileRecord if rec["action"] in FILE_ACTIONS else GroupRecord if rec["action"] in GROUP_ACTIONS
          else _Common)
    batch = rec["batch"]
    if isinstance(batch, bool) or not isinstance(batch, int | float | str):
        raise TypeError(f"bad batch number {batch!r}")
    number = int(batch)
    action = rec["action"]
    if action in FILE_ACTIONS:
        if not isinstance(rec.get("path"), str) or not isinstance(rec.get("digest", ""), str):
            raise ValueError("a file decision without a path")
    elif action in TRIAGE_ACTIONS:
        if not isinstance(rec.get("path"), str) or not isinstance(rec.get("digest", ""), str):
            raise ValueError("a triage mark without a path")
        if action == "relabel" and not isinstance(rec.get("to"), str):
            raise ValueError("a relabel without the label it goes to")
    elif action in GROUP_ACTIONS:
        digests = rec.get("digests")
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            raise ValueError("a group decision without digests")
    for key in ("undoes", "redoes"):
        if key in rec and (isinstance(rec[key], bool) or not isinstance(rec[key], int)):
            raise ValueError(f"bad {key}")
    return number


def _decided_by(value: object) -> DecidedBy:
    """Who decided; an unknown value counts as a rule (never as a person's explicit choice)."""
    return "person" if value == "person" else "rule"


class Journal:
    """Replayed state of a journal file, with methods that append new decisions."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.decisions: dict[str, Decision] = {}
        self.distinct: dict[frozenset[str], str] = {}  # digests -> group
        self.marks: dict[str, Mark] = {}  # path -> triage mark
        self.warnings: list[str] = []
        self._undo: list[_Batch] = []
        self._redo: list[_Batch] = []
        self._next_batch = 1
        self._replay()

    # ------------------------------------------------------------------ reading
    def _replay(self) -> None:
        try:
            raw = read_bytes(self.path)
        except OSError as exc:  # a folder, FIFO or link in its place; unreadable
            raise JournalError(f"cannot read the journal {self.path}: {exc.strerror or exc}; move it away or "
                               "choose another --session") from None
        if raw is None:
            return
        lines = raw.split(b"\n")
        batches: dict[int, list[dict[str, Any]]] = {}
        order: list[int] = []
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                batch = _check_record(rec)
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                last = lineno == len(lines) or (lineno == len(lines) - 1 and not lines[-1])
                what = "truncated last line (interrupted write)" if last else f"unreadable line ({exc})"
                self.warnings.append(f"{self.path}:{lineno}: skipped {what}")
                continue
            if batch not in batches:
                batches[batch] = []
                order.append(batch)
            batches[batch].append(rec)
        for number in order:
            try:
                self._apply_batch(number, batches[number])
            except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:  # pragma: no cover
                self.warnings.append(f"{self.path}: skipped batch {number} ({exc!r})")
        self._next_batch = (max(order) + 1) if order else 1

    def _apply_batch(self, number: int, records: list[dict[str, Any]]) -> None:
        first = records[0]
        before = [self._prior_record(r) for r in records]
        for rec in records:
            self._apply_record(rec)
        if "undoes" in first:
            target = first["undoes"]
            idx = next((k for k in range(len(self._undo) - 1, -1, -1) if self._undo[k].number == target), None)
            if idx is not None:
                self._redo.append(self._undo.pop(idx))
        elif "redoes" in first:
            target = first["redoes"]
            idx = next((k for k in range(len(self._redo) - 1, -1, -1) if self._redo[k].number == target), None)
            if idx is not None:
                self._undo.append(self._redo.pop(idx))
        else:
            self._undo.append(_Batch(number, records, before))
            self._redo.clear()

    def _prior_record(self, rec: dict[str, Any]) -> dict[str, Any]:
        """A record that would restore the state ``rec`` changes."""
        action = rec.get("action")
        if action in GROUP_ACTIONS:
            key = frozenset(rec.get("digests", []))
            was = "distinct" if key in self.distinct else "not-distinct"
            return {**rec, "action": was}
        if action in TRIAGE_ACTIONS:
            where = rec.get("path")
            mark = self.marks.get(where) if isinstance(where, str) else None
            if mark is None:
                return {k: v for k, v in rec.items() if k != "to"} | {"action": "unmarked"}
            return {**rec, "action": mark.action, "digest": mark.digest, "to": mark.to, "label": mark.label,
                    "by": mark.by, "rule": mark.rule}
        path = rec.get("path")
        prior = self.decisions.get(path) if isinstance(path, str) else None
        if prior is None:
            return {**rec, "action": "undecided"}
        return {**rec, "action": prior.action, "digest": prior.digest, "by": prior.by, "rule": prior.rule,
                "group": prior.group}

    def _apply_record(self, rec: dict[str, Any]) -> None:
        action = rec.get("action")
        if action in GROUP_ACTIONS:
            digests = rec.get("digests")
            if not isinstance(digests, list):
                return
            key = frozenset(str(d) for d in digests)
            if action == "distinct":
                self.distinct[key] = str(rec.get("group", ""))
            else:
                self.distinct.pop(key, None)
            return
        path = rec.get("path")
        if isinstance(path, str) and action in TRIAGE_ACTIONS:
            if action == "unmarked":
                self.marks.pop(path, None)
            else:
                to = rec.get("to")
                label = rec.get("label")
                self.marks[path] = Mark(action=action, digest=str(rec.get("digest", "")),
                                        to=str(to) if to is not None and action == "relabel" else None,
                                        label=str(label) if label is not None else None,
                                        by=str(rec.get("by", "person")), rule=rec.get("rule"),
                                        time=str(rec.get("time", "")), batch=int(rec.get("batch", 0)))
            return
        if not isinstance(path, str) or action not in FILE_ACTIONS:
            return
        if action == "undecided":
            self.decisions.pop(path, None)
            return
        self.decisions[path] = Decision(
            action=action,
            digest=str(rec.get("digest", "")),
            group=str(rec.get("group", "")),
            by=_decided_by(rec.get("by", "person")),
            rule=rec.get("rule"),
            time=str(rec.get("time", "")),
            batch=int(rec.get("batch", 0)),
        )

    # ------------------------------------------------------------------ queries
    def action_for(self, path: str, digest: str) -> Verdict:
        """``keep``, ``delete``, ``undecided``, or ``stale`` when decided on other content."""
        d = self.decisions.get(path)
        if d is None:
            return "undecided"
        if d.digest and digest and d.digest != digest:
            return "stale"
        return d.action

    def mark_for(self, path: str, digest: str) -> str:
        """The triage mark: ``unwanted``, ``wanted``, ``relabel``, ``undecided``, or ``stale``."""
        m = self.marks.get(path)
        if m is None:
            return "undecided"
        if m.digest and digest and m.digest != digest:
            return "stale"
        return m.action

    def distinct_pairs(self) -> set[tuple[str, str]]:
        """Pairs of content digests a person declared not duplicates (sorted tuples)."""
        out: set[tuple[str, str]] = set()
        for key in self.distinct:
            for a, b in itertools.combinations(sorted(key), 2):
                out.add((a, b))
        return out

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # ------------------------------------------------------------------ writing
    def _write(self, records: list[dict[str, Any]]) -> None:
        if self.read_only:
            raise JournalError("this session is open read-only; the decision was not recorded")
        try:
            append_records(self.path, records)
        except OSError as exc:
            raise JournalError(
                f"cannot write the journal {self.path}: {exc.strerror or exc}; the decision was NOT recorded"
            ) from exc

    def _commit(self, records: list[dict[str, Any]]) -> int:
        number = self._next_batch
        stamp = utc_now()
        for rec in records:
            rec.setdefault("v", JOURNAL_VERSION)
            rec["batch"] = number
            rec["time"] = stamp
        self._write(records)  # raises before any state changes
        self._next_batch += 1
        self._apply_batch(number, records)
        return number

    def decide(self, changes: Iterable[Change], group: str, by: DecidedBy = "person", rule: str | None = None) -> int:
        """Record decisions for several files as one undoable batch; returns the batch number."""
        records: list[dict[str, Any]] = []
        for c in changes:
            if c.action not in FILE_ACTIONS:
                raise ValueError(f"unknown action {c.action!r}")
            rec: dict[str, Any] = {"action": c.action, "path": c.path, "digest": c.digest, "group": c.group or group,
                                   "by": by}
            if rule:
                rec["rule"] = rule
            records.append(rec)
        if not records:
            return 0
        return self._commit(records)

    def mark(self, changes: Iterable[MarkChange], by: str = "person", rule: str | None = None) -> int:
        """Record triage marks for several files as one undoable batch; returns the batch number."""
        records: list[dict[str, Any]] = []
        for c in changes:
            if c.action not in TRIAGE_ACTIONS:
                raise ValueError(f"unknown triage mark {c.action!r}")
            if c.action == "relabel" and not c.to:
                raise ValueError("a relabel needs the label the file goes to")
            rec: dict[str, Any] = {"action": c.action, "path": c.path, "digest": c.digest, "by": by}
            if c.label is not None:
                rec["label"] = c.label
            if c.action == "relabel":
                rec["to"] = c.to
            if rule:
                rec["rule"] = rule
            records.append(rec)
        if not records:
            return 0
        return self._commit(records)

    def mark_distinct(self, group: str, members: Iterable[tuple[str, str]], distinct: bool = True,
                      by: DecidedBy = "person") -> int:
        """Declare a group's files not duplicates (keeping them all), or take that back."""
        members = list(members)
        records: list[dict[str, Any]] = [{
            "action": "distinct" if distinct else "not-distinct",
            "group": group,
            "by": by,
            "paths": [p for p, _ in members],
            "digests": sorted({d for _, d in members}),
        }]
        for path, digest in members:
            records.append({"action": "keep" if distinct else "undecided", "path": path, "digest": digest,
                            "group": group, "by": by})
        return self._commit(records)

    def undo(self) -> list[str] | None:
        """Reverse the latest batch; returns the paths it touched, or None when nothing to undo."""
        if not self._undo:
            return None
        batch = self._undo[-1]
        return self._replay_batch(batch, batch.before, "undoes")

    def redo(self) -> list[str] | None:
        """Repeat the latest undone batch; returns the paths it touched, or None when nothing to redo."""
        if not self._redo:
            return None
        batch = self._redo[-1]
        return self._replay_batch(batch, batch.records, "redoes")

    def _replay_batch(self, batch: _Batch, source: list[dict[str, Any]], key: str) -> list[str]:
        """Append ``source``'s records again as one batch marked ``key`` (``undoes``/``redoes``) = the batch."""
        records = [{k: v for k, v in r.items() if k not in ("batch", "time", "undoes", "redoes")} for r in source]
        for r in records:
            r[key] = batch.number
        self._commit(records)
        return [r["path"] for r in batch.records if "path" in r]
