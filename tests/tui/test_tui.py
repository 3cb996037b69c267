"""Review TUI: every binding and its journal effect (Pilot), filters, screens, stale/truncated journals."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from imgreview.model import Group, Member, ScanResult
from imgreview.session.journal import Change, Journal
from imgreview.tui.app import ReviewApp
from imgreview.tui.keys import KEYS
from imgreview.tui.pictures import Canvas
from imgreview.tui.screens.confirm import ConfirmScreen
from imgreview.tui.screens.help import HelpScreen, help_table
from imgreview.tui.screens.zoom import CompareScreen, FlipScreen, ZoomScreen
from imgreview.tui.state import ReviewState, order_groups
from imgreview.tui.widgets.cards import CardGrid
from imgreview.tui.widgets.group_list import GroupList
from tests.helpers.imagegen import brightened, resized, save, scene

SIZE = (150, 42)


def help_rendered() -> str:
    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(help_table())
    return console.export_text()


def _member(path: Path, root: Path, digest: str, distance: int = 0, exact: bool = False,
            size: int | None = None, mtime: float = 1_700_000_000.0, label: str | None = None,
            split: str | None = None) -> Member:
    from PIL import Image

    with Image.open(path) as im:
        w, h, fmt = im.width, im.height, im.format or ""
    return Member(path=str(path), digest=digest, distance=distance, size=size or path.stat().st_size,
                  width=w, height=h, format=fmt, mode="RGB", mtime=mtime, root=str(root), exact=exact,
                  label=label, split=split)


def make_result(root: Path) -> ScanResult:
    """Four groups: exact pair (g-exact), near triple (g-near), label conflict (g-conf), split leak (g-leak)."""
    a = scene(1)
    pa = save(a, root / "train" / "cat" / "a.png")
    pa2 = save(a, root / "train" / "cat" / "a_copy.png")
    b = scene(2)
    pb = save(b, root / "train" / "dog" / "b.png")
    pb_small = save(resized(b, 0.5), root / "train" / "dog" / "b_small.jpg", quality=85)
    pb_bright = save(brightened(b), root / "train" / "dog" / "b_bright.jpg", quality=85)
    c = scene(3)
    pc = save(c, root / "train" / "cat" / "c.png")
    pc2 = save(c, root / "train" / "dog" / "c.png")
    d = scene(4)
    pd = save(d, root / "train" / "bird" / "d.png")
    pd2 = save(resized(d, 0.8), root / "test" / "bird" / "d.jpg", quality=90)
    groups = [
        Group("g-exact", "exact", 0, str(pa), [
            _member(pa, root, "da", exact=True, mtime=1_600_000_000.0),
            _member(pa2, root, "da", exact=True)]),
        Group("g-near", "near", 4, str(pb), [
            _member(pb, root, "db"),
            _member(pb_small, root, "db-small", distance=2),
            _member(pb_bright, root, "db-bright", distance=4)]),
        Group("g-conf", "exact", 0, str(pc), [
            _member(pc, root, "dc", exact=True, label="cat", split="train"),
            _member(pc2, root, "dc", exact=True, label="dog", split="train")], label_conflict=True),
        Group("g-leak", "near", 3, str(pd), [
            _member(pd, root, "dd", label="bird", split="train"),
            _member(pd2, root, "dd-small", distance=3, label="bird", split="test")], split_leak=True),
    ]
    return ScanResult(roots=[str(root)], settings={}, stats={}, groups=groups, errors=[])


@pytest.fixture
def review(tmp_path: Path):
    root = tmp_path / "data"
    result = make_result(root)
    journal_path = tmp_path / "journal.jsonl"

    def build(read_only: bool = False, prefer: tuple[str, ...] | None = None, advance: bool = False,
              mode: str = "halfcell") -> ReviewApp:
        journal = Journal(journal_path, read_only=read_only)
        state = ReviewState(result, journal, prefer)
        return ReviewApp(state, Canvas(mode), read_only=read_only, notes=journal.warnings, advance=advance)

    build.journal_path = journal_path  # type: ignore[attr-defined]
    build.result = result  # type: ignore[attr-defined]
    return build


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def current_id(app: ReviewApp) -> str:
    assert app.review.group is not None
    return app.review.group.id


async def settle(pilot, seconds: float = 0.0) -> None:
    await pilot.pause()
    if seconds:
        await asyncio.sleep(seconds)
        await pilot.pause()


async def pictures(app: ReviewApp, pilot) -> None:
    for _ in range(200):
        await pilot.pause()
        if app.review.pictures_loaded:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("pictures did not load")


def grid_text(app: ReviewApp) -> str:
    grid = app.review.grid
    return "\n".join(grid.render_line(y).text for y in range(grid.size.height))


# ---------------------------------------------------------------------------- ordering and start


def test_conflict_and_leak_groups_come_first(tmp_path: Path) -> None:
    result = make_result(tmp_path / "data")
    assert [g.id for g in order_groups(result.groups)] == ["g-conf", "g-leak", "g-exact", "g-near"]


async def test_opens_at_first_undecided_group_on_the_suggested_keeper(review) -> None:
    Journal(review.journal_path).decide([Change(m.path, m.digest, "keep") for m in review.result.groups[2].members],
                                        group="g-conf")
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        r = app.review
        assert current_id(app) == "g-leak"  # g-conf (first in order) is decided
        assert [c.member.path for c in r.grid.cards] == [m.path for m in review.result.groups[3].members]
        assert "1/4 groups decided" in str(app.screen.query_one("#progress").render())
        # focus starts on the suggested keeper (the full-size PNG, not the smaller JPEG)
        assert r.state.suggested(r.current) == 0 and r.member == 0
        text = grid_text(app)
        assert "★ suggested" in text and "1 of 2" in text and "2 of 2" in text
        assert "reference" not in text.lower()


async def test_pictures_are_rendered_off_the_ui_thread_and_prefetched(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        r = app.review
        assert app.thumbs.renders >= 2
        image = app.thumbs.get(r.group.members[0].path, r.group.members[0].digest)
        assert image is not None and max(image.size) <= 480  # a thumbnail, not the original
        # the next group's pictures were rendered for its layout before it is shown
        nxt = r.state.groups[r.order[1]]
        cols, rows = r._box(r.order[1])
        for _ in range(100):
            if all(app.thumbs.member_picture(m.path, m.digest, cols, rows) is not None for m in nxt.members):
                break
            await asyncio.sleep(0.05)
        await pilot.press("j")
        assert r.pictures_loaded  # on screen with its pictures at once


async def test_the_first_group_renders_at_its_laid_out_size_before_anything_else(review, monkeypatch) -> None:
    """Start-up: the first group's files are decoded while Textual starts, its pictures are rendered
    only once the grid has its size (never for a grid of no size), and the next groups' pictures and
    the picture-based suggestion are asked for only after the first group's pictures are on screen."""
    from imgreview.tui.thumbs import ThumbnailCache

    events: list[tuple[str, str, tuple[int, int] | None]] = []
    real_request = ThumbnailCache.request_member
    real_prefetch = ThumbnailCache.prefetch
    real_submit = ThumbnailCache.submit
    app_box: dict[str, object] = {}

    def request_member(self, path, digest, cols, rows, dim=False, **kw):  # type: ignore[no-untyped-def]
        loaded = app_box["app"].review.pictures_loaded if "app" in app_box else None  # type: ignore[attr-defined]
        events.append(("picture", path, (cols, rows), loaded))
        return real_request(self, path, digest, cols, rows, dim, **kw)

    def prefetch(self, items, size=480):  # type: ignore[no-untyped-def]
        items = list(items)
        events.extend(("decode", p, None, None) for p, _ in items)
        return real_prefetch(self, items, size)

    def submit(self, fn):  # type: ignore[no-untyped-def]
        loaded = app_box["app"].review.pictures_loaded if "app" in app_box else None  # type: ignore[attr-defined]
        events.append(("job", "", None, loaded))
        return real_submit(self, fn)

    holds: list[int] = []
    real_hold = ThumbnailCache.hold

    def hold(self):  # type: ignore[no-untyped-def]
        holds.append(1)
        return real_hold(self)

    monkeypatch.setattr(ThumbnailCache, "request_member", request_member)
    monkeypatch.setattr(ThumbnailCache, "prefetch", prefetch)
    monkeypatch.setattr(ThumbnailCache, "submit", submit)
    monkeypatch.setattr(ThumbnailCache, "hold", hold)
    app = review()
    first = [m.path for m in review.result.groups[2].members]  # g-conf comes first
    assert [e[1] for e in events] == first and all(e[0] == "decode" for e in events)  # before the app runs
    app_box["app"] = app
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        r = app.review
        box = r._box(r.current)
        for _ in range(100):
            if any(e[0] == "job" for e in events):
                break
            await asyncio.sleep(0.02)
        await settle(pilot)
        assert not app.thumbs.held  # every repaint released the renders it held back
        assert not holds  # the first group's own renders are not held back for its repaint
        await pilot.press("j")
        await settle(pilot)
        assert not app.thumbs.held
        assert holds  # a later group's repaint holds the prefetch back
    asked = [e for e in events if e[0] == "picture"]
    assert asked and all(e[2] not in ((0, 0), (1, 1)) for e in asked)  # never for a grid of no size
    own = [k for k, e in enumerate(asked) if e[1] in first]
    others = [k for k, e in enumerate(asked) if e[1] not in first]
    assert own and others and max(own[:len(first)]) < min(others)
    assert all(e[2] == box for e in asked if e[1] in first)
    assert all(e[3] for e in asked[min(others):] if e[1] not in first)  # the first group's were on screen
    jobs = [e for e in events if e[0] == "job"]
    assert jobs and jobs[0][3]  # the suggestion with pictures waited for the pictures too


