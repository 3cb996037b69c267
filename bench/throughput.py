"""Hashing throughput (images/s): imgreview vs imgdupes vs plain ``imagehash.phash(Image.open(p))``.

Inputs from ``bench/make_speed_inputs.py``: ``bench/data/speed/large`` (multi-megapixel JPEGs) and
``bench/data/speed/small`` (256 px JPEG + PNG). Every tool runs as a subprocess, wall clock around
the whole command (start-up, walk and grouping included), back to back in one run, best of
``--repeat``; the result is reported as images/s and as ratios to imgdupes.

* ``imgreview -j1`` / ``-j2``: ``imgreview scan DIR --session <new tmp> -q --jobs N --layout none``
  (cold fingerprint cache: a new session every run);
* ``imgdupes``: ``imgdupes --no-cache --num-proc 2 --sameline -r DIR phash 10`` in a temporary
  working folder (see ``bench/imgdupes_notes.md``; installed in ``bench/.venv-imgdupes``);
* ``plain phash``: one Python process hashing every file with ``imagehash.phash(Image.open(p))``.

Usage (from the repository root)::

    .venv/bin/python bench/throughput.py                  # both folders, best of 3
    .venv/bin/python bench/throughput.py --sets small --repeat 1
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEED = ROOT / "bench" / "data" / "speed"
IMGDUPES = ROOT / "bench" / ".venv-imgdupes" / "bin" / "imgdupes"
DATA = ROOT / "bench" / "data" / "throughput"

PLAIN = """
import sys, time, os
t0 = time.perf_counter()
import imagehash
from PIL import Image
folder = sys.argv[1]
paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs)
t1 = time.perf_counter()
for p in paths:
    imagehash.phash(Image.open(p))
print(len(paths), time.perf_counter() - t1)
"""


def count_images(folder: Path) -> int:
    return sum(1 for _, _, files in os.walk(folder) for f in files if f.lower().endswith((".jpg", ".jpeg", ".png")))


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_imgreview(folder: Path, jobs: int) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="imgreview-tp-"))
    try:
        return timed([sys.executable, "-m", "imgreview", "scan", str(folder), "--session", str(tmp / "s"), "-q",
                      "--jobs", str(jobs), "--layout", "none"], ROOT)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_imgdupes(folder: Path) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="imgdupes-tp-"))
    try:
        return timed([str(IMGDUPES), "--no-cache", "--num-proc", "2", "--sameline", "-r", str(folder), "phash", "10"],
                     tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_plain(folder: Path) -> float:
    return timed([sys.executable, "-c", PLAIN, str(folder)], ROOT)


TOOLS = {
    "imgreview -j2": lambda f: run_imgreview(f, 2),
    "imgreview -j1": lambda f: run_imgreview(f, 1),
    "imgdupes (2 procs)": run_imgdupes,
    "plain phash (1 proc)": run_plain,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["large", "small"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args()
    if "imgdupes (2 procs)" in args.tools and not IMGDUPES.exists():
        raise SystemExit(f"{IMGDUPES} missing: see bench/imgdupes_notes.md")
    rows = []
    for name in args.sets:
        folder = SPEED / name
        if not folder.is_dir():
            raise SystemExit(f"no {folder}: run bench/make_speed_inputs.py first")
        files = count_images(folder)
        runs: dict[str, list[float]] = {t: [] for t in args.tools}
        for _ in range(args.repeat):
            for tool in args.tools:  # back to back, interleaved across repeats
                runs[tool].append(TOOLS[tool](folder))
                print(f"{name} {tool}: {runs[tool][-1]:.1f} s", file=sys.stderr, flush=True)
        for tool in args.tools:
            best = min(runs[tool])
            rows.append({"set": name, "files": files, "tool": tool, "best_s": best, "runs": runs[tool],
                         "images_per_s": files / best})
    base = {r["set"]: r["best_s"] for r in rows if r["tool"] == "imgdupes (2 procs)"}
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "results.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                   "loadavg": os.getloadavg(), "rows": rows}, indent=1))
    print("| set | files | tool | best wall s | images/s | vs imgdupes | runs (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{base[r['set']] / r['best_s']:.1f}×" if r["set"] in base else "–"
        print(f"| {r['set']} | {r['files']} | {r['tool']} | {r['best_s']:.1f} | {r['images_per_s']:.1f} | {ratio} | "
              f"{', '.join(f'{s:.1f}' for s in r['runs'])} |")
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
