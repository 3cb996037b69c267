"""Client memory per file of a scan at 1M+ files, with synthetic fingerprints (no pictures decoded).

Builds a session whose fingerprint cache already holds ``--files`` synthetic fingerprints (the
field sizes of a real one: a template fingerprinted from a generated picture, then per file its own
path, digest, size, mtime, perceptual hash and route hashes; the template's grey/colour signatures,
so every candidate pair passes verification and the groups are the hash clusters), and a walk that
returns those files (``imgreview.scan.pipeline.walk_files``, or ``walk`` before it, replaced by the list: no million files on
disk). Then runs the real :func:`imgreview.scan.pipeline.scan` in a fresh process, as a rescan where
every file is cached — walk → cache look-up → search → grouping → labels → quality → result
database — and reports the peak memory (``VmHWM``) and the time of each stage, plus the bytes per
file above the interpreter's own.

Hashes: 80 % singletons and the rest in clusters of 2..20 within 12 bits (``bench/index_bench.py``),
labels from 1,000 folders, train/val/test splits. The local-feature stage is off (``--no-verify``
is not used: verification runs on the signatures).

Run it twice on one ``--dir``: the second run is an unchanged rescan (the groups reused);
``--header-only`` makes it the scan of ``imgreview check`` / ``scan`` without ``--json``, which copies
the previous groups inside the result database without building them. ``--code DIR`` measures the
``imgreview`` package in DIR (an older commit unpacked with ``git archive``) for a before/after.

Usage: ``python bench/memory_bench.py [--files 1000000] [--dir DIR] [--header-only] [--code DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, os.environ.get("MEMORY_BENCH_CODE") or str(ROOT))


def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status (``VmHWM``, ``VmRSS``) in MB; 0 where there is none."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


_PEAK = [0.0]  # the highest VmHWM read before a reset (--trace resets it around each traced call)


def peak_mb() -> float:
    _PEAK[0] = max(_PEAK[0], _status_mb("VmHWM"))
    return _PEAK[0]


def _reset_peak() -> float:
    """Read the peak so far, then start the kernel's high-water mark again from the current RSS."""
    peak = peak_mb()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return peak


# pipeline functions timed and measured by --trace (those of the code measured that exist)
TRACED = ("lookup_packed", "find_pairs", "_expand_to_nodes", "route_candidates", "merge_candidates", "_verified",
          "reference_groups", "_groups", "annotate", "quality_report", "_save", "grouping_key", "_nodes")


def _trace(pipeline: object) -> None:
    """Wrap the functions of :data:`TRACED` (pipeline's names, FingerprintCache.lookup_packed): print
    each call's wall time and its own peak (``VmHWM`` reset at the call, /proc/self/clear_refs)."""
    import functools

    from imgreview.scan.cache import FingerprintCache

    def wrap(name: str, fn: object) -> object:
        @functools.wraps(fn)  # type: ignore[arg-type]
        def traced(*args: object, **kwargs: object) -> object:
            _reset_peak()
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)  # type: ignore[operator]
            finally:
                own = _status_mb("VmHWM")
                print(json.dumps({"call": name, "s": round(time.perf_counter() - t, 2), "own_peak_mb": round(own),
                                  "rss_mb": round(rss_mb())}), flush=True)
        return traced

    for name in TRACED:
        if name == "lookup_packed" and hasattr(FingerprintCache, name):
            setattr(FingerprintCache, name, wrap(name, getattr(FingerprintCache, name)))
        elif hasattr(pipeline, name):
            setattr(pipeline, name, wrap(name, getattr(pipeline, name)))


def rss_mb() -> float:
    return _status_mb("VmRSS")


def paths(root: str, n: int) -> list[str]:
    return [f"{root}/{('train', 'val', 'test')[i % 3]}/label{i % 1000:04d}/img{i:08d}.jpg" for i in range(n)]


def make(folder: Path, n: int) -> None:
    from dataclasses import replace

    from index_bench import clustered_hashes
    from PIL import Image

    from imgreview.scan.cache import FingerprintCache
    from imgreview.scan.fingerprint import Fingerprint, fingerprint_file
    from imgreview.settings import ScanSettings

    settings = ScanSettings(jobs=1)
    rng = np.random.default_rng(0)
    picture = folder / "template.jpg"
    base = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    Image.fromarray(base, "RGB").resize((640, 480), Image.Resampling.BICUBIC).save(picture, quality=90)
    template = fingerprint_file(str(picture), settings.hash)
    assert isinstance(template, Fingerprint), template
    hashes = clustered_hashes(int(n * 1.05) + 100, seed=3)[:n]
    assert len(hashes) == n
    root = str(folder / "root")
    os.makedirs(root, exist_ok=True)
    session = folder / "session"
    session.mkdir(exist_ok=True)
    key = settings.hash.key
    t = time.perf_counter()
    with FingerprintCache(session / "cache.sqlite") as cache:
        batch = []
        for i, p in enumerate(paths(root, n)):
            batch.append(replace(
                template, path=p, size=50_000 + i % 900_000, mtime_ns=1_700_000_000_000_000_000 + i,
                digest=f"{i:032x}", hash=hashes[i].astype(">u8").tobytes(),
                routes=rng.integers(0, 256, len(template.routes), dtype=np.uint8).tobytes()))
            if len(batch) == 20_000:
                cache.store(batch, key)
                batch.clear()
        cache.store(batch, key)
    (folder / "made.json").write_text(json.dumps({"files": n, "seconds": round(time.perf_counter() - t, 1),
                                                  "cache_mb": round((session / "cache.sqlite").stat().st_size / 1e6)}))
    print((folder / "made.json").read_text(), flush=True)


