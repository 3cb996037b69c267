"""The hostile corpus through review decisions, export, apply and restore.

Nothing is lost: only files a person marked delete move, a file changed since it was decided is
skipped, unreadable and unmovable files are skipped with a reason, and restore gives back the
exact tree (awkward names byte for byte).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from imgreview.cli.main import main
from imgreview.model import ScanResult
from imgreview.quarantine.manifest import MANIFEST_NAME, TEST_PAUSE_ENV
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal
from imgreview.settings import ScanSettings
from imgreview.tui.state import ReviewState
from tests.helpers.hostile import (
    NON_UTF8_REL,
    PYTHON,
    env,
    make_corpus,
    permissions_enforceable,
    tree_state,
    unprivileged,
)
from tests.helpers.imagegen import resized, save, scene
from tests.helpers.procs import kill_when_paused

ONE_JOB = ScanSettings(jobs=1)


def run_main(capsys: pytest.CaptureFixture[str], *args: str | os.PathLike[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([os.fspath(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def keep_references(session: Session, result: ScanResult, first: bool = False) -> set[str]:
    """A person keeps one file of each group (its reference, or the first path) and deletes the rest.

    Returns the paths marked delete.
    """
    journal = Journal(session.journal_path)
    marked: set[str] = set()
    for g in result.groups:
        keep = min(m.path for m in g.members) if first else g.reference
        journal.decide([Change(m.path, m.digest, "keep" if m.path == keep else "delete")
                        for m in g.members], g.id)
        marked |= {m.path for m in g.members if m.path != keep}
    return marked


def test_hostile_corpus_export_apply_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = make_corpus(tmp_path / "c")
    session = Session(tmp_path / "s")
    result = scan([str(corpus.root)], ONE_JOB, session)
    marked = keep_references(session, result, first=True)
    assert len(marked) >= 10

    # Export: the delete list, NUL-separated, gives every awkward name back byte for byte.
    listing = tmp_path / "delete.bin"
    code, _, err = run_main(capsys, "export", "--session", session.path, "-0", "--delete", listing)
    assert code == 0, err
    exported = set(listing.read_bytes().split(b"\0")) - {b""}
    assert exported == {os.fsencode(p) for p in marked}
    raw = os.path.join(os.fsencode(corpus.root), NON_UTF8_REL)
    assert any(b"\n" in p for p in exported)
    assert raw in exported

    # After the review, before apply: one marked file is replaced by another picture.
    replaced = sorted(p for p in marked if "/orient/" in p)[-1]
    save(scene(999, (320, 200)), Path(replaced), format="JPEG", quality=90)
    before = {**tree_state(corpus.root), **tree_state(corpus.outside)}

    q = tmp_path / "quarantine"
    code, out, err = run_main(capsys, "apply", "--session", session.path, "--move-to", q, "-q")
    assert code == 1, err  # one file of the delete list was not moved (it changed): docs/safety.md exit codes
    manifest = [json.loads(line) for line in (q / MANIFEST_NAME).read_text().splitlines()[1:]]
    moved = {e["original"] for e in manifest}
    assert moved == marked - {replaced}
    for p in moved:
        assert not os.path.lexists(os.fsencode(p))
    assert os.path.exists(replaced) and "changed" in out
    # Bad files, links and the outside target were never touched.
    after = {**tree_state(corpus.root), **tree_state(corpus.outside)}
    assert {k: v for k, v in before.items() if os.fsdecode(k) not in moved} == after

    code, out, err = run_main(capsys, "restore", q, "-q")
    assert code == 0, err
    assert {**tree_state(corpus.root), **tree_state(corpus.outside)} == before


def test_file_replaced_after_scan_before_review_is_never_moved(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Reviewing an old scan: the decision binds to the scanned content, so apply skips the file."""
    root = tmp_path / "root"
    img = scene(5, (160, 120))
    save(img, root / "a.png")
    save(resized(img, 0.5), root / "b.png")
    session = Session(tmp_path / "s")
    result = scan([str(root)], ONE_JOB, session)
    assert len(result.groups) == 1
    save(scene(6, (160, 120)), root / "b.png")  # replaced after the scan
    content = (root / "b.png").read_bytes()
    state = ReviewState(session.load_result(), Journal(session.journal_path))
    members = [m.path for m in state.groups[0].members]
    state.keep_only(0, members.index(str(root / "a.png")))
    code, out, err = run_main(capsys, "apply", "--session", session.path, "--move-to", tmp_path / "q", "-q")
    assert code == 1, err  # the changed file was not moved
    assert (root / "b.png").read_bytes() == content
    assert "changed since it was decided" in out


