"""Reading the outlet's article and listing pages for what they lead to: pure functions of a
page's text and URL (no spider state, no network), so the crawl runs them in its worker pool
and the spider only decides what to request.

What is read here is the outlet's (RebelMouse) page anatomy: listing paths (``/tag/x/``,
``/author/x/``, ``/regions/x/``, one-segment sections in the navigation, ``/page/N/``), the post
id of ``article.page-article``, the bootstrap data and its load-more JSON, the teaser stream and
the body links of an article.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from parsel import Selector

from qiosk_scraper.discover.listing import extract_listing
from qiosk_scraper.urls import canonicalize

_TAG_PATH = re.compile(r"^/tag/[^/]+/$")
_AUTHOR_PATH = re.compile(r"^/author/[^/]+/$")
_REGION_PATH = re.compile(r"^/regions/[^/]+/$")
_SECTION_PATH = re.compile(r"^/[a-z0-9-]+/$")
_PAGED_PATH = re.compile(r"^(?P<listing>/.+/)page/(?P<number>\d+)/$")
_LOAD_MORE_PATH = "/res/load_more_posts/data.js"
_POST_ID_CLASS = re.compile(r"\bpost-(\d+)\b")
_BOOTSTRAP = re.compile(r"REBELMOUSE_BOOTSTRAP_DATA\s*=\s*(\{.*?\})\s*;?\s*</script>", re.S)


@functools.lru_cache(maxsize=1 << 16)
def canonical(url: str) -> str:
    """:func:`canonicalize`, remembered: every page repeats the same navigation links."""
    return canonicalize(url)


_LISTING_PATHS = (("tag", _TAG_PATH), ("author", _AUTHOR_PATH), ("region", _REGION_PATH))


@functools.lru_cache(maxsize=1 << 16)
def _link_target(base: str, href: str) -> tuple[str, str | None]:
    """The canonical URL ``href`` leads to from ``base`` and the listing its path has the shape
    of ("tag", "author", "region", "section" for one path segment, else None); remembered,
    with ``base`` as short as the join allows (see :func:`_join_base`)."""
    url = canonical(urljoin(base, href))
    path = urlsplit(url).path
    for kind, pattern in _LISTING_PATHS:
        if pattern.match(path):
            return url, kind
    return url, "section" if _SECTION_PATH.match(path) else None


def _join_base(page_url: str, href: str) -> str:
    """What joining ``href`` to the page's URL depends on: nothing for an absolute URL, the
    page's origin for a root- or scheme-relative one, else the page's URL itself."""
    if href.startswith(("http://", "https://")):
        return ""
    if href.startswith("/"):
        return "/".join(page_url.split("/", 3)[:3])
    return page_url


def _bootstrap(text: str) -> dict[str, Any]:
    """The page's ``window.REBELMOUSE_BOOTSTRAP_DATA`` object ({} when absent or broken)."""
    match = _BOOTSTRAP.search(text)
    if not match:
        return {}
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _first(data: dict[str, Any], *keys: str) -> Any:
    return next((data[key] for key in keys if data.get(key) not in (None, "")), None)


def page_post_id(text: str) -> str | None:
    """The CMS post id of an article page: the ``post-<id>`` class (or ``elid``) of its
    ``article.page-article``, else the bootstrap data's post id."""
    return _post_id(Selector(text=text), text)


def _post_id(page: Selector, text: str) -> str | None:
    article = page.css("article.page-article")
    if article:
        elid = (article[0].attrib.get("elid") or "").strip()
        if elid.isdigit():
            return elid
        match = _POST_ID_CLASS.search(article[0].attrib.get("class", ""))
        if match:
            return match.group(1)
    post_id = _first(_bootstrap(text), "postId", "post_id")
    return str(post_id) if post_id is not None else None


def _feeds(page: Selector, url: str) -> list[str]:
    """The feeds (canonical URLs) a page names with ``rel=alternate``: RSS and Atom."""
    return [
        canonical(urljoin(url, href))
        for href in page.css(
            'link[rel="alternate"][type="application/rss+xml"]::attr(href), '
            'link[rel="alternate"][type="application/atom+xml"]::attr(href)'
        ).getall()
    ]


