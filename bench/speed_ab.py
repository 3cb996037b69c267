"""Before / after in one run: two checkouts of imgreview against imgdupes on the same folders.

Each round runs, back to back: ``imgreview scan --jobs 2 --no-verify`` from checkout A and from
checkout B, imgdupes (``--num-proc 2``, see ``bench/throughput.py``), then the whole default scan
(with the second stage) from A and from B; every scan in a new session (cold caches). Wall clock
and CPU (user + system of the process and its reaped workers, ``wait4``) per run, best of
``--repeat``, and the same-run ratios to imgdupes. Both checkouts run with this interpreter (the
code is taken from each checkout's folder: ``python -m imgreview`` with the checkout as working
directory).

    IMGREVIEW_PEERS_DIR=/work/peers .venv/bin/python bench/speed_ab.py --a /work/wt-base --b . \\
        --folder photos=/work/data-peers/photos-1.5mp --repeat 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers


def scan(tree: Path, folder: Path, verify: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="speed-ab-") as tmp:
        cmd = [sys.executable, "-m", "imgreview", "scan", str(folder), "--session", str(Path(tmp) / "s"), "-q",
               "--jobs", "2", "--layout", "none"] + ([] if verify else ["--no-verify"])
        m = peers.measure(cmd, cwd=tree)
    if m.returncode:
        raise SystemExit(f"imgreview ({tree}) failed: {m.stderr[-2000:]}")
    return m.wall_s, m.cpu_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", type=Path, required=True, help="checkout measured first (before)")
    ap.add_argument("--b", type=Path, required=True, help="checkout measured second (after)")
    ap.add_argument("--folder", action="append", required=True, metavar="NAME=DIR")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}")
    print("| set | tool | best wall s | imgdupes wall / tool wall | best CPU s | imgdupes CPU / tool CPU "
          "| runs wall (s) | runs CPU (s) |\n|---|---|---|---|---|---|---|---|")
    for spec in args.folder:
        name, _, path = spec.partition("=")
        folder = Path(path)
        runs: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.repeat):
            for tool, tree, verify in (("A --no-verify", args.a, False), ("B --no-verify", args.b, False),
                                       ("imgdupes (2 procs)", None, False), ("A whole scan", args.a, True),
                                       ("B whole scan", args.b, True)):
                wall, cpu = _imgdupes(folder) if tree is None else scan(tree, folder, verify)
                runs.setdefault(tool, []).append((wall, cpu))
                print(f"  {name} {tool}: {wall:.1f} s wall, {cpu:.1f} s CPU, load {os.getloadavg()[0]:.1f}",
                      file=sys.stderr, flush=True)
        ref_wall = min(w for w, _ in runs["imgdupes (2 procs)"])
        ref_cpu = min(c for _, c in runs["imgdupes (2 procs)"])
        for tool, rs in runs.items():
            wall, cpu = min(w for w, _ in rs), min(c for _, c in rs)
            print(f"| {name} | {tool} | {wall:.1f} | {ref_wall / wall:.2f}× | {cpu:.1f} | {ref_cpu / cpu:.2f}× | "
                  f"{', '.join(f'{w:.1f}' for w, _ in rs)} | {', '.join(f'{c:.1f}' for _, c in rs)} |", flush=True)


def _imgdupes(folder: Path) -> tuple[float, float]:
    r = peers.run("imgdupes", str(folder), num_proc=2, threshold=10, method="phash")
    return r.wall_s, r.cpu_s or 0.0


if __name__ == "__main__":
    main()
