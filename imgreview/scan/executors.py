"""Who fingerprints the files: one interface over the local process pool and a Dask cluster.

An :class:`Executor` turns a list of paths into a stream of :class:`Fingerprint` / :class:`Failure`
in any order. Both executors run the same task on their workers (:func:`imgreview.scan.workers.hash_batch`),
so a result never depends on which one ran it; the client (the scan pipeline) stays the single
writer of the session: it walks, looks the cache up, sends only new or changed files and commits
results to the cache as they arrive.

The Dask executor (``pip install 'imgreview[dask]'``):

* needs every worker to read the files: shared storage, seen under the same path or translated
  by ``path_map`` (client prefix -> worker prefix); results come back under the client's paths;
* needs the same imgreview version on every worker (checked when connecting and in every task);
* sends batches of a few hundred paths, a bounded number in flight, and yields results as the
  futures complete (``as_completed``);
* lets Dask retry a batch whose worker died (``distributed.scheduler.allowed-failures``); a batch
  that still fails (``KilledWorker``) is retried path by path, alone on the cluster, and the path
  that kills its worker again is reported as a failure, like the process pool does;
* cancels what is in flight when the caller stops (Ctrl-C) or fails.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import deque
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from imgreview import __version__
from imgreview.errors import ImgreviewError
from imgreview.scan import workers
from imgreview.scan.fingerprint import Failure, Fingerprint
from imgreview.settings import DaskSettings, HashSettings, ScanSettings

Result = Fingerprint | Failure
INSTALL_HINT = "pip install 'imgreview[dask]'"


class ExecutorError(ImgreviewError):
    """The fingerprinting workers cannot be used (no Dask, no scheduler, another imgreview version)."""


class WorkerVersionError(Exception):
    """Raised by a Dask task on a worker whose imgreview is not the client's (travels back pickled)."""

    def __init__(self, worker_version: str, client_version: str) -> None:
        super().__init__(worker_version, client_version)
        self.worker_version = worker_version
        self.client_version = client_version

    def __str__(self) -> str:
        return f"worker has imgreview {self.worker_version}, the client {self.client_version}"


class Executor:
    """Runs :func:`imgreview.scan.workers.hash_batch` somewhere; a context manager."""

    def start(self) -> None:
        """Check early that the workers can be used (before the walk): raises :class:`ExecutorError`."""

    def fingerprint(self, paths: list[str], settings: HashSettings) -> Iterator[Result]:
        """Fingerprint ``paths``, yielding one result per path as results come (any order)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers; what is still in flight is cancelled."""

    def __enter__(self) -> Executor:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class ProcessExecutor(Executor):
    """The local process pool (:func:`imgreview.scan.workers.fingerprint_many`)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def fingerprint(self, paths: list[str], settings: HashSettings) -> Iterator[Result]:
        return workers.fingerprint_many(paths, settings, self.jobs)


def make_executor(settings: ScanSettings) -> Executor:
    """The executor the settings ask for: Dask when ``settings.dask`` is set, else the process pool."""
    if settings.dask is None:
        return ProcessExecutor(settings.effective_jobs)
    return DaskExecutor(settings.dask)


# ---------------------------------------------------------------- paths seen by the workers
def map_path(path: str, path_map: tuple[tuple[str, str], ...]) -> str:
    """``path`` as the workers see it: the longest matching client prefix (whole components) replaced."""
    best: tuple[str, str] | None = None
    for client, worker in path_map:
        prefix = client.rstrip("/")
        if (path == prefix or path.startswith(prefix + "/")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, worker.rstrip("/") or "/")
    if best is None:
        return path
    rest = path[len(best[0]):]
    return best[1] + rest if best[1] != "/" else "/" + rest.lstrip("/")


def parse_path_map(items: list[str]) -> tuple[tuple[str, str], ...]:
    """``CLIENT_PREFIX=WORKER_PREFIX`` strings to pairs (ValueError with the reason when malformed)."""
    out: list[tuple[str, str]] = []
    for item in items:
        client, sep, worker = item.partition("=")
        if not sep or not client or not worker:
            raise ValueError(f"--path-map {item!r}: write CLIENT_PREFIX=WORKER_PREFIX, e.g. /data=/mnt/data")
        out.append((client, worker))
    return tuple(out)


# ---------------------------------------------------------------- the task on a Dask worker
def worker_version() -> str:
    """The imgreview version installed where this runs (``client.run`` on every worker)."""
    return __version__


def dask_batch(paths: list[str], settings: HashSettings, client_version: str) -> list[Result]:
    """One Dask task: refuse to run under another imgreview version, else :func:`workers.hash_batch`."""
    if __version__ != client_version:
        raise WorkerVersionError(__version__, client_version)
    return workers.hash_batch(paths, settings)


def _ignore_sigint() -> None:
    """In a local worker process: Ctrl-C in the terminal reaches the whole process group, but only the
    client should act on it (it cancels the work and closes the cluster, workers included)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _local_worker_plugin(d: Any) -> Any:
    """A worker plugin (replayed to restarted workers) that makes a local worker ignore Ctrl-C."""

    class LocalWorker(d.WorkerPlugin):  # type: ignore[misc]
        def setup(self, worker: Any) -> None:
            _ignore_sigint()

    return LocalWorker


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ExecutorError(f"--dask needs the 'distributed' package, which is not installed: {INSTALL_HINT}") from None
    return distributed


