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

* ``photos-1.5mp`` (``--only photos``): real photographs and wallpapers from Debian packages
  (``DEBIAN_PACKAGES``: fetched with ``apt-get download`` into ``--debs``, unpacked with
  ``dpkg -x`` into ``--raw``), each distinct JPEG picture of at least 1.2 MP (by content digest; the
  smaller copies Plasma ships of one wallpaper skipped) written as a ~1.5 MP JPEG q90, plus three
  80 % windows of it (top left, centre, bottom right), also ~1.5 MP: issue 15's "real ~1.5 MP
  photos" set.
* ``wall-png`` (``--only wall-png``): large PNG wallpapers: every distinct PNG of the packages of
  at least 0.5 MP as shipped (byte copies), then the largest JPEG/WebP wallpapers re-encoded as PNG
  (Pillow, default compression), fitted into 5120×2880, until ``--wall N`` files (default 100).

These folders measure throughput only: they carry no ground truth.  Small
crops of the same source can occasionally overlap enough to look alike.

    .venv/bin/python bench/make_speed_inputs.py --only photos --data /work/data-peers
    .venv/bin/python bench/make_speed_inputs.py --only wall-png --data /work/data-peers

Everything derives from ``--seed`` and the item index, so output is
identical across runs and independent of ``--jobs``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA = BENCH_DIR / "data"
LARGE_SIZES: tuple[tuple[int, int], ...] = ((4000, 3000), (6000, 4000))
DEBIAN_PACKAGES = ("plasma-workspace-wallpapers", "gnome-backgrounds", "mate-backgrounds", "ukui-wallpapers",
                   "lomiri-wallpapers", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "sway-backgrounds",
                   "desktop-base")
PHOTO_PIXELS = 1_500_000
PHOTO_MIN_PIXELS = 1_200_000
WALL_MIN_PIXELS = 500_000
WALL_FIT = (5120, 2880)
WINDOWS = ((0.0, 0.0, 0.8, 0.8), (0.1, 0.1, 0.9, 0.9), (0.2, 0.2, 1.0, 1.0))

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


def fetch_packages(debs: Path, raw: Path, packages: tuple[str, ...] = DEBIAN_PACKAGES) -> None:
    """``apt-get download`` each package into ``debs`` and ``dpkg -x`` it into ``raw/<package>``
    (both skipped when already there)."""
    debs.mkdir(parents=True, exist_ok=True)
    raw.mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        if (raw / pkg).is_dir():
            continue
        found = sorted(debs.glob(f"{pkg}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True, stdout=subprocess.DEVNULL)
            found = sorted(debs.glob(f"{pkg}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(raw / pkg)], check=True)


def debian_pictures(raw: Path) -> list[tuple[str, int, str, Path]]:
    """(format, pixels, digest, path) of every distinct picture under ``raw``, by content digest,
    sorted by path; screenshots/previews and pictures that do not open are left out."""
    seen: set[str] = set()
    out = []
    for d, dirs, files in os.walk(raw):
        dirs.sort()
        for f in sorted(files):
            if not f.lower().endswith((".jpg", ".jpeg", ".png", ".webp")) or "screenshot" in f or "preview" in f:
                continue
            p = Path(d) / f
            data = p.read_bytes()
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            try:
                with Image.open(p) as im:
                    fmt, pixels = im.format or "", im.width * im.height
            except Exception:
                continue
            out.append((fmt, pixels, digest, p))
    return sorted(out, key=lambda r: str(r[3]))


def _stem(path: Path, digest: str) -> str:
    """A readable, unique file stem: Plasma's ``<Name>/contents/images/WxH.jpg`` as ``<Name>_WxH``."""
    parts = path.parts
    name = f"{parts[-4]}_{path.stem}" if len(parts) >= 4 and parts[-3] == "contents" else path.stem
    return f"{name[:40]}_{digest[:8]}"


def _scaled(im: Image.Image, pixels: int) -> Image.Image:
    f = (pixels / (im.width * im.height)) ** 0.5
    return im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))), Image.Resampling.LANCZOS)


def make_photos(raw: Path, out: Path) -> None:
    """Every distinct JPEG picture of >= 1.2 MP at ~1.5 MP, and three 80 % windows of it, as JPEG q90."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t0 = time.monotonic()
    n = total = 0
    for fmt, pixels, digest, path in debian_pictures(raw):
        if fmt != "JPEG" or pixels < PHOTO_MIN_PIXELS:  # the photographs; the PNG/WebP ones are mostly art
            continue
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        stem = _stem(path, digest)
        views = [("full", rgb)] + [
            (f"w{k}", rgb.crop((round(a * rgb.width), round(b * rgb.height), round(c * rgb.width), round(d * rgb.height))))
            for k, (a, b, c, d) in enumerate(WINDOWS)]
        for name, view in views:
            target = out / f"{stem}_{name}.jpg"
            _scaled(view, PHOTO_PIXELS).save(target, "JPEG", quality=90)
            n += 1
            total += target.stat().st_size
    print(f"[photos] {n} files, {total / 1e6:.1f} MB in {out} ({time.monotonic() - t0:.1f}s)", flush=True)


def make_wall_png(raw: Path, out: Path, n: int) -> None:
    """The packages' PNG wallpapers as shipped, then their largest JPEG/WebP ones as PNG, ``n`` in all."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t0 = time.monotonic()
    pictures = [r for r in debian_pictures(raw) if r[1] >= WALL_MIN_PIXELS]
    pngs = [r for r in pictures if r[0] == "PNG"]
    others = sorted((r for r in pictures if r[0] != "PNG"), key=lambda r: (-r[1], str(r[3])))
    written = 0
    for _fmt, _pixels, digest, path in pngs[:n]:
        shutil.copyfile(path, out / f"{_stem(path, digest)}.png")
        written += 1
    for _fmt, _pixels, digest, path in others[: max(0, n - written)]:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        if rgb.width > WALL_FIT[0] or rgb.height > WALL_FIT[1]:
            rgb.thumbnail(WALL_FIT, Image.Resampling.LANCZOS)
        rgb.save(out / f"{_stem(path, digest)}.png", "PNG")
        written += 1
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"[wall-png] {written} files ({min(len(pngs), n)} shipped as PNG), {total / 1e6:.1f} MB in {out} "
          f"({time.monotonic() - t0:.1f}s)", flush=True)


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
    ap.add_argument("--wall", type=int, default=100, help="number of PNG wallpapers (default 100)")
    ap.add_argument("--only", choices=("large", "small", "photos", "wall-png"),
                    help="build only one folder (photos and wall-png are built only when asked for)")
    ap.add_argument("--debs", type=Path, help="where the .debs go (default DATA/debs)")
    ap.add_argument("--raw", type=Path, help="where they are unpacked (default DATA/raw)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (output does not depend on it)")
    args = ap.parse_args(argv)

    if args.only in ("photos", "wall-png"):
        raw = args.raw or args.data / "raw"
        fetch_packages(args.debs or args.data / "debs", raw)
        if args.only == "photos":
            make_photos(raw, args.data / "photos-1.5mp")
        else:
            make_wall_png(raw, args.data / "wall-png", args.wall)
        return 0
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
