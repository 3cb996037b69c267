"""The demo dataset: deterministic, and a default scan finds exactly the planted groups."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from PIL import Image

from imgreview.dataset.demo import PLAN_FILE, DemoPlan, build_demo, write_demo
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoPlan]:
    root = tmp_path_factory.mktemp("demo") / "data"
    return root, build_demo(root, seed=0)


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_plan(demo: tuple[Path, DemoPlan]) -> None:
    root, plan = demo
    assert 50 <= len(plan.images) <= 80
    for rel in plan.images:
        split, label, _ = rel.split("/")
        assert split in ("train", "val", "test") and label in ("cat", "dog", "bird")
        with Image.open(root / rel) as img:
            assert 256 <= max(img.size) <= 640
    kinds = {p.kind for p in plan.planted}
    assert kinds >= {"exact", "resized", "reencoded", "brightened", "png-copy", "label-conflict",
                     "leak-train-test", "leak-train-val", "flat-pair"}
    conflict = plan.of_kind("label-conflict")[0].paths
    assert len({p.split("/")[1] for p in conflict}) == 2
    assert {p.split("/")[0] for p in plan.of_kind("leak-train-test")[0].paths} == {"train", "test"}
    assert {p.split("/")[0] for p in plan.of_kind("leak-train-val")[0].paths} == {"train", "val"}
    assert DemoPlan.load(root).to_dict() == plan.to_dict()
    assert (root / "DEMO.md").read_text().count("label-conflict") == 1


def test_default_scan_finds_exactly_the_planted_groups(demo: tuple[Path, DemoPlan], tmp_path: Path) -> None:
    root, plan = demo
    result = scan([str(root)], ScanSettings(jobs=2), Session(tmp_path / "session"))
    assert not result.errors
    got = sorted((frozenset(os.path.relpath(m.path, root).replace(os.sep, "/") for m in g.members)
                  for g in result.groups), key=sorted)
    assert got == plan.expected_groups()
    flat = set(plan.of_kind("flat-pair")[0].paths)
    assert not any(flat & g for g in got)
    kinds = {frozenset(os.path.relpath(m.path, root) for m in g.members): g.kind for g in result.groups}
    for p in plan.of_kind("exact") + plan.of_kind("leak-train-test") + plan.of_kind("label-conflict"):
        assert kinds[frozenset(p.paths)] == "exact"
    for kind in ("resized", "reencoded", "brightened", "png-copy", "leak-train-val"):
        assert kinds[frozenset(plan.of_kind(kind)[0].paths)] == "near"


def test_deterministic_for_a_seed(demo: tuple[Path, DemoPlan], tmp_path: Path) -> None:
    root, _ = demo
    again = tmp_path / "again"
    (again / ".imgreview").mkdir(parents=True)  # a session folder alone does not make it "not empty"
    write_demo(again, seed=0)
    (again / ".imgreview").rmdir()
    assert _digests(again) == _digests(root)
    assert (again / "train/cat/cat_0001.jpg").stat().st_mtime == (root / "train/cat/cat_0001.jpg").stat().st_mtime


def test_rewrites_a_demo_but_refuses_a_foreign_folder(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "photo.jpg").write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_demo(foreign)
    assert (foreign / "photo.jpg").read_bytes() == b"precious"
    assert not (foreign / PLAN_FILE).exists()
