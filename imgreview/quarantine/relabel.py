"""``apply --relabel``: move each relabelled file into the folder of the label it belongs to.

The move is planned like a quarantine move and recorded in the same manifest (``"kind":
"relabel"``), so ``imgreview restore`` moves it back. The label folder is found by replacing the
one folder name of the file's path (relative to its root) that equals its current label:
``train/cat/x.jpg`` relabelled ``dog`` goes to ``train/dog/x.jpg``. A file whose label is not a
single folder name (a manifest label, a label repeated in the path) is skipped with the reason;
an existing file of the same name is never overwritten (the moved file gets a ``~2`` suffix).
"""

from __future__ import annotations

import os
import stat

from imgreview.decisions.build import Decisions
from imgreview.fs import is_within
from imgreview.quarantine.manifest import Manifest
from imgreview.quarantine.plan import ApplyReport, Move, Skip, _destination, _root_of, _verify


def relabel_target(path: str, root: str, label: str | None, to: str) -> str | None:
    """The path ``path`` gets under label ``to``, or None when its label is not one folder name."""
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    dirs = parts[:-1]
    hits = [k for k, d in enumerate(dirs) if d == label]
    if not label or len(hits) != 1 or not to or os.sep in to or to in (os.curdir, os.pardir):
        return None
    dirs[hits[0]] = to
    return os.path.join(root, *dirs, parts[-1])


def plan_relabel(report: ApplyReport, decisions: Decisions, roots: list[str], manifest: Manifest,
                 verify: bool) -> None:
    real_roots = {r: os.path.realpath(r) for r in roots}
    reserved = {mv.new for mv in report.planned}
    done = {(e.original, e.digest): e for e in manifest.entries if e.kind == "relabel"}
    for row in sorted(decisions.relabel, key=lambda r: r.path):
        m = row.member
        path = m.path
        entry = done.get((path, m.digest))
        if entry is not None and not os.path.lexists(path) and os.path.lexists(entry.new):
            report.already.append(path)
            continue
        root, why = _root_of(m, roots, real_roots)
        if root is None:
            report.skipped.append(Skip(path, why, row.group))
            continue
        target = relabel_target(path, root, m.label, row.to or "")
        if target is None:
            report.skipped.append(Skip(path, f"its label {m.label!r} is not one folder of its path; move it to "
                                             f"{row.to!r} yourself", row.group))
            continue
        if not is_within(os.path.realpath(os.path.dirname(target)) if os.path.isdir(os.path.dirname(target))
                       else target, real_roots[root]):
            report.skipped.append(Skip(path, "the label folder leads outside the root (symbolic link)", row.group))
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            report.skipped.append(Skip(path, "no longer exists", row.group))
            continue
        except OSError as exc:
            report.skipped.append(Skip(path, f"cannot read: {exc.strerror or exc}", row.group))
            continue
        if not stat.S_ISREG(st.st_mode):
            report.skipped.append(Skip(path, "not a regular file", row.group))
            continue
        if verify:
            why = _verify(path, m.digest)
            if why:
                report.skipped.append(Skip(path, why, row.group))
                continue
        new = _destination(os.path.dirname(target), os.path.basename(target), reserved)
        reserved.add(new)
        report.planned.append(Move(path, new, m.digest, m.size, row.group, root, 0, kind="relabel"))
