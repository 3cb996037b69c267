"""Decoding no more than needed: PNG metadata without a pixel decode, WebP through one direct decode.

Timing-free: the PNG tests count Pillow's pixel decoders, the WebP tests compare the fast path's
pixels and fingerprints with Pillow's own full decode.
"""

from __future__ import annotations

import functools
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from PIL import Image

from imgreview.scan import fingerprint as fp
from imgreview.scan import metadata
from imgreview.settings import HashSettings
from tests.helpers.hostile import png_chunk
from tests.helpers.imagegen import scene

S = HashSettings()


@pytest.fixture
def decoders(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts the pixel decoders Pillow creates, by name ("zip" = PNG's inflate)."""
    made: Counter[str] = Counter()
    real = PIL.Image._getdecoder

    def spy(mode: str, decoder_name: str, *args: object, **kwargs: object) -> object:
        made[decoder_name] += 1
        return real(mode, decoder_name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PIL.Image, "_getdecoder", spy)
    yield made


def exif_bytes() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x0132] = "2021:05:06 07:08:09"
    exif[0x010F] = "Acme"
    exif[0x0110] = "Acme Cam 1"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 0.0), 3: "E", 4: (2.0, 21.0, 0.0)})
    return exif.tobytes()


def png_with_trailing_chunks(img: Image.Image) -> bytes:
    """A PNG whose eXIf and text chunks come after the pixel data (before IEND), as some tools write."""
    buf = io.BytesIO()
    img.save(buf, "PNG")
    data = buf.getvalue()
    assert data[-12:-8] == b"\0\0\0\0" and data[-8:-4] == b"IEND"
    raw_exif = exif_bytes()
    assert raw_exif.startswith(b"Exif\0\0")
    trailing = png_chunk(b"eXIf", raw_exif[6:]) + png_chunk(b"tEXt", b"Description\0a harbour at dusk")
    return data[:-12] + trailing + data[-12:]


def test_png_metadata_after_the_pixels_is_read_without_decoding(decoders: Counter[str]) -> None:
    data = png_with_trailing_chunks(scene(3, (240, 160)))
    img = Image.open(io.BytesIO(data))
    assert "exif" not in img.info  # Pillow itself sees the trailing chunks only after a decode
    metadata.adopt_png_trailing_chunks(img)
    orientation, taken, camera = fp._exif_facts(img)
    found = metadata.extract(img)
    assert decoders["zip"] == 0, "reading metadata decoded the pixels"
    assert (orientation, taken, camera) == (6, "2021-05-06T07:08:09", "Acme Cam 1")
    assert found["gps"] == [48.85, 2.35]
    assert found["description"] == "a harbour at dusk"
    img.load()  # the pixels are still there to decode, from where the file was left
    assert decoders["zip"] == 1 and img.size == (240, 160)


def test_png_fingerprint_decodes_once_and_uses_trailing_exif(tmp_path: Path, decoders: Counter[str]) -> None:
    picture = scene(4, (240, 160))
    trailing = tmp_path / "trailing.png"
    trailing.write_bytes(png_with_trailing_chunks(picture))
    upright = tmp_path / "upright.png"
    picture.transpose(Image.Transpose.ROTATE_270).save(upright)  # what orientation 6 shows
    got = fp.fingerprint_file(str(trailing), S)
    assert isinstance(got, fp.Fingerprint), got
    assert decoders["zip"] == 1  # one decode, for the hash; none for the metadata
    ref = fp.fingerprint_file(str(upright), S)
    assert isinstance(ref, fp.Fingerprint)
    assert (got.width, got.height) == (160, 240) and got.hash == ref.hash and got.gray == ref.gray
    assert got.taken == "2021-05-06T07:08:09" and got.camera == "Acme Cam 1"
    assert got.meta is not None and json.loads(got.meta)["gps"] == [48.85, 2.35]
    # the local-feature decode turns it upright the same way
    feat = fp.decode_upright(str(trailing), 64)
    assert feat is not None and feat.size[0] < feat.size[1]


