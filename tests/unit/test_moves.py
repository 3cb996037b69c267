"""The move primitives of the quarantine: no replace, no link followed, names within NAME_MAX."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from imgreview.fs import file_digest
from imgreview.quarantine import moves
from imgreview.schema import RecordError, check
from imgreview.session.journal import FileRecord


@pytest.fixture(params=["renameat2", "link+unlink"])
def primitive(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "link+unlink":
        monkeypatch.setattr(moves, "_renameat2", None)
    elif moves._renameat2 is None:
        pytest.skip("no renameat2 in this C library")
    return str(request.param)


def test_a_move_never_replaces_the_destination(tmp_path: Path, primitive: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"mine")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_bytes(b"theirs")
    with moves.place(str(tmp_path), "a/x") as src, moves.place(str(tmp_path), "b/x") as dst:
        with pytest.raises(FileExistsError):
            moves.move(src, dst, file_digest(tmp_path / "a" / "x"))
    assert (tmp_path / "a" / "x").read_bytes() == b"mine" and (tmp_path / "b" / "x").read_bytes() == b"theirs"


def test_a_move_checks_the_content_first(tmp_path: Path, primitive: str) -> None:
    (tmp_path / "x").write_bytes(b"now")
    with moves.place(str(tmp_path), "x") as src, moves.place(str(tmp_path), "q/x", create=True) as dst:
        with pytest.raises(moves.Changed):
            moves.move(src, dst, "0" * 32)
        moves.move(src, dst, file_digest(tmp_path / "x"))
    assert (tmp_path / "q" / "x").read_bytes() == b"now" and not (tmp_path / "x").exists()


def test_a_linked_folder_on_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x").write_bytes(b"outside")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "sub").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(moves.Refused, match="symbolic link"):
        with moves.place(str(tmp_path / "root"), "sub/x"):
            pass
    for bad in ("../x", "a/../x", "/x", "a//x", ""):
        with pytest.raises(moves.Refused):
            moves.split_relative(bad)


def test_a_cross_fs_copy_that_fails_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x").write_bytes(b"data" * 1000)

    def exdev(src: moves.Place, dst: moves.Place) -> None:
        raise OSError(errno.EXDEV, "cross-device")

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(moves, "_rename_noreplace", exdev)
    monkeypatch.setattr(moves, "_write_all", full)
    with moves.place(str(tmp_path), "x") as src, moves.place(str(tmp_path), "q/x", create=True) as dst:
        with pytest.raises(OSError, match="No space"):
            moves.move(src, dst, file_digest(tmp_path / "x"))
    assert os.listdir(tmp_path / "q") == [] and (tmp_path / "x").exists()


@pytest.mark.parametrize("name", ["n" * 251 + ".png", "é" * 125 + ".jpeg", "x" * 255, "a." + "e" * 200])
def test_numbered_and_partial_names_fit_name_max(name: str) -> None:
    assert len(os.fsencode(name)) <= 255
    for k in (2, 10, 12345):
        n = moves.numbered(name, k)
        assert len(os.fsencode(n)) <= 255 and f"~{k}" in n
    assert len(os.fsencode(moves.partial_name(name))) < 64


def test_journal_records_are_checked_by_type() -> None:
    check({"action": "delete", "batch": 1, "path": "/a", "digest": "d", "rule": None}, FileRecord)
    for bad in ({"path": 5}, {"path": "/a", "rule": 5}, {"path": "/a", "by": ["x"]}, {"path": "/a", "undoes": "1"}):
        with pytest.raises(RecordError):
            check({"action": "delete", "batch": 1, **bad}, FileRecord)
