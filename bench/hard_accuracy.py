"""Accuracy on the hard corpus (bench/make_hard_corpus.py): look-alike families and real edits.

Runs ``imgreview scan --json`` on the corpus with the given options and scores the groups: every
pair of files in one group is a predicted pair; truth is "same picture" (``truth.csv``). Reports,
for the development half, the held-out half and both:

* pair precision and recall (all true pairs, and original <-> edit pairs),
* recall per edit kind (original <-> edit co-grouped) and per family,
* groups that contain two different pictures, per family,
* false pairs per pair of different pictures.

Usage::

    .venv/bin/python bench/hard_accuracy.py CORPUS [--json out.json] [-- scan options]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_scan(corpus: Path, extra: list[str]) -> tuple[dict, float]:
    tmp = Path(tempfile.mkdtemp(prefix="imgreview-hard-"))
    out = tmp / "result.json"
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "imgreview", "scan", str(corpus), "--session", str(tmp / "s"), "-q",
                    "--json", str(out), "--layout", "none", *extra], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text()), time.monotonic() - t0


def score(corpus: Path, result: dict) -> dict:
    with open(corpus / "truth.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_path = {str((corpus / r["path"]).resolve()): r for r in rows}
    group_of: dict[str, int] = {}
    groups: list[list[dict]] = []
    for g, group in enumerate(result["groups"]):
        members = [by_path[m["path"]] for m in group["members"] if m["path"] in by_path]
        groups.append(members)
        for r in members:
            group_of[r["path"]] = g
    report: dict = {}
    for half in ("dev", "held-out", "all"):
        sel = [r for r in rows if half == "all" or r["half"] == half]
        pics: dict[str, list[dict]] = defaultdict(list)
        for r in sel:
            pics[r["picture"]].append(r)
        positives = sum(len(v) * (len(v) - 1) // 2 for v in pics.values())
        n = len(sel)
        negatives = n * (n - 1) // 2 - positives
        tp = fp = 0
        mixed = defaultdict(int)
        for members in groups:
            ms = [r for r in members if half == "all" or r["half"] == half]
            for a, b in combinations(ms, 2):
                if a["picture"] == b["picture"]:
                    tp += 1
                else:
                    fp += 1
            if len({r["picture"] for r in ms}) > 1:
                mixed[ms[0]["family"]] += 1
        per_edit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        per_family: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for _pid, files in pics.items():
            orig = [r for r in files if r["edit"] == "original"]
            if not orig:
                continue
            o = orig[0]
            for r in files:
                if r is o:
                    continue
                hit = o["path"] in group_of and group_of.get(r["path"]) == group_of[o["path"]]
                per_edit[r["edit"]][0] += hit
                per_edit[r["edit"]][1] += 1
                per_family[r["family"]][0] += hit
                per_family[r["family"]][1] += 1
        oe_hits = sum(v[0] for v in per_edit.values())
        oe_total = sum(v[1] for v in per_edit.values())
        report[half] = {
            "files": n, "true_pairs": positives, "tp": tp, "fp": fp,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / positives if positives else 0.0,
            "orig_edit_recall": oe_hits / oe_total if oe_total else 0.0,
            "false_pair_rate": fp / negatives if negatives else 0.0,
            "per_edit": {k: v[0] / v[1] for k, v in sorted(per_edit.items())},
            "per_family": {k: v[0] / v[1] for k, v in sorted(per_family.items())},
            "mixed_groups": dict(mixed),
        }
    return report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("scan_args", nargs="*")
    args = ap.parse_args()
    result, seconds = run_scan(args.corpus.resolve(), args.scan_args)
    report = score(args.corpus.resolve(), result)
    report["stats"] = {k: result["stats"].get(k) for k in ("images", "candidate_pairs", "verified_pairs",
                                                           "features_computed", "groups")}
    report["seconds"] = round(seconds, 1)
    for half in ("dev", "held-out", "all"):
        r = report[half]
        print(f"## {half}: {r['files']} files, precision {r['precision']:.3f} recall {r['recall']:.3f} "
              f"(original<->edit {r['orig_edit_recall']:.3f}), FP {r['fp']}, false-pair rate {r['false_pair_rate']:.2e}, "
              f"mixed groups {r['mixed_groups']}")
        print("   edits:  " + "  ".join(f"{k} {v:.2f}" for k, v in r["per_edit"].items()))
        print("   families: " + "  ".join(f"{k} {v:.2f}" for k, v in r["per_family"].items()))
    print(report["stats"], f"{report['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
