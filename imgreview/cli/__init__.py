"""The command line: ``imgreview COMMAND``; a thin layer over the library (see :mod:`imgreview.cli.main`)."""

from __future__ import annotations

import sys


def run() -> None:
    """Entry point of ``imgreview`` and ``python -m imgreview``.

    The command modules are imported here, inside the guard, so a Ctrl-C while they load (the
    first fraction of a second) exits 130 with one line, like a Ctrl-C later does.
    """
    try:
        from imgreview.cli.main import main

        code = main()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    raise SystemExit(code)