def test_file_replaced_before_a_rescan_shows_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Decided, then replaced, then rescanned (``review ROOT`` rescans): the decision is stale."""
    root = tmp_path / "root"
    img = scene(7, (160, 120))
    save(img, root / "a.png")
    save(resized(img, 0.5), root / "b.png")
    save(resized(img, 0.75), root / "c.png")
    session = Session(tmp_path / "s")
    result = scan([str(root)], ONE_JOB, session)
    keep_references(session, result)
    ref = result.groups[0].reference
    victim = next(str(root / n) for n in ("b.png", "c.png") if str(root / n) != ref)
    save(resized(img, 0.6), Path(victim))  # still a near duplicate, but other bytes
    again = scan([str(root)], ONE_JOB, session)
    state = ReviewState(again, Journal(session.journal_path))
    assert len(state.groups) == 1
    assert state.status[0].stale == 1 and not state.status[0].decided
    assert state.action(next(m for m in state.groups[0].members if m.path == victim)) == "stale"
    code, out, err = run_main(capsys, "export", "--session", session.path)
    assert code == 0 and victim not in out.splitlines() and "stale" in err
    code, out, err = run_main(capsys, "apply", "--session", session.path, "--move-to", tmp_path / "q", "-q")
    assert code == 0, err
    assert os.path.exists(victim)


def test_export_and_apply_carry_on_past_journal_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    img = scene(8, (160, 120))
    save(img, root / "a.png")
    save(resized(img, 0.5), root / "b.png")
    session = Session(tmp_path / "s")
    result = scan([str(root)], ONE_JOB, session)
    marked = keep_references(session, result)
    with open(session.journal_path, "ab") as fh:
        fh.write(b"\x00garbage\n{not json\n[1]\n{\"action\": \"delete\", \"batch\": 99, \"path\": \"/a")
    code, out, err = run_main(capsys, "export", "--session", session.path)
    assert code == 0, err
    assert set(out.splitlines()) == marked
    assert err.count("warning") == 4 and "truncated last line" in err
    code, out, err = run_main(capsys, "apply", "--session", session.path, "--move-to", tmp_path / "q", "-q")
    assert code == 0, err
    assert not any(os.path.exists(p) for p in marked)


APPLY_UNPRIVILEGED = ["-m", "imgreview", "apply", "-q", "--session"]


def test_apply_skips_unreadable_and_unmovable_files(tmp_path: Path) -> None:
    reason = permissions_enforceable()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    for name, seed in (("open", 1), ("locked", 2), ("stuck", 3)):
        img = scene(seed, (160, 120))
        save(img, root / name / "keep.png")
        save(resized(img, 0.5), root / name / "dup.png")
    session = Session(tmp_path / "s")
    result = scan([str(root)], ONE_JOB, session)
    assert len(result.groups) == 3
    journal = Journal(session.journal_path)
    for g in result.groups:
        journal.decide([Change(m.path, m.digest, "delete" if m.path.endswith("dup.png") else "keep")
                        for m in g.members], g.id)
    os.chmod(root / "locked" / "dup.png", 0)  # cannot be read to check its content
    os.chmod(root / "stuck", 0o555)  # its files cannot be moved out
    before = tree_state(root)
    try:
        proc = subprocess.run([PYTHON, *APPLY_UNPRIVILEGED, str(session.path), "--move-to", str(tmp_path / "q")],
                              capture_output=True, text=True, env=env(), timeout=120, preexec_fn=unprivileged())
        after = tree_state(root)
    finally:
        os.chmod(root / "locked" / "dup.png", 0o644)
        os.chmod(root / "stuck", 0o755)
    assert proc.returncode == 1, proc.stderr  # files skipped: the same exit status as restore
    assert "Traceback" not in proc.stderr
    assert not (root / "open" / "dup.png").exists()
    assert (root / "locked" / "dup.png").exists() and (root / "stuck" / "dup.png").exists()
    lines = proc.stdout
    assert "Permission denied" in lines and lines.count("dup.png") >= 2
    moved = os.fsencode(root / "open" / "dup.png")
    assert {k: v for k, v in before.items() if k != moved} == after  # nothing else changed


@pytest.mark.slow
def test_sigkill_during_apply_of_the_hostile_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Killed mid-apply: restore straight away gives the tree back; so does rerun + restore."""
    corpus = make_corpus(tmp_path / "c")
    session = Session(tmp_path / "s")
    result = scan([str(corpus.root)], ONE_JOB, session)
    marked = keep_references(session, result, first=True)
    before = {**tree_state(corpus.root), **tree_state(corpus.outside)}
    q = tmp_path / "q"

    def killed_apply() -> None:
        code = kill_when_paused([PYTHON, "-m", "imgreview", "apply", "-q", "--session", str(session.path),
                                 "--move-to", str(q)], {**env(), TEST_PAUSE_ENV: "3"})
        assert code == -signal.SIGKILL
        gone = [p for p in marked if not os.path.lexists(os.fsencode(p))]
        assert len(gone) == 3  # three moved, the fourth recorded but not moved

    killed_apply()
    code, _, err = run_main(capsys, "restore", q, "-q")
    assert code == 0, err
    assert {**tree_state(corpus.root), **tree_state(corpus.outside)} == before

    killed_apply()
    code, out, err = run_main(capsys, "apply", "--session", session.path, "--move-to", q, "-q")
    assert code == 0, err
    assert not any(os.path.lexists(os.fsencode(p)) for p in marked)
    code, _, err = run_main(capsys, "restore", q, "-q")
    assert code == 0, err
    assert {**tree_state(corpus.root), **tree_state(corpus.outside)} == before
