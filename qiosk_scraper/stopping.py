"""Stopping a crawl on SIGINT (Ctrl-C) or SIGTERM.

The first signal stops the crawl gracefully: no new request starts, the downloads in flight and
the retry backoff waits are cancelled (a server that never answers must not hold the stop for
``DOWNLOAD_TIMEOUT``), the pages already received are extracted and written, the WARC files are
closed whole and the crawl's row is marked ``interrupted`` (``qiosk crawl --resume`` finishes
it). The second signal gets the default action: the process dies at once, and the archive is as
after SIGKILL (the next crawl marks the crawl interrupted and cuts partial WARC records).

Cancellation goes through one :class:`StopGuard` per crawler: the download handler and the
backoff waits run their awaitables through it, and :meth:`StopGuard.stop` cancels them all; a
cancelled one raises :class:`CrawlStopped`, which the spider does not count as an error.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class CrawlStopped(Exception):
    """Work cancelled because the crawl is stopping (a download in flight, a backoff wait)."""


class StopGuard:
    """The cancellable work of one crawl."""

    def __init__(self) -> None:
        self.stopping = False
        self.tasks: set[asyncio.Future[Any]] = set()

    async def run(self, awaitable: Awaitable[T], what: str) -> T:
        """Await ``awaitable``; raises :class:`CrawlStopped` when :meth:`stop` cancels it."""
        if self.stopping:
            raise CrawlStopped(f"{what}: not started, the crawl is stopping")
        task = asyncio.ensure_future(awaitable)
        self.tasks.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.stopping and not (current is not None and current.cancelling()):
                raise CrawlStopped(f"{what}: cancelled, the crawl is stopping") from None
            raise  # cancelled from outside, for another reason
        finally:
            self.tasks.discard(task)

    def stop(self) -> None:
        self.stopping = True
        for task in list(self.tasks):
            task.cancel()


_GUARDS: WeakKeyDictionary[Crawler, StopGuard] = WeakKeyDictionary()


def stop_guard(crawler: Crawler) -> StopGuard:
    """The crawler's :class:`StopGuard` (made on first use)."""
    guard = _GUARDS.get(crawler)
    if guard is None:
        guard = _GUARDS[crawler] = StopGuard()
    return guard


class StoppableDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler, whose downloads in flight a stop cancels (the
    Twisted request under them is cancelled with them, closing its connection)."""

    async def download_request(self, request: Request) -> Response:
        guard = stop_guard(self._crawler)
        return await guard.run(super().download_request(request), request.url)


class GracefulStop:
    """SIGINT and SIGTERM handlers for a crawl run by ``process`` (a Scrapy CrawlerProcess
    started with ``install_signal_handlers=False``): see the module doc. ``announce`` is given
    one line when the first signal arrives."""

    def __init__(self, process: Any, crawler: Crawler, announce: Callable[[str], None]) -> None:
        self.process = process
        self.crawler = crawler
        self.announce = announce
        self.signum: int | None = None  # the first stop signal received

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self.received)

    def uninstall(self) -> None:
        """Python's own handlers again (KeyboardInterrupt for SIGINT, death for SIGTERM), unless
        a signal came: then the next one kills, as during the stop."""
        if self.signum is not None:
            return
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def received(self, signum: int, frame: object) -> None:
        """The signal handler: note the signal, let the next one kill, stop from the reactor
        (nothing else is safe in a signal handler)."""
        from twisted.internet import reactor

        if self.signum is not None:
            return
        self.signum = signum
        for other in STOP_SIGNALS:
            signal.signal(other, signal.SIG_DFL)
        reactor.callFromThread(self.stop)

    def stop(self) -> None:
        assert self.signum is not None
        engine = self.crawler.engine
        if self.crawler.crawling and (engine is None or not engine.running):
            asyncio.get_running_loop().call_later(0.1, self.stop)  # the engine is not up yet
            return
        name = signal.Signals(self.signum).name
        self.announce(
            f"{name}: stopping, finishing the pages in flight "
            f"({'Ctrl-C' if self.signum == signal.SIGINT else name} again stops at once)"
        )
        stop_guard(self.crawler).stop()
        deferred_from_coro(self.crawler.stop_async())


def stop_reactor_threads() -> None:
    """Stop Twisted's thread pool if it still runs: a reactor left by an exception leaves it
    running, and its threads (no daemons) would hold the process at exit for ever."""
    from twisted.internet import reactor

    pool = getattr(reactor, "threadpool", None)
    if pool is not None and pool.started:
        pool.stop()
