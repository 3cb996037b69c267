"""Subprocess helpers for the crash tests."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

PAUSE_MARKER = b"imgreview-test: paused"


def kill_when_paused(cmd: list[str], env: dict[str, str], timeout: float = 120) -> int:
    """Run ``cmd``, SIGKILL it once it prints the test pause marker on stderr; return its exit code."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        seen = b""
        while PAUSE_MARKER not in seen:
            assert proc.poll() is None, seen
            assert time.monotonic() < deadline, "the process never reached the pause"
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                seen += os.read(proc.stderr.fileno(), 4096)  # type: ignore[union-attr]
        proc.send_signal(signal.SIGKILL)
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]


def wait_for(predicate, timeout: float = 120.0, what: str = "condition", poll: float = 0.02) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it is true; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def cached_rows(path: Path) -> int:
    """Rows committed to a fingerprint cache, read through a separate connection (0 while there is none)."""
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT count(*) FROM files").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0
