"""The item pipeline: extract each fetched article page and archive its record.

Extraction happens here, in :meth:`ArchivePipeline.extract` and nowhere else in the crawl, in
the worker processes beside the reactor (:mod:`qiosk_scraper.workers`); records come back to
the reactor, which alone writes the archive. A page that is not an article
(``NotAnArticle``) or that breaks the extractor, or a worker that dies on one, becomes an
``errors`` row with its reason and a stats counter; the crawl goes on. The pipeline also counts
which fields the extractor filled in the articles it archived (:mod:`qiosk_scraper.health`),
written as the crawl's ``fill_rates`` rows when it closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, Self, cast

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured

from qiosk_scraper.archive import CONFLICTING_CANONICAL, WriteFailed
from qiosk_scraper.extract import NotAnArticle
from qiosk_scraper.extract.record import EXTRACTOR_VERSION, extract_with_provenance
from qiosk_scraper.health import FieldCount, count_fields, pooled
from qiosk_scraper.items import ArticlePage
from qiosk_scraper.profiles import Profile
from qiosk_scraper.recrawl import preferred
from qiosk_scraper.session import (
    ARTICLES_NEW,
    ARTICLES_UNCHANGED,
    ARTICLES_UPDATED,
    NOT_ARTICLES,
    record_error,
    session_of,
)
from qiosk_scraper.workers import ExtractorCrashed, WorkerPool

logger = logging.getLogger(__name__)

_OUTCOME_STAT = {"new": ARTICLES_NEW, "updated": ARTICLES_UPDATED, "unchanged": ARTICLES_UNCHANGED}


class ClaimingSpider(Protocol):
    """What the pipeline needs of the spider (which it does not import): its worker pool and
    profile, and the re-check of a page claiming a post archived at another URL."""

    pool: WorkerPool
    profile: Profile

    def recheck_claimed(self, page: ArticlePage, archived: str) -> bool: ...


class ArchivePipeline:
    """Extracts :class:`ArticlePage` items and saves the records, one transaction each."""

    extractor: Callable[[bytes, str, str, str, bool], tuple[dict[str, Any], dict[str, str]]] = (
        staticmethod(extract_with_provenance)
    )

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.session = session_of(crawler, type(self).__name__)
        if not callable(getattr(crawler.spider, "recheck_claimed", None)):
            raise NotConfigured(f"{type(self).__name__} needs the outlet spider")
        self.spider = cast(ClaimingSpider, crawler.spider)
        # What the extractor filled in the articles this crawl archived or confirmed
        # (qiosk_scraper.health), written as extraction_health rows when the crawl closes.
        self.health: dict[str, FieldCount] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def extract(self, page: ArticlePage) -> tuple[dict[str, Any], dict[str, str]]:
        """The one place the crawl extracts an article (as ``qiosk reextract`` does), in the
        spider's worker pool (:mod:`qiosk_scraper.workers`): the record, and the layer each
        field came from (counted for the crawl's extraction health, never archived)."""
        layers = self.spider.profile.outlet_layers
        args = (page.body, page.url, page.fetched_at, self.session.site, layers)
        return await self.spider.pool.run(self.extractor, *args)

    async def process_item(self, item: object) -> object:
        if not isinstance(item, ArticlePage):
            return item
        try:
            record, provenance = await self.extract(item)
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
        try:
            outcome = self.session.archive.save_article(
                record,
                crawl_id=self.session.crawl_id,
                capture_id=item.capture_id,
                fetched_at=item.fetched_at,
                post_id=item.post_id,
                extractor_version=EXTRACTOR_VERSION,
                aliases=aliases,
            )
        except WriteFailed as error:  # not stored: an errors row, the crawl ends non-zero
            self._error(item, error.kind, str(error))
            raise DropItem(f"not stored: {item.url} ({error})", log_level="DEBUG") from error
        if outcome == "conflicting":  # the archived article and its URL stay as they are
            archived = self.session.archive.known_article(url, item.post_id)
            assert archived is not None
            kept = archived["url"]
            if self.spider.recheck_claimed(item, kept):
                # Moved, gone or alive? Decided when the archived URL has answered.
                raise DropItem(f"held until {kept} answers: {url}", log_level="DEBUG")
            archive, crawl_id = self.session.archive, self.session.crawl_id
            if preferred(url, over=kept) and archive.first_archived_in(archived["id"], crawl_id):
                # Both URLs met in the crawl that archived the post: the same one wins
                # whichever was extracted first.
                archive.take_over(
                    archived["id"],
                    record,
                    capture_id=item.capture_id,
                    fetched_at=item.fetched_at,
                    extractor_version=EXTRACTOR_VERSION,
                    aliases=aliases,
                )
                message = f"post {item.post_id} is archived at {url}; {kept} names itself canonical"
                capture = archived["capture_id"]
                record_error(
                    self.crawler, self.session, kept, CONFLICTING_CANONICAL, message, capture
                )
                raise DropItem(f"conflicting canonical: {kept} (archived at {url})")
            archive.add_alias(url, kept, CONFLICTING_CANONICAL)
            message = f"post {item.post_id} is archived at {kept}; {url} names itself canonical"
            self._error(item, CONFLICTING_CANONICAL, message)
            raise DropItem(f"conflicting canonical: {url} (archived at {kept})")
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(_OUTCOME_STAT[outcome])
        self.health = pooled([self.health, count_fields([(record, provenance)])])
        return item

    def close_spider(self) -> None:
        """The crawl's extraction health, one row per field (none when nothing was extracted).
        Rows that cannot be written (a full disk, the archive locked) are a warning, not a
        lost page: the crawl's status stays what its pages made it."""
        if not self.health:
            return
        try:
            self.session.archive.record_extraction_health(self.session.crawl_id, self.health)
        except WriteFailed as error:
            logger.warning(
                "extraction health of crawl %d not recorded: %s", self.session.crawl_id, error
            )

    def _error(self, page: ArticlePage, kind: str, message: str) -> None:
        record_error(self.crawler, self.session, page.url, kind, message, page.capture_id)
