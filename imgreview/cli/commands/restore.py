"""``imgreview restore MANIFEST``: move quarantined files back to where they were."""

from __future__ import annotations

import argparse
import sys

from imgreview.cli.options import fail
from imgreview.errors import EXIT_OK, EXIT_PROBLEMS
from imgreview.quarantine import QuarantineError, restore
from imgreview.session.folder import SessionError
from imgreview.text import display_path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "restore",
        help="move the files of an apply back (from its manifest)",
        description="Move every file recorded in MANIFEST (the imgreview-manifest.jsonl that apply wrote in "
                    "the quarantine folder, or that folder) back to its original path. A file already at "
                    "the original path is never overwritten; works after an interrupted apply. A quarantined "
                    "file whose content changed since apply is left in the quarantine unless --accept-changed.",
        epilog="exit status: 0 every file was restored (or already in place); 1 some were not (each listed "
               "with its reason); 2 refused before anything changed (not a manifest, a quarantine or session in "
               "use); 130 interrupted. apply uses the same codes.",
    )
    p.add_argument("manifest", metavar="MANIFEST", help="the manifest file, or the quarantine folder")
    p.add_argument("--dry-run", action="store_true", help="print what would be restored and change nothing")
    p.add_argument("--accept-changed", action="store_true",
                   help="also restore files whose content changed in the quarantine since apply (as they are now)")
    p.add_argument("-q", "--quiet", action="store_true", help="no line per file, only the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        report = restore(args.manifest, dry_run=args.dry_run, accept_changed=args.accept_changed)
    except (QuarantineError, SessionError) as exc:
        return fail(str(exc))
    verb = "would restore" if report.dry_run else "restored"
    if not args.quiet:
        for e in report.restored:
            print(f"{verb} {display_path(e.original)}", file=sys.stdout)
    print(f"{verb} {len(report.restored)} file(s)", file=sys.stdout)
    if report.already:
        print(f"{len(report.already)} file(s) already at their original path", file=sys.stdout)
    if report.skipped:
        print(f"skipped {len(report.skipped)} file(s):", file=sys.stdout)
        for s in report.skipped:
            print(f"  {display_path(s.path)}: {s.reason}", file=sys.stdout)
    for w in report.warnings:
        print(f"imgreview: warning: {w}", file=sys.stderr)
    if report.marker_removed:
        print("the quarantine holds no file any more: its marker was removed, so scans enter it again", file=sys.stdout)
    return EXIT_PROBLEMS if report.incomplete else EXIT_OK
