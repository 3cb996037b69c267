"""What apply would do: the files to move, those already moved, and every skipped file with the rule that skipped it."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from imgreview.decisions.build import Decisions, load_decisions
from imgreview.fs import file_digest, is_within
from imgreview.model import Member
from imgreview.quarantine.manifest import (
    MANIFEST_NAME,
    PARTIAL_SUFFIX,
    Entry,
    Manifest,
    QuarantineError,
)
from imgreview.quarantine.moves import _real_location
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.text import display_path


@dataclass(slots=True)
class Move:
    path: str
    new: str
    digest: str
    size: int
    group: str
    root: str
    freed: int  # bytes freed once the quarantine is emptied (0 for links and hard-linked files)
    recorded: bool = False  # its manifest line exists already (a rerun)
    finish: bool = False  # copied across file systems before; only the unlink is left
    kind: str = ""  # "relabel": into another label's folder (see imgreview.quarantine.relabel)


@dataclass(slots=True)
class Skip:
    path: str
    reason: str
    group: str = ""


@dataclass(slots=True)
class ApplyReport:
    move_to: str
    manifest: str
    dry_run: bool
    planned: list[Move] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # moved by an earlier run
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(m.freed for m in (self.planned if self.dry_run else self.moved))


def _session_roots(session: Session, result_roots: list[str]) -> list[str]:
    roots: list[str] = []
    for r in [*result_roots, *session.roots()]:
        a = os.path.abspath(r)
        if a not in roots:
            roots.append(a)
    return roots


def check_move_to(move_to: str, roots: list[str]) -> str:
    target = os.path.abspath(move_to)
    if os.path.lexists(target) and not os.path.isdir(target):
        raise QuarantineError(f"--move-to {display_path(target)} exists and is not a folder")
    real = os.path.realpath(target)
    for r in roots:
        rr = os.path.realpath(r)
        if is_within(rr, real):
            raise QuarantineError(
                f"--move-to {display_path(target)} is the scanned root {display_path(r)} or contains it; "
                "choose a folder outside the dataset (or a new subfolder of it)")
    return target


def plan_apply(session: Session, move_to: str, verify: bool = True, relabel: bool = False) -> ApplyReport:
    """What apply would do: the moves, the files already moved, and the files skipped with why.

    With ``verify`` every file to move is read and its digest compared with the decision's
    (``apply`` itself verifies again right before each move). Files marked unwanted in triage are
    planned like deletions; with ``relabel`` the relabelled files are planned too (into their label's
    folder, see :mod:`imgreview.quarantine.relabel`).
    """
    result, journal, decisions = load_decisions(session)
    roots = _session_roots(session, result.roots)
    target = check_move_to(move_to, roots)
    manifest_path = os.path.join(target, MANIFEST_NAME)
    manifest = Manifest.read(Path(manifest_path))
    report = ApplyReport(move_to=target, manifest=manifest_path, dry_run=True,
                         warnings=[*journal.warnings, *manifest.warnings], roots=roots)
    _plan(report, decisions, journal, roots, manifest, verify)
    if relabel:
        from imgreview.quarantine.relabel import plan_relabel

        plan_relabel(report, decisions, roots, manifest, verify)
    return report


def _plan(report: ApplyReport, decisions: Decisions, journal: Journal, roots: list[str], manifest: Manifest,
          verify: bool) -> None:
    for r in decisions.held:
        report.skipped.append(Skip(r.path, "held back: every file of its group is marked delete, not all by a "
                                           "person", r.group))
    for r in decisions.stale:
        if journal.decisions[r.path].action == "delete":
            report.skipped.append(Skip(r.path, "stale decision: the file changed since it was decided", r.group))

    to_move = {r.path for r in decisions.delete}
    kept = {p for p, d in journal.decisions.items() if d.action == "keep"}
    real_roots = {r: os.path.realpath(r) for r in roots}
    by_original: dict[str, list[Entry]] = {}
    reserved: set[str] = set()
    for e in manifest.entries:
        by_original.setdefault(e.original, []).append(e)
        reserved.add(e.new)

    # Groups where nothing would remain: refused unless a person dropped the whole group.
    refused: dict[str, str] = {}
    for gid in sorted({r.group for r in decisions.delete}):
        if gid in decisions.dropped_groups:
            continue
        others = [m for m in decisions.groups[gid].members if m.path not in to_move]
        if not any(_unchanged(m) for m in others):
            refused[gid] = ("no other file of its group is still there unchanged, and this would remove the "
                            "last one; decide the group again (or mark every file delete yourself)")

    for row in sorted([*decisions.delete, *decisions.unwanted], key=lambda r: r.path):
        m = row.member
        path = m.path
        entry = next((e for e in reversed(by_original.get(path, [])) if e.digest == m.digest
                      and is_within(os.path.abspath(e.new), report.move_to)), None)
        if entry is not None and not os.path.lexists(path) and os.path.lexists(entry.new):
            report.already.append(path)
            continue
        if row.group in refused:
            report.skipped.append(Skip(path, refused[row.group], row.group))
            continue
        root, why = _root_of(m, roots, real_roots)
        if root is None:
            report.skipped.append(Skip(path, why, row.group))
            continue
        kept_alias = next((a for a in m.aliases if a in kept), None)
        if kept_alias is not None:
            report.skipped.append(Skip(path, f"its alias {display_path(kept_alias)} (same file) is kept", row.group))
            continue
        if not os.path.islink(path):
            link = next((a for a in m.aliases if a not in to_move and os.path.islink(a)
                         and os.path.realpath(a) == os.path.realpath(path)), None)
            if link is not None:
                report.skipped.append(Skip(path, f"the symbolic link {display_path(link)} points to it and would "
                                                 "break", row.group))
                continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            why = "no longer exists" if entry is None else "missing: neither at its path nor in the quarantine"
            report.skipped.append(Skip(path, why, row.group))
            continue
        except OSError as exc:
            report.skipped.append(Skip(path, f"cannot read: {exc.strerror or exc}", row.group))
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            report.skipped.append(Skip(path, "not a regular file", row.group))
            continue
        if verify:
            why = _verify(path, m.digest)
            if why:
                report.skipped.append(Skip(path, why, row.group))
                continue
        freed = st.st_size if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 else 0
        mv = Move(path, "", m.digest, m.size, row.group, root, freed)
        if entry is not None and os.path.lexists(entry.new):
            mv.new, mv.recorded, mv.finish = entry.new, True, True
        elif entry is not None:
            mv.new, mv.recorded = entry.new, True
        else:
            mv.new = _destination(report.move_to, os.path.relpath(path, root), reserved)
            reserved.add(mv.new)
        report.planned.append(mv)


def _unchanged(m: Member) -> bool:
    try:
        return os.path.exists(m.path) and file_digest(m.path) == m.digest
    except OSError:
        return False


def _verify(path: str, digest: str) -> str:
    try:
        actual = file_digest(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if actual != digest:
        return "changed since it was decided (digest differs); review it again"
    return ""


def _root_of(m: Member, roots: list[str], real_roots: dict[str, str]) -> tuple[str | None, str]:
    path = os.path.abspath(m.path)
    if m.root:
        root = os.path.abspath(m.root)
        if root not in real_roots:
            return None, f"its root {display_path(root)} is not a root of this session"
    else:
        root = next((r for r in roots if is_within(path, r) and path != r), "")
        if not root:
            return None, "outside the session's roots"
    if not is_within(path, root) or path == root or os.path.relpath(path, root).startswith(".."):
        return None, "outside the session's roots"
    if not is_within(_real_location(path), real_roots[root]):
        return None, "outside the session's roots once symbolic links in its folders are resolved"
    return root, ""


def _destination(move_to: str, rel: str, reserved: set[str]) -> str:
    base = os.path.join(move_to, rel)
    if not os.path.lexists(base) and base not in reserved and not os.path.lexists(base + PARTIAL_SUFFIX):
        return base
    stem, ext = os.path.splitext(base)
    k = 2
    while True:
        cand = f"{stem}~{k}{ext}"
        if not os.path.lexists(cand) and cand not in reserved:
            return cand
        k += 1


