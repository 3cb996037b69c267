"""Which member of a group to keep: ordered rules, and the facts worth highlighting.

The suggested keeper is the member that wins the first rule that tells members apart; the default
order is ``pixels, size, oldest, shortest``: most pixels, then largest file, then oldest date (EXIF
capture date, else modification time), then shortest path. ``--prefer`` gives another order;
rules not named keep their default order after the named ones, so a suggestion is always unique.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from imgreview.model import Member

# rule name -> (description, sort key: smaller is better)
RULES: dict[str, tuple[str, Callable[[Member], object]]] = {}


def _date(m: Member) -> float:
    if m.taken:
        try:
            return datetime.fromisoformat(m.taken).timestamp()
        except ValueError:
            pass
    return m.mtime


RULES = {
    "pixels": ("most pixels", lambda m: -m.pixels),
    "size": ("largest file", lambda m: -m.size),
    "smallest": ("smallest file", lambda m: m.size),
    "oldest": ("oldest date (EXIF, else modified)", _date),
    "newest": ("newest date (EXIF, else modified)", lambda m: -_date(m)),
    "shortest": ("shortest path", lambda m: (len(m.path), m.path)),
    "longest": ("longest path", lambda m: (-len(m.path), m.path)),
    "jpeg": ("JPEG over other formats", lambda m: m.format != "JPEG"),
    "png": ("PNG (lossless) over other formats", lambda m: m.format != "PNG"),
}
DEFAULT_PREFER: tuple[str, ...] = ("pixels", "size", "oldest", "shortest")


def parse_prefer(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"size,oldest"`` -> the full rule order, named rules first. Raises ValueError on unknown names."""
    if text is None:
        return DEFAULT_PREFER
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise ValueError(f"unknown rule(s) {', '.join(unknown)}; choose from {', '.join(RULES)}")
    order = list(dict.fromkeys(names))
    order += [n for n in DEFAULT_PREFER if n not in order]
    return tuple(order)


def suggest_keeper(members: Sequence[Member], prefer: Sequence[str] = DEFAULT_PREFER) -> int:
    """Index of the member to keep."""
    if not members:
        raise ValueError("empty group")
    keys = [RULES[name][1] for name in prefer]
    return min(range(len(members)), key=lambda k: (*(key(members[k]) for key in keys), members[k].path))


def deciding_rule(members: Sequence[Member], prefer: Sequence[str] = DEFAULT_PREFER) -> str | None:
    """The first rule that tells the keeper apart from the others (for "why this one")."""
    if len(members) < 2:
        return None
    best = suggest_keeper(members, prefer)
    for name in prefer:
        key = RULES[name][1]
        values = [key(m) for m in members]
        if sum(v == values[best] for v in values) == 1:
            return RULES[name][0]
    return None


def highlights(members: Sequence[Member]) -> dict[str, set[int]]:
    """Members that stand out: ``largest`` resolution, ``biggest`` file, ``oldest`` date.

    A fact is only highlighted where it tells members apart (not when all are equal).
    """
    out: dict[str, set[int]] = {"largest": set(), "biggest": set(), "oldest": set()}
    if len(members) < 2:
        return out
    for name, values, pick in (
        ("largest", [m.pixels for m in members], max),
        ("biggest", [m.size for m in members], max),
        ("oldest", [_date(m) for m in members], min),
    ):
        best = pick(values)
        if any(v != best for v in values):
            out[name] = {k for k, v in enumerate(values) if v == best}
    return out
