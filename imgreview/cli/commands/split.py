"""``imgreview split ROOT... --ratios 8:1:1``: a new stratified, group-aware split after cleaning."""

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
from imgreview.dataset.split import (
    SplitPlan,
    parse_ratios,
    plan_from_scan,
    split_names,
    write_csv,
    write_tree,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "split",
        help="make a new train/val/test split: stratified by label, duplicates kept together",
        description="Scan (fingerprints are cached), then assign every image to a new split: stratified by "
                    "label (each label's counts within one image of the ratios where its duplicates allow), "
                    "the remaining files of a duplicate group always in the same split, files decided delete "
                    "left out, the same result for the same --seed. Writes a CSV (path,label,split; usable "
                    "as --manifest) or a new folder tree OUT/SPLIT/LABEL/. The source files are not touched.",
    )
    p.add_argument("roots", nargs="+", metavar="ROOT", help="dataset folder(s)")
    p.add_argument("--ratios", required=True, metavar="A:B[:C]", help="split sizes, like 8:1:1 or 0.7:0.15:0.15")
    p.add_argument("--names", metavar="N1,N2,...", help="split names (default train,val,test; train,test for two)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", metavar="DIR", help="write OUT/SPLIT/LABEL/ files (DIR must be new or empty)")
    out.add_argument("--csv", metavar="FILE", help="write path,label,split rows to FILE (- for stdout)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--copy", dest="mode", action="store_const", const="copy", help="copy files (default)")
    how.add_argument("--hardlink", dest="mode", action="store_const", const="hardlink", help="hard-link files")
    how.add_argument("--symlink", dest="mode", action="store_const", const="symlink", help="symbolic links")
    p.set_defaults(mode="copy")
    add_session_option(p)
    add_scan_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ratios = parse_ratios(args.ratios)
    names = split_names(len(ratios), args.names)
    result = run_scan(args)
    session = open_session(args, args.roots)
    plan = plan_from_scan(result, session.journal(read_only=True), ratios, args.seed, names,
                          skip_dirs=(str(session.path),))
    try:
        if args.csv:
            write_csv(plan, args.csv)
        else:
            written = write_tree(plan, args.out, args.mode, result.roots)
    except OSError as exc:
        return fail(f"cannot write {args.csv or args.out}: {exc.strerror or exc}")
    from rich.console import Console

    console = Console(stderr=bool(args.csv == "-") or not sys.stdout.isatty(), highlight=False)
    print_plan(plan, console)
    if not args.csv:
        console.print(f"{written} file(s) written to {args.out} ({args.mode})", markup=False)
    return 0


def print_plan(plan: SplitPlan, console: object) -> None:
    from rich.table import Table

    ratio = ":".join(str(r) for r in plan.ratios)
    table = Table(title=f"New split {ratio} (seed {plan.seed})")
    table.add_column("label")
    for name in plan.names:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right", style="bold")
    totals = dict.fromkeys(plan.names, 0)
    for label, counts in plan.counts.items():
        goal = plan.targets[label]
        cells = []
        for name, target in zip(plan.names, goal, strict=True):
            n = counts.get(name, 0)
            totals[name] += n
            cells.append(str(n) if abs(n - target) <= 1 else f"[yellow]{n}[/] (target {target})")
        table.add_row(label or "(no label)", *cells, str(sum(counts.values())))
    table.add_row("[bold]total", *(f"[bold]{totals[n]}" for n in plan.names), f"[bold]{sum(totals.values())}")
    console.print(table)  # type: ignore[attr-defined]
    console.print(f"{plan.units} unit(s) (duplicates kept together); {plan.left_out} file(s) decided delete "  # type: ignore[attr-defined]
                  "left out", markup=False)
