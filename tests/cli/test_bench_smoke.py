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
