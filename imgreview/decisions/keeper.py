"""Which member of a group to keep: the evidence-based suggestion, ordered rules, and highlights.

:func:`suggest` is what the review and ``--json`` use: among near duplicates it prefers the least
processed copy, from evidence that is cheap to collect (see the section below), and says "no
clear original: choose" when the evidence ties. :func:`suggest_keeper` applies explicit ordered
rules (``--prefer``; default ``pixels, size, oldest, shortest``): the member that wins the first
rule that tells members apart; rules not named keep their default order after the named ones, so
its answer is always unique (``resolve`` uses it for byte-identical copies).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


# ---------------------------------------------------------------------------- evidence-based suggestion
#
# Among near duplicates the *least processed* copy should be kept. File size says nothing about that
# (brightening, a watermark or a rotation re-encodes the picture, often at a higher quality, so
# edited copies are usually the biggest files), so the default suggestion weighs evidence:
# resolution, estimated JPEG quality, camera EXIF, black corners or added borders, closeness to the
# group's other members (the medoid), an original-looking name and the oldest date. When the best
# two copies score the same, there is no suggestion: the person chooses.

# IJG base luminance table (natural order); libjpeg scales it by quality
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)


def _ijg_table(quality: int) -> list[int]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (v * scale + 50) // 100)) for v in _IJG_LUMA]


_IJG_TABLES = {q: _ijg_table(q) for q in range(1, 101)}


def quality_from_table(table: Sequence[int]) -> int:
    """The IJG quality (1..100) whose luminance table is closest to ``table`` (natural order)."""
    values = list(table)[:64]
    return min(_IJG_TABLES, key=lambda q: (sum((a - b) ** 2 for a, b in zip(values, _IJG_TABLES[q])), -q))


def jpeg_quality(path: str) -> int | None:
    """Estimated JPEG quality from the file's quantisation tables (reads the header only), or None."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            tables = getattr(im, "quantization", None)
            if im.format != "JPEG" or not tables:
                return None
            return quality_from_table(tables[min(tables)])
    except Exception:  # unreadable, vanished, not a picture: no evidence
        return None


_EDIT_WORDS = re.compile(
    r"(?:^|[\s_\-.()\[\]])(copy|kopie|copie|edit|edited|crop|cropped|resized?|small|smaller|thumb|thumbnail|"
    r"scaled|bright|brighter|dark|darker|rot\d*|rotated?|flip(?:ped)?|mirror(?:ed)?|wm|watermark(?:ed)?|text|"
    r"logo|caption|border|frame|filter(?:ed)?|blur(?:red)?|sharp(?:en)?|gr[ae]y|bw|sepia|compressed|q\d{1,2}|"
    r"web|whatsapp|screenshot|export|final|v\d)(?=$|[\s_\-.()\[\]\d])",
    re.IGNORECASE,
)
_COPY_SUFFIX = re.compile(r"(\(\d+\)|[\s_\-]\d{1,2}|\s-\s\w+)$")
_CAMERA_NAME = re.compile(r"^(img|dsc|dscn|dscf|pxl|mvimg|gopr|dji|sam|p\d{3}|dcim|photo)[_\-]?\d{3,}", re.IGNORECASE)


def name_edits(path: str) -> list[str]:
    """Words in the file name that say "edited copy" (``copy``, ``small``, ``bright``, ``(1)`` ...)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    found = [w.lower() for w in _EDIT_WORDS.findall(stem)]
    if _COPY_SUFFIX.search(stem) and not _CAMERA_NAME.match(stem):
        found.append("copy number")
    return found


def camera_name(path: str) -> bool:
    return bool(_CAMERA_NAME.match(os.path.basename(path)))


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The suggested keeper of a group: ``index`` None means "no clear original: choose"."""

    index: int | None
    reason: str
    scores: tuple[float, ...] = ()
    notes: tuple[tuple[str, ...], ...] = ()  # per member: the evidence that counted

    @property
    def clear(self) -> bool:
        return self.index is not None


def _signature(pixels: Any) -> Any:
    """A 16x16 grey picture, normalised (mean 0, unit deviation): edits like brightening cancel out."""
    import numpy as np
    from PIL import Image

    im = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    a = np.asarray(im.convert("L").resize((16, 16), Image.Resampling.BILINEAR), dtype=np.float32)
    return (a - a.mean()) / (a.std() + 1e-3)


