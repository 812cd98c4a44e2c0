"""Why a fetch failed, as a stable name for ``errors.kind``.

A crawl records every failure, retried or final, as an ``errors`` row with one of these kinds
and a message saying what happened (``...; retry 2 of 4 in 4.0 s`` when it was retried):

===================== =======================================================================
kind                  meaning
===================== =======================================================================
http_<status>         the site answered an error status (5xx, 429 and 408 after the retries)
timeout               no complete answer within ``DOWNLOAD_TIMEOUT``
dns                   the host name did not resolve
connection_refused    nothing listened at the site's address
connection_lost       the connection broke before an answer came
connection_reset      the connection was reset in the middle of the body
truncated             the connection closed before the body reached its ``Content-Length``
oversized             the body, or what it decodes to, is over ``DOWNLOAD_MAXSIZE``
decode_error          a gzip or deflate body that is corrupt or cut short
not_html              an article or listing URL answered with something else (PDF, image ...)
empty_body            an article or listing URL answered 200 with nothing in it
wrong_charset         the declared charset does not fit the bytes; archived decoded as cp1252
missing_charset       no charset declared and the bytes are not UTF-8; archived decoded as cp1252
undecodable           the bytes fit no declared charset, nor UTF-8 nor cp1252
redirect_loop         a redirect back to a URL of its own chain
redirect_offsite      a redirect to another host, or to a private, loopback or link-local one
redirect_scheme       a redirect to a scheme other than http(s) (ftp:, javascript:, data: ...)
too_many_redirects    a chain longer than ``REDIRECT_MAX_TIMES``
offsite, private      a request (not a redirect) for another host or a private address
scheme                a request for a URL that is not http(s)
robots_disallowed     robots.txt forbids the URL
parse_error           the spider could not read a page it fetched (bad JSON, broken XML ...)
not_an_article        an article URL answered a page that is not an article (pipeline)
extractor_error       the extractor failed on an article page (pipeline)
extractor_crashed     the extraction worker process died on the page (pipeline; restarted)
conflicting_canonical a URL named itself canonical for an article archived, live, elsewhere
                      (kept there; the URL recorded as its alias; pipeline)
archive_locked        another process held the archive's write lock longer than the wait
                      allowed (``QIOSK_LOCK_WAIT``): what the page showed was not stored
disk_full             the disk had no room for the page's WARC record or rows (not stored;
                      the crawl stops, running the same command again finishes it)
write_failed          the archive refused the page's rows for another reason (not stored)
capture_missing       a stored capture's WARC file is gone (replaying a 304, reextract)
capture_truncated     a stored capture's WARC file ends inside its record
capture_mismatch      a stored capture's bytes are not those the archive recorded (length,
                      SHA-256)
changed_meanwhile     (reextract) a crawl stored a newer state after the capture was read;
                      the newer state is kept
===================== =======================================================================

Only complete, decoded 200 HTML answers reach the spider's article callback and the pipeline;
a failure never becomes an item, so it cannot overwrite, revise or mark gone an archived article.
"""

from __future__ import annotations

import gzip
import re
import zlib

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed

from qiosk_scraper.archive import WriteFailed
from qiosk_scraper.guard import Refused
from qiosk_scraper.warc import CaptureDamaged

CAPTURE_META = "qiosk_capture"  # request.meta key: {"id": capture id, "fetched_at": ISO time}
VALIDATED_META = "qiosk_validated"  # request.meta key: the capture whose validators were sent

_BY_TYPE: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((DownloadTimeoutError, TimeoutError, TCPTimedOutError), "timeout"),
    ((CannotResolveHostError, DNSLookupError), "dns"),
    ((DownloadConnectionRefusedError, ConnectionRefusedError), "connection_refused"),
    ((ResponseDataLossError,), "truncated"),
    ((DownloadFailedError, ResponseFailed, ConnectionLost, ConnectionDone), "connection_lost"),
    ((zlib.error, gzip.BadGzipFile), "decode_error"),
    ((UnsupportedURLSchemeError,), "scheme"),
)


def error_kind(error: BaseException) -> str:
    """The ``errors.kind`` of an exception met while fetching or reading a page."""
    if isinstance(error, (Refused, WriteFailed, CaptureDamaged)):
        return error.kind
    if isinstance(error, HttpError):
        return f"http_{error.response.status}"
    if isinstance(error, DownloadCancelledError):
        # Scrapy cancels a download for one reason of its own: the size cap.
        return "oversized" if "max size" in str(error) or not str(error) else "cancelled"
    if isinstance(error, ResponseDataLossError):
        return "connection_reset" if _reset(error) else "truncated"
    if isinstance(error, IgnoreRequest):
        text = str(error)
        if "robots.txt" in text:
            return "robots_disallowed"
        if "DOWNLOAD_MAXSIZE" in text:  # HttpCompressionMiddleware: decoded size over the cap
            return "oversized"
        if "max redirections" in text:
            return "too_many_redirects"
        return "ignored"
    for types, kind in _BY_TYPE:
        if isinstance(error, types):
            return kind
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def _reset(error: ResponseDataLossError) -> bool:
    """True when the connection was reset (not closed cleanly) before the body was whole."""
    cause = error.__cause__
    reasons = getattr(cause, "reasons", [])
    return any(r.check(ConnectionLost) and not r.check(ConnectionDone) for r in reasons)


def error_message(error: BaseException) -> str:
    """What went wrong, in one line, with the cause Scrapy wraps when there is one."""
    if isinstance(error, Refused):
        return error.reason
    if isinstance(error, ResponseDataLossError):
        if _reset(error):
            return "the connection was reset before the whole body arrived"
        return "the connection closed before the whole body (its Content-Length) arrived"
    if isinstance(error, HttpError):
        response = error.response
        return f"{response.status} answer" + (
            f" ({reason})" if (reason := _status_reason(response.status)) else ""
        )
    text = str(error) or type(error).__name__
    cause = error.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return " ".join(text.split())


def _status_reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def capture_of(error: BaseException) -> int | None:
    """The ``captures`` row of the response that showed the failure (None without one)."""
    if isinstance(error, Refused):
        return error.capture_id
    if isinstance(error, HttpError):
        meta = error.response.meta.get(CAPTURE_META) or {}
        return meta.get("id")
    return None


def describe_failure(failure: Failure) -> tuple[str, str, int | None]:
    """(kind, message, capture id) of a request's failure, for its ``errors`` row."""
    error = failure.value
    assert error is not None  # a Failure always holds its exception
    message = error_message(error)
    request = getattr(failure, "request", None)
    retries = request.meta.get("retry_times", 0) if request is not None else 0
    if retries:
        message += f"; gave up after {retries} {'retry' if retries == 1 else 'retries'}"
    return error_kind(error), message, capture_of(error)
