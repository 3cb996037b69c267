"""Issue 10, safety round two: one test per numbered case (apply, restore, the session folder)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.safety import (
    MANIFEST,
    MARKER,
    DigestHook,
    append_manifest,
    cli,
    decide,
    digest,
    drop_dac_caps_unavailable,
    exact_groups,
    fill,
    full_path,
    images_in,
    interrupted_at_import,
    legacy_session,
    manifest_lines,
    members,
    near_pair,
    paused_apply,
    picture,
    run,
    save_png,
    scan,
    small_fs,
    standard,
    stored_result,
    tree,
    unprivileged,
)

Cap = pytest.CaptureFixture[str]


def apply_args(session: Path, q: Path, *more: str) -> list[str | os.PathLike[str]]:
    return ["apply", "--session", session, "--move-to", q, *more]


# ====================================================================== data loss
def test_01_a_second_apply_into_a_busy_quarantine_is_refused(tmp_path: Path, capsys: Cap) -> None:
    """Two datasets, one quarantine, the same relative paths, identical files: the second waits its turn."""
    a_root, a_sess, _ = standard(tmp_path / "A")
    b_root, b_sess, _ = standard(tmp_path / "B")
    a_before, b_before = tree(a_root), tree(b_root)
    q = tmp_path / "q"
    with paused_apply(a_sess, q, after=1):
        code, _, err = run(capsys, *apply_args(b_sess, q))
        assert code == 2 and "in use" in err
        assert tree(b_root) == b_before
    assert run(capsys, *apply_args(a_sess, q))[0] == 0  # finish A after its kill
    assert run(capsys, *apply_args(b_sess, q))[0] == 0
    assert len(images_in(q)) == 8
    assert run(capsys, "restore", q)[0] == 0
    assert tree(a_root) == a_before and tree(b_root) == b_before


def test_01_a_rerun_never_finishes_with_another_datasets_file(tmp_path: Path, capsys: Cap) -> None:
    """B's line claims A's quarantined file (identical bytes): B's original must not be unlinked."""
    a_root, a_sess, _ = standard(tmp_path / "A", range(1))
    b_root, b_sess, b_scan = standard(tmp_path / "B", range(1))
    a_before, b_before = tree(a_root), tree(b_root)
    q = tmp_path / "q"
    assert run(capsys, *apply_args(a_sess, q))[0] == 0
    # what an apply of B left when its move was refused ("destination exists"): its header and line
    c0 = members(b_scan)["c0.png"]
    header = {**manifest_lines(q)[0], "session": str(b_sess), "roots": [str(b_root)]}
    append_manifest(q, header, {"original": c0["path"], "new": str(q / "val" / "cat" / "c0.png"),
                                "digest": c0["digest"], "size": c0["size"], "group": c0["_group"],
                                "root": str(b_root), "time": header["time"]})
    run(capsys, *apply_args(b_sess, q))
    content = b_before[b"val/cat/c0.png"]
    copies = [v for t in (tree(a_root), tree(b_root), images_in(q)) for v in t.values() if v == content]
    assert len(copies) == 6  # nothing lost: three per dataset, wherever they are
    run(capsys, "restore", q)
    assert tree(a_root) == a_before and tree(b_root) == b_before


def test_02_a_planted_lock_symlink_is_not_followed(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path)
    precious = tmp_path / "precious.txt"
    precious.write_text("do not truncate me\n")
    (session / "lock").unlink(missing_ok=True)
    (session / "lock").symlink_to(precious)
    code, _, err = run(capsys, *apply_args(session, tmp_path / "q"))
    assert precious.read_text() == "do not truncate me\n"
    assert code == 2 and "lock" in err
    code, _, err = run(capsys, "resolve", "--exact", "--session", session)
    assert code == 2 and precious.read_text() == "do not truncate me\n"


def test_02_a_planted_journal_symlink_is_not_appended_to(tmp_path: Path, capsys: Cap) -> None:
    root = exact_groups(tmp_path / "data")
    scan(root)
    session = root / ".imgreview"
    precious = tmp_path / "precious.jsonl"
    precious.write_text("mine\n")
    (session / "journal.jsonl").unlink(missing_ok=True)
    (session / "journal.jsonl").symlink_to(precious)
    code, _, err = run(capsys, "resolve", "--exact", "--session", session)
    assert precious.read_text() == "mine\n"
    assert code == 2 and "journal.jsonl" in err


