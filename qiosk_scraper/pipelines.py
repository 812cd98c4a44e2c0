"""The item pipeline: extract each fetched article page and archive its record.

Extraction happens here, in :meth:`ArchivePipeline.extract` and nowhere else in the crawl, so
it can move to a process pool beside the reactor without touching the spider. A page that is
not an article (``NotAnArticle``) or that breaks the extractor becomes an ``errors`` row with
its reason and a stats counter; the crawl goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from qiosk_scraper import __version__
from qiosk_scraper.article import Article
from qiosk_scraper.crawl import (
    ARTICLES_NEW,
    ARTICLES_UNCHANGED,
    ARTICLES_UPDATED,
    NOT_ARTICLES,
    record_error,
    session_of,
)
from qiosk_scraper.extract import NotAnArticle, extract_article
from qiosk_scraper.items import ArticlePage
from qiosk_scraper.urls import canonicalize, same_site

logger = logging.getLogger(__name__)

EXTRACTOR_VERSION = __version__
_OUTCOME_STAT = {"new": ARTICLES_NEW, "updated": ARTICLES_UPDATED, "unchanged": ARTICLES_UNCHANGED}


class ArchivePipeline:
    """Extracts :class:`ArticlePage` items and saves the records, one transaction each."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.session = session_of(crawler, type(self).__name__)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def extract(self, page: ArticlePage) -> Article:
        """The one place the crawl extracts an article."""
        return extract_article(page.body, page.url, datetime.fromisoformat(page.fetched_at))

    def process_item(self, item: object) -> object:
        if not isinstance(item, ArticlePage):
            return item
        try:
            article = self.extract(item)
        except NotAnArticle as error:
            if item.expected:
                self._error(item, "not_an_article", error.reason)
            else:  # a body link to a page that is not an article: nothing went wrong
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value(NOT_ARTICLES)
            raise DropItem(f"not an article: {item.url} ({error.reason})") from error
        except Exception as error:  # an extractor bug must not stop a 10,000-page crawl
            logger.exception("extractor failed on %s", item.url)
            self._error(item, "extractor_error", f"{type(error).__name__}: {error}")
            raise DropItem(f"extractor failed: {item.url}") from error
        record = article.to_record(extras=False)
        url = canonicalize(record["url"])
        if not same_site(url, self.session.site):  # a canonical link off the site is not honoured
            url = item.url
        aliases = list(item.aliases)
        if url != item.url:
            aliases.append((item.url, "canonical"))
        record["url"] = url
        outcome = self.session.archive.save_article(
            record,
            crawl_id=self.session.crawl_id,
            capture_id=item.capture_id,
            fetched_at=item.fetched_at,
            post_id=item.post_id,
            extractor_version=EXTRACTOR_VERSION,
            aliases=aliases,
        )
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(_OUTCOME_STAT[outcome])
        return item

    def _error(self, page: ArticlePage, kind: str, message: str) -> None:
        record_error(self.crawler, self.session, page.url, kind, message, page.capture_id)
