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
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

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
class WalkOptions:
    hidden: bool = False
    follow_links: bool = False
    excludes: tuple[str, ...] = ()
    skip_dirs: tuple[str, ...] = ()  # absolute paths never entered (the session folder)


def _excluded(rel: str, name: str, excludes: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(name, pat) for pat in excludes)


def walk(roots: list[str], options: WalkOptions | None = None) -> WalkResult:
    """Collect image files under ``roots`` (absolute paths)."""
    walker = _Walker(options or WalkOptions())
    for root in roots:
        stack = [root]
        while stack:  # depth first, in sorted order
            stack.extend(reversed(walker.visit(stack.pop(), root)))
    files = _collapse_aliases(walker.found, walker.hard_links)
    alias_sets = [[f.path, *f.aliases] for f in files if f.aliases]
    walker.errors.sort()  # folders are listed in the file system's order: report in path order
    return WalkResult(files=files, errors=walker.errors, skipped_links=walker.skipped_links, alias_sets=alias_sets)


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
        self.found: list[FileEntry] = []
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
        hidden, excludes, exts, found = self.opts.hidden, self.opts.excludes, self.exts, self.found
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
                found.append(FileEntry(entry.path, root, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino))
                if st.st_nlink > 1:
                    self.hard_links = True
        subdirs.sort()
        return subdirs

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
            self.found.append(FileEntry(entry.path, root, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino))
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


def _collapse_aliases(found: list[FileEntry], may_alias: bool = True) -> list[FileEntry]:
    """One entry per (device, inode), the first path in sorted order, the others as its aliases.

    ``may_alias`` False (no hard link seen, no link followed): every path is its own inode, only sorted.
    """
    found.sort(key=attrgetter("path"))
    if not may_alias:
        return found
    by_inode: dict[tuple[int, int], FileEntry] = {}
    for entry in found:
        key = (entry.dev, entry.ino)
        first = by_inode.setdefault(key, entry)
        if first is not entry and entry.path != first.path:
            first.aliases.append(entry.path)
    return list(by_inode.values())  # in path order: each inode's first path, and they are sorted


def resolve_roots(roots: Sequence[str | Path]) -> list[str]:
    """Absolute, normalised roots without duplicates or roots nested in another root."""
    out: list[str] = []
    for r in roots:
        p = os.path.abspath(os.fspath(r))
        if p not in out:
            out.append(p)
    nested = {p for p in out for q in out if p != q and p.startswith(q.rstrip(os.sep) + os.sep)}
    return [p for p in out if p not in nested]
