"""A generated scan whose result main computed before the scan kept its files packed (branch scale5):
the oracle of ``tests/unit/test_scan_memory.py``.

:func:`make` writes a folder tree of small files (their bytes are never decoded) and a session whose
fingerprint cache already holds a synthetic fingerprint for each (families of near hashes, routed
near hashes, identical copies, grey signatures by family, quality statistics, metadata, cached
failures, a quality blob of another layout, a vanished row, hard links, a symbolic link, labels in
train/val/test folders); :func:`result_json` scans it with the real :func:`imgreview.scan.pipeline.scan`
(every file cached) and gives the result's JSON with the root replaced by ``<ROOT>`` and the stats that
say how long it took (or depend on the folder's absolute path) left out.

The stored JSON (``tests/data/scan_golden-*.json``) was written by main at 13e8ea3::

    git archive 13e8ea3 imgreview | tar -x -C /tmp/old
    cd /tmp && PYTHONPATH=/tmp/old:$REPO $REPO/.venv/bin/python -m tests.helpers.scan_golden --write

Regenerate it the same way (with the code whose results are the reference) when a change is meant
to change results (fingerprint routes, verification rules, quality flags, labels).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from imgreview.fs import digest_bytes
from imgreview.scan import quality
from imgreview.scan.cache import FingerprintCache
from imgreview.scan.fingerprint import Failure, Fingerprint
from imgreview.scan.variants import MASK_BYTES, ROUTES, SAME_ROUTES
from imgreview.settings import ScanSettings

DATA = Path(__file__).resolve().parent.parent / "data"
CASES = {"verify": ScanSettings(jobs=1), "noverify": ScanSettings(jobs=1, verify=False)}
_UNSTABLE_STATS = ("seconds", "stage_seconds", "grouping_key")
NBYTES = 8


def _flip(rng: np.random.Generator, h: int, bits: int) -> int:
    for b in rng.choice(64, size=bits, replace=False).tolist():
        h ^= 1 << b
    return h


def _routes(rng: np.random.Generator, bases: list[int]) -> bytes:
    mask = 0
    blob = bytearray(MASK_BYTES + len(ROUTES) * NBYTES)
    for k, name in enumerate(ROUTES):
        if rng.random() < 0.5:
            continue
        mask |= 1 << k
        if name in SAME_ROUTES or rng.random() < 0.2:  # near a family's hash: a routed candidate
            r = _flip(rng, bases[int(rng.integers(len(bases)))], int(rng.integers(0, 10)))
        else:
            r = int(rng.integers(0, 2**63))
        blob[MASK_BYTES + k * NBYTES:MASK_BYTES + (k + 1) * NBYTES] = r.to_bytes(NBYTES, "big")
    blob[:MASK_BYTES] = mask.to_bytes(MASK_BYTES, "big")
    return bytes(blob)


def _quality(rng: np.random.Generator) -> bytes:
    side = int(rng.choice([8, 120, 640, 800]))
    stats = quality.Stats(side, int(side * rng.choice([0.5, 0.75, 1.0, 3.0])), float(rng.random()),
                          float(rng.random() * 0.3), float(rng.random()), float(rng.random() * 400),
                          float(rng.random() * 8), float(rng.random() * 80), float(rng.random() * 60))
    return quality.encode(stats, rng.random(quality.FEATURE_DIM).astype(np.float32))


def make(folder: Path, n: int = 360, seed: int = 5) -> Path:
    """The tree under ``folder/root`` and the session ``folder/session`` (returned)."""
    rng = np.random.default_rng(seed)
    root = folder / "root"
    session = folder / "session"
    session.mkdir(parents=True, exist_ok=True)
    bases = [int(rng.integers(0, 2**63)) for _ in range(n // 6)]
    greys = [rng.integers(0, 256, 256, dtype=np.uint8) for _ in bases]
    colours = [rng.integers(0, 256, 48, dtype=np.uint8) for _ in bases]
    contents: list[tuple[str, bytes, bytes, bool, bytes, bytes]] = []
    for c in range(n // 2):
        fam = int(rng.integers(len(bases)))
        h = _flip(rng, bases[fam], int(rng.integers(0, 3 if rng.random() < 0.7 else 14)))
        noise = rng.integers(-3, 4, 256) * int(rng.choice([0, 1, 6]))
        grey = np.clip(greys[fam].astype(np.int16) + noise, 0, 255).astype(np.uint8).tobytes()
        contents.append((digest_bytes(b"golden %d" % c), h.to_bytes(NBYTES, "big"), _routes(rng, bases),
                         bool(rng.random() < 0.08), grey,
                         (colours[fam] ^ rng.integers(0, int(rng.choice([2, 64])), 48, dtype=np.uint8)).tobytes()))
    files: list[tuple[str, Fingerprint | Failure]] = []
    for i in range(n):
        rel = f"{('train', 'val', 'test')[int(rng.integers(3))]}/label{int(rng.integers(6))}/img{i:04d}.jpg"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 100 + i
        path.write_bytes(bytes(size))
        mtime = 1_700_000_000_000_000_000 + i * 1_000_003
        os.utime(path, ns=(mtime, mtime))
        if rng.random() < 0.03:
            files.append((str(path), Failure(str(path), size, mtime, "synthetic: cannot decode")))
            continue
        digest, h, routes, low, grey, color = contents[int(rng.integers(len(contents)))]
        meta = json.dumps({"gps": [1.5, 2.25]}) if rng.random() < 0.1 else None
        qual = _quality(rng) if rng.random() < 0.97 else b"\0" * 20  # a blob of another layout: no flags
        side = int(rng.choice([64, 200, 300]))
        files.append((str(path), Fingerprint(
            path=str(path), size=size, mtime_ns=mtime, digest=digest, width=side, height=side - i % 7,
            format=("JPEG", "PNG")[i % 2], mode="RGB", taken="2020:01:02 03:04:05" if i % 11 == 0 else None,
            camera="Cam X" if i % 13 == 0 else None, hash=h, lowinfo=low, gray=grey, color=color, routes=routes,
            quality=qual, meta=meta)))
    key = CASES["verify"].hash.key
    assert CASES["noverify"].hash.key == key
    with FingerprintCache(session / "cache.sqlite") as cache:
        cache.store([item for _, item in files], key)
        gone = files[0][1]
        cache.store([replace(gone, path=str(root / "train" / "gone.jpg"))], key)  # vanished since
    # aliases: hard links to cached files (the sorted-first path is the one fingerprinted), a link not followed
    (root / "zz").mkdir()
    os.link(files[5][0], root / "zz" / "hardlink5.jpg")
    os.link(files[9][0], root / "zz" / "hardlink9.jpg")
    os.symlink(files[7][0], root / "val" / "symlink.jpg")
    return session


def result_json(folder: Path, case: str) -> str:
    """Scan the tree (a copy of the session per case) and give the normalised JSON of its result."""
    import shutil

    from imgreview.scan.pipeline import scan
    from imgreview.session.folder import Session

    session = folder / f"session-{case}"
    if session.exists():
        shutil.rmtree(session)
    shutil.copytree(folder / "session", session)
    scan([str(folder / "root")], CASES[case], Session(session))
    result = Session(session).load_result()
    for k in _UNSTABLE_STATS:
        result.stats.pop(k, None)
    data = json.loads(result.to_json())
    return json.dumps(data, indent=1, sort_keys=True).replace(str(folder / "root"), "<ROOT>") + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write tests/data/scan_golden-*.json")
    ap.add_argument("--dir", help="work folder (default: a temporary one)")
    args = ap.parse_args()
    import tempfile

    import imgreview

    print("imgreview from", Path(imgreview.__file__).parent, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir or tmp)
        make(folder)
        for case in CASES:
            text = result_json(folder, case)
            target = DATA / f"scan_golden-{case}.json"
            if args.write:
                DATA.mkdir(exist_ok=True)
                target.write_text(text)
                print("wrote", target, len(text), "chars", file=sys.stderr)
            else:
                same = target.exists() and target.read_text() == text
                print(case, "same as stored" if same else "DIFFERENT from stored", file=sys.stderr)


if __name__ == "__main__":
    main()
