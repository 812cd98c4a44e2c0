"""The ``outlet`` spider: discovers every article of the outlet and hands the pages to the
archive pipeline.

    scrapy crawl outlet -a site=http://127.0.0.1:8765 -a db=archive/qiosk.db -a delay=0

Arguments (all optional): ``site`` (default https://responsiblestatecraft.org), ``db`` (default
``archive/qiosk.db``; WARC files go to ``warc/`` beside it), ``max_articles`` (stop requesting
articles after N), ``since`` (``YYYY-MM-DD``: skip sitemap entries last modified before),
``sources`` (comma list of :data:`SOURCES`, default all), ``delay`` (seconds between requests;
0 also turns AutoThrottle off and allows parallel requests, for the local mirror).

Discovery sources:

- ``robots``: the ``Sitemap:`` lines of robots.txt;
- ``sitemap``: ``/sitemap.xml``, its numbered children and the news sitemap (``lastmod`` read,
  image entries ignored);
- ``feeds``: ``/feeds/feed.rss`` and every RSS feed a page links with ``rel=alternate``;
- ``home``: the home page's teasers;
- ``sections``: type, region, topic and QiOSK pages found in navigation and section labels,
  with every load-more page; their teasers are recorded as listings (``article_sections``);
- ``tags`` and ``authors``: tag and author pages linked from articles, with ``/page/N/`` and
  load-more pages;
- ``links``: from article pages, the teaser stream under the article and the articles its body
  links to (old slugs and legacy date paths among them).

Article and listing pages are read in the crawl's worker processes (:func:`read_article_links`,
:func:`read_listing`: pure functions of the page), as the pipeline extracts articles there, so
the reactor keeps to requests, captures and the archive; the spider decides what to request.
What the crawl has met, requested and held so far (the article budget among it) is kept in a
:class:`~qiosk_scraper.spiders.frontier.Frontier`, which the spider asks before each request.

Every URL is canonicalised (:func:`qiosk_scraper.urls.canonicalize`) before it is requested,
so variants never reach the site twice; variants, redirects and post ids all resolve to one
article row in the archive. Each (article URL, discovery source) pair is recorded in
``discoveries`` (sources: ``sitemap``, ``feeds``, ``home``, ``sections``, ``tags``,
``authors``, ``stream`` for the teasers under an article, ``body`` for its body links).

Re-crawls (a second crawl into the same archive, or a resumed one) fetch only what may have
changed; ``refresh`` (``-a refresh=1``) turns all of this off and fetches everything:

- sitemaps, feeds, listings and load-more pages are always requested, conditionally (the
  stored ``ETag`` / ``Last-Modified`` of their latest capture); a 304 is answered from the
  stored capture (read back from WARC) and parsed as if it had been fetched;
- a sitemap entry for an archived article whose ``lastmod`` is not newer than what the
  archive has (the stored capture's Last-Modified, the record's modified or published time:
  the site's clock against the site's clock) is skipped; the stored page is still read for the
  links it holds, so a resumed crawl discovers what the killed one had not yet followed;
- an archived article found any other way waits until the crawl is idle (by then every
  sitemap has decided on it), then is requested conditionally; a 304 marks it unchanged
  (``last_fetched``) and its stored page is read for links;
- at the end of a complete crawl (``sitemap`` among the sources, no ``max_articles``, no
  ``since``), every archived article not met is requested once more: a 404/410 marks it gone
  (``gone_at``, the response as evidence; its rows stay), a redirect links its new URL.
"""

from __future__ import annotations

import dataclasses
import json
import re
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Self
from urllib.parse import urldefrag, urljoin, urlsplit

import scrapy
from protego import Protego
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Headers, Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from warcio.exceptions import ArchiveLoadFailed

