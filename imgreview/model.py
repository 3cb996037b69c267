"""The scan result: groups of duplicate files, as stored in a session and written by ``--json``.

The JSON schema (``version`` 1) is the public contract that review, export, apply and the dataset
features build on. New fields may be added; existing ones keep their meaning.

Paths are absolute ``str``. A path whose bytes are not valid UTF-8 is carried the way Python's
``os.fsdecode`` carries it (lone surrogates, written as ``\\udcXX`` escapes in JSON);
``os.fsencode`` gives the original bytes back.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from imgreview.fs import write_atomic
from imgreview.schema import RecordError, check

SCHEMA_VERSION = 1


@dataclass(slots=True)
class Member:
    """One file of a group."""

    path: str
    digest: str
    distance: int  # Hamming distance of its perceptual hash to the group's reference
    size: int
    width: int
    height: int
    format: str = ""
    mode: str = ""
    mtime: float = 0.0  # seconds since the epoch
    taken: str | None = None  # EXIF capture date, ISO 8601, when present
    camera: str | None = None
    root: str = ""  # the scanned root this file was found under
    exact: bool = False  # another member has the same content digest
    aliases: list[str] = field(default_factory=list)  # other paths to the same inode
    label: str | None = None
    split: str | None = None
    meta: dict[str, Any] | None = None  # GPS, description, comment, keywords (imgreview.scan.metadata)
    # Why this member is in its group, relative to the reference (issue 15): keys ``signal``
    # ("exact" | "hash" | "features"), ``summary`` (short human text) and optionally ``route``,
    # ``distance``, ``matches``, ``inliers``, ``scale``, ``rotation``, ``mirror``, ``crop``,
    # ``trimmed``. None for the reference and in results written before it existed.
    evidence: dict[str, Any] | None = None

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def relpath(self) -> str:
        if self.root:
            try:
                return os.path.relpath(self.path, self.root)
            except ValueError:
                pass
        return self.path


@dataclass(slots=True)
class Group:
    """Files that show the same picture.

    ``kind`` is ``"exact"`` when every member has the same content digest, else ``"near"``.
    ``reference`` is the path of the member every other member was compared with: every
    member's perceptual hash is within the threshold of the reference's (no chaining).
    """

    id: str
    kind: str
    max_distance: int
    reference: str
    members: list[Member]
    label_conflict: bool = False
    split_leak: bool = False

    @property
    def reclaimable_bytes(self) -> int:
        """Bytes freed by keeping only the largest member."""
        sizes = sorted((m.size for m in self.members), reverse=True)
        return sum(sizes[1:])


@dataclass(slots=True)
class FileError:
    path: str
    error: str


@dataclass(slots=True)
class ScanResult:
    roots: list[str]
    settings: dict[str, Any]
    stats: dict[str, Any]
    groups: list[Group]
    errors: list[FileError]
    aliases: list[list[str]] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)  # {"path", "issues", "scores"} per flagged image
    version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "roots": self.roots,
            "settings": self.settings,
            "stats": self.stats,
            "groups": [_group_dict(g) for g in self.groups],
            "errors": [{"path": e.path, "error": e.error} for e in self.errors],
            "aliases": self.aliases,
            "quality": self.quality,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        """The result from decoded JSON; ``ValueError`` (:class:`~imgreview.schema.RecordError`) when any
        field has the wrong type: the one check of scan.json records (:class:`ScanRecord`)."""
        version = data.get("version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"unsupported scan result version {version!r} (expected {SCHEMA_VERSION})")
        check(data, ScanRecord)
        member_fields = set(Member.__dataclass_fields__)
        group_fields = set(Group.__dataclass_fields__) - {"members"}
        groups = [
            Group(
                **{k: v for k, v in g.items() if k in group_fields},
                members=[Member(**{k: v for k, v in m.items() if k in member_fields}) for m in g["members"]],
            )
            for g in data["groups"]
        ]
        return cls(
            roots=list(data["roots"]),
            settings=dict(data.get("settings", {})),
            stats=dict(data.get("stats", {})),
            groups=groups,
            errors=[FileError(**e) for e in data.get("errors", [])],
            aliases=[list(a) for a in data.get("aliases", [])],
            quality=[dict(q) for q in data.get("quality", []) if isinstance(q, dict)],
        )

    def to_json(self, indent: int | None = None) -> str:
        """JSON text, ASCII only; compact by default (the C encoder: 2–3× faster than indented)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True)

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees a half-written file."""
        write_atomic(path, self.to_json().encode("ascii"))

    @classmethod
    def load(cls, path: Path) -> ScanResult:
        return cls.from_bytes(path.read_bytes(), str(path))

    @classmethod
    def from_bytes(cls, raw: bytes, source: str) -> ScanResult:
        """Parse and check a scan.json; ``ValueError`` naming ``source`` and the problem."""
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
            raise ValueError(f"{source} is not a valid scan result: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{source} is not a valid scan result")
        try:
            return cls.from_dict(data)
        except RecordError as exc:
            raise ValueError(f"{source} is not a valid scan result: {exc}") from exc
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{source} is not a valid scan result: {exc!r}") from exc


_MEMBER_FIELDS = tuple(Member.__dataclass_fields__)
_GROUP_FIELDS = tuple(f for f in Group.__dataclass_fields__ if f != "members")


def _member_dict(m: Member) -> dict[str, Any]:
    out = {f: (list(v) if isinstance(v := getattr(m, f), list) else v) for f in _MEMBER_FIELDS}
    if out.get("evidence") is None:
        out.pop("evidence", None)  # absent, as in results written before issue 15
    return out


def _group_dict(group: Group) -> dict[str, Any]:
    """``dataclasses.asdict`` without its deep copies (a tenth of the time on big results)."""
    out = {f: getattr(group, f) for f in _GROUP_FIELDS}
    out["members"] = [_member_dict(m) for m in group.members]
    return out




class ScanRecord(TypedDict):
    """The top level of scan.json as read back (see :meth:`ScanResult.from_dict`)."""

    version: int
    roots: list[str]
    groups: list[Group]
    settings: NotRequired[dict[str, Any]]
    stats: NotRequired[dict[str, Any]]
    errors: NotRequired[list[FileError]]
    aliases: NotRequired[list[list[str]]]
    quality: NotRequired[list[dict[str, Any]]]
