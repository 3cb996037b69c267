"""``restore``: move every file of a manifest back to its original path, never overwriting."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from imgreview.fs import file_digest, is_within
from imgreview.quarantine.manifest import (
    MANIFEST_NAME,
    Entry,
    Manifest,
    QuarantineError,
)
from imgreview.quarantine.moves import move_file, sync_dirs
from imgreview.quarantine.plan import Skip
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
    if not any(is_within(original, r) and original != r for r in roots):
        report.skipped.append(Skip(e.original, "its original path is outside the roots named in the manifest"))
        return
    if e.kind == "relabel":  # apply --relabel: moved inside the roots, to another label's folder
        if not any(is_within(new, r) and new != r for r in roots):
            report.skipped.append(Skip(e.original, "its relabelled path is outside the roots named in the manifest"))
            return
    elif not any(is_within(new, f) for f in folders):
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
    if not any(is_within(real_existing, os.path.realpath(r)) for r in roots):
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
