"""Index and grouping benchmark: exact vs NGT pair search on generated hashes with near-duplicate clusters.

Generates seeded sets of hashes that look like a real collection (most items singletons, the rest
in clusters of 2..20 members each a few bits from a centre), then times, each run in its own
subprocess so peak memory (``VmHWM``) belongs to that run alone:

* ``exact``: :func:`imgreview.index.exact_pairs` (1 and 2 worker threads), then the grouping step
  :func:`imgreview.grouping.reference_groups` on its pairs;
* ``ngt``: :func:`imgreview.index.ngt_pairs` with build and search timed separately, for a few
  ``k``/``epsilon`` settings, and its recall against the exact pairs.

Usage (from the repository root)::

    .venv/bin/python bench/index_bench.py                  # 100k/64-bit, 100k/256-bit, 1M/64-bit
    .venv/bin/python bench/index_bench.py --sizes 100000 --no-256 --repeat 1
    .venv/bin/python bench/index_bench.py --ngt-1m          # also NGT at 1M (slow: tens of minutes)
    .venv/bin/python bench/index_bench.py --configs 1000000:64:12,100000:256:40 --ngt 30:0.1 --workers 2

Results: a markdown table on stdout and ``bench/data/index/results.json``; ``--plot`` writes
``bench/index_bench.png`` (needs matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


DATA = ROOT / "bench" / "data" / "index"


def clustered_hashes(n: int, nbits: int = 64, singleton_fraction: float = 0.8, max_cluster: int = 20,
                     spread: int | None = None, seed: int = 0) -> np.ndarray:
    """``n`` hashes (fewer after removing exact repeats): singletons plus clusters of 2..``max_cluster``
    members, each member 0..``spread`` random bits from its cluster centre; shuffled; seeded."""
    rng = np.random.default_rng(seed)
    words = nbits // 64
    spread = spread if spread is not None else 12 * nbits // 64
    n_single = int(n * singleton_fraction)
    n_clustered = n - n_single
    sizes = rng.integers(2, max_cluster + 1, size=n_clustered // 2 + 2)
    ends = np.cumsum(sizes)
    k = int(np.searchsorted(ends, n_clustered)) + 1
    sizes = sizes[:k]
    sizes[-1] -= ends[k - 1] - n_clustered
    sizes = sizes[sizes > 0]

    def random_words(count: int) -> np.ndarray:
        return rng.integers(0, 2**64, size=(count, words), dtype=np.uint64, endpoint=False)

    centres = random_words(len(sizes))
    owner = np.repeat(np.arange(len(sizes)), sizes)
    m = len(owner)
    flips = rng.integers(0, spread + 1, size=m)
    members = centres[owner].copy()
    # Flip ``flips[r]`` distinct random bits of row r: the first flips[r] of a random permutation.
    ranks = np.argsort(rng.random((m, nbits), dtype=np.float32), axis=1)
    chosen = np.arange(nbits)[None, :] < flips[:, None]
    for w in range(words):
        in_word = chosen & (ranks // 64 == w)
        bits = np.where(in_word, np.uint64(1) << (ranks % 64).astype(np.uint64), np.uint64(0))
        members[:, w] ^= np.bitwise_or.reduce(bits, axis=1)
    everything = np.concatenate([random_words(n_single), members])
    everything = everything[rng.permutation(len(everything))]
    _, first = np.unique(everything, axis=0, return_index=True)
    return everything[np.sort(first)]


def dataset(n: int, nbits: int, seed: int = 0) -> Path:
    path = DATA / f"hashes-{n}-{nbits}-s{seed}.npy"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        np.save(path, clustered_hashes(n, nbits, seed=seed))
    return path


# --------------------------------------------------------------------------- one run (subprocess)


def worker(spec: dict) -> dict:
    from imgreview.scan.grouping import reference_groups
    from imgreview.scan.search import exact_pairs, ngt_pairs

    hashes = np.load(spec["data"])
    nbits, threshold = spec["nbits"], spec["threshold"]
    out: dict = {"hashes": len(hashes)}
    started = time.perf_counter()
    cpu0 = time.process_time()
    if spec["engine"] == "exact":
        pairs = exact_pairs(hashes, nbits, threshold, workers=spec.get("workers", 0))
        out["search_s"] = time.perf_counter() - started
        if spec.get("save"):
            np.savez(spec["save"], i=pairs.i, j=pairs.j)
    else:
        timings: dict[str, float] = {}
        pairs = ngt_pairs(hashes, nbits, threshold, k=spec["k"], epsilon=spec["epsilon"], timings=timings)
        out["build_s"] = timings["build"]
        out["ngt_search_s"] = timings["search"]
        out["search_s"] = time.perf_counter() - started
        if spec.get("truth") and os.path.exists(spec["truth"]):
            t = np.load(spec["truth"])
            n = len(hashes)
            truth = np.unique(t["i"] * n + t["j"])
            got = np.unique(pairs.i * n + pairs.j)
            out["recall"] = float(np.isin(truth, got).sum() / max(1, len(truth)))
    out["pairs"] = len(pairs)
    t0 = time.perf_counter()
    keys = [f"{k:09d}" for k in range(len(hashes))]
    groups = reference_groups(len(hashes), pairs, keys)
    out["group_s"] = time.perf_counter() - t0
    out["groups"] = len(groups)
    out["total_s"] = time.perf_counter() - started
    out["cpu_s"] = time.process_time() - cpu0
    out["peak_mb"] = peak_mb()
    return out


def peak_mb() -> float:
    """Peak resident memory of this process. ``VmHWM`` belongs to this process image alone; ``ru_maxrss``
    can carry the parent's high-water mark across fork+exec on Linux, so it is only the fallback."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(spec: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"run {spec} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of(spec: dict, repeat: int) -> dict:
    results = [run(spec) for _ in range(repeat)]
    best = min(results, key=lambda r: r["total_s"])
    best["runs_total_s"] = [round(r["total_s"], 2) for r in results]
    return best


