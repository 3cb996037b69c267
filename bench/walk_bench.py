"""Walk speed: imgreview's walk against ``find ROOT -type f`` with a stat per file.

Makes (once) a tree of empty ``.jpg`` files (``--dirs`` folders of ``--per-dir`` files; 100k by
default) and times, warm cache, the median of ``--runs``:

* ``find ROOT -type f -printf '%s %T@\\n'`` (one stat per file, printed to /dev/null);
* :func:`imgreview.scan.walk.walk` (one stat per image, entries sorted, aliases looked for).

Both wall time and CPU time (user + system) are reported; on a busy machine the CPU ratio is the
steadier one. Usage: ``nice -n 10 .venv/bin/python bench/walk_bench.py --data /work/data-NAME/walk100k``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time
from pathlib import Path

from imgreview.scan.walk import WalkOptions, walk


def make_tree(root: Path, dirs: int, per_dir: int) -> None:
    marker = root / ".complete"
    if marker.exists():
        return
    for d in range(dirs):
        folder = root / f"label{d:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in range(per_dir):
            (folder / f"img{f:04d}.jpg").touch()
    marker.touch()


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def time_find(root: Path) -> tuple[float, float]:
    cpu0, t0 = children_cpu(), time.perf_counter()
    subprocess.run(["find", str(root), "-type", "f", "-printf", "%s %T@\n"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0, children_cpu() - cpu0


def time_walk(root: Path) -> tuple[float, float, int]:
    cpu0, t0 = self_cpu(), time.perf_counter()
    result = walk([str(root)], WalkOptions())
    return time.perf_counter() - t0, self_cpu() - cpu0, len(result.files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder for the tree (made once, reused)")
    ap.add_argument("--dirs", type=int, default=1000)
    ap.add_argument("--per-dir", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    root = Path(args.data)
    make_tree(root, args.dirs, args.per_dir)
    time_find(root)  # warm the cache
    finds, walks = [], []
    files = 0
    for _ in range(args.runs):
        finds.append(time_find(root))
        w, c, files = time_walk(root)
        walks.append((w, c))
    fw, fc = statistics.median(f[0] for f in finds), statistics.median(f[1] for f in finds)
    ww, wc = statistics.median(w[0] for w in walks), statistics.median(w[1] for w in walks)
    print(f"files: {files} in {args.dirs} folders, median of {args.runs} warm runs, load {os.getloadavg()[0]:.1f}")
    print(f"find -type f -printf (stat): wall {fw:.3f} s, cpu {fc:.3f} s")
    print(f"imgreview walk:              wall {ww:.3f} s, cpu {wc:.3f} s  ({ww / files * 1e6:.2f} us/file wall)")
    print(f"ratio walk/find:             wall {ww / fw:.2f}x, cpu {wc / fc:.2f}x")


if __name__ == "__main__":
    main()
