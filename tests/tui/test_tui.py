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
from imgreview.tui.graphics import choose_renderer
from imgreview.tui.keys import KEYS
from imgreview.tui.screens.confirm import ConfirmScreen
from imgreview.tui.screens.help import HelpScreen, help_table
from imgreview.tui.screens.zoom import FlipScreen, ZoomScreen
from imgreview.tui.state import ReviewState, order_groups
from imgreview.tui.widgets.card import ImageCard
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

    def build(read_only: bool = False, prefer: tuple[str, ...] | None = None) -> ReviewApp:
        journal = Journal(journal_path, read_only=read_only)
        state = ReviewState(result, journal, *([prefer] if prefer else []))
        return ReviewApp(state, choose_renderer("halfcell"), read_only=read_only, notes=journal.warnings)

    build.journal_path = journal_path  # type: ignore[attr-defined]
    build.result = result  # type: ignore[attr-defined]
    return build


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def current_id(app: ReviewApp) -> str:
    assert app.group is not None
    return app.group.id


async def settle(pilot, seconds: float = 0.0) -> None:
    await pilot.pause()
    if seconds:
        await asyncio.sleep(seconds)
        await pilot.pause()


# ---------------------------------------------------------------------------- ordering and start


def test_conflict_and_leak_groups_come_first(tmp_path: Path) -> None:
    result = make_result(tmp_path / "data")
    assert [g.id for g in order_groups(result.groups)] == ["g-conf", "g-leak", "g-exact", "g-near"]


async def test_opens_at_first_undecided_group_and_shows_cards(review) -> None:
    Journal(review.journal_path).decide([Change(m.path, m.digest, "keep") for m in review.result.groups[2].members],
                                        group="g-conf")
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert current_id(app) == "g-leak"  # g-conf (first in order) is decided
        cards = app.group_view.shown_cards
        assert [c.member.path for c in cards] == [m.path for m in review.result.groups[3].members]
        assert "1/4 groups decided" in str(app.query_one("#progress").render())


