"""Screenshots of ``imgreview triage`` (headless Pilot, half-cell pictures) from the demo dataset.

    python screenshots/triage_screenshots.py [--out screenshots]

Writes ``triage.svg`` (the grid of one label with a few marks and quality badges) and
``triage-zoom.svg`` (one picture with its facts and metadata). For the same screen in a real
graphics terminal (xterm, Sixel) see ``screenshots/xterm_triage.sh``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imgreview.dataset.demo import write_demo
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings

SIZE = (150, 44)


def plant(demo: Path) -> None:
    """A dark and a greyscale picture among the demo's cats, so the badges show."""
    cats = sorted((demo / "train" / "cat").glob("*.jpg"))[:2]
    for src, kind in zip(cats, ("dark", "grey"), strict=True):
        with Image.open(src) as im:
            rgb = im.convert("RGB")
        if kind == "dark":
            rgb = Image.fromarray((np.asarray(rgb, dtype=np.float32) * 0.12).astype(np.uint8))
        else:
            rgb = rgb.convert("L").convert("RGB")
        rgb.save(src.with_name(f"{kind}-{src.stem}.jpg"), quality=90)


async def shoot(session: Session, out: Path) -> list[Path]:
    from imgreview.triage.items import load_items
    from imgreview.triage.state import TriageState
    from imgreview.tui.pictures import Canvas
    from imgreview.tui.screens.triage import TriageScreen
    from imgreview.tui.triage_app import TriageApp

    state = TriageState(load_items(session, session.load_result()), session.journal())
    app = TriageApp(state, Canvas("halfcell"), start_label="cat")
    written = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TriageScreen)
        await pilot.press("x", "right", "w", "right", "x")
        for _ in range(100):
            if app.thumbs.renders >= min(len(screen.page), screen.grid.capacity):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await pilot.pause()
        app.save_screenshot(filename="triage.svg", path=str(out))
        written.append(out / "triage.svg")
        await pilot.press("z")
        await asyncio.sleep(0.5)
        await pilot.pause()
        app.save_screenshot(filename="triage-zoom.svg", path=str(out))
        written.append(out / "triage-zoom.svg")
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        write_demo(demo)
        plant(demo)
        session = Session(Path(tmp) / "session")
        scan([str(demo)], ScanSettings(jobs=1), session)
        for path in asyncio.run(shoot(session, args.out)):
            print(path)


if __name__ == "__main__":
    main()
