"""Opening the review: the arguments it takes, the session lock, scan or load, then the app.

Shared by ``imgreview review`` and ``imgreview demo`` (commands never import each other).
"""

from __future__ import annotations

import argparse
import sys

from imgreview.cli.options import (
    add_scan_options,
    add_session_option,
    fail,
    open_session,
)
from imgreview.cli.steps import run_scan
from imgreview.decisions.keeper import RULES, parse_prefer
from imgreview.errors import UsageError
from imgreview.model import ScanResult
from imgreview.session.folder import Session, SessionError, SessionLocked
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
                   help="order of the suggested-keeper rules, comma separated "
                        f"(default pixels,size,oldest,shortest; rules: {', '.join(RULES)})")
    g.add_argument("--read-only", action="store_true",
                   help="look without deciding (for a session another imgreview is using)")
    add_scan_options(p)


def load_for_review(args: argparse.Namespace, session: Session) -> ScanResult:
    """Scan the roots (with progress) when given, else load the session's latest scan."""
    if args.roots and not args.read_only:
        return run_scan(args)
    return session.load_result()


def run_review(args: argparse.Namespace) -> int:
    try:
        prefer = parse_prefer(args.prefer)
    except ValueError as exc:
        return fail(f"--prefer: {exc}")
    try:
        session = open_session(args, args.roots)
    except UsageError as exc:
        return fail(str(exc))
    if not args.roots and not session.exists():
        return fail(f"no session at {session.path}: give the folder(s) to review, e.g. `imgreview review ROOT`")
    try:
        if not args.read_only:
            session.lock("review")
    except SessionLocked as exc:
        return fail(f"{exc}; close it first, or look with --read-only")
    except SessionError as exc:
        return fail(str(exc))
    try:
        result = load_for_review(args, session)
        return review(result, session, prefer=prefer, graphics=args.graphics, read_only=args.read_only)
    finally:
        session.unlock()


def review(result: ScanResult, session: Session, *, prefer: tuple[str, ...], graphics: str = "auto",
           read_only: bool = False) -> int:
    """Open the app on ``result`` with the session's journal (the caller holds the lock)."""
    # textual-image queries the terminal when imported: do it before Textual takes the terminal.
    from imgreview.tui.graphics import choose_renderer

    renderer = choose_renderer(graphics)
    from imgreview.tui.app import ReviewApp
    from imgreview.tui.state import ReviewState

    journal = session.journal(read_only=read_only)
    notes = list(journal.warnings)
    if renderer.note:
        notes.append(renderer.note)
    for note in notes:
        print(f"imgreview: {note}", file=sys.stderr)
    state = ReviewState(result, journal, prefer)
    app = ReviewApp(state, renderer, read_only=read_only, notes=notes)
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
