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

``auto`` is the exact engine: NGT's recall was below 99.9 % wherever it was measured at a usable
cost (99.87 % at 100k, 87.5 % at 1M 64-bit hashes, t=10), so it runs only when asked for
(:func:`~imgreview.scan.search.exact.choose_engine` says why).

Hashes come as a ``(N, W)`` array of ``uint64`` words; input should hold distinct values (the
scan collapses identical hashes first).
"""

from __future__ import annotations

import numpy as np

from imgreview.scan.search.exact import (
    EXACT_BUDGET,
    choose_engine,
    exact_cross_pairs,
    exact_pairs,
    plan_chunks,
)
from imgreview.scan.search.hashes import Pairs, Progress, hamming, to_words
from imgreview.scan.search.ngt import NGT_EPSILON, NGT_K, NgtIndex, ngt_pairs


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


__all__ = ["EXACT_BUDGET", "NGT_EPSILON", "NGT_K", "NgtIndex", "Pairs", "Progress", "choose_engine", "exact_cross_pairs", "exact_pairs",
           "find_pairs", "hamming", "ngt_pairs", "plan_chunks", "to_words"]
