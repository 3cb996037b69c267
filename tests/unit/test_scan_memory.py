"""The scan's packed files (branch scale5): the walk, the cache look-up, the search and the grouping
keep numpy columns per file and read fingerprints back from the cache only for the files a stage
works on; the results are main's, byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from imgreview.scan import pipeline
from imgreview.scan.cache import CacheError, FingerprintCache
from imgreview.scan.fingerprint import Fingerprint
from imgreview.scan.incremental import PAIRS_NAME
from imgreview.scan.walk import FileTable, walk, walk_files
from imgreview.session.folder import Session
from imgreview.settings import ScanSettings
from tests.helpers import scan_golden
from tests.helpers.imagegen import brightened, gradient, resized, save, scene


@pytest.fixture(scope="module")
def golden_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    scan_golden.make(folder)
    return folder


@pytest.mark.parametrize("case", sorted(scan_golden.CASES))
def test_the_packed_scan_gives_mains_json_byte_for_byte(golden_tree: Path, case: str) -> None:
    """Groups, members, evidence, flags, quality, errors, aliases, stats: what main (13e8ea3, every
    fingerprint in memory) stored for the same tree and cache."""
    expected = (scan_golden.DATA / f"scan_golden-{case}.json").read_text()
    assert scan_golden.result_json(golden_tree, case) == expected


def test_small_batches_give_the_same_json(golden_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quality flags a few pictures at a time, the groups' members and the rows read a few at a time."""
    from imgreview.scan import cache, verify

    monkeypatch.setattr(verify, "CORRELATION_ROWS", 5)
    monkeypatch.setattr(pipeline, "QUALITY_CHUNK", 7)
    monkeypatch.setattr(pipeline, "GROUP_BATCH", 3)
    monkeypatch.setattr(cache, "IN_CHUNK", 4)
    expected = (scan_golden.DATA / "scan_golden-verify.json").read_text()
    assert scan_golden.result_json(golden_tree, "verify") == expected


