from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import imgreview.scan.workers as workers
from imgreview.scan.pipeline import ScanError, ScanInterrupted, scan
from imgreview.session.folder import Session
from imgreview.session.journal import Journal
from imgreview.settings import ScanSettings
from tests.helpers.imagegen import (
    alpha_shape,
    brightened,
    flat,
    gradient,
    resized,
    save,
    scene,
)

ONE = ScanSettings(jobs=1)


def dataset(root: Path) -> Path:
    for k in range(4):
        img = scene(k, (480, 360))
        save(img, root / "orig" / f"s{k}.jpg", quality=92)
        save(resized(img, 0.5), root / "edits" / f"s{k}_half.png")
        save(brightened(img), root / "edits" / f"s{k}_bright.jpg", quality=70)
    for k in range(4, 8):
        save(scene(k), root / "unique" / f"u{k}.png")
    shutil.copy(root / "orig" / "s0.jpg", root / "orig" / "s0_copy.jpg")
    save(scene(20), root / "exact" / "e.png")
    shutil.copy(root / "exact" / "e.png", root / "exact" / "e_copy.png")
    return root


def groups_by_name(result) -> list[set[str]]:  # type: ignore[no-untyped-def]
    return [{os.path.basename(m.path) for m in g.members} for g in result.groups]


