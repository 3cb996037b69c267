"""Rescan benchmark: first scan, unchanged rescan and a rescan after changing 1 % of the files, per stage.

Generates (once, seeded) ``bench/data/rescan/tree-N``: N small pictures (64–128 px, half JPEG, half
PNG) in 100 label folders, smooth random textures with a few drawn shapes (so that hashing and
local features do real work), and 2 % planted copies (resized, brightened, re-encoded, mirrored)
next to their originals. Then, for each code tree given (this checkout, and ``--code DIR`` for
another, e.g. ``git archive main imgreview | tar -x -C DIR``), in a fresh session:

* first scan (cold cache);
* rescan of the unchanged tree;
* rescan after changing 1 % of the files: a third rewritten with another picture, a third deleted,
  a third added (half of them copies of pictures already there); the tree is put back afterwards
  (same bytes and mtimes), so every code tree sees the same change.

Each scan runs in a child process (``pipeline.scan`` with ``--jobs`` workers, no ``--json``); the
stages are timed from the scan's progress reports: ``walk`` + ``hash`` (from the cache or
fingerprinted), ``search`` (the ``index`` stage to the first ``verify`` report), ``verify``,
``group`` (building the groups, and in this code writing the pair store), and ``save`` (labels,
quality flags, writing the result). Wall clock of the child includes interpreter start-up.

Usage (from the repository root)::

    .venv/bin/python bench/rescan_bench.py --files 10000
    .venv/bin/python bench/rescan_bench.py --files 100000 --code /tmp/main-code --repeat 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageOps

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "rescan"
LABELS = 100
COPY_SHARE = 0.02
STAGES = ("walk", "hash", "index", "verify", "group")


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    side = int(rng.integers(64, 129))
    coarse = rng.integers(0, 256, size=(int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3), dtype=np.uint8)
    img = Image.fromarray(coarse, "RGB").resize((side, side), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = int(rng.integers(0, side)), int(rng.integers(0, side))
        x1, y1 = x0 + int(rng.integers(side // 8, side // 2)), y0 + int(rng.integers(side // 8, side // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    arr = np.asarray(img, dtype=np.int16) + rng.integers(-12, 13, size=(side, side, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def edited(img: Image.Image, kind: int) -> Image.Image:
    w, h = img.size
    if kind == 0:
        return img.resize((max(8, w * 3 // 4), max(8, h * 3 // 4)), Image.Resampling.LANCZOS)
    if kind == 1:
        return Image.eval(img, lambda v: min(255, int(v * 1.2)))
    if kind == 2:
        return ImageOps.mirror(img)
    return img  # re-encoded only (saved as JPEG below)


def _save(img: Image.Image, name: str) -> None:
    if name.endswith(".png"):
        img.save(name, optimize=False, compress_level=1)
    else:
        img.save(name, quality=90)


def _make(args: tuple[int, str, int, int]) -> None:
    index, name, seed, copy_of = args
    if copy_of >= 0:
        _save(edited(picture(seed * 1_000_003 + copy_of), index % 4), name)
    else:
        _save(picture(seed * 1_000_003 + index), name)


def layout(files: int, seed: int) -> list[tuple[int, str, int]]:
    """(index, relative name, index of the original or -1) of every file of the tree."""
    rng = np.random.default_rng(seed)
    copies = set(rng.choice(files, size=int(files * COPY_SHARE), replace=False).tolist())
    out = []
    for i in range(files):
        label = f"label{i % LABELS:03d}"
        orig = int(rng.integers(0, files)) if i in copies else -1
        while orig in copies:
            orig = int(rng.integers(0, files))
        ext = ".jpg" if (i % 2 == 0 or orig >= 0) else ".png"
        out.append((i, f"{label}/img{i:07d}{ext}", orig))
    return out


def make_tree(path: Path, files: int, seed: int = 6, jobs: int = 2) -> Path:
    """The image tree, generated once; a marker file records its size and seed."""
    marker = path / ".complete"
    if marker.exists() and marker.read_text() == f"{files} {seed} v2":
        return path
    if path.exists():
        shutil.rmtree(path)
    tasks = []
    for i, rel, orig in layout(files, seed):
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        tasks.append((i, str(path / rel), seed, orig))
    with Pool(jobs) as pool:
        pool.map(_make, tasks, chunksize=256)
    marker.write_text(f"{files} {seed} v2")
    return path


class Change:
    """1 % of the files changed (a third rewritten, a third deleted, a third added), and undone."""

    def __init__(self, tree: Path, files: int, seed: int, share: float = 0.01) -> None:
        rng = np.random.default_rng(seed + 77)
        names = [rel for _, rel, _ in layout(files, seed)]
        k = max(3, int(files * share))
        picked = rng.choice(files, size=2 * (k // 3), replace=False).tolist()
        self.tree = tree
        self.edit = [names[i] for i in picked[:k // 3]]
        self.delete = [names[i] for i in picked[k // 3:]]
        self.add = [(f"label{j % LABELS:03d}/new{j:06d}.jpg", int(rng.integers(0, files)) if j % 2 else -1)
                    for j in range(k - 2 * (k // 3))]
        self.seed = seed
        self.backup = Path(tempfile.mkdtemp(prefix="imgreview-rescan-backup-"))

    def apply(self) -> None:
        for rel in self.edit + self.delete:
            (self.backup / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.tree / rel, self.backup / rel)
        stamp = 1_700_000_000 * 10**9  # fixed mtimes: every code tree stores the same result
        for j, rel in enumerate(self.edit):
            _save(picture(10**9 + j), str(self.tree / rel))
            os.utime(self.tree / rel, ns=(stamp + j, stamp + j))
        for rel in self.delete:
            (self.tree / rel).unlink()
        for j, (rel, orig) in enumerate(self.add):
            src = picture(self.seed * 1_000_003 + orig) if orig >= 0 else picture(2 * 10**9 + j)
            _save(edited(src, j % 4) if orig >= 0 else src, str(self.tree / rel))
            os.utime(self.tree / rel, ns=(stamp + 10**6 + j, stamp + 10**6 + j))

    def undo(self) -> None:
        for rel, _ in self.add:
            (self.tree / rel).unlink(missing_ok=True)
        for rel in self.edit + self.delete:
            shutil.copy2(self.backup / rel, self.tree / rel)
        shutil.rmtree(self.backup, ignore_errors=True)


def child(tree: str, session: str, jobs: int, verify: bool = True) -> None:
    """One scan, in this process; prints its stage times and stats as JSON."""
    started = time.perf_counter()
    from imgreview.scan.pipeline import scan
    from imgreview.session.folder import Session
    from imgreview.settings import ScanSettings

    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.setdefault(stage, now)
        if stage == "group" and done and done == total:
            marks.setdefault("group_done", now)

    scan_start = time.perf_counter()
    result = scan([tree], ScanSettings(jobs=jobs, verify=verify), Session(Path(session)), progress=progress,
                  keep_groups=False)
    end = time.perf_counter()
    points = [("walk", scan_start)] + [(s, marks[s]) for s in STAGES[1:] if s in marks]
    points.append(("save", marks.get("group_done", end)))
    stages = {name: round(points[k + 1][1] - t if k + 1 < len(points) else end - t, 3)
              for k, (name, t) in enumerate(points)}
    stages = {("search" if k == "index" else k): v for k, v in stages.items()}
    keep = ("files", "hashed", "cached", "groups", "candidate_pairs", "verified_pairs", "features_computed",
            "incremental", "incremental_counts", "reused_groups", "stage_seconds")
    # what was stored, to compare code trees (outside the timed part): groups, members, evidence, flags
    stored = Session(Path(session)).load_result().to_dict()
    digest = hashlib.sha256(json.dumps([stored["groups"], stored["errors"], stored.get("quality")],
                                       sort_keys=True).encode()).hexdigest()[:16]
    print(json.dumps({"wall_in_process": round(end - started, 3), "stages": stages, "result_digest": digest,
                      "stats": {k: result.stats.get(k) for k in keep if k in result.stats}}))


def run(tree: Path, session: Path, jobs: int, code: Path | None, verify: bool = True) -> dict[str, Any]:
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(tree), str(session),
                          str(jobs), "1" if verify else "0"], check=True, env=env, capture_output=True, text=True,
                         cwd=str(code) if code is not None else str(ROOT))
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    row["wall"] = round(time.perf_counter() - started, 3)
    return row


def synthetic(n: int, with_routes: bool, seed: int = 3, change: float = 0.01,
              workdir: Path | None = None) -> list[dict[str, Any]]:
    """The search and regrouping alone on ``n`` synthetic contents (no files, no verification):
    a full search that writes the pair store, then 1 % of the contents replaced and searched
    incrementally, against a full search of the changed set (the groups compared)."""
    from dataclasses import asdict

    from imgreview.scan.fingerprint import Fingerprint
    from imgreview.scan.pipeline import build_groups
    from imgreview.scan.variants import MASK_BYTES, ROUTES
    from imgreview.scan.walk import FileEntry
    from imgreview.settings import ScanSettings

    rng = np.random.default_rng(seed)
    nbytes = 8
    grey, colour = bytes(256), bytes(48)
    mask = ((1 << len(ROUTES)) - 1).to_bytes(MASK_BYTES, "big")

    def hashes(count: int) -> np.ndarray:
        """80 % singletons, the rest in families of 2-20 within a few bits of a base."""
        out = rng.integers(0, 2**63, size=count, dtype=np.int64).astype(np.uint64)
        k = int(count * 0.8)
        while k < count:
            size = min(count - k, int(rng.integers(2, 21)))
            base = out[k]
            for j in range(k, k + size):
                h = int(base)
                for b in rng.choice(64, size=int(rng.integers(0, 7)), replace=False).tolist():
                    h ^= 1 << b
                out[j] = np.uint64(h)
            k += size
        return out

    k = int(n * change)
    width = len(ROUTES) * nbytes
    # the query hashes of content ``ident`` (random: few routed candidates, but the full cost of searching them)
    table = (rng.integers(0, 2**63, size=(n + k, len(ROUTES)), dtype=np.int64).astype(">u8").tobytes()
             if with_routes else b"")

    def fingerprints(hs: np.ndarray, ids: np.ndarray) -> tuple[dict[str, FileEntry], dict[str, Fingerprint]]:
        entries, fps = {}, {}
        for h, ident in zip(hs.tolist(), ids.tolist(), strict=True):
            path = f"/syn/d{ident % 1000:03d}/f{ident:08d}.jpg"
            fps[path] = Fingerprint(path=path, size=1000, mtime_ns=ident, digest=f"{ident:032x}", width=100,
                                    height=100, format="JPEG", mode="RGB", taken=None, camera=None,
                                    hash=int(h).to_bytes(nbytes, "big"), lowinfo=False, gray=grey, color=colour,
                                    routes=mask + table[ident * width:(ident + 1) * width] if with_routes else b"")
            entries[path] = FileEntry(path, "/syn", 1000, ident, 0, ident)
        return entries, fps

    hs = hashes(n)
    ids = rng.permutation(n).astype(np.int64)
    settings = ScanSettings(jobs=2, verify=False)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="imgreview-synthetic-"))
    store = workdir / "pairs.sqlite"
    store.unlink(missing_ok=True)
    rows = []

    def timed(label: str, entries: dict[str, FileEntry], fps: dict[str, Fingerprint], pairs: Path | None
              ) -> list[dict[str, Any]]:
        started = time.perf_counter()
        result, extra = build_groups(["/syn"], entries, fps, settings, set(), pairs_path=pairs)
        wall = time.perf_counter() - started
        row = {"files": n, "routes": with_routes, "run": label, "wall": round(wall, 2), "stage_seconds": extra.get("stage_seconds"),
               "candidate_pairs": extra.get("candidate_pairs"), "groups": len(result.groups),
               "incremental": extra.get("incremental"), "counts": extra.get("incremental_counts"),
               "loadavg": os.getloadavg()}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        return [asdict(g) for g in result.groups]

    entries, fps = fingerprints(hs, ids)
    timed("first (full search, store written)", entries, fps, store)
    drop = rng.choice(n, size=k, replace=False)
    keep = np.ones(n, dtype=bool)
    keep[drop] = False
    new_h = hashes(k)
    new_h[: k // 2] = hs[rng.choice(n, size=k // 2)] ^ np.uint64(1 << 3)  # half near a content still there
    hs2 = np.concatenate([hs[keep], new_h])
    ids2 = np.concatenate([ids[keep], np.arange(n, n + k, dtype=np.int64)])
    del entries, fps
    entries, fps = fingerprints(hs2, ids2)
    got = timed("1% changed, incremental", entries, fps, store)
    want = timed("1% changed, full search (before)", entries, fps, None)
    print(f"groups identical: {got == want}", file=sys.stderr)
    rows[-1]["identical"] = rows[-2]["identical"] = got == want
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="changed rescans per code tree (best taken)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="another code tree to measure (its imgreview package first on PYTHONPATH)")
    parser.add_argument("--json", type=Path, help="write results here (default bench/data/rescan/results-N.json)")
    parser.add_argument("--warm", action="store_true",
                        help="the other code trees start from the first one's fingerprint and feature caches "
                             "(their first scan then times the search, verification and grouping, not hashing)")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="instead: the search and regrouping alone on N synthetic contents (no files)")
    parser.add_argument("--routes", action="store_true", help="--synthetic with query hashes (30 random per content)")
    parser.add_argument("--no-verify", action="store_true", help="scan with --no-verify (search and grouping only)")
    parser.add_argument("--cache", type=Path, help="seed the first session with this fingerprint cache "
                                                   "(cache.sqlite of an earlier scan of the same tree)")
    parser.add_argument("--full-too", action="store_true",
                        help="also time the changed rescan as a full search (a copy of the session without "
                             "its pair store), and compare the stored results")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.child[3] == "1")
        return
    if args.synthetic:
        found = synthetic(args.synthetic, args.routes)
        where = args.json or DATA / f"synthetic-{args.synthetic}.json"
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": found},
                                    indent=1))
        return

    t0 = time.perf_counter()
    tree = make_tree(DATA / f"tree-{args.files}", args.files)
    print(f"tree: {args.files} files ({time.perf_counter() - t0:.1f} s to generate or check)", file=sys.stderr)
    results = []
    caches = Path(tempfile.mkdtemp(prefix="imgreview-rescan-caches-"))
    for n, code in enumerate([None, *args.code]):
        name = "this" if code is None else str(code)
        session = Path(tempfile.mkdtemp(prefix="imgreview-rescan-"))
        try:
            first = "first"
            if n and args.warm:  # the fingerprints (and features) of the first code tree's first scan
                first = "first, fingerprints cached"
                for cached in caches.iterdir():
                    shutil.copy(cached, session / cached.name)
            if n == 0 and args.cache:
                first = "first, fingerprints cached"
                shutil.copy(args.cache, session / "cache.sqlite")
            verify = not args.no_verify
            runs = {first: run(tree, session, args.jobs, code, verify)}
            if n == 0:
                for fname in ("cache.sqlite", "features.sqlite"):
                    if (session / fname).exists():
                        shutil.copy(session / fname, caches / fname)
            runs["unchanged"] = run(tree, session, args.jobs, code, verify)
            changed = []
            full = []
            for r in range(args.repeat):
                change = Change(tree, args.files, 6 + r)
                if args.full_too:
                    twin = Path(tempfile.mkdtemp(prefix="imgreview-rescan-full-"))
                    shutil.copytree(session, twin, dirs_exist_ok=True)
                    (twin / "pairs.sqlite").unlink(missing_ok=True)
                change.apply()
                try:
                    changed.append(run(tree, session, args.jobs, code, verify))
                    if args.full_too:
                        full.append(run(tree, twin, args.jobs, code, verify))
                        shutil.rmtree(twin, ignore_errors=True)
                finally:
                    change.undo()
                if r + 1 < args.repeat:
                    run(tree, session, args.jobs, code, verify)  # back to the unchanged tree's state
            runs["changed_1pct"] = min(changed, key=lambda row: row["wall"])
            if full:
                runs["changed_1pct, full search"] = min(full, key=lambda row: row["wall"])
        finally:
            shutil.rmtree(session, ignore_errors=True)
        for kind, row in runs.items():
            row.update({"code": name, "files": args.files, "run": kind, "loadavg": os.getloadavg(),
                        "verify": not args.no_verify})
            results.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    shutil.rmtree(caches, ignore_errors=True)
    out = args.json or DATA / f"results-{args.files}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": results},
                              indent=1))
    print("| code | files | run | wall s | walk+hash | search | verify | group | save | candidates | verified "
          "| incremental | result |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for res in results:
        st, s = res["stages"], res["stats"]
        print(f"| {res['code']} | {res['files']:,} | {res['run']} | {res['wall']:.2f} | "
              f"{st.get('walk', 0) + st.get('hash', 0):.2f} | {st.get('search', 0):.2f} | {st.get('verify', 0):.2f} | "
              f"{st.get('group', 0):.2f} | {st.get('save', 0):.2f} | {s.get('candidate_pairs')} | "
              f"{s.get('verified_pairs')} | {s.get('incremental', s.get('reused_groups'))} | {res['result_digest']} |")


if __name__ == "__main__":
    main()
