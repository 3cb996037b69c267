"""The scan: walk, fingerprint (cached, in parallel), search, verify, group.

:func:`scan` is the library entry point used by the CLI and the review. It never prints; it
reports progress through a callback ``progress(stage, done, total)`` with stages ``walk``,
``hash``, ``index``, ``verify`` and ``group``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from imgreview import __version__
from imgreview.errors import EXIT_INTERRUPTED, ImgreviewError
from imgreview.fs import DIGEST_SIZE, within_any
from imgreview.labels import DatasetError, Labeller, Layout, annotate
from imgreview.model import FileError, Group, Member, ScanResult
from imgreview.scan import incremental, quality
from imgreview.scan.cache import FAILURE, IMAGE, NOT_CACHED, FingerprintCache, Stamps
from imgreview.scan.candidates import (
    Candidate,
    Evidence,
    merge_candidates,
    needs_mirror,
    route_candidates,
    route_threshold,
    verify_candidates,
)
from imgreview.scan.columns import BytesColumn, DigestColumn
from imgreview.scan.executors import make_executor
from imgreview.scan.fingerprint import Failure, Fingerprint
from imgreview.scan.grouping import Cluster, reference_groups
from imgreview.scan.incremental import PAIRS_NAME, PairStore, StoreDamaged, rules_key
from imgreview.scan.localfeat import MIRROR_RECIPE, RECIPE, Features, features_of_file
from imgreview.scan.reuse import grouping_key, previous_groups, previous_store
from imgreview.scan.search import Pairs, choose_engine, find_pairs, to_words
from imgreview.scan.verify import Signatures
from imgreview.scan.walk import FileEntry, FileTable, WalkOptions, resolve_roots, walk_files
from imgreview.session.folder import Session, default_session_dir
from imgreview.session.store import ResultStore
from imgreview.settings import ScanSettings

Progress = Callable[[str, int, int], None]
STORE_EVERY = 256  # fingerprints per cache commit
STORE_SECONDS = 2.0


class ScanError(ImgreviewError):
    """The scan cannot start (a usage problem: missing root, unusable session)."""


class ScanInterrupted(ImgreviewError):
    """Ctrl-C during a scan: what was hashed is cached; the command exits 130."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, hashed: int, total: int) -> None:
        super().__init__(f"scan interrupted after {hashed} of {total} new files; they are cached, "
                         "run the same command again to continue")
        self.hashed = hashed
        self.total = total


