"""Decide exact duplicates by rule (``imgreview resolve --exact``).

What counts as exact: byte-identical copies, i.e. members of a group that share a content digest.
That is the whole of an ``exact`` group, and any set of two or more same-digest members inside a
``near`` group. Only those copies are decided; near duplicates stay for a person.

For each set of identical copies the keeper is, by default, the copy the review suggests (★) and
``scan --json`` names as ``suggested``: the evidence-based :func:`imgreview.decisions.keeper.suggest`
(an original-looking name over ``copy``/``(1)``, camera EXIF, the oldest date; the default rules
only break a tie). When the group's suggestion is one of the copies, that copy is kept; otherwise
(a near group whose ★ is another file, or has no clear original) the suggestion among the copies.
With ``--prefer`` the keeper is chosen by :func:`imgreview.decisions.keeper.suggest_keeper` in that
order instead. The other copies are decided ``delete``. The keeper is decided
``keep`` only when the copies are the whole group (an exact group): inside a near group the
keeper is left undecided, since whether the near copies are duplicates is a person's call.

Label conflicts and split leaks are never decided silently:

* a group with a label conflict or a split leak is skipped, unless
* ``conflicts="drop-all"``: identical copies filed under two or more labels are all decided delete
  (the right label is unknown; common practice is to drop the picture), and
* ``leaks="drop-all"`` (delete every copy) or ``leaks="keep-train"`` (keep one copy in the first
  split, train before val before test, delete the copies in the other splits). When ``leaks`` is
  not given it follows ``conflicts``;
* ``within_label=True`` decides the copies that share a label *and* split inside such groups
  (one kept per label and split, left undecided), leaving the conflict or leak itself to a person.

A set of copies any of which a person has decided (and the decision is not stale) is never
touched. Decisions already in the journal with the same action are not written again, so running
``resolve`` twice adds nothing. Everything is written as one undoable journal batch with
``by="rule"`` and ``rule="exact:suggested"`` (``exact:<prefer>`` with ``--prefer``; or
``exact:conflicts-drop-all`` and the like).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from imgreview.decisions.keeper import suggest, suggest_keeper
from imgreview.labels import labels_of, split_sort_key, splits_of
from imgreview.model import Group, Member, ScanResult
from imgreview.session.journal import Change, Journal
from imgreview.vocab import FileAction

CONFLICT_MODES = ("skip", "drop-all")
LEAK_MODES = ("skip", "drop-all", "keep-train")


@dataclass(frozen=True, slots=True)
class ResolveOptions:
    prefer: tuple[str, ...] | None = None  # None: the evidence-based suggestion (the review's ★)
    prefer_text: str = ""  # as the user gave it, for the rule name
    within_label: bool = False
    conflicts: str = "skip"
    leaks: str | None = None  # None: like conflicts

    def __post_init__(self) -> None:
        if self.conflicts not in CONFLICT_MODES:
            raise ValueError(f"--conflicts must be one of {', '.join(CONFLICT_MODES)}")
        if self.leaks is not None and self.leaks not in LEAK_MODES:
            raise ValueError(f"--leaks must be one of {', '.join(LEAK_MODES)}")

    @property
    def leak_mode(self) -> str:
        return self.leaks if self.leaks is not None else self.conflicts

    @property
    def rule(self) -> str:
        name = self.prefer_text or (",".join(self.prefer) if self.prefer is not None else "suggested")
        return f"exact:{name}" + (":within-label" if self.within_label else "")


@dataclass(slots=True)
class Decided:
    group: str
    rule: str
    keep: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ResolvePlan:
    """What a resolve would write: decisions per set of copies, changes, and what was skipped why."""

    decided: list[Decided] = field(default_factory=list)
    changes: dict[str, list[Change]] = field(default_factory=dict)  # rule -> changes
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> sets of copies
    unchanged: int = 0  # decisions already in the journal

    @property
    def delete_count(self) -> int:
        return sum(len(d.delete) for d in self.decided)

    @property
    def keep_count(self) -> int:
        return sum(len(d.keep) for d in self.decided)

    @property
    def change_count(self) -> int:
        return sum(len(c) for c in self.changes.values())


def copy_sets(group: Group) -> list[list[Member]]:
    """Sets of two or more byte-identical members of a group."""
    by_digest: dict[str, list[Member]] = defaultdict(list)
    for m in group.members:
        by_digest[m.digest].append(m)
    return [ms for _, ms in sorted(by_digest.items()) if len(ms) > 1]


class _Keepers:
    """Which copy of a set to keep: ``--prefer`` rules, else the suggestion the review shows (of the
    group asked about last: groups are planned one after the other, and only one is kept)."""

    def __init__(self, prefer: tuple[str, ...] | None) -> None:
        self.prefer = prefer
        self._group: Group | None = None
        self._star_member: Member | None = None

    def _star(self, group: Group) -> Member | None:
        if self._group is not group:
            s = suggest(group.members, identical=group.kind == "exact")
            self._group, self._star_member = group, None if s.index is None else group.members[s.index]
        return self._star_member

    def pick(self, group: Group, copies: Sequence[Member]) -> Member:
        if self.prefer is not None:
            return copies[suggest_keeper(copies, self.prefer)]
        star = self._star(group)
        if star is not None and any(m is star for m in copies):
            return star
        index = suggest(copies, identical=True).index  # identical copies: never "no clear original"
        return copies[index if index is not None else 0]


def _person_decided(members: Sequence[Member], journal: Journal) -> bool:
    for m in members:
        d = journal.decisions.get(m.path)
        if d is not None and d.by == "person" and journal.action_for(m.path, m.digest) in ("keep", "delete"):
            return True
    return False


def plan_exact(result: ScanResult, journal: Journal, options: ResolveOptions | None = None) -> ResolvePlan:
    """Work out the rule decisions for every set of identical copies (nothing is written)."""
    return plan_exact_groups(result.groups, journal, options)


def plan_exact_groups(groups: Iterable[Group], journal: Journal, options: ResolveOptions | None = None) -> ResolvePlan:
    """:func:`plan_exact` over ``groups`` read one after the other (those without identical copies may be
    left out: they decide nothing), e.g. :meth:`ScanGroups.at` of :meth:`ScanGroups.copy_positions`."""
    options = options or ResolveOptions()
    plan = ResolvePlan()
    keepers = _Keepers(options.prefer)
    for group in groups:
        problem = group.label_conflict or group.split_leak
        for copies in copy_sets(group):
            whole = len(copies) == len(group.members)
            if _person_decided(copies, journal):
                plan.skipped["decided by a person"] += 1
                continue
            conflict = len(labels_of(copies)) > 1
            leak = len(splits_of(copies)) > 1
            decided: Decided | None = None
            if conflict and options.conflicts == "drop-all":
                decided = Decided(group.id, "exact:conflicts-drop-all", delete=[m.path for m in copies])
            elif leak and not conflict and options.leak_mode == "drop-all":
                decided = Decided(group.id, "exact:leaks-drop-all", delete=[m.path for m in copies])
            elif leak and not conflict and options.leak_mode == "keep-train":
                first = min(splits_of(copies), key=split_sort_key)
                candidates = [m for m in copies if m.split == first]
                keeper = keepers.pick(group, candidates)
                decided = Decided(group.id, "exact:leaks-keep-train",
                                  keep=[keeper.path] if whole and not group.label_conflict else [],
                                  delete=[m.path for m in copies if m is not keeper])
            elif problem and options.within_label:
                decided = Decided(group.id, options.rule)
                parts: dict[tuple[str | None, str | None], list[Member]] = defaultdict(list)
                for m in copies:
                    parts[(m.label, m.split)].append(m)
                for part in parts.values():
                    keeper = keepers.pick(group, part)
                    decided.delete += [m.path for m in part if m is not keeper]
                if not decided.delete:
                    plan.skipped["label conflict" if group.label_conflict else "split leak"] += 1
                    continue
            elif problem:
                plan.skipped["label conflict" if group.label_conflict else "split leak"] += 1
                continue
            else:
                keeper = keepers.pick(group, copies)
                decided = Decided(group.id, options.rule, keep=[keeper.path] if whole else [],
                                  delete=[m.path for m in copies if m is not keeper])
            new = _changes(decided, copies, journal, plan)
            plan.decided.append(decided)
            if new:
                plan.changes.setdefault(decided.rule, []).extend(new)
    return plan


def _changes(decided: Decided, copies: list[Member], journal: Journal, plan: ResolvePlan) -> list[Change]:
    """The journal changes a decision needs: what the journal does not hold already (counted unchanged)."""
    digests = {m.path: m.digest for m in copies}
    new: list[Change] = []
    lists: tuple[tuple[FileAction, list[str]], ...] = (("keep", decided.keep), ("delete", decided.delete))
    for action, paths in lists:
        for path in paths:
            current = journal.decisions.get(path)
            if current is not None and current.action == action and current.digest == digests[path]:
                plan.unchanged += 1
                continue
            new.append(Change(path, digests[path], action, group=decided.group))
    return new


def apply_plan(plan: ResolvePlan, journal: Journal) -> list[int]:
    """Write the plan's changes to the journal: one batch per rule; returns the batch numbers."""
    batches: list[int] = []
    for rule, changes in plan.changes.items():
        if changes:
            batches.append(journal.decide(changes, group="resolve", by="rule", rule=rule))
    return batches
