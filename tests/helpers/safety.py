"""Helpers for the safety round-two tests: datasets, scans, decisions and fault injection.

Everything goes through the public entry points: ``imgreview.cli.main([...])`` in this process
or ``python -m imgreview`` in a subprocess, on real files in the test's temporary folder. The
journal is written in its documented JSON-lines format, so the tests do not depend on where the
journal code lives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from imgreview.cli.main import main

PYTHON = sys.executable
PAUSE_ENV = "IMGREVIEW_TEST_PAUSE_AFTER_MOVES"
PAUSE_MARKER = b"imgreview-test: paused"
MANIFEST = "imgreview-manifest.jsonl"
MARKER = ".imgreview-quarantine"


# ---------------------------------------------------------------------- images and trees
def picture(seed: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A smooth random picture: different seeds are far apart in perceptual hash."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def save_png(img: Image.Image, path: Path, level: int = 6) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", compress_level=level)
    return path


def exact_groups(root: Path, seeds: range = range(2)) -> Path:
    """Per seed: train/cat/a{s}.png, and byte-identical copies train/dog/b{s}.png, val/cat/c{s}.png."""
    for s in seeds:
        a = save_png(picture(s), root / "train" / "cat" / f"a{s}.png")
        for rel in (f"train/dog/b{s}.png", f"val/cat/c{s}.png"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(a.read_bytes())
    return root


def near_pair(root: Path, seed: int = 5) -> tuple[Path, Path]:
    """The same pixels saved twice with different compression: a group, two different digests."""
    img = picture(seed)
    a = save_png(img, root / "train" / "cat" / f"keep{seed}.png", level=9)
    b = save_png(img, root / "train" / "dog" / f"drop{seed}.png", level=1)
    assert a.read_bytes() != b.read_bytes()
    return a, b


def tree(root: Path, skip: tuple[str, ...] = (".imgreview",)) -> dict[bytes, bytes]:
    """Every file (and symlink) under ``root``: relative path bytes -> content (or ``->target``)."""
    out: dict[bytes, bytes] = {}
    base = os.fsencode(root)
    if not os.path.isdir(base):
        return out
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if os.fsdecode(d) not in skip]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            if os.path.islink(full):
                out[rel] = b"->" + os.readlink(full)
            else:
                with open(full, "rb") as fh:
                    out[rel] = fh.read()
    return out


def images_in(folder: Path) -> dict[bytes, bytes]:
    return {k: v for k, v in tree(folder).items() if os.path.basename(k) not in (MANIFEST.encode(), MARKER.encode())}


def digest(path: Path | str) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()


# ---------------------------------------------------------------------- running the CLI
def run(capsys: pytest.CaptureFixture[str] | None, *args: str | os.PathLike[str]) -> tuple[int, str, str]:
    """``imgreview ARGS`` in this process: (exit status, stdout, stderr)."""
    if capsys is not None:
        capsys.readouterr()
    code = main([os.fspath(a) for a in args])
    if capsys is None:
        return code, "", ""
    out = capsys.readouterr()
    return code, out.out, out.err


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "IMGREVIEW_SESSION"}
    e["COLUMNS"] = "200"
    return e


def cli(*args: str | os.PathLike[str], timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``python -m imgreview ARGS`` in a subprocess. A hang is a TimeoutExpired (a failure)."""
    return subprocess.run([PYTHON, "-m", "imgreview", *map(os.fspath, args)], capture_output=True, text=True,
                          errors="surrogateescape", env=env(), timeout=timeout, **kw)


def scan(root: Path, *more: Path, session: Path | None = None) -> dict[str, Any]:
    args: list[str | os.PathLike[str]] = ["scan", root, *more, "--jobs", "1", "-q"]
    if session is not None:
        args += ["--session", session]
    code = main([os.fspath(a) for a in args])
    assert code == 0
    s = session or root / ".imgreview"
    return stored_result(s)


def stored_result(session: Path) -> dict[str, Any]:
    """The session's stored result as the JSON export gives it (the schema of scan.json)."""
    from imgreview.session.folder import Session

    return json.loads(Session(session).load_result().to_json())


def legacy_session(session: Path) -> Path:
    """Turn a session into one written before results.sqlite: the result in scan.json only."""
    from imgreview.session.folder import Session

    s = Session(session)
    s.load_result().save(s.result_path)
    s.store_path.unlink()
    return session / "scan.json"


