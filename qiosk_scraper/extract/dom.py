"""Small typed helpers over lxml: compiled XPath queries, class tests, text of an element."""

from __future__ import annotations

import re
from typing import cast
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from qiosk_scraper.urls import canonicalize

_SPACE = re.compile(r"\s+")


def has_class(name: str) -> str:
    """XPath predicate: the element's class list contains ``name``. A plain substring test
    turns most elements away first, before their class list is normalized (a string built per
    element, and the queries run over whole documents)."""
    listed = f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"
    return f"(contains(@class, '{name}') and {listed})"


class Elements:
    """A compiled XPath expression that selects elements."""

    def __init__(self, expression: str) -> None:
        self._xpath = etree.XPath(expression)

    def __call__(self, node: etree._Element) -> list[HtmlElement]:
        result = self._xpath(node)
        if not isinstance(result, list):
            return []
        return [cast(HtmlElement, r) for r in result if isinstance(r, etree._Element)]

    def first(self, node: etree._Element) -> HtmlElement | None:
        found = self(node)
        return found[0] if found else None


class Strings:
    """A compiled XPath expression that selects attribute values or text nodes."""

    def __init__(self, expression: str) -> None:
        self._xpath = etree.XPath(expression)

    def __call__(self, node: etree._Element) -> list[str]:
        result = self._xpath(node)
        if not isinstance(result, list):
            return []
        return [str(r) for r in result if isinstance(r, str | bytes)]


def collapse(text: str | None) -> str:
    """White space collapsed to single spaces, ends stripped."""
    return _SPACE.sub(" ", text or "").strip()


def text_of(element: etree._Element) -> str:
    """The element's text, white space collapsed."""
    return collapse("".join(cast(list[str], list(element.itertext()))))


def first_text(found: list[HtmlElement]) -> str | None:
    """The text of the first of ``found``, None when there is none or it is empty."""
    return text_of(found[0]) or None if found else None


def image_src(img: etree._Element) -> str | None:
    """An image's source, lazy-loading attributes included; data: URIs do not count."""
    for attribute in ("src", "data-src", "data-runner-src", "data-lazy-src"):
        value = (img.get(attribute) or "").strip()
        if value and not value.startswith("data:"):
            return value
    return None


def absolute(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``; None for what Python cannot parse as a URL (a broken
    IPv6 literal, a port out of range)."""
    try:
        joined = urljoin(base, href.strip())
        urlsplit(joined).port  # noqa: B018 - parsing the port is the validation
    except ValueError:
        return None
    return joined


def canonical(url: str) -> str | None:
    """The record's canonical spelling of ``url`` (:func:`qiosk_scraper.urls.canonicalize`),
    None when the URL cannot be parsed."""
    try:
        return canonicalize(url)
    except ValueError:
        return None
