"""export, check, resolve and apply read only what they need from the session's database: the same
lists, counts, notes, report, plan and bytes as the whole result held in memory (main's code before,
kept in tests/helpers/reference.py), on generated results and journals."""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgreview.cli.main import main
from imgreview.dataset.health import report_of
from imgreview.decisions.build import Decisions, Row, build_decisions, decisions_of, undecided_rows
from imgreview.decisions.resolve import ResolveOptions, plan_exact, plan_exact_groups
from imgreview.model import Group, Member, ScanResult
from imgreview.session.folder import Session
from imgreview.session.journal import Change, Journal, MarkChange
from imgreview.session.store import ScanGroups
from tests.helpers import reference

LABELS = ("cat", "dog", "owl")
SPLITS = ("train", "val", "test")


def make_result(rng: random.Random, groups: int) -> ScanResult:
    out = []
    n = 0
    for gi in range(groups):
        size = rng.randint(2, 5)
        kind = "exact" if rng.random() < 0.3 else "near"
        shared = f"{gi:08x}" + "0" * 24
        members = []
        for k in range(size):
            label = rng.choice(LABELS) if rng.random() < 0.2 else LABELS[gi % 3]
            split = rng.choice(SPLITS) if rng.random() < 0.2 else "train"
            same = kind == "exact" or (k and rng.random() < 0.3)
            members.append(Member(
                path=f"/data/{split}/{label}/img{n:05d}{' copy' if k and rng.random() < 0.3 else ''}.jpg",
                digest=shared if same else f"{gi:08x}{k:024x}", distance=0 if same else rng.randint(1, 9),
                size=rng.randint(1_000, 9_000), width=rng.choice((64, 128)), height=48, format="JPEG", mode="RGB",
                mtime=1.6e9 + rng.randint(0, 10**6), root="/data", label=label, split=split,
                meta={"gps": [1.5, 2.5], "keywords": ["a"]} if rng.random() < 0.1 else None,
                evidence=None if k == 0 else {"signal": "hash", "summary": f"hash {k}"}))
            n += 1
        group = Group(f"g{gi:05d}", kind, 9, members[0].path, members)
        group.label_conflict = len({m.label for m in members}) > 1
        group.split_leak = len({m.split for m in members}) > 1
        if rng.random() < 0.1:  # flags are not trusted: the members say what the groups hold
            group.label_conflict, group.split_leak = not group.label_conflict, not group.split_leak
        out.append(group)
    return ScanResult(roots=["/data"], settings={"hash": "phash"}, stats={"files": n, "dataset": {"labels": {
        "cat": {"train": 40, "val": 3}, "dog": {"train": 30, "test": 2}, "owl": {"train": 5}}}},
        groups=out, errors=[], quality=[{"path": out[0].members[0].path, "issues": ["dark"], "scores": {}}])


def make_journal(rng: random.Random, result: ScanResult, journal: Journal, outside: str) -> None:
    members = [(g, m) for g in result.groups for m in g.members]
    for _ in range(rng.randint(0, 12)):  # whole groups decided, some dropped, some by rule
        g = rng.choice(result.groups)
        how = rng.random()
        changes = [Change(m.path, m.digest, "delete" if (k or how < 0.2) else "keep")
                   for k, m in enumerate(g.members)]
        by = "rule" if rng.random() < 0.4 else "person"
        rule = rng.choice(("exact:suggested", "exact:conflicts-drop-all")) if by == "rule" else None
        journal.decide(changes, group=g.id, by=by, rule=rule)  # type: ignore[arg-type]
    for _ in range(rng.randint(0, 8)):  # single files, some on other content (stale)
        g, m = rng.choice(members)
        digest = m.digest if rng.random() < 0.7 else "f" * 32
        journal.decide([Change(m.path, digest, rng.choice(("keep", "delete", "undecided")))], group=g.id)
    if rng.random() < 0.3:
        journal.decide([Change("/data/train/cat/gone.jpg", "e" * 32, "delete")], group="gx")  # an orphan
    marks = []
    for _ in range(rng.randint(0, 6)):
        g, m = rng.choice(members)
        action = rng.choice(("unwanted", "relabel", "wanted"))
        digest = m.digest if rng.random() < 0.85 else "d" * 32
        marks.append(MarkChange(m.path, digest, action, to="owl" if action == "relabel" else None, label=m.label))
    if rng.random() < 0.4:
        marks.append(MarkChange(outside, "", "unwanted"))  # a file in no group
        marks.append(MarkChange("/data/train/dog/vanished.jpg", "", "relabel", to="cat"))  # no longer exists
    if marks:
        journal.mark(marks)