def _frame_edits(pixels: Any) -> list[str]:
    """``black corners`` (a rotated copy) or ``border`` (a frame or letterbox bars) seen in a small picture."""
    import numpy as np
    from PIL import Image

    im = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    a = np.asarray(im.convert("L").resize((96, 96), Image.Resampling.BILINEAR), dtype=np.float32)
    out: list[str] = []
    inner = a[24:72, 24:72]
    if inner.std() < 6:  # a flat picture: borders cannot be told from content
        return out
    tl, tr, bl, br = (float(c.mean()) < 16 and float(c.std()) < 8
                      for c in (a[:2, :2], a[:2, -2:], a[-2:, :2], a[-2:, -2:]))
    if (tl and br) or (tr and bl):  # a turned picture leaves black at opposite corners
        out.append("black corners")
    sides = [a[:3, :], a[-3:, :], a[:, :3], a[:, -3:]]
    flat = [float(s.std()) < 2.5 and abs(float(s.mean()) - float(inner.mean())) > 12 for s in sides]
    if (flat[0] and flat[1]) or (flat[2] and flat[3]):
        out.append("border")
    return out


def _is_grey(pixels: Any) -> bool:
    import numpy as np
    from PIL import Image

    im = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    a = np.asarray(im.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR), dtype=np.int16)
    return int(np.abs(a - a.mean(axis=2, keepdims=True)).max()) <= 6


class _Scores:
    """Points per member (positive: looks original, negative: looks edited) and why."""

    def __init__(self, n: int) -> None:
        self.points = [0.0] * n
        self.notes: list[list[str]] = [[] for _ in range(n)]

    def add(self, k: int, points: float, note: str) -> None:
        self.points[k] += points
        self.notes[k].append(note)

    def where(self, flags: Sequence[bool], points: float, note: str) -> None:
        """Score the members with a flag, but only when the flag tells members apart."""
        if any(flags) and not all(flags):
            for k, flag in enumerate(flags):
                if flag:
                    self.add(k, points, note)


def _resolution(members: Sequence[Member], sc: _Scores) -> None:
    """A copy with clearly fewer pixels was scaled down or cropped."""
    most = max(m.pixels for m in members)
    sc.where([m.pixels < most * 0.98 for m in members], -3, "fewer pixels")


def _quality(members: Sequence[Member], qualities: Sequence[int | None] | None, sc: _Scores) -> None:
    """A clearly lower JPEG quality (15+ below, at most 80) is a web re-compression.

    A small gap proves nothing: an edited copy is often re-saved at a higher quality than its
    original (the issue's brightened copy: q95 from a q85 original).
    """
    if qualities is None:
        qualities = [jpeg_quality(m.path) if (m.format or "JPEG").upper() in ("JPEG", "JPG", "MPO") else None
                     for m in members]
    known = [q for q in qualities if q is not None]
    if len(known) < 2:
        return
    top = max(known)
    for k, q in enumerate(qualities):
        if q is not None and q <= min(80, top - 15):
            sc.add(k, -2, f"JPEG quality {q} (others {top})")


def _metadata(members: Sequence[Member], sc: _Scores) -> None:
    """Camera EXIF: editors and web tools drop it."""
    sc.where([bool(m.camera or m.taken) for m in members], 2, "camera EXIF")
    # The detection's evidence (``Member.evidence``: trimmed, crop, mirror ...) describes a *pair*
    # without saying which side was edited, so it is shown on the cards but not scored here; the
    # pixel checks below (added borders, black corners) and the resolution see the edited side.


