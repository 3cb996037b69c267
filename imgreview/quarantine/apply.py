"""``apply``: move the files marked delete into the quarantine, a manifest line forced to disk before each move.

The state of a move is read from the file system, so an apply cut short at any point can be rerun
to finish (or restored): original present and quarantine copy absent = not moved yet; original
absent and copy present = moved; both present = a cross-filesystem move that copied (and verified)
but did not unlink yet, finished after both digests are checked again.

Paths are ``str`` as ``os.fsdecode`` gives them (non-UTF-8 bytes as lone surrogates, written in the
manifest as ``\\udcXX`` JSON escapes), so any file name round-trips.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from imgreview.fs import file_digest, fsync_dir, utc_now
from imgreview.quarantine.manifest import (
    MANIFEST_VERSION,
    MARKER_TEXT,
    TEST_PAUSE_ENV,
    ManifestWriter,
)
from imgreview.quarantine.moves import _makedirs, _same_content, move_file, sync_dirs
from imgreview.quarantine.plan import ApplyReport, Move, Skip, _verify, plan_apply
from imgreview.scan.walk import QUARANTINE_MARKER
from imgreview.session.folder import Session
from imgreview.text import display_path


def _pause_for_tests(moved: int) -> None:
    value = os.environ.get(TEST_PAUSE_ENV)
    if value and value.isdigit() and moved == int(value):
        print("imgreview-test: paused", file=sys.stderr, flush=True)
        time.sleep(3600)


def apply(session: Session, move_to: str, dry_run: bool = False,
          on_move: Callable[[Move], None] | None = None, relabel: bool = False) -> ApplyReport:
    """Move every file marked delete (or unwanted in triage) into ``move_to``; with ``relabel`` also
    move the relabelled files into their label's folder; with ``dry_run`` only plan (and verify)."""
    if dry_run:
        return plan_apply(session, move_to, verify=True, relabel=relabel)
    held_before = session.locked  # the caller (e.g. the review) holds it
    session.lock("apply")
    try:
        report = plan_apply(session, move_to, verify=False, relabel=relabel)
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
            fsync_dir(report.move_to)
        writer = ManifestWriter(Path(report.manifest), {
            "imgreview-manifest": MANIFEST_VERSION, "time": utc_now(), "session": str(session.path),
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
                           "group": mv.group, "root": mv.root, "time": utc_now(),
                           **({"kind": mv.kind} if mv.kind else {})})
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


