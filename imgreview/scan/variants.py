"""Extra perceptual hashes for the hard edits: mirror, quarter turns, crops, tilts, borders and bars.

A plain perceptual hash matches a resized, re-encoded, brightened or greyscaled copy, but not a
mirrored or turned one, a square or off-centre crop, a tilted re-post, or a picture inside a
letterbox "screenshot". For each picture the fingerprint also stores *query hashes*, one per
:data:`ROUTES` entry, searched against the plain hashes of all other pictures (never N×N):

* the six other dihedral variants (mirror, vertical flip, 180°, transpose, transverse, 90°;
  270° is found from the other side as 90°). For pHash they all follow from the picture's own
  DCT: a horizontal flip negates the odd horizontal frequencies, a vertical flip the odd vertical
  ones, a transpose transposes the coefficient block; each variant is thresholded at its own
  median, exactly as pHash of the transformed picture would be;
* windows: the centre square and centre 4:5 (loose and tight), what a square or portrait crop of
  a wide picture keeps; windows of the picture's own aspect at 90 % of each side on a 3×3 grid and
  at 80 % on a 4×4 grid of positions, so an off-centre crop lies within a few percent of one;
* small tilts: the picture turned ±4° and cropped to no empty corners;
* border trimming: near-uniform borders (letterbox bars with UI text, white frames, caption bars)
  are trimmed side by side, and the trimmed picture and its centre square are hashed too;
* the content block (:func:`content_box`): on a picture whose backdrop is the colour of its
  border (a figure on black, a nebula, a product on white), the largest block of content between
  empty bands. It is the same block whether the picture stands alone or sits in a letterbox
  screenshot of the same colour with a status bar and a caption around it, where trimming stops
  at the text or at the picture's own sparse edges differently at each scale.

Windows are not cropped and resized one by one: resampling (Lanczos-3, as Pillow's) and the DCT
are linear maps, so all windows' DCT blocks come from one batched matrix product over a copy of
the thumbnail at :data:`WINDOW_SIDE` pixels (:func:`windows_low`; within a bit or two of pHash of
the cropped window). The trimmed hash and the corner windows are also compared with the same
route of the other pictures (:data:`SAME_ROUTES`, see :mod:`imgreview.scan.candidates`).

Every candidate a query hash finds is verified by the local-feature stage (:mod:`.localfeat`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

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
# Centred windows of another aspect (width / height) and share of the largest such window: what a
# square or 4:5 crop of a wide picture keeps, loosely or tightly framed.
ASPECT_WINDOWS: dict[str, tuple[float, float]] = {
    "centre-square": (1.0, 1.0),
    "centre-square-85": (1.0, 0.85),
    "centre-4x5": (0.8, 1.0),
    "centre-4x5-90": (0.8, 0.9),
}
# Windows of the picture's own aspect at 90 % of each side on a 3×3 grid of positions, and at 80 %
# on a 4×4 grid (0 = left/top of the free room, 1 = right/bottom): an off-centre crop then lies
# within about 3 % (4 % at 80 %) of its width of one window. Named cropSHARE-X-Y, X and Y in percent.
GRID_POSITIONS: dict[float, tuple[float, ...]] = {0.9: (0.0, 0.5, 1.0), 0.8: (0.0, 1 / 3, 2 / 3, 1.0)}
GRID_WINDOWS: dict[str, tuple[float, float, float]] = {
    f"crop{round(share * 100)}-{round(fx * 100)}-{round(fy * 100)}": (share, fx, fy)
    for share, steps in GRID_POSITIONS.items() for fy in steps for fx in steps
}
# A small rotation, cropped to the largest upright window of the same aspect (what "straighten"
# tools and re-posts with a tilt keep); ±4° covers about 2°..6°.
ROTATIONS: dict[str, float] = {"rotate+4": 4.0, "rotate-4": -4.0}
REGIONS = ("trimmed", "trimmed-square", "content")
ROUTES: tuple[str, ...] = (*DIHEDRAL, *ASPECT_WINDOWS, *GRID_WINDOWS, *ROTATIONS, *REGIONS)
MIRRORED_ROUTES = frozenset({"mirror", "flip", "transpose", "transverse"})  # orientation-reversing
# Routes also compared with the same route of every other picture (not only with its plain hash):
# the trimmed picture is a canonical form (a plain backdrop trimmed alike on both sides, a caption
# bar or letterbox removed from one), and a corner window leaves out what an overlay in the
# opposite corner (a logo, a watermark) changed.
SAME_ROUTES: tuple[str, ...] = ("trimmed", "content", *(name for name, (_, fx, fy) in GRID_WINDOWS.items()
                                              if fx in (0.0, 1.0) and fy in (0.0, 1.0)))
MASK_BYTES = (len(ROUTES) + 7) // 8
TRIM_TOLERANCE = 24
TRIM_STRICT = 0.92  # an empty border row: nearly all of it within the tolerance (sparse text allowed)
TRIM_REACH = 0.45  # a side's bar is at most this share of the picture
TRIM_MAJORITY = 0.6  # share of empty rows up to the trim line
TRIM_MIN = 0.03  # trim only when at least 3 % of a side would go
ASPECT_TOLERANCE = 0.08


@functools.lru_cache(maxsize=8)
def dct_rows(side: int, size: int) -> np.ndarray:
    """The first ``size`` rows of the unnormalised DCT-II of length ``side`` (scipy.fftpack's; read-only, cached)."""
    k = np.arange(size, dtype=np.float64)[:, None]
    n = np.arange(side, dtype=np.float64)[None, :]
    rows = np.asarray(2.0 * np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * side)))
    rows.flags.writeable = False
    return rows


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
    basis = dct_rows(side, size)
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


