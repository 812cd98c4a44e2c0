"""The most trusted layer: JSON-LD (``NewsArticle`` as an object, in an array or in ``@graph``),
OpenGraph and ``article:*`` meta tags, the canonical link.

Values come back as found (stripped, HTML entities decoded); dates stay strings here and are
parsed in :mod:`qiosk_scraper.extract.dates`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

from qiosk_scraper.article import Author
from qiosk_scraper.extract.dom import Elements, Strings

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "ReportageNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
        "SatiricalArticle",
    }
)
_MAX_DEPTH = 8

_LD_SCRIPTS = Strings('//script[@type="application/ld+json"]/text()')
_META = Elements("//meta[@content][@property or @name]")
_CANONICAL = Strings('//link[@rel="canonical"]/@href')


@dataclass
class LinkedData:
    """The first article object of the page's JSON-LD."""

    types: frozenset[str]
    headline: str | None = None
    description: str | None = None
    url: str | None = None
    date_published: str | None = None
    date_modified: str | None = None
    authors: list[Author] = field(default_factory=list)
    image: str | None = None
    section: str | None = None
    keywords: list[str] = field(default_factory=list)


@dataclass
class MetaTags:
    """OpenGraph, ``article:*`` and the canonical link (first value of each; tags as a list)."""

    values: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    canonical: str | None = None

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def _clean(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = " ".join(html.unescape(value).split())
    return text or None


def _types(node: dict[str, Any]) -> frozenset[str]:
    kind = node.get("@type")
    names = kind if isinstance(kind, list) else [kind]
    return frozenset(n.rsplit("/", 1)[-1] for n in names if isinstance(n, str))


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object of a JSON-LD document, breadth first, a few levels deep."""
    queue: list[tuple[Any, int]] = [(data, 0)]
    while queue:
        node, depth = queue.pop(0)
        if depth > _MAX_DEPTH:
            continue
        if isinstance(node, list):
            queue.extend((item, depth + 1) for item in node)
        elif isinstance(node, dict):
            yield node
            queue.extend((value, depth + 1) for value in node.values())


def _ld_authors(value: Any) -> list[Author]:
    items = value if isinstance(value, list) else [value]
    authors = []
    for item in items:
        if isinstance(item, dict):
            name, url = _clean(item.get("name")), _clean(item.get("url"))
        else:
            name, url = _clean(item), None
        if name:
            authors.append(Author(name, url))
    return authors


def _ld_image(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        return _clean(value.get("url") or value.get("contentUrl"))
    return _clean(value)


def _ld_keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    return [k for k in (_clean(v) for v in value) if k]


def linked_data(tree: HtmlElement) -> LinkedData | None:
    """The page's first JSON-LD object of an article type, or None."""
    for script in _LD_SCRIPTS(tree):
        try:
            data = json.loads(script, strict=False)
        except (ValueError, RecursionError):  # broken or absurdly nested JSON: no data
            continue
        for node in _walk(data):
            types = _types(node)
            if types & ARTICLE_TYPES:
                return _linked_data(node, types)
    return None


def _linked_data(node: dict[str, Any], types: frozenset[str]) -> LinkedData:
    return LinkedData(
        types=types,
        headline=_clean(node.get("headline")) or _clean(node.get("name")),
        description=_clean(node.get("description")),
        url=_clean(node.get("url")),
        date_published=_clean(node.get("datePublished")),
        date_modified=_clean(node.get("dateModified")),
        authors=_ld_authors(node.get("author")),
        image=_ld_image(node.get("image")),
        section=_clean(node.get("articleSection")),
        keywords=_ld_keywords(node.get("keywords")),
    )


def meta_tags(tree: HtmlElement) -> MetaTags:
    """OpenGraph/``article:*``/Twitter meta tags (first occurrence wins) and the canonical link."""
    meta = MetaTags()
    for element in _META(tree):
        name = (element.get("property") or element.get("name") or "").strip().lower()
        content = _clean(element.get("content"))
        if not content or not name:
            continue
        if name == "article:tag":
            meta.tags.append(content)
        else:
            meta.values.setdefault(name, content)
    canonical = _CANONICAL(tree)
    meta.canonical = _clean(canonical[0]) if canonical else None
    return meta
