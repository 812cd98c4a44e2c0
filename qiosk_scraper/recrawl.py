"""The re-crawl decisions, as named pure functions of what the archive knows and what the site
says: whether a sitemap entry is fetched again, which validators make a request conditional,
which of two URLs of one post is kept. The spider and the pipeline act on them; the tests read
them without a crawl.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

SitemapVerdict = Literal["discovered", "fetch", "skip"]


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Last-Modified``), aware; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def known_as_of(known: dict[str, Any]) -> datetime | None:
    """The newest time the site itself gave for the stored state of an article: its
    capture's Last-Modified, the record's modified or published time."""
    times = [parse_http_date(known.get("last_modified"))]
    for name in ("modified", "published"):
        if known.get(name):
            try:
                moment = datetime.fromisoformat(known[name])
            except ValueError:
                continue
            times.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return max((t for t in times if t is not None), default=None)


def sitemap_verdict(
    known: dict[str, Any] | None, lastmod: datetime | None, *, refresh: bool
) -> SitemapVerdict:
    """What a sitemap entry means for an article: ``discovered`` (not archived, gone, never
    captured, no ``lastmod``, or ``refresh``: it goes the way of every discovered URL),
    ``fetch`` (archived, and the sitemap says it changed since: request it now, conditionally)
    or ``skip`` (archived and current by the site's own clock)."""
    if refresh or lastmod is None or known is None:
        return "discovered"
    if known.get("gone_at") is not None or known.get("capture_id") is None:
        return "discovered"
    as_of = known_as_of(known)
    return "fetch" if as_of is None or lastmod > as_of else "skip"


def validator_headers(capture: dict[str, Any] | None) -> dict[str, str]:
    """The ``If-None-Match`` / ``If-Modified-Since`` headers that make a request for a page
    conditional on a stored capture: only a 200 with an ``ETag`` or ``Last-Modified``."""
    if capture is None or capture.get("status", 200) != 200:
        return {}
    headers = {}
    if capture.get("etag"):
        headers["If-None-Match"] = capture["etag"]
    if capture.get("last_modified"):
        headers["If-Modified-Since"] = capture["last_modified"]
    return headers


def preferred(url: str, *, over: str) -> bool:
    """Of two live URLs of one post that both name themselves canonical, the one a crawl that
    meets both keeps: the shorter (a CMS copy gets a suffix, ``/<slug>-2/``), then the
    alphabetically first; never a matter of which answered first."""
    return (len(url), url) < (len(over), over)
