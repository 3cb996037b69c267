"""The exact engine: multi-index hashing (see :mod:`imgreview.scan.search`); finds every pair."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from imgreview.fs import cpu_count
from imgreview.scan.search.hashes import Pairs, Progress, hamming

# ``auto`` uses the exact engine while its estimated work per hash (bucket probes + candidate
# checks, see :func:`plan_chunks`) stays below this budget. Measured on a 2-core machine
# (bench/index_bench.py, docs/benchmarks.md): the exact engine does about 1.5e8 work units per
# CPU second, NGT (build + k=30 search) costs about 0.6 ms CPU per hash, i.e. ~1e5 units; so above
# this budget NGT is the faster engine. With it, 1M 64-bit hashes at threshold 10 use exact.
EXACT_BUDGET = 80_000
# Relative cost of verifying one candidate versus probing one bucket (measured, bench/index_bench.py).
_CANDIDATE_COST = 3.0
_BLOCK_ELEMENTS = 1 << 20  # probes per vectorised step (bounds temporary memory)


def _chunk_bounds(nbits: int, m: int) -> list[tuple[int, int]]:
    """Split bit positions 0..nbits into ``m`` contiguous chunks of near-equal width."""
    edges = [round(k * nbits / m) for k in range(m + 1)]
    return [(edges[k], edges[k + 1]) for k in range(m)]


def _n_masks(bits: int, radius: int) -> int:
    return sum(math.comb(bits, r) for r in range(radius + 1))


def _radii(m: int, threshold: int) -> list[int]:
    """Per-chunk search radii by the generalised pigeonhole principle.

    If two hashes differ in more than ``r_c`` bits on every chunk ``c``, they differ in at least
    ``sum(r_c) + m`` bits; so radii summing to ``threshold - m + 1`` miss no pair within the
    threshold. The remainder goes to the first (widest or equal) chunks.
    """
    total = max(0, threshold - m + 1)
    base, extra = divmod(total, m)
    return [base + (1 if c < extra else 0) for c in range(m)]


def _plan_cost(n: int, nbits: int, threshold: int, m: int) -> float:
    cost = 0.0
    for (lo, hi), r in zip(_chunk_bounds(nbits, m), _radii(m, threshold), strict=True):
        width = hi - lo
        cost += n * _n_masks(width, r) * (1 + _CANDIDATE_COST * n / 2**width)
    return cost


def plan_chunks(n: int, nbits: int, threshold: int) -> tuple[int, float]:
    """Number of chunks minimising the estimated work (bucket probes + candidates), and that estimate."""
    best: tuple[float, int] | None = None
    for m in range(1, nbits + 1):
        width = math.ceil(nbits / m)
        if width > 24:  # bucket table of 2^width entries
            continue
        cost = _plan_cost(n, nbits, threshold, m)
        if best is None or cost < best[0]:
            best = (cost, m)
        if width <= 8:
            break
    assert best is not None
    return best[1], best[0]


def plan_cross_chunks(n_targets: int, n_queries: int, nbits: int, threshold: int) -> int:
    """Number of chunks for :func:`exact_cross_pairs`: the work is the queries' bucket probes and
    the candidates they meet in tables over the targets (plus building the tables), so a few
    queries against many targets (or many against few) plan apart from a self-search of the same size."""
    best: tuple[float, int] | None = None
    for m in range(1, nbits + 1):
        width = math.ceil(nbits / m)
        if width > 24:
            continue
        cost = 0.0
        for (lo, hi), r in zip(_chunk_bounds(nbits, m), _radii(m, threshold), strict=True):
            w = hi - lo
            probes = n_queries * _n_masks(w, r)
            cost += probes * (1 + _CANDIDATE_COST * n_targets / 2**w) + n_targets + 2**w / 8
        if best is None or cost < best[0]:
            best = (cost, m)
        if width <= 8:
            break
    assert best is not None
    return best[1]


def exact_work_per_hash(n: int, nbits: int, threshold: int) -> float:
    """The exact engine's estimated work per hash (units of :data:`EXACT_BUDGET` ≈ 0.5 ms CPU)."""
    n = max(n, 2)
    _, cost = plan_chunks(n, nbits, threshold)
    return cost / n


