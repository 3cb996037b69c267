"""A new train/val/test split after cleaning: stratified by label, group-aware, reproducible.

The images are every readable image under the scanned roots minus the files decided delete (as
``export``/``apply`` see the journal). Files that are duplicates of each other (the remaining
members of a scan group) form one *unit* and always land in the same split, so no picture leaks
across the new splits. A unit's label is its members' most common label.

For each label, the target count of each split comes from the ratios by the largest-remainder
method (the targets add up to the label's image count and each is within one image of its exact
share). Units are shuffled with a generator seeded by ``seed`` and the label, the units of several
files are placed first (largest first), each into the split furthest below its target, then the
single files fill the remaining gaps exactly. A label made only of single files therefore hits
every target; a duplicate unit can overshoot a target by at most its size minus one.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import random
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from imgreview.decisions.build import build_decisions
from imgreview.errors import ImgreviewError
from imgreview.labels import Labeller, Layout
from imgreview.model import ScanResult
from imgreview.scan.walk import WalkOptions, walk
from imgreview.session.journal import Journal

MODES = ("copy", "hardlink", "symlink")
DEFAULT_NAMES = {2: ("train", "test"), 3: ("train", "val", "test")}


class SplitError(ImgreviewError, ValueError):
    """Bad ratios or an unusable output; the message says what to do."""


def parse_ratios(text: str) -> list[Fraction]:
    """``"8:1:1"``, ``"0.8,0.1,0.1"`` or ``"80/10/10"`` -> exact positive fractions."""
    parts = [p.strip() for p in text.replace(",", ":").replace("/", ":").split(":")]
    try:
        values = [Fraction(p) for p in parts]
    except (ValueError, ZeroDivisionError):
        raise SplitError(f"--ratios {text!r}: give numbers separated by ':' like 8:1:1") from None
    if len(values) < 2:
        raise SplitError("--ratios needs at least two parts, like 8:2 or 8:1:1")
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise SplitError("--ratios must be non-negative and not all zero")
    return values


def split_names(count: int, names: str | Sequence[str] | None = None) -> tuple[str, ...]:
    if names:
        out = tuple(n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip())
        if len(out) != count or len(set(out)) != count:
            raise SplitError(f"--names needs {count} different names, one per ratio")
        if any(os.sep in n or n in (".", "..") for n in out):
            raise SplitError("split names must be plain folder names")
        return out
    if count not in DEFAULT_NAMES:
        raise SplitError(f"give --names for {count} splits (train,val,test is the default for three)")
    return DEFAULT_NAMES[count]


def targets(n: int, ratios: Sequence[Fraction]) -> list[int]:
    """Largest-remainder apportionment of ``n`` images over ``ratios`` (ties to the earlier split)."""
    total = sum(ratios)
    exact = [r * n / total for r in ratios]
    base = [int(e) for e in exact]
    rest = n - sum(base)
    order = sorted(range(len(ratios)), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[:rest]:
        base[i] += 1
    return base


def assign_units(units: Sequence[Sequence[str]], ratios: Sequence[Fraction], seed: int, key: str = "") -> list[int]:
    """The split index of each unit (a list of paths), for one label."""
    n = sum(len(u) for u in units)
    goal = targets(n, ratios)
    rng = random.Random(f"{seed}\0{key}")
    order = sorted(range(len(units)), key=lambda k: min(units[k]))
    rng.shuffle(order)
    order.sort(key=lambda k: -len(units[k]) if len(units[k]) > 1 else 0)  # stable: shuffled within sizes
    counts = [0] * len(ratios)
    out = [0] * len(units)
    for k in order:
        size = len(units[k])
        best = max(range(len(ratios)), key=lambda i: (goal[i] - counts[i], ratios[i], -i))
        out[k] = best
        counts[best] += size
    return out


@dataclass(slots=True)
class SplitPlan:
    names: tuple[str, ...]
    ratios: list[Fraction]
    seed: int
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (path, label, split), sorted by path
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # label -> split -> images
    targets: dict[str, list[int]] = field(default_factory=dict)
    units: int = 0
    left_out: int = 0  # files decided delete

    def split_of(self) -> dict[str, str]:
        return {p: s for p, _, s in self.rows}


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def plan_split(images: Iterable[tuple[str, str | None]], groups: Iterable[Sequence[str]], ratios: Sequence[Fraction],
               seed: int = 0, names: Sequence[str] | None = None) -> SplitPlan:
    """Assign ``images`` (path, label) to splits; each of ``groups`` (paths) stays together."""
    ratios = list(ratios)
    names = tuple(names) if names else split_names(len(ratios))
    if len(names) != len(ratios):
        raise SplitError("one split name per ratio")
    labels = {p: (label or "") for p, label in images}
    uf = _Union()
    for group in groups:
        present = [p for p in group if p in labels]
        for a, b in itertools.pairwise(present):
            uf.union(a, b)
    members: dict[str, list[str]] = {}
    for p in sorted(labels):
        members.setdefault(uf.find(p) if p in uf.parent else p, []).append(p)
    by_label: dict[str, list[list[str]]] = {}
    for unit in members.values():
        if len(unit) == 1:
            label = labels[unit[0]]
        else:
            votes = Counter(labels[p] for p in unit)
            label = min(votes, key=lambda lab: (-votes[lab], lab))
        by_label.setdefault(label, []).append(unit)
    plan = SplitPlan(names=names, ratios=ratios, seed=seed, units=len(members))
    rows: list[tuple[str, str, str]] = []
    for label in sorted(by_label):
        units = by_label[label]
        chosen = assign_units(units, ratios, seed, label)
        plan.targets[label] = targets(sum(len(u) for u in units), ratios)
        counts: Counter[str] = Counter({n: 0 for n in names})
        for unit, idx in zip(units, chosen, strict=True):
            for p in unit:
                rows.append((p, labels[p], names[idx]))
            counts[names[idx]] += len(unit)
        plan.counts[label] = counts
    plan.rows = sorted(rows)
    return plan


def plan_from_scan(result: ScanResult, journal: Journal, ratios: Sequence[Fraction], seed: int = 0,
                   names: Sequence[str] | None = None, skip_dirs: Sequence[str] = ()) -> SplitPlan:
    """Plan a split of the images of a scan: walk its roots again with its settings, leave out
    unreadable files and files decided delete, keep each group's remaining files together."""
    s = result.settings
    walked = walk(list(result.roots), WalkOptions(hidden=bool(s.get("hidden")), follow_links=bool(s.get("follow_links")),
                                                  excludes=tuple(s.get("excludes") or ()), skip_dirs=tuple(skip_dirs)))
    unreadable = {e.path for e in result.errors}
    deleted = {r.path for r in build_decisions(result, journal).delete}
    labeller = Labeller(Layout.from_settings(s))
    images: list[tuple[str, str | None]] = []
    left_out = 0
    for entry in walked.files:
        if entry.path in unreadable:
            continue
        if entry.path in deleted:
            left_out += 1
            continue
        images.append((entry.path, labeller.classify(entry.path, entry.root)[0]))
    groups = [[m.path for m in g.members if m.path not in deleted] for g in result.groups]
    plan = plan_split(images, groups, ratios, seed, names)
    plan.left_out = left_out
    return plan


