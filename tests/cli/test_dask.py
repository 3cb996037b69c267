"""Fingerprinting on Dask (``--dask``): the same results as the process pool, interruption, dead workers.

The cluster tests share one ``distributed.LocalCluster`` (2 worker processes, loopback only) for
the module, with ``allowed-failures`` at 1 so a worker-killing file is found in few restarts.

Test hook for dying workers: :class:`DyingWorkers` is a Dask worker plugin, registered by a test
through the client; on every worker (restarted ones too, the scheduler replays plugins) it replaces
``imgreview.scan.workers.fingerprint_file`` with a function that ends the worker process
(``os._exit``) on files named ``poison.png`` (every time) or ``flaky.png`` (once: a marker file
records it). Production code has no hook of its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import imgreview.scan.executors as executors
from imgreview import __version__
from imgreview.cli.main import main
from imgreview.scan.cache import FingerprintCache
from imgreview.scan.executors import DaskExecutor, map_path, parse_path_map
from imgreview.scan.pipeline import ScanInterrupted, scan
from imgreview.scan.workers import WORKER_DIED
from imgreview.session.folder import Session
from imgreview.settings import DaskSettings, ScanSettings
from tests.helpers.imagegen import brightened, resized, save, scene
from tests.helpers.procs import cached_rows

distributed = pytest.importorskip("distributed")


def make_dataset(root: Path, n: int = 16) -> Path:
    """``n`` scenes, a reduced and a brighter copy of every fourth, an exact copy, a broken file."""
    for k in range(n):
        img = scene(300 + k, (96, 72))
        save(img, root / "a" / f"s{k:02d}.png")
        if k % 4 == 0:
            save(resized(img, 0.5), root / "b" / f"s{k:02d}_half.png")
            save(brightened(img), root / "b" / f"s{k:02d}_bright.jpg", quality=80)
    shutil.copy(root / "a" / "s01.png", root / "b" / "s01_copy.png")
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root



def cached(session: Session, settings: ScanSettings) -> dict[str, object]:
    with FingerprintCache(session.cache_path) as cache:
        return {path: hit for path, hit in cache.lookup(settings.hash.key).items()}


# ---------------------------------------------------------------- without a cluster
def test_path_map_translates_the_longest_whole_prefix() -> None:
    pm = parse_path_map(["/data=/mnt/data", "/data/photos=/nfs/p", "/=/root-view"])
    assert map_path("/data/a.png", pm) == "/mnt/data/a.png"
    assert map_path("/data/photos/x/b.jpg", pm) == "/nfs/p/x/b.jpg"
    assert map_path("/database/c.png", pm) == "/root-view/database/c.png"  # not a component of /data
    assert map_path("/data", pm) == "/mnt/data"
    assert map_path("/x/y.png", parse_path_map(["/x/=/"])) == "/y.png"
    assert map_path("/other/z.png", parse_path_map(["/data=/mnt"])) == "/other/z.png"
    for bad in ("/data", "=/mnt", "/data="):
        with pytest.raises(ValueError, match="CLIENT_PREFIX=WORKER_PREFIX"):
            parse_path_map([bad])
    with pytest.raises(ValueError, match="absolute"):
        DaskSettings("tcp://127.0.0.1:8786", path_map=(("data", "/mnt"),))


@pytest.mark.parametrize("address", ["local:0", "local:x", "localhost:8786", "tcp://", "8786"])
def test_bad_dask_addresses_are_usage_errors(tmp_path: Path, address: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d").mkdir()
    assert main(["scan", str(tmp_path / "d"), "--dask", address, "-q"]) == 2
    assert "--dask" in capsys.readouterr().err


def test_path_map_without_dask_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d").mkdir()
    assert main(["scan", str(tmp_path / "d"), "--path-map", "/a=/b", "-q"]) == 2
    assert "--path-map only applies with --dask" in capsys.readouterr().err


def test_dask_without_distributed_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = make_dataset(tmp_path / "data", 2)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    assert main(["scan", str(root), "--session", str(tmp_path / "s"), "--dask", "local:2", "-q"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'imgreview[dask]'" in err and "Traceback" not in err
    assert not (tmp_path / "s" / "results.sqlite").exists() and not (tmp_path / "s" / "scan.json").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_unreachable_scheduler_fails_within_the_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_dataset(tmp_path / "data", 2)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    status = main(["scan", str(root), "--session", str(tmp_path / "s"), "--dask", address, "--dask-timeout", "1",
                   "-q"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert status == 2, err
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in err and "Traceback" not in err
    assert elapsed < 30  # a hang guard, not a speed measurement: the timeout is honoured
    assert not (tmp_path / "s" / "results.sqlite").exists() and not (tmp_path / "s" / "scan.json").exists()


# ---------------------------------------------------------------- on a LocalCluster
@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      host="127.0.0.1", silence_logs=50)
    try:
        yield str(lc.scheduler_address)
    finally:
        lc.close()


def on(address: str, **kwargs: object) -> ScanSettings:
    """Scan settings on the test cluster; a long timeout, as workers restart slowly on a busy machine."""
    kwargs.setdefault("timeout", 120.0)
    return ScanSettings(dask=DaskSettings(address, **kwargs))  # type: ignore[arg-type]


@pytest.mark.slow
def test_dask_results_are_identical_to_the_process_pool(tmp_path: Path, cluster: str) -> None:
    root = make_dataset(tmp_path / "data")
    pool = scan([str(root)], ScanSettings(jobs=2), Session(tmp_path / "pool"))
    dask = scan([str(root)], on(cluster), Session(tmp_path / "dask"))
    assert dask.to_dict()["groups"] == pool.to_dict()["groups"]
    assert len(pool.groups) >= 4 and any(m.exact for g in pool.groups for m in g.members)
    assert dask.errors == pool.errors and [e.path for e in dask.errors] == [str(root / "b" / "broken.png")]
    assert "dask" not in dask.settings and dask.settings == pool.settings | {"jobs": dask.settings["jobs"]}
    assert cached(Session(tmp_path / "dask"), ScanSettings()) == cached(Session(tmp_path / "pool"), ScanSettings())
    assert dask.stats["hashed"] == pool.stats["hashed"] == dask.stats["files"]
    # Only new or changed files go to the workers.
    save(scene(999, (96, 72)), root / "a" / "new.png")
    again = scan([str(root)], on(cluster), Session(tmp_path / "dask"))
    assert again.stats["hashed"] == 1 and again.stats["cached"] == dask.stats["files"]


@pytest.mark.slow
def test_interrupted_dask_scan_keeps_what_arrived(tmp_path: Path, cluster: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_dataset(tmp_path / "data")
    real = DaskExecutor.fingerprint

    def interrupted(self, paths, settings):  # type: ignore[no-untyped-def]
        for k, item in enumerate(real(self, paths, settings)):
            if k == 5:
                raise KeyboardInterrupt  # as Ctrl-C arrives while the futures run
            yield item

    monkeypatch.setattr(DaskExecutor, "fingerprint", interrupted)
    with pytest.raises(ScanInterrupted) as info:
        scan([str(root)], on(cluster), Session(tmp_path / "s"))
    assert info.value.hashed == 5
    assert len(cached(Session(tmp_path / "s"), ScanSettings())) == 5
    # The futures were cancelled: nothing of ours is left on the scheduler.
    with distributed.Client(cluster, set_as_default=False) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = client.run_on_scheduler(lambda dask_scheduler: [
                k for k in dask_scheduler.tasks if str(k).startswith("imgreview-fingerprint")])
            if not left:
                break
            time.sleep(0.1)
        assert left == []
    monkeypatch.setattr(DaskExecutor, "fingerprint", real)
    result = scan([str(root)], on(cluster), Session(tmp_path / "s"))
    assert result.stats["cached"] == 5 and result.stats["hashed"] == result.stats["files"] - 5


class DyingWorkers(distributed.WorkerPlugin):  # type: ignore[misc]
    """Test hook: the worker process ends on ``poison.png`` always and on ``flaky.png`` once."""

    name = "imgreview-test-dying-workers"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def setup(self, worker: object) -> None:
        import imgreview.scan.workers as w

        real = getattr(w, "_real_fingerprint_file", w.fingerprint_file)
        marker = self.marker

        def dying(path, settings):  # type: ignore[no-untyped-def]
            name = os.path.basename(path)
            if name == "poison.png":
                os._exit(3)
            if name == "flaky.png" and not os.path.exists(marker):
                Path(marker).touch()
                os._exit(3)
            return real(path, settings)

        w._real_fingerprint_file = real  # type: ignore[attr-defined]
        w.fingerprint_file = dying  # type: ignore[assignment]


@pytest.mark.slow
def test_a_file_that_kills_workers_is_isolated_and_reported(tmp_path: Path, cluster: str) -> None:
    root = make_dataset(tmp_path / "data", 8)
    save(scene(77, (96, 72)), root / "a" / "poison.png")
    save(scene(78, (96, 72)), root / "a" / "flaky.png")
    with distributed.Client(cluster, set_as_default=False) as client:
        client.register_plugin(DyingWorkers(str(tmp_path / "flaky-died")))
        result = scan([str(root)], on(cluster), Session(tmp_path / "s"))
        client.unregister_worker_plugin(DyingWorkers.name)
    errors = {e.path: e.error for e in result.errors}
    assert errors == {str(root / "a" / "poison.png"): WORKER_DIED, str(root / "b" / "broken.png"): errors[
        str(root / "b" / "broken.png")]}
    assert (tmp_path / "flaky-died").exists()  # a worker did die on flaky.png, and Dask ran it again
    assert result.stats["images"] == result.stats["files"] - 2
    pool = scan([str(root)], ScanSettings(jobs=1), Session(tmp_path / "pool"))  # poison.png is harmless here
    assert result.to_dict()["groups"] == pool.to_dict()["groups"]
    # The failure is cached like the process pool's: the next scan does not send that file again.
    again = scan([str(root)], on(cluster), Session(tmp_path / "s"))
    assert again.stats["hashed"] == 0 and str(root / "a" / "poison.png") in {e.path for e in again.errors}


@pytest.mark.slow
def test_path_map_sends_worker_paths_and_reports_client_paths(tmp_path: Path, cluster: str) -> None:
    root = make_dataset(tmp_path / "data", 4)
    view = tmp_path / "worker-view"
    view.symlink_to(root)  # the workers' name for the shared storage
    mapped = scan([str(root)], on(cluster, path_map=((str(root), str(view)),)), Session(tmp_path / "s1"))
    plain = scan([str(root)], ScanSettings(jobs=1), Session(tmp_path / "s2"))
    assert mapped.to_dict()["groups"] == plain.to_dict()["groups"] and mapped.errors == plain.errors
    assert cached(Session(tmp_path / "s1"), ScanSettings()) == cached(Session(tmp_path / "s2"), ScanSettings())
    # The workers really open the mapped paths: a prefix they cannot see fails every file.
    blind = scan([str(root)], on(cluster, path_map=((str(root), str(tmp_path / "nowhere")),)),
                 Session(tmp_path / "s3"))
    assert blind.stats["images"] == 0
    assert {e.path for e in blind.errors} == {str(p) for p in root.rglob("*") if p.is_file()}
    assert all("vanished" in e.error for e in blind.errors)


@pytest.mark.slow
@pytest.mark.parametrize("client", ["0.0.0-other (code 123456789abc)", "same release, other code"])
def test_workers_with_another_version_are_refused(tmp_path: Path, cluster: str, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str], client: str) -> None:
    root = make_dataset(tmp_path / "data", 2)
    real = executors.code_version()
    if client == "same release, other code":  # one version string, different code (a dev install)
        client = f"{__version__} (code 000000000000)"
    monkeypatch.setattr(executors, "code_version", lambda: client)  # this client; the workers keep theirs
    assert main(["scan", str(root), "--session", str(tmp_path / "s"), "--dask", cluster, "--dask-timeout", "120", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"must run imgreview {client}, like this client" in err and f"has {real}" in err
    assert not (tmp_path / "s" / "results.sqlite").exists() and not (tmp_path / "s" / "scan.json").exists()


def test_every_task_checks_the_workers_code_version(tmp_path: Path) -> None:
    version = executors.code_version()
    assert version.startswith(f"{__version__} (code ") and version == executors.worker_version()
    with pytest.raises(executors.WorkerVersionError, match="worker has imgreview"):
        executors.dask_batch([str(tmp_path / "x.png")], ScanSettings().hash, "0.0.0 (code 000000000000)")
    assert executors.dask_batch([], ScanSettings().hash, version) == []


SLOW_DASK_CLI = """
import sys, time
import imgreview.scan.executors as e
real = e.DaskExecutor.fingerprint
def slow(self, paths, settings):
    for item in real(self, paths, settings):
        time.sleep(0.2)  # the client takes results in slowly: Ctrl-C finds work in flight
        yield item
e.DaskExecutor.fingerprint = slow
from imgreview.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_ctrl_c_cancels_the_futures_and_keeps_what_arrived(tmp_path: Path, cluster: str) -> None:
    import signal
    import subprocess

    from tests.helpers.hostile import PYTHON, env

    root = make_dataset(tmp_path / "data")
    session = tmp_path / "s"
    proc = subprocess.Popen([PYTHON, "-c", SLOW_DASK_CLI, "scan", str(root), "--session", str(session), "--dask",
                             cluster, "--dask-timeout", "120", "-q"], env=env(), stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not cached_rows(session / "cache.sqlite"):
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # as the terminal sends Ctrl-C
        err = proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "run the same command again" in err and "Traceback" not in err
    kept = cached_rows(session / "cache.sqlite")
    assert kept > 0
    with distributed.Client(cluster, set_as_default=False) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = client.run_on_scheduler(lambda dask_scheduler: [
                k for k in dask_scheduler.tasks if str(k).startswith("imgreview-fingerprint")])
            if not left:
                break
            time.sleep(0.1)
        assert left == []
    resumed = scan([str(root)], on(cluster), Session(session))
    assert resumed.stats["cached"] == kept and resumed.stats["hashed"] == resumed.stats["files"] - kept