def test_the_scan_never_loads_every_fingerprint(golden_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No dict of every cached fingerprint; fingerprints read back only for candidates and group members."""
    def refuse(*args: object) -> None:
        raise AssertionError("the whole cache read into memory")

    monkeypatch.setattr(FingerprintCache, "lookup", refuse)
    read: list[int] = []
    real = FingerprintCache.fingerprints_by_rowid

    def counted(self: FingerprintCache, want: list[tuple[int, str, str, int, int]], key: str) -> list[Fingerprint]:
        read.extend(w[0] for w in want)
        return real(self, want, key)

    monkeypatch.setattr(FingerprintCache, "fingerprints_by_rowid", counted)
    text = scan_golden.result_json(golden_tree, "verify")
    data = json.loads(text)
    members = sum(len(g["members"]) for g in data["groups"])
    images = data["stats"]["images"]
    assert 0 < members < images
    # each group member once for the groups, each candidate's first file once for the verification
    assert len(read) <= members + data["stats"]["distinct_hashes"] + data["stats"]["candidate_pairs"] * 2
    assert len(read) < 2 * images


def test_walk_files_is_the_walk_packed(golden_tree: Path) -> None:
    root = str(golden_tree / "root")
    table = walk_files([root])
    entries = walk([root]).files
    assert table.paths == [e.path for e in entries] == sorted(table.paths)
    assert [table.entry(i) for i in range(len(table))] == [
        type(e)(e.path, e.root, e.size, e.mtime_ns, 0, 0, e.aliases) for e in entries]
    assert table.alias_sets == walk([root]).alias_sets and len(table.alias_sets) == 2
    again = FileTable.of(entries)
    assert again.paths == table.paths and again.aliases == table.aliases
    assert np.array_equal(again.size, table.size) and np.array_equal(again.mtime_ns, table.mtime_ns)


def test_a_row_moved_is_found_by_path_and_a_row_changed_is_an_error(tmp_path: Path) -> None:
    """Another scan of the session may store the same fingerprint again (a new row id): read by path;
    a row that is not the fingerprint looked up (other content, size, mtime or settings) is an error."""
    path = str(tmp_path / "root" / "a.png")
    save(gradient(), Path(path))
    session = Session(tmp_path / "session")
    pipeline.scan([str(tmp_path / "root")], ScanSettings(jobs=1), session)
    key = ScanSettings().hash.key
    with FingerprintCache(session.cache_path) as cache:
        (rowid,) = cache.rowids([path])
        assert rowid >= 0 and cache.rowids([path + "x"]) == [-1]
        row = cache.db.execute("SELECT digest, size, mtime_ns FROM files WHERE rowid=?", (rowid,)).fetchone()
        want = (rowid, path, str(row[0]), int(row[1]), int(row[2]))
        (fp,) = cache.fingerprints_by_rowid([want], key)
        assert fp.path == path and fp.digest == want[2]
        assert cache.routes_by_rowid([want], key) == [fp.routes]
        moved = (rowid + 1000, *want[1:])
        assert cache.fingerprints_by_rowid([moved], key)[0].digest == fp.digest
        assert cache.routes_by_rowid([(-1, *want[1:])], key) == [fp.routes]
        for wrong in ((rowid, path, "0" * 32, want[3], want[4]), (rowid, path, want[2], want[3] + 1, want[4]),
                      (rowid, path + "x", *want[2:])):
            with pytest.raises(CacheError, match="changed during the scan"):
                cache.fingerprints_by_rowid([wrong], key)
        with pytest.raises(CacheError, match="changed during the scan"):
            cache.routes_by_rowid([want], key + "other")


def test_a_first_scan_and_a_rescan_from_the_cache_give_the_same_json(tmp_path: Path) -> None:
    """Fingerprints computed in this scan (their rows found after the hash stage) and the same
    fingerprints read from the cache by a rescan that searches and groups again."""
    root = tmp_path / "root"
    base = scene(7)
    save(base, root / "train" / "cat" / "a.jpg")
    save(resized(base, 0.7), root / "train" / "cat" / "b.jpg")
    save(brightened(base, 1.1), root / "val" / "cat" / "c.png")
    save(gradient(), root / "val" / "dog" / "d.png")
    shutil.copy(root / "train" / "cat" / "a.jpg", root / "val" / "dog" / "copy.jpg")
    (root / "val" / "dog" / "broken.jpg").write_bytes(b"not a picture")
    session = Session(tmp_path / "session")
    first = pipeline.scan([str(root)], ScanSettings(jobs=1), session)
    assert first.stats["hashed"] == 6 and first.stats["groups"] >= 1
    text = Session(session.path).load_result().to_json()
    (session.path / PAIRS_NAME).unlink()
    session.store_path.unlink()
    again = pipeline.scan([str(root)], ScanSettings(jobs=1), session)
    assert again.stats["hashed"] == 0 and again.stats["reused_groups"] is False
    texts = [json.loads(t) for t in (text, Session(session.path).load_result().to_json())]
    for data in texts:
        for k in ("seconds", "stage_seconds", "hashed", "cached", "features_computed"):
            data["stats"].pop(k, None)
    assert texts[0] == texts[1]


def test_the_packed_columns_read_as_lists() -> None:
    from imgreview.scan.columns import BytesColumn, DigestColumn

    values = sorted(["00ff", "0a0b", "ffff", "a1b2"])
    col = DigestColumn(np.array([v.encode() for v in values], dtype="S4"))
    assert list(col) == values == col[:] and col[2] == values[2] and col[-1] == values[-1] and len(col) == 4
    assert [col.index_of(v) for v in values] == [0, 1, 2, 3]
    assert col.index_of("0000") is None and col.index_of("zzzz") is None and col.index_of("é") is None
    rows = BytesColumn(np.arange(12, dtype=np.uint8).reshape(3, 4))
    assert list(rows) == [bytes([0, 1, 2, 3]), bytes([4, 5, 6, 7]), bytes([8, 9, 10, 11])] == rows[:]
    assert rows[1] == bytes([4, 5, 6, 7]) and isinstance(rows[1], bytes)


def test_correlation_a_block_of_rows_at_a_time_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from imgreview.scan import verify

    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (1001, 256), dtype=np.uint8)
    b = rng.integers(0, 256, (1001, 256), dtype=np.uint8)
    b[:40] = a[:40]
    a[7] = 5  # a constant row: 0
    whole = verify.correlation(a, b)
    monkeypatch.setattr(verify, "CORRELATION_ROWS", 64)
    blocked = verify.correlation(a, b)
    assert blocked.dtype == whole.dtype and blocked.tobytes() == whole.tobytes()
    assert whole[7] == 0 and np.allclose(whole[:7], 1.0) and np.allclose(whole[8:40], 1.0)
    assert verify.correlation(a[:0], b[:0]).shape == (0,)
