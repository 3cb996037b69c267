"""Pictures unlike the rest of their label: a per-label outlier score on cheap features.

Features: the 48 numbers :func:`imgreview.triage.quality.measure` takes from the scan's thumbnail
(colour histogram, gradient orientation and magnitude histograms, brightness layout, global
statistics). Within one label each feature is standardised robustly (median, MAD), and a
picture's score is its mean distance to its ``k`` nearest neighbours in the label divided by the
label's median of that distance: about 1 for a typical picture, 2+ for one far from every other.

Limits: the features see colour, brightness layout and texture, not meaning. A storefront among
ramen bowls stands out (other colours, straight edges); a different dish of the same colours does
not. Labels of several visual kinds (day and night shots) have several clusters, and a picture
alone in its kind is an outlier even when it belongs. The neighbour search is exact, in blocks
(memory ``block × n``, never ``n × n``); time grows as n² per label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

K = 5
BLOCK = 1024


def standardise(x: np.ndarray) -> np.ndarray:
    """Robust z-scores per column (median / 1.4826·MAD, a floor keeps constant columns at 0)."""
    x = np.asarray(x, dtype=np.float32)
    med = np.median(x, axis=0)
    mad = np.median(np.abs(x - med), axis=0) * 1.4826
    scale = np.maximum(mad, np.maximum(x.std(axis=0) * 0.5, 1e-3))
    out: np.ndarray = (x - med) / scale
    return out


def knn_distance(x: np.ndarray, k: int = K, block: int = BLOCK) -> np.ndarray:
    """Mean Euclidean distance of each row to its ``k`` nearest other rows (blocked)."""
    n = len(x)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    k = min(k, n - 1)
    sq = (x * x).sum(axis=1)
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * (x[start:stop] @ x.T)
        d2[np.arange(stop - start), np.arange(start, stop)] = np.inf
        part = np.partition(np.maximum(d2, 0), k - 1, axis=1)[:, :k]
        out[start:stop] = np.sqrt(part).mean(axis=1)
    return out


def outlier_scores(features: np.ndarray, labels: Sequence[str | None], k: int = K) -> np.ndarray:
    """One score per row: kNN distance within its label over the label's median (labels of < 3: 0)."""
    features = np.asarray(features, dtype=np.float32)
    scores = np.zeros(len(features), dtype=np.float32)
    groups: dict[str | None, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    for idx in groups.values():
        if len(idx) < 3:
            continue
        ix = np.asarray(idx)
        d = knn_distance(standardise(features[ix]), k)
        med = float(np.median(d))
        scores[ix] = d / med if med > 0 else 0.0
    return scores
