"""``imgreview demo [DIR]``: write a small generated dataset with planted duplicates and review it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imgreview.cli.options import fail
from imgreview.cli.reviewing import GRAPHICS, add_review_arguments, run_review

DEFAULT_DIR = "imgreview-demo"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo",
        help="try imgreview on a generated demo dataset",
        description="Write a small demo dataset (train/val/test folders of cat/dog/bird pictures with planted "
                    "exact copies, resized, re-encoded and brightened copies, a picture filed under two "
                    "labels and a train/test leak) to DIR, scan it and open the review. Running it again "
                    "reuses the dataset and resumes the review.",
    )
    p.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR",
                   help=f"where to write the dataset (default: ./{DEFAULT_DIR})")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default 0: always the same pictures)")
    p.add_argument("--no-review", action="store_true", help="only write the dataset")
    p.add_argument("--graphics", choices=GRAPHICS, default="auto", help="how pictures are drawn (default: auto-detect; see review)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from imgreview.dataset.demo import write_demo
    except ImportError:  # pragma: no cover - the generator ships with imgreview
        return fail("the demo generator is not available in this installation")
    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        return fail(f"{target} exists and is not a folder")
    existing = target.is_dir() and any(p.name != ".imgreview" for p in target.iterdir())
    if existing:
        print(f"imgreview: using the dataset already in {target} (remove it for a fresh one)", file=sys.stderr)
    else:
        try:
            write_demo(target, seed=args.seed)
        except OSError as exc:
            return fail(f"cannot write the demo dataset to {target}: {exc.strerror or exc}")
        print(f"imgreview: wrote the demo dataset to {target} (what was planted: {target / 'DEMO.md'})",
              file=sys.stderr)
    if args.no_review:
        print(f"review it with: imgreview review {target}", file=sys.stderr)
        return 0
    parser = argparse.ArgumentParser(prog="imgreview demo")
    add_review_arguments(parser)
    review_args = parser.parse_args([str(target), "--graphics", args.graphics])
    return run_review(review_args)
