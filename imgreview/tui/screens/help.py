"""`?`: every key, grouped by what it does. An opaque full screen, so no picture shows through."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from imgreview.tui.keys import KEYS, SECTIONS


def help_table() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, expand=False)
    table.add_column(style="bold cyan", no_wrap=True, min_width=14)
    table.add_column()
    for section in SECTIONS:
        keys = [k for k in KEYS if k.section == section]
        if section != SECTIONS[0]:
            table.add_row("", "")
        table.add_row(Text(section, style="bold underline"), "")
        for k in keys:
            table.add_row(k.shown_keys or k.keys, k.help)
    return table


HELP_INTRO = """\
Every decision is written to the session's journal at once; quit at any time and run the
same command again to continue where you stopped. Nothing is deleted or moved here:
`imgreview export` lists the files marked delete, `imgreview apply` moves them aside.

Cards: a red frame, a DELETE badge and a dimmed picture mean "marked delete"; green means keep;
the heavy cyan frame is the focused card. ★ is the suggested keeper (the least processed copy by
the evidence: resolution, JPEG quality, camera EXIF, no added borders or corners, closest to the
others, original-looking name, oldest date); "no clear original: choose" when the evidence ties.
After a group is fully decided the review moves on to the next undecided group (--no-advance).

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
