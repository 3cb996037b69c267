"""check: the health report, its JSON, and exit status before and after cleaning."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from imgreview.cli.main import main
from imgreview.labels import split_sort_key
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal
from tests.helpers.imagegen import labelled_dataset


def _check(root: Path, session: Path, out: Path, *extra: str) -> tuple[int, dict]:
    status = main(["check", str(root), "-q", "-j", "1", "--session", str(session), "--json", str(out), *extra])
    return status, json.loads(out.read_text())


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, dict[str, list[str]], Path]:
    root = tmp_path / "data"
    return root, labelled_dataset(root), tmp_path / "session"


def test_report_finds_everything_and_fails(dataset: tuple[Path, dict[str, list[str]], Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root, files, session = dataset
    status, report = _check(root, session, tmp_path / "r.json")
    assert status == 1 and report["clean"] is False
    rel = lambda paths: {os.path.relpath(p, root) for p in paths}  # noqa: E731
    assert sorted(sorted(rel(c["paths"])) for c in report["label_conflicts"]) == sorted(
        sorted(files[k]) for k in ("conflict", "conflict_near"))
    assert sorted(sorted(rel(c["paths"])) for c in report["split_leaks"]) == sorted(
        sorted(files[k]) for k in ("leak_train_test", "leak_train_val", "leak_val_test"))
    assert report["leaks"] == [
        {"splits": ["train", "val"], "groups": 1, "images": 1},
        {"splits": ["train", "test"], "groups": 1, "images": 1},
        {"splits": ["val", "test"], "groups": 1, "images": 1},
    ]
    assert report["groups"] == {"exact": 5, "near": 4, "undecided_exact": 5, "undecided_near": 4}
    assert rel(e["path"] for e in report["unreadable"]) == set(files["broken"])
    assert report["small_labels"] == {"rare": 2}
    assert report["counts"]["fox"] == {"train": 9, "val": 2, "test": 3}
    assert report["images"] == len(set(p for k, v in files.items() if k != "broken" for p in v))
    assert report["splits"] == ["train", "val", "test"]
    # The terminal report names the problems too.
    main(["check", str(root), "-q", "-j", "1", "--session", str(session), "--min-images", "3"])
    text = capsys.readouterr().out
    assert "Label conflicts" in text and "train ↔ test" in text and "not clean" in text
    assert "rare (2)" in text


def test_clean_after_deleting_one_side_of_each_problem(dataset: tuple[Path, dict[str, list[str]], Path],
                                                       tmp_path: Path) -> None:
    root, files, session = dataset
    assert _check(root, session, tmp_path / "before.json")[0] == 1
    result = Session(session).load_result()
    journal = Journal(session / "journal.jsonl")
    dropped: list[str] = []
    for group in result.groups:
        if group.label_conflict:  # keep the first label's copies
            first = min(m.label for m in group.members if m.label)
            drop = [m for m in group.members if m.label != first]
        elif group.split_leak:  # keep the earliest split's copies
            first = min((m.split for m in group.members if m.split), key=split_sort_key)
            drop = [m for m in group.members if m.split != first]
        else:
            continue
        journal.decide([Change(m.path, m.digest, "delete") for m in drop], group=group.id, by="person")
        dropped += [m.path for m in drop]
    status, report = _check(root, session, tmp_path / "after.json")
    assert status == 0 and report["clean"] is True
    assert report["label_conflicts"] == [] and report["split_leaks"] == [] and report["leaks"] == []
    assert report["decided_delete"] == len(dropped) == 5
    assert report["images"] == _check(root, session, tmp_path / "x.json")[1]["images"]
    before = json.loads((tmp_path / "before.json").read_text())
    assert report["images"] == before["images"] - 5
    # A stale decision does not count: the dropped test copy changed since it was decided.
    leaked = root / files["leak_train_test"][1]
    assert str(leaked) in dropped
    with Image.open(leaked) as im:
        im.convert("RGB").save(leaked, quality=70)
    status, report = _check(root, session, tmp_path / "stale.json")
    assert status == 1
    assert report["stale_decisions"] == 1
    assert [leak["splits"] for leak in report["leaks"]] == [["train", "test"]]


def test_requested_drop_all_counts_as_explicit(dataset: tuple[Path, dict[str, list[str]], Path],
                                               tmp_path: Path) -> None:
    root, files, session = dataset
    _check(root, session, tmp_path / "r.json")
    assert main(["resolve", "--exact", "--conflicts", "drop-all", "--leaks", "keep-train",
                 "--session", str(session)]) == 0
    status, report = _check(root, session, tmp_path / "r.json")
    # The person asked by name to drop identical copies under two labels: that conflict is gone.
    assert report["held_back"] == 0
    conflicts = [{os.path.relpath(p, root) for p in c["paths"]} for c in report["label_conflicts"]]
    assert set(files["conflict"]) not in conflicts
    leaks = [{os.path.relpath(p, root) for p in c["paths"]} for c in report["split_leaks"]]
    assert leaks == [set(files["leak_train_val"])]  # the byte-identical leaks are decided, the resized one is not
    assert status == 1


def test_clean_dataset_passes(tmp_path: Path) -> None:
    from tests.helpers.imagegen import save, scene

    for k, label in enumerate(("a", "b")):
        for split in ("train", "test"):
            save(scene(k * 10 + len(split)), tmp_path / "d" / split / label / "x.png")
    status, report = _check(tmp_path / "d", tmp_path / "s", tmp_path / "r.json", "--min-images", "1")
    assert status == 0 and report["clean"] and report["images"] == 4 and report["small_labels"] == {}


def test_usage_errors(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "missing"), "-q"]) == 2
    assert main(["check", str(tmp_path), "-q", "--layout", "label", "--manifest", str(tmp_path / "none.csv")]) == 2
