"""The NGT engine: a graph index (``ngtpy``) with the Hamming distance; approximate, every result verified."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import numpy as np

from imgreview.fs import cpu_count
from imgreview.scan.search.hashes import Pairs, Progress, hamming

NGT_K = 30  # neighbours searched per hash
NGT_EPSILON = 0.1  # search breadth (ngtpy's epsilon)


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
            threads = self.threads or cpu_count()
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
