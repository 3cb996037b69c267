"""Extra perceptual hashes for the hard edits: mirror, quarter turns, crops, borders and bars.

A plain perceptual hash matches a resized, re-encoded, brightened or greyscaled copy, but not a
mirrored or turned one, a square crop of a wide picture, or a picture inside a letterbox
"screenshot". For each picture the fingerprint also stores *query hashes*, one per
:data:`ROUTES` entry, searched against the plain hashes of all other pictures (never N×N):

* the seven other dihedral variants (mirror, vertical flip, 180°, transpose, transverse, 90°;
  270° is found from the other side as 90°). For pHash they all follow from the picture's own
  DCT: a horizontal flip negates the odd horizontal frequencies, a vertical flip the odd vertical
  ones, a transpose transposes the coefficient block; each variant is thresholded at its own
  median, exactly as pHash of the transformed picture would be;
* centred windows: the centre square (what a square crop of a wide picture keeps), the centre
  4:5 window and the centre 80 % (a 90 % / 80 % crop keeps most of it);
* border trimming: near-uniform borders (letterbox bars with UI text, white frames, caption bars)
  are trimmed side by side, and the trimmed picture and its centre square are hashed too.

Every candidate a query hash finds is verified by the local-feature stage (:mod:`.localfeat`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Query routes, in storage order. (transpose?, flip horizontally?, flip vertically?) for the dihedral ones.
DIHEDRAL: dict[str, tuple[bool, bool, bool]] = {
    "mirror": (False, True, False),
    "flip": (False, False, True),
    "rot180": (False, True, True),
    "transpose": (True, False, False),
    "transverse": (True, True, True),
    "rot90": (True, False, True),
}
REGIONS = ("centre-square", "centre-4x5", "centre-80", "trimmed", "trimmed-square")
ROUTES: tuple[str, ...] = (*DIHEDRAL, *REGIONS)
MIRRORED_ROUTES = frozenset({"mirror", "flip", "transpose", "transverse"})  # orientation-reversing
# A border row/column is empty when nearly all its pixels lie within TRIM_TOLERANCE grey levels of
# that side's colour (the median of its outermost row or column).
TRIM_TOLERANCE = 24
TRIM_STRICT = 0.92  # an empty border row: nearly all of it within the tolerance (sparse text allowed)
TRIM_REACH = 0.45  # a side's bar is at most this share of the picture
TRIM_MAJORITY = 0.6  # share of empty rows up to the trim line
TRIM_MIN = 0.03  # trim only when at least 3 % of a side would go
ASPECT_TOLERANCE = 0.08


def dct_low(grey: Image.Image, size: int) -> np.ndarray:
    """pHash's low-frequency DCT block (``size``×``size``) of a greyscale picture."""
    # scipy.fftpack.dct (type II, unnormalised: 2·Σ x[n]·cos(πk(2n+1)/2N)) along both axes, of
    # which only the first ``size`` rows and columns are kept: as a matrix product with the first
    # ``size`` rows of the DCT matrix (C·X·Cᵀ) it needs no scipy import (~0.8 s per process) and
    # computes 1/16 of the coefficients. Same values to ~1e-15 of the largest; a coefficient that an
    # exact symmetry of the picture makes zero (a tiling texture) comes out exactly zero from
    # scipy's FFT but as rounding noise from a matrix product, so those are snapped to zero: the
    # bits then equal imagehash.phash's except on exact ties at the median of a flat picture
    # (tests/unit/test_dct.py, bench/dct_identity.py).
    side = size * 4
    pixels = np.asarray(grey.resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    k = np.arange(size, dtype=np.float64)[:, None]
    n = np.arange(side, dtype=np.float64)[None, :]
    basis = 2.0 * np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * side))
    low = basis @ pixels @ basis.T
    low[np.abs(low) < 1e-12 * float(np.abs(low).max())] = 0.0
    return np.asarray(low)


def phash_bits(low: np.ndarray) -> np.ndarray:
    return np.asarray(low > np.median(low)).ravel()


def dihedral_low(low: np.ndarray, transpose: bool, flip_h: bool, flip_v: bool) -> np.ndarray:
    """The DCT block of the transformed picture, from the picture's own block."""
    m = low.T.copy() if transpose else low.copy()
    odd = np.where(np.arange(m.shape[0]) % 2 == 1, -1.0, 1.0)
    if flip_h:
        m *= odd[None, :]
    if flip_v:
        m *= odd[:, None]
    return m


