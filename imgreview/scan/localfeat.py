"""Second stage: tell "the same shot, edited" from "another shot that looks alike".

Perceptual hashes and small signatures cannot: two portraits framed alike on one backdrop, two
snow textures, two crops of one photograph pass any global test. Copy detection therefore checks
*local features with geometric verification* (OpenCV): ORB keypoints on a few-hundred-pixel
decode, ratio-tested matches, a RANSAC similarity (rotation, scale, shift; mirrored first when the
route says so), and then an *aligned comparison*: the first picture warped onto the second must
correlate with it where they overlap, and the match must be *supported across the overlap*
(:func:`support`): the same logo or watermark on two different pictures gives a hundred
consistent matches, all inside the logo, and two dark pictures can still correlate globally, but
nowhere else in the overlap does a feature of one land on its match in the other. Same UI text in
two letterbox screenshots gives consistent matches but no aligned correlation; features are
computed inside the trimmed picture (bars and frames left out) for the same reason.

Features are computed only for files that are in a candidate pair, and cached by the scan. The
mirrored features (ORB of the mirrored picture, about a third of a file's cost) only for files on
the query side of a mirror-type candidate (:data:`imgreview.scan.variants.MIRRORED_ROUTES`), and
cached apart from the plain ones (:data:`MIRROR_RECIPE`).
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from imgreview.scan.variants import trim_box

FEATURE_SIDE = 480  # longest side of the decode the features are computed on
SMALL_SIDE = 120  # longest side of the copy kept for the aligned comparison
N_FEATURES = 600
FAST_THRESHOLD = 10
# A smooth picture (a gradient, soft clouds, silk) has few corners at the usual FAST threshold:
# below LOW_FEATURES keypoints the detector runs again at FAST_THRESHOLD_LOW, which finds the weak
# texture such pictures do have (their copies have it too).
LOW_FEATURES = 200
FAST_THRESHOLD_LOW = 3
# Matching costs the product of the two feature counts. Features are stored strongest first, and a
# pair is first matched on the QUICK_FEATURES strongest of each side: a copy shows plenty of
# consistent matches there and is accepted (at twice the usual inlier count) at a sixteenth of the
# cost; anything less is matched again on all features, so nothing is rejected on the quick pass.
QUICK_FEATURES = 150
RATIO = 0.8  # Lowe's ratio test
RANSAC_PIXELS = 6.0
MIN_INLIERS = 12
MIN_INLIER_RATIO = 0.15  # inliers / ratio-tested matches
MIN_ALIGNED_CORRELATION = 0.6
MIN_OVERLAP = 0.2  # overlap as a share of the smaller picture
# A picture matched into a small part of the other at a very different scale (its overlap under
# INSET_SHARE of the larger picture, the scale outside INSET_SCALE) is a coincidence of one small
# shape (an arc, an edge, a blob) or a picture-in-picture, not a copy: the aligned comparison then
# rests on a few dozen pixels of the small copy. Measured on tiles of different real pictures
# (bench/false_pairs.py): 12 of 29 accepted false pairs were such insets, no true pair of the hard
# corpus' dev half was.
INSET_SHARE = 0.2
INSET_SCALE = (0.45, 2.2)
# Copies are upright, quarter-turned or straightened by a few degrees; a geometry turned further
# from a quarter turn than this is a coincidence of points (star fields, scattered dots) that
# RANSAC fitted, not an edit (the false pair of two nebula photographs in the second dev corpus).
ROTATION_SLACK = 12.0
SCALE_RANGE = (1 / 12, 12)
# Support across the overlap. A match can rest on one shared detail: the same logo or watermark
# on two different pictures (a site stamps all its pictures), one arc or corner two designs share.
# In a copy the rest of the picture agrees too. One side's features are mapped into the other by
# the fitted geometry and binned on a SUPPORT_GRID × SUPPORT_GRID grid; of the cells holding 3 or
# more, at least MIN_SUPPORT must hold a feature matched in the other picture where the geometry
# puts it (within SUPPORT_PIXELS), seen from A's side or from B's: an overlay on one side (a
# caption, a logo) leaves the other side's view whole. Two different star fields under one logo:
# 12-19 % of the cells, two nebula photographs under one logo (second dev corpus) 17 %; their
# copies (blurred, JPEG q25, resized, the logo left off) 88-100 %, and of the 16 000 true pairs
# of the dev halves the lowest at 30-35 % (a letterbox screenshot of a flat design against a crop).
SUPPORT_PIXELS = RANSAC_PIXELS
# Matches on one line. Two pictures whose only structure is one edge (the rim of a disc on a
# plain field, a road's border, a horizon) match each other along it at any curvature: the inliers
# then lie on one line. Under SPREAD_INLIERS inliers, their spread (short to long axis, see
# :func:`spread`) must reach MIN_SPREAD, else the pair is left to the hash fallback (a direct hash
# match close enough with agreeing grey views still counts). Measured on tiles of different real
# pictures (bench/false_pairs.py, N = 10 200): 19 of the 28 accepted cross-source pairs under 21
# inliers had a spread under 0.09 (disc rims, race-track borders, arcs on black); on the dev
# corpora the rule costs 0.004 of pair recall on the second (a flat city design whose features sit
# on its skyline) and nothing on the first.
SPREAD_INLIERS = 40
MIN_SPREAD = 0.08
ALONG_ONE_LINE = "the matching features lie along one line"
SUPPORT_GRID = 4
MIN_SUPPORT = 0.3
RECIPE = f"orb{N_FEATURES}-{FEATURE_SIDE}-v4"  # v4: the plain blob no longer holds the mirrored features
MIRROR_RECIPE = f"{RECIPE}-mirror"  # the mirrored features alone (Features.mirror_bytes)


@dataclass(slots=True)
class Features:
    width: int  # of the feature decode
    height: int
    points: np.ndarray  # (K, 2) float32
    descriptors: np.ndarray  # (K, 32) uint8
    mirror_points: np.ndarray | None
    mirror_descriptors: np.ndarray | None
    small: np.ndarray  # (h, w) uint8, the picture at SMALL_SIDE
    box: tuple[int, int, int, int]  # content box in feature coordinates (after trimming)

    def to_bytes(self, mirror: bool = True) -> bytes:
        """The features as one blob; the mirrored ones included if present and ``mirror``."""
        buf = io.BytesIO()
        arrays: dict[str, Any] = {"meta": np.array([self.width, self.height, *self.box], dtype=np.int32),
                                  "p": self.points, "d": self.descriptors, "s": self.small}
        if mirror and self.mirror_points is not None and self.mirror_descriptors is not None:
            arrays["mp"] = self.mirror_points
            arrays["md"] = self.mirror_descriptors
        np.savez(buf, **arrays)
        return buf.getvalue()

    @property
    def has_mirror(self) -> bool:
        return self.mirror_points is not None and self.mirror_descriptors is not None

    def mirror_bytes(self) -> bytes:
        """The mirrored features alone (cached under :data:`MIRROR_RECIPE`); ValueError if there are none."""
        if self.mirror_points is None or self.mirror_descriptors is None:
            raise ValueError("no mirrored features")
        buf = io.BytesIO()
        np.savez(buf, mp=self.mirror_points, md=self.mirror_descriptors)
        return buf.getvalue()

    def add_mirror(self, data: bytes) -> None:
        """Attach mirrored features stored by :meth:`mirror_bytes`."""
        z = np.load(io.BytesIO(data))
        points, descriptors = z["mp"], z["md"]
        if points.ndim != 2 or len(points) != len(descriptors):
            raise ValueError("mirrored features of another layout")
        self.mirror_points, self.mirror_descriptors = points, descriptors

    @classmethod
    def from_bytes(cls, data: bytes) -> Features:
        z = np.load(io.BytesIO(data))
        meta = z["meta"].tolist()
        mp = z["mp"] if "mp" in z.files else None
        md = z["md"] if "md" in z.files else None
        return cls(meta[0], meta[1], z["p"], z["d"], mp, md, z["s"], (meta[2], meta[3], meta[4], meta[5]))


@dataclass(slots=True)
class Match:
    accepted: bool
    matches: int = 0
    inliers: int = 0
    scale: float = 1.0
    rotation: float = 0.0
    mirror: bool = False
    correlation: float = 0.0
    crop: float = 1.0  # share of the larger picture's area that the overlap covers
    reason: str = ""


def _cv2() -> Any:
    import cv2  # deferred: only scans with candidates pay for the import

    cv2.setNumThreads(1)
    return cv2


def _orb(cv2: Any, grey: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    orb = cv2.ORB_create(nfeatures=N_FEATURES, fastThreshold=FAST_THRESHOLD, edgeThreshold=15, patchSize=15)
    kp, des = orb.detectAndCompute(grey, mask)
    if len(kp) < LOW_FEATURES:
        orb = cv2.ORB_create(nfeatures=N_FEATURES, fastThreshold=FAST_THRESHOLD_LOW, edgeThreshold=15, patchSize=15)
        kp, des = orb.detectAndCompute(grey, mask)
    if des is None or not kp:
        return np.zeros((0, 2), dtype=np.float32), np.zeros((0, 32), dtype=np.uint8)
    order = np.argsort([-k.response for k in kp], kind="stable")  # strongest first: see QUICK_FEATURES
    pts = np.array([kp[k].pt for k in order], dtype=np.float32).reshape(-1, 2)
    return pts, np.ascontiguousarray(des[order])


def compute_features(rgb: Image.Image, mirrored: bool) -> Features:
    """Features of an upright RGB picture (any size; it is brought to :data:`FEATURE_SIDE`)."""
    cv2 = _cv2()
    scale = FEATURE_SIDE / max(rgb.size)
    size = (max(8, round(rgb.width * scale)), max(8, round(rgb.height * scale)))
    grey_img = rgb.convert("L").resize(size, Image.Resampling.BILINEAR)
    grey = np.ascontiguousarray(np.asarray(grey_img, dtype=np.uint8))
    h, w = grey.shape
    box = trim_box(grey) or (0, 0, w, h)
    mask = np.zeros_like(grey)
    mask[box[1]:box[3], box[0]:box[2]] = 255
    pts, des = _orb(cv2, grey, mask)
    mpts = mdes = None
    if mirrored:
        mpts, mdes = _orb(cv2, np.ascontiguousarray(grey[:, ::-1]), np.ascontiguousarray(mask[:, ::-1]))
        mpts[:, 0] = (w - 1) - mpts[:, 0]  # back to unmirrored coordinates: the model then has det < 0
    s = SMALL_SIDE / max(w, h)
    small = np.asarray(grey_img.resize((max(4, round(w * s)), max(4, round(h * s))), Image.Resampling.BOX),
                       dtype=np.uint8)
    return Features(w, h, pts, des, mpts, mdes, small, box)


def features_of_file(path: str, mirrored: bool) -> Features | None:
    """Decode ``path`` at a few hundred pixels (upright, alpha over grey) and compute its features."""
    from imgreview.scan.fingerprint import decode_upright

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rgb = decode_upright(path, FEATURE_SIDE)
        except Exception:
            return None
    if rgb is None:
        return None
    return compute_features(rgb, mirrored)


def _similarity(m: np.ndarray) -> tuple[float, float, bool]:
    a, b = float(m[0, 0]), float(m[0, 1])
    c, d = float(m[1, 0]), float(m[1, 1])
    det = a * d - b * c
    scale = math.sqrt(abs(det))
    mirror = det < 0
    rotation = math.degrees(math.atan2(c, a if not mirror else -a)) if scale else 0.0
    return scale, rotation, mirror


def _aligned_correlation(fa: Features, fb: Features, model: np.ndarray) -> tuple[float, float, float]:
    """Correlation of A warped onto B over their overlap; overlap share of the smaller and larger content."""
    cv2 = _cv2()
    sa = fa.small.shape[1] / fa.width
    sb = fb.small.shape[1] / fb.width
    # small_b <- feat_b <- feat_a <- small_a
    m = np.vstack([model, [0, 0, 1]])
    to_a = np.diag([1 / sa, 1 / sa, 1.0])
    from_b = np.diag([sb, sb, 1.0])
    full = (from_b @ m @ to_a)[:2]
    hb, wb = fb.small.shape
    warped = cv2.warpAffine(fa.small.astype(np.float32), full, (wb, hb), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
    content_a = np.zeros(fa.small.shape, dtype=np.float32)
    ba = [round(v * sa) for v in fa.box]
    content_a[ba[1]:max(ba[1] + 1, ba[3]), ba[0]:max(ba[0] + 1, ba[2])] = 1.0
    overlap = cv2.warpAffine(content_a, full, (wb, hb), flags=cv2.INTER_NEAREST) > 0.5
    bb = [round(v * sb) for v in fb.box]
    inside_b = np.zeros_like(overlap)
    inside_b[bb[1]:max(bb[1] + 1, bb[3]), bb[0]:max(bb[0] + 1, bb[2])] = True
    overlap &= inside_b & (warped >= 0)
    area = float(overlap.sum())
    area_a = max(1.0, float(content_a.sum()) * (abs(np.linalg.det(full[:, :2]))))
    area_b = max(1.0, float(inside_b.sum()))
    share_small = area / min(area_a, area_b)
    share_large = area / max(area_a, area_b)
    if area < 16:
        return 0.0, share_small, share_large
    x = warped[overlap].astype(np.float64)
    y = fb.small[overlap].astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    den = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return (float((x * y).sum()) / den if den > 1e-6 else 0.0), share_small, share_large


def support(points: np.ndarray, descriptors: np.ndarray, model: np.ndarray, inliers: np.ndarray,
            other_points: np.ndarray, other_descriptors: np.ndarray, other_box: tuple[int, int, int, int]) -> float:
    """How much of the overlap agrees, seen from one side: the share of grid cells holding this
    side's features where one of them is matched in the other picture where ``model`` puts it.

    The cells are those of a :data:`SUPPORT_GRID` square grid over this side's features mapped
    into the other picture (inside ``other_box``) that hold 3 or more of them. ``inliers`` (this
    side's inlier points) count first; only when they leave too many cells unsupported are all of
    this side's features matched against all of the other's again (Lowe's ratio test, no geometry)
    to find those that land within :data:`SUPPORT_PIXELS` of where the model maps them.
    """
    if len(points) == 0:
        return 0.0
    rot, shift = model[:, :2], model[:, 2]
    q = points.astype(np.float64) @ rot.T + shift
    left, top, right, bottom = other_box
    inside = (q[:, 0] >= left) & (q[:, 0] < right) & (q[:, 1] >= top) & (q[:, 1] < bottom)
    if not inside.any():
        return 0.0
    qi = q[inside]
    lo = qi.min(axis=0)
    span = np.maximum(qi.max(axis=0) - lo, 1e-6)

    def cells(mapped: np.ndarray) -> np.ndarray:
        xy = np.clip(((mapped - lo) / span * SUPPORT_GRID).astype(np.int64), 0, SUPPORT_GRID - 1)
        return np.bincount(xy[:, 1] * SUPPORT_GRID + xy[:, 0], minlength=SUPPORT_GRID ** 2)

    held = cells(qi) >= 3
    n_held = max(1, int(held.sum()))
    share = float((held & (cells(inliers.astype(np.float64) @ rot.T + shift) >= 1)).sum()) / n_held
    if share >= MIN_SUPPORT or len(other_descriptors) < 2:
        return share
    cv2 = _cv2()
    knn = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(descriptors[inside], other_descriptors, k=2)
    found = np.asarray([m[0].trainIdx if len(m) == 2 and m[0].distance < RATIO * m[1].distance else -1
                        for m in knn], dtype=np.int64)
    ok = found >= 0
    landed = np.zeros(len(qi), dtype=bool)
    landed[ok] = ((other_points[found[ok]] - qi[ok]) ** 2).sum(axis=1) <= SUPPORT_PIXELS ** 2
    return float((held & (cells(qi[landed]) >= 1)).sum()) / n_held


def spread(points: np.ndarray) -> float:
    """How two-dimensional a set of points is: the ratio of the short to the long axis of their
    spread (0 for points on one line, 1 for a round cloud)."""
    if len(points) < 3:
        return 0.0
    eig = np.linalg.eigvalsh(np.cov(points.astype(np.float64).T))
    return float(math.sqrt(max(eig[0], 0.0) / eig[1])) if eig[1] > 1e-9 else 0.0


def _inverse(model: np.ndarray) -> np.ndarray:
    rot_inv = np.linalg.inv(model[:, :2])
    return np.hstack([rot_inv, -(rot_inv @ model[:, 2:3])])


def supported(fa: Features, fb: Features, model: np.ndarray, mirrored: bool, inliers_a: np.ndarray,
              inliers_b: np.ndarray) -> bool:
    """Whether the match is supported across the overlap from A's side or from B's (an overlay on
    one side, a caption or a logo, leaves the other side's view whole; a detail both share does not)."""
    pa, da = (fa.mirror_points, fa.mirror_descriptors) if mirrored else (fa.points, fa.descriptors)
    if pa is None or da is None:
        return False
    if support(pa, da, model, inliers_a, fb.points, fb.descriptors, fb.box) >= MIN_SUPPORT:
        return True
    return support(fb.points, fb.descriptors, _inverse(model), inliers_b, pa, da, fa.box) >= MIN_SUPPORT


def match_features(fa: Features, fb: Features, mirrored: bool) -> Match:
    """Does B show A (mirrored first if ``mirrored``) up to a similarity transform and a crop?"""
    pa, da = (fa.mirror_points, fa.mirror_descriptors) if mirrored else (fa.points, fa.descriptors)
    if pa is None or da is None or len(da) < MIN_INLIERS or len(fb.descriptors) < MIN_INLIERS:
        return Match(False, reason="too few features")
    if min(len(da), len(fb.descriptors)) > 2 * QUICK_FEATURES:
        quick = _match(fa, fb, pa[:QUICK_FEATURES], da[:QUICK_FEATURES], QUICK_FEATURES, mirrored)
        if quick.accepted and quick.inliers >= 2 * MIN_INLIERS:
            return quick
    return _match(fa, fb, pa, da, len(fb.descriptors), mirrored)


def _one_to_one(matches: list[Any]) -> list[Any]:
    """The matches with each of B's features used once (its closest match; ties: A's order).

    Without it many features of A can match one feature of B (a bright star, a corner of a
    letterbox), and RANSAC fits a geometry that maps them all onto that point: scale near zero,
    dozens of "inliers"."""
    best: dict[int, Any] = {}
    for m in matches:
        kept = best.get(m.trainIdx)
        if kept is None or m.distance < kept.distance:
            best[m.trainIdx] = m
    return sorted(best.values(), key=lambda m: m.queryIdx)


def _match(fa: Features, fb: Features, pa: np.ndarray, da: np.ndarray, nb: int, mirrored: bool) -> Match:
    """:func:`match_features` on A's points ``pa``/descriptors ``da`` and B's first ``nb`` features."""
    cv2 = _cv2()
    pb, db = fb.points[:nb], fb.descriptors[:nb]
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    knn = matcher.knnMatch(da, db, k=2)
    good = _one_to_one([m[0] for m in knn if len(m) == 2 and m[0].distance < RATIO * m[1].distance])
    if len(good) < MIN_INLIERS:
        return Match(False, matches=len(good), reason="too few matching features")
    src = pa[[g.queryIdx for g in good]]
    dst = pb[[g.trainIdx for g in good]]
    if mirrored:
        # estimateAffinePartial2D has no reflection: fit on mirrored source points, then fold the mirror in.
        flip = np.array([[-1.0, 0, fa.width - 1], [0, 1, 0]])
        src_m = src.copy()
        src_m[:, 0] = (fa.width - 1) - src_m[:, 0]
        model, inl = cv2.estimateAffinePartial2D(src_m, dst, method=cv2.RANSAC,
                                                 ransacReprojThreshold=RANSAC_PIXELS, maxIters=2000,
                                                 confidence=0.995, refineIters=10)
        if model is not None:
            model = model @ np.vstack([flip, [0, 0, 1]])
    else:
        model, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS,
                                                 maxIters=2000, confidence=0.995, refineIters=10)
    if model is None:
        return Match(False, matches=len(good), reason="no consistent geometry")
    inliers = int(inl.sum())
    scale, rotation, mirror = _similarity(model)
    result = Match(False, matches=len(good), inliers=inliers, scale=round(scale, 3), rotation=round(rotation, 1),
                   mirror=mirror)
    if inliers < MIN_INLIERS or inliers < MIN_INLIER_RATIO * len(good):
        result.reason = "too few geometric inliers"
        return result
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        result.reason = "implausible scale"
        return result
    if min(abs(rotation) % 90.0, 90.0 - abs(rotation) % 90.0) > ROTATION_SLACK:
        result.reason = "implausible rotation"
        return result
    corr, share_small, share_large = _aligned_correlation(fa, fb, model)
    result.correlation = round(corr, 3)
    result.crop = round(min(1.0, share_large), 3)
    if share_small < MIN_OVERLAP:
        result.reason = "too little overlap"
        return result
    if share_large < INSET_SHARE and not INSET_SCALE[0] <= scale <= INSET_SCALE[1]:
        result.reason = "matches only a small part of the other picture"
        return result
    if corr < MIN_ALIGNED_CORRELATION:
        result.reason = "aligned pictures differ"
        return result
    keep = inl.ravel().astype(bool)
    if not supported(fa, fb, model, mirrored, src[keep], dst[keep]):
        result.reason = "only one part of the pictures matches"
        return result
    if inliers < SPREAD_INLIERS and spread(dst[keep]) < MIN_SPREAD:
        result.reason = ALONG_ONE_LINE
        return result
    result.accepted = True
    return result
