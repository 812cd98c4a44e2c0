"""A first look at a site before a long crawl (``qiosk check-site``): its robots.txt, sitemaps
and feeds, then a sample of article pages fetched politely (robots.txt obeyed, one request at a
time, a delay between requests), extracted and tallied: per field, on how many pages it was
found and by which layer, and which fields came only from a fallback or not at all. Nothing is
archived."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import urllib.robotparser
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from lxml import etree

from qiosk_scraper import __version__
from qiosk_scraper.article import Article
from qiosk_scraper.extract import NotAnArticle, extract_article

USER_AGENT = f"qiosk-check-site/{__version__} (+https://github.com/qiosk)"
FEEDS = ("/feeds/feed.rss", "/feed/", "/rss.xml", "/feed.xml")
MAX_SITEMAPS = 5
_MEDIA = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".pdf", ".mp4", ".xml", ".rss")
# Provenance layers: the CMS's own markup, structured data, and the fallbacks
OUTLET_LAYERS = frozenset({"markup", "markup+trafilatura", "wordpress", "wordpress+trafilatura"})
FALLBACK_LAYERS = frozenset({"trafilatura", "htmldate", "generic", "dateparser", "url"})
FIELDS = ("title", "authors", "published", "subtitle", "section", "tags", "images", "body")


@dataclass(frozen=True)
class Answer:
    url: str
    status: int
    body: bytes


class Fetcher:
    """GETs one at a time, ``delay`` seconds apart, refusing what robots.txt disallows."""

    def __init__(self, site: str, delay: float, timeout: float = 20.0) -> None:
        self.site, self.delay, self.timeout = site.rstrip("/"), delay, timeout
        self.robots = urllib.robotparser.RobotFileParser()
        self._last = 0.0
        self.count = 0

    def get(self, url: str) -> Answer:
        wait = self._last + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last, self.count = time.monotonic(), self.count + 1
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Answer(response.geturl(), response.status, response.read())
        except urllib.error.HTTPError as error:
            return Answer(url, error.code, b"")
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise CheckError(f"{url}: {getattr(error, 'reason', error)}") from error

    def allowed(self, url: str) -> bool:
        return self.robots.can_fetch(USER_AGENT, url)


class CheckError(Exception):
    """The site cannot be reached at all."""


@dataclass
class Look:
    """What the look found."""

    robots_status: int = 0
    sitemaps: list[str] = field(default_factory=list)
    feeds: dict[str, int] = field(default_factory=dict)  # feed URL: links it lists
    candidates: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # reason: pages
    disallowed: int = 0


def _locs(xml: bytes, tag: str) -> list[str]:
    """Texts of the ``tag`` elements (any namespace) of an XML document, [] if unreadable."""
    try:
        root = etree.fromstring(xml, etree.XMLParser(recover=True, resolve_entities=False))
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    found = root.xpath(f"//*[local-name()='{tag}']")
    elements = (
        [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []
    )
    return [t.strip() for t in (e.text for e in elements) if t and t.strip()]


def _sitemap_pages(fetcher: Fetcher, look: Look, start: list[str]) -> Iterator[str]:
    """Page URLs of the sitemaps (an index is followed, at most MAX_SITEMAPS read)."""
    queue = list(start)
    while queue and len(look.sitemaps) < MAX_SITEMAPS:
        url = queue.pop(0)
        answer = fetcher.get(url)
        if answer.status != 200:
            continue
        look.sitemaps.append(url)
        if b"sitemapindex" in answer.body[:2000]:
            queue.extend(_locs(answer.body, "loc"))
        else:
            yield from _locs(answer.body, "loc")


def _is_page(url: str, site: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and parts.netloc == urlsplit(site).netloc
        and parts.path not in ("", "/")
        and not parts.path.lower().endswith(_MEDIA)
    )


def discover(fetcher: Fetcher, look: Look) -> None:
    """robots.txt, then the sitemaps it lists (else /sitemap.xml), then the usual feeds."""
    site = fetcher.site
    robots = fetcher.get(site + "/robots.txt")
    look.robots_status = robots.status
    lines = robots.body.decode("utf-8", "replace").splitlines() if robots.status == 200 else []
    fetcher.robots.parse(lines)
    listed = [
        line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("sitemap:")
    ]
    pages = list(_sitemap_pages(fetcher, look, listed or [site + "/sitemap.xml"]))
    for path in FEEDS:
        answer = fetcher.get(site + path)
        items = _locs(answer.body, "link") if answer.status == 200 else []
        if items:
            look.feeds[answer.url] = len(items)
            pages += [urljoin(answer.url, i) for i in items]
            break
    look.candidates = list(dict.fromkeys(p for p in pages if _is_page(p, site)))


def sample(fetcher: Fetcher, look: Look, size: int, fetched_at: datetime) -> None:
    """Fetch candidates until ``size`` articles (at most three times as many pages)."""
    for url in look.candidates[: 3 * size]:
        if len(look.articles) >= size:
            break
        if not fetcher.allowed(url):
            look.disallowed += 1
            continue
        answer = fetcher.get(url)
        if answer.status != 200:
            look.refused[f"HTTP {answer.status}"] += 1
            continue
        try:
            look.articles.append(extract_article(answer.body, answer.url, fetched_at))
        except NotAnArticle as error:
            look.refused[error.reason] += 1


def check_site(
    site: str, size: int, delay: float, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Look:
    """The whole look at ``site``: discovery, then a sample of ``size`` article pages."""
    fetcher = Fetcher(site, delay)
    look = Look()
    discover(fetcher, look)
    sample(fetcher, look, size, now())
    return look


def _layer(article: Article, name: str) -> str | None:
    if name == "body":
        return article.provenance.get("body")
    if name == "images":
        lead = article.images[0] if article.images and article.images[0].lead else None
        return article.provenance.get("images") if lead else None
    return article.provenance.get(name) if getattr(article, name) else None


def _credit_layer(article: Article) -> str | None:
    lead = article.images[0] if article.images and article.images[0].lead else None
    return article.provenance.get("images") if lead and lead.credit else None


def field_lines(articles: list[Article]) -> list[str]:
    """Per field: pages where found / pages sampled, and the layers that found it."""
    total = len(articles)
    rows = [(name, [_layer(a, name) for a in articles]) for name in FIELDS]
    rows.insert(FIELDS.index("images") + 1, ("lead credit", [_credit_layer(a) for a in articles]))
    lines = []
    for name, layers in rows:
        found = Counter(layer for layer in layers if layer)
        by = ", ".join(f"{layer} {n}" for layer, n in found.most_common()) or "-"
        label = "lead image" if name == "images" else name
        lines.append(f"  {label:<12} {sum(found.values()):>3}/{total:<3} {by}")
    return lines


def warnings(articles: list[Article]) -> list[str]:
    """Fields no page had from the CMS's markup or structured data (fallback or nothing)."""
    out = []
    total = len(articles)
    for name in (*FIELDS, "lead credit"):
        layers = [_credit_layer(a) if name == "lead credit" else _layer(a, name) for a in articles]
        fallback = sum(1 for layer in layers if layer in FALLBACK_LAYERS)
        found = sum(1 for layer in layers if layer)
        if found - fallback == 0:
            label = "lead image" if name == "images" else name
            out.append(
                f"{label}: 0/{total} from the outlet's markup or structured data, "
                f"{fallback}/{total} from the fallback"
            )
    return out
