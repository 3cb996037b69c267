from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgreview.scan.fingerprint import Fingerprint, fingerprint_file
from imgreview.scan.library import HashLibrary
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.settings import HashSettings, ScanSettings
from tests.helpers.imagegen import brightened, resized, save, scene


def build(root: Path) -> None:
    for k in range(30):
        save(scene(k), root / f"img{k:02d}.jpg", quality=90)


def test_library_finds_edited_copies_and_grows_without_rebuild(tmp_path: Path) -> None:
    root = tmp_path / "data"
    build(root)
    session = Session(root / ".imgreview")
    scan([str(root)], ScanSettings(jobs=1), session)
    lib = HashLibrary(session, HashSettings())
    assert lib.sync() == (30, 30)
    assert lib.sync() == (0, 30)  # nothing new: nothing added
    query = save(resized(brightened(scene(7)), 0.5), tmp_path / "query.png")
    picture = fingerprint_file(str(query), HashSettings())
    assert isinstance(picture, Fingerprint)
    matches = lib.query(picture, threshold=10)
    assert [os.path.basename(m.path) for m in matches] == ["img07.jpg"]
    assert not matches[0].exact
    unknown = fingerprint_file(str(save(scene(500), tmp_path / "new.png")), HashSettings())
    assert isinstance(unknown, Fingerprint) and lib.query(unknown, threshold=10) == []

    # New files: a rescan adds just them to the saved index (a rebuild would report 35 added).
    for k in range(30, 35):
        save(scene(k), root / f"img{k:02d}.jpg", quality=90)
    scan([str(root)], ScanSettings(jobs=1), session)
    assert lib.sync() == (5, 35)
    new = fingerprint_file(str(root / "img33.jpg"), HashSettings())
    assert isinstance(new, Fingerprint)
    (match,) = lib.query(new, threshold=10)
    assert match.exact and match.path.endswith("img33.jpg")


@pytest.mark.slow
def test_find_command(tmp_path: Path) -> None:
    root = tmp_path / "data"
    build(root)
    shutil.copy(root / "img03.jpg", tmp_path / "copy.jpg")
    save(scene(999), tmp_path / "unknown.png")
    (root / "sub").mkdir()
    run = [sys.executable, "-m", "imgreview"]
    assert subprocess.run([*run, "scan", str(root), "-q"], capture_output=True, timeout=120).returncode == 0
    found = subprocess.run([*run, "find", "--in", str(root), str(tmp_path / "copy.jpg")], capture_output=True,
                           text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    assert "img03.jpg" in found.stdout and "exact copy" in found.stdout
    missing = subprocess.run([*run, "find", "--in", str(root), str(tmp_path / "unknown.png")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "0 matches" in missing.stdout
    from_inside = subprocess.run([*run, "find", str(tmp_path / "copy.jpg")], capture_output=True, text=True,
                                 timeout=120, cwd=root / "sub")
    assert from_inside.returncode == 0 and "img03.jpg" in from_inside.stdout, from_inside.stderr
    nosession = subprocess.run([*run, "find", "--session", str(tmp_path / "none"), str(tmp_path / "copy.jpg")],
                               capture_output=True, text=True, timeout=120)
    assert nosession.returncode == 2 and "no scan" in nosession.stderr
