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
from collections.abc import Iterable, Iterator

from imgreview.decisions.build import Row
from imgreview.errors import ImgreviewError
from imgreview.text import display_path

COLUMNS = ("group", "path", "decision", "by", "distance", "size", "width", "height", "digest", "label",
           "split", "note", "to", "gps", "description", "keywords")
FORMATS = ("txt", "csv", "json")
BATCH = 4096  # rows rendered at a time


class ExportError(ImgreviewError):
    """The list cannot be written as asked; the message says why and what to do instead."""


# ---------------------------------------------------------------------- output
def _text(value: object) -> str:
    """A cell for CSV: non-UTF-8 bytes (surrogates) as backslash escapes; None as empty."""
    if value is None:
        return ""
    s = str(value)
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def render_txt(rows: Iterable[Row], nul: bool = False) -> bytes:
    return b"".join(_txt_chunks(rows, nul))


def _txt_chunks(rows: Iterable[Row], nul: bool) -> Iterator[bytes]:
    sep = b"\0" if nul else b"\n"
    for batch in _batched(rows):
        out: list[bytes] = []
        for r in batch:
            raw = os.fsencode(r.path)
            if not nul and b"\n" in raw:
                raise ExportError(
                    f"the path {display_path(r.path)} contains a newline, which one path a line cannot "
                    "represent; use -0 (NUL-separated, for xargs -0) or --format json"
                )
            out.append(raw + sep)
        yield b"".join(out)


def render_csv(rows: Iterable[Row]) -> bytes:
    return b"".join(_csv_chunks(rows))


def _csv_chunks(rows: Iterable[Row]) -> Iterator[bytes]:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for batch in _batched(rows):
        for r in batch:
            d = r.as_dict()
            writer.writerow([_text(d[c]) for c in COLUMNS])
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue().encode("utf-8")


def render_json(rows: Iterable[Row]) -> bytes:
    return b"".join(_json_chunks(rows))


def _json_chunks(rows: Iterable[Row]) -> Iterator[bytes]:
    """``json.dumps(list, indent=1)`` of the rows, a batch at a time (the same bytes)."""
    first = True
    for batch in _batched(rows):
        parts = []
        for r in batch:
            item = json.dumps(r.as_dict(), indent=1, ensure_ascii=True).replace("\n", "\n ")
            parts.append(("[\n " if first else ",\n ") + item)
            first = False
        yield "".join(parts).encode("ascii")
    yield b"[]\n" if first else b"\n]\n"


def _batched(rows: Iterable[Row]) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _check(fmt: str, nul: bool) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if nul and fmt != "txt":
        raise ExportError("-0 applies to the txt format only")


def render(rows: Iterable[Row], fmt: str = "txt", nul: bool = False) -> bytes:
    return b"".join(render_chunks(rows, fmt, nul))


def render_chunks(rows: Iterable[Row], fmt: str = "txt", nul: bool = False) -> Iterator[bytes]:
    """The list as :func:`render` writes it, a batch of rows at a time (memory: one batch)."""
    _check(fmt, nul)
    if fmt == "txt":
        return _txt_chunks(rows, nul)
    if fmt == "csv":
        return _csv_chunks(rows)
    return _json_chunks(rows)
