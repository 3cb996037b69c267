"""Apply the review's delete list by moving files into a quarantine folder, and restore them.

Nothing here deletes a user's file: ``apply`` moves each file marked delete into the quarantine
folder (keeping its path relative to its scanned root) and ``restore`` moves it back. The rules a
user can rely on are listed in ``docs/safety.md``; this module implements them.

The manifest ``imgreview-manifest.jsonl`` in the quarantine folder is append-only JSON lines:

* a header line per apply run: ``{"imgreview-manifest": 1, "time", "session", "roots", "move_to"}``;
* one line per move, written and fsynced *before* the move: ``{"original", "new", "digest",
  "size", "group", "root", "time"}``.

The state of a move is read from the file system, so an apply cut short at any point can be rerun
to finish (or restored): original present and quarantine copy absent = not moved yet; original
absent and copy present = moved; both present = a cross-filesystem move that copied (and verified)
but did not unlink yet, finished after both digests are checked again.

Paths are ``str`` as ``os.fsdecode`` gives them (non-UTF-8 bytes as lone surrogates, written in the
manifest as ``\\udcXX`` JSON escapes), so any file name round-trips.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imgreview.decisions.export import Decisions, build_decisions, display_path
from imgreview.model import Member
from imgreview.scan.walk import QUARANTINE_MARKER
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
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


class QuarantineError(Exception):
    """Apply or restore cannot start; the message says why and what to do."""


# ---------------------------------------------------------------------- small file-system helpers
def file_digest(path: str) -> str:
    """BLAKE2b-128 of the file's bytes, the same value as :func:`imgreview.fingerprint.digest_bytes`."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _makedirs(path: str) -> None:
    missing: list[str] = []
    p = path
    while not os.path.isdir(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    os.makedirs(path, exist_ok=True)
    for d in reversed(missing):
        _fsync_dir(os.path.dirname(d))


def _inside(path: str, folder: str) -> bool:
    folder = folder.rstrip(os.sep) or os.sep
    return path == folder or path.startswith(folder if folder == os.sep else folder + os.sep)


def _real_location(path: str) -> str:
    """The path with its folder's symbolic links resolved; the last component is not followed."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


_rename = os.rename  # indirection so tests can simulate a move across file systems


def _same_content(a: str, b: str) -> bool:
    if os.path.islink(a) or os.path.islink(b):
        return os.path.islink(a) and os.path.islink(b) and os.readlink(a) == os.readlink(b)
    return file_digest(a) == file_digest(b)


def move_file(src: str, dst: str, dirty: set[str] | None = None) -> None:
    """Move ``src`` to ``dst`` without ever overwriting ``dst``; a symbolic link moves as a link.

    Within one file system: rename. Across file systems: copy to a temporary name next to ``dst``,
    fsync, verify the copy's bytes against ``src``, rename it to ``dst``, fsync its folder, then
    unlink ``src``. The folders a rename changed are fsynced at once, or added to ``dirty`` for
    the caller to fsync later (a rename lost to a power cut leaves the file at ``src``, which a
    rerun handles like a move not made yet).
    """
    _makedirs(os.path.dirname(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists", dst)
    try:
        _rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_verify(src, dst)
        _fsync_dir(os.path.dirname(dst))  # the copy is durable before the original goes
        os.unlink(src)
    if dirty is None:
        _fsync_dir(os.path.dirname(dst))
        _fsync_dir(os.path.dirname(src))
    else:
        dirty.update((os.path.dirname(dst), os.path.dirname(src)))


def sync_dirs(dirty: set[str]) -> None:
    for d in sorted(dirty):
        _fsync_dir(d)
    dirty.clear()


def _copy_verify(src: str, dst: str) -> None:
    tmp = dst + PARTIAL_SUFFIX  # our own partial copy: replaced if a previous run left one
    if os.path.lexists(tmp):
        os.unlink(tmp)
    if os.path.islink(src):
        os.symlink(os.readlink(src), tmp)
    else:
        want = hashlib.blake2b(digest_size=16)
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while chunk := fin.read(1 << 20):
                want.update(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
        if file_digest(tmp) != want.hexdigest():
            os.unlink(tmp)
            raise OSError(errno.EIO, "the copy does not match the original", src)
    if os.path.lexists(dst):
        os.unlink(tmp)
        raise FileExistsError(errno.EEXIST, "destination exists", dst)
    os.rename(tmp, dst)


# ---------------------------------------------------------------------- manifest
@dataclass(slots=True)
class Entry:
    original: str
    new: str
    digest: str
    size: int = 0
    group: str = ""
    root: str = ""
    time: str = ""


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
                    time=str(rec.get("time", "")),
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
            _fsync_dir(str(self.path.parent))
        self._header_written = True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------- apply
@dataclass(slots=True)
class Move:
    path: str
    new: str
    digest: str
    size: int
    group: str
    root: str
    freed: int  # bytes freed once the quarantine is emptied (0 for links and hard-linked files)
    recorded: bool = False  # its manifest line exists already (a rerun)
    finish: bool = False  # copied across file systems before; only the unlink is left


@dataclass(slots=True)
class Skip:
    path: str
    reason: str
    group: str = ""


@dataclass(slots=True)
class ApplyReport:
    move_to: str
    manifest: str
    dry_run: bool
    planned: list[Move] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # moved by an earlier run
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(m.freed for m in (self.planned if self.dry_run else self.moved))


def _session_roots(session: Session, result_roots: list[str]) -> list[str]:
    roots: list[str] = []
    for r in [*result_roots, *session.roots()]:
        a = os.path.abspath(r)
        if a not in roots:
            roots.append(a)
    return roots


def check_move_to(move_to: str, roots: list[str]) -> str:
    target = os.path.abspath(move_to)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise QuarantineError(f"--move-to {display_path(target)} exists and is not a folder")
    real = os.path.realpath(target)
    for r in roots:
        rr = os.path.realpath(r)
        if _inside(rr, real):
            raise QuarantineError(
                f"--move-to {display_path(target)} is the scanned root {display_path(r)} or contains it; "
                "choose a folder outside the dataset (or a new subfolder of it)")
    return target


def plan_apply(session: Session, move_to: str, verify: bool = True) -> ApplyReport:
    """What apply would do: the moves, the files already moved, and the files skipped with why.

    With ``verify`` every file to move is read and its digest compared with the decision's
    (``apply`` itself verifies again right before each move).
    """
    result = session.load_result()
    journal = Journal(session.journal_path, read_only=True)
    decisions = build_decisions(result, journal)
    roots = _session_roots(session, result.roots)
    target = check_move_to(move_to, roots)
    manifest_path = os.path.join(target, MANIFEST_NAME)
    manifest = Manifest.read(Path(manifest_path))
    report = ApplyReport(move_to=target, manifest=manifest_path, dry_run=True,
                         warnings=[*journal.warnings, *manifest.warnings], roots=roots)
    _plan(report, decisions, journal, roots, manifest, verify)
    return report


def _plan(report: ApplyReport, decisions: Decisions, journal: Journal, roots: list[str], manifest: Manifest,
          verify: bool) -> None:
    for r in decisions.held:
        report.skipped.append(Skip(r.path, "held back: every file of its group is marked delete, not all by a "
                                           "person", r.group))
    for r in decisions.stale:
        if journal.decisions[r.path].action == "delete":
            report.skipped.append(Skip(r.path, "stale decision: the file changed since it was decided", r.group))

    to_move = {r.path for r in decisions.delete}
    kept = {p for p, d in journal.decisions.items() if d.action == "keep"}
    real_roots = {r: os.path.realpath(r) for r in roots}
    by_original: dict[str, list[Entry]] = {}
    reserved: set[str] = set()
    for e in manifest.entries:
        by_original.setdefault(e.original, []).append(e)
        reserved.add(e.new)

    # Groups where nothing would remain: refused unless a person dropped the whole group.
    refused: dict[str, str] = {}
    for gid in sorted({r.group for r in decisions.delete}):
        if gid in decisions.dropped_groups:
            continue
        others = [m for m in decisions.groups[gid].members if m.path not in to_move]
        if not any(_unchanged(m) for m in others):
            refused[gid] = ("no other file of its group is still there unchanged, and this would remove the "
                            "last one; decide the group again (or mark every file delete yourself)")

    for row in sorted(decisions.delete, key=lambda r: r.path):
        m = row.member
        path = m.path
        entry = next((e for e in reversed(by_original.get(path, [])) if e.digest == m.digest
                      and _inside(os.path.abspath(e.new), report.move_to)), None)
        if entry is not None and not os.path.lexists(path) and os.path.lexists(entry.new):
            report.already.append(path)
            continue
        if row.group in refused:
            report.skipped.append(Skip(path, refused[row.group], row.group))
            continue
        root, why = _root_of(m, roots, real_roots)
        if root is None:
            report.skipped.append(Skip(path, why, row.group))
            continue
        kept_alias = next((a for a in m.aliases if a in kept), None)
        if kept_alias is not None:
            report.skipped.append(Skip(path, f"its alias {display_path(kept_alias)} (same file) is kept", row.group))
            continue
        if not os.path.islink(path):
            link = next((a for a in m.aliases if a not in to_move and os.path.islink(a)
                         and os.path.realpath(a) == os.path.realpath(path)), None)
            if link is not None:
                report.skipped.append(Skip(path, f"the symbolic link {display_path(link)} points to it and would "
                                                 "break", row.group))
                continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            why = "no longer exists" if entry is None else "missing: neither at its path nor in the quarantine"
            report.skipped.append(Skip(path, why, row.group))
            continue
        except OSError as exc:
            report.skipped.append(Skip(path, f"cannot read: {exc.strerror or exc}", row.group))
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            report.skipped.append(Skip(path, "not a regular file", row.group))
            continue
        if verify:
            why = _verify(path, m.digest)
            if why:
                report.skipped.append(Skip(path, why, row.group))
                continue
        freed = st.st_size if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 else 0
        mv = Move(path, "", m.digest, m.size, row.group, root, freed)
        if entry is not None and os.path.lexists(entry.new):
            mv.new, mv.recorded, mv.finish = entry.new, True, True
        elif entry is not None:
            mv.new, mv.recorded = entry.new, True
        else:
            mv.new = _destination(report.move_to, os.path.relpath(path, root), reserved)
            reserved.add(mv.new)
        report.planned.append(mv)


def _unchanged(m: Member) -> bool:
    try:
        return os.path.exists(m.path) and file_digest(m.path) == m.digest
    except OSError:
        return False


def _verify(path: str, digest: str) -> str:
    try:
        actual = file_digest(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if actual != digest:
        return "changed since it was decided (digest differs); review it again"
    return ""


def _root_of(m: Member, roots: list[str], real_roots: dict[str, str]) -> tuple[str | None, str]:
    path = os.path.abspath(m.path)
    if m.root:
        root = os.path.abspath(m.root)
        if root not in real_roots:
            return None, f"its root {display_path(root)} is not a root of this session"
    else:
        root = next((r for r in roots if _inside(path, r) and path != r), "")
        if not root:
            return None, "outside the session's roots"
    if not _inside(path, root) or path == root or os.path.relpath(path, root).startswith(".."):
        return None, "outside the session's roots"
    if not _inside(_real_location(path), real_roots[root]):
        return None, "outside the session's roots once symbolic links in its folders are resolved"
    return root, ""


def _destination(move_to: str, rel: str, reserved: set[str]) -> str:
    base = os.path.join(move_to, rel)
    if not os.path.lexists(base) and base not in reserved and not os.path.lexists(base + PARTIAL_SUFFIX):
        return base
    stem, ext = os.path.splitext(base)
    k = 2
    while True:
        cand = f"{stem}~{k}{ext}"
        if not os.path.lexists(cand) and cand not in reserved:
            return cand
        k += 1


def _pause_for_tests(moved: int) -> None:
    value = os.environ.get(TEST_PAUSE_ENV)
    if value and value.isdigit() and moved == int(value):
        print("imgreview-test: paused", file=sys.stderr, flush=True)
        time.sleep(3600)


def apply(session: Session, move_to: str, dry_run: bool = False,
          on_move: Callable[[Move], None] | None = None) -> ApplyReport:
    """Move every file marked delete into ``move_to``; with ``dry_run`` only plan (and verify)."""
    if dry_run:
        return plan_apply(session, move_to, verify=True)
    held_before = session.locked  # the caller (e.g. the review) holds it
    session.lock("apply")
    try:
        report = plan_apply(session, move_to, verify=False)
        report.dry_run = False
        if not report.planned:
            return report
        _makedirs(report.move_to)
        marker = os.path.join(report.move_to, QUARANTINE_MARKER)
        if not os.path.lexists(marker):
            with open(marker, "w", encoding="utf-8") as fh:
                fh.write(MARKER_TEXT)
                fh.flush()
                os.fsync(fh.fileno())
            _fsync_dir(report.move_to)
        writer = ManifestWriter(Path(report.manifest), {
            "imgreview-manifest": MANIFEST_VERSION, "time": _now(), "session": str(session.path),
            "roots": report.roots, "move_to": report.move_to,
        })
        dirty: set[str] = set()
        try:
            _apply_moves(report, writer, dirty, on_move)
        finally:
            sync_dirs(dirty)
        return report
    finally:
        if not held_before:
            session.unlock()


def _apply_moves(report: ApplyReport, writer: ManifestWriter, dirty: set[str],
                 on_move: Callable[[Move], None] | None) -> None:
    for mv in report.planned:
        why = _verify(mv.path, mv.digest)
        if why:
            report.skipped.append(Skip(mv.path, why, mv.group))
            continue
        if mv.finish:
            if not _finish_ok(mv):
                report.skipped.append(Skip(mv.path, f"both it and {display_path(mv.new)} exist and differ; "
                                                    "left alone", mv.group))
                continue
        elif not mv.recorded:
            writer.append({"original": mv.path, "new": mv.new, "digest": mv.digest, "size": mv.size,
                           "group": mv.group, "root": mv.root, "time": _now()})
        _pause_for_tests(len(report.moved))
        try:
            if mv.finish:
                os.unlink(mv.path)
                dirty.add(os.path.dirname(mv.path))
            else:
                move_file(mv.path, mv.new, dirty)
        except OSError as exc:
            report.skipped.append(Skip(mv.path, f"cannot move: {exc.strerror or exc}", mv.group))
            continue
        report.moved.append(mv)
        if on_move:
            on_move(mv)


def _finish_ok(mv: Move) -> bool:
    try:
        return _same_content(mv.path, mv.new) and (os.path.islink(mv.new) or file_digest(mv.new) == mv.digest)
    except OSError:
        return False


# ---------------------------------------------------------------------- restore
@dataclass(slots=True)
class RestoreReport:
    manifest: str
    dry_run: bool
    restored: list[Entry] = field(default_factory=list)  # (planned, with dry_run)
    already: list[str] = field(default_factory=list)  # at the original path, nothing to do
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def restore(manifest_path: str | os.PathLike[str], dry_run: bool = False) -> RestoreReport:
    """Move every file of the manifest back to its original path; never overwrite a file there."""
    path = Path(os.path.abspath(manifest_path))
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.exists():
        raise QuarantineError(f"{display_path(str(path))} does not exist")
    manifest = Manifest.read(path)
    if not manifest.headers:
        raise QuarantineError(f"{display_path(str(path))} is not an imgreview manifest")
    report = RestoreReport(str(path), dry_run, warnings=list(manifest.warnings))
    roots = [os.path.abspath(r) for r in manifest.roots()]
    folders = [os.path.abspath(d) for d in manifest.move_to()] or [str(path.parent)]
    session = _header_session(manifest)
    if session is not None and not dry_run:
        session.lock("restore")
    dirty: set[str] = set()
    try:
        seen: set[tuple[str, str]] = set()
        for e in reversed(manifest.entries):  # latest first: a file moved twice comes back from its last move
            if (e.original, e.new) in seen:
                continue
            seen.add((e.original, e.new))
            _restore_one(e, roots, folders, report, dirty)
    finally:
        sync_dirs(dirty)
        if session is not None:
            session.unlock()
    report.restored.reverse()
    return report


def _header_session(manifest: Manifest) -> Session | None:
    for h in reversed(manifest.headers):
        s = h.get("session")
        if isinstance(s, str) and os.path.isdir(s):
            return Session(Path(s))
    return None


def _restore_one(e: Entry, roots: list[str], folders: list[str], report: RestoreReport,
                 dirty: set[str]) -> None:
    original, new = os.path.abspath(e.original), os.path.abspath(e.new)
    if not any(_inside(original, r) and original != r for r in roots):
        report.skipped.append(Skip(e.original, "its original path is outside the roots named in the manifest"))
        return
    if not any(_inside(new, f) for f in folders):
        report.skipped.append(Skip(e.original, "its quarantine path is outside the quarantine folder"))
        return
    at_new, at_original = os.path.lexists(new), os.path.lexists(original)
    if not at_new:
        if at_original:
            report.already.append(e.original)
        else:
            report.skipped.append(Skip(e.original, f"missing: not in the quarantine at {display_path(e.new)}"))
        return
    if at_original:
        report.skipped.append(Skip(e.original, "a file exists at the original path; not overwritten (the "
                                               f"quarantined file stays at {display_path(e.new)})"))
        return
    parent = os.path.dirname(original)
    existing = parent
    while not os.path.isdir(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    real_existing = os.path.realpath(existing)
    if not any(_inside(real_existing, os.path.realpath(r)) for r in roots):
        report.skipped.append(Skip(e.original, "its folder now leads outside the roots (symbolic link); not restored"))
        return
    if not os.path.islink(new) and e.digest:
        try:
            if file_digest(new) != e.digest:
                report.warnings.append(f"{display_path(e.new)} changed in the quarantine; restored as it is")
        except OSError as exc:
            report.skipped.append(Skip(e.original, f"cannot read {display_path(e.new)}: {exc.strerror or exc}"))
            return
    if not report.dry_run:
        try:
            move_file(new, original, dirty)
        except OSError as exc:
            report.skipped.append(Skip(e.original, f"cannot move back: {exc.strerror or exc}"))
            return
    report.restored.append(e)
