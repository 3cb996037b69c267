"""``imgreview resolve --exact``: decide byte-identical copies by rule, written to the journal."""

from __future__ import annotations

import argparse
import sys

from imgreview.cli.options import add_session_lookup_option, fail, find_session
from imgreview.decisions.keeper import RULES, parse_prefer
from imgreview.decisions.resolve import (
    CONFLICT_MODES,
    LEAK_MODES,
    ResolveOptions,
    apply_plan,
    plan_exact_groups,
)
from imgreview.errors import UsageError
from imgreview.session.folder import SessionError
from imgreview.session.journal import JournalError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "resolve",
        help="decide exact duplicates by rule (label conflicts and leaks stay for a person)",
        description="Decide every set of byte-identical copies in the latest scan by rule: keep one "
                    "(by default the copy the review suggests with ★, from the evidence: an original-looking "
                    "name, camera EXIF, the oldest date; or chosen by --prefer), mark the others delete. "
                    "The decisions go to the journal as rule "
                    "decisions; a person can still override them in the review, and a person's decision is "
                    "never overridden. Groups with a label conflict or a split leak are skipped unless "
                    "--conflicts / --leaks say otherwise. Nothing is deleted: run `imgreview apply` after.",
    )
    p.add_argument("--exact", action="store_true", required=True,
                   help="decide byte-identical copies (the only mode so far)")
    p.add_argument("--prefer", metavar="RULES",
                   help=f"which copy to keep, comma-separated rules tried in order: {', '.join(RULES)} "
                        "(default: none, the review's suggested keeper ★, the same as `scan --json` "
                        "'suggested'; rules not named follow in the order pixels,size,oldest,shortest)")
    p.add_argument("--within-label", action="store_true",
                   help="inside label-conflict and leak groups, decide the copies that share a label and "
                        "split (one kept per label and split); the conflict or leak stays for a person")
    p.add_argument("--conflicts", choices=CONFLICT_MODES, default="skip",
                   help="copies filed under two or more labels: skip (default, a person decides) or "
                        "drop-all (mark every copy delete)")
    p.add_argument("--leaks", choices=LEAK_MODES,
                   help="copies in two or more splits: skip, drop-all, or keep-train (keep one copy in the "
                        "first of train/val/test, delete the others); default: like --conflicts")
    p.add_argument("-n", "--dry-run", action="store_true", help="show what would be decided, write nothing")
    add_session_lookup_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        prefer = parse_prefer(args.prefer) if args.prefer is not None else None
        options = ResolveOptions(prefer=prefer, prefer_text=args.prefer or "", within_label=args.within_label,
                                 conflicts=args.conflicts, leaks=args.leaks)
        session = find_session(args)
        session.read_meta()
        _, groups = session.open_scan()  # only the groups with identical copies are read
    except (ValueError, UsageError, SessionError) as exc:
        return fail(str(exc))
    try:
        if not args.dry_run:
            session.lock("resolve")
    except SessionError as exc:
        groups.close()
        return fail(str(exc))
    try:
        journal = session.journal(read_only=args.dry_run)
        for warning in journal.warnings:
            print(f"imgreview: warning: {warning}", file=sys.stderr)
        try:
            plan = plan_exact_groups(groups.at(groups.copy_positions()), journal, options)
        except SessionError as exc:
            return fail(str(exc))
        if not args.dry_run:
            try:
                apply_plan(plan, journal)
            except JournalError as exc:
                return fail(str(exc), 1)
    finally:
        groups.close()
        session.unlock()
    verb = "would decide" if args.dry_run else "decided"
    print(f"{verb} {len(plan.decided)} set(s) of identical copies: {plan.keep_count} keep, "
          f"{plan.delete_count} delete ({plan.change_count} new decision(s), {plan.unchanged} already in the journal)")
    for reason, n in sorted(plan.skipped.items()):
        print(f"skipped {n} set(s): {reason}")
    if plan.skipped.get("label conflict") or plan.skipped.get("split leak"):
        print("label conflicts and leaks stay for a person: `imgreview review`, or see --conflicts / --leaks")
    if any(d.rule.endswith("drop-all") for d in plan.decided):
        print("note: a group whose every file is marked delete by rule is held back by export and apply "
              "until a person confirms it in the review")
    if plan.delete_count and not args.dry_run:
        print("nothing is deleted yet: review with `imgreview review`, then `imgreview apply`")
    return 0
