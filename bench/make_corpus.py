#!/usr/bin/env python3
"""Build the real-photograph near-duplicate accuracy corpus for imgreview.

Sources (no internet needed beyond the Debian archive):

* photographs shipped in Debian wallpaper packages, fetched with
  ``apt-get download`` into ``bench/data/debs`` and unpacked with ``dpkg -x``
  into ``bench/data/raw/<package>``;
* the photograph of Grace Hopper shipped inside the ``textual-image`` wheel.

Which files are *photographs* is a curated list (``PHOTO_GLOBS``): the
wallpaper packages mix photos with vector art, and no heuristic tells them
apart reliably.  Non-photographic art is used as single-file negatives
(``ARTWORK_GLOBS``) and light/dark/colour variants of one design as hard
negatives (``VARIANT_FAMILIES``).

Every candidate file is deduplicated first by content (sha256; e.g. Plasma
ships one JPEG under twelve resolution names) and then by near-identity
(``imagehash.phash`` distance <= 12 *and* a 32x32 greyscale thumbnail
correlation >= 0.90, e.g. the same painting at 1920, 3840 and 5640 px).
Only one file per picture survives; the dropped ones are printed.

Ground truth (``truth.csv``): two files are a true near-duplicate pair iff
they have the same non-empty ``positive_group``.  Every photo-derived file
(original and all edits, including ``mirror``) has ``positive_group`` equal
to its photo's ``source_id``.  A mirrored copy *is* a true duplicate, but
plain perceptual hashes are not mirror-invariant, so evaluations should
report recall with and without pairs that involve a ``mirror`` file.
Negatives have an empty ``positive_group``: they must not be paired with
anything.

Usage::

    .venv/bin/python bench/make_corpus.py            # build (downloads debs once)
    .venv/bin/python bench/make_corpus.py --force    # rebuild the corpus dir
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import math
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_DATA = BENCH_DIR / "data"

# Debian packages to fetch (bookworm names).  ukui-wallpapers and
# lomiri-wallpapers turned out to hold vector art only; they still provide
# artwork negatives.
PACKAGES: tuple[str, ...] = (
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "lomiri-wallpapers",
    "mate-backgrounds",
    "plasma-workspace-wallpapers",
    "ukui-wallpapers",
    "gnome-backgrounds",
)

# Real photographs, as (package, glob relative to the unpacked package root).
# Globs may match several files; duplicates collapse in the dedup step.
PHOTO_GLOBS: tuple[tuple[str, str], ...] = (
    *(("lomiri-wallpapers-16.04", f"usr/share/backgrounds/{n}") for n in (
        "Bridge_by_Sander_Klootwijk.jpg",
        "Dragonfly_by_Bolly.jpg",
        "Picture_0B_by_freespace.jpg",
        "Picture_1A_by_freespace.jpg",
        "Wine_by_Jakkub_Mede.jpg",
        "aitzgorri_by_Aitzol_Berasategi.jpg",
        "analogpattern_by_Peter_Nerlich.jpg",
        "free_by_Peter_Nerlich.jpg",
        "friends_by_Aitzol_Berasategi.jpg",
        "greentock_by_Peter_Nerlich.jpg",
        "life_by_Aitzol_Berasategi.jpg",
        "picosdeeuropa_by_Aitzol_Berasategi.jpg",
        "seeding_by_Clements_Engelhardt.jpg",
        "sunset_by_Aitzol_Berasategi.jpg",
    )),
    ("lomiri-wallpapers-20.04", "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg"),
    *(("mate-backgrounds", f"usr/share/backgrounds/mate/nature/{n}.jpg") for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow",
        "LadyBird", "RainDrops", "Storm", "TwoWings", "Wood", "YellowFlower",
    )),
    *(("plasma-workspace-wallpapers", f"usr/share/wallpapers/{n}/contents/images/*.jpg") for n in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
        "FallenLeaf", "Grey", "Kite", "OneStandsOut", "Path", "summer_1am",
    )),
)

# Non-photographic wallpapers: one file each, used as plain negatives.
ARTWORK_GLOBS: tuple[tuple[str, str], ...] = (
    ("ukui-wallpapers", "usr/share/backgrounds/*.jpg"),
    ("ukui-wallpapers", "usr/share/backgrounds/*.png"),
    ("lomiri-wallpapers", "usr/share/backgrounds/*.png"),
    ("lomiri-wallpapers-16.04", "usr/share/backgrounds/umang_by_Abhishek_Mudgal.jpg"),
    ("lomiri-wallpapers-20.04", "usr/share/backgrounds/Fossa_by_Jasper_Roks.jpg"),
    ("lomiri-wallpapers-20.04", "usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg"),
    ("lomiri-wallpapers-20.04", "usr/share/backgrounds/Painting-Colors_by__herobrine7gamer.jpg"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/abstract/Elephants*.jpg"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/desktop/Float-into-MATE.png"),
    # picture only in the alpha channel, RGB constant (real-world alpha-only PNGs)
    ("mate-backgrounds", "usr/share/backgrounds/mate/abstract/Silk.png"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/abstract/Spring.png"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/abstract/Waves.png"),
    ("mate-backgrounds", "usr/share/backgrounds/mate/desktop/GreenTraditional.jpg"),
    *(("plasma-workspace-wallpapers", f"usr/share/wallpapers/{n}/contents/images/*") for n in (
        "Altai", "Autumn", "Canopee", "Cascade", "Cluster", "Elarun", "FlyingKonqui",
        "Honeywave", "IceCold", "Kokkini", "MilkyWay", "Opal", "PastelHills",
        "SafeLanding", "Shell", "Volna",
    )),
)

# Light/dark (or colour) variants of one design: hard negatives.  Each family
# maps variant name -> (package, glob).  The largest matching file is used.
VARIANT_FAMILIES: dict[str, dict[str, tuple[str, str]]] = {
    **{f"gnome-{d}": {
        "dark": ("gnome-backgrounds", f"usr/share/backgrounds/gnome/{d}-d.webp"),
        "light": ("gnome-backgrounds", f"usr/share/backgrounds/gnome/{d}-l.webp"),
    } for d in ("adwaita", "grid", "licorice", "pixels", "symbolic", "truchet", "vnc", "wood")},
    **{f"plasma-{d}": {
        "light": ("plasma-workspace-wallpapers", f"usr/share/wallpapers/{d}/contents/images/*"),
        "dark": ("plasma-workspace-wallpapers", f"usr/share/wallpapers/{d}/contents/images_dark/*"),
    } for d in ("Flow", "Kay", "Patak")},
    "mate-stripes": {
        "dark": ("mate-backgrounds", "usr/share/backgrounds/mate/desktop/MATE-Stripes-Dark.png"),
        "light": ("mate-backgrounds", "usr/share/backgrounds/mate/desktop/MATE-Stripes-Light.png"),
    },
    "ubuntu-mate": {
        c.lower(): ("mate-backgrounds", f"usr/share/backgrounds/mate/desktop/Ubuntu-Mate-{c}-no-logo.png")
        for c in ("Cold", "Dark", "Radioactive", "Warm")
    },
}

RASTER_EXT = {".jpg", ".jpeg", ".png", ".webp"}
MAX_SIDE = 1600
ORIGINAL_QUALITY = 92
PHASH_NEAR = 12          # phash distance (64-bit) considered "same picture" ...
CORR_NEAR = 0.90         # ... if the 32x32 grey thumbnails also correlate this well
COLOUR_NEAR = 16.0       # ... and the 16x16 RGB thumbnails differ by at most this (mean abs)
WATERMARK_TEXT = "\u00a9 2026 sample"

PHOTO_EDITS: tuple[str, ...] = (
    "original", "jpeg50", "half", "sixth", "bright30", "contrast-25",
    "grey", "crop90", "rot3", "watermark", "mirror",
)


# --------------------------------------------------------------------------
# fetching
# --------------------------------------------------------------------------

def log(msg: str) -> None:
    print(msg, flush=True)


def ensure_packages(data: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Download (apt-get download) and unpack (dpkg -x) each package once."""
    debs = data / "debs"
    raw = data / "raw"
    debs.mkdir(parents=True, exist_ok=True)
    raw.mkdir(parents=True, exist_ok=True)
    roots: dict[str, Path] = {}
    for pkg in packages:
        root = raw / pkg
        marker = root / ".extracted"
        if not marker.exists():
            found = sorted(debs.glob(f"{pkg}_*.deb"))
            if not found:
                log(f"[fetch] apt-get download {pkg}")
                res = subprocess.run(["apt-get", "download", pkg], cwd=debs,
                                     capture_output=True, text=True)
                if res.returncode != 0:
                    hint = "" if "Unable to locate" not in res.stderr else \
                        " (run 'apt-get update' once first)"
                    log(f"[fetch] WARNING: could not download {pkg}{hint}: "
                        f"{res.stderr.strip().splitlines()[-1:]}")
                    continue
                found = sorted(debs.glob(f"{pkg}_*.deb"))
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            subprocess.run(["dpkg", "-x", str(found[-1]), str(root)], check=True)
            marker.write_text(found[-1].name + "\n")
        roots[pkg] = root
    return roots


