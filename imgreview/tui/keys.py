"""Every key of the review, in one table: the review screen's bindings and the help screen come from it.

Movement follows vim and pagers: ``h``/``l`` (or ←/→) move between pictures, ``j``/``k`` (or ↓/↑,
``n``/``p``, Space) between groups, ``g``/``G`` to the first/last group, ``/`` finds a path.
Decisions sit on keys that mean nothing else there: ``y`` keep, ``d``/``x`` delete.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


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
    Key("question_mark", "help", "help", "this help", "Other", True, "?"),
    Key("q", "quit", "quit", "quit (every decision is already saved)", "Other", True, "q"),
    Key("y", "keep", "keep", "keep the focused picture", "Decide", True, "y"),
    Key("d,x,delete", "delete", "delete", "mark the focused picture delete (in a pair, the other is kept)",
        "Decide", True, "d x Del"),
    Key("t", "toggle_member", "toggle", "toggle the focused picture between keep and delete", "Decide", False, "t"),
    Key("o", "keep_only", "only this", "keep only the focused picture, mark the rest delete", "Decide", True, "o"),
    Key("a", "accept", "accept ★", "accept the suggested keeper ★ (the others are marked delete)", "Decide", True,
        "a"),
    Key("A", "accept_all_exact", "accept exact",
        "accept ★ in every undecided exact-copy group, except label conflicts and split leaks (asks first)",
        "Decide", False, "A"),
    Key("s", "not_duplicates", "not dup", "not duplicates: keep all, never group these files again", "Decide",
        True, "s"),
    Key("u", "undo", "undo", "undo the last decision (jumps to the group it changed)", "Decide", True, "u"),
    Key("ctrl+r,U", "redo", "redo", "redo", "Decide", False, "Ctrl+R U"),
    Key("left,h", "move_image(-1)", "picture", "focus the previous picture", "Move", False, "← h"),
    Key("right,l", "move_image(1)", "picture", "focus the next picture", "Move", False, "→ l"),
    Key("j,down,n,space", "step_group(1)", "next", "next group", "Move", True, "j ↓ n Space"),
    Key("k,up,p", "step_group(-1)", "prev", "previous group", "Move", False, "k ↑ p"),
    Key("tab", "undecided(1)", "undecided", "next undecided group", "Move", False, "Tab"),
    Key("shift+tab", "undecided(-1)", "prev undecided", "previous undecided group", "Move", False, "Shift+Tab"),
    Key("g,home", "first_group", "first", "first group (of the current filter)", "Move", False, "g Home"),
    Key("G,end", "last_group", "last", "last group (of the current filter)", "Move", False, "G End"),
    Key("slash", "find", "find", "jump to the next group with a file whose path contains a text", "Move", True,
        "/"),
    Key("z,enter", "zoom", "zoom", "zoom: the focused picture large, with every fact", "View", True, "z Enter"),
    Key("f", "flip", "flip", "flip: the focused picture and the ★ (or next) alternately in one place", "View",
        True, "f"),
    Key("c", "compare", "diff", "difference view: two pictures aligned, differences highlighted", "View", True,
        "c"),
    Key("v", "cycle_filter", "filter", "cycle the filter: all / undecided / decided / conflicts / leaks", "View",
        True, "v"),
    Key("1", "filter('all')", "all", "show all groups", "View", False, "1"),
    Key("2", "filter('undecided')", "undecided", "show undecided groups", "View", False, "2"),
    Key("3", "filter('decided')", "decided", "show decided groups", "View", False, "3"),
    Key("4", "filter('conflicts')", "conflicts", "show groups whose files carry different labels", "View", False,
        "4"),
    Key("5", "filter('leaks')", "leaks", "show groups that leak across train/val/test", "View", False, "5"),
    Key("b", "toggle_list", "list", "show or hide the group list (hidden by itself when narrow)", "View", False,
        "b"),
)

SECTIONS = ("Move", "Decide", "View", "Other")


def bindings() -> list[Binding | tuple[str, str] | tuple[str, str, str]]:
    return [Binding(k.keys, k.action, k.label, show=k.show, priority=k.keys in ("tab", "shift+tab"))
            for k in KEYS]
