"""The scan result in the session's database (imgreview.session.store): round trip, pages, refusals."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgreview.model import FileError, Group, Member, ScanResult
from imgreview.session import store as store_module
from imgreview.session.folder import Session, SessionError
from imgreview.session.journal import Change, Journal
from imgreview.session.store import PAGE, MemoryGroups, StoredGroups
from imgreview.tui.state import ReviewState, order_groups

ODD = os.fsdecode(b"/data/caf\xe9/\xff.png")  # not UTF-8: carried as lone surrogates


def member(path: str, k: int, **extra: object) -> Member:
    return Member(path=path, digest=f"{k:032x}", distance=k % 5, size=1000 + k, width=64, height=48,
                  format="PNG", mode="RGB", mtime=1.5e9 + k, root="/data", **extra)  # type: ignore[arg-type]


def sample(groups: int = 150) -> ScanResult:
    gs = []
    for i in range(groups):
        ms = [member(f"/data/{'train' if k else 'val'}/c{i % 7}/img{i}_{k}.png", i * 10 + k,
                     label=f"c{i % 7}", split="train" if k else "val") for k in range(2 + i % 3)]
        if i == 3:
            ms[1] = member(ODD, 31, aliases=["/data/alias.png"], taken="2020-01-02T03:04:05", camera="Cam",
                           meta={"gps": [1.5, 2.5], "keywords": ["a", "b"]},
                           evidence={"signal": "features", "summary": "ORB 40 inliers", "inliers": 40, "mirror": True})
        if i == 5:
            ms[1].evidence = {"signal": "hash", "summary": "distance 3", "distance": 3}
        gs.append(Group(id=f"g{i:04d}", kind="exact" if i % 4 == 0 else "near", max_distance=i % 6,
                        reference=ms[0].path, members=ms, label_conflict=i % 11 == 0, split_leak=i % 13 == 0))
    return ScanResult(roots=["/data"], settings={"hash": "phash", "threshold": 10}, stats={"files": 999, "x": [1]},
                      groups=gs, errors=[FileError("/data/bad.png", "cannot decode"), FileError(ODD, "odd")],
                      aliases=[["/data/a.png", "/data/b.png"]],
                      quality=[{"path": "/data/dark.png", "issues": ["dark"], "scores": {"dark": 0.9}}])


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Session, ScanResult]:
    session = Session(tmp_path / "s")
    session.create(["/data"])
    result = sample()
    session.save_result(result)
    return session, result


def test_round_trip_keeps_every_field_and_the_json_export(stored: tuple[Session, ScanResult]) -> None:
    session, result = stored
    assert session.store_path.is_file() and not session.result_path.exists()
    back = session.load_result()
    assert back.to_dict() == result.to_dict()
    assert back.to_json() == result.to_json()  # --json / scan.json: the same text
    assert back.groups[3].members[1].path == ODD and os.fsencode(back.groups[3].members[1].path)[-5:] == b"\xff.png"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.integers(0, 2**40), st.floats(0, 2e9),
                          st.one_of(st.none(), st.text(max_size=8)),
                          st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))),
                min_size=1, max_size=6))
def test_round_trip_of_any_member_values(tmp_path: Path, values: list[tuple]) -> None:  # type: ignore[type-arg]
    ms = [Member(path="/r/" + name.replace("\0", "_"), digest="d" * 32, distance=0, size=size, width=1, height=1,
                 mtime=mtime, label=label, camera=label, meta=meta, evidence=meta, root="/r")
          for name, size, mtime, label, meta in values]
    result = ScanResult(roots=["/r"], settings={}, stats={}, errors=[],
                        groups=[Group(id="g1", kind="near", max_distance=0, reference=ms[0].path, members=ms)])
    session = Session(tmp_path / "h")
    session.create(["/r"])
    session.save_result(result)
    assert session.load_result().to_dict() == result.to_dict()


def test_pages_follow_the_review_order(stored: tuple[Session, ScanResult]) -> None:
    session, result = stored
    header, pages = session.load_groups()
    assert isinstance(pages, StoredGroups) and header.groups == [] and header.stats == result.stats
    assert header.errors == result.errors and header.quality == result.quality and header.aliases == result.aliases
    expected = order_groups(result.groups)
    assert len(pages) == len(expected) > 2 * PAGE
    assert [g.id for g in pages] == [g.id for g in expected]
    assert pages[-1].id == expected[-1].id and [g.id for g in pages[PAGE - 1:PAGE + 2]] == \
        [g.id for g in expected[PAGE - 1:PAGE + 2]]
    with pytest.raises(IndexError):
        pages[len(pages)]
    memory = MemoryGroups(expected)
    assert pages.flags == memory.flags
    paths = [expected[10].members[0].path, expected[99].members[1].path, ODD, "/not/there"]
    assert pages.positions_of(paths) == memory.positions_of(paths) == sorted(
        {10, 99, next(i for i, g in enumerate(expected) if any(m.path == ODD for m in g.members))})
    for text in ("IMG1_", "c3/img", "\udcff", "CAF", "nothing", "%", "_"):
        assert pages.positions_matching(text) == memory.positions_matching(text), text


def test_review_state_is_the_same_over_the_database_and_in_memory(stored: tuple[Session, ScanResult]) -> None:
    session, result = stored
    journal = session.journal()
    first = order_groups(result.groups)
    journal.decide([Change(m.path, m.digest, "delete") for m in first[1].members[:1]], group=first[1].id)
    journal.decide([Change(m.path, m.digest, "keep") for m in first[7].members], group=first[7].id)
    journal.decide([Change(first[9].members[0].path, "other content", "delete")], group=first[9].id)  # stale
    header, pages = session.load_groups()
    a = ReviewState(header, Journal(session.journal_path, read_only=True), stored=pages)
    b = ReviewState(result, Journal(session.journal_path, read_only=True))
    assert len(a) == len(b)
    assert a.status == b.status
    assert (a.decided_groups, a.delete_files, a.delete_bytes) == (b.decided_groups, b.delete_files, b.delete_bytes)
    assert a.decided_groups == 1 and a.delete_files == 1 and a.status[9].stale == 1
    for name in ("all", "undecided", "decided", "conflicts", "leaks"):
        assert a.visible(name) == b.visible(name), name
    assert a.visible("conflicts") and a.visible("leaks")
    assert a.exact_batch_candidates() == b.exact_batch_candidates()
    assert a.exact_batch_skipped() == b.exact_batch_skipped()
    assert a.find("img20_") == b.find("img20_") is not None
    assert a.groups_of([first[7].members[0].path]) == [7]


def test_an_older_session_with_only_scan_json_is_read_then_replaced_by_a_scan(tmp_path: Path) -> None:
    session = Session(tmp_path / "old")
    session.create(["/data"])
    result = sample(5)
    result.save(session.result_path)  # how sessions were written before results.sqlite
    assert session.has_result() and session.open_store() is None
    assert session.load_result().to_dict() == result.to_dict()
    header, pages = session.load_groups()
    assert pages is None and len(header.groups) == 5
    assert session.read_stats() == result.stats
    session.save_result(result)
    assert session.store_path.is_file() and not session.result_path.exists()


def test_no_result_yet_is_a_clear_message(tmp_path: Path) -> None:
    session = Session(tmp_path / "empty")
    session.create(["/data"])
    with pytest.raises(SessionError, match="no scan in"):
        session.load_groups()
    assert session.read_stats() is None


def _tamper(session: Session, sql: str) -> None:
    db = sqlite3.connect(session.store_path)
    db.execute(sql)
    db.commit()
    db.close()


TAMPER = {
    "size-text": "UPDATE members SET size = 'big' WHERE grp = 2",
    "path-number": "UPDATE members SET path = 42 WHERE grp = 1 AND pos = 0",
    "exact-7": "UPDATE members SET exact = 7 WHERE grp = 0",
    "mtime-nan": "UPDATE members SET mtime = 'x' WHERE grp = 0",
    "meta-not-json": "UPDATE members SET meta = '{oops' WHERE grp = 3 AND pos = 1",
    "evidence-a-list": "UPDATE evidence SET detail = '[1]'",
    "member-gone": "DELETE FROM members WHERE grp = 4 AND pos = 0",
    "review-gap": "UPDATE groups SET review = 100000 WHERE pos = 0",
    "roots-number": "UPDATE meta SET value = '5' WHERE key = 'roots'",
    "stats-not-json": "UPDATE meta SET value = 'nope' WHERE key = 'stats'",
    "no-format": "DELETE FROM meta WHERE key = 'format'",
    "table-dropped": "DROP TABLE evidence",
    "quality-bad": "UPDATE quality SET issues = '{'",
    "aliases-bad": "UPDATE aliases SET paths = '[1, 2]'",
    "flags-short": "UPDATE meta SET value = '\"00\"' WHERE key = 'flags'",
    "flags-wrong": "UPDATE meta SET value = '\"' || hex(zeroblob(150)) || '\"' WHERE key = 'flags'",
    "flags-gone": "DELETE FROM meta WHERE key = 'flags'",
    "fast-path-size-float": "UPDATE members SET size = 1.5 WHERE grp = 7",
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_a_tampered_database_is_refused_with_a_message(stored: tuple[Session, ScanResult], case: str) -> None:
    session, _ = stored
    _tamper(session, TAMPER[case])
    with pytest.raises(SessionError, match=r"rescan|not a valid|cannot be read|not an imgreview") as info:
        session.load_result()
    assert str(session.store_path) in str(info.value)
    if case == "flags-wrong":
        return  # the review shows the stored flags; the whole read compares them with the groups
    with pytest.raises(SessionError):  # the review's reader refuses it too, when it reaches the damage
        _, pages = session.load_groups()
        assert pages is not None
        list(pages)


def test_a_newer_format_is_refused(stored: tuple[Session, ScanResult]) -> None:
    session, _ = stored
    _tamper(session, "UPDATE meta SET value = '99' WHERE key = 'format'")
    with pytest.raises(SessionError, match="newer imgreview"):
        session.load_result()


@pytest.mark.parametrize("cut", [0, 100, 4096, -4096])
def test_a_torn_database_is_refused_with_a_message(stored: tuple[Session, ScanResult], cut: int) -> None:
    session, _ = stored
    raw = session.store_path.read_bytes()
    session.store_path.write_bytes(raw[:cut] if cut >= 0 else raw[:cut] + b"\0" * 17)
    with pytest.raises(SessionError, match=r"results\.sqlite"):
        session.load_result()


def test_garbage_in_place_of_the_database_is_refused(stored: tuple[Session, ScanResult]) -> None:
    session, _ = stored
    session.store_path.write_bytes(b"garbage{" * 1000)
    with pytest.raises(SessionError, match="is damaged"):
        session.load_result()


def test_a_link_or_fifo_in_place_of_the_database_is_refused(stored: tuple[Session, ScanResult],
                                                            tmp_path: Path) -> None:
    session, _ = stored
    real = tmp_path / "elsewhere.sqlite"
    os.replace(session.store_path, real)
    session.store_path.symlink_to(real)
    with pytest.raises(SessionError, match="symbolic link"):
        session.load_result()
    session.store_path.unlink()
    os.mkfifo(session.store_path)
    with pytest.raises(SessionError, match="not a regular file"):  # refused at once, never waits on it
        session.load_result()


def test_a_failed_write_keeps_the_previous_result(stored: tuple[Session, ScanResult],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    session, result = stored
    before = session.store_path.read_bytes()

    def full(db: sqlite3.Connection, result: ScanResult) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store_module, "_fill", full)
    with pytest.raises(SessionError, match=r"cannot write .*results\.sqlite.*disk is full"):
        session.save_result(sample(3))
    assert session.store_path.read_bytes() == before
    assert sorted(os.listdir(session.path)) == sorted(["results.sqlite", "session.json"])  # no temp file left
    assert session.load_result().to_dict() == result.to_dict()


def test_a_reader_keeps_its_snapshot_while_a_scan_replaces_the_result(stored: tuple[Session, ScanResult]) -> None:
    session, result = stored
    _, pages = session.load_groups()
    assert pages is not None
    session.save_result(sample(3))  # a new scan while the review is open
    assert len(pages) == len(result.groups)
    assert pages[len(pages) - 1].id == order_groups(result.groups)[-1].id  # read from its own snapshot
    assert len(session.load_result().groups) == 3


def test_scan_json_keys_unchanged_in_the_export(stored: tuple[Session, ScanResult]) -> None:
    session, result = stored
    data = json.loads(session.load_result().to_json())
    assert list(data) == ["version", "roots", "settings", "stats", "groups", "errors", "aliases", "quality"]
    assert list(data["groups"][3]["members"][1]) == list(json.loads(result.to_json())["groups"][3]["members"][1])
