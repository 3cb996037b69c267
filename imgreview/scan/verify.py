"""Verify candidate pairs found by hash distance, with a second, independent signal.

A perceptual hash throws most of a picture away, so two different pictures can land within the
threshold. Every candidate pair is checked against the small signatures stored with each
fingerprint (see :mod:`imgreview.fingerprint`):

* Low-information pictures (flat fills, empty layers, smooth gradients) have degenerate hashes
  that match each other regardless of colour. A pair involving one is accepted only if *both*
  are low-information and their 4×4 colour and 16×16 grey signatures agree closely.
* Other pairs must have correlated 16×16 grey signatures (Pearson correlation). Correlation is
  indifferent to brightness, contrast and colour changes, so resized, re-encoded, brightened or
  greyscaled copies keep passing, while unrelated pictures that collide in hash space do not.

The thresholds come from the accuracy benchmark (``bench/accuracy.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_CORRELATION = 0.5
LOWINFO_COLOR_TOLERANCE = 10.0  # mean absolute difference, 0..255 levels, over the 4×4 RGB signature
LOWINFO_GRAY_TOLERANCE = 10.0


@dataclass(slots=True)
class Signatures:
    """Per-item signatures, row-aligned with the pair indices."""

    lowinfo: np.ndarray  # (N,) bool
    gray: np.ndarray  # (N, 256) uint8
    color: np.ndarray  # (N, 48) uint8

    @classmethod
    def from_bytes(cls, lowinfo: list[bool], gray: list[bytes], color: list[bytes]) -> Signatures:
        n = len(lowinfo)
        return cls(
            lowinfo=np.asarray(lowinfo, dtype=bool),
            gray=np.frombuffer(b"".join(gray), dtype=np.uint8).reshape(n, -1) if n else np.zeros((0, 256), np.uint8),
            color=np.frombuffer(b"".join(color), dtype=np.uint8).reshape(n, -1) if n else np.zeros((0, 48), np.uint8),
        )


CORRELATION_ROWS = 32768  # rows correlated at a time: the float copies stay ~100 MB at 256 values a row


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of two ``(K, L)`` arrays; 0 where either row is constant.

    A block of rows at a time (each row's value depends on that row alone): at a million candidate
    pairs of 16×16 signatures the float copies of every row at once were ~3 GB."""
    if len(a) <= CORRELATION_ROWS:
        return _correlation(a, b)
    return np.concatenate([_correlation(a[k:k + CORRELATION_ROWS], b[k:k + CORRELATION_ROWS])
                           for k in range(0, len(a), CORRELATION_ROWS)])


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    num = (a * b).sum(axis=1)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0)
    return r


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=1)
    return out


def verify_pairs(i: np.ndarray, j: np.ndarray, sig: Signatures, min_correlation: float = MIN_CORRELATION,
                 batch: int = 1 << 16) -> np.ndarray:
    """Boolean mask over the pairs: True where the pair is confirmed a duplicate."""
    keep = np.zeros(len(i), dtype=bool)
    for b0 in range(0, len(i), batch):
        bi, bj = i[b0 : b0 + batch], j[b0 : b0 + batch]
        li, lj = sig.lowinfo[bi], sig.lowinfo[bj]
        both_low = li & lj
        neither = ~li & ~lj
        ok = np.zeros(len(bi), dtype=bool)
        if neither.any():
            r = correlation(sig.gray[bi[neither]], sig.gray[bj[neither]])
            ok[neither] = r >= min_correlation
        if both_low.any():
            ci = mean_abs_diff(sig.color[bi[both_low]], sig.color[bj[both_low]])
            gi = mean_abs_diff(sig.gray[bi[both_low]], sig.gray[bj[both_low]])
            ok[both_low] = (ci <= LOWINFO_COLOR_TOLERANCE) & (gi <= LOWINFO_GRAY_TOLERANCE)
        keep[b0 : b0 + batch] = ok
    return keep
