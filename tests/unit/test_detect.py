"""Issue 15: candidate routes (mirror, turns, centre crop, border trim) and the local-feature stage."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from imgreview.model import Group, Member, ScanResult
from imgreview.scan import localfeat, scan
from imgreview.scan.candidates import route_candidates, route_threshold
from imgreview.scan.localfeat import LOW_FEATURES, QUICK_FEATURES, compute_features, match_features
from imgreview.scan.search import exact_cross_pairs, to_words
from imgreview.scan.variants import (
    DIHEDRAL,
    GRID_WINDOWS,
    ROUTES,
    centre_window,
    content_box,
    dct_low,
    dihedral_pixels,
    pack_routes,
    phash_bits,
    rotated_window,
    route_hashes,
    trim_box,
)
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import save, scene

T = Image.Transpose
PIL_OF = {"mirror": T.FLIP_LEFT_RIGHT, "flip": T.FLIP_TOP_BOTTOM, "rot180": T.ROTATE_180, "transpose": T.TRANSPOSE,
          "transverse": T.TRANSVERSE, "rot90": T.ROTATE_90}


def _bits(img: Image.Image) -> np.ndarray:
    return phash_bits(dct_low(img.convert("L"), 8))


def _letterbox(img: Image.Image) -> Image.Image:
    canvas = Image.new("RGB", (img.width + 200, img.height + 260), (12, 12, 12))
    canvas.paste(img, (100, 130))
    d = ImageDraw.Draw(canvas)
    d.text((10, 10), "12:41   LTE   87%", fill=(230, 230, 230))
    d.text((10, canvas.height - 30), "like   comment   share", fill=(230, 230, 230))
    return canvas


def _lookalike(seed: int) -> Image.Image:
    """Same coarse layout for every seed (one smooth backdrop, the same big shapes), different detail."""
    base = scene(7, (480, 360)).filter(__import__("PIL.ImageFilter", fromlist=["x"]).GaussianBlur(18))
    rng = np.random.default_rng(seed)
    d = ImageDraw.Draw(base)
    for _ in range(160):
        x, y = int(rng.integers(0, 480)), int(rng.integers(0, 360))
        r = int(rng.integers(3, 10))
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        d.rectangle([x, y, x + r, y + r], fill=c) if rng.random() < 0.5 else d.ellipse([x, y, x + r, y + r], fill=c)
    return base


@pytest.mark.parametrize("route", sorted(DIHEDRAL))
def test_dihedral_route_is_the_phash_of_the_transformed_picture(route: str) -> None:
    img = scene(3, (320, 200))
    _, routes = route_hashes(img, 8)
    direct = _bits(img.transpose(PIL_OF[route]))
    assert int((routes[route] != direct).sum()) <= 3
    assert int((_bits(img) != direct).sum()) > 10  # the route matters: the plain hash would not match


@pytest.mark.parametrize("route", sorted(DIHEDRAL))
def test_dihedral_pixels_are_the_transformed_picture(route: str) -> None:
    grey = np.asarray(scene(13, (47, 30)).convert("L"))
    expected = np.asarray(Image.fromarray(grey).transpose(PIL_OF[route]))
    assert np.array_equal(dihedral_pixels(grey, *DIHEDRAL[route]), expected)


def test_centre_square_route_finds_a_square_crop() -> None:
    img = scene(4, (480, 270))
    _, routes = route_hashes(img, 8)
    crop = centre_window(img, 1.0)
    assert int((routes["centre-square"] != _bits(crop)).sum()) <= 4
    assert int((_bits(img) != _bits(crop)).sum()) > 12


def _candidates(*imgs: Image.Image) -> list[tuple[int, int, str, str]]:
    """(a, b, route, target) of the route candidates among ``imgs`` at the default threshold."""
    plain, blobs = [], []
    for img in imgs:
        bits, routes = route_hashes(img, 8)
        packed = np.packbits(bits.astype(np.uint8)).tobytes()
        plain.append(packed)
        blobs.append(pack_routes(routes, len(packed)))
    found = route_candidates(blobs, to_words(plain), 64, route_threshold(12))
    return [(c.a, c.b, ROUTES[c.route], c.target) for c in found]


@pytest.mark.parametrize(("share", "box"), [(0.9, (0, 0, 0.9, 0.9)), (0.8, (0.2, 0.1, 1.0, 0.9)),
                                            (0.8, (0.05, 0.18, 0.85, 0.98))])
def test_grid_windows_find_an_off_centre_crop(share: float, box: tuple[float, float, float, float]) -> None:
    img = scene(6, (480, 300))
    w, h = img.size
    crop = img.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))
    _, routes = route_hashes(img, 8)
    best = min(int((routes[name] != _bits(crop)).sum()) for name in GRID_WINDOWS if name.startswith(f"crop{round(share * 100)}"))
    assert best <= route_threshold(12)
    assert int((_bits(img) != _bits(crop)).sum()) > route_threshold(12)  # the plain hash alone would miss it
    assert any(a == 0 and b == 1 and route.startswith("crop") for a, b, route, _ in _candidates(img, crop))


@pytest.mark.parametrize("degrees", [5.0, -5.0])
def test_rotation_routes_find_a_straightened_copy(degrees: float) -> None:
    img = scene(8, (480, 300))
    tilted = rotated_window(img, degrees)
    _, routes = route_hashes(img, 8)
    turned = min(int((routes[name] != _bits(tilted)).sum()) for name in ("rotate+4", "rotate-4"))
    assert turned <= route_threshold(12)
    assert turned < int((_bits(img) != _bits(tilted)).sum())  # closer than the plain hash


def test_trimmed_pictures_are_compared_with_each_other() -> None:
    """A subject on a plain backdrop: the copy with a caption bar trims to what the original trims to."""
    subject = scene(9, (200, 260))
    original = Image.new("RGB", (420, 300), (40, 36, 32))
    original.paste(subject, (110, 20))
    captioned = Image.new("RGB", (420, 390), (250, 250, 250))
    captioned.paste(original, (0, 0))
    ImageDraw.Draw(captioned).text((20, 330), "when you finally see it (caption text here)", fill=(0, 0, 0))
    found = _candidates(original, captioned)
    assert any(target == "trimmed" for _, _, _, target in found), found


def test_corner_windows_are_compared_with_each_other_for_overlays() -> None:
    img = scene(10, (480, 300))
    stamped = img.copy()
    d = ImageDraw.Draw(stamped)
    d.rounded_rectangle((340, 230, 470, 290), radius=12, fill=(255, 255, 255))
    d.ellipse((350, 240, 390, 280), fill=(220, 30, 40))
    d.text((395, 252), "mysite.com", fill=(0, 0, 0))
    for k in range(0, 480, 60):  # a watermark band along the bottom too
        d.text((k, 200), "(c) mysite", fill=(255, 255, 255))
    found = _candidates(img, stamped)
    assert any(target == "same" and route.endswith("-0-0") for _, _, route, target in found), found


def test_smooth_pictures_get_enough_features() -> None:
    """A soft gradient has few corners at the usual FAST threshold: the detector looks again, lower."""
    yy, xx = np.mgrid[0:320, 0:480]
    rng = np.random.default_rng(3)
    soft = (110 + 60 * np.sin(xx / 70.0) * np.cos(yy / 50.0) + rng.normal(0, 3, xx.shape)).clip(0, 255)
    img = Image.fromarray(soft.astype(np.uint8)).convert("RGB")
    f = compute_features(img, mirrored=False)
    assert len(f.descriptors) >= 48
    copy = img.resize((360, 240))
    assert match_features(f, compute_features(copy, mirrored=False), False).accepted
    assert LOW_FEATURES > 48


def test_copies_are_accepted_on_the_quick_pass_and_the_rest_get_the_full_one(monkeypatch: pytest.MonkeyPatch) -> None:
    a = scene(12, (480, 320))
    fa = compute_features(a, mirrored=False)
    assert len(fa.descriptors) > 2 * QUICK_FEATURES
    calls: list[int] = []
    real = localfeat._match

    def spy(fa_: object, fb_: object, pa: np.ndarray, da: np.ndarray, nb: int, mirrored: bool) -> object:
        calls.append(len(da))
        return real(fa_, fb_, pa, da, nb, mirrored)  # type: ignore[arg-type]

    monkeypatch.setattr(localfeat, "_match", spy)
    copy = compute_features(a.resize((400, 267)), mirrored=False)
    m = match_features(fa, copy, False)
    assert m.accepted and calls == [QUICK_FEATURES]  # one quick pass decided
    calls.clear()
    other = compute_features(_lookalike(3), mirrored=False)
    assert not match_features(fa, other, False).accepted
    assert calls == [QUICK_FEATURES, len(fa.descriptors)]  # never rejected on the quick pass alone


def test_border_trim_finds_the_picture_inside_a_letterbox_screenshot() -> None:
    img = scene(5, (320, 240))
    shot = _letterbox(img)
    box = trim_box(np.asarray(shot.convert("L")))
    assert box is not None
    left, top, right, bottom = box
    assert abs(left - 100) <= 3 and abs(top - 130) <= 3 and abs(right - 420) <= 3 and abs(bottom - 370) <= 3
    _, routes = route_hashes(shot, 8)
    assert int((routes["trimmed"] != _bits(img)).sum()) <= 4
    # a picture without borders is not trimmed
    assert trim_box(np.asarray(img.convert("L"))) is None


def test_second_stage_accepts_edited_copies_and_rejects_lookalikes() -> None:
    a = scene(11, (480, 320))
    fa = compute_features(a, mirrored=True)
    for edited, mirrored in ((ImageOps.mirror(a), True), (a.rotate(4, resample=Image.Resampling.BICUBIC), False),
                             (a.crop((40, 30, 440, 290)).resize((300, 195)), False),
                             (a.transpose(T.ROTATE_90), False)):
        m = match_features(fa, compute_features(edited, mirrored=False), mirrored)
        assert m.accepted, m
    assert match_features(fa, compute_features(ImageOps.mirror(a), mirrored=False), True).mirror
    x, y = _lookalike(1), _lookalike(2)
    # the look-alikes share their global appearance ...
    assert float(np.corrcoef(np.asarray(x.convert("L").resize((16, 16)), dtype=float).ravel(),
                             np.asarray(y.convert("L").resize((16, 16)), dtype=float).ravel())[0, 1]) > 0.8
    # ... but not their content
    m = match_features(compute_features(x, True), compute_features(y, True), False)
    assert not m.accepted, m


def test_exact_cross_pairs_equals_brute_force() -> None:
    rng = np.random.default_rng(5)
    targets = rng.integers(0, 2**63, size=(800, 1), dtype=np.uint64)
    queries = rng.integers(0, 2**63, size=(600, 1), dtype=np.uint64)
    queries[:100] = targets[:100] ^ np.uint64(0b1101)
    got = exact_cross_pairs(targets, queries, 64, 10)
    dist = np.bitwise_count(queries[:, None, 0] ^ targets[None, :, 0])
    assert set(zip(got.i.tolist(), got.j.tolist(), strict=True)) == set(map(tuple, np.argwhere(dist <= 10).tolist()))
    assert len(got) == len(set(zip(got.i.tolist(), got.j.tolist(), strict=True)))


def test_scan_groups_hard_edits_with_evidence(tmp_path: Path) -> None:
    root = tmp_path / "data"
    img = scene(21, (480, 300))
    save(img, root / "original.png")
    save(ImageOps.mirror(img), root / "mirror.jpg", quality=90)
    save(img.transpose(T.ROTATE_90), root / "turned.jpg", quality=90)
    save(centre_window(img, 1.0), root / "square.jpg", quality=90)
    save(_letterbox(img), root / "screenshot.png")
    save(scene(22, (480, 300)), root / "other.png")
    result = scan([str(root)], ScanSettings(), Session(tmp_path / "session"))
    assert len(result.groups) == 1
    group = result.groups[0]
    names = {Path(m.path).name for m in group.members}
    assert names == {"original.png", "mirror.jpg", "turned.jpg", "square.jpg", "screenshot.png"}
    for m in group.members:
        if m.path == group.reference:
            assert m.evidence is None
        else:
            assert m.evidence is not None and m.evidence["signal"] == "features" and m.evidence["summary"]
            assert m.evidence["inliers"] >= 12
    data = json.loads(result.to_json())
    members = data["groups"][0]["members"]
    assert all(("evidence" in m) == (m["path"] != group.reference) for m in members)
    again = ScanResult.from_dict(data)
    assert [m.evidence for m in again.groups[0].members] == [m.evidence for m in group.members]


def test_results_without_evidence_still_load() -> None:
    member = Member(path="/a", digest="d", distance=0, size=1, width=1, height=1)
    result = ScanResult(roots=["/"], settings={}, stats={}, groups=[Group("g", "near", 0, "/a", [member])], errors=[])
    data = json.loads(result.to_json())
    assert "evidence" not in data["groups"][0]["members"][0]
    assert ScanResult.from_dict(data).groups[0].members[0].evidence is None


@pytest.mark.parametrize(("box", "same_inside", "accepted"), [
    ((0, 0, 480, 320), True, True),  # not framed: the signatures decide
    ((120, 80, 360, 240), True, True),  # framed, the same picture inside the frame
    ((120, 80, 360, 240), False, False),  # framed, another picture inside the same kind of frame
])
def test_hash_fallback_compares_what_is_inside_a_frame(box: tuple[int, int, int, int], same_inside: bool,
                                                       accepted: bool) -> None:
    """Few features: a close direct hash with correlated signatures decides; for a picture that is
    mostly border, only the content inside the border counts."""
    from imgreview.scan.candidates import DIRECT, Candidate, verify_candidates
    from imgreview.scan.localfeat import Features
    from imgreview.scan.verify import Signatures

    rng = np.random.default_rng(4)
    grey = rng.integers(0, 256, 256, dtype=np.uint8).tobytes()
    sig = Signatures.from_bytes([False, False], [grey, grey], [b"\0" * 48, b"\0" * 48])
    small_a = np.full((80, 120), 12, np.uint8)
    small_a[20:60, 30:90] = rng.integers(0, 256, (40, 60), dtype=np.uint8)
    small_b = small_a.copy()
    if not same_inside:
        small_b[20:60, 30:90] = rng.integers(0, 256, (40, 60), dtype=np.uint8)

    def few(small: np.ndarray) -> Features:
        return Features(480, 320, np.zeros((3, 2), np.float32), np.zeros((3, 32), np.uint8), None, None, small, box)

    cands = {(0, 1): Candidate(0, 1, 2, DIRECT)}
    got = verify_candidates(cands, sig, 12, lambda items: {0: few(small_a), 1: few(small_b)})
    assert ((0, 1) in got) is accepted


def test_a_picture_matched_into_a_small_part_of_another_is_not_a_copy() -> None:
    """A picture found again as a small inset of a different, larger picture (a shape coincidence
    or a picture-in-picture) is rejected; the same picture shrunk into a letterbox is accepted."""
    a = scene(11, (480, 320))
    inset = scene(23, (1200, 800))
    inset.paste(a.resize((420, 280)), (60, 60))  # 12 % of the area, at 0.35 of the scale
    m = match_features(compute_features(a, True), compute_features(inset, True), False)
    assert not m.accepted and m.reason == "matches only a small part of the other picture", m
    boxed = Image.new("RGB", (960, 640), (12, 12, 12))
    boxed.paste(a.resize((240, 160)), (360, 240))  # the same scale, but the frame is trimmed away
    assert match_features(compute_features(a, True), compute_features(boxed, True), False).accepted


@pytest.mark.parametrize(("route", "target", "distance", "accepted"), [
    ("direct", "plain", 6, True),  # a direct match may come to half the threshold
    ("rot90", "plain", 3, True),  # a turned one to a quarter of it
    ("rot90", "plain", 6, False),  # two smooth pictures turned: alike at 16×16, 6 bits apart
    ("trimmed", "trimmed", 3, True),  # both trimmed
    ("crop90-0-50", "trimmed", 2, False),  # a window: the grey views do not show it
])
def test_hash_fallback_is_stricter_for_routes_that_transform_the_picture(route: str, target: str, distance: int,
                                                                         accepted: bool) -> None:
    from imgreview.scan.candidates import DIRECT, Candidate, verify_candidates
    from imgreview.scan.localfeat import Features
    from imgreview.scan.variants import ROUTES
    from imgreview.scan.verify import Signatures

    # one smooth, featureless picture that is its own quarter turn: every route's views agree
    yy, xx = np.mgrid[0:96, 0:96]
    small = (128 + 90 * np.cos(np.hypot(yy - 47.5, xx - 47.5) / 20)).astype(np.uint8)
    grey = np.asarray(Image.fromarray(small).resize((16, 16), Image.Resampling.BOX)).tobytes()
    sig = Signatures.from_bytes([False, False], [grey, grey], [b"\0" * 48, b"\0" * 48])

    def few() -> Features:
        return Features(480, 480, np.zeros((3, 2), np.float32), np.zeros((3, 32), np.uint8), None, None, small,
                        (0, 0, 480, 480))

    k = DIRECT if route == "direct" else ROUTES.index(route)
    cands = {(0, 1): Candidate(0, 1, distance, k, target)}
    got = verify_candidates(cands, sig, 12, lambda items: {0: few(), 1: few()})
    assert ((0, 1) in got) is accepted


def _figure_on_black() -> Image.Image:
    """A drawing on a black backdrop, with thin strokes reaching out from it (a star-chart figure)."""
    img = Image.new("RGB", (480, 480), (0, 0, 0))
    body = scene(13, (220, 260))
    mask = Image.new("L", body.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, 219, 259), fill=255)
    img.paste(body, (130, 110), mask)
    d = ImageDraw.Draw(img)
    d.line((20, 300, 140, 240), fill=(200, 190, 170), width=3)  # a tail: sparse rows and columns
    d.line((350, 150, 460, 60), fill=(200, 190, 170), width=2)
    return img


def test_content_block_finds_a_figure_on_black_in_a_dark_screenshot() -> None:
    """The picture's black backdrop and the screenshot's dark bars are one colour: trimming stops
    at the caption or at the sparse tail, but the largest content block is the figure in both."""
    original = _figure_on_black()
    shot = Image.new("RGB", (576, 1024), (12, 12, 12))
    shot.paste(original.resize((346, 346)), (115, 300))  # 0.6 of the width
    d = ImageDraw.Draw(shot)
    d.text((10, 8), "22:39   LTE   99%", fill=(230, 230, 230))
    d.text((120, 652), "@someone #nofilter original post", fill=(230, 230, 230))  # right under the picture
    d.text((10, 990), "1,2k   comment   share", fill=(230, 230, 230))
    _, a = route_hashes(original, 8)
    _, b = route_hashes(shot, 8)
    assert int((a["content"] != b["content"]).sum()) <= 6
    box = content_box(np.asarray(original.convert("L")))
    assert box is not None and abs(box[0] - 20) <= 3 and abs(box[2] - 461) <= 3  # the figure with its tails
    found = _candidates(original, shot)
    assert any(route == "content" and target == "same" for _, _, route, target in found), found
    # a picture without a backdrop has no content block
    assert content_box(np.asarray(scene(5, (320, 240)).convert("L"))) is None


@pytest.mark.parametrize(("degrees", "accepted"), [(4.0, True), (90.0, True), (30.0, False), (135.0, False)])
def test_only_upright_quarter_turned_or_straightened_geometries_are_copies(degrees: float, accepted: bool) -> None:
    a = scene(11, (480, 480))
    turned = a.rotate(degrees, resample=Image.Resampling.BICUBIC)
    m = match_features(compute_features(a, True), compute_features(turned, False), False)
    assert m.accepted is accepted, m
    if not accepted:
        assert m.reason == "implausible rotation"


def _star_field(seed: int) -> Image.Image:
    """A dark field with soft blobs and scattered stars: alike for every seed, different in detail."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (640, 480), (8, 8, 16))
    d = ImageDraw.Draw(img)
    for _ in range(6):
        x, y, r = int(rng.integers(200, 440)), int(rng.integers(150, 330)), int(rng.integers(40, 120))
        d.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(v) for v in rng.integers(60, 200, 3)))
    img = img.filter(ImageFilter.GaussianBlur(30))
    d = ImageDraw.Draw(img)
    for _ in range(300):
        x, y, v = int(rng.integers(0, 639)), int(rng.integers(0, 480)), int(rng.integers(120, 255))
        d.point([(x, y), (x + 1, y)], fill=(v, v, v))
    return img


