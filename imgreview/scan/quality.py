"""Picture quality flags from the small thumbnail the scan already decodes.

Two stages:

1. :func:`measure` (in the scan workers, once per file, on the decoded thumbnail): raw statistics
   of the picture (:class:`Stats`) and a short feature vector for outliers and suggestions. No
   second decode: the thumbnail is the one the perceptual hash is computed from.
2. :func:`flag` (after the scan, over the whole dataset): turns the statistics into one score per
   issue and the list of issues, comparing a picture with the rest of its label where that makes
   sense (blur, size, aspect ratio, greyscale).

Issue names follow cleanvision's (``dark``, ``light``, ``blurry``, ``low_information``,
``odd_aspect_ratio``, ``odd_size``, ``grayscale``). Every score is in 0..1, **lower is worse**, and
the issue is raised when the score is below its threshold (:data:`THRESHOLDS`):

``dark``
    score = the 99th percentile of perceived brightness (``sqrt(.241 R² + .691 G² + .068 B²)``,
    0..1): even the brightest part of the picture is dim. Threshold 0.32. A night photo with a few
    lights has a high 99th percentile and is not flagged.
``light``
    score = 1 − the 5th percentile of brightness: even the darkest part is bright (washed out,
    overexposed). Threshold 0.2.
``blurry``
    sharpness = std(Laplacian) / std(grey) of the thumbnail scaled to 128 px on its long side
    (contrast-normalised, so a dark or faded picture does not count as blurry); score = sharpness /
    the label's median sharpness, clipped to 1. Threshold 0.45. Relative because what is sharp
    depends on the kind of picture (line art vs. foliage).
``low_information``
    score = min(1, entropy / 6 bits, grey std / 8 levels): a flat fill, an almost empty frame.
    Threshold 0.5 (entropy below 3 bits, the cleanvision default, or a std below 4 levels).
``odd_aspect_ratio``
    score = min(r / m, m / r) for the width/height ratio r and the label's median ratio m.
    Threshold 0.5: twice as elongated as the label's usual shape (a strip, a panorama among
    4:3 photos). Labels of mixed shapes keep their median near 1 and flag only the extremes.
``odd_size``
    score = min(1, side / the label's median side), side = sqrt(width × height). Threshold 0.3,
    and always when the shorter side is under :data:`TINY_SIDE` pixels. Only too *small* is
    flagged: a large picture is not a bad training picture.
``grayscale``
    score = min(1, colourfulness / 6), colourfulness = the mean over pixels of max(R,G,B) −
    min(R,G,B) in 0..255 levels. Threshold 0.5 (a spread under 3 levels: JPEG chroma noise only).
    Raised only in a colour label (median colourfulness ≥ :data:`COLOUR_LABEL`): a greyscale
    picture among greyscale pictures is normal.

Relative thresholds use the label's median when the label has at least :data:`MIN_PEERS`
pictures, else the dataset's median.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

ISSUES = ("dark", "light", "blurry", "low_information", "odd_aspect_ratio", "odd_size", "grayscale")
THRESHOLDS: dict[str, float] = {
    "dark": 0.2,
    "light": 0.45,
    "blurry": 0.25,
    "low_information": 0.5,
    "odd_aspect_ratio": 0.5,
    "odd_size": 0.3,
    "grayscale": 0.5,
}
SIDE = 128  # thumbnail long side the statistics are taken at
TINY_SIDE = 32
COLOUR_LABEL = 0.06  # median saturation of a label that counts as colour
GREY_SATURATION = 0.02  # below this mean saturation a picture is greyscale
FLAT_RANGE = 0.03  # brightness p99 - p05 below this: a flat fill
MIN_PEERS = 5
_STATS = struct.Struct("<9f")
FEATURE_DIM = 56


@dataclass(slots=True, frozen=True)
class Stats:
    """Raw per-picture statistics (stored in the fingerprint cache, 36 bytes)."""

    width: int
    height: int
    bright_p99: float
    bright_p05: float
    bright_mean: float
    sharpness: float
    entropy: float
    grey_std: float
    colourfulness: float

    def pack(self) -> bytes:
        return _STATS.pack(self.width, self.height, self.bright_p99, self.bright_p05, self.bright_mean,
                           self.sharpness, self.entropy, self.grey_std, self.colourfulness)

    @classmethod
    def unpack(cls, data: bytes) -> Stats:
        w, h, *rest = _STATS.unpack(data[:_STATS.size])
        return cls(int(w), int(h), *rest)


def thumbnail(rgb: Image.Image) -> Image.Image:
    """The picture at :data:`SIDE` px on its long side (never enlarged)."""
    if rgb.mode != "RGB":
        rgb = rgb.convert("RGB")
    w, h = rgb.size
    scale = SIDE / max(w, h)
    if scale < 1:
        rgb = rgb.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    return rgb


def measure(rgb: Image.Image, width: int, height: int) -> tuple[Stats, np.ndarray]:
    """Statistics and the feature vector of a decoded picture (``width``×``height`` = its full size).

    The channels are taken as separate contiguous planes and everything that is exact in integers
    (channel max/min, colour bins, gradient-magnitude bins) is counted in integers: the same
    numbers as the float formulas of the docstring, at a fraction of the passes
    (``tests/unit/test_triage_parts.py`` compares them with a direct evaluation).
    """
    planes = np.ascontiguousarray(np.asarray(thumbnail(rgb), dtype=np.uint8).transpose(2, 0, 1))
    r, g, b = planes.astype(np.float32)
    bright = np.sqrt(0.241 * r * r + 0.691 * g * g + 0.068 * b * b) / 255.0
    p05, p99 = _p05_p99(bright)
    grey = 0.299 * r + 0.587 * g + 0.114 * b
    gstd = float(grey.std())
    hist = np.bincount(np.clip(grey + 0.5, 0, 255).astype(np.int64).ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / hist.sum()
    entropy = float(-(p * np.log2(p)).sum())
    lap = _laplacian(grey)
    sharp = float(lap.std() / gstd) if gstd > 1e-3 and lap.size else 0.0
    hi = np.maximum(np.maximum(planes[0], planes[1]), planes[2])
    lit = hi > 16  # saturation is meaningless in near-black pixels
    colourful = 0.0
    if lit.any():
        spread = hi - np.minimum(np.minimum(planes[0], planes[1]), planes[2])
        # exact integer sums (< 2**24 on a 128 px thumbnail), divided in float32 as the float form was
        colourful = float(np.float32(int(spread[lit].sum())) / np.float32(int(hi[lit].sum())))
    stats = Stats(width, height, float(p99), float(p05), float(bright.mean()), sharp, entropy, gstd, colourful)
    return stats, _features(planes, grey, bright, stats)


_QUANTILES = np.true_divide((5, 99), 100)  # as np.percentile turns its percentages into quantiles


def _p05_p99(values: np.ndarray) -> tuple[float, float]:
    """``np.percentile(values, (5, 99))``, the same numbers: numpy's linear method (its index
    arithmetic and its interpolation, :func:`numpy.lib._function_base_impl._lerp`) on the four
    order statistics it reads, partitioned out directly, without ``np.percentile``'s generic
    set-up (which cost more than the partition on a 128 px thumbnail). No NaN can occur here."""
    flat = values.ravel()
    n = flat.size
    virtual = (n - 1) * _QUANTILES
    below = np.floor(virtual).astype(np.intp)
    above = below + 1
    last = virtual >= n - 1  # at or past the largest value: numpy reads the maximum for both
    below[last] = n - 1
    above[last] = n - 1
    part = np.partition(flat, np.unique(np.concatenate((below, above))))
    a, b = part[below], part[above]
    gamma = virtual - np.where(last, -1, below)  # numpy's gamma is taken against its index -1 there
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return float(out[0]), float(out[1])


def colourful_feature(s: Stats) -> float:
    return min(1.0, s.colourfulness * 2.0)


def _laplacian(grey: np.ndarray) -> np.ndarray:
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return np.zeros(0, dtype=np.float32)
    c = grey[1:-1, 1:-1]
    out: np.ndarray = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * c
    return out


_COLOUR_BIN = np.minimum(2, np.arange(256) * 3 // 256)  # floor(level / 256 · 3): 3 bins per channel
# Each channel's share of the 27-bin index, in uint8 (at most 18 + 6 + 2 = 26): no int64 planes
_COLOUR_INDEX = tuple((_COLOUR_BIN * k).astype(np.uint8) for k in (9, 3, 1))
_EDGE_BINS = (4, 16, 48)
_PI32 = np.float32(math.pi)  # gradient magnitude bins: [0, 4), [4, 16), [16, 48), [48, ∞)


def _features(planes: np.ndarray, grey: np.ndarray, bright: np.ndarray, s: Stats) -> np.ndarray:
    """56 cheap colour/texture numbers: a 3×3×3 colour histogram (square-rooted), an 8-bin gradient
    orientation histogram weighted by magnitude, a 4-bin gradient magnitude histogram, the 3×3
    layout of brightness, and global statistics. ``planes``: the (3, h, w) uint8 channels."""
    idx = (_COLOUR_INDEX[0][planes[0]] + _COLOUR_INDEX[1][planes[1]] + _COLOUR_INDEX[2][planes[2]]).ravel()
    colour = np.sqrt(np.bincount(idx, minlength=27) / max(1, idx.size))
    gy, gx = np.gradient(grey) if min(grey.shape) >= 2 else (np.zeros_like(grey), np.zeros_like(grey))
    mag = np.hypot(gx, gy)
    theta = np.arctan2(gy, gx)  # theta mod π as np.remainder gives it (π itself to 0), without its division
    theta[theta == _PI32] = 0.0
    np.add(theta, _PI32, out=theta, where=theta < 0)
    ang = theta / math.pi * 8
    orient = np.bincount(np.clip(ang.astype(np.int64), 0, 7).ravel(), weights=mag.ravel(), minlength=8)
    total = orient.sum()
    orient = np.sqrt(orient / total) if total > 0 else orient
    below = [int(np.count_nonzero(mag < edge)) for edge in _EDGE_BINS] + [mag.size]
    edges = np.diff(np.array([0, *below], dtype=np.int64)) / max(1, mag.size)
    h, w = bright.shape
    layout = np.array([bright[i * h // 3:(i + 1) * h // 3 or None, j * w // 3:(j + 1) * w // 3 or None].mean()
                       if h >= 3 and w >= 3 else bright.mean() for i in range(3) for j in range(3)])
    glob = np.array([s.bright_mean, s.grey_std / 64.0, min(s.sharpness, 4.0) / 4.0, s.entropy / 8.0,
                     colourful_feature(s), math.log(max(s.width, 1) / max(s.height, 1)) / 2.0,
                     math.log(max(1.0, math.sqrt(s.width * s.height))) / 8.0, s.bright_p99 - s.bright_p05])
    feats = np.concatenate([colour, orient, edges, layout, glob]).astype(np.float32)
    assert feats.shape == (FEATURE_DIM,)
    out: np.ndarray = feats
    return out


# ---------------------------------------------------------------------- dataset stage
@dataclass(slots=True)
class Verdict:
    issues: list[str]
    scores: dict[str, float]


def _median(values: Sequence[float] | np.ndarray) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64))) if len(values) else 0.0


Reference = tuple[float, float, float, float]  # a label's median sharpness, log aspect, side, colourfulness


def columns(stats: Sequence[Stats]) -> np.ndarray:
    """``(n, 4)``: each picture's sharpness, log aspect ratio, side and colourfulness, as :func:`flag`
    compares them with its label's (:func:`references` of these rows, in chunks if need be)."""
    out = np.empty((len(stats), 4), dtype=np.float64)
    out[:, 0] = [s.sharpness for s in stats]
    out[:, 1] = [math.log(max(s.width, 1) / max(s.height, 1)) for s in stats]
    out[:, 2] = [math.sqrt(max(s.width, 1) * max(s.height, 1)) for s in stats]
    out[:, 3] = [s.colourfulness for s in stats]
    return out


