"""Durable JSON-lines files (the journal, the quarantine manifest): safe open, read, append.

Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and must be regular files: a symbolic link
planted in a session folder (a downloaded dataset may ship one) is never followed, and a FIFO or
a folder in place of the file is refused at once instead of hanging or raising a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


class UnsafeFile(OSError):
    """The path is a symbolic link, or not a regular file; ``strerror`` says which."""


def open_regular(path: Path | str, flags: int, mode: int = 0o644) -> int:
    """``os.open`` without following a link or blocking on a FIFO; the file must be a regular file."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(errno.ELOOP, "is a symbolic link; imgreview does not follow links here",
                             str(path)) from None
        if exc.errno == errno.EISDIR:
            raise UnsafeFile(errno.EISDIR, "is a folder, not a file", str(path)) from None
        if exc.errno == errno.ENXIO:  # a FIFO without a reader, opened for writing
            raise UnsafeFile(errno.ENXIO, "is not a regular file (a FIFO or device)", str(path)) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        what = "is a folder, not a file" if stat.S_ISDIR(st.st_mode) else "is not a regular file (a FIFO or device)"
        raise UnsafeFile(errno.EINVAL, what, str(path))
    os.set_blocking(fd, True)
    return fd


def read_bytes(path: Path | str) -> bytes | None:
    """The whole file (None if it does not exist); ``UnsafeFile`` for a link or a non-regular file."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, _CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def append_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Append ``records`` to ``path`` (created if needed); see :func:`append_records_fd`."""
    fd = open_regular(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        append_records_fd(fd, records)
    finally:
        os.close(fd)


def append_records_fd(fd: int, records: list[dict[str, Any]]) -> None:
    """Append ``records`` as JSON lines with one ``write``, then fsync; raise ``OSError`` on failure.

    ``fd`` is open for reading and writing with ``O_APPEND``.

    * If an earlier write was cut mid-line, the new records start on a fresh line, so nothing merges
      into the torn line (readers skip that one line).
    * If this write fails part-way (disk full, I/O error), the file is truncated back to its
      previous size: a reader never finds half of a batch that was reported as not written.
    """
    data = b"".join(json.dumps(r, ensure_ascii=True).encode("ascii") + b"\n" for r in records)
    start = os.fstat(fd).st_size
    if start > 0 and os.pread(fd, 1, start - 1) not in (b"\n", b""):
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