def dihedral_pixels(a: np.ndarray, transpose: bool, flip_h: bool, flip_v: bool) -> np.ndarray:
    """The pixels of the transformed picture (the transform of :data:`DIHEDRAL` that :func:`dihedral_low` applies to the DCT)."""
    m = a.T if transpose else a
    if flip_h:
        m = m[:, ::-1]
    if flip_v:
        m = m[::-1]
    return np.ascontiguousarray(m)


def centre_window(img: Image.Image, aspect: float, share: float = 1.0, fx: float = 0.5, fy: float = 0.5
                  ) -> Image.Image:
    """The largest window of ``aspect`` (width / height), each side scaled by ``share``, placed at
    ``fx``, ``fy`` of the free room (0.5, 0.5: centred)."""
    w, h = img.size
    cw, ch = (h * aspect, float(h)) if w / h > aspect else (float(w), w / aspect)
    cw, ch = max(1.0, cw * share), max(1.0, ch * share)
    x0, y0 = (w - cw) * fx, (h - ch) * fy
    return img.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch)))


def rotated_window(img: Image.Image, degrees: float) -> Image.Image:
    """``img`` turned by ``degrees`` and cropped to the largest centred window of its aspect with no empty corners."""
    w, h = img.size
    turned = img.rotate(degrees, resample=Image.Resampling.BILINEAR)
    a = math.radians(abs(degrees))
    s = 1 / (math.cos(a) + max(w / h, h / w) * math.sin(a))
    cw, ch = w * s, h * s
    return turned.crop((round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2)))


