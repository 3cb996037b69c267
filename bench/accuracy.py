"""Accuracy benchmark: pair precision and recall on the real-photo near-duplicate corpus.

Needs the corpus (``bench/make_corpus.py`` -> ``bench/data/corpus``, ground truth in
``truth.csv``: two files are a true pair iff they share a non-empty ``positive_group``).

For every hash algorithm (phash, dhash, ahash, whash, colorhash) and hash size (8, 16) it
fingerprints the corpus with imgreview's own :func:`imgreview.fingerprint.fingerprint_file`, then
for every threshold computes, over all file pairs:

* pair precision and recall, with the candidate verification (:func:`imgreview.verify.verify_pairs`)
  off and on, overall and without the ``mirror`` edit (perceptual hashes are not mirror-invariant);
* recall per edit (pairs ``original`` ↔ edit) and false positives per negative kind.

It picks, per (algorithm, size), the threshold with the best recall at precision ≥ 0.98 (verification
on, as scans run by default), and sweeps the verification's correlation bound. Finally it runs
``imgreview scan --json`` on the corpus with the defaults and scores the groups (pairs of files
co-grouped vs the truth).

Usage (from the repository root)::

    .venv/bin/python bench/accuracy.py            # tables on stdout, bench/accuracy_pr.png
    .venv/bin/python bench/accuracy.py --quick    # phash and dhash at size 8 only

Fingerprints are cached in ``bench/data/accuracy/``; results in ``bench/data/accuracy/results.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imgreview.scan.fingerprint import Failure, Fingerprint, fingerprint_file
from imgreview.scan.search import to_words
from imgreview.scan.verify import Signatures, correlation, verify_pairs
from imgreview.settings import DEFAULT_THRESHOLDS, HASH_ALGORITHMS, HashSettings

CORPUS = ROOT / "bench" / "data" / "corpus"
DATA = ROOT / "bench" / "data" / "accuracy"
PRECISION_FLOOR = 0.98
# Scale guard: candidate pairs (hash distance only) between different photographs allowed at the
# chosen threshold. The corpus has ~90k such pairs; one hit there is a rate of ~1e-5 per pair, i.e.
# ~5e4 false candidates in a 100k-image dataset, which precision on a 535-file corpus cannot show.
CROSS_PHOTO_GUARD = 0
EDITS = ("jpeg50", "half", "sixth", "bright30", "contrast-25", "grey", "crop90", "rot3", "watermark", "mirror")


@dataclass(slots=True)
class Item:
    path: str
    source: str
    edit: str  # the edit for photo-derived files, the negative kind otherwise
    group: str  # positive group ('' for negatives)


def load_truth(corpus: Path) -> list[Item]:
    with open(corpus / "truth.csv", newline="") as fh:
        return [Item(str(corpus / r["path"]), r["source_id"], r["edit"], r["positive_group"]) for r in csv.DictReader(fh)]


def _fingerprint(args: tuple[str, str, int]) -> Fingerprint | Failure:
    path, algorithm, size = args
    return fingerprint_file(path, HashSettings(algorithm, size))


def fingerprints(items: list[Item], algorithm: str, size: int, jobs: int) -> list[Fingerprint]:
    cache = DATA / f"fp-{algorithm}-{size}.pkl"
    key = HashSettings(algorithm, size).key
    if cache.exists():
        stored = pickle.loads(cache.read_bytes())
        if stored["key"] == key and stored["paths"] == [it.path for it in items]:
            return stored["fps"]
    with Pool(jobs) as pool:
        fps = pool.map(_fingerprint, [(it.path, algorithm, size) for it in items], chunksize=4)
    bad = [f for f in fps if isinstance(f, Failure)]
    if bad:
        raise SystemExit(f"cannot fingerprint {bad[0].path}: {bad[0].error}")
    DATA.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps({"key": key, "paths": [it.path for it in items], "fps": fps}))
    return fps  # type: ignore[return-value]


@dataclass(slots=True)
class PairData:
    i: np.ndarray
    j: np.ndarray
    truth: np.ndarray  # bool: a true near-duplicate pair
    mirror: np.ndarray  # bool: the pair involves a mirror file
    d: np.ndarray  # Hamming distance
    verified: np.ndarray  # bool: verify_pairs accepts it (at the default correlation)
    corr: np.ndarray  # grey-signature correlation
    lowinfo_pair: np.ndarray  # bool: at least one side is low-information
    cross_photo: np.ndarray  # bool: two photo-derived files of different photographs


def pair_data(items: list[Item], fps: list[Fingerprint]) -> PairData:
    n = len(items)
    i, j = np.triu_indices(n, k=1)
    words = to_words([f.hash for f in fps])
    d = np.zeros(len(i), dtype=np.int32)
    for w in range(words.shape[1]):
        d += np.bitwise_count(words[i, w] ^ words[j, w]).astype(np.int32)
    groups = np.array([it.group for it in items])
    truth = (groups[i] == groups[j]) & (groups[i] != "")
    is_mirror = np.array([it.edit == "mirror" and it.group != "" for it in items])
    sig = Signatures.from_bytes([f.lowinfo for f in fps], [f.gray for f in fps], [f.color for f in fps])
    verified = verify_pairs(i, j, sig)
    corr = correlation(sig.gray[i], sig.gray[j])
    photo = np.array([it.group != "" for it in items])
    cross = photo[i] & photo[j] & ~truth
    return PairData(i, j, truth, is_mirror[i] | is_mirror[j], d, verified, corr, sig.lowinfo[i] | sig.lowinfo[j],
                    cross)


def scores(pred: np.ndarray, pd: PairData) -> dict[str, float]:
    tp = int((pred & pd.truth).sum())
    fp = int((pred & ~pd.truth).sum())
    positives = int(pd.truth.sum())
    no_mirror = pd.truth & ~pd.mirror
    return {
        "tp": tp, "fp": fp,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / positives if positives else 0.0,
        "recall_no_mirror": int((pred & no_mirror).sum()) / max(1, int(no_mirror.sum())),
    }


def cross_photo_candidates(pd: PairData, t: int) -> int:
    return int((pd.cross_photo & (pd.d <= t)).sum())


def thresholds_for(bits: int) -> list[int]:
    top = bits // 2
    step = 1 if bits <= 64 else 2
    return list(range(0, top + 1, step))


def verified_with(pd: PairData, min_corr: float) -> np.ndarray:
    """Verification with another correlation bound (low-information rule unchanged)."""
    return np.where(pd.lowinfo_pair, pd.verified, pd.corr >= min_corr)


def per_edit_recall(items: list[Item], pd: PairData, pred: np.ndarray) -> dict[str, float]:
    """Recall of the pairs original ↔ edit, per edit."""
    edit = np.array([it.edit if it.group else "" for it in items])
    out: dict[str, float] = {}
    for e in EDITS:
        sel = pd.truth & (((edit[pd.i] == "original") & (edit[pd.j] == e)) | ((edit[pd.j] == "original") & (edit[pd.i] == e)))
        out[e] = float((pred & sel).sum() / max(1, sel.sum()))
    return out


def false_positives_by_kind(items: list[Item], pd: PairData, pred: np.ndarray) -> dict[str, int]:
    """False pairs, by the kind of negative involved (a photo–photo pair across sources: 'photo×photo')."""
    kind = np.array([("photo" if it.group else it.edit) for it in items])
    out: Counter[str] = Counter()
    for a, b in zip(pd.i[pred & ~pd.truth].tolist(), pd.j[pred & ~pd.truth].tolist(), strict=True):
        ka, kb = sorted((kind[a], kind[b]))
        out[f"{ka}×{kb}"] += 1
    return dict(out.most_common())


def choose(sweep: list[dict], guard: bool = True) -> dict | None:
    """Best recall at precision ≥ the floor (ties: the smaller threshold), within the scale guard."""
    ok = [r for r in sweep if r["precision"] >= PRECISION_FLOOR and r["tp"] > 0
          and (not guard or r["cross_photo"] <= CROSS_PHOTO_GUARD)]
    if not ok:
        return None
    return max(ok, key=lambda r: (r["recall"], -r["threshold"]))


# --------------------------------------------------------------------------- group-level score


def group_level(items: list[Item], extra_args: list[str]) -> dict[str, object]:
    session = Path(tempfile.mkdtemp(prefix="imgreview-acc-"))
    out = session / "result.json"
    try:
        subprocess.run([sys.executable, "-m", "imgreview", "scan", str(CORPUS), "--session", str(session / "s"), "-q",
                        "--json", str(out), "--layout", "none", *extra_args], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        result = json.loads(out.read_text())
    finally:
        pass
    index = {it.path: k for k, it in enumerate(items)}
    group_of = np.full(len(items), -1)
    for g, group in enumerate(result["groups"]):
        for m in group["members"]:
            k = index.get(m["path"])
            if k is not None:
                group_of[k] = g
    shutil.rmtree(session, ignore_errors=True)
    n = len(items)
    i, j = np.triu_indices(n, k=1)
    groups = np.array([it.group for it in items])
    truth = (groups[i] == groups[j]) & (groups[i] != "")
    pred = (group_of[i] == group_of[j]) & (group_of[i] >= 0)
    tp, fp = int((pred & truth).sum()), int((pred & ~truth).sum())
    mirror = np.array([it.edit == "mirror" and it.group != "" for it in items])
    nm = truth & ~(mirror[i] | mirror[j])
    # How many photos end up in exactly one group with all their non-mirror copies.
    whole = 0
    sources = defaultdict(list)
    for k, it in enumerate(items):
        if it.group and it.edit != "mirror":
            sources[it.group].append(group_of[k])
    for gs in sources.values():
        whole += int(gs[0] >= 0 and all(g == gs[0] for g in gs))
    negatives_grouped = int(sum(1 for k, it in enumerate(items) if not it.group and group_of[k] >= 0))
    return {
        "args": extra_args, "groups": len(result["groups"]), "tp": tp, "fp": fp,
        "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / max(1, int(truth.sum())),
        "recall_no_mirror": int((pred & nm).sum()) / max(1, int(nm.sum())),
        "photos_whole": whole, "photos": len(sources), "negatives_grouped": negatives_grouped,
        "stats": {k: result["stats"].get(k) for k in ("candidate_pairs", "verified_pairs", "threshold", "engine")},
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="phash and dhash at hash size 8 only")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-scan", action="store_true", help="skip the group-level scan")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    if not (CORPUS / "truth.csv").exists():
        raise SystemExit(f"no corpus at {CORPUS}: run bench/make_corpus.py first")
    items = load_truth(CORPUS)
    settings = [(a, s) for a in HASH_ALGORITHMS for s in (8, 16)]
    if args.quick:
        settings = [("phash", 8), ("dhash", 8)]
    n_pos = 0
    report: dict[str, object] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "files": len(items)}
    summary: list[dict] = []
    curves: dict[tuple[str, int, bool], list[dict]] = {}
    details: dict[str, object] = {}
    for algorithm, size in settings:
        t0 = time.perf_counter()
        fps = fingerprints(items, algorithm, size, args.jobs)
        pd = pair_data(items, fps)
        n_pos = int(pd.truth.sum())
        bits = HashSettings(algorithm, size).bits
        for verify in (False, True):
            sweep = []
            for t in thresholds_for(bits):
                pred = (pd.d <= t) & (pd.verified if verify else True)
                sweep.append({"threshold": t, **scores(pred, pd), "cross_photo": cross_photo_candidates(pd, t)})
            curves[(algorithm, size, verify)] = sweep
            best = choose(sweep)
            unguarded = choose(sweep, guard=False)
            current = DEFAULT_THRESHOLDS[(algorithm, size)]
            at_current = next((r for r in sweep if r["threshold"] == current),
                              {"threshold": current, **scores((pd.d <= current) & (pd.verified if verify else True), pd)})
            summary.append({"algorithm": algorithm, "size": size, "bits": bits, "verify": verify,
                            "best": best, "unguarded": unguarded, "current": at_current})
            if verify and best is not None:
                pred = (pd.d <= best["threshold"]) & pd.verified
                details[f"{algorithm}-{size}"] = {
                    "threshold": best["threshold"],
                    "per_edit": per_edit_recall(items, pd, pred),
                    "fp_by_kind": false_positives_by_kind(items, pd, pred),
                    "fp_by_kind_unverified": false_positives_by_kind(items, pd, pd.d <= best["threshold"]),
                    "correlation_sweep": [
                        {"min_corr": c, **scores((pd.d <= best["threshold"]) & verified_with(pd, c), pd)}
                        for c in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
                    ],
                }
        print(f"{algorithm}-{size}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)

    report.update({"positive_pairs": n_pos, "summary": summary, "details": details,
                   "curves": {f"{a}-{s}-{'verify' if v else 'raw'}": c for (a, s, v), c in curves.items()}})
    print(f"## Pair accuracy ({len(items)} files, {n_pos} true pairs; precision floor {PRECISION_FLOOR})\n")
    print("| hash | size | verify | chosen t | precision | recall | recall w/o mirror | FP | "
          "t without guard (P / R / cross-photo cand.) | default t in code | P / R at code default |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in summary:
        b, c, u = r["best"], r["current"], r["unguarded"]
        best = (f"{b['threshold']} | {b['precision']:.3f} | {b['recall']:.3f} | {b['recall_no_mirror']:.3f} | {b['fp']}"
                if b else "– | – | – | – | –")
        ung = f"{u['threshold']} ({u['precision']:.3f} / {u['recall']:.3f} / {u['cross_photo']})" if u else "–"
        print(f"| {r['algorithm']} | {r['size']} | {'on' if r['verify'] else 'off'} | {best} | {ung} | "
              f"{c['threshold']} | {c['precision']:.3f} / {c['recall']:.3f} |")
    print("\n## Recall per edit (original ↔ edit) at each setting's chosen threshold, verification on\n")
    print("| hash-size | t | " + " | ".join(EDITS) + " |")
    print("|---|---|" + "---|" * len(EDITS))
    for key, det in details.items():
        print(f"| {key} | {det['threshold']} | " + " | ".join(f"{det['per_edit'][e]:.2f}" for e in EDITS) + " |")
    print("\n## False pairs by kind at the chosen threshold (verified; unverified in brackets)\n")
    for key, det in details.items():
        kinds = sorted(set(det["fp_by_kind"]) | set(det["fp_by_kind_unverified"]))
        text = ", ".join(f"{k} {det['fp_by_kind'].get(k, 0)} ({det['fp_by_kind_unverified'].get(k, 0)})" for k in kinds)
        print(f"- **{key}** (t={det['threshold']}): {text or 'none'}")
    print("\n## Correlation bound of the verification (pairs at the chosen threshold)\n")
    print("| hash-size | t | " + " | ".join(f"r≥{c['min_corr']}" for c in next(iter(details.values()))["correlation_sweep"])
          + " |  (precision / recall)")
    print("|---|---|" + "---|" * 8)
    for key, det in details.items():
        print(f"| {key} | {det['threshold']} | "
              + " | ".join(f"{c['precision']:.3f} / {c['recall']:.3f}" for c in det["correlation_sweep"]) + " |")

    if not args.no_scan:
        print("\n## Group level: `imgreview scan --json` on the corpus, pairs of co-grouped files\n")
        print("| scan options | groups | precision | recall | recall w/o mirror | photos in one whole group | "
              "negatives grouped | candidate → verified pairs |")
        print("|---|---|---|---|---|---|---|---|")
        levels = []
        for extra in ([], ["--no-verify"]):
            g = group_level(items, extra)
            levels.append(g)
            st = g["stats"]
            print(f"| {' '.join(extra) or '(defaults)'} | {g['groups']} | {g['precision']:.3f} | {g['recall']:.3f} | "
                  f"{g['recall_no_mirror']:.3f} | {g['photos_whole']}/{g['photos']} | {g['negatives_grouped']} | "
                  f"{st['candidate_pairs']} → {st['verified_pairs']} |")
        report["group_level"] = levels

    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "results.json").write_text(json.dumps(report, indent=1))
    if not args.no_plot:
        plot(curves, ROOT / "bench" / "accuracy_pr.png")


def plot(curves: dict[tuple[str, int, bool], list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({s for _, s, _ in curves})
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes, strict=True):
        for (algorithm, s, verify), sweep in curves.items():
            if s != size:
                continue
            ax.plot([r["recall"] for r in sweep], [r["precision"] for r in sweep],
                    linestyle="-" if verify else ":", marker="." if verify else None,
                    label=f"{algorithm} {'verified' if verify else 'hash only'}")
        ax.axhline(PRECISION_FLOOR, color="grey", linewidth=0.8)
        ax.set_xlabel("pair recall (threshold sweep)")
        ax.set_ylabel("pair precision")
        ax.set_ylim(0.5, 1.01)
        ax.set_title(f"hash size {size} ({size * size} bits)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
