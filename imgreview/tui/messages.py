"""Typed messages between the review widgets and the app."""

from __future__ import annotations

from textual.message import Message


class GroupChosen(Message):
    """The person picked a group in the side panel (click or keys)."""

    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group


class CardClicked(Message):
    """A card was clicked: focus that image (``double`` opens the zoom)."""

    def __init__(self, member: int, double: bool = False) -> None:
        super().__init__()
        self.member = member
        self.double = double


class DecisionsChanged(Message):
    """Journal state changed for these groups (decision, undo, redo, batch)."""

    def __init__(self, groups: list[int]) -> None:
        super().__init__()
        self.groups = groups
