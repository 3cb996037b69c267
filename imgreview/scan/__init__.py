"""Scanning: walk the roots, fingerprint every image (cached, in parallel), search and verify pairs, group.

Modules, in the order data flows through them: :mod:`.walk`, :mod:`.cache`, :mod:`.workers` and
:mod:`.fingerprint`, :mod:`.search` (the exact and NGT engines), :mod:`.verify`, :mod:`.grouping`,
:mod:`.reuse`; :mod:`.pipeline` runs them (:func:`scan`). :mod:`.library` is the saved NGT index
that ``imgreview find`` queries.

``from imgreview.scan import scan`` works without importing the pipeline in worker processes that
only fingerprint.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ScanError", "ScanInterrupted", "scan"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from imgreview.scan import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
