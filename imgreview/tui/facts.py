"""What a card and the zoom say about a file: decision, path, size, quality, date, match evidence."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from imgreview.model import Group, Member
from imgreview.text import display_path, human_bytes

BADGES = {
    "keep": ("KEEP", "bold black on green"),
    "delete": ("DELETE", "bold white on red"),
    "undecided": ("undecided", "dim"),
    "stale": ("STALE: file changed since decided", "bold black on yellow"),
}
QUALITY_STYLE = "bold black on magenta"


def issue_label(issue: str) -> str:
    """``low_information`` -> ``low information`` (the scan's flag names, as a person reads them)."""
    return issue.replace("_", " ")


def date_of(m: Member) -> tuple[str, str]:
    """(date text, source) — EXIF capture date, else modification time."""
    if m.taken:
        return m.taken.replace("T", " ")[:19], "taken"
    if m.mtime:
        return datetime.fromtimestamp(m.mtime).strftime("%Y-%m-%d %H:%M"), "modified"
    return "unknown", ""


def evidence_text(m: Member, group: Group) -> str:
    """How this file matched the group: the detection's summary, else exact copy / hash distance."""
    ev = getattr(m, "evidence", None) or {}
    summary = ev.get("summary") if isinstance(ev, dict) else None
    if summary:
        return str(summary)
    if m.exact or group.kind == "exact":
        return "exact copy (same bytes)"
    if m.path == group.reference:
        return "the others were compared with this one"
    return f"hash distance {m.distance}"


def card_facts(m: Member, group: Group, index: int, action: str, suggested: bool, quality: int | None,
               problem: str = "", full: bool = False, issues: tuple[str, ...] = ()) -> Text:
    """The lines under a card's picture (``full``: every fact, for the zoom screen).

    ``issues`` are the scan's quality flags of the file (dark, blurry, odd size, ...): one magenta
    badge each on the first line, after the decision, so a bad copy is seen before it is kept."""
    t = Text(no_wrap=not full, overflow="ellipsis" if not full else "fold")
    label, style = BADGES.get(action, (action, ""))
    t.append(f" {label} ", style=style)
    if suggested:
        t.append(" ★ keep this?", style="bold green")
    for issue in issues:
        t.append(" ")
        t.append(f" {issue_label(issue)} ", style=QUALITY_STYLE)
    if problem:
        t.append(f"  {problem.upper() if problem.startswith('missing') else problem}", style="bold red")
    t.append("\n")
    t.append(display_path(m.path if full else m.relpath), style="bold")
    t.append("\n")
    t.append(f"{m.width}×{m.height}  {human_bytes(m.size)}  {m.format or '?'}")
    if quality is not None:
        t.append(f" q{quality}")
    if m.camera:
        t.append("  camera", style="cyan")
    t.append("\n")
    when, source = date_of(m)
    t.append(when)
    if source:
        t.append(f" ({source})", style="dim")
    if m.label or m.split:
        t.append("  ")
        t.append(f"{m.label or '?'}", style="magenta")
        if m.split:
            t.append(f"/{m.split}", style="magenta")
    t.append("\n")
    t.append(evidence_text(m, group), style="cyan")
    if full:
        t.append("\n\n")
        t.append(f"mode {m.mode or '?'}  digest {m.digest[:16]}", style="dim")
        if m.camera:
            t.append(f"\ncamera {m.camera}")
        for alias in m.aliases:
            t.append(f"\nalso at {display_path(alias)} (same file)", style="dim")
        t.append(f"\nroot {display_path(m.root)}", style="dim")
    return t
