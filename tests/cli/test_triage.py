"""Triage end to end: marks in the journal, quality flags in the scan and `check --json`, export lists,
apply (unwanted into the quarantine, --relabel into the other label's folder) and restore byte-identical."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgreview.cli.main import main
from imgreview.decisions.build import build_decisions
from imgreview.quarantine import apply, restore
from imgreview.scan.cache import FingerprintCache
from imgreview.scan.pipeline import scan
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal, MarkChange
from imgreview.settings import ScanSettings
from imgreview.triage.items import load_items
from imgreview.triage.state import TriageState
from tests.helpers.imagegen import save, scene

ONE = ScanSettings(jobs=1)


def dataset(root: Path) -> Path:
    """Labels cat and dog (six pictures each), a byte copy in cat, and planted defects in cat."""
    ds = root / "ds"
    for label, base in (("cat", 0), ("dog", 100)):
        for k in range(6):
            save(scene(base + k, (192, 144)), ds / label / f"{label}{k}.jpg", quality=92)
    (ds / "cat" / "cat0 copy.jpg").write_bytes((ds / "cat" / "cat0.jpg").read_bytes())
    dark = np.asarray(scene(50, (192, 144)), dtype=np.float32) * 0.12
    save(Image.fromarray(dark.astype(np.uint8)), ds / "cat" / "dark.jpg", quality=92)
    save(scene(51, (192, 144)).convert("L").convert("RGB"), ds / "cat" / "grey.jpg", quality=92)
    save(Image.new("RGB", (192, 144), (120, 130, 90)), ds / "cat" / "flat.png")
    return ds


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".imgreview" not in p.parts}


@pytest.fixture()
def scanned(tmp_path: Path) -> tuple[Path, Session]:
    ds = dataset(tmp_path)
    session = Session(tmp_path / "session")
    scan([str(ds)], ONE, session)
    return ds, session


def test_scan_stores_quality_and_flags_the_planted_defects(scanned: tuple[Path, Session]) -> None:
    ds, session = scanned
    result = session.load_result()
    flagged = {Path(q["path"]).name: q["issues"] for q in result.quality}
    assert "dark" in flagged["dark.jpg"]
    assert "grayscale" in flagged["grey.jpg"]
    assert "low_information" in flagged["flat.png"]
    assert not any(name.startswith(("cat", "dog")) for name in flagged), flagged
    assert result.stats["quality"]["dark"] >= 1
    with FingerprintCache(session.cache_path) as cache:
        rows = cache.lookup(ScanSettings().hash.key)
    assert all(fp.quality for _, _, fp in rows.values())  # type: ignore[union-attr]
    again = scan([str(ds)], ONE, session)
    assert again.stats["hashed"] == 0 and again.quality == result.quality  # from the cache, no second decode


def test_check_json_lists_quality_issues(scanned: tuple[Path, Session], tmp_path: Path) -> None:
    ds, session = scanned
    out = tmp_path / "check.json"
    main(["check", str(ds), "--session", str(session.path), "--json", str(out), "-q"])
    data = json.loads(out.read_text())
    by_name = {Path(q["path"]).name: q for q in data["quality"]}
    assert set(by_name) == {"dark.jpg", "grey.jpg", "flat.png"}
    assert by_name["dark.jpg"]["issues"] == ["dark"]
    assert set(by_name["dark.jpg"]["scores"]) == {"dark", "light", "blurry", "low_information",
                                                  "odd_aspect_ratio", "odd_size", "grayscale"}
    assert data["quality_counts"]["dark"] == 1 and data["quality_counts"]["grayscale"] == 1


def test_marks_replay_undo_and_stale(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.jsonl")
    j.mark([MarkChange("/d/cat/a.jpg", "d1", "unwanted", label="cat")])
    j.mark([MarkChange("/d/cat/a.jpg", "d1", "relabel", to="dog", label="cat")])
    assert j.mark_for("/d/cat/a.jpg", "d1") == "relabel" and j.marks["/d/cat/a.jpg"].to == "dog"
    j.undo()
    assert j.mark_for("/d/cat/a.jpg", "d1") == "unwanted"
    again = Journal(tmp_path / "journal.jsonl")
    assert again.mark_for("/d/cat/a.jpg", "d1") == "unwanted"
    assert again.mark_for("/d/cat/a.jpg", "other content") == "stale"
    again.undo()
    assert Journal(tmp_path / "journal.jsonl").mark_for("/d/cat/a.jpg", "d1") == "undecided"
    kinds = [json.loads(line)["action"] for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert kinds == ["unwanted", "relabel", "unwanted", "unmarked"]
    with pytest.raises(ValueError):
        j.mark([MarkChange("/x", "d", "relabel")])


def test_kept_duplicate_marked_unwanted_is_unwanted(scanned: tuple[Path, Session]) -> None:
    ds, session = scanned
    result = session.load_result()
    group = next(g for g in result.groups if any(m.path.endswith("cat0 copy.jpg") for m in g.members))
    keep, other = sorted(group.members, key=lambda m: m.path)
    journal = session.journal()
    journal.decide([Change(keep.path, keep.digest, "keep"), Change(other.path, other.digest, "delete")], group.id)
    journal.mark([MarkChange(keep.path, keep.digest, "unwanted", label="cat"),
                  MarkChange(other.path, other.digest, "unwanted", label="cat")])
    d = build_decisions(result, journal)
    assert [r.path for r in d.unwanted] == [keep.path]
    assert "kept in duplicate group" in d.unwanted[0].note
    assert keep.path not in {r.path for r in d.keep}
    assert [r.path for r in d.delete] == [other.path] and "also marked unwanted" in d.delete[0].note


def test_unwanted_and_relabel_round_trip_byte_identical(scanned: tuple[Path, Session], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    ds, session = scanned
    before = tree(ds)
    state = TriageState(load_items(session, session.load_result()), session.journal())
    names = {state.items[i].name: i for i in range(len(state.items))}
    state.mark([names["dark.jpg"]], "unwanted")
    state.mark([names["cat3.jpg"]], "relabel", "dog")
    state.page_wanted([names["cat1.jpg"], names["dark.jpg"]])
    assert state.mark_of(names["cat1.jpg"]) == "wanted" and state.mark_of(names["dark.jpg"]) == "unwanted"

    out = tmp_path / "rel.json"
    main(["export", "--session", str(session.path), "--unwanted", "-", "--relabel", str(out), "--format", "json"])
    unwanted = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in unwanted] == ["dark.jpg"] and unwanted[0]["decision"] == "unwanted"
    rel = json.loads(out.read_text())
    assert [(Path(r["path"]).name, r["label"], r["to"]) for r in rel] == [("cat3.jpg", "cat", "dog")]

    q = tmp_path / "quarantine"
    plain = apply(session, str(q), dry_run=True)
    assert [Path(m.path).name for m in plain.planned] == ["dark.jpg"]  # relabels only with --relabel
    report = apply(session, str(q), relabel=True)
    assert sorted(Path(m.new).relative_to(tmp_path).as_posix() for m in report.moved) == [
        "ds/dog/cat3.jpg", "quarantine/cat/dark.jpg"]
    assert not (ds / "cat" / "dark.jpg").exists() and (ds / "dog" / "cat3.jpg").exists()
    lines = [json.loads(x) for x in (q / "imgreview-manifest.jsonl").read_text().splitlines()]
    assert [x.get("kind", "") for x in lines if "original" in x] == ["", "relabel"]
    assert apply(session, str(q), relabel=True).planned == []  # a second run is a no-op

    restored = restore(q / "imgreview-manifest.jsonl")
    assert len(restored.restored) == 2 and not restored.skipped
    assert tree(ds) == before


def test_relabel_of_a_file_whose_label_is_not_a_folder_is_skipped(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    save(scene(1), ds / "cat" / "cat" / "a.jpg")
    for k in range(3):
        save(scene(10 + k), ds / "dog" / f"d{k}.jpg")
    session = Session(tmp_path / "session")
    scan([str(ds)], ONE, session)
    state = TriageState(load_items(session, session.load_result()), session.journal())
    i = next(k for k, it in enumerate(state.items) if it.name == "a.jpg")
    state.mark([i], "relabel", "dog")
    report = apply(session, str(tmp_path / "q"), relabel=True)
    assert report.moved == [] and "not one folder" in report.skipped[0].reason


def test_suggest_and_accept_suggestions(scanned: tuple[Path, Session], capsys: pytest.CaptureFixture[str]) -> None:
    ds, session = scanned
    state = TriageState(load_items(session, session.load_result()), session.journal())
    names = {state.items[i].name: i for i in range(len(state.items))}
    state.mark([names["flat.png"]], "unwanted")
    state.mark([names[n] for n in ("cat1.jpg", "cat2.jpg", "dog1.jpg")], "wanted")
    assert main(["triage", "--session", str(session.path), "--suggest", "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(float(line.split()[0]) <= 1 for line in out)
    # not a terminal and no --yes: refused, nothing marked
    assert main(["triage", "--session", str(session.path), "--accept-suggestions", "--min-probability", "0"]) == 2
    before = len(session.journal(read_only=True).marks)
    assert main(["triage", "--session", str(session.path), "--accept-suggestions", "--min-probability", "0",
                 "--yes"]) == 0
    marks = session.journal(read_only=True).marks
    assert len(marks) == len(state.items) and before == 4
    assert sum(m.rule == "suggestion" for m in marks.values()) == len(state.items) - 4


def test_metadata_reaches_the_scan_triage_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = tmp_path / "ds"
    for k in range(3):
        save(scene(k), ds / "cat" / f"c{k}.jpg")
    exif = Image.Exif()
    exif[0x010E] = "ticket machine"
    exif.get_ifd(0x8825).update({1: "N", 2: (35.0, 41.0, 0.0), 3: "E", 4: (139.0, 42.0, 0.0)})
    shop = ds / "cat" / "shop.jpg"
    scene(9).save(shop, "JPEG", exif=exif)
    (ds / "cat" / "shop copy.jpg").write_bytes(shop.read_bytes())
    session = Session(tmp_path / "session")
    result = scan([str(ds)], ONE, session)
    member = next(m for g in result.groups for m in g.members if m.path == str(shop))
    assert member.meta == {"gps": [pytest.approx(35.683333), pytest.approx(139.7)], "description": "ticket machine"}
    state = TriageState(load_items(session, result), session.journal())
    i = next(k for k, it in enumerate(state.items) if it.name == "shop.jpg")
    assert state.items[i].meta["description"] == "ticket machine"
    state.mark([i], "unwanted")
    main(["export", "--session", str(session.path), "--unwanted", "-", "--format", "csv"])
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].endswith("to,gps,description,keywords")
    assert rows[1].endswith(",35.683333,139.700000,ticket machine,") or "35.683333,139.700000" in rows[1]


def test_suggestions_rank_a_newly_added_folder_by_the_old_marks(scanned: tuple[Path, Session], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ds, session = scanned
    state = TriageState(load_items(session, session.load_result()), session.journal())
    names = {state.items[i].name: i for i in range(len(state.items))}
    state.mark([names["flat.png"]], "unwanted")
    state.mark([names[n] for n in ("cat1.jpg", "cat2.jpg", "cat3.jpg", "dog1.jpg", "dog2.jpg")], "wanted")
    new = tmp_path / "new"
    for k in range(4):
        save(scene(200 + k, (192, 144)), new / f"n{k}.jpg", quality=92)
    save(Image.new("RGB", (192, 144), (90, 100, 140)), new / "n_flat.png")
    out = tmp_path / "ranking.json"
    assert main(["triage", str(ds), str(new), "--session", str(session.path), "--suggest", "--json", str(out)]) == 0
    ranking = json.loads(out.read_text())
    fresh = [r["path"] for r in ranking if Path(r["path"]).parent == new]
    assert len(fresh) == 5 and Path(fresh[0]).name == "n_flat.png"  # the new folder, the unwanted kind first
    assert not any(Path(r["path"]).name in ("flat.png", "cat1.jpg") for r in ranking)  # marked ones are not ranked
    assert len(session.journal(read_only=True).marks) == 6  # suggesting marks nothing