def test_02_a_session_folder_that_is_a_symlink_is_refused(tmp_path: Path, capsys: Cap) -> None:
    root = exact_groups(tmp_path / "data")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "scan.json").write_text("precious\n")
    (root / ".imgreview").symlink_to(outside, target_is_directory=True)
    code, _, err = run(capsys, "scan", root, "--jobs", "1", "-q")
    assert (outside / "scan.json").read_text() == "precious\n" and sorted(os.listdir(outside)) == ["scan.json"]
    assert code == 2 and "link" in err


def test_03_a_kept_copy_replaced_by_a_symlink_is_no_copy(tmp_path: Path, capsys: Cap) -> None:
    root = exact_groups(tmp_path / "data", range(1))
    result = scan(root)
    session = root / ".imgreview"
    decide(session, result, {"a0.png": "keep", "b0.png": "delete", "c0.png": "delete"})
    kept = root / "train" / "cat" / "a0.png"
    kept.unlink()
    kept.symlink_to(root / "val" / "cat" / "c0.png")  # what `jdupes -l` does
    q = tmp_path / "q"
    code, out, _ = run(capsys, *apply_args(session, q))
    assert (root / "val" / "cat" / "c0.png").is_file() and (root / "train" / "dog" / "b0.png").is_file()
    assert not images_in(q)
    assert "last" in out


