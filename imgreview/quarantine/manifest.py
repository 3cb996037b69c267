"""The quarantine manifest ``imgreview-manifest.jsonl``: its records, the reader, the writer, the lock.

The manifest in the quarantine folder is append-only JSON lines:

* a header line per apply run (:class:`HeaderRecord`):
  ``{"imgreview-manifest": 1, "time", "session", "roots", "move_to"}``;
* one line per move (:class:`EntryRecord`), written and fsynced *before* the move:
  ``{"original", "new", "digest", "size", "group", "root", "time"}``.

Every line is checked against those types where it is read (:mod:`imgreview.schema`); a line that
does not fit is skipped with a warning and the others are used. Which roots an entry may be restored
into is decided here, once (:meth:`Manifest.trusted_roots`): the roots of the first header, and for a
later run only the roots its session folder confirms. An entry's quarantine path is taken relative to
the folder the manifest is in now (:meth:`Manifest.locate`), so a quarantine folder that was moved
still restores, and an entry can never name the manifest, the marker or anything outside the folder.

The manifest is also the quarantine's lock: apply and restore hold an exclusive ``flock`` on it for
their whole run (:class:`ManifestLock`), so two of them never work on one quarantine at once.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from imgreview.errors import ImgreviewError
from imgreview.fs import fsync_dir
from imgreview.scan.walk import QUARANTINE_MARKER
from imgreview.schema import RecordError, check
from imgreview.session.jsonl import append_records_fd
from imgreview.text import display_path

MANIFEST_NAME = "imgreview-manifest.jsonl"
MANIFEST_VERSION = 1
MARKER_NAME = QUARANTINE_MARKER  # scans never enter a folder holding it
# Test hook: pause (sleep) after this many moves, once the next move's manifest line is written.
TEST_PAUSE_ENV = "IMGREVIEW_TEST_PAUSE_AFTER_MOVES"
MARKER_TEXT = (
    "This folder is an imgreview quarantine: files moved here by `imgreview apply`.\n"
    "imgreview never scans a folder holding this file.\n"
    f"Restore them with: imgreview restore {MANIFEST_NAME}\n"
    "Delete the folder yourself when you are satisfied; imgreview never deletes files.\n"
)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class QuarantineError(ImgreviewError):
    """Apply or restore cannot start; the message says why and what to do (nothing was changed)."""


class QuarantineBusy(QuarantineError):
    """Another apply or restore is working on this quarantine folder."""


class HeaderRecord(TypedDict):
    """The first line of each apply run."""

    imgreview_manifest: int  # the key is "imgreview-manifest" on disk
    roots: list[str]
    move_to: str
    time: NotRequired[str]
    session: NotRequired[str | None]


class EntryRecord(TypedDict):
    """One move, written before it is made."""

    original: str
    new: str
    digest: str
    size: NotRequired[int]
    group: NotRequired[str]
    root: NotRequired[str]
    time: NotRequired[str]
    kind: NotRequired[str]  # "relabel": moved into another label's folder inside the roots (apply --relabel)


@dataclass(slots=True)
class Header:
    line: int
    roots: list[str]
    move_to: str
    session: str | None
    time: str


@dataclass(slots=True)
class Entry:
    original: str
    new: str
    digest: str
    size: int = 0
    group: str = ""
    root: str = ""
    time: str = ""
    header: Header | None = None  # the run it belongs to
    line: int = 0
    kind: str = ""  # "relabel": ``new`` is inside the roots (another label's folder), not the quarantine


def _normal_abs(path: str) -> bool:
    return os.path.isabs(path) and os.path.normpath(path) == path and "\0" not in path


def parse_header(rec: dict[str, Any], line: int) -> Header:
    """A header record, checked; :class:`RecordError` if it does not fit :class:`HeaderRecord`."""
    version = rec.get("imgreview-manifest")
    check({**rec, "imgreview_manifest": version}, HeaderRecord)
    assert isinstance(version, int)
    if isinstance(version, bool) or version < 1:
        raise RecordError(f"imgreview-manifest: bad version {version!r}")
    if version > MANIFEST_VERSION:
        raise QuarantineError(f"the manifest was written by a newer imgreview (format {version}); upgrade imgreview")
    roots, move_to = rec["roots"], rec["move_to"]
    if not all(_normal_abs(r) for r in roots) or not _normal_abs(move_to):
        raise RecordError("roots and move_to must be absolute, normalised paths")
    return Header(line, list(roots), move_to, rec.get("session"), str(rec.get("time", "")))


def parse_entry(rec: dict[str, Any], line: int, header: Header | None) -> Entry:
    """An entry record, checked; :class:`RecordError` if it does not fit :class:`EntryRecord`."""
    check(rec, EntryRecord)
    if not _normal_abs(rec["original"]) or not _normal_abs(rec["new"]):
        raise RecordError("original and new must be absolute, normalised paths")
    size = rec.get("size", 0)
    if size < 0:
        raise RecordError(f"size: negative ({size})")
    return Entry(rec["original"], rec["new"], rec["digest"], size, rec.get("group", ""), rec.get("root", ""),
                 rec.get("time", ""), header, line, rec.get("kind", ""))


def read_regular(path: Path, what: str) -> bytes | None:
    """The bytes of ``path`` (None if absent) without following a link or blocking on a FIFO."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise QuarantineError(f"{what} {display_path(str(path))} is a symbolic link; imgreview does not "
                                  "follow it") from None
        raise QuarantineError(f"cannot read {what} {display_path(str(path))}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise QuarantineError(f"{what} {display_path(str(path))} is not a regular file (a folder, FIFO or "
                                  "device); move it away")
        os.set_blocking(fd, True)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise QuarantineError(f"cannot read {what} {display_path(str(path))}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


@dataclass(slots=True)
class Manifest:
    path: Path
    headers: list[Header] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    first_line_bad: bool = False

    @classmethod
    def read(cls, path: Path) -> Manifest:
        m = cls(Path(path))
        raw = read_regular(m.path, "the manifest")
        if raw is None:
            return m
        m.parse(raw)
        return m

    def parse(self, raw: bytes) -> None:
        lines = raw.split(b"\n")
        header: Header | None = None
        seen_any = False
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            first = not seen_any
            seen_any = True
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise RecordError("not an object")
                if "imgreview-manifest" in rec:
                    header = parse_header(rec, lineno)
                    self.headers.append(header)
                    continue
                if first:
                    raise RecordError("the first line is not a header")
                self.entries.append(parse_entry(rec, lineno, header))
            except (ValueError, RecursionError, OverflowError, TypeError) as exc:
                if first:
                    self.first_line_bad = True
                last = lineno == len(lines) or (lineno == len(lines) - 1 and not lines[-1])
                what = "truncated last line (interrupted write)" if last else f"unreadable line ({_short(exc)})"
                self.warnings.append(f"{display_path(str(self.path))}:{lineno}: skipped {what}")

    # ------------------------------------------------------------------ what an entry may touch
    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    def trusted_roots(self, header: Header | None, confirmed: dict[str, list[str]]) -> list[str]:
        """The roots an entry of ``header``'s run may be restored into.

        The first header's roots; for a later header only those of its roots that its session
        folder lists (``confirmed``: session path -> roots in its session.json). An extra header
        line cannot widen what restore may write to.
        """
        if header is None or not self.headers:
            return []
        first = self.headers[0]
        if header is first:
            return list(first.roots)
        session_roots = confirmed.get(header.session or "", [])
        return [r for r in header.roots if r in first.roots or r in session_roots]

    def locate(self, entry: Entry) -> str | None:
        """Where ``entry``'s file is now: its path relative to its run's quarantine folder, taken from
        the folder holding the manifest. None when it lies outside that folder or is one of the
        quarantine's own files (the manifest, the marker, a partial copy)."""
        base = entry.header.move_to if entry.header is not None else None
        if base is None:
            return None
        rel = os.path.relpath(entry.new, base)
        if rel == "." or rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
            return None
        parts = rel.split(os.sep)
        if parts[0] in (MANIFEST_NAME, MARKER_NAME) or parts[-1].startswith(".imgreview-partial"):
            return None
        return os.path.join(self.folder, rel)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


class ManifestLock:
    """An exclusive lock on the quarantine (``flock`` on the manifest), held from open to close.

    The manifest is opened without following a link and must be a regular file. Appends go
    through the same descriptor.
    """

    def __init__(self, folder: str) -> None:
        self.path = Path(folder) / MANIFEST_NAME
        self.fd: int | None = None
        self._header: dict[str, Any] | None = None

    def __enter__(self) -> ManifestLock:
        created = not os.path.lexists(self.path)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise QuarantineError(f"the manifest {display_path(str(self.path))} is a symbolic link; "
                                      "imgreview does not follow it") from None
            raise QuarantineError(f"cannot open the manifest {display_path(str(self.path))}: "
                                  f"{exc.strerror or exc}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise QuarantineError(f"the manifest {display_path(str(self.path))} is not a regular file (a folder, "
                                  "FIFO or device); move it away")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise QuarantineBusy(f"the quarantine {display_path(str(self.path.parent))} is in use by another "
                                     "imgreview apply or restore; run this again when it has finished") from None
            raise QuarantineError(f"cannot lock {display_path(str(self.path))}: {exc.strerror or exc}") from None
        os.set_blocking(fd, True)
        self.fd = fd
        if created:
            fsync_dir(self.path.parent)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def read(self) -> Manifest:
        """The manifest as it is now (read through the locked descriptor)."""
        assert self.fd is not None
        os.lseek(self.fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(self.fd, 1 << 20):
            chunks.append(chunk)
        m = Manifest(self.path)
        m.parse(b"".join(chunks))
        return m

    def start_run(self, header: dict[str, Any]) -> None:
        """The header to write before this run's first entry."""
        self._header = header

    def append(self, record: dict[str, Any]) -> None:
        """Append ``record`` (after this run's header, the first time), fsynced before returning."""
        assert self.fd is not None
        records = [record]
        if self._header is not None:
            records.insert(0, self._header)
        append_records_fd(self.fd, records)
        self._header = None