def textual_image_photo() -> Path | None:
    """The JPEG photograph shipped inside the textual-image wheel."""
    try:
        import textual_image  # type: ignore[import-not-found]
    except ImportError:
        base = Path(sys.prefix) / "lib"
        hits = sorted(base.glob("python3*/site-packages/textual_image/*.jpg"))
        return hits[0] if hits else None
    hits = sorted(Path(textual_image.__file__).parent.glob("*.jp*g"))
    return hits[0] if hits else None


# --------------------------------------------------------------------------
# candidate discovery and dedup
# --------------------------------------------------------------------------

@dataclass
class Candidate:
    path: Path
    package: str
    category: str              # photo | artwork | variant
    family: str = ""           # variant family name
    variant: str = ""          # variant name inside the family
    sha256: str = ""
    size: tuple[int, int] = (0, 0)
    phash: imagehash.ImageHash | None = None
    thumb: np.ndarray | None = field(default=None, repr=False)
    colour: np.ndarray | None = field(default=None, repr=False)
    transparent: bool = False
    aliases: list[Path] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.package == "plasma-workspace-wallpapers":   # .../<Name>/contents/images/WxH.jpg
            return f"{self.package}:{self.path.parents[2].name}/{self.path.parent.name}/{self.path.name}"
        return f"{self.package}:{self.path.name}"


