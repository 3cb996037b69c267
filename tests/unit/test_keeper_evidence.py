"""The evidence-based keeper: the unedited original is suggested, file size never decides, ties say so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from imgreview.decisions.keeper import jpeg_quality, name_edits, quality_from_table, suggest
from imgreview.model import Member
from tests.helpers.imagegen import scene


def photo(seed: int = 3, size: tuple[int, int] = (480, 320)) -> Image.Image:
    """A picture with texture and gradients (JPEG quality matters on it)."""
    rng = np.random.default_rng(seed)
    base = np.asarray(scene(seed, size), dtype=np.float32)
    noise = rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def member(path: Path, *, camera: str | None = None, taken: str | None = None, mtime: float = 1.7e9) -> Member:
    with Image.open(path) as im:
        w, h, fmt = im.width, im.height, im.format or ""
    return Member(path=str(path), digest=path.name, distance=0, size=path.stat().st_size, width=w, height=h,
                  format=fmt, mode="RGB", mtime=mtime, camera=camera, taken=taken, root=str(path.parent))


def rotated(im: Image.Image, degrees: float) -> Image.Image:
    return im.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))


def watermarked(im: Image.Image) -> Image.Image:
    out = im.copy()
    d = ImageDraw.Draw(out)
    d.rectangle([out.width - 170, out.height - 50, out.width - 10, out.height - 10], fill=(255, 255, 255))
    d.text((out.width - 160, out.height - 40), "(c) reposted", fill=(0, 0, 0))
    return out


def letterboxed(im: Image.Image) -> Image.Image:
    out = Image.new("RGB", (im.width, im.height), (0, 0, 0))
    small = im.resize((im.width, im.height * 3 // 4))
    out.paste(small, (0, im.height // 8))
    return out


def thumbs(members: list[Member]) -> list[Image.Image]:
    out = []
    for m in members:
        with Image.open(m.path) as im:
            out.append(im.convert("RGB").resize((160, 160 * im.height // im.width)))
    return out


@pytest.mark.parametrize("q", [40, 60, 75, 85, 90, 95])
def test_jpeg_quality_is_estimated_from_the_quantisation_tables(tmp_path: Path, q: int) -> None:
    p = tmp_path / f"q{q}.jpg"
    photo().save(p, quality=q)
    assert jpeg_quality(str(p)) == q
    with Image.open(p) as im:
        assert quality_from_table(im.quantization[0]) == q  # type: ignore[attr-defined]
    png = tmp_path / "x.png"
    photo().save(png)
    assert jpeg_quality(str(png)) is None


def test_names_that_say_edited() -> None:
    assert name_edits("/d/bright.jpg") == ["bright"]
    assert "copy" in name_edits("/d/IMG_1234 - Copy.jpg")
    assert "copy number" in name_edits("/d/holiday (1).jpg")
    assert name_edits("/d/rot3.jpg") == ["rot3"]
    assert name_edits("/d/IMG_1234.jpg") == []
    assert name_edits("/d/textile.jpg") == []  # a word inside a word is not an edit


def test_file_size_never_decides_between_same_resolution_copies(tmp_path: Path) -> None:
    """The issue's trap: a brightened copy re-saved at a higher quality is the biggest file."""
    orig = photo()
    a = tmp_path / "a.jpg"
    b = tmp_path / "b.jpg"
    orig.save(a, quality=85)
    ImageEnhance.Brightness(orig).enhance(1.25).save(b, quality=95)
    members = [member(a), member(b)]
    assert members[1].size > members[0].size
    s = suggest(members, pictures=thumbs(members))
    assert s.index is None and "no clear original" in s.reason  # not the bigger edited file


def test_the_original_wins_among_edited_copies(tmp_path: Path) -> None:
    """Original (camera EXIF, camera name, oldest) vs the issue's edits: brightened, watermarked,
    rotated with black corners, resized, re-compressed, greyscale, letterboxed."""
    orig = photo(5)
    d = tmp_path
    orig.save(d / "IMG_4711.jpg", quality=90)
    edits = {
        "bright.jpg": (ImageEnhance.Brightness(orig).enhance(1.3), 95),
        "text.jpg": (watermarked(orig), 95),
        "rot3.jpg": (rotated(orig, 3), 95),
        "small.jpg": (orig.resize((240, 160)), 90),
        "recompressed.jpg": (orig, 55),
        "grey.jpg": (orig.convert("L").convert("RGB"), 92),
        "letterbox.jpg": (letterboxed(orig), 92),
    }
    for name, (im, q) in edits.items():
        im.save(d / name, quality=q)
    members = [member(d / "IMG_4711.jpg", camera="Canon EOS 80D", taken="2019-06-01T10:00:00", mtime=1.6e9)]
    members += [member(d / name, mtime=1.7e9) for name in edits]
    for k in range(1, len(members)):  # the original against each edit alone
        pair = [members[0], members[k]]
        s = suggest(pair, pictures=thumbs(pair))
        assert s.index == 0, (members[k].path, s)
    s = suggest(members, pictures=thumbs(members))
    assert s.index == 0 and "camera EXIF" in s.reason
    # the same without EXIF, names or dates: the pictures alone still rule out the worst copies
    plain = []
    for k, m in enumerate(members):
        p = d / f"plain{k}.jpg"
        p.write_bytes(Path(m.path).read_bytes())
        plain.append(member(p))
    s = suggest(plain, pictures=thumbs(plain))
    assert s.index in (None, 0)  # never an edited copy with a confident star
    for k in (3, 4, 5, 7):  # rotated (black corners), smaller, re-compressed, letterboxed
        assert suggest([plain[0], plain[k]], pictures=thumbs([plain[0], plain[k]])).index == 0


def test_medoid_prefers_the_copy_closest_to_the_others(tmp_path: Path) -> None:
    orig = photo(9)
    paths = []
    for k, im in enumerate([orig, orig, orig, ImageEnhance.Contrast(rotated(orig, 12)).enhance(1.8)]):
        p = tmp_path / f"m{k}.png"
        (im if k != 1 else im.transpose(Image.Transpose.FLIP_TOP_BOTTOM).transpose(
            Image.Transpose.FLIP_TOP_BOTTOM)).save(p)
        paths.append(p)
    members = [member(p) for p in paths]
    s = suggest(members, pictures=thumbs(members))
    assert "unlike the others" in s.notes[3]


def test_identical_copies_fall_back_to_the_rules(tmp_path: Path) -> None:
    p = tmp_path / "a" / "x.png"
    p.parent.mkdir()
    photo().save(p)
    q = tmp_path / "bb" / "x.png"
    q.parent.mkdir()
    q.write_bytes(p.read_bytes())
    s = suggest([member(q), member(p)], identical=True)
    assert s.index == 1 and s.reason.startswith("identical copies")
    assert suggest([member(q), member(p)]).index is None  # near duplicates: say it is a tie


def test_prefer_rules_still_win_when_given(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    photo().save(a, quality=60)
    photo().save(b, quality=95)
    s = suggest([member(a), member(b)], ("smallest", "pixels", "size", "oldest", "shortest"))
    assert s.index == 0 and s.reason == "smallest file"
