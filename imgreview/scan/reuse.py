"""Reusing the previous scan's groups when nothing they depend on changed (an unchanged rescan)."""

from __future__ import annotations

import json
import os

from imgreview import __version__
from imgreview.fs import new_digest
from imgreview.model import Group
from imgreview.scan.candidates import VERIFY_RULES
from imgreview.scan.fingerprint import Fingerprint
from imgreview.scan.localfeat import RECIPE as FEATURE_RECIPE
from imgreview.scan.walk import FileEntry
from imgreview.session.folder import Session, SessionError
from imgreview.settings import ScanSettings

# Stats of the pair search that a reused result carries over.
_SEARCH_STATS = ("threshold", "engine", "distinct_hashes", "candidate_pairs", "verified_pairs")


def grouping_key(roots: list[str], entries: dict[str, FileEntry], fingerprints: dict[str, Fingerprint],
                 settings: ScanSettings, distinct: set[tuple[str, str]]) -> str:
    """A digest of everything the groups depend on: files, contents, hashes, settings, "not duplicates"."""
    h = new_digest()
    h.update(json.dumps([__version__, FEATURE_RECIPE, VERIFY_RULES, roots, settings.hash.key, settings.effective_threshold,
                         settings.engine,
                         settings.verify, sorted(distinct)], ensure_ascii=True).encode("ascii"))
    for path in sorted(fingerprints):
        fp = fingerprints[path]
        entry = entries[path]
        h.update(b"\0".join([os.fsencode(path), fp.digest.encode("ascii"), fp.hash, str(fp.mtime_ns).encode(),
                              *(os.fsencode(a) for a in entry.aliases)]) + b"\n")
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
