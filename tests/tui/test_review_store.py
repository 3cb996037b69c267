"""The review over a session's database (groups read a page at a time): the same keys, the same journal.

The review tests of ``test_tui.py`` run again here on a :class:`~imgreview.session.store.StoredGroups`
built from the same result written to a session's ``results.sqlite``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.session.store import StoredGroups
from imgreview.tui.app import ReviewApp
from imgreview.tui.pictures import Canvas
from imgreview.tui.state import ReviewState
from tests.tui import test_tui as base


@pytest.fixture
def stored_review(tmp_path: Path) -> Any:
    result = base.make_result(tmp_path / "data")
    session = Session(tmp_path / "session")
    session.create(result.roots)
    session.save_result(result)

    def build(read_only: bool = False, prefer: tuple[str, ...] | None = None, advance: bool = False,
              mode: str = "halfcell") -> ReviewApp:
        header, stored = session.load_groups()
        assert isinstance(stored, StoredGroups) and header.groups == []
        journal = Journal(session.journal_path, read_only=read_only)
        state = ReviewState(header, journal, prefer, stored=stored)
        return ReviewApp(state, Canvas(mode), read_only=read_only, notes=journal.warnings, advance=advance)

    build.journal_path = session.journal_path  # type: ignore[attr-defined]
    build.result = result  # type: ignore[attr-defined]
    return build


CASES: list[Callable[[Any], Awaitable[None]]] = [
    base.test_opens_at_first_undecided_group_on_the_suggested_keeper,
    base.test_keep_delete_toggle_and_focus_keys_by_a_person,
    base.test_delete_in_a_pair_keeps_the_other,
    base.test_accept_all_exact_asks_first_and_skips_conflicts_and_leaks,
    base.test_not_duplicates_keeps_all_and_records_distinct,
    base.test_undo_jumps_to_the_group_it_changed_and_says_so,
    base.test_find_jumps_to_a_path,
    base.test_filters_keep_the_place,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
async def test_review_keys_on_a_database_backed_session(case: Callable[[Any], Awaitable[None]],
                                                        stored_review: Any) -> None:
    await case(stored_review)
