"""Fingerprints of two checkouts on the same files: identical? and CPU per file of each.

Each checkout fingerprints every file in a fresh process of this interpreter, with its own code
(``fingerprint_file``, default settings, one process), timed with ``time.process_time``; then
every field that decides grouping and triage (hash, route hashes, quality blob, grey and colour
signatures, low-information flag, size) is compared, and the differing hash bits counted.

    .venv/bin/python bench/fingerprint_ab.py --a /work/wt-base --b . /work/data-peers/photos-1.5mp
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import os, pickle, sys, time
sys.path.insert(0, sys.argv[1])
import imgreview
assert os.path.realpath(imgreview.__file__).startswith(os.path.realpath(sys.argv[1])), imgreview.__file__
from imgreview.scan.fingerprint import fingerprint_file
from imgreview.settings import HashSettings
paths = pickle.load(open(sys.argv[2], "rb"))
settings = HashSettings()
out = {}
t = time.process_time()
for p in paths:
    fp = fingerprint_file(p, settings)
    out[p] = None if not hasattr(fp, "hash") else (fp.hash, fp.routes, fp.quality, fp.gray, fp.color, fp.lowinfo,
                                                   fp.width, fp.height)
out["_cpu"] = time.process_time() - t
pickle.dump(out, open(sys.argv[3], "wb"))
"""
FIELDS = ("hash", "routes", "quality", "gray", "color", "lowinfo", "width", "height")
EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def run(tree: Path, paths_file: Path, out: Path) -> dict[str, object]:
    subprocess.run([sys.executable, "-c", CHILD, str(tree.resolve()), str(paths_file), str(out)], check=True,
                   cwd=tree)
    with open(out, "rb") as fh:
        data: dict[str, object] = pickle.load(fh)
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", type=Path, required=True)
    ap.add_argument("--b", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=0, help="first N files of each folder (0: all)")
    ap.add_argument("--repeat", type=int, default=1, help="A, B, A, B, ...: the best CPU of each (load moves it)")
    ap.add_argument("folders", type=Path, nargs="+")
    args = ap.parse_args()
    paths: list[str] = []
    for folder in args.folders:
        found = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.lower().endswith(EXTENSIONS))
        paths += found[:args.limit] if args.limit else found
    with tempfile.TemporaryDirectory(prefix="fp-ab-") as tmp:
        listing = Path(tmp) / "paths.pkl"
        listing.write_bytes(pickle.dumps(paths))
        cpu_a, cpu_b = [], []
        for _ in range(max(1, args.repeat)):
            a = run(args.a, listing, Path(tmp) / "a.pkl")
            b = run(args.b, listing, Path(tmp) / "b.pkl")
            cpu_a.append(float(a["_cpu"]))  # type: ignore[arg-type]
            cpu_b.append(float(b["_cpu"]))  # type: ignore[arg-type]
    differ = dict.fromkeys(FIELDS, 0)
    bits = 0
    for p in paths:
        x, y = a[p], b[p]
        if x is None or y is None:
            differ["hash"] += x != y
            continue
        for name, u, v in zip(FIELDS, x, y, strict=True):  # type: ignore[call-overload]
            if u != v:
                differ[name] += 1
                if name in ("hash", "routes"):
                    bits += sum(bin(i ^ j).count("1") for i, j in zip(u, v, strict=False))
    n = max(1, len(paths))
    print(f"{len(paths)} files, load average {os.getloadavg()[0]:.1f}; A {1000 * min(cpu_a) / n:.2f} ms/file CPU "
          f"(runs {', '.join(f'{1000 * c / n:.2f}' for c in cpu_a)}), B {1000 * min(cpu_b) / n:.2f} ms/file CPU "
          f"(runs {', '.join(f'{1000 * c / n:.2f}' for c in cpu_b)}); files differing per field: {differ}; "
          f"hash bits differing: {bits}")


if __name__ == "__main__":
    main()
