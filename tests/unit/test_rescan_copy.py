"""An unchanged rescan that keeps no groups copies the previous groups inside the session's database
(never building them): the stored result is the one the rescan that reads them back stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from imgreview.scan import pipeline
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import copy_groups

ONE = ScanSettings(jobs=1)


def stored(session: Session) -> dict[str, Any]:
    data = session.load_result().to_dict()
    for k in ("seconds", "cached", "hashed"):
        data["stats"].pop(k, None)
    return data


def test_unchanged_rescan_copies_the_groups_without_reading_them(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_groups(tmp_path / "data", range(4))
    session = Session(tmp_path / "s")
    first = scan([str(root)], ONE, session)
    assert first.groups and first.stats["dataset"]["label_conflicts"]
    scan([str(root)], ONE, session)  # the rescan that reads the previous groups back
    want = stored(session)
    assert want["stats"]["reused_groups"] is True

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the previous groups were read")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "previous_groups", refuse)
        patch.setattr(pipeline, "build_groups", refuse)
        header = scan([str(root)], ONE, session, keep_groups=False)
    assert header.groups == [] and header.stats["groups"] == len(first.groups)
    assert stored(session) == want
    header, groups = session.load_groups()
    assert groups is not None and len(groups) == len(first.groups)
    groups.store.close()


def test_a_changed_layout_or_a_damaged_previous_result_is_not_copied(tmp_path: Path) -> None:
    root = copy_groups(tmp_path / "data", range(3))
    session = Session(tmp_path / "s")
    scan([str(root)], ONE, session)
    flat = ScanSettings(jobs=1, layout="label", label_depth=1)
    scan([str(root)], flat, session, keep_groups=False)  # labels change: read back and labelled again
    want = stored(session)
    scan([str(root)], flat, session)
    assert stored(session) == want
    with sqlite3.connect(session.store_path) as db:  # the flags no longer match the groups
        db.execute("UPDATE groups SET label_conflict = 1 - label_conflict")
    header = scan([str(root)], flat, session, keep_groups=False)
    assert header.stats["reused_groups"] is False  # grouped again from the fingerprints
    assert {g["id"] for g in stored(session)["groups"]} == {g["id"] for g in want["groups"]}
