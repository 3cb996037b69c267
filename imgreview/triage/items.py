"""Every picture of a scanned dataset with what triage needs: label, quality, outlier score, metadata.

The scan result lists only duplicate groups; the fingerprint cache of the session holds every
picture (digest, size, quality statistics and features, metadata). :func:`load_items` joins the two
with the dataset layout recorded in the result, so triage never decodes a picture to know its facts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgreview.labels import Labeller, Layout
from imgreview.model import ScanResult
from imgreview.scan import quality
from imgreview.scan.cache import FingerprintCache
from imgreview.scan.fingerprint import Fingerprint
from imgreview.session.folder import Session
from imgreview.settings import HashSettings
from imgreview.triage import outliers

NO_LABEL = "(no label)"


@dataclass(slots=True)
class Item:
    path: str
    digest: str
    root: str
    label: str  # NO_LABEL when the layout gives none
    split: str | None
    width: int
    height: int
    size: int
    format: str
    taken: str | None = None
    camera: str | None = None
    issues: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    outlier: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    group: str = ""  # the duplicate group it belongs to, if any

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def relpath(self) -> str:
        try:
            return os.path.relpath(self.path, self.root) if self.root else self.path
        except ValueError:
            return self.path


@dataclass(slots=True)
class TriageSet:
    items: list[Item]
    features: np.ndarray  # one row of quality features per item
    labels: list[str]
    by_path: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_path = {it.path: i for i, it in enumerate(self.items)}

    def of_label(self, label: str) -> list[int]:
        return [i for i, it in enumerate(self.items) if it.label == label]


def _root_of(path: str, roots: list[str]) -> str:
    best = ""
    for r in roots:
        prefix = r.rstrip(os.sep) + os.sep
        if path.startswith(prefix) and len(r) > len(best):
            best = r
    return best


def load_items(session: Session, result: ScanResult) -> TriageSet:
    """The pictures of ``result``'s roots from the session cache, with flags and outlier scores."""
    settings = HashSettings(algorithm=str(result.settings.get("hash", "phash")),
                            hash_size=int(result.settings.get("hash_size", 8)))
    labeller = Labeller(Layout.from_settings(result.settings))
    with FingerprintCache(session.cache_path) as cache:
        cached = cache.lookup(settings.key)
    groups = {m.path: g.id for g in result.groups for m in g.members}
    roots = [os.path.abspath(r) for r in result.roots]
    fps: list[Fingerprint] = []
    for path in sorted(cached):
        fp = cached[path][2]
        if isinstance(fp, Fingerprint) and _root_of(path, roots):
            fps.append(fp)
    items: list[Item] = []
    stats: list[quality.Stats] = []
    feats: list[np.ndarray] = []
    for fp in fps:
        root = _root_of(fp.path, roots)
        label, split = labeller.classify(fp.path, root)
        try:
            st, f = quality.decode(fp.quality)
        except ValueError:
            st = quality.Stats(fp.width, fp.height, 1.0, 0.0, 0.5, 1.0, 8.0, 64.0, 1.0)
            f = np.zeros(quality.FEATURE_DIM, dtype=np.float32)
        try:
            meta = json.loads(fp.meta) if fp.meta else {}
        except ValueError:
            meta = {}
        items.append(Item(fp.path, fp.digest, root, label or NO_LABEL, split, fp.width, fp.height, fp.size,
                          fp.format, fp.taken, fp.camera, meta=meta if isinstance(meta, dict) else {},
                          group=groups.get(fp.path, "")))
        stats.append(st)
        feats.append(f)
    labels_list = [it.label for it in items]
    for it, v in zip(items, quality.flag(stats, labels_list), strict=True):
        it.issues, it.scores = v.issues, v.scores
    matrix = np.stack(feats) if feats else np.zeros((0, quality.FEATURE_DIM), dtype=np.float32)
    for it, score in zip(items, outliers.outlier_scores(matrix, labels_list), strict=True):
        it.outlier = float(score)
    labels = sorted({it.label for it in items}, key=lambda s: (s == NO_LABEL, s))
    return TriageSet(items, matrix, labels)
