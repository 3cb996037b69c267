"""split: stratified by label, group-aware, seeded; CSV and folder output."""

from __future__ import annotations

import csv
import os
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgreview.cli.main import main
from imgreview.dataset.split import (
    SplitError,
    parse_ratios,
    plan_split,
    split_names,
    targets,
)
from imgreview.labels import Labeller
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal
from tests.helpers.imagegen import labelled_dataset


def test_parse_ratios_and_names() -> None:
    assert parse_ratios("8:1:1") == [8, 1, 1]
    assert parse_ratios("0.7, 0.15, 0.15") == [Fraction(7, 10), Fraction(3, 20), Fraction(3, 20)]
    assert parse_ratios("80/20") == [80, 20]
    for bad in ("8", "a:b", "-1:2", "0:0"):
        with pytest.raises(SplitError):
            parse_ratios(bad)
    assert split_names(3) == ("train", "val", "test")
    assert split_names(2) == ("train", "test")
    assert split_names(4, "a,b,c,d") == ("a", "b", "c", "d")
    with pytest.raises(SplitError):
        split_names(4)
    with pytest.raises(SplitError):
        split_names(2, "a,a")


def test_targets_add_up_and_stay_within_one() -> None:
    assert targets(10, parse_ratios("8:1:1")) == [8, 1, 1]
    assert targets(19, parse_ratios("8:1:1")) == [15, 2, 2]
    assert targets(0, parse_ratios("8:1:1")) == [0, 0, 0]


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[list[str]], list[Fraction], int]:
    n_labels = draw(st.integers(1, 4))
    images: list[tuple[str, str]] = []
    groups: list[list[str]] = []
    for lab in range(n_labels):
        sizes = draw(st.lists(st.integers(1, 4), min_size=0, max_size=25))
        for u, size in enumerate(sizes):
            paths = [f"/d/l{lab}/u{u}_{k}.jpg" for k in range(size)]
            images += [(p, f"l{lab}") for p in paths]
            if size > 1:
                groups.append(paths)
    ratios = [Fraction(r) for r in draw(st.lists(st.integers(0, 9), min_size=2, max_size=4).filter(any))]
    return images, groups, ratios, draw(st.integers(0, 2**32))


@settings(max_examples=150, deadline=None)
@given(datasets())
def test_split_property(data: tuple[list[tuple[str, str]], list[list[str]], list[Fraction], int]) -> None:
    images, groups, ratios, seed = data
    names = [f"s{k}" for k in range(len(ratios))]
    plan = plan_split(images, groups, ratios, seed, names)
    where = plan.split_of()
    assert sorted(where) == sorted(p for p, _ in images)  # every image exactly once
    for g in groups:  # a group is never separated
        assert len({where[p] for p in g}) == 1
    by_label: dict[str, list[str]] = {}
    for p, label in images:
        by_label.setdefault(label, []).append(p)
    for label, paths in by_label.items():
        counts = Counter(where[p] for p in paths)
        total = sum(ratios)
        biggest = max(len(g) for g in groups if g[0] in paths) if any(g[0] in paths for g in groups) else 1
        for name, r in zip(names, ratios, strict=True):
            exact = r * len(paths) / total
            # within one image of the target; a duplicate unit may overshoot by its extra files
            assert abs(counts[name] - exact) < biggest + (0 if biggest == 1 else 1), (label, counts, exact)
            if r == 0:
                assert counts[name] == 0 or biggest > 1
        if biggest == 1:
            assert [counts[n] for n in names] == targets(len(paths), ratios)
    # reproducible, and independent of the input order
    again = plan_split(list(reversed(images)), [list(reversed(g)) for g in reversed(groups)], ratios, seed, names)
    assert again.rows == plan.rows


def test_seed_changes_the_assignment_but_not_the_counts() -> None:
    images = [(f"/d/{k:03d}.jpg", "cat" if k % 2 else "dog") for k in range(60)]
    a = plan_split(images, [], parse_ratios("8:1:1"), seed=1)
    b = plan_split(images, [], parse_ratios("8:1:1"), seed=2)
    assert a.rows != b.rows
    assert a.counts == b.counts == {"cat": Counter(train=24, val=3, test=3), "dog": Counter(train=24, val=3, test=3)}


