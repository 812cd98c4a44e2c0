"""The most trusted layer: JSON-LD (``NewsArticle`` as an object, in an array or in ``@graph``,
wrapped in CDATA or commented, spread over several blocks), microdata, OpenGraph and
``article:*`` meta tags, the canonical link.

Values come back as found (stripped, HTML entities decoded); dates stay strings here and are
parsed in :mod:`qiosk_scraper.extract.dates`.
"""

from __future__ import annotations

import html
import json
import re
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
# CDATA wrappers, HTML comment markers, /* block */ and whole-line // comments around JSON-LD
_LD_NOISE = re.compile(r"<!\[CDATA\[|\]\]>|<!--|-->|/\*.*?\*/|^\s*//[^\n]*$", re.S | re.M)
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

    def fill(self, other: LinkedData) -> None:
        """Fill the fields this object lacks from another description of the same article."""
        for name in ("headline", "description", "url", "date_published", "date_modified"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(other, name))
        for name in ("image", "section"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(other, name))
        self.authors = self.authors or other.authors
        self.keywords = self.keywords or other.keywords


@dataclass
class MetaTags:
    """OpenGraph, ``article:*`` and the canonical link (first value of each; tags as a list)."""

    values: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    canonical: str | None = None

    @property
    def keywords(self) -> list[str]:
        """``<meta name="keywords">`` split on commas."""
        return _ld_keywords(self.values.get("keywords"))

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


def _ld_authors(value: Any, ids: dict[str, dict[str, Any]]) -> list[Author]:
    items = value if isinstance(value, list) else [value]
    authors = []
    for item in items:
        item = _resolve(item, ids)
        if isinstance(item, dict):
            name, url = _clean(item.get("name")), _clean(item.get("url"))
        else:
            name, url = _clean(item), None
        if name:
            authors.append(Author(name, url))
    return authors


def _resolve(value: Any, ids: dict[str, dict[str, Any]]) -> Any:
    """A ``{"@id": ...}`` reference replaced by the node it names (Yoast's ``@graph``)."""
    if isinstance(value, dict) and set(value) == {"@id"}:
        return ids.get(str(value["@id"]), value)
    return value


def _ld_image(value: Any, ids: dict[str, dict[str, Any]]) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    value = _resolve(value, ids)
    if isinstance(value, dict):
        return _clean(value.get("url") or value.get("contentUrl"))
    return _clean(value)


def _ld_keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    return [k for k in (_clean(v) for v in value) if k]


def _ld_documents(tree: HtmlElement) -> Iterator[Any]:
    """Each JSON-LD script's data, read through CDATA and comments; broken ones skipped."""
    for script in _LD_SCRIPTS(tree):
        try:
            yield json.loads(_LD_NOISE.sub("", script), strict=False)
        except (ValueError, RecursionError):  # broken or absurdly nested JSON: no data
            continue


def _ld_section(value: Any) -> str | None:
    """``articleSection``: one name; a list of several is no single section."""
    if isinstance(value, list) and len(value) > 1:
        return None
    return _clean(value)


def linked_data(tree: HtmlElement) -> LinkedData | None:
    """The page's first JSON-LD object of an article type, completed from the other article
    objects that describe the same URL (or name none), or None."""
    found: LinkedData | None = None
    for data in _ld_documents(tree):
        nodes = list(_walk(data))
        ids = {str(n["@id"]): n for n in nodes if "@id" in n and len(n) > 1}
        for node in nodes:
            types = _types(node)
            if not types & ARTICLE_TYPES:
                continue
            current = _linked_data(node, types, ids)
            if found is None:
                found = current
            elif current.url is None or found.url is None or current.url == found.url:
                found.fill(current)
    return found


def _linked_data(
    node: dict[str, Any], types: frozenset[str], ids: dict[str, dict[str, Any]]
) -> LinkedData:
    return LinkedData(
        types=types,
        headline=_clean(node.get("headline")) or _clean(node.get("name")),
        description=_clean(node.get("description")),
        url=_clean(node.get("url")),
        date_published=_clean(node.get("datePublished")),
        date_modified=_clean(node.get("dateModified")),
        authors=_ld_authors(node.get("author"), ids),
        image=_ld_image(node.get("image"), ids),
        section=_ld_section(node.get("articleSection")),
        keywords=_ld_keywords(node.get("keywords")),
    )


_ITEM = Elements(
    "//*[@itemscope][contains(@itemtype, 'Article') or contains(@itemtype, 'Posting')]"
)
_PROPS = Elements(".//*[@itemprop]")


def _item_value(element: HtmlElement) -> str | None:
    """A microdata property's value: content/datetime/src/href attribute, else its text."""
    for attribute in ("content", "datetime", "src", "href"):
        value = element.get(attribute)
        if value and value.strip():
            return _clean(value)
    return _clean(element.text_content())


def _item_props(item: HtmlElement) -> dict[str, list[HtmlElement]]:
    """The elements of each ``itemprop`` name inside a microdata item."""
    props: dict[str, list[HtmlElement]] = {}
    for element in _PROPS(item):
        for name in (element.get("itemprop") or "").split():
            props.setdefault(name, []).append(element)
    return props


def _item_authors(elements: list[HtmlElement]) -> list[Author]:
    """``itemprop=author`` elements: the name of a nested Person, else the element's text."""
    authors = []
    for element in elements:
        names = [e for e in _PROPS(element) if e.get("itemprop") == "name"]
        name = _item_value(names[0]) if names else _clean(element.text_content())
        if name:
            authors.append(Author(name))
    return authors


def microdata(tree: HtmlElement) -> LinkedData | None:
    """The first microdata item of an article type, or None."""
    items = _ITEM(tree)
    if not items:
        return None
    props = _item_props(items[0])

    def first(name: str) -> str | None:
        return next((v for v in map(_item_value, props.get(name, [])) if v), None)

    return LinkedData(
        types=frozenset({(items[0].get("itemtype") or "").rsplit("/", 1)[-1]}),
        headline=first("headline"),
        description=first("description"),
        date_published=first("datePublished"),
        date_modified=first("dateModified"),
        authors=_item_authors(props.get("author", [])),
        image=first("image"),
        section=first("articleSection"),
        keywords=_ld_keywords(first("keywords")),
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