def scan(roots: list[str], settings: ScanSettings | None = None, session: Session | None = None,
         progress: Progress | None = None, keep_groups: bool = True) -> ScanResult:
    """Scan ``roots`` and store the result (and fingerprints) in ``session``.

    ``keep_groups`` False: the result returned has no groups (read them from the session:
    :meth:`Session.open_scan`, :meth:`Session.load_groups`), and an unchanged rescan then copies the
    previous groups inside the session's database without building them in memory.
    """
    settings = settings or ScanSettings()
    report = progress or (lambda stage, done, total: None)
    started = time.monotonic()
    roots = resolve_roots(roots)
    if not roots:
        raise ScanError("no folder to scan")
    for r in roots:
        if not os.path.isdir(r):
            raise ScanError(f"{r} is not a folder" if os.path.exists(r) else f"{r} does not exist")
        if not os.access(r, os.R_OK | os.X_OK):
            raise ScanError(f"{r} cannot be read (permission denied)")
    try:
        labeller = Labeller(Layout(settings.layout, settings.label_depth, settings.manifest))
    except DatasetError as exc:
        raise ScanError(str(exc)) from None
    session = session or Session(default_session_dir(roots))
    session.create(roots)

    executor = make_executor(settings)  # a Dask scheduler is reached before the walk: fails fast
    executor.start()
    report("walk", 0, 0)
    table = walk_files(roots, WalkOptions(hidden=settings.hidden, follow_links=settings.follow_links,
                                          excludes=settings.excludes, skip_dirs=(str(session.path),)))
    n_files = len(table)
    report("walk", n_files, n_files)

    key = settings.hash.key
    hashed = vanished = 0
    with FingerprintCache(session.cache_path) as cache:
        index = {p: i for i, p in enumerate(table.paths)}  # the walk's own strings: ~0.1 KB per file, dropped below
        stamps = cache.lookup_packed(key, index, table.size, table.mtime_ns, hash_bytes(settings.hash.bits),
                                     DIGEST_CHARS, QUALITY_LAYOUT, lambda p: within_any(p, roots))
        del index
        gone, stamps.gone = stamps.gone, []
        vanished = cache.forget(gone) if gone else 0
        del gone

        todo_at = np.flatnonzero(stamps.status == NOT_CACHED)
        todo = [table.paths[i] for i in todo_at.tolist()]
        at = dict(zip(todo, todo_at.tolist(), strict=True))
        new_images: list[int] = []
        total = len(todo)
        report("hash", 0, total)
        pending: list[Fingerprint | Failure] = []
        early = _EarlyFeatures(session.cache_path.with_name("features.sqlite"))
        last_store = time.monotonic()
        try:
            for item in executor.fingerprint(todo, replace(settings.hash, with_features=settings.verify)):
                pending.append(item)
                hashed += 1
                i = at[item.path]
                if isinstance(item, Fingerprint):
                    early.take(item)
                    _stamp(stamps, table, i, item)
                    new_images.append(i)
                else:
                    stamps.status[i] = FAILURE
                    stamps.errors[i] = item.error
                if len(pending) >= STORE_EVERY or time.monotonic() - last_store > STORE_SECONDS:
                    cache.store(pending, key)
                    early.store()
                    pending.clear()
                    last_store = time.monotonic()
                report("hash", hashed, total)
        except KeyboardInterrupt:
            cache.store(pending, key)
            raise ScanInterrupted(hashed, total) from None
        except ImgreviewError:  # e.g. a lost Dask cluster: what arrived stays cached
            cache.store(pending, key)
            raise
        finally:
            executor.close()
        cache.store(pending, key)
        early.store()
        del pending, todo, at, todo_at
        if new_images:  # the rows just written: later stages read signatures and facts from them
            new_images.sort()
            stamps.rowid[new_images] = cache.rowids([table.paths[i] for i in new_images])  # -1: looked up by path
        del new_images
    images = np.flatnonzero(stamps.status == IMAGE)
    source = _CacheSource(session.cache_path, table, stamps, key)

    journal = session.journal(read_only=True)
    distinct = journal.distinct_pairs()
    key = grouping_key(roots, _key_rows(table, stamps, images), settings, distinct)
    result, extra, copied = _grouped(roots, table, stamps, images, source, settings, distinct, report, session, key,
                                     keep_groups)
    carried = extra.pop("dataset", None) or {}
    extra["grouping_key"] = key
    errors = [FileError(path, reason) for path, reason in table.errors]
    errors += [FileError(table.paths[i], stamps.errors[i]) for i in sorted(stamps.errors)]
    result.errors = errors
    result.aliases = table.alias_sets
    files = n_files + sum(len(a) for a in table.aliases.values())
    result.stats.update({
        "files": files,
        "images": len(images),
        "hashed": hashed,
        "cached": n_files - hashed,
        "vanished": vanished,
        "errors": len(errors),
        "skipped_links": table.skipped_links,
        "aliases": sum(len(a) for a in table.aliases.values()),
        **extra,
        "seconds": round(time.monotonic() - started, 3),
    })
    annotate(result, labeller=labeller,
             images=((table.paths[i], table.roots[r]) for i, r in zip(images.tolist(), table.root[images].tolist(),
                                                                     strict=True)))
    result.quality = quality_report(table, stamps, images, labeller)
    result.stats["quality"] = quality.counts(result.quality)
    _save(session, result, carried, copied)
    if not keep_groups:
        result.groups = []
    return result


def _save(session: Session, result: ScanResult, carried: object, copied: ResultStore | None) -> None:
    """Store the result; with ``copied``, its groups (and their conflict and leak counts) copied from there."""
    if isinstance(carried, dict):
        result.stats["dataset"].update(carried)
    try:
        session.save_result(result, groups_from=copied)
    finally:
        if copied is not None:
            copied.close()


def _grouped(roots: list[str], table: FileTable, stamps: Stamps, images: np.ndarray, source: _Source,
             settings: ScanSettings, distinct: set[tuple[str, str]], report: Progress, session: Session, key: str,
             keep_groups: bool) -> tuple[ScanResult, dict[str, object], ResultStore | None]:
    """The groups: the previous ones copied in the database (``keep_groups`` False: not read; the store
    returned to copy from), the previous ones read back, or a new search and grouping."""
    copied = None if keep_groups else previous_store(session, key, settings)
    if copied is not None:
        return _result(roots, settings, []), dict(copied[1]), copied[0]
    reused = previous_groups(session, key)
    if reused is not None:
        groups, extra = reused
        return _result(roots, settings, groups), extra, None
    result, extra = _build_groups(roots, table, stamps, images, source, settings, distinct, report,
                                  feature_cache=session.cache_path.with_name("features.sqlite"),
                                  pairs_path=session.path / PAIRS_NAME)
    extra["reused_groups"] = False
    return result, extra, None


