"""Restore: move every file of a manifest back to its original path; never overwrite, never follow a link.

The quarantine's lock (the manifest) and the lock of each real session folder the manifest's
headers name are held for the whole run. Entries are resolved relative to the folder the manifest
is in now, and may only go back into the roots :meth:`Manifest.trusted_roots` allows.
"""

from __future__ import annotations

import os
import stat
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from imgreview.fs import is_within
from imgreview.quarantine import moves
from imgreview.quarantine.manifest import (
    MANIFEST_NAME,
    MARKER_NAME,
    Entry,
    Manifest,
    ManifestLock,
    QuarantineError,
)
from imgreview.quarantine.plan import FAILED, REFUSED, Skip
from imgreview.session.folder import Session
from imgreview.text import display_path


@dataclass(slots=True)
class RestoreReport:
    manifest: str
    dry_run: bool
    restored: list[Entry] = field(default_factory=list)  # (planned, with dry_run)
    already: list[str] = field(default_factory=list)  # at the original path, nothing to do
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    marker_removed: bool = False

    @property
    def incomplete(self) -> bool:
        return bool(self.skipped)


def _manifest_path(manifest_path: str | os.PathLike[str]) -> Path:
    path = Path(os.path.normpath(os.path.abspath(manifest_path)))
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not os.path.lexists(path):
        raise QuarantineError(f"{display_path(str(path))} does not exist")
    return path


def _sessions(manifest: Manifest) -> dict[str, Session]:
    """The real session folders the headers name (a folder that is not a session is ignored)."""
    out: dict[str, Session] = {}
    for h in manifest.headers:
        if h.session and h.session not in out:
            s = Session(Path(h.session))
            if s.is_session():
                out[h.session] = s
    return out


def restore(manifest_path: str | os.PathLike[str], dry_run: bool = False,
            accept_changed: bool = False) -> RestoreReport:
    """Move every file of the manifest back to its original path; never overwrite a file there.

    A quarantined file whose content differs from the one recorded is restored only with
    ``accept_changed``.
    """
    path = _manifest_path(manifest_path)
    manifest = Manifest.read(path)
    if not manifest.headers or manifest.first_line_bad:
        raise QuarantineError(f"{display_path(str(path))} is not an imgreview manifest (its first line is not a "
                              "manifest header)")
    report = RestoreReport(str(path), dry_run)
    with ExitStack() as stack:
        sessions = _sessions(manifest)
        if not dry_run:
            for s in sessions.values():
                s.lock("restore")
                stack.callback(s.unlock)
            lock = stack.enter_context(ManifestLock(manifest.folder))
            manifest = lock.read()
        report.warnings = list(manifest.warnings)
        confirmed = {p: s.roots() for p, s in sessions.items()}
        seen: set[tuple[str, str]] = set()
        for e in reversed(manifest.entries):  # latest first: a file moved twice comes back from its last move
            if (e.original, e.new) in seen:
                continue
            seen.add((e.original, e.new))
            _restore_one(manifest, e, manifest.trusted_roots(e.header, confirmed), report, accept_changed)
        if not dry_run:
            report.marker_removed = _drop_marker_when_empty(manifest.folder)
    report.restored.reverse()
    return report


def _skip(report: RestoreReport, e: Entry, reason: str, kind: str = REFUSED) -> None:
    report.skipped.append(Skip(e.original, reason, e.group, kind))


def _restore_one(manifest: Manifest, e: Entry, roots: list[str], report: RestoreReport, accept_changed: bool) -> None:
    base = manifest.folder
    if e.kind == "relabel":  # apply --relabel: moved to another label's folder inside a root
        base = next((r for r in roots if is_within(e.new, r) and e.new != r), "")
        loc = e.new if base else None
    else:
        loc = manifest.locate(e)
    if loc is None:
        _skip(report, e, "its quarantine path is outside the quarantine folder or names the quarantine's own "
                         "files; not restored")
        return
    root = next((r for r in roots if is_within(e.original, r) and e.original != r), None)
    if root is None:
        _skip(report, e, "its original path is outside the roots named in the manifest")
        return
    if not os.path.isdir(root):
        _skip(report, e, f"its root {display_path(root)} no longer exists (renamed or removed?); not restored")
        return
    try:
        with ExitStack() as stack:
            try:
                q: moves.Place | None = stack.enter_context(moves.place(base, os.path.relpath(loc, base)))
            except moves.FolderMissing:
                q = None  # its folder in the quarantine is gone, so is the file
            try:
                o: moves.Place | None = stack.enter_context(
                    moves.place(root, os.path.relpath(e.original, root),
                                create=not report.dry_run and q is not None and q.exists()))
            except moves.FolderMissing:  # a dry run (restore would create it), or nothing to restore
                o = None
            _restore_place(e, q, o, report, accept_changed)
    except moves.Refused as exc:
        _skip(report, e, f"{exc}; not restored")
    except FileExistsError:
        _skip(report, e, "a file appeared at the original path meanwhile; not overwritten (the quarantined file "
                         f"stays at {display_path(loc)})", FAILED)
    except OSError as exc:
        _skip(report, e, f"cannot move back: {exc.strerror or exc}", FAILED)


