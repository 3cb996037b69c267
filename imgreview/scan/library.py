"""A session's saved hash library: find a picture among everything scanned, add without rebuilding.

The all-pairs engines answer "which files duplicate each other"; a library answers "is this new
picture already in my dataset?". It is an NGT index of the distinct perceptual hashes in the
session's fingerprint cache, kept in ``ngt-<settings>/`` inside the session. Each sync inserts
only the hashes not yet in the index (NGT adds objects without a rebuild); hashes of files that
have since vanished stay in the index but no longer map to any file, so they never show up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgreview.scan.cache import FingerprintCache
from imgreview.scan.fingerprint import Fingerprint
from imgreview.scan.search import NgtIndex, hamming, to_words
from imgreview.scan.verify import Signatures, verify_pairs
from imgreview.session.folder import Session
from imgreview.settings import HashSettings

SEARCH_K = 50
SEARCH_EPSILON = 0.1


@dataclass(slots=True)
class Match:
    path: str
    distance: int
    digest: str
    exact: bool  # byte-identical to the query


class HashLibrary:
    def __init__(self, session: Session, settings: HashSettings) -> None:
        self.settings = settings
        self.folder = Path(session.path) / f"ngt-{settings.key}"
        self.rows_path = self.folder / "rows.npy"
        self.cache_path = session.cache_path
        self._files: dict[bytes, list[Fingerprint]] = {}

    def sync(self) -> tuple[int, int]:
        """Add the cache's new hashes to the index; returns (added, total in index)."""
        with FingerprintCache(self.cache_path) as cache:
            entries = cache.lookup(self.settings.key)
        self._files = {}
        for _, _, item in entries.values():
            if isinstance(item, Fingerprint):
                self._files.setdefault(item.hash, []).append(item)
        self.folder.mkdir(parents=True, exist_ok=True)
        rows = np.load(self.rows_path) if self.rows_path.exists() else np.zeros((0, 0), dtype=np.uint64)
        known = {r.tobytes() for r in rows.astype(">u8")} if len(rows) else set()
        new = [h for h in self._files if h not in known]
        index = self._open(len(next(iter(self._files))) if self._files else 8)
        try:
            if len(index) != len(rows):  # index and row map out of step (a crash mid-sync): rebuild
                index.close()
                import shutil

                shutil.rmtree(self.folder / "index", ignore_errors=True)
                rows = np.zeros((0, 0), dtype=np.uint64)
                new = list(self._files)
                index = self._open(len(new[0]) if new else 8)
            if new:
                words = to_words(new)
                index.add(words)
                index.save()
                rows = np.concatenate([rows, words]) if len(rows) else words
                tmp = self.rows_path.with_suffix(".tmp.npy")
                np.save(tmp, rows)
                tmp.replace(self.rows_path)
            return len(new), len(rows)
        finally:
            index.close()

    def _open(self, nbytes: int) -> NgtIndex:
        return NgtIndex(nbytes, path=str(self.folder / "index"))

    def query(self, picture: Fingerprint, threshold: int, verify: bool = True) -> list[Match]:
        """Library files within ``threshold`` bits of ``picture`` (verified), nearest first."""
        if not self.rows_path.exists():
            return []
        rows = np.load(self.rows_path)
        q = to_words([picture.hash])
        index = self._open(len(picture.hash))
        try:
            ids, _ = index.search(q, k=SEARCH_K, epsilon=SEARCH_EPSILON, radius=threshold)
        finally:
            index.close()
        found: list[Fingerprint] = []
        for row in ids[0]:
            if row < len(rows):
                found.extend(self._files.get(rows[row : row + 1].astype(">u8").tobytes(), []))
        if not found:
            return []
        if verify:
            sig = Signatures.from_bytes([picture.lowinfo] + [f.lowinfo for f in found],
                                        [picture.gray] + [f.gray for f in found],
                                        [picture.color] + [f.color for f in found])
            others = np.arange(1, len(found) + 1)
            ok = verify_pairs(np.zeros(len(found), dtype=np.int64), others, sig)
            found = [f for f, keep in zip(found, ok, strict=True) if keep]
        dist: np.ndarray | list[int] = (hamming(np.repeat(q, len(found), axis=0), to_words([f.hash for f in found]))
                                        if found else [])
        matches = [Match(f.path, int(d), f.digest, f.digest == picture.digest) for f, d in zip(found, dist, strict=True)]
        matches.sort(key=lambda m: (m.distance, m.path))
        return matches
