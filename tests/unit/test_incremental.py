"""Incremental pair search and regrouping (imgreview.scan.incremental): a rescan that searches and
verifies only the pairs of new contents and regroups only the components they touch stores the
result a full scan stores (groups, members, order, evidence, flags, pair counts)."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from imgreview.fs import digest_bytes
from imgreview.scan import incremental, pipeline
from imgreview.scan.candidates import merge_candidates, route_candidates
from imgreview.scan.fingerprint import Fingerprint
from imgreview.scan.incremental import PAIRS_NAME, PairStore, new_candidates
from imgreview.scan.pipeline import _expand_to_nodes, build_groups, scan
from imgreview.scan.search import find_pairs, to_words
from imgreview.scan.variants import MASK_BYTES, ROUTES, SAME_ROUTES
from imgreview.scan.walk import FileEntry
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import brightened, gradient, resized, save, scene

ONE = ScanSettings(jobs=1)
NBYTES = 8
# stats that say how the result was reached, not what it is
_WORK_STATS = ("seconds", "cached", "hashed", "vanished", "features_computed", "stage_seconds", "incremental",
               "incremental_counts", "reused_groups")


# ------------------------------------------------------------------------------------ synthetic
def _flip(rng: np.random.Generator, h: int, bits: int) -> int:
    for b in rng.choice(64, size=bits, replace=False).tolist():
        h ^= 1 << b
    return h


def _contents(seed: int, n: int) -> list[tuple[bytes, bytes, bool, bytes]]:
    """``n`` synthetic contents in families: (hash, routes, lowinfo, grey signature)."""
    rng = np.random.default_rng(seed)
    bases = [int(rng.integers(0, 2**63)) for _ in range(max(1, n // 3))]
    greys = [rng.integers(0, 256, 256, dtype=np.uint8) for _ in bases]
    out = []
    for _ in range(n):
        fam = int(rng.integers(len(bases)))
        h = _flip(rng, bases[fam], int(rng.integers(0, 16)))
        mask = 0
        hashes = []
        for k, name in enumerate(ROUTES):
            if rng.random() < 0.5:
                continue
            mask |= 1 << k
            if name in SAME_ROUTES or rng.random() < 0.3:  # near another family's hash: a routed candidate
                r = _flip(rng, bases[int(rng.integers(len(bases)))], int(rng.integers(0, 12)))
            else:
                r = int(rng.integers(0, 2**63))
            hashes.append((k, r))
        blob = bytearray(MASK_BYTES + len(ROUTES) * NBYTES)
        blob[:MASK_BYTES] = mask.to_bytes(MASK_BYTES, "big")
        for k, r in hashes:
            blob[MASK_BYTES + k * NBYTES:MASK_BYTES + (k + 1) * NBYTES] = r.to_bytes(NBYTES, "big")
        noise = rng.integers(-20, 21, 256) * (1 + int(rng.random() < 0.3) * 6)
        grey = np.clip(greys[fam].astype(np.int16) + noise, 0, 255).astype(np.uint8)
        out.append((h.to_bytes(NBYTES, "big"), bytes(blob), bool(rng.random() < 0.1), grey.tobytes()))
    return out


def _fingerprints(files: dict[str, int], contents: list[tuple[bytes, bytes, bool, bytes]]
                  ) -> tuple[dict[str, FileEntry], dict[str, Fingerprint]]:
    entries, fps = {}, {}
    for path, c in files.items():
        h, routes, low, grey = contents[c]
        side = 64 if c % 2 else 200
        fps[path] = Fingerprint(path=path, size=1000 + c, mtime_ns=c, digest=digest_bytes(b"content %d" % c),
                                width=side, height=side, format="PNG", mode="RGB", taken=None, camera=None,
                                hash=h, lowinfo=low, gray=grey, color=grey[:48], routes=routes)
        entries[path] = FileEntry(path, "/r", 1000 + c, c, 0, 0)
    return entries, fps


def _groups(entries: dict[str, FileEntry], fps: dict[str, Fingerprint], s: ScanSettings,
            distinct: set[tuple[str, str]], pairs: Path | None) -> tuple[list[dict[str, Any]], dict[str, object]]:
    result, extra = build_groups(["/r"], entries, fps, s, distinct, pairs_path=pairs)
    return [asdict(g) for g in result.groups], extra


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), verify=st.booleans(),
       steps=st.lists(st.tuples(st.integers(0, 10_000), st.floats(0.0, 0.6), st.integers(0, 8)), min_size=1,
                      max_size=3),
       marks=st.integers(0, 3))
def test_incremental_rescan_equals_a_full_search_on_synthetic_fingerprints(
        tmp_path: Path, seed: int, n: int, verify: bool, steps: list[tuple[int, float, int]], marks: int) -> None:
    contents = _contents(seed, n + 30)
    rng = np.random.default_rng(seed)
    files = {f"/r/f{k:03d}": int(rng.integers(n)) for k in range(n + 5)}  # some contents in several files
    s = ScanSettings(jobs=1, verify=verify)
    digests = sorted({digest_bytes(b"content %d" % c) for c in range(len(contents))})
    distinct = {tuple(sorted((digests[a], digests[b]))) for a, b in
                rng.integers(len(digests), size=(marks * 5, 2)).tolist() if a != b}
    store = tmp_path / f"pairs-{seed}-{n}-{verify}.sqlite"
    store.unlink(missing_ok=True)
    entries, fps = _fingerprints(files, contents)
    _, extra = _groups(entries, fps, s, distinct, store)  # the first scan: a full search
    assert extra["incremental"] is False
    for step_seed, drop, add in steps:
        r = np.random.default_rng(step_seed)
        for path in sorted(files):
            if r.random() < drop:
                if r.random() < 0.5:
                    del files[path]  # deleted
                else:
                    files[path] = int(r.integers(len(contents)))  # edited: another content (often a new one)
        for k in range(add):
            files[f"/r/new{step_seed}-{k}"] = int(r.integers(len(contents)))  # added (a copy or a new content)
        if files and r.random() < 0.5:  # renamed
            old = sorted(files)[int(r.integers(len(files)))]
            files[old + "-renamed"] = files.pop(old)
        entries, fps = _fingerprints(files, contents)
        got, extra = _groups(entries, fps, s, distinct, store)
        want, full = _groups(entries, fps, s, distinct, None)
        assert extra["incremental"] is True
        assert got == want
        for k in ("candidate_pairs", "verified_pairs", "distinct_hashes", "engine", "threshold"):
            assert extra[k] == full[k], k


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 50), new_share=st.floats(0.0, 1.0))
def test_new_candidates_are_the_full_searchs_candidates_of_the_new_items(seed: int, n: int, new_share: float) -> None:
    contents = _contents(seed, n)
    words = to_words([c[0] for c in contents])
    routes = [c[1] for c in contents]
    rng = np.random.default_rng(seed + 1)
    new = np.flatnonzero(rng.random(n) < new_share)
    unique, inverse = np.unique(words, axis=0, return_inverse=True)
    hpairs, _ = find_pairs(unique, 64, 12, "exact")
    full = merge_candidates(_expand_to_nodes(hpairs, inverse.ravel(), len(unique)),
                            route_candidates(routes, words, 64, 10))
    is_new = set(new.tolist())
    want = {k: c for k, c in full.items() if k[0] in is_new or k[1] in is_new}
    direct, routed = new_candidates(words, routes, new, 64, 12, 10)
    assert merge_candidates(direct, routed) == want


# ------------------------------------------------------------------------------------ real pictures
@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Small pictures and edited copies of them (resized, mirrored, turned, brightened, cropped)."""
    folder = tmp_path_factory.mktemp("pool")
    out = []
    for s in range(7):
        img = scene(s, (128, 96))
        out.append(save(img, folder / f"s{s}.png"))
        edit = [resized(img, 0.6), ImageOps.mirror(img), img.rotate(90, expand=True), brightened(img),
                img.crop((8, 6, 120, 90)), resized(img, 0.8)][s % 6]
        out.append(save(edit, folder / f"e{s}.png"))
        if s % 3 == 0:
            out.append(save(brightened(resized(img, 0.7), 0.8), folder / f"f{s}.jpg", quality=80))
    out.append(save(gradient(), folder / "g0.png"))
    out.append(save(gradient(start=(10, 0, 0)), folder / "g1.png"))
    return out


