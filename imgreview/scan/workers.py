"""Fingerprinting over a pool of processes that survives a dead worker.

A decoder crash or the out-of-memory killer ends one worker, not the scan: the files in flight are
retried one at a time, and the file that kills its worker again is reported as a failure.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from imgreview.scan.fingerprint import Failure, Fingerprint, fingerprint_file
from imgreview.settings import HashSettings


def hash_batch(paths: list[str], settings: HashSettings) -> list[Fingerprint | Failure]:
    """Fingerprint a batch of paths in this process: the one task every executor runs on its workers."""
    return [fingerprint_file(p, settings) for p in paths]



def _pool_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


WORKER_DIED = "the decoder process died on this file (a crash or out of memory); it was skipped"


def worker_died(path: str) -> Failure:
    """The failure recorded for a file that killed its worker again when it ran alone."""
    try:
        st = os.stat(path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
    except OSError:
        size = mtime_ns = 0
    return Failure(path, size, mtime_ns, WORKER_DIED)


def fingerprint_many(paths: list[str], settings: HashSettings, jobs: int) -> Iterator[Fingerprint | Failure]:
    """Fingerprint files over ``jobs`` processes, yielding results as they come.

    A worker that dies (a decoder crash, the out-of-memory killer) does not hang or end the scan:
    the files that were in flight are retried one at a time in a fresh pool, and the one that
    kills its worker again is reported as a :class:`Failure` (and cached as such, so the next scan
    does not trip over it again).
    """
    if jobs <= 1 or len(paths) < 4:
        for p in paths:
            yield fingerprint_file(p, settings)
        return
    chunksize = max(1, min(32, len(paths) // (jobs * 16)))
    queue: deque[list[str]] = deque(paths[k:k + chunksize] for k in range(0, len(paths), chunksize))
    suspects: deque[str] = deque()  # in flight when a worker died: retried alone
    while queue or suspects:
        executor = ProcessPoolExecutor(jobs, mp_context=_pool_context())
        inflight: dict[Future[list[Fingerprint | Failure]], list[str]] = {}
        alone: Future[list[Fingerprint | Failure]] | None = None  # a suspect running by itself
        broken = False
        try:
            while not broken and (queue or suspects or inflight):
                try:
                    alone = _submit(executor, settings, queue, suspects, inflight, jobs * 4) or alone
                except BrokenProcessPool:
                    broken = True
                    break
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    chunk = inflight.pop(fut)
                    try:
                        results = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if fut is alone:
                            yield worker_died(chunk[0])
                        else:
                            suspects.extend(chunk)
                        continue
                    yield from results
            for chunk in inflight.values():  # the pool broke: whatever else was running is suspect
                suspects.extend(chunk)
            inflight.clear()
        except BaseException:
            for fut in inflight:
                fut.cancel()
            _terminate(executor)
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=True, cancel_futures=True)


def _submit(executor: ProcessPoolExecutor, settings: HashSettings, queue: deque[list[str]], suspects: deque[str],
            inflight: dict[Future[list[Fingerprint | Failure]], list[str]], limit: int
            ) -> Future[list[Fingerprint | Failure]] | None:
    """Start more work: one suspect alone once nothing else runs, else chunks up to ``limit`` in flight.

    Returns the future of a suspect started alone. A path or chunk that cannot be submitted
    (BrokenProcessPool, re-raised) goes back to the front of its queue.
    """
    if suspects:
        if inflight:
            return None
        path = suspects.popleft()
        try:
            alone = executor.submit(hash_batch, [path], settings)
        except BrokenProcessPool:
            suspects.appendleft(path)
            raise
        inflight[alone] = [path]
        return alone
    while queue and len(inflight) < limit:
        chunk = queue.popleft()
        try:
            inflight[executor.submit(hash_batch, chunk, settings)] = chunk
        except BrokenProcessPool:
            queue.appendleft(chunk)
            raise
    return None


def _terminate(executor: ProcessPoolExecutor) -> None:
    """Stop the workers now (on Ctrl-C or an error in the caller), without waiting for their tasks."""
    for proc in list(getattr(executor, "_processes", {}).values()):
        try:
            proc.terminate()
        except Exception:
            pass
