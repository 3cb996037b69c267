#!/usr/bin/env python3
"""False pairs per pair of different pictures as the collection grows (issue 15).

A dataset of N real-looking *different* pictures (tiles of real pictures, bench/make_lookalike_tiles.py:
tiles of one picture share its palette, light and texture, but no pixel; its manifest.csv names each
tile's source picture) spread over labels *by source* (all tiles of one picture under one label, as
a label folder holds pictures of one kind), plus planted edited copies (2 % by default: resized and
recompressed, mirrored, cropped to 90 %, warmed) each written under *another* label, so every
planted copy is a label conflict. For each N it runs ``imgreview scan --json`` and then
``imgreview check --json`` on the same session and reports:

* candidate pairs (what the hashes propose) and verified pairs, per pair of pictures;
* false pairs (two different tiles in one group), split into pairs of tiles of *different source
  pictures* (the false-pair rate the issue asks about) and pairs of tiles of *one* source (a
  picture's own repeating texture can make two of its tiles the same content; counted apart);
* label conflicts reported, and how many of them are planted (``check`` must report only those);
* the projection of the cross-source false pairs to 1M pictures (rate × 1M·(1M−1)/2), with the
  rule-of-three 95 % upper bound when none was seen.

Usage::

    python bench/false_pairs.py TILES --sizes 1000,3000,10000 [--work DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
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


def build(tiles: list[Path], source: dict[str, str], n: int, share: float, out: Path,
          seed: int, write: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """The dataset under ``out``; returns (planted copy path -> original path, path -> source)."""
    rng = random.Random(seed)
    chosen = tiles[:n]
    labels = {src: k % LABELS for k, src in enumerate(sorted({source[t.name] for t in chosen}))}
    origin: dict[str, str] = {}
    planted: dict[str, str] = {}
    where: dict[str, Path] = {}
    for t in chosen:
        d = out / f"label{labels[source[t.name]]:02d}"
        dst = d / t.name
        if write:
            d.mkdir(parents=True, exist_ok=True)
            try:
                os.link(t, dst)
            except OSError:
                shutil.copyfile(t, dst)
        where[t.name] = dst
        origin[str(dst.resolve())] = source[t.name]
    for k in rng.sample(range(n), round(n * share)):
        t = chosen[k]
        own = labels[source[t.name]]
        other = (own + 1 + rng.randrange(LABELS - 1)) % LABELS
        kind = ("resize", "mirror", "crop", "warm")[k % 4]
        d = out / f"label{other:02d}"
        dst = d / f"{t.stem}__{kind}.jpg"
        if write:
            d.mkdir(parents=True, exist_ok=True)
            plant(t, dst, kind)
        planted[str(dst.resolve())] = str(where[t.name].resolve())
        origin[str(dst.resolve())] = source[t.name]
    return planted, origin


def measure(folder: Path, planted: dict[str, str], origin: dict[str, str], extra: list[str],
            reuse: bool = False) -> dict:
    session = folder.parent / (folder.name + "-session")
    result_json = folder.parent / (folder.name + "-scan.json")
    out = folder.parent / (folder.name + ".json")
    common = ["--session", str(session), "-q", "--layout", "label"]
    t0 = time.monotonic()
    if not (reuse and result_json.exists() and out.exists()):
        subprocess.run([sys.executable, "-m", "imgreview", "scan", str(folder), *common, "--json", str(result_json),
                        *extra], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        subprocess.run([sys.executable, "-m", "imgreview", "check", str(folder), *common, "--json", str(out),
                        *extra], cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    report = json.loads(out.read_text())
    result = json.loads(result_json.read_text())
    stats = result.get("stats", {})
    truth = {frozenset((a, b)) for a, b in planted.items()}
    found_true = false_cross = false_same = 0
    false_examples: list[list[str]] = []
    groups = result.get("groups", [])
    for g in groups:
        for a, b in combinations(sorted(m["path"] for m in g["members"]), 2):
            if frozenset((a, b)) in truth:
                found_true += 1
            elif planted.get(a, a) == planted.get(b, b):
                continue  # two planted copies of one tile, or a copy and its original: the same picture
            elif origin.get(a) == origin.get(b):
                false_same += 1
            else:
                false_cross += 1
                if len(false_examples) < 50:
                    false_examples.append([a, b])
    conflicts = report.get("dataset", report).get("label_conflicts", [])
    planted_conflicts = sum(1 for c in conflicts if any(frozenset(p) in truth for p in combinations(c["paths"], 2)))
    # A conflict without a planted pair whose files all come from one source picture: a planted copy
    # grouped with another tile of its own source (that picture's shared texture), not a false pair.
    same_source_conflicts = sum(
        1 for c in conflicts
        if not any(frozenset(p) in truth for p in combinations(c["paths"], 2))
        and len({origin.get(str(Path(p).resolve())) for p in c["paths"]}) == 1)
    n_files = len(origin)
    per_source = Counter(origin.values())
    same_pairs = sum(c * (c - 1) // 2 for c in per_source.values())
    all_pairs = n_files * (n_files - 1) // 2
    cross_pairs = all_pairs - same_pairs
    return {
        "files": n_files, "sources": len(per_source), "planted": len(planted), "seconds": round(seconds, 1),
        "candidate_pairs": stats.get("candidate_pairs"), "verified_pairs": stats.get("verified_pairs"),
        "features_computed": stats.get("features_computed"),
        "true_pairs_found": found_true,
        "false_pairs_cross_source": false_cross, "cross_source_pairs": cross_pairs,
        "false_pair_rate": false_cross / cross_pairs if cross_pairs else 0.0,
        "false_pairs_same_source": false_same, "same_source_pairs": same_pairs,
        "candidate_rate": (stats.get("candidate_pairs") or 0) / all_pairs if all_pairs else 0.0,
        "conflicts": len(conflicts), "planted_conflicts": planted_conflicts,
        "same_source_conflicts": same_source_conflicts,
        "groups": len(groups), "false_examples": false_examples,
    }


def read_manifest(tiles: Path) -> dict[str, str]:
    manifest = tiles / "manifest.csv"
    if not manifest.exists():
        sys.exit(f"{manifest} is missing: make the tiles with bench/make_lookalike_tiles.py")
    with open(manifest, newline="") as fh:
        return {row["tile"]: row["source"] for row in csv.DictReader(fh)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tiles", type=Path)
    ap.add_argument("--sizes", default="1000,2000,3000")
    ap.add_argument("--share", type=float, default=0.02)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--reuse", action="store_true", help="score the scan and check outputs already in --work")
    ap.add_argument("scan_args", nargs="*")
    args = ap.parse_args()
    source = read_manifest(args.tiles)
    tiles = sorted(args.tiles / name for name in source)
    random.Random(args.seed).shuffle(tiles)
    work = args.work or Path(tempfile.mkdtemp(prefix="imgreview-fp-"))
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        if n > len(tiles):
            print(f"only {len(tiles)} tiles: skipping N={n}", file=sys.stderr)
            continue
        folder = work / f"n{n}"
        if not args.reuse:
            if folder.exists():
                shutil.rmtree(folder)
            shutil.rmtree(work / f"n{n}-session", ignore_errors=True)
        planted, origin = build(tiles, source, n, args.share, folder, args.seed, write=not args.reuse)
        row = measure(folder, planted, origin, args.scan_args, reuse=args.reuse)
        rows.append(row)
        print(f"N={row['files']} ({row['sources']} sources): candidates {row['candidate_pairs']} "
              f"({row['candidate_rate']:.2e}/pair), verified {row['verified_pairs']}, "
              f"false pairs across sources {row['false_pairs_cross_source']} ({row['false_pair_rate']:.2e}/pair), "
              f"within one source {row['false_pairs_same_source']} of {row['same_source_pairs']} pairs, "
              f"planted found {row['true_pairs_found']}/{row['planted']}, conflicts {row['conflicts']} "
              f"({row['planted_conflicts']} planted, {row['same_source_conflicts']} a planted copy with a tile of "
              f"its own source), {row['seconds']} s", flush=True)
    if rows:
        # The sizes are nested subsets of one collection: the largest run says the most.
        big = max(rows, key=lambda r: r["files"])
        pairs = big["cross_source_pairs"]
        rate = big["false_pair_rate"]
        bound = 3.0 / pairs if big["false_pairs_cross_source"] == 0 else None  # rule of three: 95 % upper bound
        print(f"cross-source false-pair rate at N={big['files']}: {rate:.2e}"
              + (f" (none seen; 95% upper bound {bound:.1e})" if bound else "")
              + f"; projected false pairs at 1M pictures: {(bound or rate) * 1e6 * (1e6 - 1) / 2:,.0f}"
              + (" (upper bound)" if bound else ""))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
