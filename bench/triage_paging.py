"""Triage paging latency: pressing ``n`` until the next page of tiles is on screen, thumbnails cached.

A label of ``--images`` pictures (real JPEGs from ``--folder``, reused under many names) is shown
headless with Pilot and the half-cell renderer (the costliest to draw) at ``--size`` cells. Between
presses the bench waits for the screen's own prefetch of the next page (a person looks at a page
longer than the prefetch takes), so each step measures binding the tiles, rendering and painting (the two pages after are
cached before each press, so no decoding is counted). Headless, Textual does not encode screen
updates for a terminal; the bench encodes each one as a terminal would get it (``--no-encode``: not),
so the escape codes of thousands of coloured cells are in the measurement (for a truecolor
terminal by default: ``--colours 256`` for one that is not).
Wall time depends on what else runs on the machine; the CPU time per page is printed too.

    python bench/triage_paging.py --folder bench/data/triage/suggest/nature [--images 5000] [--steps 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import wait
from pathlib import Path
from typing import Any

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


def set_colours(colours: str) -> None:
    """Encode for a terminal of ``colours`` (Rich reads these when the app's console is made)."""
    if colours == "truecolor":
        os.environ["COLORTERM"] = "truecolor"
    else:
        os.environ.pop("COLORTERM", None)
        os.environ["TERM"] = "xterm-256color"


async def run(args: argparse.Namespace) -> None:
    set_colours(args.colours)
    files = sorted(p for p in Path(args.folder).iterdir() if p.suffix.lower() in (".jpg", ".png"))
    rng = np.random.default_rng(0)
    items = [Item(str(files[k % len(files)]), f"{k:032x}", str(args.folder), "label", None, 640, 480, 50_000, "JPEG",
                  outlier=float(rng.random())) for k in range(args.images)]
    feats = rng.normal(size=(len(items), quality.FEATURE_DIM)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        state = TriageState(TriageSet(items, feats, ["label"]), Journal(Path(tmp) / "journal.jsonl"))
        app = TriageApp(state, Canvas(args.graphics))
        sent = [0]
        updated = [0.0]  # when the last screen update ended
        shown = app._display

        def display(screen: Any, renderable: Any) -> None:
            if args.encode and hasattr(renderable, "render_segments"):
                sent[0] += len(renderable.render_segments(app.console))
            shown(screen, renderable)
            updated[0] = time.perf_counter()

        app._display = display  # type: ignore[method-assign]
        times: list[float] = []  # key to the end of the screen update that shows the page
        idle: list[float] = []  # key to Pilot's "idle" (its own waits included: the earlier measure)
        cpu: list[float] = []
        async with app.run_test(size=tuple(args.size)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, TriageScreen)
            print(f"{len(items):,} pictures, grid {screen.grid.shape[0]}×{screen.grid.shape[1]} "
                  f"= {screen.grid.capacity} tiles at {args.size[0]}×{args.size[1]} cells, "
                  f"encoded for {app.console.color_system if args.encode else 'no'} terminal")
            sent[0] = 0
            for _ in range(args.steps):
                cap = screen.grid.capacity  # the next page and the one after (which the press prefetches)
                nxt = screen.view[screen.first + cap:screen.first + 3 * cap]
                if app.canvas.pictures:
                    wait([app.thumbs.request_member(items[i].path, items[i].digest, *PICTURE_CELLS, size=TILE_PIXELS)
                          for i in nxt])
                await pilot.pause()
                before = screen.first
                t, c = time.perf_counter(), time.process_time()
                await pilot.press("n")
                await pilot.pause()
                assert screen.first != before, "the page did not change"
                idle.append((time.perf_counter() - t) * 1000)
                times.append((updated[0] - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
        for xs in (times, idle, cpu):
            xs.sort()

        def p90(xs: list[float]) -> float:
            return xs[int(len(xs) * 0.9)]

        print(f"next page (key to the end of the screen update): median {statistics.median(times):.0f} ms, "
              f"p90 {p90(times):.0f} ms, max {times[-1]:.0f} ms over {len(times)} pages "
              f"(pictures rendered: {app.thumbs.renders})")
        print(f"key to Pilot idle (the earlier measure): median {statistics.median(idle):.0f} ms, p90 {p90(idle):.0f} ms")
        print(f"CPU per page (process, key to idle): median {statistics.median(cpu):.0f} ms, p90 {p90(cpu):.0f} ms"
              + (f"; {sent[0] / args.steps / 1024:.0f} KiB to the terminal per page" if args.encode else ""))
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", required=True)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--graphics", default="halfcell", choices=("halfcell", "sixel", "none"))
    ap.add_argument("--no-encode", dest="encode", action="store_false",
                    help="do not encode screen updates for the terminal (Textual's headless default)")
    ap.add_argument("--colours", choices=("truecolor", "256"), default="truecolor",
                    help="the terminal the updates are encoded for (256: every picture cell's colour is "
                         "matched to the palette, as Rich does)")
    ap.add_argument("--size", type=int, nargs=2, default=(200, 56), metavar=("COLS", "ROWS"))
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
