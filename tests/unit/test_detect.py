"""Issue 15: candidate routes (mirror, turns, centre crop, border trim) and the local-feature stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from imgreview.model import Group, Member, ScanResult
from imgreview.scan import scan
from imgreview.scan.localfeat import compute_features, match_features
from imgreview.scan.search import exact_cross_pairs
from imgreview.scan.variants import DIHEDRAL, centre_window, dct_low, phash_bits, route_hashes, trim_box
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


def test_centre_square_route_finds_a_square_crop() -> None:
    img = scene(4, (480, 270))
    _, routes = route_hashes(img, 8)
    crop = centre_window(img, 1.0)
    assert int((routes["centre-square"] != _bits(crop)).sum()) <= 4
    assert int((_bits(img) != _bits(crop)).sum()) > 12


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
