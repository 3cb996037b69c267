"""Command line: ``imgreview COMMAND ...``.

Each command lives in its own module under :mod:`imgreview.cli.commands` and registers itself with
``register(subparsers)``; this module only assembles them, and is the one place where an error
becomes an exit status: an :class:`~imgreview.errors.ImgreviewError` prints its message and exits
with its ``exit_code`` (see :mod:`imgreview.errors`: 0 success, 1 problems reported, 2 refused,
130 interrupted).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from imgreview import __version__
from imgreview.cli.options import fail
from imgreview.errors import EXIT_INTERRUPTED, ImgreviewError

# Command modules, in the order `--help` lists them.
COMMANDS = ("scan", "review", "triage", "demo", "find", "export", "apply", "restore", "resolve", "check", "split")

DESCRIPTION = """\
Find exact and near-duplicate images in a folder tree (for example an image-classification
dataset), review them side by side in the terminal, and clean up safely.

Typical use:
  imgreview demo                      try it on a generated demo dataset
  imgreview review ~/data/pets        scan, then review the duplicate groups
  imgreview export > delete.txt       the files you marked delete
  imgreview apply --move-to ~/quarantine   move them aside (restorable)
"""


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line, or only the commands in ``only`` (each command module is imported here)."""
    parser = argparse.ArgumentParser(
        prog="imgreview",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imgreview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is None or name in only:
            importlib.import_module(f"imgreview.cli.commands.{name}").register(sub)
    return parser


def commands_needed(argv: Sequence[str]) -> tuple[str, ...] | None:
    """Which command modules parsing ``argv`` needs: the one named, none for ``--version``, else all.

    Each command module imports what its command runs (numpy, Pillow, rich, Textual...); importing
    only the command that runs keeps the start-up of ``imgreview scan`` to what a scan needs.
    ``--help``, a mistyped command or no command at all get the whole parser (every command listed).
    """
    if not argv:
        return None
    first = argv[0]
    if first in COMMANDS:
        return (first,)
    if first == "--version":
        return ()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        words = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(commands_needed(words))  # imports command modules: Ctrl-C here is an interruption too
        args = parser.parse_args(words)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ImgreviewError as exc:
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