def build_groups(roots: list[str], entries: dict[str, FileEntry], fingerprints: dict[str, Fingerprint],
                 settings: ScanSettings, distinct: set[tuple[str, str]] | None = None,
                 report: Progress | None = None, feature_cache: Path | None = None,
                 pairs_path: Path | None = None) -> tuple[ScanResult, dict[str, object]]:
    """Exact groups by digest, near groups by hash distance (verified, no chaining), of fingerprints
    in memory (the scan itself keeps them packed: :func:`_build_groups`).

    ``pairs_path``: the session's pair store (:mod:`imgreview.scan.incremental`): when it was built
    under the same rules, only the pairs of new contents are searched and verified and only the
    components they touch regrouped (the same result); either way it is brought up to date.
    """
    paths = sorted(fingerprints)
    fps = [fingerprints[p] for p in paths]
    table = FileTable.of([replace(entries[p], size=fp.size, mtime_ns=fp.mtime_ns) for p, fp in zip(paths, fps,
                                                                                                  strict=True)])
    stamps = _stamps_of(fps)
    return _build_groups(roots, table, stamps, np.arange(len(fps), dtype=np.int64), _MemorySource(fps), settings,
                         distinct, report, feature_cache, pairs_path)


@dataclass(slots=True)
class _Nodes:
    """The distinct contents (digests) of the images, in digest order, packed: node ``k``'s files are
    ``files[start[k]:start[k] + count[k]]`` (file indices, in path order), ``first[k]`` the first."""

    files: np.ndarray
    start: np.ndarray
    count: np.ndarray
    first: np.ndarray
    digests: DigestColumn

    def __len__(self) -> int:
        return len(self.first)

    def of(self, k: int) -> list[int]:
        s = int(self.start[k])
        out: list[int] = self.files[s:s + int(self.count[k])].tolist()
        return out


def _nodes(stamps: Stamps, images: np.ndarray) -> _Nodes:
    ordered = stamps.digest[images]
    order = np.argsort(ordered, kind="stable")  # files of one content stay in path order
    files = images[order]
    ordered = ordered[order]
    del order
    if len(files):
        start = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    else:
        start = np.zeros(0, dtype=np.int64)
    count = np.diff(np.concatenate((start, [len(files)]))).astype(np.int64)
    first = files[start]
    return _Nodes(files, start, count, first, DigestColumn(ordered[start]))


def _build_groups(roots: list[str], table: FileTable, stamps: Stamps, images: np.ndarray, source: _Source,
                  settings: ScanSettings, distinct: set[tuple[str, str]] | None = None,
                  report: Progress | None = None, feature_cache: Path | None = None,
                  pairs_path: Path | None = None) -> tuple[ScanResult, dict[str, object]]:
    """:func:`build_groups` over the scan's packed files: ``images`` (file indices, ascending) of
    ``table``/``stamps``; signatures, routes and facts read from ``source`` for the contents a
    stage works on (the routes of every content for the search, once)."""
    report = report or (lambda stage, done, total: None)
    distinct = distinct or set()
    threshold = settings.effective_threshold
    nodes = _nodes(stamps, images)
    n = len(nodes)
    extra: dict[str, object] = {"threshold": threshold}
    hashes = BytesColumn(stamps.hash[nodes.first])
    words = to_words(hashes.values) if n else np.zeros((0, 1), dtype=np.uint64)
    digests = nodes.digests
    timings: dict[str, float] = {}
    engine = choose_engine(n, settings.hash.bits, threshold) if settings.engine == "auto" else settings.engine

    def verify(cands: dict[tuple[int, int], Candidate]) -> dict[tuple[int, int], Evidence]:
        return _verified(nodes, source, cands, settings, threshold, report, feature_cache, extra, timings)

    def routes() -> list[bytes]:
        return source.routes(nodes.first.tolist())

    graph = None
    store = PairStore.open(pairs_path, create=True) if pairs_path is not None else None
    rules = rules_key(settings, distinct)
    try:
        if store is not None and engine == "exact" and store.matches(rules):
            report("index", 0, 1)

            def regroup(n: int, pairs: Pairs, keys: list[str]) -> list[Cluster]:
                report("group", 0, 1)
                return reference_groups(n, pairs, keys)

            try:
                graph = incremental.rescan(
                    store, rules, digests, hashes, words, routes() if settings.hash.algorithm == "phash" else None,
                    settings.hash.bits, threshold, route_threshold(threshold), distinct, verify, merge_candidates,
                    regroup, timings)
            except (StoreDamaged, sqlite3.Error, KeyError, ValueError):
                graph = None  # searched in full below, and the store rewritten
        if graph is not None:
            extra["engine"] = engine
            extra["distinct_hashes"] = _distinct_hashes(words)
            extra.update(graph.stats)
            clusters, cands, evidence = graph.clusters, graph.cands, graph.evidence
        else:
            clusters, cands, evidence = _full_graph(digests, routes, words, settings, threshold, distinct, report,
                                                    extra, verify, timings)
            if store is not None:
                started = time.monotonic()
                try:
                    if engine == "exact":
                        store.write_full(rules, digests, hashes, cands, evidence, clusters)
                    else:
                        store.forget()
                except sqlite3.Error:
                    pass  # rolled back: the store still describes the contents it names (or is not whole)
                timings["store"] = time.monotonic() - started
            extra["incremental"] = False
    finally:
        if store is not None:
            store.close()
    extra["stage_seconds"] = {k: round(v, 3) for k, v in timings.items()}
    del words, hashes
    groups = _groups(table, nodes, source, clusters, cands, evidence)
    report("group", 1, 1)
    return _result(roots, settings, groups), extra


