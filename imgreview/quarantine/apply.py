"""Apply the delete list: move each file into the quarantine folder, recorded before it moves.

The session lock and the quarantine's lock (the manifest) are held for the whole run; the plan is
made again under the quarantine's lock, so no other apply or restore can take a destination that
this run reserved. Each move checks the file at that moment (:func:`imgreview.quarantine.moves.move`).
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable

from imgreview.fs import fsync_dir, utc_now
from imgreview.quarantine import moves
from imgreview.quarantine.manifest import (
    MANIFEST_VERSION,
    MARKER_NAME,
    MARKER_TEXT,
    TEST_PAUSE_ENV,
    ManifestLock,
    QuarantineError,
)
from imgreview.quarantine.plan import FAILED, REFUSED, ApplyReport, Move, Skip, plan_apply
from imgreview.session.folder import Session
from imgreview.text import display_path


class Unrecorded(OSError):
    """The manifest line could not be written, so the move was not made."""


def _pause_for_tests(moved: int) -> None:
    value = os.environ.get(TEST_PAUSE_ENV)
    if value and value.isdigit() and moved == int(value):
        print("imgreview-test: paused", file=sys.stderr, flush=True)
        time.sleep(3600)


def _prepare(folder: str) -> None:
    """Create the quarantine folder and its marker (scans never enter a folder holding it)."""
    missing = []
    p = folder
    while not os.path.isdir(p) and os.path.dirname(p) != p:
        missing.append(p)
        p = os.path.dirname(p)
    os.makedirs(folder, exist_ok=True)
    for d in reversed(missing):
        fsync_dir(os.path.dirname(d))
    try:
        fd = os.open(os.path.join(folder, MARKER_NAME), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        return
    try:
        os.write(fd, MARKER_TEXT.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(folder)


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
        if not report.planned:
            report.dry_run = False
            return report
        try:
            _prepare(report.move_to)
        except OSError as exc:
            raise QuarantineError(f"cannot create the quarantine {display_path(report.move_to)}: "
                                  f"{exc.strerror or exc}") from None
        with ManifestLock(report.move_to) as lock:
            report = plan_apply(session, move_to, verify=False, manifest=lock.read(), relabel=relabel)
            report.dry_run = False
            lock.start_run({"imgreview-manifest": MANIFEST_VERSION, "time": utc_now(), "session": str(session.path),
                            "roots": report.roots, "move_to": report.move_to})
            for mv in report.planned:
                _apply_one(report, lock, mv, on_move)
        return report
    finally:
        if not held_before:
            session.unlock()


def _apply_one(report: ApplyReport, lock: ManifestLock, mv: Move, on_move: Callable[[Move], None] | None) -> None:
    try:
        with moves.place(mv.root, os.path.relpath(mv.path, mv.root)) as src, \
                moves.place(base := (mv.root if mv.kind == "relabel" else report.move_to),
                            os.path.relpath(mv.new, base), create=True) as dst:
            if mv.finish:
                if not moves.unlink_second_name(dst, src):
                    moves.finish_copy(src, dst, mv.digest)
            else:
                def record() -> None:
                    if not mv.recorded:
                        try:
                            lock.append({"original": mv.path, "new": mv.new, "digest": mv.digest, "size": mv.size,
                                         "group": mv.group, "root": mv.root, "time": utc_now(),
                                         **({"kind": mv.kind} if mv.kind else {})})
                        except OSError as exc:
                            raise Unrecorded(exc.errno, exc.strerror) from None
                    _pause_for_tests(len(report.moved))

                moves.move(src, dst, mv.digest, before=record)
    except Unrecorded as exc:
        report.skipped.append(Skip(mv.path, f"cannot record the move in the manifest: {exc.strerror or exc}; "
                                            "not moved", mv.group, FAILED))
        return
    except moves.Refused as exc:
        report.skipped.append(Skip(mv.path, str(exc), mv.group, REFUSED))
        return
    except FileExistsError:
        report.skipped.append(Skip(mv.path, f"{display_path(mv.new)} was taken meanwhile; not moved (run apply "
                                            "again to use another name)", mv.group, FAILED))
        return
    except OSError as exc:
        what = "cannot move" if exc.errno != errno.ENOENT else "vanished"
        report.skipped.append(Skip(mv.path, f"{what}: {exc.strerror or exc}", mv.group, FAILED))
        return
    report.moved.append(mv)
    if on_move:
        on_move(mv)
