from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgreview.scan.search import (
    choose_engine,
    exact_pairs,
    find_pairs,
    hamming,
    ngt_pairs,
    plan_chunks,
    to_words,
)


def clustered_hashes(n: int, words: int = 1, seed: int = 0, spread: int = 12) -> np.ndarray:
    """Hashes with near-duplicate clusters: centres plus members a few bits away, then shuffled."""
    rng = np.random.default_rng(seed)
    nbits = 64 * words
    out = []
    while len(out) < n:
        centre = rng.integers(0, 2, nbits, dtype=np.uint8)
        size = 1 if rng.random() < 0.6 else int(rng.integers(2, 12))
        for _ in range(size):
            member = centre.copy()
            flips = rng.choice(nbits, size=int(rng.integers(0, spread + 1)), replace=False)
            member[flips] ^= 1
            out.append(member)
    bits = np.array(out[:n], dtype=np.uint8)
    bits = bits[rng.permutation(n)]
    packed = np.packbits(bits, axis=1)
    arr = to_words(packed)
    return np.unique(arr, axis=0)


def brute_force(hashes: np.ndarray, t: int) -> set[tuple[int, int]]:
    out = set()
    for i, j in itertools.combinations(range(len(hashes)), 2):
        if int(hamming(hashes[i : i + 1], hashes[j : j + 1])[0]) <= t:
            out.add((i, j))
    return out


@pytest.mark.parametrize("t", [0, 3, 6, 10, 14])
def test_exact_engine_equals_brute_force(t: int) -> None:
    h = clustered_hashes(600, seed=t)
    pairs = exact_pairs(h, 64, t)
    assert pairs.as_set() == brute_force(h, t)
    assert len(pairs.as_set()) == len(pairs)  # each pair reported once
    assert (pairs.i < pairs.j).all()
    assert (pairs.d == hamming(h[pairs.i], h[pairs.j])).all()


def test_exact_engine_256_bits() -> None:
    h = clustered_hashes(300, words=4, seed=5, spread=40)
    pairs = exact_pairs(h, 256, 40)
    assert pairs.as_set() == brute_force(h, 40)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=2, max_size=60, unique=True),
       st.integers(min_value=0, max_value=20))
def test_exact_engine_property(values: list[int], t: int) -> None:
    h = np.array(values, dtype=np.uint64).reshape(-1, 1)
    assert exact_pairs(h, 64, t).as_set() == brute_force(h, t)


@pytest.mark.slow
def test_ngt_recall_against_exact_at_default_threshold() -> None:
    h = clustered_hashes(20_000, seed=1)
    exact = exact_pairs(h, 64, 10).as_set()
    approx = ngt_pairs(h, 64, 10).as_set()
    assert approx <= exact  # every NGT result is verified exactly
    recall = len(approx) / len(exact)
    assert len(exact) > 5_000
    assert recall >= 0.999, recall


def test_find_pairs_engines_and_auto() -> None:
    h = clustered_hashes(2_000, seed=2)
    e, used_e = find_pairs(h, 64, 8, "exact")
    n, used_n = find_pairs(h, 64, 8, "ngt")
    assert (used_e, used_n) == ("exact", "ngt")
    assert n.as_set() <= e.as_set()
    _, used = find_pairs(h, 64, 8, "auto")
    assert used == choose_engine(len(h), 64, 8) == "exact"
    empty, _ = find_pairs(h[:1], 64, 8, "exact")
    assert len(empty) == 0


@pytest.mark.parametrize(("n", "bits", "t"), [(2, 64, 8), (100_000, 64, 10), (1_000_000, 64, 10),
                                               (10_000_000, 64, 12), (100_000, 256, 40), (5_000_000, 256, 78)])
def test_auto_never_picks_ngt_whose_recall_was_below_999(n: int, bits: int, t: int) -> None:
    # NGT's measured recall: 99.87 % at 100k and 87.5 % at 1M (k=30, eps=0.1): below 99.9 %.
    assert choose_engine(n, bits, t) == "exact"


def test_plan_never_builds_huge_tables() -> None:
    for n, bits, t in [(1_000_000, 64, 10), (100_000, 256, 40), (10, 64, 0)]:
        m, cost = plan_chunks(n, bits, t)
        assert bits / m <= 24 + 1 and cost > 0


@settings(max_examples=20, deadline=None)
@given(nt=st.integers(1, 200), nq=st.integers(1, 400), words=st.sampled_from([1, 4]), seed=st.integers(0, 999),
       threshold=st.integers(0, 14))
def test_exact_cross_pairs_finds_every_pair_whatever_the_sizes(nt: int, nq: int, words: int, seed: int,
                                                               threshold: int) -> None:
    """The cross search plans its chunks from both sizes (few queries against many targets and the
    reverse); any plan finds exactly the pairs within the threshold."""
    from imgreview.scan.search import exact_cross_pairs

    both = clustered_hashes(nt + nq, words, seed, spread=threshold + 2)
    targets, queries = both[:nt], both[nt:]
    found = exact_cross_pairs(targets, queries, 64 * words, threshold)
    d = hamming(queries[:, None, :], targets[None, :, :])
    want = {(int(i), int(j)) for i, j in zip(*np.nonzero(d <= threshold), strict=True)}
    got = list(zip(found.i.tolist(), found.j.tolist(), strict=True))
    assert len(got) == len(set(got)) and set(got) == want
    assert all(int(d[i, j]) == int(dd) for i, j, dd in zip(found.i.tolist(), found.j.tolist(), found.d.tolist(),
                                                            strict=True))