def _stored(session: Session) -> dict[str, Any]:
    data = session.load_result().to_dict()
    for k in _WORK_STATS:
        data["stats"].pop(k, None)
    return data


def _full_scan(root: Path, session: Session, s: ScanSettings, where: Path) -> dict[str, Any]:
    """A full scan in a fresh session (given the first session's fingerprint and feature caches,
    which are not what is tested, and its journal)."""
    fresh = Session(where)
    fresh.path.mkdir(parents=True)
    for name in ("cache.sqlite", "features.sqlite", "journal.jsonl"):
        if (session.path / name).exists():
            shutil.copy(session.path / name, fresh.path / name)
    result = scan([str(root)], s, fresh)
    assert result.stats["incremental"] is False
    return _stored(fresh)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 99), min_size=4, max_size=12, unique=True),
       changes=st.lists(st.tuples(st.sampled_from(["add", "delete", "edit", "rename", "copy"]), st.integers(0, 99)),
                        min_size=1, max_size=5))
def test_incremental_rescan_stores_the_full_scans_result(tmp_path_factory: pytest.TempPathFactory, pool: list[Path],
                                                         picks: list[int], changes: list[tuple[str, int]]) -> None:
    base = tmp_path_factory.mktemp("case")
    root = base / "data"
    root.mkdir()
    for p in picks:
        src = pool[p % len(pool)]
        shutil.copy(src, root / src.name)
    session = Session(base / "s")
    scan([str(root)], ONE, session)
    for action, k in changes:
        present = sorted(root.iterdir())
        src = pool[k % len(pool)]
        if action == "add":
            shutil.copy(src, root / f"n{k}-{src.name}")
        elif present and action == "delete":
            present[k % len(present)].unlink()
        elif present and action == "edit":  # the same name, other content
            target = present[k % len(present)]
            Image.open(src).convert("RGB").save(target, format="PNG" if target.suffix == ".png" else "JPEG")
        elif present and action == "rename":
            target = present[k % len(present)]
            target.rename(target.with_name("r" + target.name))
        elif present:  # a byte-identical copy
            shutil.copy(present[k % len(present)], root / f"c{k}-{present[k % len(present)].name}")
    result = scan([str(root)], ONE, session)
    assert result.stats["incremental"] is True
    assert _stored(session) == _full_scan(root, session, ONE, base / "full")