def trim_box(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the picture inside near-uniform borders, or None (nothing to trim).

    Each side is trimmed against its own colour (the median of its outermost row or column), so a
    white caption bar under a picture is trimmed as well as dark letterbox bars all round.
    """
    h, w = grey.shape
    if h < 8 or w < 8:
        return None
    g = np.asarray(grey, dtype=np.uint8)

    def run(outer: np.ndarray, axis: int, n: int) -> int:
        # ``outer``: the outer TRIM_REACH of the side's lines (rows for axis 1, columns for axis 0),
        # the outermost first. A bar is mostly empty rows with some rows of text (or a logo) in it:
        # trim up to the last empty row within them while empty rows stay the majority, so a bar's
        # text does not stop the trim, and a subject on a plain backdrop (a portrait, a product on
        # white) or a dark picture next to a dark bar is not eaten into.
        first = outer[0] if axis == 1 else outer[:, 0]
        part = np.partition(first, ((n - 1) // 2, n // 2))
        colour = int((int(part[(n - 1) // 2]) + int(part[n // 2])) / 2)  # int(np.median(first))
        lo, hi = colour - TRIM_TOLERANCE, colour + TRIM_TOLERANCE
        # The outermost line first: most pictures have no border, and the rest is not needed then.
        if np.count_nonzero((first >= lo) & (first <= hi)) / n < TRIM_STRICT:
            return 0
        near = (outer >= lo) & (outer <= hi)  # |v - colour| <= tol
        strict = np.count_nonzero(near, axis=axis) / n >= TRIM_STRICT
        empty = np.flatnonzero(strict)
        majority = (np.arange(len(empty)) + 1) / (empty + 1) >= TRIM_MAJORITY
        return int(empty[np.flatnonzero(majority)[-1]]) + 1
    reach_h, reach_w = max(1, int(h * TRIM_REACH)), max(1, int(w * TRIM_REACH))
    top = run(g[:reach_h], 1, w)
    bottom = h - run(g[::-1][:reach_h], 1, w)
    left = run(g[:, :reach_w], 0, h)
    right = w - run(g[:, ::-1][:, :reach_w], 0, h)
    if bottom - top < 0.1 * h or right - left < 0.1 * w:
        return None  # almost all border: a flat or framed-nothing picture, nothing meaningful inside
    if max(top, h - bottom) < TRIM_MIN * h and max(left, w - right) < TRIM_MIN * w:
        return None
    return left, top, right, bottom


CONTENT_TOLERANCE = 24  # grey levels from the backdrop colour
CONTENT_GAP = 0.015  # an empty band at least this share of the side (2 px at least) splits blocks
CONTENT_MAX_SHARE = 0.9  # a block covering more of the picture than this is the picture itself


def _largest_run(profile: np.ndarray, gap: int) -> tuple[int, int]:
    """The run of lines with content (profile > 0), split at ``gap`` or more empty lines, that holds
    the most content; (start, end) with end exclusive."""
    filled = np.flatnonzero(profile > 0)
    if len(filled) == 0:
        return 0, 0
    breaks = np.flatnonzero(np.diff(filled) > gap)
    starts = np.r_[filled[0], filled[breaks + 1]]
    ends = np.r_[filled[breaks], filled[-1]] + 1
    # each sum runs to the next start (the last one to the end): the gaps between add only zeros
    k = int(np.argmax(np.add.reduceat(profile, starts)))
    return int(starts[k]), int(ends[k])


def content_box(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the largest content block on a backdrop of the border's colour,
    or None when the picture has no such backdrop or the block is nearly all of it.

    The backdrop colour is the median of the outermost ring; a pixel is content when it is more
    than :data:`CONTENT_TOLERANCE` grey levels from it. Rows are split into blocks at empty bands
    of :data:`CONTENT_GAP` of the height, the block with the most content is kept, then its
    columns the same way, then its rows again (a caption beside the block goes in the second step).
    """
    h, w = grey.shape
    if h < 16 or w < 16:
        return None
    ring = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]).astype(np.int16)
    colour = int(np.median(ring))
    if float(np.mean(np.abs(ring - colour) <= CONTENT_TOLERANCE)) < 0.9:
        return None  # the border is not one backdrop colour (tested before the whole picture is converted)
    mask = np.abs(grey.astype(np.int16) - colour) > CONTENT_TOLERANCE
    top, bottom, left, right = 0, h, 0, w
    for axis in (1, 0, 1):
        sub = mask[top:bottom, left:right]
        if axis == 1:
            a, b = _largest_run(sub.sum(axis=1), max(2, round(CONTENT_GAP * h)))
            top, bottom = top + a, top + b
        else:
            a, b = _largest_run(sub.sum(axis=0), max(2, round(CONTENT_GAP * w)))
            left, right = left + a, left + b
        if bottom - top < 8 or right - left < 8:
            return None
    if (bottom - top) * (right - left) > CONTENT_MAX_SHARE * h * w:
        return None
    return left, top, right, bottom


Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels (fractional)


