"""Packed perceptual hashes as ``uint64`` words, their Hamming distance, and a set of pairs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Progress = Callable[[int, int], None]


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
    out: np.ndarray = np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=-1, dtype=np.int32)
    return out


def to_words(packed: list[bytes] | np.ndarray) -> np.ndarray:
    """Packed big-endian hash bytes (a multiple of 8 each) to a ``(N, W)`` uint64 array."""
    if isinstance(packed, np.ndarray):
        arr = packed
    else:
        if not packed:
            return np.zeros((0, 1), dtype=np.uint64)
        arr = np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(len(packed), -1)
    return arr.view(">u8").astype(np.uint64).reshape(arr.shape[0], -1)
