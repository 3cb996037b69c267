"""Kitty graphics: the layer's commands (sent once, placed, moved, removed) and the review drawing
with them (Pilot): pictures placed over blank cells, nothing re-sent for a focus change, the review's
pictures taken off while the zoom covers it and placed again after; and what the review keeps
for the garbage collector to walk."""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path

from PIL import Image

from imgreview.session.journal import Journal
from imgreview.tui import kitty
from imgreview.tui.app import ReviewApp
from imgreview.tui.pictures import Canvas, render
from imgreview.tui.screens.zoom import ZoomScreen
from imgreview.tui.state import ReviewState
from tests.tui.test_tui import SIZE, make_result, pictures, settle

COMMAND = re.compile(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")


def commands(text: str) -> list[dict[str, str]]:
    out = []
    for m in COMMAND.finditer(text):
        keys = dict(kv.split("=", 1) for kv in m.group(1).split(","))
        keys["payload"] = m.group(2) or ""
        out.append(keys)
    return out


def want(key: str, x: int, y: int, colour: tuple[int, int, int] = (200, 10, 10)) -> kitty.Wanted:
    image = Image.new("RGB", (30, 20), colour)
    return kitty.Wanted(key, kitty.payload(image), image.size, x, y)


def test_payload_is_the_pictures_rgb_bytes() -> None:
    image = Image.linear_gradient("L").convert("RGB").resize((40, 30))
    data = kitty.payload(image)
    assert zlib.decompress(base64.standard_b64decode(data)) == image.tobytes()
    sent = commands(kitty.transmit(7, data * 3, image.size))
    assert sent[0]["a"] == "t" and sent[0]["f"] == "24" and sent[0]["o"] == "z" and sent[0]["i"] == "7"
    assert (sent[0]["s"], sent[0]["v"]) == ("40", "30") and sent[0]["q"] == "2"
    assert all(len(c["payload"]) <= kitty.CHUNK for c in sent)
    assert [c["m"] for c in sent] == ["1"] * (len(sent) - 1) + ["0"]
    assert "".join(c["payload"] for c in sent) == data * 3


def test_layer_sends_once_places_moves_and_removes() -> None:
    layer = kitty.KittyLayer()
    first = commands(layer.update("grid", {0: want("a", 2, 3), 1: want("b", 40, 3)}))
    assert [c["a"] for c in first] == ["t", "t", "p", "p"]
    assert all(c["C"] == "1" and "z" not in c for c in first if c["a"] == "p")  # the cursor stays; over the text
    ids = {c["i"] for c in first}
    assert len(ids) == 2
    assert layer.update("grid", {0: want("a", 2, 3), 1: want("b", 40, 3)}) == ""  # nothing changed
    moved = layer.update("grid", {0: want("a", 2, 3), 1: want("b", 60, 5)})
    assert [c["a"] for c in commands(moved)] == ["p"] and "\x1b[6;61H" in moved  # moved, not re-sent
    swapped = commands(layer.update("grid", {0: want("c", 2, 3)}))  # another group: one new picture
    assert [c["a"] for c in swapped] == ["t", "d", "d", "p"]
    assert {c["i"] for c in swapped if c["a"] == "d"} == ids and all(c["d"] == "i" for c in swapped if c["a"] == "d")
    back = commands(layer.update("grid", {0: want("a", 2, 3)}))  # sent before: placed again only
    assert [c["a"] for c in back] == ["d", "p"]
    hidden = commands(layer.hide("grid"))
    assert [c["a"] for c in hidden] == ["d"] and layer.placed("grid") == {}
    assert [c["a"] for c in commands(layer.update("grid", {0: want("a", 2, 3)}))] == ["p"]
    closed = commands(layer.close())
    assert {c["d"] for c in closed} == {"i", "I"} and len([c for c in closed if c["d"] == "I"]) == 3


def test_layer_deletes_old_pictures_but_never_one_on_screen() -> None:
    layer = kitty.KittyLayer(max_images=2)
    layer.update("zoom", {0: want("z", 0, 0)})
    for k in range(4):
        out = commands(layer.update("grid", {0: want(f"g{k}", 5, 5)}))
        forgotten = [c["i"] for c in out if c.get("d") == "I"]
        assert layer.placed("zoom")[0][0] not in {int(i) for i in forgotten}
    assert len(layer._images) <= 3


def test_kitty_rendering_fits_the_cells_at_the_terminals_pixel_size() -> None:
    canvas = Canvas("kitty", cell=(9, 18))
    r = render(Image.new("RGB", (800, 600), (10, 120, 200)), 30, 10, canvas)
    assert r.pixels[0] <= 30 * 9 and r.pixels[1] <= 10 * 18 and r.cols <= 30 and r.rows <= 10
    assert zlib.decompress(base64.standard_b64decode(r.kitty))[:3] == bytes((10, 120, 200))
    assert r.serial and render(Image.new("RGB", (8, 6)), 3, 3, canvas).serial != r.serial
    assert not r.strips and not r.sixel


def control_text(app: ReviewApp) -> str:
    """The control segments (escape sequences, no cells) of the grid's next screen update."""
    grid = app.review.grid
    strips = grid.render_lines(grid.size.region)
    return "".join(seg.text for strip in strips for seg in strip if seg.control)


async def test_review_places_kitty_pictures_and_hides_them_under_the_zoom(tmp_path: Path) -> None:
    result = make_result(tmp_path / "data")
    app = ReviewApp(ReviewState(result, Journal(tmp_path / "j.jsonl")), Canvas("kitty", cell=(8, 16)))
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        review = app.review
        layer = kitty.layer_of(app)
        grid = review.grid
        await settle(pilot)
        placed = layer.placed(grid)
        assert set(placed) == set(grid.shown_members()) and len(placed) == 2  # g-conf: a pair
        for p in grid._placed:  # each picture's top-left cell, in screen cells
            image_id, x, y = placed[p.card.index]
            assert (x, y) == (grid.content_region.x + p.picture.x, grid.content_region.y + p.picture.y)
        assert "▀" not in "".join(grid.render_line(y).text for y in range(grid.size.height))  # blank cells
        sent = layer.sent
        await pilot.press("l")  # focus moves: frames are redrawn, pictures stay
        await settle(pilot)
        assert control_text(app) == "" and layer.sent == sent
        before = {i for i, _, _ in layer.placed(grid).values()}
        await pilot.press("j")  # the next group
        await pictures(app, pilot)
        await settle(pilot)
        after = {i for i, _, _ in layer.placed(grid).values()}
        assert after and not after & before
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, ZoomScreen)
        assert layer.placed(grid) == {}  # the review's pictures are off the screen under the zoom
        for _ in range(100):
            await settle(pilot, 0.02)
            views = [o for o in layer._placed if o is not grid and layer.placed(o)]
            if views:
                break
        assert views  # the zoomed picture is placed
        await pilot.press("escape")
        await settle(pilot)
        await settle(pilot, 0.05)
        assert all(layer.placed(v) == {} for v in views)
        assert {i for i, _, _ in layer.placed(grid).values()} == after  # back, without sending them again


def test_review_keeps_few_rendered_pictures_and_freezes_the_loaded_session(tmp_path: Path) -> None:
    """Rendered pictures are many small objects the collector walks: the review keeps few; what is loaded
    before the app runs (result, journal) is taken out of the collector's full passes."""
    import gc

    from imgreview.tui.app import REVIEW_PICTURES, freeze_long_lived

    app = ReviewApp(ReviewState(make_result(tmp_path / "data"), Journal(tmp_path / "j.jsonl")), Canvas())
    assert app.thumbs.picture_capacity == REVIEW_PICTURES <= 128
    app.thumbs.close()
    gc.unfreeze()
    try:
        before = gc.get_freeze_count()
        freeze_long_lived()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
