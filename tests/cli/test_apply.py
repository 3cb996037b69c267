"""apply / restore: the quarantine never loses a file (docs/safety.md)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from imgreview.cli.main import main
from imgreview.model import Group, ScanResult
from imgreview.quarantine import MANIFEST_NAME, QuarantineError, apply, moves, restore
from imgreview.quarantine.manifest import TEST_PAUSE_ENV
from imgreview.scan.pipeline import scan
from imgreview.scan.walk import QUARANTINE_MARKER
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import copy_groups, resized, save, scene
from tests.helpers.procs import kill_when_paused

ONE = ScanSettings(jobs=1)
SIZE = (160, 120)


# ---------------------------------------------------------------------- helpers
def make_dataset(root: Path, seeds: range = range(3)) -> Path:
    """Per seed: an original, a half-size copy, and an exact copy (three files, one group)."""
    return copy_groups(root, seeds, SIZE, half_name="b {s}.png")


def crash_apply_after_moves(monkeypatch: pytest.MonkeyPatch, session: Session, q: Path, k: int) -> None:
    """Run an apply that crashes (an exception in the move) after ``k`` files were moved."""
    real_rename = moves._rename_noreplace
    calls = {"n": 0}

    def failing(src: moves.Place, dst: moves.Place) -> None:
        if calls["n"] == k:
            raise RuntimeError("simulated crash")
        calls["n"] += 1
        real_rename(src, dst)

    monkeypatch.setattr(moves, "_rename_noreplace", failing)
    with pytest.raises(RuntimeError):
        apply(session, str(q))
    monkeypatch.setattr(moves, "_rename_noreplace", real_rename)


def scan_session(root: Path) -> tuple[Session, ScanResult]:
    session = Session(root / ".imgreview")
    result = scan([str(root)], ONE, session)
    return session, result


def decide(session: Session, group: Group, actions: dict[str, str], by: str = "person") -> None:
    """``actions``: basename -> keep | delete | undecided."""
    journal = Journal(session.journal_path)
    changes = [Change(m.path, m.digest, actions[os.path.basename(m.path)]) for m in group.members
               if os.path.basename(m.path) in actions]
    journal.decide(changes, group=group.id, by=by, rule=None if by == "person" else "test")


def group_of(result: ScanResult, name: str) -> Group:
    return next(g for g in result.groups if any(os.path.basename(m.path) == name for m in g.members))


def tree(root: Path, skip: tuple[str, ...] = (".imgreview",)) -> dict[bytes, bytes]:
    """Every file (and symlink target) under ``root`` as relative path bytes -> content bytes."""
    out: dict[bytes, bytes] = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if os.fsdecode(d) not in skip]
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            out[rel] = b"->" + os.readlink(full) if os.path.islink(full) else Path(os.fsdecode(full)).read_bytes()
    return out


def standard(tmp_path: Path) -> tuple[Path, Session, ScanResult]:
    """Three groups: g0 keep a0 / delete the rest; g1 every file deleted by a person; g2 undecided."""
    root = make_dataset(tmp_path / "data")
    session, result = scan_session(root)
    assert len(result.groups) == 3
    decide(session, group_of(result, "a0.png"), {"a0.png": "keep", "b 0.png": "delete", "c0.png": "delete"})
    decide(session, group_of(result, "a1.png"), {"a1.png": "delete", "b 1.png": "delete", "c1.png": "delete"})
    return root, session, result


def quarantined(q: Path) -> dict[bytes, bytes]:
    return {k: v for k, v in tree(q).items() if k not in (MANIFEST_NAME.encode(), QUARANTINE_MARKER.encode())}


# ---------------------------------------------------------------------- dry run, apply, restore
def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(tmp_path, skip=())
    report = apply(session, str(tmp_path / "q"), dry_run=True)
    assert len(report.planned) == 5 and not report.moved
    assert main(["apply", "--session", str(session.path), "--move-to", str(tmp_path / "q"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would move 5 file(s)" in out and "b 0.png" in out
    assert tree(tmp_path, skip=()) == before
    assert not (tmp_path / "q").exists()


def test_apply_then_restore_gives_back_an_identical_tree(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    q = tmp_path / "q"
    report = apply(session, str(q))
    moved = {os.path.relpath(m.path, root) for m in report.moved}
    assert moved == {"train/dog/b 0.png", "val/cat/c0.png", "train/cat/a1.png", "train/dog/b 1.png",
                     "val/cat/c1.png"}
    # kept and undecided files stay; moved ones keep their path relative to the root
    after = tree(root)
    assert set(after) == {k for k in before if os.fsdecode(k) not in moved}
    assert quarantined(q) == {k: v for k, v in before.items() if os.fsdecode(k) in moved}
    assert (q / QUARANTINE_MARKER).exists()
    assert report.bytes_freed == sum(len(before[os.fsencode(p)]) for p in moved)
    lines = [json.loads(x) for x in (q / MANIFEST_NAME).read_text().splitlines()]
    assert lines[0]["imgreview-manifest"] == 1 and len(lines) == 6
    assert {os.path.relpath(x["original"], root) for x in lines[1:]} == moved

    back = restore(q / MANIFEST_NAME)
    assert len(back.restored) == 5 and not back.skipped
    assert tree(root) == before


def test_second_apply_is_a_no_op(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    q = tmp_path / "q"
    apply(session, str(q))
    snapshot = tree(tmp_path, skip=())
    again = apply(session, str(q))
    assert not again.moved and not again.planned and len(again.already) == 5
    assert tree(tmp_path, skip=()) == snapshot


def test_cli_apply_and_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    q = tmp_path / "q"
    assert main(["apply", "--session", str(session.path), "--move-to", str(q)]) == 0
    out = capsys.readouterr().out
    assert "moved 5 file(s)" in out
    assert main(["restore", str(q / MANIFEST_NAME), "--dry-run"]) == 0
    assert "would restore 5 file(s)" in capsys.readouterr().out
    assert len(quarantined(q)) == 5
    assert main(["restore", str(q)]) == 0
    assert "restored 5 file(s)" in capsys.readouterr().out
    assert tree(root) == before


def test_move_to_a_root_is_refused(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    with pytest.raises(QuarantineError):
        apply(session, str(root))
    with pytest.raises(QuarantineError):
        apply(session, str(tmp_path))  # contains the root
    assert main(["apply", "--session", str(session.path), "--move-to", str(root)]) == 2


def test_quarantine_inside_the_root_is_not_scanned(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    q = root / "quarantine"
    apply(session, str(q))
    result = scan([str(root)], ONE, session)
    assert not any(m.path.startswith(str(q)) for g in result.groups for m in g.members)


# ---------------------------------------------------------------------- interrupted apply
def _check_completed(root: Path, q: Path, before: dict[bytes, bytes], expected: int) -> None:
    names = quarantined(q)
    assert len(names) == expected and not any(b"~" in k or k.endswith(b".imgreview-partial") for k in names)
    after = tree(root)
    # nothing lost: every file is either still in place or in the quarantine, byte for byte
    assert sorted([*after.values(), *names.values()]) == sorted(before.values())
    entries = [json.loads(x) for x in (q / MANIFEST_NAME).read_text().splitlines()]
    originals = [e["original"] for e in entries if "original" in e]
    assert len(originals) == len(set(originals)) == expected  # no duplicated manifest lines


@pytest.mark.parametrize("k", [0, 1, 3])
def test_apply_interrupted_by_a_failure_completes_on_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            k: int) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    q = tmp_path / "q"
    crash_apply_after_moves(monkeypatch, session, q, k)
    assert len(quarantined(q)) == k
    report = apply(session, str(q))
    assert len(report.moved) == 5 - k and len(report.already) == k
    _check_completed(root, q, before, 5)
    restore(q)
    assert tree(root) == before


def test_restore_after_a_partial_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    q = tmp_path / "q"
    crash_apply_after_moves(monkeypatch, session, q, 2)
    report = restore(q / MANIFEST_NAME)
    assert len(report.restored) == 2 and len(report.already) == 1 and not report.skipped
    assert tree(root) == before


def _exdev(src: moves.Place, dst: moves.Place) -> None:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


def test_move_across_file_systems_copies_verifies_then_unlinks(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    mtime = os.stat(root / "val" / "cat" / "c0.png").st_mtime_ns
    q = tmp_path / "q"
    monkeypatch.setattr(moves, "_rename_noreplace", _exdev)
    report = apply(session, str(q))
    assert len(report.moved) == 5
    assert os.stat(q / "val" / "cat" / "c0.png").st_mtime_ns == mtime
    _check_completed(root, q, before, 5)
    restore(q)
    assert tree(root) == before


def test_cross_file_system_move_interrupted_before_unlink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    q = tmp_path / "q"
    monkeypatch.setattr(moves, "_rename_noreplace", _exdev)
    real_unlink = os.unlink
    calls = {"n": 0}

    def unlink_then_crash(path: str, *, dir_fd: int | None = None) -> None:
        folder = os.readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else ""
        if os.path.join(folder, path).startswith(str(root) + os.sep):  # an original, after its copy
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("killed between copy and unlink")
        real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink_then_crash)
    with pytest.raises(RuntimeError):
        apply(session, str(q))
    monkeypatch.setattr(os, "unlink", real_unlink)
    report = apply(session, str(q))
    assert len(report.moved) == 4 and len(report.already) == 1
    _check_completed(root, q, before, 5)
    restore(q)
    assert tree(root) == before


def test_apply_killed_with_sigkill_completes_on_rerun(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    q = tmp_path / "q"
    env = {**os.environ, TEST_PAUSE_ENV: "2", "PYTHONPATH": str(Path(__file__).parents[2])}
    code = kill_when_paused([sys.executable, "-m", "imgreview", "apply", "--session", str(session.path),
                             "--move-to", str(q)], env)
    assert code == -signal.SIGKILL
    # killed with two files moved and the third's manifest line written, not moved
    assert len(quarantined(q)) == 2
    lines = (q / MANIFEST_NAME).read_text().splitlines()
    assert len(lines) == 1 + 3
    report = apply(session, str(q))  # the lock died with the process
    assert len(report.moved) == 3 and len(report.already) == 2
    _check_completed(root, q, before, 5)
    restore(q)
    assert tree(root) == before


# ---------------------------------------------------------------------- refusals
def test_a_changed_file_is_skipped(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    changed = root / "val" / "cat" / "c0.png"
    save(scene(99, SIZE), changed)
    content = changed.read_bytes()
    q = tmp_path / "q"
    dry = apply(session, str(q), dry_run=True)
    assert any(s.path == str(changed) and "changed" in s.reason for s in dry.skipped)
    report = apply(session, str(q))
    assert str(changed) not in {m.path for m in report.moved}
    assert any(s.path == str(changed) and "changed" in s.reason for s in report.skipped)
    assert changed.read_bytes() == content and not (q / "val" / "cat" / "c0.png").exists()
    assert len(report.moved) == 4


def test_last_member_of_a_group_is_not_moved(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data")
    session, result = scan_session(root)
    decide(session, group_of(result, "a0.png"), {"a0.png": "keep", "b 0.png": "delete", "c0.png": "delete"})
    # the kept file disappears (moved away by hand) before apply
    os.rename(root / "train" / "cat" / "a0.png", tmp_path / "elsewhere.png")
    # g2: the kept file was edited since: it is no copy of the picture any more
    decide(session, group_of(result, "a2.png"), {"a2.png": "keep", "b 2.png": "delete", "c2.png": "delete"})
    save(scene(77, SIZE), root / "train" / "cat" / "a2.png")
    before = tree(root)
    report = apply(session, str(tmp_path / "q"))
    assert not report.moved
    reasons = {os.path.basename(s.path): s.reason for s in report.skipped}
    assert set(reasons) == {"b 0.png", "c0.png", "b 2.png", "c2.png"}
    assert all("last" in r for r in reasons.values())
    assert tree(root) == before


def test_whole_group_moves_only_when_a_person_decided_it(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data")
    session, result = scan_session(root)
    every = {"a{s}.png", "b {s}.png", "c{s}.png"}
    decide(session, group_of(result, "a0.png"), {n.format(s=0): "delete" for n in every}, by="rule")
    decide(session, group_of(result, "a1.png"), {n.format(s=1): "delete" for n in every}, by="person")
    # mixed: a rule marked two, a person the third
    decide(session, group_of(result, "a2.png"), {"a2.png": "delete", "b 2.png": "delete"}, by="rule")
    decide(session, group_of(result, "a2.png"), {"c2.png": "delete"}, by="person")
    report = apply(session, str(tmp_path / "q"))
    assert {os.path.basename(m.path) for m in report.moved} == {"a1.png", "b 1.png", "c1.png"}
    held = {os.path.basename(s.path) for s in report.skipped if "held back" in s.reason}
    assert held == {"a0.png", "b 0.png", "c0.png", "a2.png", "b 2.png", "c2.png"}
    assert (root / "train" / "cat" / "a0.png").exists() and (root / "val" / "cat" / "c2.png").exists()


def _tamper(session: Session, mutate) -> None:  # type: ignore[no-untyped-def]
    result = session.load_result()
    mutate(result)
    session.save_result(result)


def test_paths_outside_the_roots_are_refused(tmp_path: Path) -> None:
    root, session, result = standard(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.png"
    shutil.copy(root / "val" / "cat" / "c2.png", victim)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    g = group_of(result, "a2.png")

    def mutate(res: ScanResult) -> None:
        grp = next(x for x in res.groups if x.id == g.id)
        m1 = next(m for m in grp.members if m.path.endswith("c2.png"))
        m2 = next(m for m in grp.members if m.path.endswith("b 2.png"))
        m1.path = str(victim)  # plainly outside, root still claims the dataset
        m2.path = str(root / "linked" / "victim.png")  # inside by name, outside through a folder link
        m2.digest = m1.digest

    _tamper(session, mutate)
    res = session.load_result()
    grp = next(x for x in res.groups if x.id == g.id)
    decide(session, grp, {"a2.png": "keep", "victim.png": "delete"})
    journal = Journal(session.journal_path)
    m2 = next(m for m in grp.members if m.path.endswith("linked/victim.png"))
    journal.decide([Change(m2.path, m2.digest, "delete")], group=g.id)
    report = apply(session, str(tmp_path / "q"))
    reasons = {s.path: s.reason for s in report.skipped}
    assert "outside" in reasons[str(victim)]
    assert "outside" in reasons[str(root / "linked" / "victim.png")]
    assert victim.exists()
    assert not any("victim" in m.path for m in report.moved)


def test_never_moves_a_file_whose_alias_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "data"
    img = scene(5, SIZE)
    save(img, root / "a.png")
    os.link(root / "a.png", root / "z_link.png")  # hard link: the same file twice
    save(resized(img, 0.5), root / "b.png")
    session, result = scan_session(root)
    (g,) = result.groups
    a = next(m for m in g.members if m.path.endswith("a.png"))
    assert a.aliases == [str(root / "z_link.png")]
    decide(session, g, {"a.png": "delete", "b.png": "keep"})
    journal = Journal(session.journal_path)
    journal.decide([Change(str(root / "z_link.png"), a.digest, "keep")], group=g.id)
    report = apply(session, str(tmp_path / "q"))
    assert not report.moved and "alias" in report.skipped[0].reason
    # without the kept alias it moves, freeing nothing (the content stays under the other name)
    journal.decide([Change(str(root / "z_link.png"), a.digest, "undecided")], group=g.id)
    report = apply(session, str(tmp_path / "q"))
    assert [m.path for m in report.moved] == [str(root / "a.png")] and report.bytes_freed == 0
    assert (root / "z_link.png").exists()


def test_restore_never_overwrites(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    q = tmp_path / "q"
    apply(session, str(q))
    squatter = root / "val" / "cat" / "c0.png"
    squatter.write_bytes(b"new file the user made meanwhile")
    report = restore(q / MANIFEST_NAME)
    assert [s.path for s in report.skipped] == [str(squatter)] and "not overwritten" in report.skipped[0].reason
    assert squatter.read_bytes() == b"new file the user made meanwhile"
    assert (q / "val" / "cat" / "c0.png").exists() and len(report.restored) == 4
    assert main(["restore", str(q)]) == 1  # still one file it could not restore


def test_restore_rejects_a_file_that_is_not_a_manifest(tmp_path: Path) -> None:
    bogus = tmp_path / "m.jsonl"
    bogus.write_text('{"original": "/etc/passwd", "new": "/tmp/x"}\n')
    with pytest.raises(QuarantineError):
        restore(bogus)
    assert main(["restore", str(tmp_path / "missing.jsonl")]) == 2


def test_odd_file_names_survive_apply_and_restore(tmp_path: Path) -> None:
    root = tmp_path / "data"
    img = scene(8, SIZE)
    save(img, root / "keep.png")
    names = [b"with space.png", b"new\nline.png", b"quote\"s 'single'.png", b"-dash.png", b"bad\xff\xfe.png"]
    for n in names:
        shutil.copy(root / "keep.png", os.path.join(os.fsencode(root), n))
    session, result = scan_session(root)
    (g,) = result.groups
    journal = Journal(session.journal_path)
    journal.decide([Change(m.path, m.digest, "keep" if m.path.endswith("keep.png") else "delete")
                    for m in g.members], group=g.id)
    before = tree(root)
    q = tmp_path / "q"
    report = apply(session, str(q))
    assert len(report.moved) == 5 and not report.skipped
    assert set(quarantined(q)) == set(names)
    assert set(tree(root)) == {b"keep.png"}
    restore(q / MANIFEST_NAME)
    assert tree(root) == before


def test_symbolic_links_move_as_links_and_targets_are_protected(tmp_path: Path) -> None:
    root = tmp_path / "data"
    outside = tmp_path / "outside"
    img = scene(6, SIZE)
    save(img, outside / "x.png")
    save(img, root / "copy.png")
    (root / "link.png").symlink_to(outside / "x.png")  # a link to a file outside the root
    save(scene(7, SIZE), root / "a.png")
    save(scene(7, SIZE), root / "c.png", compress_level=1)
    (root / "b_link.png").symlink_to(root / "a.png")  # a link inside the root: alias of a.png
    session = Session(root / ".imgreview")
    result = scan([str(root)], ScanSettings(jobs=1, follow_links=True), session)
    decide(session, group_of(result, "link.png"), {"link.png": "delete", "copy.png": "keep"})
    decide(session, group_of(result, "a.png"), {"a.png": "delete", "c.png": "keep"})
    before, outside_before = tree(root), tree(outside)
    q = tmp_path / "q"
    report = apply(session, str(q))
    assert [m.path for m in report.moved] == [str(root / "link.png")] and report.bytes_freed == 0
    assert (q / "link.png").is_symlink() and tree(outside) == outside_before
    (skip,) = report.skipped
    assert skip.path == str(root / "a.png") and "symbolic link" in skip.reason
    restore(q)
    assert (root / "link.png").is_symlink() and tree(root) == before


def test_same_relative_path_under_two_roots_never_collides(tmp_path: Path) -> None:
    r1, r2 = tmp_path / "one", tmp_path / "two"
    img = scene(9, SIZE)
    save(img, r1 / "cat" / "x.png")
    save(resized(img, 0.5), r1 / "keep.png")
    (r2 / "cat").mkdir(parents=True)
    shutil.copy(r1 / "cat" / "x.png", r2 / "cat" / "x.png")
    session = Session(tmp_path / "session")
    result = scan([str(r1), str(r2)], ONE, session)
    (g,) = result.groups
    decide(session, g, {"x.png": "delete", "keep.png": "keep"})
    before = {**tree(r1), **{b"2/" + k: v for k, v in tree(r2).items()}}
    q = tmp_path / "q"
    report = apply(session, str(q))
    assert len(report.moved) == 2
    assert set(quarantined(q)) == {b"cat/x.png", b"cat/x~2.png"}
    restore(q)
    assert {**tree(r1), **{b"2/" + k: v for k, v in tree(r2).items()}} == before


def test_restore_stays_inside_the_roots_of_the_manifest(tmp_path: Path) -> None:
    root, session, _ = standard(tmp_path)
    q = tmp_path / "q"
    apply(session, str(q))
    stray = q / "stray.png"
    stray.write_bytes(b"x")
    with open(q / MANIFEST_NAME, "a") as fh:  # a hand-edited line pointing elsewhere
        fh.write(json.dumps({"original": str(tmp_path / "elsewhere" / "stray.png"), "new": str(stray),
                             "digest": ""}) + "\n")
    report = restore(q)
    assert len(report.restored) == 5
    (skip,) = report.skipped
    assert "outside" in skip.reason and stray.exists() and not (tmp_path / "elsewhere").exists()


def test_apply_respects_the_session_lock(tmp_path: Path) -> None:
    from imgreview.session.folder import SessionLocked

    root, session, _ = standard(tmp_path)
    other = Session(session.path)
    other.lock("review")
    try:
        with pytest.raises(SessionLocked):
            apply(session, str(tmp_path / "q"))
        assert not (tmp_path / "q").exists()
        # a caller that holds the lock itself can apply, and keeps its lock afterwards
        report = apply(other, str(tmp_path / "q"))
        assert len(report.moved) == 5
        with pytest.raises(SessionLocked):
            Session(session.path).lock("x")
    finally:
        other.unlock()
