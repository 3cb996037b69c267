"""Moving one file without ever overwriting: rename, or copy + fsync + verify + unlink across file systems."""

from __future__ import annotations

import errno
import os
import shutil

from imgreview.fs import file_digest, fsync_dir, new_digest
from imgreview.quarantine.manifest import PARTIAL_SUFFIX


def _makedirs(path: str) -> None:
    missing: list[str] = []
    p = path
    while not os.path.isdir(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    os.makedirs(path, exist_ok=True)
    for d in reversed(missing):
        fsync_dir(os.path.dirname(d))


def _real_location(path: str) -> str:
    """The path with its folder's symbolic links resolved; the last component is not followed."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


_rename = os.rename  # indirection so tests can simulate a move across file systems


def _same_content(a: str, b: str) -> bool:
    if os.path.islink(a) or os.path.islink(b):
        return os.path.islink(a) and os.path.islink(b) and os.readlink(a) == os.readlink(b)
    return file_digest(a) == file_digest(b)


def move_file(src: str, dst: str, dirty: set[str] | None = None) -> None:
    """Move ``src`` to ``dst`` without ever overwriting ``dst``; a symbolic link moves as a link.

    Within one file system: rename. Across file systems: copy to a temporary name next to ``dst``,
    fsync, verify the copy's bytes against ``src``, rename it to ``dst``, fsync its folder, then
    unlink ``src``. The folders a rename changed are fsynced at once, or added to ``dirty`` for
    the caller to fsync later (a rename lost to a power cut leaves the file at ``src``, which a
    rerun handles like a move not made yet).
    """
    _makedirs(os.path.dirname(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists", dst)
    try:
        _rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_verify(src, dst)
        fsync_dir(os.path.dirname(dst))  # the copy is durable before the original goes
        os.unlink(src)
    if dirty is None:
        fsync_dir(os.path.dirname(dst))
        fsync_dir(os.path.dirname(src))
    else:
        dirty.update((os.path.dirname(dst), os.path.dirname(src)))


def sync_dirs(dirty: set[str]) -> None:
    for d in sorted(dirty):
        fsync_dir(d)
    dirty.clear()


def _copy_verify(src: str, dst: str) -> None:
    tmp = dst + PARTIAL_SUFFIX  # our own partial copy: replaced if a previous run left one
    if os.path.lexists(tmp):
        os.unlink(tmp)
    if os.path.islink(src):
        os.symlink(os.readlink(src), tmp)
    else:
        want = new_digest()
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while chunk := fin.read(1 << 20):
                want.update(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
        if file_digest(tmp) != want.hexdigest():
            os.unlink(tmp)
            raise OSError(errno.EIO, "the copy does not match the original", src)
    if os.path.lexists(dst):
        os.unlink(tmp)
        raise FileExistsError(errno.EEXIST, "destination exists", dst)
    os.rename(tmp, dst)


