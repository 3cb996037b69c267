"""Quality-flag and suggestion corpora from real Debian wallpapers, with planted defects.

``quality``: two labels, ``photo`` (real photographs) and ``artwork`` (non-photographic wallpapers).
Every source picture is written clean, downscaled to at most 1024 px, as several distinct crops
(so a label has enough pictures for relative thresholds); one crop of each source also gets each
planted defect, written into the same label folder:

    darkened      pixels × 0.15                       -> dark
    overexposed   pixels × 1.5 + 120, clipped          -> light
    blurred       Gaussian blur, radius 1.5 % of the long side -> blurry
    shrunk        scaled to 10 %                       -> odd_size
    strip         full width × 15 % height             -> odd_aspect_ratio
    greyscaled    L mode JPEG (half) or RGB with equal channels (half) -> grayscale
    flattened     mean colour + 3 % of the detail      -> low_information

``truth.csv`` lists path, label, source, defect ("" for clean). Deterministic (seeded crops).

``suggest``: one label ``nature`` of photo crops, with planted unwanted pictures of other kinds
(artwork crops and Tango icons on a plain background); ``suggest_truth.csv`` says which.
"""

from __future__ import annotations

import argparse
import csv
import glob
import random
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

PHOTOS = [
    *(f"lomiri-wallpapers-16.04/usr/share/backgrounds/{n}" for n in (
        "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
        "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
        "analogpattern_by_Peter_Nerlich.jpg", "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
        "greentock_by_Peter_Nerlich.jpg", "life_by_Aitzol_Berasategi.jpg",
        "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg",
        "sunset_by_Aitzol_Berasategi.jpg")),
    "lomiri-wallpapers-20.04/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
    *(f"mate-backgrounds/usr/share/backgrounds/mate/nature/{n}.jpg" for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")),
    *(f"plasma-workspace-wallpapers/usr/share/wallpapers/{n}/contents/images/*.jpg" for n in (
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
        "OneStandsOut", "Path", "summer_1am")),
]
ARTWORK = [
    "ukui-wallpapers/usr/share/backgrounds/*.jpg", "ukui-wallpapers/usr/share/backgrounds/*.png",
    "lomiri-wallpapers/usr/share/backgrounds/*.png",
    "lomiri-wallpapers-20.04/usr/share/backgrounds/Fossa_by_Jasper_Roks.jpg",
    "lomiri-wallpapers-20.04/usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg",
    "mate-backgrounds/usr/share/backgrounds/mate/abstract/Elephants*.jpg",
    "mate-backgrounds/usr/share/backgrounds/mate/desktop/GreenTraditional.jpg",
    *(f"plasma-workspace-wallpapers/usr/share/wallpapers/{n}/contents/images/*" for n in (
        "Altai", "Autumn", "Canopee", "Cascade", "Cluster", "Elarun", "FlyingKonqui", "Honeywave", "IceCold",
        "Kokkini", "MilkyWay", "Opal", "PastelHills", "SafeLanding", "Shell", "Volna")),
]
DEFECTS = ("darkened", "overexposed", "blurred", "shrunk", "strip", "greyscaled", "flattened")
EXPECTED = {"darkened": "dark", "overexposed": "light", "blurred": "blurry", "shrunk": "odd_size",
            "strip": "odd_aspect_ratio", "greyscaled": "grayscale", "flattened": "low_information"}


def sources(raw: Path, globs: list[str]) -> list[Path]:
    out: list[Path] = []
    for g in globs:
        hits = sorted(glob.glob(str(raw / g)), key=lambda p: -Path(p).stat().st_size)
        if "*" in g and "plasma" in g:
            hits = hits[:1]  # the largest resolution of one wallpaper
        out += [Path(h) for h in hits if Path(h).suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")]
    return out


def _name(src: Path) -> str:
    """A readable unique name: Plasma wallpapers are named by their folder, not by resolution."""
    parts = src.parts
    if "wallpapers" in parts and "contents" in parts:
        return parts[parts.index("contents") - 1]
    return src.stem.replace(" ", "_")[:40]


def load(path: Path, side: int = 1024) -> Image.Image:
    im = Image.open(path)
    im.draft("RGB", (side, side))
    im = im.convert("RGBA")
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    im = Image.alpha_composite(bg, im).convert("RGB")
    im.thumbnail((side * 2, side * 2))
    return im


def crops(im: Image.Image, n: int, rng: random.Random, side: int = 1024) -> list[Image.Image]:
    """``n`` distinct crops (40-70 % of each side, 4:3 or 3:4 or 16:9 shapes), at most ``side`` px."""
    w, h = im.size
    out = []
    for _ in range(n):
        f = rng.uniform(0.45, 0.7)
        cw, ch = int(w * f), int(h * f)
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        c = im.crop((x, y, x + cw, y + ch))
        c.thumbnail((side, side))
        out.append(c)
    return out


def plant(im: Image.Image, defect: str, k: int) -> tuple[Image.Image, dict[str, object]]:
    a = np.asarray(im, dtype=np.float32)
    if defect == "darkened":
        return Image.fromarray(np.clip(a * 0.15, 0, 255).astype(np.uint8)), {}
    if defect == "overexposed":
        return Image.fromarray(np.clip(a * 1.5 + 120, 0, 255).astype(np.uint8)), {}
    if defect == "blurred":
        return im.filter(ImageFilter.GaussianBlur(max(im.size) * 0.015)), {}
    if defect == "shrunk":
        return im.resize((max(1, im.width // 10), max(1, im.height // 10)), Image.Resampling.LANCZOS), {}
    if defect == "strip":
        hh = max(8, int(im.height * 0.15))
        y = (im.height - hh) // 2
        return im.crop((0, y, im.width, y + hh)), {}
    if defect == "greyscaled":
        g = ImageOps.grayscale(im)
        return (g if k % 2 == 0 else g.convert("RGB")), {}
    if defect == "flattened":
        mean = a.reshape(-1, 3).mean(axis=0)
        return Image.fromarray(np.clip(mean + 0.03 * (a - mean) + 0.5, 0, 255).astype(np.uint8)), {}
    raise ValueError(defect)


def natural_defect(im: Image.Image) -> str:
    """Why a source picture already has an issue (so planted defects are the only ones), or "".

    Judged on the full picture with plain definitions, not with imgreview's thumbnail measures."""
    a = np.asarray(im, dtype=np.float32)
    bright = np.sqrt((a ** 2 * np.array([0.241, 0.691, 0.068])).sum(axis=2)) / 255
    hi = a.max(axis=2)
    sat = (hi - a.min(axis=2))[hi > 16].sum() / max(1.0, hi[hi > 16].sum())
    grey = np.clip(a @ np.array([0.299, 0.587, 0.114]), 0, 255).astype(np.int64)
    p = np.bincount(grey.ravel(), minlength=256) / grey.size
    entropy = -(p[p > 0] * np.log2(p[p > 0])).sum()
    ar = im.width / im.height
    if sat < 0.05:
        return "greyish"
    if not 1.2 <= ar <= 2.4:
        return f"aspect {ar:.2f}"
    if np.percentile(bright, 99) < 0.35:
        return "dark"
    if np.percentile(bright, 5) > 0.5:
        return "light"
    if entropy < 4:
        return "flat"
    return ""


def build_quality(raw: Path, out: Path, seed: int, per_source: int) -> None:
    rng = random.Random(seed)
    rows = []
    for label, globs in (("photo", PHOTOS), ("artwork", ARTWORK)):
        folder = out / "quality" / label
        folder.mkdir(parents=True, exist_ok=True)
        for s_i, src in enumerate(sources(raw, globs)):
            base = load(src)
            why = natural_defect(base)
            if why:
                print(f"  skip {src.name}: {why}")
                continue
            name = f"s{s_i:02d}-" + _name(src)
            cs = crops(base, per_source, rng)
            for c_i, c in enumerate(cs):
                p = folder / f"{name}-c{c_i}.jpg"
                c.save(p, quality=90)
                rows.append((str(p), label, src.name, ""))
            for defect in DEFECTS:
                img, _ = plant(cs[0], defect, s_i)
                p = folder / f"{name}-{defect}.jpg"
                img.save(p, quality=90)
                rows.append((str(p), label, src.name, defect))
    with open(out / "quality" / "truth.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(("path", "label", "source", "defect"))
        w.writerows(rows)
    print(f"quality: {len(rows)} files")


def icon_tile(path: Path, rng: random.Random) -> Image.Image:
    icon = Image.open(path).convert("RGBA")
    size = rng.choice((320, 400, 480))
    bg = Image.new("RGBA", (size, int(size * 0.75)), (*(rng.randint(200, 255) for _ in range(3)), 255))
    icon = icon.resize((int(size * 0.4), int(size * 0.4)), Image.Resampling.NEAREST)
    bg.alpha_composite(icon, ((bg.width - icon.width) // 2, (bg.height - icon.height) // 2))
    return bg.convert("RGB")


def build_suggest(raw: Path, out: Path, seed: int, per_photo: int, unwanted: int) -> None:
    rng = random.Random(seed + 1)
    folder = out / "suggest" / "nature"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for src in sources(raw, PHOTOS):
        for c_i, c in enumerate(crops(load(src), per_photo, rng, side=640)):
            p = folder / f"{_name(src)}-c{c_i}.jpg"
            c.save(p, quality=88)
            rows.append((str(p), "wanted", "photo"))
    art = [c for src in sources(raw, ARTWORK) for c in crops(load(src), 3, rng, side=640)]
    icons = sorted(glob.glob(str(raw / "tango-icon-theme/usr/share/icons/Tango/32x32/*/*.png")))
    rng.shuffle(art)
    rng.shuffle(icons)
    half = unwanted // 2
    for i, c in enumerate(art[:half]):
        p = folder / f"x{i:03d}-a.jpg"
        c.save(p, quality=88)
        rows.append((str(p), "unwanted", "artwork"))
    for i, ip in enumerate(icons[:unwanted - half]):
        p = folder / f"x{i:03d}-i.jpg"
        icon_tile(Path(ip), rng).save(p, quality=88)
        rows.append((str(p), "unwanted", "icon"))
    with open(out / "suggest" / "suggest_truth.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(("path", "truth", "kind"))
        w.writerows(sorted(rows))
    print(f"suggest: {len(rows)} files ({unwanted} unwanted)")


PACKAGES = ("lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "lomiri-wallpapers", "mate-backgrounds",
            "plasma-workspace-wallpapers", "ukui-wallpapers", "tango-icon-theme")


def ensure_packages(raw: Path) -> None:
    """``apt-get download`` + ``dpkg -x`` each Debian package once (needs ``apt-get update`` once)."""
    debs = raw.parent / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for pkg in PACKAGES:
        if (raw / pkg).is_dir():
            continue
        if not list(debs.glob(f"{pkg}_*.deb")):
            subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True, capture_output=True)
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        subprocess.run(["dpkg", "-x", str(deb), str(raw / pkg)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", type=Path, default=Path("bench/data/triage/raw"), help="unpacked .debs")
    ap.add_argument("--out", type=Path, default=Path("bench/data/triage"))
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--per-source", type=int, default=6)
    ap.add_argument("--per-photo", type=int, default=8)
    ap.add_argument("--unwanted", type=int, default=40)
    ap.add_argument("--only", choices=("quality", "suggest"))
    args = ap.parse_args()
    ensure_packages(args.raw)
    if args.only != "suggest":
        build_quality(args.raw, args.out, args.seed, args.per_source)
    if args.only != "quality":
        build_suggest(args.raw, args.out, args.seed, args.per_photo, args.unwanted)


if __name__ == "__main__":
    main()
