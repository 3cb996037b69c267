"""The quarantine manifest ``imgreview-manifest.jsonl``: header lines, one entry per move, readers.

The manifest ``imgreview-manifest.jsonl``in the quarantine folder is append-only JSON lines:

* a header line per apply run: ``{"imgreview-manifest": 1, "time", "session", "roots", "move_to"}``;
* one line per move, written and fsynced *before* the move: ``{"original", "new", "digest",
  "size", "group", "root", "time"}``, plus ``"kind": "relabel"`` for a file ``apply --relabel``
  moved into another label's folder (its ``new`` path is inside the roots, not the quarantine).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgreview.errors import ImgreviewError
from imgreview.fs import fsync_dir
from imgreview.session.jsonl import append_records

MANIFEST_NAME = "imgreview-manifest.jsonl"
MANIFEST_VERSION = 1
PARTIAL_SUFFIX = ".imgreview-partial"
# Test hook: pause (sleep) after this many moves, once the next move's manifest line is written.
TEST_PAUSE_ENV = "IMGREVIEW_TEST_PAUSE_AFTER_MOVES"
MARKER_TEXT = (
    "This folder is an imgreview quarantine: files moved here by `imgreview apply`.\n"
    "imgreview never scans a folder holding this file.\n"
    f"Restore them with: imgreview restore {MANIFEST_NAME}\n"
    "Delete the folder yourself when you are satisfied; imgreview never deletes files.\n"
)


class QuarantineError(ImgreviewError):
    """Apply or restore cannot start; the message says why and what to do."""


@dataclass(slots=True)
class Entry:
    original: str
    new: str
    digest: str
    size: int = 0
    group: str = ""
    root: str = ""
    time: str = ""
    kind: str = ""  # "relabel": moved into another label's folder inside the roots


@dataclass(slots=True)
class Manifest:
    path: Path
    headers: list[dict[str, Any]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        m = cls(Path(path))
        try:
            raw = m.path.read_bytes()
        except FileNotFoundError:
            return m
        lines = raw.split(b"\n")
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
                if "imgreview-manifest" in rec:
                    m.headers.append(rec)
                    continue
                m.entries.append(Entry(
                    original=str(rec["original"]), new=str(rec["new"]), digest=str(rec.get("digest", "")),
                    size=int(rec.get("size", 0)), group=str(rec.get("group", "")), root=str(rec.get("root", "")),
                    time=str(rec.get("time", "")), kind=str(rec.get("kind", "")),
                ))
            except (ValueError, KeyError, TypeError) as exc:
                last = lineno == len(lines) or (lineno == len(lines) - 1 and not lines[-1])
                what = "truncated last line (interrupted write)" if last else f"unreadable line ({exc!r})"
                m.warnings.append(f"{m.path}:{lineno}: skipped {what}")
        return m

    def roots(self) -> list[str]:
        out: list[str] = []
        for h in self.headers:
            for r in h.get("roots", []):
                if isinstance(r, str) and r not in out:
                    out.append(r)
        return out

    def move_to(self) -> list[str]:
        return sorted({str(h["move_to"]) for h in self.headers if isinstance(h.get("move_to"), str)})


class ManifestWriter:
    """Appends lines to the manifest; every line is fsynced before :meth:`append` returns."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self._header_written = False

    def append(self, record: dict[str, Any]) -> None:
        records = [record]
        if not self._header_written:
            records.insert(0, self.header)
        created = not self.path.exists()
        append_records(self.path, records)
        if created:
            fsync_dir(str(self.path.parent))
        self._header_written = True


