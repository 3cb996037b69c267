"""``imgreview export``: write the keep / delete / undecided lists of the review."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable
from contextlib import ExitStack
from functools import partial
from typing import IO

from imgreview.cli.options import add_session_lookup_option, fail, find_session
from imgreview.cli.steps import write_output
from imgreview.decisions.build import Row, decisions_of, undecided_rows
from imgreview.decisions.export import FORMATS, render_chunks
from imgreview.model import ScanResult
from imgreview.session.journal import Journal
from imgreview.session.store import ScanGroups

SPOOL_BYTES = 8 << 20  # a rendered list is kept in memory up to this size, then in a temporary file


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "export",
        help="write the keep / delete / undecided lists of the review",
        description="Write the review's decisions (the journal over the latest scan) as lists. Without "
                    "--keep/--delete/--undecided the delete list goes to stdout. Undecided files are never "
                    "in the delete list; a stale decision (the file changed since) is not applied; a group "
                    "whose every file is marked delete is listed only when all of it was decided explicitly (by a person, or a drop-all rule asked for by name). "
                    "Use FILE '-' for stdout.",
    )
    add_session_lookup_option(p)
    p.add_argument("--format", choices=FORMATS, default="txt",
                   help="txt: one path a line (default); csv or json: one row per file with group, "
                        "decision, who decided, distance, size, dimensions, digest, label, split")
    p.add_argument("--keep", metavar="FILE", help="write the files to keep to FILE")
    p.add_argument("--delete", metavar="FILE", help="write the files to delete to FILE")
    p.add_argument("--undecided", metavar="FILE",
                   help="write the files without an applicable decision (undecided, stale, held back) to FILE")
    p.add_argument("--unwanted", metavar="FILE",
                   help="write the files marked unwanted in triage to FILE (a file kept in a duplicate group "
                        "and marked unwanted is unwanted; its note says so)")
    p.add_argument("--relabel", metavar="FILE",
                   help="write the files marked as belonging to another label to FILE (csv/json: column 'to')")
    p.add_argument("--wanted", metavar="FILE", help="write the files marked wanted in triage to FILE")
    p.add_argument("-0", "--null", dest="null", action="store_true",
                   help="txt only: end each path with NUL instead of a newline (for xargs -0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    session = find_session(args)
    session.read_meta()
    header, groups = session.open_scan()  # one snapshot of the result for every list
    with groups:
        return _export(args, header, groups, session.journal(read_only=True))


def _export(args: argparse.Namespace, header: ScanResult, groups: ScanGroups, journal: Journal) -> int:
    decisions = decisions_of(header, groups, journal)
    for w in journal.warnings:
        print(f"imgreview: warning: {w}", file=sys.stderr)
    targets = {name: getattr(args, name) for name in ("keep", "delete", "undecided", "unwanted", "relabel", "wanted")
               if getattr(args, name)}
    if not targets:
        targets = {"delete": "-"}
    if sum(t == "-" for t in targets.values()) > 1:
        return fail("only one list can go to stdout ('-')")
    # Render everything first (into temporary files: the undecided list is every file of the scan,
    # read a group at a time): nothing is written when one list cannot be.
    with ExitStack() as stack:
        rendered: dict[str, IO[bytes]] = {}
        for name in targets:
            if name == "undecided":
                rows: Iterable[Row] = undecided_rows(decisions, groups, journal)
            else:
                rows = decisions.rows(name)
            spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))
            for chunk in render_chunks(rows, args.format, args.null):
                spool.write(chunk)
            rendered[name] = spool
        for name, target in targets.items():
            done = rendered[name]
            done.seek(0)
            write_output(target, iter(partial(done.read, SPOOL_BYTES), b""))
    err = sys.stderr
    print(f"keep {len(decisions.keep)}, delete {len(decisions.delete)} ({decisions.delete_bytes} bytes), "
          f"undecided {decisions.undecided_count}", file=err)
    if decisions.unwanted or decisions.relabel or decisions.wanted:
        overridden = sum(r.note.startswith("kept in duplicate group") for r in decisions.unwanted)
        print(f"triage: unwanted {len(decisions.unwanted)}"
              + (f" ({overridden} of them kept in a duplicate group: unwanted wins)" if overridden else "")
              + f", relabel {len(decisions.relabel)}, wanted {len(decisions.wanted)}", file=err)
    if decisions.stale:
        print(f"{len(decisions.stale)} stale decision(s) not applied: the file changed since it was decided; "
              "review those files again", file=err)
    if decisions.held:
        held_groups = sorted({r.group for r in decisions.held})
        print(f"{len(decisions.held)} deletion(s) held back in {len(held_groups)} group(s) whose every file is "
              f"marked delete but not all explicitly (by you or a drop-all rule) ({', '.join(held_groups[:5])}"
              f"{', ...' if len(held_groups) > 5 else ''}); decide those groups explicitly", file=err)
    if decisions.orphans:
        print(f"{len(decisions.orphans)} decision(s) are for files not in the latest scan; ignored", file=err)
    return 0