def _stamped(img: Image.Image) -> Image.Image:
    """The picture with a site's logo in the bottom right corner (a quarter of the width)."""
    w, h = img.size
    lw, lh = w // 4, w // 8
    logo = Image.new("RGB", (lw, lh), (240, 240, 240))
    d = ImageDraw.Draw(logo)
    d.rectangle([4, 4, lw - 5, lh - 5], outline=(200, 30, 30), width=4)
    for k in range(5):
        d.polygon([(10 + 25 * k, lh - 12), (22 + 25 * k, 12), (34 + 25 * k, lh - 12)], fill=(30, 30, 160))
    d.text((lw // 2, lh // 2 - 6), "PIXSITE", fill=(0, 0, 0))
    out = img.copy()
    out.paste(logo, (w - lw - 10, h - lh - 10))
    return out


def test_two_pictures_under_one_logo_are_not_copies() -> None:
    """The same logo on two different pictures gives over a hundred consistent matches, all in the
    logo: rejected, because the rest of the overlap finds no support; the picture's own copies
    (blurred and shrunk, JPEG q25, mirrored, the logo left off) are accepted."""
    a = _stamped(_star_field(1))
    fa = compute_features(a, mirrored=True)
    m = match_features(fa, compute_features(_stamped(_star_field(2)), mirrored=False), False)
    assert m.inliers >= 100 and not m.accepted and m.reason == "only one part of the pictures matches", m
    buf = io.BytesIO()
    a.save(buf, "JPEG", quality=25)
    copies = [(a.resize((400, 300)).filter(ImageFilter.GaussianBlur(0.8)), False),
              (Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), False),
              (ImageOps.mirror(a), True), (_star_field(1).resize((500, 375)), False)]
    for copy, mirrored in copies:
        assert match_features(fa, compute_features(copy, mirrored=False), mirrored).accepted


def _disc_rim(cx: int, cy: int, r: int) -> Image.Image:
    """A tile whose only structure is the rim of a dark disc on white."""
    img = Image.new("RGB", (240, 180), (250, 250, 250))
    ImageDraw.Draw(img).ellipse([cx - r, cy - r, cx + r, cy + r], fill=(10, 40, 70))
    return img.filter(ImageFilter.GaussianBlur(0.7))


@pytest.mark.parametrize(("one", "other", "mirrored"), [
    ((-60, 200, 250), (-40, 210, 230), False),
    ((120, 400, 300), (140, 420, 330), False),
    ((120, 400, 300), (140, 420, 330), True),
])
def test_two_pictures_matched_only_along_one_edge_are_not_copies(one: tuple[int, int, int],
                                                                  other: tuple[int, int, int], mirrored: bool) -> None:
    """Rims of two different discs match each other along the rim (20-40 consistent matches): the
    inliers lie on one line, which is no evidence of one picture; a copy with texture is unaffected."""
    m = match_features(compute_features(_disc_rim(*one), True), compute_features(_disc_rim(*other), True), mirrored)
    assert m.inliers >= localfeat.MIN_INLIERS and m.reason == localfeat.ALONG_ONE_LINE, m
    assert localfeat.spread(np.array([[0, 0], [10, 1], [20, 0], [30, 1]], dtype=np.float32)) < localfeat.MIN_SPREAD
    assert localfeat.spread(np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)) > 0.9


