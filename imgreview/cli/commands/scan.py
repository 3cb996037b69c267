"""``imgreview scan ROOT...``: find exact and near-duplicate groups and store them in the session."""

from __future__ import annotations

import argparse
import shlex
import sys

from imgreview.cli.options import (
    UsageError,
    add_scan_options,
    add_session_option,
    fail,
    open_session,
    scan_settings,
)
from imgreview.cli.output import print_summary, scan_progress
from imgreview.model import ScanResult
from imgreview.scan.pipeline import ScanError, ScanInterrupted, scan
from imgreview.session.cache import CacheError
from imgreview.session.folder import SessionError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "scan",
        help="find exact and near-duplicate images",
        description="Find exact duplicates (same bytes) and near duplicates (same picture resized, "
                    "re-encoded, edited) under one or more folders. Fingerprints are cached in the "
                    "session, so a rescan only reads new or changed files.",
    )
    p.add_argument("roots", nargs="+", metavar="ROOT", help="folder(s) to scan")
    add_session_option(p)
    add_scan_options(p)
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON to FILE (- for stdout)")
    p.set_defaults(func=run)


def run_scan(args: argparse.Namespace) -> ScanResult:
    """Scan with progress; shared by ``scan``, ``review`` and ``check``. Raises UsageError."""
    settings = scan_settings(args)
    session = open_session(args, args.roots)
    try:
        with scan_progress(quiet=args.quiet) as progress:
            return scan(args.roots, settings, session, progress=progress)  # type: ignore[arg-type]
    except (ScanError, SessionError, CacheError) as exc:
        raise UsageError(str(exc)) from None


def write_json(result: ScanResult, target: str) -> None:
    text = result.to_json(indent=1)
    if target == "-":
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        with open(target, "w", encoding="ascii") as fh:
            fh.write(text + "\n")


def run(args: argparse.Namespace) -> int:
    try:
        result = run_scan(args)
    except UsageError as exc:
        return fail(str(exc))
    except ScanInterrupted as exc:
        return fail(str(exc), 130)
    if args.json:
        try:
            write_json(result, args.json)
        except OSError as exc:
            return fail(f"cannot write {args.json}: {exc.strerror or exc}")
    if not args.quiet:
        from rich.console import Console

        console = Console(stderr=args.json == "-" or not sys.stdout.isatty())
        print_summary(result, console)
        if result.groups:
            again = " ".join(shlex.quote(r) for r in args.roots)
            session = f" --session {shlex.quote(args.session)}" if args.session else ""
            console.print(f"Next: [bold]imgreview review {again}{session}[/] to decide what to keep "
                          "(only new or changed files are read again).", highlight=False)
    return 0
