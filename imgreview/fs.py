"""File-system helpers shared by every layer: content digest, containment, durable writes, cores.

One home for each: the digest that identifies a file's content everywhere (BLAKE2b-128), the
"is this path inside that folder" test on normalised paths, fsync of a folder, atomic replacement
of a small file, and the number of cores this process may use.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

DIGEST_SIZE = 16  # bytes: BLAKE2b-128
_CHUNK = 1 << 20


def new_digest() -> hashlib.blake2b:
    """A fresh BLAKE2b-128 hasher, for callers that feed it incrementally."""
    return hashlib.blake2b(digest_size=DIGEST_SIZE)


def digest_bytes(data: bytes) -> str:
    """Content digest of ``data``: BLAKE2b-128 hex (stdlib, about 1 GB/s, no dependency)."""
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).hexdigest()


def file_digest(path: str | os.PathLike[str]) -> str:
    """Content digest of the file at ``path`` (same value as :func:`digest_bytes` of its bytes)."""
    h = new_digest()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def is_within(path: str, folder: str) -> bool:
    """True if ``path`` is ``folder`` or lies below it, comparing normalised absolute paths.

    Neither path is resolved through symbolic links: callers that must not be fooled by links
    pass :func:`os.path.realpath` results.
    """
    path = os.path.normpath(os.path.abspath(path))
    folder = os.path.normpath(os.path.abspath(folder))
    if folder == os.sep:
        return True
    return path == folder or path.startswith(folder + os.sep)


def within_any(path: str, folders: list[str]) -> bool:
    """True if ``path`` lies within one of ``folders`` (see :func:`is_within`)."""
    return any(is_within(path, f) for f in folders)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Force a folder's entries to disk; best effort (some file systems refuse)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def cpu_count() -> int:
    """Cores this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def utc_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds, as every record of imgreview stores it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")