def test_each_feature_of_the_other_picture_is_matched_once() -> None:
    """Many of A's features (a star's keypoints at several pyramid levels) may all pick one feature
    of B: only the closest counts, or RANSAC fits a geometry that maps them all onto that point."""
    import cv2

    matches = [cv2.DMatch(0, 5, 40.0), cv2.DMatch(1, 5, 20.0), cv2.DMatch(2, 7, 30.0), cv2.DMatch(3, 5, 25.0)]
    kept = localfeat._one_to_one(matches)
    assert [(m.queryIdx, m.trainIdx) for m in kept] == [(1, 5), (2, 7)]


def _two_tone(bottom: tuple[int, int, int], split: float = 0.7) -> Image.Image:
    img = Image.new("RGB", (240, 180), (250, 250, 250))
    ImageDraw.Draw(img).rectangle([0, round(180 * split), 239, 179], fill=bottom)
    return img


def test_pictures_without_features_must_agree_in_colour(tmp_path: Path) -> None:
    """Two flat pictures split alike (white over a dark band) hash the same and their grey views
    correlate, but have no features to tell them apart: the hash fallback also asks their colours
    to agree. The picture's own resized copy still agrees."""
    save(_two_tone((25, 25, 25)), tmp_path / "a" / "black_band.png")
    save(_two_tone((25, 25, 25)).resize((180, 135)), tmp_path / "a" / "black_band_small.png")
    save(_two_tone((20, 90, 50), split=0.72), tmp_path / "b" / "green_band.png")
    result = scan([str(tmp_path)], ScanSettings(layout="none"), Session(tmp_path / "s"))
    groups = [sorted(Path(m.path).name for m in g.members) for g in result.groups]
    assert groups == [["black_band.png", "black_band_small.png"]], groups