def _distinct_hashes(words: np.ndarray) -> int:
    if len(words) == 0:
        return 0
    if words.shape[1] == 1:
        return len(np.unique(words[:, 0]))
    return len(np.unique(words, axis=0))


def _full_graph(digests: Sequence[str], routes: Callable[[], list[bytes]], words: np.ndarray, settings: ScanSettings,
                threshold: int,
                distinct: set[tuple[str, str]], report: Progress, extra: dict[str, object],
                verify: Callable[[dict[tuple[int, int], Candidate]], dict[tuple[int, int], Evidence]],
                timings: dict[str, float]
                ) -> tuple[list[Cluster], dict[tuple[int, int], Candidate], dict[tuple[int, int], Evidence]]:
    """The whole pair search, verification and grouping: the groups, every candidate pair and the
    evidence of the accepted ones."""
    n = len(digests)
    started = time.monotonic()
    # Collapse identical hash values, then search the distinct ones.
    if n:
        unique, inverse = np.unique(words, axis=0, return_inverse=True)
        inverse = inverse.ravel()
    else:
        unique, inverse = words, np.zeros(0, dtype=np.int64)
    report("index", 0, len(unique))
    hpairs, engine = find_pairs(unique, settings.hash.bits, threshold, settings.engine,
                                progress=lambda d, t: report("index", d, t))
    extra["engine"] = engine
    extra["distinct_hashes"] = len(unique)

    pairs = _expand_to_nodes(hpairs, inverse, len(unique))
    if distinct and len(pairs):
        keep = np.array([(min(digests[a], digests[b]), max(digests[a], digests[b])) not in distinct
                         for a, b in zip(pairs.i.tolist(), pairs.j.tolist(), strict=True)], dtype=bool)
        pairs = Pairs(pairs.i[keep], pairs.j[keep], pairs.d[keep])
    routed = []
    if settings.hash.algorithm == "phash" and n > 1:
        routed = route_candidates(routes(), words, settings.hash.bits, route_threshold(threshold))
        if distinct:
            routed = [r for r in routed if (min(digests[r.a], digests[r.b]), max(digests[r.a], digests[r.b]))
                      not in distinct]
    cands = merge_candidates(pairs, routed)
    extra["candidate_pairs"] = len(cands)
    timings["search"] = time.monotonic() - started
    evidence = verify(cands) if cands else {}
    extra["verified_pairs"] = len(evidence)
    started = time.monotonic()
    report("group", 0, 1)
    keys = sorted(evidence)
    pairs = Pairs(np.asarray([k[0] for k in keys], dtype=np.int64), np.asarray([k[1] for k in keys], dtype=np.int64),
                  np.asarray([cands[k].distance for k in keys], dtype=np.int32)) if keys else Pairs.empty()
    clusters = reference_groups(n, pairs, digests)
    timings["group"] = time.monotonic() - started
    return clusters, cands, evidence