async def test_the_suggestion_from_pictures_is_made_in_a_worker_and_redraws_the_star(review, monkeypatch) -> None:
    """The medoid/black-corner/border checks decode nothing on the UI thread; when they change the
    star (here: the brightest copy's border), the cards are redrawn with the new one."""
    import threading

    import imgreview.tui.state as state_module

    calls: list[tuple[bool, bool]] = []  # (with pictures, on the UI thread)
    real = state_module.suggest

    def spy(members, prefer=None, **kw):
        calls.append((kw.get("pictures") is not None, threading.current_thread() is threading.main_thread()))
        return real(members, prefer, **kw)

    monkeypatch.setattr(state_module, "suggest", spy)
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        r = app.review
        await pilot.press("G")  # g-near: three members
        await pictures(app, pilot)
        for _ in range(100):
            if r.state.has_picture_suggestion(r.current):
                break
            await asyncio.sleep(0.05)
        assert r.state.has_picture_suggestion(r.current)
        for _ in range(100):  # the JPEG quality read with the thumbnails reaches the cards
            await settle(pilot, 0.02)
            if grid_text(app).count("q85") == 2:
                break
        assert grid_text(app).count("q85") == 2  # b_small.jpg and b_bright.jpg
        with_pictures = [ui for pics, ui in calls if pics]
        assert with_pictures and not any(with_pictures)  # only ever in worker threads
        await settle(pilot)
        star = [c.index for c in r.grid.cards if c.suggested]
        assert star == ([] if r.state.suggested(r.current) is None else [r.state.suggested(r.current)])


