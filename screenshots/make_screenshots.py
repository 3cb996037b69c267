"""Make the README's SVG screenshots from the demo dataset, headless (Pilot, half-cell pictures).

    python screenshots/make_screenshots.py [--out screenshots]

Writes ``review.svg`` (group view), ``zoom.svg``, ``help.svg``, ``flip.svg`` and ``empty.svg``
(a folder without duplicates). The demo dataset and its session go to a temporary folder; the
script never touches a real session. For a picture of the app in a real graphics terminal see
``screenshots/xterm_sixel.sh``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imgreview.dataset.demo import write_demo
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.settings import ScanSettings

SIZE = (150, 44)


async def wait_pictures(app, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(300):
        if app.review.pictures_loaded:
            break
        await asyncio.sleep(0.02)
    await pilot.pause()


async def shoot(session: Session, out: Path, empty_session: Session) -> list[Path]:
    from imgreview.tui.app import ReviewApp
    from imgreview.tui.pictures import Canvas
    from imgreview.tui.state import ReviewState

    canvas = Canvas("halfcell")
    written: list[Path] = []

    def save(app: ReviewApp, name: str) -> None:
        path = out / name
        app.save_screenshot(filename=name, path=str(out))
        written.append(path)

    state = ReviewState(session.load_result(), Journal(session.journal_path))
    app = ReviewApp(state, canvas)
    async with app.run_test(size=SIZE) as pilot:
        await wait_pictures(app, pilot)
        # a realistic moment: a few groups decided (each moves on to the next), one delete marked
        await pilot.press("a")
        await wait_pictures(app, pilot)
        await pilot.press("a")
        await wait_pictures(app, pilot)
        # show a group with three or more files if there is one
        for _ in range(len(state)):
            if len(app.review.group.members) >= 3:  # type: ignore[union-attr]
                break
            await pilot.press("j")
        await wait_pictures(app, pilot)
        await pilot.press("l", "d")
        await wait_pictures(app, pilot)
        await asyncio.sleep(0.3)
        await pilot.pause()
        save(app, "review.svg")
        await pilot.press("z")
        await wait_pictures(app, pilot)
        await asyncio.sleep(0.3)
        await wait_pictures(app, pilot)
        save(app, "zoom.svg")
        await pilot.press("escape", "f")
        await asyncio.sleep(0.3)
        await pilot.press("space")  # pause the flip on picture A
        await pilot.pause()
        save(app, "flip.svg")
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        save(app, "help.svg")

    empty = ReviewApp(ReviewState(empty_session.load_result(), Journal(empty_session.journal_path)), canvas)
    async with empty.run_test(size=(100, 20)) as pilot:
        await pilot.pause()
        save(empty, "empty.svg")
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imgreview-shots-") as tmp:
        demo = Path(tmp) / "imgreview-demo"
        write_demo(demo, seed=0)
        session = Session(demo / ".imgreview")
        scan([str(demo)], ScanSettings(jobs=1), session)
        lonely = Path(tmp) / "no-duplicates"
        from PIL import Image

        lonely.mkdir()
        for k, colour in enumerate([(200, 40, 40), (40, 200, 40)]):
            Image.new("RGB", (64, 48), colour).save(lonely / f"only{k}.png")
        empty_session = Session(lonely / ".imgreview")
        scan([str(lonely)], ScanSettings(jobs=1), empty_session)
        for path in asyncio.run(shoot(session, out, empty_session)):
            print(path)


if __name__ == "__main__":
    main()
