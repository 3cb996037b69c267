#!/usr/bin/env python3
"""False pairs per pair of different pictures as the collection grows (issue 15).

A dataset of N real-looking *different* pictures (tiles of real pictures, bench/make_lookalike_tiles.py:
tiles of one picture share its palette, light and texture, but no pixel; its manifest.csv names each
tile's source picture) spread over labels *by source* (all tiles of one picture under one label, as
a label folder holds pictures of one kind), plus planted edited copies (2 % by default: resized and
recompressed, mirrored, cropped to 90 %, warmed) each written under *another* label, so every
planted copy is a label conflict. For each N it runs ``imgreview scan --json`` and then
``imgreview check --json`` on the same session and reports:

* candidate pairs (what the hashes propose) and verified pairs, per pair of pictures;
* false pairs (two different tiles in one group), split into pairs of tiles of *different source
  pictures* (the false-pair rate the issue asks about) and pairs of tiles of *one* source (a
  picture's own repeating texture can make two of its tiles the same content; counted apart);
* label conflicts reported, and how many of them are planted (``check`` must report only those);
* the projection of the cross-source false pairs to 1M pictures (rate × 1M·(1M−1)/2), with the
  rule-of-three 95 % upper bound when none was seen;
* the scan's wall time, the second stage's time (``verify_candidates``, of which computing local
  features) and peak memory (the scan process tree's summed RSS, sampled, and the largest single
  process's maximum RSS).

The scan runs in a child process through this script (``--hooked-scan``), which wraps imgreview's
second stage without changing it, to record **every accepted pair** with its evidence (not only the
pairs with a group's reference that ``--json`` shows) and the match's grey correlation and feature
counts. ``--pairs-out DIR`` writes, for each N, ``fp-crosssource-N.json`` and ``.csv``: every accepted
pair of tiles of different source pictures (paths, tiles, sources, tile positions, whether the two
ended up in one group, hash distance, route, target, signal, matches, inliers, scale, rotation,
mirror, overlap share, correlation, the features of each side), and every cross-source pair of
members of one group with each member's evidence against its reference.

Usage::

    python bench/false_pairs.py TILES --sizes 1000,3000,10000 [--work DIR] [--json out.json] [--pairs-out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
LABELS = 40


def plant(src: Path, dst: Path, kind: str) -> None:
    im = Image.open(src).convert("RGB")
    w, h = im.size
    if kind == "resize":
        im = im.resize((round(w * 0.7), round(h * 0.7)), Image.Resampling.BILINEAR)
    elif kind == "mirror":
        im = ImageOps.mirror(im)
    elif kind == "crop":
        im = im.crop((round(w * 0.05), round(h * 0.05), round(w * 0.95), round(h * 0.95)))
    elif kind == "warm":
        r, g, b = im.split()
        im = Image.merge("RGB", (r.point(lambda v: min(255, int(v * 1.12))), g, b.point(lambda v: int(v * 0.85))))
    im.save(dst, "JPEG", quality=80)


def build(tiles: list[Path], source: dict[str, str], n: int, share: float, out: Path,
          seed: int, write: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """The dataset under ``out``; returns (planted copy path -> original path, path -> source)."""
    rng = random.Random(seed)
    chosen = tiles[:n]
    labels = {src: k % LABELS for k, src in enumerate(sorted({source[t.name] for t in chosen}))}
    origin: dict[str, str] = {}
    planted: dict[str, str] = {}
    where: dict[str, Path] = {}
    for t in chosen:
        d = out / f"label{labels[source[t.name]]:02d}"
        dst = d / t.name
        if write:
            d.mkdir(parents=True, exist_ok=True)
            try:
                os.link(t, dst)
            except OSError:
                shutil.copyfile(t, dst)
        where[t.name] = dst
        origin[str(dst.resolve())] = source[t.name]
    for k in rng.sample(range(n), round(n * share)):
        t = chosen[k]
        own = labels[source[t.name]]
        other = (own + 1 + rng.randrange(LABELS - 1)) % LABELS
        kind = ("resize", "mirror", "crop", "warm")[k % 4]
        d = out / f"label{other:02d}"
        dst = d / f"{t.stem}__{kind}.jpg"
        if write:
            d.mkdir(parents=True, exist_ok=True)
            plant(t, dst, kind)
        planted[str(dst.resolve())] = str(where[t.name].resolve())
        origin[str(dst.resolve())] = source[t.name]
    return planted, origin


def hooked_scan(out: Path, argv: list[str]) -> None:
    """``imgreview ARGV`` in this process, with the second stage wrapped to record every accepted pair.

    Writes ``out`` (JSON): the accepted pairs (paths, candidate, evidence, the match's correlation and
    the feature counts of both sides) and the seconds spent in ``verify_candidates`` and in its
    feature source. imgreview's code is not changed: its module attributes are wrapped."""
    from imgreview.cli import run
    from imgreview.scan import candidates, pipeline

    matches: dict[tuple[int, int], object] = {}
    real_match = candidates.match_features

    def match(fa, fb, mirrored):  # type: ignore[no-untyped-def]
        m = real_match(fa, fb, mirrored)
        if getattr(m, "accepted", False):
            matches[(id(fa), id(fb))] = m
        return m

    record: dict[str, object] = {"verify_seconds": 0.0, "features_seconds": 0.0, "candidates": 0, "pairs": []}
    real_verify = pipeline.verify_candidates

    def verify(*args, **kwargs):  # type: ignore[no-untyped-def]
        args = list(args)
        source = kwargs["features"] if "features" in kwargs else args[3]
        seen: dict[int, object] = {}

        def timed(items):  # type: ignore[no-untyped-def]
            t = time.monotonic()
            got = source(items)
            record["features_seconds"] += time.monotonic() - t  # type: ignore[operator]
            seen.update(got)
            return got

        if "features" in kwargs:
            kwargs["features"] = timed
        else:
            args[3] = timed
        t0 = time.monotonic()
        accepted = real_verify(*args, **kwargs)
        record["verify_seconds"] += time.monotonic() - t0  # type: ignore[operator]
        record["candidates"] += len(args[0] if args else kwargs["cands"])  # type: ignore[operator]
        paths = getattr(source, "paths", None)
        rows = record["pairs"]
        for key in sorted(accepted):
            c, ev = accepted[key]
            fa, fb = seen.get(c.a), seen.get(c.b)
            m = matches.get((id(fa), id(fb))) if fa is not None and fb is not None else None
            rows.append({  # type: ignore[attr-defined]
                "a": paths[c.a] if paths else c.a, "b": paths[c.b] if paths else c.b,
                "distance": c.distance, "target": c.target, "evidence": ev,
                "correlation": getattr(m, "correlation", None) if ev.get("signal") == "features" else None,
                "features_a": None if fa is None else len(fa.descriptors),
                "features_b": None if fb is None else len(fb.descriptors),
            })
        return accepted

    candidates.match_features = match
    pipeline.verify_candidates = verify
    sys.argv = ["imgreview", *argv]
    try:
        run()
    finally:
        out.write_text(json.dumps(record))


