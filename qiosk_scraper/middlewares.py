"""Downloader middlewares: raw WARC captures of every response, and polite retries.

``WarcCaptureMiddleware`` sits nearest the downloader (950), so it sees each response as
received: redirects before RedirectMiddleware (600) follows them, error statuses before
RetryMiddleware (550) and HttpErrorMiddleware act, bodies before HttpCompressionMiddleware
(590) decodes them. It writes the exchange to WARC, indexes it in ``captures`` and leaves the
capture's id in ``request.meta["qiosk_capture"]`` for the spider and pipeline.

``BackoffRetryMiddleware`` replaces Scrapy's RetryMiddleware: the same settings and rules
(through Scrapy's ``get_retry_request``), plus a wait before each retry, ``Retry-After`` when
the site sends one (429, 503), otherwise exponential backoff; while it waits the whole crawl
is paused, since a rate-limited site wants fewer requests, not the same number from other URLs.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self
from urllib.parse import urljoin

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

from qiosk_scraper.crawl import PAGES, session_of
from qiosk_scraper.urls import canonicalize, same_site

logger = logging.getLogger(__name__)

CAPTURE_META = "qiosk_capture"  # request.meta key: {"id": capture id, "fetched_at": ISO time}


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def header_pairs(headers: object) -> list[tuple[str, str]]:
    """Scrapy Headers as (name, value) text pairs, one per value."""
    pairs = []
    for name, values in headers.items():  # type: ignore[attr-defined]
        for value in values:
            pairs.append((_text(name), _text(value)))
    return pairs


class WarcCaptureMiddleware:
    """Writes every response to WARC and indexes it in the archive's ``captures``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.session = session_of(crawler, type(self).__name__)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        fetched = datetime.now(UTC).replace(microsecond=0)
        ip_address = getattr(response, "ip_address", None)
        protocol = response.protocol or "HTTP/1.1"
        location = self.session.warc.write_exchange(
            url=response.url,
            method=request.method,
            request_headers=header_pairs(request.headers),
            status=response.status,
            response_headers=header_pairs(response.headers),
            body=response.body,
            fetched_at=fetched,
            protocol=protocol.upper(),
            ip_address=str(ip_address) if ip_address else None,
            request_body=request.body,
        )
        redirect_to = response.headers.get(b"Location")
        target = urljoin(response.url, _text(redirect_to)) if redirect_to else None
        capture_id = self.session.archive.add_capture(
            self.session.crawl_id,
            {
                "url": response.url,
                "method": request.method,
                "status": response.status,
                "fetched_at": fetched.isoformat(),
                "content_type": _header(response, b"Content-Type"),
                "location": target,
                "etag": _header(response, b"ETag"),
                "last_modified": _header(response, b"Last-Modified"),
                "payload_sha256": location.payload_sha256,
                "payload_length": location.payload_length,
                "warc_file": location.file,
                "warc_offset": location.offset,
                "warc_length": location.length,
            },
        )
        request.meta[CAPTURE_META] = {"id": capture_id, "fetched_at": fetched.isoformat()}
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(PAGES)
        if (
            target
            and 300 <= response.status < 400
            and request.meta.get("kind") == "article"
            and same_site(target, self.session.site)
        ):
            # An old slug or a legacy path: the article it leads to is the same article.
            self.session.archive.add_alias(
                canonicalize(response.url), canonicalize(target), "redirect"
            )
        return response


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return _text(value) if value is not None else None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware:
    """Scrapy's retries with a wait before each: ``Retry-After`` or exponential backoff. The
    engine is paused during the wait (no new requests start), and the retry is handed back
    once the wait is over, which also wakes the engine up."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        self.crawler = crawler
        self.max_retry_times = settings.getint("RETRY_TIMES")
        self.retry_http_codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.priority_adjust = settings.getint("RETRY_PRIORITY_ADJUST")
        self.exceptions_to_retry = tuple(
            load_object(name) if isinstance(name, str) else name
            for name in settings.getlist("RETRY_EXCEPTIONS")
        )
        self.base = crawler.settings.getfloat("QIOSK_RETRY_BACKOFF_BASE")
        self.cap = crawler.settings.getfloat("QIOSK_RETRY_BACKOFF_MAX")
        self.paused_until = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _retry(self, request: Request, reason: str | Exception) -> Request | None:
        if request.meta.get("dont_retry", False):
            return None
        assert self.crawler.spider is not None
        return get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
        )

    def backoff(self, retry: Request) -> float:
        return float(self.base * 2 ** (retry.meta.get("retry_times", 1) - 1))

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        header = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(_text(header) if header else None)
        await self.wait(self.backoff(retry) if wait is None else wait, response.url)
        return retry

    async def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            await self.wait(self.backoff(retry), request.url)
        return retry

    async def wait(self, seconds: float, url: str) -> None:
        """Hold back every new request for ``seconds`` (capped), then let the crawl go on
        unless a longer wait asked for since is still running."""
        seconds = min(seconds, self.cap)
        if seconds <= 0:
            return
        from twisted.internet import reactor  # installed by the crawler by now

        engine = self.crawler.engine
        assert engine is not None and self.crawler.stats is not None
        self.crawler.stats.inc_value("qiosk/retry_pauses")
        logger.info("Backing off %.1f s after %s", seconds, url)
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        engine.pause()
        await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))
        if time.monotonic() >= self.paused_until - 0.001:
            engine.unpause()