# ---------------------------------------------------------------------------- decisions


async def test_keep_delete_toggle_and_focus_keys_by_a_person(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        r = app.review
        g = r.group
        assert g is not None and g.id == "g-conf"
        await pilot.press("y")  # keep the focused (suggested, first) picture
        await pilot.press("l", "x")
        await settle(pilot)
        recs = records(review.journal_path)
        assert [(r_["action"], r_["path"]) for r_ in recs] == [("keep", g.members[0].path),
                                                              ("delete", g.members[1].path)]
        assert all(r_["by"] == "person" and r_["group"] == "g-conf" for r_ in recs)
        assert r.grid.cards[1].action == "delete" and r.grid.focus_index == 1
        assert "DELETE" in grid_text(app)
        assert r.state.status[r.current].decided
        await pilot.press("t")  # delete -> keep
        await pilot.press("h", "delete")  # back to the first picture; Del marks delete
        await settle(pilot)
        recs = records(review.journal_path)
        assert [(r_["action"], r_["path"]) for r_ in recs[2:4]] == [("keep", g.members[1].path),
                                                                   ("delete", g.members[0].path)]


async def test_delete_in_a_pair_keeps_the_other(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        g = app.review.group
        await pilot.press("d")
        await settle(pilot)
        recs = records(review.journal_path)
        assert {r_["path"]: r_["action"] for r_ in recs} == {g.members[0].path: "delete", g.members[1].path: "keep"}
        assert len({r_["batch"] for r_ in recs}) == 1


async def test_keep_only_this(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("G")  # g-near
        assert current_id(app) == "g-near"
        await pilot.press("l", "o")
        await settle(pilot)
        recs = records(review.journal_path)
        assert len({r_["batch"] for r_ in recs}) == 1
        g = app.review.group
        kept = [r_["path"] for r_ in recs if r_["action"] == "keep"]
        assert len(kept) == 1 and kept[0] == g.members[app.review.member].path


async def test_accept_is_a_persons_decision(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        await pilot.press("G")  # g-near: original PNG, a half-size JPEG and a brightened JPEG
        await pictures(app, pilot)
        assert app.review.state.suggested(app.review.current) == 0
        await pilot.press("a")
        await settle(pilot)
        recs = records(review.journal_path)
        keep = [r_["path"] for r_ in recs if r_["action"] == "keep"]
        assert keep == [app.review.group.members[0].path]
        assert all(r_["by"] == "person" for r_ in recs)  # a key pressed by a person


async def test_accept_with_prefer_rules(review) -> None:
    app = review(prefer=("smallest", "pixels", "size", "oldest", "shortest"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("end")  # g-near: the smallest file is the half-size JPEG
        await pilot.press("a")
        await settle(pilot)
        keep = [r_["path"] for r_ in records(review.journal_path) if r_["action"] == "keep"]
        assert keep == [app.review.group.members[1].path]


async def test_accept_all_exact_asks_first_and_skips_conflicts_and_leaks(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "label conflict or a split leak" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert records(review.journal_path) == []
        await pilot.press("A")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        recs = records(review.journal_path)
        assert len({r_["batch"] for r_ in recs}) == 1  # one undoable batch
        assert {r_["group"] for r_ in recs} == {"g-exact"}  # g-conf (exact, label conflict) is left alone
        assert all(r_["by"] == "person" for r_ in recs)
        assert app.review.state.decided_groups == 1
        await pilot.press("u")  # one undo takes the whole batch back
        await settle(pilot)
        assert app.review.state.decided_groups == 0


async def test_not_duplicates_keeps_all_and_records_distinct(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        recs = records(review.journal_path)
        assert recs[0]["action"] == "distinct" and recs[0]["group"] == "g-conf"
        assert [r_["action"] for r_ in recs[1:]] == ["keep", "keep"]
        r = app.review
        assert r.state.status[r.current].distinct
        assert "NOT duplicates" in str(app.screen.query_one("#group-title").render())


async def test_auto_advance_after_a_group_is_decided(review) -> None:
    app = review(advance=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert current_id(app) == "g-conf"
        await pilot.press("a")  # decided: on to the next undecided group
        await settle(pilot)
        assert current_id(app) == "g-leak"
        await pilot.press("d")  # a pair: delete one keeps the other, decided, on again
        await settle(pilot)
        assert current_id(app) == "g-exact"
        await pilot.press("G")  # g-near, three files: one decision does not finish it
        await pilot.press("y")
        await settle(pilot)
        assert current_id(app) == "g-near"
        assert app.review.state.status[app.review.current].touched
        assert "partly decided" in str(app.screen.query_one("#group-title").render())
        from imgreview.tui.widgets.group_list import group_row
        assert "".join(seg.text for seg in group_row(app.review.state, app.review.current)).startswith("◐")
        await pilot.press("l", "d", "l", "d")  # the last undecided file: decided, on to g-exact
        await settle(pilot)
        assert current_id(app) == "g-exact"


async def test_undo_jumps_to_the_group_it_changed_and_says_so(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        r = app.review
        assert r.state.delete_files == 1
        await pilot.press("G")
        assert current_id(app) == "g-near"
        await pilot.press("u")
        await settle(pilot)
        assert current_id(app) == "g-conf"  # where the undone decision was
        assert r.state.delete_files == 0 and r.state.decided_groups == 0
        assert any("Undone" in n.message and "g-conf" in n.message for n in app._notifications)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert r.state.delete_files == 1
        await pilot.press("u", "U")
        await settle(pilot)
        assert r.state.delete_files == 1


async def test_read_only_records_nothing(review) -> None:
    app = review(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y", "a", "s")
        await settle(pilot)
        assert records(review.journal_path) == []
        assert "READ-ONLY" in str(app.screen.query_one("#progress").render())
        assert any("not recorded" in n.message.lower() for n in app._notifications)


# ---------------------------------------------------------------------------- moving and filters


async def test_group_navigation_keys_vim_and_pager(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = [current_id(app)]
        for key in ("j", "down", "n", "k", "up", "p", "G", "g", "space", "end", "home"):
            await pilot.press(key)
            seen.append(current_id(app))
        assert seen == ["g-conf", "g-leak", "g-exact", "g-near", "g-exact", "g-leak", "g-conf", "g-near",
                        "g-conf", "g-leak", "g-near", "g-conf"]


async def test_next_undecided_skips_decided_groups(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "a")  # decide g-leak
        await pilot.press("g")
        await pilot.press("tab")
        assert current_id(app) == "g-exact"  # g-leak is decided
        await pilot.press("shift+tab")
        assert current_id(app) == "g-conf"


async def test_find_jumps_to_a_path(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"b_bright", "enter")
        await settle(pilot)
        assert current_id(app) == "g-near"
        assert app.review.group.members[app.review.member].path.endswith("b_bright.jpg")


async def test_filters_keep_the_place(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        r = app.review
        await pilot.press("a")  # decide g-conf
        await pilot.press("G", "l")  # g-near, second picture
        await pilot.press("2")
        assert r.filter == "undecided"
        assert [r.state.groups[gi].id for gi in r.order] == ["g-leak", "g-exact", "g-near"]
        assert current_id(app) == "g-near" and r.member == 1  # still here
        await pilot.press("3")  # g-near is not decided: the nearest decided group
        assert [r.state.groups[gi].id for gi in r.order] == ["g-conf"]
        assert current_id(app) == "g-conf"
        await pilot.press("5")
        assert [r.state.groups[gi].id for gi in r.order] == ["g-leak"]
        await pilot.press("v")  # cycles back to all, still on g-leak
        assert r.filter == "all" and len(r.order) == 4 and current_id(app) == "g-leak"


async def test_group_list_click_and_card_click(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click(GroupList, offset=(5, 2))  # third row
        await settle(pilot)
        assert current_id(app) == "g-exact"
        grid = app.review.grid
        second = grid._placed[1].region
        await pilot.click(CardGrid, offset=(second.x + 3, second.y + 3))
        await settle(pilot)
        assert app.review.member == 1
        await pilot.click(CardGrid, offset=(second.x + 3, second.y + 3), times=2)
        await settle(pilot)
        assert isinstance(app.screen, ZoomScreen)


async def footer_keys(app: ReviewApp, pilot) -> str:
    for _ in range(200):
        await pilot.pause()
        keys = app.screen.query("FooterKey")
        if keys:
            return " ".join(str(w.render()) for w in keys)
        await asyncio.sleep(0.02)
    raise AssertionError("no footer")


async def test_the_footer_comes_after_the_first_pictures_in_the_row_kept_for_it(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        grid = app.review.grid
        size = grid.size
        shown = {k: grid.pictures[k] for k in grid.shown_members()}
        keys = await footer_keys(app, pilot)
        assert "help" in keys and "quit" in keys and "next" in keys
        assert grid.size == size  # its row was there from the start: nothing moved
        assert all(grid.pictures[k] is r for k, r in shown.items())  # and no picture was made again
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")  # before the first pictures: the keys work without the footer
        await pictures(app, pilot)
        assert current_id(app) == "g-leak"
        assert "help" in await footer_keys(app, pilot)
    app = review(mode="none")  # no pictures to wait for
    async with app.run_test(size=SIZE) as pilot:
        assert "quit" in await footer_keys(app, pilot)


async def test_start_up_shows_the_first_group_once_and_asks_its_pictures_at_the_laid_out_size(
        review, monkeypatch: pytest.MonkeyPatch) -> None:
    shows: list[int] = []
    show = CardGrid.show

    def counted(self, cards, *args, **kwargs):  # type: ignore[no-untyped-def]
        shows.append(len(cards))
        show(self, cards, *args, **kwargs)

    monkeypatch.setattr(CardGrid, "show", counted)
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        grid = app.review.grid
        assert shows == [2]  # before the layout; the grid placed its cards when first drawn
        assert app.review._shown_size == (grid.size.width, grid.size.height)
        pw, ph = grid.layout_now.picture
        assert all(0 < p.rendered.cols <= pw and 0 < p.rendered.rows <= ph for p in grid._placed if p.rendered)
        assert current_id(app) == "g-conf"  # the first undecided group, on its suggested keeper
        await pilot.resize_terminal(SIZE[0] - 20, SIZE[1])  # a real resize still shows the group again
        await pictures(app, pilot)
        await settle(pilot)
        assert len(shows) == 2 and app.review._shown_size == (grid.size.width, grid.size.height)


async def test_narrow_terminal_hides_the_list_and_keeps_help_and_quit(review) -> None:
    app = review()
    async with app.run_test(size=(80, 24)) as pilot:
        await pictures(app, pilot)
        r = app.review
        assert not r.group_list.display  # 80 columns: the list hides itself
        footer = await footer_keys(app, pilot)  # put in once the first pictures are on screen
        assert "help" in footer and "quit" in footer
        await pilot.press("G")  # three cards fit next to each other or in a grid, all on screen
        await pictures(app, pilot)
        assert sorted(r.grid.shown_members()) == [0, 1, 2]
        await pilot.press("b")  # the list on demand
        await settle(pilot)
        assert r.group_list.display
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.review.group_list.display


async def test_big_group_pages_with_the_star_pinned(tmp_path: Path) -> None:
    root = tmp_path / "data"
    base = scene(7, (320, 200))
    members = []
    for k in range(10):
        p = save(resized(base, 1.0 if k == 6 else 0.9), root / f"p{k}.png")
        members.append(_member(p, root, f"d{k}", distance=k))
    result = ScanResult(roots=[str(root)], settings={}, stats={},
                        groups=[Group("g-big", "near", 9, members[0].path, members)], errors=[])
    app = ReviewApp(ReviewState(result, Journal(tmp_path / "j.jsonl")), Canvas("halfcell"), advance=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        r = app.review
        assert r.state.suggested(0) == 6 and r.member == 6  # the only full-size copy
        shown = r.grid.shown_members()
        assert len(shown) < 10 and shown[0] == 6
        for _ in range(9):
            await pilot.press("l")
            assert 6 in r.grid.shown_members()  # the ★ never leaves the screen
            assert r.member in r.grid.shown_members()


# ---------------------------------------------------------------------------- cards


async def test_missing_and_unreadable_files_say_so_on_the_card(review) -> None:
    g = review.result.groups[1]  # g-near
    Path(g.members[1].path).unlink()
    Path(g.members[2].path).write_bytes(b"\xff\xd8 not a jpeg any more")
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("G")
        await pictures(app, pilot)
        await settle(pilot, 0.1)
        text = grid_text(app)
        assert "MISSING SINCE THE SCAN" in text
        assert "unreadable" in text


async def test_quality_flags_of_the_scan_are_badges_on_the_cards_and_in_zoom(review) -> None:
    g = review.result.groups[2]  # g-conf, first on screen
    review.result.quality = [
        {"path": g.members[1].path, "issues": ["dark", "low_information"], "scores": {}},
        {"path": "/elsewhere/not-in-a-group.png", "issues": ["blurry"], "scores": {}},
    ]
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert current_id(app) == "g-conf"
        lines = grid_text(app).splitlines()
        flagged = [line for line in lines if "dark" in line]
        assert len(flagged) == 1 and "low information" in flagged[0]  # one card, both flags
        assert "blurry" not in grid_text(app)
        r = app.review
        r.grid.set_focus(r.grid.position_of(1))
        await pilot.press("z")
        await settle(pilot)
        text = str(app.screen.query_one("#zoom-text").render())
        assert "dark" in text and "low information" in text
        await pilot.press("escape", "h")
        await settle(pilot)
        r.grid.set_focus(r.grid.position_of(0))
        await pilot.press("z")
        await settle(pilot)
        assert "dark" not in str(app.screen.query_one("#zoom-text").render())


async def test_stale_decision_is_shown_not_applied(review) -> None:
    g = review.result.groups[2]  # g-conf, first on screen
    Journal(review.journal_path).decide([Change(g.members[0].path, "old-content", "delete")], group="g-conf")
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        r = app.review
        assert current_id(app) == "g-conf"
        assert r.grid.cards[0].action == "stale"
        assert "STALE" in grid_text(app)
        assert r.state.delete_files == 0  # not silently applied
        assert not r.state.status[r.current].decided


# ---------------------------------------------------------------------------- screens


async def test_zoom_flip_compare_help_screens(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        r = app.review
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, ZoomScreen)
        text = str(app.screen.query_one("#zoom-text").render())
        assert "cat/train" in text and "digest" in text
        await pilot.press("l", "d")  # zoom's own keys (in a pair: the other is kept)
        await settle(pilot)
        deleted = [r_["path"] for r_ in records(review.journal_path) if r_["action"] == "delete"]
        assert deleted == [r.state.groups[r.current].members[1].path]
        await pilot.press("j")  # not a zoom key: must not move the group behind
        assert current_id(app) == "g-conf"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is r
        assert r.member == 1  # zoom left off at picture 2
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FlipScreen)
        flip = app.screen
        await pilot.press("space")  # pause
        assert flip.paused
        first = flip.shown()
        await pilot.press("full_stop")  # `.` swaps even when paused
        assert flip.shown() != first
        await pilot.press("full_stop")
        assert flip.shown() == first
        await pilot.press("escape")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("escape")
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = help_rendered()
        assert all(k.help in help_text for k in KEYS)  # every key is documented
        await pilot.press("y")  # not recorded while help is open
        await pilot.press("question_mark")
        await settle(pilot)
        assert len(records(review.journal_path)) == 2


async def test_full_screens_are_opaque(review) -> None:
    """Pictures must not show through: every pushed screen paints its whole area."""
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, cls in (("z", ZoomScreen), ("question_mark", HelpScreen), ("A", ConfirmScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, cls)
            assert app.screen.styles.background.a == 1.0
            await pilot.press("escape")
            await settle(pilot)


async def test_quit_key(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
    assert app.return_code == 0


# ---------------------------------------------------------------------------- journal edge cases


async def test_truncated_journal_is_replayed_with_a_warning(review) -> None:
    g = review.result.groups[2]
    Journal(review.journal_path).decide([Change(g.members[1].path, "dc", "delete")], group="g-conf")
    with open(review.journal_path, "ab") as fh:
        fh.write(b'{"action": "keep", "path": "/x", "dig')  # crash mid-write
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.review.state.delete_files == 1
        assert any("truncated" in n.message for n in app._notifications)
        await pilot.press("y")  # new decisions still append cleanly
        await settle(pilot)
    j = Journal(review.journal_path)
    assert j.action_for(g.members[0].path, "dc") == "keep"
    assert j.action_for(g.members[1].path, "dc") == "delete"


async def test_journal_failure_is_reported(review, tmp_path: Path) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.review.state.journal.path = tmp_path / "missing-dir" / "journal.jsonl"  # cannot be written
        await pilot.press("y")
        await settle(pilot)
        assert any("NOT recorded" in n.message for n in app._notifications)
        assert app.review.state.decided_groups == 0


async def test_empty_state(tmp_path: Path) -> None:
    result = ScanResult(roots=[str(tmp_path)], settings={}, stats={}, groups=[], errors=[])
    app = ReviewApp(ReviewState(result, Journal(tmp_path / "j.jsonl")), Canvas("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "No duplicate groups here" in grid_text(app)
        await pilot.press("j", "y", "a", "tab", "z", "f", "c", "u", "A")  # nothing breaks, nothing recorded
        await settle(pilot)
        assert not (tmp_path / "j.jsonl").exists()


async def test_sixel_pictures_are_drawn_after_their_cells(review) -> None:
    """Sixel: every picture cell is written as a space in the frame, then the picture, once per picture."""
    from textual.geometry import Region

    app = review(mode="sixel")
    async with app.run_test(size=SIZE) as pilot:
        await pictures(app, pilot)
        grid = app.review.grid
        strips = grid.render_lines(Region(0, 0, grid.size.width, grid.size.height))
        sixels = [(y, seg.text) for y, st in enumerate(strips) for seg in st if "\x1bP" in seg.text]
        assert len(sixels) == len(grid.shown_members())
        for (y, text), placed in zip(sorted(sixels), sorted(grid._placed, key=lambda p: p.picture.bottom)):
            assert y == placed.picture.bottom - 1  # on the picture's last line
            assert text.startswith("\x1b7") and text.endswith("\x1b8")  # the cursor comes back
