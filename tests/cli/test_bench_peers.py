"""bench/peers.py: the measuring and parsing parts that do not need the peer venvs (not installed in CI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.helpers.imagegen import resized, save, scene

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _peers():
    spec = importlib.util.spec_from_file_location("bench_peers", BENCH / "peers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_imgreview_runner_groups_and_measures(tmp_path: Path) -> None:
    peers = _peers()
    root = tmp_path / "pics"
    root.mkdir()
    a = scene(1)
    save(a, root / "a.jpg")
    save(resized(a, 0.5), root / "a_half.png")
    save(scene(2), root / "b.jpg")
    result = peers.run("imgreview", root, python=sys.executable, jobs=1)
    assert len(result.groups) == 1
    assert sorted(result.groups[0]) == [str(root / "a.jpg"), str(root / "a_half.png")]
    assert result.files == 3 and result.wall_s > 0 and result.cpu_s > 0 and result.peak_rss_mb > 10
    assert peers.predicted_pairs(result) == {(str(root / "a.jpg"), str(root / "a_half.png"))}


def test_predicted_pairs_from_scores_and_groups() -> None:
    peers = _peers()
    scored = peers.PeerResult("x", "/d", {}, pairs=[("/d/b", "/d/a", 3.0), ("/d/a", "/d/c", 9.0), ("/d/c", "/d/c", 0.0)])
    assert peers.predicted_pairs(scored) == {("/d/a", "/d/b"), ("/d/a", "/d/c")}
    assert peers.predicted_pairs(scored, max_score=5) == {("/d/a", "/d/b")}
    assert peers.predicted_pairs(scored, min_score=5) == {("/d/a", "/d/c")}
    grouped = peers.PeerResult("x", "/d", {}, groups=[["/d/c", "/d/a", "/d/b"], ["/d/e", "/d/f"]])
    assert peers.predicted_pairs(grouped) == {("/d/a", "/d/c"), ("/d/b", "/d/c"), ("/d/a", "/d/b"), ("/d/e", "/d/f")}


def test_imgdupes_lines_with_spaces_in_paths(tmp_path: Path) -> None:
    peers = _peers()
    (tmp_path / "my photo.jpg").write_bytes(b"x")
    (tmp_path / "b.jpg").write_bytes(b"x")
    line = f"{tmp_path / 'my photo.jpg'} {tmp_path / 'b.jpg'}"
    assert peers._split_paths(line) == [str(tmp_path / "my photo.jpg"), str(tmp_path / "b.jpg")]


@pytest.mark.slow
def test_measure_reports_the_childs_peak_memory() -> None:
    peers = _peers()
    m = peers.measure([sys.executable, "-c", "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(2)"])
    assert m.returncode == 0
    assert m.peak_rss_mb > 190 and m.peak_tree_rss_mb > 190 and m.cpu_s > 0
    # ru_maxrss of a child carries the caller's high-water mark across vfork + exec: measure must
    # not charge this process's own 300 MB to a small child
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = peers.measure([sys.executable, "-c", "import time; time.sleep(1)"])
    del ballast
    assert 0 < small.peak_rss_mb < 100 and small.peak_tree_rss_mb < 100


def test_missing_peer_venv_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    peers = _peers()
    monkeypatch.setenv("IMGREVIEW_PEERS_DIR", str(tmp_path / "none"))
    with pytest.raises(peers.PeerError, match=r"install_peers\.sh"):
        peers.run("czkawka", tmp_path)
    with pytest.raises(peers.PeerError, match="unknown peer"):
        peers.run("nope", tmp_path)
    assert peers.installed() == dict.fromkeys(peers.installed(), None)