from qiosk_scraper.archive import DEFAULT_DB, WriteFailed, now_iso
from qiosk_scraper.discover.pages import (
    ArticleLinks,
    read_feed_links,
)
from qiosk_scraper.discover.pages import canonical as _canonical
from qiosk_scraper.discover.sitemaps import feed_links, parse_w3c_datetime, sitemap_entries
from qiosk_scraper.failures import CAPTURE_META, VALIDATED_META, describe_failure, error_kind
from qiosk_scraper.guard import REDIRECT_STATUSES
from qiosk_scraper.items import ArticlePage
from qiosk_scraper.profiles import SOURCES, Profile, UnknownProfile, profile_for
from qiosk_scraper.recrawl import sitemap_verdict, validator_headers
from qiosk_scraper.session import (
    ANSWERED,
    ARTICLES_GONE,
    ARTICLES_SKIPPED,
    ARTICLES_UNCHANGED,
    DEFAULT_SITE,
    NOT_MODIFIED,
    SITEMAP_TOTAL,
    CrawlSession,
    crawl_status,
    record_error,
)
from qiosk_scraper.spiders.frontier import Frontier
from qiosk_scraper.stopping import CrawlStopped
from qiosk_scraper.warc import read_response
from qiosk_scraper.workers import ExtractorCrashed, WorkerPool, extract_workers

POLITENESS_SETTINGS = (
    "USER_AGENT",
    "DOWNLOAD_TIMEOUT",
    "ROBOTSTXT_OBEY",
    "DOWNLOAD_DELAY",
    "RANDOMIZE_DOWNLOAD_DELAY",
    "AUTOTHROTTLE_ENABLED",
    "AUTOTHROTTLE_START_DELAY",
    "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "RETRY_ENABLED",
    "RETRY_TIMES",
    "RETRY_HTTP_CODES",
    "QIOSK_RETRY_BACKOFF_BASE",
    "QIOSK_RETRY_BACKOFF_MAX",
)
_LISTING_SOURCE = {"home": "home", "section": "sections", "tag": "tags", "author": "authors"}

_FILE_PATH = re.compile(r"\.[A-Za-z0-9]{1,5}$")
KNOWN_META = "qiosk_known_article"  # request.meta: id of the archived article requested again


class SpiderArgumentError(ValueError):
    """A spider argument (site, since, sources ...) that cannot be used."""


class ReplayError(Exception):
    """A 304 answer whose stored capture cannot be read back."""


def parse_flag(value: str | bool | None) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off", "none"):
        return False
    raise SpiderArgumentError(f"{value!r}: expected a yes/no flag (1 or 0)")


