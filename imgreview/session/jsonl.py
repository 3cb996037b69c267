"""Durable appends to a JSON-lines file (the journal, the quarantine manifest)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def append_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Append ``records`` as JSON lines with one ``write``, then fsync; raise ``OSError`` on failure.

    * If an earlier write was cut mid-line, the new records start on a fresh line, so nothing merges
      into the torn line (readers skip that one line).
    * If this write fails part-way (disk full, I/O error), the file is truncated back to its
      previous size: a reader never finds half of a batch that was reported as not written.
    """
    data = b"".join(json.dumps(r, ensure_ascii=True).encode("ascii") + b"\n" for r in records)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.fstat(fd).st_size
        if start > 0:
            with open(path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    data = b"\n" + data
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass  # readers skip the cut-off line
            raise
    finally:
        os.close(fd)
