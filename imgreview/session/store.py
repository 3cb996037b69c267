"""The scan result in the session's SQLite database (``results.sqlite``): groups, members, evidence, flags.

A scan writes its whole result in one transaction into a new database beside the old one, fsyncs
it and renames it over ``results.sqlite``: a reader sees the previous result or the new one, never
half of one, and a reader that has the old one open keeps reading it (its own snapshot) until it
closes. A disk-full or interrupted write leaves the previous result as it was.

Readers take what they need: the number of groups, one byte of flags per group (kind, label
conflict, split leak) in review order, a page of groups with their members, the groups that hold
some paths, the groups whose paths contain a text. :class:`StoredGroups` is a read-only
``Sequence[Group]`` over the database with a bounded cache of pages, so the review opens a session
of 300,000 groups without building them. ``scan.json`` and ``scan --json`` are an export of the
same data (:meth:`ResultStore.to_result`), schema unchanged.

Tables (``format`` 1)::

    meta(key, value)          format, roots, settings, stats (JSON)
    groups(pos, id, kind, max_distance, reference, label_conflict, split_leak, members, review)
    members(grp, pos, path, digest, distance, size, width, height, format, mode, mtime, taken,
            camera, root, exact, aliases, label, split, meta)        index on path
    evidence(grp, pos, signal, summary, detail)   detail: the whole evidence (JSON)
    errors(path, error)   aliases(pos, paths)   quality(path, issues, scores)

``pos`` of a group is its place in the scan's order; ``review`` its place in review order (label
conflicts and split leaks first, then the scan order). Strings that may be file names (paths,
roots, labels, splits) are stored as the bytes ``os.fsencode`` gives, so names that are not UTF-8
round-trip. Every value read back is type-checked where it is read: a tampered or torn database is
refused with :class:`StoreError` (a :class:`~imgreview.session.folder.SessionError`), never a
traceback.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import stat
import tempfile
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, overload

from imgreview.fs import fsync_dir
from imgreview.model import FileError, Group, Member, ScanResult
from imgreview.session.errors import SessionError

STORE_FORMAT = 1
STORE_NAME = "results.sqlite"
PAGE = 64  # groups read per query
PAGES_CACHED = 64  # pages kept by StoredGroups (4,096 groups)

# one byte per group, in review order
FLAG_EXACT = 1
FLAG_CONFLICT = 2
FLAG_LEAK = 4

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE groups(pos INTEGER PRIMARY KEY, id TEXT NOT NULL, kind TEXT NOT NULL, max_distance INTEGER NOT NULL,
    reference BLOB NOT NULL, label_conflict INTEGER NOT NULL, split_leak INTEGER NOT NULL,
    members INTEGER NOT NULL, review INTEGER NOT NULL);
CREATE TABLE members(grp INTEGER NOT NULL, pos INTEGER NOT NULL, path BLOB NOT NULL, digest TEXT NOT NULL,
    distance INTEGER NOT NULL, size INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    format TEXT NOT NULL, mode TEXT NOT NULL, mtime REAL NOT NULL, taken TEXT, camera TEXT, root BLOB NOT NULL,
    exact INTEGER NOT NULL, aliases TEXT, label BLOB, split BLOB, meta TEXT, PRIMARY KEY(grp, pos)) WITHOUT ROWID;
CREATE TABLE evidence(grp INTEGER NOT NULL, pos INTEGER NOT NULL, signal TEXT, summary TEXT, detail TEXT NOT NULL,
    PRIMARY KEY(grp, pos)) WITHOUT ROWID;
CREATE TABLE errors(path BLOB NOT NULL, error TEXT NOT NULL);
CREATE TABLE aliases(pos INTEGER PRIMARY KEY, paths TEXT NOT NULL);
CREATE TABLE quality(path BLOB NOT NULL, issues TEXT NOT NULL, scores TEXT NOT NULL);
"""
_INDEXES = """
CREATE UNIQUE INDEX groups_review ON groups(review);
CREATE INDEX members_path ON members(path);
"""


class StoreError(SessionError):
    """The stored result cannot be read (damaged, tampered, of a newer format); the message says what to do."""


def _enc(text: str) -> bytes:
    return os.fsencode(text)


