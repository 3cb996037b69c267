"""Form duplicate groups from verified pairs, without chaining.

Chaining is the classic failure of grouping by connected components: A is near B, B near C, so A
and C end up together though they differ completely. imgreview uses *reference groups* instead:

    Repeatedly take the item with the most ungrouped verified neighbours (ties: the smallest
    content digest), make it the group's reference, and put it together with all of its ungrouped
    neighbours into one group. Stop when no ungrouped item has an ungrouped neighbour.

So every member is within the threshold of its group's reference (two members are at most twice
the threshold apart), every item belongs to at most one group, and the result depends only on the
contents, not on the order in which files were found.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imgreview.scan.search import Pairs


@dataclass(slots=True)
class Cluster:
    reference: int
    members: list[tuple[int, int]]  # (item, distance to reference), the reference first with 0


def reference_groups(n: int, pairs: Pairs, keys: Sequence[str]) -> list[Cluster]:
    """Group items ``0..n-1`` given verified ``pairs``; ``keys`` break ties deterministically."""
    if len(pairs) == 0:
        return []
    neighbours: dict[int, dict[int, int]] = {}
    for a, b, d in zip(pairs.i.tolist(), pairs.j.tolist(), pairs.d.tolist(), strict=True):
        if a == b:
            continue
        neighbours.setdefault(a, {})[b] = d
        neighbours.setdefault(b, {})[a] = d
    grouped = np.zeros(n, dtype=bool)
    heap = [(-len(nb), keys[item], item) for item, nb in neighbours.items()]
    heapq.heapify(heap)
    clusters: list[Cluster] = []
    while heap:
        neg_degree, key, item = heapq.heappop(heap)
        if grouped[item]:
            continue
        free = [(other, d) for other, d in neighbours[item].items() if not grouped[other]]
        if len(free) != -neg_degree:
            if free:
                heapq.heappush(heap, (-len(free), key, item))
            continue
        free.sort(key=lambda od: (od[1], keys[od[0]]))
        grouped[item] = True
        for other, _ in free:
            grouped[other] = True
        clusters.append(Cluster(reference=item, members=[(item, 0), *free]))
    return clusters
