"""SQLite cache of fingerprints, so a rescan only touches new or changed files.

A row is reused when path, size, mtime (ns) and the hash settings all match. Paths are stored as
their raw bytes, so names that are not valid UTF-8 work. The database runs in WAL mode and is
committed in small batches during a scan: a scan cut short by Ctrl-C or a kill keeps everything
hashed so far.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgreview.errors import ImgreviewError
from imgreview.scan.fingerprint import Failure, Fingerprint

CACHE_SCHEMA = 1

_COLUMNS = (
    "path, size, mtime_ns, settings, digest, width, height, format, mode, taken, camera, "
    "hash, lowinfo, gray, color, error, routes, quality, meta"
)


class CacheError(ImgreviewError):
    """The cache cannot be used (damaged, unwritable); the message says why and what to do."""


IN_CHUNK = 900  # rowids or paths per ``IN (...)`` query (under SQLite's default limit of 999 variables)
Wanted = tuple[int, str, str, int, int]  # a cached fingerprint looked up: rowid, path, digest, size, mtime_ns
NOT_CACHED, IMAGE, FAILURE = 0, 1, 2


@dataclass(slots=True)
class Stamps:
    """What a scan keeps of the cached fingerprints of its files (see :meth:`FingerprintCache.lookup_packed`):
    per file a status, the row, the digest, the hash and the quality statistics, packed; nothing
    else (signatures, routes, metadata are read again by row for the files a later stage works on)."""

    status: np.ndarray  # (n,) int8: NOT_CACHED (fingerprint it), IMAGE, FAILURE
    rowid: np.ndarray  # (n,) int64, -1 where not cached
    digest: np.ndarray  # (n,) bytes (ASCII hex)
    hash: np.ndarray  # (n, hash bytes) uint8
    stats: np.ndarray  # (n, stats bytes) uint8: the head of the quality blob
    has_stats: np.ndarray  # (n,) bool: a quality blob of the expected layout
    errors: dict[int, str] = field(default_factory=dict)  # file -> the cached failure's reason
    gone: list[str] = field(default_factory=list)  # cached paths (any settings) not among the files

def _cache_error(path: Path, exc: sqlite3.Error) -> CacheError:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "malformed" not in text and "not a database" not in text:
        return CacheError(f"the fingerprint cache {path} cannot be used: {text}")
    return CacheError(f"the fingerprint cache {path} is damaged ({text}); delete it to start a fresh cache")


@contextmanager
def _guarded(path: Path) -> Iterator[None]:
    """sqlite errors (a damaged file, a full or read-only disk) become a :class:`CacheError`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise _cache_error(path, exc) from exc


