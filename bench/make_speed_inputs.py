#!/usr/bin/env python3
"""Generate speed-benchmark folders from the corpus photo sources.

Needs ``bench/make_corpus.py`` to have run (it reads the
``photos/*__original.jpg`` files of ``bench/data/corpus``).

* ``bench/data/speed/large``: N (default 200) multi-megapixel JPEGs
  (quality 90), alternating 4000x3000 (12 MP) and 6000x4000 (24 MP).  Each
  is a mosaic of 2x2 or 3x2 tiles, every tile a random crop of a random
  source photo upsampled to fit, so no two files are alike and every file
  has real photographic texture (not one smooth upscaled picture).
* ``bench/data/speed/small``: N (default 2000) small images, long side 256
  px, alternately JPEG (quality 90) and PNG, each a random crop of a random
  source at a random scale.

These folders measure throughput only: they carry no ground truth.  Small
crops of the same source can occasionally overlap enough to look alike.

Everything derives from ``--seed`` and the item index, so output is
identical across runs and independent of ``--jobs``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA = BENCH_DIR / "data"
LARGE_SIZES: tuple[tuple[int, int], ...] = ((4000, 3000), (6000, 4000))

_SOURCES: list[Image.Image] = []


def _init(paths: list[str]) -> None:
    _SOURCES.clear()
    for p in paths:
        with Image.open(p) as im:
            _SOURCES.append(im.convert("RGB"))


def random_crop(rng: random.Random, src: Image.Image, aspect: float, min_frac: float) -> Image.Image:
    """A crop of ``src`` with the given aspect ratio covering >= min_frac of its short fit."""
    w, h = src.size
    max_w = min(w, round(h * aspect))
    max_h = round(max_w / aspect)
    frac = rng.uniform(min_frac, 1.0)
    cw, ch = max(8, round(max_w * frac)), max(8, round(max_h * frac))
    x0 = rng.randrange(0, w - cw + 1)
    y0 = rng.randrange(0, h - ch + 1)
    return src.crop((x0, y0, x0 + cw, y0 + ch))


def make_large(job: tuple[int, int, str]) -> int:
    i, seed, out = job
    rng = random.Random(f"{seed}-large-{i}")
    W, H = LARGE_SIZES[i % len(LARGE_SIZES)]
    cols, rows = rng.choice(((2, 2), (3, 2)))
    canvas = Image.new("RGB", (W, H))
    xs = [round(W * k / cols) for k in range(cols + 1)]
    ys = [round(H * k / rows) for k in range(rows + 1)]
    for r in range(rows):
        for c in range(cols):
            tw, th = xs[c + 1] - xs[c], ys[r + 1] - ys[r]
            src = _SOURCES[rng.randrange(len(_SOURCES))]
            if rng.random() < 0.5:
                src = src.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            tile = random_crop(rng, src, tw / th, 0.6).resize((tw, th), Image.Resampling.BICUBIC)
            canvas.paste(tile, (xs[c], ys[r]))
    path = Path(out) / f"large_{i:04d}_{W}x{H}.jpg"
    canvas.save(path, "JPEG", quality=90)
    return path.stat().st_size


def make_small(job: tuple[int, int, str]) -> int:
    i, seed, out = job
    rng = random.Random(f"{seed}-small-{i}")
    src = _SOURCES[rng.randrange(len(_SOURCES))]
    aspect = rng.choice((1.0, 4 / 3, 3 / 2, 3 / 4, 2 / 3, 16 / 9))
    crop = random_crop(rng, src, aspect, 0.15)
    if aspect >= 1:
        size = (256, max(1, round(256 / aspect)))
    else:
        size = (max(1, round(256 * aspect)), 256)
    im = crop.resize(size, Image.Resampling.LANCZOS)
    if i % 2 == 0:
        path = Path(out) / f"small_{i:05d}.jpg"
        im.save(path, "JPEG", quality=90)
    else:
        path = Path(out) / f"small_{i:05d}.png"
        im.save(path, "PNG")
    return path.stat().st_size


def run(kind: str, n: int, seed: int, out: Path, sources: list[str], jobs: int) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    fn = make_large if kind == "large" else make_small
    t0 = time.monotonic()
    work = [(i, seed, str(out)) for i in range(n)]
    if jobs <= 1:
        _init(sources)
        total = sum(map(fn, work))
    else:
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=(sources,)) as ex:
            total = sum(ex.map(fn, work, chunksize=4 if kind == "large" else 64))
    dt = time.monotonic() - t0
    print(f"[{kind}] {n} files, {total / 1e6:.1f} MB in {out} ({dt:.1f}s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir (default: bench/data)")
    ap.add_argument("--seed", type=int, default=20260)
    ap.add_argument("--large", type=int, default=200, help="number of 12-24 MP JPEGs (default 200)")
    ap.add_argument("--small", type=int, default=2000, help="number of 256 px JPEG/PNG files (default 2000)")
    ap.add_argument("--only", choices=("large", "small"), help="build only one folder")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (output does not depend on it)")
    args = ap.parse_args(argv)

    corpus = args.data / "corpus" / "photos"
    sources = sorted(str(p) for p in corpus.glob("*__original.jpg"))
    if not sources:
        print(f"no sources in {corpus}; run bench/make_corpus.py first", file=sys.stderr)
        return 1
    print(f"{len(sources)} source photos from {corpus}", flush=True)
    speed = args.data / "speed"
    if args.only in (None, "large"):
        run("large", args.large, args.seed, speed / "large", sources, args.jobs)
    if args.only in (None, "small"):
        run("small", args.small, args.seed, speed / "small", sources, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
