"""What apply would do: the files to move, those already moved, and every skipped file with the rule that skipped it.

Each skip rule is one function (``rule_*``) taking the plan's :class:`Context` and one row of the
delete list and returning the reason it must not move, or ``None``. They run in the order of
:data:`RULES`; the first reason wins. Planning only reads; apply checks everything that matters
again at the moment of each move (:mod:`imgreview.quarantine.moves`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imgreview.decisions.build import Decisions, Row, load_decisions
from imgreview.fs import file_digest, is_within
from imgreview.model import Member
from imgreview.quarantine import moves
from imgreview.quarantine.manifest import MANIFEST_NAME, MARKER_NAME, Entry, Manifest, QuarantineError
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.text import display_path

# Skip kinds. "held" and "stale" files are not in the delete list (reported, never counted as a
# failure); "refused" (a safety rule) and "failed" (the move itself) make apply exit 1.
HELD, STALE, REFUSED, FAILED = "held", "stale", "refused", "failed"


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
    finish: bool = False  # moved before but cut short: only the original's unlink is left
    kind: str = ""  # "relabel": into another label's folder (imgreview.quarantine.relabel)


@dataclass(slots=True)
class Skip:
    path: str
    reason: str
    group: str = ""
    kind: str = REFUSED


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

    @property
    def incomplete(self) -> bool:
        """Some file of the delete list was not moved (a safety rule or the move refused it)."""
        return any(s.kind in (REFUSED, FAILED) for s in self.skipped)


@dataclass(slots=True)
class Context:
    decisions: Decisions
    journal: Journal
    roots: list[str]
    real_roots: dict[str, str]
    move_to: str
    manifest: Manifest
    verify: bool
    to_move: set[str] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    refused_groups: dict[str, str] = field(default_factory=dict)
    reserved: set[str] = field(default_factory=set)


# ---------------------------------------------------------------------- the folder
def _session_roots(session: Session, result_roots: list[str]) -> list[str]:
    roots: list[str] = []
    for r in [*result_roots, *session.roots()]:
        a = os.path.normpath(os.path.abspath(r))
        if a not in roots:
            roots.append(a)
    return roots


def is_quarantine(folder: str) -> bool:
    return os.path.lexists(os.path.join(folder, MARKER_NAME)) or os.path.lexists(os.path.join(folder, MANIFEST_NAME))


def check_move_to(move_to: str, roots: list[str]) -> str:
    """The quarantine folder, normalised; refuses a root (or a folder holding one), a file, and a
    folder that already holds files but is not a quarantine (an existing dataset, say)."""
    target = os.path.normpath(os.path.abspath(move_to))
    if os.path.lexists(target) and not os.path.isdir(target):
        raise QuarantineError(f"--move-to {display_path(target)} exists and is not a folder")
    real = os.path.realpath(target)
    for r in roots:
        if is_within(os.path.realpath(r), real):
            raise QuarantineError(
                f"--move-to {display_path(target)} is the scanned root {display_path(r)} or contains it; "
                "choose a folder outside the dataset (or a new subfolder of it)")
    if os.path.isdir(target) and not is_quarantine(target):
        try:
            busy = any(True for _ in os.scandir(target))
        except OSError as exc:
            raise QuarantineError(f"cannot read --move-to {display_path(target)}: {exc.strerror or exc}") from None
        if busy:
            raise QuarantineError(
                f"--move-to {display_path(target)} is not empty and is not an imgreview quarantine; choose a new "
                "or empty folder (or the folder of an earlier apply)")
    return target


# ---------------------------------------------------------------------- planning
def plan_apply(session: Session, move_to: str, verify: bool = True, manifest: Manifest | None = None,
               relabel: bool = False) -> ApplyReport:
    """What apply would do: the moves, the files already moved, and the files skipped with why.

    With ``verify`` every file to move is read and its digest compared with the decision's
    (``apply`` itself verifies again at the moment of each move). ``manifest``: the manifest as
    read under the quarantine's lock (default: read it now). Files marked unwanted in triage are
    planned like deletions; with ``relabel`` the relabelled files too, into their label's folder
    (:mod:`imgreview.quarantine.relabel`).
    """
    result, journal, decisions = load_decisions(session)
    roots = _session_roots(session, result.roots)
    target = check_move_to(move_to, roots)
    manifest_path = os.path.join(target, MANIFEST_NAME)
    if manifest is None:
        manifest = Manifest.read(Path(manifest_path))
    report = ApplyReport(move_to=target, manifest=manifest_path, dry_run=True,
                         warnings=[*journal.warnings, *manifest.warnings], roots=roots)
    ctx = Context(decisions, journal, roots, {r: os.path.realpath(r) for r in roots}, target, manifest, verify)
    _plan(report, ctx)
    if relabel:
        from imgreview.quarantine.relabel import plan_relabel

        plan_relabel(report, ctx)
    return report


def _plan(report: ApplyReport, ctx: Context) -> None:
    decisions, journal = ctx.decisions, ctx.journal
    for r in decisions.held:
        report.skipped.append(Skip(r.path, "held back: every file of its group is marked delete, not all by a "
                                           "person", r.group, HELD))
    for r in decisions.stale:
        if journal.decisions[r.path].action == "delete":
            report.skipped.append(Skip(r.path, "stale decision: the file changed since it was decided", r.group,
                                       STALE))
    ctx.to_move = {r.path for r in decisions.delete}
    ctx.kept = {p for p, d in journal.decisions.items() if d.action == "keep"}
    for e in ctx.manifest.entries:
        loc = ctx.manifest.locate(e)
        if loc is not None:
            ctx.reserved.add(loc)
    ctx.refused_groups = last_copy_refusals(ctx)

    for row in sorted([*decisions.delete, *decisions.unwanted], key=lambda r: r.path):
        entry, state = _recorded(ctx, row.member)
        if state == "already":
            report.already.append(row.path)
            continue
        reason = next((why for rule in RULES if (why := rule(ctx, row))), None)
        if reason is not None:
            report.skipped.append(Skip(row.path, reason, row.group))
            continue
        m = row.member
        root = root_of(m, ctx)[0]
        assert root is not None
        st = os.lstat(m.path)
        freed = st.st_size if stat.S_ISREG(st.st_mode) and st.st_nlink == 1 else 0
        mv = Move(m.path, "", m.digest, m.size, row.group, root, freed)
        if entry is not None and state == "finish":
            mv.new, mv.recorded, mv.finish = _located(ctx, entry), True, True
        elif entry is not None and state == "recorded":
            mv.new, mv.recorded = _located(ctx, entry), True
        else:
            mv.new = destination(ctx.move_to, os.path.relpath(m.path, root), ctx.reserved)
            ctx.reserved.add(mv.new)
        report.planned.append(mv)


def _located(ctx: Context, entry: Entry) -> str:
    loc = ctx.manifest.locate(entry)
    assert loc is not None
    return loc


def _recorded(ctx: Context, m: Member) -> tuple[Entry | None, str]:
    """The manifest's latest usable line for this file and its state: ``already`` (moved),
    ``recorded`` (line written, not moved), ``finish`` (moved but the original not yet unlinked,
    and the quarantined file is provably this file or this run's copy), or ``""``."""
    for e in reversed(ctx.manifest.entries):
        if e.original != m.path or e.digest != m.digest:
            continue
        loc = ctx.manifest.locate(e)
        if loc is None:
            continue
        at_original, at_new = os.path.lexists(m.path), os.path.lexists(loc)
        if at_new and not at_original:
            return e, "already"
        if at_original and not at_new:
            return e, "recorded"
        if at_original and at_new and _provably_ours(m.path, loc):
            return e, "finish"
    return None, ""


def _provably_ours(original: str, new: str) -> bool:
    """Both names exist: is ``new`` the very file (a link + unlink cut short) or our finished copy?"""
    try:
        a, b = os.lstat(original), os.lstat(new)
    except OSError:
        return False
    if moves.same_file(a, b):
        return True
    name = os.path.basename(new)
    try:
        p = os.lstat(os.path.join(os.path.dirname(new), moves.partial_name(name)))
    except OSError:
        return False
    return stat.S_ISREG(b.st_mode) and moves.same_file(p, b)


def destination(move_to: str, rel: str, reserved: set[str]) -> str:
    """``move_to/rel``, or ``~2``, ``~3``... before the extension (within NAME_MAX) when taken."""
    base = os.path.join(move_to, rel)
    folder, name = os.path.split(base)

    def free(cand: str) -> bool:
        n = os.path.basename(cand)
        return (not os.path.lexists(cand) and cand not in reserved
                and not os.path.lexists(os.path.join(folder, moves.partial_name(n))))

    if free(base):
        return base
    k = 2
    while not free(cand := os.path.join(folder, moves.numbered(name, k))):
        k += 1
    return cand


# ---------------------------------------------------------------------- the rules
def last_copy_refusals(ctx: Context) -> dict[str, str]:
    """Groups where nothing would remain (unless a person dropped the whole group): group -> reason.

    A file counts as remaining only if it is a regular file with its scanned content that is not
    one of the files being moved: identities (device, inode) are compared, so a kept name that is
    a symbolic link or a hard link to a file being moved is no copy.
    """
    refused: dict[str, str] = {}
    for gid in sorted({r.group for r in ctx.decisions.delete}):
        if gid in ctx.decisions.dropped_groups:
            continue
        members = ctx.decisions.groups[gid].members
        moving: set[tuple[int, int]] = set()
        for m in members:
            if m.path in ctx.to_move:
                for follow in (True, False):
                    try:
                        st = os.stat(m.path, follow_symlinks=follow)
                        moving.add((st.st_dev, st.st_ino))
                    except OSError:
                        pass
        others = [m for m in members if m.path not in ctx.to_move]
        if not any(_a_remaining_copy(m, moving) for m in others):
            refused[gid] = ("no other file of its group is still there unchanged, and this would remove the "
                            "last one; decide the group again (or mark every file delete yourself)")
    return refused


def _a_remaining_copy(m: Member, moving: set[tuple[int, int]]) -> bool:
    try:
        st = os.stat(m.path)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in moving:
            return False
        return file_digest(m.path) == m.digest
    except OSError:
        return False


def rule_last_copy(ctx: Context, row: Row) -> str | None:
    return ctx.refused_groups.get(row.group)


def root_of(m: Member, ctx: Context) -> tuple[str | None, str]:
    """The scanned root ``m`` lies under, or None and why not (paths compared normalised, then resolved)."""
    path = m.path
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        return None, "its path is not a normalised absolute path ('.', '..' or '//' in it); not moved"
    if m.root:
        root = os.path.normpath(os.path.abspath(m.root))
        if root not in ctx.real_roots:
            return None, f"its root {display_path(root)} is not a root of this session"
    else:
        root = next((r for r in ctx.roots if is_within(path, r) and path != r), "")
        if not root:
            return None, "outside the session's roots"
    if not is_within(path, root) or path == root:
        return None, "outside the session's roots"
    real_folder = os.path.realpath(os.path.dirname(path))
    if not is_within(os.path.join(real_folder, os.path.basename(path)), ctx.real_roots[root]):
        return None, "outside the session's roots once symbolic links in its folders are resolved"
    return root, ""


def rule_outside_roots(ctx: Context, row: Row) -> str | None:
    root, why = root_of(row.member, ctx)
    return why if root is None else None


def rule_alias_kept(ctx: Context, row: Row) -> str | None:
    kept_alias = next((a for a in row.member.aliases if a in ctx.kept), None)
    return None if kept_alias is None else f"its alias {display_path(kept_alias)} (same file) is kept"


def rule_link_would_break(ctx: Context, row: Row) -> str | None:
    path = row.member.path
    if os.path.islink(path):
        return None
    link = next((a for a in row.member.aliases if a not in ctx.to_move and os.path.islink(a)
                 and os.path.realpath(a) == os.path.realpath(path)), None)
    return None if link is None else f"the symbolic link {display_path(link)} points to it and would break"


def rule_not_a_file(ctx: Context, row: Row) -> str | None:
    try:
        st = os.lstat(row.member.path)
    except FileNotFoundError:
        return "no longer exists"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        return "not a regular file"
    return None


def rule_changed(ctx: Context, row: Row) -> str | None:
    if not ctx.verify:
        return None
    m = row.member
    root = root_of(m, ctx)[0]
    assert root is not None
    try:
        with moves.place(root, os.path.relpath(m.path, root)) as p:
            actual = moves.digest_of(p)
    except moves.Refused as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if actual != m.digest:
        return "changed since it was decided (digest differs); review it again"
    return None


RULES: tuple[Callable[[Context, Row], str | None], ...] = (
    rule_last_copy,
    rule_outside_roots,
    rule_alias_kept,
    rule_link_would_break,
    rule_not_a_file,
    rule_changed,
)
