#!/usr/bin/env python3
"""Build the hard near-duplicate corpus: families of alike-but-different real pictures, with edits.

Issue 15. A labelled dataset is a collection of pictures that look alike (forty shops' bowls of
ramen, one product on white, one species of bird), so a duplicate finder must tell "the same shot,
edited" from "another shot that looks alike". This corpus has several *families* of such pictures,
all taken from Debian packages (nothing here was made for the benchmark):

=============  ============================================================  =========
family         pictures                                                      half
=============  ============================================================  =========
wallpaper      Plasma wallpapers (photographs and art), one file per picture dev
portrait       Wesnoth character portraits on one backdrop (same framing)    dev
texture        Extreme Tux Racer terrain/texture images (snow, ice, rock...) dev
painting       Wesnoth story paintings (landscapes, castles, swamps)         dev
windows        crops from different places of one big photograph             held-out
stamp          Tux Paint stamps: one object on white                          held-out
gamebg         Hedgewars theme and map art                                   held-out
mate           MATE backgrounds (photographs and abstract art)               held-out
=============  ============================================================  =========

Every *source* picture is written as ``original`` plus the edits of :data:`EDITS` (several
strengths each); more pictures of the same family are written unedited as *look-alikes* (they
must never be paired with anything but their own copies). Ground truth in ``truth.csv``: two
files are a true pair iff they have the same ``picture``. Defaults are chosen on the ``dev`` half
only; the ``held-out`` half is reported separately.

Usage::

    python bench/make_hard_corpus.py --out /data/hard     # fetches the debs with apt-get download

A second development corpus (``--extra RAW2``) has three more dev families, chosen to cover what
the first dev half lacks (smooth designs and dark pictures with little texture, where local
features are scarce): ``wall2`` (GNOME, Sway, Lomiri and UKUI wallpapers: photographs and smooth
designs), ``chart`` (Stellarium sky-culture star-chart drawings), ``nebula`` (Stellarium's
nebula and galaxy photographs: dark fields with a faint object)::

    python bench/make_hard_corpus.py --out /data/hard2 --raw /data/raw --extra /data/raw2

The corpus is data and stays out of git.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import math
import random
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

PACKAGES = ("plasma-workspace-wallpapers", "mate-backgrounds", "wesnoth-1.16-data", "tuxpaint-stamps-default",
            "extremetuxracer-data", "hedgewars-data")
DEV = ("wallpaper", "portrait", "texture", "painting", "wall2", "chart", "nebula")
EXTRA_PACKAGES = ("gnome-backgrounds", "sway-backgrounds", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04",
                  "ukui-wallpapers", "stellarium-data")
HELD_OUT = ("windows", "stamp", "gamebg", "mate")
SOURCES_PER_FAMILY = 12  # pictures that get every edit
LOOKALIKES_PER_FAMILY = 24  # further pictures written unedited
LONGEST = 1600  # originals are at most this long (about 1.5 MP for 16:10)
# Pictures the packages ship as separate files that are the same shot edited (found when the scan
# grouped them, then checked by eye): truth must call them one picture.
DERIVED = {
    "painting/landscape-bridge_sun": "painting/landscape-bridge",  # the same painting, sky repainted
    "portrait/undead-zombie-rider": "portrait/undead-zombie-horse",  # the same horse, a rider painted on
}


@dataclass(slots=True)
class Picture:
    family: str
    name: str
    load: Callable[[], Image.Image] | None = None
    path: str = ""
    box: tuple[float, float, float, float] | None = None  # relative window (windows family)
    backdrop: tuple[int, int, int] | None = None


# --------------------------------------------------------------------------- sources


def _fetch(raw: Path, debs: Path) -> None:
    _fetch_packages(raw, debs, PACKAGES)


def _fetch_packages(raw: Path, debs: Path, packages: tuple[str, ...]) -> None:
    debs.mkdir(parents=True, exist_ok=True)
    raw.mkdir(parents=True, exist_ok=True)  # dpkg -x creates the package folder, not its parents
    for pkg in packages:
        if (raw / pkg).is_dir():
            continue
        found = sorted(debs.glob(f"{pkg}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True)
            found = sorted(debs.glob(f"{pkg}_*.deb"))
        subprocess.run(["dpkg", "-x", str(found[-1]), str(raw / pkg)], check=True)


def _size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:
        return (0, 0)


def _candidates(raw: Path) -> dict[str, list[Picture]]:
    fam: dict[str, list[Picture]] = {f: [] for f in DEV + HELD_OUT}
    wp = raw / "plasma-workspace-wallpapers/usr/share/wallpapers"
    for d in sorted(wp.iterdir()):
        imgs = sorted((d / "contents/images").glob("*.*"), key=lambda p: _size(p)[0] * _size(p)[1])
        wide = [p for p in imgs if _size(p)[0] > _size(p)[1]]
        if wide:
            fam["wallpaper"].append(Picture("wallpaper", d.name, path=str(wide[-1])))
            big = wide[-1]
            w = _size(big)[0]
            if w >= 3800:
                # four windows of one big photograph: the same scene, light and palette, different content
                for k, box in enumerate(((0.0, 0.0, 0.42, 0.5), (0.58, 0.0, 1.0, 0.5),
                                         (0.0, 0.5, 0.42, 1.0), (0.58, 0.5, 1.0, 1.0))):
                    fam["windows"].append(Picture("windows", f"{d.name}-w{k}", path=str(big), box=box))
    mate = raw / "mate-backgrounds/usr/share/backgrounds/mate"
    for p in sorted(mate.rglob("*")):
        if p.suffix.lower() in (".jpg", ".png") and min(_size(p)) >= 600:
            fam["mate"].append(Picture("mate", p.stem, path=str(p)))
    wes = raw / "wesnoth-1.16-data/usr/share/games/wesnoth/1.16/data/core/images"
    for p in sorted((wes / "portraits").rglob("*.png")):
        if min(_size(p)) >= 380:
            fam["portrait"].append(Picture("portrait", p.parent.name + "-" + p.stem, path=str(p), backdrop=(46, 40, 36)))
    for p in sorted((wes / "story").glob("*.jpg")):
        fam["painting"].append(Picture("painting", p.stem, path=str(p)))
    tux = raw / "tuxpaint-stamps-default/usr/share/tuxpaint/stamps"
    for p in sorted(tux.rglob("*.png")):
        if min(_size(p)) >= 300:
            fam["stamp"].append(Picture("stamp", p.parent.name + "-" + p.stem, path=str(p), backdrop=(255, 255, 255)))
    etr = raw / "extremetuxracer-data/usr/share/games/etr"
    for p in sorted(etr.rglob("*.png")):
        if min(_size(p)) >= 256:
            fam["texture"].append(Picture("texture", p.parent.name + "-" + p.stem, path=str(p)))
    hw = raw / "hedgewars-data/usr/share/games/hedgewars/Data"
    for p in sorted(hw.rglob("*.png")):
        if min(_size(p)) >= 400:
            fam["gamebg"].append(Picture("gamebg", p.parent.name + "-" + p.stem, path=str(p), backdrop=(90, 110, 140)))
    return fam


def _extra_candidates(raw: Path, raw2: Path) -> dict[str, list[Picture]]:
    fam: dict[str, list[Picture]] = {"wall2": [], "chart": [], "nebula": []}
    best: dict[str, Path] = {}
    for root in (raw, raw2):
        for pkg in EXTRA_PACKAGES[:-1]:
            for p in sorted((root / pkg).rglob("*")) if (root / pkg).is_dir() else []:
                if p.suffix.lower() in (".jpg", ".png", ".webp") and min(_size(p)) >= 600:
                    key = p.stem.split("_")[0].lower().rstrip("-dl")  # one size / variant of a design
                    if key not in best or _size(p)[0] * _size(p)[1] > _size(best[key])[0] * _size(best[key])[1]:
                        best[key] = p
    fam["wall2"] = [Picture("wall2", p.stem, path=str(p)) for _, p in sorted(best.items())]
    st = raw2 / "stellarium-data/usr/share/stellarium"
    for p in sorted((st / "skycultures").rglob("*")):
        if p.suffix.lower() in (".png", ".jpg") and min(_size(p)) >= 400:
            fam["chart"].append(Picture("chart", p.parent.name + "-" + p.stem, path=str(p), backdrop=(0, 0, 0)))
    for p in sorted((st / "nebulae").rglob("*")):
        if p.suffix.lower() in (".png", ".jpg") and min(_size(p)) >= 300:
            fam["nebula"].append(Picture("nebula", p.stem, path=str(p), backdrop=(0, 0, 0)))
    return fam


def load_picture(pic: Picture) -> Image.Image:
    im = Image.open(pic.path)
    im.load()
    if pic.box is not None:
        w, h = im.size
        x0, y0, x1, y1 = pic.box
        im = im.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))
    if im.mode in ("RGBA", "LA", "PA", "P") and (im.mode != "P" or "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (*(pic.backdrop or (128, 128, 128)), 255))
        im = Image.alpha_composite(bg, rgba)
    im = im.convert("RGB")
    scale = LONGEST / max(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    return im


def _informative(im: Image.Image) -> bool:
    g = np.asarray(im.convert("L").resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    return float(g.std()) >= 12.0


def choose_pictures(fam: dict[str, list[Picture]], seed: int) -> list[tuple[Picture, bool]]:
    """Per family: distinct pictures (content and phash dedup), the first ones get the edits."""
    rng = random.Random(seed)
    chosen: list[tuple[Picture, bool]] = []
    for family, pics in fam.items():
        rng.shuffle(pics)
        kept: list[tuple[Picture, imagehash.ImageHash, imagehash.ImageHash]] = []
        seen: set[str] = set()
        taken: set[str] = set()  # file names in use (a space becomes "_" in the name)
        for pic in pics:
            if len(kept) >= SOURCES_PER_FAMILY + LOOKALIKES_PER_FAMILY:
                break
            try:
                im = load_picture(pic)
            except Exception:
                continue
            if min(im.size) < 200 or not _informative(im):
                continue
            digest = hashlib.sha256(im.tobytes()).hexdigest()
            if digest in seen or pic.name.replace(" ", "_") in taken:
                continue  # the same content, or a name that would overwrite another picture's files
            h = imagehash.phash(im)
            hm = imagehash.phash(ImageOps.mirror(im))
            if any(h - k <= 10 or hm - k <= 10 for _, k, _ in kept):
                continue  # the same picture shipped twice (other size, mirrored): not a look-alike
            seen.add(digest)
            taken.add(pic.name.replace(" ", "_"))
            kept.append((pic, h, hm))
        print(f"[pick] {family}: {len(kept)} pictures ({len(pics)} candidates)", file=sys.stderr)
        chosen += [(p, k < SOURCES_PER_FAMILY) for k, (p, _, _) in enumerate(kept)]
    return chosen


# --------------------------------------------------------------------------- edits


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _jpeg(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def centre_crop(im: Image.Image, aspect: float, share: float = 1.0) -> Image.Image:
    """The largest centred window of ``aspect`` (w/h), scaled by ``share`` per side."""
    w, h = im.size
    if w / h > aspect:
        cw, ch = h * aspect, h
    else:
        cw, ch = w, w / aspect
    cw, ch = cw * share, ch * share
    x0, y0 = (w - cw) / 2, (h - ch) / 2
    return im.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch)))


def crop_share(im: Image.Image, share: float, rng: random.Random) -> Image.Image:
    """Keep ``share`` of each side, at a random offset."""
    w, h = im.size
    cw, ch = round(w * share), round(h * share)
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return im.crop((x0, y0, x0 + cw, y0 + ch))


def letterbox(im: Image.Image, fill: float, rng: random.Random) -> Image.Image:
    """A 'screenshot': the picture inside a dark canvas with bars and UI text."""
    w, h = im.size
    portrait_screen = rng.random() < 0.5
    cw, ch = (1080, 1920) if portrait_screen else (1920, 1080)
    scale = min(cw * fill / w, ch * fill / h)
    pw, ph = round(w * scale), round(h * scale)
    canvas = Image.new("RGB", (cw, ch), (rng.randint(0, 24),) * 3)
    x0, y0 = (cw - pw) // 2, (ch - ph) // 2
    canvas.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), (x0, y0))
    d = ImageDraw.Draw(canvas)
    f = _font(max(18, ch // 40))
    d.text((24, 12), f"{rng.randint(8, 23)}:{rng.randint(10, 59)}   LTE  {rng.randint(20, 99)}%", fill=(235, 235, 235), font=f)
    d.text((24, ch - 3 * ch // 40), "♥ 1,2k    comment    share    ...", fill=(220, 220, 220), font=f)
    d.text((24, y0 + ph + 10 if y0 + ph + 50 < ch else 50), "@someone  #nofilter  original post",
           fill=(200, 200, 200), font=f)
    return canvas


def caption(im: Image.Image, share: float, rng: random.Random, above: bool = False) -> Image.Image:
    w, h = im.size
    bar = round(h * share)
    canvas = Image.new("RGB", (w, h + bar), (255, 255, 255) if rng.random() < 0.5 else (20, 20, 20))
    canvas.paste(im, (0, bar if above else 0))
    d = ImageDraw.Draw(canvas)
    ink = (0, 0, 0) if canvas.getpixel((0, 0 if above else h + 1)) == (255, 255, 255) else (240, 240, 240)
    f = _font(max(14, bar // 3))
    y = (bar - bar // 3) // 2 + (0 if above else h)
    d.text((max(8, w // 30), y), "When you finally see it... (caption text here)", fill=ink, font=f)
    return canvas


def logo(im: Image.Image, share: float, rng: random.Random) -> Image.Image:
    out = im.copy()
    w, h = im.size
    lw = round(w * share)
    lh = max(12, lw // 3)
    tile = Image.new("RGBA", (lw, lh), (0, 0, 0, 0))
    d = ImageDraw.Draw(tile)
    d.rounded_rectangle((0, 0, lw - 1, lh - 1), radius=lh // 4, fill=(255, 255, 255, 170))
    d.ellipse((lh // 6, lh // 6, lh - lh // 6, lh - lh // 6), fill=(220, 30, 40, 255))
    d.text((lh + 4, lh // 4), "mysite.com", fill=(10, 10, 10, 255), font=_font(max(10, lh // 2)))
    corner = rng.randrange(4)
    x = 10 if corner % 2 == 0 else w - lw - 10
    y = 10 if corner < 2 else h - lh - 10
    out.paste(tile, (x, y), tile)
    if share >= 0.2:  # a diagonal watermark across the picture too
        wm = Image.new("RGBA", im.size, (0, 0, 0, 0))
        ImageDraw.Draw(wm).text((w // 6, h // 2), "© mysite.com", fill=(255, 255, 255, 90), font=_font(max(16, h // 10)))
        out = Image.alpha_composite(out.convert("RGBA"), wm).convert("RGB")
    return out


def warm_vignette(im: Image.Image, strength: float) -> Image.Image:
    a = np.asarray(im, dtype=np.float32)
    a = a * np.array([1 + 0.12 * strength, 1 + 0.02 * strength, 1 - 0.15 * strength], dtype=np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / math.sqrt(2)
    a = a * (1 - strength * 0.55 * r[..., None] ** 2)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def rotate_crop(im: Image.Image, degrees: float) -> Image.Image:
    """Rotate and crop to the largest axis-aligned rectangle with no empty corners."""
    w, h = im.size
    rot = im.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    a = math.radians(abs(degrees))
    # largest inscribed rectangle of the same aspect inside the rotated picture
    s = 1 / (math.cos(a) + max(w / h, h / w) * math.sin(a))
    cw, ch = w * s, h * s
    return rot.crop((round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2)))


def thumbnail(im: Image.Image, side: int) -> Image.Image:
    t = im.copy()
    t.thumbnail((side, side), Image.Resampling.LANCZOS)
    return t


def edits(im: Image.Image, rng: random.Random) -> list[tuple[str, str, Image.Image, str, dict]]:
    """(kind, strength, picture, format, save options) for every edit."""
    w, h = im.size
    j = ("JPEG", {"quality": 90})
    out: list[tuple[str, str, Image.Image, str, dict]] = [
        ("mirror", "h", ImageOps.mirror(im), *j),
        ("rot90", "90", im.transpose(Image.Transpose.ROTATE_90), *j),
        ("rot90", "270", im.transpose(Image.Transpose.ROTATE_270), *j),
        ("rot180", "180", im.transpose(Image.Transpose.ROTATE_180), *j),
        ("square-crop", "full", centre_crop(im, 1.0), *j),
        ("square-crop", "0.85", centre_crop(im, 1.0, 0.85), *j),
        ("crop-4x5", "full", centre_crop(im, 0.8), *j),
        ("crop-4x5", "0.9", centre_crop(im, 0.8, 0.9), *j),
        ("crop90", "0.9", crop_share(im, 0.9, rng), *j),
        ("crop90", "0.8", crop_share(im, 0.8, rng), *j),
        ("letterbox", "0.85", letterbox(im, 0.85, rng), "PNG", {}),
        ("letterbox", "0.6", letterbox(im, 0.6, rng), "JPEG", {"quality": 85}),
        ("caption", "0.15", caption(im, 0.15, rng), *j),
        ("caption", "0.3", caption(im, 0.3, rng, above=rng.random() < 0.5), *j),
        ("logo", "0.12", logo(im, 0.12, rng), *j),
        ("logo", "0.25", logo(im, 0.25, rng), *j),
        ("filter-vignette", "0.6", warm_vignette(im, 0.6), *j),
        ("filter-vignette", "1.0", warm_vignette(im, 1.0), *j),
        ("rotate", "3", rotate_crop(im, 3 if rng.random() < 0.5 else -3), *j),
        ("rotate", "5", rotate_crop(im, 5 if rng.random() < 0.5 else -5), *j),
        ("thumbnail", "240", thumbnail(im, 240), *j),
        ("thumbnail", "128", thumbnail(im, 128), "PNG", {}),
        ("webp", "q80", im, "WEBP", {"quality": 80}),
        ("webp", "q40", im.resize((w // 2, h // 2), Image.Resampling.LANCZOS), "WEBP", {"quality": 40}),
        ("jpeg-heavy", "q35", im, "JPEG", {"quality": 35}),
        ("jpeg-heavy", "q15", im, "JPEG", {"quality": 15}),
        ("greyscale", "L", ImageOps.grayscale(im), *j),
        ("bright-contrast", "+30%", ImageEnhance.Brightness(im).enhance(1.3), *j),
        ("bright-contrast", "-30%c", ImageEnhance.Contrast(im).enhance(0.7), *j),
        ("bright-contrast", "dark+sharp", ImageEnhance.Brightness(im.filter(ImageFilter.SHARPEN)).enhance(0.75), *j),
        ("resize-recompress", "0.7q70", _jpeg(im.resize((round(w * 0.7), round(h * 0.7)), Image.Resampling.BILINEAR), 70), *j),
        ("resize-recompress", "0.5png", im.resize((w // 2, h // 2), Image.Resampling.BICUBIC), "PNG", {}),
    ]
    return out


EXT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}


def build_one(args: tuple[Picture, bool, Path, int]) -> list[dict[str, str]]:
    pic, edited, out, seed = args
    rng = random.Random(f"{seed}-{pic.family}-{pic.name}")
    im = load_picture(pic)
    folder = out / pic.family
    folder.mkdir(parents=True, exist_ok=True)
    picture_id = f"{pic.family}/{pic.name}"
    rows = []
    base = pic.name.replace(" ", "_")
    items = [("original", "", im, "JPEG", {"quality": 92})]
    if edited:
        items += edits(im, rng)
    for kind, strength, img, fmt, opts in items:
        suffix = "" if kind == "original" else f"__{kind}-{strength}".replace("%", "pc").replace("+", "p")
        rel = f"{pic.family}/{base}{suffix}{EXT[fmt]}"
        img.save(out / rel, fmt, **opts)
        rows.append({"path": rel, "family": pic.family, "half": "dev" if pic.family in DEV else "held-out",
                     "picture": picture_id, "edit": kind, "strength": strength,
                     "role": "source" if edited else "lookalike"})
    return apply_derived(rows)


def apply_derived(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rows of :data:`DERIVED` pictures under the picture they were made from."""
    for r in rows:
        r["picture"] = DERIVED.get(r["picture"], r["picture"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--raw", type=Path, help="unpacked packages (default: OUT/../raw)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--fix-truth", action="store_true", help="only apply DERIVED to an existing OUT/truth.csv")
    ap.add_argument("--extra", type=Path, metavar="RAW2",
                    help="build the second dev corpus (wall2, chart, nebula) from these unpacked packages")
    args = ap.parse_args()
    if args.fix_truth:
        with open(args.out / "truth.csv", newline="") as fh:
            old = apply_derived(list(csv.DictReader(fh)))
        with open(args.out / "truth.csv", "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(old[0]))
            wr.writeheader()
            wr.writerows(old)
        return
    raw = args.raw or args.out.parent / "raw"
    _fetch(raw, raw.parent / "debs")
    if args.extra:
        _fetch_packages(args.extra, args.extra.parent / "debs2", EXTRA_PACKAGES)
        chosen = choose_pictures(_extra_candidates(raw, args.extra), args.seed)
    else:
        chosen = choose_pictures(_candidates(raw), args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for r in pool.map(build_one, [(p, e, args.out, args.seed) for p, e in chosen]):
            rows += r
    with open(args.out / "truth.csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    print(f"{len(rows)} files in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
