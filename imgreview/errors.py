"""The one error base of imgreview.

Every error a person can cause or meet (bad arguments, a damaged session, a file that cannot be
moved safely) is an :class:`ImgreviewError`. Its message is written for a person, and its
``exit_code`` is the status the command line exits with: the mapping lives in
:func:`imgreview.cli.main.main` and nowhere else.

Exit codes: 0 success; 1 a command finished but reports a problem it was asked to gate on
(``check``) or could not finish every file (apply, restore); 2 refused: usage, a session or record
that cannot be trusted, nothing changed; 130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130


class ImgreviewError(Exception):
    """Base of every imgreview error; ``str(exc)`` is the message for a person."""

    exit_code: int = EXIT_REFUSED


class UsageError(ImgreviewError):
    """Bad arguments: the command prints the message and exits with status 2."""
