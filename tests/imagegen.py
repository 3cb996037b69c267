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
