"""Candidate pairs from every route, and their verification by the local-feature stage.

:func:`route_candidates` searches each picture's query hashes (mirror, turns, centred windows,
trimmed picture; :mod:`imgreview.scan.variants`) against the plain hashes of all pictures with the
exact multi-index engine. :func:`verify_candidates` checks every candidate pair:

* a pair with a low-information side (flat fill, gradient) keeps the signature rule of
  :mod:`imgreview.scan.verify` (both must be low-information and alike), direct route only;
* any other pair must pass the local-feature stage (:mod:`imgreview.scan.localfeat`); a picture
  with too few features to decide (tiny or nearly flat) is accepted only by a direct hash match at
  half the threshold with a grey-signature correlation of at least :data:`FALLBACK_CORRELATION`.

Each accepted pair carries its *evidence* (the ``Member.evidence`` schema of the scan result).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from imgreview.scan.localfeat import MIN_INLIERS, Features, Match, match_features
from imgreview.scan.search import Pairs, exact_cross_pairs
from imgreview.scan.variants import MIRRORED_ROUTES, ROUTES, unpack_routes
from imgreview.scan.verify import Signatures, correlation, verify_pairs

FALLBACK_CORRELATION = 0.9
DIRECT = -1  # route index of a plain hash-to-hash candidate

Evidence = dict[str, Any]


@dataclass(slots=True)
class Candidate:
    a: int  # the side whose query hash found the pair (for DIRECT: the smaller index)
    b: int
    distance: int
    route: int  # DIRECT or an index into ROUTES


def route_threshold(threshold: int) -> int:
    """Query hashes search a little tighter than the direct threshold (10 of 64 bits at t=12)."""
    return max(0, round(threshold * 10 / 12))


def route_candidates(routes: list[bytes], words: np.ndarray, nbits: int, threshold: int) -> list[Candidate]:
    """(query owner, target) pairs of different items whose query hash is within ``threshold`` of the target's."""
    nbytes = words.shape[1] * 8
    owner: list[int] = []
    kind: list[int] = []
    packed: list[bytes] = []
    for item, blob in enumerate(routes):
        for k, h in unpack_routes(blob, nbytes):
            owner.append(item)
            kind.append(k)
            packed.append(h)
    if not packed:
        return []
    queries = np.frombuffer(b"".join(packed), dtype=">u8").astype(np.uint64).reshape(len(packed), -1)
    found = exact_cross_pairs(words, queries, nbits, threshold)
    own = np.asarray(owner, dtype=np.int64)
    kinds = np.asarray(kind, dtype=np.int64)
    out = []
    for q, t, d in zip(found.i.tolist(), found.j.tolist(), found.d.tolist(), strict=True):
        if own[q] != t:
            out.append(Candidate(int(own[q]), int(t), int(d), int(kinds[q])))
    return out


def merge_candidates(direct: Pairs, routed: list[Candidate]) -> dict[tuple[int, int], Candidate]:
    """One candidate per unordered pair: the direct match if any, else the closest route (ties: route order)."""
    best: dict[tuple[int, int], Candidate] = {}
    for a, b, d in zip(direct.i.tolist(), direct.j.tolist(), direct.d.tolist(), strict=True):
        best[(min(a, b), max(a, b))] = Candidate(min(a, b), max(a, b), int(d), DIRECT)
    for c in sorted(routed, key=lambda c: (c.distance, c.route, c.a, c.b)):
        key = (min(c.a, c.b), max(c.a, c.b))
        if key not in best:
            best[key] = c
    return best


def describe(c: Candidate, m: Match | None, signal: str) -> Evidence:
    route = "direct" if c.route == DIRECT else ROUTES[c.route]
    ev: Evidence = {"signal": signal, "route": route, "distance": c.distance}
    parts = [] if route == "direct" else [route.replace("-", " ")]
    if m is not None:
        ev.update({"matches": m.matches, "inliers": m.inliers, "scale": m.scale, "rotation": m.rotation,
                   "mirror": m.mirror, "crop": m.crop})
        if route.startswith("trimmed"):
            ev["trimmed"] = True
        if m.crop < 0.9 and "crop" not in route:
            parts.append(f"crop ~{round(m.crop * 100)}%")
        if abs(m.rotation) >= 1.5 and route == "direct":
            parts.append(f"rotated {m.rotation:+.0f}°")
        parts.append(f"{m.inliers} matching features")
    else:
        parts.append(f"hash {c.distance} bits")
    ev["summary"] = ", ".join(parts)
    return ev


def verify_candidates(cands: dict[tuple[int, int], Candidate], sig: Signatures, threshold: int,
                      features: Callable[[list[int]], dict[int, Features]], workers: int = 1
                      ) -> dict[tuple[int, int], tuple[Candidate, Evidence]]:
    """The accepted pairs with their evidence (see the module doc for the rules)."""
    accepted: dict[tuple[int, int], tuple[Candidate, Evidence]] = {}
    keys = sorted(cands)
    if not keys:
        return accepted
    ia = np.asarray([k[0] for k in keys], dtype=np.int64)
    ib = np.asarray([k[1] for k in keys], dtype=np.int64)
    low = sig.lowinfo[ia] | sig.lowinfo[ib]
    low_ok = verify_pairs(ia, ib, sig)
    corr = correlation(sig.gray[ia], sig.gray[ib])
    need: list[tuple[int, int]] = []
    for k, key in enumerate(keys):
        c = cands[key]
        if low[k]:
            if c.route == DIRECT and low_ok[k]:
                accepted[key] = (c, describe(c, None, "hash"))
            continue
        need.append(key)
    feats = features(sorted({x for key in need for x in key}))

    def check(key: tuple[int, int]) -> tuple[tuple[int, int], Match | None]:
        c = cands[key]
        fa, fb = feats.get(c.a), feats.get(c.b)
        if fa is None or fb is None:
            return key, None
        return key, match_features(fa, fb, c.route != DIRECT and ROUTES[c.route] in MIRRORED_ROUTES)

    index = {key: k for k, key in enumerate(keys)}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(check, need))
    for key, m in results:
        c = cands[key]
        if m is not None and m.accepted:
            accepted[key] = (c, describe(c, m, "features"))
            continue
        fa, fb = feats.get(c.a), feats.get(c.b)
        few = m is None or fa is None or fb is None or min(len(fa.descriptors), len(fb.descriptors)) < 4 * MIN_INLIERS
        if few and c.route == DIRECT and c.distance <= threshold // 2 and corr[index[key]] >= FALLBACK_CORRELATION:
            accepted[key] = (c, describe(c, None, "hash"))
    return accepted
