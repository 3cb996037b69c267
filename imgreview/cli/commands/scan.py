"""``imgreview scan ROOT...``: find exact and near-duplicate groups and store them in the session."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from imgreview.cli.options import add_scan_options, add_session_option
from imgreview.cli.output import print_summary
from imgreview.cli.steps import run_scan, write_output
from imgreview.decisions.keeper import group_suggestions
from imgreview.model import ScanResult


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


def json_with_suggestions(result: ScanResult) -> str:
    """The result's JSON with, per group, the suggested keeper (``suggested``: a path or null when
    there is no clear original) and its ``reason``, for export and resolve rules."""
    data = result.to_dict()
    suggestions = group_suggestions(result.groups)
    for g in data.get("groups", []):
        g["suggested"], g["reason"] = suggestions.get(g["id"], (None, ""))
    return json.dumps(data, indent=1, ensure_ascii=True)


def run(args: argparse.Namespace) -> int:
    result = run_scan(args, keep_groups=bool(args.json))  # the summary needs only the stats
    if args.json:
        write_output(args.json, json_with_suggestions(result) + "\n")
    if not args.quiet:
        from rich.console import Console

        console = Console(stderr=args.json == "-" or not sys.stdout.isatty())
        print_summary(result, console)
        if result.stats.get("groups"):
            again = " ".join(shlex.quote(r) for r in args.roots)
            session = f" --session {shlex.quote(args.session)}" if args.session else ""
            console.print(f"Next: [bold]imgreview review {again}{session}[/] to decide what to keep "
                          "(only new or changed files are read again).", highlight=False)
    return 0
