"""Smoke run of the benchmark helpers on tiny inputs (the benchmarks themselves are not part of CI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from imgreview.scan.search import exact_pairs, hamming

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_index_bench_generator_and_worker(tmp_path: Path) -> None:
    bench = _load("index_bench")
    h = bench.clustered_hashes(3000, 64, seed=1)
    assert h.dtype == np.uint64 and h.shape[1] == 1 and 2900 < len(h) <= 3000
    assert len(np.unique(h, axis=0)) == len(h)
    pairs = exact_pairs(h, 64, 10)
    assert len(pairs) > 300  # the clusters are there
    assert (hamming(h[pairs.i], h[pairs.j]) <= 10).all()
    data = tmp_path / "h.npy"
    np.save(data, h)
    out = bench.worker({"data": str(data), "nbits": 64, "threshold": 10, "engine": "exact", "workers": 1})
    assert out["pairs"] == len(pairs) and out["groups"] > 0 and out["peak_mb"] > 0


def test_index_bench_256_bits() -> None:
    bench = _load("index_bench")
    h = bench.clustered_hashes(500, 256, seed=2)
    assert h.shape[1] == 4
    assert len(exact_pairs(h, 256, 40)) > 20


def _tiny_folder(root: Path) -> Path:
    from tests.helpers.imagegen import resized, save, scene

    root.mkdir()
    for seed in range(4):
        img = scene(seed, (200, 150))
        save(img, root / f"p{seed}.jpg", quality=90)
        save(resized(img, 0.7), root / f"p{seed}__small.png")  # a copy: a candidate pair
    return root


def test_scan_profile_times_every_step(tmp_path: Path) -> None:
    bench = _load("scan_profile")
    n, total, spent = bench.per_file(_tiny_folder(tmp_path / "imgs"))
    assert n == 8 and total > 0
    assert {"decode (reduced)", "pHash + route hashes", "quality statistics", "digest (BLAKE2b)"} <= set(spent)
    from imgreview.scan import fingerprint as fp

    assert fp.route_hashes.__name__ == "route_hashes"  # the wrappers are taken off again


def test_second_stage_bench_counts_and_times_candidates(tmp_path: Path) -> None:
    import json
    import subprocess

    folder = _tiny_folder(tmp_path / "imgs")
    truth = tmp_path / "truth.csv"
    truth.write_text("path,picture\n" + "".join(f"p{s}.jpg,p{s}\np{s}__small.png,p{s}\n" for s in range(4)))
    out = tmp_path / "ss.json"
    subprocess.run([sys.executable, str(BENCH / "second_stage.py"), str(folder), "--truth", str(truth),
                    "--sizes", "8", "--jobs", "1", "--project", "1000", "--json", str(out)],
                   check=True, capture_output=True, timeout=300)
    data = json.loads(out.read_text())
    row = data["rows"][-1]
    assert row["n"] == 8 and row["true"] >= 4 and row["feature_files"] >= 8
    assert data["ms_per_file"] > 0 and data["ms_per_pair"] > 0
    assert data["projections"][0]["n"] == 1000


def test_store_bench_runs_the_commands_on_a_tiny_result(tmp_path: Path) -> None:
    import json
    import subprocess

    run = subprocess.run([sys.executable, str(BENCH / "store_bench.py"), "--pictures", "300", "--groups", "90",
                          "--decided", "10", "--dir", str(tmp_path), "--only", "undecided,check,apply"],
                         capture_output=True, text=True, timeout=300, check=True)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    seen = {line.get("what"): line for line in lines}
    assert set(seen) >= {"undecided", "check", "apply"}
    assert seen["undecided"]["exit"] == 0 and seen["undecided"]["out_mb"] is not None
    assert seen["check"]["leaks"] >= 1 and seen["apply"]["skipped"] > 0  # group 89 leaks; the files do not exist
