"""``imgreview check ROOT...``: a dataset health report; exit 1 while label conflicts or leaks remain."""

from __future__ import annotations

import argparse
import json
from typing import Any

from imgreview.cli.options import add_scan_options, add_session_option, open_session
from imgreview.cli.steps import run_scan, write_output
from imgreview.dataset.health import DEFAULT_MIN_IMAGES, HealthReport, report_of
from imgreview.text import display_path

MAX_LISTED = 20


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check",
        help="dataset health report: labels, splits, duplicates, label conflicts, train/test leaks",
        description="Scan (fingerprints are cached) and report images per label and split, duplicate groups, "
                    "label conflicts (one picture under two labels), leaks between splits (one picture in "
                    "train and test), unreadable files and labels with few images. Decisions in the journal "
                    "count: a file decided delete no longer counts. Exit status 1 while a label conflict or "
                    "a leak remains, 0 when clean (for CI).",
    )
    p.add_argument("roots", nargs="+", metavar="ROOT", help="dataset folder(s)")
    add_session_option(p)
    add_scan_options(p)
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE (- for stdout)")
    p.add_argument("--min-images", type=int, default=DEFAULT_MIN_IMAGES, metavar="N",
                   help=f"flag labels with fewer images than N (default {DEFAULT_MIN_IMAGES})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_scan(args, keep_groups=False)  # the result is stored in the session; the report reads the groups it needs from there
    session = open_session(args, args.roots)
    header, groups = session.open_scan()
    with groups:
        report = report_of(header, groups, session.journal(read_only=True), min_images=args.min_images)
    if args.json:
        write_output(args.json, json.dumps(report.to_dict(), indent=1, ensure_ascii=True) + "\n")
    if not (args.quiet and args.json):
        from rich.console import Console

        print_report(report, Console(stderr=args.json == "-", highlight=False))
    return 0 if report.clean else 1


def _split_name(split: str) -> str:
    return split or "(no split)"


def _triage_rows(summary: Any, report: HealthReport) -> None:
    """Quality flags and triage marks in the health table."""
    flagged = {k: n for k, n in report.quality_counts.items() if n}
    text = ", ".join(f"{k} {n}" for k, n in flagged.items())
    summary.add_row("Quality flags", f"{text} ({len(report.quality)} image(s); see --json, `imgreview triage`)"
                    if flagged else "none")
    if report.unwanted or report.relabel:
        summary.add_row("Triage marks", f"{report.unwanted} unwanted, {report.relabel} relabel")


def print_report(report: HealthReport, console: object) -> None:
    from rich.table import Table

    con = console  # rich Console
    for w in report.warnings:
        con.print(f"[yellow]warning:[/] {w}", markup=True)  # type: ignore[attr-defined]

    table = Table(title="Images per label and split")
    table.add_column("label")
    for s in report.splits:
        table.add_column(_split_name(s), justify="right")
    table.add_column("total", justify="right", style="bold")
    totals = {s: 0 for s in report.splits}
    for label, per in report.counts.items():
        row = [label or "(no label)"]
        for s in report.splits:
            row.append(str(per.get(s, 0)) if per.get(s) else "[red]0[/]" if label else "")
            totals[s] += per.get(s, 0)
        row.append(str(sum(per.values())))
        table.add_row(*row)
    table.add_row("[bold]total", *(f"[bold]{totals[s]}" for s in report.splits), f"[bold]{report.images}")
    con.print(table)  # type: ignore[attr-defined]

    g = report.groups
    summary = Table(title="Health", show_header=False)
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("Exact groups", f"{g.get('exact', 0)} ({g.get('undecided_exact', 0)} with undecided files)")
    summary.add_row("Near groups", f"{g.get('near', 0)} ({g.get('undecided_near', 0)} with undecided files)")
    style = "red" if report.conflicts else "green"
    summary.add_row("Label conflicts", f"[{style}]{len(report.conflicts)}[/]")
    style = "red" if report.leak_groups else "green"
    summary.add_row("Split leaks", f"[{style}]{len(report.leak_groups)} group(s)[/]")
    summary.add_row("Unreadable files", f"{'[yellow]' if report.unreadable else ''}{len(report.unreadable)}")
    small = ", ".join(f"{label} ({n})" for label, n in report.small_labels.items())
    summary.add_row(f"Labels < {report.min_images} images", small or "none")
    summary.add_row("Decided delete", f"{report.deleted} file(s), not counted")
    _triage_rows(summary, report)
    if report.stale:
        summary.add_row("Stale decisions", f"{report.stale} (the file changed since; not applied)")
    if report.held:
        summary.add_row("Held back", f"{report.held} (whole group marked delete by rule; not applied)")
    con.print(summary)  # type: ignore[attr-defined]

    if report.leaks:
        leaks = Table(title="Leaks between splits")
        leaks.add_column("splits")
        leaks.add_column("groups", justify="right")
        leaks.add_column("images in the later split", justify="right")
        for leak in report.leaks:
            leaks.add_row(f"{leak.splits[0]} ↔ {leak.splits[1]}", str(leak.groups), str(leak.images))
        con.print(leaks)  # type: ignore[attr-defined]
    for title, issues in (("Label conflicts", report.conflicts), ("Split leaks", report.leak_groups)):
        if not issues:
            continue
        t = Table(title=title)
        t.add_column("group")
        t.add_column("labels")
        t.add_column("splits")
        t.add_column("files")
        for issue in issues[:MAX_LISTED]:
            t.add_row(issue.group, ", ".join(issue.labels), ", ".join(issue.splits),
                      "\n".join(display_path(p) for p in issue.paths))
        con.print(t)  # type: ignore[attr-defined]
        if len(issues) > MAX_LISTED:
            con.print(f"… and {len(issues) - MAX_LISTED} more (see --json)")  # type: ignore[attr-defined]
    for e in report.unreadable[:MAX_LISTED]:
        con.print(f"unreadable: {display_path(e.path)}: {e.error}", markup=False)  # type: ignore[attr-defined]
    if report.clean:
        con.print("[green]clean:[/] no label conflicts, no leaks between splits")  # type: ignore[attr-defined]
    else:
        con.print("[red]not clean:[/] decide the conflicts and leaks with `imgreview review` "  # type: ignore[attr-defined]
                  "(byte-identical leaks: `imgreview resolve --exact --leaks keep-train`), then check again")
