"""Incremental pair search and regrouping: a rescan works on what changed, with the full scan's result.

The pair graph of a scan (every candidate pair of two contents, whether the second stage accepted
it, and its evidence) and its reference groups are kept in the session's ``pairs.sqlite``
(:class:`PairStore`), keyed by content digest. A rescan whose rules are those the store was built
under (:func:`rules_key`: version, hash key, threshold, engine, verification, the verification and
feature recipes, the query routes, the "not duplicates" marks) then

* drops the contents no file has any more (and every pair they were in);
* searches only the new contents: their plain hash against every content's plain hash, their query
  hashes (:mod:`imgreview.scan.variants`) against every content's plain, trimmed and same-route
  hashes, and every old content's query hashes against the new contents' plain, trimmed and
  same-route hashes (:func:`new_candidates`, the exact engine with the bucket tables rebuilt per
  rescan: linear in the number of hashes). Each pair's candidate, chosen among its routes as
  :func:`~imgreview.scan.candidates.merge_candidates` does, is the full search's;
* verifies only those new candidate pairs (acceptance depends on the two contents alone);
* regroups only the connected components of the accepted-pair graph that hold a new content, or
  held a removed one: :func:`~imgreview.scan.grouping.reference_groups` within one component does
  not depend on the others, so every other component keeps its stored groups.

Why it is the full scan's result: a content's fingerprint is a function of its bytes (the digest)
under one hash key, the search engine finds *every* pair within the threshold (it is exact), and a
pair's candidate, acceptance and evidence depend only on the two contents, the threshold and the
rules in :func:`rules_key`. The NGT engine is approximate, so a scan with it always searches the
whole set and keeps no store. The store is updated in one SQLite transaction: an interrupted rescan
leaves the previous store, which still describes the contents it names (the next rescan compares
against those).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imgreview import __version__
from imgreview.fs import new_digest
from imgreview.scan.candidates import VERIFY_RULES, Candidate, Evidence
from imgreview.scan.columns import DigestColumn
from imgreview.scan.grouping import Cluster
from imgreview.scan.localfeat import MIRROR_RECIPE
from imgreview.scan.localfeat import RECIPE as FEATURE_RECIPE
from imgreview.scan.search import Pairs, exact_cross_pairs
from imgreview.scan.variants import ROUTES, SAME_ROUTES, unpack_routes
from imgreview.settings import ScanSettings

PAIRS_NAME = "pairs.sqlite"
STORE_FORMAT = "pairs-v1"
LOCK_SECONDS = 30.0  # how long a scan waits for another scan of the same session to finish its store update

Key = tuple[int, int]


def rules_key(settings: ScanSettings, distinct: Iterable[tuple[str, str]]) -> str:
    """A digest of everything a pair's candidate, acceptance and evidence depend on besides the two contents."""
    h = new_digest()
    h.update(json.dumps([STORE_FORMAT, __version__, FEATURE_RECIPE, MIRROR_RECIPE, VERIFY_RULES, list(ROUTES),
                         list(SAME_ROUTES), settings.hash.key, settings.effective_threshold, settings.engine,
                         settings.verify, sorted(distinct)], ensure_ascii=True).encode("ascii"))
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ search
def new_candidates(words: np.ndarray, routes: list[bytes] | None, new: np.ndarray, nbits: int, threshold: int,
                   route_threshold: int) -> tuple[Pairs, list[Candidate]]:
    """Every candidate of a pair with at least one item in ``new`` (sorted item indices): the direct
    pairs and the routed candidates, as the full search (``find_pairs`` + ``route_candidates``)
    finds them for those pairs, in its order (plain targets, trimmed targets, same routes).

    ``routes`` None: no query hashes (not a pHash scan).
    """
    n = len(words)
    is_new = np.zeros(n, dtype=bool)
    is_new[new] = True
    empty = Pairs.empty()
    if n < 2 or len(new) == 0:
        return empty, []
    found = exact_cross_pairs(words, words[new], nbits, threshold)
    qi, tj = new[found.i], found.j
    keep = (qi != tj) & (~is_new[tj] | (qi < tj))  # a pair of two new items is found from both sides
    qi, tj, d = qi[keep], tj[keep], found.d[keep]
    direct = Pairs(np.minimum(qi, tj), np.maximum(qi, tj), d.astype(np.int32))
    if routes is None:
        return direct, []
    own, kinds, queries = unpack_routes(routes, words.shape[1] * 8)
    if len(own) == 0:
        return direct, []
    q_new = np.flatnonzero(is_new[own])
    q_old = np.flatnonzero(~is_new[own])
    out: list[Candidate] = []

    def emit(a: np.ndarray, b: np.ndarray, dist: np.ndarray, route: np.ndarray, target: str) -> None:
        for x, y, dd, r in zip(a.tolist(), b.tolist(), dist.tolist(), route.tolist(), strict=True):
            if x != y:
                out.append(Candidate(x, y, dd, r, target))

    trimmed = np.flatnonzero(kinds == ROUTES.index("trimmed"))
    trimmed_new = trimmed[is_new[own[trimmed]]]
    # Old query hashes against the new items' plain and trimmed hashes: one search (the bucket
    # tables over every old query hash are the costly part), split by target kind below.
    back = exact_cross_pairs(queries[q_old], np.concatenate([words[new], queries[trimmed_new]]), nbits,
                             route_threshold)
    plain_back = back.i < len(new)
    # 1. query hashes against plain hashes: new queries against all items, old queries against new items.
    f = exact_cross_pairs(words, queries[q_new], nbits, route_threshold)
    emit(own[q_new[f.i]], f.j, f.d, kinds[q_new[f.i]], "plain")
    bi, bj, bd = back.i[plain_back], back.j[plain_back], back.d[plain_back]
    emit(own[q_old[bj]], new[bi], bd, kinds[q_old[bj]], "plain")
    # 2. query hashes against trimmed hashes.
    if len(trimmed):
        f = exact_cross_pairs(queries[trimmed], queries[q_new], nbits, route_threshold)
        emit(own[q_new[f.i]], own[trimmed[f.j]], f.d, kinds[q_new[f.i]], "trimmed")
    bi, bj, bd = back.i[~plain_back] - len(new), back.j[~plain_back], back.d[~plain_back]
    emit(own[q_old[bj]], own[trimmed_new[bi]], bd, kinds[q_old[bj]], "trimmed")
    # 3. each same route against the same route: the smaller item is the query side, each pair once.
    for name in SAME_ROUTES:
        if name == "trimmed":
            continue
        k = ROUTES.index(name)
        sel = np.flatnonzero(kinds == k)
        sel_new = sel[is_new[own[sel]]]
        if len(sel) < 2 or len(sel_new) == 0:
            continue
        f = exact_cross_pairs(queries[sel], queries[sel_new], nbits, route_threshold)
        a, b = own[sel_new[f.i]], own[sel[f.j]]
        keep = (a != b) & (~is_new[b] | (a < b))
        a, b, dist = a[keep], b[keep], f.d[keep]
        emit(np.minimum(a, b), np.maximum(a, b), dist, np.full(len(a), k, dtype=np.int64), "same")
    return direct, out