def window_box(w: int, h: int, aspect: float, share: float = 1.0, fx: float = 0.5, fy: float = 0.5) -> Box:
    """The box :func:`centre_window` crops, unrounded."""
    cw, ch = (h * aspect, float(h)) if w / h > aspect else (float(w), w / aspect)
    cw, ch = max(1.0, cw * share), max(1.0, ch * share)
    x0, y0 = (w - cw) * fx, (h - ch) * fy
    return x0, y0, x0 + cw, y0 + ch


_LANCZOS_STEPS = 4096
_LANCZOS_X = np.linspace(-3.0, 3.0, _LANCZOS_STEPS)
_LANCZOS_TABLE = np.sinc(_LANCZOS_X) * np.sinc(_LANCZOS_X / 3.0)


def _lanczos_rows(n_in: int, spans: np.ndarray, n_out: int) -> np.ndarray:
    """``(len(spans), n_out, n_in)`` weights resampling the pixels ``lo..hi`` of a line (one span per
    row of ``spans``) to ``n_out`` with Lanczos-3, as Pillow's ``resize(..., box=)`` does (the filter
    widened by the reduction factor; the kernel read from a table).

    Only the band of input pixels under each output pixel's kernel is evaluated (a few of the
    line's pixels: the rest weigh zero), then placed into the full rows, which are normalised as a
    whole: the same numbers, element by element and in the row sums, as evaluating every input
    pixel (``tests/unit/test_detect.py``), at a fraction of the work.
    """
    lo, hi = spans[:, 0:1], spans[:, 1:2]
    scale = np.maximum(1e-6, (hi - lo) / n_out)
    support = np.maximum(scale, 1.0)
    centres = lo + (np.arange(n_out)[None, :] + 0.5) * scale  # (W, n_out)
    # The kernel is nonzero for |i + 0.5 - centre| < 3·support: a band of at most 6·support + 1 pixels.
    band = min(n_in, math.ceil(6.0 * float(support.max())) + 4)
    first = np.clip(np.floor(centres - 3.0 * support - 0.5).astype(np.intp) - 1, 0, n_in - band)
    cols = first[:, :, None] + np.arange(band)[None, None, :]  # (W, n_out, band), inside 0..n_in-1
    x = ((cols + 0.5) - centres[:, :, None]) / support[:, :, None]
    idx = np.clip(np.rint((x + 3.0) * ((_LANCZOS_STEPS - 1) / 6.0)), 0, _LANCZOS_STEPS - 1).astype(np.intp)
    near = _LANCZOS_TABLE[idx]
    near[np.abs(x) >= 3.0] = 0.0
    wts = np.zeros((len(spans), n_out, n_in), dtype=np.float64)
    rows = np.arange(len(spans) * n_out, dtype=np.intp).reshape(len(spans), n_out, 1) * n_in
    wts.reshape(-1)[(rows + cols).reshape(-1)] = near.reshape(-1)
    # Normalised in place: the full rows are the largest arrays here (windows × 32 × line length),
    # and a fresh copy of them per step cost more than all the kernel arithmetic.
    total = wts.sum(axis=2, keepdims=True)
    total[np.abs(total) < 1e-12] = 1.0
    wts /= total
    return wts