def choose_engine(n: int, nbits: int, threshold: int) -> str:
    """The engine ``auto`` uses: always the exact engine.

    ``auto`` may only pick NGT where NGT keeps at least 99.9 % of the exact engine's pairs, and no
    such setting was found at a usable cost (docs/benchmarks.md, "NGT recall"): with k=30, ε=0.1
    NGT found 99.87 % of the pairs of 100k 64-bit hashes at t=10 and 87.5 % at 1M (denser
    clusters than k); ε=0.3 reached 100 % at 100k but took 13 minutes, 300× the exact engine. So
    NGT runs only when asked for (``--engine ngt``), as an approximate engine, and in ``find``'s
    saved library. Where the exact engine's estimated work per hash exceeds :data:`EXACT_BUDGET`
    the scan is slow but complete (:func:`exact_work_per_hash` says how slow).
    """
    return "exact"


def _extract_chunk(hashes: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Bits ``lo..hi`` (big-endian positions across the words) as integers."""
    out = np.zeros(len(hashes), dtype=np.int64)
    pos = lo
    while pos < hi:
        word, bit = divmod(pos, 64)
        take = min(hi - pos, 64 - bit)  # bits from this word
        shift = np.uint64(64 - bit - take)
        part = (hashes[:, word] >> shift) & np.uint64((1 << take) - 1)
        out = (out << take) | part.astype(np.int64)
        pos += take
    return out


class _ChunkTable:
    """Bucket table of one chunk: items sorted by chunk value, with counts and start offsets."""

    def __init__(self, values: np.ndarray, hashes: np.ndarray, width: int) -> None:
        self.order = np.argsort(values, kind="stable")
        self.sorted_values = values[self.order]
        self.sorted_hashes = hashes[self.order]
        counts = np.bincount(values, minlength=1 << width)
        self.occupied = counts > 0
        self.counts = counts.astype(np.int32)
        self.starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


def _first_chunk_only(earlier: list[np.ndarray], radii: list[int], qi: np.ndarray, cand: np.ndarray,
                     d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs that no earlier chunk finds (within its radius): each pair is reported once."""
    first = np.ones(len(qi), dtype=bool)
    for e, values in enumerate(earlier):
        first &= np.bitwise_count(values[qi] ^ values[cand]) > radii[e]
    return qi[first], cand[first], d[first]


def exact_pairs(hashes: np.ndarray, nbits: int, threshold: int, progress: Progress | None = None,
                batch: int = 1 << 12, workers: int = 0) -> Pairs:
    """All pairs within ``threshold`` bits by multi-index hashing; query blocks run on ``workers`` threads.

    Queries run in the order of their chunk value, mask by mask, so the bucket probes sweep the
    table almost sequentially (cache friendly); an occupancy bitmap filters empty buckets first.
    """
    n = len(hashes)
    if n < 2:
        return Pairs.empty()
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    m, _ = plan_chunks(n, nbits, threshold)
    radii = _radii(m, threshold)
    bounds = _chunk_bounds(nbits, m)
    chunks = [_extract_chunk(hashes, lo, hi).astype(np.int32) for lo, hi in bounds]
    workers = workers or cpu_count()
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    total = m * n
    done = 0

    def search(c: int, table: _ChunkTable, masks: np.ndarray, b0: int, b1: int) -> list[tuple[np.ndarray, ...]]:
        found: list[tuple[np.ndarray, ...]] = []
        q_vals = table.sorted_values[b0:b1]
        q_ids = table.order[b0:b1]
        nq = b1 - b0
        group = max(1, _BLOCK_ELEMENTS // nq)
        q_hashes = table.sorted_hashes[b0:b1]
        for g0 in range(0, len(masks), group):
            keys = (masks[g0 : g0 + group, None] ^ q_vals[None, :]).ravel()
            hit = np.flatnonzero(table.occupied[keys])
            if len(hit) == 0:
                continue
            keys = keys[hit]
            cnt = table.counts[keys].astype(np.int64)
            q_pos = np.repeat(hit % nq, cnt)
            ends = np.cumsum(cnt)
            offsets = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - cnt - table.starts[keys], cnt)
            # Each pair is probed from both sides; keep the probe from the lower table position.
            keep = offsets > q_pos + b0
            q_pos, offsets = q_pos[keep], offsets[keep]
            if len(q_pos) == 0:
                continue
            d = hamming(q_hashes[q_pos], table.sorted_hashes[offsets])
            ok = np.flatnonzero(d <= threshold)
            if len(ok) == 0:
                continue
            a_ids, b_ids, d = q_ids[q_pos[ok]], table.order[offsets[ok]], d[ok]
            qi, cand = np.minimum(a_ids, b_ids), np.maximum(a_ids, b_ids)
            if c > 0:
                qi, cand, d = _first_chunk_only(chunks[:c], radii, qi, cand, d)
            if len(qi):
                found.append((qi, cand, d))
        return found

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for c, (lo, hi) in enumerate(bounds):
            table = _ChunkTable(chunks[c], hashes, hi - lo)
            masks = np.asarray(_flip_masks(hi - lo, radii[c]), dtype=np.int32)
            blocks = [(b0, min(n, b0 + batch)) for b0 in range(0, n, batch)]
            results: Iterator[list[tuple[np.ndarray, ...]]]
            if workers == 1:
                results = (search(c, table, masks, b0, b1) for b0, b1 in blocks)
            else:
                results = pool.map(lambda b, c=c, t=table, m=masks: search(c, t, m, *b), blocks)
            for (b0, b1), found in zip(blocks, results, strict=True):
                for qi, cand, d in found:
                    out_i.append(qi)
                    out_j.append(cand)
                    out_d.append(d)
                done += b1 - b0
                if progress:
                    progress(done, total)
            del table
    if not out_i:
        return Pairs.empty()
    return Pairs(np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d).astype(np.int32))


