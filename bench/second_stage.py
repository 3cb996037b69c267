"""Cost of the scan's second stage (local features + geometric check) per file and per candidate pair,
and how it grows with the number of files N.

For a folder of pictures (optionally with a truth CSV whose ``picture`` column names the source of
each file, as ``bench/make_hard_corpus.py`` writes it), this

1. fingerprints every file with the scan's own code (``workers.fingerprint_many``, ``--jobs``);
2. for growing random subsets of N files, builds the candidate pairs exactly as the scan does
   (``find_pairs`` on the plain hashes + ``route_candidates`` on the query hashes of the hard edits,
   ``merge_candidates``), and counts them: all, true (same source picture) and false, and the files
   the second stage must compute features for (files in a candidate pair that is not low-information);
3. measures, in this one process, the CPU time (``time.process_time``) of ``features_of_file`` (decode
   at 480 px, ORB plain; and with the mirrored ORB, which the scan computes only for the query side
   of a mirror-type candidate: the per-file cost is plain + that share × the mirrored extra) on a
   sample of those files, and of ``match_features`` (k-NN
   matching, RANSAC, aligned correlation) on a sample of the candidate pairs;
4. projects the second stage's CPU to larger N: false candidates grow as (false-candidate rate per
   pair of different pictures, measured at the largest N) × N(N−1)/2, true candidates with the
   number of planted copies (``--dup-share`` × N), files with features as
   N × (1 − exp(−2·candidates / N)); matching CPU = false × (ms per false pair) + true × (ms per
   true pair), features CPU = files × (ms per file).

    .venv/bin/python bench/second_stage.py /work/data-detect/hard --truth /work/data-detect/hard/truth.csv
    .venv/bin/python bench/second_stage.py /work/data-detect/tiles10k --sizes 500 1000 2000 3000
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from imgreview.scan.candidates import DIRECT, merge_candidates, route_candidates, route_threshold
from imgreview.scan.fingerprint import IMAGE_EXTENSIONS, Fingerprint
from imgreview.scan.localfeat import features_of_file, match_features
from imgreview.scan.search import find_pairs
from imgreview.scan.search.hashes import to_words
from imgreview.scan.variants import MIRRORED_ROUTES, ROUTES
from imgreview.scan.workers import fingerprint_many
from imgreview.settings import HashSettings, ScanSettings


def load_truth(path: Path | None, root: Path) -> dict[str, str]:
    if path is None:
        return {}
    with path.open(newline="") as fh:
        return {str(root / row["path"]): row["picture"] for row in csv.DictReader(fh)}


def candidates(fps: list[Fingerprint], threshold: int) -> dict[tuple[int, int], object]:
    words = to_words([f.hash for f in fps])
    bits = HashSettings().bits
    pairs, _ = find_pairs(words, bits, threshold, "auto")
    routed = route_candidates([f.routes for f in fps], words, bits, route_threshold(threshold))
    return merge_candidates(pairs, routed)  # type: ignore[return-value]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--truth", type=Path, help="CSV with path (relative to FOLDER) and picture columns")
    ap.add_argument("--sizes", type=int, nargs="*", default=[], help="subset sizes (default: 1/8, 1/4, 1/2, all)")
    ap.add_argument("--sample-files", type=int, default=150)
    ap.add_argument("--sample-pairs", type=int, default=400)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--project", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--dup-share", type=float, default=0.01, help="planted copies as a share of N in the projection")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    truth = load_truth(args.truth, args.folder)
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.folder) for f in fs
                   if Path(f).suffix.lower() in IMAGE_EXTENSIONS)
    threshold = ScanSettings().effective_threshold
    print(f"{len(paths)} files in {args.folder}, threshold {threshold}, load {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%H:%M UTC', time.gmtime())}", flush=True)
    started = time.perf_counter()
    fps = [r for r in fingerprint_many(paths, HashSettings(), args.jobs) if isinstance(r, Fingerprint)]
    fps.sort(key=lambda f: f.path)
    print(f"fingerprinted {len(fps)} in {time.perf_counter() - started:.1f} s wall", flush=True)
    rng = random.Random(args.seed)
    order = list(range(len(fps)))
    rng.shuffle(order)
    n_all = len(fps)
    sizes = sorted(set(args.sizes or [n_all // 8, n_all // 4, n_all // 2, n_all]))
    rows = []
    full: dict[tuple[int, int], object] = {}
    sub_fps: list[Fingerprint] = []
    for n in sizes:
        sub_fps = [fps[k] for k in sorted(order[:n])]
        cands = candidates(sub_fps, threshold)
        pic = [truth.get(f.path) for f in sub_fps]
        true = sum(1 for (a, b) in cands if pic[a] is not None and pic[a] == pic[b])
        false = len(cands) - true
        low = {k for k, f in enumerate(sub_fps) if f.lowinfo}
        feat_files = {x for (a, b) in cands if a not in low and b not in low for x in (a, b)}
        by_route: dict[str, int] = {}
        for c in cands.values():
            name = "direct" if c.route == DIRECT else ROUTES[c.route]  # type: ignore[attr-defined]
            by_route[name] = by_route.get(name, 0) + 1
        pairs_total = n * (n - 1) / 2
        row = {"n": n, "candidates": len(cands), "true": true, "false": false,
               "false_rate": false / pairs_total if truth else len(cands) / pairs_total,
               "feature_files": len(feat_files), "by_route": by_route}
        rows.append(row)
        print(f"N={n}: {len(cands)} candidates ({true} true, {false} false; "
              f"{row['false_rate']:.2e} false per pair), {len(feat_files)} files need features; {by_route}",
              flush=True)
        full = cands
    # per-file and per-pair costs on samples of the largest set
    low = {k for k, f in enumerate(sub_fps) if f.lowinfo}
    need = [key for key in sorted(full) if key[0] not in low and key[1] not in low]
    files = sorted({x for key in need for x in key})
    sample_files = rng.sample(files, min(args.sample_files, len(files)))
    from imgreview.scan.pipeline import mirror_sides

    mirror_share = len(mirror_sides({key: full[key] for key in need}) & set(files)) / max(1, len(files))
    feats = {}
    t_plain, t_both = [], []
    for k in sample_files:
        t = time.process_time()
        features_of_file(sub_fps[k].path, mirrored=False)
        t_plain.append(time.process_time() - t)
        t = time.process_time()
        feats[k] = features_of_file(sub_fps[k].path, mirrored=True)
        t_both.append(time.process_time() - t)
    ms_plain = 1000 * float(np.mean(t_plain)) if t_plain else float("nan")
    ms_both = 1000 * float(np.mean(t_both)) if t_both else float("nan")
    t_file = [p + mirror_share * (b - p) for p, b in zip(t_plain, t_both, strict=True)]
    print(f"\nfeatures per file: plain {ms_plain:.1f} ms CPU, with the mirrored ORB {ms_both:.1f} ms; "
          f"{100 * mirror_share:.0f} % of the files with features are the query side of a mirror-type candidate")
    have = [key for key in need if key[0] in feats and key[1] in feats]
    if len(have) < args.sample_pairs:  # pairs among sampled files are few: add the files of more pairs
        for key in rng.sample(need, min(len(need), args.sample_pairs)):
            for x in key:
                if x not in feats:
                    feats[x] = features_of_file(sub_fps[x].path, mirrored=True)
        have = [key for key in need if key[0] in feats and key[1] in feats]
    sample_pairs = rng.sample(have, min(args.sample_pairs, len(have)))
    t_pair = []
    accepted = 0
    pic = [truth.get(f.path) for f in sub_fps]
    t_true, t_false = [], []
    for key in sample_pairs:
        c = full[key]
        fa, fb = feats.get(c.a), feats.get(c.b)  # type: ignore[attr-defined]
        if fa is None or fb is None:
            continue
        mirrored = c.route != DIRECT and ROUTES[c.route] in MIRRORED_ROUTES  # type: ignore[attr-defined]
        t = time.process_time()
        m = match_features(fa, fb, mirrored)
        dt = time.process_time() - t
        t_pair.append(dt)
        accepted += m.accepted
        (t_true if pic[key[0]] is not None and pic[key[0]] == pic[key[1]] else t_false).append(dt)
    ms_file = 1000 * float(np.mean(t_file)) if t_file else float("nan")
    ms_pair = 1000 * float(np.mean(t_pair)) if t_pair else float("nan")
    print(f"per file (features_of_file as the scan runs it, {len(t_file)} sampled): {ms_file:.1f} ms CPU "
          f"(median {1000 * float(np.median(t_file)):.1f}, p90 {1000 * float(np.percentile(t_file, 90)):.1f})")
    print(f"per candidate pair (match_features, {len(t_pair)} sampled, {accepted} accepted): {ms_pair:.2f} ms CPU "
          f"(median {1000 * float(np.median(t_pair)):.2f}, p90 {1000 * float(np.percentile(t_pair, 90)):.2f}; "
          f"true pairs {1000 * float(np.mean(t_true)) if t_true else float('nan'):.2f}, "
          f"false {1000 * float(np.mean(t_false)) if t_false else float('nan'):.2f})")
    ms_true = 1000 * float(np.mean(t_true)) if t_true else ms_pair
    ms_false = 1000 * float(np.mean(t_false)) if t_false else ms_pair
    last = rows[-1]
    print(f"\nmeasured at N={last['n']}: second stage ≈ {last['feature_files']} × {ms_file:.1f} ms + "
          f"{last['candidates']} × {ms_pair:.2f} ms = "
          f"{(last['feature_files'] * ms_file + last['candidates'] * ms_pair) / 1000:.1f} s CPU")
    rate = last["false_rate"]
    print("\n| N | false candidates (rate × N²/2) | true candidates | files with features | "
          "features CPU s | matching CPU s | total CPU s | wall on 2 cores (s) |")
    print("|---|---|---|---|---|---|---|---|")
    projections = []
    for n in args.project:
        false = rate * n * (n - 1) / 2
        true = args.dup_share * n
        cands = false + true
        files_feat = n * (1 - math.exp(-2 * cands / n))
        feat_s = files_feat * ms_file / 1000
        match_s = (false * ms_false + true * ms_true) / 1000  # a false pair usually stops earlier
        projections.append({"n": n, "false": false, "true": true, "files": files_feat, "features_s": feat_s,
                            "match_s": match_s})
        print(f"| {n:,} | {false:,.0f} | {true:,.0f} | {files_feat:,.0f} | {feat_s:,.0f} | {match_s:,.0f} | "
              f"{feat_s + match_s:,.0f} | {(feat_s + match_s) / 2:,.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"folder": str(args.folder), "rows": rows, "ms_per_file": ms_file,
                                         "ms_per_file_plain": ms_plain, "ms_per_file_mirrored": ms_both,
                                         "mirror_share": mirror_share,
                                         "ms_per_pair": ms_pair, "ms_per_true_pair": ms_true,
                                         "ms_per_false_pair": ms_false, "projections": projections}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
