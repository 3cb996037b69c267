"""The review over the hostile corpus (headless, Pilot): odd images, awkward names, files that
vanished or were replaced since the scan, and a journal whose disk is full."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest

import imgreview.session.jsonl as jsonl_module  # where the journal writes its lines
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.settings import ScanSettings
from imgreview.tui.app import ReviewApp
from imgreview.tui.pictures import Canvas
from imgreview.tui.state import ReviewState
from tests.helpers.hostile import make_corpus, tree_state

SIZE = (150, 42)


async def settle(pilot, seconds: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await asyncio.sleep(seconds)
    await pilot.pause()


def build(session: Session) -> ReviewApp:
    journal = Journal(session.journal_path)
    state = ReviewState(session.load_result(), journal)
    return ReviewApp(state, Canvas("halfcell"), notes=journal.warnings, advance=False)


@pytest.mark.slow
async def test_review_walks_every_group_of_the_hostile_corpus(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c")
    session = Session(tmp_path / "s")
    result = scan([str(corpus.root)], ScanSettings(jobs=1), session)
    # Since the scan: one grouped file vanished, another became garbage bytes.
    members = sorted(m.path for g in result.groups for m in g.members)
    gone = next(p for p in members if p.endswith("o3.jpg"))
    broken = next(p for p in members if p.endswith("ref_cmyk.jpg.png"))
    os.unlink(gone)
    Path(broken).write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    before = {**tree_state(corpus.root), **tree_state(corpus.outside)}

    app = build(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for _ in range(len(result.groups)):
            group = app.review.group
            assert group is not None
            seen.append(group.id)
            await pilot.press("d")  # the focused image
            if any(m.path in (gone, broken) for m in group.members):
                await pilot.press("z")  # full size and flip: the vanished and the broken file
                await pilot.pause()
                await pilot.press("escape")
                await pilot.press("f")
                await pilot.pause()
                await pilot.press("escape")
            await pilot.press("n")
            await pilot.pause()
        # Every thumbnail finished loading (a placeholder for the vanished and the broken file).
        for _ in range(100):
            if app.review.pictures_loaded:
                break
            await asyncio.sleep(0.05)
        assert app.review.pictures_loaded
        await pilot.press("q")
    assert sorted(seen) == sorted(g.id for g in result.groups)
    decided = Journal(session.journal_path)
    assert not decided.warnings
    assert len([d for d in decided.decisions.values() if d.action == "delete"]) == len(result.groups)
    # The review only writes the journal.
    assert {**tree_state(corpus.root), **tree_state(corpus.outside)} == before


class _FullDisk:
    """``os`` as the journal sees it, on a disk with no space left."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


async def test_review_disk_full_says_not_recorded_and_keeps_going(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    corpus = make_corpus(tmp_path / "c")
    session = Session(tmp_path / "s")
    scan([str(corpus.root)], ScanSettings(jobs=1), session)
    app = build(session)
    notes: list[tuple[str, str]] = []
    real_notify = app.notify

    def spy(message: str, *args: object, **kwargs: object) -> None:
        notes.append((str(kwargs.get("title", "")), message))
        real_notify(message, *args, **kwargs)  # type: ignore[arg-type]

    app.notify = spy  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert len(app.review.state.journal.decisions) == 1
        content = session.journal_path.read_bytes()
        monkeypatch.setattr(jsonl_module, "os", _FullDisk())
        await pilot.press("right", "d")
        await pilot.press("o")
        await settle(pilot)
        assert len(app.review.state.journal.decisions) == 1  # nothing changed in memory
        assert session.journal_path.read_bytes() == content  # nor on disk
        assert any(title == "Not recorded" and "No space left" in msg for title, msg in notes)
        monkeypatch.undo()
        await pilot.press("d")  # space again: recorded
        await settle(pilot)
        assert len(app.review.state.journal.decisions) == 2
        await pilot.press("q")
    assert len(Journal(session.journal_path).decisions) == 2
