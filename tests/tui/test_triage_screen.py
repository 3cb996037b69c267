"""The triage screen (Pilot): every key and the journal record it writes, paging, labels, filters, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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

    def make(read_only: bool = False) -> TriageApp:
        state = TriageState(load_items(session, session.load_result()), session.journal(read_only=read_only))
        return TriageApp(state, Canvas("halfcell"), read_only=read_only)

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
        assert sum(t.display for t in s.grid.tiles) == 6
        await pilot.press("n")
        assert s.first == 6 and sum(t.display for t in s.grid.tiles) == 2
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
