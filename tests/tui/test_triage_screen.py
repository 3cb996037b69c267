"""The triage screen (Pilot): every key and the journal record it writes, paging, labels, filters, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.geometry import Region

from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings
from imgreview.triage.items import load_items
from imgreview.triage.state import TriageState
from imgreview.tui.pictures import Canvas
from imgreview.tui.screens.triage import LabelChooser, TriageScreen, TriageZoom
from imgreview.tui.triage_app import TriageApp
from imgreview.tui.widgets.triage_grid import TILE_HEIGHT, TILE_WIDTH
from tests.helpers.imagegen import save, scene

SIZE = (TILE_WIDTH * 3 + 2, TILE_HEIGHT * 2 + 4)  # a 3 × 2 grid


@pytest.fixture()
def triage(tmp_path: Path):  # type: ignore[no-untyped-def]
    ds = tmp_path / "ds"
    for label, base, n in (("cat", 0, 8), ("dog", 100, 4)):
        for k in range(n):
            save(scene(base + k, (120, 90)), ds / label / f"{label}{k}.jpg", quality=90)
    session = Session(tmp_path / "session")
    scan([str(ds)], ScanSettings(jobs=1), session)

    def make(read_only: bool = False, graphics: str = "halfcell") -> TriageApp:
        state = TriageState(load_items(session, session.load_result()), session.journal(read_only=read_only))
        return TriageApp(state, Canvas(graphics), read_only=read_only)

    return make, session


def records(session: Session) -> list[dict[str, object]]:
    path = session.journal_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def screen_of(app: TriageApp) -> TriageScreen:
    screen = app.screen
    assert isinstance(screen, TriageScreen)
    return screen


async def test_grid_shows_label_position_and_a_page(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        assert s.grid.shape == (3, 2) and s.label == "cat"
        title = str(s.query_one("#triage-title").render())
        assert "cat" in title and "1 of 8" in title and "label 1 of 2" in title
        assert s.grid.shown == 6
        await pilot.press("n")
        assert s.first == 6 and s.grid.shown == 2
        assert "7 of 8" in str(s.query_one("#triage-title").render())
        await pilot.press("n")  # past the last page: the next label
        assert s.label == "dog" and s.first == 0
        await pilot.press("left_square_bracket")
        assert s.label == "cat"


async def test_unwanted_wanted_undo_write_journal_records(triage) -> None:  # type: ignore[no-untyped-def]
    make, session = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        first = s.state.items[s.page[0]]
        await pilot.press("x")
        assert records(session)[-1] == {**records(session)[-1], "action": "unwanted", "path": first.path,
                                        "digest": first.digest, "label": "cat", "by": "person"}
        assert s.slot == 1  # focus moves on
        second = s.state.items[s.page[1]]
        await pilot.press("w")
        assert records(session)[-1]["action"] == "wanted" and records(session)[-1]["path"] == second.path
        await pilot.press("u")
        assert records(session)[-1]["action"] == "unmarked" and records(session)[-1]["undoes"] == 2
        assert s.state.mark_of(s.page[1]) == "undecided" and s.state.mark_of(s.page[0]) == "unwanted"
        await pilot.press("left", "left", "x")  # the same key again takes the mark back
        assert s.state.mark_of(s.page[0]) == "undecided"
        assert app.marked and app.marked[0].action == "unwanted"


async def test_page_wanted_except_marked(triage) -> None:  # type: ignore[no-untyped-def]
    make, session = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        page = list(s.page)
        await pilot.press("x")
        await pilot.press("W")
        assert [s.state.mark_of(i) for i in page] == ["unwanted"] + ["wanted"] * 5
        last = [r for r in records(session) if r["batch"] == records(session)[-1]["batch"]]
        assert len(last) == 5 and {r["action"] for r in last} == {"wanted"}
        assert s.first == 6  # moved to the next page
        await pilot.press("u")
        assert [s.state.mark_of(i) for i in page] == ["unwanted"] + ["undecided"] * 5


async def test_relabel_key_chooses_a_label(triage) -> None:  # type: ignore[no-untyped-def]
    make, session = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        item = s.state.items[s.page[0]]
        await pilot.press("r")
        assert isinstance(app.screen, LabelChooser)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TriageScreen)
        rec = records(session)[-1]
        assert rec["action"] == "relabel" and rec["to"] == "dog" and rec["path"] == item.path
        assert s.state.relabel_to(s.page[0]) == "dog"
        await pilot.press("r", "escape")
        assert records(session)[-1] == rec  # cancelled: nothing written


async def test_filters_zoom_and_suggest(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        await pilot.press("x")
        await pilot.press("3")
        assert s.filter == "unwanted" and len(s.view) == 1
        await pilot.press("2")
        assert s.filter == "undecided" and len(s.view) == 7
        await pilot.press("v")
        assert s.filter == "unwanted"
        await pilot.press("1", "z")
        assert isinstance(app.screen, TriageZoom)
        await pilot.press("escape")
        assert isinstance(app.screen, TriageScreen)
        await pilot.press("right", "w", "s")
        assert s.filter == "suggested" and s.state.probability is not None and len(s.view) == 6


async def test_resumes_at_the_first_unmarked_picture(triage) -> None:  # type: ignore[no-untyped-def]
    make, session = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("W")  # six marked wanted
    again = make()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(again)
        assert s.label == "cat" and s.first == 6 and s.slot == 0


async def test_read_only_records_nothing(triage) -> None:  # type: ignore[no-untyped-def]
    make, session = triage
    app = make(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("x", "w", "W")
    assert records(session) == []


async def test_title_counts_follow_marks_and_undo(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)

        def title() -> str:
            return str(s.query_one("#triage-title").render())

        assert "0 of 8 marked" in title()
        await pilot.press("x")
        assert "1 of 8 marked" in title()
        await pilot.press("W")
        assert "6 of 8 marked" in title()
        await pilot.press("u")
        assert "1 of 8 marked" in title()
        await pilot.press("u")
        assert "0 of 8 marked" in title()


def grid_text(app: TriageApp) -> str:
    """The characters the grid shows (no styles), row by row."""
    grid = screen_of(app).grid
    return "\n".join(grid.render_line(y).text for y in range(grid.size.height))


async def test_grid_draws_each_tile_with_its_mark_position_and_focus(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        text = grid_text(app)
        assert text.count("┏") == 1 and text.count("╭") == 5  # one focused tile, five more
        first = s.state.items[s.page[0]]
        assert first.name[:10] in text and " 1 " in text and " 6 " in text
        await pilot.press("x")  # marked unwanted, the focus moves on
        text = grid_text(app)
        assert "UNWANTED" in text and text.count("┏") == 1
        assert s.grid.current == 1
        await pilot.press("r", "enter")
        await pilot.pause()
        assert "→ dog" in grid_text(app)
        await pilot.press("n")
        text = grid_text(app)
        assert " 7 " in text and " 8 " in text and text.count("╭") + text.count("┏") == 2


async def test_page_change_is_one_repaint_and_a_mark_repaints_only_its_tiles(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        grid = s.grid
        paints = grid.paints
        top, second = grid.render_line(0), grid.render_line(TILE_HEIGHT)
        await pilot.press("x")  # two tiles of the first row change: no full repaint
        assert grid.paints == paints
        assert grid.render_line(0) is not top and grid.render_line(TILE_HEIGHT) is second
        await pilot.press("n")
        assert grid.paints == paints + 1


async def test_clicking_a_tile_focuses_it_and_a_double_click_zooms(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        region = s.grid.region
        await pilot.click(offset=(region.x + TILE_WIDTH + 3, region.y + TILE_HEIGHT + 3))
        assert s.slot == 4
        await pilot.double_click(offset=(region.x + 3, region.y + 3))
        await pilot.pause()
        assert isinstance(app.screen, TriageZoom)


async def test_tiles_show_their_pictures_once_rendered(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        s = screen_of(app)
        for _ in range(100):
            await pilot.pause(0.05)
            if all(s.grid.pictures.get(k) is not None for k in range(6)):
                break
        assert all(s.grid.pictures.get(k) is not None for k in range(6))
        text = grid_text(app)
        assert "▀" in text and "…" not in text


async def test_tile_pictures_carry_their_terminal_codes_from_the_workers(triage, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The tiles' half-cell cells come with their SGR codes for the app's terminal (worked out in the
    thumbnail workers), the same codes Textual would write: the UI thread computes none per page."""
    from rich.color import ColorSystem
    from textual.strip import Strip

    monkeypatch.setenv("COLORTERM", "truecolor")
    make, _ = triage
    app = make()
    assert app.canvas.color_system == app.console.color_system == "truecolor"
    async with app.run_test(size=SIZE) as pilot:
        s = screen_of(app)
        for _ in range(100):
            await pilot.pause(0.05)
            if all(s.grid.pictures.get(k) is not None for k in range(6)):
                break
        pictures = [s.grid.pictures[k] for k in range(6)]
    styles = [seg.style for r in pictures if r is not None for strip in r.strips for seg in strip if seg.style]
    assert styles and all(st._ansi for st in styles)
    for st in styles[:50]:
        ready = st._ansi
        st._ansi = None
        Strip.render_ansi.cache_clear()
        assert Strip.render_ansi(st, ColorSystem.TRUECOLOR) == ready