# --------------------------------------------------------------------------- the benchmark


def configurations(args: argparse.Namespace) -> list[tuple[int, int, int]]:
    if args.configs:
        return [tuple(int(x) for x in c.split(":")) for c in args.configs.split(",")]  # type: ignore[misc]
    out = [(n, 64, 10) for n in args.sizes]
    if not args.no_256:
        out.append((100_000, 256, 40))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--configs", help="explicit runs N:BITS:THRESHOLD,... (overrides --sizes/--no-256)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1], help="exact-engine threads to try")
    parser.add_argument("--out", default="results.json", help="results file name in bench/data/index/")
    parser.add_argument("--no-256", action="store_true", help="skip the 256-bit (hash size 16) run")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for 100k runs (1M runs once)")
    parser.add_argument("--ngt", default="30:0.1,10:0.1,30:0.3", help="k:epsilon settings for NGT")
    parser.add_argument("--ngt-1m", action="store_true", help="also run NGT at 1M (default settings only)")
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    rows: list[dict] = []
    for n, nbits, threshold in configurations(args):
        data = dataset(n, nbits)
        truth = DATA / f"exact-{n}-{nbits}-{threshold}.npz"
        repeat = args.repeat if n <= 200_000 else 1
        base = {"data": str(data), "nbits": nbits, "threshold": threshold}
        for w, workers in enumerate(args.workers):
            spec = {**base, "engine": "exact", "workers": workers, "save": str(truth) if w == 0 else None}
            r = best_of(spec, repeat)
            rows.append({"n": n, "nbits": nbits, "threshold": threshold, "engine": f"exact, {workers} thread(s)", **r})
            print(_row(rows[-1]), file=sys.stderr, flush=True)
        if n > 200_000 and not args.ngt_1m:
            continue
        settings = args.ngt.split(",") if n <= 200_000 else args.ngt.split(",")[:1]
        for setting in settings:
            k, eps = setting.split(":")
            spec = {**base, "engine": "ngt", "k": int(k), "epsilon": float(eps), "truth": str(truth)}
            r = best_of(spec, 1)
            rows.append({"n": n, "nbits": nbits, "threshold": threshold, "engine": f"ngt k={k} ε={eps}", **r})
            print(_row(rows[-1]), file=sys.stderr, flush=True)

    DATA.mkdir(parents=True, exist_ok=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "python": platform.python_version(),
            "numpy": np.__version__, "nproc": os.cpu_count(), "loadavg": os.getloadavg()}
    (DATA / args.out).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(table(rows))
    if args.plot:
        plot(rows, ROOT / "bench" / args.out.replace("results", "index_bench").replace(".json", ".png"))


def _row(r: dict) -> str:
    return " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items() if k != "data")


def table(rows: list[dict]) -> str:
    head = ("| hashes | bits | t | engine | build s | search s | group s | total s | CPU s | peak MB | pairs | "
            "recall | runs (total s) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r['hashes']:,} | {r['nbits']} | {r['threshold']} | {r['engine']} | "
            f"{r.get('build_s', float('nan')):.1f} | {r['search_s']:.1f} | {r['group_s']:.1f} | {r['total_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['peak_mb']:.0f} | {r['pairs']:,} | "
            f"{r['recall'] * 100:.2f}% | {', '.join(map(str, r['runs_total_s']))} |"
            if "recall" in r else
            f"| {r['hashes']:,} | {r['nbits']} | {r['threshold']} | {r['engine']} | – | {r['search_s']:.1f} | "
            f"{r['group_s']:.1f} | {r['total_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_mb']:.0f} | {r['pairs']:,} | "
            f"100% (exact) | {', '.join(map(str, r['runs_total_s']))} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['hashes'] // 1000}k/{r['nbits']}b\n{r['engine']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 1.2), 4))
    x = np.arange(len(rows))
    build = [r.get("build_s", 0.0) for r in rows]
    search = [r["search_s"] - r.get("build_s", 0.0) for r in rows]
    group = [r["group_s"] for r in rows]
    ax.bar(x, build, label="NGT build")
    ax.bar(x, search, bottom=build, label="pair search")
    ax.bar(x, group, bottom=np.add(build, search), label="grouping")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("seconds (wall)")
    ax.set_yscale("log")
    ax.set_title("Pair search + grouping (lower is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