def test_pictures_without_features_must_agree_in_every_colour_cell(tmp_path: Path) -> None:
    """Two flat pictures that differ in one field only (a dark band 30 levels lighter) are close
    on average colour, but not in the cells of that field: not copies (rules v7)."""
    save(_two_tone((25, 25, 25)), tmp_path / "a" / "black_band.png")
    save(_two_tone((25, 25, 25)).resize((180, 135)), tmp_path / "a" / "black_band_small.png")
    save(_two_tone((55, 55, 55)), tmp_path / "b" / "grey_band.png")
    result = scan([str(tmp_path)], ScanSettings(layout="none"), Session(tmp_path / "s"))
    groups = [sorted(Path(m.path).name for m in g.members) for g in result.groups]
    assert groups == [["black_band.png", "black_band_small.png"]], groups


def _fallback(grey_a: np.ndarray, grey_b: np.ndarray, colour_a: np.ndarray, colour_b: np.ndarray,
              small_a: np.ndarray, small_b: np.ndarray, box: tuple[int, int, int, int], features: int,
              route: str = "direct", target: str = "plain") -> bool:
    """Whether the hash fallback accepts a close pair (2 bits) of two made-up pictures with
    ``features`` random features each (too few or too scattered to match)."""
    from imgreview.scan.candidates import DIRECT, Candidate, verify_candidates
    from imgreview.scan.localfeat import Features
    from imgreview.scan.variants import ROUTES
    from imgreview.scan.verify import Signatures

    rng = np.random.default_rng(7)
    sig = Signatures.from_bytes([False, False], [grey_a.astype(np.uint8).tobytes(), grey_b.astype(np.uint8).tobytes()],
                                [colour_a.astype(np.uint8).tobytes(), colour_b.astype(np.uint8).tobytes()])

    def made(small: np.ndarray) -> Features:
        points = (rng.random((features, 2)) * (480, 320)).astype(np.float32)
        return Features(480, 320, points, rng.integers(0, 256, (features, 32), dtype=np.uint8), None, None,
                        small.astype(np.uint8), box)

    fa, fb = made(small_a), made(small_b)
    k = DIRECT if route == "direct" else ROUTES.index(route)
    got = verify_candidates({(0, 1): Candidate(0, 1, 2, k, target)}, sig, 12, lambda items: {0: fa, 1: fb})
    return (0, 1) in got


