"""Find every pair of hashes within a Hamming threshold, without an N×N matrix.

Two engines share one interface, :func:`find_pairs`:

* ``exact`` — multi-index hashing. The bits are split into ``m`` chunks with radii ``r_c``
  summing to ``t - m + 1``; by the (generalised) pigeonhole principle two hashes within ``t``
  bits agree within ``r_c`` bits on at least one chunk ``c``. Each chunk value is looked up with
  every flip pattern of up to ``r_c`` bits in a bucket table, and every candidate is verified by
  an exact popcount of the XOR. Each pair is reported by the first chunk that finds it, so no
  deduplication pass is needed. Finds all pairs. Query blocks run on a small thread pool.
* ``ngt`` — an NGT graph index (``ngtpy``) over the packed hash bytes with the Hamming distance,
  searched for the ``k`` nearest neighbours of every hash within the threshold radius; every
  result is verified the same way. Approximate: recall is measured against ``exact``.

``auto`` estimates the exact engine's work per hash from the number of hashes, the hash length and
the threshold, and uses NGT only where that work costs more than NGT's measured time per hash
(in practice: large thresholds; 1M 64-bit hashes at threshold 10 stay exact).

Hashes come as a ``(N, W)`` array of ``uint64`` words; input should hold distinct values (the
scan collapses identical hashes first).
"""

from __future__ import annotations

import itertools
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

Progress = Callable[[int, int], None]

# ``auto`` uses the exact engine while its estimated work per hash (bucket probes + candidate
# checks, see :func:`plan_chunks`) stays below this budget. Measured on a 2-core machine
# (bench/index_bench.py, docs/benchmarks.md): the exact engine does about 1.5e8 work units per
# CPU second, NGT (build + k=30 search) costs about 0.6 ms CPU per hash, i.e. ~1e5 units; so above
# this budget NGT is the faster engine. With it, 1M 64-bit hashes at threshold 10 use exact.
EXACT_BUDGET = 80_000
NGT_K = 30
NGT_EPSILON = 0.1