class _Stop(Exception):
    """Raised by the progress callback at ``--stop-at``: the stages before it are measured."""


def child(folder: Path, n: int, header_only: bool, stop_at: str | None = None, trace: bool = False,
          skip_routes: bool = False) -> None:
    import imgreview.scan.pipeline as pipeline
    from imgreview.scan.walk import FileEntry, WalkResult
    from imgreview.session.folder import Session
    from imgreview.settings import ScanSettings

    base = rss_mb()
    root = str(folder / "root")
    stages: dict[str, dict[str, float]] = {}
    last = [time.perf_counter(), "start"]

    def progress(stage: str, done: int, total: int) -> None:
        if stage != last[1]:
            now = time.perf_counter()
            stages[str(last[1])] = {"s": round(now - float(str(last[0])), 1), "peak_mb": round(peak_mb())}
            print(json.dumps({"stage done": last[1], **stages[str(last[1])], "rss_mb": round(rss_mb())}), flush=True)
            last[:] = [now, stage]
            if stage == stop_at:
                raise _Stop

    def fake_walk(roots: list[str], options: object) -> WalkResult:
        files = [FileEntry(p, root, 50_000 + i % 900_000, 1_700_000_000_000_000_000 + i, 1, i)
                 for i, p in enumerate(paths(root, n))]
        return WalkResult(files, [])

    def fake_walk_files(roots: list[str], options: object) -> object:  # the packed walk (scale5 on)
        from imgreview.scan.walk import FileTable  # type: ignore[attr-defined,unused-ignore]

        k = np.arange(n, dtype=np.int64)
        return FileTable(paths(root, n), [root], np.zeros(n, dtype=np.uint16), 50_000 + k % 900_000,
                         1_700_000_000_000_000_000 + k)

    if skip_routes:  # the routed candidates not searched: the later stages measured without the longest search
        setattr(pipeline, "route_candidates", lambda *args, **kwargs: [])  # noqa: B010
    if trace:
        _trace(pipeline)
    if hasattr(pipeline, "walk_files"):
        setattr(pipeline, "walk_files", fake_walk_files)  # noqa: B010
    else:
        setattr(pipeline, "walk", fake_walk)  # noqa: B010
    t = time.perf_counter()
    stats: dict[str, object] = {"stopped_at": stop_at}
    try:
        if header_only:  # the result without its groups: an unchanged rescan copies them in the database
            result = pipeline.scan([root], ScanSettings(jobs=1), Session(folder / "session"), progress,
                                   keep_groups=False)
        else:
            result = pipeline.scan([root], ScanSettings(jobs=1), Session(folder / "session"), progress)
        progress("done", 0, 0)
        stats = result.stats
    except _Stop:
        pass
    total = time.perf_counter() - t
    peak = peak_mb()
    import imgreview

    db = folder / "session" / "results.sqlite"
    print(json.dumps({"files": n, "groups": stats.get("groups"), "cached": stats.get("cached"),
                      "reused_groups": stats.get("reused_groups"), "header_only": header_only,
                      "stopped_at": stop_at,
                      "code": str(Path(imgreview.__file__).parent.parent),
                      "seconds": round(total, 1), "peak_mb": round(peak), "interpreter_mb": round(base),
                      "bytes_per_file": round((peak - base) * 2**20 / n), "stages": stages,
                      "db_mb": round(db.stat().st_size / 1e6) if db.exists() else None}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--dir", help="work folder, kept and reused (default: a temporary one)")
    ap.add_argument("--header-only", action="store_true",
                    help="scan(keep_groups=False), as `check` and `scan` without --json do")
    ap.add_argument("--code", help="a folder holding the imgreview package to measure (default: this tree's)")
    ap.add_argument("--stop-at", help="stop when the scan reaches this stage (e.g. index: measure the walk and "
                    "the cache look-up alone)")
    ap.add_argument("--trace", action="store_true", help="time and measure the main calls of the scan one by one")
    ap.add_argument("--skip-routes", action="store_true",
                    help="no routed candidates (the query-hash search, ~1 h at 1M on 2 cores, is not run)")
    ap.add_argument("--make-only", action="store_true", help="only build the synthetic cache in --dir")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.dir), args.files, args.header_only, args.stop_at, args.trace, args.skip_routes)
        return
    with tempfile.TemporaryDirectory(prefix="imgreview-mem-") as tmp:
        folder = Path(args.dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        made = folder / "made.json"
        if not made.exists() or json.loads(made.read_text())["files"] != args.files:
            make(folder, args.files)
        if args.make_only:
            return
        env = {**os.environ, **({"MEMORY_BENCH_CODE": str(Path(args.code).resolve())} if args.code else {})}
        subprocess.run([sys.executable, __file__, "--child", "--files", str(args.files), "--dir", str(folder)]
                       + (["--header-only"] if args.header_only else [])
                       + (["--stop-at", args.stop_at] if args.stop_at else [])
                       + (["--trace"] if args.trace else []) + (["--skip-routes"] if args.skip_routes else []),
                       check=True, env=env)


if __name__ == "__main__":
    main()