def row_key(r: Row) -> tuple[Any, ...]:
    return (r.group, r.path, r.decision, r.by, r.note, r.rule, r.to, r.member.digest)


def same_decisions(got: Decisions, want: Decisions, undecided: list[Row]) -> None:
    for name in ("keep", "delete", "stale", "held", "unwanted", "relabel", "wanted"):
        assert [row_key(r) for r in getattr(got, name)] == [row_key(r) for r in getattr(want, name)], name
    assert [row_key(r) for r in undecided] == [row_key(r) for r in want.undecided]
    assert got.undecided_count == len(want.undecided)
    assert got.dropped_groups == want.dropped_groups
    assert got.orphans == want.orphans and got.triage_orphans == want.triage_orphans
    assert got.delete_bytes == want.delete_bytes
    wanted_groups = {r.group for name in ("delete", "keep", "held", "stale") for r in getattr(want, name)}
    assert wanted_groups <= set(got.groups)


def stored_case(seed: int, folder: Path) -> tuple[Session, ScanResult, Journal]:
    rng = random.Random(seed)
    result = make_result(rng, rng.randint(1, 40))
    session = Session(folder / "s")
    session.create(["/data"])
    session.save_result(result)
    outside = folder / "outside.jpg"
    outside.write_bytes(b"not a picture")
    make_journal(rng, result, session.journal(), str(outside))
    return session, result, session.journal(read_only=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_decisions_from_the_database_equal_the_whole_result(seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        session, result, journal = stored_case(seed, Path(tmp))
        want = reference.build_decisions(session.load_result(), journal)
        header, groups = session.open_scan()
        with groups:
            got = decisions_of(header, groups, journal)
            assert not got.complete
            same_decisions(got, want, list(undecided_rows(got, groups, journal)))
            named = {m.path for g in got.groups.values() for m in g.members}
            assert named <= {m.path for g in result.groups for m in g.members}
        full = build_decisions(result, journal)  # the in-memory path, complete
        same_decisions(full, want, full.undecided)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_health_report_from_the_database_equals_the_whole_result(seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        session, _, journal = stored_case(seed, Path(tmp))
        want = reference.build_report(session.load_result(), journal, min_images=6)
        header, groups = session.open_scan()
        with groups:
            got = report_of(header, groups, journal, min_images=6)
        assert got.to_dict() == want.to_dict()


def plan_key(plan: Any) -> tuple[Any, ...]:
    return ([(d.group, d.rule, d.keep, d.delete) for d in plan.decided],
            {k: [(c.path, c.digest, c.action, c.group) for c in v] for k, v in plan.changes.items()},
            dict(plan.skipped), plan.unchanged)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from([
    ResolveOptions(), ResolveOptions(prefer=("size", "pixels", "oldest", "shortest")),
    ResolveOptions(conflicts="drop-all"), ResolveOptions(leaks="keep-train", within_label=True)]))
def test_resolve_reads_only_groups_with_copies_and_plans_the_same(seed: int, mode: ResolveOptions) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        session, _, journal = stored_case(seed, Path(tmp))
        want = plan_exact(session.load_result(), journal, mode)
        _, groups = session.open_scan()
        with groups:
            copies = groups.copy_positions()
            got = plan_exact_groups(groups.at(copies), journal, mode)
            assert copies == ScanGroups(session.load_result().groups).copy_positions()
        assert plan_key(got) == plan_key(want)


@pytest.mark.parametrize("fmt", ["txt", "csv", "json"])
def test_export_command_writes_the_bytes_of_the_whole_result(tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("imgreview.decisions.export.BATCH", 3)  # rows rendered a few at a time
    for seed in range(6):
        folder = tmp_path / str(seed)
        folder.mkdir()
        session, _, journal = stored_case(seed * 7919 + 3, folder)
        want = reference.build_decisions(session.load_result(), journal)
        names = ("keep", "delete", "undecided", "unwanted", "relabel", "wanted")
        args = ["export", "--session", str(session.path), "--format", fmt]
        for name in names:
            args += [f"--{name}", str(folder / f"{name}.{fmt}")]
        assert main(args) == 0
        render = {"txt": reference.render_txt, "csv": reference.render_csv, "json": reference.render_json}[fmt]
        for name in names:
            assert (folder / f"{name}.{fmt}").read_bytes() == render(getattr(want, name)), (seed, name)
        err = capsys.readouterr().err
        assert (f"keep {len(want.keep)}, delete {len(want.delete)} ({want.delete_bytes} bytes), "
                f"undecided {len(want.undecided)}") in err
        assert main(["export", "--session", str(session.path), "--format", fmt]) == 0  # the delete list to stdout
        assert capsys.readouterr().out == render(want.delete).decode("utf-8")


def test_json_chunks_are_json_dumps_of_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from imgreview.decisions.export import render_chunks

    monkeypatch.setattr("imgreview.decisions.export.BATCH", 4)

    rng = random.Random(5)
    result = make_result(rng, 30)
    rows = [Row(g.id, m, "undecided", "", note="n\u00e9\nx" if k else "") for g in result.groups
            for k, m in enumerate(g.members)]
    for count in (0, 1, 2, len(rows)):
        chunks = list(render_chunks(rows[:count], "json"))
        text = b"".join(chunks)
        assert text == (json.dumps([r.as_dict() for r in rows[:count]], indent=1, ensure_ascii=True) + "\n").encode()


def _reference_load(session: Session) -> tuple[ScanResult, Journal, Decisions]:
    result = session.load_result()
    journal = session.journal(read_only=True)
    return result, journal, reference.build_decisions(result, journal)


def _report_key(report: Any) -> tuple[Any, ...]:
    return ([(m.path, m.new, m.digest, m.size, m.group, m.root, m.freed, m.kind) for m in report.planned],
            [(s.path, s.reason, s.group, s.kind) for s in report.skipped], report.already, report.roots)


def test_apply_plans_and_moves_what_the_whole_result_would(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from imgreview.quarantine import apply as apply_files
    from imgreview.quarantine import plan as plan_module
    from imgreview.scan.pipeline import scan
    from imgreview.settings import ScanSettings
    from tests.helpers.imagegen import copy_groups

    root = copy_groups(tmp_path / "data", range(6), (160, 120), half_name="b {s}.png")
    session = Session(root / ".imgreview")
    result = scan([str(root)], ScanSettings(jobs=1), session)
    assert len(result.groups) >= 5
    journal = session.journal()
    rng = random.Random(3)
    for k, g in enumerate(result.groups):
        if k == 0:  # every file marked delete by rule: held back
            journal.decide([Change(m.path, m.digest, "delete") for m in g.members], group=g.id, by="rule")
        elif k == 1:  # a stale decision
            journal.decide([Change(g.members[0].path, "0" * 64, "delete")], group=g.id)
        elif k < 5:
            journal.decide([Change(m.path, m.digest, "keep" if j == 0 else "delete") for j, m in enumerate(g.members)],
                           group=g.id)
    last = result.groups[-1].members
    journal.mark([MarkChange(last[0].path, last[0].digest, "unwanted"),
                  MarkChange(last[1].path, last[1].digest, rng.choice(("relabel", "wanted")), to="other")])
    q = tmp_path / "q"
    got = plan_module.plan_apply(session, str(q), verify=True, relabel=True)
    with monkeypatch.context() as patch:
        patch.setattr(plan_module, "load_decisions", _reference_load)
        want = plan_module.plan_apply(session, str(q), verify=True, relabel=True)
    assert _report_key(got) == _report_key(want) and got.planned and got.skipped
    done = apply_files(session, str(q), relabel=True)
    assert sorted(m.path for m in done.moved) == sorted(m.path for m in want.planned)
    assert all(os.path.exists(m.new) and not os.path.lexists(m.path) for m in done.moved)
