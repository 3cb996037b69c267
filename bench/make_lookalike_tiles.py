#!/usr/bin/env python3
"""Many *different* real-looking pictures for the false-pair benchmark (issue 15).

Non-overlapping tiles cut from real pictures of Debian packages (wallpapers and photographs,
paintings, portraits, game art, star-chart artwork, nebula photographs): tiles of one picture share
its palette, light and texture, so they are look-alikes, but no two tiles share a pixel. What makes
two "different" tiles the same content anyway is left out *before* any imgreview code sees them,
by rules that do not use imgreview:

* one file per source picture: the largest size of a wallpaper; one of a family of variants
  (``-d``/``-l`` dark/light designs, ``_illum``/``_fog`` lighting variants, derived pictures of
  :data:`DERIVED`); sources whose whole-picture 32×32 grey thumbnails correlate at
  :data:`SAME_SOURCE_CORRELATION` or more are taken as one picture (the same wallpaper in two
  packages, resized) and only the larger one is kept;
* pictures made from other pictures of the package: Hedgewars maps (``Maps/*/map.png`` is drawn
  with the theme textures other maps share, ``mask.png`` is its silhouette) and forts (built
  from shared parts), and a Wesnoth portrait whose name contains another portrait's name (a
  ``zombie-gryphon`` or ``gryphon-rider`` is drawn over the ``gryphon``);
* tiles with little structure (sky, flat fills: grey standard deviation under :data:`MIN_STD`);
* a tile whose 24×18 grey thumbnail is within :data:`REPEAT_MAD` grey levels (mean absolute
  difference) of a tile already cut from the same source: a repeating texture.

``manifest.csv`` records every tile's source picture and position, so the benchmark can assign
labels by source and report pairs within one source (shared texture of one picture) apart from
pairs of tiles of different pictures.

Usage::

    python bench/make_lookalike_tiles.py --raw /data/raw --raw /data/raw2 --out /data/tiles --count 12000
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from pathlib import Path

import numpy as np
from PIL import Image

TILE = (240, 180)
MIN_STD = 28.0
MIN_SOURCE_SIDE = 360
SAME_SOURCE_CORRELATION = 0.9
REPEAT_MAD = 6.0
# A picture derived from another (bench/make_hard_corpus.DERIVED) shares its content: only one.
DERIVED = {"landscape-bridge_sun", "undead-zombie-rider", "bridge_sun", "zombie-rider"}
VARIANT = re.compile(r"([-_](d|l|dark|light|day|night|illum|fog|sun|morning|evening))+$", re.IGNORECASE)
PATTERNS = (
    # (package folder, glob inside it)
    ("mate-backgrounds", "**/*.jpg"),
    ("gnome-backgrounds", "**/*.jpg"), ("gnome-backgrounds", "**/*.webp"), ("gnome-backgrounds", "**/*.png"),
    ("wesnoth-1.16-data", "**/images/story/*.jpg"), ("wesnoth-1.16-data", "**/images/portraits/**/*.png"),
    ("hedgewars-data", "**/*.png"),
    ("lomiri-wallpapers-16.04", "**/*.jpg"), ("lomiri-wallpapers-16.04", "**/*.png"),
    ("lomiri-wallpapers-20.04", "**/*.jpg"), ("lomiri-wallpapers-20.04", "**/*.png"),
    ("ukui-wallpapers", "**/*.jpg"), ("ukui-wallpapers", "**/*.png"),
    ("sway-backgrounds", "**/*.png"), ("sway-backgrounds", "**/*.jpg"),
    ("stellarium-data", "**/skycultures/**/*.png"), ("stellarium-data", "**/skycultures/**/*.jpg"),
    ("stellarium-data", "**/nebulae/**/*.png"), ("stellarium-data", "**/nebulae/**/*.jpg"),
)


def family(path: Path) -> str:
    """The variant family of a source file: its folder and its stem without a variant suffix."""
    return f"{path.parent}/{VARIANT.sub('', path.stem).lower()}"


def sources(raws: list[Path]) -> list[Path]:
    found: list[Path] = []
    for raw in raws:
        plasma = raw / "plasma-workspace-wallpapers/usr/share/wallpapers"
        if plasma.is_dir():
            for d in sorted(plasma.iterdir()):
                imgs = sorted((d / "contents/images").glob("*.*"), key=lambda p: p.stat().st_size)
                found += imgs[-1:]  # one size per wallpaper: the sizes of one picture would overlap
        for package, pattern in PATTERNS:
            if (raw / package).is_dir():
                found += sorted((raw / package).glob(pattern))
    found = [f for f in found if f.stem not in DERIVED and f"{f.parent.name}-{f.stem}" not in DERIVED
             and not ({"Maps", "Forts"} & set(f.parts) and "hedgewars-data" in f.parts)]
    portraits = {f.stem for f in found if "portraits" in f.parts}
    found = [f for f in found if "portraits" not in f.parts
             or not any(p != f.stem and p in f.stem.split("-") for p in portraits)]
    by_family: dict[str, Path] = {}
    for f in found:  # one file of each variant family: the largest
        key = family(f)
        if key not in by_family or f.stat().st_size > by_family[key].stat().st_size:
            by_family[key] = f
    return sorted(by_family.values())


def thumb(im: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(im.convert("L").resize(size, Image.Resampling.BOX), dtype=np.float32).ravel()


def load(f: Path) -> Image.Image | None:
    try:
        im = Image.open(f)
        if min(im.size) < MIN_SOURCE_SIDE:
            return None
        return im.convert("RGB")
    except Exception:
        return None


def distinct_sources(files: list[Path]) -> tuple[list[Path], list[tuple[str, str, float]]]:
    """Sources big enough to tile, one of each group of whole-picture look-alikes."""
    loaded: list[tuple[Path, int, np.ndarray]] = []
    for f in files:
        im = load(f)
        if im is None:
            continue
        t = thumb(im, (32, 32))
        loaded.append((f, im.size[0] * im.size[1], (t - t.mean()) / (t.std() + 1e-6)))
    loaded.sort(key=lambda x: (-x[1], str(x[0])))  # keep the larger of two
    kept: list[tuple[Path, np.ndarray]] = []
    dropped: list[tuple[str, str, float]] = []
    for f, _, t in loaded:
        if kept:
            r = np.stack([k[1] for k in kept]) @ t / t.size
            j = int(np.argmax(r))
            if r[j] >= SAME_SOURCE_CORRELATION:
                dropped.append((str(f), str(kept[j][0]), float(r[j])))
                continue
        kept.append((f, t))
    return sorted(f for f, _ in kept), dropped


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", type=Path, action="append", required=True, help="unpacked packages (repeatable)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    kept, dropped = distinct_sources(sources(args.raw))
    rng.shuffle(kept)  # tiles from many pictures, not all from the first few
    args.out.mkdir(parents=True, exist_ok=True)
    made = repeats = 0
    rows: list[tuple[str, str, int, int]] = []
    tw, th = TILE
    for f in kept:
        if made >= args.count:
            break
        im = load(f)
        if im is None:
            continue
        w, h = im.size
        cut: list[np.ndarray] = []
        for y in range(0, h - th + 1, th):
            for x in range(0, w - tw + 1, tw):
                tile = im.crop((x, y, x + tw, y + th))
                if float(np.asarray(tile.convert("L"), dtype=np.float32).std()) < MIN_STD:
                    continue
                small = thumb(tile, (24, 18))
                if any(float(np.abs(small - c).mean()) < REPEAT_MAD for c in cut):
                    repeats += 1
                    continue
                cut.append(small)
                name = f"t{made:06d}.jpg"
                tile.save(args.out / name, quality=88)
                rows.append((name, str(f), x, y))
                made += 1
                if made >= args.count:
                    break
            if made >= args.count:
                break
    with open(args.out / "manifest.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["tile", "source", "x", "y"])
        out.writerows(rows)
    with open(args.out / "dropped_sources.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["dropped", "same_as", "correlation"])
        out.writerows(dropped)
    print(f"{made} tiles from {len({r[1] for r in rows})} of {len(kept)} distinct sources in {args.out}; "
          f"{len(dropped)} sources dropped as the same picture as another, {repeats} repeated tiles left out")


if __name__ == "__main__":
    main()
