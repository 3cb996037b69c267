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

from imgreview.fs import is_within
from imgreview.quarantine.plan import (
    REFUSED,
    ApplyReport,
    Context,
    Move,
    Skip,
    destination,
    root_of,
    rule_changed,
    rule_not_a_file,
    rule_outside_roots,
)


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


def plan_relabel(report: ApplyReport, ctx: Context) -> None:
    """Add a move per relabelled file to ``report`` (after the quarantine moves)."""
    reserved = set(ctx.reserved) | {mv.new for mv in report.planned}
    done = [e for e in ctx.manifest.entries if e.kind == "relabel"]
    for row in sorted(ctx.decisions.relabel, key=lambda r: r.path):
        m = row.member
        path = m.path
        entry = next((e for e in reversed(done) if e.original == path and e.digest == m.digest), None)
        if entry is not None and not os.path.lexists(path) and os.path.lexists(entry.new):
            report.already.append(path)
            continue
        reason = next((why for rule in (rule_outside_roots, rule_not_a_file, rule_changed) if (why := rule(ctx, row))),
                      None)
        if reason is not None:
            report.skipped.append(Skip(path, reason, row.group, REFUSED))
            continue
        if os.path.islink(path):
            report.skipped.append(Skip(path, "a symbolic link; relabel the file it points to", row.group, REFUSED))
            continue
        root = root_of(m, ctx)[0]
        assert root is not None
        target = relabel_target(path, root, m.label, row.to or "")
        if target is None:
            report.skipped.append(Skip(path, f"its label {m.label!r} is not one folder of its path; move it to "
                                             f"{row.to!r} yourself", row.group, REFUSED))
            continue
        parent = os.path.dirname(target)
        if os.path.isdir(parent) and not is_within(os.path.realpath(parent), ctx.real_roots[root]):
            report.skipped.append(Skip(path, "the label folder leads outside the root (symbolic link)", row.group,
                                       REFUSED))
            continue
        mv = Move(path, "", m.digest, m.size, row.group, root, 0, kind="relabel")
        if entry is not None and os.path.lexists(path) and not os.path.lexists(entry.new):
            mv.new, mv.recorded = entry.new, True
        else:
            mv.new = destination(parent, os.path.basename(target), reserved)
        reserved.add(mv.new)
        report.planned.append(mv)
