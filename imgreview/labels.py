"""Dataset awareness: the label and split of every image, label conflicts and split leaks.

Image-classification datasets are usually laid out as one folder per label, often under
``train``/``val``/``test``. :class:`Layout` says how to read a path:

``auto`` (default)
    A split folder name (``train``/``training``, ``val``/``valid``/``validation``/``dev``,
    ``test``/``testing``, any case) at the top level under the root (``split/label``) or at the
    second level (``label/split``); the label is the other of the two levels. If the root itself
    is named like a split (``imgreview check data/train data/test``) that is the split and the top
    level is the label. With no split folder the top level is the label; files directly in the
    root have no label.
``label``, ``split/label``, ``label/split``
    Fixed positions; in the explicit layouts an unknown split folder name is used as it is.
``none``
    No labels or splits from folders.

``label_depth=N`` takes the label from the folder N levels under the root instead (1 = top).
A manifest (CSV with a header, or JSON lines, with ``path``, ``label`` and optionally ``split``)
overrides the folders for the files it lists; relative paths are taken relative to the
manifest's folder, then to each root.

A group has a *label conflict* when its members carry two or more labels, and a *split leak* when
they lie in two or more splits. Members whose label (split) is unknown do not count.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgreview.errors import ImgreviewError
from imgreview.model import Group, Member, ScanResult

LAYOUTS = ("auto", "label", "split/label", "label/split", "none")
SPLIT_ALIASES: dict[str, str] = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
}
SPLIT_ORDER = ("train", "val", "test")
PATH_COLUMNS = ("path", "file", "filename", "file_name", "image", "filepath")


class DatasetError(ImgreviewError, ValueError):
    """Bad layout settings or an unreadable manifest; the message says what to fix."""


def canonical_split(name: str) -> str | None:
    """``"Training"`` -> ``"train"``; None for a folder name that is not a split."""
    return SPLIT_ALIASES.get(name.strip().lower())


def split_sort_key(split: str | None) -> tuple[int, str]:
    if split in SPLIT_ORDER:
        return (SPLIT_ORDER.index(split), "")
    return (len(SPLIT_ORDER), split or "\uffff")


@dataclass(frozen=True, slots=True)
class Layout:
    """How labels and splits are read from paths (stored in the scan settings)."""

    layout: str = "auto"
    label_depth: int | None = None
    manifest: str | None = None  # absolute path

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise DatasetError(f"unknown layout {self.layout!r}; choose one of {', '.join(LAYOUTS)}")
        if self.label_depth is not None and self.label_depth < 1:
            raise DatasetError("--label-depth must be 1 or more (1 = the folders right under the root)")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Layout:
        """The layout recorded in a scan result's ``settings`` (defaults for older results)."""
        return cls(layout=str(settings.get("layout") or "auto"), label_depth=settings.get("label_depth"),
                   manifest=settings.get("manifest"))