def _restore_place(e: Entry, q: moves.Place | None, o: moves.Place | None, report: RestoreReport,
                   accept_changed: bool) -> None:
    qst = q.lstat() if q is not None else None
    ost = o.lstat() if o is not None else None
    if q is None or qst is None:
        if ost is not None:
            if not report.dry_run and o is not None:
                moves.drop_partial(o)  # a restore across file systems cut short after the unlink
            report.already.append(e.original)
        else:
            _skip(report, e, f"missing: not in the quarantine at {display_path(e.new)}")
        return
    if o is not None and ost is not None:
        if _same_or_finished(e, q, o, report.dry_run):
            report.restored.append(e)
        else:
            _skip(report, e, "a file exists at the original path; not overwritten (the quarantined file stays at "
                             f"{display_path(q.path)})")
        return
    actual = e.digest
    if stat.S_ISLNK(qst.st_mode):
        actual = ""  # a link moves back as a link; what it points to is not ours to check
    elif e.digest:
        try:
            actual = moves.digest_of(q)
        except moves.Refused as exc:
            _skip(report, e, f"{exc}; not restored")
            return
        if actual != e.digest:
            if not accept_changed:
                _skip(report, e, f"{display_path(q.path)} changed in the quarantine since apply (digest differs); "
                                 "not restored (restore --accept-changed restores it as it is)")
                return
            report.warnings.append(f"{display_path(q.path)} changed in the quarantine; restored as it is "
                                   "(--accept-changed)")
    if not report.dry_run:
        assert o is not None  # created folders outside a dry run
        moves.move(q, o, actual)
    report.restored.append(e)


def _same_or_finished(e: Entry, q: moves.Place, o: moves.Place, dry_run: bool) -> bool:
    """Both the original and the quarantined name exist. True (and, unless ``dry_run``, the extra
    name removed) when that is a move cut short: the same file under two names, or a finished copy
    of this imgreview (its partial name still links it) with the recorded content on both sides."""
    if moves.same_file(q.lstat(), o.lstat()):
        if not dry_run:
            moves.unlink_second_name(o, q)
        return True
    ours = moves.finished_copy(q) or moves.finished_copy(o)
    if not ours or not e.digest:
        return False
    try:
        if moves.digest_of(q) != e.digest or moves.digest_of(o) != e.digest:
            return False
    except (OSError, moves.Refused):
        return False
    if not dry_run:
        if moves.finished_copy(q):  # apply copied, the original was never unlinked: drop the copy
            os.unlink(moves.partial_name(q.name), dir_fd=q.dir_fd)
            os.unlink(q.name, dir_fd=q.dir_fd)
        else:  # restore copied back, the quarantined file was never unlinked
            os.unlink(q.name, dir_fd=q.dir_fd)
            moves.drop_partial(o)
    return True


def _drop_marker_when_empty(folder: str) -> bool:
    """Remove the quarantine marker once the folder holds no file but the manifest and the marker."""
    for dirpath, dirnames, filenames in os.walk(folder):
        names = [n for n in filenames if not (dirpath == folder and n in (MANIFEST_NAME, MARKER_NAME))]
        names += [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        if names:
            return False
    marker = os.path.join(folder, MARKER_NAME)
    try:
        if stat.S_ISREG(os.lstat(marker).st_mode):
            os.unlink(marker)
            return True
    except FileNotFoundError:
        pass
    return False

