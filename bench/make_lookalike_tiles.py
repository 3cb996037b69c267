#!/usr/bin/env python3
"""Many *different* real-looking pictures for the false-pair benchmark (issue 15).

Non-overlapping tiles cut from the real pictures of the hard corpus' packages (wallpapers,
paintings, portraits, game art; see bench/make_hard_corpus.py): tiles of one picture share its
palette, light and texture, so they are look-alikes, but no two tiles share a pixel. Tiles with
little structure (sky, flat fills: their content is the same for any two tiles) are skipped.

Usage::

    python bench/make_lookalike_tiles.py --raw /data/raw --out /data/tiles --count 10000
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
from PIL import Image

TILE = (240, 180)
MIN_STD = 28.0


def sources(raw: Path) -> list[Path]:
    found = []
    for d in sorted((raw / "plasma-workspace-wallpapers/usr/share/wallpapers").iterdir()):
        imgs = sorted((d / "contents/images").glob("*.*"), key=lambda p: p.stat().st_size)
        found += imgs[-1:]  # one size per wallpaper: the sizes of one picture would overlap
    for pattern in ("mate-backgrounds/**/*.jpg", "wesnoth-1.16-data/**/images/story/*.jpg",
                    "wesnoth-1.16-data/**/images/portraits/**/*.png", "hedgewars-data/**/*.png"):
        found += sorted(raw.glob(pattern))
    # A picture derived from another (make_hard_corpus.DERIVED) shares its content: only one of them.
    derived = {"landscape-bridge_sun", "undead-zombie-rider"}
    return [f for f in found if f.stem not in derived and f"{f.parent.name}-{f.stem}" not in derived]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    files = sources(args.raw)
    rng.shuffle(files)  # tiles from many pictures, not all from the first few
    args.out.mkdir(parents=True, exist_ok=True)
    made = 0
    for f in files:
        if made >= args.count:
            break
        try:
            im = Image.open(f)
            if min(im.size) < 360:
                continue
            im = im.convert("RGB")
        except Exception:
            continue
        w, h = im.size
        tw, th = TILE
        for y in range(0, h - th + 1, th):
            for x in range(0, w - tw + 1, tw):
                tile = im.crop((x, y, x + tw, y + th))
                if float(np.asarray(tile.convert("L"), dtype=np.float32).std()) < MIN_STD:
                    continue
                tile.save(args.out / f"t{made:06d}.jpg", quality=88)
                made += 1
                if made >= args.count:
                    break
            if made >= args.count:
                break
    print(f"{made} tiles in {args.out}")


if __name__ == "__main__":
    main()
