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

Every URL is canonicalised (:func:`qiosk_scraper.urls.canonicalize`) before it is requested,
so variants never reach the site twice; variants, redirects and post ids all resolve to one
article row in the archive.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any, Self
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

import scrapy
from lxml import etree
from protego import Protego
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from qiosk_scraper.crawl import (
    DEFAULT_DB,
    DEFAULT_SITE,
    SITEMAP_TOTAL,
    CrawlSession,
    record_error,
)
from qiosk_scraper.extract import extract_listing
from qiosk_scraper.failures import describe_failure, error_kind
from qiosk_scraper.items import ArticlePage
from qiosk_scraper.middlewares import CAPTURE_META
from qiosk_scraper.urls import canonicalize, same_site

SOURCES = ("robots", "sitemap", "feeds", "home", "sections", "tags", "authors", "links")
POLITENESS_SETTINGS = (
    "USER_AGENT",
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

_TAG_PATH = re.compile(r"^/tag/[^/]+/$")
_AUTHOR_PATH = re.compile(r"^/author/[^/]+/$")
_REGION_PATH = re.compile(r"^/regions/[^/]+/$")
_SECTION_PATH = re.compile(r"^/[a-z0-9-]+/$")
_PAGED_PATH = re.compile(r"^(?P<listing>/.+/)page/(?P<number>\d+)/$")
_FILE_PATH = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_LOAD_MORE_PATH = "/res/load_more_posts/data.js"
_POST_ID_CLASS = re.compile(r"\bpost-(\d+)\b")
_BOOTSTRAP = re.compile(r"REBELMOUSE_BOOTSTRAP_DATA\s*=\s*(\{.*?\})\s*;?\s*</script>", re.S)
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=True)
_MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit


class SpiderArgumentError(ValueError):
    """A spider argument (site, since, sources ...) that cannot be used."""


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