def listing_links(page: Selector, url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The feeds (canonical URLs) and the tag, author and section pages ((canonical URL,
    listing)) a page links to; a one-segment path is a section only in the navigation."""
    feeds = _feeds(page, url)
    navigation = set(
        page.css(
            "nav a::attr(href), header a::attr(href), [class*=menu] a::attr(href), "
            "a.widget__section::attr(href)"
        ).getall()
    )
    listings = []
    for href in page.css("a::attr(href)").getall():
        target, kind = _link_target(_join_base(url, href), href)
        if kind is None or (kind == "section" and href not in navigation):
            continue
        listings.append((target, "section" if kind == "region" else kind))
    return feeds, listings


def _body_links(page: Selector, url: str) -> list[str]:
    """Links in an article's body that may be other articles (often by an old slug or a legacy
    date path): not the navigation, the home page, nor a tag, author or region page."""
    navigation = {
        canonical(urljoin(url, href))
        for href in page.css("nav a::attr(href), a.widget__section::attr(href)").getall()
    }
    found = []
    for href in page.css(".body-description a::attr(href)").getall():
        joined = urljoin(url, href)
        target, kind = _link_target(_join_base(url, href), href)
        if target in navigation or urlsplit(target).path == "/" or kind in _NOT_ARTICLE_KINDS:
            continue
        found.append(joined)
    return found


_NOT_ARTICLE_KINDS = ("tag", "author", "region")


@dataclass(frozen=True)
class ArticleLinks:
    """What an article page leads to (:func:`read_article_links`)."""

    post_id: str | None
    feeds: list[str]  # canonical feed URLs
    listings: list[tuple[str, str]]  # (canonical URL, "tag" | "author" | "section")
    stream: list[tuple[str, str | None]]  # the teasers under the article: (URL, post id)
    body: list[str]  # body links that may be articles, as written (joined to the page URL)


def read_article_links(text: str, url: str) -> ArticleLinks:
    """Read an article page's post id and links: pure (no spider state, no network), so the
    crawl runs it in its worker pool; the spider decides what to request."""
    page = Selector(text=text)
    feeds, listings = listing_links(page, url)
    stream = [
        (urljoin(url, teaser.url), str(teaser.post_id) if teaser.post_id else None)
        for teaser in extract_listing(text, url)
    ]
    return ArticleLinks(_post_id(page, text), feeds, listings, stream, _body_links(page, url))


def _listing_label(page: Selector, listing: str) -> str | None:
    """The label of a section listing page (its heading, else its ``og:title``)."""
    if listing != "section":
        return None
    label = page.css("main h1::text, h1.section-title::text, h1::text").get()
    if not label:
        label = page.css('meta[property="og:title"]::attr(content)').get()
    return label.strip() if label and label.strip() else None


def load_more_url(text: str, url: str, page: int) -> str | None:
    """The load-more JSON URL of page ``page`` of a listing page's main post stream, when the
    stream says it has more (sidebar streams are left alone)."""
    return _load_more_url(Selector(text=text), text, url, page)


def _load_more_url(selector: Selector, text: str, url: str, page: int) -> str | None:
    holders = [
        holder for holder in selector.css("[data-has-more]") if not holder.xpath("ancestor::aside")
    ]
    if not holders or holders[0].attrib.get("data-has-more", "").lower() not in ("true", "1"):
        return None
    holder = holders[0]
    data = _bootstrap(text)
    resource_id = _first(holder.attrib, "data-source", "data-resource-id") or _first(
        data, "resourceId", "resource_id"
    )
    site_id = _first(data, "siteId", "site_id") or (data.get("site") or {}).get("id")
    if not resource_id:
        return None
    query: dict[str, Any] = {"resource_id": resource_id, "pn": page, "rm_lazy_load": 1}
    if site_id:
        query = {"site_id": site_id, **query}
    return urljoin(url, f"{_LOAD_MORE_PATH}?{urlencode(query)}")


@dataclass(frozen=True)
class ListingPage:
    """What a section, tag or author page shows and leads to (:func:`read_listing`)."""

    label: str | None  # a section page's label (its heading)
    teasers: list[tuple[str, str | None]]  # (canonical article URL, post id), in page order
    feeds: list[str]
    listings: list[tuple[str, str]]  # as :func:`listing_links`
    paged: list[str]  # canonical ``/page/N/`` URLs of this same listing
    more: str | None  # the load-more URL of page 2 (None on a /page/N/ page itself)


def read_listing(text: str, url: str, listing: str) -> ListingPage:
    """Read a listing page: pure (no spider state, no network), so the crawl runs it in its
    worker pool; the spider decides what to request."""
    page = Selector(text=text)
    teasers = [
        (canonical(urljoin(url, t.url)), str(t.post_id) if t.post_id else None)
        for t in extract_listing(text, url)
    ]
    feeds, listings = listing_links(page, url)
    base = urlsplit(url).path
    match = _PAGED_PATH.match(base)
    listing_path = match.group("listing") if match else base
    paged = []
    for href in page.css("a::attr(href)").getall():
        target = canonical(urljoin(url, href))
        found = _PAGED_PATH.match(urlsplit(target).path)
        if found and found.group("listing") == listing_path:
            paged.append(target)
    more = None if match else _load_more_url(page, text, url, 2)
    return ListingPage(_listing_label(page, listing), teasers, feeds, listings, paged, more)


def read_feed_links(text: str, url: str) -> ArticleLinks:
    """Only the feeds an article page links with ``rel=alternate``: what any site offers."""
    return ArticleLinks(None, _feeds(Selector(text=text), url), [], [], [])
