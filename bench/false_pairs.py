#!/usr/bin/env python3
"""False pairs per pair of different pictures as the collection grows (issue 15).

A dataset of N real-looking *different* pictures (tiles of real pictures, bench/make_lookalike_tiles.py:
tiles of one picture share its palette, light and texture, but no pixel) spread over labels, plus
planted edited copies (2 % by default: resized and recompressed, mirrored, cropped to 90 %, warmed)
each written under *another* label, so every planted copy is a label conflict. For each N it runs
``imgreview check --json`` and reports:

* candidate pairs (what the hashes propose) and verified pairs, per pair of pictures;
* false pairs (two different tiles in one group) per pair of different pictures;
* label conflicts reported, and how many of them are planted (``check`` must report only those);
* the projection of the false pairs to 1M pictures (rate × 1M·(1M−1)/2).

Usage::

    python bench/false_pairs.py TILES --sizes 1000,2000,3000 [--work DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
LABELS = 40


def plant(src: Path, dst: Path, kind: str) -> None:
    im = Image.open(src).convert("RGB")
    w, h = im.size
    if kind == "resize":
        im = im.resize((round(w * 0.7), round(h * 0.7)), Image.Resampling.BILINEAR)
    elif kind == "mirror":
        im = ImageOps.mirror(im)
    elif kind == "crop":
        im = im.crop((round(w * 0.05), round(h * 0.05), round(w * 0.95), round(h * 0.95)))
    elif kind == "warm":
        r, g, b = im.split()
        im = Image.merge("RGB", (r.point(lambda v: min(255, int(v * 1.12))), g, b.point(lambda v: int(v * 0.85))))
    im.save(dst, "JPEG", quality=80)


def build(tiles: list[Path], n: int, share: float, out: Path, seed: int) -> dict[str, str]:
    """The dataset under ``out``; returns planted copy path -> original path."""
    rng = random.Random(seed)
    chosen = tiles[:n]
    planted: dict[str, str] = {}
    for k, t in enumerate(chosen):
        d = out / f"label{k % LABELS:02d}"
        d.mkdir(parents=True, exist_ok=True)
        dst = d / t.name
        try:
            os.link(t, dst)
        except OSError:
            shutil.copyfile(t, dst)
    for k in rng.sample(range(n), round(n * share)):
        t = chosen[k]
        other = (k % LABELS + 1 + rng.randrange(LABELS - 1)) % LABELS
        kind = ("resize", "mirror", "crop", "warm")[k % 4]
        dst = out / f"label{other:02d}" / f"{t.stem}__{kind}.jpg"
        plant(t, dst, kind)
        planted[str(dst.resolve())] = str((out / f"label{k % LABELS:02d}" / t.name).resolve())
    return planted


def measure(folder: Path, planted: dict[str, str], n_files: int, extra: list[str]) -> dict:
    session = folder.parent / (folder.name + "-session")
    out = folder.parent / (folder.name + ".json")
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "imgreview", "check", str(folder), "--session", str(session), "-q",
                    "--layout", "label", "--json", str(out), *extra], cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    report = json.loads(out.read_text())
    result = json.loads((session / "scan.json").read_text()) if (session / "scan.json").exists() else None
    stats = (result or {}).get("stats", {})
    truth = {frozenset((a, b)) for a, b in planted.items()}
    false_pairs = true_pairs = 0
    groups = (result or {}).get("groups", [])
    for g in groups:
        for a, b in combinations(sorted(m["path"] for m in g["members"]), 2):
            if frozenset((a, b)) in truth:
                true_pairs += 1
            else:
                false_pairs += 1
    conflicts = report.get("dataset", report).get("label_conflicts", [])
    planted_conflicts = sum(1 for c in conflicts if any(frozenset(p) in truth for p in combinations(c["paths"], 2)))
    all_pairs = n_files * (n_files - 1) // 2 - len(truth)
    return {
        "files": n_files, "planted": len(planted), "seconds": round(seconds, 1),
        "candidate_pairs": stats.get("candidate_pairs"), "verified_pairs": stats.get("verified_pairs"),
        "features_computed": stats.get("features_computed"),
        "true_pairs_found": true_pairs, "false_pairs": false_pairs,
        "false_pair_rate": false_pairs / all_pairs if all_pairs else 0.0,
        "candidate_rate": (stats.get("candidate_pairs") or 0) / all_pairs if all_pairs else 0.0,
        "conflicts": len(conflicts), "planted_conflicts": planted_conflicts,
        "groups": len(groups),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tiles", type=Path)
    ap.add_argument("--sizes", default="1000,2000,3000")
    ap.add_argument("--share", type=float, default=0.02)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("scan_args", nargs="*")
    args = ap.parse_args()
    tiles = sorted(args.tiles.glob("*.jpg"))
    random.Random(args.seed).shuffle(tiles)
    work = args.work or Path(tempfile.mkdtemp(prefix="imgreview-fp-"))
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        if n > len(tiles):
            print(f"only {len(tiles)} tiles: skipping N={n}", file=sys.stderr)
            continue
        folder = work / f"n{n}"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.rmtree(work / f"n{n}-session", ignore_errors=True)
        planted = build(tiles, n, args.share, folder, args.seed)
        row = measure(folder, planted, n + len(planted), args.scan_args)
        rows.append(row)
        print(f"N={row['files']}: candidates {row['candidate_pairs']} ({row['candidate_rate']:.2e}/pair), "
              f"verified {row['verified_pairs']}, false pairs {row['false_pairs']} ({row['false_pair_rate']:.2e}/pair), "
              f"planted found {row['true_pairs_found']}/{row['planted']}, conflicts {row['conflicts']} "
              f"({row['planted_conflicts']} planted), {row['seconds']} s", flush=True)
    if rows:
        # The sizes are nested subsets of one collection: the largest run says the most.
        big = max(rows, key=lambda r: r["files"])
        pairs = big["files"] * (big["files"] - 1) // 2
        rate = big["false_pairs"] / pairs
        bound = 3.0 / pairs if big["false_pairs"] == 0 else None  # rule of three: 95 % upper bound
        print(f"false-pair rate at N={big['files']}: {rate:.2e}"
              + (f" (none seen; 95% upper bound {bound:.1e})" if bound else "")
              + f"; projected false pairs at 1M pictures: {(bound or rate) * 1e6 * (1e6 - 1) / 2:,.0f}"
              + (" (upper bound)" if bound else ""))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
