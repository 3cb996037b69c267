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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imgreview.errors import ImgreviewError
from imgreview.scan.fingerprint import Failure, Fingerprint

CACHE_SCHEMA = 1

_COLUMNS = (
    "path, size, mtime_ns, settings, digest, width, height, format, mode, taken, camera, "
    "hash, lowinfo, gray, color, error, routes, quality, meta"
)


class CacheError(ImgreviewError):
    """The cache cannot be used (damaged, unwritable); the message says why and what to do."""


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
