"""Processes beside Scrapy's reactor for the crawl's CPU-bound pure work.

Extracting an article (the pipeline) and reading what an article page links to (the spider)
cost more CPU than everything else the reactor does for a page; in the reactor they would
leave every other core idle. :class:`WorkerPool` runs such functions in spawned processes
(``QIOSK_EXTRACT_WORKERS``, one per core by default; 0 runs them in the crawl process) and
hands the results back to the reactor, which alone writes the archive.

A worker that dies (a crash in a C extension on some page) takes the calls in flight with it:
each is run again alone in a one-worker pool, so only the call that kills a worker fails, with
:class:`ExtractorCrashed`. Workers leave by themselves when the crawl process is gone (a crawl
killed with SIGKILL cannot shut its pool down).

Stopping is the crawl process's business alone: Ctrl-C sends SIGINT to the terminal's whole
process group, workers included, and a worker interrupted mid-call would hand its
KeyboardInterrupt back to the reactor (which then died with the pool half shut, and the process
hung at exit). So workers start with SIGINT and SIGTERM blocked (the mask is inherited through
the spawn, which covers their seconds of importing) and then ignore both; the crawl stops them
by shutting the pool down.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

T = TypeVar("T")

POOLS_STARTED = "qiosk/extract_pools_started"
WORKERS = "qiosk/extract_workers"


class ExtractorCrashed(Exception):
    """A worker process died while running a call (the pool is started again)."""


def extract_workers(settings: BaseSettings) -> int:
    """``QIOSK_EXTRACT_WORKERS``: processes beside the reactor; unset is one per core, 0 runs
    the work in the crawl process itself."""
    value = settings.get("QIOSK_EXTRACT_WORKERS")
    if value in (None, ""):
        return os.cpu_count() or 1
    try:
        workers = int(value)
    except (TypeError, ValueError):
        workers = -1
    if workers < 0:
        raise ValueError(f"QIOSK_EXTRACT_WORKERS must be a whole number >= 0, not {value!r}")
    return workers


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: ignore the stop signals (see the module doc) and leave when the crawl
    process is gone. The workers hold their own ends of the pool's queues open, so they would
    not notice otherwise."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="qiosk-parent-watch", daemon=True).start()


def _start(workers: int) -> ProcessPoolExecutor:
    """Spawned, not forked: the crawl process has threads, and a fork copies whatever lock one
    of them holds."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


def _submit(pool: ProcessPoolExecutor, function: Callable[..., T], *args: Any) -> Future[T]:
    """``pool.submit``, which spawns the workers it still lacks: with the stop signals blocked
    in this thread meanwhile, so that the workers start with them blocked (a signal arriving
    now is delivered once unblocked, or to another thread); and with ``__main__`` hidden, which
    a spawned worker would otherwise run again (for ``qiosk crawl``, seconds of importing the
    whole command line before its first page; the functions it runs come by module name)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        return pool.submit(function, *args)
    finally:
        sys.modules["__main__"] = main
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class WorkerPool:
    """Runs picklable module-level functions in worker processes, started on first use."""

    def __init__(self, workers: int, stats: StatsCollector | None = None) -> None:
        self.workers = workers
        self.stats = stats
        self.pool: ProcessPoolExecutor | None = None
        self.quarantine: ProcessPoolExecutor | None = None
        self.quarantine_lock = asyncio.Lock()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        if self.workers == 0:
            return function(*args)
        if self.pool is None:
            self.pool = _start(self.workers)
            if self.stats is not None:
                self.stats.inc_value(POOLS_STARTED)
                self.stats.set_value(WORKERS, self.workers)
        pool = self.pool
        try:
            return await asyncio.wrap_future(_submit(pool, function, *args))
        except BrokenProcessPool:
            if self.pool is pool:  # the first call to hear of it starts a new pool
                self.pool = None
                pool.shutdown(wait=False, cancel_futures=True)
        async with self.quarantine_lock:  # one call at a time: a crash names its call
            if self.quarantine is None:
                self.quarantine = _start(1)
            try:
                return await asyncio.wrap_future(_submit(self.quarantine, function, *args))
            except BrokenProcessPool as error:
                self.quarantine.shutdown(wait=False, cancel_futures=True)
                self.quarantine = None
                raise ExtractorCrashed(f"the worker process died on it: {error}") from error

    def close(self) -> None:
        for pool in (self.pool, self.quarantine):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self.quarantine = None
