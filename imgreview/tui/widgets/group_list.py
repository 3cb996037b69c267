"""The side panel: one row per group (id, kind, size, decided, flags), filtered.

An OptionList, not a ListView: it renders only the visible rows, so 10,000 groups mount in
a fraction of a second.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..messages import GroupChosen
from ..state import ReviewState


def group_prompt(state: ReviewState, gi: int) -> Text:
    g, st = state.groups[gi], state.status[gi]
    if st.distinct:
        mark, style = "≠", "cyan"
    elif st.stale:
        mark, style = "!", "yellow"
    elif st.decided:
        mark, style = "✓", "green"
    else:
        mark, style = "·", "dim"
    flags = ("C" if g.label_conflict else " ") + ("L" if g.split_leak else " ")
    text = Text()
    text.append(mark, style=style)
    text.append(f" {g.id:>6} {g.kind:<5} {len(g.members):>3} ")
    text.append(flags, style="bold red")
    if st.deletes:
        text.append(f" −{st.deletes}", style="red")
    return text


class GroupList(OptionList, can_focus=False):
    """Visible groups in review order; the highlighted row is the group on screen."""

    def __init__(self, state: ReviewState, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = state
        self.order: list[int] = []
        self._row: dict[int, int] = {}
        self._syncing = False

    def show(self, order: list[int]) -> None:
        self.order = order
        self._row = {gi: row for row, gi in enumerate(order)}
        self.set_options(Option(group_prompt(self.state, gi)) for gi in order)

    def row_of(self, gi: int) -> int | None:
        return self._row.get(gi)

    def mark_current(self, gi: int) -> None:
        row = self._row.get(gi)
        if row is None or self.highlighted == row:
            return
        self._syncing = True
        try:
            self.highlighted = row
        finally:
            self._syncing = False

    def update_groups(self, groups: list[int]) -> None:
        for gi in groups:
            row = self._row.get(gi)
            if row is not None:
                self.replace_option_prompt_at_index(row, group_prompt(self.state, gi))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()  # the app moves the highlight itself; only a click (OptionSelected) chooses

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_index < len(self.order):
            self.post_message(GroupChosen(self.order[event.option_index]))
