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
import os
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


def run_peer(corpus: Path, name: str, opts: str) -> dict:
    """A peer through the peers runner (bench/peers.py, IMGREVIEW_PEERS_DIR): its groups or pairs, scored."""
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.append(os.environ.get("IMGREVIEW_PEERS_DIR", "/work/peers"))  # the runner before it is merged
    import peers  # type: ignore[import-not-found]

    kwargs = dict(kv.split("=", 1) for kv in opts.split(";") if kv)
    r = peers.run(name, str(corpus), **kwargs)
    pred = peers.predicted_pairs(r)
    rep = score(corpus, {tuple(sorted(p)) for p in pred}, r.groups if r.pairs is None else None)
    rep["seconds"] = r.wall_s
    rep["files_read"] = r.files  # an int (how many files the peer says it read) or None
    return rep


def group_pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for g in groups:
        for a, b in combinations(sorted(set(g)), 2):
            out.add((a, b))
    return out


def score(corpus: Path, pred: set[tuple[str, str]], groups: list[list[str]] | None = None) -> dict:
    """Scores of predicted pairs (absolute paths); ``groups`` for the mixed-group count."""
    with open(corpus / "truth.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # A path listed twice has no single truth (two source pictures of one name wrote the same
    # files in a corpus built before make_hard_corpus made names unique): leave those files out.
    seen: dict[str, int] = defaultdict(int)
    for r in rows:
        seen[r["path"]] += 1
    rows = [r for r in rows if seen[r["path"]] == 1]
    by_path = {str((corpus / r["path"]).resolve()): r for r in rows}
    pred_rows = [(by_path[a], by_path[b]) for a, b in pred if a in by_path and b in by_path]
    keyset = {tuple(sorted((a["path"], b["path"]))) for a, b in pred_rows}
    report: dict = {}
    for half in ("dev", "held-out", "all"):
        sel = [r for r in rows if half == "all" or r["half"] == half]
        pics: dict[str, list[dict]] = defaultdict(list)
        for r in sel:
            pics[r["picture"]].append(r)
        positives = sum(len(v) * (len(v) - 1) // 2 for v in pics.values())
        n = len(sel)
        negatives = n * (n - 1) // 2 - positives
        inside = [(a, b) for a, b in pred_rows if half == "all" or (a["half"] == half and b["half"] == half)]
        tp = sum(a["picture"] == b["picture"] for a, b in inside)
        fp = len(inside) - tp
        fp_family: dict[str, int] = defaultdict(int)
        for a, b in inside:
            if a["picture"] != b["picture"]:
                fp_family[a["family"] if a["family"] == b["family"] else "across families"] += 1
        mixed: dict[str, int] = defaultdict(int)
        for g in groups or []:
            ms = [by_path[p] for p in g if p in by_path and (half == "all" or by_path[p]["half"] == half)]
            if len({r["picture"] for r in ms}) > 1:
                mixed[ms[0]["family"]] += 1
        per_edit: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        per_family: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        # Each edited copy is scored against its own original (``BASE__edit.ext`` against
        # ``BASE.ext``); the original of a picture that truth merges into another (a derived
        # picture, make_hard_corpus.DERIVED) against that picture's original, as kind "derived".
        originals = {r["path"].rsplit(".", 1)[0]: r for r in sel if r["edit"] == "original"}
        for files in pics.values():
            for r in files:
                own = r["path"].rsplit(".", 1)[0]
                if r["edit"] == "original":
                    o = originals.get(r["picture"].replace(" ", "_"))
                    kind = "derived"
                    if o is None or o is r:
                        continue
                else:
                    o = originals.get(r["path"].split("__", 1)[0])
                    kind = r["edit"]
                    if o is None or own == o["path"].rsplit(".", 1)[0]:
                        continue
                hit = tuple(sorted((o["path"], r["path"]))) in keyset
                for table, k in ((per_edit, kind), (per_family, r["family"])):
                    table[k][0] += hit
                    table[k][1] += 1
        oe_hits = sum(v[0] for v in per_edit.values())
        oe_total = sum(v[1] for v in per_edit.values())
        report[half] = {
            "files": n, "true_pairs": positives, "tp": tp, "fp": fp,
            "ambiguous_files_left_out": sum(1 for v in seen.values() if v > 1),
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / positives if positives else 0.0,
            "orig_edit_recall": oe_hits / oe_total if oe_total else 0.0,
            "false_pair_rate": fp / negatives if negatives else 0.0,
            "per_edit": {k: v[0] / v[1] for k, v in sorted(per_edit.items())},
            "per_family": {k: v[0] / v[1] for k, v in sorted(per_family.items())},
            "false_pairs_by_family": dict(fp_family),
            "mixed_groups": dict(mixed),
        }
    return report


def print_report(name: str, report: dict) -> None:
    for half in ("dev", "held-out", "all"):
        r = report[half]
        print(f"## {name} {half}: {r['files']} files, precision {r['precision']:.3f} recall {r['recall']:.3f} "
              f"(original<->edit {r['orig_edit_recall']:.3f}), FP {r['fp']} {r['false_pairs_by_family']}, "
              f"false-pair rate {r['false_pair_rate']:.2e}, mixed groups {r['mixed_groups']}")
        print("   edits:  " + "  ".join(f"{k} {v:.2f}" for k, v in r["per_edit"].items()))
        print("   families: " + "  ".join(f"{k} {v:.2f}" for k, v in r["per_family"].items()))


def markdown(report: dict) -> str:
    """The tables of docs/benchmarks.md from a saved report (``--json``), tools side by side."""
    tools = [t for t in report if isinstance(report[t], dict) and "all" in report[t]]
    out = []
    for half in ("dev", "held-out"):
        out.append(f"\n**{half} half** ({report[tools[0]][half]['files']} files, "
                   f"{report[tools[0]][half]['true_pairs']} true pairs)\n")
        out.append("| tool | pair precision | pair recall | original↔edit recall | false pairs | per pair of "
                   "different pictures | groups mixing pictures |")
        out.append("|---|---|---|---|---|---|---|")
        for t in tools:
            r = report[t][half]
            mixed = sum(r["mixed_groups"].values()) if r["mixed_groups"] or t == "imgreview" else "–"
            out.append(f"| {t} | {r['precision']:.3f} | {r['recall']:.3f} | {r['orig_edit_recall']:.3f} | {r['fp']} | "
                       f"{r['false_pair_rate']:.1e} | {mixed} |")
    for table, title in (("per_edit", "edit"), ("per_family", "family")):
        keys = sorted({k for t in tools for h in ("dev", "held-out") for k in report[t][h][table]})
        out.append(f"\n**Recall per {title}** (original ↔ edited copy found; dev / held-out)\n")
        out.append(f"| {title} | " + " | ".join(tools) + " |")
        out.append("|---|" + "---|" * len(tools))
        for k in keys:
            cells = []
            for t in tools:
                d = report[t]["dev"][table].get(k)
                h = report[t]["held-out"][table].get(k)
                cells.append(" / ".join("–" if v is None else f"{v:.2f}" for v in (d, h)))
            out.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--peers", help="comma-separated peer specs NAME[:opt=v;opt=v] (bench/peers.py)")
    ap.add_argument("--skip-imgreview", action="store_true")
    ap.add_argument("--merge", type=Path, nargs="*", default=[], help="saved reports to add (e.g. peers run apart)")
    ap.add_argument("--markdown", action="store_true", help="print the tables of docs/benchmarks.md")
    ap.add_argument("scan_args", nargs="*")
    args = ap.parse_args()
    ap_peers = args.peers.split(",") if args.peers else []
    report: dict = {}
    if not args.skip_imgreview:
        result, seconds = run_scan(args.corpus.resolve(), args.scan_args)
        groups = [[m["path"] for m in g["members"]] for g in result["groups"]]
        report["imgreview"] = score(args.corpus.resolve(), group_pairs(groups), groups)
        report["imgreview"]["stats"] = {k: result["stats"].get(k) for k in (
            "images", "candidate_pairs", "verified_pairs", "features_computed", "groups")}
        report["imgreview"]["seconds"] = round(seconds, 1)
        print_report("imgreview", report["imgreview"])
        print(report["imgreview"]["stats"], f"{seconds:.0f} s")
    for spec in ap_peers:
        name, _, opts = spec.partition(":")
        report[spec] = run_peer(args.corpus.resolve(), name, opts)
        print_report(spec, report[spec])
    for extra in args.merge:
        report.update(json.loads(extra.read_text()))
    if args.markdown:
        print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
