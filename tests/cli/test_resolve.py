"""resolve --exact: decides byte-identical copies by rule, and nothing it should not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imgreview.cli.main import main
from imgreview.decisions.resolve import ResolveOptions, apply_plan, plan_exact
from imgreview.model import ScanResult
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import labelled_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]], ScanResult]:
    root = tmp_path_factory.mktemp("resolve") / "data"
    files = labelled_dataset(root)
    # Make the copies younger than the originals, so "oldest" keeps the original.
    for rel in [p for key in files for p in files[key][1:] if key != "unique"]:
        os.utime(root / rel, (2_000_000_000, 2_000_000_000))
    result = scan([str(root)], ScanSettings(jobs=1), Session(root.parent / "scan-session"))
    return root, files, result


def _state(journal: Journal, root: Path) -> dict[str, tuple[str, str, str | None]]:
    return {os.path.relpath(p, root): (d.action, d.by, d.rule) for p, d in journal.decisions.items()}


def test_decides_only_clean_exact_sets(dataset: tuple[Path, dict[str, list[str]], ScanResult], tmp_path: Path) -> None:
    root, files, result = dataset
    journal = Journal(tmp_path / "journal.jsonl")
    plan = plan_exact(result, journal, ResolveOptions(prefer=("oldest", "pixels", "size", "shortest"),
                                                      prefer_text="oldest"))
    apply_plan(plan, journal)
    state = _state(journal, root)
    exact, exact3, mixed = files["exact"], files["exact3"], files["mixed"]
    assert state == {
        exact[0]: ("keep", "rule", "exact:oldest"),
        exact[1]: ("delete", "rule", "exact:oldest"),
        exact3[0]: ("keep", "rule", "exact:oldest"),
        exact3[1]: ("delete", "rule", "exact:oldest"),
        exact3[2]: ("delete", "rule", "exact:oldest"),
        # Inside a near group only the redundant byte copy is decided; the rest stays for a person.
        mixed[2]: ("delete", "rule", "exact:oldest"),
    }
    assert plan.skipped == {"label conflict": 1, "split leak": 2}
    # One undoable batch: undo takes every rule decision back.
    journal.undo()
    assert Journal(tmp_path / "journal.jsonl").decisions == {}


def test_second_run_adds_nothing(dataset: tuple[Path, dict[str, list[str]], ScanResult], tmp_path: Path) -> None:
    _, _, result = dataset
    journal = Journal(tmp_path / "j.jsonl")
    apply_plan(plan_exact(result, journal), journal)
    size = (tmp_path / "j.jsonl").stat().st_size
    again = plan_exact(result, journal)
    assert again.change_count == 0 and again.unchanged == 6
    assert apply_plan(again, journal) == []
    assert (tmp_path / "j.jsonl").stat().st_size == size


def test_never_overrides_a_person(dataset: tuple[Path, dict[str, list[str]], ScanResult], tmp_path: Path) -> None:
    root, files, result = dataset
    journal = Journal(tmp_path / "j.jsonl")
    by_path = {m.path: m for g in result.groups for m in g.members}
    copy = str(root / files["exact"][1])
    journal.decide([Change(copy, by_path[copy].digest, "keep")], group="g", by="person")
    plan = plan_exact(result, journal)
    apply_plan(plan, journal)
    state = _state(journal, root)
    assert state[files["exact"][1]] == ("keep", "person", None)
    assert files["exact"][0] not in state
    assert plan.skipped["decided by a person"] == 1
    # A stale person decision (made on other content) does not hold the rule back.
    journal2 = Journal(tmp_path / "j2.jsonl")
    journal2.decide([Change(copy, "0" * 32, "keep")], group="g", by="person")
    apply_plan(plan_exact(result, journal2), journal2)
    assert _state(journal2, root)[files["exact"][0]][0] == "keep"


def test_conflict_and_leak_modes(dataset: tuple[Path, dict[str, list[str]], ScanResult], tmp_path: Path) -> None:
    root, files, result = dataset
    journal = Journal(tmp_path / "j.jsonl")
    plan = plan_exact(result, journal, ResolveOptions(conflicts="drop-all", leaks="keep-train"))
    apply_plan(plan, journal)
    state = _state(journal, root)
    for rel in files["conflict"]:
        assert state[rel] == ("delete", "rule", "exact:conflicts-drop-all")
    train, test = files["leak_train_test"]
    assert state[train] == ("keep", "rule", "exact:leaks-keep-train")
    assert state[test] == ("delete", "rule", "exact:leaks-keep-train")
    val, test = files["leak_val_test"]  # val comes before test
    assert state[val][0] == "keep" and state[test][0] == "delete"
    # Near duplicates are never decided, conflict or not.
    for key in ("conflict_near", "leak_train_val", "near"):
        assert not set(files[key]) & set(state)
    assert not plan.skipped


def test_conflicts_drop_all_also_drops_leaks_unless_told(dataset: tuple[Path, dict[str, list[str]], ScanResult],
                                                        tmp_path: Path) -> None:
    root, files, result = dataset
    journal = Journal(tmp_path / "j.jsonl")
    apply_plan(plan_exact(result, journal, ResolveOptions(conflicts="drop-all")), journal)
    state = _state(journal, root)
    assert all(state[rel] == ("delete", "rule", "exact:leaks-drop-all") for rel in files["leak_train_test"])
    journal2 = Journal(tmp_path / "j2.jsonl")
    apply_plan(plan_exact(result, journal2, ResolveOptions(conflicts="drop-all", leaks="skip")), journal2)
    assert not set(files["leak_train_test"]) & set(_state(journal2, root))


def test_within_label_decides_same_label_copies_in_a_conflict(tmp_path: Path) -> None:
    root = tmp_path / "data"
    files = labelled_dataset(root)
    src, other = files["conflict"]  # train/cat/X and train/fox/X
    extra = "train/cat/again.jpg"
    (root / extra).write_bytes((root / src).read_bytes())
    os.utime(root / extra, (2_000_000_000, 2_000_000_000))
    result = scan([str(root)], ScanSettings(jobs=1), Session(tmp_path / "s"))
    journal = Journal(tmp_path / "j.jsonl")
    plan = plan_exact(result, journal, ResolveOptions(prefer=("oldest", "pixels", "size", "shortest"),
                                                      within_label=True))
    apply_plan(plan, journal)
    state = _state(journal, root)
    assert state[extra][0] == "delete"
    assert src not in state and other not in state  # which label is right stays for a person
    without = plan_exact(result, Journal(tmp_path / "j2.jsonl"))
    assert not any(str(root / extra) in d.delete for d in without.decided)


def test_cli_resolve(dataset: tuple[Path, dict[str, list[str]], ScanResult], tmp_path: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    root, files, _ = dataset
    session = tmp_path / "session"
    assert main(["scan", str(root), "-q", "-j", "1", "--session", str(session)]) == 0
    assert main(["resolve", "--exact", "--dry-run", "--session", str(session)]) == 0
    assert not (session / "journal.jsonl").exists()
    assert main(["resolve", "--exact", "--prefer", "oldest", "--session", str(session)]) == 0
    out = capsys.readouterr().out
    assert "3 set(s)" in out and "skipped 1 set(s): label conflict" in out
    state = _state(Journal(session / "journal.jsonl"), root)
    assert state[files["exact"][1]] == ("delete", "rule", "exact:oldest")
    assert main(["resolve", "--exact", "--prefer", "nonsense", "--session", str(session)]) == 2
    assert main(["resolve", "--exact", "--session", str(tmp_path / "nowhere")]) == 2


def test_default_keeper_is_the_reviews_suggestion_not_the_oldest_or_largest(tmp_path: Path) -> None:
    """Without --prefer, resolve keeps the copy the review stars (and scan --json names ``suggested``):
    the original-looking name, not the older file the old default rules (pixels, size, oldest) chose."""
    from imgreview.decisions.keeper import group_suggestions
    from imgreview.model import Group, Member
    from imgreview.tui.state import ReviewState

    root = str(tmp_path)

    def member(name: str, digest: str, mtime: float, size: int = 50_000, width: int = 800) -> Member:
        return Member(path=f"{root}/{name}", digest=digest, distance=0, size=size, width=width, height=600,
                      format="PNG", mode="RGB", mtime=mtime, root=root, exact=True)

    # exact group: the copy is older (the old default's "oldest" kept it)
    pair = Group("g-pair", "exact", 0, f"{root}/a copy (1).png", [
        member("a copy (1).png", "da", 1_500_000_000.0), member("a.png", "da", 1_700_000_000.0)])
    # near group with a byte-identical pair inside: the star is one of the pair
    near = Group("g-near", "near", 4, f"{root}/b_small.png", [
        member("b_small.png", "db-small", 1_400_000_000.0, size=20_000, width=400),
        member("b_copy.png", "db", 1_500_000_000.0),
        member("b.png", "db", 1_700_000_000.0)])
    result = ScanResult(roots=[root], settings={}, stats={}, groups=[pair, near], errors=[])

    journal = Journal(tmp_path / "journal.jsonl")
    plan = plan_exact(result, journal)
    apply_plan(plan, journal)
    state = {os.path.basename(p): (d.action, d.rule) for p, d in journal.decisions.items()}
    assert state == {
        "a.png": ("keep", "exact:suggested"),
        "a copy (1).png": ("delete", "exact:suggested"),
        "b_copy.png": ("delete", "exact:suggested"),  # b.png, the star, is left for a person (near group)
    }
    review = ReviewState(result, Journal(tmp_path / "other.jsonl"))
    json_suggested = group_suggestions(result.groups)
    for gi, g in enumerate(review.groups):
        star = g.members[review.suggested(gi)].path  # type: ignore[index]
        assert json_suggested[g.id][0] == star
        assert journal.decisions.get(star) is None or journal.decisions[star].action == "keep"

    # the old default order would have kept the older copy: --prefer still gives it
    old = Journal(tmp_path / "old.jsonl")
    apply_plan(plan_exact(result, old, ResolveOptions(prefer=("pixels", "size", "oldest", "shortest"))), old)
    assert old.decisions[f"{root}/a copy (1).png"].action == "keep"
