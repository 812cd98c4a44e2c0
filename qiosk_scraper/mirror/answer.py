"""Putting a site's answer on the wire: the validators real sites send (Last-Modified, ETag,
304 on conditional requests) and gzip when the client accepts it."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from qiosk_scraper.mirror.render import http_date
from qiosk_scraper.mirror.site import Response, Site

COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/json")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def not_modified(headers: dict[str, str], etag: str, response: Response) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag in tags or etag[:-1] + '-gzip"' in tags
    ims = headers.get("if-modified-since")
    if ims and response.last_modified is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return response.last_modified.replace(microsecond=0) <= since
    return False


@dataclass
class Served:
    """Status, headers and body bytes as sent on the wire."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def serve(
    site: Site,
    base_url: str,
    target: str,
    headers: dict[str, str],
    respond: Callable[[str, str], Response] | None = None,
) -> Served:
    """Answer one GET: route it on the site (or with ``respond(target, base_url)``), then
    apply validators and content coding."""
    response = (respond or site.respond)(target, base_url)
    out: list[tuple[str, str]] = [("Content-Type", response.content_type)]
    if response.location:
        out.append(("Location", response.location))
    out.extend(response.extra_headers)
    body = response.body
    if response.status != 200:
        out.append(("Content-Length", str(len(body))))
        return Served(response.status, out, body)
    etag = etag_of(body)
    if response.last_modified is not None:
        out.append(("Last-Modified", http_date(response.last_modified)))
    compressible = response.content_type.startswith(COMPRESSIBLE)
    if compressible:
        out.append(("Vary", "Accept-Encoding"))
    gzipped = (
        response.compress
        and compressible
        and "gzip" in headers.get("accept-encoding", "")
        and len(body) > 256
    )
    if gzipped:
        etag = etag[:-1] + '-gzip"'
    out.append(("ETag", etag))
    if not_modified(headers, etag, response):
        return Served(304, [h for h in out if h[0] != "Content-Type"], b"")
    if gzipped:
        body = gzip.compress(body, compresslevel=6, mtime=0)
        out.append(("Content-Encoding", "gzip"))
    out.append(("Content-Length", str(len(body))))
    return Served(200, out, body)
