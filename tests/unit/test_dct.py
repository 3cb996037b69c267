"""The pHash DCT without scipy: the same bits as imagehash.phash (which uses scipy.fftpack)."""

from __future__ import annotations

import subprocess
import sys

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageFilter

from imgreview.scan.variants import centre_window, dct_low, phash_bits
from tests.helpers.imagegen import gradient, scene


def pictures() -> list[Image.Image]:
    """Many kinds of pictures: generated scenes, smoothed and raw noise, gradients with texture, odd sizes."""
    rng = np.random.default_rng(20261202)
    out: list[Image.Image] = []
    for seed in range(60):
        out.append(scene(seed, (int(rng.integers(40, 400)), int(rng.integers(40, 400)))))
    for _ in range(60):
        h, w = int(rng.integers(8, 300)), int(rng.integers(8, 300))
        noise = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")
        out.append(noise)
        out.append(noise.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 6)))))
    for k in range(20):
        g = np.asarray(gradient((160, 120), horizontal=k % 2 == 0), dtype=np.int16)
        g = g + rng.integers(-12, 13, g.shape)
        out.append(Image.fromarray(np.clip(g, 0, 255).astype(np.uint8)))
    return out


@pytest.mark.parametrize("size", [8, 16])
def test_bits_equal_imagehash_phash(size: int) -> None:
    compared = 0
    for img in pictures():
        grey = img.convert("L")
        for window in (grey, centre_window(grey, 1.0), centre_window(grey, grey.width / grey.height, 0.8)):
            ref = np.asarray(imagehash.phash(window, hash_size=size).hash).ravel()
            assert np.array_equal(phash_bits(dct_low(window, size)), ref)
            compared += 1
    assert compared >= 600


@pytest.mark.parametrize("size", [8, 16])
def test_tiling_textures_keep_imagehash_bits(size: int) -> None:
    # A picture made of whole tiles has frequencies that are exactly zero; scipy returns exact zeros
    # there, a matrix product rounding noise around zero: without care the bits around the median differ.
    rng = np.random.default_rng(11)
    for tile in (4, 8, 16, 32):
        for _ in range(5):
            patch = rng.integers(0, 256, (tile, tile), dtype=np.uint8)
            grey = Image.fromarray(np.tile(patch, (size * 4 // tile, size * 4 // tile)))
            ref = np.asarray(imagehash.phash(grey, hash_size=size).hash).ravel()
            assert np.array_equal(phash_bits(dct_low(grey, size)), ref), (tile, size)


def test_coefficients_equal_the_full_dct_block() -> None:
    # The unnormalised type-II DCT along both axes, written out: the first rows and columns match.
    rng = np.random.default_rng(7)
    grey = Image.fromarray(rng.integers(0, 256, (50, 70), dtype=np.uint8))
    px = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    n = np.arange(32)
    full = 2 * np.cos(np.pi * n[:, None] * (2 * n[None, :] + 1) / 64)  # rows = frequencies
    expected = (full @ px @ full.T)[:8, :8]
    assert np.allclose(dct_low(grey, 8), expected, rtol=0, atol=1e-9)
    assert dct_low(grey, 8).shape == (8, 8)


def test_fingerprinting_imports_no_scipy() -> None:
    # scipy costs ~0.8 s of import per process (and again in every worker): a scan must not need it.
    code = ("import sys; import imgreview.scan.fingerprint, imgreview.scan.pipeline, imgreview.scan.workers;"
            "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
