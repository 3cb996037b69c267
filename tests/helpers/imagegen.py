"""Image generators for the tests: drawn shapes, noise, text, and edited copies of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps


def scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture with random shapes over a noisy background: distinct for each seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(base, "RGB").resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(w // 10, w // 2)), y0 + int(rng.integers(h // 10, h // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    draw.text((w // 10, h // 2), f"scene {seed}", fill=(255, 255, 255))
    return img


def save(img: Image.Image, path: Path, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)
    return path


def resized(img: Image.Image, factor: float) -> Image.Image:
    w, h = img.size
    return img.resize((max(1, int(w * factor)), max(1, int(h * factor))), Image.Resampling.LANCZOS)


def brightened(img: Image.Image, factor: float = 1.3) -> Image.Image:
    return ImageEnhance.Brightness(img).enhance(factor)


def greyscale(img: Image.Image) -> Image.Image:
    return ImageOps.grayscale(img).convert("RGB")


def flat(colour: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> Image.Image:
    return Image.new("RGB", size, colour)


def gradient(size: tuple[int, int] = (128, 96), horizontal: bool = True,
             start: tuple[int, int, int] = (0, 0, 0), end: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    w, h = size
    t = np.linspace(0.0, 1.0, w if horizontal else h)
    line = np.outer(t, np.array(end, float)) + np.outer(1 - t, np.array(start, float))
    arr = np.broadcast_to(line[None, :, :], (h, w, 3)) if horizontal else np.broadcast_to(line[:, None, :], (h, w, 3))
    return Image.fromarray(arr.astype(np.uint8).copy(), "RGB")


def alpha_shape(kind: str, size: tuple[int, int] = (96, 96), rgb: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """A transparent PNG whose picture lives only in the alpha channel."""
    alpha = Image.new("L", size, 0)
    d = ImageDraw.Draw(alpha)
    w, h = size
    if kind == "circle":
        d.ellipse([w // 4, h // 4, 3 * w // 4, 3 * h // 4], fill=255)
    elif kind == "bar":
        d.rectangle([0, h // 3, w, 2 * h // 3], fill=255)
    elif kind == "corner":
        d.polygon([(0, 0), (w, 0), (0, h)], fill=255)
    else:
        d.rectangle([w // 8, h // 8, w // 3, 7 * h // 8], fill=255)
    img = Image.new("RGBA", size, (*rgb, 0))
    img.putalpha(alpha)
    return img


def labelled_dataset(root: Path, size: tuple[int, int] = (192, 144)) -> dict[str, list[str]]:
    """A small classification dataset with planted problems (relative paths, ``/``-separated).

    Splits ``train``, ``Validation``, ``TEST`` (mixed case on purpose) × labels cat, dog, fox, owl:
    6 + 2 + 2 unique pictures per label, plus ``train/rare`` with 2 pictures (a small label), and:
    ``exact`` (pair, same label), ``exact3`` (triple), ``near`` (resized, same label),
    ``conflict`` (byte copy under two labels), ``conflict_near`` (brightened copy under another label),
    ``leak_train_test`` (byte copy), ``leak_train_val`` (resized copy), ``leak_val_test`` (byte copy),
    ``mixed`` (a near group holding a byte-identical pair, same label), ``broken`` (unreadable).
    """
    import shutil

    splits = {"train": 6, "Validation": 2, "TEST": 2}
    seed = 1000
    files: dict[str, list[str]] = {"unique": []}
    originals: dict[tuple[str, str], list[str]] = {}
    for split, n in splits.items():
        for label in ("cat", "dog", "fox", "owl"):
            for _ in range(n):
                seed += 1
                rel = f"{split}/{label}/{label}_{seed}.jpg"
                save(scene(seed, size), root / rel, quality=92)
                originals.setdefault((split, label), []).append(rel)
                files["unique"].append(rel)
    for k in range(2):
        rel = f"train/rare/rare_{k}.jpg"
        save(scene(5000 + k, size), root / rel, quality=92)
        files["unique"].append(rel)

    def copy(src: str, dst: str) -> list[str]:
        (root / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / src, root / dst)
        return [src, dst]

    def variant(src: str, dst: str, img: Image.Image) -> list[str]:
        save(img, root / dst, quality=85)
        return [src, dst]

    def picture(rel: str) -> Image.Image:
        with Image.open(root / rel) as im:
            return im.convert("RGB")

    files["exact"] = copy(originals["train", "cat"][0], "train/cat/copy of cat.jpg")
    src = originals["train", "dog"][0]
    files["exact3"] = [src, copy(src, "train/dog/dup1.jpg")[1], copy(src, "train/dog/dup2.jpg")[1]]
    src = originals["train", "owl"][0]
    files["near"] = variant(src, "train/owl/small.jpg", resized(picture(src), 0.6))
    src = originals["train", "cat"][1]
    files["conflict"] = copy(src, "train/fox/" + src.rsplit("/", 1)[1])
    src = originals["Validation", "dog"][0]
    files["conflict_near"] = variant(src, "Validation/owl/bright.jpg", brightened(picture(src), 1.25))
    src = originals["train", "fox"][0]
    files["leak_train_test"] = copy(src, "TEST/fox/" + src.rsplit("/", 1)[1])
    src = originals["train", "owl"][1]
    files["leak_train_val"] = variant(src, "Validation/owl/from_train.jpg", resized(picture(src), 0.7))
    src = originals["Validation", "cat"][0]
    files["leak_val_test"] = copy(src, "TEST/cat/" + src.rsplit("/", 1)[1])
    src = originals["train", "fox"][1]
    near = variant(src, "train/fox/fox_small.jpg", resized(picture(src), 0.5))
    files["mixed"] = [*near, copy(src, "train/fox/fox_again.jpg")[1]]
    broken = root / "train/dog/broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    files["broken"] = ["train/dog/broken.jpg"]
    return files


def copy_groups(root: Path, seeds: range = range(3), size: tuple[int, int] = (160, 120),
                half_name: str = "b{s}.png") -> Path:
    """Per seed, one group of three: train/cat/a{s}.png, a half-size copy in train/dog (``half_name``),
    and a byte-identical copy val/cat/c{s}.png."""
    import shutil

    for s in seeds:
        img = scene(s, size)
        save(img, root / "train" / "cat" / f"a{s}.png")
        save(resized(img, 0.5), root / "train" / "dog" / half_name.format(s=s))
        (root / "val" / "cat").mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "train" / "cat" / f"a{s}.png", root / "val" / "cat" / f"c{s}.png")
    return root
