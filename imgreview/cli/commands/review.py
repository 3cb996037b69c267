"""``imgreview review [ROOT...]``: scan (incrementally), then review the groups in the terminal app."""

from __future__ import annotations

import argparse

from imgreview.cli.reviewing import add_review_arguments, run_review


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "review",
        help="review duplicate groups side by side and decide what to keep",
        description="Update the scan of ROOT (only new or changed files are read), then open the review: "
                    "the duplicate groups side by side as pictures, one key per decision. Every decision "
                    "is saved at once; run the same command again to continue where you stopped. "
                    "Nothing is deleted here (see `imgreview export` and `imgreview apply`).",
    )
    add_review_arguments(p)
    p.set_defaults(func=run_review)