def parse_sources(value: str | None) -> tuple[str, ...]:
    if not value:
        return SOURCES
    chosen = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown or not chosen:
        raise SpiderArgumentError(
            f"sources={value!r}: choose from {', '.join(SOURCES)} (comma separated)"
        )
    return chosen


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A sitemap ``lastmod`` (W3C datetime: a date, or a date and time with offset)."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _local(tag: object) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def sitemap_entries(body: bytes) -> tuple[str, list[dict[str, str]]]:
    """The kind (``sitemapindex`` or ``urlset``) and entries (loc, lastmod, news date)."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)[:_MAX_SITEMAP_BYTES]
    root = etree.fromstring(body, parser=_XML_PARSER)
    if root is None:
        return "", []
    entries = []
    for element in root:
        entry: dict[str, str] = {}
        for child in element.iter():
            name = _local(child.tag)
            if name in ("loc", "lastmod", "publication_date") and child.text:
                if name == "loc" and child.getparent() is not element:
                    continue  # image:loc, video:loc ... inside the entry: not a page
                entry[name] = child.text.strip()
        if "loc" in entry:
            entries.append(entry)
    return _local(root.tag), entries


def feed_links(body: bytes) -> list[str]:
    """Item links of an RSS or Atom feed, in feed order."""
    root = etree.fromstring(body, parser=_XML_PARSER)
    if root is None:
        return []
    found = root.xpath(
        "//*[local-name()='item']/*[local-name()='link']/text()"
        " | //*[local-name()='entry']/*[local-name()='link'][not(@rel) or @rel='alternate']/@href"
    )
    assert isinstance(found, list)
    return [str(link).strip() for link in found if str(link).strip()]


def failure_kind(failure: Failure) -> str:
    """A short name for why a request failed (the ``errors.kind``; see qiosk_scraper.failures)."""
    assert failure.value is not None
    return error_kind(failure.value)


class OutletSpider(scrapy.Spider):
    name = "outlet"
    session: CrawlSession

    def __init__(
        self,
        site: str = DEFAULT_SITE,
        db: str = DEFAULT_DB,
        max_articles: str | int | None = None,
        since: str | date | None = None,
        sources: str | None = None,
        delay: str | float | None = None,
        **kwargs: Any,
    ) -> None:
        parts = urlsplit(site)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SpiderArgumentError(f"site={site!r}: expected an http(s) URL")
        self.site = canonicalize(f"{parts.scheme}://{parts.netloc}").rstrip("/")
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
        self.sources = parse_sources(sources)
        self.arguments: dict[str, Any] = {
            "site": self.site,
            "db": str(db),
            "max_articles": self.max_articles,
            "since": self.since.date().isoformat() if self.since else None,
            "sources": list(self.sources),
            "delay": self.delay,
        }
        self.articles_requested = 0
        self.article_urls: set[str] = set()
        self.post_ids: dict[str, str] = {}  # post id -> the canonical URL requested for it
        self.sitemap_urls: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
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
        crawler.signals.connect(spider.closed_session, signal=signals.spider_closed)
        return spider

    def closed_session(self, reason: str) -> None:
        assert self.crawler.stats is not None
        self.session.close(self.crawler.stats.get_stats(), reason)

    # -- requests ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.site + path

    def _request(self, url: str, callback: Any, kind: str, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, meta={"kind": kind, **meta}
        )

    async def start(self) -> AsyncIterator[Any]:
        if "robots" in self.sources:
            yield self._request(self.url("/robots.txt"), self.parse_robots, "robots")
        if "sitemap" in self.sources:
            yield self._request(self.url("/sitemap.xml"), self.parse_sitemap, "sitemap")
        if "feeds" in self.sources:
            yield self._request(self.url("/feeds/feed.rss"), self.parse_feed, "feed")
        if {"home", "sections", "tags", "authors"} & set(self.sources):
            # The home page is also where the section navigation is found.
            yield self.listing_request(self.url("/"), "home")

    @property
    def budget_left(self) -> bool:
        return self.max_articles is None or self.articles_requested < self.max_articles

    def article_request(
        self, raw_url: str, source: str, post_id: str | None = None, *, expected: bool = True
    ) -> scrapy.Request | None:
        """A request for a discovered article URL, or None when it is known, off the site,
        or over the ``max_articles`` budget. ``expected``: the source says it is an article
        (a teaser, a feed item, a sitemap entry), so a page that is not one is an error."""
        url = canonicalize(raw_url)
        if not same_site(url, self.site) or _FILE_PATH.search(urlsplit(url).path):
            return None
        spelled = urldefrag(raw_url.strip()).url  # a fragment never reaches the site
        if url != spelled:
            self.session.archive.add_alias(spelled, url, "variant")
        if post_id is not None and self.post_ids.setdefault(post_id, url) != url:
            self.session.archive.add_alias(url, self.post_ids[post_id], "post_id")
            return None
        if url in self.article_urls or not self.budget_left:
            return None
        self.article_urls.add(url)
        self.articles_requested += 1
        return self._request(
            url, self.parse_article, "article", source=source, post_id=post_id, expected=expected
        )

    def listing_request(
        self, raw_url: str, listing: str, label: str | None = None
    ) -> scrapy.Request | None:
        if _LISTING_SOURCE[listing] not in self.sources and listing != "home":
            return None
        if not self.budget_left:
            return None
        url = canonicalize(raw_url)
        if not same_site(url, self.site):
            return None
        return self._request(url, self.parse_listing, "listing", listing=listing, label=label)

    # -- robots, sitemaps, feeds ---------------------------------------------------------

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        text = response.body.decode("utf-8", "replace")
        for sitemap in Protego.parse(text).sitemaps:
            url = urljoin(response.url, sitemap)
            if same_site(url, self.site):
                yield self._request(canonicalize(url), self.parse_sitemap, "sitemap")

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        kind, entries = sitemap_entries(response.body)
        for entry in entries:
            changed = parse_w3c_datetime(entry.get("lastmod") or entry.get("publication_date"))
            if self.since and changed and changed < self.since:
                continue
            loc = urljoin(response.url, entry["loc"])
            if kind == "sitemapindex":
                if same_site(loc, self.site):
                    yield self._request(canonicalize(loc), self.parse_sitemap, "sitemap")
                continue
            url = canonicalize(loc)
            if not same_site(url, self.site) or _FILE_PATH.search(urlsplit(url).path):
                continue  # image and other file entries
            if url not in self.sitemap_urls:
                self.sitemap_urls.add(url)
                assert self.crawler.stats is not None
                self.crawler.stats.set_value(SITEMAP_TOTAL, len(self.sitemap_urls))
            request = self.article_request(loc, "sitemap")
            if request is not None:
                yield request

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        for link in feed_links(response.body):
            request = self.article_request(urljoin(response.url, link), "feeds")
            if request is not None:
                yield request

    # -- listings ------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        if not isinstance(response, TextResponse):
            return
        listing = response.meta["listing"]
        label = response.meta.get("label") or listing_label(response, listing)
        for teaser in extract_listing(response.body, response.url):
            post_id = str(teaser.post_id) if getattr(teaser, "post_id", None) else None
            url = canonicalize(urljoin(response.url, teaser.url))
            if listing == "section" and label:
                self.session.archive.record_listing(
                    url, label, crawl_id=self.session.crawl_id, post_id=post_id
                )
            request = self.article_request(url, _LISTING_SOURCE[listing], post_id)
            if request is not None:
                yield request
        yield from self.follow_listings(response)
        yield from self.next_pages(response, listing, label)

    def next_pages(
        self, response: TextResponse, listing: str, label: str | None
    ) -> Iterator[scrapy.Request]:
        """``/page/N/`` links of this listing, else its load-more JSON."""
        base = urlsplit(response.url).path
        match = _PAGED_PATH.match(base)
        listing_path = match.group("listing") if match else base
        paged_links = False
        for href in response.css("a::attr(href)").getall():
            url = canonicalize(urljoin(response.url, href))
            paged = _PAGED_PATH.match(urlsplit(url).path)
            if paged and paged.group("listing") == listing_path and same_site(url, self.site):
                paged_links = True
                request = self.listing_request(url, listing, label)
                if request is not None:
                    yield request
        # Load-more pages repeat what /page/N/ pages show: fetch them only without those.
        more = None if paged_links or match else load_more_url(response, 2)
        if more is not None and self.budget_left:
            yield self._request(
                more, self.parse_load_more, "load_more", listing=listing, label=label, page=2
            )

    def parse_load_more(self, response: Response) -> Iterator[scrapy.Request]:
        listing, label = response.meta["listing"], response.meta.get("label")
        data = json.loads(response.body)
        for posts in (data.get("posts_by_source") or {}).values():
            for post in posts:
                link = post.get("post_url") or post.get("url")
                if not link:
                    continue
                url = canonicalize(urljoin(response.url, link))
                post_id = str(post["id"]) if post.get("id") is not None else None
                if listing == "section" and label:
                    self.session.archive.record_listing(
                        url, label, crawl_id=self.session.crawl_id, post_id=post_id
                    )
                request = self.article_request(url, _LISTING_SOURCE[listing], post_id)
                if request is not None:
                    yield request
        if data.get("has_more") and self.budget_left:
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

    def follow_listings(self, response: TextResponse) -> Iterator[scrapy.Request]:
        """Section, tag and author pages and feeds that a page links to."""
        if "feeds" in self.sources:
            for href in response.css(
                'link[rel="alternate"][type="application/rss+xml"]::attr(href)'
            ).getall():
                url = canonicalize(urljoin(response.url, href))
                if same_site(url, self.site):
                    yield self._request(url, self.parse_feed, "feed")
        navigation = set(
            response.css(
                "nav a::attr(href), header a::attr(href), [class*=menu] a::attr(href), "
                "a.widget__section::attr(href)"
            ).getall()
        )
        for href in response.css("a::attr(href)").getall():
            url = canonicalize(urljoin(response.url, href))
            if not same_site(url, self.site):
                continue
            path = urlsplit(url).path
            request = None
            if _TAG_PATH.match(path):
                request = self.listing_request(url, "tag")
            elif _AUTHOR_PATH.match(path):
                request = self.listing_request(url, "author")
            elif _REGION_PATH.match(path) or (href in navigation and _SECTION_PATH.match(path)):
                request = self.listing_request(url, "section")
            if request is not None:
                yield request

    # -- articles ------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Any]:
        capture = response.meta.get(CAPTURE_META) or {}
        url = canonicalize(response.url)
        aliases = [(canonicalize(u), "redirect") for u in response.meta.get("redirect_urls", [])]
        yield ArticlePage(
            url=url,
            body=response.body,
            fetched_at=capture.get("fetched_at") or datetime.now(UTC).isoformat(),
            capture_id=capture.get("id"),
            post_id=response.meta.get("post_id") or page_post_id(response),
            aliases=[(alias, kind) for alias, kind in aliases if alias != url],
            source=response.meta.get("source", ""),
            expected=response.meta.get("expected", True),
        )
        if not isinstance(response, TextResponse):
            return
        yield from self.follow_listings(response)  # its section, tag and author pages
        if "links" in self.sources:  # the teaser stream under the article, and body links
            for teaser in extract_listing(response.body, response.url):
                post_id = str(teaser.post_id) if getattr(teaser, "post_id", None) else None
                request = self.article_request(urljoin(response.url, teaser.url), "stream", post_id)
                if request is not None:
                    yield request
            yield from self.body_links(response)

    def body_links(self, response: TextResponse) -> Iterator[scrapy.Request]:
        """Other articles the body links to (often by an old slug or a legacy date path)."""
        navigation = {
            canonicalize(urljoin(response.url, href))
            for href in response.css("nav a::attr(href), a.widget__section::attr(href)").getall()
        }
        for href in response.css(".body-description a::attr(href)").getall():
            url = canonicalize(urljoin(response.url, href))
            path = urlsplit(url).path
            if (
                url in navigation
                or path == "/"
                or any(pattern.match(path) for pattern in (_TAG_PATH, _AUTHOR_PATH, _REGION_PATH))
            ):
                continue
            request = self.article_request(urljoin(response.url, href), "body", expected=False)
            if request is not None:
                yield request

    # -- failures ------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        kind, message, capture_id = describe_failure(failure)
        record_error(self.crawler, self.session, request.url, kind, message, capture_id)


def bootstrap_data(response: TextResponse) -> dict[str, Any]:
    """The page's ``window.REBELMOUSE_BOOTSTRAP_DATA`` object ({} when absent or broken)."""
    match = _BOOTSTRAP.search(response.text)
    if not match:
        return {}
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _first(data: dict[str, Any], *keys: str) -> Any:
    return next((data[key] for key in keys if data.get(key) not in (None, "")), None)