def _verified(nodes: _Nodes, files: _Source, cands: dict[tuple[int, int], Candidate], settings: ScanSettings,
              threshold: int, report: Progress, feature_cache: Path | None, extra: dict[str, object],
              timings: dict[str, float]) -> dict[tuple[int, int], Evidence]:
    """The accepted candidate pairs and their evidence (all of them, unverified, without ``settings.verify``).

    Only the contents in a candidate pair are looked at (renumbered in digest order, so a pair's
    sides keep their order): the result for a pair depends on its two contents alone.
    """
    started = time.monotonic()
    if not settings.verify:
        out = {k: {"signal": "hash", "route": "direct" if c.route < 0 else _route_name(c.route),
                   "distance": c.distance, "summary": f"hash {c.distance} bits (unverified)"}
               for k, c in sorted(cands.items())}
        timings["verify"] = timings.get("verify", 0.0) + time.monotonic() - started
        return out
    items = sorted({x for k in cands for x in k})
    local = {x: k for k, x in enumerate(items)}
    sub = {(local[a], local[b]): Candidate(local[c.a], local[c.b], c.distance, c.route, c.target)
           for (a, b), c in cands.items()}
    fps = files.fingerprints(nodes.first[items].tolist())
    sig = Signatures.from_bytes([f.lowinfo for f in fps], [f.gray for f in fps], [f.color for f in fps])
    paths, stamps = [f.path for f in fps], [(f.size, f.mtime_ns) for f in fps]
    short_sides = [min(f.width, f.height) for f in fps]
    del fps  # the signatures are packed; routes, quality and metadata are not needed here
    report("verify", 0, len(sub))
    source = _FeatureSource(paths, stamps, feature_cache, settings.effective_jobs, mirrored=mirror_sides(sub))
    accepted = verify_candidates(sub, sig, threshold, source, workers=settings.effective_jobs,
                                 short_sides=short_sides)
    report("verify", len(sub), len(sub))
    extra["features_computed"] = int(str(extra.get("features_computed", 0))) + source.computed
    timings["verify"] = timings.get("verify", 0.0) + time.monotonic() - started
    return {(items[k[0]], items[k[1]]): accepted[k][1] for k in sorted(accepted)}


GROUP_BATCH = 4096  # files whose fingerprints are read at once to build the groups' members


def _groups(table: FileTable, nodes: _Nodes, source: _Source, clusters: list[Cluster],
            cands: dict[tuple[int, int], Candidate], evidence: dict[tuple[int, int], Evidence]) -> list[Group]:
    """The groups of ``clusters`` (near) and of identical files outside them (exact), in the scan's order.

    The members' facts are read from ``source`` a batch of groups at a time."""
    in_cluster = np.zeros(len(nodes), dtype=bool)
    for cl in clusters:
        for m, _ in cl.members:
            in_cluster[m] = True
    specs: list[tuple[Cluster | None, int]] = [(c, c.reference) for c in clusters]
    specs += [(None, node) for node in np.flatnonzero((nodes.count > 1) & ~in_cluster).tolist()]
    del in_cluster
    groups: list[Group] = []
    at = 0
    while at < len(specs):
        batch: list[tuple[Cluster | None, int]] = []
        wanted: list[int] = []
        while at < len(specs) and (not batch or len(wanted) < GROUP_BATCH):
            spec, node = specs[at]
            batch.append(specs[at])
            for m in ([node] if spec is None else [m for m, _ in spec.members]):
                wanted.extend(nodes.of(m))
            at += 1
        fp_of = dict(zip(wanted, source.fingerprints(wanted), strict=True))
        for spec, node in batch:
            groups.append(_near_group(table, nodes, fp_of, spec, cands, evidence) if spec is not None
                          else _exact_group(table, nodes, fp_of, node))
    groups.sort(key=lambda g: (g.reference, g.id))
    return groups


def _near_group(table: FileTable, nodes: _Nodes, fp_of: dict[int, Fingerprint], cl: Cluster,
                cands: dict[tuple[int, int], Candidate], evidence: dict[tuple[int, int], Evidence]) -> Group:
    members: list[Member] = []
    max_d = max((dist for _, dist in cl.members), default=0)
    for node, dist in cl.members:
        ev = None if node == cl.reference else _oriented(evidence.get((min(node, cl.reference),
                                                                         max(node, cl.reference))),
                                                            node, cands.get((min(node, cl.reference),
                                                                             max(node, cl.reference))))
        files = nodes.of(node)
        for k, f in enumerate(files):
            member = _member(fp_of[f], table, f, dist, exact=len(files) > 1)
            if ev is not None:
                member.evidence = ev
            elif k > 0:
                member.evidence = {"signal": "exact", "summary": "identical file"}
            members.append(member)
    ref = nodes.first[cl.reference]
    return Group(id="g" + nodes.digests[cl.reference][:12], kind="near", max_distance=int(max_d),
                 reference=table.paths[ref], members=members)


def _exact_group(table: FileTable, nodes: _Nodes, fp_of: dict[int, Fingerprint], node: int) -> Group:
    files = nodes.of(node)
    return Group(id="g" + nodes.digests[node][:12], kind="exact", max_distance=0, reference=table.paths[files[0]],
                 members=[_member(fp_of[f], table, f, 0, exact=True) for f in files])


def _route_name(route: int) -> str:
    from imgreview.scan.variants import ROUTES

    return ROUTES[route]


def _oriented(ev: Evidence | None, member: int, cand: object) -> Evidence | None:
    """The pair's evidence seen from the member: a 90° turn found from the reference's side is 270° here."""
    if ev is None:
        return None
    out = dict(ev)
    a = getattr(cand, "a", member)
    if out.get("route") == "rot90" and a != member:
        out["route"] = "rot270"
        out["summary"] = str(out.get("summary", "")).replace("rot90", "rot270", 1)
    return out


