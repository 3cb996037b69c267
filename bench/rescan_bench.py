"""Rescan benchmark: first scan of a tree of 20k small images vs a rescan of the unchanged tree.

Generates (once, seeded) ``bench/data/rescan/tree``: 20 000 small pictures (64–128 px, half JPEG,
half PNG, 40 folders of 500), smooth random textures so that hashing does real work. Then runs
``imgreview scan TREE --session S -q --jobs J`` as a subprocess, wall clock around the whole command:

* first scan: a fresh session folder (cold cache), ``--jobs 1`` and ``--jobs 2``;
* rescan: the same command again on the unchanged tree (everything from the cache).

Each measurement is the best of ``--repeat`` runs, the comparisons back to back in one run.

Usage (from the repository root)::

    .venv/bin/python bench/rescan_bench.py              # 20k files, best of 3
    .venv/bin/python bench/rescan_bench.py --files 2000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "rescan"
IMGREVIEW = [sys.executable, "-m", "imgreview"]
PER_FOLDER = 500


def _make(args: tuple[int, str, int]) -> None:
    index, folder, seed = args
    rng = np.random.default_rng(seed * 1_000_003 + index)
    side = int(rng.integers(64, 129))
    # Smooth random texture: a coarse random grid upsampled, plus a little noise.
    coarse = rng.integers(0, 256, size=(int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3), dtype=np.uint8)
    img = Image.fromarray(coarse, "RGB").resize((side, side), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.int16) + rng.integers(-12, 13, size=(side, side, 3))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    name = os.path.join(folder, f"img{index:06d}")
    if index % 2:
        img.save(name + ".png", optimize=False, compress_level=1)
    else:
        img.save(name + ".jpg", quality=90)


def make_tree(path: Path, files: int, seed: int = 6, jobs: int = 2) -> Path:
    """The image tree, generated once; a marker file records its size and seed."""
    marker = path / ".complete"
    if marker.exists() and marker.read_text() == f"{files} {seed}":
        return path
    if path.exists():
        shutil.rmtree(path)
    tasks = []
    for i in range(files):
        folder = path / f"d{i // PER_FOLDER:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        tasks.append((i, str(folder), seed))
    with Pool(jobs) as pool:
        pool.map(_make, tasks, chunksize=256)
    marker.write_text(f"{files} {seed}")
    return path


def scan(tree: Path, session: Path, jobs: int) -> tuple[float, dict]:
    """Wall seconds for one ``imgreview scan`` subprocess, and the stats it stored."""
    started = time.perf_counter()
    subprocess.run([*IMGREVIEW, "scan", str(tree), "--session", str(session), "-q", "--jobs", str(jobs)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    from imgreview.session.folder import Session

    stats = Session(session).read_stats() or {}
    return seconds, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--json", type=Path, help="write results here (default bench/data/rescan/results.json)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    tree = make_tree(DATA / f"tree-{args.files}", args.files)
    print(f"tree: {args.files} files ({time.perf_counter() - t0:.1f} s to generate or check)", file=sys.stderr)
    results = []
    for jobs in args.jobs:
        firsts: list[float] = []
        rescans: list[float] = []
        stats_first: dict = {}
        stats_rescan: dict = {}
        for _ in range(args.repeat):
            session = Path(tempfile.mkdtemp(prefix="imgreview-rescan-"))
            try:
                seconds, stats_first = scan(tree, session, jobs)
                firsts.append(seconds)
                for _ in range(args.repeat if not rescans else 1):
                    seconds, stats_rescan = scan(tree, session, jobs)
                    rescans.append(seconds)
            finally:
                shutil.rmtree(session, ignore_errors=True)
        row = {
            "jobs": jobs, "files": args.files,
            "first_s": min(firsts), "first_runs": [round(s, 2) for s in firsts],
            "rescan_s": min(rescans), "rescan_runs": [round(s, 2) for s in rescans],
            "hashed_first": stats_first.get("hashed"), "hashed_rescan": stats_rescan.get("hashed"),
            "cached_rescan": stats_rescan.get("cached"),
        }
        row["speedup"] = row["first_s"] / row["rescan_s"]
        results.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    out = args.json or DATA / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                               "loadavg": os.getloadavg(), "rows": results}, indent=1))
    print("| files | --jobs | first scan s (best) | rescan s (best) | rescan speed-up | first runs | rescan runs |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['files']:,} | {r['jobs']} | {r['first_s']:.1f} | {r['rescan_s']:.2f} | {r['speedup']:.0f}× | "
              f"{', '.join(map(str, r['first_runs']))} | {', '.join(map(str, r['rescan_runs']))} |")
    if len(results) == 2:
        a, b = results
        print(f"\nfirst scan --jobs {a['jobs']} vs --jobs {b['jobs']}: {b['first_s'] / a['first_s']:.2f}× faster")


if __name__ == "__main__":
    main()
