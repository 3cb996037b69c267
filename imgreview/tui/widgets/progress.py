"""The header line: groups decided of total, files marked delete, bytes to reclaim, filter."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from imgreview.text import human_bytes
from imgreview.tui.state import FILTER_LABELS, ReviewState


class TextLine(Widget, can_focus=False):
    """A fixed-size line of text: updating it repaints it, and never asks for a new layout."""

    DEFAULT_CSS = "TextLine { width: 1fr; height: 1; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._text: Text | str = ""

    def update(self, text: Text | str) -> None:
        self._text = text
        self.refresh()

    def render(self) -> Text | str:
        return self._text


class ProgressLine(TextLine):
    def show(self, state: ReviewState, position: int | None, shown: int, filter_name: str, renderer: str,
             read_only: bool) -> None:
        total = len(state)
        text = Text()
        text.append(" imgreview ", style="bold reverse")
        text.append(f"  {state.decided_groups:,}/{total:,} groups decided", style="bold")
        text.append(f"  ·  {state.delete_files:,} file{'' if state.delete_files == 1 else 's'} marked delete", style="red" if state.delete_files else "")
        text.append(f"  ·  {human_bytes(state.delete_bytes)} to reclaim")
        where = f"{position + 1:,} of {shown:,}" if position is not None else f"– of {shown:,}"
        text.append(f"  ·  {FILTER_LABELS[filter_name]}: {where}", style="cyan")
        text.append(f"  ·  pictures: {renderer}", style="dim")
        if read_only:
            text.append("  READ-ONLY", style="bold yellow")
        self.update(text)
