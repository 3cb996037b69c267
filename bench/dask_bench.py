"""Fingerprinting on Dask against the local process pool, and a projection to 10M files.

Makes (once) ``--files`` small JPEGs (160x120, distinct scenes; default 20,000) under ``--data``
and scans them with an empty cache, each run with a fresh session:

1. ``pool``: the process pool, ``--jobs 2``;
2. ``local:2``: ``--dask local:2`` (a LocalCluster started and stopped by the scan: startup included);
3. ``cluster``: a scheduler and 2 one-thread workers started beforehand as separate processes with
   the ``dask scheduler`` / ``dask worker`` commands on 127.0.0.1, as a cluster user would; the
   client's own CPU time (walk, cache, taking in results, SQLite, grouping) is measured here.

Then ``--tasks`` empty tasks on that cluster give the per-task overhead of the scheduler, and the
measured costs give a projection for 10M files on N workers. Nothing leaves 127.0.0.1.

Usage: ``nice -n 10 .venv/bin/python bench/dask_bench.py --data /work/data-NAME/dask20k``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from imgreview import __version__
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.settings import DaskSettings, HashSettings, ScanSettings

BIN = Path(sys.executable).parent


def _make(args: tuple[Path, int, int]) -> None:
    root, start, stop = args
    for k in range(start, stop):
        rng = np.random.default_rng(k)
        base = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
        img = Image.fromarray(base, "RGB").resize((160, 120), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(img)
        for _ in range(4):
            x, y = int(rng.integers(0, 140)), int(rng.integers(0, 100))
            draw.rectangle([x, y, x + int(rng.integers(8, 60)), y + int(rng.integers(8, 40))],
                           fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        folder = root / f"label{k % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        img.save(folder / f"img{k:06d}.jpg", quality=85)


def make_corpus(root: Path, n: int) -> None:
    marker = root / f".complete-{n}"
    if marker.exists():
        return
    step = 500
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_make, [(root, k, min(n, k + step)) for k in range(0, n, step)]))
    marker.touch()


def cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def worker_cpu(address: str) -> float:
    """CPU seconds used so far by the worker processes of the cluster at ``address``."""
    from distributed import Client

    with Client(address, timeout=120, set_as_default=False) as client:
        return float(sum(client.run(cpu_self).values()))


def timed_scan(root: Path, settings: ScanSettings, session_dir: Path, cluster: str | None = None) -> dict[str, float]:
    shutil.rmtree(session_dir, ignore_errors=True)
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now, cpu = time.perf_counter(), cpu_self()
        if f"{stage}_start" not in marks:
            marks[f"{stage}_start"], marks[f"{stage}_cpu0"] = now, cpu
        if done == total:
            marks[f"{stage}_end"], marks[f"{stage}_cpu1"] = now, cpu

    workers0 = worker_cpu(cluster) if cluster else cpu_children()
    cpu0, t0 = cpu_self(), time.perf_counter()
    result = scan([str(root)], settings, Session(session_dir), progress=progress)
    wall = time.perf_counter() - t0
    # CPU of the processes that fingerprinted (pool children / cluster workers); for local:2 the
    # workers are gone with their cluster and not counted (-1)
    workers = (worker_cpu(cluster) if cluster else cpu_children()) - workers0
    if settings.dask is not None and cluster is None:
        workers = -1.0
    assert result.stats["hashed"] == result.stats["files"], result.stats
    return {
        "files": float(result.stats["files"]),
        "errors": float(result.stats["errors"]),
        "wall": wall,
        "walk": marks["walk_end"] - marks["walk_start"],
        "hash": marks["hash_end"] - marks["hash_start"],
        "client_cpu": cpu_self() - cpu0,
        "client_hash_cpu": marks["hash_cpu1"] - marks["hash_cpu0"],
        "client_walk_cpu": marks["walk_cpu1"] - marks["walk_cpu0"],
        "workers_cpu": workers,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """``dask scheduler`` + ``dask worker --nworkers N --nthreads 1`` as separate processes on loopback."""

    def __init__(self, workers: int) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        port = self.address.rsplit(":", 1)[1]
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port,
                                        "--no-dashboard"], **quiet)]  # type: ignore[call-overload]
        self.procs.append(subprocess.Popen([str(BIN / "dask"), "worker", self.address, "--nworkers", str(workers),
                                            "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                           **quiet))  # type: ignore[call-overload]

    def close(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def task_overhead(address: str, n: int) -> float:
    """Seconds per empty fingerprint task (``dask_batch([])``), submitted and gathered as the scan does."""
    from distributed import Client, as_completed

    from imgreview.scan.executors import dask_batch

    with Client(address, timeout=120, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=120)
        settings = HashSettings()
        client.gather(client.map(dask_batch, [[]] * 20, [settings] * 20, [__version__] * 20, pure=False))
        t0 = time.perf_counter()
        futures = [client.submit(dask_batch, [], settings, __version__, pure=False) for _ in range(n)]
        for _ in as_completed(futures, loop=client.loop):
            pass
        return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder for the corpus (made once, reused) and the sessions")
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--tasks", type=int, default=2000, help="empty tasks for the per-task overhead")
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    data = Path(args.data)
    root = data / "corpus"
    make_corpus(root, args.files)
    sessions = data / "sessions"
    runs: dict[str, dict[str, float]] = {}
    runs["pool"] = timed_scan(root, ScanSettings(jobs=2), sessions / "pool")
    print("pool    ", json.dumps({k: round(v, 3) for k, v in runs["pool"].items()}), flush=True)
    runs["local:2"] = timed_scan(root, ScanSettings(dask=DaskSettings("local:2")), sessions / "local")
    print("local:2 ", json.dumps({k: round(v, 3) for k, v in runs["local:2"].items()}), flush=True)
    cluster = Cluster(2)
    try:
        overhead = task_overhead(cluster.address, args.tasks)
        runs["cluster"] = timed_scan(root, ScanSettings(dask=DaskSettings(cluster.address, timeout=60)),
                                     sessions / "cluster", cluster.address)
        print("cluster ", json.dumps({k: round(v, 3) for k, v in runs["cluster"].items()}), flush=True)
    finally:
        cluster.close()

    files = runs["pool"]["files"]
    batches = -(-int(files) // min(256, -(-int(files) // 8)))
    per_file_worker = runs["pool"]["workers_cpu"] / files  # CPU seconds per file in the pool's workers
    # The client's CPU per file while the cluster (other processes) fingerprints: taking in results, SQLite.
    client_per_file = runs["cluster"]["client_hash_cpu"] / files
    walk_per_file = runs["cluster"]["client_walk_cpu"] / files
    print(f"\nfiles {int(files)}, load {os.getloadavg()[0]:.1f}")
    for name, r in runs.items():
        print(f"{name:8s} hash stage {r['hash']:7.2f} s ({files / r['hash']:6.0f} files/s), scan {r['wall']:7.2f} s, "
              f"vs pool hash {r['hash'] / runs['pool']['hash']:.2f}x")
    print(f"worker CPU per file: pool {runs['pool']['workers_cpu'] / files * 1e3:.2f} ms, Dask cluster "
          f"{runs['cluster']['workers_cpu'] / files * 1e3:.2f} ms "
          f"({runs['cluster']['workers_cpu'] / runs['pool']['workers_cpu']:.2f}x)")
    print(f"per-task overhead (empty tasks, scheduler round trip): {overhead * 1e3:.2f} ms "
          f"({overhead / 256 * 1e6:.1f} us per file in a 256-path batch); {batches} batches here")
    print(f"per-file cost: worker {per_file_worker * 1e3:.2f} ms core; client while hashing {client_per_file * 1e6:.0f} us "
          f"CPU; walk {walk_per_file * 1e6:.1f} us CPU; whole client scan {runs['cluster']['client_cpu'] / files * 1e6:.0f} us")
    n10 = 10_000_000
    print("\nprojection, 10M files, first scan: walk + max(workers, client intake); search and grouping not included")
    print("workers  walk      fingerprinting  client intake  expected")
    walk = n10 * walk_per_file
    for n in (2, 8, 32, 128, 512):
        work = n10 * (per_file_worker + overhead / 256) / n
        client = n10 * client_per_file
        print(f"{n:7d}  {walk / 60:5.1f} min  {work / 60:9.1f} min  {client / 60:9.1f} min  "
              f"{(walk + max(work, client)) / 60:6.1f} min")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "task_overhead_s": overhead,
                                               "per_file_worker_s": per_file_worker,
                                               "client_cpu_per_file_s": client_per_file}, indent=1))


if __name__ == "__main__":
    main()