def _dec(raw: object, where: str) -> str:
    if isinstance(raw, bytes):
        return os.fsdecode(raw)
    if isinstance(raw, str):  # written by hand as text: accepted as it is
        return raw
    raise _bad(where, "expected a path", raw)


def _bad(where: str, problem: str, value: object) -> StoreError:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return StoreError(f"{where}: {problem}, got {shown}")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _load_json(raw: object, where: str) -> Any:
    if not isinstance(raw, str):
        raise _bad(where, "expected JSON text", raw)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StoreError(f"{where}: not valid JSON ({exc})") from None


def _int(raw: object, where: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise _bad(where, "expected an integer", raw)


def _str(raw: object, where: str) -> str:
    if isinstance(raw, str):
        return raw
    raise _bad(where, "expected text", raw)


def _opt_str(raw: object, where: str) -> str | None:
    return None if raw is None else _str(raw, where)


def _opt_path(raw: object, where: str) -> str | None:
    return None if raw is None else _dec(raw, where)


def _bool(raw: object, where: str) -> bool:
    if raw in (0, 1) and not isinstance(raw, float):
        return bool(raw)
    raise _bad(where, "expected 0 or 1", raw)


def _float(raw: object, where: str) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        return float(raw)
    raise _bad(where, "expected a finite number", raw)


def _opt_dict(raw: object, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = _load_json(raw, where)
    if not isinstance(value, dict):
        raise _bad(where, "expected a JSON object", value)
    return value


def _str_list(raw: object, where: str) -> list[str]:
    if raw is None:
        return []
    value = _load_json(raw, where)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(where, "expected a list of paths", value)
    return value


_MEMBER_COLUMNS = ("m.grp, m.pos, m.path, m.digest, m.distance, m.size, m.width, m.height, m.format, m.mode, "
                   "m.mtime, m.taken, m.camera, m.root, m.exact, m.aliases, m.label, m.split, m.meta, "
                   "e.signal, e.summary, e.detail")
_GROUP_COLUMNS = "pos, id, kind, max_distance, reference, label_conflict, split_leak, members, review"


def _member(row: Sequence[object]) -> Member:
    """A member from its row; the common shape is checked in one expression, anything else field by field."""
    int_, str_, bytes_, none = int, str, bytes, type(None)
    t = [type(v) for v in row]
    if (t[2] is bytes_ and t[3] is str_ and t[4] is int_ and t[5] is int_ and t[6] is int_ and t[7] is int_
            and t[8] is str_ and t[9] is str_ and t[10] is float and math.isfinite(row[10])  # type: ignore[arg-type]
            and t[11] in (str_, none) and t[12] in (str_, none) and t[13] is bytes_ and row[14] in (0, 1)
            and t[14] is int_ and t[15] is none and t[16] in (bytes_, none) and t[17] in (bytes_, none)
            and t[18] is none and t[21] in (str_, none)):
        evidence = None
        if row[21] is not None:
            evidence = _fast_dict(row[21])
            if evidence is None:
                return _member_checked(row)
        return Member(path=os.fsdecode(row[2]), digest=row[3], distance=row[4], size=row[5],  # type: ignore[arg-type]
                      width=row[6], height=row[7], format=row[8], mode=row[9], mtime=row[10],  # type: ignore[arg-type]
                      taken=row[11], camera=row[12], root=os.fsdecode(row[13]),  # type: ignore[arg-type]
                      exact=bool(row[14]), label=None if row[16] is None else os.fsdecode(row[16]),  # type: ignore[arg-type]
                      split=None if row[17] is None else os.fsdecode(row[17]), evidence=evidence)  # type: ignore[arg-type]
    return _member_checked(row)


def _fast_dict(raw: object) -> dict[str, Any] | None:
    """A JSON object from text, or None for anything else (the caller then says what is wrong)."""
    try:
        value = json.loads(raw)  # type: ignore[arg-type]
    except (ValueError, TypeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _member_checked(row: Sequence[object]) -> Member:
    where = f"group {row[0]!r} member {row[1]!r}"
    return Member(
        path=_dec(row[2], where + " path"), digest=_str(row[3], where + " digest"),
        distance=_int(row[4], where + " distance"), size=_int(row[5], where + " size"),
        width=_int(row[6], where + " width"), height=_int(row[7], where + " height"),
        format=_str(row[8], where + " format"), mode=_str(row[9], where + " mode"),
        mtime=_float(row[10], where + " mtime"), taken=_opt_str(row[11], where + " taken"),
        camera=_opt_str(row[12], where + " camera"), root=_dec(row[13], where + " root"),
        exact=_bool(row[14], where + " exact"), aliases=_str_list(row[15], where + " aliases"),
        label=_opt_path(row[16], where + " label"), split=_opt_path(row[17], where + " split"),
        meta=_opt_dict(row[18], where + " meta"), evidence=_opt_dict(row[21], where + " evidence"),
    )


def _group(row: Sequence[object], members: list[Member]) -> Group:
    where = f"group {row[0]!r}"
    count = _int(row[7], where + " members")
    if count != len(members) or not members:
        raise StoreError(f"{where}: {len(members)} members stored, {count} expected (the database is incomplete)")
    return Group(id=_str(row[1], where + " id"), kind=_str(row[2], where + " kind"),
                 max_distance=_int(row[3], where + " max_distance"), reference=_dec(row[4], where + " reference"),
                 members=members, label_conflict=_bool(row[5], where + " label_conflict"),
                 split_leak=_bool(row[6], where + " split_leak"))


class PathIndex:
    """Path -> positions of the groups holding it, for groups held in memory (built on first use)."""

    def __init__(self, groups: Sequence[Group]) -> None:
        self._groups = groups
        self._where: dict[str, list[int]] | None = None

    def positions(self, paths: Iterable[str]) -> list[int]:
        """Sorted positions, each once, of the groups holding any of ``paths``."""
        paths = list(paths)
        if not paths:
            return []  # without building the index
        if self._where is None:
            self._where = {}
            for gi, g in enumerate(self._groups):
                for m in g.members:
                    self._where.setdefault(m.path, []).append(gi)
        out: set[int] = set()
        for p in paths:
            out.update(self._where.get(p, ()))
        return sorted(out)


def review_order(groups: Sequence[Group]) -> list[int]:
    """Scan positions in review order: label conflicts and split leaks first, then the scan order."""
    return sorted(range(len(groups)), key=lambda i: 0 if (groups[i].label_conflict or groups[i].split_leak) else 1)


# ---------------------------------------------------------------------- writing
def write_store(path: Path, result: ScanResult, groups_from: ResultStore | None = None) -> None:
    """Write ``result`` as a new database and rename it over ``path`` (one transaction, fsynced).

    With ``groups_from`` the groups, members and evidence (and their flags) are copied from that stored
    result inside SQLite, never built in memory, and ``result.groups`` is ignored (an unchanged rescan).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=OFF")  # a new file nobody reads until the rename
            db.execute("PRAGMA synchronous=OFF")  # fsynced once below
            if groups_from is not None:  # read in the same transaction as the rest is written
                db.execute("ATTACH DATABASE ? AS prev", (os.fspath(groups_from.path),))
            db.execute("BEGIN")
            for statement in (_SCHEMA + _INDEXES).split(";"):
                if statement.strip():
                    db.execute(statement)
            if groups_from is None:
                _fill(db, result)
            else:
                _fill(db, result, flags=groups_from.flags())
                for table in ("groups", "members", "evidence"):
                    db.execute(f"INSERT INTO main.{table} SELECT * FROM prev.{table}")
            db.execute("COMMIT")
        finally:
            db.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fill(db: sqlite3.Connection, result: ScanResult, flags: bytes | None = None) -> None:
    order = review_order(result.groups)
    meta = {"format": STORE_FORMAT, "version": result.version, "roots": result.roots,
            "settings": result.settings, "stats": result.stats,
            "flags": (bytes(group_flags(result.groups[gpos]) for gpos in order) if flags is None else flags).hex()}
    db.executemany("INSERT INTO meta VALUES (?, ?)", ((k, _json(v)) for k, v in meta.items()))
    review = {gpos: r for r, gpos in enumerate(order)}
    db.executemany(
        "INSERT INTO groups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((i, g.id, g.kind, g.max_distance, _enc(g.reference), int(g.label_conflict), int(g.split_leak),
          len(g.members), review[i]) for i, g in enumerate(result.groups)))
    db.executemany(
        "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((i, k, _enc(m.path), m.digest, m.distance, m.size, m.width, m.height, m.format, m.mode, m.mtime, m.taken,
          m.camera, _enc(m.root), int(m.exact), _json(m.aliases) if m.aliases else None,
          None if m.label is None else _enc(m.label), None if m.split is None else _enc(m.split),
          None if m.meta is None else _json(m.meta))
         for i, g in enumerate(result.groups) for k, m in enumerate(g.members)))
    db.executemany(
        "INSERT INTO evidence VALUES (?, ?, ?, ?, ?)",
        ((i, k, m.evidence.get("signal"), m.evidence.get("summary"),
          _json(m.evidence))
         for i, g in enumerate(result.groups) for k, m in enumerate(g.members) if m.evidence is not None))
    db.executemany("INSERT INTO errors VALUES (?, ?)", ((_enc(e.path), e.error) for e in result.errors))
    db.executemany("INSERT INTO aliases VALUES (?, ?)", enumerate(_json(a) for a in result.aliases))
    db.executemany("INSERT INTO quality VALUES (?, ?, ?)",
                   ((_enc(str(q.get("path", ""))), _json(q.get("issues", [])), _json(q.get("scores", {})))
                    for q in result.quality))


# ---------------------------------------------------------------------- reading
def _check_size(path: Path, size: int) -> None:
    """Refuse a file cut short or grown: its size must be what the SQLite header says it is."""
    damaged = StoreError(f"{path} is damaged (cut short, or not an imgreview result database): rescan with "
                         f"`imgreview scan ROOT --session {path.parent}`")
    try:
        with open(path, "rb") as fh:  # a regular file (checked before): never blocks
            header = fh.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
        raise damaged
    page = int.from_bytes(header[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] != header[92:96] or pages == 0 or page * pages != size:
        raise damaged


class ResultStore:
    """A read-only view of one stored result (the file as it was when opened)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            what = "is a symbolic link" if stat.S_ISLNK(st.st_mode) else "is not a regular file"
            raise StoreError(f"{self.path} {what}; a session file must be a regular file: move it away or "
                             "choose another --session")
        _check_size(self.path, st.st_size)
        try:
            self._db = sqlite3.connect(f"file:{self._uri_path()}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("BEGIN")  # one read snapshot for the reader's whole life
            rows = self._db.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.Error as exc:
            self._close_quietly()
            raise self._damaged(exc) from None
        meta = {str(k): v for k, v in rows}
        fmt = _load_json(meta.get("format"), f"{self.path} format") if "format" in meta else None
        if not isinstance(fmt, int) or isinstance(fmt, bool):
            self._close_quietly()
            raise StoreError(f"{self.path} is not an imgreview result database; rescan with "
                             f"`imgreview scan ROOT --session {self.path.parent}`")
        if fmt > STORE_FORMAT:
            self._close_quietly()
            raise StoreError(f"the result in {self.path} was written by a newer imgreview (format {fmt}); "
                             "upgrade imgreview or rescan with this one")
        try:
            self.version = _int(_load_json(meta.get("version"), "version"), "version")
            roots = _load_json(meta.get("roots"), "roots")
            if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
                raise _bad("roots", "expected a list of paths", roots)
            self.roots: list[str] = roots
            self.settings: dict[str, Any] = _opt_dict(meta.get("settings"), "settings") or {}
            self.stats: dict[str, Any] = _opt_dict(meta.get("stats"), "stats") or {}
        except StoreError as exc:
            self._close_quietly()
            raise self._tampered(exc) from None
        self._count: int | None = None

    def _uri_path(self) -> str:
        from urllib.parse import quote

        return quote(os.fsdecode(os.path.abspath(self.path)), safe="/", errors="surrogateescape")

    def _close_quietly(self) -> None:
        try:
            self._db.close()
        except (AttributeError, sqlite3.Error):
            pass

    def close(self) -> None:
        self._close_quietly()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _damaged(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"{self.path} cannot be read ({exc}); it is damaged or not an imgreview result: "
                          f"rescan with `imgreview scan ROOT --session {self.path.parent}`")

    def _tampered(self, exc: StoreError) -> StoreError:
        return StoreError(f"{self.path} is not a valid scan result: {exc}; rescan with "
                          f"`imgreview scan ROOT --session {self.path.parent}`")

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._damaged(exc) from None

    # ------------------------------------------------------------------ small reads
    def group_count(self) -> int:
        if self._count is None:
            self._count = _int(self._query("SELECT count(*) FROM groups")[0][0], "groups")
        return self._count

    def member_count(self) -> int:
        return _int(self._query("SELECT count(*) FROM members")[0][0], "members")

    def flags(self) -> bytes:
        """One byte per group in review order: :data:`FLAG_EXACT`, :data:`FLAG_CONFLICT`, :data:`FLAG_LEAK`
        (kept in the meta table as one value: no group is read)."""
        raw = self._query("SELECT value FROM meta WHERE key = 'flags'")
        try:
            text = _load_json(raw[0][0], "flags") if raw else None
            flags = bytes.fromhex(text) if isinstance(text, str) else None
        except ValueError:
            flags = None
        if flags is None or len(flags) != self.group_count():
            raise self._tampered(StoreError("flags: missing or not one per group"))
        return flags

    def flags_of_groups(self) -> bytes:
        """The flags computed from the groups table (what :meth:`flags` must equal)."""
        rows = self._query("SELECT (kind = 'exact') + 2 * (label_conflict != 0) + 4 * (split_leak != 0), review "
                           "FROM groups ORDER BY review")
        out = bytes(_int(f, "flags") & 0xFF for f, _ in rows)
        if [r for _, r in rows] != list(range(len(rows))):
            raise self._tampered(StoreError("groups: the review order has gaps"))
        return out

    def errors(self) -> list[FileError]:
        try:
            return [FileError(_dec(p, "errors path"), _str(e, "errors error"))
                    for p, e in self._query("SELECT path, error FROM errors ORDER BY rowid")]
        except StoreError as exc:
            raise self._tampered(exc) from None

    def aliases(self) -> list[list[str]]:
        try:
            return [_str_list(a, "aliases") for (a,) in self._query("SELECT paths FROM aliases ORDER BY pos")]
        except StoreError as exc:
            raise self._tampered(exc) from None

    def quality(self) -> list[dict[str, Any]]:
        out = []
        try:
            for p, issues, scores in self._query("SELECT path, issues, scores FROM quality ORDER BY rowid"):
                out.append({"path": _dec(p, "quality path"), "issues": _load_json(issues, "quality issues"),
                            "scores": _load_json(scores, "quality scores")})
        except StoreError as exc:
            raise self._tampered(exc) from None
        return out

    # ------------------------------------------------------------------ groups
    def _groups_where(self, where: str, args: Sequence[object], order: str,
                      evidence: bool = True) -> list[tuple[int, Group]]:
        """(position, group) for the groups matching ``where`` (on table g), members and evidence joined
        (``evidence`` False: the members' evidence is left out, None)."""
        heads = self._query(f"SELECT {_GROUP_COLUMNS} FROM groups g WHERE {where} ORDER BY {order}", args)
        if not heads:
            return []
        members: dict[int, list[Member]] = {}
        joined = ("LEFT JOIN evidence e ON e.grp = m.grp AND e.pos = m.pos" if evidence else
                  "LEFT JOIN (SELECT NULL AS signal, NULL AS summary, NULL AS detail) e ON 0")
        rows = self._query(
            f"SELECT {_MEMBER_COLUMNS} FROM members m {joined} "
            f"WHERE m.grp IN (SELECT pos FROM groups g WHERE {where}) ORDER BY m.grp, m.pos", args)
        try:
            for row in rows:
                members.setdefault(row[0], []).append(_member(row))
            return [(_int(h[8] if order.startswith("review") else h[0], "position"), _group(h, members.get(h[0], [])))
                    for h in heads]
        except StoreError as exc:
            raise self._tampered(exc) from None

    def page(self, start: int, stop: int) -> list[Group]:
        """Groups ``start`` to ``stop`` (excluded) in review order."""
        return [g for _, g in self._groups_where("g.review >= ? AND g.review < ?", (start, stop), "review")]

    def iter_groups(self, batch: int = 1024, evidence: bool = True) -> Iterator[Group]:
        """Every group in the scan's order, ``batch`` at a time (memory: one batch); ``evidence`` False:
        without the members' evidence (lists that do not show it)."""
        n = self.group_count()
        for start in range(0, n, batch):
            got = self._groups_where("g.pos >= ? AND g.pos < ?", (start, start + batch), "pos", evidence)
            if len(got) != min(batch, n - start):
                raise self._tampered(StoreError("groups: positions have gaps"))
            yield from (g for _, g in got)

    def review_positions_of(self, paths: Iterable[str]) -> list[int]:
        """Review positions of the groups holding any of ``paths`` (sorted, each once)."""
        return self._positions_of(paths, "g.review")

    def scan_positions_of(self, paths: Iterable[str]) -> list[int]:
        """Scan positions of the groups holding any of ``paths`` (sorted, each once)."""
        return self._positions_of(paths, "g.pos")

    def groups_at(self, positions: Sequence[int], batch: int = 500) -> Iterator[Group]:
        """The groups at scan ``positions`` (sorted), in that order, ``batch`` at a time."""
        for k in range(0, len(positions), batch):
            chunk = list(positions[k:k + batch])
            marks = ",".join("?" * len(chunk))
            got = self._groups_where(f"g.pos IN ({marks})", chunk, "pos")
            if [p for p, _ in got] != chunk:
                raise self._tampered(StoreError("groups: positions asked for are missing"))
            yield from (g for _, g in got)

    def copy_positions(self) -> list[int]:
        """Scan positions of the groups with two or more members of one content digest (sorted)."""
        return [_int(p, "position") for (p,) in self._query(
            "SELECT DISTINCT grp FROM (SELECT grp FROM members GROUP BY grp, digest HAVING count(*) > 1) ORDER BY grp")]

    def mixed_positions(self) -> list[int]:
        """Scan positions of the groups whose members carry two or more labels or two or more splits
        (sorted): the label conflicts and split leaks, from the members themselves."""
        return [_int(p, "position") for (p,) in self._query(
            "SELECT grp FROM members GROUP BY grp HAVING count(DISTINCT label) > 1 OR count(DISTINCT split) > 1 "
            "ORDER BY grp")]

    def kind_counts(self) -> dict[str, int]:
        """Groups of two or more members per kind (``exact``, ``near``)."""
        return {_str(k, "kind"): _int(n, "count")
                for k, n in self._query("SELECT kind, count(*) FROM groups WHERE members >= 2 GROUP BY kind")}

    def _positions_of(self, paths: Iterable[str], column: str) -> list[int]:
        out: set[int] = set()
        chunk: list[bytes] = []

        def flush() -> None:
            marks = ",".join("?" * len(chunk))
            out.update(_int(r, "position") for (r,) in self._query(
                f"SELECT DISTINCT {column} FROM members m JOIN groups g ON g.pos = m.grp WHERE m.path IN ({marks})",
                chunk))
            chunk.clear()

        for p in paths:
            chunk.append(_enc(p))
            if len(chunk) >= 500:
                flush()
        if chunk:
            flush()
        return sorted(out)

    def briefs(self, positions: Sequence[int]) -> dict[int, list[Brief]]:
        """Path, digest and size of the members of the groups at review ``positions`` (no group built)."""
        out: dict[int, list[Brief]] = {}
        for k in range(0, len(positions), 500):
            chunk = list(positions[k:k + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT g.review, m.path, m.digest, m.size, g.members FROM groups g "
                               f"JOIN members m ON m.grp = g.pos WHERE g.review IN ({marks}) ORDER BY g.review, m.pos",
                               chunk)
            try:
                for review, path, digest, size, count in rows:
                    out.setdefault(_int(review, "review"), []).append(
                        Brief(_dec(path, "member path"), _str(digest, "member digest"), _int(size, "member size")))
                    _int(count, "members")
            except StoreError as exc:
                raise self._tampered(exc) from None
        for gi in positions:
            if gi not in out:
                raise self._tampered(StoreError(f"group at review position {gi}: no members"))
        return out

    def review_positions_matching(self, text: str) -> list[int]:
        """Review positions of the groups with a member whose path contains ``text`` (case-insensitive)."""
        needle = text.lower()
        if needle.isascii():  # SQLite's LIKE folds ASCII case, like str.lower() does for ASCII
            pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self._query("SELECT DISTINCT g.review FROM members m JOIN groups g ON g.pos = m.grp "
                               "WHERE CAST(m.path AS TEXT) LIKE ? ESCAPE '\\'", (pattern,))
            return sorted(_int(r, "review") for (r,) in rows)
        rows = self._query("SELECT g.review, m.path FROM members m JOIN groups g ON g.pos = m.grp")
        return sorted({_int(r, "review") for r, p in rows if needle in _dec(p, "path").lower()})

    def check_whole(self) -> None:
        """Refuse a stored result whose groups are not whole (the checks of :meth:`to_result` that need no
        group built): flags of every group in review order, positions without gaps, members all counted."""
        if self.flags_of_groups() != self.flags():
            raise self._tampered(StoreError("flags: they do not match the groups"))
        (count, top, members), = self._query("SELECT count(*), max(pos), sum(members) FROM groups")
        if count and (top != count - 1 or members != self.member_count()):
            raise self._tampered(StoreError("groups: positions have gaps or members belong to no group"))
        (orphans,) = self._query("SELECT count(*) FROM members WHERE grp NOT IN (SELECT pos FROM groups)")[0]
        if orphans:
            raise self._tampered(StoreError("members: some belong to no group"))

    def to_result(self) -> ScanResult:
        """The whole result in memory (what ``scan.json`` holds)."""
        if self.flags_of_groups() != self.flags():  # the review order is whole too
            raise self._tampered(StoreError("flags: they do not match the groups"))
        groups = list(self.iter_groups())
        if sum(len(g.members) for g in groups) != self.member_count():
            raise self._tampered(StoreError("members: some belong to no group"))
        return ScanResult(roots=list(self.roots), settings=dict(self.settings), stats=dict(self.stats),
                          groups=groups, errors=self.errors(), aliases=self.aliases(),
                          quality=self.quality(), version=self.version)


class Brief(NamedTuple):
    """What a group's decision status needs of a member."""

    path: str
    digest: str
    size: int


class GroupPages(Sequence[Group]):
    """Groups in review order, with what a reader asks of all of them without building them: one byte of
    flags per group, the groups holding some paths, the groups whose paths contain a text, the path,
    digest and size of some groups' members."""

    flags: bytes

    def briefs(self, positions: Sequence[int]) -> dict[int, list[Brief]]:
        """Path, digest and size of the members of the groups at ``positions``."""
        return {gi: [Brief(m.path, m.digest, m.size) for m in self[gi].members] for gi in positions}

    @abstractmethod
    def positions_of(self, paths: Iterable[str]) -> list[int]:
        """Positions of the groups holding any of ``paths`` (sorted, each once)."""

    @abstractmethod
    def positions_matching(self, text: str) -> list[int]:
        """Positions of the groups with a member whose path contains ``text`` (case-insensitive)."""


def group_flags(g: Group) -> int:
    return ((FLAG_EXACT if g.kind == "exact" else 0) | (FLAG_CONFLICT if g.label_conflict else 0)
            | (FLAG_LEAK if g.split_leak else 0))


class MemoryGroups(GroupPages):
    """Groups held in memory (a result read from an older session's scan.json, or made by a test)."""

    def __init__(self, groups: list[Group]) -> None:
        self._groups = groups
        self.flags = bytes(group_flags(g) for g in groups)
        self._where = PathIndex(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    @overload
    def __getitem__(self, index: int) -> Group: ...
    @overload
    def __getitem__(self, index: slice) -> list[Group]: ...

    def __getitem__(self, index: int | slice) -> Group | list[Group]:
        return self._groups[index]

    def __iter__(self) -> Iterator[Group]:
        return iter(self._groups)

    def positions_of(self, paths: Iterable[str]) -> list[int]:
        return self._where.positions(paths)

    def positions_matching(self, text: str) -> list[int]:
        needle = text.lower()
        return [gi for gi, g in enumerate(self._groups) if any(needle in m.path.lower() for m in g.members)]


class StoredGroups(GroupPages):
    """The stored groups in review order, read a page at a time (a bounded cache of pages)."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        self._len = store.group_count()
        self.flags = store.flags()
        if len(self.flags) != self._len:
            raise StoreError(f"{store.path}: the groups changed while reading")
        self._pages: OrderedDict[int, list[Group]] = OrderedDict()

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Group: ...
    @overload
    def __getitem__(self, index: slice) -> list[Group]: ...

    def __getitem__(self, index: int | slice) -> Group | list[Group]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        number = index // PAGE
        page = self._pages.get(number)
        if page is None:
            page = self.store.page(number * PAGE, min(self._len, (number + 1) * PAGE))
            if len(page) != min(PAGE, self._len - number * PAGE):
                raise StoreError(f"{self.store.path}: groups are missing from the review order")
            self._pages[number] = page
            if len(self._pages) > PAGES_CACHED:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page[index - number * PAGE]

    def __iter__(self) -> Iterator[Group]:
        for i in range(self._len):
            yield self[i]

    def positions_of(self, paths: Iterable[str]) -> list[int]:
        return self.store.review_positions_of(paths)

    def briefs(self, positions: Sequence[int]) -> dict[int, list[Brief]]:
        return self.store.briefs(positions)

    def positions_matching(self, text: str) -> list[int]:
        return self.store.review_positions_matching(text)


class ScanGroups:
    """One result's groups in the scan's order, for the commands that need only some of them (export,
    check, resolve, apply): the groups holding some paths, those with identical copies, those with
    mixed labels or splits, every group a batch at a time, and counts, without holding them all.

    This base holds the groups in memory (a result read from an older session's scan.json, or made
    by a test); :class:`StoredScanGroups` reads them from the session's database.
    """

    def __init__(self, groups: Sequence[Group]) -> None:
        self._groups = groups
        self._where = PathIndex(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def __iter__(self) -> Iterator[Group]:
        """Every group in the scan's order."""
        return iter(self._groups)

    def each(self, evidence: bool = True) -> Iterator[Group]:
        """Every group in the scan's order (``evidence`` False: the stored ones are read without the
        members' evidence, for lists that do not show it)."""
        return iter(self._groups)

    def member_count(self) -> int:
        return sum(len(g.members) for g in self._groups)

    def kind_counts(self) -> dict[str, int]:
        """Groups of two or more members per kind (``exact``, ``near``)."""
        out: dict[str, int] = {}
        for g in self._groups:
            if len(g.members) >= 2:
                out[g.kind] = out.get(g.kind, 0) + 1
        return out

    def positions_of(self, paths: Iterable[str]) -> list[int]:
        """Scan positions of the groups holding any of ``paths`` (sorted, each once)."""
        return self._where.positions(paths)

    def at(self, positions: Sequence[int]) -> Iterator[Group]:
        """The groups at scan ``positions`` (sorted), in that order."""
        return (self._groups[p] for p in positions)

    def copy_positions(self) -> list[int]:
        """Positions of the groups with two or more members of one content digest."""
        return [gi for gi, g in enumerate(self._groups) if len({m.digest for m in g.members}) < len(g.members)]

    def mixed_positions(self) -> list[int]:
        """Positions of the groups whose members carry two or more labels or two or more splits."""
        return [gi for gi, g in enumerate(self._groups)
                if len({m.label for m in g.members} - {None}) > 1 or len({m.split for m in g.members} - {None}) > 1]

    def close(self) -> None:
        pass

    def __enter__(self) -> ScanGroups:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StoredScanGroups(ScanGroups):
    """The stored groups in the scan's order, read from the database when asked for (nothing is cached)."""

    def __init__(self, store: ResultStore) -> None:
        super().__init__([])
        self.store = store

    def __len__(self) -> int:
        return self.store.group_count()

    def __iter__(self) -> Iterator[Group]:
        return self.store.iter_groups()

    def each(self, evidence: bool = True) -> Iterator[Group]:
        return self.store.iter_groups(evidence=evidence)

    def member_count(self) -> int:
        return self.store.member_count()

    def kind_counts(self) -> dict[str, int]:
        return self.store.kind_counts()

    def positions_of(self, paths: Iterable[str]) -> list[int]:
        return self.store.scan_positions_of(paths)

    def at(self, positions: Sequence[int]) -> Iterator[Group]:
        return self.store.groups_at(positions)

    def copy_positions(self) -> list[int]:
        return self.store.copy_positions()

    def mixed_positions(self) -> list[int]:
        return self.store.mixed_positions()

    def close(self) -> None:
        self.store.close()