def window_maps(h: int, w: int, boxes: Sequence[Box], size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(D·Ry, D·Rx)``: the row and column maps ``(len(boxes), size, h)`` and ``(len(boxes), size, w)``
    that take an h×w picture to the pHash DCT blocks of its windows (see :func:`windows_low`)."""
    side = size * 4
    d = dct_rows(side, size)
    spans = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    ay = np.matmul(d, _lanczos_rows(h, spans[:, [1, 3]], side))
    ax = np.matmul(d, _lanczos_rows(w, spans[:, [0, 2]], side))
    return ay, ax


@functools.lru_cache(maxsize=64)
def shared_window_maps(h: int, w: int, boxes: tuple[Box, ...], size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`window_maps` of windows that depend only on the picture's size (the aspect and grid
    windows, the whole of a turned copy), kept for the next picture of the same size (read-only)."""
    ay, ax = window_maps(h, w, boxes, size)
    ay.flags.writeable = False
    ax.flags.writeable = False
    return ay, ax


def windows_low(grey: np.ndarray, boxes: Sequence[Box], size: int,
                maps: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """pHash DCT blocks ``(len(boxes), size, size)`` of windows of ``grey``, without cropping or resizing:
    resampling and DCT are linear, so each block is ``(D·Ry) · grey · (D·Rx)ᵀ``, all windows in
    one batched product (``maps``: the boxes' :func:`window_maps`, if at hand). Close to
    :func:`dct_low` of the cropped window (a bit or two differ)."""
    h, w = grey.shape
    ay, ax = maps if maps is not None else window_maps(h, w, boxes, size)
    return np.asarray(np.matmul(np.matmul(ay, grey.astype(np.float64)), ax.transpose(0, 2, 1)))


def _bits_of(lows: np.ndarray) -> np.ndarray:
    """Each block thresholded at its own median (``np.median``'s value: the mean of the middle two)."""
    flat = lows.reshape(len(lows), -1)
    n = flat.shape[1]
    if n % 2:
        return np.asarray(flat > np.partition(flat, n // 2, axis=1)[:, n // 2:n // 2 + 1])
    part = np.partition(flat, (n // 2 - 1, n // 2), axis=1)
    return np.asarray(flat > (part[:, n // 2 - 1:n // 2] + part[:, n // 2:n // 2 + 1]) / 2.0)


ROTATION_SIDE = 96  # the picture is turned at this size: the hash needs 32 pixels
WINDOW_SIDE = 80


@functools.lru_cache(maxsize=256)
def _fixed_windows(w: int, h: int) -> tuple[tuple[str, ...], tuple[Box, ...]]:
    """Names and boxes of the windows that depend only on the picture's size: the aspect windows that
    apply to it and the grid windows."""
    names: list[str] = []
    boxes: list[Box] = []
    for name, (aspect, share) in ASPECT_WINDOWS.items():
        if abs(w / h - aspect) > ASPECT_TOLERANCE:
            names.append(name)
            boxes.append(window_box(w, h, aspect, share))
    for name, (share, fx, fy) in GRID_WINDOWS.items():
        names.append(name)
        boxes.append(window_box(w, h, w / h, share, fx, fy))
    return tuple(names), tuple(boxes)


def route_hashes(rgb: Image.Image, size: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The plain pHash bits and the query bits of every route that applies to this picture."""
    grey = rgb.convert("L")
    low = dct_low(grey, size)
    # The plain block and its six dihedral variants, each thresholded at its own median in one call.
    dihedral = _bits_of(np.stack([low, *(dihedral_low(low, t, fh, fv) for t, fh, fv in DIHEDRAL.values())]))
    out: dict[str, np.ndarray] = dict(zip(DIHEDRAL, dihedral[1:], strict=True))
    w, h = grey.size
    pixels = np.asarray(grey)
    # Windows are resampled from a copy at WINDOW_SIDE pixels (the hash needs 32 of them across).
    reduce = min(1.0, WINDOW_SIDE / max(w, h))
    reduced = np.asarray(grey.resize((max(8, round(w * reduce)), max(8, round(h * reduce))), Image.Resampling.BOX),
                         dtype=np.float64) if reduce < 1 else pixels.astype(np.float64)
    ry, rx = reduced.shape[0] / h, reduced.shape[1] / w
    names, fixed = _fixed_windows(w, h)
    boxes: list[Box] = []
    box = trim_box(pixels)
    if box is not None:
        left, top, right, bottom = box
        names = (*names, "trimmed")
        boxes.append((float(left), float(top), float(right), float(bottom)))
        tw, th = right - left, bottom - top
        if abs(tw / th - 1) > ASPECT_TOLERANCE:
            x0, y0, x1, y1 = window_box(tw, th, 1.0)
            names = (*names, "trimmed-square")
            boxes.append((left + x0, top + y0, left + x1, top + y1))
    rh, rw = reduced.shape
    ay, ax = shared_window_maps(rh, rw, tuple((b[0] * rx, b[1] * ry, b[2] * rx, b[3] * ry) for b in fixed), size)
    if boxes:  # the trimmed windows differ from picture to picture
        ty, tx = window_maps(rh, rw, [(b[0] * rx, b[1] * ry, b[2] * rx, b[3] * ry) for b in boxes], size)
        ay, ax = np.concatenate([ay, ty]), np.concatenate([ax, tx])
    for name, bits in zip(names, _bits_of(windows_low(reduced, [], size, maps=(ay, ax))), strict=True):
        out[name] = bits
    block = content_box(pixels)
    if block is not None:
        # From the thumbnail itself: the block may be a small part of a screenshot.
        cb: Box = (float(block[0]), float(block[1]), float(block[2]), float(block[3]))
        out["content"] = _bits_of(windows_low(pixels.astype(np.float64), [cb], size))[0]
    scale = min(1.0, ROTATION_SIDE / max(w, h))
    small = grey.resize((max(8, round(w * scale)), max(8, round(h * scale))), Image.Resampling.BOX) if scale < 1 else grey
    for name, degrees in ROTATIONS.items():
        turned = np.asarray(rotated_window(small, degrees))
        th, tw = turned.shape
        whole = shared_window_maps(th, tw, ((0.0, 0.0, float(tw), float(th)),), size)
        out[name] = _bits_of(windows_low(turned, [], size, maps=whole))[0]
    return dihedral[0], out


def pack_routes(routes: dict[str, np.ndarray], nbytes: int) -> bytes:
    """All routes' packed hashes in :data:`ROUTES` order, preceded by a presence mask (:data:`MASK_BYTES`)."""
    present = [k for k, name in enumerate(ROUTES) if name in routes]
    table = np.zeros((len(ROUTES), nbytes), dtype=np.uint8)
    if present:  # one packbits call for all routes (every route hash has the plain hash's length)
        packed = np.packbits(np.stack([np.asarray(routes[ROUTES[k]], dtype=bool) for k in present]), axis=1)
        table[present, :packed.shape[1]] = packed
    mask = sum(1 << k for k in present)
    return mask.to_bytes(MASK_BYTES, "big") + table.tobytes()


def unpack_routes(routes: list[bytes], nbytes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(owner, route index, query hashes as uint64 words) of every route present in the items'
    blobs, item by item, routes in index order. A blob of another length (empty, or written by
    another route recipe: the fingerprint key changes with it) has none."""
    size = MASK_BYTES + len(ROUTES) * nbytes
    words = nbytes // 8
    good = [k for k, blob in enumerate(routes) if len(blob) == size]
    if not good:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros((0, words), dtype=np.uint64)
    raw = np.frombuffer(b"".join(routes[k] for k in good), dtype=np.uint8).reshape(len(good), size)
    mask_bytes = raw[:, :MASK_BYTES]
    # bit k of the big-endian mask: byte MASK_BYTES-1-k//8, bit k%8 from the right
    bits = np.unpackbits(mask_bytes[:, ::-1], axis=1, bitorder="little")[:, :len(ROUTES)].astype(bool)
    item, kind = np.nonzero(bits)  # row-major: item, then route ascending
    hashes = raw[:, MASK_BYTES:].reshape(len(good), len(ROUTES), nbytes)[item, kind]
    queries = np.ascontiguousarray(hashes).view(">u8").astype(np.uint64).reshape(len(item), words)
    owner = np.asarray(good, dtype=np.int64)[item]
    return owner, kind.astype(np.int64), queries