def page_post_id(response: Response) -> str | None:
    """The CMS post id of an article page: the ``post-<id>`` class (or ``elid``) of its
    ``article.page-article``, else the bootstrap data's post id."""
    if not isinstance(response, TextResponse):
        return None
    article = response.css("article.page-article")
    if article:
        elid = (article[0].attrib.get("elid") or "").strip()
        if elid.isdigit():
            return elid
        match = _POST_ID_CLASS.search(article[0].attrib.get("class", ""))
        if match:
            return match.group(1)
    post_id = _first(bootstrap_data(response), "postId", "post_id")
    return str(post_id) if post_id is not None else None


def listing_label(response: TextResponse, listing: str) -> str | None:
    """The label of a section listing page (its heading, else its ``og:title``)."""
    if listing != "section":
        return None
    label = response.css("main h1::text, h1.section-title::text, h1::text").get()
    if not label:
        label = response.css('meta[property="og:title"]::attr(content)').get()
    return label.strip() if label and label.strip() else None


def load_more_url(response: TextResponse, page: int) -> str | None:
    """The load-more JSON URL of page ``page`` of a listing page's main post stream, when the
    stream says it has more (sidebar streams are left alone)."""
    holders = [
        holder for holder in response.css("[data-has-more]") if not holder.xpath("ancestor::aside")
    ]
    if not holders or holders[0].attrib.get("data-has-more", "").lower() not in ("true", "1"):
        return None
    holder = holders[0]
    data = bootstrap_data(response)
    resource_id = _first(holder.attrib, "data-source", "data-resource-id") or _first(
        data, "resourceId", "resource_id"
    )
    site_id = _first(data, "siteId", "site_id") or (data.get("site") or {}).get("id")
    if not resource_id:
        return None
    query: dict[str, Any] = {"resource_id": resource_id, "pn": page, "rm_lazy_load": 1}
    if site_id:
        query = {"site_id": site_id, **query}
    return urljoin(response.url, f"{_LOAD_MORE_PATH}?{urlencode(query)}")