def centre_window(img: Image.Image, aspect: float, share: float = 1.0) -> Image.Image:
    """The largest centred window of ``aspect`` (width / height), each side scaled by ``share``."""
    w, h = img.size
    cw, ch = (h * aspect, float(h)) if w / h > aspect else (float(w), w / aspect)
    cw, ch = max(1.0, cw * share), max(1.0, ch * share)
    x0, y0 = (w - cw) / 2, (h - ch) / 2
    return img.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch)))


def trim_box(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the picture inside near-uniform borders, or None (nothing to trim).

    Each side is trimmed against its own colour (the median of its outermost row or column), so a
    white caption bar under a picture is trimmed as well as dark letterbox bars all round.
    """
    h, w = grey.shape
    if h < 8 or w < 8:
        return None
    g = grey.astype(np.int16)

    def run(lines: np.ndarray) -> int:
        colour = int(np.median(lines[0]))
        share = (np.abs(lines - colour) <= TRIM_TOLERANCE).mean(axis=1)
        strict = share >= TRIM_STRICT
        if not strict[0]:
            return 0
        # A bar is mostly empty rows with some rows of text (or a logo) in it: trim up to the last
        # empty row within the outer TRIM_REACH of the side while empty rows stay the majority,
        # so a bar's text does not stop the trim, and a subject on a plain backdrop (a portrait,
        # a product on white) or a dark picture next to a dark bar is not eaten into.
        reach = max(1, int(len(strict) * TRIM_REACH))
        empty = np.flatnonzero(strict[:reach])
        majority = (np.arange(len(empty)) + 1) / (empty + 1) >= TRIM_MAJORITY
        return int(empty[np.flatnonzero(majority)[-1]]) + 1
    top = run(g)
    bottom = h - run(g[::-1])
    left = run(g.T)
    right = w - run(g.T[::-1])
    if bottom - top < 0.1 * h or right - left < 0.1 * w:
        return None  # almost all border: a flat or framed-nothing picture, nothing meaningful inside
    if max(top, h - bottom) < TRIM_MIN * h and max(left, w - right) < TRIM_MIN * w:
        return None
    return left, top, right, bottom


def route_hashes(rgb: Image.Image, size: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The plain pHash bits and the query bits of every route that applies to this picture."""
    grey = rgb.convert("L")
    low = dct_low(grey, size)
    out: dict[str, np.ndarray] = {}
    for name, (t, fh, fv) in DIHEDRAL.items():
        out[name] = phash_bits(dihedral_low(low, t, fh, fv))
    w, h = grey.size
    if abs(w / h - 1) > ASPECT_TOLERANCE:
        out["centre-square"] = phash_bits(dct_low(centre_window(grey, 1.0), size))
    if abs(w / h - 0.8) > ASPECT_TOLERANCE:
        out["centre-4x5"] = phash_bits(dct_low(centre_window(grey, 0.8), size))
    out["centre-80"] = phash_bits(dct_low(centre_window(grey, w / h, 0.8), size))
    box = trim_box(np.asarray(grey))
    if box is not None:
        trimmed = grey.crop(box)
        out["trimmed"] = phash_bits(dct_low(trimmed, size))
        tw, th = trimmed.size
        if abs(tw / th - 1) > ASPECT_TOLERANCE:
            out["trimmed-square"] = phash_bits(dct_low(centre_window(trimmed, 1.0), size))
    return phash_bits(low), out


def pack_routes(routes: dict[str, np.ndarray], nbytes: int) -> bytes:
    """All routes' packed hashes in :data:`ROUTES` order, preceded by a 2-byte presence mask."""
    mask = 0
    parts: list[bytes] = []
    for k, name in enumerate(ROUTES):
        bits = routes.get(name)
        if bits is None:
            parts.append(b"\0" * nbytes)
            continue
        mask |= 1 << k
        packed = np.packbits(bits.astype(np.uint8)).tobytes()
        parts.append(packed + b"\0" * (nbytes - len(packed)))
    return mask.to_bytes(2, "big") + b"".join(parts)


def unpack_routes(blob: bytes, nbytes: int) -> list[tuple[int, bytes]]:
    """(route index, packed hash) of every route present in ``blob`` (empty for an empty blob)."""
    if len(blob) < 2:
        return []
    mask = int.from_bytes(blob[:2], "big")
    out = []
    for k in range(len(ROUTES)):
        if mask >> k & 1:
            out.append((k, blob[2 + k * nbytes : 2 + (k + 1) * nbytes]))
    return out