def members(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """basename -> member record (with its group id under ``_group``)."""
    out: dict[str, dict[str, Any]] = {}
    for g in result["groups"]:
        for m in g["members"]:
            out[os.path.basename(m["path"])] = {**m, "_group": g["id"]}
    return out


_batch = {"n": 1000}


def decide(session: Path, result: dict[str, Any], actions: dict[str, str], by: str = "person",
           rule: Any = None) -> None:
    """Append one batch to the journal: basename -> keep | delete | undecided."""
    ms = members(result)
    _batch["n"] += 1
    lines = []
    for name, action in actions.items():
        m = ms[name]
        rec: dict[str, Any] = {"v": 1, "batch": _batch["n"], "time": "2026-01-01T00:00:00.000+00:00",
                               "action": action, "path": m["path"], "digest": m["digest"], "group": m["_group"],
                               "by": by}
        if rule is not None:
            rec["rule"] = rule
        lines.append(json.dumps(rec) + "\n")
    with open(session / "journal.jsonl", "a") as fh:
        fh.write("".join(lines))


def standard(tmp_path: Path, seeds: range = range(2)) -> tuple[Path, Path, dict[str, Any]]:
    """Exact groups; per group keep a{s}, delete b{s} and c{s}. Returns root, session, scan."""
    root = exact_groups(tmp_path / "data", seeds)
    result = scan(root)
    session = root / ".imgreview"
    for s in seeds:
        decide(session, result, {f"a{s}.png": "keep", f"b{s}.png": "delete", f"c{s}.png": "delete"})
    return root, session, result


def manifest_lines(q: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (q / MANIFEST).read_text().splitlines() if x.strip()]


def append_manifest(q: Path, *records: dict[str, Any] | str) -> None:
    with open(q / MANIFEST, "a") as fh:
        for r in records:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")


# ---------------------------------------------------------------------- processes
@contextlib.contextmanager
def paused_apply(session: Path, q: Path, after: int) -> Iterator[subprocess.Popen[bytes]]:
    """An ``apply`` subprocess stopped at the test pause (after ``after`` moves); killed on exit."""
    e = {**env(), PAUSE_ENV: str(after)}
    proc = subprocess.Popen([PYTHON, "-m", "imgreview", "apply", "--session", str(session), "--move-to", str(q)],
                            env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        seen = b""
        deadline = time.monotonic() + 120
        while PAUSE_MARKER not in seen:
            assert proc.poll() is None, seen.decode(errors="replace")
            assert time.monotonic() < deadline, "the apply never reached its pause"
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                seen += os.read(proc.stderr.fileno(), 4096)  # type: ignore[union-attr]
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        proc.stderr.close()  # type: ignore[union-attr]


# ---------------------------------------------------------------------- file systems
def fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def full_path(path: Any, dir_fd: int | None) -> str:
    p = os.fsdecode(path)
    if dir_fd is not None and not os.path.isabs(p):
        return os.path.join(fd_path(dir_fd), p)
    return p


@contextlib.contextmanager
def small_fs(where: Path, size: str = "4m") -> Iterator[Path]:
    """A fresh tmpfs mounted at ``where`` (another file system, with a size limit)."""
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()}): needed for a real second file system")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 16, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


def is_fifo(path: Path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


# ---------------------------------------------------------------------- digest hook
class DigestHook:
    """Replace ``hashlib.blake2b`` so a callback runs when a given digest is computed (once).

    Every version of imgreview computes a file's BLAKE2b-128 before moving it; this lets a test
    change the file system at exactly that moment, deterministically.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, target: str, action: Callable[[], None]) -> None:
        self.real = hashlib.blake2b
        self.target = target
        self.action = action
        self.fired = False
        hook = self

        class Wrapped:
            def __init__(self, *a: Any, **k: Any) -> None:
                self._h = hook.real(*a, **k)

            def update(self, data: Any) -> None:
                self._h.update(data)

            def digest(self) -> bytes:
                return self._h.digest()

            def hexdigest(self) -> str:
                value = self._h.hexdigest()
                if value == hook.target and not hook.fired:
                    hook.fired = True
                    hook.action()
                return value

            def copy(self) -> Any:
                return self._h.copy()

        monkeypatch.setattr(hashlib, "blake2b", Wrapped)


# ---------------------------------------------------------------------- Ctrl-C at start
INTERRUPT_AT_IMPORT = r"""
import importlib.abc, os, runpy, signal, sys
trigger = sys.argv[1]
class Interrupt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == trigger:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while this module is being imported
        return None
sys.meta_path.insert(0, Interrupt())
sys.argv = ["imgreview", *sys.argv[2:]]
runpy.run_module("imgreview", run_name="__main__", alter_sys=True)
"""


def interrupted_at_import(trigger: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-c", INTERRUPT_AT_IMPORT, trigger, *args], capture_output=True, text=True,
                          env=env(), timeout=120)



# ---------------------------------------------------------------------- without root's override
def _drop_dac_caps() -> None:
    """In a child before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def unprivileged() -> Callable[[], None] | None:
    return _drop_dac_caps if os.geteuid() == 0 else None


def drop_dac_caps_unavailable() -> bool:
    r = subprocess.run([PYTHON, "-c", "import os; os.open('/proc/1/mem', os.O_RDONLY)"], preexec_fn=unprivileged(),
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0
