"""Downloader middlewares: raw WARC captures of every response, polite retries, and the guards
that keep failed, unsafe or broken answers away from the spider and the archive.

``WarcCaptureMiddleware`` sits nearest the downloader (950), so it sees each response as
received: redirects before RedirectMiddleware (600) follows them, error statuses before
RetryMiddleware (550) and HttpErrorMiddleware act, bodies before HttpCompressionMiddleware
(590) decodes them. It writes the exchange to WARC, indexes it in ``captures`` and leaves the
capture's id in ``request.meta["qiosk_capture"]`` for the spider and pipeline.

``BackoffRetryMiddleware`` replaces Scrapy's RetryMiddleware: the same settings and rules
(through Scrapy's ``get_retry_request``), plus a wait before each retry, ``Retry-After`` when
the site sends one (429, 503), otherwise exponential backoff; while it waits the whole crawl
is paused, since a rate-limited site wants fewer requests, not the same number from other URLs.
Each failed attempt it retries is an ``errors`` row (the final one is the spider's errback's).

The guards apply the policies of :mod:`qiosk_scraper.guard` and raise ``Refused`` (an
``IgnoreRequest``: the request's errback records it with its kind):

- ``RequestGuardMiddleware`` (60, before robots.txt is fetched for a host): every request URL;
  sitemaps get the sitemap protocol's size cap instead of ``DOWNLOAD_MAXSIZE``.
- ``ResponseGuardMiddleware`` (610, on the raw answer, before RedirectMiddleware (600) follows
  a ``Location`` and HttpCompressionMiddleware (590) decodes a body): redirects off the site, to
  another scheme, in a loop or too long; gzip and deflate bodies that are corrupt, cut short or
  decode over the size cap.
- ``PageGuardMiddleware`` (580, on the decoded answer): an article or listing answer that is
  empty or not HTML; a page whose charset is wrong or missing is re-encoded as UTF-8 from what
  its bytes are (recorded in ``errors``), bytes no charset explains are refused.

``SpiderFailureMiddleware`` (a spider middleware) records a callback that fails on a page as a
``parse_error`` and lets the crawl go on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self
from urllib.parse import urljoin

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater
from w3lib.url import safe_url_string

from qiosk_scraper.archive import WriteFailed
from qiosk_scraper.failures import CAPTURE_META, VALIDATED_META, error_kind, error_message
from qiosk_scraper.guard import (
    REDIRECT_STATUSES,
    CharsetRepair,
    Refused,
    coding_refusal,
    page_refusal,
    redirect_refusal,
    repair_charset,
    url_refusal,
)
from qiosk_scraper.session import PAGES, record_error, session_of
from qiosk_scraper.stopping import stop_guard
from qiosk_scraper.urls import canonicalize, same_site

logger = logging.getLogger(__name__)

__all__ = ["CAPTURE_META"]  # re-exported: the spider reads captures through it
PAGE_KINDS = frozenset({"article", "listing"})  # requests whose answer must be an HTML page


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def header_pairs(headers: object) -> list[tuple[str, str]]:
    """Scrapy Headers as (name, value) text pairs, one per value."""
    pairs = []
    for name, values in headers.items():  # type: ignore[attr-defined]
        for value in values:
            pairs.append((_text(name), _text(value)))
    return pairs


class _SessionMiddleware:
    """What every middleware here starts from: the crawler (its settings and stats) and the
    crawl session it writes to, set up in ``from_crawler``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.session = session_of(crawler, type(self).__name__)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)


class WarcCaptureMiddleware(_SessionMiddleware):
    """Writes every response to WARC and indexes it in the archive's ``captures``."""

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


class BackoffRetryMiddleware(_SessionMiddleware):
    """Scrapy's retries with a wait before each: ``Retry-After`` or exponential backoff. The
    engine is paused during the wait (no new requests start), and the retry is handed back
    once the wait is over, which also wakes the engine up."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured("RETRY_ENABLED is off")
        super().__init__(crawler)
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

    def _retry(self, request: Request, reason: str | Exception) -> Request | None:
        if request.meta.get("dont_retry", False):
            return None
        assert self.crawler.spider is not None
        retry = get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
        )
        if retry is not None:
            retry.meta.pop(CAPTURE_META, None)  # the next attempt's capture is its own
        return retry

    def _record(self, request: Request, retry: Request, kind: str, what: str, wait: float) -> None:
        """An ``errors`` row for an attempt that failed and is retried."""
        capture = request.meta.get(CAPTURE_META) or {}
        times = retry.meta.get("retry_times", 1)
        limit = retry.meta.get("max_retry_times", self.max_retry_times)
        message = f"{what}; retry {times} of {limit} in {min(wait, self.cap):.3g} s"
        record_error(self.crawler, self.session, request.url, kind, message, capture.get("id"))

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
        asked = retry_after_seconds(_text(header) if header else None)
        wait = self.backoff(retry) if asked is None else asked
        what = f"{response.status} answer" + (" with Retry-After" if asked is not None else "")
        self._record(request, retry, f"http_{response.status}", what, wait)
        await self.wait(wait, response.url)
        return retry

    async def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        if not isinstance(exception, self.exceptions_to_retry):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            wait = self.backoff(retry)
            self._record(request, retry, error_kind(exception), error_message(exception), wait)
            await self.wait(wait, request.url)
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
        # A stop signal cancels the wait (CrawlStopped), as it does downloads in flight.
        waiting = maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))
        try:
            await stop_guard(self.crawler).run(waiting, f"backoff after {url}")
        finally:
            if time.monotonic() >= self.paused_until - 0.001 or stop_guard(self.crawler).stopping:
                engine.unpause()


class RequestGuardMiddleware(_SessionMiddleware):
    """Refuses every request the crawl must not make (:func:`qiosk_scraper.guard.url_refusal`):
    not http(s), another host, a private address while crawling a public site. Sitemaps get
    ``QIOSK_SITEMAP_MAXSIZE`` as their size cap (the sitemap protocol allows 50 MB). A
    redirected request loses the conditional headers of the URL it was redirected from."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.sitemap_maxsize = crawler.settings.getint("QIOSK_SITEMAP_MAXSIZE")

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        refusal = url_refusal(request.url, self.session.site)
        if refusal is not None:
            raise Refused(refusal.kind, refusal.reason)
        if request.meta.get("kind") == "sitemap" and self.sitemap_maxsize:
            request.meta.setdefault("download_maxsize", self.sitemap_maxsize)
        if request.meta.get("redirect_urls") and request.meta.pop(VALIDATED_META, None):
            # RedirectMiddleware copies the first URL's headers: its validators say nothing
            # about this URL, whose 304 would pass for the first URL's stored page.
            for name in (b"If-None-Match", b"If-Modified-Since"):
                request.headers.pop(name, None)