@pytest.mark.parametrize(("cells", "accepted"), [
    ({}, True),  # the same colours
    ({k: 6 for k in range(16)}, True),  # a little lighter everywhere
    ({14: 40, 15: 40}, False),  # one field differs: 5 levels on average, 40 in its cells
])
def test_featureless_fallback_compares_every_colour_cell(cells: dict[int, int], accepted: bool) -> None:
    grey = np.random.default_rng(3).integers(0, 256, 256)
    colour = np.full((16, 3), 100)
    other = colour.copy()
    for k, v in cells.items():
        other[k] += v
    small = np.full((80, 120), 100)
    assert _fallback(grey, grey, colour, other, small, small, (0, 0, 480, 320), features=0) is accepted


@pytest.mark.parametrize(("scale", "shift", "accepted"), [
    (1.0, 0, True),  # the same content inside the frame
    (1.0, 8, True),  # a little lighter
    (0.4, 120, False),  # the same shapes at another level: correlated, but not the same picture
])
def test_featureless_fallback_inside_a_frame_compares_grey_levels(scale: float, shift: int, accepted: bool) -> None:
    """Both trimmed (the colour signatures include the borders): a dark box on grey against a
    light box on white correlates perfectly; its levels tell them apart."""
    rng = np.random.default_rng(5)
    small_a = np.full((80, 120), 12.0)
    small_a[20:60, 30:90] = rng.integers(0, 120, (40, 60))
    small_b = small_a.copy()
    small_b[20:60, 30:90] = small_a[20:60, 30:90] * scale + shift
    grey, colour = rng.integers(0, 256, 256), np.full((16, 3), 50)
    got = _fallback(grey, grey, colour, colour, small_a, small_b, (120, 80, 360, 240), features=0,
                    route="trimmed", target="trimmed")
    assert got is accepted