def test_unit_with_mixed_labels_follows_the_majority() -> None:
    images = [("/d/a", "cat"), ("/d/b", "cat"), ("/d/c", "dog")] + [(f"/d/x{k}", "dog") for k in range(5)]
    plan = plan_split(images, [["/d/a", "/d/b", "/d/c"]], parse_ratios("1:1"), seed=0)
    where = plan.split_of()
    assert where["/d/a"] == where["/d/b"] == where["/d/c"]
    assert sum(plan.counts["cat"].values()) == 3  # the unit counts under cat, its majority label


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]], Path]:
    base = tmp_path_factory.mktemp("split")
    root = base / "data"
    files = labelled_dataset(root)
    session = base / "session"
    assert main(["scan", str(root), "-q", "-j", "1", "--session", str(session)]) == 0
    return root, files, session


def _read_csv(path: Path) -> dict[str, tuple[str, str]]:
    with open(path, newline="") as fh:
        return {row["path"]: (row["label"], row["split"]) for row in csv.DictReader(fh)}


def test_cli_csv_is_group_aware_reproducible_and_leaves_out_deletes(dataset: tuple[Path, dict[str, list[str]], Path],
                                                                    tmp_path: Path) -> None:
    root, files, session = dataset
    args = ["split", str(root), "-q", "-j", "1", "--session", str(session), "--ratios", "6:2:2", "--seed", "7"]
    assert main([*args, "--csv", str(tmp_path / "a.csv")]) == 0
    assert main([*args, "--csv", str(tmp_path / "b.csv")]) == 0
    a = _read_csv(tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    every = {str(root / p) for k, v in files.items() if k != "broken" for p in v}
    assert set(a) == every  # the unreadable file is left out
    for key, paths in files.items():
        if key not in ("unique", "broken"):
            assert len({a[str(root / p)][1] for p in paths}) == 1, key
    # labels come from the folders; counts per label within one image (or one unit) of 6:2:2
    result = Session(session).load_result()
    labeller = Labeller()
    for path, (label, _) in a.items():
        assert labeller.classify(path, str(root))[0] == label
    counts: dict[str, Counter[str]] = {}
    for label, split in a.values():
        counts.setdefault(label, Counter())[split] += 1
    assert counts["rare"] == Counter(train=1, val=1)  # targets for 2 images at 6:2:2
    for label in ("cat", "dog", "fox", "owl"):  # within one image of the share, or a unit (<= 3 files)
        n = sum(counts[label].values())
        for split, r in (("train", 0.6), ("val", 0.2), ("test", 0.2)):
            assert abs(counts[label][split] - r * n) < 3, (label, counts[label])
    # Decide a delete: the file is left out of the next split.
    victim = next(m for g in result.groups for m in g.members if m.path == str(root / files["near"][1]))
    journal = Journal(session / "journal.jsonl")
    journal.decide([Change(victim.path, victim.digest, "delete")], group="g", by="person")
    assert main([*args, "--csv", str(tmp_path / "c.csv")]) == 0
    c = _read_csv(tmp_path / "c.csv")
    assert set(c) == every - {victim.path}
    journal.undo()


def test_cli_writes_a_tree(dataset: tuple[Path, dict[str, list[str]], Path], tmp_path: Path) -> None:
    root, files, session = dataset
    out = tmp_path / "out"
    base = ["split", str(root), "-q", "-j", "1", "--session", str(session), "--ratios", "8:1:1"]
    assert main([*base, "--out", str(out), "--hardlink"]) == 0
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(written) == len({p for k, v in files.items() if k != "broken" for p in v})
    assert {p.relative_to(out).parts[0] for p in written} == {"train", "val", "test"}
    # Names clash (same file name under one label in several splits); none is lost.
    assert all(p.stat().st_nlink >= 2 for p in written)
    # The output must be new or empty, and outside the dataset.
    assert main([*base, "--out", str(out)]) == 2
    assert main([*base, "--out", str(root / "resplit")]) == 2
    assert not (root / "resplit").exists()
    sym = tmp_path / "sym"
    assert main([*base, "--out", str(sym), "--symlink"]) == 0
    assert all(p.is_symlink() and os.path.isabs(os.readlink(p)) for p in sym.rglob("*.jpg"))
    assert main([*base, "--ratios", "1", "--csv", "-"]) == 2
