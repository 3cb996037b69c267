"""The result database at scale: write, open the review, read pages; against the old scan.json.

Synthesises a scan result like 1,000,000 pictures in 300,000 duplicate groups (2-5 files each, a
label per folder, train/val/test splits, every 97th group a label conflict, every 89th a split
leak, every third group identical copies, evidence on every non-reference member) and writes it straight into a session's
``results.sqlite`` with the scan's own writer. Then, each in a fresh process (so its peak memory is
its own, read from ``VmHWM``):

* ``open``: from the process start (imports included) to the review's first group on screen,
  headless (Textual ``run_test``, no pictures), with a journal of ``--decided`` decided groups;
* ``state``: the same without the app: load the header and the page index, build the review state;
* ``page``: reading 1,000 groups at random positions (no cache);
* ``load``: ``Session.load_result()`` of the whole result (what export/apply/check/resolve read before
  they read only what they need);
* ``export``: ``imgreview export --delete FILE`` (the groups the journal names);
* ``undecided``: ``imgreview export --undecided FILE --format csv`` (every undecided file: all groups,
  a batch at a time);
* ``check``: the health report of ``imgreview check`` from the stored result (the scan before it is
  not run: the paths are synthetic);
* ``resolve``: ``imgreview resolve --exact --dry-run`` (the groups with identical copies: every third);
* ``apply``: ``imgreview apply --dry-run`` planning (the synthetic files do not exist, so every move is
  skipped as "no longer exists"; what is measured is reading the decisions and planning);
* ``legacy``: (``--legacy``) the review's state from the same result as an old session's scan.json.

``--code DIR`` runs the measurements with the ``imgreview`` package found in DIR (e.g. an older
commit unpacked with ``git archive``), for a before/after on the same database in the same run.

Usage: ``python bench/store_bench.py [--pictures 1000000] [--groups 300000] [--dir DIR] [--legacy]
[--only export,check] [--code DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("STORE_BENCH_CODE") or str(ROOT))
START = time.perf_counter()


def peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make(folder: Path, pictures: int, groups: int, decided: int, legacy: bool) -> None:
    import numpy as np

    from imgreview.model import Group, Member, ScanResult
    from imgreview.session.folder import Session
    from imgreview.session.journal import Change, Journal

    rng = np.random.default_rng(0)
    sizes = rng.integers(2, 6, groups)
    sizes = np.maximum(2, np.round(sizes * (pictures / sizes.sum()))).astype(int)  # about `pictures` in all
    root = "/datasets/big"
    out = []
    t = time.perf_counter()
    n = 0
    for gi in range(groups):
        members = []
        for k in range(int(sizes[gi])):  # one label and split per group but for the conflicts and leaks
            label = f"label{(gi + (k if gi % 97 == 0 else 0)) % 1000:04d}"
            split = ("train", "val", "test")[k % 3 if gi % 89 == 0 else 0]
            evidence = None if k == 0 else {"signal": "hash", "summary": f"hash distance {k}", "distance": k}
            digest = f"{gi:016x}{0 if gi % 3 == 0 else k:016x}"  # an exact group: identical copies
            members.append(Member(
                path=f"{root}/{split}/{label}/img{n:08d}.jpg", digest=digest, distance=k,
                size=50_000 + n % 900_000, width=640, height=480, format="JPEG", mode="RGB", mtime=1.7e9 + n,
                root=root, label=label, split=split, evidence=evidence))
            n += 1
        out.append(Group(f"g{gi:07d}", "exact" if gi % 3 == 0 else "near", 8, members[0].path, members,
                         label_conflict=gi % 97 == 0, split_leak=gi % 89 == 0))
    result = ScanResult(roots=[root], settings={"hash": "phash", "hash_size": 8},
                        stats={"images": n, "files": n}, groups=out, errors=[])
    made = time.perf_counter() - t
    session = Session(folder / "session")
    session.create([root])
    t = time.perf_counter()
    session.save_result(result)
    wrote = time.perf_counter() - t
    journal = Journal(session.journal_path)
    for g in out[:decided]:
        journal.decide([Change(m.path, m.digest, "keep" if k == 0 else "delete") for k, m in enumerate(g.members)],
                       group=g.id)
    line = {"pictures": n, "groups": groups, "made_s": round(made, 1), "write_s": round(wrote, 1),
            "db_mb": round(session.store_path.stat().st_size / 1e6, 1), "peak_mb_writer": round(peak_mb())}
    if legacy:
        legacy_dir = folder / "legacy"
        Session(legacy_dir).create([root])
        t = time.perf_counter()
        result.save(legacy_dir / "scan.json")
        (legacy_dir / "journal.jsonl").write_bytes(session.journal_path.read_bytes())
        line.update(json_write_s=round(time.perf_counter() - t, 1),
                    json_mb=round((legacy_dir / "scan.json").stat().st_size / 1e6, 1))
    print(json.dumps(line), flush=True)


def child(what: str, folder: Path) -> None:
    from imgreview.session.folder import Session

    session = Session(folder / ("legacy" if what == "legacy" else "session"))
    out: dict[str, object] = {"what": what}
    if what in ("state", "legacy"):
        from imgreview.tui.state import ReviewState

        t = time.perf_counter()
        header, stored = session.load_groups()
        state = ReviewState(header, session.journal(read_only=True), stored=stored)
        first = state.first_undecided()
        assert first is not None and state.groups[first].members
        out.update(seconds=round(time.perf_counter() - t, 2), groups=len(state), decided=state.decided_groups)
    elif what == "open":
        from imgreview.tui.app import ReviewApp
        from imgreview.tui.graphics import choose_canvas
        from imgreview.tui.state import ReviewState

        async def run() -> float:
            canvas, _ = choose_canvas("none")
            header, stored = session.load_groups()
            state = ReviewState(header, session.journal(read_only=True), stored=stored)
            app = ReviewApp(state, canvas, read_only=True, advance=False)
            async with app.run_test(size=(160, 48)) as pilot:
                while app.review.group is None:
                    await pilot.pause()
                shown = time.perf_counter() - START
                out["open_cpu_s"] = round(time.process_time(), 2)
                await pilot.press("n")  # the next group, a page read at most
                await pilot.pause()
                assert app.review.group is not None
            return shown

        out.update(seconds=round(asyncio.run(run()), 2))
    elif what == "page":
        header, stored = session.load_groups()
        assert stored is not None
        store = stored.store
        rng = random.Random(0)
        t = time.perf_counter()
        for _ in range(1000):
            at = rng.randrange(len(stored))
            store.page(at, at + 1)
        out.update(ms_per_group=round((time.perf_counter() - t), 3))  # seconds per 1000 = ms per group
    elif what == "load":
        t = time.perf_counter()
        result = session.load_result()
        out.update(seconds=round(time.perf_counter() - t, 1), groups=len(result.groups))
    elif what in ("export", "undecided", "resolve"):
        from imgreview.cli.main import main as cli

        target = folder / f"{what}.out"
        args = {"export": ["export", "--delete", str(target)],
                "undecided": ["export", "--undecided", str(target), "--format", "csv"],
                "resolve": ["resolve", "--exact", "--dry-run"]}[what]
        t = time.perf_counter()
        with open(folder / f"{what}.log", "w") as log, contextlib.redirect_stdout(log), \
                contextlib.redirect_stderr(log):
            code = cli([*args, "--session", str(session.path)])
        out.update(seconds=round(time.perf_counter() - t, 1), exit=code,
                   said=(folder / f"{what}.log").read_text().strip().splitlines()[:1],
                   out_mb=round(target.stat().st_size / 1e6, 1) if target.exists() else None)
    elif what == "check":
        t = time.perf_counter()
        journal = session.journal(read_only=True)
        try:
            from imgreview.dataset.health import report_of
        except ImportError:  # the code before: the whole result in memory
            from imgreview.dataset.health import build_report

            report = build_report(session.load_result(), journal)
        else:
            header, groups = session.open_scan()
            with groups:
                report = report_of(header, groups, journal)
        out.update(seconds=round(time.perf_counter() - t, 1), conflicts=len(report.conflicts),
                   leaks=len(report.leak_groups), groups=report.groups)
    elif what == "apply":
        from imgreview.quarantine.plan import plan_apply

        t = time.perf_counter()
        report = plan_apply(session, str(folder / "quarantine"), verify=True)
        out.update(seconds=round(time.perf_counter() - t, 1), planned=len(report.planned),
                   skipped=len(report.skipped))
    import imgreview

    out["code"] = str(Path(imgreview.__file__).parent.parent)
    out["peak_mb"] = round(peak_mb())
    out["process_s"] = round(time.perf_counter() - START, 2)
    out["process_cpu_s"] = round(time.process_time(), 2)  # CPU of this process since it started: imports too
    print(json.dumps(out), flush=True)


MEASUREMENTS = ("state", "open", "page", "load", "export", "undecided", "check", "resolve", "apply")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pictures", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=300_000)
    ap.add_argument("--decided", type=int, default=2_000, help="groups decided in the journal")
    ap.add_argument("--dir", help="work folder, kept and reused (default: a temporary one)")
    ap.add_argument("--legacy", action="store_true", help="also time the same result as an old scan.json")
    ap.add_argument("--skip", default="", help="comma-separated measurements to skip")
    ap.add_argument("--only", default="", help="comma-separated measurements to run (default: all)")
    ap.add_argument("--code", help="a folder holding the imgreview package to measure (default: this tree's)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgreview-store-") as tmp:
        folder = Path(args.dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "session" / "results.sqlite").exists() or (args.legacy and not (folder / "legacy").exists()):
            make(folder, args.pictures, args.groups, args.decided, args.legacy)
        skip = set(filter(None, args.skip.split(",")))
        only = set(filter(None, args.only.split(",")))
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        if args.code:
            env["STORE_BENCH_CODE"] = str(Path(args.code).resolve())
        for what in MEASUREMENTS + (("legacy",) if args.legacy else ()):
            if what in skip or (only and what not in only):
                continue
            subprocess.run([sys.executable, __file__, "--child", what, str(folder)], check=True, env=env)


if __name__ == "__main__":
    main()
