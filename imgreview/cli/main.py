"""Command line: ``imgreview COMMAND ...``.

Each command lives in its own module under :mod:`imgreview.commands` and registers itself with
``register(subparsers)``; this module only assembles them. Exit status: 0 success, 1 when a
command reports a problem it was asked to gate on (``check``), 2 for usage errors, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from imgreview import __version__

# Command modules, in the order `--help` lists them.
COMMANDS = ("scan", "review", "demo", "find", "export", "apply", "restore", "resolve", "check", "split")

DESCRIPTION = """\
Find exact and near-duplicate images in a folder tree (for example an image-classification
dataset), review them side by side in the terminal, and clean up safely.

Typical use:
  imgreview demo                      try it on a generated demo dataset
  imgreview review ~/data/pets        scan, then review the duplicate groups
  imgreview export > delete.txt       the files you marked delete
  imgreview apply --move-to ~/quarantine   move them aside (restorable)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imgreview",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imgreview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
