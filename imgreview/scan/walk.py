"""Walk image folders: which files to fingerprint, in a deterministic order.

* Images are recognised by extension here and confirmed by opening them later.
* Hidden files and folders are skipped unless asked for; the session folder and quarantine
  folders (marked by :data:`QUARANTINE_MARKER`) are never entered.
* Symbolic links are not followed unless asked for; followed folder links never loop.
* Two paths to one file (symlink or hard link: same device and inode) are *aliases*: only one of
  them is fingerprinted, and they are never offered as duplicates of each other.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imgreview.scan.fingerprint import image_extensions

QUARANTINE_MARKER = ".imgreview-quarantine"


@dataclass(slots=True)
class FileEntry:
    path: str
    root: str
    size: int
    mtime_ns: int
    dev: int
    ino: int
    aliases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class WalkResult:
    files: list[FileEntry]  # one entry per distinct inode, sorted by path
    errors: list[tuple[str, str]]  # (path, reason)
    skipped_links: int = 0
    alias_sets: list[list[str]] = field(default_factory=list)


@dataclass(slots=True)
class FileTable:
    """The walk's files packed: one path string per file and numpy columns, no object per file.

    ``paths`` sorted; file ``i`` is under ``roots[root[i]]``; ``aliases`` only for the files that
    have some (hard links, followed symbolic links). What a scan of millions of files keeps.
    """

    paths: list[str]
    roots: list[str]
    root: np.ndarray  # (n,) uint16: index into roots
    size: np.ndarray  # (n,) int64
    mtime_ns: np.ndarray  # (n,) int64
    aliases: dict[int, list[str]] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    skipped_links: int = 0

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def alias_sets(self) -> list[list[str]]:
        return [[self.paths[i], *self.aliases[i]] for i in sorted(self.aliases)]

    def entry(self, i: int) -> FileEntry:
        return FileEntry(self.paths[i], self.roots[int(self.root[i])], int(self.size[i]), int(self.mtime_ns[i]),
                         0, 0, list(self.aliases.get(i, ())))

    def entries(self) -> Iterator[FileEntry]:
        return (self.entry(i) for i in range(len(self.paths)))

    @classmethod
    def of(cls, files: Sequence[FileEntry], errors: list[tuple[str, str]] | None = None,
           skipped_links: int = 0) -> FileTable:
        """A table of ``files`` (sorted by path, one entry per inode, as :func:`walk` returns them)."""
        roots: list[str] = []
        slot: dict[str, int] = {}
        for f in files:
            if f.root not in slot:
                slot[f.root] = len(roots)
                roots.append(f.root)
        return cls([f.path for f in files], roots, np.fromiter((slot[f.root] for f in files), np.uint16, len(files)),
                   np.fromiter((f.size for f in files), np.int64, len(files)),
                   np.fromiter((f.mtime_ns for f in files), np.int64, len(files)),
                   {i: list(f.aliases) for i, f in enumerate(files) if f.aliases}, list(errors or []), skipped_links)


@dataclass(slots=True)
class WalkOptions:
    hidden: bool = False
    follow_links: bool = False
    excludes: tuple[str, ...] = ()
    skip_dirs: tuple[str, ...] = ()  # absolute paths never entered (the session folder)


def _excluded(rel: str, name: str, excludes: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(name, pat) for pat in excludes)


def walk(roots: list[str], options: WalkOptions | None = None) -> WalkResult:
    """Collect image files under ``roots`` (absolute paths)."""
    table = walk_files(roots, options)
    return WalkResult(files=list(table.entries()), errors=table.errors, skipped_links=table.skipped_links,
                      alias_sets=table.alias_sets)


def walk_files(roots: list[str], options: WalkOptions | None = None) -> FileTable:
    """:func:`walk` packed: the same files in the same order, as a :class:`FileTable` (what the
    scan keeps for millions of files: a path string and a few numbers each, no object per file)."""
    walker = _Walker(options or WalkOptions())
    for k, root in enumerate(roots):
        walker.root_index = k
        stack = [root]
        while stack:  # depth first, in sorted order
            stack.extend(reversed(walker.visit(stack.pop(), root)))
    walker.errors.sort()  # folders are listed in the file system's order: report in path order
    return walker.table(roots)


class _Walker:
    """The state of one walk: options, folders already entered, what was found and every error."""

    def __init__(self, opts: WalkOptions) -> None:
        self.opts = opts
        self.exts = image_extensions()
        self.skip: set[tuple[int, int]] = set()  # (device, inode) of folders never entered
        for d in opts.skip_dirs:
            try:
                st_skip = os.stat(d)
            except OSError:
                continue
            self.skip.add((st_skip.st_dev, st_skip.st_ino))
        # what was found, packed (one path string and five numbers per file; sorted in table())
        self.paths: list[str] = []
        self.roots = array("H")
        self.sizes, self.mtimes, self.devs, self.inos = array("q"), array("q"), array("Q"), array("Q")
        self.root_index = 0
        self.errors: list[tuple[str, str]] = []
        self.skipped_links = 0
        # Two paths to one inode need a hard link or a followed symbolic link: else no alias to look for.
        self.hard_links = opts.follow_links
        self.seen_dirs: set[tuple[int, int]] = set()

    def visit(self, directory: str, root: str) -> list[str]:
        """List one folder; returns its subfolders, sorted (walked by the caller: no recursion limit).

        The hot loop of a walk over millions of files: per entry only what cannot wait (the name
        tests, the file type from the directory entry, one ``stat`` for an image); files are sorted
        once at the end, symbolic links and errors take the slow path in :meth:`_visit_entry`.
        """
        entries = self._list(directory, root)
        subdirs: list[str] = []
        hidden, excludes, exts = self.opts.hidden, self.opts.excludes, self.exts
        for entry in entries:
            name = entry.name
            if not hidden and name[0] == ".":
                continue
            # relpath is costly (a third of a rescan's walk): only computed when there are excludes
            if excludes and _excluded(os.path.relpath(entry.path, root), name, excludes):
                continue
            try:
                if entry.is_symlink():
                    if self._visit_entry(entry, root):
                        subdirs.append(entry.path)
                    continue
                if entry.is_dir():
                    subdirs.append(entry.path)
                    continue
            except OSError:
                if self._visit_entry(entry, root):
                    subdirs.append(entry.path)
                continue
            dot = name.rfind(".")
            if dot <= 0 or name[dot:].lower() not in exts or not name[:dot].strip("."):
                continue  # no extension (as os.path.splitext: leading dots do not start one) or not an image
            try:
                st = entry.stat()
            except OSError:
                self._visit_entry(entry, root)  # records why
                continue
            if stat.S_ISREG(st.st_mode):
                self._found(entry.path, st)
                if st.st_nlink > 1:
                    self.hard_links = True
        subdirs.sort()
        return subdirs

    def _found(self, path: str, st: os.stat_result) -> None:
        self.paths.append(path)
        self.roots.append(self.root_index)
        self.sizes.append(st.st_size)
        self.mtimes.append(st.st_mtime_ns)
        self.devs.append(st.st_dev)
        self.inos.append(st.st_ino)

    def table(self, roots: list[str]) -> FileTable:
        """The files found, sorted by path, one per (device, inode): the first path in sorted
        order, the others its aliases (looked for only when a hard link or a followed link was seen)."""
        paths = self.paths
        order = sorted(range(len(paths)), key=paths.__getitem__)
        keep = order
        aliases: dict[int, list[str]] = {}
        if self.hard_links:
            first: dict[tuple[int, int], int] = {}
            keep = []
            for k in order:
                at = first.setdefault((self.devs[k], self.inos[k]), len(keep))
                if at == len(keep):
                    keep.append(k)
                elif paths[k] != paths[keep[at]]:
                    aliases.setdefault(at, []).append(paths[k])
        idx = np.asarray(keep, dtype=np.int64)
        del order

        def column(values: array[int], dtype: type) -> np.ndarray:
            return np.frombuffer(values, dtype=dtype)[idx] if len(idx) else np.zeros(0, dtype=dtype)

        table = FileTable([paths[k] for k in keep], list(roots), column(self.roots, np.uint16),
                          column(self.sizes, np.int64), column(self.mtimes, np.int64), aliases, self.errors,
                          self.skipped_links)
        self.paths = []
        return table

    def _list(self, directory: str, root: str) -> list[os.DirEntry[str]]:
        """The sorted entries of a folder to walk; none for a folder seen, skipped or unreadable."""
        try:
            st = os.stat(directory)
        except OSError as exc:
            self.errors.append((directory, f"cannot enter folder: {exc.strerror or exc}"))
            return []
        key = (st.st_dev, st.st_ino)
        if key in self.seen_dirs:
            return []  # a folder reached twice (symlink loop or alias): walk it once
        self.seen_dirs.add(key)
        if key in self.skip and directory != root:
            return []
        try:
            with os.scandir(directory) as it:
                entries = list(it)  # not sorted: the files are sorted once, the subfolders by visit()
        except OSError as exc:
            self.errors.append((directory, f"cannot list folder: {exc.strerror or exc}"))
            return []
        if any(e.name == QUARANTINE_MARKER for e in entries) and directory != root:
            return []
        return entries

    def _visit_entry(self, entry: os.DirEntry[str], root: str) -> bool:
        """Record an image file; True when the entry is a folder to walk."""
        try:
            if entry.is_symlink() and not self.opts.follow_links:
                self._skip_link(entry)
                return False
            if entry.is_dir(follow_symlinks=True):
                return True
            if os.path.splitext(entry.name)[1].lower() not in self.exts:
                return False
            st = entry.stat(follow_symlinks=True)
        except FileNotFoundError:
            if entry.is_symlink():
                self.errors.append((entry.path, "broken symbolic link"))
            return False
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self.errors.append((entry.path, "symbolic link loop (the link leads back to itself)"))
            else:
                self.errors.append((entry.path, f"cannot stat: {exc.strerror or exc}"))
            return False
        if stat.S_ISREG(st.st_mode):
            self._found(entry.path, st)
            self.hard_links = True  # the slow path: look for aliases, whatever led here
        return False

    def _skip_link(self, entry: os.DirEntry[str]) -> None:
        """A link not followed: counted when it leads to a folder or names an image."""
        try:
            to_dir = entry.is_dir()
        except OSError:  # a link loop or an unreachable target: skipped like any link
            to_dir = False
        if to_dir or os.path.splitext(entry.name)[1].lower() in self.exts:
            self.skipped_links += 1


def resolve_roots(roots: Sequence[str | Path]) -> list[str]:
    """Absolute, normalised roots without duplicates or roots nested in another root."""
    out: list[str] = []
    for r in roots:
        p = os.path.abspath(os.fspath(r))
        if p not in out:
            out.append(p)
    nested = {p for p in out for q in out if p != q and p.startswith(q.rstrip(os.sep) + os.sep)}
    return [p for p in out if p not in nested]
