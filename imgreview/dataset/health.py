"""The dataset health report behind ``imgreview check``.

Built from the latest scan result and the journal, the way ``export``/``apply`` would see it
(:func:`imgreview.export.build_decisions`): a file decided delete no longer counts; a stale
decision (the file changed since) and a held-back one (a whole group marked delete by rule) do
not apply, so those files still count.

The report has: images per label and split, duplicate groups by kind (and how many still have
undecided files), label conflicts, split leaks per pair of splits (train↔val, train↔test,
val↔test) with the number of groups and of images on the later side of the pair, unreadable
files, and labels with very few images. The dataset is *clean* when no label conflict and no
split leak remains.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from imgreview.decisions.build import decisions_of
from imgreview.labels import labels_of, split_pairs, split_sort_key, splits_of
from imgreview.model import FileError, Group, Member, ScanResult
from imgreview.scan.quality import counts as quality_counts
from imgreview.session.journal import Journal
from imgreview.session.store import ScanGroups

DEFAULT_MIN_IMAGES = 10


@dataclass(slots=True)
class Issue:
    """A group that still has a label conflict or a split leak, over its remaining files."""

    group: str
    kind: str
    labels: list[str]
    splits: list[str]
    paths: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "kind": self.kind, "labels": self.labels, "splits": self.splits,
                "paths": self.paths}


@dataclass(slots=True)
class Leak:
    splits: tuple[str, str]
    groups: int = 0
    images: int = 0  # files in the later split of the pair that have a copy in the earlier one

    def to_dict(self) -> dict[str, Any]:
        return {"splits": list(self.splits), "groups": self.groups, "images": self.images}


@dataclass(slots=True)
class HealthReport:
    counts: dict[str, dict[str, int]]  # label ("" unknown) -> split ("" none) -> images still counted
    splits: list[str]
    groups: dict[str, int]  # exact, near, undecided_exact, undecided_near
    conflicts: list[Issue]
    leak_groups: list[Issue]
    leaks: list[Leak]
    unreadable: list[FileError]
    small_labels: dict[str, int]
    deleted: int  # files decided delete (not counted)
    stale: int
    held: int
    min_images: int = DEFAULT_MIN_IMAGES
    warnings: list[str] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)  # images with a quality flag (scan result)
    unwanted: int = 0  # files marked unwanted in triage
    relabel: int = 0  # files marked as belonging to another label

    @property
    def quality_counts(self) -> dict[str, int]:
        return quality_counts(self.quality)

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.leak_groups

    @property
    def images(self) -> int:
        return sum(sum(per.values()) for per in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "images": self.images,
            "counts": self.counts,
            "splits": self.splits,
            "groups": self.groups,
            "label_conflicts": [c.to_dict() for c in self.conflicts],
            "split_leaks": [c.to_dict() for c in self.leak_groups],
            "leaks": [leak.to_dict() for leak in self.leaks],
            "unreadable": [{"path": e.path, "error": e.error} for e in self.unreadable],
            "small_labels": self.small_labels,
            "min_images": self.min_images,
            "decided_delete": self.deleted,
            "stale_decisions": self.stale,
            "held_back": self.held,
            "warnings": self.warnings,
            "quality": self.quality,
            "quality_counts": self.quality_counts,
            "marked_unwanted": self.unwanted,
            "marked_relabel": self.relabel,
        }


def _issue(group: Group, live: list[Member]) -> Issue:
    return Issue(group.id, group.kind, sorted(labels_of(live)), sorted(splits_of(live), key=split_sort_key),
                 [m.path for m in live])


def build_report(result: ScanResult, journal: Journal, min_images: int = DEFAULT_MIN_IMAGES) -> HealthReport:
    """The report of a result held in memory."""
    return report_of(result, ScanGroups(result.groups), journal, min_images)


def report_of(header: ScanResult, groups: ScanGroups, journal: Journal,
              min_images: int = DEFAULT_MIN_IMAGES) -> HealthReport:
    """The report from the result's header and only the groups it needs: those the journal names and those
    whose members carry two labels or two splits (every other group keeps all its files, has one label and
    one split, and is only counted)."""
    decisions = decisions_of(header, groups, journal)
    deleted_paths = {r.path for r in decisions.delete}
    deleted_members = [r.member for r in decisions.delete]

    stored = header.stats.get("dataset", {}).get("labels")
    counts: dict[str, Counter[str]] = {}
    if isinstance(stored, dict):
        for label, per in stored.items():
            counts[str(label)] = Counter({str(s): int(n) for s, n in per.items()})
    for m in deleted_members:
        per = counts.setdefault(m.label or "", Counter())
        per[m.split or ""] -= 1
    clean_counts = {label: {s: n for s, n in sorted(per.items(), key=lambda kv: split_sort_key(kv[0] or None))
                            if n > 0}
                    for label, per in sorted(counts.items(), key=lambda kv: (kv[0] == "", kv[0]))}
    clean_counts = {label: per for label, per in clean_counts.items() if per}
    splits = sorted({s for per in clean_counts.values() for s in per}, key=lambda s: split_sort_key(s or None))

    # Groups the journal does not name: every file undecided and still there, counted per kind.
    tally = Counter({"exact": 0, "near": 0, "undecided_exact": 0, "undecided_near": 0})
    for kind, n in groups.kind_counts().items():
        tally[kind] += n
        tally["undecided_" + kind] += n
    undecided_groups = {r.group for r in decisions.undecided}
    named = set(decisions.positions)
    conflicts: list[Issue] = []
    leak_groups: list[Issue] = []
    leaks: dict[tuple[str, str], Leak] = {}
    looked = sorted(named | set(groups.mixed_positions()))
    for pos, group in zip(looked, groups.at(looked), strict=True):
        if len(group.members) >= 2:  # counted above as an untouched group
            tally[group.kind] -= 1
            tally["undecided_" + group.kind] -= 1
        live = [m for m in group.members if m.path not in deleted_paths]
        if len(live) < 2:
            continue
        tally[group.kind] += 1
        if group.id in undecided_groups if pos in named else True:
            tally["undecided_" + group.kind] += 1
        if len(labels_of(live)) > 1:
            conflicts.append(_issue(group, live))
        live_splits = splits_of(live)
        if len(live_splits) > 1:
            leak_groups.append(_issue(group, live))
            for a, b in split_pairs(live_splits):
                leak = leaks.setdefault((a, b), Leak((a, b)))
                leak.groups += 1
                leak.images += sum(m.split == b for m in live)
    totals = {label: sum(per.values()) for label, per in clean_counts.items() if label}
    small = {label: n for label, n in totals.items() if n < min_images}
    return HealthReport(
        counts=clean_counts,
        splits=splits,
        groups=dict(tally),
        conflicts=conflicts,
        leak_groups=leak_groups,
        leaks=[leaks[k] for k in sorted(leaks, key=lambda k: (split_sort_key(k[0]), split_sort_key(k[1])))],
        unreadable=list(header.errors),
        small_labels=small,
        deleted=len(deleted_paths),
        stale=len(decisions.stale),
        held=len(decisions.held),
        min_images=min_images,
        warnings=list(journal.warnings),
        quality=[q for q in header.quality if q.get("path") not in deleted_paths],
        unwanted=len(decisions.unwanted),
        relabel=len(decisions.relabel),
    )
