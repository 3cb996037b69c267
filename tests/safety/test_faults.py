"""Faults around the scan and the session: a killed scan, two processes on one session, a session
folder damaged or from another version, a journal that cannot be written.

Each case must end in a clear message (exit 2 for an unusable session) or a warning and carrying
on -- never a traceback, never a state that fails again and again for no reason it names.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from imgreview.cli.main import main
from imgreview.scan.cache import CacheError, FingerprintCache
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session, SessionError, SessionLocked
from imgreview.session.journal import Change, Journal, JournalError
from imgreview.settings import ScanSettings
from tests.helpers.hostile import (
    PYTHON,
    cli,
    env,
    permissions_enforceable,
    tree_state,
    unprivileged,
)
from tests.helpers.imagegen import resized, save, scene
from tests.helpers.procs import cached_rows, wait_for
from tests.helpers.safety import legacy_session

ONE_JOB = ScanSettings(jobs=1)

# The CLI with every fingerprint slowed down, so a test can kill it mid-scan.
SLOW_CLI = """
import sys, time
import imgreview.scan.workers as s
real = s.fingerprint_file
def slow(path, settings):
    time.sleep(float(sys.argv[1]))
    return real(path, settings)
s.fingerprint_file = slow
from imgreview.cli.main import main
sys.exit(main(sys.argv[2:]))
"""




def small_dataset(root: Path, n: int) -> None:
    """``n`` small pictures: half of them scenes, the other half reduced copies of those."""
    for k in range(n // 2):
        img = scene(1000 + k, (64, 48))
        save(img, root / f"a{k:04d}.png")
        save(resized(img, 0.75), root / f"b{k:04d}.png")


def run_main(capsys: pytest.CaptureFixture[str], *args: str | os.PathLike[str]) -> tuple[int, str]:
    """The CLI in this process (fast); a traceback would fail the test as an exception."""
    capsys.readouterr()
    code = main([os.fspath(a) for a in args])
    return code, capsys.readouterr().err


def groups_of(result_groups: list) -> list[list[str]]:  # type: ignore[type-arg]
    return sorted(sorted(m["path"] for m in g["members"]) for g in result_groups)


# ---------------------------------------------------------------- SIGKILL during a scan
@pytest.mark.slow
def test_sigkill_during_scan_keeps_the_cache_and_the_next_scan_resumes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    small_dataset(root, 300)
    session = tmp_path / "s"
    before = tree_state(root)
    proc = subprocess.Popen([PYTHON, "-c", SLOW_CLI, "0.02", "scan", str(root), "--session", str(session),
                             "--jobs", "1", "-q"], env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: cached_rows(session / "cache.sqlite") > 0 or proc.poll() is not None,
                 what="the first cache commit")
        assert proc.poll() is None, "the scan finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (session / "results.sqlite").exists() and not (session / "scan.json").exists()  # no half result
    kept = cached_rows(session / "cache.sqlite")
    assert 0 < kept < 300
    db = sqlite3.connect(session / "cache.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    out = tmp_path / "resumed.json"
    again = cli("scan", root, "--session", session, "--json", out, "-q")
    assert again.returncode == 0, again.stderr
    resumed = json.loads(out.read_text())
    assert resumed["stats"]["cached"] >= kept
    assert resumed["stats"]["hashed"] == 300 - resumed["stats"]["cached"]
    assert not resumed["errors"]
    # Same groups as a scan from scratch.
    fresh = scan([str(root)], ONE_JOB, Session(tmp_path / "fresh"))
    assert groups_of(resumed["groups"]) == groups_of(fresh.to_dict()["groups"])
    assert len(fresh.groups) == 150
    assert tree_state(root) == before


@pytest.mark.slow
def test_ctrl_c_during_scan_stores_what_was_hashed_and_says_how_to_continue(tmp_path: Path) -> None:
    root = tmp_path / "root"
    small_dataset(root, 200)
    session = tmp_path / "s"
    proc = subprocess.Popen([PYTHON, "-c", SLOW_CLI, "0.02", "scan", str(root), "--session", str(session),
                             "--jobs", "1", "-q"], env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_for(lambda: cached_rows(session / "cache.sqlite") > 0 or proc.poll() is not None,
                 what="the first cache commit")
        assert proc.poll() is None, "the scan finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "run the same command again" in err and "Traceback" not in err
    kept = cached_rows(session / "cache.sqlite")
    assert kept > 0
    assert not (session / "results.sqlite").exists() and not (session / "scan.json").exists()
    resumed = scan([str(root)], ONE_JOB, Session(session))
    assert resumed.stats["cached"] >= kept and len(resumed.groups) == 100


# A worker that dies on one file, as under the out-of-memory killer or a crashing codec.
DYING_WORKER_CLI = """
import os, signal, sys
import imgreview.scan.workers as s
real = s.fingerprint_file
def maybe_die(path, settings):
    if os.path.basename(path) == "die.png":
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, settings)
s.fingerprint_file = maybe_die
from imgreview.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_worker_killed_on_one_file_skips_that_file_and_finishes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    small_dataset(root, 60)
    save(scene(77, (64, 48)), root / "die.png")
    out = tmp_path / "out.json"
    before = tree_state(root)
    proc = subprocess.run([PYTHON, "-c", DYING_WORKER_CLI, "scan", str(root), "--session", str(tmp_path / "s"),
                           "--jobs", "2", "-q", "--json", str(out)], env=env(), capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    errors = {e["path"]: e["error"] for e in data["errors"]}
    assert errors == {str(root / "die.png"): errors[str(root / "die.png")]}
    assert "decoder process died" in errors[str(root / "die.png")]
    assert data["stats"]["images"] == 60 and len(data["groups"]) == 30
    assert tree_state(root) == before
    # The failure is remembered: the next scan does not feed that file to a decoder again.
    again = subprocess.run([PYTHON, "-c", DYING_WORKER_CLI, "scan", str(root), "--session", str(tmp_path / "s"),
                            "--jobs", "2", "-q", "--json", str(out)], env=env(), capture_output=True, text=True,
                           timeout=180)
    assert again.returncode == 0, again.stderr
    data = json.loads(out.read_text())
    assert data["stats"]["hashed"] == 0 and data["stats"]["errors"] == 1


# ---------------------------------------------------------------- two processes on one session
HOLD_LOCK = """
import sys
from pathlib import Path
from imgreview.session.folder import Session
s = Session(Path(sys.argv[1]))
s.lock("review")
print("locked", flush=True)
sys.stdin.read()
"""


def test_second_process_is_told_the_session_is_in_use(tmp_path: Path) -> None:
    holder = subprocess.Popen([PYTHON, "-c", HOLD_LOCK, str(tmp_path / "s")], env=env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(SessionLocked) as info:
            Session(tmp_path / "s").lock("apply")
        message = str(info.value)
        assert "in use by another imgreview" in message and f"pid {holder.pid}" in message and "review" in message
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    # Released when the holder ends (even without unlocking): the next one gets it.
    s = Session(tmp_path / "s")
    s.lock("apply")
    s.unlock()


def test_lock_released_when_the_holder_is_killed(tmp_path: Path) -> None:
    holder = subprocess.Popen([PYTHON, "-c", HOLD_LOCK, str(tmp_path / "s")], env=env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait(timeout=60)
    with Session(tmp_path / "s") as s:
        s.lock("review")  # no stale lock after a crash


@pytest.mark.slow
def test_two_scans_of_one_session_at_once_both_finish(tmp_path: Path) -> None:
    root = tmp_path / "root"
    small_dataset(root, 60)
    session = tmp_path / "s"
    procs = [subprocess.Popen([PYTHON, "-m", "imgreview", "scan", str(root), "--session", str(session), "-q",
                               "--jobs", "1", "--json", str(tmp_path / f"{k}.json")], env=env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for k in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    results = [json.loads((tmp_path / f"{k}.json").read_text()) for k in range(2)]
    assert groups_of(results[0]["groups"]) == groups_of(results[1]["groups"])
    assert len(results[0]["groups"]) == 30
    Session(session).load_result()  # the stored result is whole
    db = sqlite3.connect(session / "cache.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 60
    db.close()


# ---------------------------------------------------------------- damaged or foreign session folders
@pytest.fixture()
def scanned(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    small_dataset(root, 12)
    session = tmp_path / "s"
    scan([str(root)], ONE_JOB, Session(session))
    return root, session


SESSION_JSON = {
    "garbage": (b"\x00\xff\xfe not json at all", "not an imgreview session file"),
    "not-utf8-json": (b'{"version": 1, "roots": ["\xff"]}', "not an imgreview session file"),
    "a-list": (b"[1, 2, 3]", "not an imgreview session file"),
    "version-string": (b'{"version": "1", "roots": []}', "not an imgreview session file"),
    "version-zero": (b'{"version": 0, "roots": []}', "not an imgreview session file"),
    "roots-number": (b'{"version": 1, "roots": 5}', "not an imgreview session file"),
    "nested": (b"[" * 100000 + b"]" * 100000, "not an imgreview session file"),
    "newer": (b'{"version": 99, "roots": [], "new_field": true}', "newer imgreview"),
}


@pytest.mark.parametrize("case", sorted(SESSION_JSON))
def test_damaged_or_newer_session_json_is_a_clear_error(scanned: tuple[Path, Path], case: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root, session = scanned
    content, message = SESSION_JSON[case]
    (session / "session.json").write_bytes(content)
    state = tree_state(session)
    for _ in range(2):  # the same clear answer every time, and nothing touched
        code, err = run_main(capsys, "scan", root, "--session", session, "-q", "-j", "1")
        assert code == 2, err
        assert message in err and "--session" in err  # says what is wrong and what to do
        assert tree_state(session) == state
    if case == "garbage":  # the real process too: exit status 2, no traceback
        proc = cli("scan", root, "--session", session, "-q")
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["review", "export", "apply"])
def test_every_command_refuses_a_session_from_a_newer_version(scanned: tuple[Path, Path], command: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    _, session = scanned
    (session / "session.json").write_bytes(SESSION_JSON["newer"][0])
    state = tree_state(session)
    q = session.parent / "q"
    args = [command, "--session", str(session), *(["--move-to", str(q)] if command == "apply" else [])]
    if command == "review":  # the real process: it must stop before opening the screen
        proc = cli(*args, timeout=90, stdin=subprocess.DEVNULL)
        code, err = proc.returncode, proc.stderr
        assert "Traceback" not in err
    else:
        code, err = run_main(capsys, *args)
    assert code == 2, err
    assert "newer imgreview" in err
    after = {k: v for k, v in tree_state(session).items() if not k.endswith(b"/lock")}  # the lock may be taken
    assert after == state and not q.exists()


def corrupt_middle(path: Path) -> None:
    """Overwrite the root page of the fingerprint table, which every read of the cache goes through.

    (The cache also holds a local-features table that a scan reads only for candidate pairs, so a
    page "in the middle of the file" may be one that no scan reads.)
    """
    con = sqlite3.connect(path)
    try:
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name='files'").fetchone()[0]
    finally:
        con.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start:start + page_size] = b"\xde\xad\xbe\xef" * (page_size // 4)
    path.write_bytes(bytes(data))


CACHE_DAMAGE = {
    "garbage": lambda p: p.write_bytes(b"this is not sqlite" * 100),
    "zero-bytes": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "corrupt-page": corrupt_middle,
    "schema-mismatch": lambda p: sqlite3.connect(p).execute("UPDATE meta SET value='999' WHERE key='schema'")
    .connection.commit(),
}


@pytest.mark.parametrize("case", sorted(CACHE_DAMAGE))
def test_damaged_cache_is_a_clear_error_and_deleting_it_recovers(scanned: tuple[Path, Path], case: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    root, session = scanned
    cache = session / "cache.sqlite"
    with FingerprintCache(cache):
        pass  # checkpoint the WAL into the main file
    for extra in ("cache.sqlite-wal", "cache.sqlite-shm"):
        (session / extra).unlink(missing_ok=True)
    CACHE_DAMAGE[case](cache)
    if case == "garbage":  # the real process: exit status 2, no traceback
        proc = cli("scan", root, "--session", session, "-q")
        assert proc.returncode == 2 and "delete it" in proc.stderr and "Traceback" not in proc.stderr
    code, err = run_main(capsys, "scan", root, "--session", session, "-q", "-j", "1")
    if case == "zero-bytes":  # an empty file is just an empty database: a fresh cache
        assert code == 0, err
        return
    assert code == 2, err
    assert "fingerprint cache" in err and "delete it" in err
    # Doing what the message says works.
    for name in ("cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"):
        (session / name).unlink(missing_ok=True)
    code, err = run_main(capsys, "scan", root, "--session", session, "-q", "-j", "1")
    assert code == 0, err


def test_cache_errors_are_cache_errors_in_the_library(scanned: tuple[Path, Path]) -> None:
    _, session = scanned
    cache = session / "cache.sqlite"
    with FingerprintCache(cache):
        pass
    corrupt_middle(cache)
    with pytest.raises(CacheError, match="delete it"):
        with FingerprintCache(cache) as c:
            c.lookup(ONE_JOB.hash.key)
            list(c.paths())


SCAN_JSON = {
    "garbage": b"garbage{",
    "not-utf8": b'{"version": 1, "roots": ["\xff\xfe"]}',
    "a-number": b"42",
    "groups-not-objects": b'{"version": 1, "roots": [], "groups": [1, 2]}',
    "member-missing-fields": b'{"version": 1, "roots": [], "groups": [{"id": "g", "kind": "near", '
                             b'"max_distance": 0, "reference": "x", "members": [{"path": "x"}]}]}',
    "newer": b'{"version": 2, "roots": [], "groups": []}',
    "nested": b"[" * 100000 + b"]" * 100000,
}


@pytest.mark.parametrize("case", sorted(SCAN_JSON))
def test_damaged_scan_json_is_a_clear_error(scanned: tuple[Path, Path], case: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    root, session = scanned
    legacy_session(session).write_bytes(SCAN_JSON[case])  # a session written before results.sqlite
    with pytest.raises(SessionError, match="rescan"):
        Session(session).load_result()
    for command in ("export", "apply"):
        extra = ["--move-to", str(session.parent / "q")] if command == "apply" else []
        code, err = run_main(capsys, command, "--session", session, *extra)
        assert code == 2, err
        assert "rescan" in err
    assert not (session.parent / "q").exists()
    if case == "garbage":
        proc = cli("export", "--session", session)
        assert proc.returncode == 2 and "rescan" in proc.stderr and "Traceback" not in proc.stderr
    # A scan writes a fresh result over it.
    assert run_main(capsys, "scan", root, "--session", session, "-q", "-j", "1")[0] == 0
    Session(session).load_result()


class _FullDb:
    """A cache connection on a disk that just filled up: reads work, writes fail."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def __enter__(self) -> object:
        return self.real.__enter__()

    def __exit__(self, *exc: object) -> object:
        return self.real.__exit__(*exc)

    def executemany(self, *args: object) -> object:
        raise sqlite3.OperationalError("database or disk is full")


def test_cache_disk_full_during_scan_is_a_clear_error(scanned: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root, session = scanned
    save(scene(4242, (64, 48)), root / "new.png")  # something to hash and store
    real_init = FingerprintCache.__init__

    def init(self: FingerprintCache, path: Path) -> None:
        real_init(self, path)
        self.db = _FullDb(self.db)  # type: ignore[assignment]

    monkeypatch.setattr(FingerprintCache, "__init__", init)
    result_before = (session / "results.sqlite").read_bytes()
    code, err = run_main(capsys, "scan", root, "--session", session, "-q", "-j", "1")
    assert code == 2, err
    assert "fingerprint cache" in err and "database or disk is full" in err
    assert (session / "results.sqlite").read_bytes() == result_before


def test_result_disk_full_keeps_the_previous_result(scanned: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import imgreview.session.store as store

    root, session = scanned
    save(scene(4242, (64, 48)), root / "new.png")  # a changed tree: the result is written again
    before = (session / "results.sqlite").read_bytes()
    real_fsync = os.fsync

    def full(fd: int) -> None:  # the new database's fsync finds the disk full
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(store.os, "fsync", full)
    code, err = run_main(capsys, "scan", root, "--session", session, "-q", "-j", "1")
    assert code == 2, err
    assert "cannot write" in err and "results.sqlite" in err and "No space left on device" in err
    assert (session / "results.sqlite").read_bytes() == before
    assert not [n for n in os.listdir(session) if n.endswith(".tmp")]
    Session(session).load_result()


# ---------------------------------------------------------------- journal: garbage lines
def _decide(journal: Journal, path: str, digest: str, action: str = "delete", group: str = "g1") -> int:
    return journal.decide([Change(path, digest, action)], group)


def test_journal_garbage_lines_are_skipped_with_warnings(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    _decide(j, "/a.jpg", "d1")
    _decide(j, "/b.jpg", "d2", "keep")
    good = path.read_bytes()
    garbage = [
        b"not json",
        b"\xff\xfe\x00 binary",
        b"[1, 2]",
        b'{"action": "keep"}',  # no batch
        b'{"action": "keep", "batch": "x", "path": "/c.jpg"}',
        b'{"action": "keep", "batch": Infinity, "path": "/c.jpg"}',
        b'{"action": "keep", "batch": null, "path": "/c.jpg"}',
        b'{"action": "delete", "batch": 7, "path": 5, "digest": "d"}',
        b'{"action": "delete", "batch": 7, "path": ["/c.jpg"], "digest": "d"}',
        b'{"action": "distinct", "batch": 8, "digests": 5}',
        b'{"action": "distinct", "batch": 8, "digests": [[1], {"a": 1}]}',
        b'{"action": "keep", "batch": 9, "path": "/c.jpg", "undoes": "x"}',
        b"[" * 50000,
        b'{"action": "delete", "batch": 10, "path": "/half.jpg", "dig',  # cut-off last line
    ]
    path.write_bytes(good + b"\n".join(garbage))
    j2 = Journal(path)
    assert {p: d.action for p, d in j2.decisions.items()} == {"/a.jpg": "delete", "/b.jpg": "keep"}
    assert len(j2.warnings) == len(garbage)
    assert "truncated last line" in j2.warnings[-1]
    assert not j2.distinct
    # Still writable after garbage: the next decision lands on a line of its own and replays.
    _decide(j2, "/c.jpg", "d3")
    j3 = Journal(path)
    assert j3.action_for("/c.jpg", "d3") == "delete"
    assert j3.action_for("/a.jpg", "d1") == "delete"


def test_journal_replay_never_raises_on_mutated_records(tmp_path: Path) -> None:
    """Every field of valid records replaced by values of the wrong type, one at a time."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    _decide(j, "/a.jpg", "d1")
    j.mark_distinct("g2", [("/x.jpg", "dx"), ("/y.jpg", "dy")])
    j.undo()
    j.redo()
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    odd_values = [None, True, 2**70, 1.5, "zz", [None], {"a": []}]
    for k, rec in enumerate(records):
        for key in rec:
            for value in odd_values:
                mutated = [dict(r) for r in records]
                mutated[k][key] = value
                path.write_text("\n".join(json.dumps(r) for r in mutated) + "\n")
                replayed = Journal(path)  # must not raise
                replayed.distinct_pairs()
                replayed.action_for("/a.jpg", "d1")


# ---------------------------------------------------------------- journal: disk full, read-only
def test_journal_disk_full_raises_and_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    _decide(j, "/a.jpg", "d1")
    content = path.read_bytes()
    state = dict(j.decisions)

    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(JournalError) as info:
        _decide(j, "/b.jpg", "d2")
    assert "No space left on device" in str(info.value) and "NOT recorded" in str(info.value)
    with pytest.raises(JournalError):
        j.undo()
    monkeypatch.undo()
    assert j.decisions == state and j.can_undo and not j.can_redo
    assert path.read_bytes() == content
    # Space again: the next decision is recorded; the refused one never appears.
    _decide(j, "/c.jpg", "d3")
    assert set(Journal(path).decisions) == {"/a.jpg", "/c.jpg"}


def test_journal_partial_write_is_taken_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills after half a batch: the half is removed, so a replay cannot apply it."""
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    _decide(j, "/a.jpg", "d1")
    content = path.read_bytes()
    real_write = os.write
    calls = []

    def half_then_full(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) * 2 // 3]))  # past the first record's newline
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(JournalError):
        j.decide([Change("/b.jpg", "d2", "delete"), Change("/c.jpg", "d3", "keep")], "g2")
    monkeypatch.undo()
    assert path.read_bytes() == content
    assert set(Journal(path).decisions) == set(j.decisions) == {"/a.jpg"}


def test_journal_fsync_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", eio)
    with pytest.raises(JournalError, match="Input/output error"):
        _decide(j, "/a.jpg", "d1")
    monkeypatch.undo()
    assert not j.decisions and not Journal(path).decisions


READ_ONLY_JOURNAL = """
import json, sys
from pathlib import Path
from imgreview.session.journal import Change, Journal, JournalError
j = Journal(Path(sys.argv[1]))
before = {p: d.action for p, d in j.decisions.items()}
try:
    j.decide([Change("/b.jpg", "d2", "delete")], "g2")
except JournalError as exc:
    after = {p: d.action for p, d in j.decisions.items()}
    print(json.dumps({"error": str(exc), "same": before == after}))
else:
    print(json.dumps({"error": None}))
"""


@pytest.mark.parametrize("where", ["file", "folder"])
def test_journal_read_only_raises_a_clear_error(tmp_path: Path, where: str) -> None:
    reason = permissions_enforceable()
    if reason:
        pytest.skip(reason)
    folder = tmp_path / "s"
    folder.mkdir()
    path = folder / "journal.jsonl"
    if where == "file":
        _decide(Journal(path), "/a.jpg", "d1")
        os.chmod(path, 0o444)
    else:
        os.chmod(folder, 0o555)
    content = path.read_bytes() if path.exists() else None
    try:
        proc = subprocess.run([PYTHON, "-c", READ_ONLY_JOURNAL, str(path)], env=env(), capture_output=True,
                              text=True, timeout=120, preexec_fn=unprivileged())
    finally:
        os.chmod(folder, 0o755)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["error"] and "Permission denied" in out["error"] and "NOT recorded" in out["error"]
    assert out["same"]
    assert (path.read_bytes() if path.exists() else None) == content


def test_read_only_session_folder_is_a_clear_scan_error(tmp_path: Path) -> None:
    reason = permissions_enforceable()
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    small_dataset(root, 4)
    session = tmp_path / "s"
    session.mkdir()
    os.chmod(session, 0o555)
    try:
        proc = cli("scan", root, "--session", session, "-q", preexec_fn=unprivileged())
    finally:
        os.chmod(session, 0o755)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Permission denied" in proc.stderr


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
