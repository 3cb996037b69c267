from __future__ import annotations

import io
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image

from imgreview.scan.fingerprint import Failure, Fingerprint, fingerprint_file
from imgreview.scan.search import hamming, to_words
from imgreview.settings import HashSettings
from tests.helpers.imagegen import alpha_shape, flat, gradient, save, scene

S = HashSettings()


def fp(path: Path, settings: HashSettings = S) -> Fingerprint:
    result = fingerprint_file(str(path), settings)
    assert isinstance(result, Fingerprint), result
    return result


def dist(a: Fingerprint, b: Fingerprint) -> int:
    return int(hamming(to_words([a.hash]), to_words([b.hash]))[0])


def test_facts_digest_and_hash(tmp_path: Path) -> None:
    p = save(scene(1, (400, 300)), tmp_path / "a.png")
    f = fp(p)
    assert (f.width, f.height, f.format, f.mode) == (400, 300, "PNG", "RGB")
    assert f.size == p.stat().st_size and len(f.digest) == 32
    assert len(f.hash) == 8 and len(f.gray) == 256 and len(f.color) == 48
    assert not f.lowinfo
    # Within a few bits of imagehash's own phash of the same picture (we reduce big images first).
    ref = imagehash.phash(Image.open(p))
    ours = np.unpackbits(np.frombuffer(f.hash, np.uint8)).astype(bool)
    assert int((ours != ref.hash.ravel()).sum()) <= 4
    small = fp(save(scene(1, (200, 150)), tmp_path / "small.png"))  # not reduced: bit for bit
    ours = np.unpackbits(np.frombuffer(small.hash, np.uint8)).astype(bool)
    assert (ours == imagehash.phash(Image.open(tmp_path / "small.png")).hash.ravel()).all()


def test_jpeg_draft_decoding_stays_close_to_full_decode(tmp_path: Path) -> None:
    p = save(scene(2, (1600, 1200)), tmp_path / "big.jpg", quality=90)
    f = fp(p)
    full = imagehash.phash(Image.open(p))
    ours = np.unpackbits(np.frombuffer(f.hash, np.uint8)).astype(bool)
    assert int((ours != full.hash.ravel()).sum()) <= 4
    assert (f.width, f.height) == (1600, 1200)  # facts are of the full image, not the draft


@pytest.mark.parametrize("algorithm", ["phash", "dhash", "ahash", "whash", "colorhash"])
@pytest.mark.parametrize("size", [8, 16])
def test_every_algorithm_and_size(tmp_path: Path, algorithm: str, size: int) -> None:
    settings = HashSettings(algorithm=algorithm, hash_size=size)
    a = fp(save(scene(3), tmp_path / "a.png"), settings)
    b = fp(save(scene(3).resize((160, 120)), tmp_path / "b.jpg", quality=85), settings)
    c = fp(save(scene(99), tmp_path / "c.png"), settings)
    assert len(a.hash) * 8 >= settings.bits
    assert dist(a, b) < dist(a, c) or algorithm == "colorhash"


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    upright = scene(4, (300, 200))
    save(upright, tmp_path / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers rotate 90° clockwise to show it upright
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    save(stored, tmp_path / "rotated.jpg", quality=95, exif=exif.tobytes())
    a, b = fp(tmp_path / "upright.jpg"), fp(tmp_path / "rotated.jpg")
    assert (b.width, b.height) == (300, 200)
    assert dist(a, b) <= 4
    unrotated = fp(save(stored, tmp_path / "plain.jpg", quality=95))
    assert dist(a, unrotated) > 10


def test_exif_date_and_camera(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif[0x0132] = "2019:05:04 12:30:00"
    f = fp(save(scene(5), tmp_path / "e.jpg", exif=exif.tobytes()))
    assert f.taken == "2019-05-04T12:30:00"
    assert f.camera == "Canon EOS 5D"


def test_transparent_pictures_living_in_alpha_hash_apart(tmp_path: Path) -> None:
    shapes = ["circle", "bar", "corner", "post"]
    fps = [fp(save(alpha_shape(s), tmp_path / f"{s}.png")) for s in shapes]
    for i in range(len(fps)):
        for j in range(i + 1, len(fps)):
            assert dist(fps[i], fps[j]) > 10, (shapes[i], shapes[j])
    # Dropping alpha would make them all one flat colour: check we did not.
    assert len({f.hash for f in fps}) == len(fps)


@pytest.mark.parametrize("mode", ["P", "P+transparency", "LA", "L", "1", "CMYK", "I;16", "RGBA"])
def test_modes(tmp_path: Path, mode: str) -> None:
    base = scene(6)
    if mode == "I;16":
        arr = (np.asarray(base.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        img = Image.fromarray(arr)
        assert img.mode == "I;16"
        ext = "png"
    elif mode == "P+transparency":
        img = base.convert("P")
        img.info["transparency"] = 0
        ext = "png"
    elif mode == "CMYK":
        img = base.convert("CMYK")
        ext = "jpg"
    else:
        img = base.convert(mode)
        ext = "png"
    f = fp(save(img, tmp_path / f"m.{ext}", **({"transparency": 0} if mode == "P+transparency" else {})))
    ref = fp(save(base.convert("L").convert("RGB"), tmp_path / "ref.png"))
    if mode != "1":
        assert dist(f, ref) <= 12, mode


def test_animated_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [scene(7).convert("P"), scene(8).convert("P")]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100)
    first = fp(save(scene(7).convert("P"), tmp_path / "first.gif"))
    assert dist(fp(p), first) <= 2


def test_bad_files_are_failures_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "junk.jpg").write_bytes(b"this is not an image at all" * 50)
    good = io.BytesIO()
    scene(9, (400, 300)).save(good, "JPEG", quality=90)
    (tmp_path / "cut.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    png = io.BytesIO()
    scene(9, (400, 300)).save(png, "PNG")
    (tmp_path / "cut.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    reasons = {}
    for name in ("zero.jpg", "junk.jpg", "cut.jpg", "cut.png", "missing.jpg"):
        r = fingerprint_file(str(tmp_path / name), S)
        assert isinstance(r, Failure), name
        reasons[name] = r.error
    assert "empty" in reasons["zero.jpg"]
    assert "not an image" in reasons["junk.jpg"]
    assert "truncated" in reasons["cut.jpg"] or "corrupt" in reasons["cut.jpg"]
    assert "truncated" in reasons["cut.png"] or "corrupt" in reasons["cut.png"]
    assert "vanished" in reasons["missing.jpg"]


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    p = save(scene(10, (400, 300)), tmp_path / "a.png")
    r = fingerprint_file(str(p), HashSettings(max_pixels=100_000))
    assert isinstance(r, Failure) and "decompression-bomb" in r.error and "--max-pixels" in r.error
    assert isinstance(fingerprint_file(str(p), HashSettings(max_pixels=120_000)), Fingerprint)


def test_low_information_detection(tmp_path: Path) -> None:
    assert fp(save(flat((200, 30, 30)), tmp_path / "flat.png")).lowinfo
    assert fp(save(gradient(), tmp_path / "grad.png")).lowinfo
    assert fp(save(gradient(horizontal=False, start=(0, 0, 80), end=(90, 200, 255)), tmp_path / "g2.png")).lowinfo
    assert not fp(save(scene(11), tmp_path / "scene.png")).lowinfo
