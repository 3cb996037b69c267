"""The words imgreview's records and options are made of, as types mypy checks.

A decision on a file is one of :data:`FileAction`; what a file's decision *is* over the latest scan
adds ``stale`` (decided on other content). Who decided is a person (a key pressed, a choice in a
command) or a rule (``resolve``). These are the values the journal stores and export writes.
"""

from __future__ import annotations

from typing import Literal, get_args

FileAction = Literal["keep", "delete", "undecided"]
Verdict = Literal["keep", "delete", "undecided", "stale"]  # a file's decision over the latest scan
DecidedBy = Literal["person", "rule"]
TriageMark = Literal["unwanted", "wanted", "relabel"]  # a triage mark (the journal also has "unmarked")
RowDecision = Verdict | TriageMark  # what an exported row says
GraphicsMode = Literal["auto", "kitty", "sixel", "halfcell", "none"]

FILE_ACTIONS: tuple[FileAction, ...] = get_args(FileAction)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
GRAPHICS_MODES: tuple[GraphicsMode, ...] = get_args(GraphicsMode)
