"""Suggestions: precision of the top-k after 5, 10 and 20 marks, on a label with planted unwanted pictures.

    python bench/make_triage_corpus.py --only suggest     # -> bench/data/triage/suggest/
    python bench/triage_suggest.py bench/data/triage/suggest/suggest_truth.csv [--onnx MODEL.onnx]

The corpus is one label of real photographs (crops of Debian wallpapers) with pictures of other kinds
planted (crops of non-photographic wallpapers, Tango icons on a plain background). Features are the
scan's (``fingerprint_file``), or an ONNX model's embeddings with ``--onnx``. For each number of
marks m, m/2 unwanted and m/2 wanted pictures are drawn at random (20 draws), the model is trained
on them and the remaining pictures ranked; P@k is the share of planted pictures among the first k.
Baselines: the outlier score alone (no marks) and random order (the planted share).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgreview.scan import quality
from imgreview.scan.fingerprint import Fingerprint, fingerprint_file
from imgreview.settings import HashSettings
from imgreview.triage import outliers, suggest
from imgreview.triage.embed import OnnxExtractor

MARKS = (5, 10, 20)
KS = (10, 20)
DRAWS = 20


def features(rows: list[dict[str, str]], onnx: str | None) -> np.ndarray:
    if onnx:
        return OnnxExtractor(onnx).embed([r["path"] for r in rows])
    out = []
    for r in rows:
        fp = fingerprint_file(r["path"], HashSettings())
        assert isinstance(fp, Fingerprint), r["path"]
        out.append(quality.decode(fp.quality)[1])
    return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("truth", type=Path)
    ap.add_argument("--onnx", help="an ONNX embedding model instead of the cheap features")
    args = ap.parse_args()
    rows = list(csv.DictReader(args.truth.open()))
    x = features(rows, args.onnx)
    truth = np.array([r["truth"] == "unwanted" for r in rows])
    kinds = sorted({r["kind"] for r in rows if r["truth"] == "unwanted"})
    print(f"{len(rows)} pictures, {truth.sum()} planted unwanted ({truth.mean():.1%}: the random P@k); "
          f"kinds {kinds}")
    order = np.argsort(-outliers.outlier_scores(x, ["one"] * len(rows)))
    print("outlier score alone (0 marks): " + "  ".join(f"P@{k}={truth[order[:k]].mean():.2f}" for k in KS))
    print("model     marks  " + "  ".join(f"P@{k}" for k in KS))
    for model in ("knn", "logistic", "auto"):
        for m in MARKS:
            res: dict[int, list[float]] = {k: [] for k in KS}
            for seed in range(DRAWS):
                rng = np.random.default_rng(seed)
                pos = rng.choice(np.flatnonzero(truth), m // 2, replace=False)
                neg = rng.choice(np.flatnonzero(~truth), m - m // 2, replace=False)
                marked = np.r_[pos, neg]
                s = suggest.Suggester(model=model).fit(x[marked], truth[marked], pool=x)
                rest = np.setdiff1d(np.arange(len(rows)), marked)
                ranked = rest[suggest.rank(s.predict(x[rest]))]
                for k in KS:
                    res[k].append(float(truth[ranked[:k]].mean()))
            print(f"{model:9s} {m:5d}  " + "  ".join(f"{np.mean(res[k]):.2f}" for k in KS))


if __name__ == "__main__":
    main()
