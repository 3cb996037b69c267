"""The app behind ``imgreview triage``: hosts :class:`~imgreview.tui.screens.triage.TriageScreen`."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from textual.app import App

from imgreview.triage.state import TriageState
from imgreview.tui.pictures import Canvas
from imgreview.tui.screens.triage import TriageScreen
from imgreview.tui.thumbs import ThumbnailCache

READY_ENV = "IMGREVIEW_TEST_READY"


class TriageApp(App[None]):
    CSS_PATH = "triage.tcss"
    TITLE = "imgreview triage"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, state: TriageState, canvas: Canvas, *, read_only: bool = False,
                 thumbs: ThumbnailCache | None = None, notes: list[str] | None = None,
                 start_label: str | None = None) -> None:
        super().__init__()
        self.state = state
        # half-cell tiles carry their terminal codes, made in the workers for this console (as the
        # review's cards do): the UI thread does not work out ~4 000 new cell styles' codes per page
        canvas = replace(canvas, color_system=self.console.color_system)
        self.canvas = canvas
        self.read_only = read_only
        self.thumbs = thumbs or ThumbnailCache(capacity=512, workers=3, canvas=canvas)
        self.thumbs.canvas = canvas
        self.notes = list(notes or [])
        self.marked: list[TriageScreen.Marked] = []
        self.start_label = start_label

    def on_mount(self) -> None:
        start = (self.start_label, 0) if self.start_label in self.state.labels else None
        self.push_screen(TriageScreen(self.state, self.canvas, self.thumbs, read_only=self.read_only,
                                      start=start), lambda _: self.exit())
        for note in self.notes:
            self.notify(note, severity="warning", timeout=8)
        ready = os.environ.get(READY_ENV)
        if ready:
            Path(ready).write_text(json.dumps({"pid": os.getpid()}))

    def on_triage_screen_marked(self, message: TriageScreen.Marked) -> None:
        self.marked.append(message)

    def on_unmount(self) -> None:
        self.thumbs.close()
