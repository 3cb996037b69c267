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
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from imgreview import __version__
from imgreview.errors import EXIT_INTERRUPTED, ImgreviewError
from imgreview.fs import within_any
from imgreview.labels import DatasetError, Labeller, Layout, annotate
from imgreview.model import FileError, Group, Member, ScanResult
from imgreview.scan import incremental, quality
from imgreview.scan.cache import FingerprintCache
from imgreview.scan.candidates import (
    Candidate,
    Evidence,
    merge_candidates,
    needs_mirror,
    route_candidates,
    route_threshold,
    verify_candidates,
)
from imgreview.scan.executors import make_executor
from imgreview.scan.fingerprint import Failure, Fingerprint
from imgreview.scan.grouping import Cluster, reference_groups
from imgreview.scan.incremental import PAIRS_NAME, PairStore, StoreDamaged, rules_key
from imgreview.scan.localfeat import MIRROR_RECIPE, RECIPE, Features, features_of_file
from imgreview.scan.reuse import grouping_key, previous_groups, previous_store
from imgreview.scan.search import Pairs, choose_engine, find_pairs, to_words
from imgreview.scan.verify import Signatures
from imgreview.scan.walk import FileEntry, WalkOptions, resolve_roots, walk
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


@dataclass(slots=True)
class _Content:
    """One distinct file content (digest) and the files that have it."""

    digest: str
    hash: bytes
    files: list[tuple[Fingerprint, FileEntry]]


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
    walked = walk(roots, WalkOptions(hidden=settings.hidden, follow_links=settings.follow_links,
                                     excludes=settings.excludes, skip_dirs=(str(session.path),)))
    entries = {e.path: e for e in walked.files}
    report("walk", len(entries), len(entries))

    key = settings.hash.key
    fingerprints: dict[str, Fingerprint] = {}
    failures: dict[str, Failure] = {}
    todo: list[str] = []
    hashed = vanished = 0
    with FingerprintCache(session.cache_path) as cache:
        cached = cache.lookup(key)
        for path, entry in entries.items():
            hit = cached.get(path)
            if hit is not None and hit[0] == entry.size and hit[1] == entry.mtime_ns and not _needs_quality(hit[2]):
                item = hit[2]
                item.path = path  # one string per file: the walk's, not a second copy from the cache
                if isinstance(item, Fingerprint):
                    item.format, item.mode = sys.intern(item.format), sys.intern(item.mode)  # a few values
                    fingerprints[path] = item
                else:
                    failures[path] = item
            else:
                todo.append(path)
        del cached  # the look-up's dict, tuples and paths: ~0.3 KB per file, not needed from here on
        gone = [p for p in cache.paths() if p not in entries and within_any(p, roots)]
        vanished = cache.forget(gone) if gone else 0

        total = len(todo)
        report("hash", 0, total)
        pending: list[Fingerprint | Failure] = []
        early = _EarlyFeatures(session.cache_path.with_name("features.sqlite"))
        last_store = time.monotonic()
        try:
            for item in executor.fingerprint(todo, replace(settings.hash, with_features=settings.verify)):
                pending.append(item)
                hashed += 1
                if isinstance(item, Fingerprint):
                    fingerprints[item.path] = item
                    early.take(item)
                else:
                    failures[item.path] = item
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

    journal = session.journal(read_only=True)
    distinct = journal.distinct_pairs()
    key = grouping_key(roots, entries, fingerprints, settings, distinct)
    result, extra, copied = _grouped(roots, entries, fingerprints, settings, distinct, report, session, key,
                                     keep_groups)
    carried = extra.pop("dataset", None) or {}
    extra["grouping_key"] = key
    errors = [FileError(path, reason) for path, reason in walked.errors]
    errors += [FileError(f.path, f.error) for f in sorted(failures.values(), key=lambda f: f.path)]
    result.errors = errors
    result.aliases = walked.alias_sets
    files = sum(1 + len(e.aliases) for e in entries.values())
    result.stats.update({
        "files": files,
        "images": len(fingerprints),
        "hashed": hashed,
        "cached": len(entries) - hashed,
        "vanished": vanished,
        "errors": len(errors),
        "skipped_links": walked.skipped_links,
        "aliases": sum(len(a) - 1 for a in walked.alias_sets),
        **extra,
        "seconds": round(time.monotonic() - started, 3),
    })
    annotate(result, labeller=labeller, images=((p, entries[p].root) for p in sorted(fingerprints)))
    result.quality = quality_report(fingerprints, entries, labeller)
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