class Labeller:
    """Label and split of a path, by a :class:`Layout` and an optional manifest."""

    def __init__(self, layout: Layout | None = None) -> None:
        self.layout = layout or Layout()
        self.manifest: dict[str, tuple[str | None, str | None]] = {}
        self._relative: dict[str, tuple[str | None, str | None]] = {}
        if self.layout.manifest:
            self._load_manifest(Path(self.layout.manifest))

    # ------------------------------------------------------------------ manifest
    def _load_manifest(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise DatasetError(f"manifest {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"cannot read manifest {path}: {exc}") from None
        rows = _json_lines(text, path) if _looks_like_json_lines(text) else _csv_rows(text, path)
        base = path.parent.absolute()
        for entry, label, split in rows:
            value = (label or None, (canonical_split(split) or split.strip()) if split else None)
            if os.path.isabs(entry):
                self.manifest[os.path.normpath(entry)] = value
            else:
                self.manifest[os.path.normpath(os.path.join(base, entry))] = value
                self._relative[os.path.normpath(entry)] = value

    def _from_manifest(self, path: str, root: str) -> tuple[str | None, str | None] | None:
        hit = self.manifest.get(os.path.normpath(path))
        if hit is None and root and self._relative:
            try:
                hit = self._relative.get(os.path.normpath(os.path.relpath(path, root)))
            except ValueError:
                hit = None
        return hit

    # ------------------------------------------------------------------ folders
    def from_folders(self, path: str, root: str) -> tuple[str | None, str | None]:
        layout = self.layout.layout
        if layout == "none" and self.layout.label_depth is None:
            return None, None
        prefix = root.rstrip(os.sep) + os.sep if root else ""
        if prefix and path.startswith(prefix):  # the usual case: absolute, normalised paths
            rel = path[len(prefix):]
        else:
            try:
                rel = os.path.relpath(path, root) if root else path
            except ValueError:
                return None, None
        dirs = [d for d in rel.split(os.sep)[:-1] if d not in ("", os.curdir, os.pardir)]
        label: str | None = None
        split: str | None = None
        label_at: int | None = None
        if layout == "auto":
            root_split = canonical_split(os.path.basename(root.rstrip(os.sep))) if root else None
            if root_split:
                split, label_at = root_split, 0
            elif dirs and canonical_split(dirs[0]):
                split, label_at = canonical_split(dirs[0]), 1
            elif len(dirs) >= 2 and canonical_split(dirs[1]):
                split, label_at = canonical_split(dirs[1]), 0
            else:
                label_at = 0
        elif layout == "label":
            label_at = 0
        elif layout == "split/label":
            if dirs:
                split = canonical_split(dirs[0]) or dirs[0]
            label_at = 1
        elif layout == "label/split":
            if len(dirs) >= 2:
                split = canonical_split(dirs[1]) or dirs[1]
            label_at = 0
        if self.layout.label_depth is not None:
            label_at = self.layout.label_depth - 1
        if label_at is not None and label_at < len(dirs):
            label = dirs[label_at]
        return label, split

    def classify(self, path: str, root: str) -> tuple[str | None, str | None]:
        """``(label, split)`` of ``path`` found under ``root``; None where unknown."""
        folders = self.from_folders(path, root)
        hit = self._from_manifest(path, root) if self.manifest else None
        if hit is None:
            return folders
        label, split = hit
        return label, split if split is not None else folders[1]


def _looks_like_json_lines(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


def _json_lines(text: str, path: Path) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise DatasetError(f"{path}:{lineno}: expected an object with path and label")
        obj = {str(k).lower(): v for k, v in obj.items()}
        entry = next((obj[c] for c in PATH_COLUMNS if c in obj), None)
        if not isinstance(entry, str) or not entry:
            raise DatasetError(f"{path}:{lineno}: no path (expected a \"path\" field)")
        label, split = obj.get("label"), obj.get("split")
        rows.append((entry, "" if label is None else str(label), "" if split is None else str(split)))
    return rows


def _csv_rows(text: str, path: Path) -> list[tuple[str, str, str]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text.splitlines(), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    pcol = next((header.index(c) for c in PATH_COLUMNS if c in header), None)
    if pcol is None or "label" not in header:
        raise DatasetError(f"{path}: the first line must name the columns, with path and label "
                           f"(found: {', '.join(header) or 'nothing'})")
    lcol = header.index("label")
    scol = header.index("split") if "split" in header else None
    rows: list[tuple[str, str, str]] = []
    for lineno, row in enumerate(reader, 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(pcol, lcol):
            raise DatasetError(f"{path}:{lineno}: expected at least {max(pcol, lcol) + 1} columns")
        split = row[scol].strip() if scol is not None and scol < len(row) else ""
        rows.append((row[pcol].strip(), row[lcol].strip(), split))
    return rows


# --------------------------------------------------------------------------- groups
def labels_of(members: Iterable[Member]) -> set[str]:
    return {m.label for m in members if m.label is not None}


def splits_of(members: Iterable[Member]) -> set[str]:
    return {m.split for m in members if m.split is not None}


def flag_group(group: Group) -> None:
    """Set ``label_conflict`` and ``split_leak`` from the members' labels and splits."""
    group.label_conflict = len(labels_of(group.members)) > 1
    group.split_leak = len(splits_of(group.members)) > 1


def annotate(result: ScanResult, layout: Layout | None = None, images: Iterable[tuple[str, str]] | None = None,
             labeller: Labeller | None = None) -> None:
    """Fill in every member's label and split and every group's flags; add dataset stats.

    ``images`` (path, root) of every image scanned, when given, adds per-label and per-split counts
    to ``result.stats["dataset"]``.
    """
    labeller = labeller or Labeller(layout)
    for group in result.groups:
        for m in group.members:
            m.label, m.split = labeller.classify(m.path, m.root)
        flag_group(group)
    stats: dict[str, Any] = {
        "label_conflicts": sum(g.label_conflict for g in result.groups),
        "split_leaks": sum(g.split_leak for g in result.groups),
    }
    if images is not None:
        counts = count_images(labeller.classify(p, r) for p, r in images)
        stats["labels"] = {label or "": {s: per[s] for s in sorted(per, key=lambda s: split_sort_key(s or None))}
                           for label, per in counts.items()}
    result.stats["dataset"] = stats


def count_images(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str | None, Counter[str]]:
    """``{label: Counter({split or "": n})}`` ordered by label."""
    out: dict[str | None, Counter[str]] = {}
    for label, split in pairs:
        out.setdefault(label, Counter())[split or ""] += 1
    return dict(sorted(out.items(), key=lambda kv: (kv[0] is None, kv[0] or "")))


def review_order(groups: Sequence[Group]) -> list[Group]:
    """Groups for the review: label conflicts first, then split leaks, then the rest (stable)."""
    return sorted(groups, key=lambda g: 0 if g.label_conflict else 1 if g.split_leak else 2)


def split_pairs(splits: Iterable[str]) -> list[tuple[str, str]]:
    """Every pair of the given splits, each in train < val < test order."""
    ordered = sorted(set(splits), key=split_sort_key)
    return list(itertools.combinations(ordered, 2))
