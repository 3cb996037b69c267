"""Pictures for the terminal: the Sixel encoder (decoded back here), Sixel sizing, half-cell strips."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from PIL import Image

from imgreview.tui.pictures import Canvas, render, render_halfcell, sixel_size
from imgreview.tui.sixel import encode, quantise
from tests.helpers.imagegen import gradient, scene


def decode(data: str) -> tuple[np.ndarray, int]:
    """A minimal Sixel decoder: the picture (palette RGB per pixel, -1 where nothing was drawn) and
    how often a pixel was painted more than once."""
    m = re.match(r'\x1bP0;1;0q"1;1;(\d+);(\d+)', data)
    assert m, "header: P2=1 (transparent background), raster attributes"
    w, h = int(m.group(1)), int(m.group(2))
    body = data[m.end():]
    assert body.endswith("\x1b\\")
    body = body[:-2]
    palette: dict[int, tuple[int, int, int]] = {}
    out = np.full((h + 6, w, 3), -1, dtype=np.int32)
    painted = np.zeros((h + 6, w), dtype=np.int32)
    x = band = 0
    colour = 0
    pos = 0
    while pos < len(body):
        ch = body[pos]
        if ch == "#":
            mm = re.match(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?", body[pos:])
            assert mm
            colour = int(mm.group(1))
            if mm.group(2) is not None:
                palette[colour] = tuple(round(int(v) * 255 / 100) for v in mm.group(2, 3, 4))  # type: ignore[assignment]
            pos += mm.end()
            continue
        count = 1
        if ch == "!":
            mm = re.match(r"!(\d+)", body[pos:])
            assert mm
            count = int(mm.group(1))
            pos += mm.end()
            ch = body[pos]
        if ch == "$":
            x = 0
        elif ch == "-":
            x = 0
            band += 1
        else:
            bits = ord(ch) - 63
            assert 0 <= bits < 64
            for r in range(6):
                if bits >> r & 1:
                    out[band * 6 + r, x:x + count] = palette[colour]
                    painted[band * 6 + r, x:x + count] += 1
            x += count
        pos += 1
    assert not painted[h:].any(), "nothing is drawn below the picture's height"
    return out[:h], int((painted[:h] > 1).sum())


@pytest.mark.parametrize("size", [(64, 48), (97, 31), (200, 150)])
def test_every_pixel_is_drawn_once_in_its_own_colour(size: tuple[int, int]) -> None:
    im = scene(11, size)
    decoded, twice = decode(encode(im, colours=256, dither=False))
    assert twice == 0  # no solid "fill" pass that later passes must overwrite
    assert (decoded >= 0).all()  # every pixel drawn
    quantised = np.asarray(quantise(im, 256, dither=False).convert("RGB"), dtype=np.int32)
    assert np.abs(decoded - quantised).max() <= 2  # each pixel in its palette colour (percent rounding)


def reference_encode(image: Image.Image, colours: int = 256, dither: bool = True) -> str:
    """The encoder as first written (one regex pass per colour and band): what ``encode`` must equal."""
    run = re.compile(rb"(.)\1{3,}")
    p = quantise(image, colours, dither)
    w, h = p.size
    idx = np.asarray(p, dtype=np.uint8)
    pal = np.asarray(p.getpalette() or [0] * 768, dtype=np.int32)[: 256 * 3].reshape(-1, 3)
    out = [b'\x1bP0;1;0q"1;1;%d;%d' % (w, h)]
    for c in np.unique(idx):
        out.append(b"#%d;2;%d;%d;%d" % (c, *((int(v) * 100 + 127) // 255 for v in pal[c])))
    bands = (h + 5) // 6
    idx16 = np.full((bands * 6, w), 256, dtype=np.int16)
    idx16[:h] = idx
    for band in range(bands):
        rows = idx16[band * 6: band * 6 + 6]
        parts = []
        for c in (c for c in np.unique(rows).tolist() if c < 256):
            bits = ((rows == c) * (1 << np.arange(6))[:, None]).sum(axis=0)
            end = int(np.flatnonzero(bits).max()) + 1
            parts.append(b"#%d" % c + run.sub(lambda m: b"!%d%s" % (len(m.group()), m.group(1)),
                                              (bits[:end] + 63).astype(np.uint8).tobytes()))
        out.append(b"$".join(parts) + b"-")
    return (b"".join(out) + b"\x1b\\").decode("ascii")


@pytest.mark.parametrize("seed", range(3))
def test_the_fast_encoder_writes_the_reference_bytes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    w, h = int(rng.integers(1, 160)), int(rng.integers(1, 90))  # heights that do and do not end on a band
    images = [scene(seed, (w, h)), gradient((w, h)),
              Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB"),
              Image.new("RGB", (w, h), (17, 120, 3))]
    for im in images:
        for colours, dither in ((256, True), (16, False), (2, True)):
            assert encode(im, colours, dither) == reference_encode(im, colours, dither), (im.size, colours, dither)


def test_gradients_are_dithered() -> None:
    im = gradient((256, 24))
    plain, _ = decode(encode(im, colours=16, dither=False))
    dithered, _ = decode(encode(im, colours=16, dither=True))
    row = np.asarray(im, dtype=np.float64)[:, :, 0].mean(axis=0)
    # averaged over a few columns the dithered picture follows the gradient; the plain one is banded
    def band_error(a: np.ndarray) -> float:
        cols = a[:, :, 0].astype(np.float64).mean(axis=0)
        k = 8
        return float(np.abs(np.convolve(cols - row, np.ones(k) / k, "valid")).mean())
    assert band_error(dithered) < band_error(plain)


def test_sixel_size_fits_cells_limits_and_whole_bands() -> None:
    canvas = Canvas("sixel", (8, 17), (1000, 1000))
    w, h = sixel_size((1600, 900), 200, 50, canvas)  # a wide zoom: 1600 px of cells
    assert w <= 1000 and h <= 1000 and h % 6 == 0  # inside xterm's limit, whole bands
    w, h = sixel_size((400, 300), 40, 15, canvas)
    assert w <= 40 * 8 and h <= 15 * 17 and h % 6 == 0  # never into the row below
    r = render(scene(2, (400, 300)), 40, 15, canvas)
    assert r.sixel and r.cols <= 40 and r.rows <= 15
    decoded, _ = decode(r.sixel)
    assert decoded.shape[0] <= 15 * 17


def test_halfcell_strips_fit_and_dim() -> None:
    im = Image.new("RGB", (100, 50), (200, 40, 40))
    r = render_halfcell(im, 20, 20)
    assert r.cols == 20 and r.rows == 5 and len(r.strips) == 5
    assert all(s.cell_length == 20 for s in r.strips)
    bright = render(im, 20, 20, Canvas("halfcell"))
    dim = render(im, 20, 20, Canvas("halfcell"), dim=True)
    c1 = next(iter(bright.strips[0])).style.color.triplet  # type: ignore[union-attr]
    c2 = next(iter(dim.strips[0])).style.color.triplet  # type: ignore[union-attr]
    assert sum(c2) < sum(c1)  # a file marked delete shows darker


@pytest.mark.parametrize("system", ["truecolor", "256", "standard"])
def test_halfcell_cells_carry_the_terminal_codes_textual_would_write(system: str) -> None:
    """The codes are made in the worker (style._ansi) and are exactly what Textual makes on the UI thread."""
    from rich.style import Style
    from textual.strip import Strip

    from imgreview.tui.pictures import COLOR_SYSTEMS

    image = gradient((64, 48), start=(10, 200, 30), end=(250, 20, 180))
    ready = render_halfcell(image, 20, 8, system)
    plain = render_halfcell(image, 20, 8)
    segments = [seg for strip in ready.strips for seg in strip]
    assert segments and all(seg.style is not None and seg.style._ansi for seg in segments)
    assert all(seg.style is None or seg.style._ansi is None for strip in plain.strips for seg in strip)
    for seg in segments[:200]:
        fresh = Style(color=seg.style.color, bgcolor=seg.style.bgcolor)
        assert seg.style._ansi == Strip.render_ansi(fresh, COLOR_SYSTEMS[system])
    # the same strips, the same terminal text as without the ready-made codes
    console_text = [Strip.render_style(seg.style, seg.text, COLOR_SYSTEMS[system]) for seg in segments[:50]]
    fresh_text = [Strip.render_style(Style(color=s.style.color, bgcolor=s.style.bgcolor), s.text,
                                     COLOR_SYSTEMS[system]) for s in segments[:50]]
    assert console_text == fresh_text


def test_halfcell_cells_are_the_upper_and_lower_pixels_with_equal_neighbours_merged() -> None:
    """Against a per-cell reference: every cell is ``▀`` in the upper pixel's colour on the lower one's,
    and a run of equal cells in a row is one segment (what Segment.simplify would make)."""
    from PIL import Image as PILImage

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 4, (12, 16, 3), dtype=np.uint8) * 80  # few colours: runs of equal cells
    pixels[:, 5:11] = (30, 60, 90)  # a flat band
    im = PILImage.fromarray(pixels, "RGB")
    r = render_halfcell(im, 16, 6)  # 16 x 12 pixels: no scaling
    assert (r.cols, r.rows) == (16, 6)
    for y, strip in enumerate(r.strips):
        cells = []
        for seg in strip:
            assert seg.text == "▀" * len(seg.text)
            cells += [(seg.style.color.triplet, seg.style.bgcolor.triplet)] * len(seg.text)  # type: ignore[union-attr]
        assert cells == [(tuple(int(v) for v in pixels[2 * y, x]), tuple(int(v) for v in pixels[2 * y + 1, x]))
                         for x in range(16)]
        segs = list(strip)
        assert all(a.style != b.style for a, b in itertools.pairwise(segs))  # equal neighbours merged
        assert len(segs) < 16  # the flat band is one run