def run_measured(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd`` (check=True); its wall seconds, the peak of its process tree's summed RSS (sampled
    every 0.5 s) and its largest process's maximum RSS, in MiB."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return {"seconds": round(time.monotonic() - t0, 1), "peak_tree_rss_mib": round(peak[0] / 2**20),
            "max_process_rss_mib": round(usage.ru_maxrss / 1024)}


def tree_rss(root: int) -> int:
    """Summed resident bytes of ``root`` and its descendants (from /proc)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            parent[int(d)] = int(fields[1])
            rss[int(d)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    total, stack, seen = 0, [root], set()
    children: dict[int, list[int]] = {}
    for pid, pp in parent.items():
        children.setdefault(pp, []).append(pid)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def measure(folder: Path, planted: dict[str, str], origin: dict[str, str], extra: list[str],
            reuse: bool = False, manifest: dict[str, dict[str, str]] | None = None,
            pairs_out: Path | None = None) -> dict:
    session = folder.parent / (folder.name + "-session")
    result_json = folder.parent / (folder.name + "-scan.json")
    accepted_json = folder.parent / (folder.name + "-accepted.json")
    out = folder.parent / (folder.name + ".json")
    common = ["--session", str(session), "-q", "--layout", "label"]
    t0 = time.monotonic()
    scan_run: dict[str, float] = {}
    if not (reuse and result_json.exists() and out.exists()):
        scan_run = run_measured([sys.executable, str(Path(__file__).resolve()), "--hooked-scan", str(accepted_json),
                                 "scan", str(folder), *common, "--json", str(result_json), *extra])
        subprocess.run([sys.executable, "-m", "imgreview", "check", str(folder), *common, "--json", str(out),
                        *extra], cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    report = json.loads(out.read_text())
    result = json.loads(result_json.read_text())
    hooked = json.loads(accepted_json.read_text()) if accepted_json.exists() else {}
    stats = result.get("stats", {})
    truth = {frozenset((a, b)) for a, b in planted.items()}

    def same_picture(a: str, b: str) -> bool:  # a planted copy and its original, or two copies of one tile
        return planted.get(a, a) == planted.get(b, b)

    def tile(path: str) -> dict[str, object]:
        name = Path(planted.get(path, path)).name
        row = (manifest or {}).get(name, {})
        x, y = row.get("x"), row.get("y")
        return {"tile": name, "source": origin.get(path), "x": None if x is None else int(x),
                "y": None if y is None else int(y),
                "planted_copy": path in planted}

    found_true = false_cross = false_same = 0
    false_examples: list[list[str]] = []
    group_of: dict[str, str] = {}
    group_pairs: list[dict[str, object]] = []
    groups = result.get("groups", [])
    for g in groups:
        members = {m["path"]: m for m in g["members"]}
        for p in members:
            group_of[p] = g["id"]
        for a, b in combinations(sorted(members), 2):
            if frozenset((a, b)) in truth:
                found_true += 1
            elif same_picture(a, b):
                continue
            elif origin.get(a) == origin.get(b):
                false_same += 1
            else:
                false_cross += 1
                if len(false_examples) < 50:
                    false_examples.append([a, b])
                group_pairs.append({"group": g["id"], "reference": g.get("reference"), "a": a, "b": b,
                                    "tile_a": tile(a), "tile_b": tile(b),
                                    "evidence_a": members[a].get("evidence"), "evidence_b": members[b].get("evidence"),
                                    "distance_a": members[a].get("distance"), "distance_b": members[b].get("distance")})
    accepted = hooked.get("pairs", [])
    accepted_cross: list[dict[str, object]] = []
    accepted_same = 0
    for row in accepted:
        a, b = row["a"], row["b"]
        if same_picture(a, b) or frozenset((a, b)) in truth:
            continue
        if origin.get(a) == origin.get(b):
            accepted_same += 1
            continue
        ev = row.get("evidence") or {}
        accepted_cross.append({
            "a": a, "b": b, "tile_a": tile(a), "tile_b": tile(b),
            "same_group": a in group_of and group_of.get(a) == group_of.get(b),
            "distance": row.get("distance"), "route": ev.get("route"), "target": row.get("target"),
            "signal": ev.get("signal"), "matches": ev.get("matches"), "inliers": ev.get("inliers"),
            "scale": ev.get("scale"), "rotation": ev.get("rotation"), "mirror": ev.get("mirror"),
            "overlap_share": ev.get("crop"), "trimmed": ev.get("trimmed", False),
            "correlation": row.get("correlation"), "features_a": row.get("features_a"),
            "features_b": row.get("features_b"), "summary": ev.get("summary"), "evidence": ev})
    conflicts = report.get("dataset", report).get("label_conflicts", [])
    planted_conflicts = sum(1 for c in conflicts if any(frozenset(p) in truth for p in combinations(c["paths"], 2)))
    # A conflict without a planted pair whose files all come from one source picture: a planted copy
    # grouped with another tile of its own source (that picture's shared texture), not a false pair.
    same_source_conflicts = sum(
        1 for c in conflicts
        if not any(frozenset(p) in truth for p in combinations(c["paths"], 2))
        and len({origin.get(str(Path(p).resolve())) for p in c["paths"]}) == 1)
    n_files = len(origin)
    per_source = Counter(origin.values())
    same_pairs = sum(c * (c - 1) // 2 for c in per_source.values())
    all_pairs = n_files * (n_files - 1) // 2
    cross_pairs = all_pairs - same_pairs
    row = {
        "files": n_files, "sources": len(per_source), "planted": len(planted), "seconds": round(seconds, 1),
        **{f"scan_{k}": v for k, v in scan_run.items()},
        "verify_seconds": round(hooked.get("verify_seconds", 0.0), 1) if hooked else None,
        "features_seconds": round(hooked.get("features_seconds", 0.0), 1) if hooked else None,
        "candidate_pairs": stats.get("candidate_pairs"), "verified_pairs": stats.get("verified_pairs"),
        "features_computed": stats.get("features_computed"),
        "true_pairs_found": found_true,
        "false_pairs_cross_source": false_cross, "cross_source_pairs": cross_pairs,
        "false_pair_rate": false_cross / cross_pairs if cross_pairs else 0.0,
        "accepted_cross_source": len(accepted_cross) if hooked else None,
        "accepted_cross_source_rate": len(accepted_cross) / cross_pairs if hooked and cross_pairs else None,
        "accepted_same_source": accepted_same if hooked else None,
        "false_pairs_same_source": false_same, "same_source_pairs": same_pairs,
        "candidate_rate": (stats.get("candidate_pairs") or 0) / all_pairs if all_pairs else 0.0,
        "conflicts": len(conflicts), "planted_conflicts": planted_conflicts,
        "same_source_conflicts": same_source_conflicts,
        "groups": len(groups), "false_examples": false_examples,
    }
    if pairs_out is not None:
        pairs_out.mkdir(parents=True, exist_ok=True)
        stem = pairs_out / f"fp-crosssource-{n_files}"
        summary = {k: v for k, v in row.items() if k != "false_examples"}
        stem.with_suffix(".json").write_text(json.dumps(
            {"summary": summary, "accepted_cross_source": accepted_cross, "group_cross_source": group_pairs},
            indent=1))
        columns = ["a", "b", "source_a", "source_b", "x_a", "y_a", "x_b", "y_b", "planted_copy_a", "planted_copy_b",
                   "same_group", "distance", "route", "target", "signal", "matches", "inliers", "scale", "rotation",
                   "mirror", "overlap_share", "trimmed", "correlation", "features_a", "features_b", "summary"]
        with open(stem.with_suffix(".csv"), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(columns)
            for r in accepted_cross:
                ta, tb = r["tile_a"], r["tile_b"]
                flat = {**r, "source_a": ta["source"], "source_b": tb["source"], "x_a": ta["x"], "y_a": ta["y"],
                        "x_b": tb["x"], "y_b": tb["y"], "planted_copy_a": ta["planted_copy"],
                        "planted_copy_b": tb["planted_copy"]}
                w.writerow([flat.get(c) for c in columns])
    return row


def read_manifest(tiles: Path) -> dict[str, dict[str, str]]:
    manifest = tiles / "manifest.csv"
    if not manifest.exists():
        sys.exit(f"{manifest} is missing: make the tiles with bench/make_lookalike_tiles.py")
    with open(manifest, newline="") as fh:
        return {row["tile"]: row for row in csv.DictReader(fh)}


def main() -> None:
    if sys.argv[1:2] == ["--hooked-scan"]:
        hooked_scan(Path(sys.argv[2]), sys.argv[3:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("tiles", type=Path)
    ap.add_argument("--sizes", default="1000,2000,3000", help="comma-separated tile counts; 'all': every tile")
    ap.add_argument("--share", type=float, default=0.02)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--reuse", action="store_true", help="score the scan and check outputs already in --work")
    ap.add_argument("--pairs-out", type=Path, help="write fp-crosssource-N.json/.csv (every accepted cross-source "
                    "pair with its evidence) in this folder")
    ap.add_argument("scan_args", nargs="*")
    args = ap.parse_args()
    manifest = read_manifest(args.tiles)
    source = {name: row["source"] for name, row in manifest.items()}
    tiles = sorted(args.tiles / name for name in source)
    random.Random(args.seed).shuffle(tiles)
    work = args.work or Path(tempfile.mkdtemp(prefix="imgreview-fp-"))
    rows = []
    for n in (len(tiles) if s == "all" else int(s) for s in args.sizes.split(",")):
        if n > len(tiles):
            print(f"only {len(tiles)} tiles: skipping N={n}", file=sys.stderr)
            continue
        folder = work / f"n{n}"
        if not args.reuse:
            if folder.exists():
                shutil.rmtree(folder)
            shutil.rmtree(work / f"n{n}-session", ignore_errors=True)
        planted, origin = build(tiles, source, n, args.share, folder, args.seed, write=not args.reuse)
        load = os.getloadavg()[0]
        row = measure(folder, planted, origin, args.scan_args, reuse=args.reuse, manifest=manifest,
                      pairs_out=args.pairs_out)
        row["load_before"], row["load_after"] = round(load, 2), round(os.getloadavg()[0], 2)
        rows.append(row)
        if args.json:  # after every size: a later, larger size may be stopped
            args.json.write_text(json.dumps(rows, indent=1))
        print(f"N={row['files']} ({row['sources']} sources): candidates {row['candidate_pairs']} "
              f"({row['candidate_rate']:.2e}/pair), verified {row['verified_pairs']}, "
              f"false pairs across sources {row['false_pairs_cross_source']} ({row['false_pair_rate']:.2e}/pair), "
              f"within one source {row['false_pairs_same_source']} of {row['same_source_pairs']} pairs, "
              f"planted found {row['true_pairs_found']}/{row['planted']}, conflicts {row['conflicts']} "
              f"({row['planted_conflicts']} planted, {row['same_source_conflicts']} a planted copy with a tile of "
              f"its own source), {row['seconds']} s; accepted cross-source pairs {row['accepted_cross_source']}, "
              f"scan {row.get('scan_seconds')} s (second stage {row['verify_seconds']} s, of which features "
              f"{row['features_seconds']} s), peak RSS {row.get('scan_peak_tree_rss_mib')} MiB (tree), "
              f"{row.get('scan_max_process_rss_mib')} MiB (largest process), load {row['load_before']}"
              f" -> {row['load_after']}", flush=True)
    if rows:
        # The sizes are nested subsets of one collection: the largest run says the most.
        big = max(rows, key=lambda r: r["files"])
        pairs = big["cross_source_pairs"]
        rate = big["false_pair_rate"]
        bound = 3.0 / pairs if big["false_pairs_cross_source"] == 0 else None  # rule of three: 95 % upper bound
        print(f"cross-source false-pair rate at N={big['files']}: {rate:.2e}"
              + (f" (none seen; 95% upper bound {bound:.1e})" if bound else "")
              + f"; projected false pairs at 1M pictures: {(bound or rate) * 1e6 * (1e6 - 1) / 2:,.0f}"
              + (" (upper bound)" if bound else ""))


if __name__ == "__main__":
    main()
