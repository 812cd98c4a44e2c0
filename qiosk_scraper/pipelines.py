"""The item pipeline: extract each fetched article page and archive its record.

Extraction happens here, in :meth:`ArchivePipeline.extract` and nowhere else in the crawl, in
a pool of processes beside the reactor (``QIOSK_EXTRACT_WORKERS``, one per core by default):
extraction is CPU-bound and the reactor has its own work (requests, WARC, SQLite, discovery).
Records come back to the reactor, which alone writes the archive. A page that is not an article
(``NotAnArticle``) or that breaks the extractor, or a worker that dies on one, becomes an
``errors`` row with its reason and a stats counter; the crawl goes on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from qiosk_scraper.archive import CONFLICTING_CANONICAL
from qiosk_scraper.crawl import (
    ARTICLES_NEW,
    ARTICLES_UNCHANGED,
    ARTICLES_UPDATED,
    NOT_ARTICLES,
    record_error,
    session_of,
)
from qiosk_scraper.extract import NotAnArticle
from qiosk_scraper.items import ArticlePage
from qiosk_scraper.reextract import EXTRACTOR_VERSION, extract_record
from qiosk_scraper.spiders.outlet import OutletSpider

logger = logging.getLogger(__name__)

_OUTCOME_STAT = {"new": ARTICLES_NEW, "updated": ARTICLES_UPDATED, "unchanged": ARTICLES_UNCHANGED}


class ExtractorCrashed(Exception):
    """An extraction worker died on a page (the pool is started again)."""


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: leave when the crawl process is gone. A crawl killed with SIGKILL
    cannot shut its pool down, and the workers hold their own queue ends open."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="qiosk-parent-watch", daemon=True).start()


def extract_workers(crawler: Crawler) -> int:
    """``QIOSK_EXTRACT_WORKERS``: processes extracting beside the reactor; unset is one per
    core, 0 extracts in the crawl process itself."""
    value = crawler.settings.get("QIOSK_EXTRACT_WORKERS")
    if value in (None, ""):
        return os.cpu_count() or 1
    try:
        workers = int(value)
    except (TypeError, ValueError):
        workers = -1
    if workers < 0:
        raise ValueError(f"QIOSK_EXTRACT_WORKERS must be a whole number >= 0, not {value!r}")
    return workers


class ArchivePipeline:
    """Extracts :class:`ArticlePage` items and saves the records, one transaction each."""

    extractor: Callable[[bytes, str, str, str], dict[str, Any]] = staticmethod(extract_record)

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.session = session_of(crawler, type(self).__name__)
        self.workers = extract_workers(crawler)
        self.pool: ProcessPoolExecutor | None = None
        self.quarantine: ProcessPoolExecutor | None = None
        self.quarantine_lock = asyncio.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _start_pool(self, workers: int) -> ProcessPoolExecutor:
        """Spawned, not forked: the crawl process has threads, and a fork copies whatever lock
        one of them holds."""
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )

    def close_spider(self) -> None:
        for pool in (self.pool, self.quarantine):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self.quarantine = None

    async def extract(self, page: ArticlePage) -> dict[str, Any]:
        """The one place the crawl extracts an article (as ``qiosk reextract`` does).

        A worker that dies takes the pages in flight with it: each is tried again alone in a
        one-worker pool, so the page that kills a worker is the only one lost (as an
        ``extractor_crashed`` error)."""
        args = (page.body, page.url, page.fetched_at, self.session.site)
        if self.workers == 0:
            return self.extractor(*args)
        if self.pool is None:
            self.pool = self._start_pool(self.workers)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("qiosk/extract_pools_started")
            self.crawler.stats.set_value("qiosk/extract_workers", self.workers)
        pool = self.pool
        try:
            return await asyncio.wrap_future(pool.submit(self.extractor, *args))
        except BrokenProcessPool:
            if self.pool is pool:  # the first page to hear of it starts a new pool
                self.pool = None
                pool.shutdown(wait=False, cancel_futures=True)
        async with self.quarantine_lock:
            if self.quarantine is None:
                self.quarantine = self._start_pool(1)
            try:
                return await asyncio.wrap_future(self.quarantine.submit(self.extractor, *args))
            except BrokenProcessPool as error:
                self.quarantine.shutdown(wait=False, cancel_futures=True)
                self.quarantine = None
                raise ExtractorCrashed(
                    f"the extraction worker died on this page: {error}"
                ) from error

    async def process_item(self, item: object) -> object:
        if not isinstance(item, ArticlePage):
            return item
        try:
            record = await self.extract(item)
        except NotAnArticle as error:
            if item.expected:
                self._error(item, "not_an_article", error.reason)
            else:  # a body link to a page that is not an article: nothing went wrong
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value(NOT_ARTICLES)
            raise DropItem(f"not an article: {item.url} ({error.reason})") from error
        except ExtractorCrashed as error:
            self._error(item, "extractor_crashed", str(error))
            raise DropItem(f"extraction worker died: {item.url}") from error
        except Exception as error:  # an extractor bug must not stop a 10,000-page crawl
            logger.exception("extractor failed on %s", item.url)
            self._error(item, "extractor_error", f"{type(error).__name__}: {error}")
            raise DropItem(f"extractor failed: {item.url}") from error
        url = record["url"]
        aliases = list(item.aliases)
        if url != item.url:
            aliases.append((item.url, "canonical"))
        outcome = self.session.archive.save_article(
            record,
            crawl_id=self.session.crawl_id,
            capture_id=item.capture_id,
            fetched_at=item.fetched_at,
            post_id=item.post_id,
            extractor_version=EXTRACTOR_VERSION,
            aliases=aliases,
        )
        if outcome == "conflicting":  # the archived article and its URL stay as they are
            archived = self.session.archive.known_article(url, item.post_id)
            assert archived is not None
            kept = archived["url"]
            spider = self.crawler.spider
            if isinstance(spider, OutletSpider) and spider.recheck_claimed(item, kept):
                # Moved, gone or alive? Decided when the archived URL has answered.
                raise DropItem(f"held until {kept} answers: {url}", log_level="DEBUG")
            self.session.archive.add_alias(url, kept, CONFLICTING_CANONICAL)
            message = f"post {item.post_id} is archived at {kept}; {url} names itself canonical"
            self._error(item, CONFLICTING_CANONICAL, message)
            raise DropItem(f"conflicting canonical: {url} (archived at {kept})")
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(_OUTCOME_STAT[outcome])
        return item

    def _error(self, page: ArticlePage, kind: str, message: str) -> None:
        record_error(self.crawler, self.session, page.url, kind, message, page.capture_id)