def _tree(root: Path) -> Path:
    for s in range(4):
        img = scene(s, (128, 96))
        save(img, root / f"a{s}.png")
        save(ImageOps.mirror(img) if s % 2 else resized(img, 0.6), root / f"b{s}.png")
    return root


def test_changed_settings_rules_or_marks_search_in_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "data")
    session = Session(tmp_path / "s")
    assert scan([str(root)], ONE, session).stats["incremental"] is False
    save(scene(9, (128, 96)), root / "x.png")
    assert scan([str(root)], ONE, session).stats["incremental"] is True

    def changed(s: ScanSettings) -> bool:
        save(scene(len(list(root.iterdir())) + 20, (128, 96)), root / f"x{len(list(root.iterdir()))}.png")
        return bool(scan([str(root)], s, session).stats["incremental"])

    assert changed(replace(ONE, threshold=10)) is False  # another threshold: full search, store rebuilt
    assert changed(replace(ONE, threshold=10)) is True
    assert changed(replace(ONE, threshold=10, verify=False)) is False
    assert changed(ONE) is False
    monkeypatch.setattr(incremental, "VERIFY_RULES", "changed")
    assert changed(ONE) is False
    assert changed(ONE) is True
    monkeypatch.setattr(incremental, "FEATURE_RECIPE", "changed")
    assert changed(ONE) is False
    monkeypatch.setattr(incremental, "__version__", "0.0.0-other")
    assert changed(ONE) is False
    group = scan([str(root)], ONE, session).groups[0]
    session.journal().mark_distinct(group.id, [(m.path, m.digest) for m in group.members])  # "not duplicates"
    assert changed(ONE) is False
    assert changed(ONE) is True
    assert _stored(session) == _full_scan(root, session, ONE, tmp_path / "full")
    ngt = replace(ONE, engine="ngt")  # approximate: always the whole search, no store kept
    assert changed(ngt) is False
    assert changed(ngt) is False
    assert changed(ONE) is False


