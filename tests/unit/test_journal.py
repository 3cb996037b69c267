from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imgreview.session.journal import Change, Journal, JournalError


def test_decisions_are_appended_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.decide([Change("/a", "d1", "keep"), Change("/b", "d2", "delete")], group="g1")
    j.decide([Change("/c", "d3", "delete")], group="g2", by="rule", rule="exact:oldest")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [r["action"] for r in lines] == ["keep", "delete", "delete"]
    assert {"time", "action", "path", "digest", "group", "by", "batch"} <= set(lines[0])
    assert lines[2]["by"] == "rule" and lines[2]["rule"] == "exact:oldest"
    again = Journal(path)
    assert again.action_for("/a", "d1") == "keep"
    assert again.action_for("/b", "d2") == "delete"
    assert again.decisions["/c"].by == "rule"
    assert again.action_for("/zzz", "x") == "undecided"


def test_stale_when_content_changed(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.jsonl")
    j.decide([Change("/a", "old", "delete")], group="g")
    assert Journal(tmp_path / "j.jsonl").action_for("/a", "new") == "stale"


def test_truncated_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.decide([Change("/a", "d1", "delete")], group="g")
    j.decide([Change("/b", "d2", "delete")], group="g")
    data = path.read_bytes()
    path.write_bytes(data[:-15])  # crash mid-write of the last record
    again = Journal(path)
    assert again.action_for("/a", "d1") == "delete"
    assert again.action_for("/b", "d2") == "undecided"
    assert len(again.warnings) == 1 and "truncated" in again.warnings[0]
    # Appending after a torn line starts a fresh line: nothing merges into the garbage.
    again.decide([Change("/c", "d3", "keep")], group="g")
    third = Journal(path)
    assert third.action_for("/c", "d3") == "keep" and third.action_for("/a", "d1") == "delete"


def test_garbage_lines_in_the_middle_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    Journal(path).decide([Change("/a", "d1", "delete")], group="g")
    with open(path, "ab") as fh:
        fh.write(b"{not json\n[1,2]\n\xff\xfe\n")
    Journal(path).decide([Change("/b", "d2", "keep")], group="g")
    j = Journal(path)
    assert j.action_for("/a", "d1") == "delete" and j.action_for("/b", "d2") == "keep"
    assert len(j.warnings) == 3


def test_undo_redo_append_records_and_survive_replay(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.decide([Change("/a", "d1", "keep"), Change("/b", "d2", "delete")], group="g")
    j.decide([Change("/a", "d1", "delete")], group="g")
    assert j.undo() == ["/a"]
    assert j.action_for("/a", "d1") == "keep"
    assert j.undo() == ["/a", "/b"]
    assert j.action_for("/a", "d1") == "undecided" and j.action_for("/b", "d2") == "undecided"
    assert j.undo() is None
    assert j.redo() == ["/a", "/b"]
    size_before = path.stat().st_size
    reopened = Journal(path)
    assert reopened.action_for("/a", "d1") == "keep" and reopened.action_for("/b", "d2") == "delete"
    assert reopened.can_redo and reopened.redo() == ["/a"]
    assert reopened.action_for("/a", "d1") == "delete"
    assert path.stat().st_size > size_before  # only ever appended
    lines = path.read_text().splitlines()
    # one reversing record per file touched: 1 + 2 undone, 2 + 1 redone
    assert sum('"undoes"' in x for x in lines) == 3 and sum('"redoes"' in x for x in lines) == 3


def test_new_decision_clears_redo(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.jsonl")
    j.decide([Change("/a", "d1", "keep")], group="g")
    j.undo()
    j.decide([Change("/b", "d2", "keep")], group="g")
    assert not j.can_redo


def test_distinct_marks(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    j.mark_distinct("g", [("/a", "d1"), ("/b", "d2"), ("/c", "d3")])
    again = Journal(path)
    assert again.distinct_pairs() == {("d1", "d2"), ("d1", "d3"), ("d2", "d3")}
    assert again.action_for("/a", "d1") == "keep"
    again.undo()
    assert Journal(path).distinct_pairs() == set()
    assert Journal(path).action_for("/a", "d1") == "undecided"


def test_write_failure_raises_and_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    j = Journal(tmp_path / "j.jsonl")
    j.decide([Change("/a", "d1", "keep")], group="g")

    def full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(JournalError, match="No space left"):
        j.decide([Change("/a", "d1", "delete")], group="g")
    assert j.action_for("/a", "d1") == "keep"
    monkeypatch.undo()
    assert Journal(tmp_path / "j.jsonl").action_for("/a", "d1") == "keep"


def test_read_only_journal_refuses(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.jsonl", read_only=True)
    with pytest.raises(JournalError, match="read-only"):
        j.decide([Change("/a", "d1", "keep")], group="g")
    assert not (tmp_path / "j.jsonl").exists()
