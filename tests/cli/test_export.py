"""export: the keep / delete / undecided lists and their formats (docs/safety.md)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from imgreview.cli.main import main
from imgreview.decisions.build import build_decisions
from imgreview.decisions.export import COLUMNS, ExportError, render
from imgreview.model import Group, ScanResult
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import copy_groups, save, scene

ONE = ScanSettings(jobs=1)
SIZE = (160, 120)
ODD = [b"with space.png", b"new\nline.png", b"quote\"s, 'single'.png", b"-dash.png", b"bad\xff\xfe.png"]


def dataset(root: Path) -> Path:
    return copy_groups(root, range(3), SIZE)


def scanned(root: Path) -> tuple[Session, ScanResult]:
    session = Session(root / ".imgreview")
    return session, scan([str(root)], ONE, session)


def group_of(result: ScanResult, name: str) -> Group:
    return next(g for g in result.groups if any(os.path.basename(m.path) == name for m in g.members))


def decide(session: Session, group: Group, actions: dict[str, str], by: str = "person") -> None:
    Journal(session.journal_path).decide(
        [Change(m.path, m.digest, actions[os.path.basename(m.path)]) for m in group.members
         if os.path.basename(m.path) in actions],
        group=group.id, by=by, rule=None if by == "person" else "test")


@pytest.fixture
def reviewed(tmp_path: Path) -> tuple[Path, Session, ScanResult]:
    """g0: keep a0, delete b0 c0 (person); g1: all delete by a rule; g2: c2 delete, rest undecided."""
    root = dataset(tmp_path / "data")
    session, result = scanned(root)
    assert len(result.groups) == 3
    decide(session, group_of(result, "a0.png"), {"a0.png": "keep", "b0.png": "delete", "c0.png": "delete"})
    decide(session, group_of(result, "a1.png"), {"a1.png": "delete", "b1.png": "delete", "c1.png": "delete"},
           by="rule")
    decide(session, group_of(result, "a2.png"), {"c2.png": "delete"})
    return root, session, result


def names(rows) -> set[str]:  # type: ignore[no-untyped-def]
    return {os.path.basename(r.path) for r in rows}


def test_lists_follow_the_rules(reviewed: tuple[Path, Session, ScanResult]) -> None:
    root, session, result = reviewed
    d = build_decisions(session.load_result(), Journal(session.journal_path))
    assert names(d.keep) == {"a0.png"}
    assert names(d.delete) == {"b0.png", "c0.png", "c2.png"}
    # held back (whole group by a rule) and undecided files are never in the delete list
    assert names(d.held) == {"a1.png", "b1.png", "c1.png"}
    assert names(d.undecided) == {"a1.png", "b1.png", "c1.png", "a2.png", "b2.png"}
    # once a person decides the whole group it is listed
    decide(session, group_of(result, "a1.png"), {"a1.png": "delete", "b1.png": "delete", "c1.png": "delete"})
    d = build_decisions(session.load_result(), Journal(session.journal_path))
    assert names(d.delete) == {"b0.png", "c0.png", "c2.png", "a1.png", "b1.png", "c1.png"}
    assert d.dropped_groups == {group_of(result, "a1.png").id}


def test_a_stale_decision_is_not_exported_for_deletion(reviewed: tuple[Path, Session, ScanResult]) -> None:
    root, session, _ = reviewed
    # same picture, other bytes: still in the group, but not the content that was decided
    save(scene(0, SIZE), root / "val" / "cat" / "c0.png", compress_level=1)
    scan([str(root)], ONE, session)
    d = build_decisions(session.load_result(), Journal(session.journal_path))
    assert names(d.delete) == {"b0.png", "c2.png"}
    assert names(d.stale) == {"c0.png"}
    (row,) = [r for r in d.undecided if r.decision == "stale"]
    assert row.path.endswith("c0.png") and "changed" in row.note


def test_default_export_is_the_delete_list_on_stdout(reviewed: tuple[Path, Session, ScanResult],
                                                     capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    root, session, _ = reviewed
    assert main(["export", "--session", str(session.path)]) == 0
    out, err = capsysbinary.readouterr()
    lines = out.decode().splitlines()
    assert {os.path.basename(x) for x in lines} == {"b0.png", "c0.png", "c2.png"}
    assert all(os.path.isabs(x) and os.path.exists(x) for x in lines)
    assert b"held back" in err


def test_session_found_from_the_current_folder(reviewed: tuple[Path, Session, ScanResult],
                                               capsysbinary: pytest.CaptureFixture[bytes],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root, _, _ = reviewed
    monkeypatch.chdir(root / "train" / "cat")
    assert main(["export"]) == 0
    assert len(capsysbinary.readouterr()[0].splitlines()) == 3
    monkeypatch.chdir(root.parent)
    assert main(["export"]) == 2
    assert b"--session" in capsysbinary.readouterr()[1]


def test_csv_and_json_parse_with_the_standard_library(reviewed: tuple[Path, Session, ScanResult],
                                                      tmp_path: Path) -> None:
    root, session, result = reviewed
    s = str(session.path)
    for fmt in ("csv", "json"):
        assert main(["export", "--session", s, "--format", fmt, "--keep", str(tmp_path / f"k.{fmt}"),
                     "--delete", str(tmp_path / f"d.{fmt}"), "--undecided", str(tmp_path / f"u.{fmt}")]) == 0
    with open(tmp_path / "d.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == COLUMNS
    assert {os.path.basename(r["path"]) for r in rows} == {"b0.png", "c0.png", "c2.png"}
    assert {r["decision"] for r in rows} == {"delete"} and {r["by"] for r in rows} == {"person"}
    g0 = group_of(result, "a0.png")
    b0 = next(m for m in g0.members if m.path.endswith("b0.png"))
    row = next(r for r in rows if r["path"] == b0.path)
    assert row["group"] == g0.id and row["digest"] == b0.digest
    assert (row["label"], row["split"]) == (b0.label or "", b0.split or "")
    assert (int(row["size"]), int(row["width"]), int(row["height"]), int(row["distance"])) == \
        (b0.size, b0.width, b0.height, b0.distance)
    data = json.loads((tmp_path / "d.json").read_text(encoding="ascii"))
    assert [r["path"] for r in data] == [r["path"] for r in rows]
    assert set(data[0]) == set(COLUMNS)
    undecided = json.loads((tmp_path / "u.json").read_text())
    assert {r["decision"] for r in undecided} == {"delete", "undecided"}
    assert all(r["note"].startswith("held back") for r in undecided if r["decision"] == "delete")
    assert all(r["by"] == "" for r in undecided if r["decision"] == "undecided")
    keep = list(csv.DictReader(io.StringIO((tmp_path / "k.csv").read_text())))
    assert [os.path.basename(r["path"]) for r in keep] == ["a0.png"]


def odd_session(root: Path) -> tuple[Session, ScanResult]:
    save(scene(8, SIZE), root / "keep.png")
    for n in ODD:
        shutil.copy(root / "keep.png", os.path.join(os.fsencode(root), n))
    session, result = scanned(root)
    (g,) = result.groups
    Journal(session.journal_path).decide(
        [Change(m.path, m.digest, "keep" if m.path.endswith("keep.png") else "delete") for m in g.members],
        group=g.id)
    return session, result


def test_odd_names_round_trip_with_nul_separators(tmp_path: Path,
                                                  capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    root = tmp_path / "data"
    session, _ = odd_session(root)
    out = tmp_path / "delete.txt"
    assert main(["export", "--session", str(session.path), "--delete", str(out), "-0"]) == 0
    raw = out.read_bytes()
    assert raw.endswith(b"\0")
    paths = raw[:-1].split(b"\0")
    assert sorted(os.path.basename(p) for p in paths) == sorted(ODD)
    assert all(os.path.exists(p) for p in paths)  # the exact bytes name the files


def test_txt_refuses_a_newline_in_a_path(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    root = tmp_path / "data"
    session, _ = odd_session(root)
    out = tmp_path / "delete.txt"
    assert main(["export", "--session", str(session.path), "--delete", str(out)]) == 2
    assert b"-0" in capsysbinary.readouterr()[1]
    assert not out.exists()  # nothing half-written
    d = build_decisions(session.load_result(), Journal(session.journal_path))
    with pytest.raises(ExportError):
        render(d.delete, "txt")
    with pytest.raises(ExportError):
        render(d.delete, "csv", nul=True)


def test_odd_names_in_csv_and_json(tmp_path: Path) -> None:
    root = tmp_path / "data"
    session, _ = odd_session(root)
    d = build_decisions(session.load_result(), Journal(session.journal_path))
    data = json.loads(render(d.delete, "json"))
    assert sorted(os.path.basename(os.fsencode(r["path"])) for r in data) == sorted(ODD)  # exact round trip
    rows = list(csv.DictReader(io.StringIO(render(d.delete, "csv").decode("utf-8"), newline="")))
    got = sorted(os.path.basename(r["path"]) for r in rows)
    assert "new\nline.png" in got and "quote\"s, 'single'.png" in got
    assert "bad\\udcff\\udcfe.png" in got  # non-UTF-8 bytes as documented escapes


def test_a_drop_all_rule_the_person_asked_for_is_explicit(reviewed: tuple[Path, Session, ScanResult]) -> None:
    root, session, result = reviewed
    group = group_of(result, "a1.png")
    Journal(session.journal_path).decide([Change(m.path, m.digest, "delete") for m in group.members],
                                         group=group.id, by="rule", rule="exact:conflicts-drop-all")
    d = build_decisions(session.load_result(), Journal(session.journal_path))
    assert {"a1.png", "b1.png", "c1.png"} <= names(d.delete)
    assert group.id in d.dropped_groups and not d.held
