"""The decisions, health report and export lists exactly as main computed them before the commands
read only what they need from the session's database (commit fa7dd45): every group held in memory,
the triage marks sorted in after all groups. Kept as the tests' oracle: the database readers must
give the same lists, counts, notes and bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter

from imgreview.dataset.health import HealthReport, Issue, Leak
from imgreview.decisions.build import Decisions, Row, _triage_member
from imgreview.decisions.export import COLUMNS, ExportError, _text
from imgreview.labels import labels_of, split_pairs, split_sort_key, splits_of
from imgreview.model import Group, Member, ScanResult
from imgreview.session.journal import Journal
from imgreview.text import display_path
from imgreview.vocab import DecidedBy


def build_decisions(result: ScanResult, journal: Journal) -> Decisions:
    """Join the journal with the scan result and sort every group member into a list."""
    out = Decisions()  # complete: every group
    seen: set[str] = set()
    for group in result.groups:
        out.groups[group.id] = group
        rows: list[Row] = []
        for m in group.members:
            seen.add(m.path)
            action = journal.action_for(m.path, m.digest)
            d = journal.decisions.get(m.path)
            by = d.by if d is not None and action != "undecided" else ""
            note = ""
            if action == "stale" and d is not None:
                note = f"stale: decided on content {d.digest[:12]}, the file changed since"
            rows.append(Row(group.id, m, action, by, note, d.rule if d is not None else None))
        every_delete = bool(rows) and all(r.decision == "delete" for r in rows)
        if every_delete:
            if all(r.explicit for r in rows):
                out.dropped_groups.add(group.id)
            else:
                for r in rows:
                    r.note = "held back: every file of the group is marked delete, not all explicitly"
                out.held.extend(rows)
                out.undecided.extend(rows)
                continue
        for r in rows:
            if r.decision == "keep":
                out.keep.append(r)
            elif r.decision == "delete":
                out.delete.append(r)
            else:
                out.undecided.append(r)
                if r.decision == "stale":
                    out.stale.append(r)
    out.orphans = sorted(p for p, d in journal.decisions.items() if p not in seen and d.action in ("keep", "delete"))
    if journal.marks:
        _add_triage(out, result, journal)
    return out


def _add_triage(out: Decisions, result: ScanResult, journal: Journal) -> None:
    """Sort the triage marks into the unwanted / relabel / wanted lists, against the duplicate decisions."""
    where: dict[str, tuple[str, Row]] = {}
    for name in ("keep", "delete", "undecided"):
        for r in getattr(out, name):
            where[r.path] = (name, r)
    members = {m.path: (g.id, m) for g in result.groups for m in g.members}
    moved_out: set[str] = set()
    for path in sorted(journal.marks):
        mark = journal.marks[path]
        by: DecidedBy = "rule" if mark.by == "rule" else "person"
        hit = members.get(path)
        if hit is not None:
            gid, member = hit
            if mark.digest and member.digest != mark.digest:
                continue  # stale: marked on other content
        else:
            gid = ""
            found = _triage_member(result, path, mark.digest, mark.label)
            if found is None:
                out.triage_orphans.append(path)
                continue
            member = found
        listed, row = where.get(path, ("", None))
        if mark.action == "unwanted":
            if listed == "delete" and row is not None:
                row.note = (row.note + "; " if row.note else "") + "also marked unwanted in triage"
                continue
            note = "marked unwanted in triage"
            if listed == "keep":
                note = f"kept in duplicate group {gid}, marked unwanted in triage: unwanted"
                moved_out.add(path)
            elif listed == "undecided":
                note = f"in duplicate group {gid} (undecided there), marked unwanted in triage"
                moved_out.add(path)
            out.unwanted.append(Row(gid, member, "unwanted", by, note, mark.rule))
        elif mark.action == "relabel":
            if listed == "delete" and row is not None:
                row.note = (row.note + "; " if row.note else "") + f"relabel to {mark.to} ignored: marked delete"
                continue
            out.relabel.append(Row(gid, member, "relabel", by, f"relabel {member.label or '?'} -> {mark.to}",
                                   mark.rule, to=mark.to))
        elif mark.action == "wanted":
            out.wanted.append(Row(gid, member, "wanted", by, "", mark.rule))
    if moved_out:
        out.keep = [r for r in out.keep if r.path not in moved_out]
        out.undecided = [r for r in out.undecided if r.path not in moved_out]



def _issue(group: Group, live: list[Member]) -> Issue:
    return Issue(group.id, group.kind, sorted(labels_of(live)), sorted(splits_of(live), key=split_sort_key),
                 [m.path for m in live])


def build_report(result: ScanResult, journal: Journal, min_images: int = 10) -> HealthReport:
    decisions = build_decisions(result, journal)
    deleted_paths = {r.path for r in decisions.delete}
    deleted_members = [r.member for r in decisions.delete]

    stored = result.stats.get("dataset", {}).get("labels")
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

    groups = Counter({"exact": 0, "near": 0, "undecided_exact": 0, "undecided_near": 0})
    undecided_groups = {r.group for r in decisions.undecided}
    conflicts: list[Issue] = []
    leak_groups: list[Issue] = []
    leaks: dict[tuple[str, str], Leak] = {}
    for group in result.groups:
        live = [m for m in group.members if m.path not in deleted_paths]
        if len(live) < 2:
            continue
        groups[group.kind] += 1
        if group.id in undecided_groups:
            groups["undecided_" + group.kind] += 1
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
        groups=dict(groups),
        conflicts=conflicts,
        leak_groups=leak_groups,
        leaks=[leaks[k] for k in sorted(leaks, key=lambda k: (split_sort_key(k[0]), split_sort_key(k[1])))],
        unreadable=list(result.errors),
        small_labels=small,
        deleted=len(deleted_paths),
        stale=len(decisions.stale),
        held=len(decisions.held),
        min_images=min_images,
        warnings=list(journal.warnings),
        quality=[q for q in result.quality if q.get("path") not in deleted_paths],
        unwanted=len(decisions.unwanted),
        relabel=len(decisions.relabel),
    )

def render_txt(rows: list[Row], nul: bool = False) -> bytes:
    sep = b"\0" if nul else b"\n"
    out: list[bytes] = []
    for r in rows:
        raw = os.fsencode(r.path)
        if not nul and b"\n" in raw:
            raise ExportError(
                f"the path {display_path(r.path)} contains a newline, which one path a line cannot "
                "represent; use -0 (NUL-separated, for xargs -0) or --format json"
            )
        out.append(raw + sep)
    return b"".join(out)


def render_csv(rows: list[Row]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        d = r.as_dict()
        writer.writerow([_text(d[c]) for c in COLUMNS])
    return buf.getvalue().encode("utf-8")


def render_json(rows: list[Row]) -> bytes:
    text = json.dumps([r.as_dict() for r in rows], indent=1, ensure_ascii=True)
    return (text + "\n").encode("ascii")


