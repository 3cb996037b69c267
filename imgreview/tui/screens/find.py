"""``/``: ask for a piece of a path; the review jumps to the next group with a file whose path contains it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Input, Static


class FindScreen(Screen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def compose(self) -> ComposeResult:
        with Middle():
            with Center():
                yield Static("Jump to the next group with a file whose path contains:", id="find-label")
            with Center():
                yield Input(placeholder="part of a path, e.g. dog_0010 or train/cat", id="find-input")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