def test_exact_and_near_groups(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    result = scan([str(root)], ONE)
    got = groups_by_name(result)
    assert {"e.png", "e_copy.png"} in got
    for k in range(4):
        want = {f"s{k}.jpg", f"s{k}_half.png", f"s{k}_bright.jpg"} | ({"s0_copy.jpg"} if k == 0 else set())
        assert want in got, (k, got)
    assert len(got) == 5
    exact = next(g for g in result.groups if g.kind == "exact")
    assert exact.max_distance == 0 and all(m.exact for m in exact.members)
    near0 = next(g for g in result.groups if any(m.path.endswith("s0.jpg") for m in g.members))
    assert near0.kind == "near"
    assert {os.path.basename(m.path) for m in near0.members if m.exact} == {"s0.jpg", "s0_copy.jpg"}
    threshold = result.settings["threshold"]
    for g in result.groups:
        assert g.reference == g.members[0].path and g.members[0].distance == 0
        assert all(0 <= m.distance <= threshold for m in g.members)
        assert g.max_distance <= 2 * threshold
    assert result.stats["removable_files"] == sum(len(g) - 1 for g in got)
    assert result.stats["images"] == 19 and result.stats["errors"] == 0


def test_flat_gradient_and_transparent_images_are_not_confused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    save(flat((220, 20, 20)), root / "red.png")
    save(flat((220, 20, 20), (200, 120)), root / "red_big.png")
    save(flat((20, 20, 220)), root / "blue.png")
    save(flat((250, 250, 250)), root / "white.png")
    save(gradient(), root / "grad_h.png")
    save(gradient(horizontal=False), root / "grad_v.png")
    save(gradient(start=(0, 0, 90), end=(255, 200, 0)), root / "grad_color.png")
    for shape in ("circle", "bar", "corner", "post"):
        save(alpha_shape(shape), root / f"alpha_{shape}.png")
    result = scan([str(root)], ONE)
    got = groups_by_name(result)
    assert got == [{"red.png", "red_big.png"}], got


def test_exif_rotated_copy_groups_with_upright(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "data"
    upright = scene(30, (400, 300))
    save(upright, root / "upright.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 8
    save(upright.transpose(Image.Transpose.ROTATE_270), root / "rotated.jpg", quality=90, exif=exif.tobytes())
    save(scene(31), root / "other.jpg")
    result = scan([str(root)], ONE)
    assert groups_by_name(result) == [{"upright.jpg", "rotated.jpg"}]
    rotated = next(m for m in result.groups[0].members if m.path.endswith("rotated.jpg"))
    assert (rotated.width, rotated.height) == (400, 300)


def test_corrupt_files_are_reported_and_skipped(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    (root / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (root / "empty.png").write_bytes(b"")
    (root / "text.gif").write_text("hello")
    result = scan([str(root)], ONE)
    errors = {os.path.basename(e.path): e.error for e in result.errors}
    assert set(errors) == {"bad.jpg", "empty.png", "text.gif"}
    assert all(errors.values())
    assert result.stats["errors"] == 3 and len(result.groups) == 5


def test_aliases_are_reported_not_grouped(tmp_path: Path) -> None:
    root = tmp_path / "data"
    save(scene(40), root / "a.png")
    save(scene(41), root / "b.png")
    os.link(root / "a.png", root / "a_hardlink.png")
    result = scan([str(root)], ONE)
    assert result.groups == []
    assert result.aliases == [[str(root / "a.png"), str(root / "a_hardlink.png")]]
    assert result.stats["aliases"] == 1 and result.stats["files"] == 3 and result.stats["images"] == 2
    # With a real copy too, the alias rides along with its member, never as a separate member.
    shutil.copy(root / "a.png", root / "a_copy.png")
    result = scan([str(root)], ONE)
    (g,) = result.groups
    assert sorted(os.path.basename(m.path) for m in g.members) == ["a.png", "a_copy.png"]
    a = next(m for m in g.members if m.path.endswith("/a.png"))
    assert a.aliases == [str(root / "a_hardlink.png")]


def test_rescan_uses_cache_and_notices_changes(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    first = scan([str(root)], ONE)
    assert first.stats["hashed"] == 19 and first.stats["cached"] == 0
    second = scan([str(root)], ONE)
    assert second.stats["hashed"] == 0 and second.stats["cached"] == 19
    assert second.to_dict()["groups"] == first.to_dict()["groups"]
    # Nothing changed: the previous groups are reused without searching pairs again.
    assert not first.stats["reused_groups"] and second.stats["reused_groups"]
    assert second.stats["verified_pairs"] == first.stats["verified_pairs"]
    stricter = scan([str(root)], ScanSettings(jobs=1, threshold=2))
    assert not stricter.stats["reused_groups"]
    save(scene(99), root / "unique" / "u4.png")  # changed content
    os.utime(root / "unique" / "u4.png", ns=(1, 1))
    (root / "unique" / "u5.png").unlink()
    third = scan([str(root)], ONE)
    assert third.stats["hashed"] == 1 and third.stats["vanished"] == 1 and third.stats["images"] == 18


def test_interrupted_scan_keeps_what_was_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = dataset(tmp_path / "data")
    real = workers.fingerprint_many

    def interrupted(paths, settings, jobs):  # type: ignore[no-untyped-def]
        for k, item in enumerate(real(paths, settings, jobs)):
            if k == 7:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(workers, "fingerprint_many", interrupted)
    with pytest.raises(ScanInterrupted) as info:
        scan([str(root)], ONE)
    assert info.value.hashed == 7
    monkeypatch.setattr(workers, "fingerprint_many", real)
    result = scan([str(root)], ONE)
    assert result.stats["cached"] == 7 and result.stats["hashed"] == 12


def test_parallel_scan_matches_serial(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    serial = scan([str(root)], ONE, Session(tmp_path / "s1"))
    parallel = scan([str(root)], ScanSettings(jobs=2), Session(tmp_path / "s2"))
    assert parallel.to_dict()["groups"] == serial.to_dict()["groups"]


def test_not_duplicates_decision_splits_the_group_on_rescan(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    session = Session(root / ".imgreview")
    result = scan([str(root)], ONE, session)
    group = next(g for g in result.groups if any(m.path.endswith("s1.jpg") for m in g.members))
    Journal(session.journal_path).mark_distinct(group.id, [(m.path, m.digest) for m in group.members])
    again = scan([str(root)], ONE, session)
    assert not again.stats["reused_groups"]  # the decision changes what the groups depend on
    assert not any(any(m.path.endswith("s1.jpg") for m in g.members) for g in again.groups)
    assert len(again.groups) == len(result.groups) - 1


def test_engines_agree_on_a_real_scan(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    a = scan([str(root)], ScanSettings(jobs=1, engine="exact"), Session(tmp_path / "s1"))
    b = scan([str(root)], ScanSettings(jobs=1, engine="ngt"), Session(tmp_path / "s2"))
    assert a.stats["engine"] == "exact" and b.stats["engine"] == "ngt"
    assert groups_by_name(a) == groups_by_name(b)


def test_missing_root_is_a_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="does not exist"):
        scan([str(tmp_path / "nope")], ONE)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "imgreview", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_cli_json_schema_and_exit_codes(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    (root / "bad.png").write_bytes(b"junk")
    proc = run_cli("scan", str(root), "--json", "-", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["version"] == 1 and data["roots"] == [str(root)]
    assert {"hash", "hash_size", "threshold", "engine"} <= set(data["settings"])
    assert {"files", "images", "groups", "removable_files", "reclaimable_bytes", "errors"} <= set(data["stats"])
    for g in data["groups"]:
        assert {"id", "kind", "max_distance", "members"} <= set(g)
        for m in g["members"]:
            assert {"path", "digest", "distance", "size", "width", "height"} <= set(m)
            assert os.path.isabs(m["path"])
    assert data["errors"] == [{"path": str(root / "bad.png"), "error": "not an image (format not recognised)"}]
    assert (root / ".imgreview" / "results.sqlite").exists()

    assert run_cli("scan", str(tmp_path / "missing")).returncode == 2
    assert run_cli("scan", str(root), "--threshold", "999").returncode == 2
    assert run_cli("scan").returncode == 2
    assert "usage" in run_cli("scan", "--help").stdout


def test_session_env_var_and_option(tmp_path: Path) -> None:
    root = dataset(tmp_path / "data")
    env = {**os.environ, "IMGREVIEW_SESSION": str(tmp_path / "envsession")}
    proc = subprocess.run([sys.executable, "-m", "imgreview", "scan", str(root), "-q"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "envsession" / "results.sqlite").exists() and not (root / ".imgreview").exists()
    assert run_cli("scan", str(root), "-q", "--session", str(tmp_path / "opt")).returncode == 0
    assert (tmp_path / "opt" / "cache.sqlite").exists()


def test_non_utf8_and_odd_names_round_trip_through_the_json(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    names = [b"caf\xe9 copy.jpg", b"line\nbreak.jpg", b"-dash 'quote\".jpg"]
    img = scene(50)
    for n in names:
        img.save(os.path.join(os.fsencode(root), n), "JPEG", quality=90)
    proc = run_cli("scan", str(root), "--json", str(tmp_path / "out.json"), "-q")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "out.json").read_text(encoding="ascii"))
    (g,) = data["groups"]
    got = sorted(os.path.basename(os.fsencode(m["path"])) for m in g["members"])
    assert got == sorted(names)
    assert all(os.path.exists(os.fsencode(m["path"])) for m in g["members"])


def test_summary_names_label_conflicts_and_leaks(tmp_path: Path) -> None:
    from imgreview.dataset.demo import write_demo

    write_demo(tmp_path / "demo")
    proc = run_cli("scan", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "Label conflicts" in out and "Split leaks" in out and "Labels" in out


def test_summary_says_what_to_do_next(tmp_path: Path) -> None:
    root = dataset(tmp_path / "my data")
    proc = run_cli("scan", str(root))
    assert proc.returncode == 0, proc.stderr
    assert f"imgreview review '{root}'" in " ".join((proc.stdout + proc.stderr).split())