async def test_sixel_tiles_draw_one_picture_each_inside_their_tile(triage) -> None:  # type: ignore[no-untyped-def]
    make, _ = triage
    app = make(graphics="sixel")
    async with app.run_test(size=SIZE) as pilot:
        s = screen_of(app)
        for _ in range(100):
            await pilot.pause(0.05)
            if all(s.grid.pictures.get(k) is not None for k in range(6)):
                break
        grid = s.grid
        strips = grid.render_lines(Region(0, 0, grid.size.width, grid.size.height))
        sixels = [seg.text for strip in strips for seg in strip if seg.text.startswith("\x1b7")]
        assert len(sixels) == 6 and all("\x1bP" in t for t in sixels)
        for k in range(6):  # each picture inside its own tile's frame
            assert grid.tile_region(k).contains_region(grid.picture_region(k))


def test_caption_lines_fit_the_tile_with_an_ellipsis() -> None:
    from rich.style import Style

    from imgreview.tui.widgets.triage_grid import runs_strip

    long = runs_strip([("a-very-long-file-name-of-a-picture.jpg", "bold")], 22, Style())
    assert long.cell_length == 22 and long.text.endswith("…") and long.text.startswith("a-very-long")
    wide = runs_strip([("写真写真写真写真写真写真写真.jpg", "")], 22, Style())
    assert wide.cell_length == 22
    short = runs_strip([(" UNWANTED ", "bold white on red"), (" ", ""), ("dark", "bold magenta")], 22, Style())
    assert short.text.rstrip() == " UNWANTED  dark" and short.cell_length == 22


