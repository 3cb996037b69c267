"""Quality flags: precision and recall per flag on real pictures with planted defects, beside cleanvision.

    python bench/make_triage_corpus.py --only quality          # -> bench/data/triage/quality/truth.csv
    python bench/triage_quality.py bench/data/triage/quality/truth.csv \\
        [--cleanvision-python PATH/TO/venv/bin/python] [--json out.json]

imgreview's flags are computed exactly as the scan computes them (``fingerprint_file``: one decode of
the reduced thumbnail, then :func:`imgreview.scan.quality.flag` relative to each label). A planted
defect's expected flag is in ``EXPECTED``; a flag raised on another file (clean or with another
defect) is a false positive. cleanvision (optional) runs in its own interpreter on the same files
with its default thresholds (``bench/cleanvision_issues.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgreview.scan import quality
from imgreview.scan.fingerprint import Fingerprint, fingerprint_file
from imgreview.settings import HashSettings

EXPECTED = {"darkened": "dark", "overexposed": "light", "blurred": "blurry", "shrunk": "odd_size",
            "strip": "odd_aspect_ratio", "greyscaled": "grayscale", "flattened": "low_information"}


def ours(rows: list[dict[str, str]]) -> tuple[dict[str, list[str]], float]:
    settings = HashSettings()
    stats, labels, paths = [], [], []
    t = time.perf_counter()
    for r in rows:
        fp = fingerprint_file(r["path"], settings)
        if not isinstance(fp, Fingerprint):
            continue
        stats.append(quality.decode(fp.quality)[0])
        labels.append(r["label"])
        paths.append(r["path"])
    seconds = time.perf_counter() - t
    verdicts = quality.flag(stats, labels)
    return {p: v.issues for p, v in zip(paths, verdicts, strict=True)}, seconds


def score(rows: list[dict[str, str]], issues: dict[str, list[str]], label: str | None) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for issue in quality.ISSUES:
        tp = fp = fn = 0
        fps: Counter[str] = Counter()
        for r in rows:
            if label and r["label"] != label:
                continue
            want = EXPECTED.get(r["defect"]) == issue
            got = issue in issues.get(r["path"], [])
            tp += want and got
            fn += want and not got
            fp += got and not want
            if got and not want:
                fps[r["defect"] or "clean"] += 1
        out[issue] = {"precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None,
                      "tp": tp, "fp": fp, "fn": fn, "fp_from": dict(fps)}
    return out


def fmt(x: object) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("truth", type=Path)
    ap.add_argument("--cleanvision-python", help="a Python with cleanvision installed")
    ap.add_argument("--json", type=Path, help="write all numbers here")
    args = ap.parse_args()
    rows = list(csv.DictReader(args.truth.open()))
    mine, seconds = ours(rows)
    print(f"{len(rows)} files; imgreview fingerprint + quality {seconds / len(rows) * 1000:.1f} ms/file (1 core)")
    theirs = None
    if args.cleanvision_python:
        out = args.truth.with_name("cleanvision.json")
        subprocess.run([args.cleanvision_python, str(Path(__file__).with_name("cleanvision_issues.py")),
                        str(args.truth), str(out)], check=True)
        theirs = json.loads(out.read_text())
        print(f"cleanvision: {theirs['seconds']:.1f} s for {len(rows)} files ({theirs['version']})")
    report: dict[str, object] = {"files": len(rows), "ms_per_file": seconds / len(rows) * 1000}
    for label in (None, "photo", "artwork"):
        a = score(rows, mine, label)
        b = score(rows, theirs["issues"], label) if theirs else None
        report[label or "all"] = {"imgreview": a, "cleanvision": b}
        print(f"\n{label or 'all labels'}: flag              imgreview P / R      cleanvision P / R")
        for issue in quality.ISSUES:
            line = f"  {issue:18s}  {fmt(a[issue]['precision'])} / {fmt(a[issue]['recall'])}"
            if b:
                line += f"          {fmt(b[issue]['precision'])} / {fmt(b[issue]['recall'])}"
            print(line + f"    fp from {a[issue]['fp_from']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
