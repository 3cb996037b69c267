"""Where a scan's time goes: process start, imports, CLI start-up, and each per-file step of fingerprinting.

CPU seconds (``time.process_time``), not wall clock: the machine is shared, and CPU time of one
process hardly depends on what the other core does. Three parts:

1. start-up, each in a fresh interpreter, best of ``--repeat``: bare ``python -c pass``;
   ``import numpy, PIL.Image``; ``import imgreview.cli.commands.scan`` (everything ``imgreview scan``
   imports before it reads a file); ``imgreview --version``; ``imgreview scan --help``.
2. per-file steps: every file of FOLDER is fingerprinted in this process with the scan's own
   ``fingerprint_file``, each step of it timed by wrapping the function the fingerprint calls (read,
   digest, metadata, decode, RGB conversion, quality statistics, pHash + route hashes, signatures).
3. the whole ``imgreview scan FOLDER --jobs 1 -q --layout none`` (new session), CPU of the process.

    .venv/bin/python bench/scan_profile.py /work/data-speed2/speed/small
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # profile this checkout's code (not whichever imgreview the venv installed)


def child_cpu(cmd: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of a child process, from wait4's resource usage."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} exited {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started


def start_up(repeat: int) -> list[tuple[str, float, float]]:
    py = sys.executable
    cases = [
        ("python -c pass", [py, "-c", "pass"]),
        ("import numpy, PIL.Image", [py, "-c", "import numpy, PIL.Image"]),
        ("import imgreview.cli.commands.scan", [py, "-c", "import imgreview.cli.commands.scan"]),
        ("imgreview --version", [py, "-m", "imgreview", "--version"]),
        ("imgreview scan --help", [py, "-m", "imgreview", "scan", "--help"]),
    ]
    out = []
    for name, cmd in cases:
        runs = [child_cpu(cmd) for _ in range(repeat)]
        out.append((name, min(r[0] for r in runs), min(r[1] for r in runs)))
    return out


def per_file(folder: Path) -> tuple[int, float, dict[str, float]]:
    from imgreview.scan import fingerprint as fp
    from imgreview.settings import HashSettings

    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - t
        return wrapper

    steps = {
        "digest (BLAKE2b)": ("digest_bytes", fp),
        "EXIF facts": ("_exif_facts", fp),
        "metadata (GPS, text)": ("_metadata", fp),
        "PNG trailing chunks": ("adopt_png_trailing_chunks", fp.metadata),
        "decode (reduced)": ("_decode_pixels", fp),
        "reduce for the hash": ("_reduce_for_hash", fp),
        "features from the hash decode": ("_early_features", fp),
        "to RGB (alpha over grey)": ("_to_rgb", fp),
        "quality statistics": ("measure", fp.quality),
        "pHash + route hashes": ("route_hashes", fp),
        "low-information test": ("is_low_information", fp),
    }
    originals = []
    for name, (attr, owner) in steps.items():
        originals.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, timed(name, getattr(owner, attr)))
    settings = HashSettings(with_features=True)  # as the default scan (it verifies)
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs
                   if Path(f).suffix.lower() in fp.IMAGE_EXTENSIONS)
    try:
        total = time.process_time()
        for p in paths:
            fp.fingerprint_file(p, settings)
        total = time.process_time() - total
    finally:
        for owner, attr, fn in originals:
            setattr(owner, attr, fn)
    return len(paths), total, dict(spent)


def whole_scan(folder: Path, repeat: int) -> tuple[float, float]:
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        tmp = Path(tempfile.mkdtemp(prefix="scanprof-"))
        try:
            run = child_cpu([sys.executable, "-m", "imgreview", "scan", str(folder), "--session", str(tmp / "s"),
                             "-q", "--jobs", "1", "--layout", "none"])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        best = min(best, run)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {time.strftime('%H:%M UTC', time.gmtime())}")
    print("\n| start-up (fresh process) | CPU s (best) | wall s (best) |\n|---|---|---|")
    for name, cpu, wall in start_up(args.repeat):
        print(f"| {name} | {cpu:.2f} | {wall:.2f} |")
    n, total, spent = per_file(args.folder)
    print(f"\n{n} files, fingerprinting CPU {total:.2f} s = {1000 * total / max(1, n):.2f} ms/file\n")
    print("| step | CPU s | ms/file | share |\n|---|---|---|---|")
    # quality statistics and the hashes run inside nothing else; EXIF/metadata/decode are separate calls
    for name, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {s:.2f} | {1000 * s / max(1, n):.2f} | {100 * s / total:.0f} % |")
    other = total - sum(spent.values())
    print(f"| other (read, open, signatures, packing) | {other:.2f} | {1000 * other / max(1, n):.2f} | "
          f"{100 * other / total:.0f} % |")
    cpu, wall = whole_scan(args.folder, args.repeat)
    print(f"\nwhole `imgreview scan --jobs 1`: CPU {cpu:.2f} s (best of {args.repeat}), wall {wall:.2f} s; "
          f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