class _EarlyFeatures:
    """Local features the workers computed from a file's full decode (Fingerprint.features), moved
    to the feature cache of the second stage (and off the fingerprint, which is kept in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[tuple[str, int, int, bytes]] = []

    def take(self, fp: Fingerprint) -> None:
        if fp.features:
            self.rows.append((fp.path, fp.size, fp.mtime_ns, fp.features))
            fp.features = b""

    def store(self) -> None:
        if self.rows:
            with FingerprintCache(self.path) as cache:
                cache.store_features(self.rows, RECIPE)
            self.rows = []


def mirror_sides(cands: dict[tuple[int, int], Candidate]) -> set[int]:
    """The items whose mirrored features the verification uses: the query side (``a``) of every
    candidate found by an orientation-reversing route (``verify_candidates`` matches A mirrored)."""
    return {c.a for c in cands.values() if needs_mirror(c)}


class _FeatureSource:
    """Local features of items, from the session cache or computed in worker processes.

    The mirrored features are computed only for the items in ``mirrored`` (None: for all), and cached
    apart from the plain ones (:data:`MIRROR_RECIPE`), so a later scan that needs them for more
    files computes only those.
    """

    def __init__(self, paths: list[str], stamps: list[tuple[int, int]], cache: Path | None, jobs: int,
                 mirrored: set[int] | None = None) -> None:
        self.paths, self.stamps, self.cache, self.jobs = paths, stamps, cache, jobs
        self.mirrored = mirrored
        self.computed = 0

    def _wants_mirror(self, k: int) -> bool:
        return self.mirrored is None or k in self.mirrored

    def __call__(self, items: list[int]) -> dict[int, Features]:
        out: dict[int, Features] = {}
        cached: dict[str, tuple[int, int, bytes]] = {}
        cached_mirror: dict[str, tuple[int, int, bytes]] = {}
        if self.cache is not None:
            with FingerprintCache(self.cache) as cache:  # only the items asked for: never the whole table
                cached = cache.lookup_features(RECIPE, (self.paths[k] for k in items))
                mirrored = [self.paths[k] for k in items if self._wants_mirror(k)]
                if mirrored:
                    cached_mirror = cache.lookup_features(MIRROR_RECIPE, mirrored)
        todo = []
        for k in items:
            hit = cached.get(self.paths[k])
            if hit is not None and (hit[0], hit[1]) == self.stamps[k]:
                try:
                    f = Features.from_bytes(hit[2])
                    if self._wants_mirror(k) and not f.has_mirror:
                        mirror = cached_mirror.get(self.paths[k])
                        if mirror is None or (mirror[0], mirror[1]) != self.stamps[k]:
                            raise KeyError("mirrored features not cached")
                        f.add_mirror(mirror[2])
                    out[k] = f
                    continue
                except (ValueError, KeyError, OSError):
                    pass
            todo.append(k)
        if not todo:
            return out
        computed = _compute_features([(self.paths[k], self._wants_mirror(k)) for k in todo], self.jobs)
        store, store_mirror = [], []
        for k, new in zip(todo, computed, strict=True):
            if new is not None:
                out[k] = new
                store.append((self.paths[k], *self.stamps[k], new.to_bytes(mirror=False)))
                if new.has_mirror:
                    store_mirror.append((self.paths[k], *self.stamps[k], new.mirror_bytes()))
        self.computed += len(todo)
        if self.cache is not None and store:
            with FingerprintCache(self.cache) as cache:
                cache.store_features(store, RECIPE)
                if store_mirror:
                    cache.store_features(store_mirror, MIRROR_RECIPE)
        return out


def _features_job(job: tuple[str, bool]) -> Features | None:
    """One file's features (``job``: path, and whether the mirrored features are needed too)."""
    return features_of_file(job[0], mirrored=job[1])