class ResponseGuardMiddleware(_SessionMiddleware):
    """Checks the raw answer: a redirect the crawl must not follow, a gzip or deflate body that
    does not decode whole or decodes over the size cap."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.max_hops = settings.getint("REDIRECT_MAX_TIMES")
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        self.redirects = settings.getbool("REDIRECT_ENABLED")

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        capture_id = (request.meta.get(CAPTURE_META) or {}).get("id")
        location = response.headers.get(b"Location")
        if (
            self.redirects
            and location is not None
            and response.status in REDIRECT_STATUSES
            and not request.meta.get("dont_redirect", False)
        ):
            target = redirect_target(request.url, location)
            chain = list(request.meta.get("redirect_urls", []))
            refusal = redirect_refusal(request.url, target, self.session.site, chain, self.max_hops)
            if refusal is not None:
                raise Refused(refusal.kind, refusal.reason, capture_id)
        codings = [_text(c) for c in response.headers.getlist(b"Content-Encoding")]
        if codings and 200 <= response.status < 300 and request.method != "HEAD":
            max_size = request.meta.get("download_maxsize", self.max_size)
            refusal = coding_refusal(response.body, codings, max_size)
            if refusal is not None:
                raise Refused(refusal.kind, refusal.reason, capture_id)
        return response


def redirect_target(url: str, location: bytes) -> str:
    """Where a ``Location`` header leads from ``url``, as RedirectMiddleware reads it."""
    if location.startswith(b"//"):
        return f"{url.split(':', 1)[0]}:{safe_url_string(location)}"
    return urljoin(url, safe_url_string(location))


class PageGuardMiddleware(_SessionMiddleware):
    """Checks the decoded answer to an article or listing request: refuses one that is empty or
    not HTML, and re-encodes a page whose charset is wrong or missing (recorded in ``errors``)."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if (
            response.status != 200
            or request.method == "HEAD"
            or request.meta.get("kind") not in PAGE_KINDS
        ):
            return response
        capture_id = (request.meta.get(CAPTURE_META) or {}).get("id")
        content_type = _header(response, b"Content-Type")
        refusal = page_refusal(response.body, content_type)
        if refusal is None:
            repair = repair_charset(response.body, content_type)
            if isinstance(repair, CharsetRepair):
                record_error(
                    self.crawler, self.session, response.url, repair.kind, repair.reason, capture_id
                )
                headers = response.headers.copy()
                headers[b"Content-Type"] = b"text/html; charset=utf-8"
                return response.replace(
                    cls=HtmlResponse, body=repair.body, headers=headers, encoding="utf-8"
                )
            refusal = repair
        if refusal is not None:
            raise Refused(refusal.kind, refusal.reason, capture_id)
        return response


class SpiderFailureMiddleware(_SessionMiddleware):
    """A spider callback that fails on a page (bad JSON, a parser error ...) becomes a
    ``parse_error`` row; the crawl goes on. HTTP errors are the errbacks' business."""

    def process_spider_exception(
        self, response: Response, exception: Exception, spider: Spider | None = None
    ) -> Iterable[object] | None:
        if isinstance(exception, HttpError):
            return None
        capture_id = (response.meta.get(CAPTURE_META) or {}).get("id")
        callback = getattr(response.request, "callback", None)
        where = getattr(callback, "__name__", "the callback")
        message = f"{where}: {type(exception).__name__}: {error_message(exception)}"
        # A write the archive refused (disk full, locked) lost the page: its own kind.
        kind = exception.kind if isinstance(exception, WriteFailed) else "parse_error"
        logger.warning("Could not read %s (%s)", response.url, message)
        record_error(self.crawler, self.session, response.url, kind, message, capture_id)
        return []