def _flip_masks(width: int, radius: int) -> list[int]:
    masks = [0]
    for r in range(1, radius + 1):
        for combo in itertools.combinations(range(width), r):
            v = 0
            for b in combo:
                v |= 1 << b
            masks.append(v)
    return masks


def exact_cross_pairs(targets: np.ndarray, queries: np.ndarray, nbits: int, threshold: int,
                      batch: int = 1 << 12) -> Pairs:
    """Every (query, target) within ``threshold`` bits: ``i`` indexes ``queries``, ``j`` ``targets``.

    Multi-index hashing as in :func:`exact_pairs`, with the bucket tables built over the targets
    only and probed by the queries (the variant hashes of :mod:`imgreview.scan.variants`), so the
    work grows with (queries + targets), never with their product.
    """
    if len(targets) == 0 or len(queries) == 0:
        return Pairs.empty()
    targets = np.ascontiguousarray(targets, dtype=np.uint64)
    queries = np.ascontiguousarray(queries, dtype=np.uint64)
    m = plan_cross_chunks(len(targets), len(queries), nbits, threshold)
    radii = _radii(m, threshold)
    bounds = _chunk_bounds(nbits, m)
    t_chunks = [_extract_chunk(targets, lo, hi).astype(np.int32) for lo, hi in bounds]
    q_chunks = [_extract_chunk(queries, lo, hi).astype(np.int32) for lo, hi in bounds]
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    for c, (lo, hi) in enumerate(bounds):
        table = _ChunkTable(t_chunks[c], targets, hi - lo)
        masks = np.asarray(_flip_masks(hi - lo, radii[c]), dtype=np.int32)
        for b0 in range(0, len(queries), batch):
            q_vals = q_chunks[c][b0:b0 + batch]
            nq = len(q_vals)
            group = max(1, _BLOCK_ELEMENTS // nq)
            for g0 in range(0, len(masks), group):
                keys = (masks[g0:g0 + group, None] ^ q_vals[None, :]).ravel()
                hit = np.flatnonzero(table.occupied[keys])
                if len(hit) == 0:
                    continue
                keys = keys[hit]
                cnt = table.counts[keys].astype(np.int64)
                q_pos = np.repeat(hit % nq, cnt) + b0
                ends = np.cumsum(cnt)
                offsets = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - cnt - table.starts[keys], cnt)
                d = hamming(queries[q_pos], table.sorted_hashes[offsets])
                ok = np.flatnonzero(d <= threshold)
                if len(ok) == 0:
                    continue
                qi, tj, d = q_pos[ok], table.order[offsets[ok]], d[ok]
                first = np.ones(len(qi), dtype=bool)
                for e in range(c):  # report each pair from the first chunk within its radius only
                    first &= np.bitwise_count(q_chunks[e][qi] ^ t_chunks[e][tj]) > radii[e]
                if first.any():
                    out_i.append(qi[first])
                    out_j.append(tj[first])
                    out_d.append(d[first])
    if not out_i:
        return Pairs.empty()
    return Pairs(np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64),
                 np.concatenate(out_d).astype(np.int32))