def glob_files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern)
                  if p.is_file() and p.suffix.lower() in RASTER_EXT and "screenshot" not in p.name)


def has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def load_rgb(path: Path, bg: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Open an image as RGB; transparency is flattened onto ``bg``."""
    with Image.open(path) as im:
        im.load()
        if has_alpha(im):
            rgba = im.convert("RGBA")
            base = Image.new("RGBA", rgba.size, (*bg, 255))
            return Image.alpha_composite(base, rgba).convert("RGB")
        return im.convert("RGB")


def load_keep_alpha(path: Path) -> Image.Image:
    """Open as RGBA if the file has any non-opaque pixel, else as RGB."""
    with Image.open(path) as im:
        im.load()
        if has_alpha(im):
            rgba = im.convert("RGBA")
            if rgba.getchannel("A").getextrema()[0] < 255:
                return rgba
        return im.convert("RGB")


def downscale(im: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    w, h = im.size
    scale = max_side / max(w, h)
    if scale >= 1:
        return im.copy()
    return im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def fingerprint(c: Candidate) -> None:
    # Mid-grey background: alpha-only pictures (RGB constant, shape in the
    # alpha channel) stay distinguishable in black and in white.
    im = load_keep_alpha(c.path)
    c.transparent = im.mode == "RGBA"
    if c.transparent:
        im = Image.alpha_composite(Image.new("RGBA", im.size, (128, 128, 128, 255)), im).convert("RGB")
    c.size = im.size
    small = downscale(im, 512)
    c.phash = imagehash.phash(small)
    c.colour = np.asarray(small.resize((16, 16), Image.Resampling.BILINEAR), dtype=np.float64)
    g = np.asarray(small.convert("L").resize((32, 32), Image.Resampling.BILINEAR), dtype=np.float64)
    g = g - g.mean()
    n = np.linalg.norm(g)
    c.thumb = g / n if n > 0 else g


def colour_mad(a: Candidate, b: Candidate) -> float:
    """Mean absolute RGB difference of 16x16 thumbnails (0..255)."""
    assert a.colour is not None and b.colour is not None
    return float(np.abs(a.colour - b.colour).mean())


def thumb_corr(a: Candidate, b: Candidate) -> float:
    assert a.thumb is not None and b.thumb is not None
    if not a.thumb.any() or not b.thumb.any():
        return 1.0 if (not a.thumb.any() and not b.thumb.any()) else 0.0
    return float((a.thumb * b.thumb).sum())


def collect_candidates(roots: dict[str, Path]) -> list[Candidate]:
    out: list[Candidate] = []
    missing: list[str] = []

    def add(pkg: str, pattern: str, category: str, family: str = "", variant: str = "",
            largest_only: bool = False) -> None:
        root = roots.get(pkg)
        files = glob_files(root, pattern) if root else []
        if not files:
            missing.append(f"{pkg}:{pattern}")
            return
        if largest_only:
            files = [max(files, key=lambda p: (p.stat().st_size, str(p)))]
        for f in files:
            out.append(Candidate(f, pkg, category, family, variant))

    for pkg, pat in PHOTO_GLOBS:
        add(pkg, pat, "photo")
    ti = textual_image_photo()
    if ti is not None:
        out.append(Candidate(ti, "textual-image", "photo"))
    else:
        missing.append("textual-image:gracehopper.jpg")
    for pkg, pat in ARTWORK_GLOBS:
        add(pkg, pat, "artwork", largest_only="/contents/images" in pat)
    for fam, variants in VARIANT_FAMILIES.items():
        for var, (pkg, pat) in variants.items():
            add(pkg, pat, "variant", fam, var, largest_only=True)
    if missing:
        log(f"[sources] WARNING: {len(missing)} expected source pattern(s) matched nothing: "
            + ", ".join(missing))
    return out


def dedupe(cands: list[Candidate]) -> list[Candidate]:
    """Exact (sha256) then near-identical (phash + thumbnail) dedup.

    Preference inside a cluster: photo > artwork > variant, then most pixels,
    then path.  Members of one variant family are never merged with each
    other (being similar is what makes them hard negatives), but a family
    with fewer than two surviving members is dissolved into artwork.
    """
    for c in cands:
        c.sha256 = hashlib.sha256(c.path.read_bytes()).hexdigest()

    # exact duplicates
    by_sha: dict[str, list[Candidate]] = {}
    for c in cands:
        by_sha.setdefault(c.sha256, []).append(c)
    prio = {"photo": 0, "artwork": 1, "variant": 2}

    def key(c: Candidate) -> tuple[int, int, str]:
        return (prio[c.category], -(c.size[0] * c.size[1]), str(c.path))

    uniq: list[Candidate] = []
    n_exact = 0
    for group in by_sha.values():
        group.sort(key=key)
        keep = group[0]
        keep.aliases = [g.path for g in group[1:]]
        n_exact += len(group) - 1
        uniq.append(keep)
    for c in uniq:
        fingerprint(c)
    log(f"[dedup] {len(cands)} candidate files -> {len(uniq)} byte-distinct "
        f"({n_exact} byte-identical copies collapsed)")
    for c in sorted(uniq, key=lambda c: str(c.path)):
        if len(c.aliases) >= 1:
            log(f"[dedup]   {c.label}: {len(c.aliases)} identical cop"
                f"{'y' if len(c.aliases) == 1 else 'ies'} under other names "
                f"({', '.join(sorted(a.name for a in c.aliases)[:3])}{', ...' if len(c.aliases) > 3 else ''})")

    # near-identical clustering (union-find)
    parent = list(range(len(uniq)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    close_but_different: list[tuple[Candidate, Candidate, int, float, float]] = []
    for i, j in itertools.combinations(range(len(uniq)), 2):
        a, b = uniq[i], uniq[j]
        if a.family and a.family == b.family:
            continue
        assert a.phash is not None and b.phash is not None
        d = a.phash - b.phash
        if d > PHASH_NEAR:
            continue
        r = thumb_corr(a, b)
        m = colour_mad(a, b)
        if r >= CORR_NEAR and m <= COLOUR_NEAR:
            parent[find(i)] = find(j)
        else:
            close_but_different.append((a, b, d, r, m))

    clusters: dict[int, list[Candidate]] = {}
    for i, c in enumerate(uniq):
        clusters.setdefault(find(i), []).append(c)
    kept: list[Candidate] = []
    for members in clusters.values():
        members.sort(key=key)
        kept.append(members[0])
        for m in members[1:]:
            log(f"[dedup] DROP near-identical {m.label} {m.size[0]}x{m.size[1]} "
                f"(phash d={m.phash - members[0].phash}, corr={thumb_corr(m, members[0]):.3f}, "
                f"colour diff={colour_mad(m, members[0]):.1f}) "
                f"-> keep {members[0].label} {members[0].size[0]}x{members[0].size[1]}")
    for a, b, d, r, m in close_but_different:
        log(f"[dedup] note: {a.label} ~ {b.label}: phash d={d} but thumbnail corr={r:.2f}, "
            f"colour diff={m:.0f}; kept both as different pictures (hash-level hard negative)")

    # dissolve variant families that lost members
    fam_count: dict[str, int] = {}
    for c in kept:
        if c.category == "variant":
            fam_count[c.family] = fam_count.get(c.family, 0) + 1
    for c in kept:
        if c.category == "variant" and fam_count[c.family] < 2:
            log(f"[dedup] variant family {c.family} has <2 members left; {c.label} becomes artwork")
            c.category, c.family, c.variant = "artwork", "", ""
    kept.sort(key=lambda c: (prio[c.category], c.family, c.variant, str(c.path)))
    return kept


# --------------------------------------------------------------------------
# edits
# --------------------------------------------------------------------------

def watermark(im: Image.Image) -> Image.Image:
    out = im.convert("RGB").copy()
    w, h = out.size
    size = max(12, round(h * 0.07))
    font = ImageFont.load_default(size=size)   # embedded font: identical everywhere
    d = ImageDraw.Draw(out)
    box = d.textbbox((0, 0), WATERMARK_TEXT, font=font, stroke_width=max(1, size // 12))
    tw, th = box[2] - box[0], box[3] - box[1]
    margin = round(h * 0.03)
    d.text((w - tw - margin - box[0], h - th - margin - box[1]), WATERMARK_TEXT, font=font,
           fill=(255, 255, 255), stroke_width=max(1, size // 12), stroke_fill=(0, 0, 0))
    return out


def crop_center(im: Image.Image, frac: float) -> Image.Image:
    w, h = im.size
    cw, ch = round(w * frac), round(h * frac)
    left, top = (w - cw) // 2, (h - ch) // 2
    return im.crop((left, top, left + cw, top + ch))


def scaled(im: Image.Image, factor: float) -> Image.Image:
    w, h = im.size
    return im.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.LANCZOS)


# edit name -> (transform, file extension, save kwargs)
EDIT_SPECS: dict[str, tuple[Callable[[Image.Image], Image.Image], str, dict[str, object]]] = {
    "original": (lambda im: im, "jpg", {"quality": ORIGINAL_QUALITY}),
    "jpeg50": (lambda im: im, "jpg", {"quality": 50}),
    "half": (lambda im: scaled(im, 1 / 2), "jpg", {"quality": ORIGINAL_QUALITY}),
    "sixth": (lambda im: scaled(im, 1 / 6), "png", {}),
    "bright30": (lambda im: ImageEnhance.Brightness(im).enhance(1.30), "jpg", {"quality": ORIGINAL_QUALITY}),
    "contrast-25": (lambda im: ImageEnhance.Contrast(im).enhance(0.75), "jpg", {"quality": ORIGINAL_QUALITY}),
    "grey": (lambda im: ImageOps.grayscale(im), "jpg", {"quality": ORIGINAL_QUALITY}),
    "crop90": (lambda im: crop_center(im, 0.90), "jpg", {"quality": ORIGINAL_QUALITY}),
    "rot3": (lambda im: im.rotate(3, resample=Image.Resampling.BICUBIC, expand=False), "jpg",
             {"quality": ORIGINAL_QUALITY}),
    "watermark": (watermark, "jpg", {"quality": ORIGINAL_QUALITY}),
    "mirror": (lambda im: ImageOps.mirror(im), "jpg", {"quality": ORIGINAL_QUALITY}),
}
assert tuple(EDIT_SPECS) == PHOTO_EDITS


def save(im: Image.Image, path: Path, **kw: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        im.convert("RGB" if im.mode not in ("RGB", "L") else im.mode).save(
            path, "JPEG", subsampling=0 if kw.get("quality", 75) >= 90 else 2, **kw)
    else:
        im.save(path, "PNG", **kw)


# --------------------------------------------------------------------------
# synthetic hard negatives
# --------------------------------------------------------------------------

FLAT_COLOURS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("white", (255, 255, 255)), ("black", (0, 0, 0)), ("red", (220, 30, 30)),
    ("green", (30, 160, 60)), ("blue", (30, 60, 200)), ("yellow", (240, 220, 40)),
    ("grey50", (128, 128, 128)), ("orange", (245, 140, 20)), ("purple", (120, 40, 160)),
    ("teal", (20, 150, 150)), ("pink", (250, 170, 200)), ("navy", (15, 25, 70)),
)


def shape_mask(kind: str, size: tuple[int, int]) -> Image.Image:
    w, h = size
    m = Image.new("L", size, 0)
    d = ImageDraw.Draw(m)
    cx, cy, r = w / 2, h / 2, min(w, h) * 0.38
    if kind == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    elif kind == "square":
        d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=255)
    elif kind == "triangle":
        d.polygon([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], fill=255)
    elif kind == "star":
        pts = [(cx + (r if k % 2 == 0 else r * 0.42) * math.sin(k * math.pi / 5),
                cy - (r if k % 2 == 0 else r * 0.42) * math.cos(k * math.pi / 5)) for k in range(10)]
        d.polygon(pts, fill=255)
    elif kind == "ring":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        d.ellipse((cx - r * 0.6, cy - r * 0.6, cx + r * 0.6, cy + r * 0.6), fill=0)
    elif kind == "bars":
        for k in range(5):
            x0 = w * (0.1 + 0.17 * k)
            d.rectangle((x0, h * 0.15, x0 + w * 0.08, h * 0.85), fill=255)
    elif kind == "text":
        font = ImageFont.load_default(size=round(h * 0.35))
        d.text((w * 0.08, h * 0.28), "Ab", font=font, fill=255)
    elif kind == "soft-blob":
        yy, xx = np.mgrid[0:h, 0:w]
        g = np.exp(-(((xx - w * 0.35) / (w * 0.2)) ** 2 + ((yy - h * 0.6) / (h * 0.25)) ** 2))
        m = Image.fromarray((g * 255).round().astype(np.uint8), "L")
    else:
        raise ValueError(kind)
    return m


def alpha_only(kind: str, rgb: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    m = shape_mask(kind, size)
    im = Image.new("RGBA", size, (*rgb, 0))
    im.putalpha(m)
    return im


def gradient(size: tuple[int, int], direction: str, c0: tuple[int, int, int],
             c1: tuple[int, int, int]) -> Image.Image:
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if direction == "horizontal":
        t = xx / max(1, w - 1)
    elif direction == "vertical":
        t = yy / max(1, h - 1)
    elif direction == "diagonal":
        t = (xx / max(1, w - 1) + yy / max(1, h - 1)) / 2
    elif direction == "radial":
        t = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / math.sqrt(2)
    else:
        raise ValueError(direction)
    a, b = np.array(c0, dtype=np.float64), np.array(c1, dtype=np.float64)
    arr = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    return Image.fromarray(arr.round().clip(0, 255).astype(np.uint8), "RGB")


def design(kind: str, size: tuple[int, int], bg: tuple[int, int, int],
           fg: tuple[int, int, int], accent: tuple[int, int, int]) -> Image.Image:
    """A simple flat 'theme wallpaper' drawn with a given palette."""
    w, h = size
    im = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(im)
    if kind == "circles":
        for k in range(6):
            r = h * (0.08 + 0.05 * k)
            cx, cy = w * (0.15 + 0.14 * k), h * (0.3 + 0.08 * (k % 3))
            d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fg, width=max(2, h // 60))
        d.rectangle((0, h * 0.78, w, h), fill=accent)
    elif kind == "waves":
        for k in range(8):
            y0 = h * (0.12 + 0.1 * k)
            pts = [(x, y0 + h * 0.04 * math.sin(x / w * 4 * math.pi + k)) for x in range(0, w + 1, 8)]
            d.line(pts, fill=fg if k % 2 else accent, width=max(3, h // 40))
    elif kind == "blocks":
        d.polygon([(0, h), (w * 0.55, h * 0.2), (w * 0.75, h)], fill=fg)
        d.polygon([(w * 0.4, h), (w, h * 0.35), (w, h)], fill=accent)
        d.ellipse((w * 0.72, h * 0.08, w * 0.86, h * 0.08 + w * 0.14), fill=fg)
    else:
        raise ValueError(kind)
    return im


def invert(c: tuple[int, int, int]) -> tuple[int, int, int]:
    return (255 - c[0], 255 - c[1], 255 - c[2])


# --------------------------------------------------------------------------
# main build
# --------------------------------------------------------------------------

@dataclass
class Row:
    path: str
    source_id: str
    edit: str
    positive_group: str


def slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


PKG_SHORT = {
    "lomiri-wallpapers-16.04": "lomiri16", "lomiri-wallpapers-20.04": "lomiri20",
    "lomiri-wallpapers": "lomiri", "mate-backgrounds": "mate",
    "plasma-workspace-wallpapers": "plasma", "ukui-wallpapers": "ukui",
    "gnome-backgrounds": "gnome", "textual-image": "textual",
}


def source_name(c: Candidate) -> str:
    p = c.path
    if c.package == "plasma-workspace-wallpapers":
        name = p.parents[2].name           # usr/share/wallpapers/<Name>/contents/images/x.jpg
    else:
        name = p.stem.split("_by_")[0]
    return f"{PKG_SHORT.get(c.package, slug(c.package))}-{slug(name)}"


def build(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    data: Path = args.data
    corpus: Path = data / "corpus"
    if corpus.exists():
        if not args.force:
            log(f"{corpus} exists; use --force to rebuild")
            return 1
        shutil.rmtree(corpus)
    rng = random.Random(args.seed)

    roots = ensure_packages(data, args.packages)
    t_fetch = time.monotonic()
    cands = collect_candidates(roots)
    log(f"[sources] {sum(c.category == 'photo' for c in cands)} photo, "
        f"{sum(c.category == 'artwork' for c in cands)} artwork, "
        f"{sum(c.category == 'variant' for c in cands)} variant candidate files")
    kept = dedupe(cands)
    photos = [c for c in kept if c.category == "photo"]
    artwork = [c for c in kept if c.category == "artwork"]
    variants = [c for c in kept if c.category == "variant"]
    if args.max_photos is not None:
        photos = photos[: args.max_photos]
    t_dedup = time.monotonic()

    rows: list[Row] = []
    src_rows: list[dict[str, str]] = []
    used_ids: set[str] = set()

    def unique_id(base: str) -> str:
        sid, k = base, 2
        while sid in used_ids:
            sid, k = f"{base}-{k}", k + 1
        used_ids.add(sid)
        return sid

    def provenance(c: Candidate, sid: str, kind: str) -> None:
        src_rows.append({
            "source_id": sid, "kind": kind, "package": c.package,
            "file": str(c.path.relative_to(data)) if c.path.is_relative_to(data) else c.path.name,
            "width": str(c.size[0]), "height": str(c.size[1]), "sha256": c.sha256,
            "identical_copies": str(len(c.aliases)),
        })

    # photos + edits
    for c in photos:
        sid = unique_id("photo-" + source_name(c))
        provenance(c, sid, "photo")
        base = downscale(load_rgb(c.path))
        for edit, (fn, ext, kw) in EDIT_SPECS.items():
            rel = f"photos/{sid}__{edit}.{ext}"
            save(fn(base), corpus / rel, **kw)
            rows.append(Row(rel, sid, edit, sid))
    log(f"[build] {len(photos)} photos x {len(EDIT_SPECS)} files written")

    # real-image negatives
    def real_negative(c: Candidate, sid: str, kind: str) -> None:
        provenance(c, sid, kind)
        if c.transparent:       # keep transparency (alpha-only wallpapers!) as PNG
            rel = f"negatives/{sid}.png"
            save(downscale(load_keep_alpha(c.path)), corpus / rel)
        else:
            rel = f"negatives/{sid}.jpg"
            save(downscale(load_rgb(c.path)), corpus / rel, quality=ORIGINAL_QUALITY)
        rows.append(Row(rel, sid, kind, ""))

    for c in artwork:
        real_negative(c, unique_id("art-" + source_name(c)),
                      "alpha-only-real" if c.transparent else "artwork")
    for c in variants:
        real_negative(c, unique_id(f"var-{slug(c.family)}-{slug(c.variant)}"), "variant-real")

    # synthetic negatives
    def synth(sid: str, kind: str, im: Image.Image) -> None:
        sid = unique_id(sid)
        rel = f"negatives/{sid}.png"
        save(im, corpus / rel)
        rows.append(Row(rel, sid, kind, ""))
        src_rows.append({"source_id": sid, "kind": kind, "package": "synthetic", "file": "",
                         "width": str(im.size[0]), "height": str(im.size[1]), "sha256": "",
                         "identical_copies": "0"})

    sizes = [(800, 600), (1024, 768), (640, 480), (1200, 800), (600, 600)]
    for name, rgb in FLAT_COLOURS:
        synth(f"flat-{name}", "flat", Image.new("RGB", rng.choice(sizes), rgb))
    shapes = ("circle", "square", "triangle", "star", "ring", "bars", "text", "soft-blob")
    for k, kind in enumerate(shapes):
        rgb = (0, 0, 0) if k % 2 == 0 else (255, 255, 255)
        tag = "black" if k % 2 == 0 else "white"
        synth(f"alpha-{kind}-{tag}", "alpha-only", alpha_only(kind, rgb, rng.choice(sizes)))
    directions = ("horizontal", "vertical", "diagonal", "radial")
    for k in range(10):
        direction = directions[k % len(directions)]
        c0 = tuple(rng.randrange(256) for _ in range(3))
        c1 = tuple(rng.randrange(256) for _ in range(3))
        synth(f"grad-{direction}-{k:02d}", "gradient",
              gradient(rng.choice(sizes), direction, c0, c1))  # type: ignore[arg-type]
    palettes = {
        "circles": ((240, 240, 235), (40, 40, 50), (200, 80, 60)),
        "waves": ((230, 236, 245), (30, 70, 140), (240, 160, 40)),
        "blocks": ((250, 245, 230), (60, 120, 90), (180, 60, 90)),
    }
    for kind, (bg, fg, acc) in palettes.items():
        size = (1200, 750)
        synth(f"design-{kind}-light", "variant-synth", design(kind, size, bg, fg, acc))
        synth(f"design-{kind}-dark", "variant-synth",
              design(kind, size, invert(bg), invert(fg), invert(acc)))
        # same luminance layout, rotated hues: the hardest case for grey-based hashes
        synth(f"design-{kind}-hue", "variant-synth",
              design(kind, size, bg[::-1], fg[::-1], acc[::-1]))  # type: ignore[arg-type]

    # truth + provenance
    with open(corpus / "truth.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "source_id", "edit", "positive_group"])
        for r in sorted(rows, key=lambda r: r.path):
            w.writerow([r.path, r.source_id, r.edit, r.positive_group])
    with open(corpus / "sources.csv", "w", newline="") as f:
        w2 = csv.DictWriter(f, fieldnames=list(src_rows[0]), lineterminator="\n")
        w2.writeheader()
        w2.writerows(sorted(src_rows, key=lambda r: r["source_id"]))

    # summary
    n = len(rows)
    groups: dict[str, list[Row]] = {}
    for r in rows:
        if r.positive_group:
            groups.setdefault(r.positive_group, []).append(r)
    pos = sum(len(g) * (len(g) - 1) // 2 for g in groups.values())
    pos_mirror = sum(sum(1 for a, b in itertools.combinations(g, 2)
                         if "mirror" in (a.edit, b.edit)) for g in groups.values())
    total_pairs = n * (n - 1) // 2
    neg_rows = [r for r in rows if not r.positive_group]
    kinds: dict[str, int] = {}
    for r in neg_rows:
        kinds[r.edit] = kinds.get(r.edit, 0) + 1
    du = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    t_end = time.monotonic()
    log("")
    log("== corpus summary ==")
    log(f"corpus dir           : {corpus}")
    log(f"photo sources        : {len(photos)} (after dedup)")
    log(f"files                : {n} ({len(rows) - len(neg_rows)} photo-derived, {len(neg_rows)} negatives)")
    log("negative kinds       : " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    log(f"positive pairs       : {pos} (of which {pos_mirror} involve 'mirror'; "
        f"{pos - pos_mirror} excluding mirror)")
    log(f"negative pairs       : {total_pairs - pos} "
        f"(negative-negative {len(neg_rows) * (len(neg_rows) - 1) // 2}, "
        f"negative-photo {len(neg_rows) * (n - len(neg_rows))}, "
        f"photo-photo across sources {total_pairs - pos - len(neg_rows) * (len(neg_rows) - 1) // 2 - len(neg_rows) * (n - len(neg_rows))})")
    log(f"disk                 : {du / 1e6:.1f} MB")
    log(f"time                 : fetch {t_fetch - t0:.1f}s, dedup {t_dedup - t_fetch:.1f}s, "
        f"write {t_end - t_dedup:.1f}s, total {t_end - t0:.1f}s")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="data dir (default: bench/data); corpus goes to DATA/corpus")
    ap.add_argument("--seed", type=int, default=20260, help="seed for synthetic negatives")
    ap.add_argument("--force", action="store_true", help="delete and rebuild DATA/corpus")
    ap.add_argument("--packages", nargs="+", default=list(PACKAGES),
                    help="Debian packages to fetch (default: %(default)s)")
    ap.add_argument("--max-photos", type=int, default=None,
                    help="use only the first N photo sources (quick runs)")
    return build(ap.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
