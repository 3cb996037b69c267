"""The faster per-file paths give the same numbers as the direct evaluations they replace.

Banded Lanczos weights, trimming that looks only at the outer rows, the batched dihedral medians,
the integer-counted quality statistics, and the local features whose mirrored half is computed
only where a mirror-type candidate needs it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from imgreview.scan import quality, scan
from imgreview.scan.cache import FingerprintCache
from imgreview.scan.candidates import DIRECT, Candidate
from imgreview.scan.fingerprint import EARLY_FEATURE_PIXELS, Fingerprint, fingerprint_file
from imgreview.scan.localfeat import MIRROR_RECIPE, RECIPE, Features, features_of_file, match_features
from imgreview.scan.pipeline import _FeatureSource, mirror_sides
from imgreview.scan.variants import (
    _LANCZOS_STEPS,
    _LANCZOS_TABLE,
    DIHEDRAL,
    MASK_BYTES,
    ROUTES,
    TRIM_MAJORITY,
    TRIM_MIN,
    TRIM_REACH,
    TRIM_STRICT,
    TRIM_TOLERANCE,
    _lanczos_rows,
    dct_low,
    dihedral_low,
    pack_routes,
    phash_bits,
    route_hashes,
    trim_box,
)
from imgreview.session.folder import Session
from imgreview.settings import HashSettings, ScanSettings
from tests.helpers.imagegen import save, scene


# ---------------------------------------------------------------------- references (direct evaluations)
def lanczos_every_pixel(n_in: int, spans: np.ndarray, n_out: int) -> np.ndarray:
    """The kernel evaluated at every input pixel of the line."""
    lo, hi = spans[:, 0:1], spans[:, 1:2]
    scale = np.maximum(1e-6, (hi - lo) / n_out)
    support = np.maximum(scale, 1.0)
    centres = lo + (np.arange(n_out)[None, :] + 0.5) * scale
    x = ((np.arange(n_in) + 0.5)[None, None, :] - centres[:, :, None]) / support[:, :, None]
    idx = np.clip(np.rint((x + 3.0) * ((_LANCZOS_STEPS - 1) / 6.0)), 0, _LANCZOS_STEPS - 1).astype(np.intp)
    wts = np.where(np.abs(x) < 3.0, _LANCZOS_TABLE[idx], 0.0)
    total = wts.sum(axis=2, keepdims=True)
    return np.asarray(wts / np.where(np.abs(total) < 1e-12, 1.0, total))


def trim_every_row(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """The border trim with every row of each side tested."""
    h, w = grey.shape
    if h < 8 or w < 8:
        return None
    g = grey.astype(np.int16)

    def run(lines: np.ndarray) -> int:
        colour = int(np.median(lines[0]))
        strict = (np.abs(lines - colour) <= TRIM_TOLERANCE).mean(axis=1) >= TRIM_STRICT
        if not strict[0]:
            return 0
        empty = np.flatnonzero(strict[:max(1, int(len(strict) * TRIM_REACH))])
        majority = (np.arange(len(empty)) + 1) / (empty + 1) >= TRIM_MAJORITY
        return int(empty[np.flatnonzero(majority)[-1]]) + 1
    top, bottom, left, right = run(g), h - run(g[::-1]), run(g.T), w - run(g.T[::-1])
    if bottom - top < 0.1 * h or right - left < 0.1 * w:
        return None
    if max(top, h - bottom) < TRIM_MIN * h and max(left, w - right) < TRIM_MIN * w:
        return None
    return left, top, right, bottom


def quality_in_floats(rgb: Image.Image, width: int, height: int) -> tuple[quality.Stats, np.ndarray]:
    """The quality statistics and features computed straight from the float formulas."""
    arr = np.asarray(quality.thumbnail(rgb), dtype=np.float32)
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    bright = np.sqrt(0.241 * r * r + 0.691 * g * g + 0.068 * b * b) / 255.0
    p05, p99 = np.percentile(bright, (5, 99))
    grey = 0.299 * r + 0.587 * g + 0.114 * b
    gstd = float(grey.std())
    hist = np.bincount(np.clip(grey + 0.5, 0, 255).astype(np.int64).ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / hist.sum()
    entropy = float(-(p * np.log2(p)).sum())
    lap = quality._laplacian(grey)
    sharp = float(lap.std() / gstd) if gstd > 1e-3 and lap.size else 0.0
    hi = arr.max(axis=2)
    spread = hi - arr.min(axis=2)
    lit = hi > 16
    colourful = float(spread[lit].sum() / hi[lit].sum()) if lit.any() else 0.0
    s = quality.Stats(width, height, float(p99), float(p05), float(bright.mean()), sharp, entropy, gstd, colourful)
    q = np.clip((arr / 256.0 * 3).astype(np.int64), 0, 2)
    idx = (q[..., 0] * 9 + q[..., 1] * 3 + q[..., 2]).ravel()
    colour = np.sqrt(np.bincount(idx, minlength=27) / max(1, idx.size))
    gy, gx = np.gradient(grey) if min(grey.shape) >= 2 else (np.zeros_like(grey), np.zeros_like(grey))
    mag = np.hypot(gx, gy)
    ang = (np.arctan2(gy, gx) % math.pi) / math.pi * 8
    orient = np.bincount(np.clip(ang.astype(np.int64), 0, 7).ravel(), weights=mag.ravel(), minlength=8)
    total = orient.sum()
    orient = np.sqrt(orient / total) if total > 0 else orient
    edges = np.histogram(mag, bins=(0, 4, 16, 48, np.inf))[0] / max(1, mag.size)
    h, w = bright.shape
    layout = np.array([bright[i * h // 3:(i + 1) * h // 3 or None, j * w // 3:(j + 1) * w // 3 or None].mean()
                       if h >= 3 and w >= 3 else bright.mean() for i in range(3) for j in range(3)])
    glob = np.array([s.bright_mean, s.grey_std / 64.0, min(s.sharpness, 4.0) / 4.0, s.entropy / 8.0,
                     quality.colourful_feature(s), math.log(max(s.width, 1) / max(s.height, 1)) / 2.0,
                     math.log(max(1.0, math.sqrt(s.width * s.height))) / 8.0, s.bright_p99 - s.bright_p05])
    return s, np.concatenate([colour, orient, edges, layout, glob]).astype(np.float32)


# ---------------------------------------------------------------------- pictures
def pictures() -> list[Image.Image]:
    rng = np.random.default_rng(20261202)
    out = [scene(seed, (int(rng.integers(20, 500)), int(rng.integers(20, 500)))) for seed in range(24)]
    out += [Image.fromarray(rng.integers(0, 256, (int(rng.integers(1, 200)), int(rng.integers(1, 200)), 3),
                                         dtype=np.uint8)) for _ in range(12)]
    out += [scene(3).convert("L").convert("RGB"), Image.new("RGB", (90, 60), (5, 6, 7)), Image.new("RGB", (1, 1)),
            Image.new("RGB", (2, 7), (200, 10, 30)), Image.fromarray((np.asarray(scene(4)) * 0.05).astype(np.uint8))]
    framed = Image.new("RGB", (400, 300), (250, 250, 250))
    framed.paste(scene(8, (300, 170)), (50, 40))
    ImageDraw.Draw(framed).text((60, 260), "caption under the picture", fill=(20, 20, 20))
    out.append(framed)
    return out


# ---------------------------------------------------------------------- hashes
def test_banded_lanczos_weights_equal_the_every_pixel_evaluation() -> None:
    rng = np.random.default_rng(7)
    for _ in range(400):
        n_in = int(rng.integers(8, 240))
        n_out = int(rng.choice([8, 32, 64, int(rng.integers(2, 120))]))
        spans = np.sort(rng.uniform(0, n_in, (int(rng.integers(1, 30)), 2)), axis=1)
        if rng.random() < 0.3:
            spans[:] = (0.0, float(n_in))
        spans = np.round(spans, int(rng.integers(0, 5)))
        assert np.array_equal(_lanczos_rows(n_in, spans, n_out), lanczos_every_pixel(n_in, spans, n_out))


def test_trim_box_equals_testing_every_row() -> None:
    rng = np.random.default_rng(3)
    for img in pictures():
        grey = np.asarray(img.convert("L"))
        assert trim_box(grey) == trim_every_row(grey)
    for _ in range(200):  # bars of random width and colour, with text-like noise in them
        h, w = int(rng.integers(8, 160)), int(rng.integers(8, 160))
        grey = rng.integers(0, 256, (h, w)).astype(np.uint8)
        for side in range(4):
            k = int(rng.integers(0, max(1, (h if side < 2 else w) // 2)))
            colour = int(rng.integers(0, 256))
            view = grey[:k] if side == 0 else grey[h - k:] if side == 1 else grey[:, :k] if side == 2 else grey[:, w - k:]
            view[...] = colour
            view[rng.random(view.shape) < 0.04] = 255 - colour
        assert trim_box(grey) == trim_every_row(grey)


def test_batched_dihedral_bits_equal_each_variants_own_median() -> None:
    for img in pictures():
        bits, routes = route_hashes(img.convert("RGB"), 8)
        low = dct_low(img.convert("L"), 8)
        assert np.array_equal(bits, phash_bits(low))
        for name, (t, fh, fv) in DIHEDRAL.items():
            assert np.array_equal(routes[name], phash_bits(dihedral_low(low, t, fh, fv))), name


def test_routes_packed_in_one_call_equal_packing_each_route() -> None:
    def one_by_one(routes: dict[str, np.ndarray], nbytes: int) -> bytes:
        mask, parts = 0, []
        for k, name in enumerate(ROUTES):
            if name not in routes:
                parts.append(b"\0" * nbytes)
                continue
            mask |= 1 << k
            packed = np.packbits(routes[name].astype(np.uint8)).tobytes()
            parts.append(packed + b"\0" * (nbytes - len(packed)))
        return mask.to_bytes(MASK_BYTES, "big") + b"".join(parts)
    rng = np.random.default_rng(5)
    for _ in range(100):
        side = int(rng.choice([8, 16]))
        routes = {name: rng.random(side * side) < 0.5 for name in ROUTES if rng.random() < 0.7}
        nbytes = side * side // 8 + int(rng.choice([0, 8]))
        assert pack_routes(routes, nbytes) == one_by_one(routes, nbytes)
    assert pack_routes({}, 8) == one_by_one({}, 8)
    _, routes = route_hashes(scene(1), 8)
    assert pack_routes(routes, 8) == one_by_one(routes, 8)


# ---------------------------------------------------------------------- quality
def test_quality_statistics_equal_the_float_formulas() -> None:
    for img in pictures():
        rgb = img.convert("RGB")
        stats, feats = quality.measure(rgb, 4 * rgb.width, 4 * rgb.height)
        ref_stats, ref_feats = quality_in_floats(rgb, 4 * rgb.width, 4 * rgb.height)
        assert stats == ref_stats
        assert np.array_equal(feats, ref_feats)


# ---------------------------------------------------------------------- mirrored features only where needed
@pytest.fixture()
def mirrored_pair(tmp_path: Path) -> list[str]:
    a = scene(11, (480, 320))
    return [str(save(a, tmp_path / "a.png")), str(save(ImageOps.mirror(a), tmp_path / "b.jpg", quality=92)),
            str(save(scene(12, (480, 320)), tmp_path / "c.png"))]


def _stamps(paths: list[str]) -> list[tuple[int, int]]:
    return [(Path(p).stat().st_size, Path(p).stat().st_mtime_ns) for p in paths]


def test_mirror_sides_are_the_query_sides_of_mirror_routes() -> None:
    cands = {(0, 1): Candidate(1, 0, 3, ROUTES.index("mirror")), (0, 2): Candidate(0, 2, 2, DIRECT),
             (1, 2): Candidate(2, 1, 4, ROUTES.index("rot90")), (2, 3): Candidate(2, 3, 4, ROUTES.index("transverse"))}
    assert mirror_sides(cands) == {1, 2}


def test_lazy_mirrored_features_match_as_the_eager_ones(mirrored_pair: list[str]) -> None:
    stamps = _stamps(mirrored_pair)
    eager = _FeatureSource(mirrored_pair, stamps, None, 1)([0, 1, 2])
    lazy = _FeatureSource(mirrored_pair, stamps, None, 1, mirrored={0})([0, 1, 2])
    assert lazy[0].has_mirror and not lazy[1].has_mirror and not lazy[2].has_mirror
    assert all(eager[k].has_mirror for k in range(3))
    assert np.array_equal(lazy[0].mirror_descriptors, eager[0].mirror_descriptors)  # type: ignore[arg-type]
    for a, b, mirrored in ((0, 1, True), (0, 2, True), (0, 1, False), (1, 2, False), (2, 0, False)):
        assert match_features(lazy[a], lazy[b], mirrored) == match_features(eager[a], eager[b], mirrored)
    assert match_features(lazy[0], lazy[1], True).accepted
    assert match_features(lazy[0], lazy[1], True).mirror


def test_mirrored_features_are_cached_apart_and_computed_once(mirrored_pair: list[str], tmp_path: Path) -> None:
    stamps, db = _stamps(mirrored_pair), tmp_path / "features.sqlite"
    first = _FeatureSource(mirrored_pair, stamps, db, 1, mirrored={0})
    first([0, 1, 2])
    assert first.computed == 3
    with FingerprintCache(db) as cache:
        assert set(cache.lookup_features(RECIPE)) == set(mirrored_pair)
        assert set(cache.lookup_features(MIRROR_RECIPE)) == {mirrored_pair[0]}
    again = _FeatureSource(mirrored_pair, stamps, db, 1, mirrored={0})
    cached = again([0, 1, 2])
    assert again.computed == 0 and cached[0].has_mirror and not cached[1].has_mirror
    # another scan needs the mirrored features of file 1 too: only that file is computed again
    more = _FeatureSource(mirrored_pair, stamps, db, 1, mirrored={0, 1})
    feats = more([0, 1, 2])
    assert more.computed == 1 and feats[1].has_mirror
    eager = _FeatureSource(mirrored_pair, stamps, None, 1)([1])
    assert np.array_equal(feats[1].mirror_points, eager[1].mirror_points)  # type: ignore[arg-type]
    assert np.array_equal(feats[1].descriptors, eager[1].descriptors)


# ---------------------------------------------------------------------- features from the hash's own decode
def _same_features(a: bytes, b: Features) -> bool:
    f = Features.from_bytes(a)
    return (f.width, f.height, f.box) == (b.width, b.height, b.box) and np.array_equal(f.points, b.points) \
        and np.array_equal(f.descriptors, b.descriptors) and np.array_equal(f.small, b.small)


def test_large_full_decodes_bring_the_features_the_second_stage_computes(tmp_path: Path) -> None:
    big = scene(21, (2200, 1400)).convert("RGBA")  # 3.1 MP, no reduced decode for PNG
    png = save(big, tmp_path / "big.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: the features are taken upright, as from the file
    turned = tmp_path / "turned.png"
    big.save(turned, exif=exif)
    small_png = save(scene(22, (600, 400)), tmp_path / "small.png")
    jpeg = save(big.convert("RGB"), tmp_path / "big.jpg", quality=90)
    on = HashSettings(with_features=True)
    assert on == HashSettings() and on.key == HashSettings().key  # not part of the fingerprint
    for path in (png, turned):
        fp = fingerprint_file(str(path), on)
        assert isinstance(fp, Fingerprint) and fp.features
        ref = features_of_file(str(path), mirrored=False)
        assert ref is not None and _same_features(fp.features, ref)
        plain = fingerprint_file(str(path), HashSettings())
        assert isinstance(plain, Fingerprint) and not plain.features
        assert (plain.hash, plain.routes, plain.quality) == (fp.hash, fp.routes, fp.quality)
    for path in (small_png, jpeg):  # cheap to decode again (small, or a reduced JPEG decode): not computed
        fp = fingerprint_file(str(path), on)
        assert isinstance(fp, Fingerprint) and not fp.features
    assert EARLY_FEATURE_PIXELS <= 2200 * 1400


def test_scan_uses_the_features_of_the_hash_decode(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    big = scene(23, (2200, 1400))
    save(big, root / "a.png")
    save(big.resize((1100, 700)), root / "b.png")  # a small copy: decoded again for its features
    session = Session(tmp_path / "s")
    result = scan([str(root)], ScanSettings(jobs=1, layout="none"), session=session)
    assert [len(g.members) for g in result.groups] == [2]
    assert result.stats["features_computed"] == 1  # a.png's came with its fingerprint
    with FingerprintCache(session.cache_path.with_name("features.sqlite")) as cache:
        assert set(cache.lookup_features(RECIPE)) == {str(root / "a.png"), str(root / "b.png")}
    with FingerprintCache(session.cache_path) as cache:  # the fingerprint cache does not keep them
        assert all(not fp.features for _, _, fp in cache.lookup(HashSettings().key).values()
                   if isinstance(fp, Fingerprint))


def test_brightness_percentiles_equal_np_percentile() -> None:
    rng = np.random.default_rng(15)
    for trial in range(3000):
        n = int(rng.integers(1, 40)) if trial % 3 == 0 else int(rng.integers(40, 12000))
        kind = trial % 4
        if kind == 0:
            values = rng.random(n).astype(np.float32)
        elif kind == 1:  # many ties
            values = (rng.integers(0, 5, n) / 7).astype(np.float32)
        elif kind == 2:  # as measure() computes brightness
            values = np.sqrt(rng.random(n).astype(np.float32) * 3) / np.float32(255.0)
        else:
            values = np.full(n, np.float32(0.3))
        want = np.percentile(values, (5, 99))
        assert quality._p05_p99(values.reshape(1, -1) if trial % 2 else values) == (float(want[0]), float(want[1]))
