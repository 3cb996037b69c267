"""How often the suggested keeper is the unedited original, on real pictures and their edits.

Takes real pictures (e.g. Debian's wallpaper and game-art packages, unpacked with ``dpkg-deb -x``),
makes an "original" of each (at most 1024 px, JPEG q90) and edited copies of the kinds a scraped
or hand-collected dataset holds: re-compressed (q55), resized (50%), brightened (q95), watermarked
(q95), turned 3° with black corners (q95), centre crop 80% (q92), greyscale (q92), letterboxed
(q92). Each original forms one group with 3 random edits, and one pair with each edit alone.

Two families:

* ``camera``: the original has camera EXIF (make, model, capture date), a camera file name
  (``IMG_1234.jpg``) and the oldest date; the copies are named by their edit (``bright.jpg``) as in
  the issue, with newer dates;
* ``stripped``: no EXIF, random names, one date for all: only the pixels and the files speak.

For each group the suggestion is either the original (right), "no clear original" (the person
chooses), or an edited copy (wrong, the trap). The old rule order (pixels, size, oldest,
shortest) is measured on the same groups.

Usage: ``python bench/keeper_originals.py SOURCE_DIR... [--limit 60] [--work /tmp/keeper]``
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imgreview.decisions.keeper import DEFAULT_PREFER, suggest, suggest_keeper
from imgreview.model import Member
from imgreview.tui.thumbs import make_thumbnail


def watermark(im: Image.Image) -> Image.Image:
    out = im.copy()
    d = ImageDraw.Draw(out)
    w, h = out.size
    d.rectangle([w * 0.62, h * 0.86, w * 0.97, h * 0.96], fill=(255, 255, 255))
    d.text((w * 0.64, h * 0.88), "(c) example.com", fill=(20, 20, 20))
    return out


def letterbox(im: Image.Image) -> Image.Image:
    w, h = im.size
    out = Image.new("RGB", (w, h), (0, 0, 0))
    out.paste(im.resize((w, h * 3 // 4)), (0, h // 8))
    return out


EDITS = {
    "recompressed": (lambda im: im, 55),
    "resized": (lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), 90),
    "bright": (lambda im: ImageEnhance.Brightness(im).enhance(1.3), 95),
    "watermark": (watermark, 95),
    "rot3": (lambda im: im.rotate(3, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0)), 95),
    "crop": (lambda im: ImageOps.crop(im, (im.width // 10, im.height // 10, im.width // 10, im.height // 10)), 92),
    "grey": (lambda im: im.convert("L").convert("RGB"), 92),
    "letterbox": (letterbox, 92),
}


def member(path: Path, camera: str | None, taken: str | None, mtime: float) -> Member:
    with Image.open(path) as im:
        w, h, fmt = im.width, im.height, im.format or ""
    return Member(path=str(path), digest=path.name, distance=0, size=path.stat().st_size, width=w, height=h,
                  format=fmt, mode="RGB", mtime=mtime, camera=camera, taken=taken, root=str(path.parent))


def exif_bytes() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 80D"
    exif[0x0132] = "2019:06:01 10:00:00"
    return exif.tobytes()


def make_family(src: Path, out: Path, family: str, rng: random.Random) -> tuple[Member, dict[str, Member]]:
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
    out.mkdir(parents=True, exist_ok=True)
    camera = family == "camera"
    name = f"IMG_{rng.randrange(1000, 9999)}.jpg" if camera else f"{rng.getrandbits(40):010x}.jpg"
    orig_path = out / name
    im.save(orig_path, quality=90, **({"exif": exif_bytes()} if camera else {}))
    original = member(orig_path, "Canon EOS 80D" if camera else None, "2019-06-01T10:00:00" if camera else None,
                      1.6e9 if camera else 1.7e9)
    copies = {}
    for kind, (fn, q) in EDITS.items():
        p = out / (f"{kind}.jpg" if camera else f"{rng.getrandbits(40):010x}.jpg")
        fn(im).save(p, quality=q)
        copies[kind] = member(p, None, None, 1.7e9 + rng.random() * 1e5 if camera else 1.7e9)
    return original, copies


def judge(members: list[Member]) -> tuple[str, str]:
    """(new suggestion, old rule) outcome: right / tie / wrong (index 0 is the original)."""
    pictures = [make_thumbnail(m.path, 480) for m in members]
    s = suggest(members, pictures=pictures)
    new = "tie" if s.index is None else ("right" if s.index == 0 else "wrong")
    old = "right" if suggest_keeper(members, DEFAULT_PREFER) == 0 else "wrong"
    return new, old


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", help="folders with real pictures (searched recursively)")
    ap.add_argument("--limit", type=int, default=60, help="pictures used (spread over the sources)")
    ap.add_argument("--work", help="where the generated files go (default: a temporary folder)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    per_source = max(1, args.limit // len(args.sources))
    pictures: list[tuple[str, Path]] = []
    for source in args.sources:
        found = sorted(p for p in Path(source).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
                       and p.stat().st_size > 30_000)
        rng.shuffle(found)
        pictures += [(Path(source).name, p) for p in found[:per_source]]
    groups: Counter[tuple[str, str, str]] = Counter()  # (family, scorer, outcome)
    pairs: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # (family, kind) -> outcome
    old_pairs: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    wrong_kinds: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="keeper-bench-") as tmp:
        work = Path(args.work or tmp)
        for k, (_source, src) in enumerate(pictures):
            for family in ("camera", "stripped"):
                try:
                    original, copies = make_family(src, work / family / f"{k:03d}", family, rng)
                except (OSError, ValueError):
                    continue
                kinds = rng.sample(sorted(copies), 3)
                members = [original] + [copies[c] for c in kinds]
                new, old = judge(members)
                groups[(family, "new", new)] += 1
                groups[(family, "old", old)] += 1
                if new == "wrong":
                    pics = [make_thumbnail(m.path, 480) for m in members]
                    idx = suggest(members, pictures=pics).index
                    wrong_kinds[kinds[(idx or 1) - 1]] += 1
                for kind, copy in copies.items():
                    new, old = judge([original, copy])
                    pairs[(family, kind)][new] += 1
                    old_pairs[(family, kind)][old] += 1
    print(f"{len(pictures)} real pictures from {', '.join(sorted({s for s, _ in pictures}))}")
    print("\ngroups of the original + 3 random edits")
    print("| family | scorer | original suggested | no clear original | edited copy suggested |")
    print("|---|---|---|---|---|")
    for family in ("camera", "stripped"):
        for scorer in ("new", "old"):
            n = sum(groups[(family, scorer, o)] for o in ("right", "tie", "wrong"))
            if not n:
                continue
            cells = [f"{groups[(family, scorer, o)] / n:.0%}" for o in ("right", "tie", "wrong")]
            label = "evidence (new)" if scorer == "new" else "pixels,size,oldest,shortest (old)"
            print(f"| {family} | {label} | " + " | ".join(cells) + " |")
    print("\npairs (original + one edit): original / no clear / edited copy, new (old rules: original share)")
    print("| edit | camera | stripped |")
    print("|---|---|---|")
    for kind in EDITS:
        row = []
        for family in ("camera", "stripped"):
            c = pairs[(family, kind)]
            n = sum(c.values()) or 1
            o = old_pairs[(family, kind)]
            row.append(f"{c['right'] / n:.0%} / {c['tie'] / n:.0%} / {c['wrong'] / n:.0%} "
                       f"(old {o['right'] / n:.0%})")
        print(f"| {kind} | " + " | ".join(row) + " |")
    if wrong_kinds:
        print("\nedits suggested wrongly in groups:", dict(wrong_kinds))


if __name__ == "__main__":
    main()
