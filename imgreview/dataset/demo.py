"""A small, deterministic demo dataset with planted duplicates, to try imgreview on.

:func:`write_demo` writes ``target/{train,val,test}/{cat,dog,bird}/...``: about 60 drawn pictures
(sky and ground or a room, an animal-like figure, a caption) between 256 and 640 pixels wide,
plus planted problems:

* exact copies in the same split and label (a pair and a triple),
* near copies: resized, re-encoded at JPEG quality 40, brightened, and a PNG copy of a JPEG,
* a label conflict: one picture filed under two labels,
* a train/test leak (byte-identical) and a train/val leak (resized and re-encoded),
* a pair of near-uniform pictures of different colours that must *not* group,
* unique pictures, each far from every other in perceptual-hash space.

What was planted is written to ``target/DEMO.md`` (for people) and ``target/demo.json`` (for
tests and tools); :func:`build_demo` also returns it as a :class:`DemoPlan`. The same seed always
gives the same bytes.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from imgreview.scan.fingerprint import fingerprint_bytes
from imgreview.settings import DEFAULT_THRESHOLDS, HashSettings

SPLITS = ("train", "val", "test")
LABELS = ("cat", "dog", "bird")
PER_SPLIT = {"train": 9, "val": 3, "test": 3}  # unique pictures per label
SIZES = ((640, 480), (480, 360), (512, 384), (400, 400), (360, 480), (600, 400), (448, 336))
BASE_TIME = 1_704_067_200  # 2024-01-01T00:00:00Z: originals are older than their copies
PLAN_FILE = "demo.json"
README_FILE = "DEMO.md"
# Unique pictures are this many hash bits apart at least: the default threshold plus room for the
# few bits an edited copy moves, so no copy falls within the threshold of another picture. (Twice
# the threshold is needlessly strict: random 64-bit hashes are 32 ± 4 bits apart, and drawing
# pictures until all are 28+ bits apart took ~40 s.)
MIN_UNIQUE_DISTANCE = DEFAULT_THRESHOLDS[("phash", 8)] + 8


@dataclass(slots=True)
class Planted:
    """One planted case: ``paths`` (relative, ``/``-separated) and whether they must group."""

    kind: str
    paths: list[str]
    groups: bool
    note: str


@dataclass(slots=True)
class DemoPlan:
    seed: int
    images: list[str] = field(default_factory=list)  # every image written, relative path
    planted: list[Planted] = field(default_factory=list)

    def expected_groups(self) -> list[frozenset[str]]:
        """The groups a default scan must find, as sets of relative paths (merged where they share files)."""
        sets: list[set[str]] = []
        for p in self.planted:
            if not p.groups:
                continue
            new = set(p.paths)
            for s in [s for s in sets if s & new]:
                new |= s
                sets.remove(s)
            sets.append(new)
        return sorted((frozenset(s) for s in sets), key=sorted)

    def of_kind(self, kind: str) -> list[Planted]:
        return [p for p in self.planted if p.kind == kind]

    def to_dict(self) -> dict[str, object]:
        return {"seed": self.seed, "images": self.images, "planted": [asdict(p) for p in self.planted]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoPlan:
        return cls(seed=int(data["seed"]), images=list(data["images"]),
                   planted=[Planted(**p) for p in data["planted"]])

    @classmethod
    def load(cls, target: Path) -> DemoPlan:
        return cls.from_dict(json.loads((Path(target) / PLAN_FILE).read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- drawing
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _colour(rng: np.random.Generator, lo: int = 0, hi: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def _background(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    kind = int(rng.integers(0, 4))
    img = Image.new("RGB", size)
    d = ImageDraw.Draw(img)
    if kind in (0, 1):  # outdoors: sky gradient, ground, sun, clouds, trees
        horizon = int(h * rng.uniform(0.3, 0.8))
        top, bottom = np.array(_colour(rng, 40, 200), float), np.array(_colour(rng, 120, 256), float)
        for y in range(horizon):
            t = y / max(1, horizon - 1)
            d.line([(0, y), (w, y)], fill=tuple(int(v) for v in top * (1 - t) + bottom * t))
        tilt = int(rng.integers(-h // 5, h // 5))
        d.polygon([(0, horizon), (w, horizon + tilt), (w, h), (0, h)], fill=_colour(rng, 20, 180))
        r = int(rng.integers(h // 14, h // 6))
        sx, sy = int(rng.integers(r, w - r)), int(rng.integers(r, max(r + 1, horizon - r)))
        d.ellipse([sx - r, sy - r, sx + r, sy + r], fill=_colour(rng, 180, 256))
        for _ in range(int(rng.integers(1, 5))):
            cx, cy = int(rng.integers(0, w)), int(rng.integers(0, max(1, horizon)))
            cw, ch = int(rng.integers(w // 10, w // 3)), int(rng.integers(h // 20, h // 8))
            d.ellipse([cx, cy, cx + cw, cy + ch], fill=(245, 245, 245))
        for _ in range(int(rng.integers(0, 4))):
            tx = int(rng.integers(0, w))
            th = int(rng.integers(h // 6, h // 2))
            d.rectangle([tx, horizon - th // 3, tx + w // 40 + 2, horizon + 10], fill=(90, 60, 30))
            d.ellipse([tx - th // 4, horizon - th, tx + th // 4, horizon - th // 4], fill=_colour(rng, 0, 140))
    elif kind == 2:  # a room: wall, floor boards, a window
        floor = int(h * rng.uniform(0.45, 0.8))
        d.rectangle([0, 0, w, floor], fill=_colour(rng, 60, 240))
        plank = _colour(rng, 60, 200)
        step = int(rng.integers(14, 40))
        for y in range(floor, h, step):
            d.rectangle([0, y, w, y + step - 3], fill=plank)
            d.line([(0, y + step - 2), (w, y + step - 2)], fill=(40, 30, 20), width=2)
        wx, wy = int(rng.integers(0, w * 2 // 3)), int(rng.integers(0, max(1, floor // 3)))
        ww, wh = int(rng.integers(w // 6, w // 3)), int(rng.integers(h // 8, max(h // 8 + 1, floor // 2)))
        d.rectangle([wx, wy, wx + ww, wy + wh], fill=_colour(rng, 150, 256), outline=(255, 255, 255), width=6)
        d.line([(wx + ww // 2, wy), (wx + ww // 2, wy + wh)], fill=(255, 255, 255), width=4)
    else:  # a patterned backdrop: diagonal stripes or checks
        a, b = _colour(rng), _colour(rng)
        step = int(rng.integers(24, 80))
        if rng.random() < 0.5:
            for x in range(-h, w, step):
                d.polygon([(x, 0), (x + step // 2, 0), (x + step // 2 + h, h), (x + h, h)], fill=a)
            img2 = Image.new("RGB", size, b)
            img = Image.composite(img, img2, img.convert("L").point(lambda v: 255 if v else 0))
            d = ImageDraw.Draw(img)
        else:
            for y in range(0, h, step):
                for x in range(0, w, step):
                    d.rectangle([x, y, x + step, y + step], fill=a if (x // step + y // step) % 2 else b)
    return img


def _animal(d: ImageDraw.ImageDraw, rng: np.random.Generator, label: str, size: tuple[int, int]) -> None:
    w, h = size
    s = rng.uniform(0.25, 0.5) * min(w, h)
    cx, cy = rng.uniform(s, w - s), rng.uniform(s * 0.8, h - s * 0.5)
    fur, dark = _colour(rng), _colour(rng, 0, 90)
    if label == "bird":
        d.ellipse([cx - s * 0.6, cy - s * 0.35, cx + s * 0.6, cy + s * 0.35], fill=fur, outline=dark, width=3)
        d.ellipse([cx + s * 0.35, cy - s * 0.7, cx + s * 0.85, cy - s * 0.2], fill=fur, outline=dark, width=3)
        d.polygon([(cx + s * 0.82, cy - s * 0.5), (cx + s * 1.15, cy - s * 0.42), (cx + s * 0.82, cy - s * 0.35)],
                  fill=(240, 170, 20))
        d.polygon([(cx - s * 0.3, cy - s * 0.1), (cx + s * 0.2, cy - s * 0.1), (cx - s * 0.5, cy - s * 0.9)],
                  fill=_colour(rng), outline=dark)
        d.polygon([(cx - s * 0.6, cy), (cx - s * 1.0, cy - s * 0.25), (cx - s * 1.0, cy + s * 0.2)], fill=dark)
        d.ellipse([cx + s * 0.6, cy - s * 0.55, cx + s * 0.7, cy - s * 0.45], fill=(0, 0, 0))
        d.line([(cx - s * 1.2, cy + s * 0.45), (cx + s * 1.2, cy + s * 0.45)], fill=(100, 70, 40), width=int(s * 0.1))
        return
    d.ellipse([cx - s * 0.8, cy - s * 0.35, cx + s * 0.5, cy + s * 0.45], fill=fur, outline=dark, width=3)
    for lx in (-0.6, -0.35, 0.1, 0.3):
        d.rectangle([cx + s * lx, cy + s * 0.3, cx + s * (lx + 0.12), cy + s * 0.8], fill=fur, outline=dark)
    hx, hy, hr = cx + s * 0.55, cy - s * 0.45, s * 0.35
    if label == "cat":
        d.polygon([(hx - hr, hy - hr * 0.2), (hx - hr * 0.6, hy - hr * 1.5), (hx - hr * 0.1, hy - hr * 0.6)], fill=dark)
        d.polygon([(hx + hr, hy - hr * 0.2), (hx + hr * 0.6, hy - hr * 1.5), (hx + hr * 0.1, hy - hr * 0.6)], fill=dark)
        d.line([(cx - s * 0.8, cy), (cx - s * 1.2, cy - s * 0.7)], fill=fur, width=int(s * 0.1))
    d.ellipse([hx - hr, hy - hr, hx + hr, hy + hr], fill=fur, outline=dark, width=3)
    if label == "dog":
        d.ellipse([hx - hr * 1.2, hy - hr * 0.6, hx - hr * 0.6, hy + hr * 0.9], fill=dark)
        d.ellipse([hx + hr * 0.6, hy - hr * 0.6, hx + hr * 1.2, hy + hr * 0.9], fill=dark)
        d.ellipse([hx - hr * 0.2, hy + hr * 0.2, hx + hr * 0.2, hy + hr * 0.5], fill=(0, 0, 0))
        d.line([(cx - s * 0.8, cy - s * 0.1), (cx - s * 1.1, cy - s * 0.4)], fill=fur, width=int(s * 0.08))
    else:
        for dy in (-0.05, 0.1):
            d.line([(hx - hr * 1.3, hy + hr * dy), (hx + hr * 1.3, hy + hr * dy)], fill=(20, 20, 20), width=2)
    for ex in (-0.4, 0.4):
        d.ellipse([hx + hr * ex - hr * 0.12, hy - hr * 0.3, hx + hr * ex + hr * 0.12, hy - hr * 0.05], fill=(0, 0, 0))


def draw_picture(rng: np.random.Generator, label: str, caption: str) -> Image.Image:
    """A drawn picture of ``label`` (cat, dog or bird) with a caption."""
    size = SIZES[int(rng.integers(0, len(SIZES)))]
    img = _background(rng, size)
    d = ImageDraw.Draw(img)
    _animal(d, rng, label, size)
    font = _font(max(14, size[1] // 16))
    x, y = int(rng.integers(8, size[0] // 2)), int(rng.integers(8, size[1] - 40))
    box = d.textbbox((x, y), caption, font=font)
    d.rectangle([box[0] - 4, box[1] - 4, box[2] + 4, box[3] + 4], fill=(255, 255, 255))
    d.text((x, y), caption, fill=(0, 0, 0), font=font)
    noise = rng.integers(-6, 7, (size[1], size[0], 3), dtype=np.int16)
    arr = np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def near_uniform(rng: np.random.Generator, colour: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    """A flat fill with faint noise: a blank frame, a lens cap shot."""
    arr = np.clip(np.array(colour, float)[None, None, :] + rng.normal(0, 1.5, (size[1], size[0], 3)), 0, 255)
    return Image.fromarray(arr.astype(np.uint8), "RGB")


def _encode(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _hash_bits(data: bytes) -> np.ndarray:
    fp = fingerprint_bytes("", data, len(data), 0, HashSettings())
    return np.unpackbits(np.frombuffer(fp.hash, dtype=np.uint8))


# --------------------------------------------------------------------------- writing
class _Writer:
    def __init__(self, target: Path, plan: DemoPlan) -> None:
        self.target = target
        self.plan = plan
        self.clock = 0

    def write(self, rel: str, data: bytes, copy: bool = False) -> str:
        path = self.target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.clock += 60
        stamp = BASE_TIME + self.clock + (86_400 if copy else 0)  # copies are a day younger
        os.utime(path, (stamp, stamp))
        self.plan.images.append(rel)
        return rel


def build_demo(target: Path, seed: int = 0) -> DemoPlan:
    """Write the demo dataset under ``target`` and return what was planted.

    ``target`` must be missing, empty (hidden entries such as a ``.imgreview`` session folder are
    ignored), or an earlier demo (it is then rewritten). Raises
    ``FileExistsError`` for any other non-empty folder, so nothing of the user's is overwritten.
    """
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise FileExistsError(f"{target} exists and is not a folder")
        visible = [p for p in target.iterdir() if not p.name.startswith(".")]  # e.g. a .imgreview session
        if visible and not (target / PLAN_FILE).exists():
            raise FileExistsError(f"{target} is not empty; choose a new folder for the demo")
    target.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    plan = DemoPlan(seed=seed)
    out = _Writer(target, plan)
    accepted: list[np.ndarray] = []
    originals: dict[str, tuple[Image.Image, bytes]] = {}  # rel -> (picture, JPEG bytes)

    number = 0
    for split in SPLITS:
        for label in LABELS:
            for _ in range(PER_SPLIT[split]):
                number += 1
                for _attempt in range(200):
                    img = draw_picture(rng, label, f"{label} #{number}")
                    data = _encode(img, "JPEG", quality=90)
                    bits = _hash_bits(data)
                    if all(int(np.count_nonzero(bits != other)) >= MIN_UNIQUE_DISTANCE for other in accepted):
                        break
                accepted.append(bits)
                rel = out.write(f"{split}/{label}/{label}_{number:04d}.jpg", data)
                originals[rel] = (img, data)

    def original(split: str, label: str, k: int) -> tuple[str, Image.Image, bytes]:
        rels = [r for r in originals if r.startswith(f"{split}/{label}/")]
        rel = rels[k]
        return rel, *originals[rel]

    def stem(rel: str) -> str:
        return rel.rsplit("/", 1)[0] + "/" + Path(rel).stem

    def plant(kind: str, paths: list[str], note: str, groups: bool = True) -> None:
        plan.planted.append(Planted(kind, paths, groups, note))

    rel, img, data = original("train", "cat", 0)
    plant("exact", [rel, out.write(stem(rel) + " copy.jpg", data, copy=True)], "byte-identical copy, same label")
    rel, img, data = original("train", "dog", 0)
    copies = [out.write(stem(rel) + f" ({k}).jpg", data, copy=True) for k in (1, 2)]
    plant("exact", [rel, *copies], "three byte-identical copies, same label")

    rel, img, data = original("train", "dog", 1)
    small = img.resize((img.width * 3 // 5, img.height * 3 // 5), Image.Resampling.LANCZOS)
    plant("resized", [rel, out.write(stem(rel) + "_small.jpg", _encode(small, "JPEG", quality=90), copy=True)],
          "resized to 60%")
    rel, img, data = original("train", "bird", 0)
    plant("reencoded", [rel, out.write(stem(rel) + "_q40.jpg", _encode(img, "JPEG", quality=40), copy=True)],
          "re-encoded at JPEG quality 40")
    rel, img, data = original("train", "cat", 1)
    bright = ImageEnhance.Brightness(img).enhance(1.3)
    plant("brightened", [rel, out.write(stem(rel) + "_bright.jpg", _encode(bright, "JPEG", quality=90), copy=True)],
          "brightened by 30%")
    rel, img, data = original("train", "dog", 2)
    decoded = Image.open(io.BytesIO(data)).convert("RGB")
    plant("png-copy", [rel, out.write(stem(rel) + ".png", _encode(decoded, "PNG"), copy=True)],
          "PNG copy of a JPEG (same pixels, other bytes)")

    rel, img, data = original("train", "cat", 2)
    plant("label-conflict", [rel, out.write("train/dog/" + rel.rsplit("/", 1)[1], data, copy=True)],
          "the same picture filed under cat and dog")
    rel, img, data = original("train", "bird", 1)
    plant("leak-train-test", [rel, out.write("test/bird/" + rel.rsplit("/", 1)[1], data, copy=True)],
          "byte-identical copy in train and test")
    rel, img, data = original("train", "cat", 3)
    leak = img.resize((img.width * 4 // 5, img.height * 4 // 5), Image.Resampling.LANCZOS)
    plant("leak-train-val", [rel, out.write("val/cat/" + Path(rel).stem + "_crop.jpg", _encode(leak, "JPEG", quality=75),
                                            copy=True)],
          "resized, re-encoded copy in train and val")

    blue = out.write("train/bird/blank_sky.png", _encode(near_uniform(rng, (150, 190, 235), (320, 240)), "PNG"))
    green = out.write("train/bird/blank_grass.png", _encode(near_uniform(rng, (60, 120, 50), (320, 240)), "PNG"))
    plant("flat-pair", [blue, green], "two near-uniform frames of different colours: must NOT group", groups=False)

    (target / PLAN_FILE).write_text(json.dumps(plan.to_dict(), indent=1) + "\n", encoding="utf-8")
    (target / README_FILE).write_text(_readme(plan), encoding="utf-8")
    return plan


def write_demo(target: Path, seed: int = 0) -> None:
    """Write the demo dataset under ``target`` (see :func:`build_demo`)."""
    build_demo(target, seed)


def _readme(plan: DemoPlan) -> str:
    lines = [
        "# imgreview demo dataset",
        "",
        f"Generated by `imgreview.demo` (seed {plan.seed}): {len(plan.images)} drawn pictures in "
        "train/val/test × cat/dog/bird, with these planted problems:",
        "",
        "| kind | files | groups? | what |",
        "|---|---|---|---|",
    ]
    for p in plan.planted:
        lines.append(f"| {p.kind} | {'<br>'.join(p.paths)} | {'yes' if p.groups else 'no'} | {p.note} |")
    lines += ["", "Every other picture is unique.", ""]
    return "\n".join(lines)
