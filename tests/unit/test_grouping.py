from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imgreview.scan.grouping import reference_groups
from imgreview.scan.search import Pairs, exact_pairs


def pairs_of(edges: list[tuple[int, int, int]]) -> Pairs:
    if not edges:
        return Pairs.empty()
    a = np.array(edges)
    return Pairs(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2].astype(np.int32))


def test_a_chain_is_not_one_group() -> None:
    # 0-1-2-3-4 in a line, each link within the threshold, the ends far apart.
    edges = [(0, 1, 5), (1, 2, 5), (2, 3, 5), (3, 4, 5)]
    groups = reference_groups(5, pairs_of(edges), [f"k{i}" for i in range(5)])
    adjacent = {(a, b) for a, b, _ in edges} | {(b, a) for a, b, _ in edges}
    for g in groups:
        ref = g.reference
        assert all(m == ref or (ref, m) in adjacent for m, _ in g.members)
    members = [m for g in groups for m, _ in g.members]
    assert len(members) == len(set(members))  # one group per item


def test_hub_takes_its_neighbours() -> None:
    edges = [(0, 1, 2), (0, 2, 3), (0, 3, 4), (3, 4, 1)]
    groups = reference_groups(5, pairs_of(edges), ["a", "b", "c", "d", "e"])
    assert groups[0].reference == 0
    assert {m for m, _ in groups[0].members} == {0, 1, 2, 3}
    assert groups[0].members[0] == (0, 0)
    assert len(groups) == 1  # 4 is left alone: its only neighbour is taken


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**20 - 1), min_size=2, max_size=40, unique=True), st.randoms(use_true_random=False))
def test_every_member_within_threshold_of_reference_and_order_independent(values: list[int], rnd) -> None:  # type: ignore[no-untyped-def]
    t = 4
    keys = [f"{v:08d}" for v in values]
    h = np.array(values, dtype=np.uint64).reshape(-1, 1)
    groups = reference_groups(len(values), exact_pairs(h, 64, t), keys)
    seen: set[int] = set()
    for g in groups:
        for m, d in g.members:
            assert bin(values[m] ^ values[g.reference]).count("1") == d <= t
            assert m not in seen
            seen.add(m)
    # Shuffle the input: the same groups, by content.
    perm = list(range(len(values)))
    rnd.shuffle(perm)
    values2 = [values[p] for p in perm]
    h2 = np.array(values2, dtype=np.uint64).reshape(-1, 1)
    groups2 = reference_groups(len(values2), exact_pairs(h2, 64, t), [f"{v:08d}" for v in values2])
    as_sets = {frozenset(values[m] for m, _ in g.members) for g in groups}
    as_sets2 = {frozenset(values2[m] for m, _ in g.members) for g in groups2}
    assert as_sets == as_sets2