def write_csv(plan: SplitPlan, target: str) -> None:
    """``path,label,split`` rows (readable back with ``--manifest``); ``-`` for stdout."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("path", "label", "split"))
    for row in plan.rows:
        writer.writerow(row)
    text = buf.getvalue()
    if target == "-":
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        with open(target, "w", encoding="utf-8", errors="surrogateescape", newline="") as fh:
            fh.write(text)


def write_tree(plan: SplitPlan, out: Path, mode: str = "copy", roots: Sequence[str] = ()) -> int:
    """Write ``out/SPLIT/LABEL/NAME`` for every image (copies, hard links or symbolic links).

    ``out`` must be missing or empty and outside the scanned roots. Name clashes inside one folder
    get a ``_2``, ``_3``... suffix. Returns the number of files written.
    """
    if mode not in MODES:
        raise SplitError(f"unknown mode {mode!r}")
    out = Path(os.path.abspath(out))
    for r in roots:
        if str(out) == r or str(out).startswith(r.rstrip(os.sep) + os.sep):
            raise SplitError(f"{out} is inside the scanned folder {r}; choose an output folder outside it")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SplitError(f"{out} exists and is not an empty folder; choose a new one")
    used: set[str] = set()
    written = 0
    for path, label, split in plan.rows:
        folder = out / split / label if label else out / split
        name = os.path.basename(path)
        stem, suffix = os.path.splitext(name)
        dest = folder / name
        k = 1
        while str(dest) in used:
            k += 1
            dest = folder / f"{stem}_{k}{suffix}"
        used.add(str(dest))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            if mode == "copy":
                shutil.copy2(path, dest)
            elif mode == "hardlink":
                os.link(path, dest)
            else:
                os.symlink(path, dest)
        except OSError as exc:
            raise SplitError(f"cannot {mode} {path} to {dest}: {exc.strerror or exc}") from None
        written += 1
    return written
