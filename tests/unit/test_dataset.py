"""Labels and splits: layouts, manifests, and the flags a scan puts on members and groups."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imgreview.cli.main import main
from imgreview.labels import (
    DatasetError,
    Labeller,
    Layout,
    canonical_split,
    review_order,
)
from imgreview.model import Group, Member, ScanResult
from imgreview.scan.pipeline import ScanError, scan
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import labelled_dataset

ROOT = os.path.abspath("/data/set")


def classify(rel: str, layout: Layout | None = None, root: str = ROOT) -> tuple[str | None, str | None]:
    return Labeller(layout).classify(os.path.join(root, rel), root)


@pytest.mark.parametrize("name, split", [("train", "train"), ("Training", "train"), ("VAL", "val"),
                                         ("valid", "val"), ("Validation", "val"), ("dev", "val"),
                                         ("test", "test"), ("Testing", "test"), ("cats", None), ("trains", None)])
def test_canonical_split_names(name: str, split: str | None) -> None:
    assert canonical_split(name) == split


def test_auto_layout_reads_split_at_top_or_second_level() -> None:
    assert classify("train/cat/a.jpg") == ("cat", "train")
    assert classify("Validation/dog/sub/a.jpg") == ("dog", "val")
    assert classify("cat/TEST/a.jpg") == ("cat", "test")
    assert classify("cat/a.jpg") == ("cat", None)
    assert classify("cat/kittens/a.jpg") == ("cat", None)
    assert classify("a.jpg") == (None, None)
    assert classify("train/a.jpg") == (None, "train")
    # The root itself named like a split: `check data/train data/test`.
    assert classify("cat/a.jpg", root=os.path.join(ROOT, "Test")) == ("cat", "test")


def test_explicit_layouts_and_label_depth() -> None:
    assert classify("train/cat/a.jpg", Layout("label")) == ("train", None)
    assert classify("holdout/cat/a.jpg", Layout("split/label")) == ("cat", "holdout")
    assert classify("training/cat/a.jpg", Layout("split/label")) == ("cat", "train")
    assert classify("cat/fold1/a.jpg", Layout("label/split")) == ("cat", "fold1")
    assert classify("train/cat/a.jpg", Layout("none")) == (None, None)
    assert classify("site1/2024/cat/a.jpg", Layout("label", label_depth=3)) == ("cat", None)
    assert classify("train/x/cat/a.jpg", Layout("auto", label_depth=3)) == ("cat", "train")
    assert classify("train/cat/a.jpg", Layout("auto", label_depth=5)) == (None, "train")


def test_bad_layout_settings_are_refused() -> None:
    with pytest.raises(DatasetError, match="unknown layout"):
        Layout("labels")
    with pytest.raises(DatasetError, match="label-depth"):
        Layout(label_depth=0)
    with pytest.raises(ValueError):
        ScanSettings(layout="bogus")


def test_csv_manifest_overrides_folders(tmp_path: Path) -> None:
    root = tmp_path / "data"
    manifest = tmp_path / "labels.csv"
    manifest.write_text("Path,Label,Split\n"
                        f"{root / 'train/cat/a.jpg'},dog,\n"
                        "data/train/cat/b.jpg,fox,Testing\n"
                        "\n")
    lab = Labeller(Layout(manifest=str(manifest)))
    assert lab.classify(str(root / "train/cat/a.jpg"), str(root)) == ("dog", "train")  # split from folders
    assert lab.classify(str(root / "train/cat/b.jpg"), str(root)) == ("fox", "test")
    assert lab.classify(str(root / "train/cat/c.jpg"), str(root)) == ("cat", "train")  # not listed


def test_json_lines_manifest_relative_to_root(tmp_path: Path) -> None:
    manifest = tmp_path / "meta" / "m.jsonl"
    manifest.parent.mkdir()
    manifest.write_text('{"path": "imgs/0001.png", "label": "owl", "split": "val"}\n'
                        '{"file": "imgs/0002.png", "label": 7}\n')
    root = str(tmp_path / "dataset")
    lab = Labeller(Layout(layout="none", manifest=str(manifest)))
    assert lab.classify(os.path.join(root, "imgs/0001.png"), root) == ("owl", "val")
    assert lab.classify(os.path.join(root, "imgs/0002.png"), root) == ("7", None)
    assert lab.classify(os.path.join(root, "imgs/0003.png"), root) == (None, None)


@pytest.mark.parametrize("text, message", [
    ("file,class\na.jpg,cat\n", "path and label"),
    ('{"path": "a.jpg", "label": "cat"}\n{"path": \n', "not valid JSON"),
    ('{"label": "cat"}\n', "no path"),
])
def test_bad_manifests_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(DatasetError, match=message):
        Labeller(Layout(manifest=str(manifest)))
    with pytest.raises(DatasetError, match="does not exist"):
        Labeller(Layout(manifest=str(tmp_path / "missing.csv")))


def test_scan_refuses_a_missing_manifest_before_hashing(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(ScanError, match="manifest"):
        scan([str(tmp_path / "d")], ScanSettings(manifest=str(tmp_path / "nope.csv")), Session(tmp_path / "s"))
    assert main(["scan", str(tmp_path / "d"), "-q", "--manifest", str(tmp_path / "nope.csv")]) == 2


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]], dict]:
    base = tmp_path_factory.mktemp("ds")
    root = base / "data"
    files = labelled_dataset(root)
    out = base / "scan.json"
    assert main(["scan", str(root), "-q", "-j", "1", "--session", str(base / "s"), "--json", str(out)]) == 0
    return root, files, json.loads(out.read_text())


def _groups_by_paths(root: Path, data: dict) -> dict[frozenset[str], dict]:
    return {frozenset(os.path.relpath(m["path"], root) for m in g["members"]): g for g in data["groups"]}


def test_scan_json_flags_every_planted_conflict_and_leak(scanned: tuple[Path, dict[str, list[str]], dict]) -> None:
    root, files, data = scanned
    groups = _groups_by_paths(root, data)
    expected = {"exact": (False, False), "exact3": (False, False), "near": (False, False),
                "mixed": (False, False), "conflict": (True, False), "conflict_near": (True, False),
                "leak_train_test": (False, True), "leak_train_val": (False, True), "leak_val_test": (False, True)}
    for kind, (conflict, leak) in expected.items():
        g = groups[frozenset(files[kind])]
        assert (g["label_conflict"], g["split_leak"]) == (conflict, leak), kind
    assert len(groups) == len(expected)
    for g in data["groups"]:
        for m in g["members"]:
            split, label = os.path.relpath(m["path"], root).split(os.sep)[:2]
            assert m["label"] == label
            assert m["split"] == canonical_split(split)
    assert data["settings"]["layout"] == "auto"
    assert data["stats"]["dataset"]["label_conflicts"] == 2
    assert data["stats"]["dataset"]["split_leaks"] == 3
    labels = data["stats"]["dataset"]["labels"]
    assert labels["rare"] == {"train": 2}
    assert list(labels["cat"]) == ["train", "val", "test"]
    assert labels["fox"] == {"train": 9, "val": 2, "test": 3}


def test_annotation_survives_the_session_round_trip(scanned: tuple[Path, dict[str, list[str]], dict]) -> None:
    root, files, data = scanned
    result = Session(root.parent / "s").load_result()
    # `scan --json` adds the keeper's suggestion (``suggested``, ``reason``) to each group; the rest is the store.
    exported = [{k: v for k, v in g.items() if k not in ("suggested", "reason")} for g in data["groups"]]
    assert all("suggested" in g and "reason" in g for g in data["groups"])
    assert result.to_dict()["groups"] == exported
    assert sum(g.label_conflict for g in result.groups) == 2
    assert Layout.from_settings(result.settings) == Layout()


def test_older_results_without_dataset_fields_still_load() -> None:
    old = {"version": 1, "roots": ["/r"], "settings": {}, "stats": {}, "errors": [],
           "groups": [{"id": "g1", "kind": "exact", "max_distance": 0, "reference": "/r/a",
                       "members": [{"path": "/r/a", "digest": "d", "distance": 0, "size": 1, "width": 1,
                                    "height": 1}]}]}
    result = ScanResult.from_dict(old)
    assert result.groups[0].members[0].label is None and not result.groups[0].label_conflict
    assert Layout.from_settings(result.settings) == Layout()


def test_layout_option_changes_labels(tmp_path: Path) -> None:
    root = tmp_path / "data"
    files = labelled_dataset(root)
    out = tmp_path / "scan.json"
    assert main(["scan", str(root), "-q", "-j", "1", "--layout", "label", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    groups = _groups_by_paths(root, data)
    g = groups[frozenset(files["leak_train_test"])]  # train/fox vs TEST/fox: labels train and TEST
    assert g["label_conflict"] and not g["split_leak"]
    assert {m["label"] for m in g["members"]} == {"train", "TEST"}
    assert data["settings"]["layout"] == "label"


def _group(gid: str, conflict: bool, leak: bool) -> Group:
    return Group(gid, "near", 0, "/a", [Member("/a", "d", 0, 1, 1, 1)], label_conflict=conflict, split_leak=leak)


def test_review_order_puts_conflicts_then_leaks_first() -> None:
    groups = [_group("plain1", False, False), _group("leak1", False, True), _group("both", True, True),
              _group("conflict", True, False), _group("plain2", False, False), _group("leak2", False, True)]
    assert [g.id for g in review_order(groups)] == ["both", "conflict", "leak1", "leak2", "plain1", "plain2"]
