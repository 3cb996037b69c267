"""Every key of the review, in one table: the app's bindings and the help screen come from it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class Key:
    keys: str  # Textual key names, comma separated
    action: str
    label: str  # short, for the footer
    help: str  # one line, for the help screen
    section: str
    show: bool = True  # shown in the footer
    shown_keys: str = ""  # how the help screen writes the keys


KEYS: tuple[Key, ...] = (
    Key("left,h", "prev_image", "image", "focus the previous image", "Move", False, "← h"),
    Key("right,l", "next_image", "image", "focus the next image", "Move", False, "→ l"),
    Key("n,down", "next_group", "next", "next group", "Move", True, "n ↓"),
    Key("p,up", "prev_group", "prev", "previous group", "Move", True, "p ↑"),
    Key("tab", "next_undecided", "undecided", "jump to the next undecided group", "Move", True, "Tab"),
    Key("shift+tab", "prev_undecided", "prev undecided", "jump to the previous undecided group", "Move", False,
        "Shift+Tab"),
    Key("home", "first_group", "first", "first group (of the current filter)", "Move", False, "Home"),
    Key("end", "last_group", "last", "last group (of the current filter)", "Move", False, "End"),
    Key("k", "keep", "keep", "keep the focused image", "Decide", True, "k"),
    Key("d,delete", "delete", "delete", "mark the focused image for deletion", "Decide", True, "d Del"),
    Key("space", "toggle_decision", "toggle", "toggle the focused image between keep and delete", "Decide", False, "Space"),
    Key("o", "keep_only", "only this", "keep only the focused image, mark the rest delete", "Decide", True, "o"),
    Key("a", "accept", "accept", "accept the suggested keeper (the others are marked delete)", "Decide", True, "a"),
    Key("A", "accept_all_exact", "accept all exact",
        "accept the suggestion in every undecided exact-duplicate group (asks first)", "Decide", False, "A"),
    Key("s", "not_duplicates", "not dup", "not duplicates: keep all, never group these files again", "Decide",
        True, "s"),
    Key("u", "undo", "undo", "undo the last decision", "Decide", True, "u"),
    Key("ctrl+r,U", "redo", "redo", "redo", "Decide", False, "Ctrl+R U"),
    Key("z,enter", "zoom", "zoom", "zoom: the focused image full screen with all facts", "View", True, "z Enter"),
    Key("f", "flip", "flip", "flip: two images alternately in the same place", "View", True, "f"),
    Key("v", "cycle_filter", "filter", "cycle the filter: all / undecided / decided / conflicts / leaks", "View",
        True, "v"),
    Key("1", "filter('all')", "all", "show all groups", "View", False, "1"),
    Key("2", "filter('undecided')", "undecided", "show undecided groups", "View", False, "2"),
    Key("3", "filter('decided')", "decided", "show decided groups", "View", False, "3"),
    Key("4", "filter('conflicts')", "conflicts", "show groups whose files carry different labels", "View", False,
        "4"),
    Key("5", "filter('leaks')", "leaks", "show groups that leak across train/val/test", "View", False, "5"),
    Key("b", "toggle_panel", "list", "show or hide the group list", "View", False, "b"),
    Key("question_mark", "help", "help", "this help", "Other", True, "?"),
    Key("q", "quit", "quit", "quit (every decision is already saved)", "Other", True, "q"),
    Key("ctrl+c", "quit", "quit", "quit", "Other", False, "Ctrl+C"),
)


def bindings() -> list[BindingType]:
    return [Binding(k.keys, k.action, k.label, show=k.show, priority=k.keys in ("tab", "shift+tab", "ctrl+c"))
            for k in KEYS]
