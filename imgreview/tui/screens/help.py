"""`?`: every key, grouped by what it does. An opaque full screen, so no picture shows through."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from imgreview.tui.keys import KEYS


def help_table() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, expand=False)
    table.add_column(style="bold cyan", no_wrap=True, min_width=12)
    table.add_column()
    section = None
    for k in KEYS:
        if k.section != section:
            if section is not None:
                table.add_row("", "")
            table.add_row(Text(k.section, style="bold underline"), "")
            section = k.section
        table.add_row(k.shown_keys or k.keys, k.help)
    return table


HELP_INTRO = """\
Every decision is written to the session's journal at once; quit at any time and run the
same command again to continue where you stopped. Nothing is deleted or moved here:
`imgreview export` lists the files marked delete, `imgreview apply` moves them aside.

Mouse: click a card to focus it, double-click to zoom, click a group in the list to open it,
click a key in the footer to run it.
"""


class HelpScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static("imgreview review: keys", classes="screen-title")
            yield Static(HELP_INTRO, classes="help-intro")
            yield Static(help_table(), id="help-table")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