def test_png_without_metadata_and_a_damaged_chunk_table(decoders: Counter[str]) -> None:
    buf = io.BytesIO()
    scene(5, (64, 48)).save(buf, "PNG")
    img = Image.open(io.BytesIO(buf.getvalue()))
    metadata.adopt_png_trailing_chunks(img)
    assert fp._exif_facts(img) == (1, None, None) and metadata.extract(img) == {}
    assert decoders["zip"] == 0
    # a chunk length pointing past the end of the file ends the walk quietly, the file left where it was
    data = buf.getvalue()
    broken = data[:-12] + b"\x7f\xff\xff\xfftEXt" + data[-12:]
    img = Image.open(io.BytesIO(broken))
    assert img.fp is not None
    where = img.fp.tell()
    metadata.adopt_png_trailing_chunks(img)
    assert metadata.extract(img) == {} and img.fp.tell() == where


def webp(img: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "WEBP", **kwargs)
    return buf.getvalue()


@functools.cache
def webp_cases() -> dict[str, bytes]:
    rgb = scene(6, (600, 400))
    rgba = rgb.convert("RGBA")
    alpha = np.asarray(rgba).copy()
    alpha[..., 3] = np.linspace(0, 255, rgb.width, dtype=np.uint8)[None, :]
    rgba = Image.fromarray(alpha, "RGBA")
    return {"lossy": webp(rgb, quality=80), "lossy-alpha": webp(rgba, quality=80),
            "lossless": webp(rgb, lossless=True, method=0),
            "lossless-alpha": webp(rgba, lossless=True, method=0)}


@pytest.mark.parametrize("kind", ["lossy", "lossy-alpha", "lossless", "lossless-alpha"])
def test_webp_direct_decode_gives_pillows_pixels(kind: str) -> None:
    data = webp_cases()[kind]
    full = Image.open(io.BytesIO(data))
    full.load()
    fast = fp._decode_webp(Image.open(io.BytesIO(data)), data)
    assert fast is not None, "the direct decode was not used"
    assert fast.mode == full.mode and fast.size == full.size
    assert np.array_equal(np.asarray(fast), np.asarray(full))


def test_webp_fingerprint_equals_the_full_decodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = []
    for kind, data in webp_cases().items():
        p = tmp_path / f"{kind}.webp"
        p.write_bytes(data)
        paths.append(p)
    used: list[bool] = []
    real = fp._decode_webp

    def counting(img: Image.Image, data: bytes | None) -> Image.Image | None:
        out = real(img, data)
        used.append(out is not None)
        return out

    monkeypatch.setattr(fp, "_decode_webp", counting)
    fast = [fp.fingerprint_file(str(p), S) for p in paths]
    fast_upright = [fp.decode_upright(str(p), 128) for p in paths]
    assert used and all(used)
    monkeypatch.setattr(fp, "_decode_webp", lambda img, data: None)  # Pillow's own decode
    slow = [fp.fingerprint_file(str(p), S) for p in paths]
    slow_upright = [fp.decode_upright(str(p), 128) for p in paths]
    for a, b in zip(fast, slow, strict=True):
        assert isinstance(a, fp.Fingerprint) and asdict(a) == asdict(b)
    for x, y in zip(fast_upright, slow_upright, strict=True):
        assert x is not None and y is not None and np.array_equal(np.asarray(x), np.asarray(y))


def test_animated_and_broken_webp_go_to_pillow(tmp_path: Path) -> None:
    frames = [scene(7, (120, 90)), scene(8, (120, 90))]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True, method=0)
    data = buf.getvalue()
    img = Image.open(io.BytesIO(data))
    assert img.n_frames == 2 and fp._decode_webp(img, data) is None
    p = tmp_path / "anim.webp"
    p.write_bytes(data)
    first = fp.fingerprint_file(str(p), S)
    still = tmp_path / "first.png"
    frames[0].save(still)
    ref = fp.fingerprint_file(str(still), S)
    assert isinstance(first, fp.Fingerprint) and isinstance(ref, fp.Fingerprint) and first.hash == ref.hash
    truncated = tmp_path / "cut.webp"
    truncated.write_bytes(webp_cases()["lossy"][:2000])
    assert isinstance(fp.fingerprint_file(str(truncated), S), fp.Failure)
