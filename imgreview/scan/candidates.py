"""Candidate pairs from every route, and their verification by the local-feature stage.

:func:`route_candidates` searches each picture's query hashes (mirror, turns, windows, tilts,
trimmed picture; :mod:`imgreview.scan.variants`) with the exact multi-index engine against the
plain and the trimmed hashes of all pictures, and the corner windows against the same windows.
:func:`verify_candidates` checks every candidate pair:

* a pair with a low-information side (flat fill, gradient) keeps the signature rule of
  :mod:`imgreview.scan.verify` (both must be low-information and alike), direct route only;
* any other pair must pass the local-feature stage (:mod:`imgreview.scan.localfeat`), with at
  least :data:`WINDOW_MIN_INLIERS` inliers when only a grid window proposed it; a picture
  with too few features to decide (tiny or nearly flat) is accepted only by a direct hash match
  at half the threshold (the whole threshold for pictures under :data:`TINY_SIDE` pixels), or a
  dihedral (mirror, turn) or both-trimmed match at a quarter of it, whose grey views agree with a
  correlation of at least :data:`FALLBACK_CORRELATION` as the route sees them: A turned as the
  route says, and only the content inside trimmed borders when either side is mostly border.
  Smooth pictures of one kind (two gradients, two flat designs turned) agree on a 16×16 view
  and land 6 bits apart, so a route that transformed the picture must come closer. Correlation
  ignores level and colour, so the pair must agree in those too (:func:`_fallback_agrees`): a
  side with no features at all (two flat fields split by an edge) in mean and per-cell colour,
  or in grey level inside trimmed borders; a side with few features in grey level.

Each accepted pair carries its *evidence* (the ``Member.evidence`` schema of the scan result).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from imgreview.scan.localfeat import ALONG_ONE_LINE, MIN_INLIERS, Features, Match, match_features
from imgreview.scan.search import Pairs, exact_cross_pairs
from imgreview.scan.variants import (
    DIHEDRAL,
    GRID_WINDOWS,
    MIRRORED_ROUTES,
    ROUTES,
    SAME_ROUTES,
    dihedral_pixels,
    unpack_routes,
)
from imgreview.scan.verify import LOWINFO_COLOR_TOLERANCE, Signatures, correlation, verify_pairs

FALLBACK_CORRELATION = 0.9
# A picture with no corners at all (fewer features than MIN_INLIERS: two flat fields split by a
# straight edge, a plain block on white) is told from another such picture by little more than its
# colours: its hash and grey views match any picture split alike. Such a pair must also agree in
# colour (4×4 RGB signature, mean absolute difference in levels), as two low-information pictures
# must (:data:`imgreview.scan.verify.LOWINFO_COLOR_TOLERANCE`). Measured on tiles of different real
# pictures (N = 10 200): 18 of the 26 cross-source pairs left after the other rules were such
# two-tone tiles with no features, at hash distance 0-3.
FEATURELESS_COLOUR = LOWINFO_COLOR_TOLERANCE
# ... and in every one of the 16 cells (mean absolute difference over RGB, levels): two such tiles
# split alike differ in one field only (measured on the tiles, N = 10 200: the two left were 20.7
# and 32 levels apart in their worst cell, 8 and 10 on average; true featureless pairs of the hard
# corpus: at most 17.3, a strong vignette against a lighter one).
FEATURELESS_CELL = 18.0
# A pair compared inside trimmed borders (either side mostly border, or both trimmed) with a
# featureless side must agree in grey level too (mean absolute difference of the 16×16 views):
# correlation alone passes a black box on grey against a blue box on white (110 levels apart).
FALLBACK_VIEW_LEVELS = 16.0
# A side with few features (fewer than FEW_FEATURES, too few for RANSAC to be sure) is accepted by
# the hash only within FEW_FEATURES_LEVELS of grey level (mean absolute difference of the 16×16
# views; a greyscale copy keeps it): a flat wallpaper design against a game map of the same layout
# was 70 levels apart; true pairs of the two development corpora stayed within 25 except three
# brightness/contrast edits of one flat design (43-67), which its other copies still group.
FEW_FEATURES = 4 * MIN_INLIERS
FEW_FEATURES_LEVELS = 30.0
# The grid windows (16 at 80 %, 9 at 90 % of each side) propose more candidates than every other
# route together (16 276 of 31 718 among 10 200 tiles of different pictures), so more of them are
# coincidences: a feature match of a pair that only such a window found must have this many
# inliers, not MIN_INLIERS. Measured: at N = 30 600 tiles it removes 29 of the 127 accepted pairs of
# different pictures (white track curves on black matched at half scale, one arc against a disc)
# and loses 1 of 600 planted copies (a 90 % crop of a smooth tile); the groups of both development
# corpora are unchanged (24 would cost the second one 0.5 % of its pairs).
WINDOW_MIN_INLIERS = 20
# The version of the verification rules (these and localfeat's): part of the key under which a
# rescan reuses groups, so bump it when a rule changes what is accepted.
VERIFY_RULES = "v7"
# Below this many pixels on the short side local features say little (a 64×48 icon upscaled):
# a direct hash match with a high grey correlation decides.
TINY_SIDE = 96
DIRECT = -1  # route index of a plain hash-to-hash candidate
MIN_CONTENT_SHARE = 0.6  # of the picture inside trimmed borders, for the hash fallback

Evidence = dict[str, Any]


@dataclass(slots=True)
class Candidate:
    a: int  # the side whose query hash found the pair (for DIRECT: the smaller index)
    b: int
    distance: int
    route: int  # DIRECT or an index into ROUTES
    target: str = "plain"  # what the query hash matched on b: its plain hash, its trimmed hash, or its same route


def needs_mirror(c: Candidate) -> bool:
    """Whether the verification matches this candidate's query side (``a``) mirrored (an
    orientation-reversing route): the one rule for which items need mirrored features."""
    return c.route != DIRECT and ROUTES[c.route] in MIRRORED_ROUTES


def route_threshold(threshold: int) -> int:
    """Query hashes search a little tighter than the direct threshold (10 of 64 bits at t=12)."""
    return max(0, round(threshold * 10 / 12))


def route_candidates(routes: list[bytes], words: np.ndarray, nbits: int, threshold: int) -> list[Candidate]:
    """Candidate pairs of different items from the query hashes (no N×N step), three ways:

    * every query hash of an item against the plain hash of every other item;
    * against the *trimmed* hash of every other item (the trimmed picture is a canonical form: a
      picture on a plain backdrop is trimmed alike with or without a caption bar or letterbox);
    * each of :data:`SAME_ROUTES` against the same route of every other item (a corner window
      leaves out an overlay in the opposite corner).
    """
    own, kinds, queries = unpack_routes(routes, words.shape[1] * 8)
    if len(own) == 0:
        return []
    out: list[Candidate] = []

    def add(found: Pairs, target_owner: np.ndarray, target: str) -> None:
        for q, t, d in zip(found.i.tolist(), found.j.tolist(), found.d.tolist(), strict=True):
            b = int(target_owner[t])
            if own[q] != b:
                out.append(Candidate(int(own[q]), b, int(d), int(kinds[q]), target))

    add(exact_cross_pairs(words, queries, nbits, threshold), np.arange(len(words), dtype=np.int64), "plain")
    trimmed = np.flatnonzero(kinds == ROUTES.index("trimmed"))
    if len(trimmed):
        add(exact_cross_pairs(queries[trimmed], queries, nbits, threshold), own[trimmed], "trimmed")
    for name in SAME_ROUTES:
        if name == "trimmed":
            continue  # covered by the trimmed targets above
        sel = np.flatnonzero(kinds == ROUTES.index(name))
        if len(sel) > 1:
            found = exact_cross_pairs(queries[sel], queries[sel], nbits, threshold)
            keep = found.i < found.j
            add(Pairs(sel[found.i[keep]], found.j[keep], found.d[keep]), own[sel], "same")
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
    if c.target != "plain":
        ev["target"] = c.target
    parts = [] if route == "direct" else [_route_words(route, c.target)]
    if m is not None:
        ev.update({"matches": m.matches, "inliers": m.inliers, "scale": m.scale, "rotation": m.rotation,
                   "mirror": m.mirror, "crop": m.crop})
        if route.startswith("trimmed") or c.target == "trimmed":
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


def _view(f: Features, route: str, trimmed: bool) -> np.ndarray:
    """16×16 grey view of a picture from its small copy: inside its trimmed borders if ``trimmed``,
    transformed as a dihedral ``route`` says."""
    img = Image.fromarray(f.small)
    if trimmed:
        s = f.small.shape[1] / f.width
        left, top, right, bottom = (round(v * s) for v in f.box)
        img = img.crop((left, top, max(left + 1, right), max(top + 1, bottom)))
    if route in DIHEDRAL:
        img = Image.fromarray(dihedral_pixels(np.asarray(img), *DIHEDRAL[route]))
    return np.asarray(img.resize((16, 16), Image.Resampling.BOX), dtype=np.float32).reshape(1, -1)


def _view_correlation(fa: Features, fb: Features, route: str, trimmed: bool) -> float:
    return float(correlation(_view(fa, route, trimmed), _view(fb, "direct", trimmed))[0])


def _content_share(f: Features) -> float:
    left, top, right, bottom = f.box
    return (right - left) * (bottom - top) / max(1, f.width * f.height)


def _route_words(route: str, target: str) -> str:
    words = f"crop {route[4:6]}% window" if route.startswith("crop") else route.replace("-", " ")
    if target == "trimmed" and route != "trimmed":
        words += " of the trimmed picture"
    elif target == "trimmed":
        words = "both trimmed"
    elif target == "same":
        words = f"same {words}" if words.endswith("window") else f"same {words} window"
    return words


def verify_candidates(cands: dict[tuple[int, int], Candidate], sig: Signatures, threshold: int,
                      features: Callable[[list[int]], dict[int, Features]], workers: int = 1,
                      short_sides: list[int] | None = None) -> dict[tuple[int, int], tuple[Candidate, Evidence]]:
    """The accepted pairs with their evidence (see the module doc for the rules)."""
    accepted: dict[tuple[int, int], tuple[Candidate, Evidence]] = {}
    keys = sorted(cands)
    if not keys:
        return accepted
    ia = np.asarray([k[0] for k in keys], dtype=np.int64)
    ib = np.asarray([k[1] for k in keys], dtype=np.int64)
    low = sig.lowinfo[ia] | sig.lowinfo[ib]
    low_ok = verify_pairs(ia, ib, sig)
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
        return key, match_features(fa, fb, needs_mirror(c))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(check, need))
    for key, m in results:
        c = cands[key]
        if m is not None and m.accepted and not _weak_window(c, m):
            accepted[key] = (c, describe(c, m, "features"))
            continue
        fa, fb = feats.get(c.a), feats.get(c.b)
        few = (m is None or fa is None or fb is None or min(len(fa.descriptors), len(fb.descriptors)) < FEW_FEATURES
               or m.reason == ALONG_ONE_LINE)
        tiny = short_sides is not None and min(short_sides[c.a], short_sides[c.b]) < TINY_SIDE
        route = "direct" if c.route == DIRECT else ROUTES[c.route]
        if route != "direct" and route not in DIHEDRAL and not (route == "trimmed" and c.target == "trimmed"):
            continue  # windows and tilts of a featureless picture: too weak a signal
        bound = threshold if tiny else threshold // 2 if route == "direct" else threshold // 4
        if not (few or tiny) or c.distance > bound:
            continue
        if not _fallback_agrees(sig, c, route, fa, fb):
            continue
        accepted[key] = (c, describe(c, None, "hash"))
    return accepted


def _weak_window(c: Candidate, m: Match) -> bool:
    """A feature match too weak for a candidate that only a grid window proposed
    (:data:`WINDOW_MIN_INLIERS`)."""
    return c.route != DIRECT and ROUTES[c.route] in GRID_WINDOWS and m.inliers < WINDOW_MIN_INLIERS


def _fallback_agrees(sig: Signatures, c: Candidate, route: str, fa: Features | None, fb: Features | None) -> bool:
    """Whether a hash-fallback pair (too few features to decide) agrees as the route sees it.

    * The grey views must correlate (:data:`FALLBACK_CORRELATION`): A's dihedral variant against B,
      and the content inside trimmed borders when the route matched trimmed hashes or either side
      is mostly border (two flat pictures in one kind of letterbox screenshot hash alike by their
      frame). A direct match of whole pictures compares their grey signatures.
    * Correlation ignores level and colour, so the pair must agree in those too. A featureless
      side (fewer than ``MIN_INLIERS`` features): inside trimmed borders, grey level within
      :data:`FALLBACK_VIEW_LEVELS`; unless both are trimmed, the 4×4 colour signatures within
      :data:`FEATURELESS_COLOUR` on average and :data:`FEATURELESS_CELL` in every cell (two tiles
      split alike into two flat fields differ in one field only). A side with few features
      (fewer than :data:`FEW_FEATURES`): grey level within :data:`FEW_FEATURES_LEVELS`, which a
      greyscale copy keeps. A pair that falls back for another reason (tiny, features along one
      line) has features enough and keeps the correlation rule alone.
    """
    framed = c.target == "trimmed" or any(f is not None and _content_share(f) < MIN_CONTENT_SHARE for f in (fa, fb))
    if fa is not None and fb is not None and (framed or route != "direct"):
        va, vb = _view(fa, route, framed), _view(fb, "direct", framed)
    elif route == "direct":
        va, vb = sig.gray[[c.a]].astype(np.float32), sig.gray[[c.b]].astype(np.float32)
    else:
        return False
    if float(correlation(va, vb)[0]) < FALLBACK_CORRELATION:
        return False
    fewest = 0 if fa is None or fb is None else min(len(fa.descriptors), len(fb.descriptors))
    levels = float(np.abs(va - vb).mean())
    if fewest >= MIN_INLIERS:
        return fewest >= FEW_FEATURES or levels <= FEW_FEATURES_LEVELS
    if framed and levels > FALLBACK_VIEW_LEVELS:
        return False
    if route != "direct" and route not in DIHEDRAL:
        return True  # both trimmed: the whole pictures' colours include their borders
    cells = _colour_cells(sig, c, route)
    return float(cells.mean()) <= FEATURELESS_COLOUR and float(cells.max()) <= FEATURELESS_CELL


def _colour_cells(sig: Signatures, c: Candidate, route: str) -> np.ndarray:
    """Per-cell colour difference of the 4×4 RGB signatures (mean absolute over the channels, in
    levels), A's turned as a dihedral ``route`` says."""
    a = sig.color[c.a].reshape(4, 4, 3)
    if route in DIHEDRAL:
        a = np.stack([dihedral_pixels(a[:, :, k], *DIHEDRAL[route]) for k in range(3)], axis=-1)
    diff: np.ndarray = np.abs(a.astype(np.int16) - sig.color[c.b].reshape(4, 4, 3).astype(np.int16)).mean(axis=2)
    return diff
