"""The outlet spider's crawl state: what one crawl has met, requested, held and still owes the
archive, and the small decisions on it. Plain bookkeeping, no Scrapy and no archive: the
spider (:mod:`qiosk_scraper.spiders.outlet`) makes the requests and asks the frontier.

It holds:

- the article budget: article URLs requested (or skipped as current) and their count against
  ``max_articles``;
- the distinct article URLs the sitemaps list (the progress line's total);
- pages other than articles requested (robots.txt, sitemaps, feeds, listings);
- how a URL resolved to an archived article, which post id was met at which URL, the aliases
  already recorded and which origins are on the site;
- archived articles held until the crawl is idle, and whether the unmet ones were asked again;
- pages held until the archived URL their post claims answers;
- the (article URL, discovery source) pairs met, and those not yet written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from qiosk_scraper.items import ArticlePage
from qiosk_scraper.urls import same_site

DISCOVERY_BATCH = 500  # (url, source) pairs kept in memory before they are written

# An archived article held until the crawl is idle: (discovery source, post id, expected).
Held = tuple[str, str | None, bool]


class Frontier:
    """The state of one crawl of ``site``, at most ``max_articles`` articles (None: all)."""

    def __init__(self, site: str, max_articles: int | None = None) -> None:
        self.site = site
        self.max_articles = max_articles
        self.articles_requested = 0
        self.article_urls: set[str] = set()  # requested, or skipped as current
        self.sitemap_urls: set[str] = set()
        self.pages_requested: set[str] = set()  # pages other than articles, requested
        self.post_ids: dict[str, str] = {}  # post id -> the canonical URL requested for it
        self.resolved: dict[str, str] = {}  # canonical URL -> the archived article's URL
        self.aliased: set[tuple[str, str]] = set()
        self.origins: dict[str, bool] = {}
        # Archived articles found by a source other than a dated sitemap entry, waiting for
        # the crawl to be idle: url -> (source, post id, expected).
        self.held: dict[str, Held] = {}
        self.rechecked = False
        # Pages whose post is archived at another URL not yet asked in this crawl, held until
        # it answers (a 301 makes them a move; a live page, a conflict): archived URL -> pages.
        self.claims: dict[str, list[ArticlePage]] = {}
        self.discovered: set[tuple[str, str]] = set()
        self.unwritten: list[tuple[str, str]] = []

    # -- the article budget ------------------------------------------------------------

    @property
    def budget_left(self) -> bool:
        """Whether another article may be requested (``max_articles`` not reached)."""
        return self.max_articles is None or self.articles_requested < self.max_articles

    def take_article(self, url: str) -> bool:
        """Count ``url`` as requested (or skipped as current) against the budget; False, and
        nothing recorded, when the budget is spent."""
        if not self.budget_left:
            return False
        self.article_urls.add(url)
        self.articles_requested += 1
        return True

    def met(self, url: str) -> bool:
        """Whether this crawl requested the article at ``url`` (or skipped it as current)."""
        return url in self.article_urls

    def waiting(self, url: str) -> bool:
        """Whether the article at ``url`` is requested already or held until idle."""
        return url in self.article_urls or url in self.held

    def asked_again(self, url: str) -> None:
        """The archived article at ``url`` is asked now, outside the budget (a re-check of the
        URL another page's post claims): no longer held, met."""
        self.held.pop(url, None)
        self.article_urls.add(url)

    def unmet(self, urls: Iterable[str]) -> Iterator[str]:
        """Those of the archived ``urls`` this crawl has not met, checked as they are taken
        (so one asked meanwhile is left out)."""
        return (url for url in urls if url not in self.article_urls)

    # -- sitemaps and the progress total ------------------------------------------------

    def listed_in_sitemap(self, url: str) -> bool:
        """Record that a sitemap lists the article ``url``; True the first time."""
        if url in self.sitemap_urls:
            return False
        self.sitemap_urls.add(url)
        return True

    def known_articles(self) -> int:
        """Distinct article URLs discovered so far: in the sitemaps, or requested (or skipped
        as current) from any source."""
        return len(self.sitemap_urls) + len(self.article_urls - self.sitemap_urls)

    # -- pages other than articles ------------------------------------------------------

    def new_page(self, url: str) -> bool:
        """Record that the page at ``url`` (no article) is requested; False when it was."""
        if url in self.pages_requested:
            return False
        self.pages_requested.add(url)
        return True

    # -- URLs, post ids, aliases, origins -----------------------------------------------

    def resolve(
        self, url: str, lookup: Callable[[str], dict[str, Any] | None]
    ) -> tuple[str, dict[str, Any] | None]:
        """The archived article's URL ``url`` stands for (an old slug or variant stands for
        the article), and what ``lookup`` (the archive's known article) said, when it was
        asked: only the first time a URL is resolved."""
        known = None
        if url not in self.resolved:
            known = lookup(url)
            self.resolved[url] = known["url"] if known is not None else url
        return self.resolved[url], known

    def post_url(self, post_id: str, url: str) -> str:
        """The URL the post ``post_id`` was first met at (``url`` when this is the first)."""
        return self.post_ids.setdefault(post_id, url)

    def new_alias(self, url: str, target: str) -> bool:
        """Record the alias ``url`` -> ``target``; False when it was recorded already."""
        if (url, target) in self.aliased:
            return False
        self.aliased.add((url, target))
        return True

    def on_site(self, url: str) -> bool:
        """Whether ``url`` is on the crawled site (remembered per host and scheme)."""
        key = url.split("/", 3)[:3]
        origin = "/".join(key)
        if origin not in self.origins:
            self.origins[origin] = same_site(url, self.site)
        return self.origins[origin]

    # -- archived articles held until idle ------------------------------------------------

    def hold(self, url: str, source: str, post_id: str | None, expected: bool) -> None:
        """Hold the archived article at ``url`` until the crawl is idle (the first source
        that found it is kept)."""
        self.held.setdefault(url, (source, post_id, expected))

    def release_held(self) -> dict[str, Held]:
        """The archived articles held so far, in the order found; none is held after."""
        held, self.held = self.held, {}
        return held

    def first_recheck(self) -> bool:
        """True once: the first time the unmet archived articles are to be asked again."""
        if self.rechecked:
            return False
        self.rechecked = True
        return True

    # -- pages held while the archived URL of their post is asked -------------------------

    def claimed(self, archived: str) -> bool:
        """Whether pages already wait for ``archived`` to answer."""
        return archived in self.claims

    def claim(self, archived: str, page: ArticlePage) -> None:
        """Hold ``page`` until ``archived`` answers."""
        self.claims.setdefault(archived, []).append(page)

    def release_claims(self, archived: str) -> list[ArticlePage]:
        """The pages held for ``archived``, no longer held."""
        return self.claims.pop(archived, [])

    def unanswered_claims(self) -> dict[str, list[ArticlePage]]:
        """Every page still held (archived URL -> pages), none held after: the crawl ends."""
        claims, self.claims = self.claims, {}
        return claims

    # -- discoveries --------------------------------------------------------------------

    def discovered_by(self, url: str, source: str) -> bool:
        """Record that ``source`` led to the article ``url``; True when a batch of pairs is
        due to be written."""
        pair = (url, source)
        if pair in self.discovered:
            return False
        self.discovered.add(pair)
        self.unwritten.append(pair)
        return len(self.unwritten) >= DISCOVERY_BATCH

    def written(self) -> None:
        """The unwritten pairs are in the archive now."""
        self.unwritten = []
