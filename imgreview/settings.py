"""Scan settings and their defaults.

The default hash and thresholds are chosen from the accuracy benchmark (``bench/accuracy.py``,
results in ``docs/benchmarks.md``): pair precision at least 0.98 with the best recall.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from imgreview.fs import cpu_count

HASH_ALGORITHMS = ("phash", "dhash", "ahash", "whash", "colorhash")
ENGINES = ("auto", "ngt", "exact")

DEFAULT_HASH = "phash"
DEFAULT_HASH_SIZE = 8
# Default Hamming thresholds per (algorithm, hash size), out of 64 bits (size 8) or 256 bits (size 16;
# colorhash: 56 / 112). Chosen by bench/accuracy.py on the real-photo corpus (docs/benchmarks.md):
# best pair recall with verification on at precision >= 0.98, and no candidate pair between two
# different photographs (the scale guard). colorhash never reaches 0.98 precision there: its
# thresholds are unchanged and it is not recommended for near duplicates.
DEFAULT_THRESHOLDS: dict[tuple[str, int], int] = {
    ("phash", 8): 12,
    ("phash", 16): 78,
    ("dhash", 8): 3,
    ("dhash", 16): 44,
    ("ahash", 8): 1,
    ("ahash", 16): 10,
    ("whash", 8): 0,
    ("whash", 16): 8,
    ("colorhash", 8): 4,
    ("colorhash", 16): 8,
}
# Images are refused above this many pixels (decompression-bomb guard), like Pillow's own limit.
DEFAULT_MAX_PIXELS = 178_956_970


@dataclass(frozen=True, slots=True)
class HashSettings:
    """What determines a file's fingerprint: a cached fingerprint is reused only for equal settings."""

    algorithm: str = DEFAULT_HASH
    hash_size: int = DEFAULT_HASH_SIZE
    max_pixels: int = DEFAULT_MAX_PIXELS
    # Not part of the fingerprint (nor of equality or the key): the scan will verify candidates, so a
    # picture decoded in full for its hash also brings its local features (fingerprint.EARLY_FEATURE_PIXELS).
    with_features: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if self.algorithm not in HASH_ALGORITHMS:
            raise ValueError(f"unknown hash {self.algorithm!r}; choose one of {', '.join(HASH_ALGORITHMS)}")
        if self.hash_size not in (8, 16):
            raise ValueError(f"hash size must be 8 or 16, not {self.hash_size}")
        if self.max_pixels <= 0:
            raise ValueError("the pixel limit must be positive")

    @property
    def key(self) -> str:
        """Identifies the fingerprint recipe in the cache; bump the suffix when the recipe changes."""
        # v6: 39 query hashes (grid and tilt windows, imgreview.scan.variants) and the pHash DCT
        # computed without scipy (same bits except exact ties at the median). v7: the content-block
        # route (40 query hashes).
        return f"{self.algorithm}-{self.hash_size}-v7"

    @property
    def bits(self) -> int:
        if self.algorithm == "colorhash":
            return 14 * (self.hash_size // 2)
        return self.hash_size * self.hash_size


DEFAULT_DASK_TIMEOUT = 5.0  # seconds to reach a Dask scheduler (and find a worker) before giving up
DEFAULT_DASK_BATCH = 256  # paths per Dask task


@dataclass(frozen=True, slots=True)
class DaskSettings:
    """Fingerprinting on a Dask cluster (``--dask``); it never changes a result, only who computes it.

    ``address`` is a scheduler address (``tcp://HOST:8786``, any ``SCHEME://``) or ``local`` /
    ``local:N`` for a :class:`distributed.LocalCluster` of N worker processes on this machine.
    ``path_map`` holds ``(client prefix, worker prefix)`` pairs for workers that see the shared
    storage under another path.
    """

    address: str
    path_map: tuple[tuple[str, str], ...] = ()
    timeout: float = DEFAULT_DASK_TIMEOUT
    batch: int = DEFAULT_DASK_BATCH

    def __post_init__(self) -> None:
        if self.address.startswith("local"):
            self.local_workers  # noqa: B018 -- raises ValueError when N is not a positive number
        elif "://" not in self.address or not self.address.split("://", 1)[1]:
            raise ValueError(f"--dask {self.address!r}: give a scheduler address such as tcp://HOST:8786, "
                             "or local / local:N for workers on this machine")
        for client, worker in self.path_map:
            if not client.startswith("/") or not worker.startswith("/"):
                raise ValueError(f"--path-map {client}={worker}: both prefixes must be absolute paths")
        if not self.timeout > 0:
            raise ValueError("the Dask timeout must be a positive number of seconds")
        if self.batch < 1:
            raise ValueError("the Dask batch size must be at least 1")

    @property
    def local_workers(self) -> int | None:
        """Worker processes of a local cluster (``local``: all cores), None for a remote scheduler."""
        if not self.address.startswith("local"):
            return None
        if self.address == "local":
            return cpu_count()
        head, sep, count = self.address.partition(":")
        if head != "local" or not sep or not count.isdigit() or int(count) < 1:
            raise ValueError(f"--dask {self.address!r}: write local or local:N with N >= 1 worker processes")
        return int(count)


@dataclass(slots=True)
class ScanSettings:
    hash: HashSettings = field(default_factory=HashSettings)
    threshold: int | None = None  # None: the default for the hash
    engine: str = "auto"
    jobs: int = 0  # 0: all cores
    hidden: bool = False
    follow_links: bool = False
    excludes: tuple[str, ...] = ()
    verify: bool = True
    # How labels and splits are read from paths (see imgreview.dataset); they do not affect grouping.
    layout: str = "auto"
    label_depth: int | None = None
    manifest: str | None = None  # absolute path of a CSV / JSON lines manifest
    # Who fingerprints: None for the local process pool (``jobs``), else a Dask cluster. Not part of
    # the result (results are identical either way) nor of the fingerprint key.
    dask: DaskSettings | None = None

    def __post_init__(self) -> None:
        from imgreview.labels import Layout

        Layout(self.layout, self.label_depth, self.manifest)  # raises ValueError when invalid
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.threshold is not None and not 0 <= self.threshold < self.hash.bits:
            raise ValueError(f"threshold must be between 0 and {self.hash.bits - 1}")

    @property
    def effective_threshold(self) -> int:
        if self.threshold is not None:
            return self.threshold
        return DEFAULT_THRESHOLDS[(self.hash.algorithm, self.hash.hash_size)]

    @property
    def effective_jobs(self) -> int:
        if self.jobs > 0:
            return self.jobs
        return cpu_count()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hash"] = self.hash.algorithm
        data["hash_size"] = self.hash.hash_size
        data["max_pixels"] = self.hash.max_pixels
        data["threshold"] = self.effective_threshold
        data["excludes"] = list(self.excludes)
        del data["dask"]  # who computed the fingerprints does not change the result
        return data