class DaskExecutor(Executor):
    """Fingerprinting on a Dask cluster: a scheduler address, or a LocalCluster of N processes."""

    def __init__(self, settings: DaskSettings) -> None:
        self.settings = settings
        self._distributed = _import_distributed()
        # distributed.Client / LocalCluster (the package is optional and untyped: Any)
        self._client: Any = None
        self._cluster: Any = None

    # -- connecting
    def start(self) -> None:
        """Reach a remote scheduler now (fail fast, before a long walk); a local cluster starts when needed."""
        if self.settings.local_workers is None:
            self._connect()

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        d = self._distributed
        address = self.settings.address
        timeout = self.settings.timeout
        n_local = self.settings.local_workers
        try:
            if n_local is not None:
                try:
                    self._cluster = d.LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                                                   dashboard_address=None, silence_logs=logging.ERROR)
                except RuntimeError as exc:
                    raise ExecutorError(f"cannot start a local Dask cluster of {n_local} workers: {exc}") from None
                client = d.Client(self._cluster, set_as_default=False)
                client.register_plugin(_local_worker_plugin(d)(), name="imgreview-local-worker")
            else:
                client = d.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise ExecutorError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                                f"({exc}); is it running and reachable from here?") from None
        self._client = client
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            self.close()
            raise ExecutorError(f"the Dask scheduler at {address} has no worker after {timeout:g} s; "
                                "start workers with: dask worker " + address) from None
        self._check_versions(client)
        return client

    def _check_versions(self, client: Any) -> None:
        try:
            versions: dict[str, str] = client.run(worker_version)
        except Exception as exc:
            self.close()
            raise ExecutorError(f"the Dask workers cannot run imgreview ({type(exc).__name__}: {exc}); install "
                                f"imgreview {__version__} on every worker") from None
        wrong = sorted(f"{w} has {v}" for w, v in versions.items() if v != __version__)
        if wrong:
            self.close()
            raise ExecutorError(f"the Dask workers must run imgreview {__version__}, like this client: "
                                + "; ".join(wrong[:5]) + (f" (and {len(wrong) - 5} more)" if len(wrong) > 5 else ""))

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
        if cluster is not None:
            try:
                cluster.close()
            except Exception:
                pass

    # -- fingerprinting
    def fingerprint(self, paths: list[str], settings: HashSettings) -> Iterator[Result]:
        if not paths:
            return
        client = self._connect()
        threads = max(1, sum(client.nthreads().values()))
        size = max(1, min(self.settings.batch, math.ceil(len(paths) / (threads * 4))))
        run = _DaskRun(self, client, settings, threads * 2)
        run.queue.extend(paths[k:k + size] for k in range(0, len(paths), size))
        try:
            yield from run.results()
        finally:
            run.cancel()

    def _to_worker(self, paths: list[str]) -> list[str]:
        if not self.settings.path_map:
            return paths
        return [map_path(p, self.settings.path_map) for p in paths]


class _DaskRun:
    """The state of one :meth:`DaskExecutor.fingerprint` call: batches queued, in flight, suspect."""

    def __init__(self, executor: DaskExecutor, client: Any, settings: HashSettings, limit: int) -> None:
        self.executor = executor
        self.client = client
        self.settings = settings
        self.limit = limit
        self.queue: deque[list[str]] = deque()
        self.suspects: deque[str] = deque()  # from a batch that killed workers: retried alone
        self.inflight: dict[Any, list[str]] = {}
        self.alone: Any = None  # the future of a suspect running by itself
        self.done = executor._distributed.as_completed(loop=client.loop)
        self.killed = executor._distributed.KilledWorker

    def results(self) -> Iterator[Result]:
        while self.queue or self.suspects or self.inflight:
            self._submit()
            fut = next(self.done)
            chunk = self.inflight.pop(fut)
            alone = fut is self.alone
            if alone:
                self.alone = None
            yield from self._collect(fut, chunk, alone)

    def _collect(self, fut: Any, chunk: list[str], alone: bool) -> Iterator[Result]:
        try:
            results: list[Result] = fut.result()
        except WorkerVersionError as exc:
            raise ExecutorError(f"a Dask worker runs another imgreview version ({exc}); install imgreview "
                                f"{__version__} on every worker") from None
        except self.killed:
            if alone:
                yield workers.worker_died(chunk[0])
            else:
                self.suspects.extend(chunk)
            return
        except Exception as exc:
            if type(exc).__name__ == "CancelledError":
                raise ExecutorError("the Dask scheduler cancelled the work (connection lost?); the fingerprints "
                                    "that arrived are cached, run the same command again to continue") from None
            if alone or len(chunk) == 1:
                yield Failure(chunk[0], 0, 0, f"the Dask worker failed on this file: {type(exc).__name__}: {exc}")
            else:
                self.suspects.extend(chunk)
            return
        if len(results) != len(chunk):
            raise ExecutorError(f"a Dask worker returned {len(results)} results for {len(chunk)} files")
        for path, item in zip(chunk, results):
            item.path = path  # the client's path, whatever the worker saw
            yield item

    def _submit(self) -> None:
        """One suspect alone once nothing else runs, else batches up to the limit in flight."""
        if self.suspects:
            if not self.inflight:
                path = self.suspects.popleft()
                self.alone = self._send([path])
            return
        while self.queue and len(self.inflight) < self.limit:
            self._send(self.queue.popleft())

    def _send(self, chunk: list[str]) -> Any:
        fut = self.client.submit(dask_batch, self.executor._to_worker(chunk), self.settings, __version__,
                                 key=f"imgreview-fingerprint-{uuid.uuid4().hex}", pure=False)
        self.inflight[fut] = chunk
        self.done.add(fut)
        return fut

    def cancel(self) -> None:
        if self.inflight:
            try:
                self.client.cancel(list(self.inflight), force=True)
            except Exception:
                pass
            self.inflight.clear()
