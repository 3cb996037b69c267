"""Opening the review: the arguments it takes, the session lock, scan or load, then the app.

Shared by ``imgreview review`` and ``imgreview demo`` (commands never import each other).
"""

from __future__ import annotations

import argparse
import os
import sys

from imgreview.cli.options import (
    add_scan_options,
    add_session_option,
    fail,
    open_session,
)
from imgreview.decisions.keeper import RULES, parse_prefer
from imgreview.errors import UsageError
from imgreview.model import ScanResult
from imgreview.session.folder import Session, SessionError, SessionLocked
from imgreview.session.store import StoredGroups
from imgreview.text import display_path
from imgreview.vocab import GRAPHICS_MODES

GRAPHICS = GRAPHICS_MODES


def add_review_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("roots", nargs="*", metavar="ROOT",
                   help="folder(s) to scan before reviewing; without ROOT, reopen --session without rescanning")
    add_session_option(p)
    g = p.add_argument_group("review options")
    g.add_argument("--graphics", choices=GRAPHICS, default="auto",
                   help="how pictures are drawn: auto-detect (default), kitty graphics, sixel, "
                        "half-cell characters, or none")
    g.add_argument("--prefer", metavar="RULES",
                   help="suggest the keeper by these ordered rules instead of the evidence (resolution, JPEG "
                        "quality, camera EXIF, added borders, closeness to the others, name, date), comma "
                        f"separated; rules: {', '.join(RULES)}")
    g.add_argument("--no-advance", action="store_true",
                   help="stay on a group after it is fully decided (default: move on to the next undecided one)")
    g.add_argument("--read-only", action="store_true",
                   help="look without deciding (for a session another imgreview is using)")
    add_scan_options(p)


def load_for_review(args: argparse.Namespace, session: Session) -> tuple[ScanResult, StoredGroups | None]:
    """Scan the roots (with progress) when given, else open the session's latest scan: its header, and
    its groups read a page at a time from the session's database (None: the groups are in the result).

    The scan's modules are imported only for a scan: reopening a session does not pay for them
    (~0.1-0.2 s of the time to the first picture)."""
    if args.roots and not args.read_only:
        from imgreview.cli.steps import run_scan

        return run_scan(args), None
    return session.load_groups()


def refusal(args: argparse.Namespace) -> str | None:
    """Why this review cannot start, before anything is created or scanned; None when it can."""
    for root in args.roots:
        if not os.path.exists(root):
            return f"{display_path(root)} does not exist"
        if not os.path.isdir(root):
            return f"{display_path(root)} is not a folder: review takes the folder(s) to review (ROOT must be a folder)"
    return None


def no_terminal() -> str | None:
    """Without a terminal the app would wait for keys forever: say so instead."""
    if not (sys.stdin and sys.stdin.isatty() and sys.stdout and sys.stdout.isatty()):
        return ("the review needs a terminal (stdin and stdout are not one); "
                "for scripts use `imgreview scan --json`, `export` or `resolve`")
    return None


def run_review(args: argparse.Namespace) -> int:
    why = refusal(args)
    if why:
        return fail(why)
    try:
        prefer = parse_prefer(args.prefer) if args.prefer else None
    except ValueError as exc:
        return fail(f"--prefer: {exc}")
    try:
        session = open_session(args, args.roots)
    except UsageError as exc:
        return fail(str(exc))
    if not args.roots and not session.exists():
        return fail(f"no session at {session.path}: give the folder(s) to review, e.g. `imgreview review ROOT`")
    try:
        if session.exists():
            session.read_meta()  # a session of a newer imgreview, or damaged: say so before anything else
        if not args.read_only:
            session.lock("review")
    except SessionLocked as exc:
        return fail(f"{exc}; close it first, or look with --read-only")
    except SessionError as exc:
        return fail(str(exc))
    try:
        if args.roots and not args.read_only:
            why = no_terminal()  # before a scan that would be for nothing
            if why:
                return fail(why)
            result, stored = load_for_review(args, session)
        else:
            result, stored = load_for_review(args, session)  # reading the session first says what is wrong
            why = no_terminal()
            if why:
                return fail(why)
        return review(result, session, prefer=prefer, graphics=args.graphics, read_only=args.read_only,
                      advance=not getattr(args, "no_advance", False), stored=stored)
    finally:
        session.unlock()


def review(result: ScanResult, session: Session, *, prefer: tuple[str, ...] | None, graphics: str = "auto",
           read_only: bool = False, advance: bool = True, stored: StoredGroups | None = None) -> int:
    """Open the app on ``result`` (its groups, or ``stored``: read from the session's database a page at a
    time) with the session's journal (the caller holds the lock)."""
    # the terminal is asked what it can draw before Textual takes it over
    from imgreview.tui.graphics import choose_canvas

    canvas, graphics_note = choose_canvas(graphics, kitty=True)
    from imgreview.tui.app import ReviewApp, freeze_long_lived
    from imgreview.tui.state import ReviewState

    journal = session.journal(read_only=read_only)
    notes = list(journal.warnings)
    if graphics_note:
        notes.append(graphics_note)
    for note in notes:
        print(f"imgreview: {note}", file=sys.stderr)
    state = ReviewState(result, journal, prefer, stored=stored)
    app = ReviewApp(state, canvas, read_only=read_only, notes=notes, advance=advance)
    freeze_long_lived()
    app.run()
    if app.return_code not in (None, 0):
        return int(app.return_code)
    try:
        print(
            f"{state.decided_groups:,} of {len(state):,} groups decided, {state.delete_files:,} files marked "
            f"delete. Decisions are saved in {session.journal_path}; run the same command to continue.",
            file=sys.stderr,
        )
    except OSError:  # the terminal is gone (SIGHUP): the journal is already safe
        pass
    return 0