@pytest.mark.parametrize(("scale", "shift", "colour_shift", "accepted"), [
    (1.0, 3, 0, True),  # a recompressed copy
    (1.0, 0, 60, True),  # a greyscale copy: the colours differ, the grey levels agree
    (0.5, 90, 0, False),  # the same layout at another level (a flat design against a map)
])
def test_few_feature_fallback_compares_grey_levels(scale: float, shift: int, colour_shift: int, accepted: bool) -> None:
    grey_a = np.random.default_rng(9).integers(0, 200, 256).astype(np.float64)
    grey_b = grey_a * scale + shift
    colour = np.full((16, 3), 100)
    small = np.full((80, 120), 100)
    got = _fallback(grey_a, grey_b, colour, colour + colour_shift, small, small, (0, 0, 480, 320), features=20)
    assert got is accepted


@pytest.mark.parametrize(("route", "inliers", "accepted"), [
    ("direct", 14, True),  # a direct hash match: MIN_INLIERS decide
    ("mirror", 14, True),
    ("centre-square", 14, True),  # an aspect window: MIN_INLIERS
    ("crop80-0-0", 14, False),  # only a grid window proposed it: too weak
    ("crop90-50-50", 19, False),
    ("crop90-50-50", 20, True),
])
def test_a_pair_only_a_grid_window_found_needs_more_inliers(monkeypatch: pytest.MonkeyPatch, route: str, inliers: int,
                                                           accepted: bool) -> None:
    """The grid windows propose most candidates, so most coincidences: a feature match of a pair
    only such a window found needs WINDOW_MIN_INLIERS (20) inliers, not MIN_INLIERS (12)."""
    from imgreview.scan import candidates
    from imgreview.scan.candidates import DIRECT, WINDOW_MIN_INLIERS, Candidate, verify_candidates
    from imgreview.scan.localfeat import MIN_INLIERS, Features, Match
    from imgreview.scan.verify import Signatures

    assert MIN_INLIERS < 14 < 19 < WINDOW_MIN_INLIERS == 20
    rng = np.random.default_rng(2)
    grey = rng.integers(0, 256, 256, dtype=np.uint8).tobytes()
    sig = Signatures.from_bytes([False, False], [grey, grey], [b"\x50" * 48, b"\x50" * 48])
    many = Features(480, 320, rng.random((300, 2), dtype=np.float32) * 300, rng.integers(0, 256, (300, 32), dtype=np.uint8),
                    None, None, np.full((80, 120), 90, np.uint8), (0, 0, 480, 320))
    monkeypatch.setattr(candidates, "match_features",
                        lambda fa, fb, mirrored: Match(True, matches=40, inliers=inliers, mirror=mirrored))
    k = DIRECT if route == "direct" else ROUTES.index(route)
    got = verify_candidates({(0, 1): Candidate(0, 1, 3, k)}, sig, 12, lambda items: {0: many, 1: many})
    assert ((0, 1) in got) is accepted
    if accepted:
        assert got[(0, 1)][1]["inliers"] == inliers
