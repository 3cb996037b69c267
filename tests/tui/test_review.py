"""`imgreview review` / `imgreview demo`: the real command under a pseudo-terminal, killed mid-review
and resumed; the session lock; signals; "not duplicates" surviving a rescan; graphics choice."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from imgreview.cli.main import main
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.settings import ScanSettings
from imgreview.tui.graphics import choose_canvas
from imgreview.tui.state import ReviewState
from imgreview.tui.terminal import TerminalInfo, parse_da1, parse_kitty_version, parse_xtsmgraphics
from imgreview.tui.thumbs import ThumbnailCache, make_thumbnail
from tests.helpers.imagegen import brightened, resized, save, scene
from tests.helpers.procs import wait_for

REPO = Path(__file__).resolve().parents[2]


def make_dataset(root: Path) -> Path:
    for s in range(3):
        img = scene(100 + s)
        save(img, root / "train" / f"l{s}" / f"p{s}.png")
        save(img, root / "train" / f"l{s}" / f"p{s}_copy.png")
        save(resized(img, 0.5), root / "val" / f"l{s}" / f"p{s}_small.jpg", quality=90)
    save(brightened(scene(200)), root / "train" / "l0" / "lonely.jpg")
    return root


class Running:
    """``python -m imgreview ARGS`` on a pseudo-terminal, its output drained in a thread."""

    def __init__(self, args: list[str], tmp: Path, name: str = "ready") -> None:
        self.ready = tmp / f"{name}.json"
        env = {**os.environ, "TERM": "xterm-256color", "IMGREVIEW_TEST_READY": str(self.ready),
               "PYTHONPATH": str(REPO), "COLUMNS": "120", "LINES": "40"}
        env.pop("IMGREVIEW_SESSION", None)
        self.master, slave = pty.openpty()
        import fcntl
        import struct
        import termios

        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "imgreview", *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=env, cwd=tmp, start_new_session=True, close_fds=True)
        os.close(slave)
        self.output = bytearray()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def wait_ready(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready.exists() and self.ready.read_text():
                return json.loads(self.ready.read_text())
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode}: {bytes(self.output[-2000:])!r}")
            time.sleep(0.05)
        raise AssertionError(f"not ready: {bytes(self.output[-2000:])!r}")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_exit(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        try:
            os.close(self.master)
        except OSError:
            pass



def batches(journal: Path) -> int:
    if not journal.exists():
        return 0
    return len({json.loads(line)["batch"] for line in journal.read_text().splitlines() if line.strip()})


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    return make_dataset(tmp_path / "data"), tmp_path / "session"


@pytest.mark.slow
def test_kill_mid_review_then_resume(dataset, tmp_path: Path) -> None:
    root, session_dir = dataset
    journal = session_dir / "journal.jsonl"
    run = Running(["review", str(root), "--session", str(session_dir), "--graphics", "halfcell", "-q"], tmp_path)
    try:
        first = run.wait_ready()
        result = Session(session_dir).load_result()
        assert len(result.groups) == 3
        order = [g.id for g in result.groups]
        assert first["group"] == order[0]
        run.send("a")  # accept the suggestion in group 1: decided, the review moves on to group 2
        wait_for(lambda: batches(journal) == 1)
        run.send("o")  # keep only the focused picture (the suggestion); on to group 3
        wait_for(lambda: batches(journal) == 2)
        run.send("d")  # mark the focused picture of group 3, then get killed
        wait_for(lambda: batches(journal) == 3)
        os.killpg(run.proc.pid, signal.SIGKILL)
        run.wait_exit()
    finally:
        run.close()
    decided = Journal(journal)
    before = dict(decided.decisions)
    assert len(before) == 3 + 3 + 1
    g2 = result.groups[1]
    assert sorted(decided.action_for(m.path, m.digest) for m in g2.members) == ["delete", "delete", "keep"]

    scan_mtime = (session_dir / "results.sqlite").stat().st_mtime_ns
    again = Running(["review", "--session", str(session_dir), "--graphics", "halfcell"], tmp_path, "again")
    try:
        state = again.wait_ready()
        assert state["group"] == order[2]  # the first undecided group: where we were
        again.proc.send_signal(signal.SIGHUP)  # the terminal went away: exit cleanly
        assert again.wait_exit() == 0
    finally:
        again.close()
    assert (session_dir / "results.sqlite").stat().st_mtime_ns == scan_mtime  # --session alone: no rescan
    assert Journal(journal).decisions == before  # every decision is back, none added


@pytest.mark.slow
def test_second_review_is_refused_while_the_first_runs(dataset, tmp_path: Path, capsys) -> None:
    root, session_dir = dataset
    run = Running(["review", str(root), "--session", str(session_dir), "--graphics", "none", "-q"], tmp_path)
    try:
        run.wait_ready()
        status = main(["review", "--session", str(session_dir)])
        assert status == 2
        err = capsys.readouterr().err
        assert "in use by another imgreview" in err and "--read-only" in err
        run.proc.send_signal(signal.SIGTERM)  # exits cleanly on SIGTERM
        assert run.wait_exit() == 0
    finally:
        run.close()
    session = Session(session_dir)
    session.lock("test")  # the lock was released
    session.unlock()


def test_review_without_session_or_root_says_what_to_do(tmp_path: Path, capsys) -> None:
    assert main(["review", "--session", str(tmp_path / "nothing")]) == 2
    assert "give the folder" in capsys.readouterr().err
    assert main(["review"]) == 2
    assert "--session" in capsys.readouterr().err
    assert main(["review", "--session", str(tmp_path), "--prefer", "bogus"]) == 2
    assert "unknown rule" in capsys.readouterr().err


def test_not_duplicates_survives_a_rescan(dataset) -> None:
    root, session_dir = dataset
    session = Session(session_dir)
    settings = ScanSettings(jobs=1)
    result = scan([str(root)], settings, session)
    assert len(result.groups) == 3
    state = ReviewState(result, Journal(session.journal_path))
    target = state.groups[1]
    state.not_duplicates(1)
    again = scan([str(root)], settings, session)
    target_digests = {m.digest for m in target.members}
    assert len(target_digests) == 3 - 1  # an exact pair plus a resized copy
    # no group pairs two different contents declared distinct (byte-identical copies still group)
    for g in again.groups:
        assert len(target_digests & {m.digest for m in g.members}) <= 1
    assert len(again.groups) == 3
    # and the decisions (all kept) are still there for the new scan result
    state2 = ReviewState(session.load_result(), Journal(session.journal_path))
    assert all(state2.journal.action_for(m.path, m.digest) == "keep" for m in target.members)


@pytest.fixture
def quick_demo(monkeypatch):
    """The demo command with a small stand-in generator (the real one is tested in test_demo.py)."""
    import imgreview.dataset.demo

    calls: list[Path] = []

    def write_demo(target: Path, seed: int = 0) -> None:
        calls.append(target)
        make_dataset(Path(target))

    monkeypatch.setattr(imgreview.dataset.demo, "write_demo", write_demo)
    return calls


def test_demo_writes_dataset_without_review(tmp_path: Path, capsys, quick_demo) -> None:
    target = tmp_path / "demo"
    assert main(["demo", str(target), "--no-review"]) == 0
    assert any(target.rglob("*.png")) or any(target.rglob("*.jpg"))
    assert "imgreview review" in capsys.readouterr().err
    # a second run reuses it
    assert main(["demo", str(target), "--no-review"]) == 0
    assert "already" in capsys.readouterr().err
    assert quick_demo == [target]


def test_demo_opens_the_review(tmp_path: Path, monkeypatch, quick_demo) -> None:
    """`imgreview demo DIR`: writes, scans, and opens the app at a conflict or leak group first."""
    from imgreview.tui.app import ReviewApp

    opened: list[ReviewApp] = []
    monkeypatch.setattr(ReviewApp, "run", lambda self, *a, **k: opened.append(self))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)  # as if from a terminal
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--graphics", "none", ]) == 0
    assert (tmp_path / "imgreview-demo" / ".imgreview" / "results.sqlite").exists()
    (app,) = opened
    state = app.review.state
    assert len(state) >= 3
    flags = [g.label_conflict or g.split_leak for g in state.groups]
    assert any(flags) and flags == sorted(flags, reverse=True)  # conflicts and leaks first
    assert quick_demo == [Path("imgreview-demo")]


# ---------------------------------------------------------------------------- graphics and thumbnails


def test_terminal_replies_are_parsed() -> None:
    assert parse_kitty_version("kitty 0.26.5 created by Kovid Goyal") == (0, 26, 5)
    assert parse_kitty_version("kitty(0.35.2)") == (0, 35, 2)
    assert parse_kitty_version("XTerm(379)") is None
    assert parse_da1("\x1b[?63;1;2;4;6;9;15;16;22;28c")  # xterm -ti vt340
    assert not parse_da1("\x1b[?62;22c")
    reply = "\x1b[?1;0;1024S\x1b[?2;0;1000;1000S\x1bP>|XTerm(379)\x1b\\\x1b[?63;4c"
    assert parse_xtsmgraphics(reply, 1) == (1024,)
    assert parse_xtsmgraphics(reply, 2) == (1000, 1000)
    assert parse_xtsmgraphics("\x1b[?2;3;0S", 2) is None  # status 3: failure


def test_graphics_modes() -> None:
    xterm = TerminalInfo(sixel=True, colour_registers=1024, sixel_max=(1000, 1000), cell=(8, 17),
                         version="XTerm(379)", replies={"raw": "..."})
    canvas, note = choose_canvas("auto", xterm)
    assert canvas.mode == "sixel" and canvas.sixel_max == (1000, 1000) and canvas.colours == 256 and not note
    assert choose_canvas("halfcell", xterm)[0].mode == "halfcell"
    assert choose_canvas("none")[0].mode == "none"
    few = TerminalInfo(sixel=True, colour_registers=4, replies={"raw": "..."})
    canvas, note = choose_canvas("auto", few)
    assert canvas.mode == "halfcell" and "colour registers" in note  # half-cell rather than garbage
    kitty = TerminalInfo(version="kitty(0.26.5)", cell=(9, 18), replies={"raw": "..."})
    canvas, note = choose_canvas("auto", kitty, kitty=True)  # the review draws Kitty graphics
    assert canvas.mode == "kitty" and canvas.cell == (9, 18) and not note
    assert choose_canvas("kitty", kitty, kitty=True)[0].mode == "kitty"
    canvas, note = choose_canvas("auto", kitty)  # a caller that does not (triage): half-cell, said so
    assert canvas.mode == "halfcell" and "not drawn here" in note
    old = TerminalInfo(version="kitty(0.19.3)", replies={"raw": "..."})
    for mode in ("auto", "kitty"):
        canvas, note = choose_canvas(mode, old, kitty=True)
        assert canvas.mode == "halfcell" and ("older than 0.20" in note or "0.19.3" in note)
    tmux = TerminalInfo(version="kitty(0.26.5)", in_tmux=True, replies={"raw": "..."})
    for mode in ("auto", "kitty"):
        canvas, note = choose_canvas(mode, tmux, kitty=True)
        assert canvas.mode == "halfcell" and "tmux" in note
    assert choose_canvas("auto", TerminalInfo())[0].mode == "halfcell"  # not a terminal
    with pytest.raises(ValueError):
        choose_canvas("ascii-art")


def test_reopening_a_session_does_not_import_the_scan() -> None:
    """`imgreview review` without ROOT only reads the session: the scan's modules (~0.1 s of the start,
    before the first picture) are imported only when it scans."""
    code = ("import sys; from imgreview.cli.main import build_parser; build_parser(('review',)); "
            "import imgreview.tui.app, imgreview.tui.graphics; print(' '.join(sorted(sys.modules)))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         timeout=120)
    modules = set(out.stdout.split())
    assert "imgreview.cli.reviewing" in modules and "textual" in modules
    assert not {"imgreview.cli.steps", "imgreview.scan.pipeline"} & modules


def test_terminal_query_sends_no_kitty_probe() -> None:
    """What the review asks the terminal: DA1, XTSMGRAPHICS, XTVERSION; never an APC (tmux makes it the title)."""
    code = ("import sys; from imgreview.tui.graphics import choose_canvas; c, n = choose_canvas('auto'); "
            "print('MODE', c.mode, 'TI' , 'textual_image' in sys.modules)")
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    out = bytearray()
    answered = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if b"\x1b[c" in out and not answered:  # answer like xterm -ti vt340
            os.write(master, b"\x1b[?1;0;1024S\x1b[?2;0;1000;1000S\x1bP>|XTerm(379)\x1b\\\x1b[?63;1;2;4c")
            answered = True
        if b"MODE" in out and out.rstrip().endswith((b"True", b"False")):
            break
    proc.wait(10)
    os.close(master)
    assert b"\x1b_G" not in out  # no Kitty graphics query
    assert b"\x1b[?1;1;0S" in out and b"\x1b[?2;4;0S" in out and b"\x1b[>q" in out
    assert b"MODE sixel TI False" in out  # textual-image's detection (the APC probe) is never imported


def test_review_refuses_a_missing_path_a_file_and_no_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("IMGREVIEW_SESSION", None)
    missing = tmp_path / "Pictures"
    run = subprocess.run([sys.executable, "-m", "imgreview", "review", str(missing)], capture_output=True,
                         text=True, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=60)
    assert run.returncode == 2 and "does not exist" in run.stderr
    assert not missing.exists()  # nothing created
    picture = save(scene(1), tmp_path / "one.jpg")
    run = subprocess.run([sys.executable, "-m", "imgreview", "review", str(picture)], capture_output=True,
                         text=True, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=60)
    assert run.returncode == 2 and "must be a folder" in run.stderr
    assert not (tmp_path / ".imgreview").exists()
    root = make_dataset(tmp_path / "data")
    run = subprocess.run([sys.executable, "-m", "imgreview", "review", str(root)], capture_output=True,
                         text=True, env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=60)
    assert run.returncode == 2 and "needs a terminal" in run.stderr  # refused at once, not spinning
    assert not (root / ".imgreview" / "results.sqlite").exists()  # nothing scanned


def test_thumbnail_cache_is_bounded_and_survives_broken_files(tmp_path: Path) -> None:
    paths = [save(scene(k, (200, 100)), tmp_path / f"{k}.png") for k in range(5)]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    cache = ThumbnailCache(capacity=3, workers=2)
    try:
        futures = [cache.request(str(p), "d", 64) for p in [*paths, broken]]
        images = [f.result(10) for f in futures]
        assert all(max(im.size) <= 64 for im in images)
        assert images[0].size == (64, 32)
        assert str(broken) in cache.errors
        assert sum(cache.get(str(p), "d", 64) is not None for p in [*paths, broken]) == 3
        assert cache.request(str(broken), "d", 64).result(10) is cache.get(str(broken), "d", 64)
    finally:
        cache.close()
    assert make_thumbnail(str(paths[0]), 50).size == (50, 25)


def test_renders_wait_for_a_repaint_but_never_starve(tmp_path: Path) -> None:
    """While the UI thread repaints (hold) renders not started yet wait; release lets them go at once,
    and a hold nobody releases delays them by HOLD_LIMIT at most (the prefetch never starves)."""
    import imgreview.tui.thumbs as thumbs_module

    paths = [save(scene(k, (200, 100)), tmp_path / f"{k}.png") for k in range(3)]
    cache = ThumbnailCache(workers=1)
    try:
        cache.hold()
        first = cache.request_member(str(paths[0]), "d0", 20, 8)
        with pytest.raises(TimeoutError):
            first.result(thumbs_module.HOLD_LIMIT / 5)  # waiting for the repaint
        cache.release()
        assert first.result(10).strips
        cache.hold()  # never released: the renders go on after HOLD_LIMIT each
        later = [cache.request_member(str(p), f"d{k}", 20, 8) for k, p in enumerate(paths[1:], 1)]
        assert all(f.result(10).strips for f in later)
    finally:
        cache.close()
