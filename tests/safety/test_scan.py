"""Hostile input through the scan: every bad file gets a clear reason, the scan completes with
exit 0, valid-but-odd images are fingerprinted correctly, and nothing in the tree changes.

The corpus is made by :mod:`hostile`; docs/safety-tests.md lists each case and its test.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import imgreview.scan.pipeline as scan_module
from imgreview.model import ScanResult
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings
from tests.helpers.hostile import (
    NON_UTF8_REL,
    Corpus,
    cli,
    make_corpus,
    make_unreadable,
    permissions_enforceable,
    tree_state,
    unprivileged,
)
from tests.helpers.imagegen import save, scene

ONE_JOB = ScanSettings(jobs=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return make_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def cli_scan(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, object, dict, dict]:
    """One CLI scan of the corpus (session outside the tree): result JSON, process, tree before/after."""
    session = tmp_path_factory.mktemp("session") / "s"
    out = session.parent / "result.json"
    before = {**tree_state(corpus.root), **tree_state(corpus.outside)}
    proc = cli("scan", corpus.root, "--session", session, "--json", out, "--jobs", "2")
    after = {**tree_state(corpus.root), **tree_state(corpus.outside)}
    data = json.loads(out.read_text()) if out.exists() else {}
    return data, proc, before, after


def members(data: dict) -> dict[str, dict]:
    return {m["path"]: m for g in data["groups"] for m in g["members"]}


def group_of(data: dict, path: str) -> set[str]:
    for g in data["groups"]:
        paths = {m["path"] for m in g["members"]}
        if path in paths:
            return paths
    return set()


def test_scan_completes_with_exit_0_and_modifies_nothing(cli_scan: tuple) -> None:
    data, proc, before, after = cli_scan
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert data["version"] == 1
    assert before == after


def test_every_bad_file_has_a_clear_reason(corpus: Corpus, cli_scan: tuple) -> None:
    data, proc, _, _ = cli_scan
    errors = {e["path"]: e["error"] for e in data["errors"]}
    for path, exp in corpus.errors().items():
        assert path in errors, f"{path} not reported"
        assert any(r in errors[path] for r in exp.reason), (path, errors[path])
    # Nothing valid is reported as an error, and nothing bad is grouped.
    assert set(errors) == set(corpus.errors())
    assert not set(members(data)) & set(corpus.errors())
    assert data["stats"]["images"] == len(corpus.images())
    # The summary names the skipped files, readably.
    assert "bomb.png" in proc.stderr and "empty file" in proc.stderr


def test_odd_but_valid_images_are_fingerprinted(corpus: Corpus, cli_scan: tuple) -> None:
    data, _, _, _ = cli_scan
    found = members(data)
    for odd, ref in corpus.odd_pairs:
        assert group_of(data, odd) == {odd, ref}, odd
        exp = corpus.expect[odd]
        m = found[odd]
        assert (m["width"], m["height"]) == exp.size, odd
        if exp.mode:
            assert m["mode"] == exp.mode, odd
    # A 1×1 image is an image, not an error.
    one = str(corpus.root / "odd" / "one.png")
    assert one not in {e["path"] for e in data["errors"]}


def test_eight_exif_orientations_are_one_upright_picture(corpus: Corpus, cli_scan: tuple) -> None:
    data, _, _, _ = cli_scan
    group = group_of(data, corpus.orientations[0])
    assert group == set(corpus.orientations)
    found = members(data)
    for p in corpus.orientations:
        assert (found[p]["width"], found[p]["height"]) == (320, 200), p
        assert found[p]["distance"] <= 4, p


def test_awkward_names_survive_the_round_trip(corpus: Corpus, cli_scan: tuple) -> None:
    data, _, _, _ = cli_scan
    for a, b in corpus.name_pairs:
        assert {a, b} <= group_of(data, a)
    found = members(data)
    raw = os.path.join(os.fsencode(corpus.root), NON_UTF8_REL)
    latin = [p for p in found if os.fsencode(p) == raw]
    assert latin and os.path.exists(os.fsencode(latin[0]))
    for p in found:
        assert os.path.exists(os.fsencode(p)), repr(p)
    # The stored session result reads back with the same paths.
    assert any("\n" in p for p in found)


def test_links_are_not_followed_by_default_and_loops_do_not_hang(corpus: Corpus, cli_scan: tuple) -> None:
    data, _, _, _ = cli_scan
    reported = set(members(data)) | {e["path"] for e in data["errors"]}
    for path, exp in corpus.expect.items():
        if exp.kind == "absent":
            assert path not in reported, path
    assert data["stats"]["skipped_links"] == 4  # outside, self-loop, dangling, folder loop


def test_following_links_reaches_outside_and_survives_loops(corpus: Corpus, tmp_path: Path) -> None:
    before = {**tree_state(corpus.root), **tree_state(corpus.outside)}
    result = scan([str(corpus.root)], ScanSettings(jobs=1, follow_links=True), Session(tmp_path / "s"))
    assert before == {**tree_state(corpus.root), **tree_state(corpus.outside)}
    errors = {e.path: e.error for e in result.errors}
    assert "loop" in errors[str(corpus.root / "links" / "self.jpg")]
    assert "broken" in errors[str(corpus.root / "links" / "dangling.jpg")]
    # The folder loop is walked once; the outside target is fingerprinted as an image.
    assert result.stats["images"] == len(corpus.images()) + 1
    assert not any("/up/" in e.path for e in result.errors)


def test_rescan_reuses_cached_results_including_failures(corpus: Corpus, tmp_path: Path) -> None:
    session = Session(tmp_path / "s")
    first = scan([str(corpus.root)], ONE_JOB, session)
    second = scan([str(corpus.root)], ONE_JOB, session)
    assert second.stats["hashed"] == 0 and second.stats["cached"] == first.stats["files"]
    assert [e.error for e in second.errors] == [e.error for e in first.errors]
    assert second.to_dict()["groups"] == first.to_dict()["groups"]
    stored = session.load_result()
    assert {m.path for g in stored.groups for m in g.members} == {m.path for g in first.groups for m in g.members}


def test_unreadable_file_and_folder(tmp_path: Path) -> None:
    reason = permissions_enforceable()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    expect = make_unreadable(root)
    out = tmp_path / "out.json"
    try:
        before = tree_state(root)
        proc = cli("scan", root, "--session", tmp_path / "s", "--json", out, "-q", preexec_fn=unprivileged())
        after = tree_state(root)
    finally:
        for p in expect:
            os.chmod(p, 0o755)
    assert proc.returncode == 0, proc.stderr
    assert before == after
    data = json.loads(out.read_text())
    errors = {e["path"]: e["error"] for e in data["errors"]}
    for path, exp in expect.items():
        if exp.kind == "error":
            assert any(r in errors.get(path, "") for r in exp.reason), (path, errors)
    assert data["stats"]["images"] == 1


def test_unreadable_root_is_a_usage_error(tmp_path: Path) -> None:
    reason = permissions_enforceable()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    save(scene(1), root / "a.jpg")
    os.chmod(root, 0)
    try:
        proc = cli("scan", root, "--session", tmp_path / "s", preexec_fn=unprivileged())
    finally:
        os.chmod(root, 0o755)
    assert proc.returncode == 2
    assert "cannot be read" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("what", ["missing", "file"])
def test_bad_root_is_a_usage_error(tmp_path: Path, what: str) -> None:
    root = tmp_path / "root.jpg"
    if what == "file":
        save(scene(1), root)
    proc = cli("scan", root, "--session", tmp_path / "s")
    assert proc.returncode == 2
    assert ("does not exist" if what == "missing" else "is not a folder") in proc.stderr
    assert "Traceback" not in proc.stderr


def test_file_deleted_between_walk_and_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    for k in range(3):
        save(scene(k), root / f"p{k}.jpg", quality=90)
    save(scene(0), root / "copy.png")
    doomed = root / "p1.jpg"
    real_walk = scan_module.walk_files

    def walk_then_delete(*args: object, **kwargs: object) -> object:
        result = real_walk(*args, **kwargs)
        doomed.unlink()
        return result

    monkeypatch.setattr(scan_module, "walk_files", walk_then_delete)
    result = scan([str(root)], ONE_JOB, Session(tmp_path / "s"))
    errors = {e.path: e.error for e in result.errors}
    assert "vanished" in errors[str(doomed)]
    assert result.stats["images"] == 3
    assert [sorted(m.path for m in g.members) for g in result.groups] == [[str(root / "copy.png"),
                                                                           str(root / "p0.jpg")]]
    # The next scan forgets it quietly.
    monkeypatch.setattr(scan_module, "walk_files", real_walk)
    again = scan([str(root)], ONE_JOB, Session(tmp_path / "s"))
    assert not again.errors and again.stats["files"] == 3


def test_fifo_swapped_in_between_walk_and_hash_does_not_hang(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    for k in range(2):
        save(scene(k), root / f"p{k}.jpg", quality=90)
    fifo = root / "p1.jpg"
    real_walk = scan_module.walk_files

    def walk_then_swap(*args: object, **kwargs: object) -> object:
        result = real_walk(*args, **kwargs)
        fifo.unlink()
        os.mkfifo(fifo)
        return result

    monkeypatch.setattr(scan_module, "walk_files", walk_then_swap)
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(scan([str(root)], ONE_JOB, Session(tmp_path / "s"))),
                              daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # blocked opening the FIFO: release it, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
        pytest.fail("the scan hung on a FIFO")
    result = done[0]
    errors = {e.path: e.error for e in result.errors}  # type: ignore[attr-defined]
    assert errors == {str(fifo): "not a regular file"}


def test_file_replaced_after_scan_is_rehashed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    save(scene(1), root / "a.png")
    save(scene(1), root / "b.jpg", quality=90)
    save(scene(2), root / "c.png")
    session = Session(tmp_path / "s")
    first = scan([str(root)], ONE_JOB, session)
    old = {m.path: m.digest for g in first.groups for m in g.members}
    assert set(old) == {str(root / "a.png"), str(root / "b.jpg")}
    # Replace a.png by another picture (atomically, as editors do), keeping its name.
    save(scene(2), root / "tmp.png")
    os.replace(root / "tmp.png", root / "a.png")
    second = scan([str(root)], ONE_JOB, session)
    assert second.stats["hashed"] == 1
    new = {m.path: m.digest for g in second.groups for m in g.members}
    assert set(new) == {str(root / "a.png"), str(root / "c.png")}
    assert new[str(root / "a.png")] != old[str(root / "a.png")]


def test_deeply_nested_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    deep = str(root)
    os.mkdir(deep)
    for _ in range(1050):  # deeper than Python's recursion limit (1000)
        deep = os.path.join(deep, "d")
        os.mkdir(deep)
    deep = Path(deep)
    save(scene(3), deep / "deep.jpg", quality=90)
    save(scene(3), root / "top.jpg", quality=90)
    try:
        result = scan([str(root)], ONE_JOB, Session(tmp_path / "s"))
    finally:  # pytest's own cleanup recurses per level: take the tower down here, bottom up
        (deep / "deep.jpg").unlink()
        d = str(deep)
        while d != str(root):
            os.rmdir(d)
            d = os.path.dirname(d)
    assert result.stats["images"] == 2 and not result.errors
    assert len(result.groups) == 1 and result.groups[0].kind == "exact"


def test_unwritable_json_target_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    save(scene(1), root / "a.jpg")
    proc = cli("scan", root, "--session", tmp_path / "s", "--json", tmp_path / "no" / "such" / "dir.json", "-q")
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr and "Traceback" not in proc.stderr


def test_scan_result_json_keeps_non_utf8_paths(corpus: Corpus, cli_scan: tuple, tmp_path: Path) -> None:
    data, _, _, _ = cli_scan
    target = tmp_path / "r.json"
    target.write_text(json.dumps(data))
    back = ScanResult.load(target)
    raw = os.path.join(os.fsencode(corpus.root), NON_UTF8_REL)
    assert raw in {os.fsencode(m.path) for g in back.groups for m in g.members}
