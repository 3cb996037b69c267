"""Hashing throughput (images/s and CPU): imgreview vs imgdupes vs plain ``imagehash.phash(Image.open(p))``.

Inputs: folders given with ``--folder NAME=DIR`` (repeatable), or the named sets of
``bench/make_speed_inputs.py`` under ``--data`` (``large``: multi-megapixel JPEGs, ``small``: 256 px
JPEG + PNG). Every tool runs as a subprocess (``bench/peers.py``'s ``measure``: wall clock of the whole
command, start-up, walk and grouping included, and CPU = user + system of the process and its
reaped workers from ``wait4``), back to back in one run, interleaved, best of ``--repeat``; results
are reported as images/s and as same-run ratios to imgdupes, for wall clock and for CPU (CPU
depends much less on what else runs on a shared machine).

* ``imgreview -j1`` / ``-j2``: ``imgreview scan DIR --session <new tmp> -q --jobs N --layout none``
  (cold fingerprint cache: a new session every run), the whole scan including the second stage
  (local features of the files in candidate pairs);
* ``imgreview -j2 --no-verify``: the same without the second stage: hashing, search and grouping,
  which is what imgdupes does;
* ``imgdupes``: ``imgdupes --no-cache --num-proc 2 --sameline -r DIR phash 10`` in a temporary
  working folder (``$IMGREVIEW_PEERS_DIR/venv-imgdupes``, see ``bench/install_peers.sh``). It reads
  only .png/.jpg/.jpeg/.gif: the "files" column says how many files each tool read;
* ``plain phash``: one Python process hashing every file with ``imagehash.phash(Image.open(p))``.

Usage (from the repository root)::

    IMGREVIEW_PEERS_DIR=/work/peers .venv/bin/python bench/throughput.py \
        --folder photos=/work/data-peers/photos-1.5mp --folder png=/work/data-peers/wall-png --repeat 3
    .venv/bin/python bench/throughput.py --sets small --repeat 1     # bench/data/speed/small
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = DATA / "throughput"

PLAIN = """
import sys, time, os
import imagehash
from PIL import Image
folder = sys.argv[1]
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs)
for p in paths:
    imagehash.phash(Image.open(p))
"""

EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")


def count_images(folder: Path) -> int:
    return sum(1 for _, _, files in os.walk(folder) for f in files if f.lower().endswith(EXTENSIONS))


Run = tuple[float, float, int | None]  # wall s, CPU s, files read


def run_imgreview(folder: Path, jobs: int, verify: bool = True) -> Run:
    with tempfile.TemporaryDirectory(prefix="imgreview-tp-") as tmp:
        cmd = [sys.executable, "-m", "imgreview", "scan", str(folder), "--session", str(Path(tmp) / "s"), "-q",
               "--jobs", str(jobs), "--layout", "none"] + ([] if verify else ["--no-verify"])
        m = peers.measure(cmd, cwd=ROOT)
    if m.returncode:
        raise SystemExit(f"imgreview failed: {m.stderr[-2000:]}")
    return m.wall_s, m.cpu_s, count_images(folder)


def run_imgdupes(folder: Path) -> Run:
    r = peers.run("imgdupes", str(folder), num_proc=2, threshold=10, method="phash")
    return r.wall_s, r.cpu_s or 0.0, r.files


def run_plain(folder: Path) -> Run:
    m = peers.measure([sys.executable, "-c", PLAIN, str(folder)], cwd=ROOT)
    if m.returncode:
        raise SystemExit(f"plain phash failed: {m.stderr[-2000:]}")
    return m.wall_s, m.cpu_s, count_images(folder)


IMGDUPES = "imgdupes (2 procs)"
TOOLS: dict[str, Callable[[Path], Run]] = {
    "imgreview -j2": lambda f: run_imgreview(f, 2),
    "imgreview -j1": lambda f: run_imgreview(f, 1),
    "imgreview -j2 --no-verify": lambda f: run_imgreview(f, 2, verify=False),
    IMGDUPES: run_imgdupes,
    "plain phash (1 proc)": run_plain,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", default=None, help="named sets under DATA/speed (default: large small, "
                        "unless --folder is given)")
    parser.add_argument("--folder", action="append", default=[], metavar="NAME=DIR", help="a folder to measure")
    parser.add_argument("--data", type=Path, default=DATA, help="data dir of make_speed_inputs.py (default: bench/data)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--out", type=Path, default=RESULTS / "results.json")
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args()
    folders: list[tuple[str, Path]] = []
    for item in args.folder:
        name, _, path = item.partition("=")
        folders.append((name, Path(path)))
    for name in args.sets if args.sets is not None else ([] if folders else ["large", "small"]):
        folders.append((name, args.data / "speed" / name))
    for name, folder in folders:
        if not folder.is_dir():
            raise SystemExit(f"no {folder} ({name}): run bench/make_speed_inputs.py first")
    rows = []
    for name, folder in folders:
        files = count_images(folder)
        runs: dict[str, list[Run]] = {t: [] for t in args.tools}
        for _ in range(args.repeat):
            for tool in args.tools:  # back to back, interleaved across repeats
                runs[tool].append(TOOLS[tool](folder))
                wall, cpu, read = runs[tool][-1]
                print(f"{name} {tool}: {wall:.1f} s wall, {cpu:.1f} s CPU, {read} files, "
                      f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        for tool in args.tools:
            best = min(runs[tool])
            rows.append({"set": name, "files": files, "tool": tool, "best_s": best[0], "best_cpu_s": min(r[1] for r in runs[tool]),
                         "read": best[2], "runs": [r[0] for r in runs[tool]], "cpu": [r[1] for r in runs[tool]],
                         "images_per_s": (best[2] or 0) / best[0]})
    base = {r["set"]: r for r in rows if r["tool"] == IMGDUPES}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                    "loadavg": os.getloadavg(), "rows": rows}, indent=1))
    print("| set | tool | files read | best wall s | images/s | imgdupes wall / tool wall | best CPU s | "
          "imgdupes CPU / tool CPU | runs wall (s) | runs CPU (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        b = base.get(r["set"])
        same = b is not None and b["read"] == r["read"]  # a ratio only where both read the same files
        wall_ratio = f"{b['best_s'] / r['best_s']:.2f}×" if same and b else "n/a"
        cpu_ratio = f"{b['best_cpu_s'] / r['best_cpu_s']:.2f}×" if same and b and r["best_cpu_s"] else "n/a"
        print(f"| {r['set']} | {r['tool']} | {r['read']} | {r['best_s']:.1f} | {r['images_per_s']:.1f} | {wall_ratio} | "
              f"{r['best_cpu_s']:.1f} | {cpu_ratio} | {', '.join(f'{s:.1f}' for s in r['runs'])} | "
              f"{', '.join(f'{s:.1f}' for s in r['cpu'])} |")
    if args.plot:
        plot(rows, ROOT / "bench" / "throughput.png")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({r["set"] for r in rows})
    fig, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 3.5), squeeze=False)
    for ax, name in zip(axes[0], sets, strict=True):
        sub = [r for r in rows if r["set"] == name]
        ax.barh([r["tool"] for r in sub], [r["images_per_s"] for r in sub])
        ax.set_xlabel("images/s (higher is better)")
        ax.set_title(f"{name}: {sub[0]['files']} files")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
