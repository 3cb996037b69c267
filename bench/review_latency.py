"""Review latency on a large session: time to the first group, and to the next group once cached.

Synthesises a session like a scan of 100,000 images with 10,000 duplicate groups (2-5 files each),
whose members point at a few hundred real small JPEGs, plus a journal with decisions in the first
2,000 groups. Then, headless with Pilot and the half-cell renderer (the most expensive one to
draw, since every cell is a styled character):

* ``first picture``: from opening ``results.sqlite`` + replaying the journal to the end of the
  first screen update that shows the first undecided group with all its pictures (and, as before
  this was fixed, to the end of the last update before the start-up settles: ``first, settled``);
* ``first picture from process start`` (``--runs N``, N fresh processes): the same, counted from
  before the process is started, with the imports ``imgreview review`` does (the CLI's parser for
  ``review``, the terminal probe's module, the app), split into python start + imports, opening
  the session + journal replay + review state, app start to its first screen update, and that
  update to the first one with the pictures;
* ``next group``: from pressing ``n`` to the end of the screen update that shows the next group
  with its pictures, after its pictures were prefetched (the review renders the next groups'
  pictures itself, in worker threads, while a person looks at the current one); also the number of
  screen updates (compositor frames) per change.

Headless Textual skips turning a screen update into terminal text; a terminal does not, so each
update here is also rendered to the text a terminal would get (``render_segments``), timed with it,
and its size counted. CPU time is given twice: the UI thread's own (``thread_time``: what delays
the screen) and the whole process's (``process_time``: the UI thread plus the worker threads that
render the following groups' pictures meanwhile).

Usage: ``python bench/review_latency.py [--groups 10000] [--images 100000] [--real 300] [--steps 60] [--runs 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imgreview.model import Group, Member, ScanResult
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal


def make_images(folder: Path, n: int) -> list[Path]:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        w, h = int(rng.integers(320, 1024)), int(rng.integers(240, 768))
        base = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(base, "RGB").resize((w, h), Image.Resampling.BICUBIC)
        d = ImageDraw.Draw(img)
        d.ellipse([w // 4, h // 4, 3 * w // 4, 3 * h // 4], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        p = folder / f"img{k:04d}.jpg"
        img.save(p, quality=88)
        out.append(p)
    return out


def make_session(folder: Path, groups: int, images: int, real: list[Path]) -> Session:
    import numpy as np

    rng = np.random.default_rng(1)
    root = str(folder)
    result_groups = []
    members_total = 0
    for gi in range(groups):
        n = int(rng.integers(2, 6))
        members = []
        for k in range(n):
            members.append(Member(
                path=f"{root}/split{k}/label{gi % 50}/file{gi:05d}_{k}.jpg",
                digest=f"{gi:08x}{k:024x}", distance=int(rng.integers(0, 10)) if k else 0,
                size=int(rng.integers(20_000, 900_000)), width=640, height=480, format="JPEG", mode="RGB",
                mtime=1.7e9 + gi, root=root, label=f"label{gi % 50}", split=("train", "val", "test")[k % 3]))
        members_total += n
        result_groups.append(Group(f"g{gi:06d}", "exact" if gi % 3 == 0 else "near", 8, members[0].path, members,
                                   label_conflict=gi % 97 == 0, split_leak=gi % 89 == 0))
    # real files behind every member path: link the synthetic names to the real JPEGs. Every path is
    # in one group only, as in a scan's result (a file belongs to at most one group): the journal's
    # decisions touch the 2,000 decided groups and no others
    for g in result_groups:
        for k, m in enumerate(g.members):
            p = Path(m.path)
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists():
                p.symlink_to(real[(int(g.id[1:]) * 5 + k) % len(real)])
    result = ScanResult(roots=[root], settings={}, stats={"images": images, "files": images}, groups=result_groups,
                        errors=[])
    session = Session(folder / ".imgreview")
    session.create([root])
    session.save_result(result)
    journal = Journal(session.journal_path)
    for g in result_groups[:2000]:
        journal.decide([Change(m.path, m.digest, "keep" if k == 0 else "delete") for k, m in enumerate(g.members)],
                       group=g.id)
    print(f"session: {groups:,} groups, {members_total:,} grouped files of {images:,} images, "
          f"2,000 groups decided; results.sqlite {session.store_path.stat().st_size / 1e6:.1f} MB", flush=True)
    return session


async def pictures_painted(app, pilot, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if app.review.pictures_loaded:
            break
        await asyncio.sleep(0.002)
    await pilot.pause()  # one refresh with the pictures


class FrameCounter:
    """Counts the compositor's screen updates (one per repaint), renders each to the terminal text a
    real terminal would receive, and notes when the last one ended and how many bytes it had."""

    def __init__(self) -> None:
        from textual._compositor import Compositor

        self.frames = 0
        self.last_end = 0.0
        self.first_end = 0.0  # the end of the first update (any content)
        self.pictures_end = 0.0  # the end of the first update made while ``shown()`` said the pictures are in
        self.pictures_cpu = (0.0, 0.0)  # (process, UI thread) CPU time then
        self.shown: Callable[[], bool] | None = None
        self.bytes = 0
        self.console = None
        original = Compositor.render_update

        def counted(compositor, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.frames += 1
            update = original(compositor, *args, **kwargs)
            if update is not None and self.console is not None:
                self.bytes += len(update.render_segments(self.console))
            self.last_end = time.perf_counter()
            if not self.first_end:
                self.first_end = self.last_end
            if not self.pictures_end and self.shown is not None and self.shown():
                self.pictures_end = self.last_end
                self.pictures_cpu = (time.process_time(), time.thread_time())
            return update

        Compositor.render_update = counted  # type: ignore[method-assign]


async def measure(session: Session, steps: int, size: tuple[int, int],
                  graphics: str = "halfcell") -> dict[str, float | list[float]]:
    """The first picture, then ``steps`` group changes (none: only the start-up). Times in seconds,
    ``start_*`` counted from ``time.perf_counter()`` = 0 at this call."""
    from textual.css.query import NoMatches

    from imgreview.tui.app import ReviewApp, freeze_long_lived
    from imgreview.tui.graphics import choose_canvas
    from imgreview.tui.state import ReviewState

    canvas, _note = choose_canvas(graphics)
    frames = FrameCounter()
    t0, c0, u0, t0_mono = time.perf_counter(), time.process_time(), time.thread_time(), time.monotonic()
    result, stored = session.load_groups()  # the header, and the groups a page at a time
    t_load = time.perf_counter()
    journal = Journal(session.journal_path)
    state = ReviewState(result, journal, stored=stored)
    t_state = time.perf_counter()
    app = ReviewApp(state, canvas, advance=False)
    freeze_long_lived()  # as `imgreview review` does
    out: dict[str, float | list[float]] = {}

    def shown() -> bool:
        try:
            return bool(app.review.pictures_loaded)
        except NoMatches:  # not composed yet
            return False

    frames.shown = shown
    async with app.run_test(size=size) as pilot:
        frames.console = app.console
        await pictures_painted(app, pilot)
        t_settled = frames.last_end  # the end of the last update before the start-up's follow-up work paused
        out.update(load=t_load - t0, state=t_state - t_load, first=frames.pictures_end - t0,
                   first_frame=frames.first_end - t0, settled=t_settled - t0,
                   first_cpu=frames.pictures_cpu[0] - c0, first_ui_cpu=frames.pictures_cpu[1] - u0,
                   t0_mono=t0_mono)
        if not steps:
            return out
        cold: list[float] = []
        warm: list[float] = []
        warm_cpu: list[float] = []
        warm_ui: list[float] = []
        sizes: list[int] = []
        review = app.review
        per_change: list[int] = []
        for _ in range(steps):
            # let the prefetch of the next group's pictures finish (a person looks at a group for a while)
            nxt = review.order[(review.position or 0) + 1]
            cols, rows = review._box(nxt)
            for m in state.groups[nxt].members:
                await asyncio.wrap_future(app.thumbs.request_member(m.path, m.digest, cols, rows,
                                                                    state.action(m) == "delete"))
            await pilot.pause()
            await asyncio.sleep(0.05)  # the prefetch's own follow-up work (suggestions) ends too
            await pilot.pause()
            f0, b0 = frames.frames, frames.bytes
            t, c, u = time.perf_counter(), time.process_time(), time.thread_time()
            await pilot.press("n")
            await pictures_painted(app, pilot)
            warm.append(frames.last_end - t)  # key to the end of the update that showed the pictures
            warm_cpu.append(time.process_time() - c)
            warm_ui.append(time.thread_time() - u)
            per_change.append(frames.frames - f0)
            sizes.append(frames.bytes - b0)
        # cold: jump far away, nothing prefetched
        for k in range(min(10, steps)):
            target = review.order[-1 - 7 * k]
            t = time.perf_counter()
            review.show_group(target)
            await pictures_painted(app, pilot)
            cold.append(frames.last_end - t)
        t = time.perf_counter()
        await pilot.press("2")  # filter: undecided (rebuilds the list)
        await pilot.pause()
        out["filter"] = time.perf_counter() - t
        out.update(warm=warm, cold=cold, warm_cpu=warm_cpu, warm_ui=warm_ui, frames=[float(x) for x in per_change],
                   sizes=[float(x) for x in sizes])

    return out


def child(folder: Path, size: tuple[int, int], graphics: str, spawned: float) -> None:
    """In a fresh process: the imports ``imgreview review`` does, then the first picture; prints JSON."""
    t_imports = time.monotonic()
    from imgreview.cli.main import build_parser

    build_parser(("review",))  # what `imgreview review` parses its command line with (imports the command)
    from imgreview.tui.app import ReviewApp  # noqa: F401  (review() imports these before the app starts)
    from imgreview.tui.graphics import choose_canvas  # noqa: F401

    r = asyncio.run(measure(Session(folder / ".imgreview"), 0, size, graphics))
    t0 = float(r.pop("t0_mono"))  # type: ignore[arg-type]
    print(json.dumps({"start": t_imports - spawned, "imports": t0 - t_imports, **r, "total": t0 - spawned + r["first"]}))


def from_start(folder: Path, size: str, graphics: str, runs: int) -> list[dict[str, float]]:
    """``runs`` fresh processes, each timed from just before it is started to its first picture."""
    import subprocess

    out = []
    for _ in range(runs):
        spawned = time.monotonic()
        proc = subprocess.run([sys.executable, __file__, "--dir", str(folder), "--size", size, "--graphics", graphics,
                               "--child-spawned", repr(spawned)], capture_output=True, text=True, check=True,
                              stdin=subprocess.DEVNULL)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--real", type=int, default=300)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--size", default="160x48", help="terminal COLSxROWS")
    ap.add_argument("--graphics", default="halfcell", choices=("halfcell", "sixel", "none"),
                    help="pictures to time (sixel: encoding and frame cost; headless, no terminal drawing)")
    ap.add_argument("--dir", help="work folder, kept and reused by later runs (default: a temporary one)")
    ap.add_argument("--profile", help="write a cProfile of the measurement to this file")
    ap.add_argument("--runs", type=int, default=0,
                    help="also time the first picture from process start in this many fresh processes")
    ap.add_argument("--child-spawned", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    if args.child_spawned is not None:
        child(Path(args.dir), (cols, rows), args.graphics, args.child_spawned)
        return
    with tempfile.TemporaryDirectory(prefix="imgreview-bench-") as tmp:
        folder = Path(args.dir or tmp)
        (folder / "real").mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        session = Session(folder / ".imgreview")
        if args.dir and session.has_result():
            print(f"reusing the session in {folder}", flush=True)
        else:
            real = make_images(folder / "real", args.real)
            session = make_session(folder, args.groups, args.images, real)
            print(f"setup {time.perf_counter() - t:.1f} s", flush=True)
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            r = prof.runcall(asyncio.run, measure(session, args.steps, (cols, rows), args.graphics))
            prof.dump_stats(args.profile)
        else:
            r = asyncio.run(measure(session, args.steps, (cols, rows), args.graphics))
        runs = from_start(folder, args.size, args.graphics, args.runs)

    def ms(x: object) -> str:
        assert isinstance(x, float)
        return f"{x * 1000:.0f} ms"

    report = {
        "open results.sqlite (header)": ms(r["load"]),
        "journal replay + review state": ms(r["state"]),
        "first screen update (from opening)": ms(r["first_frame"]),
        "first picture: first update with the pictures": ms(r["first"]),
        "first, settled (old measure: last update of the start)": ms(r["settled"]),
        "first picture, CPU time of this process (to that update)": ms(r["first_cpu"]),
        "first picture, CPU time of the UI thread (to that update)": ms(r["first_ui_cpu"]),
    }
    if args.steps:
        warm, cold = r["warm"], r["cold"]
        assert isinstance(warm, list) and isinstance(cold, list)
        p95 = int(0.95 * (len(warm) - 1))
        report.update({
            "next group, cached: median (key to screen update)": ms(statistics.median(warm)),
            "next group, cached: p95": ms(sorted(warm)[p95]),
            "next group, cached: median CPU time of the UI thread": ms(statistics.median(r["warm_ui"])),  # type: ignore[arg-type]
            "next group, cached: p95 CPU time of the UI thread": ms(sorted(r["warm_ui"])[p95]),  # type: ignore[arg-type]
            "next group, cached: median CPU time, whole process": ms(statistics.median(r["warm_cpu"])),  # type: ignore[arg-type]
            "terminal text per change (median)": f"{statistics.median(r['sizes']) / 1000:.0f} kB",  # type: ignore[arg-type]
            "next group, cached: max": ms(max(warm)),
            "screen updates per group change (median)": f"{statistics.median(r['frames']):.0f}",  # type: ignore[arg-type]
            "jump to a far group, not cached: median": ms(statistics.median(cold)),
            "filter undecided (rebuild list)": ms(r["filter"]),
        })
    if runs:
        parts = {"python start + imports": ("start", "imports"), "open + journal replay + state": ("load", "state"),
                 "app start to its first screen update": ("first_frame", "-load", "-state"),
                 "first update to the first picture": ("first", "-first_frame"),
                 "first picture from opening the session": ("first",),
                 "CPU from opening to the first picture, UI thread": ("first_ui_cpu",),
                 "CPU from opening to the first picture, process": ("first_cpu",), "total": ("total",)}
        for name, keys in parts.items():
            values = [sum(-run[k[1:]] if k[0] == "-" else run[k] for k in keys) for run in runs]
            report[f"from process start, {name}: median of {len(runs)}"] = (
                f"{ms(statistics.median(values))}  ({', '.join(ms(v) for v in values)})")
    width = max(map(len, report))
    print(f"renderer {args.graphics}, terminal {cols}x{rows}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with load)")
    for k, v in report.items():
        print(f"{k:<{width}}  {v}")
    print(json.dumps({k: round(v * 1000, 1) if isinstance(v, float) else None for k, v in r.items()
                      if isinstance(v, float) and k != "t0_mono"}))


if __name__ == "__main__":
    main()