async def test_pictures_are_thumbnails_loaded_off_the_ui_thread(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(50):
            if all(c.picture.loaded for c in app.group_view.shown_cards):
                break
            await asyncio.sleep(0.05)
        cards = app.group_view.shown_cards
        assert cards and all(c.picture.loaded for c in cards)
        image = cards[0].picture.query_one(".image").image
        assert max(image.size) <= 480  # a thumbnail, not the original
        # the next group was prefetched
        nxt = app.state.groups[app.order[1]]
        for _ in range(50):
            if all(app.thumbs.get(m.path, m.digest) is not None for m in nxt.members):
                break
            await asyncio.sleep(0.05)
        assert all(app.thumbs.get(m.path, m.digest) is not None for m in nxt.members)


# ---------------------------------------------------------------------------- decisions


async def test_keep_delete_toggle_and_image_focus(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        g = app.group
        assert g is not None and g.id == "g-conf"
        await pilot.press("k")
        await pilot.press("right", "d")
        await settle(pilot)
        recs = records(review.journal_path)
        assert [(r["action"], r["path"]) for r in recs] == [("keep", g.members[0].path), ("delete", g.members[1].path)]
        assert all(r["by"] == "person" and r["group"] == "g-conf" for r in recs)
        cards = app.group_view.shown_cards
        assert cards[1].has_class("-delete") and cards[1].has_class("-focused")
        assert app.state.status[app.current].decided
        await pilot.press("space")  # delete -> keep
        await pilot.press("left", "l", "h", "delete")  # back to first image; Del marks delete
        await settle(pilot)
        recs = records(review.journal_path)
        assert [(r["action"], r["path"]) for r in recs[2:]] == [("keep", g.members[1].path),
                                                               ("delete", g.members[0].path)]


async def test_keep_only_this(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n", "n", "n")  # g-near
        assert current_id(app) == "g-near"
        await pilot.press("l", "o")
        await settle(pilot)
        recs = records(review.journal_path)
        assert len({r["batch"] for r in recs}) == 1
        g = app.group
        assert {r["path"]: r["action"] for r in recs} == {
            g.members[0].path: "delete", g.members[1].path: "keep", g.members[2].path: "delete"}


async def test_accept_suggestion_uses_prefer_order(review) -> None:
    app = review(prefer=("smallest", "pixels", "size", "oldest", "shortest"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("end")  # g-near: the smallest file is the half-size JPEG
        assert current_id(app) == "g-near"
        await pilot.press("a")
        await settle(pilot)
        recs = records(review.journal_path)
        keep = [r["path"] for r in recs if r["action"] == "keep"]
        assert keep == [app.group.members[1].path]
        assert all(r["by"] == "rule" and r["rule"].startswith("prefer:smallest") for r in recs)
        assert "suggested keeper" in str(app.group_view.shown_cards[1].facts.render())


async def test_accept_all_exact_asks_first(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert records(review.journal_path) == []
        await pilot.press("A")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        recs = records(review.journal_path)
        assert len({r["batch"] for r in recs}) == 1  # one undoable batch
        assert {r["group"] for r in recs} == {"g-exact", "g-conf"}  # only exact groups
        assert sorted(r["action"] for r in recs) == ["delete", "delete", "keep", "keep"]
        assert app.state.decided_groups == 2
        await pilot.press("u")  # one undo takes the whole batch back
        await settle(pilot)
        assert app.state.decided_groups == 0
        assert app.state.delete_files == 0


async def test_not_duplicates_keeps_all_and_records_distinct(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        recs = records(review.journal_path)
        assert recs[0]["action"] == "distinct" and recs[0]["group"] == "g-conf"
        assert [r["action"] for r in recs[1:]] == ["keep", "keep"]
        assert Journal(review.journal_path).distinct_pairs() == {("dc", "dc")} or \
            frozenset({"dc"}) in Journal(review.journal_path).distinct
        assert app.state.status[app.current].distinct
        assert "NOT duplicates" in str(app.query_one("#group-title").render())


async def test_undo_and_redo(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.state.delete_files == 1
        await pilot.press("u")
        await settle(pilot)
        assert app.state.delete_files == 0 and app.state.decided_groups == 0
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.state.delete_files == 1
        await pilot.press("u", "U")
        await settle(pilot)
        assert app.state.delete_files == 1
        recs = records(review.journal_path)
        assert [("undoes" in r, "redoes" in r) for r in recs if r["path"].endswith("cat/c.png")] == [
            (False, False), (True, False), (False, True), (True, False), (False, True)]
    # replay gives the same state
    assert Journal(review.journal_path).action_for(app.group.members[1].path, "dc") == "delete"


async def test_read_only_records_nothing(review) -> None:
    app = review(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("k", "a", "s")
        await settle(pilot)
        assert records(review.journal_path) == []
        assert "READ-ONLY" in str(app.query_one("#progress").render())
        assert any("not recorded" in n.message.lower() for n in app._notifications)


# ---------------------------------------------------------------------------- moving and filters


async def test_group_navigation_keys(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = [current_id(app)]
        for key in ("n", "down", "n", "n", "p", "up", "home", "end"):
            await pilot.press(key)
            seen.append(current_id(app))
        assert seen == ["g-conf", "g-leak", "g-exact", "g-near", "g-near", "g-exact", "g-leak", "g-conf", "g-near"]
        assert app.group_list.cursor == 3


async def test_next_undecided_skips_decided_groups(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n", "a")  # decide g-leak
        await pilot.press("home")
        await pilot.press("tab")
        assert current_id(app) == "g-exact"  # g-leak is decided
        await pilot.press("shift+tab")
        assert current_id(app) == "g-conf"


async def test_filters(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")  # decide g-conf
        await pilot.press("2")
        assert app.filter == "undecided"
        assert [app.state.groups[gi].id for gi in app.order] == ["g-leak", "g-exact", "g-near"]
        assert app.group_list.option_count == 3
        await pilot.press("3")
        assert [app.state.groups[gi].id for gi in app.order] == ["g-conf"]
        await pilot.press("4")
        assert [app.state.groups[gi].id for gi in app.order] == ["g-conf"]
        await pilot.press("5")
        assert [app.state.groups[gi].id for gi in app.order] == ["g-leak"]
        assert current_id(app) == "g-leak"
        await pilot.press("v")  # cycles back to all
        assert app.filter == "all" and len(app.order) == 4


async def test_group_list_click_opens_group(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click(GroupList, offset=(5, 2))  # third row
        await settle(pilot)
        assert current_id(app) == "g-exact"
        await pilot.click(ImageCard, offset=(5, 5))
        await settle(pilot)
        assert app.group_view.focused_member == 0


async def test_panel_toggle_and_narrow_terminal(review) -> None:
    app = review()
    async with app.run_test(size=(60, 24)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        assert not app.group_list.display
        await pilot.press("end", "l", "l")  # 3 cards in a narrow window: the strip scrolls
        await settle(pilot)
        assert app.group_view.focused_member == 2
        await pilot.press("k")
        await settle(pilot)
        assert records(review.journal_path)[-1]["path"] == app.group.members[2].path


# ---------------------------------------------------------------------------- screens


async def test_zoom_flip_help_screens(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        assert isinstance(app.screen, ZoomScreen)
        text = str(app.screen.query_one("#zoom-text").render())
        assert "label cat" in text and "digest" in text
        # review keys are off under a full screen, zoom's own keys work
        await pilot.press("l", "d")
        await settle(pilot)
        assert records(review.journal_path)[-1]["path"] == app.state.groups[app.current].members[1].path
        await pilot.press("n")  # not a zoom key: must not move the group behind
        assert current_id(app) == "g-conf"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.screen_stack[0]
        assert app.group_view.focused_member == 1  # zoom left off at image 2
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FlipScreen)
        flip = app.screen
        first = flip.shown()
        flip.action_swap()
        assert flip.shown() != first
        await pilot.press("space")
        assert flip.paused
        await pilot.press("escape")
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = help_rendered()
        assert all(k.help in help_text for k in KEYS)  # every key is documented
        await pilot.press("k")  # not recorded while help is open
        await pilot.press("question_mark")
        await settle(pilot)
        assert len(records(review.journal_path)) == 1


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
            assert not app.screen.is_modal or app.screen.styles.background.a == 1.0
            await pilot.press("escape")
            await settle(pilot)


async def test_double_click_zooms(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click(ImageCard, offset=(5, 5), times=2)
        await settle(pilot)
        assert isinstance(app.screen, ZoomScreen)


async def test_quit_key(review) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
    assert app.return_code == 0


# ---------------------------------------------------------------------------- journal edge cases


async def test_stale_decision_is_shown_not_applied(review) -> None:
    g = review.result.groups[2]  # g-conf, first on screen
    Journal(review.journal_path).decide([Change(g.members[0].path, "old-content", "delete")], group="g-conf")
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert current_id(app) == "g-conf"
        card = app.group_view.shown_cards[0]
        assert card.has_class("-stale")
        assert "STALE" in str(card.facts.render())
        assert app.state.delete_files == 0  # not silently applied
        assert not app.state.status[app.current].decided


async def test_truncated_journal_is_replayed_with_a_warning(review) -> None:
    g = review.result.groups[2]
    Journal(review.journal_path).decide([Change(g.members[1].path, "dc", "delete")], group="g-conf")
    with open(review.journal_path, "ab") as fh:
        fh.write(b'{"action": "keep", "path": "/x", "dig')  # crash mid-write
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.state.delete_files == 1
        assert any("truncated" in n.message for n in app._notifications)
        await pilot.press("k")  # new decisions still append cleanly
        await settle(pilot)
    j = Journal(review.journal_path)
    assert j.action_for(g.members[0].path, "dc") == "keep"
    assert j.action_for(g.members[1].path, "dc") == "delete"


async def test_journal_failure_is_reported(review, tmp_path: Path) -> None:
    app = review()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.state.journal.path = tmp_path / "missing-dir" / "journal.jsonl"  # cannot be written
        await pilot.press("k")
        await settle(pilot)
        assert any("NOT recorded" in n.message for n in app._notifications)
        assert app.state.decided_groups == 0


async def test_empty_state(tmp_path: Path) -> None:
    result = ScanResult(roots=[str(tmp_path)], settings={}, stats={}, groups=[], errors=[])
    app = ReviewApp(ReviewState(result, Journal(tmp_path / "j.jsonl")), choose_renderer("halfcell"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.query_one("#empty").display
        await pilot.press("n", "k", "a", "tab", "z", "f", "u")  # nothing breaks, nothing recorded
        await settle(pilot)
        assert not (tmp_path / "j.jsonl").exists()
