"""Moving one file without ever overwriting and without following a link on the way.

Every move goes between two :class:`Place` objects: a name inside a folder that is held open by a
descriptor. The folder is reached from a trusted base (a scanned root, the quarantine folder) one
component at a time with ``O_NOFOLLOW``, so a folder swapped for a symbolic link at any moment
cannot redirect the move: the kernel refuses the link, and a folder swapped after it was opened is
still the folder that was checked.

Within one file system a move is ``renameat2(RENAME_NOREPLACE)`` (``link`` + ``unlink`` where the
file system lacks it): the kernel refuses to replace a file created at the destination meanwhile.
Across file systems (:func:`move`):

1. the source is read through its open descriptor into ``.imgreview-partial-<hash>`` next to the
   destination (a short name, so any legal destination name works), hashed while copying, fsynced;
2. the copy is read back and its digest compared with the decided one;
3. the copy gets its final name with ``link`` (no replace), so for a while the finished copy has two
   names: the partial one proves the copy is this run's own (:func:`finished_copy`);
4. right before the original is unlinked its size, modification time, identity (the name still
   leads to the file that was read) and digest are checked again; if anything changed the copy is
   removed and the original stays;
5. the original is unlinked, then the partial name.

A failure before step 3 removes the partial file (disk full leaves nothing behind); a crash after
it leaves a state a rerun recognises and finishes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from imgreview.errors import ImgreviewError
from imgreview.fs import new_digest

NAME_MAX = 255
PARTIAL_PREFIX = ".imgreview-partial-"
_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Refused(ImgreviewError):
    """One file cannot be moved safely; the message is the reason (the file is skipped)."""

    exit_code = 1


class FolderMissing(Refused):
    """A folder on the way does not exist (and was not to be created)."""


class Changed(Refused):
    """The file is not the content that was decided (or changed while it was being moved)."""


@dataclass(slots=True)
class Place:
    """A name inside a folder held open (``dir_fd``); ``path`` is for messages and records."""

    dir_fd: int
    name: str
    path: str

    def lstat(self) -> os.stat_result | None:
        try:
            return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def exists(self) -> bool:
        return self.lstat() is not None


def split_relative(rel: str) -> list[str]:
    """The components of a relative path; refuses absolute paths, ``.``, ``..`` and empty parts."""
    if not rel or os.path.isabs(rel):
        raise Refused(f"not a relative path inside its folder: {rel!r}")
    parts = rel.split(os.sep)
    if any(p in ("", ".", "..") for p in parts):
        raise Refused("its path has '.', '..' or empty components")
    return parts


def _open_base(base: str) -> int:
    try:
        return os.open(base, _DIR_FLAGS)
    except FileNotFoundError:
        raise Refused(f"the folder {base} no longer exists (renamed or removed?)") from None
    except NotADirectoryError:
        raise Refused(f"{base} is not a folder") from None


def open_folder(base: str, parts: Sequence[str], create: bool = False) -> int:
    """A descriptor of ``base/parts...``: every part opened without following links.

    ``base`` itself is opened normally (it is a folder the user named). With ``create`` missing
    folders are made (and their parent fsynced). A part that is a link or not a folder raises
    :class:`Refused`.
    """
    fd = _open_base(base)
    where = base
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise Refused("its path has '.', '..' or empty components")
            where = os.path.join(where, part)
            try:
                nfd = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise FolderMissing(f"the folder {where} does not exist") from None
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                _fsync(fd)
                try:
                    nfd = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    raise _refusal(exc, where) from None
            except OSError as exc:
                raise _refusal(exc, where) from None
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refusal(exc: OSError, where: str) -> Refused:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return Refused(f"{where} is a symbolic link or not a folder; imgreview does not follow it")
    return Refused(f"cannot open the folder {where}: {exc.strerror or exc}")


@contextmanager
def place(base: str, rel: str, create: bool = False) -> Iterator[Place]:
    """The :class:`Place` of ``base/rel`` (folders opened without following links); closed on exit."""
    parts = split_relative(rel)
    fd = open_folder(base, parts[:-1], create=create)
    try:
        yield Place(fd, parts[-1], os.path.join(base, rel))
    finally:
        os.close(fd)


def _fsync(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError:
        pass


def same_file(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    return a is not None and b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


# ---------------------------------------------------------------------- names
def partial_name(name: str) -> str:
    """The temporary name of a copy in progress to ``name``: short, so it fits any legal name."""
    h = new_digest()
    h.update(os.fsencode(name))
    return PARTIAL_PREFIX + h.hexdigest()[:16]


def numbered(name: str, k: int) -> str:
    """``name`` with ``~k`` before its extension, shortened to fit NAME_MAX bytes."""
    stem, ext = os.path.splitext(name)
    suffix = os.fsencode(f"~{k}{ext}")
    if len(suffix) > NAME_MAX // 2:  # an absurd extension: number the whole name
        stem, suffix = name, os.fsencode(f"~{k}")
    raw = os.fsencode(stem)[: NAME_MAX - len(suffix)]
    return os.fsdecode(raw + suffix)


# ---------------------------------------------------------------------- reading
def _hash_fd(fd: int) -> str:
    h = new_digest()
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, _CHUNK):
        h.update(chunk)
    return h.hexdigest()


def open_regular(p: Place) -> tuple[int, os.stat_result]:
    """Open ``p`` for reading without following a link or blocking on a FIFO; must be a regular file."""
    try:
        fd = os.open(p.name, _NOFOLLOW_READ, dir_fd=p.dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"{p.path} is a symbolic link") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Refused(f"{p.path} is not a regular file")
    os.set_blocking(fd, True)
    return fd, st


def digest_of(p: Place) -> str:
    """The digest of the file at ``p``; a symbolic link is read through (its target's content)."""
    st = p.lstat()
    if st is None:
        raise FileNotFoundError(errno.ENOENT, "no such file", p.path)
    if stat.S_ISLNK(st.st_mode):
        fd = os.open(p.name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=p.dir_fd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Refused(f"{p.path} leads to something that is not a regular file")
            os.set_blocking(fd, True)
            return _hash_fd(fd)
        finally:
            os.close(fd)
    fd, _ = open_regular(p)
    try:
        return _hash_fd(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- primitives
def _load_renameat2() -> object | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _load_renameat2()
_RENAME_NOREPLACE = 1


def _rename_noreplace(src: Place, dst: Place) -> None:
    """Rename without replacing: EEXIST if ``dst`` exists, EXDEV across file systems."""
    if _renameat2 is not None:
        rc = _renameat2(src.dir_fd, os.fsencode(src.name), dst.dir_fd, os.fsencode(dst.name),  # type: ignore[operator]
                        _RENAME_NOREPLACE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), dst.path)
    # no renameat2 here: a hard link never replaces either; then drop the old name
    os.link(src.name, dst.name, src_dir_fd=src.dir_fd, dst_dir_fd=dst.dir_fd, follow_symlinks=False)
    os.unlink(src.name, dir_fd=src.dir_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def finished_copy(dst: Place) -> bool:
    """Whether the file at ``dst`` is a copy this imgreview finished (its partial name still links it)."""
    st = dst.lstat()
    if st is None or not stat.S_ISREG(st.st_mode):
        return False
    try:
        pst = os.stat(partial_name(dst.name), dir_fd=dst.dir_fd, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(pst.st_mode) and same_file(st, pst)


def drop_partial(dst: Place) -> None:
    """Remove the partial name of a finished copy (the copy itself stays under ``dst``)."""
    if finished_copy(dst):
        _unlink_quietly(partial_name(dst.name), dst.dir_fd)


# ---------------------------------------------------------------------- the move
def move(src: Place, dst: Place, digest: str, before: Callable[[], None] | None = None) -> None:
    """Move ``src`` to ``dst`` if its content has ``digest``; never overwrite, never follow a link.

    ``before`` runs once the content is checked, right before the move (apply records the move in
    the manifest there, so a file that changed gets no manifest line).

    Raises :class:`Changed` (nothing moved) when the content differs, ``FileExistsError`` when
    ``dst`` exists, :class:`Refused` or ``OSError`` for anything else that stops the move.
    A symbolic link moves as a link; its digest is its target's content.
    """
    st0 = src.lstat()
    if st0 is None:
        raise FileNotFoundError(errno.ENOENT, "no such file", src.path)
    if stat.S_ISLNK(st0.st_mode):
        _move_link(src, dst, digest, st0, before)
        return
    fd, st0 = open_regular(src)
    try:
        if digest and _hash_fd(fd) != digest:
            raise Changed("changed since it was decided (digest differs); review it again")
        if before is not None:
            before()
        try:
            _rename_noreplace(src, dst)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_then_unlink(src, dst, fd, st0, digest)
            return
        _fsync(dst.dir_fd)
        _fsync(src.dir_fd)
        if not same_file(dst.lstat(), st0):  # the name was given another file between the check and the move
            _rename_noreplace(dst, src)
            raise Changed("replaced by another file while being moved; left in place")
    finally:
        os.close(fd)


def _move_link(src: Place, dst: Place, digest: str, st0: os.stat_result,
               before: Callable[[], None] | None) -> None:
    if digest and digest_of(src) != digest:
        raise Changed("the file it links to changed since it was decided")
    if before is not None:
        before()
    try:
        _rename_noreplace(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        target = os.readlink(src.name, dir_fd=src.dir_fd)
        os.symlink(target, dst.name, dir_fd=dst.dir_fd)  # EEXIST if taken: never replaces
        _fsync(dst.dir_fd)
        now = src.lstat()
        if not same_file(now, st0) or os.readlink(src.name, dir_fd=src.dir_fd) != target:
            _unlink_quietly(dst.name, dst.dir_fd)
            raise Changed("the link changed while being moved; left in place") from None
        os.unlink(src.name, dir_fd=src.dir_fd)
    _fsync(dst.dir_fd)
    _fsync(src.dir_fd)


def _copy_then_unlink(src: Place, dst: Place, fd: int, st0: os.stat_result, digest: str) -> None:
    if dst.exists():
        raise FileExistsError(errno.EEXIST, "destination exists", dst.path)
    tmp = partial_name(dst.name)
    _unlink_quietly(tmp, dst.dir_fd)  # a partial copy left by an earlier failure (never linked)
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                  dir_fd=dst.dir_fd)
    linked = False
    try:
        try:
            h = new_digest()
            os.lseek(fd, 0, os.SEEK_SET)
            while chunk := os.read(fd, _CHUNK):
                h.update(chunk)
                _write_all(out, chunk)
            os.fchmod(out, stat.S_IMODE(st0.st_mode))
            os.utime(out, ns=(st0.st_atime_ns, st0.st_mtime_ns))
            os.fsync(out)
            if digest and h.hexdigest() != digest:
                raise Changed("changed since it was decided (digest differs); review it again")
            if _hash_fd_path(tmp, dst.dir_fd) != h.hexdigest():
                raise OSError(errno.EIO, "the copy does not match the original", dst.path)
        finally:
            os.close(out)
        os.link(tmp, dst.name, src_dir_fd=dst.dir_fd, dst_dir_fd=dst.dir_fd, follow_symlinks=False)
        linked = True
        _fsync(dst.dir_fd)
        # right before the original goes: is it still exactly what was copied?
        st1 = os.fstat(fd)
        named = src.lstat()
        if ((st1.st_size, st1.st_mtime_ns) != (st0.st_size, st0.st_mtime_ns) or not same_file(named, st0)
                or (digest and _hash_fd(fd) != digest)):
            _unlink_quietly(dst.name, dst.dir_fd)
            raise Changed("changed while it was being copied; the original stays where it is")
        os.unlink(src.name, dir_fd=src.dir_fd)
        _fsync(src.dir_fd)
        _unlink_quietly(tmp, dst.dir_fd)
        _fsync(dst.dir_fd)
    except BaseException as exc:
        # Nothing half-made stays behind, except a finished copy whose original is still there
        # (a crash between link and unlink): that state is recognised and finished by a rerun.
        if not linked or isinstance(exc, Changed):
            _unlink_quietly(tmp, dst.dir_fd)
        raise


def _hash_fd_path(name: str, dir_fd: int) -> str:
    fd = os.open(name, _NOFOLLOW_READ, dir_fd=dir_fd)
    try:
        os.set_blocking(fd, True)
        return _hash_fd(fd)
    finally:
        os.close(fd)


def finish_copy(src: Place, dst: Place, digest: str) -> None:
    """Finish a cross-file-system move cut short after the copy was linked: unlink the original.

    Only when ``dst`` is provably this imgreview's finished copy and both hold ``digest``.
    """
    if not finished_copy(dst):
        raise Refused(f"{dst.path} exists and was not put there by this move; both left alone")
    fd, st0 = open_regular(src)
    try:
        if _hash_fd(fd) != digest or digest_of(dst) != digest:
            raise Changed("it and its copy differ from the decided content; both left alone")
        if not same_file(src.lstat(), st0):
            raise Changed("replaced while being moved; left in place")
        os.unlink(src.name, dir_fd=src.dir_fd)
    finally:
        os.close(fd)
    _fsync(src.dir_fd)
    drop_partial(dst)
    _fsync(dst.dir_fd)


def unlink_second_name(keep: Place, extra: Place) -> bool:
    """If ``extra`` is another name of the very file at ``keep`` (a link + unlink cut short), drop it."""
    a, b = keep.lstat(), extra.lstat()
    if not same_file(a, b):
        return False
    os.unlink(extra.name, dir_fd=extra.dir_fd)
    _fsync(extra.dir_fd)
    return True
