"""The triage state without any widget: labels, order, filters, marks, suggestions.

Marks live in the session journal (records ``unwanted``, ``wanted``, ``relabel``; see
:mod:`imgreview.session.journal`), one fsynced batch per key press, so triage resumes exactly where
it stopped and ``export`` / ``apply`` / ``restore`` see the same marks. Order within a label:
outliers first (see :mod:`imgreview.triage.outliers`), or by suggestion once a model is trained.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from imgreview.session.journal import Journal, MarkChange
from imgreview.triage.items import Item, TriageSet
from imgreview.triage.suggest import Suggester, SuggestError, rank

FILTERS: tuple[str, ...] = ("all", "undecided", "unwanted", "flagged", "suggested")
FILTER_LABELS = {
    "all": "all pictures",
    "undecided": "not marked yet",
    "unwanted": "marked unwanted / relabelled",
    "flagged": "with a quality flag",
    "suggested": "undecided, most likely unwanted first",
}
MARKED = ("unwanted", "wanted", "relabel")


class TriageState:
    def __init__(self, tset: TriageSet, journal: Journal, features: np.ndarray | None = None,
                 model: str = "auto") -> None:
        self.tset = tset
        self.journal = journal
        self.features = tset.features if features is None else features
        self.model = model
        self.probability: np.ndarray | None = None
        self._order: dict[str, list[int]] = {}
        self._counts: dict[str, tuple[int, int]] = {}  # label -> (marked, total); dropped on every mark
        for label in tset.labels:
            idx = tset.of_label(label)
            idx.sort(key=lambda i: (-tset.items[i].outlier, tset.items[i].path))
            self._order[label] = idx

    # ------------------------------------------------------------------ queries
    @property
    def labels(self) -> list[str]:
        return self.tset.labels

    @property
    def items(self) -> list[Item]:
        return self.tset.items

    def mark_of(self, i: int) -> str:
        """``unwanted``, ``wanted``, ``relabel``, ``stale`` (marked on other content) or ``undecided``."""
        it = self.tset.items[i]
        return self.journal.mark_for(it.path, it.digest)

    def relabel_to(self, i: int) -> str | None:
        m = self.journal.marks.get(self.tset.items[i].path)
        return m.to if m is not None and m.action == "relabel" else None

    def view(self, label: str, filter: str = "all") -> list[int]:
        """Item indices of ``label`` shown under ``filter``, in display order."""
        idx = self._order.get(label, [])
        if filter == "all":
            return list(idx)
        if filter == "undecided":
            return [i for i in idx if self.mark_of(i) in ("undecided", "stale")]
        if filter == "unwanted":
            return [i for i in idx if self.mark_of(i) in ("unwanted", "relabel")]
        if filter == "flagged":
            return [i for i in idx if self.tset.items[i].issues]
        if filter == "suggested":
            und = [i for i in idx if self.mark_of(i) in ("undecided", "stale")]
            if self.probability is None:
                return und
            p = self.probability
            return sorted(und, key=lambda i: -p[i])
        raise ValueError(f"unknown filter {filter!r}")

    def counts(self, label: str) -> tuple[int, int]:
        """(marked, total) pictures of ``label``."""
        counts = self._counts.get(label)
        if counts is None:
            idx = self._order.get(label, [])
            counts = self._counts[label] = (sum(self.mark_of(i) in MARKED for i in idx), len(idx))
        return counts

    def totals(self) -> dict[str, int]:
        out = dict.fromkeys((*MARKED, "undecided"), 0)
        for i in range(len(self.tset.items)):
            m = self.mark_of(i)
            out[m if m in out else "undecided"] += 1
        return out

    def resume_point(self) -> tuple[str, int] | None:
        """The first label with an unmarked picture and that picture's position in it."""
        for label in self.labels:
            for pos, i in enumerate(self._order[label]):
                if self.mark_of(i) in ("undecided", "stale"):
                    return label, pos
        return (self.labels[0], 0) if self.labels else None

    # ------------------------------------------------------------------ marking
    def mark(self, indices: Iterable[int], action: str, to: str | None = None, by: str = "person",
             rule: str | None = None) -> int:
        """Mark pictures (one journal batch); ``action`` unwanted | wanted | relabel | unmarked."""
        changes = []
        for i in indices:
            it = self.tset.items[i]
            if action == "relabel" and to == it.label:
                continue
            changes.append(MarkChange(it.path, it.digest, action, to if action == "relabel" else None,
                                      it.label))
        self._counts.clear()
        return self.journal.mark(changes, by=by, rule=rule)

    def toggle(self, i: int, action: str) -> int:
        """Mark ``action``, or take the mark back when the picture already has it."""
        return self.mark([i], "unmarked" if self.mark_of(i) == action else action)

    def page_wanted(self, page: Sequence[int]) -> int:
        """Every picture of the page not marked yet becomes wanted (one batch)."""
        return self.mark([i for i in page if self.mark_of(i) in ("undecided", "stale")], "wanted")

    def undo(self) -> list[str] | None:
        self._counts.clear()
        return self.journal.undo()

    # ------------------------------------------------------------------ suggestions
    def marked_training_set(self) -> tuple[np.ndarray, np.ndarray]:
        idx, y = [], []
        for i in range(len(self.tset.items)):
            m = self.mark_of(i)
            if m in MARKED:
                idx.append(i)
                y.append(m != "wanted")
        return np.asarray(idx, dtype=np.int64), np.asarray(y, dtype=bool)

    def train(self) -> Suggester:
        """Fit the suggester on the marks so far and score every picture (SuggestError: too few marks)."""
        idx, y = self.marked_training_set()
        if len(idx) == 0:
            raise SuggestError("mark some pictures unwanted (and some wanted) first")
        model = Suggester(model=self.model).fit(self.features[idx], y, pool=self.features)
        self.probability = model.predict(self.features)
        return model

    def suggestions(self, label: str | None = None) -> list[int]:
        """Undecided pictures (of ``label``, or all), most likely unwanted first."""
        if self.probability is None:
            self.train()
        assert self.probability is not None
        pool = [i for i in range(len(self.tset.items)) if self.mark_of(i) in ("undecided", "stale")
                and (label is None or self.tset.items[i].label == label)]
        order = rank(self.probability[pool])
        return [pool[k] for k in order]
