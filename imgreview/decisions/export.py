"""The review's decisions written as lists: keep, delete, undecided (see docs/safety.md).

The lists come from :func:`imgreview.decisions.build.build_decisions`. The journal holds one decision per path, bound to the content digest it was made on; the latest
scan result says which files exist and which group each belongs to. :func:`build_decisions` joins
the two and applies the rules that protect the user:

* an undecided file is never in the delete list;
* a decision made on other content (the file changed since: *stale*) is not applied;
* a group whose every member is marked delete is in the delete list only when every one of those
  decisions is explicit: made by a person, or by a rule the person asked to drop whole groups
  (``resolve --conflicts drop-all`` / ``--leaks drop-all``, rule names ending in ``drop-all``);
  otherwise those deletions are *held back*.

Files without an applicable decision (undecided, stale, held back) form the undecided list.

Output formats (:func:`render`):

* ``txt``: one path a line, or NUL-terminated with ``nul=True``; paths are written as their
  original bytes (``os.fsencode``). A path containing a newline cannot be written unambiguously one
  a line: :class:`ExportError` is raised, suggesting NUL separators or JSON.
* ``csv``: UTF-8, a header row, :data:`COLUMNS`; empty cells for unknown values. Bytes of a path
  that are not valid UTF-8 appear as ``\\udcXX`` escapes (Python's ``surrogateescape`` +
  ``backslashreplace``); use JSON or ``txt -0`` for an exact round trip of such paths.
* ``json``: a list of objects with the :data:`COLUMNS` keys, ASCII only; non-UTF-8 bytes are lone
  surrogate escapes (``\\udcXX``) that ``json.loads`` + ``os.fsencode`` turn back into the bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os

from imgreview.decisions.build import Row
from imgreview.errors import ImgreviewError
from imgreview.text import display_path

COLUMNS = ("group", "path", "decision", "by", "distance", "size", "width", "height", "digest", "label",
           "split", "note", "to", "gps", "description", "keywords")
FORMATS = ("txt", "csv", "json")


class ExportError(ImgreviewError):
    """The list cannot be written as asked; the message says why and what to do instead."""


# ---------------------------------------------------------------------- output
def _text(value: object) -> str:
    """A cell for CSV: non-UTF-8 bytes (surrogates) as backslash escapes; None as empty."""
    if value is None:
        return ""
    s = str(value)
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def render_txt(rows: list[Row], nul: bool = False) -> bytes:
    sep = b"\0" if nul else b"\n"
    out: list[bytes] = []
    for r in rows:
        raw = os.fsencode(r.path)
        if not nul and b"\n" in raw:
            raise ExportError(
                f"the path {display_path(r.path)} contains a newline, which one path a line cannot "
                "represent; use -0 (NUL-separated, for xargs -0) or --format json"
            )
        out.append(raw + sep)
    return b"".join(out)


def render_csv(rows: list[Row]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        d = r.as_dict()
        writer.writerow([_text(d[c]) for c in COLUMNS])
    return buf.getvalue().encode("utf-8")


def render_json(rows: list[Row]) -> bytes:
    text = json.dumps([r.as_dict() for r in rows], indent=1, ensure_ascii=True)
    return (text + "\n").encode("ascii")


def render(rows: list[Row], fmt: str = "txt", nul: bool = False) -> bytes:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if nul and fmt != "txt":
        raise ExportError("-0 applies to the txt format only")
    if fmt == "txt":
        return render_txt(rows, nul)
    if fmt == "csv":
        return render_csv(rows)
    return render_json(rows)