def test_an_interrupted_rescan_leaves_a_session_the_next_rescan_scans_right(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "data")
    session = Session(tmp_path / "s")
    scan([str(root)], ONE, session)
    (root / "a0.png").unlink()
    save(resized(scene(1, (128, 96)), 0.7), root / "c1.png")

    applied = PairStore.apply

    def cut(self: PairStore, *args: Any) -> None:  # killed inside the store's transaction, after its deletes
        real = self.db.executemany

        def executemany(sql: str, rows: Any) -> Any:
            if sql.startswith("INSERT INTO members"):
                raise KeyboardInterrupt
            return real(sql, rows)

        monkeypatch.setattr(self, "db", _Wrapped(self.db, executemany))
        applied(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(PairStore, "apply", cut)
        with pytest.raises(KeyboardInterrupt):
            scan([str(root)], ONE, session)
    # the store was rolled back: the next rescan is incremental from the first scan's store
    assert scan([str(root)], ONE, session).stats["incremental"] is True
    assert _stored(session) == _full_scan(root, session, ONE, tmp_path / "full1")

    # the store written, the result not (killed while saving it)
    save(brightened(scene(2, (128, 96))), root / "d2.png")
    with monkeypatch.context() as patch:
        def fail(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt
        patch.setattr(Session, "save_result", fail)
        with pytest.raises(KeyboardInterrupt):
            scan([str(root)], ONE, session)
    (root / "b3.png").unlink()
    assert scan([str(root)], ONE, session).stats["incremental"] is True
    assert _stored(session) == _full_scan(root, session, ONE, tmp_path / "full2")

    # a damaged store: searched in full, and started again
    (session.path / PAIRS_NAME).write_bytes(b"not a database" * 100)
    save(scene(30, (128, 96)), root / "e.png")
    assert scan([str(root)], ONE, session).stats["incremental"] is False
    save(scene(31, (128, 96)), root / "f.png")
    assert scan([str(root)], ONE, session).stats["incremental"] is True
    with sqlite3.connect(session.path / PAIRS_NAME) as db:  # a store missing its groups
        db.execute("DELETE FROM members")
    (root / "a1.png").unlink()
    assert scan([str(root)], ONE, session).stats["incremental"] is False
    assert _stored(session) == _full_scan(root, session, ONE, tmp_path / "full3")


class _Wrapped:
    """A connection whose ``executemany`` is replaced (sqlite3.Connection attributes are read-only)."""

    def __init__(self, db: sqlite3.Connection, executemany: Any) -> None:
        self._db = db
        self.executemany = executemany

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_pipeline_names_the_pair_store_in_the_session(tmp_path: Path) -> None:
    root = _tree(tmp_path / "data")
    session = Session(tmp_path / "s")
    scan([str(root)], ONE, session)
    assert (session.path / PAIRS_NAME).is_file()
    assert pipeline.PAIRS_NAME == PAIRS_NAME


def test_kept_groups_keep_their_evidence_as_seen_from_each_member(tmp_path: Path) -> None:
    """A group the rescan does not regroup is read back from the store: a quarter turn found from
    the reference's side reads "rot270" on the member, as in the full scan."""
    root = tmp_path / "data"
    for s in range(2):
        img = scene(s, (128, 96))
        save(img, root / f"a{s}.png")
        save(img.rotate(90, expand=True), root / f"b{s}.png")
        save(img.rotate(-90, expand=True), root / f"c{s}.png")
        save(ImageOps.mirror(img), root / f"d{s}.png")
    session = Session(tmp_path / "s")
    first = scan([str(root)], ONE, session)
    routes = {str((m.evidence or {}).get("route")) for g in first.groups for m in g.members}
    assert {"rot90", "rot270", "mirror"} <= routes
    save(scene(7, (128, 96)), root / "x.png")
    (root / "d1.png").unlink()
    result = scan([str(root)], ONE, session)
    counts = result.stats["incremental_counts"]
    assert isinstance(counts, dict) and counts["kept_groups"] >= 1
    assert _stored(session) == _full_scan(root, session, ONE, tmp_path / "full")


def test_a_scan_while_another_updates_the_store_searches_in_full(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "data")
    session = Session(tmp_path / "s")
    scan([str(root)], ONE, session)
    save(scene(12, (128, 96)), root / "x.png")
    monkeypatch.setattr(incremental, "LOCK_SECONDS", 0.2)
    other = sqlite3.connect(session.path / PAIRS_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another scan's update in progress
    try:
        assert scan([str(root)], ONE, session).stats["incremental"] is False  # not applied onto a store in flux
    finally:
        other.execute("ROLLBACK")
        other.close()
    (root / "a2.png").unlink()
    assert scan([str(root)], ONE, session).stats["incremental"] is True
    assert _stored(session) == _full_scan(root, session, ONE, tmp_path / "full")
