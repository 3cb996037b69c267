"""``imgreview apply --move-to DIR``: move the files marked delete into a quarantine folder."""

from __future__ import annotations

import argparse
import sys

from imgreview.cli.options import (
    add_session_lookup_option,
    fail,
    find_session,
)
from imgreview.errors import EXIT_OK, EXIT_PROBLEMS, UsageError
from imgreview.quarantine import ApplyReport, Move, QuarantineError, apply
from imgreview.session.folder import SessionError
from imgreview.text import display_path, human_bytes

EXIT_STATUS = ("exit status: 0 every file of the delete list was moved (or nothing was left to do); 1 some were "
               "not moved (each listed with its reason; held-back and stale decisions do not count); 2 refused "
               "before anything changed (bad arguments, an unusable session or quarantine, another apply or "
               "restore running); 130 interrupted. restore uses the same codes.")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "apply",
        help="move the files marked delete (or unwanted) into a quarantine folder (restorable)",
        description="Move every file marked delete into DIR, keeping its path relative to its scanned root, "
                    "and record each move in DIR/imgreview-manifest.jsonl before making it. Each file is "
                    "read again first and skipped if it changed since it was decided. Nothing is deleted: "
                    "`imgreview restore DIR/imgreview-manifest.jsonl` moves everything back; empty DIR "
                    "yourself when satisfied. Rerunning finishes an interrupted apply; a second run is a no-op.",
        epilog=EXIT_STATUS,
    )
    add_session_lookup_option(p)
    p.add_argument("--move-to", metavar="DIR", required=True, help="quarantine folder (created if needed)")
    p.add_argument("--relabel", action="store_true",
                   help="also move the files marked (in triage) as belonging to another label into that "
                        "label's folder, recorded in the same manifest (restore moves them back)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no line per file, only the summary")
    p.set_defaults(func=run)


def print_summary(report: ApplyReport, quiet: bool) -> None:
    out = sys.stdout
    if report.dry_run:
        if not quiet:
            for mv in report.planned:
                print(f"would move {display_path(mv.path)} -> {display_path(mv.new)}", file=out)
        print(f"dry run: would move {len(report.planned)} file(s), freeing {human_bytes(report.bytes_freed)} "
              f"({report.bytes_freed} bytes) once {display_path(report.move_to)} is emptied", file=out)
    else:
        print(f"moved {len(report.moved)} file(s) into {display_path(report.move_to)}, freeing "
              f"{human_bytes(report.bytes_freed)} ({report.bytes_freed} bytes) once it is emptied", file=out)
        if report.moved:
            print(f"manifest: {display_path(report.manifest)} (undo with: imgreview restore "
                  f"{display_path(report.manifest)})", file=out)
    if report.already:
        print(f"{len(report.already)} file(s) already in the quarantine from an earlier apply", file=out)
    if report.skipped:
        print(f"skipped {len(report.skipped)} file(s):", file=out)
        for s in report.skipped:
            print(f"  {display_path(s.path)}: {s.reason}", file=out)
    for w in report.warnings:
        print(f"imgreview: warning: {w}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        session = find_session(args)
    except UsageError as exc:
        return fail(str(exc))

    def moved(mv: Move) -> None:
        if not args.quiet:
            print(f"moved {display_path(mv.path)} -> {display_path(mv.new)}", flush=True)

    try:
        report = apply(session, args.move_to, dry_run=args.dry_run, on_move=moved, relabel=args.relabel)
    except (QuarantineError, SessionError) as exc:
        return fail(str(exc))
    print_summary(report, args.quiet)
    return EXIT_PROBLEMS if report.incomplete else EXIT_OK