def _compute_features(jobs_: list[tuple[str, bool]], jobs: int) -> list[Features | None]:
    if jobs <= 1 or len(jobs_) < 8:
        return [_features_job(j) for j in jobs_]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_features_job, jobs_, chunksize=max(1, min(16, len(jobs_) // (4 * jobs)))))


def _result(roots: list[str], settings: ScanSettings, groups: list[Group]) -> ScanResult:
    return ScanResult(
        roots=roots,
        settings={**settings.to_dict(), "imgreview": __version__},
        stats={
            "groups": len(groups),
            "exact_groups": sum(g.kind == "exact" for g in groups),
            "near_groups": sum(g.kind == "near" for g in groups),
            "removable_files": sum(len(g.members) - 1 for g in groups),
            "reclaimable_bytes": sum(g.reclaimable_bytes for g in groups),
        },
        groups=groups,
        errors=[],
    )


def _member(fp: Fingerprint, table: FileTable, file: int, distance: int, exact: bool) -> Member:
    return Member(
        path=fp.path, digest=fp.digest, distance=int(distance), size=fp.size, width=fp.width,
        height=fp.height, format=fp.format, mode=fp.mode, mtime=fp.mtime_ns / 1e9, taken=fp.taken,
        camera=fp.camera, root=table.roots[int(table.root[file])], exact=exact,
        aliases=list(table.aliases.get(file, ())), meta=json.loads(fp.meta) if fp.meta else None,
    )


QUALITY_CHUNK = 65536  # pictures flagged at a time (their statistics and verdicts as objects)


def quality_report(table: FileTable, stamps: Stamps, images: np.ndarray, labeller: Labeller) -> list[dict[str, object]]:
    """The quality flags of every image (relative to its label), for the images with an issue.

    A chunk of pictures at a time against the labels' references over all of them: per picture only
    its four compared values and its label are held for the whole set."""
    rated = images[stamps.has_stats[images]]
    cols = np.empty((len(rated), 4), dtype=np.float64)
    labels: list[str | None] = []
    same: dict[str | None, str | None] = {}
    for start in range(0, len(rated), QUALITY_CHUNK):
        chunk = rated[start:start + QUALITY_CHUNK].tolist()
        cols[start:start + len(chunk)] = quality.columns([_stats(stamps, i) for i in chunk])
        for i in chunk:
            label, _split = labeller.classify(table.paths[i], table.roots[int(table.root[i])])
            labels.append(same.setdefault(label, label))
    refs = quality.references(cols, labels)
    del cols
    out: list[dict[str, object]] = []
    for start in range(0, len(rated), QUALITY_CHUNK):
        chunk = rated[start:start + QUALITY_CHUNK].tolist()
        out += quality.report([(table.paths[i], _stats(stamps, i), labels[start + k]) for k, i in enumerate(chunk)],
                              refs)
    return out


def _stats(stamps: Stamps, i: int) -> quality.Stats:
    return quality.Stats.unpack(stamps.stats[i].tobytes())


# ------------------------------------------------------------------------------------------ packed files
DIGEST_CHARS = 2 * DIGEST_SIZE
# quality blob (quality.encode): the statistics kept per file, and the whole blob's size
_STATS_BYTES = len(quality.Stats(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0).pack())
QUALITY_LAYOUT = (_STATS_BYTES, _STATS_BYTES + 2 * quality.FEATURE_DIM)


def hash_bytes(bits: int) -> int:
    """Bytes of a packed hash of ``bits`` bits (whole 64-bit words, see Fingerprint.hash)."""
    return max(1, (bits + 63) // 64) * 8


def _stamp(stamps: Stamps, table: FileTable, i: int, fp: Fingerprint) -> None:
    """File ``i`` fingerprinted now: its packed columns (its size and mtime: the fingerprint's, read when hashed)."""
    digest = fp.digest.encode("ascii")
    if len(digest) != stamps.digest.dtype.itemsize or len(fp.hash) != stamps.hash.shape[1]:
        raise ImgreviewError(f"{fp.path}: a fingerprint of another layout (digest {fp.digest!r}, "
                             f"{len(fp.hash)} hash bytes)")
    stamps.status[i] = IMAGE
    stamps.digest[i] = digest
    stamps.hash[i] = np.frombuffer(fp.hash, dtype=np.uint8)
    if len(fp.quality) == QUALITY_LAYOUT[1]:
        stamps.stats[i] = np.frombuffer(fp.quality, dtype=np.uint8, count=QUALITY_LAYOUT[0])
        stamps.has_stats[i] = True
    table.size[i] = fp.size
    table.mtime_ns[i] = fp.mtime_ns


def _stamps_of(fps: list[Fingerprint]) -> Stamps:
    """The packed columns of fingerprints in memory (:func:`build_groups`)."""
    n = len(fps)
    chars = max((len(fp.digest) for fp in fps), default=DIGEST_CHARS)
    width = max((len(fp.hash) for fp in fps), default=8)
    out = Stamps(np.full(n, IMAGE, dtype=np.int8), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=f"S{chars}"),
                 np.zeros((n, width), dtype=np.uint8), np.zeros((n, QUALITY_LAYOUT[0]), dtype=np.uint8),
                 np.zeros(n, dtype=bool))
    for i, fp in enumerate(fps):
        out.digest[i] = fp.digest.encode("ascii")
        out.hash[i, :len(fp.hash)] = np.frombuffer(fp.hash, dtype=np.uint8)
        if len(fp.quality) == QUALITY_LAYOUT[1]:
            out.stats[i] = np.frombuffer(fp.quality, dtype=np.uint8, count=QUALITY_LAYOUT[0])
            out.has_stats[i] = True
    return out


def _key_rows(table: FileTable, stamps: Stamps, images: np.ndarray) -> Iterator[tuple[str, bytes, bytes, int, list[str]]]:
    """(path, digest, hash, mtime_ns, aliases) of every image in path order, for :func:`grouping_key`."""
    for start in range(0, len(images), 65536):
        chunk = images[start:start + 65536]
        digests = stamps.digest[chunk].tolist()
        hashes = stamps.hash[chunk]
        mtimes = table.mtime_ns[chunk].tolist()
        for k, i in enumerate(chunk.tolist()):
            yield table.paths[i], digests[k], hashes[k].tobytes(), mtimes[k], table.aliases.get(i, [])


class _Source(Protocol):
    """The fingerprints of files by index (in the order asked), and the route hashes alone."""

    def fingerprints(self, files: list[int]) -> list[Fingerprint]: ...

    def routes(self, files: list[int]) -> list[bytes]: ...


class _CacheSource:
    """Files' fingerprints read back from their rows in the session's fingerprint cache."""

    def __init__(self, path: Path, table: FileTable, stamps: Stamps, settings_key: str) -> None:
        self.path, self.table, self.stamps, self.key = path, table, stamps, settings_key

    def _wanted(self, files: list[int]) -> list[tuple[int, str, str, int, int]]:
        t, s = self.table, self.stamps
        return list(zip(s.rowid[files].tolist(), [t.paths[i] for i in files],
                        [d.decode("ascii") for d in s.digest[files].tolist()], t.size[files].tolist(),
                        t.mtime_ns[files].tolist(), strict=True))

    def fingerprints(self, files: list[int]) -> list[Fingerprint]:
        if not files:
            return []
        with FingerprintCache(self.path) as cache:
            out = cache.fingerprints_by_rowid(self._wanted(files), self.key)
        for fp in out:
            fp.format, fp.mode = sys.intern(fp.format), sys.intern(fp.mode)
        return out

    def routes(self, files: list[int]) -> list[bytes]:
        if not files:
            return []
        out: list[bytes] = []
        with FingerprintCache(self.path) as cache:
            for start in range(0, len(files), 65536):
                out += cache.routes_by_rowid(self._wanted(files[start:start + 65536]), self.key)
        return out


class _MemorySource:
    """Fingerprints in memory, file ``i`` being ``fps[i]``."""

    def __init__(self, fps: list[Fingerprint]) -> None:
        self.fps = fps

    def fingerprints(self, files: list[int]) -> list[Fingerprint]:
        return [self.fps[i] for i in files]

    def routes(self, files: list[int]) -> list[bytes]:
        return [self.fps[i].routes for i in files]


def _expand_to_nodes(hpairs: Pairs, inverse: np.ndarray, n_hashes: int) -> Pairs:
    """Pairs of hash values to pairs of contents (several contents may share a hash value)."""
    n_nodes = len(inverse)
    if n_nodes == 0:
        return Pairs.empty()
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=n_hashes)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    # Contents sharing one hash value are at distance 0 from each other.
    for h in np.nonzero(counts > 1)[0].tolist():
        members = np.sort(order[starts[h]:starts[h] + counts[h]])
        a, b = np.triu_indices(len(members), k=1)
        out_i.append(members[a])
        out_j.append(members[b])
        out_d.append(np.zeros(len(a), dtype=np.int32))
    if len(hpairs):
        single = (counts[hpairs.i] == 1) & (counts[hpairs.j] == 1)
        si, sj = order[starts[hpairs.i[single]]], order[starts[hpairs.j[single]]]
        out_i.append(np.minimum(si, sj))
        out_j.append(np.maximum(si, sj))
        out_d.append(hpairs.d[single])
        for hi, hj, d in zip(hpairs.i[~single].tolist(), hpairs.j[~single].tolist(), hpairs.d[~single].tolist(),
                             strict=True):
            ai = order[starts[hi]:starts[hi] + counts[hi]]
            aj = order[starts[hj]:starts[hj] + counts[hj]]
            grid_i, grid_j = np.meshgrid(ai, aj, indexing="ij")
            gi, gj = grid_i.ravel(), grid_j.ravel()
            out_i.append(np.minimum(gi, gj))
            out_j.append(np.maximum(gi, gj))
            out_d.append(np.full(len(gi), d, dtype=np.int32))
    if not out_i:
        return Pairs.empty()
    return Pairs(np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64),
                 np.concatenate(out_d).astype(np.int32))
