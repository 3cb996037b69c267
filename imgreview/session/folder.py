"""A session folder: the cache, the latest scan result and the journal of one dataset.

Layout (``.imgreview/`` inside the first root by default)::

    session.json    format version and the roots the session belongs to
    cache.sqlite    fingerprint cache (WAL)
    features.sqlite local features of the files that were in a candidate pair (:mod:`imgreview.scan.localfeat`)
    pairs.sqlite    the candidate pairs, their verdicts and components, for incremental rescans
                    (:mod:`imgreview.scan.incremental`)
    results.sqlite  the latest scan result: groups, members, evidence, flags (:mod:`imgreview.session.store`)
    scan.json       the result as sessions before the database kept it (still read when results.sqlite
                    is absent; a scan replaces it with results.sqlite)
    journal.jsonl   review decisions (see :mod:`imgreview.journal`)
    lock            held while a process writes to the session
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import sqlite3
import stat
from pathlib import Path
from typing import Any

from imgreview.fs import write_atomic
from imgreview.model import ScanResult
from imgreview.session.errors import SessionError as SessionError  # re-exported: its home for callers
from imgreview.session.journal import Journal
from imgreview.session.jsonl import UnsafeFile, open_regular, read_bytes
from imgreview.session.store import (
    STORE_NAME,
    ResultStore,
    ScanGroups,
    StoredGroups,
    StoredScanGroups,
    StoreError,
    write_store,
)

SESSION_VERSION = 1
DEFAULT_NAME = ".imgreview"
ENV_VAR = "IMGREVIEW_SESSION"


_LOCK_TEXT = re.compile(rb"pid [0-9]+( [^\n]{0,200})?")


def _header(store: ResultStore) -> ScanResult:
    return ScanResult(roots=list(store.roots), settings=dict(store.settings), stats=dict(store.stats), groups=[],
                      errors=store.errors(), aliases=store.aliases(), quality=store.quality(), version=store.version)


class SessionLocked(SessionError):
    pass


def default_session_dir(roots: list[str], explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).absolute()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).absolute()
    if not roots:
        raise SessionError("give a folder to scan or --session DIR")
    return Path(roots[0]) / DEFAULT_NAME


class Session:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------ files
    @property
    def cache_path(self) -> Path:
        return self.path / "cache.sqlite"

    @property
    def result_path(self) -> Path:
        """scan.json: the result of a session written before results.sqlite (read when that is absent)."""
        return self.path / "scan.json"

    @property
    def store_path(self) -> Path:
        return self.path / STORE_NAME

    @property
    def journal_path(self) -> Path:
        return self.path / "journal.jsonl"

    def journal(self, read_only: bool = False) -> Journal:
        """The session's decision journal (the one place a session's :class:`Journal` is made)."""
        return Journal(self.journal_path, read_only=read_only)

    @property
    def meta_path(self) -> Path:
        return self.path / "session.json"

    # ------------------------------------------------------------------ safe access
    def check_folder(self) -> bool:
        """Whether the folder exists; refuses a folder that is a symbolic link or not a folder.

        A dataset may ship its own ``.imgreview/`` (a downloaded archive): a planted link must never
        make imgreview write outside the session, so the folder and every file in it are used only
        when they are what they claim to be.
        """
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise SessionError(f"cannot use the session folder {self.path}: {exc.strerror or exc}") from exc
        if stat.S_ISLNK(st.st_mode):
            raise SessionError(
                f"the session folder {self.path} is a symbolic link; imgreview does not follow it (a dataset may "
                "ship a planted one): remove the link, or choose another folder with --session")
        if not stat.S_ISDIR(st.st_mode):
            raise SessionError(f"the session folder {self.path} is not a folder; move it away or choose another "
                               "one with --session")
        return True

    def _read(self, path: Path) -> bytes | None:
        """A session file's bytes (None if absent): never through a link, never blocking on a FIFO."""
        if not self.check_folder():
            return None
        try:
            return read_bytes(path)
        except UnsafeFile as exc:
            raise SessionError(f"{path} {exc.strerror}; a session file must be a regular file: move it away or "
                               "choose another --session") from None
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def is_session(self) -> bool:
        """A real session folder (not a link) with a readable session.json of this format."""
        try:
            return self.read_meta() is not None
        except SessionError:
            return False

    # ------------------------------------------------------------------ lifecycle
    def create(self, roots: list[str]) -> None:
        """Create the folder if needed and check that it is a session of this format."""
        self.check_folder()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SessionError(f"cannot create the session folder {self.path}: {exc.strerror or exc}") from exc
        self.check_folder()
        meta = self.read_meta()
        try:
            if meta is None:
                write_atomic(self.meta_path,
                             json.dumps({"version": SESSION_VERSION, "roots": roots}, indent=1).encode())
            else:
                known = list(meta.get("roots", []))
                merged = known + [r for r in roots if r not in known]
                if merged != known:
                    write_atomic(self.meta_path, json.dumps({**meta, "roots": merged}, indent=1).encode())
        except OSError as exc:
            raise SessionError(f"cannot write {self.meta_path}: {exc.strerror or exc}") from exc

    def exists(self) -> bool:
        return (os.path.lexists(self.meta_path) or os.path.lexists(self.store_path)
                or os.path.lexists(self.result_path))

    def has_result(self) -> bool:
        """Whether a scan result is stored (in results.sqlite, or an older session's scan.json)."""
        return os.path.lexists(self.store_path) or os.path.lexists(self.result_path)

    def read_meta(self) -> dict[str, Any] | None:
        raw = self._read(self.meta_path)
        if raw is None:
            return None
        try:
            meta = json.loads(raw)
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting
            meta = None
        roots = meta.get("roots", []) if isinstance(meta, dict) else None
        if (not isinstance(meta, dict) or not isinstance(meta.get("version"), int) or meta["version"] < 1
                or not isinstance(roots, list) or not all(isinstance(r, str) for r in roots)):
            raise SessionError(
                f"{self.meta_path} is not an imgreview session file; move the folder {self.path} away "
                "or choose another one with --session"
            )
        if meta["version"] > SESSION_VERSION:
            raise SessionError(
                f"the session {self.path} was written by a newer imgreview (format {meta['version']}); "
                "upgrade imgreview or use another --session"
            )
        return meta

    def roots(self) -> list[str]:
        meta = self.read_meta() or {}
        return list(meta.get("roots", []))

    def open_store(self) -> ResultStore | None:
        """The stored result, read a page at a time (None for a session that has only scan.json).

        Raises :class:`SessionError` when there is no scan yet or the database cannot be read.
        """
        self.read_meta()  # a session from a newer imgreview, or not a session at all: refuse
        if not self.check_folder() or not os.path.lexists(self.store_path):
            if os.path.lexists(self.result_path):
                return None
            raise SessionError(f"no scan in {self.path} yet: run `imgreview scan ROOT` first")
        try:
            return ResultStore(self.store_path)
        except StoreError as exc:
            raise SessionError(str(exc)) from None

    def load_header(self) -> ScanResult:
        """The result without its groups (roots, settings, stats, errors, aliases, quality): cheap at any
        size. A session that has only scan.json gives the whole result."""
        store = self.open_store()
        if store is None:
            return self.load_result()
        with store:
            try:
                return _header(store)
            except StoreError as exc:
                raise SessionError(str(exc)) from None

    def load_groups(self) -> tuple[ScanResult, StoredGroups | None]:
        """The result for a reader of a few groups at a time: its header (roots, settings, stats, errors,
        aliases, quality) with no groups, and the groups in review order as a :class:`StoredGroups`.

        A session that has only scan.json gives the whole result and None.
        """
        store = self.open_store()
        if store is None:
            return self.load_result(), None
        try:
            return _header(store), StoredGroups(store)
        except StoreError as exc:
            store.close()
            raise SessionError(str(exc)) from None

    def open_scan(self) -> tuple[ScanResult, ScanGroups]:
        """The result for a command that reads only the groups it needs (export, check, resolve, apply):
        its header (roots, settings, stats, errors, aliases, quality) with no groups, and its groups in
        the scan's order, read from the session's database when asked for (close it when done).

        A session that has only scan.json gives its groups from memory.
        """
        store = self.open_store()
        if store is None:
            result = self.load_result()
            groups, result.groups = result.groups, []
            return result, ScanGroups(groups)
        try:
            return _header(store), StoredScanGroups(store)
        except StoreError as exc:
            store.close()
            raise SessionError(str(exc)) from None

    def load_result(self) -> ScanResult:
        """The whole latest result (every group) in memory."""
        store = self.open_store()
        if store is not None:
            with store:
                try:
                    return store.to_result()
                except StoreError as exc:
                    raise SessionError(str(exc)) from None
        raw = self._read(self.result_path)
        if raw is None:
            raise SessionError(f"no scan in {self.path} yet: run `imgreview scan ROOT` first")
        try:
            return ScanResult.from_bytes(raw, str(self.result_path))
        except ValueError as exc:
            raise SessionError(f"{exc}; rescan with `imgreview scan ROOT --session {self.path}`") from exc

    def read_stats(self) -> dict[str, Any] | None:
        """The stored result's stats alone (None without a readable result): cheap at any size."""
        try:
            store = self.open_store()
        except SessionError:
            return None
        if store is None:
            try:
                return self.load_result().stats
            except SessionError:
                return None
        with store:
            return dict(store.stats)

    def save_result(self, result: ScanResult, groups_from: ResultStore | None = None) -> None:
        """Store ``result`` in results.sqlite (one transaction, renamed into place); an older session's
        scan.json is removed once the database holds the result. ``groups_from``: copy the groups of
        that stored result instead of ``result.groups`` (an unchanged rescan; see :func:`write_store`)."""
        self.check_folder()
        try:
            write_store(self.store_path, result, groups_from)
        except (OSError, sqlite3.Error) as exc:  # disk full, read-only: the previous result stays as it was
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise SessionError(f"cannot write {self.store_path}: {why}") from exc
        try:
            st = os.lstat(self.result_path)
        except OSError:
            return
        if not stat.S_ISDIR(st.st_mode):
            try:
                os.unlink(self.result_path)  # never followed: a link is removed, not its target
            except OSError:
                pass

    # ------------------------------------------------------------------ lock
    def lock(self, purpose: str = "") -> None:
        """Take the session's write lock or raise :class:`SessionLocked`."""
        if self._lock_fd is not None:
            return
        self.check_folder()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.check_folder()
            fd = open_regular(self.path / "lock", os.O_RDWR | os.O_CREAT)
        except UnsafeFile as exc:
            raise SessionError(f"the lock file {self.path / 'lock'} {exc.strerror}; it was not touched: move it "
                               "away or choose another --session") from None
        except OSError as exc:
            raise SessionError(f"cannot lock the session {self.path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            try:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            except OSError:
                pass
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise SessionLocked(
                    f"the session {self.path} is in use by another imgreview ({holder or 'unknown process'})"
                ) from None
            raise SessionError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        try:
            content = os.pread(fd, 4096, 0)
        except OSError:
            content = b""
        if content.strip() and not _LOCK_TEXT.fullmatch(content.strip()):
            os.close(fd)  # never truncate a file that is not our lock
            raise SessionError(f"{self.path / 'lock'} is not an imgreview lock file; it was not touched: move it "
                               "away or choose another --session")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} {purpose}".strip().encode(), 0)
        self._lock_fd = fd

    @property
    def locked(self) -> bool:
        """Whether this object holds the session's write lock."""
        return self._lock_fd is not None

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()