def _grouped(roots: list[str], entries: dict[str, FileEntry], fingerprints: dict[str, Fingerprint],
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
    result, extra = build_groups(roots, entries, fingerprints, settings, distinct, report,
                                 feature_cache=session.cache_path.with_name("features.sqlite"),
                                 pairs_path=session.path / PAIRS_NAME)
    extra["reused_groups"] = False
    return result, extra, None


def build_groups(roots: list[str], entries: dict[str, FileEntry], fingerprints: dict[str, Fingerprint],
                 settings: ScanSettings, distinct: set[tuple[str, str]] | None = None,
                 report: Progress | None = None, feature_cache: Path | None = None,
                 pairs_path: Path | None = None) -> tuple[ScanResult, dict[str, object]]:
    """Exact groups by digest, near groups by hash distance (verified, no chaining).

    ``pairs_path``: the session's pair store (:mod:`imgreview.scan.incremental`): when it was built
    under the same rules, only the pairs of new contents are searched and verified and only the
    components they touch regrouped (the same result); either way it is brought up to date.
    """
    report = report or (lambda stage, done, total: None)
    distinct = distinct or set()
    threshold = settings.effective_threshold
    contents: dict[str, _Content] = {}
    for path in sorted(fingerprints):
        fp = fingerprints[path]
        c = contents.get(fp.digest)
        if c is None:
            contents[fp.digest] = c = _Content(fp.digest, fp.hash, [])
        c.files.append((fp, entries[path]))
    nodes = sorted(contents.values(), key=lambda c: c.digest)
    n = len(nodes)
    extra: dict[str, object] = {"threshold": threshold}
    words = to_words([c.hash for c in nodes]) if n else np.zeros((0, 1), dtype=np.uint64)
    digests = [c.digest for c in nodes]
    timings: dict[str, float] = {}
    engine = choose_engine(n, settings.hash.bits, threshold) if settings.engine == "auto" else settings.engine

    def verify(cands: dict[tuple[int, int], Candidate]) -> dict[tuple[int, int], Evidence]:
        return _verified(nodes, cands, settings, threshold, report, feature_cache, extra, timings)

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
                    store, rules, digests, [c.hash for c in nodes], words,
                    [c.files[0][0].routes for c in nodes] if settings.hash.algorithm == "phash" else None,
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
            clusters, cands, evidence = _full_graph(nodes, words, settings, threshold, distinct, report, extra,
                                                    verify, timings)
            if store is not None:
                started = time.monotonic()
                try:
                    if engine == "exact":
                        store.write_full(rules, digests, [c.hash for c in nodes], cands, evidence, clusters)
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
    groups = _groups(nodes, clusters, cands, evidence)
    report("group", 1, 1)
    return _result(roots, settings, groups), extra


def _distinct_hashes(words: np.ndarray) -> int:
    if len(words) == 0:
        return 0
    if words.shape[1] == 1:
        return len(np.unique(words[:, 0]))
    return len(np.unique(words, axis=0))


def _full_graph(nodes: list[_Content], words: np.ndarray, settings: ScanSettings, threshold: int,
                distinct: set[tuple[str, str]], report: Progress, extra: dict[str, object],
                verify: Callable[[dict[tuple[int, int], Candidate]], dict[tuple[int, int], Evidence]],
                timings: dict[str, float]
                ) -> tuple[list[Cluster], dict[tuple[int, int], Candidate], dict[tuple[int, int], Evidence]]:
    """The whole pair search, verification and grouping: the groups, every candidate pair and the
    evidence of the accepted ones."""
    n = len(nodes)
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
        digests = [c.digest for c in nodes]
        keep = np.array([(min(digests[a], digests[b]), max(digests[a], digests[b])) not in distinct
                         for a, b in zip(pairs.i.tolist(), pairs.j.tolist(), strict=True)], dtype=bool)
        pairs = Pairs(pairs.i[keep], pairs.j[keep], pairs.d[keep])
    routed = []
    if settings.hash.algorithm == "phash" and n > 1:
        routed = route_candidates([c.files[0][0].routes for c in nodes], words, settings.hash.bits,
                                  route_threshold(threshold))
        if distinct:
            digests = [c.digest for c in nodes]
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
    clusters = reference_groups(n, pairs, [c.digest for c in nodes])
    timings["group"] = time.monotonic() - started
    return clusters, cands, evidence


def _verified(nodes: list[_Content], cands: dict[tuple[int, int], Candidate], settings: ScanSettings,
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
    fps = [nodes[x].files[0][0] for x in items]
    sig = Signatures.from_bytes([f.lowinfo for f in fps], [f.gray for f in fps], [f.color for f in fps])
    report("verify", 0, len(sub))
    source = _FeatureSource([f.path for f in fps], [(f.size, f.mtime_ns) for f in fps], feature_cache,
                            settings.effective_jobs, mirrored=mirror_sides(sub))
    accepted = verify_candidates(sub, sig, threshold, source, workers=settings.effective_jobs,
                                 short_sides=[min(f.width, f.height) for f in fps])
    report("verify", len(sub), len(sub))
    extra["features_computed"] = int(str(extra.get("features_computed", 0))) + source.computed
    timings["verify"] = timings.get("verify", 0.0) + time.monotonic() - started
    return {(items[k[0]], items[k[1]]): accepted[k][1] for k in sorted(accepted)}


def _groups(nodes: list[_Content], clusters: list[Cluster], cands: dict[tuple[int, int], Candidate],
            evidence: dict[tuple[int, int], Evidence]) -> list[Group]:
    """The groups of ``clusters`` (near) and of identical files outside them (exact), in the scan's order."""
    in_cluster = {m for cl in clusters for m, _ in cl.members}
    groups: list[Group] = []
    for cl in clusters:
        members: list[Member] = []
        max_d = max((dist for _, dist in cl.members), default=0)
        for node, dist in cl.members:
            c = nodes[node]
            ev = None if node == cl.reference else _oriented(evidence.get((min(node, cl.reference),
                                                                             max(node, cl.reference))),
                                                                node, cands.get((min(node, cl.reference),
                                                                                 max(node, cl.reference))))
            for k, (fp, entry) in enumerate(c.files):
                member = _member(fp, entry, dist, exact=len(c.files) > 1)
                if ev is not None:
                    member.evidence = ev
                elif k > 0:
                    member.evidence = {"signal": "exact", "summary": "identical file"}
                members.append(member)
        ref = nodes[cl.reference]
        groups.append(Group(id="g" + ref.digest[:12], kind="near", max_distance=int(max_d),
                            reference=ref.files[0][0].path, members=members))
    for node, c in enumerate(nodes):
        if len(c.files) > 1 and node not in in_cluster:
            members = [_member(fp, entry, 0, exact=True) for fp, entry in c.files]
            groups.append(Group(id="g" + c.digest[:12], kind="exact", max_distance=0,
                                reference=c.files[0][0].path, members=members))
    groups.sort(key=lambda g: (g.reference, g.id))
    return groups


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


def _member(fp: Fingerprint, entry: FileEntry, distance: int, exact: bool) -> Member:
    return Member(
        path=fp.path, digest=fp.digest, distance=int(distance), size=fp.size, width=fp.width,
        height=fp.height, format=fp.format, mode=fp.mode, mtime=fp.mtime_ns / 1e9, taken=fp.taken,
        camera=fp.camera, root=entry.root, exact=exact, aliases=list(entry.aliases),
        meta=json.loads(fp.meta) if fp.meta else None,
    )


def _needs_quality(item: Fingerprint | Failure) -> bool:
    """A fingerprint cached by a version without quality statistics is computed again."""
    return isinstance(item, Fingerprint) and not item.quality


def quality_report(fingerprints: dict[str, Fingerprint], entries: dict[str, FileEntry],
                   labeller: Labeller) -> list[dict[str, object]]:
    """The quality flags of every image (relative to its label), for the images with an issue."""
    items: list[tuple[str, quality.Stats, str | None]] = []
    for path in sorted(fingerprints):
        try:
            stats, _ = quality.decode(fingerprints[path].quality)
        except ValueError:
            continue
        label, _split = labeller.classify(path, entries[path].root)
        items.append((path, stats, label))
    return quality.report(items)


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