def _pixels(pictures: Sequence[Any], sc: _Scores) -> None:
    """Black corners and added borders, and closeness to the others (the medoid) from small pictures."""
    import numpy as np

    n = len(pictures)
    # a greyscale copy of a colour picture cannot be the original
    sc.where([_is_grey(p) for p in pictures], -3, "greyscale")
    frames = [_frame_edits(p) for p in pictures]
    for what in ("black corners", "border"):
        sc.where([what in f for f in frames], -3, what)
    if n < 3:
        return
    sigs = [_signature(p) for p in pictures]
    total = [sum(float(np.abs(sigs[i] - sigs[j]).mean()) for j in range(n) if j != i) for i in range(n)]
    ordered = sorted(total)
    if ordered[1] > ordered[0] * 1.05:
        sc.add(total.index(ordered[0]), 2, "closest to the others")
    middle = ordered[n // 2]
    sc.where([t > middle * 1.4 and t - middle > 0.1 * n for t in total], -2, "unlike the others")


def _names(members: Sequence[Member], sc: _Scores) -> None:
    """"copy", "(1)", "small", "bright" ... say edited; a camera name or the stem the others extend say original."""
    edits = [name_edits(m.path) for m in members]
    if any(edits) and not all(edits):
        for k, e in enumerate(edits):
            if e:
                sc.add(k, -2, "name says " + ", ".join(dict.fromkeys(e)))
    sc.where([camera_name(m.path) for m in members], 1, "camera file name")
    stems = [os.path.splitext(os.path.basename(m.path))[0].lower() for m in members]
    sc.where([len(s) >= 3 and any(j != k and t != s and t.startswith(s) for j, t in enumerate(stems))
              for k, s in enumerate(stems)], 1, "the name the others extend")


def _dates(members: Sequence[Member], sc: _Scores) -> None:
    """The oldest date (EXIF capture date, else modification time), when it stands out."""
    dates = [_date(m) for m in members]
    first = min(dates)
    if sum(abs(d - first) < 1 for d in dates) == 1 and any(d - first > 60 for d in dates):
        sc.add(dates.index(first), 1, "oldest date")


_AGAINST = ("fewer", "JPEG", "name says", "unlike", "black", "border", "cropped", "overlay", "greyscale")


def _verdict(members: Sequence[Member], sc: _Scores, identical: bool) -> Suggestion:
    scores = tuple(sc.points)
    notes = tuple(tuple(x) for x in sc.notes)
    order = sorted(range(len(members)), key=lambda k: -scores[k])
    best = order[0]
    if scores[best] == scores[order[1]]:
        if identical:
            best = suggest_keeper(members, DEFAULT_PREFER)
            rule = deciding_rule(members, DEFAULT_PREFER) or "first path"
            return Suggestion(best, f"identical copies: {rule}", scores, notes)
        return Suggestion(None, "no clear original: choose", scores, notes)
    why = [x for x in notes[best] if not x.startswith(_AGAINST)]
    if not why:
        weak = sorted({x.split(" (")[0] for k in order[1:] for x in notes[k] if scores[k] < scores[best]})
        why = ["the others have " + ", ".join(weak)] if weak else ["best evidence"]
    return Suggestion(best, "; ".join(why), scores, notes)


def suggest(members: Sequence[Member], prefer: Sequence[str] | None = None, *,
            pictures: Sequence[Any] | None = None, qualities: Sequence[int | None] | None = None,
            identical: bool = False) -> Suggestion:
    """The member to keep, from evidence (``prefer`` None) or from explicit ``--prefer`` rules.

    ``pictures``: small decoded pictures of the members (PIL images or arrays; the review's
    thumbnails), for the medoid and the black-corner/border checks; ``qualities``: estimated JPEG
    qualities (read from the files' headers when not given). ``identical``: byte-identical copies
    (an exact group), where any copy is the original content: a tie goes to the default rules.
    """
    n = len(members)
    if n == 0:
        raise ValueError("empty group")
    if prefer is not None:
        best = suggest_keeper(members, prefer)
        return Suggestion(best, deciding_rule(members, prefer) or RULES[prefer[0]][0])
    if n == 1:
        return Suggestion(0, "the only file")
    sc = _Scores(n)
    _resolution(members, sc)
    _quality(members, qualities, sc)
    _metadata(members, sc)
    if pictures is not None and len(pictures) == n and all(p is not None for p in pictures):
        _pixels(pictures, sc)
    _names(members, sc)
    _dates(members, sc)
    return _verdict(members, sc, identical)


def group_suggestions(groups: Sequence[Any]) -> dict[str, tuple[str | None, str]]:
    """For ``--json``: group id -> (suggested path or None, reason), from what the scan recorded and
    the files' JPEG headers (no pixels are decoded, so no medoid or corner check)."""
    out: dict[str, tuple[str | None, str]] = {}
    for g in groups:
        s = suggest(g.members, identical=g.kind == "exact")
        out[g.id] = (None if s.index is None else g.members[s.index].path, s.reason)
    return out