def references(cols: np.ndarray, labels: Sequence[str | None]) -> dict[str | None, Reference]:
    """Each label's reference (the medians of its pictures' :func:`columns`; everyone's for a label
    of fewer than :data:`MIN_PEERS` pictures)."""
    by_label: dict[str | None, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    sharp, logar, side, colour = (cols[:, k] for k in range(4))
    ref: dict[str | None, Reference] = {}
    everyone = (_median(sharp), _median(logar), _median(side), _median(colour))
    for label, idx in by_label.items():
        if len(idx) >= MIN_PEERS:
            ref[label] = (_median(sharp[idx]), _median(logar[idx]), _median(side[idx]), _median(colour[idx]))
        else:
            ref[label] = everyone
    return ref


def flag(stats: Sequence[Stats], labels: Sequence[str | None],
         thresholds: dict[str, float] | None = None,
         refs: dict[str | None, Reference] | None = None) -> list[Verdict]:
    """Scores and issues of every picture; ``labels[i]`` is picture i's label (None: no label).

    ``refs``: the labels' :func:`references` over a whole collection of which ``stats`` is a part
    (the collection flagged a chunk at a time); by default those of ``stats``."""
    limits = {**THRESHOLDS, **(thresholds or {})}
    n = len(stats)
    if len(labels) != n:
        raise ValueError("one label per picture")
    cols = columns(stats)
    logar, side = cols[:, 1], cols[:, 2]
    ref = references(cols, labels) if refs is None else refs
    out: list[Verdict] = []
    for i, s in enumerate(stats):
        m_sharp, m_logar, m_side, m_colour = ref[labels[i]]
        scores = {
            "dark": _clip(s.bright_p99),
            "light": _clip(1.0 - s.bright_p05),
            "blurry": _clip(s.sharpness / m_sharp) if m_sharp > 0 else 1.0,
            "low_information": _clip(min(s.entropy / 6.0, (s.bright_p99 - s.bright_p05) / FLAT_RANGE * 0.5)),
            "odd_aspect_ratio": _clip(math.exp(-abs(logar[i] - m_logar))),
            "odd_size": _clip(side[i] / m_side) if m_side > 0 else 1.0,
            "grayscale": _clip(s.colourfulness / (2 * GREY_SATURATION)),
        }
        raised = {name for name in ISSUES if scores[name] < limits[name]}
        if min(s.width, s.height) < TINY_SIDE:
            raised.add("odd_size")
        if m_colour < COLOUR_LABEL:
            raised.discard("grayscale")  # greyscale among greyscale pictures is normal
        flat = s.bright_p99 - s.bright_p05 < FLAT_RANGE
        if flat and "low_information" in raised:
            raised -= {"dark", "light", "grayscale"}  # a flat fill: its colour is not an exposure issue
        elif raised & {"dark", "light"}:
            raised -= {"low_information", "grayscale"}  # the exposure flattened it
        if "low_information" in raised:
            raised.discard("blurry")  # no edges to be sharp
        issues = [name for name in ISSUES if name in raised]
        out.append(Verdict(issues, {k: round(v, 4) for k, v in scores.items()}))
    return out


def _clip(x: float) -> float:
    return 0.0 if not math.isfinite(x) or x < 0 else min(1.0, x)


# ---------------------------------------------------------------------- storage
def encode(stats: Stats, features: np.ndarray) -> bytes:
    """The cache blob: packed statistics followed by the features as float16."""
    return stats.pack() + np.asarray(features, dtype="<f2").tobytes()


def decode(blob: bytes) -> tuple[Stats, np.ndarray]:
    """:func:`encode` reversed; ValueError for a blob of another layout."""
    if len(blob) != _STATS.size + 2 * FEATURE_DIM:
        raise ValueError("quality blob of another layout")
    stats = Stats.unpack(blob[:_STATS.size])
    return stats, np.frombuffer(blob[_STATS.size:], dtype="<f2").astype(np.float32)


def report(items: Sequence[tuple[str, Stats, str | None]],
           refs: dict[str | None, Reference] | None = None) -> list[dict[str, object]]:
    """``[{"path", "issues", "scores"}]`` for every picture with at least one issue (scan results, check);
    ``refs`` as :func:`flag`'s."""
    verdicts = flag([s for _, s, _ in items], [label for _, _, label in items], refs=refs)
    return [{"path": path, "issues": v.issues, "scores": v.scores}
            for (path, _, _), v in zip(items, verdicts, strict=True) if v.issues]


def counts(entries: Sequence[dict[str, object]]) -> dict[str, int]:
    """Pictures per issue, every issue name present."""
    out = dict.fromkeys(ISSUES, 0)
    for e in entries:
        for issue in e.get("issues", []):  # type: ignore[attr-defined]
            if issue in out:
                out[issue] += 1
    return out