def test_04_bytes_appended_during_a_cross_fs_move_are_kept(tmp_path: Path, capsys: Cap,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = exact_groups(tmp_path / "data", range(1))
    result = scan(root)
    session = root / ".imgreview"
    decide(session, result, {"a0.png": "keep", "b0.png": "keep", "c0.png": "delete"})
    victim = root / "val" / "cat" / "c0.png"
    with small_fs(tmp_path / "other") as other:
        q = other / "q"
        real_fsync = os.fsync
        state = {"done": False}

        def fsync(fd: int) -> None:
            real_fsync(fd)
            path = os.readlink(f"/proc/self/fd/{fd}")
            if not state["done"] and path.startswith(str(q)) and not path.endswith(MANIFEST) \
                    and os.path.basename(path) != MARKER and os.path.isfile(path):
                state["done"] = True  # the copy of the first file is on disk: the writer adds more
                with open(victim, "ab") as fh:
                    fh.write(b"APPENDED")

        monkeypatch.setattr(os, "fsync", fsync)
        before = victim.read_bytes()
        code, out, _ = run(capsys, *apply_args(session, q))
        monkeypatch.setattr(os, "fsync", real_fsync)
        assert "changed" in out
        assert state["done"]
        assert victim.exists() and victim.read_bytes() == before + b"APPENDED"
        assert not images_in(q)
        assert code == 1 and "changed" in out


def _wrap_moves(monkeypatch: pytest.MonkeyPatch, watched: Path, squat: bytes) -> dict[str, bool]:
    """Create a file at ``watched`` right before the move primitive runs (the check-then-rename race)."""
    import imgreview

    state = {"done": False}

    def before(dst: Any, dir_fd: int | None = None) -> None:
        where = dst.path if hasattr(dst, "path") else full_path(dst, dir_fd)  # a moves.Place, or a path
        if not state["done"] and where == str(watched):
            state["done"] = True
            watched.parent.mkdir(parents=True, exist_ok=True)
            watched.write_bytes(squat)

    def wrap(fn: Any, dst_index: int, dir_kw: str) -> Any:
        def inner(*a: Any, **k: Any) -> Any:
            before(a[dst_index] if len(a) > dst_index else k.get("dst"), k.get(dir_kw))
            return fn(*a, **k)
        return inner

    for mod_name in ("imgreview.quarantine", "imgreview.quarantine.moves"):
        try:
            mod = __import__(mod_name, fromlist=["x"])
        except ImportError:
            continue
        for attr in ("_rename", "_rename_noreplace"):
            if hasattr(mod, attr):
                monkeypatch.setattr(mod, attr, wrap(getattr(mod, attr), 1, "dst_dir_fd"))
    monkeypatch.setattr(os, "rename", wrap(os.rename, 1, "dst_dir_fd"))
    monkeypatch.setattr(os, "link", wrap(os.link, 1, "dst_dir_fd"))
    assert imgreview
    return state


def test_05_apply_never_replaces_a_file_created_at_its_destination(tmp_path: Path, capsys: Cap,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root, session, _ = standard(tmp_path, range(1))
    before = tree(root)
    q = tmp_path / "q"
    target = q / "val" / "cat" / "c0.png"
    state = _wrap_moves(monkeypatch, target, b"somebody else's file")
    run(capsys, *apply_args(session, q))
    monkeypatch.undo()
    assert state["done"]
    assert target.read_bytes() == b"somebody else's file"
    assert (root / "val" / "cat" / "c0.png").read_bytes() == before[b"val/cat/c0.png"]


def test_05_restore_never_replaces_a_file_created_at_the_original_path(tmp_path: Path, capsys: Cap,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    target = root / "val" / "cat" / "c0.png"
    state = _wrap_moves(monkeypatch, target, b"made meanwhile")
    code, _, _ = run(capsys, "restore", q)
    monkeypatch.undo()
    assert state["done"]
    assert target.read_bytes() == b"made meanwhile"
    assert (q / "val" / "cat" / "c0.png").exists() and code == 1


def test_06_an_edited_header_session_cannot_truncate_a_lock_elsewhere(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "lock").write_text("precious lock-named file\n")
    lines = (q / MANIFEST).read_text().splitlines()
    head = json.loads(lines[0])
    head["session"] = str(victim)
    (q / MANIFEST).write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
    run(capsys, "restore", q)
    assert (victim / "lock").read_text() == "precious lock-named file\n"


# ====================================================================== outside the roots
def _swap_for_link(folder: Path, outside: Path) -> None:
    """Replace ``folder`` by a symbolic link to ``outside`` (the real folder moves aside, inside the root)."""
    os.rename(folder, folder.with_name(folder.name + "-real"))
    folder.symlink_to(outside, target_is_directory=True)


@pytest.mark.parametrize("cross_fs", [False, True], ids=["same-fs", "cross-fs"])
def test_07_a_folder_swapped_for_a_link_during_apply_moves_nothing_outside(
        tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch, cross_fs: bool) -> None:
    root = tmp_path / "data"
    keep, drop = near_pair(root)
    result = scan(root)
    session = root / ".imgreview"
    decide(session, result, {keep.name: "keep", drop.name: "delete"})
    outside = tmp_path / "outside" / "dog"
    save_png(picture(77), outside / drop.name)
    outside_before = tree(tmp_path / "outside")
    DigestHook(monkeypatch, digest(drop), lambda: _swap_for_link(drop.parent, outside))
    with small_fs(tmp_path / "other") if cross_fs else _nullcontext(tmp_path) as base:
        q = base / "q"
        run(capsys, *apply_args(session, q))
        monkeypatch.undo()
        assert tree(tmp_path / "outside") == outside_before
        assert all(v != outside_before[b"dog/" + drop.name.encode()] for v in images_in(q).values())


class _nullcontext:
    def __init__(self, value: Path) -> None:
        self.value = value

    def __enter__(self) -> Path:
        return self.value

    def __exit__(self, *a: object) -> None:
        return None


def test_08_a_linked_folder_inside_the_quarantine_gives_nothing_from_outside(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    outside = tmp_path / "outside" / "cat"
    save_png(picture(88), outside / "c0.png")
    outside_before = tree(tmp_path / "outside")
    shutil.rmtree(q / "val" / "cat")
    (q / "val" / "cat").symlink_to(outside, target_is_directory=True)
    code, _, _ = run(capsys, "restore", q)
    assert tree(tmp_path / "outside") == outside_before
    assert not (root / "val" / "cat" / "c0.png").exists()
    assert code == 1


def test_08_a_root_folder_swapped_for_a_link_during_restore_writes_nothing_outside(
        tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    keep, drop = near_pair(root)
    result = scan(root)
    session = root / ".imgreview"
    decide(session, result, {keep.name: "keep", drop.name: "delete"})
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    outside = tmp_path / "outside" / "dog"
    outside.mkdir(parents=True)
    DigestHook(monkeypatch, digest(q / "train" / "dog" / drop.name), lambda: _swap_for_link(drop.parent, outside))
    code, _, _ = run(capsys, "restore", q)
    monkeypatch.undo()
    assert os.listdir(outside) == []
    # the file went back into the very folder it came from (held open before the swap), inside the root
    assert (drop.parent.with_name("dog-real") / drop.name).exists() or code == 1


def test_09_an_extra_header_cannot_widen_the_roots(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    (q / "evil.png").write_bytes(b"planted")
    target = tmp_path / "outside" / "evil.png"
    head = manifest_lines(q)[0]
    append_manifest(q, {**head, "roots": ["/"]}, {"original": str(target), "new": str(q / "evil.png"),
                                                 "digest": digest(q / "evil.png"), "size": 7})
    code, _, _ = run(capsys, "restore", q)
    assert not target.exists() and (q / "evil.png").exists()
    assert code == 1


@pytest.mark.parametrize("where", ["results.sqlite", "scan.json"])
def test_10_a_dot_dot_path_in_scan_json_cannot_reach_outside(tmp_path: Path, capsys: Cap, where: str) -> None:
    root, session, result = standard(tmp_path, range(1))
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    shutil.copy(root / "train" / "cat" / "a0.png", outside / "x.png")
    (root / "link").symlink_to(outside / "sub", target_is_directory=True)
    data = stored_result(session)
    for m in data["groups"][0]["members"]:
        if m["path"].endswith("b0.png"):
            old, m["path"] = m["path"], str(root) + "/link/../x.png"
            sneaky = m
    if where == "scan.json":
        legacy_session(session).write_text(json.dumps(data))
    else:  # the same planted path in the session's database
        db = sqlite3.connect(session / "results.sqlite")
        db.execute("UPDATE members SET path = ? WHERE path = ?", (os.fsencode(sneaky["path"]), os.fsencode(old)))
        db.commit()
        db.close()
        assert stored_result(session) == data
    (session / "journal.jsonl").unlink()
    decide(session, data, {"a0.png": "keep", "x.png": "delete", "c0.png": "delete"})
    assert sneaky
    run(capsys, *apply_args(session, tmp_path / "q"))
    assert (outside / "x.png").exists()


# ====================================================================== tracebacks and hangs
DAMAGED_MANIFEST_LINES = {
    "deep-nesting": "[" * 100000,
    "size-1e400": None,  # filled in with a real entry below
    "roots-5": {"imgreview-manifest": 1, "roots": 5},
    "roots-null": {"imgreview-manifest": 1, "roots": None, "move_to": None},
}


@pytest.mark.parametrize("damage", sorted(DAMAGED_MANIFEST_LINES))
def test_11_a_damaged_manifest_line_is_skipped_and_the_rest_restored(tmp_path: Path, capsys: Cap,
                                                                     damage: str) -> None:
    root, session, _ = standard(tmp_path, range(1))
    before = tree(root)
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    if damage == "size-1e400":
        entry = manifest_lines(q)[1]
        line = json.dumps({**entry, "original": entry["original"] + "x"}).replace(
            f'"size": {entry["size"]}', '"size": 1e400')
        assert "1e400" in line
    else:
        line = DAMAGED_MANIFEST_LINES[damage]
        line = line if isinstance(line, str) else json.dumps(line)
    append_manifest(q, line)
    code, _, err = run(capsys, *apply_args(session, q))  # a rerun reads the manifest too
    assert code in (0, 1) and "Traceback" not in err
    code, _, err = run(capsys, "restore", q)
    assert tree(root) == before
    assert "skipped" in err


@pytest.mark.parametrize("command", ["export", "apply", "apply-dry-run"])
def test_12_a_journal_rule_that_is_not_a_string_is_skipped(tmp_path: Path, capsys: Cap, command: str) -> None:
    root = exact_groups(tmp_path / "data", range(1))
    result = scan(root)
    session = root / ".imgreview"
    decide(session, result, {"a0.png": "delete", "b0.png": "delete", "c0.png": "delete"}, by="rule", rule=5)
    args: list[str | os.PathLike[str]] = {
        "export": ["export", "--session", session],
        "apply": apply_args(session, tmp_path / "q"),
        "apply-dry-run": apply_args(session, tmp_path / "q", "--dry-run"),
    }[command]
    before = tree(root)
    code, _, err = run(capsys, *args)
    assert code == 0 and "skipped" in err and "rule" in err
    assert tree(root) == before


def _mutations() -> dict[str, Any]:
    return {
        "roots-5": lambda d: d.__setitem__("roots", 5),
        "roots-list-of-int": lambda d: d.__setitem__("roots", [5]),
        "groups-dict": lambda d: d.__setitem__("groups", {}),
        "group-id-int": lambda d: d["groups"][0].__setitem__("id", 5),
        "group-kind-list": lambda d: d["groups"][0].__setitem__("kind", []),
        "group-max_distance-str": lambda d: d["groups"][0].__setitem__("max_distance", "x"),
        "group-reference-int": lambda d: d["groups"][0].__setitem__("reference", 3),
        "group-members-str": lambda d: d["groups"][0].__setitem__("members", "abc"),
        "member-path-int": lambda d: d["groups"][0]["members"][0].__setitem__("path", 5),
        "member-path-null": lambda d: d["groups"][0]["members"][0].__setitem__("path", None),
        "member-digest-int": lambda d: d["groups"][0]["members"][0].__setitem__("digest", 7),
        "member-size-str": lambda d: d["groups"][0]["members"][0].__setitem__("size", "big"),
        "member-width-list": lambda d: d["groups"][0]["members"][0].__setitem__("width", [1]),
        "member-distance-str": lambda d: d["groups"][0]["members"][0].__setitem__("distance", "0"),
        "member-root-int": lambda d: d["groups"][0]["members"][0].__setitem__("root", 1),
        "member-aliases-str": lambda d: d["groups"][0]["members"][0].__setitem__("aliases", "xy"),
        "member-aliases-ints": lambda d: d["groups"][0]["members"][0].__setitem__("aliases", [1, 2]),
        "member-label-int": lambda d: d["groups"][0]["members"][0].__setitem__("label", 4),
        "member-mtime-str": lambda d: d["groups"][0]["members"][0].__setitem__("mtime", "yesterday"),
        "member-unknown-arg-type": lambda d: d["groups"][0]["members"].__setitem__(0, 5),
        "errors-ints": lambda d: d.__setitem__("errors", [1]),
        "settings-list": lambda d: d.__setitem__("settings", [1, 2]),
    }


@pytest.mark.parametrize("mutation", sorted(_mutations()))
def test_13_scan_json_with_wrong_types_is_a_clear_error(tmp_path: Path, capsys: Cap, mutation: str) -> None:
    root, session, _ = standard(tmp_path, range(1))
    data = stored_result(session)
    _mutations()[mutation](data)
    legacy_session(session).write_text(json.dumps(data))  # the database's own refusals: tests/unit/test_store.py
    def state() -> dict[bytes, bytes]:
        return {k: v for k, v in tree(tmp_path, skip=()).items() if not k.endswith(b".imgreview/lock")}

    before = state()
    for args in (["export", "--session", session], apply_args(session, tmp_path / "q", "--dry-run"),
                 apply_args(session, tmp_path / "q"), ["resolve", "--exact", "--dry-run", "--session", session]):
        code, _, err = run(capsys, *args)
        assert code == 2 and "scan result" in err, (args[0], code, err)
    assert state() == before


@pytest.mark.parametrize("name", ["journal.jsonl", "results.sqlite", "scan.json", "session.json"])
def test_14_a_session_file_that_is_a_folder_is_a_clear_error(tmp_path: Path, capsys: Cap, name: str) -> None:
    root, session, _ = standard(tmp_path, range(1))
    if name == "scan.json":
        legacy_session(session)
    (session / name).unlink()
    (session / name).mkdir()
    for args in (["export", "--session", session], apply_args(session, tmp_path / "q", "--dry-run")):
        code, _, err = run(capsys, *args)
        assert code == 2 and name in err and "quarantine" not in err, (args, err)
    assert not (tmp_path / "q").exists()


@pytest.mark.parametrize("name", ["journal.jsonl", "results.sqlite", "scan.json", "session.json", MANIFEST])
def test_14_a_session_file_or_manifest_that_is_a_fifo_does_not_hang(tmp_path: Path, capsys: Cap,
                                                                     name: str) -> None:
    root, session, _ = standard(tmp_path, range(1))
    if name == "scan.json":
        legacy_session(session)
    q = tmp_path / "q"
    if name == MANIFEST:
        assert run(capsys, *apply_args(session, q))[0] == 0
        (q / name).unlink()
        os.mkfifo(q / name)
        commands = [apply_args(session, q), ["restore", q]]
    else:
        (session / name).unlink()
        os.mkfifo(session / name)
        commands = [["export", "--session", session], apply_args(session, q, "--dry-run"), apply_args(session, q)]
    for args in commands:
        r = cli(*args, timeout=30)
        assert r.returncode == 2 and name in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


@pytest.mark.parametrize("name", ["results.sqlite", "scan.json"])
def test_14_a_scan_over_a_fifo_scan_json_does_not_hang(tmp_path: Path, name: str) -> None:
    root, session, _ = standard(tmp_path, range(1))
    if name == "scan.json":
        legacy_session(session)
    (session / name).unlink()
    os.mkfifo(session / name)
    r = cli("scan", root, "--jobs", "1", "-q", timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    store = session / "results.sqlite"
    assert store.is_file() and not store.is_symlink() and not os.path.lexists(session / "scan.json")


@pytest.mark.parametrize("trigger", ["imgreview.cli", "imgreview.session"])
def test_15_ctrl_c_at_start_exits_130_without_a_traceback(tmp_path: Path, trigger: str) -> None:
    root, session, _ = standard(tmp_path, range(1))
    r = interrupted_at_import(trigger, "export", "--session", str(session))
    assert r.returncode == 130 and "Traceback" not in r.stderr, (r.returncode, r.stderr[-2000:])
    assert r.returncode != -signal.SIGINT


# ====================================================================== wrong or unclear outcomes
def test_16_move_to_a_dataset_folder_is_refused(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path, range(1))
    other = exact_groups(tmp_path / "other-dataset", range(3))
    before = tree(other)
    code, _, err = run(capsys, *apply_args(session, other))
    assert code == 2 and "not empty" in err
    assert tree(other) == before and not (other / MARKER).exists()


def test_16_restore_that_empties_the_quarantine_removes_its_marker(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    assert (q / MARKER).exists()
    assert run(capsys, "restore", q)[0] == 0
    assert not (q / MARKER).exists()


def test_17_restore_after_the_quarantine_folder_was_moved(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path)
    before = tree(root)
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    moved = tmp_path / "elsewhere" / "q2"
    moved.parent.mkdir()
    os.rename(q, moved)
    code, out, _ = run(capsys, "restore", moved)
    assert code == 0, out
    assert tree(root) == before and not images_in(moved)


def test_18_restore_finishes_a_cross_fs_move_cut_before_the_unlink(tmp_path: Path, capsys: Cap,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root, session, _ = standard(tmp_path, range(1))
    before = tree(root)
    victim = root / "val" / "cat" / "c0.png"
    with small_fs(tmp_path / "other") as other:
        q = other / "q"
        real_unlink = os.unlink

        def unlink(path: Any, *, dir_fd: int | None = None) -> None:
            if full_path(path, dir_fd) == str(victim):
                raise RuntimeError("power cut between the copy and the unlink")
            real_unlink(path, dir_fd=dir_fd)

        monkeypatch.setattr(os, "unlink", unlink)
        with pytest.raises(RuntimeError):
            run(capsys, *apply_args(session, q))
        monkeypatch.setattr(os, "unlink", real_unlink)
        assert victim.exists() and (q / "val" / "cat" / "c0.png").exists()
        code, out, _ = run(capsys, "restore", q)
        assert code == 0, out
        assert tree(root) == before and not images_in(q)


def test_19_a_renamed_root_is_reported_as_missing(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    os.rename(root, tmp_path / "renamed")
    code, out, _ = run(capsys, "restore", q)
    assert code == 1
    assert "symbolic link" not in out and "no longer exists" in out


LONG = "n" * 251 + ".png"  # 255 bytes: NAME_MAX


def test_20_a_255_byte_name_moves_across_file_systems(tmp_path: Path, capsys: Cap) -> None:
    root = tmp_path / "data"
    a = save_png(picture(3), root / "a.png")
    (root / LONG).write_bytes(a.read_bytes())
    result = scan(root)
    session = root / ".imgreview"
    decide(session, result, {"a.png": "keep", LONG: "delete"})
    before = tree(root)
    with small_fs(tmp_path / "other") as other:
        q = other / "q"
        code, out, _ = run(capsys, *apply_args(session, q))
        assert code == 0 and "too long" not in out, out
        assert (q / LONG).exists()
        assert run(capsys, "restore", q)[0] == 0
        assert tree(root) == before


def test_20_a_255_byte_name_gets_a_numbered_name_within_name_max(tmp_path: Path, capsys: Cap) -> None:
    r1, r2 = tmp_path / "one", tmp_path / "two"
    a = save_png(picture(4), r1 / "a.png")
    (r1 / LONG).write_bytes(a.read_bytes())
    r2.mkdir()
    (r2 / LONG).write_bytes(a.read_bytes())
    s = tmp_path / "session"
    result = scan(r1, r2, session=s)
    ms = [m for g in result["groups"] for m in g["members"]]
    lines = []
    for m in ms:
        action = "keep" if m["path"].endswith("a.png") else "delete"
        lines.append({"v": 1, "batch": 1, "time": "t", "action": action, "path": m["path"], "digest": m["digest"],
                      "group": result["groups"][0]["id"], "by": "person"})
    (s / "journal.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    q = tmp_path / "q"
    code, out, _ = run(capsys, *apply_args(s, q))
    assert code == 0 and "too long" not in out, out
    names = [n for n in os.listdir(q) if n not in (MANIFEST, MARKER)]
    assert len(names) == 2 and all(len(os.fsencode(n)) <= 255 for n in names)
    assert run(capsys, "restore", q)[0] == 0
    assert (r1 / LONG).exists() and (r2 / LONG).exists()


def test_21_disk_full_during_a_cross_fs_restore_leaves_no_partial_files(tmp_path: Path, capsys: Cap) -> None:
    with small_fs(tmp_path / "small", "2m") as small:
        root, session, _ = standard(small, range(2))
        before = tree(root)
        q = tmp_path / "q"
        assert run(capsys, *apply_args(session, q))[0] == 0
        filler = fill(small)
        code, _, _ = run(capsys, "restore", q)
        assert code == 1
        assert set(tree(root)) <= set(before), sorted(set(tree(root)) - set(before))
        filler.unlink()
        assert run(capsys, "restore", q)[0] == 0
        assert tree(root) == before


@pytest.mark.parametrize("own", [MANIFEST, MARKER])
def test_22_entries_pointing_at_the_quarantines_own_files_are_refused(tmp_path: Path, capsys: Cap,
                                                                      own: str) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    (root / "val" / "cat" / "c0.png").write_bytes(b"squatter")  # one file stays in the quarantine
    append_manifest(q, {"original": str(root / "stolen"), "new": str(q / own), "digest": "", "size": 0})
    code, out, _ = run(capsys, "restore", q)
    assert (q / own).exists() and not (root / "stolen").exists()
    assert code == 1 and "own files" in out


def test_22_a_changed_quarantined_file_is_restored_only_when_asked(tmp_path: Path, capsys: Cap) -> None:
    root, session, _ = standard(tmp_path, range(1))
    q = tmp_path / "q"
    assert run(capsys, *apply_args(session, q))[0] == 0
    (q / "val" / "cat" / "c0.png").write_bytes(b"something else")
    code, out, _ = run(capsys, "restore", q)
    assert code == 1 and "changed" in out
    assert not (root / "val" / "cat" / "c0.png").exists()
    code, out, _ = run(capsys, "restore", q, "--accept-changed")
    assert code == 0 and (root / "val" / "cat" / "c0.png").read_bytes() == b"something else"


def test_exit_codes_apply_and_restore_agree_when_files_are_skipped(tmp_path: Path, capsys: Cap) -> None:
    """A file apply cannot move (its folder is read-only) and one restore cannot return: both exit 1."""
    if os.geteuid() == 0 and drop_dac_caps_unavailable():
        pytest.skip("cannot drop root's permission override here")
    root, session, _ = standard(tmp_path, range(2))
    q = tmp_path / "q"
    os.chmod(root / "train" / "dog", 0o555)
    try:
        r = cli(*apply_args(session, q), preexec_fn=unprivileged())
    finally:
        os.chmod(root / "train" / "dog", 0o755)
    assert "Permission denied" in r.stdout and (root / "train" / "dog" / "b0.png").exists()
    assert r.returncode == 1, r.stdout
    (root / "val" / "cat" / "c0.png").write_bytes(b"squatter")
    assert cli("restore", q).returncode == 1


def test_help_lists_the_exit_codes(capsys: Cap) -> None:
    for cmd in ("apply", "restore"):
        with pytest.raises(SystemExit):
            run(capsys, cmd, "--help")
        out = capsys.readouterr().out
        assert "exit status" in out.lower() and "1" in out and "2" in out


assert members and Any