@dataclass(slots=True)
class Pairs:
    """Pairs ``(i[k], j[k])`` with ``i < j`` at Hamming distance ``d[k]``."""

    i: np.ndarray
    j: np.ndarray
    d: np.ndarray

    def __len__(self) -> int:
        return len(self.i)

    @classmethod
    def empty(cls) -> Pairs:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), np.zeros(0, dtype=np.int32))

    def as_set(self) -> set[tuple[int, int]]:
        return set(zip(self.i.tolist(), self.j.tolist(), strict=True))


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distance of two ``(N, W)`` uint64 arrays."""
    return np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=-1, dtype=np.int32)


def to_words(packed: list[bytes] | np.ndarray) -> np.ndarray:
    """Packed big-endian hash bytes (a multiple of 8 each) to a ``(N, W)`` uint64 array."""
    if isinstance(packed, np.ndarray):
        arr = packed
    else:
        if not packed:
            return np.zeros((0, 1), dtype=np.uint64)
        arr = np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(len(packed), -1)
    return arr.view(">u8").astype(np.uint64).reshape(arr.shape[0], -1)


def find_pairs(
    hashes: np.ndarray, nbits: int, threshold: int, engine: str = "auto", progress: Progress | None = None
) -> tuple[Pairs, str]:
    """All pairs within ``threshold`` bits; returns the pairs and the engine actually used."""
    if engine == "auto":
        engine = choose_engine(len(hashes), nbits, threshold)
    if len(hashes) < 2:
        return Pairs.empty(), engine
    if engine == "exact":
        return exact_pairs(hashes, nbits, threshold, progress), engine
    if engine == "ngt":
        return ngt_pairs(hashes, nbits, threshold, progress=progress), engine
    raise ValueError(f"unknown engine {engine!r}")


# --------------------------------------------------------------------------- exact engine

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


def choose_engine(n: int, nbits: int, threshold: int) -> str:
    """The engine ``auto`` uses: exact unless its estimated work per hash exceeds :data:`EXACT_BUDGET`."""
    n = max(n, 2)
    _, cost = plan_chunks(n, nbits, threshold)
    return "exact" if cost / n <= EXACT_BUDGET else "ngt"


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


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
    workers = workers or _default_workers()
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
            if c > 0 and len(qi):
                # Report each pair once: only from the first chunk within its radius.
                first_chunk = np.ones(len(qi), dtype=bool)
                for e in range(c):
                    diff = np.bitwise_count(chunks[e][qi] ^ chunks[e][cand])
                    first_chunk &= diff > radii[e]
                qi, cand, d = qi[first_chunk], cand[first_chunk], d[first_chunk]
            if len(qi):
                found.append((qi, cand, d))
        return found

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for c, (lo, hi) in enumerate(bounds):
            table = _ChunkTable(chunks[c], hashes, hi - lo)
            masks = np.asarray(_flip_masks(hi - lo, radii[c]), dtype=np.int32)
            blocks = [(b0, min(n, b0 + batch)) for b0 in range(0, n, batch)]
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


# --------------------------------------------------------------------------- NGT engine


def ngt_pairs(hashes: np.ndarray, nbits: int, threshold: int, k: int = NGT_K, epsilon: float = NGT_EPSILON,
              progress: Progress | None = None, threads: int = 0, timings: dict[str, float] | None = None) -> Pairs:
    """Pairs found by NGT k-nearest-neighbour search, each verified exactly.

    ``timings``, when given, receives the seconds spent in ``build`` and ``search``.
    """
    started = time.perf_counter()
    index = NgtIndex(hashes.shape[1] * 8, threads=threads)
    try:
        index.add(hashes)
        built = time.perf_counter()
        if timings is not None:
            timings["build"] = built - started
        n = len(hashes)
        out_i: list[np.ndarray] = []
        out_j: list[np.ndarray] = []
        batch = 20_000
        for b0 in range(0, n, batch):
            ids, _ = index.search(hashes[b0 : b0 + batch], k=k, epsilon=epsilon, radius=threshold)
            q = np.repeat(np.arange(b0, b0 + len(ids), dtype=np.int64), [len(r) for r in ids])
            c = np.concatenate([np.asarray(r, dtype=np.int64) for r in ids]) if len(q) else q
            out_i.append(np.minimum(q, c))
            out_j.append(np.maximum(q, c))
            if progress:
                progress(min(n, b0 + batch), n)
        i = np.concatenate(out_i)
        j = np.concatenate(out_j)
        keep = i != j
        key = np.unique(i[keep] * n + j[keep])
        i, j = key // n, key % n
        d = hamming(hashes[i], hashes[j])
        ok = d <= threshold
        if timings is not None:
            timings["search"] = time.perf_counter() - built
        return Pairs(i[ok], j[ok], d[ok].astype(np.int32))
    finally:
        index.close()


class NgtIndex:
    """An NGT Hamming index over packed hash bytes; ids are row numbers in insertion order.

    Also serves queries of new images against a saved library (:meth:`save` / :meth:`open`).
    """

    def __init__(self, nbytes: int, path: str | None = None, threads: int = 0) -> None:
        """A temporary index (``path`` None), or the index at ``path``, created there if missing."""
        import ngtpy

        self._tmp = None
        if path is None:
            self._tmp = tempfile.mkdtemp(prefix="imgreview-ngt-")
            path = self._tmp + "/index"
        if not os.path.exists(path):
            ngtpy.create(path, nbytes, distance_type="Hamming", object_type="Byte",
                         edge_size_for_creation=10, edge_size_for_search=40)
        self.path = path
        self.nbytes = nbytes
        self.threads = threads
        self.index = ngtpy.Index(path, log_disabled=True)

    def __len__(self) -> int:
        return int(self.index.get_num_of_objects())

    @staticmethod
    def _bytes(hashes: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(hashes.astype(">u8")).view(np.uint8).reshape(len(hashes), -1)

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes):
            threads = self.threads or max(1, os.cpu_count() or 1)
            self.index.batch_insert(self._bytes(hashes).astype(np.float32), num_threads=threads)

    def save(self) -> None:
        self.index.save()

    def search(self, hashes: np.ndarray, k: int, epsilon: float, radius: int | None = None
               ) -> tuple[list[list[int]], list[list[float]]]:
        """The ``k`` nearest neighbours of each hash (ids, distances), cut at ``radius`` bits if given.

        NGT's own ``search_radius`` setting loses true neighbours in a Hamming space (seen with
        ngt 2.8: a radius of 10.5 returned nothing for a point with neighbours at 0..10 bits),
        so the cut is applied to the results instead.
        """
        import ngtpy

        self.index.set(num_of_search_objects=k, epsilon=epsilon)
        results = ngtpy.BatchResults()
        self.index.batch_search(self._bytes(hashes).astype(np.float32), results, k, True)
        ids: list[list[int]] = []
        dists: list[list[float]] = []
        for q in range(results.get_size()):
            row = [r for r in results.get(q) if radius is None or r[1] <= radius]
            ids.append([int(r[0]) for r in row])
            dists.append([float(r[1]) for r in row])
        return ids, dists

    def close(self) -> None:
        try:
            self.index.close()
        except Exception:
            pass
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