def _wal(db: sqlite3.Connection, wait: float = 30.0) -> None:
    """Switch to WAL; a mode change does not wait on the busy timeout, so while another scan is
    setting up the same cache it is retried (up to ``wait`` seconds)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class FingerprintCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=30)
            _wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            raise _cache_error(path, exc) from exc

    def _migrate(self) -> None:
        # One writer at a time: two scans opening a new (or older) cache at once would both see a
        # column missing and both add it ("duplicate column name").
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self._migrate_locked()
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def _migrate_locked(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is not None and row[0] != str(CACHE_SCHEMA):
            raise CacheError(
                f"the fingerprint cache {self.path} has schema {row[0]}, this version uses {CACHE_SCHEMA}; "
                "delete it to rebuild"
            )
        self.db.execute(
            """CREATE TABLE IF NOT EXISTS files (
                path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, settings TEXT,
                digest TEXT, width INTEGER, height INTEGER, format TEXT, mode TEXT,
                taken TEXT, camera TEXT, hash BLOB, lowinfo INTEGER, gray BLOB, color BLOB,
                error TEXT)"""
        )
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(files)")}
        if "routes" not in columns:  # added by issue 15; older rows read as "no query hashes"
            self.db.execute("ALTER TABLE files ADD COLUMN routes BLOB")
        for column, kind in (("quality", "BLOB"), ("meta", "TEXT")):  # issue 13; older rows are fingerprinted again
            if column not in columns:
                self.db.execute(f"ALTER TABLE files ADD COLUMN {column} {kind}")
        self.db.execute(
            """CREATE TABLE IF NOT EXISTS features (
                path BLOB, size INTEGER, mtime_ns INTEGER, recipe TEXT, data BLOB,
                PRIMARY KEY (path, recipe))"""
        )
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(CACHE_SCHEMA),))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> FingerprintCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, settings_key: str) -> dict[str, tuple[int, int, Fingerprint | Failure]]:
        """Every cached entry for these settings: path -> (size, mtime_ns, fingerprint or failure)."""
        out: dict[str, tuple[int, int, Fingerprint | Failure]] = {}
        with _guarded(self.path):
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM files WHERE settings=?", (settings_key,))
            for row in rows:
                try:
                    path = os.fsdecode(row[0])
                    size, mtime_ns = int(row[1]), int(row[2])
                    out[path] = (size, mtime_ns, _from_row(path, row))
                except (TypeError, ValueError):
                    continue  # a row that does not make sense: that file is simply hashed again
        return out

    def lookup_packed(self, settings_key: str, index: dict[str, int], size: np.ndarray, mtime_ns: np.ndarray,
                      hash_bytes: int, digest_chars: int, quality_layout: tuple[int, int],
                      gone: Callable[[str], bool]) -> Stamps:
        """:meth:`lookup` for millions of files, packed: file ``index[path]`` is cached when its row
        has these settings, its size and mtime and (an image) quality statistics, as the scan's
        look-up decides with :meth:`lookup`; a row that does not make sense is not cached (hashed
        again). ``quality_layout``: (statistics bytes kept, whole blob bytes). ``gone(path)``: whether
        a cached path that is not among the files (whatever its settings) is to be forgotten.
        One pass over the table; no object is kept per row."""
        n = len(size)
        stats_bytes, blob_bytes = quality_layout
        out = Stamps(np.zeros(n, dtype=np.int8), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=f"S{digest_chars}"),
                     np.zeros((n, hash_bytes), dtype=np.uint8), np.zeros((n, stats_bytes), dtype=np.uint8),
                     np.zeros(n, dtype=bool))
        status, rowid, digests, hashes, stats, has_stats = (out.status, out.rowid, out.digest, out.hash, out.stats,
                                                            out.has_stats)
        with _guarded(self.path):
            rows = self.db.execute("SELECT rowid, path, settings, size, mtime_ns, digest, width, height, hash, gray, "
                                   "color, error, quality FROM files")
            for rid, raw, key, rsize, rmtime, digest, width, height, hsh, gray, color, error, qual in rows:
                if not isinstance(raw, bytes | str):
                    continue
                path = os.fsdecode(raw)
                i = index.get(path)
                if i is None:
                    if gone(path):
                        out.gone.append(path)
                    continue
                if key != settings_key:
                    continue
                try:
                    if int(rsize) != size[i] or int(rmtime) != mtime_ns[i]:
                        continue
                    if error is not None:
                        status[i], rowid[i] = FAILURE, rid
                        out.errors[i] = str(error)
                        continue
                    int(width), int(height), bytes(gray), bytes(color)  # as lookup(): a row that makes no sense
                    h = bytes(hsh)
                    d = str(digest).encode("ascii")
                except (TypeError, ValueError):
                    continue
                if not isinstance(qual, bytes) or not qual or len(h) != hash_bytes or len(d) != digest_chars:
                    continue  # no quality statistics (an older version's row): fingerprinted again
                status[i], rowid[i], digests[i] = IMAGE, rid, d
                hashes[i] = np.frombuffer(h, dtype=np.uint8)
                if len(qual) == blob_bytes:
                    stats[i] = np.frombuffer(qual, dtype=np.uint8, count=stats_bytes)
                    has_stats[i] = True
        return out

    def rowids(self, paths: Sequence[str]) -> list[int]:
        """The row of each of ``paths`` (-1: none)."""
        out: list[int] = []
        with _guarded(self.path):
            for start in range(0, len(paths), IN_CHUNK):
                chunk = [os.fsencode(p) for p in paths[start:start + IN_CHUNK]]
                found = {bytes(raw): int(rid) for rid, raw in self.db.execute(
                    f"SELECT rowid, path FROM files WHERE path IN ({','.join('?' * len(chunk))})", chunk)
                    if isinstance(raw, bytes)}
                out.extend(found.get(p, -1) for p in chunk)
        return out

    def _rows(self, columns: str, want: Sequence[Wanted], settings_key: str) -> Iterator[tuple[Any, ...]]:
        """The rows of ``want`` (``columns`` after rowid, path, settings, size, mtime_ns, digest), in that
        order: each by its row id, or by its path when the row moved (another scan of the same session
        stored the same fingerprint again); a row that is not the one looked up (other settings, size,
        mtime or content) is a :class:`CacheError`, never a wrong result."""
        head = "rowid, path, settings, size, mtime_ns, digest"
        with _guarded(self.path):
            for start in range(0, len(want), IN_CHUNK):
                chunk = want[start:start + IN_CHUNK]
                ids = [w[0] for w in chunk]
                found = {int(row[0]): row for row in self.db.execute(
                    f"SELECT {head}, {columns} FROM files WHERE rowid IN ({','.join('?' * len(ids))})", ids)}
                rows: list[tuple[Any, ...] | None] = [found.get(w[0]) for w in chunk]
                moved = [k for k, (w, row) in enumerate(zip(chunk, rows, strict=True))
                         if row is None or not _is(row, w, settings_key)]
                if moved:
                    raws = [os.fsencode(chunk[k][1]) for k in moved]
                    by_path = {bytes(row[1]): row for row in self.db.execute(
                        f"SELECT {head}, {columns} FROM files WHERE path IN ({','.join('?' * len(raws))})", raws)
                        if isinstance(row[1], bytes)}
                    for k, raw in zip(moved, raws, strict=True):
                        row = by_path.get(raw)
                        if row is None or not _is(row, chunk[k], settings_key):
                            raise _changed(self.path)
                        rows[k] = row
                for row in rows:
                    assert row is not None
                    yield row

    def fingerprints_by_rowid(self, want: Sequence[Wanted], settings_key: str) -> list[Fingerprint]:
        """The cached fingerprints of ``want`` (rowid, path, digest, size, mtime_ns), in that order."""
        out: list[Fingerprint] = []
        for row, w in zip(self._rows(_COLUMNS, want, settings_key), want, strict=True):
            try:
                item = _from_row(w[1], row[6:])
            except (TypeError, ValueError):
                raise _changed(self.path) from None
            if not isinstance(item, Fingerprint):
                raise _changed(self.path)
            out.append(item)
        return out

    def routes_by_rowid(self, want: Sequence[Wanted], settings_key: str) -> list[bytes]:
        """The route hashes (``Fingerprint.routes``) of ``want`` (rowid, path, digest, size, mtime_ns), in that order."""
        return [bytes(row[6]) if row[6] is not None else b"" for row in self._rows("routes", want, settings_key)]

    def paths(self) -> Iterator[str]:
        with _guarded(self.path):
            raws = [raw for (raw,) in self.db.execute("SELECT path FROM files")]
        for raw in raws:
            if isinstance(raw, bytes | str):
                yield os.fsdecode(raw)

    def store(self, items: Iterable[Fingerprint | Failure], settings_key: str) -> None:
        rows = [_to_row(item, settings_key) for item in items]
        with _guarded(self.path), self.db:
            self.db.executemany(f"INSERT OR REPLACE INTO files ({_COLUMNS}) VALUES ({','.join('?' * 19)})", rows)

    def lookup_features(self, recipe: str, paths: Iterable[str] | None = None) -> dict[str, tuple[int, int, bytes]]:
        """Cached local features (see imgreview.scan.localfeat): path -> (size, mtime_ns, data);
        of ``paths`` only when given (each looked up by its key, the others never read)."""
        out: dict[str, tuple[int, int, bytes]] = {}
        with _guarded(self.path):
            if paths is None:
                rows: Iterable[Any] = self.db.execute(
                    "SELECT path, size, mtime_ns, data FROM features WHERE recipe=?", (recipe,))
            else:
                rows = (row for p in paths for row in self.db.execute(
                    "SELECT path, size, mtime_ns, data FROM features WHERE path=? AND recipe=?",
                    (os.fsencode(p), recipe)))
            for raw, size, mtime_ns, data in rows:
                if isinstance(raw, bytes | str) and isinstance(data, bytes):
                    out[os.fsdecode(raw)] = (int(size), int(mtime_ns), data)
        return out

    def store_features(self, items: Iterable[tuple[str, int, int, bytes]], recipe: str) -> None:
        rows = [(os.fsencode(p), size, mtime_ns, recipe, data) for p, size, mtime_ns, data in items]
        with _guarded(self.path), self.db:
            self.db.executemany("INSERT OR REPLACE INTO features VALUES (?,?,?,?,?)", rows)

    def forget(self, paths: Iterable[str]) -> int:
        rows = [(os.fsencode(p),) for p in paths]
        with _guarded(self.path), self.db:
            self.db.executemany("DELETE FROM files WHERE path=?", rows)
            self.db.executemany("DELETE FROM features WHERE path=?", rows)
        return len(rows)


def _is(row: tuple[Any, ...], want: Wanted, settings_key: str) -> bool:
    """Whether ``row`` (rowid, path, settings, size, mtime_ns, digest, ...) is the fingerprint ``want`` names."""
    _, raw, key, size, mtime_ns, digest = row[:6]
    return (isinstance(raw, bytes | str) and os.fsdecode(raw) == want[1] and key == settings_key
            and digest == want[2] and size == want[3] and mtime_ns == want[4])


def _changed(path: Path) -> CacheError:
    return CacheError(f"the fingerprint cache {path} changed during the scan (another scan of the same files?); "
                      "run the scan again")


def _to_row(item: Fingerprint | Failure, settings_key: str) -> tuple[object, ...]:
    path = os.fsencode(item.path)
    if isinstance(item, Failure):
        return (path, item.size, item.mtime_ns, settings_key, None, None, None, None, None, None, None,
                None, None, None, None, item.error, None, None, None)
    return (path, item.size, item.mtime_ns, settings_key, item.digest, item.width, item.height, item.format,
            item.mode, item.taken, item.camera, item.hash, int(item.lowinfo), item.gray, item.color, None, item.routes,
            item.quality or None, item.meta)


def _from_row(path: str, row: tuple[Any, ...]) -> Fingerprint | Failure:
    (_, size, mtime_ns, _, digest, width, height, fmt, mode, taken, camera, hsh, lowinfo, gray, color, error,
     routes, qual, meta) = row
    if error is not None:
        return Failure(path, int(size), int(mtime_ns), str(error))
    return Fingerprint(
        path=path,
        size=int(size),
        mtime_ns=int(mtime_ns),
        digest=str(digest),
        width=int(width),
        height=int(height),
        format=str(fmt),
        mode=str(mode),
        taken=taken,
        camera=camera,
        hash=bytes(hsh),
        lowinfo=bool(lowinfo),
        gray=bytes(gray),
        color=bytes(color),
        routes=bytes(routes) if routes is not None else b"",
        quality=bytes(qual) if isinstance(qual, bytes) else b"",
        meta=meta if isinstance(meta, str) else None,
    )
