"""Two scans opening one fingerprint cache at the same instant (a new one, or one of an older schema)."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

OLD_FILES = ("CREATE TABLE files (path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, settings TEXT, "
             "digest TEXT, width INTEGER, height INTEGER, format TEXT, mode TEXT, taken TEXT, camera TEXT, "
             "hash BLOB, lowinfo INTEGER, gray BLOB, color BLOB, error TEXT)")


def _open(path: str, barrier: object) -> None:
    from imgreview.scan.cache import FingerprintCache

    barrier.wait()  # type: ignore[attr-defined]
    FingerprintCache(Path(path)).close()


def test_two_processes_set_up_one_cache_at_once(tmp_path: Path) -> None:
    """Both must open it: before, both saw a column missing and one failed with "duplicate column
    name", or the switch to WAL failed with "database is locked" (10 of 80 openings failed)."""
    ctx = mp.get_context("fork")
    failures = 0
    for k in range(12):
        path = tmp_path / f"c{k}.sqlite"
        if k % 2:  # a cache written by an older version: the columns added since are missing
            db = sqlite3.connect(path)
            db.execute(OLD_FILES)
            db.commit()
            db.close()
        barrier = ctx.Barrier(2)
        procs = [ctx.Process(target=_open, args=(str(path), barrier)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        failures += sum(p.exitcode != 0 for p in procs)
    assert failures == 0
