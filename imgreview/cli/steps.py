"""Steps that several commands share: scan with progress, write an output to FILE or ``-``.

Commands never import each other; what two of them do alike lives here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from imgreview.cli.options import open_session, scan_settings
from imgreview.cli.output import scan_progress
from imgreview.errors import ImgreviewError
from imgreview.model import ScanResult
from imgreview.scan.pipeline import scan


class OutputError(ImgreviewError):
    """An output file cannot be written."""


def run_scan(args: argparse.Namespace, keep_groups: bool = True) -> ScanResult:
    """Scan ``args.roots`` with the command's settings and a progress bar (``scan``, ``review``, ``check``,
    ``split``); ``keep_groups`` False: the result without its groups (they are in the session)."""
    settings = scan_settings(args)
    session = open_session(args, args.roots)
    with scan_progress(quiet=args.quiet) as progress:
        return scan(args.roots, settings, session, progress=progress, keep_groups=keep_groups)


def write_output(target: str, data: bytes | str | Iterable[bytes]) -> None:
    """Write ``data`` (or its chunks, in order) to the file ``target``, or to standard output when
    ``target`` is ``-``.

    Text is written as ASCII (every imgreview text output escapes what is not). Raises
    :class:`OutputError` with the reason when the file cannot be written.
    """
    chunks: Iterable[bytes] = ((data.encode("ascii") if isinstance(data, str) else data,)
                               if isinstance(data, str | bytes) else data)
    try:
        if target == "-":
            sys.stdout.flush()
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        with open(target, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
