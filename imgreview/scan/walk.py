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
    files = _collapse_aliases(walker.found)
    alias_sets = [[f.path, *f.aliases] for f in files if f.aliases]
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
        self.seen_dirs: set[tuple[int, int]] = set()

    def visit(self, directory: str, root: str) -> list[str]:
        """List one folder; returns its subfolders (walked by the caller: no recursion limit)."""
        entries = self._list(directory, root)
        subdirs: list[str] = []
        for entry in entries:
            name = entry.name
            if not self.opts.hidden and name.startswith("."):
                continue
            # relpath is costly (a third of a rescan's walk): only computed when there are excludes
            if self.opts.excludes and _excluded(os.path.relpath(entry.path, root), name, self.opts.excludes):
                continue
            if self._visit_entry(entry, root):
                subdirs.append(entry.path)
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
                entries = sorted(it, key=lambda e: e.name)
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
        return False

    def _skip_link(self, entry: os.DirEntry[str]) -> None:
        """A link not followed: counted when it leads to a folder or names an image."""
        try:
            to_dir = entry.is_dir()
        except OSError:  # a link loop or an unreachable target: skipped like any link
            to_dir = False
        if to_dir or os.path.splitext(entry.name)[1].lower() in self.exts:
            self.skipped_links += 1


def _collapse_aliases(found: list[FileEntry]) -> list[FileEntry]:
    """One entry per (device, inode), the first path in sorted order, the others as its aliases."""
    by_inode: dict[tuple[int, int], FileEntry] = {}
    for entry in sorted(found, key=lambda e: e.path):
        key = (entry.dev, entry.ino)
        first = by_inode.get(key)
        if first is None:
            by_inode[key] = entry
        elif entry.path != first.path:
            first.aliases.append(entry.path)
    return sorted(by_inode.values(), key=lambda e: e.path)


def resolve_roots(roots: Sequence[str | Path]) -> list[str]:
    """Absolute, normalised roots without duplicates or roots nested in another root."""
    out: list[str] = []
    for r in roots:
        p = os.path.abspath(os.fspath(r))
        if p not in out:
            out.append(p)
    nested = {p for p in out for q in out if p != q and p.startswith(q.rstrip(os.sep) + os.sep)}
    return [p for p in out if p not in nested]
