"""Triage paging latency: pressing ``n`` until the next page of tiles is on screen, thumbnails cached.

A label of ``--images`` pictures (real JPEGs from ``--folder``, reused under many names) is shown
headless with Pilot and the half-cell renderer (the costliest to draw) at ``--size`` cells. Between
presses the bench waits for the screen's own prefetch of the next page (a person looks at a page
longer than the prefetch takes), so each step measures binding the tiles, rendering and painting (the two pages after are
cached before each press, so no decoding is counted).
Wall time depends on what else runs on the machine; the CPU time per page is printed too.

    python bench/triage_paging.py --folder bench/data/triage/suggest/nature [--images 5000] [--steps 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import wait
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imgreview.scan import quality
from imgreview.session.journal import Journal
from imgreview.triage.items import Item, TriageSet
from imgreview.triage.state import TriageState
from imgreview.tui.pictures import Canvas
from imgreview.tui.screens.triage import TriageScreen
from imgreview.tui.triage_app import TriageApp
from imgreview.tui.widgets.triage_grid import PICTURE_CELLS, TILE_PIXELS


async def run(args: argparse.Namespace) -> None:
    files = sorted(p for p in Path(args.folder).iterdir() if p.suffix.lower() in (".jpg", ".png"))
    rng = np.random.default_rng(0)
    items = [Item(str(files[k % len(files)]), f"{k:032x}", str(args.folder), "label", None, 640, 480, 50_000, "JPEG",
                  outlier=float(rng.random())) for k in range(args.images)]
    feats = rng.normal(size=(len(items), quality.FEATURE_DIM)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        state = TriageState(TriageSet(items, feats, ["label"]), Journal(Path(tmp) / "journal.jsonl"))
        app = TriageApp(state, Canvas(args.graphics))
        times: list[float] = []
        cpu: list[float] = []
        async with app.run_test(size=tuple(args.size)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, TriageScreen)
            print(f"{len(items):,} pictures, grid {screen.grid.shape[0]}×{screen.grid.shape[1]} "
                  f"= {screen.grid.capacity} tiles at {args.size[0]}×{args.size[1]} cells")
            for _ in range(args.steps):
                cap = screen.grid.capacity  # the next page and the one after (which the press prefetches)
                nxt = screen.view[screen.first + cap:screen.first + 3 * cap]
                if app.canvas.pictures:
                    wait([app.thumbs.request_member(items[i].path, items[i].digest, *PICTURE_CELLS, size=TILE_PIXELS)
                          for i in nxt])
                t, c = time.perf_counter(), time.process_time()
                await pilot.press("n")
                await pilot.pause()
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
        times.sort()
        cpu.sort()
        print(f"next page: median {statistics.median(times):.0f} ms, p90 {times[int(len(times) * 0.9)]:.0f} ms, "
              f"max {times[-1]:.0f} ms over {len(times)} pages (pictures rendered: {app.thumbs.renders}); "
              f"CPU per page: median {statistics.median(cpu):.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", required=True)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--graphics", default="halfcell", choices=("halfcell", "sixel", "none"))
    ap.add_argument("--size", type=int, nargs=2, default=(200, 56), metavar=("COLS", "ROWS"))
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