async def test_sixel_pictures_reach_the_terminal_after_marks_and_late_arrivals(triage) -> None:  # type: ignore[no-untyped-def]
    """What the app writes to the terminal (not only what the widget renders) carries every tile's picture:
    pictures arriving after the first paint and tiles repainted by a mark keep their Sixel."""
    make, _ = triage
    app = make(graphics="sixel")
    written: list[str] = []
    real = app._display

    def display(screen, renderable) -> None:  # type: ignore[no-untyped-def]
        # headless, Textual encodes nothing for the terminal: encode every screen update here
        if hasattr(renderable, "render_segments"):
            written.append(renderable.render_segments(app.console))
        real(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        s = screen_of(app)
        for _ in range(100):
            await pilot.pause(0.05)
            if all(s.grid.pictures.get(k) is not None for k in range(6)):
                break
        await pilot.pause(0.2)
        sixel = {k: s.grid.pictures[k].sixel for k in range(6)}  # type: ignore[union-attr]
        out = "".join(written)
        assert all(sixel[k] in out for k in range(6))
        written.clear()
        await pilot.press("x")  # the first row repaints: its pictures are drawn again
        await pilot.pause(0.2)
        out = "".join(written)
        assert sixel[0] in out and sixel[1] in out


async def test_aliases_previous_page_flagged_filter_and_quit(triage) -> None:  # type: ignore[no-untyped-def]
    make, session = triage
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        s = screen_of(app)
        await pilot.press("d")
        assert records(session)[-1]["action"] == "unwanted"
        await pilot.press("delete")
        assert records(session)[-1]["action"] == "unwanted" and s.state.mark_of(s.page[1]) == "unwanted"
        await pilot.press("k")
        assert records(session)[-1]["action"] == "wanted"
        await pilot.press("space")
        assert s.first == 6
        await pilot.press("p")
        assert s.first == 0
        await pilot.press("pagedown", "pageup")
        assert s.first == 0
        await pilot.press("4")  # flagged: the generated scenes carry no quality flag
        assert s.filter == "flagged" and s.view == [i for i in s.state.view("cat") if s.state.items[i].issues]
        await pilot.press("1", "tab")
        assert s.label == "dog"
        await pilot.press("shift+tab")
        assert s.label == "cat"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None) and not app.is_running