# ------------------------------------------------------------------------------------------ graph
def components(pairs: Iterable[Key]) -> dict[int, int]:
    """Item -> its component's smallest item, over the items in ``pairs`` (union-find)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    return {x: find(x) for x in parent}


def cluster_of(reference: int, others: list[tuple[int, int]], keys: Sequence[str]) -> Cluster:
    """A stored group back as :func:`~imgreview.scan.grouping.reference_groups` made it (members by distance, key)."""
    others.sort(key=lambda od: (od[1], keys[od[0]]))
    return Cluster(reference=reference, members=[(reference, 0), *others])


# ------------------------------------------------------------------------------------------ store
class StoreDamaged(Exception):
    """The pair store cannot be read as this version writes it: the scan searches everything."""


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    # One row per content. comp: the content's component of the accepted-pair graph (NULL: in no accepted pair).
    "CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, digest TEXT NOT NULL UNIQUE, hash BLOB NOT NULL, "
    "comp INTEGER)",
    "CREATE INDEX IF NOT EXISTS nodes_comp ON nodes(comp)",
    # Every candidate pair; lo/hi: node ids of the digest-smaller and -larger side; a_lo: the query side is lo.
    "CREATE TABLE IF NOT EXISTS pairs (lo INTEGER NOT NULL, hi INTEGER NOT NULL, distance INTEGER NOT NULL, "
    "route INTEGER NOT NULL, target TEXT NOT NULL, a_lo INTEGER NOT NULL, accepted INTEGER NOT NULL, "
    "evidence TEXT, PRIMARY KEY (lo, hi)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS pairs_hi ON pairs(hi)",
    # The groups: one row per grouped content, with its pair to the reference (NULL for the reference).
    "CREATE TABLE IF NOT EXISTS members (id INTEGER PRIMARY KEY, ref INTEGER NOT NULL, distance INTEGER, "
    "route INTEGER, target TEXT, a_self INTEGER, evidence TEXT)",
)


@dataclass(slots=True)
class Edge:
    """One accepted pair as stored: the candidate (query side ``a``) and its evidence."""

    candidate: Candidate
    evidence: Evidence


@dataclass(slots=True)
class Update:
    """What a rescan changes in the store (node indices are the current scan's)."""

    new_nodes: list[int]  # current indices of contents new to the store
    new_ids: list[int]
    removed_ids: list[int]
    candidates: dict[Key, Candidate]  # the new candidate pairs (current indices)
    accepted: dict[Key, Evidence]  # those accepted
    comps: dict[int, int]  # current index -> component id (a node id), for every node in a regrouped component
    regrouped: list[int]  # current indices of every node of the regrouped components (old and new)
    clusters: list[Cluster]  # the regrouped components' groups
    edges: dict[Key, Edge] = field(default_factory=dict)  # their accepted pairs


def _is_regular_or_absent(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


class PairStore:
    """The session's pair graph and groups (``pairs.sqlite``); see the module doc."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    # -------------------------------------------------------------- opening
    @staticmethod
    def usable(path: Path) -> bool:
        """Whether ``path`` may be opened: absent or a regular file (a planted link is never followed)."""
        return _is_regular_or_absent(path) and _is_regular_or_absent(path.with_name(path.name + "-journal"))

    @classmethod
    def open(cls, path: Path, create: bool = False) -> PairStore | None:
        """The store at ``path`` (None: absent and not ``create``, or not usable)."""
        if not cls.usable(path) or (not create and not path.exists()):
            return None
        for attempt in range(2):
            db = None
            try:
                db = sqlite3.connect(path, timeout=LOCK_SECONDS, isolation_level=None)
                db.execute("PRAGMA synchronous=NORMAL")
                if create:
                    for sql in _SCHEMA:
                        db.execute(sql)
                return cls(db, path)
            except sqlite3.DatabaseError as exc:
                if db is not None:
                    db.close()
                damaged = "not a database" in str(exc) or "malformed" in str(exc)
                if not (create and damaged and attempt == 0):
                    return None
                # a damaged store is only a cache of the pair search: start it again
                for stale in (path, path.with_name(path.name + "-journal")):
                    try:
                        os.unlink(stale)
                    except FileNotFoundError:
                        pass
                    except OSError:
                        return None
        return None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> PairStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self) -> dict[str, str]:
        try:
            return {str(k): str(v) for k, v in self.db.execute("SELECT key, value FROM meta")}
        except sqlite3.Error as exc:
            raise StoreDamaged(str(exc)) from exc

    def matches(self, rules: str) -> bool:
        """Whether the store is whole and was built under ``rules``."""
        try:
            meta = self.meta()
        except StoreDamaged:
            return False
        if meta.get("format") != STORE_FORMAT or meta.get("rules") != rules or meta.get("whole") != "1":
            return False
        try:  # a store cut short outside a transaction (rows missing) is not used
            return all(meta.get(table) == str(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                       for table in ("nodes", "pairs", "members"))
        except sqlite3.Error:
            return False

    # -------------------------------------------------------------- reading
    def nodes(self) -> Iterator[tuple[int, str, bytes, int | None]]:
        try:
            for i, d, h, c in self.db.execute("SELECT id, digest, hash, comp FROM nodes"):
                yield int(i), str(d), bytes(h), None if c is None else int(c)
        except (sqlite3.Error, TypeError, ValueError) as exc:
            raise StoreDamaged(str(exc)) from exc

    def counts_involving(self, ids: list[int]) -> tuple[int, int]:
        """(candidate pairs, accepted pairs) with a node among ``ids``."""
        if not ids:
            return 0, 0
        self._temp("gone", ids)
        row = self.db.execute("SELECT count(*), coalesce(sum(accepted), 0) FROM pairs WHERE lo IN "
                              "(SELECT id FROM temp.gone) OR hi IN (SELECT id FROM temp.gone)").fetchone()
        return int(row[0]), int(row[1])

    def accepted_in(self, comps: list[int]) -> list[tuple[int, int, Candidate, Evidence]]:
        """The accepted pairs inside the components ``comps``: (lo id, hi id, candidate with ids as items, evidence)."""
        if not comps:
            return []
        self._temp("affected", comps)
        out = []
        try:
            rows = self.db.execute(
                "SELECT p.lo, p.hi, p.distance, p.route, p.target, p.a_lo, p.evidence FROM pairs p "
                "JOIN nodes n ON n.id = p.lo WHERE p.accepted = 1 AND n.comp IN (SELECT id FROM temp.affected)")
            for lo, hi, dist, route, target, a_lo, ev in rows:
                a, b = (lo, hi) if a_lo else (hi, lo)
                out.append((int(lo), int(hi), Candidate(int(a), int(b), int(dist), int(route), str(target)),
                            _evidence(ev)))
        except (sqlite3.Error, TypeError, ValueError) as exc:
            raise StoreDamaged(str(exc)) from exc
        return out

    def members(self) -> Iterator[tuple[int, int, int | None, int | None, str | None, int | None, str | None]]:
        try:
            yield from self.db.execute("SELECT id, ref, distance, route, target, a_self, evidence FROM members")
        except sqlite3.Error as exc:
            raise StoreDamaged(str(exc)) from exc

    def _temp(self, name: str, ids: list[int]) -> None:
        self.db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY)")
        self.db.execute(f"DELETE FROM temp.{name}")
        self.db.executemany(f"INSERT OR IGNORE INTO temp.{name} VALUES (?)", ((i,) for i in ids))

    # -------------------------------------------------------------- writing
    def write_full(self, rules: str, digests: Sequence[str], hashes: Sequence[bytes], cands: dict[Key, Candidate],
                   accepted: dict[Key, Evidence], clusters: list[Cluster]) -> None:
        """Replace the store's content by a full scan's graph (node ids: the indices of ``digests``)."""
        comps = components(accepted)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("meta", "nodes", "pairs", "members"):
                db.execute(f"DELETE FROM {table}")
            db.executemany("INSERT INTO nodes VALUES (?, ?, ?, ?)",
                           ((i, digests[i], hashes[i], comps.get(i)) for i in range(len(digests))))
            db.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (_pair_row(k, c, accepted.get(k)) for k, c in sorted(cands.items())))
            db.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?)",
                           _member_rows(clusters, lambda m, r: _edge_of(m, r, cands, accepted)))
            self._set_meta(rules, len(cands), len(accepted))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def apply(self, rules: str, update: Update, digests: Sequence[str], hashes: Sequence[bytes], id_of: dict[int, int],
              totals: tuple[int, int]) -> None:
        """Write an incremental rescan's changes (``id_of``: current index -> node id), inside the
        transaction :func:`rescan` opened before reading the store; the caller commits."""
        db = self.db
        gone = update.removed_ids
        if gone:
            self._temp("gone", gone)
            db.execute("DELETE FROM pairs WHERE lo IN (SELECT id FROM temp.gone) OR "
                       "hi IN (SELECT id FROM temp.gone)")
            db.execute("DELETE FROM members WHERE id IN (SELECT id FROM temp.gone)")
            db.execute("DELETE FROM nodes WHERE id IN (SELECT id FROM temp.gone)")
        db.executemany("INSERT INTO nodes VALUES (?, ?, ?, NULL)",
                       ((id_of[i], digests[i], hashes[i]) for i in update.new_nodes))
        db.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (_pair_row(k, c, update.accepted.get(k), id_of) for k, c in sorted(update.candidates.items())))
        regrouped = [id_of[i] for i in update.regrouped]
        self._temp("regrouped", regrouped)
        db.execute("DELETE FROM members WHERE id IN (SELECT id FROM temp.regrouped)")
        db.execute("UPDATE nodes SET comp = NULL WHERE id IN (SELECT id FROM temp.regrouped)")
        db.executemany("UPDATE nodes SET comp = ? WHERE id = ?",
                       ((c, id_of[i]) for i, c in update.comps.items()))

        def edge(m: int, r: int) -> Edge:
            return update.edges[(min(m, r), max(m, r))]

        db.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((id_of[row[0]], id_of[row[1]], *row[2:]) for row in _member_rows(update.clusters, edge)))
        self._set_meta(rules, *totals)

    def _set_meta(self, rules: str, candidates: int, accepted: int) -> None:
        counts = [(table, str(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]))
                  for table in ("nodes", "pairs", "members")]
        self.db.execute("DELETE FROM meta")
        self.db.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("format", STORE_FORMAT), ("rules", rules), ("whole", "1"),
            ("candidate_pairs", str(candidates)), ("verified_pairs", str(accepted)), *counts])

    def forget(self) -> None:
        """Mark the store unusable (a scan it cannot describe, e.g. with the NGT engine)."""
        try:
            self.db.execute("DELETE FROM meta WHERE key = 'whole'")
        except sqlite3.Error:
            pass


def _evidence(raw: object) -> Evidence:
    value = json.loads(str(raw)) if raw is not None else None
    if not isinstance(value, dict):
        raise StoreDamaged("an accepted pair without evidence")
    return value


def _edge_of(m: int, r: int, cands: dict[Key, Candidate], accepted: dict[Key, Evidence]) -> Edge:
    k = (min(m, r), max(m, r))
    return Edge(cands[k], accepted[k])


def _pair_row(k: Key, c: Candidate, ev: Evidence | None, id_of: dict[int, int] | None = None) -> tuple[Any, ...]:
    lo, hi = k
    a_lo = c.a == lo
    if id_of is not None:
        lo, hi = id_of[lo], id_of[hi]
    return (lo, hi, c.distance, c.route, c.target, int(a_lo), int(ev is not None),
            None if ev is None else json.dumps(ev, ensure_ascii=False))


def _member_rows(clusters: list[Cluster], edge: Any) -> Iterable[tuple[Any, ...]]:
    for cl in clusters:
        r = cl.reference
        yield (r, r, None, None, None, None, None)
        for m, _ in cl.members[1:]:
            e: Edge = edge(m, r)
            c = e.candidate
            yield (m, r, c.distance, c.route, c.target, int(c.a == m),
                   json.dumps(e.evidence, ensure_ascii=False))


# ------------------------------------------------------------------------------------------ rescan
Verifier = Any  # (candidates: dict[Key, Candidate]) -> dict[Key, Evidence], current indices


@dataclass(slots=True)
class Rescan:
    """An incremental rescan's graph: every group, and the candidate and evidence of each group's pairs."""

    clusters: list[Cluster]
    cands: dict[Key, Candidate]
    evidence: dict[Key, Evidence]
    stats: dict[str, object]


@dataclass(slots=True)
class _Known:
    """The store's contents matched to the current ones."""

    id_of: dict[int, int]  # current index -> node id (new contents: fresh ids)
    idx_of_id: dict[int, int]  # node id -> current index, for the contents still there
    comp_of_id: dict[int, int | None]  # node id -> stored component
    removed: list[int]  # node ids of the contents gone (or whose hash changed)
    new: np.ndarray  # current indices of the contents new to the store
    is_old: np.ndarray  # (n,) bool


def _match(store: PairStore, digests: Sequence[str], hashes: Sequence[bytes]) -> _Known:
    n = len(digests)
    find = digests.index_of if isinstance(digests, DigestColumn) else {d: i for i, d in enumerate(digests)}.get
    id_of: dict[int, int] = {}
    idx_of_id: dict[int, int] = {}
    comp_of_id: dict[int, int | None] = {}
    removed: list[int] = []
    max_id = -1
    for nid, dg, h, comp in store.nodes():
        max_id = max(max_id, nid)
        comp_of_id[nid] = comp
        i = find(dg)
        if i is None or hashes[i] != h:
            removed.append(nid)
        else:
            id_of[i] = nid
            idx_of_id[nid] = i
    is_old = np.zeros(n, dtype=bool)
    if id_of:
        is_old[np.fromiter(id_of, dtype=np.int64, count=len(id_of))] = True
    new = np.flatnonzero(~is_old)
    for offset, i in enumerate(new.tolist()):
        id_of[i] = max_id + 1 + offset
    return _Known(id_of, idx_of_id, comp_of_id, removed, new, is_old)


def _kept(store: PairStore, known: _Known, affected: set[int | None], digests: Sequence[str],
          cands: dict[Key, Candidate], evidence: dict[Key, Evidence]) -> list[Cluster]:
    """The stored groups of the components not regrouped; their pairs added to ``cands``/``evidence``."""
    gone = set(known.removed)
    idx = known.idx_of_id
    kept: dict[int, list[tuple[int, int]]] = {}
    for nid, ref, dist, route, target, a_self, raw in store.members():
        if nid in gone or known.comp_of_id.get(nid) in affected:
            continue
        if nid not in idx or ref not in idx:
            raise StoreDamaged("a group member without its content")
        m, r = idx[nid], idx[ref]
        if m == r:
            kept.setdefault(r, [])
            continue
        if dist is None or route is None or target is None or a_self is None:
            raise StoreDamaged("a group member without its pair")
        kept.setdefault(r, []).append((m, int(dist)))
        key = (min(m, r), max(m, r))
        a, b = (m, r) if a_self else (r, m)
        cands[key] = Candidate(a, b, int(dist), int(route), str(target))
        evidence[key] = _evidence(raw)
    return [cluster_of(r, others, digests) for r, others in kept.items()]


def rescan(store: PairStore, rules: str, digests: Sequence[str], hashes: Sequence[bytes], words: np.ndarray,
           routes: list[bytes] | None, nbits: int, threshold: int, route_threshold: int,
           distinct: set[tuple[str, str]], verify: Verifier, merge: Any, regroup: Any,
           timings: dict[str, float] | None = None) -> Rescan:
    """Search, verify and regroup what changed since the store was written; update the store.

    ``digests`` (sorted), ``hashes`` and ``words`` describe the current contents; ``merge`` is
    :func:`~imgreview.scan.candidates.merge_candidates`, ``regroup`` :func:`~imgreview.scan.grouping.reference_groups`.
    Raises :class:`StoreDamaged` when the store cannot be read (the caller then searches everything).
    """
    timings = {} if timings is None else timings
    # One transaction from the first read to the last write: a scan of the same session at the same
    # time waits (and then searches in full without writing), never applies changes to a store
    # that changed under it; an interrupted rescan leaves the store as it was.
    store.db.execute("BEGIN IMMEDIATE")
    try:
        if not store.matches(rules):
            raise StoreDamaged("the store changed before the rescan could use it")
        out = _rescan(store, rules, digests, hashes, words, routes, nbits, threshold, route_threshold, distinct,
                      verify, merge, regroup, timings)
        store.db.execute("COMMIT")
    except BaseException:
        if store.db.in_transaction:
            store.db.execute("ROLLBACK")
        raise
    return out


def _rescan(store: PairStore, rules: str, digests: Sequence[str], hashes: Sequence[bytes], words: np.ndarray,
            routes: list[bytes] | None, nbits: int, threshold: int, route_threshold: int,
            distinct: set[tuple[str, str]], verify: Verifier, merge: Any, regroup: Any,
            timings: dict[str, float]) -> Rescan:
    clock = time.monotonic()
    n = len(digests)
    known = _match(store, digests, hashes)
    id_of, idx_of_id, new, gone = known.id_of, known.idx_of_id, known.new, set(known.removed)
    timings["load"] = time.monotonic() - clock

    # search and verify the pairs of new contents
    clock = time.monotonic()
    direct, routed = new_candidates(words, routes, new, nbits, threshold, route_threshold)
    cands: dict[Key, Candidate] = merge(direct, routed)
    if distinct and cands:
        cands = {k: c for k, c in cands.items()
                 if (min(digests[k[0]], digests[k[1]]), max(digests[k[0]], digests[k[1]])) not in distinct}
    timings["search"] = time.monotonic() - clock
    accepted: dict[Key, Evidence] = verify(cands) if cands else {}

    # the components to regroup: those that held a removed content or gain a pair with a new one
    clock = time.monotonic()
    affected: set[int | None] = {known.comp_of_id[nid] for nid in known.removed}
    affected |= {known.comp_of_id[id_of[x]] for k in accepted for x in k if known.is_old[x]}
    affected.discard(None)
    edges: dict[Key, Edge] = {}
    for lo, hi, cand, ev in store.accepted_in(sorted(c for c in affected if c is not None)):
        if lo in gone or hi in gone:
            continue
        a, b = idx_of_id[cand.a], idx_of_id[cand.b]
        edges[(min(a, b), max(a, b))] = Edge(Candidate(a, b, cand.distance, cand.route, cand.target), ev)
    for k, ev in accepted.items():
        edges[k] = Edge(cands[k], ev)
    regrouped = sorted({idx_of_id[nid] for nid, c in known.comp_of_id.items() if c in affected and nid not in gone}
                       | set(new.tolist()) | {x for k in accepted for x in k})
    keys = sorted(edges)
    pairs = (Pairs(np.asarray([k[0] for k in keys], dtype=np.int64), np.asarray([k[1] for k in keys], dtype=np.int64),
                   np.asarray([edges[k].candidate.distance for k in keys], dtype=np.int32))
             if keys else Pairs.empty())
    new_clusters: list[Cluster] = regroup(n, pairs, digests)
    by_id = components((id_of[a], id_of[b]) for a, b in keys)
    index_of = {**idx_of_id, **{id_of[i]: i for i in new.tolist()}}
    comps = {index_of[nid]: c for nid, c in by_id.items()}
    out_cands: dict[Key, Candidate] = {k: e.candidate for k, e in edges.items()}
    out_ev: dict[Key, Evidence] = {k: e.evidence for k, e in edges.items()}
    kept = _kept(store, known, affected, digests, out_cands, out_ev)
    timings["group"] = time.monotonic() - clock

    clock = time.monotonic()
    meta = store.meta()
    dropped = store.counts_involving(known.removed)
    try:
        totals = (int(meta["candidate_pairs"]) - dropped[0] + len(cands),
                  int(meta["verified_pairs"]) - dropped[1] + len(accepted))
    except (KeyError, ValueError) as exc:
        raise StoreDamaged(str(exc)) from exc
    update = Update(new_nodes=new.tolist(), new_ids=[id_of[i] for i in new.tolist()], removed_ids=known.removed,
                    candidates=cands, accepted=accepted, comps=comps, regrouped=regrouped, clusters=new_clusters,
                    edges=edges)
    store.apply(rules, update, digests, hashes, id_of, totals)
    timings["store"] = time.monotonic() - clock
    stats: dict[str, object] = {
        "candidate_pairs": totals[0], "verified_pairs": totals[1], "incremental": True,
        "incremental_counts": {
            "new_contents": len(new), "removed_contents": len(known.removed),
            "new_candidate_pairs": len(cands), "new_verified_pairs": len(accepted),
            "dropped_candidate_pairs": dropped[0], "dropped_verified_pairs": dropped[1],
            "regrouped_components": len(set(comps.values())), "regrouped_contents": len(regrouped),
            "kept_groups": len(kept)},
    }
    return Rescan(kept + new_clusters, out_cands, out_ev, stats)