def parse_since(value: str | date | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        day = date.fromisoformat(str(value))
    except ValueError as error:
        raise SpiderArgumentError(f"since={value!r}: expected a date as YYYY-MM-DD") from error
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_sources(value: str | None, offered: tuple[str, ...] = SOURCES) -> tuple[str, ...]:
    """The discovery sources chosen (comma list), of those a profile ``offered``; all of
    them when none is chosen."""
    if not value:
        return offered
    chosen = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown or not chosen:
        raise SpiderArgumentError(
            f"sources={value!r}: choose from {', '.join(SOURCES)} (comma separated)"
        )
    missing = [s for s in chosen if s not in offered]
    if missing:
        raise SpiderArgumentError(
            f"sources={value!r}: this profile offers only {', '.join(offered)}"
        )
    return chosen


def failure_kind(failure: Failure) -> str:
    """A short name for why a request failed (the ``errors.kind``; see qiosk_scraper.failures)."""
    assert failure.value is not None
    return error_kind(failure.value)


class OutletSpider(scrapy.Spider):
    name = "outlet"
    # A conditional request's 304 reaches the callbacks, which read the stored capture back.
    handle_httpstatus_list: ClassVar[list[int]] = [304]
    session: CrawlSession
    dupefilter: BaseDupeFilter
    workers: int
    pool: WorkerPool  # extraction and link reading, beside the reactor (from spider_opened)

    def __init__(
        self,
        site: str = DEFAULT_SITE,
        db: str = DEFAULT_DB,
        max_articles: str | int | None = None,
        since: str | date | None = None,
        sources: str | None = None,
        delay: str | float | None = None,
        refresh: str | bool | None = None,
        resumes: str | int | None = None,
        profile: str | None = None,
        **kwargs: Any,
    ) -> None:
        parts = urlsplit(site)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SpiderArgumentError(f"site={site!r}: expected an http(s) URL")
        self.site = _canonical(f"{parts.scheme}://{parts.netloc}").rstrip("/")
        super().__init__(**kwargs)
        self.allowed_domains = [parts.hostname]
        self.db = db
        try:
            self.max_articles = int(max_articles) if max_articles not in (None, "") else None
            self.delay = float(delay) if delay not in (None, "") else None
        except (TypeError, ValueError) as error:
            raise SpiderArgumentError(f"max_articles/delay: {error}") from error
        if self.max_articles is not None and self.max_articles < 1:
            raise SpiderArgumentError("max_articles must be at least 1")
        if self.delay is not None and self.delay < 0:
            raise SpiderArgumentError("delay must be 0 or more seconds")
        self.since = parse_since(since)
        try:
            self.profile: Profile = profile_for(self.site, profile)
        except UnknownProfile as error:
            raise SpiderArgumentError(str(error)) from error
        self.sources = parse_sources(sources, self.profile.sources)
        self.refresh = parse_flag(refresh)
        try:
            self.resumes = int(resumes) if resumes not in (None, "") else None
        except (TypeError, ValueError) as error:
            raise SpiderArgumentError(f"resumes={resumes!r}: expected a crawl id") from error
        self.arguments: dict[str, Any] = {
            "site": self.site,
            "profile": self.profile.name,
            "db": str(db),
            "max_articles": self.max_articles,
            "since": self.since.date().isoformat() if self.since else None,
            "sources": list(self.sources),
            "delay": self.delay,
            "refresh": self.refresh,
            "resumes": self.resumes,
        }
        self.frontier = Frontier(self.site, self.max_articles)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.workers = extract_workers(settings)  # a bad value fails the crawl at once
        if spider.delay is not None:
            settings.set("DOWNLOAD_DELAY", spider.delay, priority="spider")
            settings.set("AUTOTHROTTLE_START_DELAY", max(spider.delay, 0.1), priority="spider")
            if spider.delay == 0:  # the local mirror: no politeness needed, go parallel
                settings.set("AUTOTHROTTLE_ENABLED", False, priority="spider")
                settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", 8, priority="spider")
        # Recorded with the crawl: how politely it was made.
        spider.arguments["settings"] = {name: settings.get(name) for name in POLITENESS_SETTINGS}
        spider.session = CrawlSession.open(
            spider.site,
            spider.db,
            spider.arguments,
            user_agent=settings["USER_AGENT"],
            warc_max_bytes=settings.getint("QIOSK_WARC_MAX_BYTES"),
        )
        crawler.signals.connect(spider.opened_session, signal=signals.spider_opened)
        crawler.signals.connect(spider.closed_session, signal=signals.spider_closed)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        return spider

    def opened_session(self) -> None:
        """Mark every archived article URL seen in the scheduler's duplicate filter, and note
        in the stats the crawls found interrupted and the WARC bytes cut.

        Archived articles are requested only through :meth:`fetch_article` (which lets them
        through): once, when the sitemap date says so or the crawl is idle. A redirect from a
        URL not yet known as their alias (an old slug, a legacy path) would otherwise fetch
        them a second time; now it ends at the redirect, which records the alias."""
        self.pool = WorkerPool(self.workers, self.crawler.stats)
        engine = self.crawler.engine
        scheduler = engine.scheduler if engine is not None else None
        dupefilter = getattr(scheduler, "df", None)
        if not isinstance(dupefilter, BaseDupeFilter):
            raise SpiderArgumentError(
                f"the scheduler {type(scheduler).__name__} has no duplicate filter (df): "
                "the outlet spider needs one to keep redirects from re-fetching articles"
            )
        self.dupefilter = dupefilter
        for url in self.session.archive.article_urls():
            dupefilter.request_seen(scrapy.Request(url))
        stats = self.crawler.stats
        assert stats is not None
        if self.session.interrupted:
            stats.set_value("qiosk/interrupted_crawls", self.session.interrupted)
            stats.set_value("qiosk/warc_cut_bytes", sum(r.cut for r in self.session.repairs))

    def closed_session(self, reason: str) -> None:
        assert self.crawler.stats is not None
        self.pool.close()
        for archived, pages in self.frontier.unanswered_claims().items():
            for page in pages:
                message = f"{page.url} claims the post archived at {archived}, not asked again"
                record_error(
                    self.crawler, self.session, page.url, "conflicting_canonical", message,
                    page.capture_id,
                )  # fmt: skip
        try:
            self.write_discoveries()
        except WriteFailed as error:  # a full disk: the crawl that finishes this finds them
            self.session.write_lost(self.crawler, error)
        stats = self.crawler.stats.get_stats()
        self.session.close(stats, crawl_status(reason, stats))

    @property
    def complete(self) -> bool:
        """Whether this crawl meets every article the site still lists (so an archived
        article it did not meet may be gone)."""
        return "sitemap" in self.sources and self.max_articles is None and self.since is None

    def on_idle(self) -> None:
        """Request the held archived articles (every sitemap has spoken by now), then, once,
        every archived article a complete crawl did not meet; keep the spider open for them."""
        requests = [
            request
            for url, (source, post_id, expected) in self.frontier.release_held().items()
            for request in [self.known_request(url, source, post_id, expected)]
            if request is not None
        ]
        if not requests and self.complete and self.frontier.first_recheck():
            archived = (url for _, url in self.session.archive.live_articles())
            requests = [
                request
                for url in self.frontier.unmet(archived)
                for request in [self.known_request(url, "recheck", None, True)]
                if request is not None
            ]
        self.write_discoveries()
        engine = self.crawler.engine
        assert engine is not None
        for request in requests:
            engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def discovered_by(self, url: str, source: str) -> None:
        if self.frontier.discovered_by(url, source):
            self.write_discoveries()

    def write_discoveries(self) -> None:
        unwritten = self.frontier.unwritten
        if unwritten:
            self.session.archive.record_discoveries(self.session.crawl_id, unwritten)
            self.frontier.written()

    # -- requests ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.site + path

    def _request(
        self,
        url: str,
        callback: Any,
        kind: str,
        *,
        validators: bool = True,
        dont_filter: bool = False,
        **meta: Any,
    ) -> scrapy.Request:
        """A request; with ``validators``, conditional on the latest stored 200 capture of the
        URL (articles pass their own: the capture their stored state came from)."""
        request = scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            meta={"kind": kind, **meta},
            dont_filter=dont_filter,
        )
        if validators and not self.refresh:
            self.make_conditional(request, self.session.archive.validators(url))
        return request

    def page_request(
        self, url: str, callback: Any, kind: str, **meta: Any
    ) -> scrapy.Request | None:
        """A conditional request for a page that is no article (robots.txt, sitemap, feed,
        listing, load-more), None when this crawl requested it already."""
        if not self.frontier.new_page(url):
            return None
        return self._request(url, callback, kind, **meta)

    def make_conditional(self, request: scrapy.Request, capture: dict[str, Any] | None) -> None:
        headers = validator_headers(capture)
        if capture is not None and headers:
            request.headers.update(headers)
            request.meta[VALIDATED_META] = capture["id"]

    def stored_response(self, capture_id: int, request: scrapy.Request | None) -> Response:
        """The response of a stored capture, read back from WARC, as the parser saw it then."""
        archive = self.session.archive
        capture = archive.capture(capture_id)
        if not capture.get("warc_file"):
            raise ReplayError(f"capture {capture_id} has no WARC record")
        try:
            status, headers, body = read_response(
                archive.folder / capture["warc_file"],
                capture["warc_offset"],
                length=capture["warc_length"],
                payload_sha256=capture["payload_sha256"],
                payload_length=capture["payload_length"],
            )
        except (OSError, ValueError, StopIteration, ArchiveLoadFailed, zlib.error) as error:
            raise ReplayError(f"capture {capture_id}: {type(error).__name__}: {error}") from error
        scrapy_headers = Headers(headers)
        cls = responsetypes.from_args(headers=scrapy_headers, url=capture["url"], body=body)
        return cls(
            url=capture["url"],
            status=status,
            headers=scrapy_headers,
            body=body,
            request=request or scrapy.Request(capture["url"]),
            flags=["stored"],
        )

    def current(self, response: Response) -> Response | None:
        """The response itself, or for a 304 the stored capture it confirmed; None (an error
        recorded) when that cannot be read back."""
        assert self.crawler.stats is not None
        if response.meta.get("kind") != "robots":
            self.crawler.stats.inc_value(ANSWERED)  # the crawl met the site (see session.failed)
        if response.status != 304:
            return response
        self.crawler.stats.inc_value(NOT_MODIFIED)
        capture_id = response.meta.get(VALIDATED_META)
        try:
            if capture_id is None:
                raise ReplayError("304 to a request that was not conditional")
            return self.stored_response(capture_id, response.request)
        except ReplayError as error:
            capture = (response.meta.get(CAPTURE_META) or {}).get("id")
            record_error(
                self.crawler, self.session, response.url, "replay_failed", str(error), capture
            )
            return None

    async def start(self) -> AsyncIterator[Any]:
        profile = self.profile
        first = []
        if "robots" in self.sources:
            first.append(self.page_request(self.url("/robots.txt"), self.parse_robots, "robots"))
        if "sitemap" in self.sources:
            for path in profile.sitemaps:
                first.append(self.page_request(self.url(path), self.parse_sitemap, "sitemap"))
        if "feeds" in self.sources:
            for path in profile.feeds:
                first.append(self.page_request(self.url(path), self.parse_feed, "feed"))
        for request in first:
            if request is not None:
                yield request
        if {"home", "sections", "tags", "authors"} & set(self.sources):
            # The home page is also where the section navigation is found.
            yield self.listing_request(self.url("/"), "home")
        elif "feeds" in self.sources and not profile.feeds:
            # Feed autodiscovery: the feeds the home page names (``rel=alternate``).
            home = self.page_request(self.url("/"), self.parse_home_feeds, "home")
            if home is not None:
                yield home

    def article_request(
        self, raw_url: str, source: str, post_id: str | None = None, *, expected: bool = True
    ) -> scrapy.Request | None:
        """A request for a discovered article URL, or None when it is known, off the site,
        or over the ``max_articles`` budget. ``expected``: the source says it is an article
        (a teaser, a feed item, a sitemap entry), so a page that is not one is an error."""
        url = _canonical(raw_url)
        if not self.frontier.on_site(url) or _FILE_PATH.search(urlsplit(url).path):
            return None
        spelled = urldefrag(raw_url.strip()).url  # a fragment never reaches the site
        if url != spelled:
            self.alias(spelled, url, "variant")
        # An old slug or variant of an archived article stands for the article.
        url, known = self.frontier.resolve(url, self.session.archive.known_article)
        if post_id is not None:
            first = self.frontier.post_url(post_id, url)
            if first != url:
                self.alias(url, first, "post_id")
                return None
        self.discovered_by(url, source)
        if self.frontier.waiting(url):
            return None
        if known is None and not self.refresh:
            known = self.session.archive.known_article(url)
        if known is not None and not self.refresh:
            self.frontier.hold(url, source, post_id, expected)
            return None
        return self.fetch_article(url, source, post_id, expected, known)

    def alias(self, url: str, target: str, kind: str) -> None:
        if self.frontier.new_alias(url, target):
            self.session.archive.add_alias(url, target, kind)

    def fetch_article(
        self,
        url: str,
        source: str,
        post_id: str | None,
        expected: bool,
        known: dict[str, Any] | None,
    ) -> scrapy.Request | None:
        """The request for an article not requested yet in this crawl (None over budget);
        conditional when it is archived."""
        if not self.frontier.take_article(url):
            return None
        request = self._request(
            url,
            self.parse_article,
            "article",
            validators=False,
            dont_filter=known is not None,  # marked seen from the start (see opened_session)
            source=source,
            post_id=post_id,
            expected=expected,
        )
        if known is not None:
            request.meta[KNOWN_META] = known["id"]
            if not self.refresh:
                self.make_conditional(request, {**known, "id": known["capture_id"]})
        return request

    def known_request(
        self, url: str, source: str, post_id: str | None, expected: bool
    ) -> scrapy.Request | None:
        """A held (or unmet) archived article, unless this crawl has handled it meanwhile."""
        known = self.session.archive.known_article(url)
        if known is not None:
            url = known["url"]
        if self.frontier.met(url):
            return None
        return self.fetch_article(url, source, post_id, expected, known)

    def sitemap_article(self, loc: str, lastmod: datetime | None) -> Iterator[scrapy.Request]:
        """A sitemap entry. An archived article is skipped when its ``lastmod`` is not newer
        than its stored state (its stored page is read for links), requested now,
        conditionally, when it is; anything else goes the way of every discovered URL."""
        known = None
        if not self.refresh and lastmod is not None:
            known = self.session.archive.known_article(_canonical(loc))
        verdict = sitemap_verdict(known, lastmod, refresh=self.refresh)
        if verdict == "discovered" or known is None:
            request = self.article_request(loc, "sitemap")
            if request is not None:
                yield request
            return
        url = known["url"]
        self.discovered_by(url, "sitemap")
        if self.frontier.met(url):
            return
        if verdict == "fetch":
            request = self.fetch_article(url, "sitemap", None, True, known)
            if request is not None:
                yield request
            return
        if not self.frontier.take_article(url):
            return
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(ARTICLES_SKIPPED)
        yield from self.stored_article_links(known["capture_id"], url)

    def stored_article_links(self, capture_id: int, url: str) -> Iterator[scrapy.Request]:
        try:
            stored = self.stored_response(capture_id, None)
        except ReplayError as error:
            record_error(self.crawler, self.session, url, "replay_failed", str(error), capture_id)
            return
        if isinstance(stored, TextResponse):
            yield from self.follow_article_links(self.profile.read_article(stored.text, stored.url))

    def listing_request(
        self, raw_url: str, listing: str, label: str | None = None
    ) -> scrapy.Request | None:
        if self.profile.read_listing is None:
            return None
        if _LISTING_SOURCE[listing] not in self.sources and listing != "home":
            return None
        if not self.frontier.budget_left:
            return None
        url = _canonical(raw_url)
        if not self.frontier.on_site(url):
            return None
        return self.page_request(url, self.parse_listing, "listing", listing=listing, label=label)

    # -- robots, sitemaps, feeds ---------------------------------------------------------

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        stored = self.current(response)
        if stored is None:
            return
        text = stored.body.decode("utf-8", "replace")
        for sitemap in Protego.parse(text).sitemaps:
            url = urljoin(response.url, sitemap)
            if self.frontier.on_site(url):
                request = self.page_request(_canonical(url), self.parse_sitemap, "sitemap")
                if request is not None:
                    yield request

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        stored = self.current(response)
        if stored is None:
            return
        response = stored
        kind, entries = sitemap_entries(response.body)
        for entry in entries:
            changed = parse_w3c_datetime(entry.get("lastmod") or entry.get("publication_date"))
            if self.since and changed and changed < self.since:
                continue
            loc = urljoin(response.url, entry["loc"])
            if kind == "sitemapindex":
                if self.frontier.on_site(loc):
                    request = self.page_request(_canonical(loc), self.parse_sitemap, "sitemap")
                    if request is not None:
                        yield request
                continue
            url = _canonical(loc)
            if not self.frontier.on_site(url) or _FILE_PATH.search(urlsplit(url).path):
                continue  # image and other file entries
            if self.frontier.listed_in_sitemap(url):
                assert self.crawler.stats is not None
                self.crawler.stats.set_value(SITEMAP_TOTAL, len(self.frontier.sitemap_urls))
            # Only lastmod dates a page's last change (a news entry's date is its publication).
            yield from self.sitemap_article(loc, parse_w3c_datetime(entry.get("lastmod")))

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        stored = self.current(response)
        if stored is None:
            return
        response = stored
        for link in feed_links(response.body):
            request = self.article_request(urljoin(response.url, link), "feeds")
            if request is not None:
                yield request

    def parse_home_feeds(self, response: Response) -> Iterator[scrapy.Request]:
        """The home page of a site whose profile names no feed: the feeds it links."""
        stored = self.current(response)
        if isinstance(stored, TextResponse):
            yield from self.follow_article_links(read_feed_links(stored.text, stored.url))

    # -- listings ------------------------------------------------------------------------

    async def parse_listing(self, response: Response) -> AsyncIterator[scrapy.Request]:
        stored = self.current(response)
        if stored is None:
            return
        response = stored
        if not isinstance(response, TextResponse):
            return
        listing = response.meta["listing"]
        try:
            assert self.profile.read_listing is not None  # see listing_request
            page = await self.pool.run(
                self.profile.read_listing, response.text, response.url, listing
            )
        except ExtractorCrashed as error:
            self.record_crash(response, error)
            return
        label = response.meta.get("label") or page.label
        for request in self.listed_articles(page.teasers, listing, label):
            yield request
        for request in self.follow_listing_links(page.feeds, page.listings):
            yield request
        # ``/page/N/`` links of this listing, else its load-more JSON: load-more pages repeat
        # what /page/N/ pages show, so they are fetched only without those.
        paged = [url for url in page.paged if self.frontier.on_site(url)]
        for url in paged:
            next_page = self.listing_request(url, listing, label)
            if next_page is not None:
                yield next_page
        if not paged and page.more is not None and self.frontier.budget_left:
            yield self._request(
                page.more, self.parse_load_more, "load_more", listing=listing, label=label, page=2
            )

    def listed_articles(
        self, teasers: Iterable[tuple[str, str | None]], listing: str, label: str | None
    ) -> Iterator[scrapy.Request]:
        """The articles a listing shows ((canonical URL, post id) pairs); a section's are
        recorded as its sightings (``article_sections.listed``)."""
        for url, post_id in teasers:
            if listing == "section" and label:
                self.session.archive.record_listing(
                    url, label, crawl_id=self.session.crawl_id, post_id=post_id
                )
            request = self.article_request(url, _LISTING_SOURCE[listing], post_id)
            if request is not None:
                yield request

    def parse_load_more(self, response: Response) -> Iterator[scrapy.Request]:
        stored = self.current(response)
        if stored is None:
            return
        response = stored
        listing, label = response.meta["listing"], response.meta.get("label")
        data = json.loads(response.body)
        teasers = [
            (
                _canonical(urljoin(response.url, link)),
                str(post["id"]) if post.get("id") is not None else None,
            )
            for posts in (data.get("posts_by_source") or {}).values()
            for post in posts
            for link in [post.get("post_url") or post.get("url")]
            if link
        ]
        yield from self.listed_articles(teasers, listing, label)
        if data.get("has_more") and self.frontier.budget_left:
            page = response.meta["page"] + 1
            parts = urlsplit(response.url)
            query = re.sub(r"(^|&)pn=\d+", rf"\g<1>pn={page}", parts.query)
            yield self._request(
                parts._replace(query=query).geturl(),
                self.parse_load_more,
                "load_more",
                listing=listing,
                label=label,
                page=page,
            )

    def follow_listing_links(
        self, feeds: Iterable[str], listings: Iterable[tuple[str, str]]
    ) -> Iterator[scrapy.Request]:
        """The feeds and the section, tag and author pages a page links to."""
        if "feeds" in self.sources:
            for url in feeds:
                if self.frontier.on_site(url):
                    request = self.page_request(url, self.parse_feed, "feed")
                    if request is not None:
                        yield request
        for url, listing in listings:
            if self.frontier.on_site(url):
                request = self.listing_request(url, listing)
                if request is not None:
                    yield request

    # -- articles ------------------------------------------------------------------------

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        capture = response.meta.get(CAPTURE_META) or {}
        capture_id, fetched_at = capture.get("id"), capture.get("fetched_at") or now_iso()
        if response.status == 304:
            stored = self.current(response)
            if stored is None:
                return
            known_id = response.meta.get(KNOWN_META)
            if known_id is not None:  # the archived state is current: nothing to extract
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value(ARTICLES_UNCHANGED)
                self.session.archive.mark_unchanged(known_id, fetched_at)
                links = await self.read_links(stored)
                for request in self.follow_article_links(links):
                    yield request
                return
            # A page captured before but never archived (a crawl killed in between): it is
            # current, so the stored capture is extracted as if it had just been fetched.
            response = stored
            capture_id = response.meta[VALIDATED_META]
            fetched_at = self.session.archive.capture(capture_id)["fetched_at"]
        url = _canonical(response.url)
        aliases = [(_canonical(u), "redirect") for u in response.meta.get("redirect_urls", [])]
        links = await self.read_links(response)
        yield ArticlePage(
            url=url,
            body=response.body,
            fetched_at=fetched_at,
            capture_id=capture_id,
            post_id=response.meta.get("post_id") or (links.post_id if links else None),
            aliases=[(alias, kind) for alias, kind in aliases if alias != url],
            source=response.meta.get("source", ""),
            expected=response.meta.get("expected", True),
        )
        for request in self.follow_article_links(links):
            yield request

    async def read_links(self, response: Response) -> ArticleLinks | None:
        """What an article page leads to, read in the worker pool (None when it is no text,
        or when reading it killed a worker: an ``extractor_crashed`` error)."""
        if not isinstance(response, TextResponse):
            return None
        try:
            return await self.pool.run(self.profile.read_article, response.text, response.url)
        except ExtractorCrashed as error:
            self.record_crash(response, error)
            return None

    def record_crash(self, response: Response, error: ExtractorCrashed) -> None:
        """A worker died reading the page: an ``extractor_crashed`` error, the crawl goes on."""
        capture_id = (response.meta.get(CAPTURE_META) or {}).get("id")
        record_error(
            self.crawler, self.session, response.url, "extractor_crashed", str(error), capture_id
        )

    def follow_article_links(self, links: ArticleLinks | None) -> Iterator[scrapy.Request]:
        """The listings and articles an article page leads to."""
        if links is None:
            return
        yield from self.follow_listing_links(links.feeds, links.listings)  # section, tag, author
        if "links" in self.sources:  # the teaser stream under the article, and body links
            for url, post_id in links.stream:
                request = self.article_request(url, "stream", post_id)
                if request is not None:
                    yield request
            for url in links.body:
                request = self.article_request(url, "body", expected=False)
                if request is not None:
                    yield request

    def recheck_claimed(self, page: ArticlePage, archived: str) -> bool:
        """Hold ``page``, whose post the archive has at ``archived``, when this crawl has not
        asked ``archived`` yet, and ask it now (once, redirects not followed): the pipeline
        sees the page again after the answer. False when it has answered already (or the page
        was held once): a live archived URL makes the page a conflicting canonical."""
        if page.rechecked or self.session.archive.captured_in(self.session.crawl_id, archived):
            return False
        if not self.frontier.claimed(archived):
            known = self.session.archive.known_article(archived)
            request = self._request(
                archived, self.parse_claimed, "article", validators=False, dont_filter=True,
                source="recheck", expected=True, dont_redirect=True,
                handle_httpstatus_list=[*self.handle_httpstatus_list, *sorted(REDIRECT_STATUSES)],
            )  # fmt: skip
            if known is not None:
                request.meta[KNOWN_META] = known["id"]
                if not self.refresh:
                    self.make_conditional(request, {**known, "id": known["capture_id"]})
            self.frontier.asked_again(archived)
            engine = self.crawler.engine
            assert engine is not None
            engine.crawl(request)
        self.frontier.claim(archived, page)
        return True

    async def parse_claimed(self, response: Response) -> AsyncIterator[Any]:
        """The answer of an archived URL another page claimed: a redirect (its alias is
        recorded on capture) or the page itself; then the held pages go to the pipeline."""
        if response.status not in REDIRECT_STATUSES:
            async for output in self.parse_article(response):
                yield output
        for page in self.release_claims(response.request.url if response.request else response.url):
            yield page

    def release_claims(self, archived: str) -> Iterator[ArticlePage]:
        for page in self.frontier.release_claims(archived):
            yield dataclasses.replace(page, rechecked=True)

    # -- failures ------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> Iterator[ArticlePage]:
        if isinstance(failure.value, CrawlStopped):
            return  # cancelled by a stop signal, not the site's doing: --resume asks again
        request = failure.request  # type: ignore[attr-defined]
        kind, message, capture_id = describe_failure(failure)
        error = failure.value
        if not (
            isinstance(error, HttpError)
            and error.response.status in (404, 410)
            and request.meta.get("kind") == "article"
            and self.mark_gone(request.url, error.response, capture_id)
        ):
            record_error(self.crawler, self.session, request.url, kind, message, capture_id)
        yield from self.release_claims(request.url)

    def mark_gone(self, url: str, response: Response, capture_id: int | None) -> bool:
        """A 404/410 for an archived article at its own URL: mark it gone (its rows stay).
        False when the URL is no archived article's."""
        known = self.session.archive.known_article(url)
        if known is None or known["url"] != _canonical(url):
            return False
        at = (response.meta.get(CAPTURE_META) or {}).get("fetched_at")
        if self.session.archive.mark_gone(
            known["id"], at or datetime.now(UTC).isoformat(), capture_id
        ):
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(ARTICLES_GONE)
        return True
