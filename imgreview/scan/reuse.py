"""Reusing the previous scan's groups when nothing they depend on changed (an unchanged rescan)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

from imgreview import __version__
from imgreview.fs import new_digest
from imgreview.model import Group
from imgreview.scan.candidates import VERIFY_RULES
from imgreview.scan.localfeat import RECIPE as FEATURE_RECIPE
from imgreview.session.folder import Session, SessionError
from imgreview.session.store import ResultStore
from imgreview.settings import ScanSettings

# Stats of the pair search that a reused result carries over.
_SEARCH_STATS = ("threshold", "engine", "distinct_hashes", "candidate_pairs", "verified_pairs")


def grouping_key(roots: list[str], images: Iterable[tuple[str, bytes, bytes, int, Sequence[str]]],
                 settings: ScanSettings, distinct: set[tuple[str, str]]) -> str:
    """A digest of everything the groups depend on: files, contents, hashes, settings, "not duplicates".

    ``images``: (path, digest as ASCII bytes, hash, mtime_ns, aliases) of every image, in path order."""
    h = new_digest()
    h.update(json.dumps([__version__, FEATURE_RECIPE, VERIFY_RULES, roots, settings.hash.key, settings.effective_threshold,
                         settings.engine,
                         settings.verify, sorted(distinct)], ensure_ascii=True).encode("ascii"))
    for path, digest, hsh, mtime_ns, aliases in images:
        h.update(b"\0".join([os.fsencode(path), digest, hsh, str(mtime_ns).encode(),
                              *(os.fsencode(a) for a in aliases)]) + b"\n")
    return h.hexdigest()


def previous_groups(session: Session, key: str) -> tuple[list[Group], dict[str, object]] | None:
    """The previous scan's groups when nothing they depend on has changed (an unchanged rescan)."""
    if not session.has_result():
        return None
    stats = session.read_stats()  # the stats alone first: a changed tree never reads the groups
    if stats is None or stats.get("grouping_key") != key:
        return None
    try:
        previous = session.load_result()  # the session's safe reader: no link followed, no FIFO waited on
    except SessionError:
        return None
    if previous.stats.get("grouping_key") != key:
        return None
    extra: dict[str, object] = {k: previous.stats[k] for k in _SEARCH_STATS if k in previous.stats}
    extra["reused_groups"] = True
    return previous.groups, extra


# Settings the members' labels and splits come from: the stored groups are copied as they are only
# when these are the same (and no manifest, whose content could change under the same name).
_LABEL_SETTINGS = ("layout", "label_depth", "manifest")


def previous_store(session: Session, key: str, settings: ScanSettings) -> tuple[ResultStore, dict[str, object]] | None:
    """The previous result, open, when its groups can be copied as they are without being read (an
    unchanged rescan with the same labels), and the stats the copy carries over; else None.

    The caller closes the store. A damaged or incomplete previous result is not copied (None).
    """
    stats = session.read_stats()
    if stats is None or stats.get("grouping_key") != key or settings.manifest:
        return None
    try:
        store = session.open_store()
    except SessionError:
        return None
    if store is None:  # an older session's scan.json: read as before
        return None
    try:
        now = settings.to_dict()
        if (store.stats.get("grouping_key") != key
                or any(store.settings.get(k) != now.get(k) for k in _LABEL_SETTINGS)):
            store.close()
            return None
        store.check_whole()
    except SessionError:
        store.close()
        return None
    previous = store.stats
    extra: dict[str, object] = {k: previous[k] for k in _SEARCH_STATS if k in previous}
    extra.update({k: previous[k] for k in _GROUP_STATS if k in previous})
    dataset = previous.get("dataset")
    if isinstance(dataset, dict):
        extra["dataset"] = {k: dataset[k] for k in ("label_conflicts", "split_leaks") if k in dataset}
    extra["reused_groups"] = True
    return store, extra


_GROUP_STATS = ("groups", "exact_groups", "near_groups", "removable_files", "reclaimable_bytes")
